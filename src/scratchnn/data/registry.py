"""Datasets by name or path: where each is looked for, how it is read, how to get it when missing.

    load("fashion-mnist")          # from the first place below that holds its four IDX files
    load("cifar10")                # cifar-10-batches-bin (preferred) or cifar-10-batches-py
    load("digits")                 # scikit-learn's bundled 8x8 digits
    load("path/to/mine.npz")       # x/y or x_train/y_train/x_test/y_test arrays
    load("path/to/mine.csv")       # a label column and numeric feature columns
    load("path/to/folder")         # IDX files, CIFAR-10 batches, train.csv + test.csv,
                                   # or class sub-folders of PNG/JPEG images

Named datasets are looked for in: `root` and root/NAME (when given), $SCRATCHNN_DATA/NAME
(when set), ~/.cache/scratchnn/NAME (where downloads go), then SYSTEM_DIRS
(the Debian package dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist).
CIFAR-10 may lie in any of them as the unpacked cifar-10-batches-bin/ or cifar-10-batches-py/
folder, or as those folders' files directly.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn.data import cifar
from scratchnn.data.csvfile import load_csv
from scratchnn.data.dataset import Dataset
from scratchnn.data.idx import read_idx, read_idx_shape
from scratchnn.data.images import is_image_folder, load_image_folder
from scratchnn.data.npz import load_npz
from scratchnn.errors import ConfigError, DataError
from scratchnn.names import choose

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
CIFAR10_CLASSES = cifar.CLASSES

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
    commands: tuple[str, ...]   # the exact shell commands that get it (any one will do)
    flip: bool      # whether a mirrored image is still of its class (augmentation's default)
    pixel_max: int = 255    # the value of a white pixel (digits: 16)


KNOWN: dict[str, _Known] = {
    "cifar10": _Known("Krizhevsky's 32x32 colour images, 50000 train + 10000 test, 10 classes",
                      CIFAR10_CLASSES,
                      _DOWNLOAD.format("cifar10") + ", which fetches cifar-10-binary.tar.gz "
                      "(162 MB, MD5-checked) from https://www.cs.toronto.edu/~kriz/ and unpacks "
                      "it into ~/.cache/scratchnn/cifar10; or unpack cifar-10-binary.tar.gz or "
                      "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
                      "into $SCRATCHNN_DATA/cifar10",
                      ("python -m scratchnn.data.download cifar10",), flip=True),
    "digits": _Known("scikit-learn's bundled 8x8 handwritten digits, 1797 images, 10 classes",
                     MNIST_CLASSES, "`pip install scikit-learn`", ("pip install scikit-learn",),
                     flip=False, pixel_max=16),
    "fashion-mnist": _Known("Zalando's 28x28 clothing images, 60000 train + 10000 test, "
                            "10 classes", FASHION_MNIST_CLASSES,
                            "`apt-get install dataset-fashion-mnist` (as root) or "
                            + _DOWNLOAD.format("fashion-mnist"),
                            ("sudo apt-get install dataset-fashion-mnist",
                             "python -m scratchnn.data.download fashion-mnist"), flip=True),
    "mnist": _Known("LeCun's 28x28 handwritten digits, 60000 train + 10000 test, 10 classes",
                    MNIST_CLASSES, _DOWNLOAD.format("mnist"),
                    ("python -m scratchnn.data.download mnist",), flip=False),
}


@dataclass(frozen=True)
class DatasetInfo:
    """One known dataset as `scratchnn datasets` shows it.

    location is None when the dataset is not available; the sizes are None when unknown, and
    `problem` says why a dataset that was found cannot be read.
    """

    name: str
    description: str
    location: str | None
    how_to_get: str
    commands: tuple[str, ...] = ()
    train_samples: int | None = None
    test_samples: int | None = None
    input_shape: tuple[int, ...] | None = None
    problem: str | None = None


def load(name: str | os.PathLike, root: str | os.PathLike | None = None, *,
         n_train: int | None = None, n_val: int = 0, n_test: int | None = None,
         channels_last: bool = False, image_size: tuple[int, int] | None = None,
         label_column: str | None = None, test_fraction: float | None = None) -> Dataset:
    """Load a dataset by name (cifar10, digits, fashion-mnist, mnist) or from a path.

    Returns a Dataset with uint8 NCHW images, e.g. x_train (60000, 1, 28, 28) for Fashion-MNIST
    or (50000, 3, 32, 32) for CIFAR-10, and int64 labels. `root` is searched first (the order
    is in the module docstring). Missing data, an unknown name or a bad file raises a one-line
    DataError saying what to do.

    n_train, n_val, n_test: keep the first n_train training samples, the next n_val as a
    validation split (x_val, y_val) and the first n_test test samples (Dataset.take).
    channels_last: images come out (N, H, W, C) instead of NCHW (for other libraries; the
    layers here take NCHW). image_size=(H, W): resize the images of an image folder.
    label_column: the CSV column holding the labels (default "label"). test_fraction: the share
    of each class held out as test data when a path has no test split (default 0.2).
    """
    options = {"image_size": image_size, "label_column": label_column,
               "test_fraction": test_fraction}
    dataset = _read(name, root, options).take(n_train, n_val, n_test)
    return dataset.channels_last() if channels_last else dataset


def flips(name: str) -> bool:
    """Whether horizontal flips suit the dataset `name` (False for digits; True for unknown
    data such as your own images)."""
    known = KNOWN.get(name)
    return True if known is None else known.flip


def pixel_max(name: str, x: np.ndarray) -> float | None:
    """The value of a full-intensity pixel in dataset `name` with samples x: 16 for digits, 255
    for the other known datasets and uint8 data, 1.0 for floats within [0, 1]; None when unknown.
    Lets a trained model map a 0-255 image file onto its training data's scale."""
    known = KNOWN.get(name)
    if known is not None:
        return known.pixel_max
    if x.dtype == np.uint8:
        return 255
    if x.dtype.kind == "f" and x.size and 0.0 <= x.min() and x.max() <= 1.0:
        return 1.0
    return None


