"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.optim.optimizer import Optimizer
from scratchnn.parameter import Parameter


class RMSprop(Optimizer):
    """RMSprop as torch.optim.RMSprop: v = alpha*v + (1 - alpha)*g*g; p -= lr * g / (sqrt(v) + eps).

    Hinton, lecture 6e, https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf.
    alpha weights the old average (CS231n calls it decay_rate); eps is added after the square root
    (TensorFlow adds it inside). With momentum: b = momentum * b + g / (sqrt(v) + eps); p -= lr * b.
    weight_decay adds weight_decay * p to the gradient (L2).
    """

    def __init__(self, params: Iterable[Parameter], lr: float, alpha: float = 0.99,
                 eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not eps >= 0.0:
            raise ConfigError(f"Invalid epsilon value: {eps}")
        if not momentum >= 0.0:
            raise ConfigError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"Invalid alpha value: {alpha}")
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), float(momentum)
        self.weight_decay = float(weight_decay)
        self.slots = ("step", "square_avg") + (("momentum_buffer",) if momentum else ())

    def update(self, param: Parameter, grad: np.ndarray, state: dict) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.data)      # v: running mean of g**2
            if self.momentum:
                state["momentum_buffer"] = np.zeros_like(param.data)
        state["step"] += 1
        square_avg = state["square_avg"]
        scratch = np.multiply(grad, grad)                        # the one temporary
        scratch *= 1 - self.alpha
        square_avg *= self.alpha
        square_avg += scratch
        np.sqrt(square_avg, out=scratch)
        scratch += self.eps                                      # sqrt(v) + eps
        np.divide(grad, scratch, out=scratch)                    # g / (sqrt(v) + eps)
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += scratch
            np.multiply(buf, self.lr, out=scratch)
        else:
            scratch *= self.lr
        param.data -= scratch
