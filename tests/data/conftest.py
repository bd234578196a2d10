"""Data tests run in isolation: HOME is a temporary directory, $SCRATCHNN_DATA is unset and no
system directory is searched, so no result depends on what is installed on the machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchnn.data import registry, write_idx


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {})
    return home


@pytest.fixture
def make_idx_dataset():
    """make_idx_dataset(directory, seed=0, gz=True, ...) writes a small MNIST-style dataset (four
    IDX files) and returns its arrays: x (N, H, W) uint8 and y (N,) uint8, as stored."""

    def make(directory: Path, seed: int = 0, *, gz: bool = True, n_train: int = 12,
             n_test: int = 5, size: tuple[int, int] = (28, 28),
             num_classes: int = 10) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        arrays = {
            "x_train": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
            "y_train": rng.integers(0, num_classes, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
            "y_test": rng.integers(0, num_classes, n_test, dtype=np.uint8),
        }
        directory.mkdir(parents=True, exist_ok=True)
        suffix = ".gz" if gz else ""
        for key, stem in registry.IDX_FILES.items():
            write_idx(directory / f"{stem}{suffix}", arrays[key])
        return arrays

    return make
