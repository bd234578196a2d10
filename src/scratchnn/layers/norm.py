"""Batch normalisation layers with torch's semantics.

Training: normalise with the batch's mean and biased variance, then update
    running = (1 - momentum) * running + momentum * batch_stat
with the UNBIASED batch variance for running_var. Eval: use the running statistics.
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.layer import Layer
from scratchnn.layers.dense import check_float_input
from scratchnn.parameter import Parameter


class _BatchNorm(Layer):
    buffers = ("running_mean", "running_var")
    ndim: int = 2                   # expected input rank
    axes: tuple[int, ...] = (0,)    # axes the statistics are taken over

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype=np.float32) -> None:
        super().__init__()
        if not isinstance(num_features, int | np.integer) or num_features < 1:
            raise ConfigError(f"{type(self).__name__} needs num_features >= 1, got "
                              f"{num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype), "weight")   # gamma
        self.bias = Parameter(np.zeros(num_features, dtype), "bias")      # beta
        self.running_mean = np.zeros(num_features, dtype)
        self.running_var = np.ones(num_features, dtype)

    def _check(self, x: np.ndarray) -> None:
        check_float_input(self, x)
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            expected = ", ".join(["N", str(self.num_features)] + ["H", "W"][: self.ndim - 2])
            raise ShapeError(f"{type(self).__name__} expects input ({expected}), got {x.shape}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        if not self.training:
            return F.batchnorm_eval(x, self.weight.data, self.bias.data, self.running_mean,
                                    self.running_var, self.eps)
        m = x.size // self.num_features
        if m < 2:
            raise ShapeError(f"{type(self).__name__} needs more than 1 value per channel in "
                             f"training, got input {x.shape}")
        out, mean, var, cache = F.batchnorm_forward(x, self.weight.data, self.bias.data,
                                                    self.eps, self.axes)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
        self.running_var = ((1 - self.momentum) * self.running_var
                            + self.momentum * var * (m / (m - 1)))
        self._cache = cache
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, dgamma, dbeta = F.batchnorm_backward(dout, self._saved())
        self.weight.accumulate(dgamma)
        self.bias.accumulate(dbeta)
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch norm over the batch axis. Shapes: x (N, D) -> y (N, D); weight, bias (D,)."""


class BatchNorm2d(_BatchNorm):
    """Batch norm per channel over N, H and W. Shapes: x (N, C, H, W) -> same; weight, bias (C,)."""

    ndim = 4
    axes = (0, 2, 3)
