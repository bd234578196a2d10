"""Pooling layers: MaxPool2d, AvgPool2d, GlobalAvgPool2d."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional.conv import output_size, pair
from scratchnn.layer import Layer, check_float_input


class _Pool2d(Layer):
    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = self.kernel_size if stride is None else pair(stride)
        self.padding = pair(padding)
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ConfigError(f"{type(self).__name__} needs kernel_size and stride >= 1, got "
                              f"{self.kernel_size} and {self.stride}")
        if any(p < 0 or 2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ConfigError(f"{type(self).__name__} padding must be in [0, kernel_size / 2], "
                              f"got {self.padding} for kernel_size {self.kernel_size}")

    def _check(self, x: np.ndarray) -> None:
        check_float_input(self, x)
        if x.ndim != 4:
            raise ShapeError(f"{type(self).__name__} expects input (N, C, H, W), got {x.shape}")
        sizes = [output_size(x.shape[2 + a], self.kernel_size[a], self.stride[a],
                             self.padding[a]) for a in (0, 1)]
        if min(sizes) < 1:
            raise ShapeError(f"{type(self).__name__} window {self.kernel_size} does not fit "
                             f"input {x.shape}")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The largest value of each kh x kw window; stride defaults to kernel_size.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w), out_h = (H + 2 * ph - kh) // sh + 1
    (floor, as torch; likewise out_w). Padding counts as -inf. The gradient of a window goes to
    its first maximum in row-major order, also when values tie (as torch).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        out, cache = F.maxpool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.maxpool2d_backward(dout, self._saved())


class AvgPool2d(_Pool2d):
    """The mean of each kh x kw window; stride defaults to kernel_size.

    Shapes as MaxPool2d. Padding counts as zeros and the divisor is always kh*kw (torch's
    default count_include_pad=True).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        out, cache = F.avgpool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.avgpool2d_backward(dout, self._saved())


class GlobalAvgPool2d(Layer):
    """The mean of each channel. Shapes: x (N, C, H, W) -> (N, C)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        if x.ndim != 4:
            raise ShapeError(f"GlobalAvgPool2d expects input (N, C, H, W), got {x.shape}")
        out, cache = F.global_avgpool2d_forward(x)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.global_avgpool2d_backward(dout, self._saved())
