"""scratchnn.gradcheck itself: accurate numerical gradients, checks done on a float64 copy with
running statistics and random generators frozen, whole models, a shared parameter with a skip
connection (bug 17), and the classic broken layers it must reject."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.layer import Layer, Sequential
from scratchnn.layers import BatchNorm1d, BatchNorm2d, Dropout, Flatten, Linear, ReLU, Sigmoid, Tanh
from scratchnn.losses import MSE, SoftmaxCrossEntropy
from scratchnn.parameter import Parameter

TOL = gradcheck.TOLERANCE
FAILS_BY = 100 * TOL            # a broken gradient must miss by far more than rounding could


def randomise(model, rng):
    for p in model.parameters():
        p.data = rng.standard_normal(p.data.shape).astype(p.data.dtype)


# -- numerical_gradient and rel_error -----------------------------------------------------------

def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared(rng):
    """((x + e)^3 - (x - e)^3) / 2e = 3x^2 + e^2 exactly. What remains is rounding: of x +- e
    (half an ulp of x each) and of each cube (~1 ulp), divided by 2e; when f returns the sum,
    also the summation's rounding (at most size ulps of sum |x|^3 per evaluation)."""
    x = rng.uniform(-2, 2, (4, 5))
    eps, ulp = gradcheck.EPS, np.finfo(np.float64).eps
    rounding = 4 * ulp * (np.abs(x) + eps) ** 3 / (2 * eps)
    elementwise = gradcheck.numerical_gradient(lambda: x**3, x)      # unrelated terms cancel
    assert np.all(np.abs(elementwise - (3 * x**2 + eps**2)) <= rounding)
    summed = gradcheck.numerical_gradient(lambda: np.sum(x**3), x)
    summation = x.size * ulp * np.sum(np.abs(x) ** 3) / eps
    assert np.all(np.abs(summed - 3 * x**2) <= eps**2 + rounding + summation)


def test_numerical_gradient_restores_x_exactly_and_checks_only_the_given_positions(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = gradcheck.numerical_gradient(lambda: np.sum(np.sin(x)), x, index=np.array([1, 7]))
    np.testing.assert_array_equal(x, before)
    checked = ~np.isnan(grad)
    assert checked.sum() == 2 and checked.flat[1] and checked.flat[7]
    np.testing.assert_allclose(grad[checked], np.cos(x)[checked], rtol=1e-9)


def test_numerical_gradient_of_a_function_returning_x_itself_is_one(rng):
    """f may return an array whose sum is the scalar, even a view of x (an identity layer)."""
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda: x, x), np.ones_like(x),
                               rtol=1e-9)
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda: 2 * x.reshape(-1), x),
                               2 * np.ones_like(x), rtol=1e-9)


def test_numerical_gradient_refuses_a_non_contiguous_array(rng):
    x = rng.standard_normal((3, 4)).T             # reshape(-1) must copy
    with pytest.raises(ValueError, match="contiguous"):
        gradcheck.numerical_gradient(lambda: np.sum(x), x)


def test_rel_error_is_cs231n_relative_error():
    assert gradcheck.rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == 0.5
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(np.array([1e-9]), np.array([-1e-9]), floor=1e-3) == pytest.approx(
        2e-6)


# -- check_layer mechanics ----------------------------------------------------------------------

class DtypeRecorder(Layer):
    """Identity that records the dtype of every input it sees (a class list survives deepcopy)."""

    seen: list = []

    def forward(self, x):
        DtypeRecorder.seen.append(x.dtype)
        self._cache = True
        return 2 * x

    def backward(self, dout):
        self._saved()
        return 2 * dout


