"""The doctor's checks one by one: how a wrong gradient is explained, the batch-iterator pair
check and its limits, inputs and labels, structure, learning rate, and robustness to a user's
layer that crashes."""

from __future__ import annotations

import numpy as np
import pytest
from doctor_cases import CLASSES, SIZE, healthy, images, misaligned_batches, mlp

import scratchnn as snn
from scratchnn.data import batches as plain_batches
from scratchnn.doctor.data_checks import check_inputs, check_labels
from scratchnn.doctor.gradients import explain
from scratchnn.doctor.pairs import check_batches
from scratchnn.errors import ShapeError
from scratchnn.functional import softmax
from scratchnn.layers import Flatten, Linear, ReLU, Sigmoid


def titles(report, severity=None):
    return [f.title for f in report.findings if severity in (None, f.severity)]


# -- explaining a wrong gradient ----------------------------------------------------------------

@pytest.mark.parametrize("factor, words", [
    (-1.0, "exactly minus the true gradient: a sign error"),
    (8.0, "exactly N = 8 (the batch size) times the true gradient: the 1/N"),
    (-8.0, "the sign is flipped and the 1/N of the batch mean is missing"),
    (1 / 8, "exactly 1/N = 1/8 of the true gradient"),
    (2.5, "2.5 times the true gradient"),
])
def test_explain_names_a_constant_factor(factor, words, rng):
    true = rng.standard_normal((8, 5))
    assert words in explain(factor * true, true, n=8)


def test_explain_recognises_the_softmax_derivative_with_sign_and_missing_1_over_n(rng):
    scores, onehot = rng.standard_normal((8, 4)), np.eye(4)[rng.integers(0, 4, 8)]
    probs = softmax(scores)
    true = (probs - onehot) / 8
    how = explain((onehot - probs) * probs * (1 - probs), true, 8, probs)
    assert "multiplied by s(1 - s)" in how and "sign flipped and without the 1/N" in how
    assert explain(true * probs * (1 - probs), true, 8, probs).endswith("softmax Jacobian)")


def test_explain_reports_zeros_and_formula_errors(rng):
    true = rng.standard_normal(10)
    assert "returns zeros" in explain(np.zeros(10), true, 4)
    assert "correlation" in explain(rng.standard_normal(10), true, 4)


# -- X/y alignment after the batch iterator -----------------------------------------------------

def pairs(x, y, iterator, batch_size=16):
    return check_batches(iterator, x, y, batch_size, np.random.default_rng(0), "it")


def test_the_library_batch_iterator_keeps_every_pair_and_sample():
    x, y = images(100)
    findings, summary = pairs(x, y, plain_batches)
    assert findings == [] and "100 (x, y) pairs" in summary


def test_an_iterator_that_shuffles_only_y_is_critical_and_counts_the_broken_pairs():
    x, y = images(100)
    (finding,), _ = pairs(x, y, misaligned_batches)
    assert finding.severity == "critical" and "of 100 (x, y) pairs" in finding.measured


