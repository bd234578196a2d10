"""Stochastic gradient descent with torch's momentum and Nesterov forms."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.optim.optimizer import Optimizer
from scratchnn.parameter import Parameter


class SGD(Optimizer):
    """SGD as torch.optim.SGD: g += weight_decay * p; b = momentum * b + g; p -= lr * b.

    The first momentum buffer is the gradient itself (b_1 = g_1), and lr multiplies the buffer at
    each step. The textbook form (CS231n, DLFS: v = mu * v - lr * g; p += v) folds lr into the
    buffer, which agrees only while lr is constant. Nesterov uses g + momentum * b in place of b
    (Sutskever et al., 2013, http://proceedings.mlr.press/v28/sutskever13.html, rewritten).
    weight_decay is L2: it is added to the gradient, not to the loss.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not momentum >= 0.0:
            raise ConfigError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and momentum <= 0:
            raise ConfigError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.slots = ("momentum_buffer",) if momentum else ()

    def update(self, param: Parameter, grad: np.ndarray, state: dict) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data    # a new array: param.grad is untouched
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:                                  # first step: b = g (a copy)
                buf = state["momentum_buffer"] = np.array(grad, dtype=param.data.dtype)
            else:
                buf *= self.momentum
                buf += grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param.data -= self.lr * grad
