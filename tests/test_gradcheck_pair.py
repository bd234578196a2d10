"""gradcheck.check_pair for CS231n-style functional pairs: forward(*inputs) -> (out, cache),
backward(dout, cache) -> one gradient per input (None, or left out at the end, for inputs
without one)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import gradcheck

TOL = gradcheck.TOLERANCE


def test_linear_pair_rows_are_named_after_the_forward_parameters(rng):
    x, weight, bias = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.random(3)
    report = gradcheck.check_pair(F.linear_forward, F.linear_backward, x, weight, bias)
    assert [row.name for row in report.rows] == ["x", "weight", "bias"]
    assert report.ok, report.table()


def test_float32_inputs_are_checked_in_float64_and_left_untouched(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    before = x.copy()
    seen = []

    def forward(x):
        seen.append(x.dtype)
        return np.tanh(x), np.tanh(x)

    report = gradcheck.check_pair(forward, F.tanh_backward, x)
    assert report.ok and report.max_rel_error < TOL, report.table()
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x, before)


def test_a_single_array_gradient_with_trailing_options_and_a_frozen_generator(rng):
    """CS231n's dropout: forward(x, p, rng), backward returns dx alone. The generator is rewound
    before every forward, so every evaluation draws the same mask."""
    x = rng.standard_normal((6, 5))
    generator = np.random.default_rng(3)
    report = gradcheck.check_pair(F.dropout_forward, F.dropout_backward, x, 0.5, generator)
    assert [row.name for row in report.rows] == ["x"] and report.ok, report.table()


def test_labels_get_no_gradient_and_a_scalar_loss_works(rng):
    def svm_loss(scores, labels):
        return F.multiclass_hinge_forward(scores, labels)

    def svm_backward(dloss, cache):
        return F.multiclass_hinge_backward(cache, float(dloss)), None

    scores, labels = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    report = gradcheck.check_pair(svm_loss, svm_backward, scores, labels)
    assert [row.name for row in report.rows] == ["scores"] and report.ok, report.table()


def test_batchnorm_pair_with_a_param_dict_left_out(rng):
    def bn_forward(x, gamma, beta, bn_param):
        out, _, _, cache = F.batchnorm_forward(x, gamma, beta, bn_param["eps"], (0,))
        return out, cache

    x = rng.standard_normal((8, 3))
    report = gradcheck.check_pair(bn_forward, F.batchnorm_backward, x, rng.random(3) + 0.5,
                                  rng.standard_normal(3), {"eps": 1e-5})
    assert len(report.rows) == 3 and report.ok, report.table()


def test_relu_at_its_kink_is_skipped_not_failed():
    report = gradcheck.check_pair(F.relu_forward, F.relu_backward, np.zeros((2, 3)))
    assert report.ok and report.rows[0].kinks == 6


@pytest.mark.parametrize("mutation", ["x1.001", "sign", "no 1/N", "wrong bias axis"])
def test_a_broken_backward_fails(mutation, rng):
    """CS231n's affine pair with classic mistakes; every one must fail by far."""
    def backward(dout, cache):
        dx, dweight, dbias = F.linear_backward(dout, cache)
        if mutation == "x1.001":
            return dx * 1.001, dweight, dbias
        if mutation == "sign":
            return dx, -dweight, dbias
        if mutation == "no 1/N":
            return dx, dweight, dbias * len(dout)
        return dx, dweight, dout.mean(axis=0)

    x, weight, bias = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.random(3)
    report = gradcheck.check_pair(F.linear_forward, backward, x, weight, bias)
    assert not report.ok and report.max_rel_error > 100 * TOL


def test_a_missing_gradient_and_a_wrong_shape_are_errors(rng):
    x, weight, bias = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.random(3)
    with pytest.raises(ValueError, match="2 gradient"):
        gradcheck.check_pair(F.linear_forward, lambda d, c: F.linear_backward(d, c)[:2],
                             x, weight, bias)
    with pytest.raises(ValueError, match="gradient for bias has shape"):
        gradcheck.check_pair(F.linear_forward,
                             lambda d, c: (*F.linear_backward(d, c)[:2], d), x, weight, bias)


def test_the_upstream_gradient_given_is_used_and_not_modified(rng):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    before = dout.copy()

    def backward(d, cache):
        d *= 0                                   # a backward that writes into dout (bug 7)
        return d

    report = gradcheck.check_pair(lambda x: (x * 2, None), backward, x, dout=dout)
    np.testing.assert_array_equal(dout, before)
    assert not report.ok
