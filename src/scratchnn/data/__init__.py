"""Datasets: IDX files, the registry of names, downloads and the mini-batch iterator.

    data = scratchnn.data.load("fashion-mnist")   # x_train uint8 (60000, 1, 28, 28), y_train int64
    for x, y in scratchnn.data.batches(data.x_train, data.y_train, 128, shuffle=True, rng=rng):
        ...
"""

from scratchnn.data.batches import batches
from scratchnn.data.dataset import Dataset
from scratchnn.data.download import download
from scratchnn.data.idx import read_idx, write_idx
from scratchnn.data.registry import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DatasetInfo,
    known_datasets,
    load,
)

__all__ = [
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "Dataset", "DatasetInfo", "batches", "download",
    "known_datasets", "load", "read_idx", "write_idx",
]
