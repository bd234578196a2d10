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


@pytest.fixture
def write_spec(tmp_path):
    """write_spec(sweep, space, epochs=1, name="spec") -> the path of a SPEC.toml on digits."""

    def write(sweep: str, space: str, epochs: int = 1, name: str = "spec") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(TRAIN.format(epochs=epochs) + f"\n[sweep]\n{sweep}\n\n[space]\n{space}\n")
        return path

    return write


def read_results(directory: Path) -> list[dict]:
    with open(directory / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def results():
    return read_results
