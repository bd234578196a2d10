"""A folder of your own images: one sub-folder per class, read with Pillow.

    pets/cat/001.png  pets/cat/002.jpg  pets/dog/001.png ...   -> classes ("cat", "dog")
    pets/train/cat/...  pets/test/cat/...                      -> the test split given
    pets/train/cat/...                                         -> as pets/cat/...

Classes are the sub-folder names in sorted order, images are read in sorted file-name order, so
the arrays never depend on the file system's listing order. Without train/ and test/ folders,
a fixed-seed `test_fraction` of each class is held out as the test split. All images must share
one size unless `image_size=(H, W)` resizes them (bicubic). When every image is grayscale the
dataset has one channel; otherwise every image is converted to RGB (alpha is dropped).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scratchnn.data.dataset import Dataset, hold_out
from scratchnn.errors import DataError, one_line

SUFFIXES = (".png", ".jpg", ".jpeg")
GRAY_MODES = ("1", "L", "LA", "I;16", "I;16L", "I;16B")
TEST_FRACTION = 0.2


def is_image_folder(directory: Path) -> bool:
    """True if `directory` (or its train/ folder) has a sub-folder holding an image file."""
    try:
        return any(p.suffix.lower() in SUFFIXES for sub in _subfolders(_class_root(directory))
                   for p in sub.iterdir())
    except (OSError, DataError):
        return False


def _class_root(directory: Path) -> Path:
    """directory/train when it holds the class folders (train/ [+ test/] layout), else directory."""
    train = directory / "train"
    return train if train.is_dir() and _subfolders(train) else directory


def load_image_folder(directory: str | os.PathLike, name: str | None = None, *,
                      image_size: tuple[int, int] | None = None,
                      test_fraction: float | None = None) -> Dataset:
    """Read class sub-folders of PNG/JPEG images into a Dataset of uint8 (N, C, H, W) images.

    `directory` holds the class folders, or train/ and test/ folders that each hold them.
    image_size: (H, W) to resize every image to; without it, all must have the same size.
    test_fraction: the share of each class held out for testing when there is no test/ folder
    (default 0.2).
    """
    directory = Path(directory)
    name = name or directory.resolve().name
    if image_size is not None:
        image_size = _size(image_size)
    root = _class_root(directory)
    if root != directory and (directory / "test").is_dir():
        if test_fraction is not None:
            raise DataError(f"{directory}: has train/ and test/ folders; test_fraction applies "
                            "only to a folder without them")
        classes = _classes(directory / "train")
        x_train, y_train = _read_split(directory / "train", classes, image_size)
        x_test, y_test = _read_split(directory / "test", classes, image_size)
        x_train, x_test = _same_channels(x_train, x_test)
        if x_train.shape[2:] != x_test.shape[2:]:
            raise DataError(f"{directory}: train images are {x_train.shape[2:]} but test images "
                            f"are {x_test.shape[2:]}; pass image_size=(H, W) to resize them")
    else:
        classes = _classes(root)
        x, y = _read_split(root, classes, image_size)
        fraction = TEST_FRACTION if test_fraction is None else test_fraction
        x_train, y_train, x_test, y_test = hold_out(x, y, fraction, len(classes))
    return Dataset(name, x_train, y_train, x_test, y_test, classes)


def read_image(path: str | os.PathLike, image_size: tuple[int, int] | None = None,
               rgb: bool = False) -> np.ndarray:
    """One image file -> uint8 (H, W) for grayscale (unless `rgb`) or (H, W, 3) for colour."""
    from PIL import Image  # imported here: only image folders need Pillow

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("I", "F"):
                raise DataError(f"{path}: unsupported image mode {mode} (32-bit); save it as "
                                "an 8- or 16-bit PNG or a JPEG")
            if mode.startswith("I;16"):              # 16-bit grayscale: keep the top 8 bits
                image = Image.fromarray((np.asarray(image, np.uint16) >> 8).astype(np.uint8))
            image = image.convert("RGB" if rgb or mode not in GRAY_MODES else "L")
            if image_size is not None and image.size != (image_size[1], image_size[0]):
                image = image.resize((image_size[1], image_size[0]), Image.Resampling.BICUBIC)
            return np.asarray(image, dtype=np.uint8)
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - Pillow signals bad files with many types
        raise DataError(f"{path}: not a readable image ({one_line(error)})") from None


def _read_split(directory: Path, classes: tuple[str, ...],
                image_size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """Every image under directory/<class>/ -> (x uint8 (N, C, H, W), y int64 (N,))."""
    found = sorted(sub.name for sub in _subfolders(directory))
    unknown = [f for f in found if f not in classes]
    if unknown:
        raise DataError(f"{directory}: class folder(s) {', '.join(unknown)} not among the "
                        f"training classes ({', '.join(classes)})")
    arrays, labels, first = [], [], None
    for label, cls in enumerate(classes):
        if not (directory / cls).is_dir():
            continue
        for path in _images(directory / cls):
            image = read_image(path, image_size)
            if first is None:
                first = (path, image.shape[:2])
            elif image.shape[:2] != first[1]:
                raise DataError(f"{path}: image is {image.shape[0]}x{image.shape[1]} (HxW) but "
                                f"{first[0]} is {first[1][0]}x{first[1][1]}; all images must "
                                "have one size, or pass image_size=(H, W) (--image-size H,W) "
                                "to resize them")
            arrays.append(image)
            labels.append(label)
    if not arrays:
        raise DataError(f"{directory}: no images (.png, .jpg, .jpeg) in the class folders")
    if any(a.ndim == 3 for a in arrays):             # colour anywhere: every image RGB
        arrays = [np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
        x = np.stack(arrays).transpose(0, 3, 1, 2)   # (N, H, W, 3) -> (N, 3, H, W)
    else:
        x = np.stack(arrays)[:, None]                # (N, H, W) -> (N, 1, H, W)
    return np.ascontiguousarray(x), np.array(labels, dtype=np.int64)


def _same_channels(*xs: np.ndarray) -> list[np.ndarray]:
    """Grayscale splits become RGB when another split is in colour."""
    if all(x.shape[1] == xs[0].shape[1] for x in xs):
        return list(xs)
    return [np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x for x in xs]


def _classes(directory: Path) -> tuple[str, ...]:
    classes = tuple(sorted(sub.name for sub in _subfolders(directory)))
    if not classes:
        raise DataError(f"{directory}: no class sub-folders (expected {directory}/<class>/"
                        "<image>.png)")
    empty = [c for c in classes if not any(_images(directory / c))]
    if empty:
        raise DataError(f"{directory / empty[0]}: class folder without images "
                        "(.png, .jpg, .jpeg)")
    return classes


def _subfolders(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError as error:
        raise DataError(f"{directory}: cannot list ({error.strerror or error})") from None


def _images(directory: Path) -> list[Path]:
    """The image files of one class folder, sorted by name; other files are an error."""
    paths = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    others = [p for p in paths if p.suffix.lower() not in SUFFIXES]
    if others:
        raise DataError(f"{others[0]}: not a PNG or JPEG file ({', '.join(SUFFIXES)}); a class "
                        "folder may hold only images")
    return paths


def _size(image_size) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise DataError(f"image_size must be (H, W), got {image_size!r}") from None
    if h <= 0 or w <= 0:
        raise DataError(f"image_size must be positive, got {image_size!r}")
    return h, w
