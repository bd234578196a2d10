"""CS231n's `gradient_check.py` names over `scratchnn.gradcheck` (centred differences).

`verbose` is accepted and ignored: the library prints nothing (the course prints every
coordinate)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn import gradcheck


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            verbose: bool = True, h: float = 1e-5) -> np.ndarray:
    """d f(x) / dx for a scalar f, by centred differences; x is perturbed in place."""
    return gradcheck.numerical_gradient(lambda: f(x), x, eps=h)


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The gradient of sum(f(x) * df) with respect to x: backprop of df through f, numerically."""
    return gradcheck.numerical_gradient(lambda: f(x) * df, x, eps=h)


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """The notebooks' max |x - y| / max(1e-8, |x| + |y|)."""
    return gradcheck.rel_error(x, y)
