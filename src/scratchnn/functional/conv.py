"""2-D convolution (cross-correlation, as in torch) by im2col and one matrix product.

    out[n, f, y, x] = bias[f] + sum_{c, i, j} weight[f, c, i, j] * xp[n, c, y*sh + i, x*sw + j]

where xp is x zero-padded by (ph, pw) on each side. Output size per axis:
    out = (size + 2 * padding - kernel) // stride + 1        (floor, as torch)

Layout. `im2col` lays the patches out as columns, cols (C*kh*kw, N*out_h*out_w): row (c, i, j)
holds x shifted by the kernel position (i, j), so it is copied in long runs of out_w values. The
product weight (F, C*kh*kw) @ cols gives (F, N*out_h*out_w): the output in channel-major memory,
returned as an (N, F, out_h, out_w) view without a copy. Elementwise layers keep that layout
(NumPy allocates results like their input), and the backward pass hands it back, so turning dout
into (F, N*out_h*out_w) is again free. Where the time goes: docs/convnets.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from scratchnn import parallel

Pair = tuple[int, int]


def pair(value: int | tuple[int, int]) -> Pair:
    """An int or an (h, w) pair -> (h, w)."""
    if isinstance(value, int | np.integer):
        return int(value), int(value)
    h, w = value
    return int(h), int(w)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Positions of a kernel sliding over `size` values padded on both sides (floor, as torch)."""
    return (size + 2 * padding - kernel) // stride + 1


def pad(x: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    """x (N, C, H, W) padded on both sides of H and W with `value` (x itself if no padding)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def im2col(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Every receptive field as a column: x (N, C, H, W) -> cols (C*kh*kw, N*out_h*out_w).

    cols[(c, i, j), (n, y, x)] = xp[n, c, y*sh + i, x*sw + j].
    """
    n, c = x.shape[:2]
    (kh, kw), (sh, sw) = kernel, stride
    windows = sliding_window_view(pad(x, padding), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    out_h, out_w = windows.shape[2:4]                     # (N, C, out_h, out_w, kh, kw), a view
    # the one copy: (C, kh, kw, N, out_h, out_w), innermost runs of out_w values; the threads
    # take a range of channels each (contiguous blocks of cols), of samples if there is one
    source = windows.transpose(1, 4, 5, 0, 2, 3)
    cols = np.empty(source.shape, x.dtype)
    axis = 0 if c > 1 else 3
    parallel.run(lambda s: np.copyto(parallel.along(cols, axis, s),
                                     parallel.along(source, axis, s)),
                 cols.shape[axis], 2 * cols.nbytes)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair,
           padding: Pair) -> np.ndarray:
    """The adjoint of im2col: add every column back where it came from -> (N, C, H, W).

    A pixel lies in several receptive fields (overlapping windows), so its gradient is the sum of
    all its copies. One strided addition per kernel position (kh*kw of them), each covering
    every sample and output pixel of the thread's range of channels. The result is a view of a
    channel-major (C, N, H, W) array.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_h, out_w = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    patches = cols.reshape(c, kh, kw, n, out_h, out_w)
    dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), cols.dtype)

    def part(s: slice) -> None:                 # a range of channels
        for i in range(kh):
            for j in range(kw):
                dxp[s, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw] += patches[s, i, j]
    parallel.run(part, c, cols.nbytes + dxp.nbytes)
    return dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


class ConvCache(NamedTuple):
    cols: np.ndarray              # im2col(x), (C*kh*kw, N*out_h*out_w)
    weight: np.ndarray            # (F, C, kh, kw)
    x_shape: tuple[int, ...]      # (N, C, H, W)
    stride: Pair
    padding: Pair


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: Pair = (1, 1), padding: Pair = (0, 0)
                   ) -> tuple[np.ndarray, ConvCache]:
    """out = weight (*) x + bias, one matrix product.

    Shapes: x (N, C, H, W), weight (F, C, kh, kw), bias (F,) or None -> out (N, F, out_h, out_w).
    """
    n, (f, _, kh, kw) = x.shape[0], weight.shape
    cols = im2col(x, (kh, kw), stride, padding)                   # (C*kh*kw, N*out_h*out_w)
    out = weight.reshape(f, -1) @ cols                            # (F, N*out_h*out_w)
    if bias is not None:
        parallel.run(lambda s: np.add(out[s], bias[s, None], out=out[s]), f, out.nbytes)
    out_h = output_size(x.shape[2], kh, stride[0], padding[0])
    out = out.reshape(f, n, out_h, -1).transpose(1, 0, 2, 3)      # (N, F, out_h, out_w), a view
    return out, ConvCache(cols, weight, x.shape, stride, padding)


# With out = W cols + b (W the weight as (F, C*kh*kw)) and dout as (F, N*out_h*out_w):
#   dL/dW    = dout cols^T      (summed over every sample and position by the product)
#   dL/db    = sum of dout over N, out_h, out_w
#   dL/dcols = W^T dout, and dL/dx = col2im(dL/dcols): each pixel collects its copies' gradients
def conv2d_backward(dout: np.ndarray, cache: ConvCache, input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dout (N, F, out_h, out_w) -> dx (N, C, H, W), dweight (F, C, kh, kw), dbias (F,).

    dx is None when not input_grad (the input is the data, which needs no gradient).
    """
    cols, weight, x_shape, stride, padding = cache
    f = weight.shape[0]
    dout = dout.transpose(1, 0, 2, 3).reshape(f, -1)   # (F, N*out_h*out_w); free in our layout
    dweight = (dout @ cols.T).reshape(weight.shape)
    dbias = np.empty(f, dout.dtype)
    parallel.run(lambda s: np.sum(dout[s], axis=1, out=dbias[s]), f, dout.nbytes)
    dx = None
    if input_grad:
        dcols = weight.reshape(f, -1).T @ dout                      # (C*kh*kw, N*out_h*out_w)
        dx = col2im(dcols, x_shape, weight.shape[2:], stride, padding)
    return dx, dweight, dbias