def test_check_layer_runs_in_float64_on_a_copy_of_a_float32_layer(rng):
    """Bug 15: a float32 check reports ~1e-3 errors; this one reaches float64 accuracy."""
    layer = Sequential(Linear(4, 3, rng=rng), DtypeRecorder(), Tanh())
    weight_before = layer[0].weight.data.copy()
    DtypeRecorder.seen = []
    report = gradcheck.check_layer(layer, rng.standard_normal((2, 4)).astype(np.float32))
    assert report.ok, report.table()
    assert set(DtypeRecorder.seen) == {np.dtype(np.float64)}
    assert layer[0].weight.data.dtype == np.float32                   # the original is untouched
    np.testing.assert_array_equal(layer[0].weight.data, weight_before)
    assert all(p.grad is None for p in layer.parameters())


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (6, 3)), (BatchNorm2d, (2, 3, 2, 2))])
def test_check_layer_changes_neither_running_statistics_nor_mode_of_the_layer(cls, shape,
                                                                              training, rng):
    layer = cls(shape[1]).train(training)
    layer.running_mean = rng.standard_normal(shape[1]).astype(np.float32)
    before = (layer.running_mean.copy(), layer.running_var.copy())
    report = gradcheck.check_layer(layer, rng.standard_normal(shape))
    assert report.ok, report.table()
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])
    assert layer.running_mean.dtype == np.float32 and layer.training is training


class CountingBuffer(Layer):
    """y = x * count, where every train-mode forward increments the buffer `count` (as batch norm
    updates its running statistics): numerical differences are only right if it is frozen."""

    buffers = ("count",)

    def __init__(self):
        super().__init__()
        self.count = np.ones(1)

    def forward(self, x):
        self.count = self.count + 1
        self._cache = self.count.copy()
        return x * self.count

    def backward(self, dout):
        return dout * self._saved()


def test_check_layer_freezes_buffers_between_evaluations(rng):
    report = gradcheck.check_layer(CountingBuffer(), rng.standard_normal((3, 2)))
    assert report.ok, report.table()


def test_check_layer_freezes_the_dropout_generator_and_leaves_the_original_unadvanced(rng):
    layer = Dropout(0.5, rng=np.random.default_rng(5))
    state = layer.rng.bit_generator.state
    report = gradcheck.check_layer(layer, rng.standard_normal((6, 5)))
    assert report.ok, report.table()
    assert layer.rng.bit_generator.state == state


def test_report_table_names_every_parameter_and_flags_failures(monkeypatch, rng):
    model = Sequential(Linear(3, 4, rng=rng), BatchNorm1d(4), Linear(4, 2, rng=rng))
    report = gradcheck.check_layer(model, rng.standard_normal((5, 3)))
    table = report.table()
    for name in ["input", "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]:
        assert name in table
    assert "FAIL" not in table and report.ok

    original = F.batchnorm_backward
    monkeypatch.setattr(F, "batchnorm_backward",
                        lambda dout, cache: tuple(-g for g in original(dout, cache)))
    broken = gradcheck.check_layer(model, rng.standard_normal((5, 3)))
    assert broken.ok is False and "FAIL" in broken.table()


def test_check_layer_samples_at_most_max_checks_coordinates(rng):
    report = gradcheck.check_layer(Linear(20, 10, rng=rng), rng.standard_normal((3, 20)),
                                   max_checks=7)
    assert [row.checked for row in report.rows] == [7, 7, 7]
    assert report.ok, report.table()


# -- whole models -------------------------------------------------------------------------------

def mlp(rng, last_activation=ReLU):
    model = Sequential(Linear(5, 8, rng=rng), BatchNorm1d(8), last_activation(),
                       Dropout(0.3, rng=np.random.default_rng(11)), Linear(8, 3, rng=rng))
    randomise(model, rng)
    return model


@pytest.mark.parametrize("activation", [ReLU, Sigmoid, Tanh])
@pytest.mark.parametrize("n", [4, 9])
def test_check_model_passes_for_an_mlp_with_batchnorm_and_dropout(n, activation, rng):
    model = mlp(rng, activation)
    x, y = rng.standard_normal((n, 5)), rng.integers(0, 3, n)
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y, max_checks=None)
    assert len(report.rows) == 1 + len(model.parameters())
    assert report.ok, report.table()


def test_check_model_passes_when_two_dropout_layers_share_one_generator(rng):
    """The second layer's mask depends on the draws of the first: both must be replayed in
    order, from the one shared generator, on every evaluation."""
    shared = np.random.default_rng(3)
    model = Sequential(Linear(4, 6, rng=rng), Dropout(0.5, rng=shared), Tanh(),
                       Linear(6, 6, rng=rng), Dropout(0.5, rng=shared), Linear(6, 2, rng=rng))
    randomise(model, rng)
    report = gradcheck.check_model(model, MSE(), rng.standard_normal((5, 4)),
                                   rng.standard_normal((5, 2)), max_checks=None)
    assert report.ok, report.table()


