"""CS231n's `layers.py`: the assignment's functions and signatures over scratchnn's kernels.

Every function here translates arguments and caches, then calls `scratchnn.functional`; none
holds a second copy of the math. The conventions that differ from scratchnn's native ones are
the course's and are kept on purpose (each docstring says which):

- `affine_forward` flattens x (N, d1, ..., dk) to (N, D); `linear_forward` takes (N, D) only.
- `dropout_param["p"]` is the KEEP probability (scratchnn's Dropout(p) drops with p); the mask
  is drawn from NumPy's legacy generator like the course's (`np.random.rand`, reseeded by a
  `seed` in the dict), so a seeded notebook gets the same mask.
- `bn_param` keeps the course's running statistics: running = momentum * running +
  (1 - momentum) * batch_stat (momentum 0.9 weights the OLD value), with the BIASED batch
  variance, running_mean and running_var starting at zeros, all written back into the dict.
- `spatial_groupnorm_*` take and return gamma, beta of shape (1, C, 1, 1).
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """out = x.reshape(N, D) @ w + b. Shapes: x (N, d1, ..., dk), w (D, M), b (M,) -> (N, M)."""
    out, cache = F.linear_forward(x.reshape(x.shape[0], -1), w, b)
    return out, (x.shape, cache)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, M) -> dx (N, d1, ..., dk), dw (D, M), db (M,)."""
    x_shape, kernel_cache = cache
    dx, dw, db = F.linear_backward(dout, kernel_cache)
    return dx.reshape(x_shape), dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out = max(x, 0), any shape."""
    return F.relu_forward(x)


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    return F.relu_backward(dout, cache)


def svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass SVM (hinge) loss, margin 1, mean over the batch -> (loss, dx).
    Shapes: x (N, C) scores, y (N,) labels."""
    loss, cache = F.multiclass_hinge_forward(x, y)
    return loss, F.multiclass_hinge_backward(cache)


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy, mean over the batch -> (loss, dx). Shapes: x (N, C), y (N,)."""
    loss, cache = F.softmax_cross_entropy_forward(x, y)
    return loss, F.softmax_cross_entropy_backward(cache)


# -- normalisation --------------------------------------------------------------------------

def _course_batchnorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict,
                      axes: tuple[int, ...]) -> tuple[np.ndarray, object]:
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    features = gamma.size
    running_mean = bn_param.get("running_mean", np.zeros(features, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(features, dtype=x.dtype))
    if mode == "train":
        out, mean, var, cache = F.batchnorm_forward(x, gamma, beta, eps, axes)
        # the course's momentum weights the old value: torch's momentum is 1 - it
        bn_param["running_mean"] = F.running_average(running_mean, mean, 1 - momentum)
        bn_param["running_var"] = F.running_average(running_var, var, 1 - momentum)
        return out, cache
    if mode == "test":
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        return F.batchnorm_eval(x, gamma, beta, running_mean, running_var, eps), None
    raise ValueError(f'Invalid forward batchnorm mode "{mode}"')


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict
                      ) -> tuple[np.ndarray, object]:
    """Batch norm with the course's bn_param dict: mode ("train"/"test", required), eps (1e-5),
    momentum (0.9, weighting the OLD running value), running_mean / running_var (zeros at
    first; updated in the dict with the biased batch variance). Shapes: x (N, D); gamma, beta
    (D,) -> out (N, D). The cache of a "test" forward is None (nothing to backpropagate)."""
    return _course_batchnorm(x, gamma, beta, bn_param, (0,))


def batchnorm_backward(dout: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,)."""
    return F.batchnorm_backward(dout, cache)


# Our kernel already is the simplified ("alternative") backward the notebook asks for.
batchnorm_backward_alt = batchnorm_backward


def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                              bn_param: dict) -> tuple[np.ndarray, object]:
    """Batch norm per channel over N, H, W, same bn_param conventions as batchnorm_forward.
    Shapes: x (N, C, H, W); gamma, beta (C,) -> out (N, C, H, W)."""
    return _course_batchnorm(x, gamma, beta, bn_param, (0, 2, 3))


def spatial_batchnorm_backward(dout: np.ndarray, cache
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, C, H, W) -> dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    return F.batchnorm_backward(dout, cache)


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict
                      ) -> tuple[np.ndarray, object]:
    """Layer norm over each row; ln_param: eps (1e-5). Train and test are the same.
    Shapes: x (N, D); gamma, beta (D,) -> out (N, D)."""
    return F.layernorm_forward(x, gamma, beta, 1, ln_param.get("eps", 1e-5))


