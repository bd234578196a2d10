"""Conv2d: the 2-D convolution layer (cross-correlation, as torch's)."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn import init
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional.conv import output_size, pair
from scratchnn.layer import Layer, check_float_input
from scratchnn.parameter import Parameter


class Conv2d(Layer):
    """out[n, f] = bias[f] + sum_c weight[f, c] (*) x[n, c], over kh x kw windows.

    Shapes: x (N, in_channels, H, W) -> (N, out_channels, out_h, out_w), with
    out_h = (H + 2 * ph - kh) // sh + 1 (likewise out_w); weight (out_channels, in_channels, kh,
    kw), as torch's; bias (out_channels,). kernel_size, stride and padding are an int or an
    (h, w) pair; padding adds zeros on both sides. Weights start He-normal
    (std = sqrt(2 / (in_channels * kh * kw))), or as `weight_init` says; biases at zero.

    backward_params skips dx (a first layer, whose input is the data), as for Linear.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 bias: bool = True, *, weight_init: str | float = "he",
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = pair(kernel_size), pair(stride), pair(padding)
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"Conv2d needs kernel_size >= 1, stride >= 1 and padding >= 0, got "
                              f"{self.kernel_size}, {self.stride}, {self.padding}")
        rng = rng if rng is not None else np.random.default_rng()
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(init.initialise(shape, weight_init, rng, dtype), "weight")
        self.bias = Parameter(np.zeros(out_channels, dtype), "bias") if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d expects input (N, {self.in_channels}, H, W), got {x.shape}")
        sizes = [output_size(x.shape[2 + a], self.kernel_size[a], self.stride[a],
                             self.padding[a]) for a in (0, 1)]
        if min(sizes) < 1:
            raise ShapeError(f"Conv2d kernel {self.kernel_size} with padding {self.padding} does "
                             f"not fit input {x.shape}")
        bias = None if self.bias is None else self.bias.data
        out, cache = F.conv2d_forward(x, self.weight.data, bias, self.stride, self.padding)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.conv2d_backward(dout, self._saved())
        self._accumulate(dweight, dbias)
        return dx

    def backward_params(self, dout: np.ndarray) -> None:
        _, dweight, dbias = F.conv2d_backward(dout, self._saved(), input_grad=False)
        self._accumulate(dweight, dbias)

    def _accumulate(self, dweight: np.ndarray, dbias: np.ndarray) -> None:
        self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")
