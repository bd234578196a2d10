"""Predictions of a trained run for image files and .npy arrays: the top-k classes.

    for p in predict_files("runs/mlp-20250101-120000", ["shoe.png", "batch.npy"], top_k=3):
        print(p.source, p.top)        # [("Sneaker", 0.94), ("Sandal", 0.04), ...]

Images (PNG, JPEG, ...) are read with Pillow, converted to the model's channels (grayscale or
RGB), resized to its H x W and mapped from 0-255 onto the training data's pixel scale (digits:
0-16, recorded as pixel_max in the model file); .npy arrays must already have the model's
sample shape and scale. Both then go through the run's own normalisation. Fashion-MNIST shows
light clothes on black: a photo of a dark object on a light background needs `invert=True`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn.data.arrayfile import read_npy
from scratchnn.data.images import GRAY_MODES, read_image
from scratchnn.errors import DataError
from scratchnn.functional.losses import softmax
from scratchnn.train.evaluate import predict_scores
from scratchnn.train.rundir import Run


@dataclass(frozen=True)
class Prediction:
    """One input (a file, or FILE[i] for the i-th sample of a .npy batch) and its top classes
    as (class name, probability), most probable first."""

    source: str
    top: list[tuple[str, float]]


def predict_files(run: str | Path, files: list[str | Path], *, top_k: int = 3,
                  invert: bool = False, note: Callable[[str], None] | None = None
                  ) -> list[Prediction]:
    """Load the run's model (a run directory or a model.npz) and predict every file.
    note(text) is told what was done to an image ("note: ... resized") and when an input looks
    nothing like the training data ("warning: ..." about its pixel statistics)."""
    if top_k < 1:
        raise DataError(f"--top-k must be a positive integer, got {top_k}")
    run = Run.open(run)
    model = run.load_model()
    note = note or (lambda text: None)
    predictions = []
    for path in map(Path, files):
        names, x = model_inputs(run, path, invert=invert, note=note)
        for name, sample in zip(names, unusual_inputs(run, x), strict=True):
            if sample:
                note(f"warning: {name}: {sample}")
        for name, p in zip(names, class_probabilities(model, run, x), strict=True):
            predictions.append(Prediction(name, top_classes(p, run.classes, top_k)))
    return predictions


def require_input_shape(run: Run, shape: tuple[int, ...], source: str) -> None:
    """DataError when inputs of `shape` (C, H, W) from `source` (a dataset's name) do not fit
    the run's model: "this model was trained on 1x8x8 images (digits); ..."."""
    if tuple(shape) != tuple(run.input_shape) and math.prod(shape) != math.prod(run.input_shape):
        trained = "x".join(map(str, run.input_shape))
        raise DataError(f"this model was trained on {trained} inputs ({run.dataset_name}); "
                        f"{source}'s are {'x'.join(map(str, shape))}: evaluate it on data of "
                        "its own size")


def model_inputs(run: Run, path: Path, *, invert: bool = False,
                 note: Callable[[str], None] | None = None) -> tuple[list[str], np.ndarray]:
    """A file -> (a name per sample, raw inputs (N, *run.input_shape)) on the training data's
    pixel scale (images: 0-255 mapped onto 0-pixel_max), inverted if asked. note(text) hears
    how an image was converted."""
    white = run.pixel_max or 255          # model files before pixel_max: 0-255
    names, x = read_inputs(path, run.input_shape, note=note)
    if path.suffix.lower() != ".npy" and white != 255:    # image files hold 0-255
        x = x.astype(np.float32) * np.float32(white / 255)
    if invert:
        x = np.asarray(white, x.dtype) - x
    return names, x


def unusual_inputs(run: Run, x: np.ndarray) -> list[str]:
    """Per sample, "" or why its pixels look nothing like the training data's: after the run's
    standardisation a training image has mean near 0 and spread near 1."""
    stored = run.meta.get("preprocess") or {}
    if "mean" not in stored or "std" not in stored:
        return [""] * len(x)
    prepared = run.prepare(x).reshape(len(x), -1).astype(np.float64)
    found = []
    for mean, std in zip(prepared.mean(axis=1), prepared.std(axis=1), strict=True):
        if abs(mean) > 1.5 or std < 0.2 or std > 5:
            found.append(f"its pixels are far from the training data's (standardised mean "
                         f"{mean:.2f} and spread {std:.2f}, where training images have about 0 "
                         "and 1): the prediction may mean little" + (
                             "; a dark object on a light background needs --invert"
                             if mean > 1.5 else ""))
        else:
            found.append("")
    return found


def class_probabilities(model, run: Run, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities (N, classes), float64, of the eval-mode model for raw inputs x."""
    return softmax(predict_scores(model, x, run.prepare, views=run.test_views)
                   .astype(np.float64))


def top_classes(p: np.ndarray, classes: list[str], top_k: int) -> list[tuple[str, float]]:
    """The top_k (class name, probability) of one sample's probabilities p (classes,)."""
    best = np.argsort(-p, kind="stable")[:top_k]
    return [(classes[k], float(p[k])) for k in best]


def read_inputs(path: Path, shape: tuple[int, ...], note: Callable[[str], None] | None = None
                ) -> tuple[list[str], np.ndarray]:
    """A file -> (a name per sample, samples (N, *shape)); a one-line DataError when the file
    is missing, unreadable or of the wrong size. note(text) hears how an image was converted."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        return _read_npy(path, shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise DataError(f"{path}: this model takes inputs of shape {shape}, not images; "
                        "give a .npy array of that shape")
    image = read_image(path, shape[1:], rgb=shape[0] == 3)        # (H, W) or (H, W, 3)
    if image.ndim == 3 and shape[0] == 1:                         # colour -> gray (ITU-R 601)
        image = np.rint(image @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    if note is not None:
        _describe_conversion(path, shape, note)
    x = image[None, None] if image.ndim == 2 else image.transpose(2, 0, 1)[None]
    return [str(path)], x


def _describe_conversion(path: Path, shape: tuple[int, ...], note: Callable[[str], None]
                         ) -> None:
    from PIL import Image

    with Image.open(path) as image:
        (width, height), mode = image.size, image.mode
    changes = []
    if (height, width) != tuple(shape[1:]):
        changes.append(f"resized from {width}x{height} to {shape[2]}x{shape[1]}")
    if shape[0] == 1 and mode not in GRAY_MODES:
        changes.append("made grayscale")
    elif shape[0] == 3 and mode in GRAY_MODES:
        changes.append("made RGB")
    if changes:
        note(f"note: {path}: {' and '.join(changes)}, as the model takes "
             f"{'x'.join(map(str, shape))} inputs")


def _read_npy(path: Path, shape: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    x = read_npy(path)
    if x.dtype.kind not in "uif":
        raise DataError(f"{path}: expected numbers, got an array of {x.dtype}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: the array holds NaN or infinite values")
    size = math.prod(shape)
    accepted = [shape, (size,)] + ([shape[1:]] if len(shape) == 3 and shape[0] == 1 else [])
    for sample in accepted:                     # one sample, or a batch of them
        if x.shape == sample:
            return [str(path)], x.reshape(1, *shape)
        if x.ndim == len(sample) + 1 and x.shape[1:] == sample and len(x) > 0:
            return [f"{path}[{i}]" for i in range(len(x))], x.reshape(len(x), *shape)
    expected = " or ".join(str(s) for s in accepted)
    raise DataError(f"{path}: array of shape {x.shape} does not fit the model's input "
                    f"{expected} (optionally with a leading batch axis)")
