"""CS231n's `layer_utils.py`: the "sandwich" layers, each a composition of `layers` functions."""

from __future__ import annotations

import numpy as np

from scratchnn.compat.cs231n.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    conv_backward_fast,
    conv_forward_fast,
    layernorm_backward,
    layernorm_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)


def affine_relu_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """affine -> ReLU. Shapes: x (N, d1, ..., dk), w (D, M), b (M,) -> (N, M)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param: dict, normalization: str):
    """affine -> batch norm or layer norm -> ReLU (FullyConnectedNet's hidden layer)."""
    a, fc_cache = affine_forward(x, w, b)
    norm = batchnorm_forward if normalization == "batchnorm" else layernorm_forward
    a, norm_cache = norm(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, norm_cache, relu_cache, normalization)


def affine_norm_relu_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db, dgamma, dbeta."""
    fc_cache, norm_cache, relu_cache, normalization = cache
    norm = batchnorm_backward if normalization == "batchnorm" else layernorm_backward
    da, dgamma, dbeta = norm(relu_backward(dout, relu_cache), norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param: dict):
    """affine -> batch norm (bn_param as batchnorm_forward) -> ReLU."""
    return affine_norm_relu_forward(x, w, b, gamma, beta, bn_param, "batchnorm")


def affine_bn_relu_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db, dgamma, dbeta."""
    return affine_norm_relu_backward(dout, cache)


def conv_relu_forward(x, w, b, conv_param: dict):
    """conv -> ReLU."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param: dict, bn_param: dict):
    """conv -> spatial batch norm -> ReLU."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db, dgamma, dbeta."""
    conv_cache, bn_cache, relu_cache = cache
    da, dgamma, dbeta = spatial_batchnorm_backward(relu_backward(dout, relu_cache), bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param: dict, pool_param: dict):
    """conv -> ReLU -> max pool."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout: np.ndarray, cache: tuple):
    """-> dx, dw, db."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)
