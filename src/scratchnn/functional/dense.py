"""Fully connected kernels: y = x @ weight + bias."""

from __future__ import annotations

import numpy as np


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """y = x @ weight + bias.

    Shapes: x (N, D), weight (D, M), bias (M,) or None -> y (N, M).
    """
    out = x @ weight
    if bias is not None:
        out += bias
    return out, (x, weight)


# With y = x W + b and upstream dout = dL/dy:
#   dL/dx = dout W^T     (each input feeds every output through its row of W)
#   dL/dW = x^T dout     (summed over the batch by the matrix product)
#   dL/db = sum_n dout   (the bias is broadcast over the batch, so its gradient is summed)
def linear_backward(dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray],
                    input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dout (N, M) -> dx (N, D), dweight (D, M), dbias (M,). dx is None when not input_grad
    (the input is the data, which needs no gradient)."""
    x, weight = cache
    dx = dout @ weight.T if input_grad else None
    return dx, x.T @ dout, dout.sum(axis=0)
