"""Dropout: gradients with a frozen mask, inverted scaling 1/(1 - p), identity in eval mode."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, away_from_zero, parity_error, tensor

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.layers import Dropout

SHAPES = [(4, 5), (2, 3, 4, 4), (1, 7)]


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_gradient_matches_numerical_gradient_with_its_rng_frozen(shape, p, rng):
    layer = Dropout(p, rng=np.random.default_rng(7))
    report = gradcheck.check_layer(layer, rng.standard_normal(shape), rng.standard_normal(shape))
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_keeps_units_scaled_by_one_over_keep_probability_like_torch(shape, p, dtype, rng,
                                                                            torch):
    """torch draws its own mask, so torch gets ours: out = x * keep / (1 - p), dx likewise."""
    x = away_from_zero(rng, shape, dtype)          # no zeros: out == 0 exactly where dropped
    dout = rng.standard_normal(shape).astype(dtype)
    layer = Dropout(p, rng=rng)
    out = layer(x)
    keep = out != 0

    xt = tensor(torch, x, requires_grad=True)
    out_t = xt * tensor(torch, keep.astype(dtype)) / (1 - p)
    out_t.backward(tensor(torch, dout))
    assert_close(out, out_t.detach().numpy(), dtype)
    assert_close(layer.backward(dout), xt.grad.numpy(), dtype)


def test_dropout_drops_a_fraction_p_of_units(rng):
    """Binomial: the kept fraction of n units has std sqrt(p (1 - p) / n); allow 6 std."""
    n, p = 200_000, 0.3
    out = Dropout(p, rng=rng)(np.ones(n))
    assert abs(np.mean(out != 0) - (1 - p)) < 6 * np.sqrt(p * (1 - p) / n)
    assert set(np.unique(out)) == {0.0, 1 / (1 - p)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_is_the_identity_in_eval_mode(dtype, rng):
    x = rng.standard_normal((6, 5)).astype(dtype)
    layer = Dropout(0.5, rng=rng).eval()
    out = layer(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_with_p_one_drops_everything_like_torch(dtype, rng, torch):
    x = rng.standard_normal((3, 4)).astype(dtype)
    layer = Dropout(1.0, rng=rng)
    expected = torch.nn.functional.dropout(tensor(torch, x), 1.0, training=True).numpy()
    np.testing.assert_array_equal(layer(x), expected)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.zeros_like(x))


def test_dropout_with_the_same_seed_draws_the_same_mask(rng):
    x = rng.standard_normal((8, 8))
    a = Dropout(0.5, rng=np.random.default_rng(3))(x)
    b = Dropout(0.5, rng=np.random.default_rng(3))(x)
    np.testing.assert_array_equal(a, b)


def test_unscaled_dropout_is_caught_by_the_scaling_check(monkeypatch, rng):
    """Bug 11: dropping without the 1/(1 - p) shrinks the expected activation by (1 - p)."""
    monkeypatch.setattr(F, "dropout_forward", _unscaled)
    x = away_from_zero(rng, (50, 20))
    out = Dropout(0.5, rng=rng)(x)
    assert parity_error(out, x * (out != 0) / (1 - 0.5)) > 0.1


def _unscaled(x, p, rng):
    mask = (rng.random(x.shape) >= p).astype(x.dtype)
    return x * mask, mask


def test_gradcheck_fails_when_dropout_backward_is_0_1_percent_too_large(monkeypatch, rng):
    original = F.dropout_backward
    monkeypatch.setattr(F, "dropout_backward", lambda dout, mask: 1.001 * original(dout, mask))
    report = gradcheck.check_layer(Dropout(0.3, rng=rng), rng.standard_normal((4, 6)),
                                   rng.standard_normal((4, 6)))
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE
