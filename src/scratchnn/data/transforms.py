"""Transforms, applied one batch at a time, so no float copy of a whole dataset is ever made.

Preprocessing: raw (uint8) batches -> float32 network inputs; statistics come from the training
split only and are then applied unchanged to validation and test batches.

    Scale()                          x / 255                                  (DLFS normalize=True)
    Standardize.fit(x_train)         (x / 255 - mean) / std per channel     (the default here)
    SubtractMeanImage.fit(x_train)   x - the mean training image, 0..255 scale    (CS231n)
    flatten(x), one_hot(y, C), Compose(f, g, ...)

Augmentation: training batches only, before preprocessing; uint8 in, uint8 out.

    Augment(crop_padding=4, flip=True)(x, rng)    random crop of the zero-padded image, then a
                                                  random horizontal flip, for every image at once
    Augment(erase=0.5)                            and then random erasing: noise over a random
                                                  rectangle of half the images
    augment_rng(seed, epoch, batch_index)         the generator for one batch

The augmentation of a batch is a pure function of (seed, epoch, batch index): training resumed
from a checkpoint in the middle of an epoch sees exactly the images it would have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from scratchnn.errors import ConfigError, ShapeError

PREPROCESS = ("standardize", "scale", "mean_image", "none")


@dataclass(frozen=True)
class Standardize:
    """x -> (x / 255 - mean) / std per channel, as float32.

    mean and std are per channel (axis 1 of NCHW images; a single channel for (N, D) arrays),
    measured on the training set only. Applied per batch: no float copy of a whole dataset.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardize:
        """Exact per-channel statistics of uint8 data from a histogram (no float copy)."""
        if x.dtype != np.uint8:
            raise ShapeError(f"Standardize.fit expects uint8 pixels, got {x.dtype}")
        channels = [x[:, c] for c in range(x.shape[1])] if x.ndim == 4 else [x]
        mean, std = [], []
        for values in channels:
            counts = np.zeros(256)
            for start in range(0, len(values), 4096):   # bincount widens uint8 to int64:
                chunk = values[start:start + 4096]       # in chunks, that stays a few MB
                counts += np.bincount(chunk.reshape(-1), minlength=256)
            levels = np.arange(counts.size) / 255.0
            m = counts @ levels / counts.sum()
            mean.append(float(m))
            s = float(np.sqrt(counts @ (levels - m) ** 2 / counts.sum()))
            std.append(s if s > 1e-6 else 1.0)    # a constant channel: rounding leaves ~1e-18
        return cls(tuple(mean), tuple(std))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Shapes: (N, C, H, W) or (N, D) uint8 -> same shape, float32."""
        shape = (1, -1) + (1,) * (x.ndim - 2) if len(self.mean) > 1 else (1,) * x.ndim
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        std = np.asarray(self.std, np.float32).reshape(shape)
        out = x.astype(np.float32)
        out *= np.float32(1 / 255) / std        # in place: one float32 copy of the batch, no more
        out -= mean / std
        return out

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}    # no "kind": the default

    @classmethod
    def from_dict(cls, d: dict) -> Standardize:
        return cls(tuple(map(float, d["mean"])), tuple(map(float, d["std"])))


@dataclass(frozen=True)
class Scale:
    """x -> x / 255 as float32: pixels in [0, 1]."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = x.astype(np.float32)
        out *= np.float32(1 / 255)
        return out

    def to_dict(self) -> dict:
        return {"kind": "scale"}

    @classmethod
    def from_dict(cls, d: dict) -> Scale:
        return cls()


@dataclass(frozen=True, eq=False)
class SubtractMeanImage:
    """x -> x - mean_image as float32, on the 0..255 scale (CS231n's data preprocessing).

    mean_image: (C, H, W), the pixel-wise mean over the training images only.
    """

    mean_image: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> SubtractMeanImage:
        total = np.zeros(x.shape[1:])
        for start in range(0, len(x), 4096):        # float64 sums, a chunk of x at a time
            total += x[start:start + 4096].sum(axis=0, dtype=np.float64)
        return cls((total / len(x)).astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1:] != self.mean_image.shape:
            raise ShapeError(f"SubtractMeanImage was fitted on samples {self.mean_image.shape}, "
                             f"got {x.shape[1:]}")
        out = x.astype(np.float32)
        out -= self.mean_image
        return out

    def to_dict(self) -> dict:
        return {"kind": "mean_image", "mean_image": self.mean_image.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> SubtractMeanImage:
        return cls(np.asarray(d["mean_image"], np.float32))


class Compose:
    """Apply callables in order: Compose(Scale(), flatten)(x) == flatten(Scale()(x))."""

    def __init__(self, *steps: Callable[[np.ndarray], np.ndarray]) -> None:
        self.steps = steps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = step(x)
        return x


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, ...) -> (N, prod(...)), a view when x is contiguous."""
    return x.reshape(len(x), -1)


def one_hot(y: np.ndarray, num_classes: int, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) -> one-hot rows (N, num_classes)."""
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= num_classes)):
        raise ShapeError(f"one_hot expects labels (N,) in [0, {num_classes}), got shape "
                         f"{y.shape}" + (f", values {y.min()}..{y.max()}" if y.size else ""))
    out = np.zeros((len(y), num_classes), dtype)
    out[np.arange(len(y)), y] = 1
    return out


def fit_preprocess(kind: str, x_train: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """The preprocessing `kind` (one of PREPROCESS) fitted on the training inputs.

    None means "cast to the model's dtype" (the Trainer's default for data that is not uint8):
    "none" always, and "standardize" for float data, which is used as given.
    """
    if kind not in PREPROCESS:
        raise ConfigError(f"unknown preprocess {kind!r}; expected one of {', '.join(PREPROCESS)}")
    if kind == "none" or (kind == "standardize" and x_train.dtype != np.uint8):
        return None
    if kind == "standardize":
        return Standardize.fit(x_train)
    if kind == "scale":
        return Scale()
    return SubtractMeanImage.fit(x_train)


# A fitted preprocessing's to_dict() names its kind; from_dict finds the class here.
PREPROCESSORS = {"standardize": Standardize, "scale": Scale, "mean_image": SubtractMeanImage}


def from_dict(d: dict) -> Callable[[np.ndarray], np.ndarray]:
    """Rebuild a fitted preprocessing from its to_dict() (as stored in model files and
    checkpoints): PREPROCESSORS[kind].from_dict(d); a dict without "kind" is Standardize's."""
    kind = d.get("kind", "standardize")
    if kind not in PREPROCESSORS:
        raise ConfigError(f"unknown preprocessing {kind!r}; known: {', '.join(PREPROCESSORS)}")
    try:
        return PREPROCESSORS[kind].from_dict(d)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"malformed {kind} preprocessing state ({error!r})") from None


# -- augmentation -------------------------------------------------------------------------------

def crop_padded(x: np.ndarray, padding: int, top: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Zero-pad every image by `padding` pixels on each side, then cut image i's (H, W) window
    whose corner is at (top[i], left[i]) of the padded image; top, left in [0, 2 * padding].

    Shapes: x (N, C, H, W), top (N,), left (N,) -> (N, C, H, W), a new array.
    No loop over samples: the windows are a view, gathered by one fancy index.
    """
    n, c, h, w = x.shape
    p = padding
    padded = np.zeros((n, c, h + 2 * p, w + 2 * p), x.dtype)      # (N, C, H+2p, W+2p)
    padded[:, :, p:p + h, p:p + w] = x                              # (5x faster than np.pad)
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))      # (N, C, 2p+1, 2p+1, H, W)
    # Index arrays on axes 0, 2, 3 with a slice between: numpy puts the indexed axis first.
    return windows[np.arange(n), :, top, left]                      # (N, C, H, W)


def flip_horizontal(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mirror left-right the images where mask is True. Shapes: x (N, C, H, W), mask (N,) bool
    -> (N, C, H, W), a new array."""
    out = x.copy()
    out[mask] = x[mask][..., ::-1]
    return out


def augment_rng(seed: int, epoch: int, batch_index: int) -> np.random.Generator:
    """The generator that augments batch `batch_index` of `epoch` (0-based): a pure function
    of the three numbers, independent of the shuffling generator default_rng([seed, epoch])."""
    return np.random.default_rng([seed, epoch, batch_index, 1])


def default_crop_padding(height: int) -> int:
    """4 pixels for 32x32 images (CIFAR), 2 for 28x28 (MNIST-style), 1 below 16 (8x8 digits)."""
    return 4 if height >= 32 else 2 if height >= 16 else 1


def erase_rectangles(x: np.ndarray, probability: float, rng: np.random.Generator
                     ) -> np.ndarray:
    """Random erasing (Zhong et al. 2017): with `probability`, fill one random rectangle of an
    image with uniform noise, on all channels.

    The rectangle covers 2%-33% of the image with aspect ratio h/w in [0.3, 3.3] (log-uniform),
    torchvision's RandomErasing ranges; a side longer than the image is cut to it. Noise is
    uint8 0..255 for uint8 images, else uniform between the batch's min and max.
    From `rng` it draws, in this order: chosen (N,), area (N,), log-aspect (N,), top (N,) and
    left (N,) as fractions of the room left, then the noise (N, C, H, W).
    Shapes: x (N, C, H, W) -> (N, C, H, W), a new array.
    """
    n, _, h, w = x.shape
    chosen = rng.random(n) < probability
    area = rng.uniform(0.02, 0.33, n) * h * w
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3), n))
    rect_h = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.int64)
    rect_w = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.int64)
    top = (rng.random(n) * (h - rect_h + 1)).astype(np.int64)
    left = (rng.random(n) * (w - rect_w + 1)).astype(np.int64)
    rows, cols = np.arange(h), np.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < (top + rect_h)[:, None])          # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < (left + rect_w)[:, None])        # (N, W)
    inside = in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None]   # (N, H, W)
    if x.dtype == np.uint8:
        noise = rng.integers(0, 256, size=x.shape, dtype=np.uint8)
    else:
        noise = rng.uniform(x.min(), x.max(), size=x.shape).astype(x.dtype)
    return np.where(inside[:, None], noise, x)


