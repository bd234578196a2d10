"""Pooling kernels: max and average over kh x kw windows, and the global average.

Output size per axis, floor as torch: out = (size + 2 * padding - kernel) // stride + 1.
Max pooling pads with -inf (a padded value never wins); average pooling pads with zeros and
divides by kh*kw (torch's default count_include_pad=True).

Both loop over the kh*kw kernel positions, never over pixels: position (i, j) is one strided
view x[:, :, i::sh, j::sw] holding that element of every window. When the windows tile the
input (stride == kernel, no padding, sizes divide) the views come from the reshape
(N, C, out_h, kh, out_w, kw), and the backward writes each input element once into an
uninitialised array instead of adding into zeros. (Reducing that reshape with .max(axis=(3, 5)),
CS231n's trick, measured 40x slower here than kh*kw vectorised maxima: NumPy reduces over two
small strided axes element by element.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from scratchnn.functional.conv import Pair, pad


def _tiles(shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> bool:
    """Do the windows cover the input exactly once (the reshape fast path)?"""
    return (kernel == stride and padding == (0, 0)
            and shape[2] % kernel[0] == 0 and shape[3] % kernel[1] == 0)


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, tiles: bool) -> Iterator[np.ndarray]:
    """One view per kernel position (i, j), in row-major order: view (N, C, out_h, out_w) holds
    element (i, j) of every window of the (padded) input xp."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, hp, wp = xp.shape
    out_h, out_w = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    if tiles:
        tiled = xp.reshape(n, c, out_h, kh, out_w, kw)      # a view: only splits axes
    for i in range(kh):
        for j in range(kw):
            if tiles:
                yield tiled[:, :, :, i, :, j]
            else:
                yield xp[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw]


def _allocate(shape: tuple[int, ...], dtype, like: np.ndarray, zeros: bool) -> np.ndarray:
    """An (N, C, H, W) array in the memory order of `like`: channel-major when `like` is, as
    conv outputs are, so that the conv backward below gets its gradient without a copy."""
    make = np.zeros if zeros else np.empty
    if like.strides[1] > like.strides[0]:
        return make((shape[1], shape[0], *shape[2:]), dtype).transpose(1, 0, 2, 3)
    return make(shape, dtype)


def _in_layout_of(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """a, copied into the memory order of `like` if the two differ (an elementwise operation on
    arrays of different layouts runs several times slower than on matching ones)."""
    if (a.strides[1] > a.strides[0]) == (like.strides[1] > like.strides[0]):
        return a
    out = np.empty_like(like, dtype=a.dtype)
    out[...] = a
    return out


def _gradient_views(x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                    dtype, like: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """For a backward: dx (N, C, H, W), and the views of (padded) dx that _windows gave of x, to
    put each kernel position's gradient back where it came from -> (dx, views, tiles).

    When the windows tile x, every element lies in exactly one view: dx starts uninitialised
    and each view is written once. Otherwise it starts at zero and the views are added to
    (overlapping windows add up; elements in no window keep a zero gradient).
    """
    n, c, h, w = x_shape
    (ph, pw) = padding
    tiles = _tiles(x_shape, kernel, stride, padding)
    dxp = _allocate((n, c, h + 2 * ph, w + 2 * pw), dtype, like, zeros=not tiles)
    views = list(_windows(dxp, kernel, stride, tiles))
    return dxp[:, :, ph:ph + h, pw:pw + w], views, tiles


class MaxPoolCache(NamedTuple):
    argmax: np.ndarray            # (N, C, out_h, out_w): row-major position of the first max
    x_shape: tuple[int, ...]
    kernel: Pair
    stride: Pair
    padding: Pair


def maxpool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair = (0, 0)
                      ) -> tuple[np.ndarray, MaxPoolCache]:
    """The largest value of each window. Shapes: x (N, C, H, W) -> out (N, C, out_h, out_w).

    The cache records which element won: the FIRST maximum in row-major order, also when
    values tie (the zeros after a ReLU), as torch does.
    """
    tiles = _tiles(x.shape, kernel, stride, padding)
    views = list(_windows(pad(x, padding, -np.inf), kernel, stride, tiles))
    out = views[0].copy(order="K")                 # keeps a conv output's channel-major layout
    for view in views[1:]:
        np.maximum(out, view, out=out)
    # argmax = first k with views[k] == out, by Horner's rule from the back:
    #   argmax = ne_0 * (1 + ne_1 * (1 + ... (1 + ne_{K-2}))),   ne_k = (views[k] != out)
    # (K vectorised steps; np.argmax over a short axis would be a Python-speed loop in C)
    argmax = np.zeros_like(out, np.min_scalar_type(len(views) - 1))
    for view in reversed(views[:-1]):
        argmax += 1
        argmax *= view != out
    return out, MaxPoolCache(argmax, x.shape, kernel, stride, padding)


def maxpool2d_backward(dout: np.ndarray, cache: MaxPoolCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W): each window's gradient goes to its first
    maximum, nowhere else."""
    argmax, x_shape, kernel, stride, padding = cache
    dout = _in_layout_of(dout, argmax)      # e.g. NCHW from Flatten, argmax channel-major
    dx, views, tiles = _gradient_views(x_shape, kernel, stride, padding, dout.dtype, argmax)
    for k, view in enumerate(views):
        if tiles:
            np.multiply(dout, argmax == k, out=view)
        else:
            view += dout * (argmax == k)
    return dx


class AvgPoolCache(NamedTuple):
    x_shape: tuple[int, ...]
    kernel: Pair
    stride: Pair
    padding: Pair


def avgpool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair = (0, 0)
                      ) -> tuple[np.ndarray, AvgPoolCache]:
    """The mean of each window. Shapes: x (N, C, H, W) -> out (N, C, out_h, out_w)."""
    tiles = _tiles(x.shape, kernel, stride, padding)
    views = list(_windows(pad(x, padding), kernel, stride, tiles))
    out = views[0].copy(order="K")
    for view in views[1:]:
        out += view
    out /= len(views)
    return out, AvgPoolCache(x.shape, kernel, stride, padding)


# Every element of a window contributes 1/(kh*kw) of the window's mean.
def avgpool2d_backward(dout: np.ndarray, cache: AvgPoolCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W)."""
    x_shape, kernel, stride, padding = cache
    share = dout / (kernel[0] * kernel[1])
    dx, views, tiles = _gradient_views(x_shape, kernel, stride, padding, dout.dtype, dout)
    for view in views:
        if tiles:
            view[...] = share
        else:
            view += share
    return dx


def global_avgpool2d_forward(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """The mean over each channel's H x W values. Shapes: x (N, C, H, W) -> out (N, C)."""
    return x.mean(axis=(2, 3)), x.shape


def global_avgpool2d_backward(dout: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """dout (N, C) -> dx (N, C, H, W): every value gets 1/(H*W) of its channel's gradient."""
    h, w = x_shape[2:]
    dx = np.empty(x_shape, dout.dtype)
    dx[...] = (dout / (h * w))[:, :, None, None]
    return dx
