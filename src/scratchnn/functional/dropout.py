"""Inverted dropout: in training each unit is zeroed with probability p and the survivors are
scaled by 1 / (1 - p), so nothing changes at evaluation (the layer is then the identity)."""

from __future__ import annotations

import numpy as np


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Shapes: x (any) -> y (same). The cache is the scaled mask: 0 or 1 / (1 - p)."""
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    keep = rng.random(x.shape, dtype=dtype) >= p
    mask = keep * dtype.type(1.0 / (1.0 - p)) if p < 1 else np.zeros(x.shape, dtype)
    return x * mask, mask


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return dout * mask
