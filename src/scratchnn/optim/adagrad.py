"""AdaGrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.optim.optimizer import Optimizer
from scratchnn.parameter import Parameter


class AdaGrad(Optimizer):
    """AdaGrad as torch.optim.Adagrad: s += g * g; p -= lr_t * g / (sqrt(s) + eps).

    Duchi et al., 2011, https://jmlr.org/papers/v12/duchi11a.html. lr_t = lr / (1 + (t - 1) *
    lr_decay). The sum starts at 0 and eps (1e-10) is added after the square root; DLFS uses
    1e-7, DeZero 1e-8. weight_decay adds weight_decay * p to the gradient (L2).
    """

    def __init__(self, params: Iterable[Parameter], lr: float, eps: float = 1e-10,
                 weight_decay: float = 0.0, lr_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not lr_decay >= 0.0:
            raise ConfigError(f"Invalid lr_decay value: {lr_decay}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"Invalid weight_decay value: {weight_decay}")
        if not eps >= 0.0:
            raise ConfigError(f"Invalid epsilon value: {eps}")
        self.eps, self.lr_decay = float(eps), float(lr_decay)
        self.weight_decay = float(weight_decay)
        self.slots = ("step", "sum")

    def update(self, param: Parameter, grad: np.ndarray, state: dict) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        if not state:
            state["step"] = 0
            state["sum"] = np.zeros_like(param.data)        # s: sum of squared gradients
        state["step"] += 1
        lr_t = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        scratch = np.multiply(grad, grad)                    # the one temporary, reused below
        state["sum"] += scratch
        np.sqrt(state["sum"], out=scratch)
        scratch += self.eps                                  # sqrt(s) + eps
        np.divide(grad, scratch, out=scratch)
        scratch *= lr_t
        param.data -= scratch
