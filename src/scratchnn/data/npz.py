"""Your own arrays in an .npz file (np.savez), read safely (scratchnn.data.arrayfile).

    np.savez("mine.npz", x=images, y=labels)                                  # one split
    np.savez("mine.npz", x_train=..., y_train=..., x_test=..., y_test=...)    # or both
    # optional: x_val / y_val, and classes=np.array(["cat", "dog"])

Images (N, H, W) get a channel axis -> (N, 1, H, W); images stored channels-last (N, H, W, C)
with C in 1, 3, 4 (and axis 1 not) are moved to NCHW. Other arrays (N, D) are used as they are.
Labels must be integers. With only x and y, a fixed-seed `test_fraction` of each class
(default 0.2) is held out as the test split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scratchnn.data.arrayfile import read_npz
from scratchnn.data.dataset import Dataset, hold_out
from scratchnn.errors import DataError

TEST_FRACTION = 0.2


def load_npz(path: str | os.PathLike, name: str | None = None, *,
             test_fraction: float | None = None) -> Dataset:
    """Read an .npz of x/y or x_train/y_train/x_test/y_test (+ x_val/y_val, classes)."""
    path = Path(path)
    arrays = read_npz(path, ".npz file")      # no pickle, no zip bomb
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        if test_fraction is not None:
            raise DataError(f"{path}: has a test split; test_fraction applies only to x/y files")
        split = {k: arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")}
        if ("x_val" in arrays) != ("y_val" in arrays):
            raise DataError(f"{path}: x_val and y_val must both be present")
        split |= {k: arrays[k] for k in ("x_val", "y_val") if k in arrays}
    elif {"x", "y"} <= arrays.keys():
        split = {"x": arrays["x"], "y": arrays["y"]}
    else:
        raise DataError(f"{path}: expected arrays x and y, or x_train, y_train, x_test and "
                        f"y_test; found {', '.join(sorted(arrays)) or 'none'}")
    for key in list(split):
        split[key] = _images(split[key], path, key) if key.startswith("x") \
            else _labels(split[key], path, key)
    top = max((int(y.max()) for k, y in split.items() if k.startswith("y") and y.size),
              default=-1)
    if "classes" in arrays:
        classes = arrays["classes"]
        if classes.ndim != 1 or classes.dtype.kind not in "US":
            raise DataError(f"{path}: 'classes' must be a 1-D array of strings, got "
                            f"{classes.dtype} {classes.shape}")
        classes = tuple(c.decode() if isinstance(c, bytes) else str(c) for c in classes)
    else:
        classes = tuple(str(k) for k in range(top + 1))
    name = name or path.stem
    try:
        if "x" in split:
            if len(split["x"]) != len(split["y"]):
                raise DataError(f"x has {len(split['x'])} samples but y has {len(split['y'])} "
                                "labels")
            fraction = TEST_FRACTION if test_fraction is None else test_fraction
            parts = hold_out(split["x"], split["y"], fraction, max(top + 1, len(classes)))
            return Dataset(name, *parts, classes)
        return Dataset(name, classes=classes, **split)
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


def _images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise DataError(f"{path}: {key} must be a numeric array (N, ...), got {x.dtype} "
                        f"of shape {x.shape}")
    if x.ndim == 3:
        return x[:, None]                                # (N, H, W) -> (N, 1, H, W)
    if x.ndim == 4 and x.shape[3] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))   # NHWC -> NCHW
    return x


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise DataError(f"{path}: {key} must be (N,) integer labels, got {y.dtype} of shape "
                        f"{y.shape}")
    if y.size and y.min() < 0:
        raise DataError(f"{path}: {key} has a negative label ({y.min()})")
    return y.astype(np.int64)
