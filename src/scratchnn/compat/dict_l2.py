"""The course-style L2 term on the courses' dicts of arrays, through scratchnn.losses.l2_penalty
(its one implementation)."""

from __future__ import annotations

from scratchnn.losses import l2_penalty
from scratchnn.parameter import Parameter


def dict_l2_penalty(params: dict, names: list[str], reg: float, grads: dict | None = None
                    ) -> float:
    """reg/2 * sum ||params[name]||^2 over `names`; with `grads`, also adds reg * W to
    grads[name] (a new array in the dict; the old one is left untouched)."""
    weights = []
    for name in names:
        weight = Parameter(params[name], name)
        weight.grad = None if grads is None else grads[name]
        weights.append(weight)
    penalty = l2_penalty(weights, reg)
    if grads is not None:
        for weight in weights:
            grads[weight.name] = weight.grad
    return penalty
