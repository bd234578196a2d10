"""Batch normalisation kernels (Ioffe & Szegedy 2015, arxiv.org/abs/1502.03167).

`axes` are the axes statistics are taken over: (0,) for (N, D) inputs, (0, 2, 3) for NCHW.
gamma and beta have one entry per feature (D,) or channel (C,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from scratchnn import parallel


class BatchNormCache(NamedTuple):
    xhat: np.ndarray       # normalised input, same shape as x
    inv_std: np.ndarray    # 1 / sqrt(var + eps), shape (D,) or (C,)
    gamma: np.ndarray
    axes: tuple[int, ...]


def _broadcast(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (1, C) for 2-D inputs, (1, C, 1, 1) for NCHW."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                      axes: tuple[int, ...] = (0,)
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, BatchNormCache]:
    """Training mode: normalise with the batch's statistics.

    Returns (out, batch_mean, batch_var, cache); batch_var is the biased variance used to
    normalise. Shapes: x (N, D) or (N, C, H, W) -> out (same); mean, var (D,) or (C,).
    """
    rows = _channel_rows(x, axes)
    if rows is not None:                       # a conv output: split over channels
        return _batchnorm_forward_rows(x, rows, gamma, beta, eps, axes)
    # In place where possible: a fresh array the size of a conv activation costs as much as a
    # pass over it.
    mean = x.mean(axis=axes)
    xhat = x - _broadcast(mean, x.ndim)                 # centred here, normalised below
    var = np.mean(xhat * xhat, axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat *= _broadcast(inv_std, x.ndim)
    out = xhat * _broadcast(gamma, x.ndim)
    out += _broadcast(beta, x.ndim)
    return out, mean, var, BatchNormCache(xhat, inv_std, gamma, axes)


def _channel_rows(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray | None:
    """x (N, C, H, W) as a (C, N*H*W) view when it is channel-major in memory (a conv output),
    else None. Each channel's values are then one contiguous row, and a channel's statistics do
    not depend on which other channels a thread's slice holds."""
    if x.ndim != 4 or axes != (0, 2, 3):
        return None
    rows = x.transpose(1, 0, 2, 3)
    return rows.reshape(rows.shape[0], -1) if rows.flags.c_contiguous else None


def _as_nchw(rows: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """(C, N*H*W) rows -> the (N, C, H, W) view, channel-major like the conv output."""
    n, c, h, w = x_shape
    return rows.reshape(c, n, h, w).transpose(1, 0, 2, 3)


def _batchnorm_forward_rows(x, rows, gamma, beta, eps, axes):
    """batchnorm_forward on a channel-major x, the same steps per slice of channels."""
    c = rows.shape[0]
    xhat, out = np.empty_like(rows), np.empty_like(rows, np.result_type(rows, gamma, beta))
    mean, var, inv_std = (np.empty(c, x.dtype) for _ in range(3))

    def part(s: slice) -> None:
        np.mean(rows[s], axis=1, out=mean[s])
        np.subtract(rows[s], mean[s, None], out=xhat[s])
        np.multiply(xhat[s], xhat[s], out=out[s])             # out as scratch space
        np.mean(out[s], axis=1, out=var[s])
        inv_std[s] = 1.0 / np.sqrt(var[s] + eps)
        xhat[s] *= inv_std[s, None]
        np.multiply(xhat[s], gamma[s, None], out=out[s])
        out[s] += beta[s, None]
    parallel.run(part, c, 3 * rows.nbytes)
    return (_as_nchw(out, x.shape), mean, var,
            BatchNormCache(_as_nchw(xhat, x.shape), inv_std, gamma, axes))


def batchnorm_eval(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                   running_var: np.ndarray, eps: float) -> np.ndarray:
    """Evaluation mode: an affine map with the running statistics, y = x * scale + shift."""
    scale = gamma / np.sqrt(running_var + eps)
    shift = beta - running_mean * scale
    return x * _broadcast(scale, x.ndim) + _broadcast(shift, x.ndim)


# The fused backward. With m values per feature, xhat = (x - mean) * inv_std, y = gamma xhat + beta:
#   dbeta  = sum dout
#   dgamma = sum dout * xhat
#   dx     = gamma * inv_std / m * (m * dout - sum(dout) - xhat * sum(dout * xhat))
# The last line folds the paths through the mean and the variance into one expression; it is
# evaluated as gamma * inv_std * (dout - dbeta / m - xhat * dgamma / m) in one array, updated in
# place (four passes over the activations and one allocation).
def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (same as x) -> dx, dgamma, dbeta."""
    xhat, inv_std, gamma, axes = cache
    m = dout.size // gamma.size
    xhat_rows, dout_rows = _channel_rows(xhat, axes), _channel_rows(dout, axes)
    if xhat_rows is not None and dout_rows is not None:
        return _batchnorm_backward_rows(dout_rows, xhat_rows, inv_std, gamma, m, dout.shape)
    dbeta = dout.sum(axis=axes)
    dgamma = np.sum(dout * xhat, axis=axes)
    ndim = dout.ndim
    dx = xhat * _broadcast(-dgamma / m, ndim)
    dx += dout
    dx -= _broadcast(dbeta / m, ndim)
    dx *= _broadcast(gamma * inv_std, ndim)
    return dx, dgamma, dbeta


def _batchnorm_backward_rows(dout, xhat, inv_std, gamma, m, x_shape):
    """batchnorm_backward on channel-major (C, N*H*W) rows, the same steps per channel slice."""
    c = dout.shape[0]
    dx = np.empty_like(xhat, dtype=np.result_type(dout, xhat))
    dgamma, dbeta = np.empty(c, dx.dtype), np.empty(c, dx.dtype)

    def part(s: slice) -> None:
        np.sum(dout[s], axis=1, out=dbeta[s])
        np.multiply(dout[s], xhat[s], out=dx[s])
        np.sum(dx[s], axis=1, out=dgamma[s])
        np.multiply(xhat[s], -dgamma[s, None] / m, out=dx[s])
        dx[s] += dout[s]
        dx[s] -= dbeta[s, None] / m
        dx[s] *= (gamma[s] * inv_std[s])[:, None]
    parallel.run(part, c, 3 * dout.nbytes)
    return _as_nchw(dx, x_shape), dgamma, dbeta


def running_average(running: np.ndarray, batch_stat: np.ndarray, momentum: float) -> np.ndarray:
    """(1 - momentum) * running + momentum * batch_stat: torch's `momentum` weights the NEW value.

    The courses' momentum weights the OLD value (CS231n, "Deep Learning from Scratch": 0.9);
    pass 1 - their momentum."""
    return (1 - momentum) * running + momentum * batch_stat


# Layer and group norm standardise each sample over some of its own axes (no batch statistics,
# no running averages: training and evaluation compute the same thing). With m values per
# group, xhat = (x - mean) * inv_std and dxhat = dL/dxhat, the backward through the
# standardisation is the batch-norm formula with the batch replaced by the group:
#   dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
def _standardize(x: np.ndarray, axes: tuple[int, ...], eps: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(x - mean) / sqrt(var + eps) over `axes` (biased variance) -> (xhat, inv_std keepdims)."""
    xhat = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(xhat * xhat, axis=axes, keepdims=True) + eps)
    xhat *= inv_std
    return xhat, inv_std


