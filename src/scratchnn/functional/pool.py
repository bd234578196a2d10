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

from scratchnn import parallel
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
    out = _allocate(a.shape, a.dtype, like, zeros=False)
    parallel.elementwise(np.copyto, out, a)
    return out


def _pooled_shape(xp_shape: tuple[int, ...], kernel: Pair, stride: Pair) -> tuple[int, ...]:
    """(N, C, out_h, out_w) for the padded input's shape."""
    n, c, hp, wp = xp_shape
    return n, c, (hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1


def _padded_gradient(x_shape: tuple[int, ...], padding: Pair, tiles: bool, dtype,
                     like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a backward: (dxp, dx), dx the unpadded view of dxp, both (N, C, ...) in the memory
    order of `like`. The views _windows gives of dxp put each kernel position's gradient back
    where it came from. When the windows tile x, every element lies in exactly one view: dxp
    starts uninitialised and each view is written once. Otherwise it starts at zero and the
    views are added to (overlapping windows add up; elements in no window keep a zero
    gradient)."""
    n, c, h, w = x_shape
    ph, pw = padding
    dxp = _allocate((n, c, h + 2 * ph, w + 2 * pw), dtype, like, zeros=not tiles)
    return dxp, dxp[:, :, ph:ph + h, pw:pw + w]


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
    values tie (the zeros after a ReLU), as torch does. Samples or channels are split across
    threads (parallel.py); out keeps x's memory order (a conv output's channel-major layout).
    """
    tiles = _tiles(x.shape, kernel, stride, padding)
    xp = pad(x, padding, -np.inf)
    out = _allocate(_pooled_shape(xp.shape, kernel, stride), x.dtype, xp, zeros=False)
    k = kernel[0] * kernel[1]
    argmax = np.empty_like(out, np.min_scalar_type(k - 1))

    def part(xp, out, argmax):
        views = list(_windows(xp, kernel, stride, tiles))
        np.copyto(out, views[0])
        for view in views[1:]:
            np.maximum(out, view, out=out)
        # argmax = first k with views[k] == out, by Horner's rule from the back:
        #   argmax = ne_0 * (1 + ne_1 * (1 + ... (1 + ne_{K-2}))),   ne_k = (views[k] != out)
        # (K vectorised steps; np.argmax over a short axis would be a Python-speed loop in C)
        argmax[...] = 0
        for view in reversed(views[:-1]):
            argmax += 1
            argmax *= view != out
    parallel.elementwise(part, xp, out, argmax)
    return out, MaxPoolCache(argmax, x.shape, kernel, stride, padding)


def maxpool2d_backward(dout: np.ndarray, cache: MaxPoolCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W): each window's gradient goes to its first
    maximum, nowhere else."""
    argmax, x_shape, kernel, stride, padding = cache
    dout = _in_layout_of(dout, argmax)      # e.g. NCHW from Flatten, argmax channel-major
    tiles = _tiles(x_shape, kernel, stride, padding)
    dxp, dx = _padded_gradient(x_shape, padding, tiles, dout.dtype, argmax)

    def part(dout, argmax, dxp):
        for k, view in enumerate(_windows(dxp, kernel, stride, tiles)):
            if tiles:
                np.multiply(dout, argmax == k, out=view)
            else:
                view += dout * (argmax == k)
    parallel.elementwise(part, dout, argmax, dxp)
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
    xp = pad(x, padding)
    out = _allocate(_pooled_shape(xp.shape, kernel, stride), x.dtype, xp, zeros=False)

    def part(xp, out):
        views = list(_windows(xp, kernel, stride, tiles))
        np.copyto(out, views[0])
        for view in views[1:]:
            out += view
        out /= len(views)
    parallel.elementwise(part, xp, out)
    return out, AvgPoolCache(x.shape, kernel, stride, padding)


# Every element of a window contributes 1/(kh*kw) of the window's mean.
def avgpool2d_backward(dout: np.ndarray, cache: AvgPoolCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W)."""
    x_shape, kernel, stride, padding = cache
    tiles = _tiles(x_shape, kernel, stride, padding)
    dxp, dx = _padded_gradient(x_shape, padding, tiles, dout.dtype, dout)

    def part(dout, dxp):
        share = dout / (kernel[0] * kernel[1])
        for view in _windows(dxp, kernel, stride, tiles):
            if tiles:
                view[...] = share
            else:
                view += share
    parallel.elementwise(part, dout, dxp)
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
