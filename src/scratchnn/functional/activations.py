"""Elementwise activations. Each backward multiplies dout by the local derivative and never
writes into dout or the cache."""

from __future__ import annotations

import numpy as np

from scratchnn import parallel


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y = max(x, 0). The cache is the mask x > 0 (the gradient at exactly 0 is 0, as in torch).
    Split over the batch or channels across threads (parallel.py); y keeps x's memory order."""
    out, mask = np.empty_like(x), np.empty_like(x, dtype=bool)

    def part(x, out, mask):
        np.maximum(x, 0, out=out)
        np.greater(x, 0, out=mask)
    parallel.elementwise(part, x, out, mask)
    return out, mask


def relu_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    dx = np.empty_like(mask, dtype=np.result_type(dout))
    parallel.elementwise(lambda dout, mask, dx: np.multiply(dout, mask, out=dx), dout, mask, dx)
    return dx


def leaky_relu_forward(x: np.ndarray, negative_slope: float) -> tuple[np.ndarray, np.ndarray]:
    """y = x for x > 0, negative_slope * x otherwise. The cache is the local slope."""
    slope = np.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
    return x * slope, slope


def leaky_relu_backward(dout: np.ndarray, slope: np.ndarray) -> np.ndarray:
    return dout * slope


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y = 1 / (1 + exp(-x)), written as (1 + tanh(x / 2)) / 2, which never overflows."""
    out = np.tanh(x * x.dtype.type(0.5))
    out += 1
    out *= x.dtype.type(0.5)
    return out, out


# dy/dx = y (1 - y): the derivative is a function of the OUTPUT, so the output is cached.
def sigmoid_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    return dout * out * (1 - out)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y = tanh(x)."""
    out = np.tanh(x)
    return out, out


# dy/dx = 1 - y^2, again a function of the output.
def tanh_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    return dout * (1 - out * out)
