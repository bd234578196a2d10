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
    Integer labels of another dtype are converted to int64; anything inconsistent raises DataError.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; normalise the fields once, here
        set_(self, "classes", tuple(str(c) for c in self.classes))
        if not self.classes:
            raise DataError(f"{self.name}: no classes given")
        for split in ("train", "test"):
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
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(f"{self.name}: train samples are {self.x_train.shape[1:]} but test "
                            f"samples are {self.x_test.shape[1:]}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. (1, 28, 28)."""
        return self.x_train.shape[1:]

    @property
    def num_classes(self) -> int:
        """len(classes)."""
        return len(self.classes)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
                f"input_shape={self.input_shape}, dtype={self.x_train.dtype}, "
                f"classes={self.num_classes})")

    def summary(self) -> str:
        """A few lines for people: sizes, sample shape and dtype, and the samples per class."""
        train = np.bincount(self.y_train, minlength=self.num_classes)
        test = np.bincount(self.y_test, minlength=self.num_classes)
        lines = [f"{self.name}: {len(self.x_train)} train and {len(self.x_test)} test samples "
                 f"of shape {self.input_shape}, {self.x_train.dtype}; "
                 f"{self.num_classes} classes (train/test samples):"]
        lines += [f"  {k}  {name:<12} {train[k]:>6} {test[k]:>6}"
                  for k, name in enumerate(self.classes)]
        return "\n".join(lines)


def _labels(y: np.ndarray, what: str, num_classes: int) -> np.ndarray:
    """Check labels are (N,) integers in [0, num_classes) and return them as int64."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{what} must be (N,) integer labels, got {y.dtype} of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{what} has labels from {y.min()} to {y.max()}, outside "
                        f"[0, {num_classes}) for {num_classes} classes")
    return y.astype(np.int64, copy=False)
