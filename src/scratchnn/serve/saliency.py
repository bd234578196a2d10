"""Saliency: the gradient of the winning class score with respect to the input pixels, by our own
backward pass (Simonyan et al. 2014, arxiv.org/abs/1312.6034; CS231n's network visualisation).

    twin = eval_twin(model)                       # once per model
    grad = saliency(twin, run.prepare, x, winner) # x: raw inputs (1, C, H, W) -> grad (C, H, W)

Layers cache what backward needs only in train mode, so the gradient of the eval-mode model is
taken on its twin: a copy that computes the eval-mode function in train mode. Every Dropout gets
p = 0 (the identity, as in eval mode) and every batch norm becomes the per-channel affine map it
is in eval mode, y = x * scale + shift, held by a diagonal Linear (BatchNorm1d) or a 1x1 Conv2d
(BatchNorm2d), whose backward is already checked. Every other layer computes the same thing in
both modes.

The raw inputs go through the run's preprocessing first. Every preprocessing scratchnn fits is
affine per pixel (x -> a * x + b: Scale, Standardize, SubtractMeanImage, the float32 cast), so
d prepared / d x = a, measured as (prepare(255) - prepare(0)) / 255, and the chain rule gives
d score / d x = (d score / d prepared) * a.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from scratchnn.layer import Layer
from scratchnn.layers import BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear


def eval_twin(model: Layer) -> Layer:
    """A copy of `model`, in train mode, whose forward equals model's eval-mode forward."""
    twin = copy.deepcopy(model)
    for layer in list(twin.modules()):
        for name, child in list(layer.children()):
            if isinstance(child, BatchNorm1d | BatchNorm2d):
                setattr(layer, name, _affine(child))
            elif isinstance(child, Dropout):
                child.p = 0.0
    return twin.train()


def _affine(norm: BatchNorm1d | BatchNorm2d) -> Layer:
    """The eval-mode batch norm as a diagonal Linear (N, C) or 1x1 Conv2d (N, C, H, W)."""
    scale = norm.weight.data / np.sqrt(norm.running_var + norm.eps)         # (C,)
    shift = norm.bias.data - norm.running_mean * scale                      # (C,)
    c, dtype = len(scale), norm.weight.data.dtype
    if isinstance(norm, BatchNorm1d):
        layer = Linear(c, c, dtype=dtype)
        layer.weight.data = np.diag(scale).astype(dtype)                    # (C, C)
    else:
        layer = Conv2d(c, c, 1, dtype=dtype)
        layer.weight.data = np.diag(scale).astype(dtype)[:, :, None, None]  # (C, C, 1, 1)
    layer.bias.data = shift.astype(dtype)
    return layer


def pixel_slope(prepare: Callable[[np.ndarray], np.ndarray], shape: tuple[int, ...]
                ) -> np.ndarray:
    """d prepare(x) / d x (1, *shape), float64, of an affine-per-pixel preprocessing."""
    low = prepare(np.zeros((1, *shape), np.float32)).astype(np.float64)
    high = prepare(np.full((1, *shape), 255, np.float32)).astype(np.float64)
    return (high - low) / 255


def saliency(twin: Layer, prepare: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
             winner: int) -> np.ndarray:
    """d scores[0, winner] / d x for one raw input x (1, *shape) -> (*shape), float64.

    twin: eval_twin(model); prepare: the run's preprocessing (raw inputs -> model inputs)."""
    scores = twin.forward(prepare(x))                   # (1, classes)
    dout = np.zeros_like(scores)
    dout[0, winner] = 1                                 # one-hot at the winning class
    dprepared = twin.backward(dout)                     # (1, *shape)
    twin.zero_grad()                                    # the parameter gradients are not wanted
    return (dprepared.astype(np.float64) * pixel_slope(prepare, x.shape[1:]))[0]
