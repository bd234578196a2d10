"""Linear: the fully connected layer."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn import init
from scratchnn.errors import ShapeError
from scratchnn.layer import Layer, check_float_input
from scratchnn.parameter import Parameter


class Linear(Layer):
    """Fully connected layer: y = x @ weight + bias.

    Shapes: x (N, in_features) -> y (N, out_features); weight is (in_features, out_features),
    the transpose of torch's. Weights start He-normal (std = sqrt(2 / in_features)), or as
    `weight_init` says ("he", "xavier" or a std); biases start at zero.

    backward_params skips dx: for a first layer, whose input is the data (in torch, an input
    without requires_grad); for 784-wide images it saves the largest product of the backward.

    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> y = layer(np.ones((4, 3), np.float32))
    >>> y.shape, layer.weight.data.shape
    ((4, 2), (3, 2))
    >>> dx = layer.backward(np.ones_like(y))       # accumulates into weight.grad and bias.grad
    >>> dx.shape, layer.bias.grad.tolist()         # dbias: dout summed over the batch
    ((4, 3), [4.0, 4.0])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 weight_init: str | float = "he", rng: np.random.Generator | None = None,
                 dtype=np.float32) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = rng if rng is not None else np.random.default_rng()
        self.weight = Parameter(init.initialise((in_features, out_features), weight_init, rng,
                                                dtype), "weight")
        self.bias = Parameter(np.zeros(out_features, dtype), "bias") if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"Linear expects input (N, {self.in_features}), got {x.shape}")
        bias = None if self.bias is None else self.bias.data
        out, cache = F.linear_forward(x, self.weight.data, bias)
        self._cache = cache if self.training else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.linear_backward(dout, self._saved())
        self._accumulate(dweight, dbias)
        return dx

    def backward_params(self, dout: np.ndarray) -> None:
        _, dweight, dbias = F.linear_backward(dout, self._saved(), input_grad=False)
        self._accumulate(dweight, dbias)

    def _accumulate(self, dweight: np.ndarray, dbias: np.ndarray) -> None:
        self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"
