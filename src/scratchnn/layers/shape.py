"""Flatten: (N, ...) -> (N, prod(...))."""

from __future__ import annotations

import numpy as np

from scratchnn.layer import Layer


class Flatten(Layer):
    """Keeps the batch axis and flattens the rest. Shapes: (N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self._saved())
