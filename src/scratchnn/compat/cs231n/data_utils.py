"""CS231n's `data_utils.py` loaders over scratchnn's safe readers (no pickle.load anywhere).

The arrays come out as the course's do: float NHWC from load_CIFAR10, float NCHW dicts from
get_CIFAR10_data and load_tiny_imagenet.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scratchnn.data import load
from scratchnn.data.images import read_image
from scratchnn.errors import DataError


def load_CIFAR10(ROOT: str | os.PathLike) -> tuple[np.ndarray, ...]:  # noqa: N802, N803
    """-> Xtr (50000, 32, 32, 3) float64, Ytr (50000,), Xte (10000, 32, 32, 3), Yte (10000,).

    ROOT: the cifar-10-batches-py (or -bin) folder, or a folder holding one; read with
    scratchnn.data's CIFAR reader (restricted unpickling)."""
    data = load("cifar10", root=ROOT)
    to_nhwc = lambda x: x.transpose(0, 2, 3, 1).astype(np.float64)  # noqa: E731
    return to_nhwc(data.x_train), data.y_train, to_nhwc(data.x_test), data.y_test


def get_CIFAR10_data(num_training: int = 49000, num_validation: int = 1000,  # noqa: N802
                     num_test: int = 1000, subtract_mean: bool = True,
                     cifar10_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The notebooks' dict: X_train (num_training, 3, 32, 32), y_train, X_val (the next
    num_validation training images), y_val, X_test (the first num_test), y_test; float64,
    minus the training mean image if subtract_mean.

    cifar10_dir: where the batches are; by default scratchnn's search ($SCRATCHNN_DATA/cifar10,
    ~/.cache/scratchnn/cifar10) instead of the course's relative path."""
    if cifar10_dir is None:
        data = load("cifar10")
        to_nhwc = lambda x: x.transpose(0, 2, 3, 1).astype(np.float64)  # noqa: E731
        X_train, y_train = to_nhwc(data.x_train), data.y_train
        X_test, y_test = to_nhwc(data.x_test), data.y_test
    else:
        X_train, y_train, X_test, y_test = load_CIFAR10(cifar10_dir)
    val = slice(num_training, num_training + num_validation)
    X_val, y_val = X_train[val], y_train[val]
    X_train, y_train = X_train[:num_training], y_train[:num_training]
    X_test, y_test = X_test[:num_test], y_test[:num_test]
    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    to_nchw = lambda x: x.transpose(0, 3, 1, 2).copy()  # noqa: E731
    return {"X_train": to_nchw(X_train), "y_train": y_train, "X_val": to_nchw(X_val),
            "y_val": y_val, "X_test": to_nchw(X_test), "y_test": y_test}


def _lines(path: Path) -> list[list[str]]:
    """Tab-separated fields of each non-empty line of a text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    return [line.split("\t") for line in text.splitlines() if line.strip()]


def _images(paths: list[Path], dtype) -> np.ndarray:
    """Image files -> (N, 3, H, W) in dtype; grayscale images are repeated over the channels."""
    return np.stack([read_image(p, rgb=True).transpose(2, 0, 1) for p in paths]).astype(dtype)


def load_tiny_imagenet(path: str | os.PathLike, dtype=np.float32, subtract_mean: bool = True
                       ) -> dict:
    """TinyImageNet (or a folder in its layout), as the course's CNN code loads it:

        wnids.txt                    one wnid per line: the class order
        words.txt                    wnid <TAB> comma-separated names
        train/<wnid>/<wnid>_boxes.txt  filename <TAB> box...; images in train/<wnid>/images/
        val/val_annotations.txt      filename <TAB> wnid <TAB> box...; images in val/images/
        test/images/                 (optional test/test_annotations.txt gives y_test)

    -> dict class_names (list of name lists), X_train (N, 3, 64, 64), y_train, X_val, y_val,
    X_test, y_test (None without annotations), mean_image (3, 64, 64); images read with Pillow
    through scratchnn.data.images.read_image."""
    root = Path(path)
    wnids = [fields[0].strip() for fields in _lines(root / "wnids.txt")]
    label_of = {wnid: i for i, wnid in enumerate(wnids)}
    words = {f[0].strip(): [w.strip() for w in f[1].split(",")]
             for f in _lines(root / "words.txt") if len(f) > 1}
    class_names = [words.get(wnid, [wnid]) for wnid in wnids]

    train_paths, y_train = [], []
    for wnid in wnids:
        boxes = root / "train" / wnid / f"{wnid}_boxes.txt"
        names = [f[0] for f in _lines(boxes)]
        train_paths += [root / "train" / wnid / "images" / name for name in names]
        y_train += [label_of[wnid]] * len(names)

    def annotated(split: str) -> tuple[list[Path], np.ndarray] | None:
        notes = root / split / f"{split}_annotations.txt"
        if not notes.is_file():
            return None
        fields = _lines(notes)
        unknown = {f[1] for f in fields} - label_of.keys()
        if unknown:
            raise DataError(f"{notes}: wnids not in wnids.txt: {sorted(unknown)[:5]}")
        return ([root / split / "images" / f[0] for f in fields],
                np.array([label_of[f[1]] for f in fields], dtype=np.int64))

    val_paths, y_val = annotated("val") or ([], np.zeros(0, np.int64))
    test = annotated("test")
    if test is not None:
        test_paths, y_test = test
    else:
        folder = root / "test" / "images"
        test_paths = sorted(folder.iterdir()) if folder.is_dir() else []
        y_test = None

    X_train = _images(train_paths, dtype)
    X_val = _images(val_paths, dtype) if val_paths else np.zeros((0, *X_train.shape[1:]), dtype)
    X_test = (_images(test_paths, dtype) if test_paths
              else np.zeros((0, *X_train.shape[1:]), dtype))
    mean_image = X_train.mean(axis=0)
    if subtract_mean:
        X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    return {"class_names": class_names, "X_train": X_train,
            "y_train": np.array(y_train, dtype=np.int64), "X_val": X_val, "y_val": y_val,
            "X_test": X_test, "y_test": y_test, "mean_image": mean_image}