def test_check_model_passes_for_a_small_convnet_shaped_stack_with_mse(rng):
    model = Sequential(BatchNorm2d(2), Tanh(), Flatten(), Linear(2 * 3 * 3, 2, rng=rng))
    randomise(model, rng)
    x, y = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((3, 2))
    report = gradcheck.check_model(model, MSE(), x, y, max_checks=10)
    assert report.ok, report.table()


def test_check_model_leaves_the_model_unchanged(rng):
    model = mlp(rng)
    model.eval()
    state = {k: v.copy() for k, v in model.state_dict().items()}
    rng_state = model[3].rng.bit_generator.state
    gradcheck.check_model(model, SoftmaxCrossEntropy(), rng.standard_normal((4, 5)),
                          rng.integers(0, 3, 4))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
        assert value.dtype == np.float32
    assert model[3].rng.bit_generator.state == rng_state
    assert model.training is False and all(p.grad is None for p in model.parameters())


# -- one parameter used twice, with a skip connection (bug 17) ----------------------------------

class TiedResidual(Layer):
    """y = W tanh(W x + b) + b + x: one weight and one bias used twice, and a skip connection.
    Both uses add to the gradient, and dx sums the branch and the skip."""

    def __init__(self, d, rng, sum_shared=True):
        super().__init__()
        self.weight = Parameter(rng.standard_normal((d, d)), "weight")
        self.bias = Parameter(rng.standard_normal(d), "bias")
        self.sum_shared = sum_shared

    def forward(self, x):
        h, first = F.linear_forward(x, self.weight.data, self.bias.data)
        a, tanh_cache = F.tanh_forward(h)
        z, second = F.linear_forward(a, self.weight.data, self.bias.data)
        self._cache = (first, tanh_cache, second)
        return z + x

    def backward(self, dout):
        first, tanh_cache, second = self._saved()
        da, dweight2, dbias2 = F.linear_backward(dout, second)
        dx, dweight1, dbias1 = F.linear_backward(F.tanh_backward(da, tanh_cache), first)
        self.weight.accumulate(dweight2)
        self.bias.accumulate(dbias2)
        if self.sum_shared:                    # the bug: only the last use's gradient kept
            self.weight.accumulate(dweight1)
            self.bias.accumulate(dbias1)
        return dx + dout


def test_a_parameter_used_twice_with_a_skip_connection_passes_gradcheck(rng):
    model = Sequential(Linear(3, 4, rng=rng), TiedResidual(4, rng), Linear(4, 2, rng=rng))
    report = gradcheck.check_model(model, MSE(), rng.standard_normal((5, 3)),
                                   rng.standard_normal((5, 2)), max_checks=None)
    assert report.ok, report.table()


def test_gradcheck_fails_when_a_shared_parameter_keeps_only_one_gradient(rng):
    layer = TiedResidual(4, rng, sum_shared=False)
    report = gradcheck.check_layer(layer, rng.standard_normal((5, 4)))
    assert report.ok is False
    assert report.max_rel_error > FAILS_BY
    assert {r.name for r in report.rows if r.max_rel_error > TOL} == {"weight", "bias"}


# -- the classic broken layers (BACKPROP-BUGS.md) -----------------------------------------------

def classifier_case(rng, n=6, c=4):
    scores = 2 * rng.standard_normal((n, c))
    return scores, rng.integers(0, c, n)


def test_gradcheck_rejects_the_softmax_derivative_multiplied_into_cross_entropy(monkeypatch,
                                                                              rng):
    """Bug 1: (softmax - onehot) / N times s (1 - s), the Jacobian's diagonal."""
    original = F.softmax_cross_entropy_backward

    def broken(cache):
        s = np.exp(cache[0])
        return original(cache) * s * (1 - s)

    monkeypatch.setattr(F, "softmax_cross_entropy_backward", broken)
    report = gradcheck.check_loss(SoftmaxCrossEntropy(), *classifier_case(rng))
    assert report.ok is False and report.max_rel_error > FAILS_BY
    model = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 4, rng=rng))
    x, (_, y) = rng.standard_normal((6, 3)), classifier_case(rng)
    model_report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y)
    assert model_report.ok is False and model_report.max_rel_error > FAILS_BY


