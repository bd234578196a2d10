"""The classic course APIs, for people arriving with course code.

CS231n: `Solver` and the update rules `sgd`, `sgd_momentum`, `rmsprop`, `adam`
(`next_w, config = rule(w, dw, config)`). "Deep Learning from Scratch": the optimizers `SGD`,
`Momentum`, `Nesterov`, `AdaGrad`, `RMSprop`, `Adam` with `update(params, grads)` on dicts.
"""

from scratchnn.compat.cs231n_optim import UPDATE_RULES, adam, rmsprop, sgd, sgd_momentum
from scratchnn.compat.dlfs_optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from scratchnn.compat.solver import Solver

__all__ = ["SGD", "UPDATE_RULES", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop", "Solver",
           "adam", "rmsprop", "sgd", "sgd_momentum"]
