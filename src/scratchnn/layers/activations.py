"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.layer import Layer, check_float_input


class ReLU(Layer):
    """y = max(x, 0); the gradient is passed where x > 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        out, mask = F.relu_forward(x)
        self._cache = mask if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.relu_backward(dout, self._saved())


class LeakyReLU(Layer):
    """y = x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        out, slope = F.leaky_relu_forward(x, self.negative_slope)
        self._cache = slope if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.leaky_relu_backward(dout, self._saved())

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        out, cache = F.sigmoid_forward(x)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.sigmoid_backward(dout, self._saved())


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        out, cache = F.tanh_forward(x)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.tanh_backward(dout, self._saved())