def _read(name: str | os.PathLike, root: str | os.PathLike | None, options: dict) -> Dataset:
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key == "":
        raise DataError(f"no dataset name given; known: {', '.join(sorted(KNOWN))}")
    if key in KNOWN:
        _only(options, (), key)
        if key == "digits":
            return _load_digits()
        location = find(key, root)
        if location is None:
            raise DataError(_not_found(key, root))
        return _read_found(key, location)
    path = Path(name).expanduser()
    if path.exists():
        return load_path(path, **options)
    if isinstance(name, str) and "/" not in name and os.sep not in name \
            and path.suffix.lower() not in (".npz", ".csv"):
        try:
            choose("dataset", name, sorted(KNOWN), listing=f"valid: {', '.join(sorted(KNOWN))} "
                   "(or a path: an .npz, a .csv or a folder)")
        except ConfigError as error:              # a dataset problem, as every other here
            raise DataError(str(error)) from None
    raise DataError(f"{path}: no such file or directory")


def load_path(path: str | os.PathLike, *, image_size: tuple[int, int] | None = None,
              label_column: str | None = None, test_fraction: float | None = None) -> Dataset:
    """Read the dataset at `path`, recognised by what it is (see the module docstring)."""
    path = Path(path)
    options = {"image_size": image_size, "label_column": label_column,
               "test_fraction": test_fraction}
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            _only(options, ("test_fraction",), path)
            return load_npz(path, test_fraction=test_fraction)
        if suffix == ".csv":
            _only(options, ("label_column", "test_fraction"), path)
            return load_csv(path, label_column=label_column or "label",
                            test_fraction=test_fraction)
        raise DataError(f"{path}: not a dataset file; a dataset path is an .npz or .csv file "
                        "or a directory")
    if not path.is_dir():
        raise DataError(f"{path}: no such file or directory")
    name = path.resolve().name
    if _idx_paths(path)[0]:                          # any IDX file: all four are expected
        _only(options, (), path)
        known = KNOWN.get(name)
        return load_idx_dir(path, name, known.classes if known else None)
    location = cifar.locate(path)
    if location is not None:
        _only(options, (), path)
        return cifar.load_cifar10(location)
    for layout in cifar.LAYOUTS:
        for folder in (path / layout, path):
            if len(cifar.missing(folder, layout)) < 6:
                raise DataError(f"{folder}: incomplete CIFAR-10: missing "
                                f"{', '.join(cifar.missing(folder, layout))}")
    if (path / "train.csv").is_file() and (path / "test.csv").is_file():
        _only(options, ("label_column",), path)
        return load_csv(path / "train.csv", name, label_column=label_column or "label",
                        test_path=path / "test.csv")
    if is_image_folder(path):
        _only(options, ("image_size", "test_fraction"), path)
        return load_image_folder(path, name, image_size=image_size, test_fraction=test_fraction)
    raise DataError(f"{path}: no dataset found; expected MNIST-style IDX files "
                    f"({', '.join(s + '[.gz]' for s in IDX_FILES.values())}), CIFAR-10 batches, "
                    "train.csv and test.csv, or class sub-folders of PNG/JPEG images")


