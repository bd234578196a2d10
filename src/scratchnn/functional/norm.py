"""Batch normalisation kernels (Ioffe & Szegedy 2015, arxiv.org/abs/1502.03167).

`axes` are the axes statistics are taken over: (0,) for (N, D) inputs, (0, 2, 3) for NCHW.
gamma and beta have one entry per feature (D,) or channel (C,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BatchNormCache(NamedTuple):
    xhat: np.ndarray       # normalised input, same shape as x
    inv_std: np.ndarray    # 1 / sqrt(var + eps), shape (D,) or (C,)
    gamma: np.ndarray
    axes: tuple[int, ...]


def _broadcast(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (1, C) for 2-D inputs, (1, C, 1, 1) for NCHW."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                      axes: tuple[int, ...] = (0,)
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, BatchNormCache]:
    """Training mode: normalise with the batch's statistics.

    Returns (out, batch_mean, batch_var, cache); batch_var is the biased variance used to
    normalise. Shapes: x (N, D) or (N, C, H, W) -> out (same); mean, var (D,) or (C,).
    """
    # In place where possible: a fresh array the size of a conv activation costs as much as a
    # pass over it.
    mean = x.mean(axis=axes)
    xhat = x - _broadcast(mean, x.ndim)                 # centred here, normalised below
    var = np.mean(xhat * xhat, axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat *= _broadcast(inv_std, x.ndim)
    out = xhat * _broadcast(gamma, x.ndim)
    out += _broadcast(beta, x.ndim)
    return out, mean, var, BatchNormCache(xhat, inv_std, gamma, axes)


def batchnorm_eval(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                   running_var: np.ndarray, eps: float) -> np.ndarray:
    """Evaluation mode: an affine map with the running statistics, y = x * scale + shift."""
    scale = gamma / np.sqrt(running_var + eps)
    shift = beta - running_mean * scale
    return x * _broadcast(scale, x.ndim) + _broadcast(shift, x.ndim)


# The fused backward. With m values per feature, xhat = (x - mean) * inv_std, y = gamma xhat + beta:
#   dbeta  = sum dout
#   dgamma = sum dout * xhat
#   dx     = gamma * inv_std / m * (m * dout - sum(dout) - xhat * sum(dout * xhat))
# The last line folds the paths through the mean and the variance into one expression; it is
# evaluated as gamma * inv_std * (dout - dbeta / m - xhat * dgamma / m) in one array, updated in
# place (four passes over the activations and one allocation).
def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (same as x) -> dx, dgamma, dbeta."""
    xhat, inv_std, gamma, axes = cache
    m = dout.size // gamma.size
    dbeta = dout.sum(axis=axes)
    dgamma = np.sum(dout * xhat, axis=axes)
    ndim = dout.ndim
    dx = xhat * _broadcast(-dgamma / m, ndim)
    dx += dout
    dx -= _broadcast(dbeta / m, ndim)
    dx *= _broadcast(gamma * inv_std, ndim)
    return dx, dgamma, dbeta
