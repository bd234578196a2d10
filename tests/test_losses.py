"""Losses: float64 numerical gradients, parity with torch (cross_entropy, multi_margin_loss x C,
mse_loss) in float32 and float64, the loss contract, and mutations that must be caught."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import scratchnn.functional.losses as kernels
from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.errors import DataError, ShapeError
from scratchnn.losses import MSE, MulticlassHinge, SoftmaxCrossEntropy

DTYPES = [np.float32, np.float64]
# Fixed tolerances from the unit roundoff (float32 6e-8, float64 1.1e-16), as in tests/layers:
# an element may be off by RTOL of itself plus ATOL of the largest reference element.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
ATOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}
SHAPES = [(1, 2), (4, 3), (8, 10)]                # (N, C)


def assert_close(actual, expected, dtype) -> None:
    """Arrays: equal within the dtype's tolerance and of that dtype. Python floats: the loss."""
    dtype = np.dtype(dtype)
    if isinstance(actual, np.ndarray):
        assert actual.dtype == dtype, f"got {actual.dtype}, expected {dtype}"
    expected = np.asarray(expected, np.float64)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype] * scale)


def int_labels(rng, n, c):
    return rng.integers(0, c, n)


def one_hot(labels, c, dtype=np.float64):
    return np.eye(c, dtype=dtype)[labels]


def probability_rows(rng, n, c, dtype=np.float64):
    return rng.dirichlet(np.ones(c), n).astype(dtype)


def unnormalised_rows(rng, n, c, dtype=np.float64):
    """Non-negative targets whose rows do not sum to 1 (torch: dL/ds = p sum(t) - t)."""
    return rng.uniform(0, 1, (n, c)).astype(dtype)


def hinge_scores(rng, labels, c, margin, dtype=np.float64):
    """Scores whose margins s_j - s_y + margin (j != y) are all at least 0.2 from the kink at 0."""
    n = len(labels)
    rows = np.arange(n)
    scores = rng.standard_normal((n, c))
    margins = scores - scores[rows, labels][:, None] + margin
    near = np.abs(margins) < 0.1
    near[rows, labels] = False
    scores[near] += 0.3                      # moves only that wrong class's margin, to >= 0.2
    return scores.astype(dtype)


def torch_loss(torch, kind, scores, target, margin=1.0):
    """(loss, dscores) from torch autograd."""
    st = torch.tensor(scores, requires_grad=True)
    fn = torch.nn.functional
    if kind == "ce":
        tt = torch.tensor(target) if target.ndim == 2 else torch.tensor(target, dtype=torch.long)
        loss = fn.cross_entropy(st, tt)
    elif kind == "hinge":            # torch divides by C; CS231n's svm_loss sums the classes
        loss = fn.multi_margin_loss(st, torch.tensor(target, dtype=torch.long), margin=margin)
        loss = loss * scores.shape[1]
    else:
        loss = fn.mse_loss(st, torch.tensor(target))
    loss.backward()
    return loss.item(), st.grad.numpy()


# -- numerical gradients ------------------------------------------------------------------------

@pytest.mark.parametrize("labels_kind", ["int", "one-hot", "probabilities", "unnormalised"])
@pytest.mark.parametrize("n, c", SHAPES)
def test_softmax_cross_entropy_gradient_matches_numerical_gradient(n, c, labels_kind, rng):
    labels = int_labels(rng, n, c)
    target = {"int": labels, "one-hot": one_hot(labels, c),
              "probabilities": probability_rows(rng, n, c),
              "unnormalised": unnormalised_rows(rng, n, c)}[labels_kind]
    report = gradcheck.check_loss(SoftmaxCrossEntropy(), 3 * rng.standard_normal((n, c)), target)
    assert report.ok, report.table()


@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize("labels_kind", ["int", "one-hot"])
@pytest.mark.parametrize("n, c", SHAPES)
def test_multiclass_hinge_gradient_matches_numerical_gradient(n, c, labels_kind, margin, rng):
    labels = int_labels(rng, n, c)
    scores = hinge_scores(rng, labels, c, margin)
    target = labels if labels_kind == "int" else one_hot(labels, c)
    report = gradcheck.check_loss(MulticlassHinge(margin), scores, target)
    assert report.ok, report.table()