def layernorm_backward(dout: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,)."""
    return F.layernorm_backward(dout, cache)


def spatial_groupnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int,
                              gn_param: dict) -> tuple[np.ndarray, object]:
    """Group norm over G contiguous channel groups; gn_param: eps (1e-5).
    Shapes: x (N, C, H, W); gamma, beta (1, C, 1, 1), as the course has them -> out like x."""
    c = x.shape[1]
    out, cache = F.groupnorm_forward(x, gamma.reshape(c), beta.reshape(c), G,
                                     gn_param.get("eps", 1e-5))
    return out, cache


def spatial_groupnorm_backward(dout: np.ndarray, cache
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, C, H, W) -> dx, dgamma (1, C, 1, 1), dbeta (1, C, 1, 1)."""
    dx, dgamma, dbeta = F.groupnorm_backward(dout, cache)
    return dx, dgamma.reshape(1, -1, 1, 1), dbeta.reshape(1, -1, 1, 1)


# -- dropout ----------------------------------------------------------------------------------

class _CourseUniforms:
    """Feeds our dropout kernel the course's draws. The course keeps a unit where
    np.random.rand() < p; our kernel keeps it where its draw r >= drop probability 1 - p. With
    r = 1 - rand() the two agree (up to exact ties), so a seeded notebook gets the same mask."""

    def __init__(self, legacy) -> None:       # a RandomState, or the np.random module
        self.legacy = legacy

    def random(self, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        return (1.0 - self.legacy.random_sample(shape)).astype(dtype, copy=False)


def dropout_forward(x: np.ndarray, dropout_param: dict) -> tuple[np.ndarray, tuple]:
    """Inverted dropout with the course's dropout_param: p = KEEP probability (not scratchnn's
    drop probability), mode "train"/"test", optional seed. Kept units are scaled by 1 / p in
    training; "test" returns x unchanged. The mask comes from np.random.rand (the global legacy
    generator, or RandomState(seed) when a seed is given: the global state is left alone).
    Shapes: any -> same."""
    keep, mode = dropout_param["p"], dropout_param["mode"]
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"dropout_param['p'] is the KEEP probability, in (0, 1]; got {keep}")
    if mode == "test":
        return x, (dropout_param, None)
    if mode != "train":
        raise ValueError(f'Invalid forward dropout mode "{mode}"')
    seed = dropout_param.get("seed")
    legacy = np.random.RandomState(seed) if seed is not None else np.random
    out, mask = F.dropout_forward(x, 1.0 - keep, _CourseUniforms(legacy))
    return out, (dropout_param, mask)


def dropout_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    dropout_param, mask = cache
    return dout if dropout_param["mode"] == "test" else F.dropout_backward(dout, mask)


# -- convolution and pooling --------------------------------------------------------------------

def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict
                       ) -> tuple[np.ndarray, object]:
    """Convolution (cross-correlation) with conv_param: stride, pad (zero padding on each side).
    Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,) -> out (N, F, H', W'),
    H' = 1 + (H + 2 pad - HH) // stride. (The course requires exact division; this floors.)"""
    stride, pad = conv_param["stride"], conv_param["pad"]
    return F.conv2d_forward(x, w, b, (stride, stride), (pad, pad))


def conv_backward_naive(dout: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, F, H', W') -> dx (N, C, H, W), dw (F, C, HH, WW), db (F,)."""
    return F.conv2d_backward(dout, cache)


def max_pool_forward_naive(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, object]:
    """Max pooling with pool_param: pool_height, pool_width, stride.
    Shapes: x (N, C, H, W) -> out (N, C, H', W'), H' = 1 + (H - pool_height) // stride."""
    kernel = (pool_param["pool_height"], pool_param["pool_width"])
    stride = pool_param["stride"]
    return F.maxpool2d_forward(x, kernel, (stride, stride))


def max_pool_backward_naive(dout: np.ndarray, cache) -> np.ndarray:
    """dout (N, C, H', W') -> dx (N, C, H, W); each window's gradient goes to its first
    maximum (the course's fast reshape version gives it to every tied maximum)."""
    return F.maxpool2d_backward(dout, cache)


# The course's fast_layers.py: our kernels are the fast ones already.
conv_forward_fast = conv_forward_im2col = conv_forward_strides = conv_forward_naive
conv_backward_fast = conv_backward_im2col = conv_backward_strides = conv_backward_naive
max_pool_forward_fast = max_pool_forward_reshape = max_pool_forward_naive
max_pool_backward_fast = max_pool_backward_reshape = max_pool_backward_naive
