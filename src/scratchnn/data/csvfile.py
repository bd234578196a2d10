"""Your own data in CSV: a header row, one named label column, numeric feature columns.

    label,pixel0,pixel1,...,pixel783        (Kaggle's mnist_train.csv has this shape)
    7,0,0,...,0

The label column is found by name (`label_column`, default "label") anywhere in the header.
Labels are integers >= 0, or text (class names, numbered in sorted order). Features that are all
integers in 0..255 are pixels: uint8, and (N, 1, S, S) images when there are S*S >= 64 of them;
anything else is float32 (N, D). One file is split by holding out a fixed-seed `test_fraction`
of each class (default 0.2); a folder with train.csv and test.csv gives both splits.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np

from scratchnn.data.dataset import Dataset, hold_out
from scratchnn.errors import DataError, one_line

TEST_FRACTION = 0.2


def load_csv(path: str | os.PathLike, name: str | None = None, *, label_column: str = "label",
             test_fraction: float | None = None, test_path: str | os.PathLike | None = None
             ) -> Dataset:
    """Read a CSV (and optionally a separate test CSV) into a Dataset."""
    path = Path(path)
    x, labels = _read(path, label_column)
    name = name or path.stem
    if test_path is None:
        classes, y = _encode(labels, path)
        fraction = TEST_FRACTION if test_fraction is None else test_fraction
        x_train, y_train, x_test, y_test = hold_out(x, y, fraction, len(classes))
    else:
        if test_fraction is not None:
            raise DataError(f"{test_path}: a test file is given; test_fraction applies only "
                            "to a single CSV")
        x_test, test_labels = _read(Path(test_path), label_column)
        if labels.dtype != test_labels.dtype:   # names in one file, numbers in the other
            labels, test_labels = labels.astype(str), test_labels.astype(str)
        classes, y = _encode(np.concatenate([labels, test_labels]), path)
        y_train, y_test = y[:len(labels)], y[len(labels):]
        if x.shape[1:] != x_test.shape[1:]:
            raise DataError(f"{test_path}: {x_test.shape[1:]} features per row, {path} has "
                            f"{x.shape[1:]}")
        x_train = x
        if x_train.dtype != x_test.dtype:       # pixels in one file, not in the other
            x_train, x_test = x_train.astype(np.float32), x_test.astype(np.float32)
    return Dataset(name, x_train, y_train, x_test, y_test, classes)


def _read(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """-> (features (N, D) or images (N, 1, S, S), labels (N,): float32, or text if any is)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV ({one_line(error)})") from None
    if not header:
        raise DataError(f"{path}: empty file (a header row naming the columns is needed)")
    header = [h.strip() for h in header]
    if label_column not in header:
        shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
        raise DataError(f"{path}: no column named {label_column!r} (columns: {shown}); name the "
                        "label column with label_column / --label-column")
    label_at = header.index(label_column)
    features = [i for i in range(len(header)) if i != label_at]
    if not features:
        raise DataError(f"{path}: only the label column, no features")
    rows = dict(delimiter=",", skiprows=1, ndmin=2, quotechar='"', comments=None,
                encoding="utf-8")
    try:   # one pass when the labels are numbers too (the common case), else label column apart
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)       # "input contained no data"
            table = np.loadtxt(path, dtype=np.float32, **rows)
        if table.size == 0:
            raise DataError(f"{path}: no data rows")
        if table.shape[1] != len(header):
            raise DataError(f"{path}: rows have {table.shape[1]} columns, the header names "
                            f"{len(header)}")
        labels, x = table[:, label_at], table[:, features]
    except ValueError as error:
        if isinstance(error, DataError) or "could not convert" not in str(error):
            raise _malformed(path, error) from None
        try:
            labels = np.loadtxt(path, dtype=str, usecols=[label_at], **rows)[:, 0]
            x = np.loadtxt(path, dtype=np.float32, usecols=features, **rows)
        except ValueError as error:
            raise _malformed(path, error) from None
    if len(x) == 0:
        raise DataError(f"{path}: no data rows")
    if labels.dtype.kind == "U":
        labels = np.char.strip(labels)
    if not np.isfinite(x).all():
        row, col = np.argwhere(~np.isfinite(x))[0]
        raise DataError(f"{path}: line {row + 2}, column {header[features[col]]!r} is "
                        f"{x[row, col]}")
    if ((x >= 0) & (x <= 255) & (x == np.round(x))).all():     # pixels
        x = x.astype(np.uint8)
        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1] and side >= 8:
            x = x.reshape(-1, 1, side, side)
        return x, labels
    return x, labels


def _encode(labels: np.ndarray, path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels -> (classes, int64 indices): class numbers stay themselves (classes "0".."max"),
    names are numbered in sorted order."""
    try:
        numbers = labels.astype(np.float64)
    except ValueError:
        numbers = None
    labels = labels.astype(str)
    if numbers is not None:
        if not (np.isfinite(numbers).all() and (numbers == np.round(numbers)).all()
                and numbers.min() >= 0):
            bad = numbers[np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers))
                                         | (numbers < 0))[0]]
            raise DataError(f"{path}: label '{bad:g}' is not a class number (integers >= 0) "
                            "or a class name")
        y = numbers.astype(np.int64)
        return tuple(str(k) for k in range(int(y.max()) + 1)), y
    classes, y = np.unique(labels, return_inverse=True)
    if "" in classes:
        row = np.flatnonzero(labels == "")[0]
        raise DataError(f"{path}: line {row + 2} has an empty label")
    return tuple(str(c) for c in classes), y.astype(np.int64)


def _malformed(path: Path, error: ValueError) -> DataError:
    """NumPy's loadtxt error, with its row numbers made the file's line numbers (the header
    is line 1): it counts data rows from 1 for a changed column count, from 0 otherwise."""
    if isinstance(error, DataError):
        return error
    text = one_line(error).split("; use `usecols`")[0].rstrip(".")
    changed = re.search(r"number of columns changed from (\d+) to (\d+) at row (\d+)", text)
    value = re.search(r"could not convert string (.*) to \w+ at row (\d+), column (\d+)", text)
    if changed:
        expected, got, row = map(int, changed.groups())
        return DataError(f"{path}: line {row + 1} has {got} columns, the lines before it "
                         f"{expected}")
    if value:
        return DataError(f"{path}: line {int(value[2]) + 2}, column {value[3]}: {value[1]} is "
                         "not a number")
    return DataError(f"{path}: malformed CSV ({text})")
