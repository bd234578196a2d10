"""Fixtures for the sweep tests: small SPEC files on digits (a tiny MLP, 1-2 epochs)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="the sweep extra: pip install 'scratchnn[sweep]'")
pytest.importorskip("distributed", reason="the sweep extra: pip install 'scratchnn[sweep]'")

TRAIN = """
[train]
dataset = "digits"
model = "mlp"
epochs = {epochs}
dropout = 0.0
"""


@pytest.fixture(scope="session")
def spec_text():
    """spec_text(sweep, space, epochs=1) -> a SPEC on digits: TRAIN, [sweep] and [space]."""

    def text(sweep: str, space: str, epochs: int = 1) -> str:
        return TRAIN.format(epochs=epochs) + f"\n[sweep]\n{sweep}\n\n[space]\n{space}\n"

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
