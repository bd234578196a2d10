"""Label smoothing: SoftmaxCrossEntropy(label_smoothing=e) is torch's
cross_entropy(label_smoothing=e) for int labels and probability rows (float64 numerical
gradients, torch parity in float32 and float64), `--label-smoothing` reaches the loss a run
trains, reports and evaluates with, and the classic slip (e / (C - 1) to the other classes
only) is caught."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import gradcheck, losses
from scratchnn.cli import _parser
from scratchnn.cli_train import _train_config
from scratchnn.errors import ConfigError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train.run import make_trainer
from test_losses import DTYPES, assert_close, int_labels, one_hot, probability_rows

KINDS = ["int", "one-hot", "probabilities"]


def target_of(kind, rng, n, c, dtype=np.float64):
    labels = int_labels(rng, n, c)
    return {"int": labels, "one-hot": one_hot(labels, c, dtype),
            "probabilities": probability_rows(rng, n, c, dtype)}[kind]


def torch_smoothed(torch, scores, target, smoothing):
    st = torch.tensor(scores, requires_grad=True)
    tt = torch.tensor(target) if target.ndim == 2 else torch.tensor(target, dtype=torch.long)
    loss = torch.nn.functional.cross_entropy(st, tt, label_smoothing=smoothing)
    loss.backward()
    return loss.item(), st.grad.numpy()


@pytest.mark.parametrize("kind", KINDS)
def test_smoothed_cross_entropy_gradient_matches_numerical_gradient(kind, rng):
    target = target_of(kind, rng, 6, 5)
    report = gradcheck.check_loss(SoftmaxCrossEntropy(0.1), 3 * rng.standard_normal((6, 5)),
                                  target)
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.1, 0.3])
@pytest.mark.parametrize("kind", KINDS)
def test_smoothed_cross_entropy_matches_torch(kind, smoothing, dtype, rng, torch):
    target = target_of(kind, rng, 8, 10, dtype)
    scores = (3 * rng.standard_normal((8, 10))).astype(dtype)
    loss_fn = SoftmaxCrossEntropy(label_smoothing=smoothing)
    loss_t, dscores_t = torch_smoothed(torch, scores, target, smoothing)
    assert_close(loss_fn(scores, target), loss_t, dtype)
    assert_close(loss_fn.backward(), dscores_t, dtype)


def test_smoothing_spread_over_the_other_classes_only_is_caught_by_torch(monkeypatch, rng,
                                                                         torch):
    def other_classes_only(labels, classes, smoothing, dtype):
        rows = np.full((len(labels), classes), smoothing / (classes - 1), dtype)
        rows[np.arange(len(labels)), labels] = 1.0 - smoothing
        return rows
    monkeypatch.setattr(losses, "smoothed", other_classes_only)
    labels, scores = int_labels(rng, 8, 10), 3 * rng.standard_normal((8, 10))
    loss_fn = SoftmaxCrossEntropy(0.1)
    loss = loss_fn(scores, labels)
    loss_t, dscores_t = torch_smoothed(torch, scores, labels, 0.1)
    assert abs(loss - loss_t) > 1e-4
    assert np.abs(loss_fn.backward() - dscores_t).max() > 1e-4


def test_the_callers_target_rows_are_not_changed(rng):
    target = probability_rows(rng, 4, 3)
    before = target.copy()
    SoftmaxCrossEntropy(0.2)(rng.standard_normal((4, 3)), target)
    np.testing.assert_array_equal(target, before)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5])
def test_a_smoothing_outside_0_to_1_is_refused(smoothing):
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        SoftmaxCrossEntropy(smoothing)
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        _train_config(_parser().parse_args(["train", "--label-smoothing", str(smoothing)]))


def test_the_flag_reaches_the_loss_the_run_trains_with():
    from scratchnn import models

    config = _train_config(_parser().parse_args(["train", "--label-smoothing", "0.1"]))
    model = models.mlp(4, 3, rng=np.random.default_rng(0))
    trainer = make_trainer(config, model)
    assert trainer.loss_fn.label_smoothing == 0.1
    assert make_trainer(_train_config(_parser().parse_args(["train"])),
                        model).loss_fn.label_smoothing == 0.0
