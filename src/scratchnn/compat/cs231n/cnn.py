"""CS231n's `classifiers/cnn.py`: ThreeLayerConvNet with the course's model protocol.

conv - relu - 2x2 max pool - affine - relu - affine - softmax; the conv keeps the spatial size
(stride 1, pad (filter_size - 1) // 2). Weights come from np.random.randn as in the course; the
L2 term is reg/2 * sum ||W||^2 over W1..W3 (scratchnn.losses.l2_penalty).
"""

from __future__ import annotations

import numpy as np

from scratchnn.compat.cs231n.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from scratchnn.compat.cs231n.layers import affine_backward, affine_forward, softmax_loss
from scratchnn.compat.dict_l2 import dict_l2_penalty


class ThreeLayerConvNet:
    """params W1 (F, C, fs, fs), b1 (F,), W2 (F*H/2*W/2, hidden), b2, W3 (hidden, classes), b3."""

    def __init__(self, input_dim: tuple[int, int, int] = (3, 32, 32), num_filters: int = 32,
                 filter_size: int = 7, hidden_dim: int = 100, num_classes: int = 10,
                 weight_scale: float = 1e-3, reg: float = 0.0, dtype=np.float32) -> None:
        c, h, w = input_dim
        self.reg, self.dtype = reg, dtype
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, c, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (h // 2) * (w // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """X (N, C, H, W) -> scores (N, classes) if y is None, else (loss, grads)."""
        p = self.params
        filter_size = p["W1"].shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        X = X.astype(self.dtype)
        h1, cache1 = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        h2, cache2 = affine_relu_forward(h1, p["W2"], p["b2"])
        scores, cache3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
        dh1, grads["W2"], grads["b2"] = affine_relu_backward(dh2, cache2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dh1, cache1)
        loss += dict_l2_penalty(p, ["W1", "W2", "W3"], self.reg, grads)
        return loss, grads
