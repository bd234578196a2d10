"""The real Fashion-MNIST from the Debian package dataset-fashion-mnist, when it is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchnn.data import FASHION_MNIST_CLASSES, load, registry

SYSTEM = Path("/usr/share/datasets/fashion-mnist")

pytestmark = pytest.mark.skipif(not (SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
                                reason="dataset-fashion-mnist is not installed")


@pytest.fixture(scope="module")
def fashion():
    return load(SYSTEM)


def test_shapes_dtypes_and_classes(fashion):
    assert fashion.name == "fashion-mnist" and fashion.classes == FASHION_MNIST_CLASSES
    assert fashion.x_train.shape == (60000, 1, 28, 28)
    assert fashion.x_test.shape == (10000, 1, 28, 28)
    assert fashion.x_train.dtype == np.uint8 and fashion.y_train.dtype == np.int64
    assert fashion.y_train.shape == (60000,) and fashion.y_test.shape == (10000,)


def test_contents_match_the_published_dataset(fashion):
    np.testing.assert_array_equal(np.bincount(fashion.y_train), [6000] * 10)  # balanced
    np.testing.assert_array_equal(np.bincount(fashion.y_test), [1000] * 10)
    np.testing.assert_array_equal(fashion.y_train[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    counts = np.bincount(fashion.x_train.ravel(), minlength=256)  # pixel histogram, no float copy
    values = np.arange(256) / 255
    mean = counts @ values / counts.sum()
    std = np.sqrt(counts @ (values - mean) ** 2 / counts.sum())
    assert abs(mean - 0.2860) < 1e-3 and abs(std - 0.3530) < 1e-3  # the usual normalisation


def test_the_registry_finds_the_system_directory(monkeypatch):
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {"fashion-mnist": (SYSTEM,)})
    assert registry.find("fashion-mnist") == SYSTEM