def _standardize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray,
                          axes: tuple[int, ...]) -> np.ndarray:
    dx = xhat * -np.mean(dxhat * xhat, axis=axes, keepdims=True)
    dx += dxhat
    dx -= dxhat.mean(axis=axes, keepdims=True)
    dx *= inv_std
    return dx


class LayerNormCache(NamedTuple):
    xhat: np.ndarray
    inv_std: np.ndarray     # keepdims: (N..., 1, ..., 1)
    weight: np.ndarray | None
    axes: tuple[int, ...]   # the normalised (trailing) axes


def layernorm_forward(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                      normalized_ndim: int, eps: float
                      ) -> tuple[np.ndarray, LayerNormCache]:
    """Layer norm (Ba et al. 2016, arxiv.org/abs/1607.06450) over the last `normalized_ndim`
    axes, then y = xhat * weight + bias elementwise, as torch.nn.LayerNorm.

    Shapes: x (..., *S) with S the normalised shape; weight, bias S or None -> y like x.
    """
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    xhat, inv_std = _standardize(x, axes, eps)
    out = xhat if weight is None else xhat * weight
    if bias is not None:
        out = out + bias
    return out, LayerNormCache(xhat, inv_std, weight, axes)


def layernorm_backward(dout: np.ndarray, cache: LayerNormCache
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (like x) -> dx, dweight, dbias (both shaped S, summed over the leading axes)."""
    xhat, inv_std, weight, axes = cache
    leading = tuple(range(dout.ndim - len(axes)))
    dweight = np.sum(dout * xhat, axis=leading)
    dbias = dout.sum(axis=leading)
    dxhat = dout if weight is None else dout * weight
    return _standardize_backward(dxhat, xhat, inv_std, axes), dweight, dbias


class GroupNormCache(NamedTuple):
    xhat: np.ndarray        # (N, G, C/G * spatial)
    inv_std: np.ndarray     # (N, G, 1)
    weight: np.ndarray      # (C,)
    x_shape: tuple[int, ...]


def groupnorm_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, num_groups: int,
                      eps: float) -> tuple[np.ndarray, GroupNormCache]:
    """Group norm (Wu & He 2018, arxiv.org/abs/1803.08494), as torch.nn.GroupNorm: the C
    channels are split into num_groups contiguous groups, each sample's group is standardised
    over its channels and all spatial positions, then y = xhat * weight[c] + bias[c].

    Shapes: x (N, C, *spatial), C divisible by num_groups; weight, bias (C,) -> y like x.
    """
    n, c = x.shape[:2]
    xhat, inv_std = _standardize(x.reshape(n, num_groups, -1), (2,), eps)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    out = xhat.reshape(x.shape) * weight.reshape(per_channel) + bias.reshape(per_channel)
    return out, GroupNormCache(xhat, inv_std, weight, x.shape)


def groupnorm_backward(dout: np.ndarray, cache: GroupNormCache
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, C, *spatial) -> dx (same), dweight (C,), dbias (C,)."""
    xhat, inv_std, weight, x_shape = cache
    n, c = x_shape[:2]
    others = (0,) + tuple(range(2, len(x_shape)))
    dweight = np.sum(dout * xhat.reshape(x_shape), axis=others)
    dbias = dout.sum(axis=others)
    dxhat = dout * weight.reshape((1, c) + (1,) * (len(x_shape) - 2))
    dx = _standardize_backward(dxhat.reshape(xhat.shape), xhat, inv_std, (2,))
    return dx.reshape(x_shape), dweight, dbias
