"""Adam and AdamW: momentum on the gradient and on its square, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.optim.optimizer import Optimizer
from scratchnn.parameter import Parameter


class Adam(Optimizer):
    """Adam as torch.optim.Adam: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).

    Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980. m = b1 * m + (1 - b1) * g and
    v = b2 * v + (1 - b2) * g * g, with a step count t per parameter. eps is added to the
    bias-corrected sqrt(v); Keras and DLFS add an "eps-hat" to the uncorrected one, which differs.
    weight_decay is L2 added to the gradient (g += weight_decay * p), not AdamW's decoupled decay.
    """

    decoupled = False

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not eps >= 0.0:
            raise ConfigError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ConfigError(f"Invalid beta parameter at index {i}: {beta}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"Invalid weight_decay value: {weight_decay}")
        beta1, beta2 = betas
        self.betas, self.eps = (float(beta1), float(beta2)), float(eps)
        self.weight_decay = float(weight_decay)
        self.slots = ("step", "exp_avg", "exp_avg_sq")

    def update(self, param: Parameter, grad: np.ndarray, state: dict) -> None:
        beta1, beta2 = self.betas
        if self.weight_decay and self.decoupled:
            param.data *= 1 - self.lr * self.weight_decay       # AdamW: shrink p directly
        elif self.weight_decay:
            grad = grad + self.weight_decay * param.data        # Adam: L2 through the gradient
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)        # m: running mean of g
            state["exp_avg_sq"] = np.zeros_like(param.data)     # v: running mean of g**2
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        scratch = np.multiply(grad, 1 - beta1)                  # the one temporary, reused
        m *= beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        v *= beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(1 - beta2**t)
        scratch += self.eps                                     # denominator
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / (1 - beta1**t)
        param.data -= scratch


class AdamW(Adam):
    """AdamW as torch.optim.AdamW: p *= 1 - lr * weight_decay, then the Adam step without L2.

    Loshchilov & Hutter, 2019, https://arxiv.org/abs/1711.05101. The decay is scaled by lr (torch's
    convention), not by a separate schedule multiplier as in the paper.
    """

    decoupled = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
