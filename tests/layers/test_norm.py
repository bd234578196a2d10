"""BatchNorm1d / BatchNorm2d: float64 numerical gradients in train mode, torch parity in train
and eval mode (running statistics with torch's momentum and unbiased variance), mutations."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, parity_error, randomise, tensor

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.errors import ShapeError
from scratchnn.functional.norm import BatchNormCache
from scratchnn.layer import Layer
from scratchnn.layers import BatchNorm1d, BatchNorm2d

# (layer class, input shape); features / channels are axis 1
CASES = [
    (BatchNorm1d, (2, 3)), (BatchNorm1d, (8, 5)), (BatchNorm1d, (16, 1)),
    (BatchNorm2d, (2, 3, 4, 5)), (BatchNorm2d, (1, 2, 3, 3)), (BatchNorm2d, (4, 1, 2, 2)),
]
IDS = [f"{cls.__name__}-{'x'.join(map(str, shape))}" for cls, shape in CASES]


def make_layer(cls, shape, rng, dtype=np.float64, **kwargs):
    """A layer with random gamma, beta and running statistics (running_var > 0)."""
    layer = cls(shape[1], dtype=dtype, **kwargs)
    randomise(layer, rng)
    layer.running_mean = rng.standard_normal(shape[1]).astype(dtype)
    layer.running_var = rng.uniform(0.5, 2.0, shape[1]).astype(dtype)
    return layer


def batch(rng, shape, dtype):
    """Per-feature offsets and scales, so normalising really moves the values."""
    c = shape[1]
    offset = rng.standard_normal(c).reshape((1, c) + (1,) * (len(shape) - 2))
    return (3 * rng.standard_normal(shape) * np.abs(offset) + offset).astype(dtype)


def torch_batchnorm(torch, layer, x, dout, running):
    """torch's batch norm on the layer's parameters; `running` = [mean, var] tensors, updated in
    place by torch. Returns (out, dx, dgamma, dbeta) (gradients None in eval mode)."""
    xt = tensor(torch, x, requires_grad=True)
    wt = tensor(torch, layer.weight.data, requires_grad=True)
    bt = tensor(torch, layer.bias.data, requires_grad=True)
    out = torch.nn.functional.batch_norm(xt, running[0], running[1], wt, bt,
                                         training=layer.training, momentum=layer.momentum,
                                         eps=layer.eps)
    out.backward(tensor(torch, dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def term_sizes(layer, x, dout):
    """sum |terms| of each backward output (dx, dgamma, dbeta), in float64: the scale their
    rounding error is relative to (BN's sums cancel, e.g. dx is ~1e-7 for N = 2)."""
    x, dout, gamma = x.astype(np.float64), dout.astype(np.float64), layer.weight.data
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv_std = 1.0 / np.sqrt(x.var(axis=layer.axes) + layer.eps)
    xhat = (x - x.mean(axis=layer.axes, keepdims=True)) * inv_std.reshape(shape)
    dbeta = np.abs(dout).sum(axis=layer.axes)
    dgamma = np.abs(dout * xhat).sum(axis=layer.axes)
    m = x.size // gamma.size
    dx = (np.abs(gamma) * inv_std).reshape(shape) * (
        np.abs(dout) + (dbeta / m).reshape(shape) + np.abs(xhat) * (dgamma / m).reshape(shape))
    return dx, dgamma, dbeta


@pytest.mark.parametrize("cls, shape", CASES, ids=IDS)
def test_batchnorm_train_mode_gradients_match_numerical_gradients(cls, shape, rng):
    layer = make_layer(cls, shape, rng)
    report = gradcheck.check_layer(layer, batch(rng, shape, np.float64), rng.standard_normal(shape))
    assert [row.name for row in report.rows] == ["input", "weight", "bias"]
    assert report.ok, report.table()


@pytest.mark.parametrize("momentum", [0.1, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, shape", CASES, ids=IDS)
def test_batchnorm_train_mode_matches_torch_including_running_statistics(cls, shape, dtype,
                                                                         momentum, rng, torch):
    layer = make_layer(cls, shape, rng, dtype, momentum=momentum)
    running = [tensor(torch, layer.running_mean), tensor(torch, layer.running_var)]
    for _ in range(3):                               # several steps of the running averages
        x = batch(rng, shape, dtype)
        dout = rng.standard_normal(shape).astype(dtype)
        out_t, dx_t, dgamma_t, dbeta_t = torch_batchnorm(torch, layer, x, dout, running)
        layer.zero_grad()
        dx_size, dgamma_size, dbeta_size = term_sizes(layer, x, dout)
        assert_close(layer(x), out_t, dtype)
        assert_close(layer.backward(dout), dx_t, dtype, scale=dx_size)
        assert_close(layer.weight.grad, dgamma_t, dtype, scale=dgamma_size)
        assert_close(layer.bias.grad, dbeta_t, dtype, scale=dbeta_size)
        assert_close(layer.running_mean, running[0].numpy(), dtype)
        assert_close(layer.running_var, running[1].numpy(), dtype)   # unbiased, as torch's


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, shape", CASES, ids=IDS)
def test_batchnorm_eval_mode_uses_running_statistics_like_torch(cls, shape, dtype, rng, torch):
    layer = make_layer(cls, shape, rng, dtype)
    layer(batch(rng, shape, dtype))                  # one training step moves the statistics
    layer.eval()
    x = batch(rng, shape, dtype)
    before = (layer.running_mean.copy(), layer.running_var.copy())
    running = [tensor(torch, layer.running_mean), tensor(torch, layer.running_var)]
    out_t, _, _, _ = torch_batchnorm(torch, layer, x, np.ones(shape, dtype), running)
    assert_close(layer(x), out_t, dtype)
    np.testing.assert_array_equal(layer.running_mean, before[0])   # eval never updates them
    np.testing.assert_array_equal(layer.running_var, before[1])


@pytest.mark.parametrize("cls, shape", CASES, ids=IDS)
def test_batchnorm_backward_after_an_eval_mode_forward_raises_a_clear_error(cls, shape, rng):
    layer = make_layer(cls, shape, rng).eval()
    layer(batch(rng, shape, np.float64))
    with pytest.raises(RuntimeError, match=cls.__name__):
        layer.backward(np.ones(shape))


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (1, 4)), (BatchNorm2d, (1, 3, 1, 1))])
def test_batchnorm_refuses_one_value_per_channel_in_training_like_torch(cls, shape, torch):
    x = np.ones(shape)
    with pytest.raises(ValueError):
        torch.nn.functional.batch_norm(tensor(torch, x), None, None, training=True)
    with pytest.raises(ShapeError, match=cls.__name__):
        cls(shape[1], dtype=np.float64)(x)


