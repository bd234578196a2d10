"""Test-time augmentation: a prediction averages the network's scores over a few fixed views of
each image, the deterministic counterparts of the training augmentation.

    views = TestViews(flip=True, shift=1)     the image and its mirror, each also moved one
                                              pixel left and right: 6 views
    stacked = views.of(x)                     raw (N, C, H, W) -> (6 * N, C, H, W)
    scores = views.average(model(prepare(stacked)))     (6 * N, K) -> (N, K)

Views are made of raw pixels, before preprocessing: a moved image is zero-filled at the edge
it leaves, as Augment's random crop fills it. The mean is of the scores (logits), so it is
also what the exported ONNX graph computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scratchnn.data.transforms import crop_padded
from scratchnn.errors import ConfigError, ShapeError


@dataclass(frozen=True)
class TestViews:
    """flip: add every view's mirror image; shift: also move each view this many pixels left
    and right (0: not at all)."""

    __test__ = False                   # not a pytest class, despite the name

    flip: bool = True
    shift: int = 1

    def __post_init__(self) -> None:
        if type(self.flip) is not bool:
            raise ConfigError(f"test views: flip must be true or false, got {self.flip!r}")
        if type(self.shift) is not int or not 0 <= self.shift <= 4:
            raise ConfigError(f"test views: shift must be an integer in [0, 4], got "
                              f"{self.shift!r}")

    @classmethod
    def for_augment(cls, augment) -> TestViews:
        """The views matching an Augment: mirrors if it flips, one-pixel moves if it crops."""
        return cls(flip=augment.flip, shift=1 if augment.crop_padding else 0)

    @classmethod
    def from_dict(cls, stored: dict) -> TestViews:
        if not isinstance(stored, dict) or set(stored) != {"flip", "shift"}:
            raise ConfigError(f"test views must be {{'flip': bool, 'shift': int}}, got "
                              f"{stored!r}")
        return cls(**stored)

    def to_dict(self) -> dict:
        return {"flip": self.flip, "shift": self.shift}

    @property
    def offsets(self) -> tuple[int, ...]:
        """Horizontal moves in pixels, the unmoved view first (right is positive)."""
        return (0, self.shift, -self.shift) if self.shift else (0,)

    @property
    def count(self) -> int:
        return len(self.offsets) * (2 if self.flip else 1)

    def of(self, x: np.ndarray) -> np.ndarray:
        """Shapes: x (N, C, H, W) -> (count * N, C, H, W), view-major: rows v*N..(v+1)*N-1
        are view v of every image (the unmoved, then the moved; then the same mirrored)."""
        if x.ndim != 4:
            raise ShapeError(f"test views need images (N, C, H, W), got shape {x.shape}")
        images = (x, x[..., ::-1]) if self.flip else (x,)
        return np.concatenate([moved(image, dx) for image in images for dx in self.offsets])

    def average(self, scores: np.ndarray) -> np.ndarray:
        """Shapes: scores (count * N, K) of the stacked views -> (N, K), their mean."""
        if len(scores) % self.count:
            raise ShapeError(f"{len(scores)} rows of scores are not {self.count} views of "
                             "the same images")
        return scores.reshape(self.count, -1, *scores.shape[1:]).mean(axis=0,
                                                                      dtype=scores.dtype)


def moved(x: np.ndarray, dx: int) -> np.ndarray:
    """x (N, C, H, W) moved dx pixels to the right (left if negative), zeros where it left: the
    training crop (transforms.crop_padded) with padding |dx| at one fixed window."""
    if dx == 0:
        return x
    pad, n = abs(dx), len(x)
    return crop_padded(x, pad, np.full(n, pad), np.full(n, pad - dx))