@pytest.mark.parametrize("shape", [(3,), (4, 2), (2, 3, 4)])
def test_mse_gradient_matches_numerical_gradient(shape, rng):
    report = gradcheck.check_loss(MSE(), rng.standard_normal(shape), rng.standard_normal(shape))
    assert report.ok, report.table()


# -- parity with torch --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels_kind", ["int", "one-hot", "probabilities", "unnormalised"])
@pytest.mark.parametrize("n, c", SHAPES)
def test_softmax_cross_entropy_matches_torch_cross_entropy(n, c, labels_kind, dtype, rng, torch):
    labels = int_labels(rng, n, c)
    target = {"int": labels, "one-hot": one_hot(labels, c, dtype),
              "probabilities": probability_rows(rng, n, c, dtype),
              "unnormalised": unnormalised_rows(rng, n, c, dtype)}[labels_kind]
    scores = (3 * rng.standard_normal((n, c))).astype(dtype)
    loss_fn = SoftmaxCrossEntropy()
    loss_t, dscores_t = torch_loss(torch, "ce", scores, target)
    assert_close(loss_fn(scores, target), loss_t, dtype)
    assert_close(loss_fn.backward(), dscores_t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize("n, c", SHAPES)
def test_multiclass_hinge_equals_torch_multi_margin_loss_times_classes(n, c, margin, dtype, rng,
                                                                       torch):
    labels = int_labels(rng, n, c)
    scores = hinge_scores(rng, labels, c, margin, dtype)
    loss_t, dscores_t = torch_loss(torch, "hinge", scores, labels, margin)
    for target in (labels, one_hot(labels, c, dtype)):
        loss_fn = MulticlassHinge(margin)
        assert_close(loss_fn(scores, target), loss_t, dtype)
        assert_close(loss_fn.backward(), dscores_t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3,), (4, 2), (2, 3, 4)])
def test_mse_matches_torch_mse_loss(shape, dtype, rng, torch):
    pred, target = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    loss_fn = MSE()
    loss_t, dpred_t = torch_loss(torch, "mse", pred, target)
    assert_close(loss_fn(pred, target), loss_t, dtype)
    assert_close(loss_fn.backward(), dpred_t, dtype)


# -- large logits, softmax ----------------------------------------------------------------------

LARGE = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0], [-1e4, -1e4, -1e4 + 1.0]])


def large_logit_loss(dtype):
    loss_fn = SoftmaxCrossEntropy()
    with np.errstate(all="ignore"):             # a broken kernel may overflow: report, not raise
        loss = loss_fn(LARGE.astype(dtype), np.array([1, 2, 2]))
        return loss, loss_fn.backward()


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_is_finite_for_logits_of_1e4_and_matches_torch(dtype, torch):
    """Bug 4: without the row max subtracted, exp(1e4) overflows."""
    loss, dscores = large_logit_loss(dtype)
    assert np.isfinite(loss) and np.isfinite(dscores).all()
    loss_t, dscores_t = torch_loss(torch, "ce", LARGE.astype(dtype), np.array([1, 2, 2]))
    assert_close(loss, loss_t, dtype)
    assert_close(dscores, dscores_t, dtype)


def test_softmax_without_the_row_max_is_caught_by_the_large_logit_test(monkeypatch):
    def naive_log_softmax(scores):
        e = np.exp(scores)
        return np.log(e / e.sum(axis=1, keepdims=True))

    monkeypatch.setattr(kernels, "log_softmax", naive_log_softmax)
    loss, dscores = large_logit_loss(np.float64)
    assert not (np.isfinite(loss) and np.isfinite(dscores).all())


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one_and_a_batch_equals_row_by_row(dtype, rng, torch):
    """Bug 16: normalising over the batch axis (or the whole array) fails all three checks."""
    scores = (3 * rng.standard_normal((5, 4))).astype(dtype)   # distinct rows
    probs = F.softmax(scores)
    assert probs.dtype == dtype
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=10 * RTOL[np.dtype(dtype)])
    rows = np.concatenate([F.softmax(scores[i : i + 1]) for i in range(len(scores))])
    np.testing.assert_array_equal(probs, rows)
    assert_close(probs, torch.softmax(torch.tensor(scores), dim=1).numpy(), dtype)


