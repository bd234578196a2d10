"""The book's `common/gradient.py`: numerical_gradient(f, x), over scratchnn.gradcheck."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn import gradcheck


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """df/dx by centred differences with the book's step h = 1e-4; x is perturbed in place
    and restored."""
    return gradcheck.numerical_gradient(lambda: f(x), x, eps=1e-4)
