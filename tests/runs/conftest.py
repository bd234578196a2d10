"""Two finished runs on scikit-learn's digits, trained once per session by `scratchnn train` (in
this process): they differ only in the learning rate."""

from __future__ import annotations

import shutil

import pytest

from scratchnn.cli import main

LEARNING_RATES = {"slow": 0.0005, "fast": 0.003}


@pytest.fixture(scope="session")
def digits_runs(tmp_path_factory) -> dict:
    """{"slow": run directory, "fast": run directory}, 2 epochs each. Tests must not change
    them: copy one first (the `own_run` fixture)."""
    root = tmp_path_factory.mktemp("digits-runs")
    runs = {}
    for name, lr in LEARNING_RATES.items():
        runs[name] = root / name
        status = main(["train", "--dataset", "digits", "--epochs", "2", "--seed", "1",
                       "--lr", str(lr), "--out", str(runs[name]), "--no-progress"])
        assert status == 0
    return runs


@pytest.fixture
def own_run(digits_runs, tmp_path):
    """A copy of the "fast" run that a test may change."""
    return shutil.copytree(digits_runs["fast"], tmp_path / "fast")
