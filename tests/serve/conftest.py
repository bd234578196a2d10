"""A tiny trained run and test images for the serve tests: an MLP trained by `scratchnn train`
for 1 epoch on 2000 Fashion-MNIST training images (scikit-learn's digits when Fashion-MNIST is
not installed), and test-set images written as PNG files."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import Server

import scratchnn as snn


@functools.cache
def _dataset() -> str:
    """fashion-mnist when it is installed, else digits."""
    try:
        snn.data.load("fashion-mnist")
    except snn.DataError:
        return "digits"
    return "fashion-mnist"


@pytest.fixture(scope="session")
def served_run(tmp_path_factory) -> Path:
    """A run directory written by the training `scratchnn train` runs (train.run)."""
    from scratchnn.train.config import TrainConfig
    from scratchnn.train.run import run_training

    out = tmp_path_factory.mktemp("serve") / "run"
    config = TrainConfig(dataset=_dataset(), model="mlp", hidden_sizes=(32,), epochs=1,
                         n_train=2000, n_val=200, n_test=200, seed=0, out=str(out))
    run_training(config, progress=False)
    return out


@pytest.fixture(scope="session")
def test_images(served_run, tmp_path_factory) -> list[Path]:
    """Four images of the run's test split as grayscale PNG files (0-255)."""
    from PIL import Image

    data = snn.data.load(_dataset())
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i in range(4):
        image = data.x_test[i, 0].astype(np.float64)
        pixels = np.rint(image * 255 / image.max()).astype(np.uint8)   # digits hold 0-16
        paths.append(folder / f"test-{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def server(served_run, tmp_path_factory):
    server = Server(served_run, tmp_path_factory.mktemp("log") / "stderr.txt")
    yield server
    server.stop()
