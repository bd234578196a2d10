"""Parameter: a trainable array and the gradient accumulated for it."""

from __future__ import annotations

import numpy as np

from scratchnn.errors import ShapeError


class Parameter:
    """A trainable array. `grad` is None until the first backward, then the sum of all gradients.

    `data` may be replaced by an array of another dtype (float64 for gradient checks); layers
    compute in the dtype they are given.
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: np.ndarray, name: str = "") -> None:
        self.data = data
        self.grad: np.ndarray | None = None
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def accumulate(self, grad: np.ndarray) -> None:
        """Add `grad` to `self.grad` (set it where it is None). Shapes must match exactly."""
        if grad.shape != self.data.shape:
            raise ShapeError(f"gradient for {self.name or 'parameter'} has shape {grad.shape}, "
                             f"expected {self.data.shape}")
        if self.grad is None:
            self.grad = grad.copy() if np.shares_memory(grad, self.data) else grad
        else:
            self.grad = self.grad + grad

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"
