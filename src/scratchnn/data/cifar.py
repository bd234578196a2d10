"""CIFAR-10, in either of its published forms (https://www.cs.toronto.edu/~kriz/cifar.html).

    cifar-10-batches-bin/   data_batch_1.bin ... data_batch_5.bin, test_batch.bin, batches.meta.txt
        each .bin file: 10000 records of <1 label byte><3072 pixel bytes>; the pixels are the
        1024 red, then 1024 green, then 1024 blue values of a 32x32 image, rows top to bottom
    cifar-10-batches-py/    data_batch_1 ... data_batch_5, test_batch, batches.meta
        each a pickled dict: b"data" uint8 (10000, 3072) in the same pixel order, b"labels" a
        list of 10000 ints, b"batch_label", b"filenames"; batches.meta has b"label_names"

Either way the pixel order is already channels-first, so an image is one reshape:
(N, 3072) -> (N, 3, 32, 32). The binary version is preferred (no unpickling at all); the python
version is read with scratchnn.data.unpickle's restricted unpickler, never with pickle.load.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scratchnn.data.dataset import Dataset
from scratchnn.data.unpickle import restricted_load
from scratchnn.errors import DataError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32                    # 3072 bytes per image
RECORD = 1 + PIXELS                     # a binary record: label byte + pixels

# Folder name -> (training files, test file, meta file), as the two archives unpack.
LAYOUTS = {
    "cifar-10-batches-bin": ([f"data_batch_{i}.bin" for i in range(1, 6)], "test_batch.bin",
                             "batches.meta.txt"),
    "cifar-10-batches-py": ([f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                            "batches.meta"),
}


def read_bin_batch(path: str | os.PathLike, num_classes: int = 10
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file -> (x uint8 (N, 3, 32, 32), y int64 (N,))."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    if not raw:
        raise DataError(f"{path}: empty file")
    if len(raw) % RECORD:
        raise DataError(f"{path}: truncated or not a CIFAR-10 binary batch: {len(raw)} bytes is "
                        f"not a whole number of {RECORD}-byte records (1 label + {PIXELS} pixels)")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)  # (N, 3073)
    y = records[:, 0].astype(np.int64)
    _check_labels(y, path, num_classes)
    return records[:, 1:].reshape(-1, *IMAGE_SHAPE).copy(), y


def read_py_batch(path: str | os.PathLike, num_classes: int = 10
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch file (restricted unpickling) -> (x uint8 (N, 3, 32, 32), y int64 (N,))."""
    batch = restricted_load(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    data, labels = _entry(batch, "data", path), _entry(batch, "labels", path)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != PIXELS:
        found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise DataError(f"{path}: 'data' must be a uint8 array (N, {PIXELS}), found {found}")
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.ndim == 1:
        y = labels.astype(np.int64)
    elif isinstance(labels, list) and all(type(label) is int for label in labels):
        y = np.array(labels, dtype=np.int64).reshape(-1)
    else:
        raise DataError(f"{path}: 'labels' must be a list of ints")
    if len(y) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(y)} labels")
    _check_labels(y, path, num_classes)
    return data.reshape(-1, *IMAGE_SHAPE), y


def read_classes(path: str | os.PathLike) -> tuple[str, ...]:
    """Class names from batches.meta.txt (one per line) or batches.meta (b"label_names")."""
    path = Path(path)
    if path.suffix == ".txt":
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise DataError(f"{path}: cannot read class names ({error})") from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        meta = restricted_load(path)
        names = _entry(meta, "label_names", path) if isinstance(meta, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
            raise DataError(f"{path}: expected a dict with a list of class names "
                            "under 'label_names'")
        names = [n.decode("latin1") if isinstance(n, bytes) else n for n in names]
    if len(names) != len(CLASSES):
        raise DataError(f"{path}: {len(names)} class names, CIFAR-10 has {len(CLASSES)}")
    return tuple(names)


def locate(directory: str | os.PathLike) -> Path | None:
    """The folder holding a complete CIFAR-10 (either form) in or at `directory`, or None.

    Looked for: directory/cifar-10-batches-bin, directory/cifar-10-batches-py, then the
    directory itself (binary files first).
    """
    directory = Path(directory)
    for layout in LAYOUTS:
        for candidate in (directory / layout, directory):
            if not missing(candidate, layout):
                return candidate
    return None


def missing(directory: Path, layout: str) -> list[str]:
    """The data files of `layout` that `directory` lacks (the meta file is optional)."""
    train, test, _ = LAYOUTS[layout]
    return [name for name in (*train, test) if not (directory / name).is_file()]


def layout_of(directory: Path) -> str:
    """"cifar-10-batches-bin" or "cifar-10-batches-py": which files a folder from locate() has."""
    return next(layout for layout in LAYOUTS if not missing(directory, layout))


def load_cifar10(directory: str | os.PathLike, name: str = "cifar10") -> Dataset:
    """Read a folder found by locate() into a Dataset: x_train uint8 (50000, 3, 32, 32), x_test
    (10000, 3, 32, 32), int64 labels, classes from the meta file when present."""
    directory = Path(directory)
    layout = layout_of(directory)
    train_files, test_file, meta_file = LAYOUTS[layout]
    read = read_bin_batch if layout.endswith("bin") else read_py_batch
    classes = (read_classes(directory / meta_file) if (directory / meta_file).is_file()
               else CLASSES)
    parts = [read(directory / file, len(classes)) for file in train_files]
    x_test, y_test = read(directory / test_file, len(classes))
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    return Dataset(name, x_train, y_train, x_test, y_test, classes)


def sizes(directory: str | os.PathLike) -> tuple[int, int] | None:
    """(train, test) sample counts of a binary folder from file sizes alone; None for pickles."""
    directory = Path(directory)
    if layout_of(directory) != "cifar-10-batches-bin":
        return None
    train_files, test_file, _ = LAYOUTS["cifar-10-batches-bin"]
    train = sum((directory / f).stat().st_size // RECORD for f in train_files)
    return train, (directory / test_file).stat().st_size // RECORD


def _entry(batch: dict, key: str, path):
    """batch[b"key"] (Python 2 files) or batch["key"] (written by Python 3 with str keys)."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    keys = ", ".join(repr(k)[:40] for k in list(batch)[:8])
    raise DataError(f"{path}: no '{key}' entry (has {keys})")


def _check_labels(y: np.ndarray, path, num_classes: int) -> None:
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        raise DataError(f"{path}: label {y[bad[0]]} of record {bad[0]} is outside "
                        f"0..{num_classes - 1}")