@dataclass(frozen=True)
class Augment:
    """Random crop with zero padding, random horizontal flip, then random erasing, for a batch
    of images.

    crop_padding: zeros added on every side before a random crop back to (H, W); 0 = no crop.
    flip: mirror each image left-right with probability 1/2.
    erase: the probability of erasing a random rectangle of an image (erase_rectangles); 0 = off.
    Shapes: x (N, C, H, W) of any dtype -> a new array of the same shape and dtype.
    From `rng` it draws, in this order: top (N,) and left (N,) offsets in [0, 2 * crop_padding]
    (only when cropping), the flip mask (N,) (only when flipping), then erase_rectangles' draws
    (only when erasing).
    """

    crop_padding: int = 4
    flip: bool = True
    erase: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.crop_padding, bool) or not isinstance(self.crop_padding, int) \
                or self.crop_padding < 0:
            raise ConfigError(f"crop_padding must be an integer >= 0, got {self.crop_padding!r}")
        if isinstance(self.erase, bool) or not isinstance(self.erase, (int, float)) \
                or not 0 <= self.erase <= 1:
            raise ConfigError(f"erase must be a probability in [0, 1], got {self.erase!r}")

    @classmethod
    def for_dataset(cls, name: str, input_shape: tuple[int, ...], *,
                    crop_padding: int | None = None, flip: bool | None = None,
                    erase: float = 0.0) -> Augment:
        """The defaults for a dataset: padding by image size (default_crop_padding), flips
        unless mirrored images change class (off for digits and MNIST, on for Fashion-MNIST,
        CIFAR-10 and your own images); either can be overridden. Erasing is off unless given."""
        from scratchnn.data.registry import flips

        if len(input_shape) != 3:
            raise ConfigError(f"augmentation needs images (C, H, W); {name} has samples of "
                              f"shape {tuple(input_shape)}")
        if crop_padding is None:
            crop_padding = default_crop_padding(input_shape[1])
        return cls(crop_padding, flips(name) if flip is None else flip, erase)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if x.ndim != 4:
            raise ShapeError(f"Augment expects images (N, C, H, W), got shape {x.shape}")
        n = len(x)
        if self.crop_padding:
            top, left = rng.integers(0, 2 * self.crop_padding + 1, size=(2, n))
            x = crop_padded(x, self.crop_padding, top, left)
        if self.flip:
            mask = rng.random(n) < 0.5
            if self.crop_padding:      # x is already a new array: flip in place
                x[mask] = x[mask][..., ::-1]
            else:
                x = flip_horizontal(x, mask)
        if self.erase:
            x = erase_rectangles(x, self.erase, rng)
        return x if (self.crop_padding or self.flip or self.erase) else x.copy()