def test_sampling_with_replacement_is_a_warning():
    def with_replacement(x, y, batch_size, *, shuffle=True, rng=None):
        for _ in range(len(x) // batch_size):
            idx = rng.integers(0, len(x), batch_size)
            yield x[idx], y[idx]

    x, y = images(100)
    (finding,), _ = pairs(x, y, with_replacement)
    assert finding.severity == "warning" and "were left out" in finding.measured


def test_drop_last_duplicates_and_one_hot_labels_are_no_false_alarm():
    x, y = images(100)
    x[1] = x[0]                                   # two identical inputs, maybe other labels
    onehot = np.eye(CLASSES)[y]

    def drop_last(x, y, batch_size, *, shuffle=True, rng=None):
        return plain_batches(x, y, batch_size, shuffle=shuffle, rng=rng, drop_last=True)

    assert pairs(x, onehot, drop_last)[0] == []


def test_an_iterator_that_transforms_x_cannot_be_checked_and_says_so():
    def scaling(x, y, batch_size, *, shuffle=True, rng=None):
        for xb, yb in plain_batches(x, y, batch_size, shuffle=shuffle, rng=rng):
            yield xb / 255.0, yb

    (finding,), _ = pairs(*images(100), scaling)
    assert finding.severity == "info" and "could not check" in finding.title


# -- inputs and labels --------------------------------------------------------------------------

def test_float_pixels_in_0_255_are_critical_and_tiny_inputs_a_warning():
    x = images()[0].astype(np.float32)
    (finding,), _ = check_inputs(x, x, np.float32)
    assert finding.severity == "critical" and "large" in finding.title
    (finding,), _ = check_inputs(x / 255 / 255, x / 255 / 255, np.float32)
    assert finding.severity == "warning" and "tiny" in finding.title


def test_nan_inputs_and_features_of_very_different_scales_are_found(rng):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    x[3, 1] = np.nan
    (finding,), _ = check_inputs(x, x, np.float32)
    assert finding.severity == "critical" and "NaN" in finding.title
    x = rng.standard_normal((50, 4)) * np.array([1, 1, 1, 1000])
    assert any("differ in scale" in f.title for f in check_inputs(x, x, np.float32)[0])
    assert any(f.severity == "info" and "float64" in f.title
               for f in check_inputs(x, x, np.float32)[0])


def test_labels_shaped_n_by_1_are_critical_and_the_examination_goes_on():
    case = healthy()
    case["y"] = case["y"][:, None]
    report = snn.doctor(**case)
    assert report.top.check == "labels" and "(400, 1)" in report.top.title
    assert any(line.startswith("gradient check") for line in report.passed)


def test_one_based_labels_are_named_and_stop_the_examination():
    case = healthy()
    case["y"] = case["y"] + 1
    report = snn.doctor(**case)
    assert report.top.check == "labels" and "subtract 1" in report.top.measured
    assert not any(line.startswith("gradient check") for line in report.passed)


def test_very_unbalanced_classes_are_a_warning():
    y = np.array([0] * 500 + [1] * 20 + [2] * 20 + [3] * 20)
    findings, _, usable = check_labels(y, CLASSES)
    assert usable and findings[0].severity == "warning" and "89%" in findings[0].measured


def test_lengths_that_differ_are_a_usage_error():
    case = healthy()
    with pytest.raises(ShapeError, match="differ in length"):
        snn.doctor(case["model"], case["loss_fn"], case["x"], case["y"][:-1])


# -- structure ----------------------------------------------------------------------------------

def test_a_sigmoid_before_the_fused_loss_is_critical():
    report = snn.doctor(**{**healthy(), "model": mlp(last=Sigmoid())})
    assert report.top.check == "structure" and "(Sigmoid) sits right before" in report.top.title


def test_constant_nonzero_initialisation_is_symmetric_but_a_zero_output_layer_is_fine():
    model = mlp()
    model[1].weight.data[...] = 0.01
    report = snn.doctor(**{**healthy(), "model": model})
    assert "identical" in report.top.title and "all 0.01" in report.top.measured
    model = mlp()
    model[5].weight.data[...] = 0                 # a common, harmless choice for the last layer
    report = snn.doctor(**{**healthy(), "model": model})
    assert report.clean, report.text()
    assert "the output layer starts at zero" in report.top.title


class Blocks(snn.Layer):
    """Layers kept in a list: invisible to parameters(), eval() and state_dict()."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.flatten = Flatten()
        self.blocks = [Linear(SIZE * SIZE, 16, rng=rng), ReLU(), Linear(16, CLASSES, rng=rng)]
        self.head_bias = snn.Parameter(np.zeros(CLASSES, np.float32))

    def forward(self, x):
        x = self.flatten.forward(x)
        for block in self.blocks:
            x = block.forward(x)
        return x + self.head_bias.data

    def backward(self, dout):
        self.head_bias.accumulate(dout.sum(axis=0))
        for block in reversed(self.blocks):
            dout = block.backward(dout)
        return self.flatten.backward(dout)


def test_layers_kept_in_a_list_are_critical():
    report = snn.doctor(**{**healthy(), "model": Blocks()})
    assert report.top.check == "structure" and "Blocks.blocks holds Linears in a list" in \
        report.top.title


class PlainWeights(snn.Layer):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.W = (rng.standard_normal((SIZE * SIZE, CLASSES)) * 0.1).astype(np.float32)
        self.bias = snn.Parameter(np.zeros(CLASSES, np.float32))

    def forward(self, x):
        self._cache = x.reshape(len(x), -1)
        return self._cache @ self.W + self.bias.data

    def backward(self, dout):
        self.bias.accumulate(dout.sum(axis=0))
        return (dout @ self.W.T).reshape(len(dout), 1, SIZE, SIZE)


def test_a_weight_kept_as_a_plain_array_is_a_warning():
    report = snn.doctor(**{**healthy(), "model": PlainWeights()})
    assert "PlainWeights.W is a plain array, not a Parameter" in titles(report, "warning")


class BatchStatsInEval(snn.layers.BatchNorm1d):
    """Batch norm that normalises with the batch's statistics in eval mode too (bug 12)."""

    def forward(self, x):
        training, self.training = self.training, True
        try:
            return super().forward(x)
        finally:
            self.training = training


def test_batch_statistics_at_evaluation_are_critical():
    rng = np.random.default_rng(0)
    model = snn.Sequential(Flatten(), Linear(SIZE * SIZE, 16, rng=rng), BatchStatsInEval(16),
                           ReLU(), Linear(16, CLASSES, rng=rng))
    report = snn.doctor(**{**healthy(), "model": model})
    assert report.top.title == ("layer 2 (BatchStatsInEval) depends on the rest of the batch in "
                                "eval mode")


class UnscaledDropout(snn.Layer):
    """Dropout without the 1/(1 - p) in training (bug 11)."""

    def forward(self, x):
        if not self.training:
            return x
        self._cache = (np.random.default_rng(0).random(x.shape) >= 0.5).astype(x.dtype)
        return x * self._cache

    def backward(self, dout):
        return dout * self._saved()


def test_dropout_that_changes_the_scale_between_train_and_eval_is_a_warning():
    model = mlp()
    model = snn.Sequential(*list(model)[:3], UnscaledDropout(), *list(model)[3:])
    report = snn.doctor(**{**healthy(), "model": model})
    assert any("(UnscaledDropout) changes the scale" in t for t in titles(report, "warning"))


# -- gradients, learning rate, robustness -------------------------------------------------------

def test_relu_inputs_exactly_at_zero_are_no_false_gradient_alarm():
    """An all-zero layer feeds a ReLU exact zeros, its kink: the check must not blame ReLU."""
    model = mlp()
    model[3].weight.data[...] = 0
    report = snn.doctor(**{**healthy(), "model": model})
    assert not [f for f in report.findings if f.check == "gradients"], report.text()


def test_a_learning_rate_far_too_low_is_a_warning():
    report = snn.doctor(**{**healthy(), "lr": 1e-5})
    (finding,) = [f for f in report.findings if f.check == "learning-rate"]
    assert finding.severity == "warning" and "too low" in finding.title


class Crashes(snn.Layer):
    def forward(self, x):
        raise RuntimeError("my layer is broken")


def test_a_layer_that_raises_is_a_finding_not_a_crash():
    report = snn.doctor(**{**healthy(), "model": snn.Sequential(*mlp(), Crashes())})
    assert report.top.severity == "critical" and "my layer is broken" in report.top.measured


def test_an_expensive_model_gets_fewer_training_steps_and_the_report_says_so(monkeypatch):
    from scratchnn.doctor import examine

    monkeypatch.setattr(examine, "BUDGET", 1e6)      # every model is expensive now
    report = snn.doctor(**healthy())
    assert any(line.startswith("an expensive model: the training checks ran 10%")
               for line in report.passed), report.text()
    assert report.lr_curve.lrs == [1e-3, 1e-2, 1e-1, 1.0, 10.0]   # 10x, within 100x of 0.1
    assert report.lr_curve.steps == 6
    assert report.clean, report.text()
