"""LayerNorm / GroupNorm: float64 numerical gradients, torch parity (forward, dx, dweight,
dbias) on several shapes in float32 and float64, mutations caught, bad shapes refused."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, randomise, tensor

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.layers import GroupNorm, LayerNorm

# (normalized_shape, input shape)
LN_CASES = [(5, (4, 5)), (3, (2, 7, 3)), ((3, 4), (2, 3, 4)), ((2, 3, 3), (3, 2, 3, 3)),
            (6, (1, 6))]
# (num_groups, input shape)
GN_CASES = [(1, (2, 3, 4, 5)), (2, (2, 4, 3, 3)), (4, (3, 4, 2, 2)), (3, (2, 6, 5)),
            (2, (4, 6))]


def make_layernorm(shape, rng, dtype):
    layer = LayerNorm(shape, dtype=dtype)
    randomise(layer, rng)
    return layer


def make_groupnorm(groups, x_shape, rng, dtype):
    layer = GroupNorm(groups, x_shape[1], dtype=dtype)
    randomise(layer, rng)
    return layer


def spread(rng, shape, dtype=np.float64):
    """Values with different offsets and scales along every axis, so normalising matters."""
    return (3 * rng.standard_normal(shape) + rng.standard_normal(shape[-1])).astype(dtype)


@pytest.mark.parametrize("normalized, shape", LN_CASES)
def test_layernorm_gradients_match_numerical(normalized, shape, rng):
    layer = make_layernorm(normalized, rng, np.float64)
    report = gradcheck.check_layer(layer, spread(rng, shape), rng=rng)
    assert report.max_rel_error < 1e-6, report.table()


@pytest.mark.parametrize("groups, shape", GN_CASES)
def test_groupnorm_gradients_match_numerical(groups, shape, rng):
    layer = make_groupnorm(groups, shape, rng, np.float64)
    report = gradcheck.check_layer(layer, spread(rng, shape), rng=rng)
    assert report.max_rel_error < 1e-6, report.table()


def _torch_run(torch, module_fn, layer, x, dout):
    xt = tensor(torch, x, requires_grad=True)
    wt = tensor(torch, layer.weight.data, requires_grad=True)
    bt = tensor(torch, layer.bias.data, requires_grad=True)
    out = module_fn(xt, wt, bt)
    out.backward(tensor(torch, dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _ours(layer, x, dout):
    out = layer(x)
    dx = layer.backward(dout)
    return out, dx, layer.weight.grad, layer.bias.grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized, shape", LN_CASES)
def test_layernorm_matches_torch(normalized, shape, dtype, rng, torch):
    layer = make_layernorm(normalized, rng, dtype)
    x, dout = spread(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    expected = _torch_run(torch, lambda xt, wt, bt: torch.nn.functional.layer_norm(
        xt, layer.normalized_shape, wt, bt, eps=layer.eps), layer, x, dout)
    for got, want in zip(_ours(layer, x, dout), expected, strict=True):
        assert_close(got, want, dtype, scale=np.abs(want).max() * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups, shape", GN_CASES)
def test_groupnorm_matches_torch(groups, shape, dtype, rng, torch):
    layer = make_groupnorm(groups, shape, rng, dtype)
    x, dout = spread(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    expected = _torch_run(torch, lambda xt, wt, bt: torch.nn.functional.group_norm(
        xt, groups, wt, bt, eps=layer.eps), layer, x, dout)
    for got, want in zip(_ours(layer, x, dout), expected, strict=True):
        assert_close(got, want, dtype, scale=np.abs(want).max() * 10)


@pytest.mark.parametrize("kernel, make, case", [
    ("layernorm_backward", lambda rng: make_layernorm(3, rng, np.float64), (2, 4, 3)),
    ("groupnorm_backward", lambda rng: make_groupnorm(2, (2, 4, 3, 3), rng, np.float64),
     (2, 4, 3, 3)),
])
def test_gradcheck_catches_a_broken_backward(monkeypatch, rng, kernel, make, case):
    original = getattr(F, kernel)

    def broken(dout, cache):                     # every gradient 0.1% too large
        return tuple(g * 1.001 for g in original(dout, cache))

    monkeypatch.setattr(F, kernel, broken)
    report = gradcheck.check_layer(make(rng), spread(rng, case), rng=rng)
    assert report.max_rel_error > 1e-4


def test_groupnorm_groups_are_contiguous_channels(rng):
    """Channels 0-1 form group 0, 2-3 group 1: each group has mean 0, std 1 per sample."""
    x = spread(rng, (3, 4, 5, 5))
    out = GroupNorm(2, 4, dtype=np.float64)(x).reshape(3, 2, -1)
    np.testing.assert_allclose(out.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=2), 1, atol=1e-5)


def test_norms_are_the_same_in_eval_mode(rng):
    for layer, x in [(make_layernorm(4, rng, np.float64), spread(rng, (3, 4))),
                     (make_groupnorm(2, (2, 4, 3), rng, np.float64), spread(rng, (2, 4, 3)))]:
        train_out = layer(x)
        np.testing.assert_array_equal(layer.eval()(x), train_out)
        with pytest.raises(RuntimeError, match="without a preceding forward"):
            layer.backward(np.ones_like(x))


def test_bad_shapes_are_refused():
    with pytest.raises(ShapeError, match="LayerNorm expects"):
        LayerNorm(4)(np.zeros((2, 3), np.float32))
    with pytest.raises(ShapeError, match="GroupNorm expects"):
        GroupNorm(2, 4)(np.zeros((2, 6, 3, 3), np.float32))
    with pytest.raises(ConfigError, match="divisible"):
        GroupNorm(3, 4)
    with pytest.raises(ConfigError, match="normalized_shape"):
        LayerNorm(0)