def _only(options: dict, allowed: tuple[str, ...], what) -> None:
    """Refuse a format option the data at `what` has no use for (rather than ignore it)."""
    uses = {"image_size": "folders of images", "label_column": "CSV files",
            "test_fraction": "data without a test split of its own (.npz with x and y, one CSV, "
                             "an image folder without test/)"}
    for key, value in options.items():
        if value is not None and key not in allowed:
            raise DataError(f"{what}: {key} applies only to {uses[key]}")


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
    """The directories load(name, root) looks in, in order.

    An explicit `root` is searched itself and as root/NAME; $SCRATCHNN_DATA only as
    $SCRATCHNN_DATA/NAME, so MNIST files lying at its top can never pass for Fashion-MNIST.
    """
    dirs = [Path(root).expanduser(), Path(root).expanduser() / name] if root is not None else []
    if os.environ.get("SCRATCHNN_DATA"):
        dirs.append(Path(os.environ["SCRATCHNN_DATA"]).expanduser() / name)
    dirs += [cache_dir() / name, *SYSTEM_DIRS.get(name, ())]
    return list(dict.fromkeys(dirs))  # without repeats, in order


def find(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first search directory holding all of `name`'s files (for CIFAR-10: the folder of
    batches in or at it), or None."""
    for directory in search_dirs(name, root):
        location = _locate(name, directory)
        if location is not None:
            return location
    return None


def _locate(name: str, directory: Path) -> Path | None:
    if name == "cifar10":
        return cifar.locate(directory)
    return None if _idx_paths(directory)[1] else directory


def _read_found(name: str, location: Path) -> Dataset:
    if name == "cifar10":
        return cifar.load_cifar10(location, name)
    return load_idx_dir(location, name, KNOWN[name].classes)


def describe_source(name: str | os.PathLike) -> str:
    """Where load(name) reads from, in words: a directory or file, or scikit-learn's digits."""
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key == "digits":
        return "scikit-learn's bundled digits (sklearn.datasets.load_digits)"
    if key in KNOWN:
        location = find(key)
        return str(location) if location is not None else "not found on this machine"
    return str(Path(name).expanduser().resolve())


def known_datasets(root: str | os.PathLike | None = None) -> list[DatasetInfo]:
    """Every dataset name load() knows: where it was found (or None), its size (read from the
    file headers where the format allows; pickled CIFAR batches are loaded) and how to get it."""
    infos = []
    for name, known in sorted(KNOWN.items()):
        size: dict = {}
        if name == "digits":
            location = "scikit-learn" if importlib.util.find_spec("sklearn") else None
        else:
            found = find(name, root)
            location = None if found is None else str(found)
        if location is not None:
            try:
                size = _size(name, location)
            except DataError as error:
                size = {"problem": str(error)}
        infos.append(DatasetInfo(name, known.description, location, known.how_to_get,
                                 known.commands, **size))
    return infos


def _size(name: str, location: str) -> dict:
    """train_samples, test_samples and input_shape of a found dataset, as cheaply as possible."""
    if name == "cifar10" and cifar.sizes(location) is not None:
        train, test = cifar.sizes(location)
        return {"train_samples": train, "test_samples": test, "input_shape": cifar.IMAGE_SHAPE}
    if name in ("digits", "cifar10"):
        data = _load_digits() if name == "digits" else _read_found(name, Path(location))
        return {"train_samples": len(data.x_train), "test_samples": len(data.x_test),
                "input_shape": data.input_shape}
    found = _idx_paths(Path(location))[0]
    x_train, x_test = read_idx_shape(found["x_train"]), read_idx_shape(found["x_test"])
    shape = (1, *x_train[1:]) if len(x_train) == 3 else x_train[1:]
    return {"train_samples": x_train[0], "test_samples": x_test[0], "input_shape": shape}


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
        if name == "cifar10":
            count = max(6 - len(cifar.missing(folder, layout)) for layout in cifar.LAYOUTS
                        for folder in (directory / layout, directory))
            total = 6
        else:
            count, total = len(_idx_paths(directory)[0]), 4
        looked.append(f"{directory} (has {count} of {total} files)" if count else str(directory))
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
