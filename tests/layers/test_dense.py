"""Linear: numerical gradients in float64, parity with torch, and proof the checks can fail."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, randomise, tensor

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.layers import Linear

SHAPES = [(1, 3, 2), (4, 5, 7), (6, 16, 10)]   # (N, in_features, out_features)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n, d, m", SHAPES)
def test_linear_gradients_match_numerical_gradients(n, d, m, bias, rng):
    layer = Linear(d, m, bias=bias, rng=rng).to_dtype(np.float64)
    randomise(layer, rng)
    x, dout = rng.standard_normal((n, d)), rng.standard_normal((n, m))
    report = gradcheck.check_layer(layer, x, dout)
    assert [row.name for row in report.rows] == ["input", "weight"] + ["bias"] * bias
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n, d, m", SHAPES)
def test_linear_output_and_gradients_match_torch(n, d, m, bias, dtype, rng, torch):
    layer = Linear(d, m, bias=bias, rng=rng, dtype=dtype)
    randomise(layer, rng)
    x = rng.standard_normal((n, d)).astype(dtype)
    dout = rng.standard_normal((n, m)).astype(dtype)

    xt = tensor(torch, x, requires_grad=True)
    wt = tensor(torch, layer.weight.data.T, requires_grad=True)   # torch stores (out, in)
    bt = tensor(torch, layer.bias.data, requires_grad=True) if bias else None
    out_t = torch.nn.functional.linear(xt, wt, bt)
    out_t.backward(tensor(torch, dout))

    assert_close(layer(x), out_t.detach().numpy(), dtype)
    assert_close(layer.backward(dout), xt.grad.numpy(), dtype)
    assert_close(layer.weight.grad, wt.grad.numpy().T, dtype)
    if bias:
        assert_close(layer.bias.grad, bt.grad.numpy(), dtype)


def test_gradcheck_fails_when_linear_backward_is_0_1_percent_too_large(monkeypatch, rng):
    original = F.linear_backward

    def broken(dout, cache, input_grad=True):
        return tuple(g * 1.001 for g in original(dout, cache, input_grad))

    monkeypatch.setattr(F, "linear_backward", broken)
    layer = Linear(4, 3, rng=rng).to_dtype(np.float64)
    randomise(layer, rng)
    report = gradcheck.check_layer(layer, rng.standard_normal((5, 4)), rng.standard_normal((5, 3)))
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE
    assert {row.name for row in report.rows if row.max_rel_error > gradcheck.TOLERANCE} == {
        "input", "weight", "bias"}


def test_gradcheck_fails_when_the_bias_gradient_is_the_weight_gradient_of_another_row(
        monkeypatch, rng):
    """Bug 18: a copy-pasted parameter gradient that still has the right shape."""
    original = F.linear_backward

    def broken(dout, cache, input_grad=True):
        dx, dweight, dbias = original(dout, cache, input_grad)
        return dx, dweight, dweight[0]

    monkeypatch.setattr(F, "linear_backward", broken)
    layer = Linear(4, 3, rng=rng).to_dtype(np.float64)
    randomise(layer, rng)
    report = gradcheck.check_layer(layer, rng.standard_normal((5, 4)), rng.standard_normal((5, 3)))
    assert report.ok is False
    assert report.worst().name == "bias"
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE


def test_backward_params_gives_the_same_parameter_gradients_without_dx(rng, monkeypatch):
    """backward_params (the first layer, whose input is the data) skips only dx."""
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    asked = []
    original = F.linear_backward
    monkeypatch.setattr(F, "linear_backward", lambda dout, cache, input_grad=True: (
        asked.append(input_grad), original(dout, cache, input_grad))[1])
    grads = []
    for method in ("backward", "backward_params"):
        layer = Linear(4, 3, rng=np.random.default_rng(0)).to_dtype(np.float64)
        layer.forward(x)
        getattr(layer, method)(dout)
        grads.append((layer.weight.grad, layer.bias.grad))
    assert asked == [True, False]
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
