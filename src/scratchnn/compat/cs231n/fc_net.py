"""CS231n's `classifiers/fc_net.py`: TwoLayerNet and FullyConnectedNet with the course's model
protocol (`.params` dict, `.loss(X)` -> scores, `.loss(X, y)` -> (loss, grads)), trainable by
compat.Solver or the course's own Solver.

As in the course, weights are drawn with np.random.randn (NumPy's global legacy generator), so
`np.random.seed(231)` before building reproduces the notebooks' weights and numbers. The L2 term
is reg/2 * sum ||W||^2 over the weight matrices (not biases, gammas or betas), through
scratchnn.losses.l2_penalty (compat.dict_l2).
"""

from __future__ import annotations

import numpy as np

from scratchnn.compat.cs231n.layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from scratchnn.compat.cs231n.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    softmax_loss,
)
from scratchnn.compat.dict_l2 import dict_l2_penalty
from scratchnn.errors import ConfigError


class TwoLayerNet:
    """affine - relu - affine - softmax. params W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)."""

    def __init__(self, input_dim: int = 3 * 32 * 32, hidden_dim: int = 100,
                 num_classes: int = 10, weight_scale: float = 1e-3, reg: float = 0.0) -> None:
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """X (N, d1, ..., dk) -> scores (N, C) if y is None, else (loss, grads)."""
        return two_layer_loss(self.params, X, y, self.reg)


def two_layer_loss(params: dict, X: np.ndarray, y: np.ndarray | None, l2: float):
    """affine - relu - affine - softmax on params W1, b1, W2, b2, plus l2/2 * (||W1||^2 +
    ||W2||^2) -> scores if y is None, else (loss, grads)."""
    hidden, cache1 = affine_relu_forward(X, params["W1"], params["b1"])
    scores, cache2 = affine_forward(hidden, params["W2"], params["b2"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
    _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, cache1)
    return loss + dict_l2_penalty(params, ["W1", "W2"], l2, grads), grads


class FullyConnectedNet:
    """{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax.

    params W1..WL, b1..bL, and gamma1..gamma(L-1), beta1..beta(L-1) with a normalization
    ("batchnorm" or "layernorm"). dropout_keep_ratio is the KEEP probability (1 = no dropout);
    `dropout=` is accepted as its older name (also a keep probability). seed fixes the dropout
    masks (the gradient checks need that). Arrays are cast to dtype (float64 for checks).
    """

    def __init__(self, hidden_dims: list[int], input_dim: int = 3 * 32 * 32,
                 num_classes: int = 10, dropout_keep_ratio: float = 1, normalization=None,
                 reg: float = 0.0, weight_scale: float = 1e-2, dtype=np.float32,
                 seed: int | None = None, dropout: float | None = None) -> None:
        if dropout is not None:
            dropout_keep_ratio = dropout
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ConfigError(f"normalization must be None, 'batchnorm' or 'layernorm', got "
                              f"{normalization!r}")
        if not 0.0 < dropout_keep_ratio <= 1.0:
            raise ConfigError(f"dropout_keep_ratio is the KEEP probability, in (0, 1]; got "
                              f"{dropout_keep_ratio}")
        self.normalization, self.reg, self.dtype = normalization, reg, dtype
        self.use_dropout = dropout_keep_ratio != 1
        self.num_layers = 1 + len(hidden_dims)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params: dict[str, np.ndarray] = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.dropout_param: dict = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params: list[dict] = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """X (N, d1, ..., dk) -> scores (N, C) if y is None (test mode), else (loss, grads)."""
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        p, caches, h = self.params, [], X
        for i in range(1, self.num_layers):
            if self.normalization:
                h, cache = affine_norm_relu_forward(h, p[f"W{i}"], p[f"b{i}"], p[f"gamma{i}"],
                                                    p[f"beta{i}"], self.bn_params[i - 1],
                                                    self.normalization)
            else:
                h, cache = affine_relu_forward(h, p[f"W{i}"], p[f"b{i}"])
            drop_cache = None
            if self.use_dropout:
                h, drop_cache = dropout_forward(h, self.dropout_param)
            caches.append((cache, drop_cache))
        last = self.num_layers
        scores, last_cache = affine_forward(h, p[f"W{last}"], p[f"b{last}"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dscores, last_cache)
        for i in reversed(range(1, self.num_layers)):
            cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, drop_cache)
            if self.normalization:
                dh, grads[f"W{i}"], grads[f"b{i}"], grads[f"gamma{i}"], grads[f"beta{i}"] = \
                    affine_norm_relu_backward(dh, cache)
            else:
                dh, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dh, cache)
        loss += dict_l2_penalty(p, [f"W{i}" for i in range(1, last + 1)], self.reg, grads)
        return loss, grads
