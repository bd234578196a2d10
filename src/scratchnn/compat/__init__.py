"""The classic course APIs, for people arriving with course code.

`scratchnn.compat.cs231n` (the assignments' layers, models, data and gradient-check helpers) and
`scratchnn.compat.dlfs` (the book's layers, networks and optimizers) load on first use; the
table of names and differences is in docs/course-compat.md.

CS231n: `Solver` and the update rules `sgd`, `sgd_momentum`, `rmsprop`, `adam`
(`next_w, config = rule(w, dw, config)`). "Deep Learning from Scratch": the optimizers `SGD`,
`Momentum`, `Nesterov`, `AdaGrad`, `RMSprop`, `Adam` with `update(params, grads)` on dicts.
"""

import importlib

from scratchnn.compat.cs231n_optim import UPDATE_RULES, adam, rmsprop, sgd, sgd_momentum
from scratchnn.compat.dlfs_optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from scratchnn.compat.solver import Solver

__all__ = ["SGD", "UPDATE_RULES", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop", "Solver",
           "adam", "rmsprop", "sgd", "sgd_momentum"]


def __getattr__(name: str):
    """compat.cs231n and compat.dlfs are imported when first used."""
    if name in ("cs231n", "dlfs"):
        return importlib.import_module(f"scratchnn.compat.{name}")
    raise AttributeError(f"module 'scratchnn.compat' has no attribute {name!r}")
