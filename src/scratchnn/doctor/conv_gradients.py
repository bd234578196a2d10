"""Naming what is wrong in a convolution's input gradient: the backward of a layer with a 4-D
kernel (F, C, kh, kw) is compared with what the two classic mistakes of hand-written
convolutions would return, computed with scratchnn's own kernels at the same input:

- the kernel transposed (its height and width axes swapped) in the backward;
- a col2im that overwrites instead of adding: where windows overlap, one window's
  gradient replaces the others' instead of being summed with them.
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn import gradcheck

MATCH = 1e-6              # relative distance at which a hypothesis explains the backward


def _kernel(layer) -> np.ndarray | None:
    found = [p.data for _, p in layer.named_parameters() if p.data.ndim == 4]
    return found[0] if len(found) == 1 else None


def _padding(x: np.ndarray, out: np.ndarray, kernel: np.ndarray) -> tuple[int, int] | None:
    """The padding of a stride-1 convolution from its shapes, or None (not stride 1)."""
    pads = [(out.shape[2 + a] - x.shape[2 + a] + kernel.shape[2 + a] - 1) for a in (0, 1)]
    if any(p < 0 or p % 2 for p in pads):
        return None
    return pads[0] // 2, pads[1] // 2


def _dx(x: np.ndarray, kernel: np.ndarray, dout: np.ndarray, padding) -> np.ndarray:
    _, cache = F.conv2d_forward(x, kernel, None, (1, 1), padding)
    return F.conv2d_backward(dout, cache)[0]


def _overwriting_dx(x: np.ndarray, kernel: np.ndarray, dout: np.ndarray, padding) -> np.ndarray:
    """dx as a col2im that assigns window by window (kernel offsets in row-major order)."""
    _, _, kh, kw = kernel.shape
    n, _, out_h, out_w = dout.shape
    dcols = np.einsum("fcij,nfhw->ncijhw", kernel, dout)
    ph, pw = padding
    dxp = np.zeros((n, x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + out_h, j:j + out_w] = dcols[:, :, i, j]
    return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def name_conv_bug(layer, x: np.ndarray, rng: np.random.Generator) -> str | None:
    """Words naming the mistake in `layer`'s input gradient, or None if neither explains it."""
    kernel = _kernel(layer)
    if kernel is None or x.ndim != 4:
        return None
    layer = gradcheck._float64_copy(layer)
    layer.train()
    x = np.asarray(x, np.float64)
    out = layer.forward(x)
    padding = _padding(x, out, kernel)
    if padding is None or out.ndim != 4:
        return None
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout.copy())
    if dx is None:
        return None
    kernel = kernel.astype(np.float64)
    hypotheses = {
        "the kernel is transposed in the backward (its height and width axes swapped): dx "
        "must use weight[f, c, i, j] exactly as the forward does":
            _dx(x, kernel.transpose(0, 1, 3, 2), dout, padding),
        "the kernel is flipped (rotated 180 degrees) in the backward: for a forward that is a "
        "cross-correlation, dx is the full convolution with the same, unflipped indices":
            _dx(x, kernel[:, :, ::-1, ::-1], dout, padding),
        "col2im overwrites instead of adding: where windows overlap, each input pixel must get "
        "the SUM of the gradients of every window that covers it (np.add.at, or +=)":
            _overwriting_dx(x, kernel, dout, padding),
    }
    for words, expected in hypotheses.items():
        if np.linalg.norm(dx - expected) <= MATCH * max(np.linalg.norm(expected), 1e-12):
            return words
    return None
