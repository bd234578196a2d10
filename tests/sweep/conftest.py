"""Fixtures for the sweep tests: small SPEC files on digits (a tiny MLP, 1-2 epochs)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import scratchnn as snn

pytest.importorskip("optuna", reason="the sweep extra: pip install 'scratchnn[sweep]'")
pytest.importorskip("distributed", reason="the sweep extra: pip install 'scratchnn[sweep]'")

TRAIN = """
[train]
dataset = "{dataset}"
model = "mlp"
epochs = {epochs}
dropout = 0.0
"""


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory) -> Path:
    """scikit-learn's digits as an .npz dataset file: workers load it without importing
    scikit-learn and SciPy (seconds per worker process on a busy machine)."""
    digits = snn.data.load("digits")
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x_train=digits.x_train, y_train=digits.y_train, x_test=digits.x_test,
             y_test=digits.y_test)
    return path


@pytest.fixture(scope="session")
def spec_text(digits_npz):
    """spec_text(sweep, space, epochs=1) -> a SPEC on digits: TRAIN, [sweep] and [space]."""

    def text(sweep: str, space: str, epochs: int = 1) -> str:
        return (TRAIN.format(dataset=digits_npz, epochs=epochs)
                + f"\n[sweep]\n{sweep}\n\n[space]\n{space}\n")

    return text


@pytest.fixture
def write_spec(tmp_path, spec_text):
    """write_spec(sweep, space, epochs=1) -> the path of that SPEC written as a .toml file."""

    def write(sweep: str, space: str, epochs: int = 1, name: str = "spec") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(spec_text(sweep, space, epochs))
        return path

    return write


def read_results(directory: Path) -> list[dict]:
    with open(directory / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def results():
    return read_results
