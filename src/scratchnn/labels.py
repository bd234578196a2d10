"""Class labels: the one check of labels against a classifier's C outputs, and class indices.

The losses, the Trainer and the doctor all check labels here, so a bad label array gets the
same one-line message wherever it is found: ShapeError for a wrong shape or dtype, DataError
for wrong values (a class index outside [0, C), NaN or Inf in label rows).
"""

from __future__ import annotations

import numpy as np

from scratchnn.errors import DataError, ShapeError


def check_labels(labels, classes: int, samples: int | None = None, *,
                 name: str = "labels") -> np.ndarray:
    """`labels` as an array, checked against C = `classes` outputs: class indices (N,) of an
    integer dtype in [0, C), or rows (N, C) of finite numbers (one-hot or probabilities).

    samples: N, when it is known (a loss knows it from its scores). name: how the message
    names the labels ("validation labels", say).

    >>> check_labels([0, 2], classes=3).tolist()
    [0, 2]
    >>> check_labels([0, 3], classes=3)
    Traceback (most recent call last):
    scratchnn.errors.DataError: labels must be class indices in [0, 3) for a model with 3 ...
    """
    labels = np.asarray(labels)
    n = samples if samples is not None else len(labels) if labels.ndim else "N"
    if labels.shape == (n, classes) and labels.dtype.kind in "biuf":
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise DataError(f"{name} contain NaN or Inf")
        return labels
    if labels.shape == (n, 1):
        raise ShapeError(f"{name} have shape {labels.shape}; expected ({n},) class indices: "
                         "use y.ravel()")
    if labels.shape != (n,):
        raise ShapeError(f"{name} must be class indices ({n},) or rows ({n}, {classes}) for a "
                         f"model with {classes} outputs, got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ShapeError(f"{name} must be integer class indices, got {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(f"{name} must be class indices in [0, {classes}) for a model with "
                        f"{classes} outputs, got values from {labels.min()} to {labels.max()}")
    return labels


def class_labels(labels: np.ndarray) -> np.ndarray:
    """Class indices (N,) from labels (N,) or a column (N, 1), or the argmax of rows (N, C)."""
    if labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1):
        return labels.reshape(-1)
    return labels.argmax(axis=1)
