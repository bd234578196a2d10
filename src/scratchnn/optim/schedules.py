"""Learning-rate schedules: pure functions of the (fractional) epoch, like nanoGPT's get_lr.

`epoch` is progress in epochs, step / steps_per_epoch, so 2.5 is half-way through the third epoch.
`make_schedule` binds the arguments and adds an optional linear warm-up; the trainer calls the
result before every step and sets `optimizer.lr`.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

from scratchnn.errors import ConfigError
from scratchnn.names import choose


def constant(epoch: float, base_lr: float) -> float:
    """lr = base_lr."""
    return base_lr


def step_decay(epoch: float, base_lr: float, decay: float = 0.95, every: float = 1.0) -> float:
    """lr = base_lr * decay ** floor(epoch / every).

    With every=1 this is CS231n Solver's `lr_decay` (lr *= decay after each epoch); with an integer
    `every` it equals torch StepLR(step_size=every, gamma=decay) stepped once per epoch.
    """
    return base_lr * decay ** math.floor(epoch / every)


def exponential(epoch: float, base_lr: float, gamma: float = 0.95) -> float:
    """lr = base_lr * gamma ** epoch, continuous in epoch (torch ExponentialLR at whole epochs)."""
    return base_lr * gamma**epoch


def cosine(epoch: float, base_lr: float, epochs: float, min_lr: float = 0.0) -> float:
    """lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2, then min_lr.

    SGDR without restarts (Loshchilov & Hutter, https://arxiv.org/abs/1608.03983): torch's
    CosineAnnealingLR(T_max=epochs, eta_min=min_lr) at whole epochs, except that it stays at min_lr
    after `epochs` where torch's rises again.
    """
    progress = min(epoch / epochs, 1.0)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def linear_warmup(epoch: float, base_lr: float, warmup_epochs: float, start_lr: float = 0.0
                  ) -> float:
    """lr rises linearly from start_lr at epoch 0 to base_lr at warmup_epochs."""
    return start_lr + (base_lr - start_lr) * epoch / warmup_epochs


SCHEDULES: dict[str, Callable[..., float]] = {
    "constant": constant, "step": step_decay, "exponential": exponential, "cosine": cosine,
}


def make_schedule(name: str, base_lr: float, epochs: float, *, warmup_epochs: float = 0.0,
                  warmup_start_lr: float = 0.0, **kwargs: float) -> Callable[[float], float]:
    """The schedule `name` as a function epoch -> lr, after an optional linear warm-up.

    During the first `warmup_epochs` the lr rises from warmup_start_lr to base_lr; the schedule
    then starts from its own epoch 0 (a cosine spans the remaining epochs - warmup_epochs).
    kwargs are the schedule's own options: decay and every (step), gamma (exponential), min_lr
    (cosine). Example: make_schedule("cosine", 0.1, epochs=20, warmup_epochs=1)(10.5).
    """
    function = SCHEDULES[choose("schedule", name, SCHEDULES)]
    bound = ("epoch", "base_lr", "epochs")                 # set here, not by the caller
    options = [p for p in inspect.signature(function).parameters if p not in bound]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} for the {name} schedule; "
                          f"valid: {', '.join(options) or 'none'}")
    if not base_lr >= 0.0:
        raise ConfigError(f"Invalid learning rate: {base_lr}")
    if not kwargs.get("every", 1.0) > 0:
        raise ConfigError(f"every must be positive, got {kwargs['every']}")
    if not 0.0 <= warmup_epochs < epochs:
        raise ConfigError(f"warmup_epochs must be in [0, epochs={epochs}), got {warmup_epochs}")
    if name == "cosine":
        kwargs["epochs"] = epochs - warmup_epochs
    base_lr = float(base_lr)
    decay = functools.partial(function, base_lr=base_lr, **kwargs)

    def schedule(epoch: float) -> float:
        epoch = float(epoch)                    # a Python float lr, even for a NumPy epoch
        if epoch < warmup_epochs:
            return linear_warmup(epoch, base_lr, warmup_epochs, warmup_start_lr)
        return decay(epoch - warmup_epochs)

    return schedule
