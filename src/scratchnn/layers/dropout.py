"""Dropout (Srivastava et al. 2014, jmlr.org/papers/v15/srivastava14a.html)."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.errors import ConfigError
from scratchnn.layer import Layer, check_float_input


class Dropout(Layer):
    """Inverted dropout. `p` is the probability of DROPPING a unit (torch's convention, not the
    keep probability of some course code); survivors are scaled by 1 / (1 - p) in training, and
    the layer is the identity in eval mode.

    Shapes: any -> same.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"Dropout probability must be in [0, 1], got p={p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_input(self, x)
        if not self.training or self.p == 0:
            self._cache = None if not self.training else np.ones((), x.dtype)
            return x
        out, mask = F.dropout_forward(x, self.p, self.rng)
        self._cache = mask
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.dropout_backward(dout, self._saved())

    def extra_repr(self) -> str:
        return f"p={self.p}"
