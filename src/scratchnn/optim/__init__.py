"""Optimizers working on Parameters, with torch.optim's update rules, and learning-rate schedules.

    opt = make_optimizer("adam", model.parameters(), lr=1e-3)
    schedule = make_schedule("cosine", 1e-3, epochs=20, warmup_epochs=1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from scratchnn.names import choose
from scratchnn.optim import schedules
from scratchnn.optim.adagrad import AdaGrad
from scratchnn.optim.adam import Adam, AdamW
from scratchnn.optim.optimizer import Optimizer
from scratchnn.optim.rmsprop import RMSprop
from scratchnn.optim.schedules import make_schedule
from scratchnn.optim.sgd import SGD
from scratchnn.parameter import Parameter

OPTIMIZERS: dict[str, tuple[Callable[..., Optimizer], dict]] = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (AdaGrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
}


def make_optimizer(name: str, params: Iterable[Parameter], lr: float, **kwargs) -> Optimizer:
    """The optimizer called `name` (see OPTIMIZERS) on `params`; kwargs override its defaults,
    except those that are None (make_optimizer("adamw", ..., weight_decay=None) decays 0.01).

    "momentum" and "nesterov" are SGD with momentum=0.9 (and nesterov=True).
    """
    cls, defaults = OPTIMIZERS[choose("optimizer", name, OPTIMIZERS)]
    given = {k: v for k, v in kwargs.items() if v is not None}
    return cls(params, lr, **{**defaults, **given})


__all__ = [
    "OPTIMIZERS", "SGD", "AdaGrad", "Adam", "AdamW", "Optimizer", "RMSprop", "make_optimizer",
    "make_schedule", "schedules",
]
