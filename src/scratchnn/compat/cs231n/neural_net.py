"""Assignment 1's `classifiers/neural_net.py` TwoLayerNet: `loss(X, y=None, reg=0.0)` and
`predict(X)`, weights std * np.random.randn as the course draws them.

Its L2 term is the assignment's reg * sum ||W||^2 (no 1/2, unlike assignment 2's models), so
the gradient gets 2 * reg * W: scratchnn.losses.l2_penalty with 2 * reg. The assignment's own
`train` loop is not provided (scratchnn has one training loop): compat.Solver trains this
model as it is, since `loss(X, y)` follows the assignment-2 protocol (with reg = 0).
"""

from __future__ import annotations

import numpy as np

from scratchnn.compat.cs231n import fc_net


class TwoLayerNet:
    """input - fully connected - ReLU - fully connected - softmax.
    params W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 std: float = 1e-4) -> None:
        self.params = {
            "W1": std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def loss(self, X: np.ndarray, y: np.ndarray | None = None, reg: float = 0.0):
        """X (N, D) -> scores (N, C) if y is None, else (loss, grads)."""
        return fc_net.two_layer_loss(self.params, X, y, 2 * reg)   # reg ||W||^2 = 2reg/2 ||W||^2

    def predict(self, X: np.ndarray) -> np.ndarray:
        """X (N, D) -> predicted labels (N,)."""
        return np.argmax(self.loss(X), axis=1)
