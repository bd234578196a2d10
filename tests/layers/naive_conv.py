"""The naive loop kernels (CS231n's conv_forward_naive and friends): an independent reference
for small shapes, written from the definitions with explicit loops over samples, channels and
output pixels. Slow on purpose; they live only in the tests (and benchmarks/speed.py times one).

Every kernel takes stride and padding as (h, w) pairs and works in the dtype of its input.
"""

from __future__ import annotations

import numpy as np


def _pad(x, padding, value=0.0):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _out_size(x_shape, kernel, stride, padding):
    h, w = x_shape[2:]
    return ((h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
            (w + 2 * padding[1] - kernel[1]) // stride[1] + 1)


def conv_forward_naive(x, weight, bias, stride, padding):
    """out[n, f, y, x] = sum(window * weight[f]) + bias[f], one output value at a time."""
    n_samples, _, _, _ = x.shape
    n_filters, _, kh, kw = weight.shape
    (sh, sw) = stride
    out_h, out_w = _out_size(x.shape, (kh, kw), stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((n_samples, n_filters, out_h, out_w), x.dtype)
    for n in range(n_samples):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[n, f, i, j] = np.sum(window * weight[f])
                    if bias is not None:
                        out[n, f, i, j] += bias[f]
    return out


def conv_backward_naive(dout, x, weight, stride, padding):
    """-> (dx, dweight, dbias): each output value sends dout * weight[f] back to its window and
    dout * window to weight[f]."""
    n_samples, _, h, w = x.shape
    n_filters, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    out_h, out_w = dout.shape[2:]
    xp = _pad(x, padding)
    dxp = np.zeros_like(xp)
    dweight = np.zeros_like(weight)
    for n in range(n_samples):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = (n, slice(None), slice(i * sh, i * sh + kh),
                              slice(j * sw, j * sw + kw))
                    dxp[window] += dout[n, f, i, j] * weight[f]
                    dweight[f] += dout[n, f, i, j] * xp[window]
    dbias = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, ph:ph + h, pw:pw + w], dweight, dbias


def maxpool_forward_naive(x, kernel, stride, padding=(0, 0)):
    """-> (out, winners): winners[n, c, i, j] = flat index into x of the window's first max
    (np.argmax returns the first occurrence, in row-major order)."""
    n_samples, channels, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_h, out_w = _out_size(x.shape, kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    out = np.zeros((n_samples, channels, out_h, out_w), x.dtype)
    winners = np.zeros(out.shape, np.int64)
    for n in range(n_samples):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    out[n, c, i, j] = window[a, b]
                    y, z = i * sh + a - ph, j * sw + b - pw          # back in unpadded x
                    winners[n, c, i, j] = np.ravel_multi_index((n, c, y, z), x.shape)
    return out, winners


def maxpool_backward_naive(dout, x_shape, winners):
    """Each window's gradient to its first maximum only."""
    dx = np.zeros(x_shape, dout.dtype)
    for k, flat in enumerate(winners.reshape(-1)):
        dx.flat[flat] += dout.flat[k]
    return dx


def avgpool_forward_naive(x, kernel, stride, padding=(0, 0)):
    """The window sum divided by kh*kw (zeros of the padding included, as torch's default)."""
    n_samples, channels, _, _ = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    out_h, out_w = _out_size(x.shape, kernel, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((n_samples, channels, out_h, out_w), x.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    out[n, c, i, j] = xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw].sum()
    return out / (kh * kw)


def avgpool_backward_naive(dout, x_shape, kernel, stride, padding=(0, 0)):
    n_samples, channels, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    dxp = np.zeros((n_samples, channels, h + 2 * ph, w + 2 * pw), dout.dtype)
    for n in range(n_samples):
        for c in range(channels):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    share = dout[n, c, i, j] / (kh * kw)
                    dxp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw] += share
    return dxp[:, :, ph:ph + h, pw:pw + w]