# -- the loss contract --------------------------------------------------------------------------

def loss_case(kind, rng, dtype=np.float64):
    """(loss object, scores, labels) for each loss and label kind."""
    labels = int_labels(rng, 4, 3)
    if kind == "ce-int":
        return SoftmaxCrossEntropy(), rng.standard_normal((4, 3)).astype(dtype), labels
    if kind == "ce-one-hot":
        return SoftmaxCrossEntropy(), rng.standard_normal((4, 3)).astype(dtype), one_hot(labels, 3)
    if kind == "hinge":
        return MulticlassHinge(), hinge_scores(rng, labels, 3, 1.0, dtype), labels
    return MSE(), rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((4, 3))


KINDS = ["ce-int", "ce-one-hot", "hinge", "mse"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_loss_returns_a_python_float_and_a_gradient_in_the_scores_dtype(kind, dtype, rng):
    loss_fn, scores, labels = loss_case(kind, rng, dtype)
    loss = loss_fn(scores, labels)
    assert type(loss) is float
    dscores = loss_fn.backward()
    assert dscores.dtype == dtype and dscores.shape == scores.shape


@pytest.mark.parametrize("kind", KINDS)
def test_loss_forward_and_backward_leave_their_inputs_and_cache_unchanged(kind, rng):
    loss_fn, scores, labels = loss_case(kind, rng)
    scores_before, labels_before = scores.copy(), labels.copy()
    loss_fn(scores, labels)
    cache_before = copy.deepcopy(loss_fn._cache)
    first = loss_fn.backward()
    np.testing.assert_array_equal(loss_fn.backward(), first)
    for a, b in zip(loss_fn._cache, cache_before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(scores, scores_before)
    np.testing.assert_array_equal(labels, labels_before)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_backward_before_forward_raises_a_runtime_error_naming_the_loss(kind, rng):
    loss_fn = loss_case(kind, rng)[0]
    with pytest.raises(RuntimeError, match=type(loss_fn).__name__):
        loss_fn.backward()


@pytest.mark.parametrize("loss_fn", [SoftmaxCrossEntropy(), MulticlassHinge()],
                         ids=["ce", "hinge"])
@pytest.mark.parametrize("labels, error, message", [
    (np.array([0, 1, 3]), DataError, r"in \[0, 3\) .* from 0 to 3"),
    (np.array([0, -1, 2]), DataError, r"in \[0, 3\) .* from -1 to 2"),
    (np.array([[0.5, 0.5, 0], [1, 0, 0], [0, np.nan, 1]]), DataError, r"NaN or Inf"),
    (np.array([[0], [1], [2]]), ShapeError, r"\(3, 1\).*ravel"),
    (np.array([0, 1]), ShapeError, r"\(3,\) or rows \(3, 3\).*got \(2,\)"),
    (np.array([0.0, 1.0, 2.0]), ShapeError, r"integer class indices, got float64"),
])
def test_bad_labels_raise_an_error_saying_what_is_wrong(loss_fn, labels, error, message, rng):
    """A wrong shape or dtype is a ShapeError, wrong values a DataError (scratchnn.labels)."""
    with pytest.raises(error, match=message) as info:
        loss_fn(rng.standard_normal((3, 3)), labels)
    assert "\n" not in str(info.value)


def test_mse_refuses_a_target_of_another_shape(rng):
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        MSE()(rng.standard_normal((4, 3)), rng.standard_normal((4,)))


# -- mutations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel, kind", [("softmax_cross_entropy_backward", "ce-int"),
                                          ("softmax_cross_entropy_backward", "ce-one-hot"),
                                          ("multiclass_hinge_backward", "hinge"),
                                          ("mse_backward", "mse")])
def test_gradcheck_fails_when_a_loss_backward_is_0_1_percent_too_large(kernel, kind, monkeypatch,
                                                                       rng):
    original = getattr(F, kernel)
    monkeypatch.setattr(F, kernel, lambda cache: 1.001 * original(cache))
    loss_fn, scores, labels = loss_case(kind, rng)
    report = gradcheck.check_loss(loss_fn, scores, labels)
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE
