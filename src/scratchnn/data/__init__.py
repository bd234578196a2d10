"""Datasets: readers (IDX, CIFAR-10, .npz, CSV, image folders), the registry of names, downloads,
transforms and augmentation, and the mini-batch iterator.

    data = scratchnn.data.load("fashion-mnist")   # x_train uint8 (60000, 1, 28, 28), y_train int64
    augment = scratchnn.data.Augment(crop_padding=2, flip=True)
    for i, (x, y) in enumerate(scratchnn.data.batches(data.x_train, data.y_train, 128,
                                                      shuffle=True, rng=rng)):
        x = augment(x, scratchnn.data.augment_rng(seed, epoch, i))
        ...
"""

from scratchnn.data.batches import batches
from scratchnn.data.dataset import Dataset
from scratchnn.data.download import download
from scratchnn.data.idx import read_idx, write_idx
from scratchnn.data.registry import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DatasetInfo,
    known_datasets,
    load,
)
from scratchnn.data.transforms import (
    Augment,
    Compose,
    Scale,
    Standardize,
    SubtractMeanImage,
    augment_rng,
    flatten,
    one_hot,
)
from scratchnn.data.views import TestViews

__all__ = [
    "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "Augment", "Compose", "Dataset",
    "DatasetInfo", "Scale", "Standardize", "SubtractMeanImage", "TestViews", "augment_rng",
    "batches", "download", "flatten", "known_datasets", "load", "one_hot", "read_idx",
    "write_idx",
]