def _eps_outside_sqrt(x, gamma, beta, eps, axes=(0,)):
    """Bug 21: 1 / (sqrt(var) + eps) instead of 1 / sqrt(var + eps)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    inv_std = 1.0 / (np.sqrt(var) + eps)
    xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    out = xhat * gamma.reshape(shape) + beta.reshape(shape)
    return out, mean, var, BatchNormCache(xhat, inv_std, gamma, axes)


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (8, 5)), (BatchNorm2d, (2, 3, 4, 5))])
def test_batchnorm_eps_outside_the_sqrt_is_caught_by_torch_parity(cls, shape, monkeypatch, rng,
                                                                  torch):
    x = 0.05 * batch(rng, shape, np.float64)          # small variance: eps matters
    layer = make_layer(cls, shape, rng)
    running = [tensor(torch, layer.running_mean), tensor(torch, layer.running_var)]
    out_t, *_ = torch_batchnorm(torch, layer, x, np.ones(shape), running)
    assert parity_error(layer(x), out_t) < 1e-12       # the real kernel
    monkeypatch.setattr(F, "batchnorm_forward", _eps_outside_sqrt)
    assert parity_error(layer(x), out_t) > 1e-5


def test_gradcheck_fails_when_batchnorm_backward_is_0_1_percent_too_large(monkeypatch, rng):
    original = F.batchnorm_backward
    monkeypatch.setattr(F, "batchnorm_backward",
                        lambda dout, cache: tuple(1.001 * g for g in original(dout, cache)))
    shape = (6, 4)
    report = gradcheck.check_layer(make_layer(BatchNorm1d, shape, rng), batch(rng, shape, float),
                                   rng.standard_normal(shape))
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE


class ChannelMajorInput(Layer):
    """Hands its layer the input laid out (C, N, H, W) in memory, as a conv output is: batch
    norm then takes its per-channel path (parallel.py splits it over channels)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer.forward(np.ascontiguousarray(x.transpose(1, 0, 2, 3))
                                  .transpose(1, 0, 2, 3))

    def backward(self, dout):
        return self.layer.backward(np.ascontiguousarray(dout.transpose(1, 0, 2, 3))
                                   .transpose(1, 0, 2, 3))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 3), (4, 1, 2, 2)])
def test_batchnorm2d_on_a_channel_major_input_gradients_match_numerical_gradients(shape, rng):
    layer = ChannelMajorInput(make_layer(BatchNorm2d, shape, rng))
    report = gradcheck.check_layer(layer, batch(rng, shape, np.float64), rng.standard_normal(shape))
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (8, 4, 3, 3)])
def test_batchnorm2d_on_a_channel_major_input_matches_torch(shape, dtype, rng, torch):
    inner = make_layer(BatchNorm2d, shape, rng, dtype)
    layer = ChannelMajorInput(inner)
    running = [tensor(torch, inner.running_mean), tensor(torch, inner.running_var)]
    x, dout = batch(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    out_t, dx_t, dgamma_t, dbeta_t = torch_batchnorm(torch, inner, x, dout, running)
    dx_size, dgamma_size, dbeta_size = term_sizes(inner, x, dout)
    assert_close(layer(x), out_t, dtype)
    assert_close(layer.backward(dout), dx_t, dtype, scale=dx_size)
    assert_close(inner.weight.grad, dgamma_t, dtype, scale=dgamma_size)
    assert_close(inner.bias.grad, dbeta_t, dtype, scale=dbeta_size)
    assert_close(inner.running_var, running[1].numpy(), dtype)
