"""Datasets by name: where each one is looked for, how it is read, and how to get it when missing.

    load("fashion-mnist")      # from the first place below that holds its four IDX files
    load("digits")             # scikit-learn's bundled 8x8 digits
    load("path/to/dir")        # any directory holding the four MNIST-style IDX files

Named IDX datasets are looked for in: `root` and root/NAME (when given), $SCRATCHNN_DATA/NAME
(when set), ~/.cache/scratchnn/NAME (where downloads go), then SYSTEM_DIRS
(the Debian package dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn.data.dataset import Dataset
from scratchnn.data.idx import read_idx
from scratchnn.errors import DataError

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))

# The four files of an MNIST-style dataset, each raw or with .gz appended.
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}

# Directories that system packages install datasets into, searched last.
SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}

_DOWNLOAD = "`python -m scratchnn.data.download {0}` (in Python: scratchnn.data.download('{0}'))"


@dataclass(frozen=True)
class _Known:
    description: str
    classes: tuple[str, ...]
    how_to_get: str


KNOWN: dict[str, _Known] = {
    "digits": _Known("scikit-learn's bundled 8x8 handwritten digits, 1797 images, 10 classes",
                     MNIST_CLASSES, "`pip install scikit-learn`"),
    "fashion-mnist": _Known("Zalando's 28x28 clothing images, 60000 train + 10000 test, "
                            "10 classes", FASHION_MNIST_CLASSES,
                            "`apt-get install dataset-fashion-mnist` (as root) or "
                            + _DOWNLOAD.format("fashion-mnist")),
    "mnist": _Known("LeCun's 28x28 handwritten digits, 60000 train + 10000 test, 10 classes",
                    MNIST_CLASSES, _DOWNLOAD.format("mnist")),
}


@dataclass(frozen=True)
class DatasetInfo:
    """One known dataset as `scratchnn datasets` shows it; location is None when not available."""

    name: str
    description: str
    location: str | None
    how_to_get: str


def load(name: str | os.PathLike, root: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset by name (digits, fashion-mnist, mnist) or from a directory of IDX files.

    Returns a Dataset with uint8 NCHW images, e.g. x_train (60000, 1, 28, 28) for Fashion-MNIST,
    and int64 labels. `root` is searched first (the order is in the module docstring). Missing
    data, an unknown name or a bad file raises a one-line DataError saying what to do.
    """
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key == "digits":
        return _load_digits()
    if key in KNOWN:
        directory = find(key, root)
        if directory is None:
            raise DataError(_not_found(key, root))
        return load_idx_dir(directory, key, KNOWN[key].classes)
    path = Path(name).expanduser()
    if key == "":
        raise DataError(f"no dataset name given; known: {', '.join(sorted(KNOWN))}")
    if path.is_dir():
        dir_name = path.resolve().name
        known = KNOWN.get(dir_name)
        return load_idx_dir(path, dir_name, known.classes if known else None)
    if isinstance(name, str) and not path.exists() and "/" not in name and os.sep not in name:
        close = difflib.get_close_matches(key, KNOWN, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"unknown dataset '{name}'{hint}; known: {', '.join(sorted(KNOWN))} "
                        "(or give a directory holding MNIST-style IDX files)")
    problem = "not a directory" if path.exists() else "no such directory"
    raise DataError(f"{path}: {problem}; a dataset path is a directory holding "
                    f"{', '.join(s + '[.gz]' for s in IDX_FILES.values())}")


def load_idx_dir(directory: str | os.PathLike, name: str,
                 classes: tuple[str, ...] | None = None) -> Dataset:
    """Read the four MNIST-style IDX files of `directory` into a Dataset called `name`.

    Shapes: image files (N, H, W) -> x (N, 1, H, W); label files (N,) -> y (N,) int64.
    Without `classes` the classes are "0", "1", ... (at least ten, enough for every label).
    """
    directory = Path(directory)
    found, missing = _idx_paths(directory)
    if missing:
        raise DataError(f"{directory}: missing {', '.join(missing)}")
    arrays = {key: read_idx(path) for key, path in found.items()}
    for key in ("x_train", "x_test"):
        if arrays[key].ndim == 3:
            arrays[key] = arrays[key][:, None]  # (N, H, W) -> (N, 1, H, W): one channel
    for key in ("y_train", "y_test"):
        if arrays[key].ndim != 1:
            raise DataError(f"{found[key]}: expected labels of shape (N,), "
                            f"got {arrays[key].shape}")
    if classes is None:
        top = max((int(y.max()) for y in (arrays["y_train"], arrays["y_test"]) if y.size),
                  default=-1)
        classes = tuple(str(k) for k in range(max(10, top + 1)))
    try:
        return Dataset(name, classes=classes, **arrays)
    except DataError as error:
        raise DataError(f"{directory}: {error}") from None


def cache_dir() -> Path:
    """~/.cache/scratchnn: downloads go to a subdirectory per dataset."""
    return Path.home() / ".cache" / "scratchnn"


def search_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The directories load(name, root) looks in for IDX files, in order.

    An explicit `root` is searched itself and as root/NAME; $SCRATCHNN_DATA only as
    $SCRATCHNN_DATA/NAME, so MNIST files lying at its top can never pass for Fashion-MNIST.
    """
    dirs = [Path(root).expanduser(), Path(root).expanduser() / name] if root is not None else []
    if os.environ.get("SCRATCHNN_DATA"):
        dirs.append(Path(os.environ["SCRATCHNN_DATA"]).expanduser() / name)
    dirs += [cache_dir() / name, *SYSTEM_DIRS.get(name, ())]
    return list(dict.fromkeys(dirs))  # without repeats, in order


def find(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first search directory holding all four IDX files of `name`, or None."""
    return next((d for d in search_dirs(name, root) if not _idx_paths(d)[1]), None)


def known_datasets(root: str | os.PathLike | None = None) -> list[DatasetInfo]:
    """Every dataset name load() knows, where it was found (or None) and how to get it."""
    infos = []
    for name, known in sorted(KNOWN.items()):
        if name == "digits":
            location = "scikit-learn" if importlib.util.find_spec("sklearn") else None
        else:
            found = find(name, root)
            location = None if found is None else str(found)
        infos.append(DatasetInfo(name, known.description, location, known.how_to_get))
    return infos


def _idx_paths(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """The IDX files present in `directory` (raw preferred over .gz) and the names missing."""
    found, missing = {}, []
    for key, stem in IDX_FILES.items():
        path = next((p for p in (directory / stem, directory / f"{stem}.gz") if p.is_file()), None)
        if path is None:
            missing.append(f"{stem}[.gz]")
        else:
            found[key] = path
    return found, missing


def _not_found(name: str, root: str | os.PathLike | None) -> str:
    looked = []
    for directory in search_dirs(name, root):
        count = len(_idx_paths(directory)[0])
        looked.append(f"{directory} (has {count} of 4 files)" if count else str(directory))
    return (f"{name}: not found; looked in {', '.join(looked)}; "
            f"get it with {KNOWN[name].how_to_get}")


def _load_digits() -> Dataset:
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) uint8 (values 0..16); the last fifth is test."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("digits needs scikit-learn: pip install scikit-learn") from None
    bunch = load_digits()
    x = bunch.images.astype(np.uint8)[:, None]  # (1797, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    split = len(x) - len(x) // 5  # fixed, so every run sees the same test set
    return Dataset("digits", x[:split], y[:split], x[split:], y[split:], MNIST_CLASSES)
