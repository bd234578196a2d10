"""Standardize: uint8 images -> float32 network inputs, one batch at a time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        return {"mean": list(self.mean), "std": list(self.std)}
