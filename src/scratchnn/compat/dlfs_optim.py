""""Deep Learning from Scratch" optimizers: `opt.update(params, grads)` on dicts of arrays.

    optimizer = Adam(lr=0.001)
    for i in range(iters):
        grads = network.gradient(x_batch, t_batch)
        optimizer.update(network.params, grads)      # params' arrays change in place

The names and default hyperparameters are the book's (common/optimizer.py); the update itself is
done by scratchnn.optim, whose rules equal torch.optim's. Where the book's code differs, this
follows torch: Adam adds eps to the bias-corrected sqrt(v) (the book adds it to the uncorrected
one), and Nesterov is torch's (the book's form multiplies the velocity by momentum once more).
AdaGrad, RMSprop and Adam use the book's eps of 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn import optim
from scratchnn.errors import ConfigError
from scratchnn.parameter import Parameter


class _DictOptimizer:
    """Adapter from DLFS's `update(params, grads)` to a scratchnn optimizer over Parameters."""

    def __init__(self, make: Callable[[list[Parameter]], optim.Optimizer]) -> None:
        self._make = make
        self._optimizer: optim.Optimizer | None = None
        self._params: dict[str, Parameter] = {}

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array in `params` in place from `grads` (same keys)."""
        if self._optimizer is None:
            self._params = {key: Parameter(value, key) for key, value in params.items()}
            self._optimizer = self._make(list(self._params.values()))
        if params.keys() != self._params.keys():
            raise ConfigError(f"{type(self).__name__}.update: the parameter keys changed "
                              f"({sorted(self._params)} -> {sorted(params)})")
        for key, param in self._params.items():
            param.data = params[key]       # the caller may have replaced an array: follow it
            param.grad = grads[key]
        self._optimizer.step()


class SGD(_DictOptimizer):
    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lambda ps: optim.SGD(ps, lr))


class Momentum(_DictOptimizer):
    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lambda ps: optim.SGD(ps, lr, momentum=momentum))


class Nesterov(_DictOptimizer):
    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lambda ps: optim.SGD(ps, lr, momentum=momentum, nesterov=True))


class AdaGrad(_DictOptimizer):
    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lambda ps: optim.AdaGrad(ps, lr, eps=1e-7))


class RMSprop(_DictOptimizer):
    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        super().__init__(lambda ps: optim.RMSprop(ps, lr, alpha=decay_rate, eps=1e-7))


class Adam(_DictOptimizer):
    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        super().__init__(lambda ps: optim.Adam(ps, lr, betas=(beta1, beta2), eps=1e-7))
