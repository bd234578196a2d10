"""Batch normalisation layers with torch's semantics.

Training: normalise with the batch's mean and biased variance, then update
    running = (1 - momentum) * running + momentum * batch_stat
with the UNBIASED batch variance for running_var. Eval: use the running statistics.
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.layer import Layer, check_float_input
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
        self.running_mean = F.running_average(self.running_mean, mean, self.momentum)
        self.running_var = F.running_average(self.running_var, var * (m / (m - 1)),
                                             self.momentum)
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


class LayerNorm(Layer):
    """Layer norm as torch.nn.LayerNorm: each sample standardised over its last
    len(normalized_shape) axes (biased variance), then y = xhat * weight + bias elementwise.
    No running statistics: train and eval compute the same thing.

    Shapes: x (N, ..., *normalized_shape) -> same; weight, bias normalized_shape.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 dtype=np.float32) -> None:
        super().__init__()
        shape = ((normalized_shape,) if isinstance(normalized_shape, int | np.integer)
                 else tuple(normalized_shape))
        if not shape or any(not isinstance(s, int | np.integer) or s < 1 for s in shape):
            raise ConfigError(f"LayerNorm needs a normalized_shape of positive ints, got "
                              f"{normalized_shape!r}")
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), eps
        self.weight = Parameter(np.ones(self.normalized_shape, dtype), "weight")
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype), "bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or x.shape[-k:] != self.normalized_shape:
            raise ShapeError(f"LayerNorm expects input (N, ..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        out, cache = F.layernorm_forward(x, self.weight.data, self.bias.data, k, self.eps)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.layernorm_backward(dout, self._saved())
        self.weight.accumulate(dweight)
        self.bias.accumulate(dbias)
        return dx

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class GroupNorm(Layer):
    """Group norm as torch.nn.GroupNorm: the channels are split into num_groups contiguous
    groups; each sample's group is standardised over its channels and positions, then
    y = xhat * weight[c] + bias[c]. num_groups=1 is layer norm over (C, H, W) with per-channel
    affine; num_groups=C is instance norm.

    Shapes: x (N, C, *spatial) -> same; weight, bias (C,).
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 dtype=np.float32) -> None:
        super().__init__()
        if (not isinstance(num_groups, int | np.integer) or num_groups < 1
                or not isinstance(num_channels, int | np.integer) or num_channels % num_groups):
            raise ConfigError(f"GroupNorm needs num_channels ({num_channels!r}) divisible by "
                              f"num_groups ({num_groups!r}) >= 1")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.weight = Parameter(np.ones(num_channels, dtype), "weight")
        self.bias = Parameter(np.zeros(num_channels, dtype), "bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm expects input (N, {self.num_channels}, ...), "
                             f"got {x.shape}")
        out, cache = F.groupnorm_forward(x, self.weight.data, self.bias.data, self.num_groups,
                                         self.eps)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.groupnorm_backward(dout, self._saved())
        self.weight.accumulate(dweight)
        self.bias.accumulate(dbias)
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"
