"""Flatten: (N, ...) -> (N, prod(...))."""

from __future__ import annotations

import numpy as np

from scratchnn.errors import ShapeError
from scratchnn.layer import Layer


class Flatten(Layer):
    """Keeps the batch axis and flattens the rest. Shapes: (N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim < 1:
            got = f"shape {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
            raise ShapeError(f"Flatten expects an ndarray (N, ...), got {got}")
        if self.training:
            self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self._saved())
