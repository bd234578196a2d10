"""Dataset: the train and test arrays of one dataset and its class names, checked when built."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scratchnn.errors import DataError


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Train and test splits of a classification dataset, with the names of its classes.

    Shapes: x_train (N, ...) and x_test (M, ...) with the same sample shape, e.g. uint8 images
    (N, 1, 28, 28) in NCHW; y_train (N,) and y_test (M,) int64 labels in [0, len(classes)).
    x_val, y_val: an optional validation split carved from the training data (see take()).
    Integer labels of another dtype are converted to int64; anything inconsistent raises DataError.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; normalise the fields once, here
        set_(self, "classes", tuple(str(c) for c in self.classes))
        if not self.classes:
            raise DataError(f"{self.name}: no classes given")
        if (self.x_val is None) != (self.y_val is None):
            raise DataError(f"{self.name}: x_val and y_val must be given together")
        for split in ("train", "test") if self.x_val is None else ("train", "val", "test"):
            x = np.asarray(getattr(self, f"x_{split}"))
            y = _labels(getattr(self, f"y_{split}"), f"{self.name}: y_{split}", self.num_classes)
            if x.ndim < 2:
                raise DataError(f"{self.name}: x_{split} must be (N, ...) samples with at least "
                                f"one feature axis, got shape {x.shape}")
            if len(x) != len(y):
                raise DataError(f"{self.name}: x_{split} has {len(x)} samples but y_{split} "
                                f"has {len(y)} labels")
            set_(self, f"x_{split}", x)
            set_(self, f"y_{split}", y)
        for split in ("test", "val"):
            x = getattr(self, f"x_{split}")
            if x is not None and x.shape[1:] != self.x_train.shape[1:]:
                raise DataError(f"{self.name}: train samples are {self.x_train.shape[1:]} but "
                                f"{split} samples are {x.shape[1:]}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. (1, 28, 28)."""
        return self.x_train.shape[1:]

    @property
    def num_classes(self) -> int:
        """len(classes)."""
        return len(self.classes)

    def __repr__(self) -> str:
        val = "" if self.x_val is None else f", val={len(self.x_val)}"
        return (f"{type(self).__name__}({self.name!r}, train={len(self.x_train)}{val}, "
                f"test={len(self.x_test)}, input_shape={self.input_shape}, "
                f"dtype={self.x_train.dtype}, classes={self.num_classes})")

    def take(self, n_train: int | None = None, n_val: int = 0, n_test: int | None = None
             ) -> Dataset:
        """The first n_train training samples, the next n_val as validation, the first n_test
        test samples (CS231n's get_CIFAR10_data: num_training, num_validation, num_test).

        n_train=None keeps every training sample not taken for validation; n_test=None keeps
        the whole test split. The arrays are views, not copies.
        """
        for what, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
            if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer)
                                  or n < 0):
                raise DataError(f"{what} must be a non-negative integer, got {n!r}")
        if not n_val and n_train is None and n_test is None:
            return self
        if n_val and self.x_val is not None:
            raise DataError(f"{self.name}: already has a validation split of "
                            f"{len(self.x_val)} samples")
        total = len(self.x_train)
        n_train = total - n_val if n_train is None else n_train
        if n_train + n_val > total:
            raise DataError(f"{self.name}: n_train={n_train} + n_val={n_val} is more than the "
                            f"{total} training samples")
        if n_test is not None and n_test > len(self.x_test):
            raise DataError(f"{self.name}: n_test={n_test} is more than the "
                            f"{len(self.x_test)} test samples")
        val = slice(n_train, n_train + n_val)
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test], self.classes,
                       self.x_train[val] if n_val else self.x_val,
                       self.y_train[val] if n_val else self.y_val)

    def channels_last(self) -> Dataset:
        """A copy with images (N, C, H, W) rearranged to (N, H, W, C) (NHWC, e.g. for
        matplotlib or Keras). scratchnn's layers take NCHW: use this only for arrays going out."""
        if self.x_train.ndim != 4:
            raise DataError(f"{self.name}: channels_last needs images (N, C, H, W), the samples "
                            f"are {self.input_shape}")

        def nhwc(x):
            return None if x is None else np.ascontiguousarray(x.transpose(0, 2, 3, 1))

        return Dataset(self.name, nhwc(self.x_train), self.y_train, nhwc(self.x_test),
                       self.y_test, self.classes, nhwc(self.x_val), self.y_val)

    def summary(self) -> str:
        """A few lines for people: sizes, sample shape and dtype, and the samples per class."""
        train = np.bincount(self.y_train, minlength=self.num_classes)
        test = np.bincount(self.y_test, minlength=self.num_classes)
        val = "" if self.x_val is None else f", {len(self.x_val)} validation"
        lines = [f"{self.name}: {len(self.x_train)} train{val} and {len(self.x_test)} test "
                 f"samples of shape {self.input_shape}, {self.x_train.dtype}; "
                 f"{self.num_classes} classes (train/test samples):"]
        lines += [f"  {k}  {name:<12} {train[k]:>6} {test[k]:>6}"
                  for k, name in enumerate(self.classes)]
        return "\n".join(lines)


def hold_out(x: np.ndarray, y: np.ndarray, fraction: float, num_classes: int, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split (x, y) -> (x_train, y_train, x_test, y_test) with round(fraction * count) samples of
    each class held out, chosen by a fixed seed (every run sees the same test set); both parts
    keep the original order. For data that comes without a test split of its own."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for k in range(num_classes):
        members = np.flatnonzero(y == k)
        test[rng.permutation(members)[:round(fraction * len(members))]] = True
    return x[~test], y[~test], x[test], y[test]


def _labels(y: np.ndarray, what: str, num_classes: int) -> np.ndarray:
    """Check labels are (N,) integers in [0, num_classes) and return them as int64."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{what} must be (N,) integer labels, got {y.dtype} of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{what} has labels from {y.min()} to {y.max()}, outside "
                        f"[0, {num_classes}) for {num_classes} classes")
    return y.astype(np.int64, copy=False)