class WrongMaskReLU(ReLU):
    """Bug 6: the ReLU mask taken from another tensor, here the input of the Linear before it
    (same shape, so nothing crashes)."""

    def __init__(self, previous: Linear):
        super().__init__()
        self.previous = previous

    def backward(self, dout):
        self._saved()
        x_of_previous = self.previous._saved()[0]
        return F.relu_backward(dout, x_of_previous > 0)


def test_gradcheck_rejects_a_relu_mask_taken_from_the_wrong_tensor(rng):
    first = Linear(4, 4, rng=rng)
    model = Sequential(first, WrongMaskReLU(first), Linear(4, 3, rng=rng))
    randomise(model, rng)
    _, y = classifier_case(rng, 6, 3)
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), rng.standard_normal((6, 4)), y)
    assert report.ok is False and report.max_rel_error > FAILS_BY

    honest = Sequential(first, ReLU(), model[2])          # the same weights, a correct ReLU
    good = gradcheck.check_model(honest, SoftmaxCrossEntropy(), rng.standard_normal((6, 4)), y)
    assert good.ok, good.table()


@pytest.mark.parametrize("kernel, loss_fn, target", [
    ("softmax_cross_entropy_backward", SoftmaxCrossEntropy(), "labels"),
    ("mse_backward", MSE(), "values"),
])
def test_gradcheck_rejects_a_loss_gradient_missing_its_1_over_n(kernel, loss_fn, target,
                                                                monkeypatch, rng):
    """Bug 3: the loss is a mean but the gradient is a sum."""
    original = getattr(F, kernel)

    def broken(cache):
        dscores = original(cache)
        return dscores * (dscores.size if kernel == "mse_backward" else dscores.shape[0])

    monkeypatch.setattr(F, kernel, broken)
    scores, labels = classifier_case(rng)
    report = gradcheck.check_loss(loss_fn, scores,
                                  labels if target == "labels" else rng.standard_normal((6, 4)))
    assert report.ok is False and report.max_rel_error > FAILS_BY


@pytest.mark.parametrize("kernel", ["linear_backward", "mse_backward"])
def test_gradcheck_rejects_a_gradient_with_the_wrong_sign(kernel, monkeypatch, rng):
    """Bug 2: a - y where y - a was meant; the relative error is then exactly 1."""
    original = getattr(F, kernel)
    if kernel == "linear_backward":
        monkeypatch.setattr(F, kernel, lambda *args: tuple(-g for g in original(*args)))
    else:
        monkeypatch.setattr(F, kernel, lambda cache: -original(cache))
    model = Sequential(Linear(3, 2, rng=rng))
    randomise(model, rng)
    report = gradcheck.check_model(model, MSE(), rng.standard_normal((4, 3)),
                                   rng.standard_normal((4, 2)))
    assert report.ok is False
    assert report.max_rel_error == pytest.approx(1.0)


# -- kinks --------------------------------------------------------------------------------------

def test_a_coordinate_whose_evaluations_straddle_a_relu_kink_is_skipped_and_counted():
    """ReLU input 3e-6 from zero: x +- eps (1e-5) crosses the kink, where a centred difference
    is the mean of the two one-sided slopes (here 0.65 of the true one), not a derivative."""
    model = Sequential(Linear(1, 2), ReLU())
    model[0].weight.data = np.array([[1.0, 1.0]])
    model[0].bias.data = np.array([-1.0 + 3e-6, 0.5])        # pre-activations 3e-6 and 1.5
    x, dout = np.array([[1.0]]), np.array([[1.0, 1.0]])
    report = gradcheck.check_layer(model, x, dout)
    assert report.ok, report.table()
    assert [(r.name, r.checked, r.kinks) for r in report.rows] == [
        ("input", 0, 1), ("0.weight", 1, 1), ("0.bias", 1, 1)]
    assert "1 more at kinks, skipped" in report.table()

    bias = model[0].bias.data                               # without the fingerprint:
    numeric = gradcheck.numerical_gradient(lambda: model.forward(x) * dout, bias)
    assert numeric[0] == pytest.approx(0.65, rel=1e-6)       # a wrong "gradient"
