"""Each classic bug planted in an otherwise healthy model must be the doctor's top finding; the
healthy models must get a clean report (nothing worse than a note); nothing passed in changes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from doctor_cases import (
    CLASSES,
    LR,
    SIZE,
    TwoLayerNet,
    healthy,
    images,
    planted,
    standardise,
    with_hand_batchnorm,
)

import scratchnn as snn
from scratchnn.losses import MSE

# (bug, the check that must rank first, words in its title, words in what it measured)
PLANTED = [
    ("softmax derivative in the loss gradient", "gradients", "the loss's backward",
     "multiplied by s(1 - s)"),
    ("update adds the gradient", "optimizer", "goes uphill", "-1.00"),
    ("raw uint8 inputs", "inputs", "raw uint8", "x.dtype = uint8"),
    ("all-zero initialisation", "structure", "identical (symmetric initialisation)",
     "'weight' all 0"),
    ("learning rate 100x too high", "learning-rate", "the learning rate 10 is too high",
     "diverged"),
    ("batch iterator misaligns x and y", "batches", "breaks the (x, y) pairs",
     "do not occur in the data"),
    ("labels permuted against the inputs", "generalisation", "no better than chance",
     "held-out"),
    ("ReLU before the fused loss", "structure", "layer 6 (ReLU) sits right before", "[0,"),
    ("loss gradient without 1/N", "gradients", "the loss's backward (SummedLoss)",
     "the 1/N of the batch mean is missing"),
    ("batch norm backward without 1/N", "gradients", "layer 2 (HandBatchNorm)",
     "exactly N = 4 (the batch size) times"),
    ("own model's bias gradient averaged", "gradients", "TwoLayerNet: backward disagrees",
     "1/N = 1/4"),
    ("dropout random in eval mode", "structure", "layer 3 (EvalRandomDropout) is still random",
     "differ"),
]


@pytest.mark.parametrize("bug, check, title, measured", PLANTED, ids=[p[0] for p in PLANTED])
def test_the_planted_bug_is_the_top_finding(bug, check, title, measured):
    report = snn.doctor(**planted(bug))
    top = report.top
    assert top is not None and not report.clean, report.text()
    assert (top.severity, top.check) == ("critical", check), report.text()
    assert title in top.title and measured in top.measured, report.text()
    assert top.why and top.fix


def test_the_learning_rate_finding_names_a_rate_that_works():
    report = snn.doctor(**planted("learning rate 100x too high"))
    assert f"at lr={LR:g} the loss went" in report.top.measured
    assert "Use lr=" in report.top.fix


def test_the_broken_gradient_is_found_on_the_first_failing_layer_only():
    """Two broken layers: the report names the first, and lists the second as also failing."""
    from doctor_cases import HandBatchNorm

    rng = np.random.default_rng(0)
    model = snn.Sequential(snn.layers.Flatten(), snn.layers.Linear(SIZE * SIZE, 16, rng=rng),
                           HandBatchNorm(16, drop_one_over_n=True), snn.layers.ReLU(),
                           snn.layers.Linear(16, 16, rng=rng),
                           HandBatchNorm(16, drop_one_over_n=True), snn.layers.ReLU(),
                           snn.layers.Linear(16, CLASSES, rng=rng))
    report = snn.doctor(**{**healthy(), "model": model})
    gradient = [f for f in report.findings if f.check == "gradients"]
    assert len(gradient) == 1 and "layer 2 (HandBatchNorm)" in gradient[0].title
    assert "also fail: layer 5 (HandBatchNorm)" in gradient[0].measured


# -- healthy models: no false alarm -------------------------------------------------------------

def _preset_mlp():
    return snn.models.mlp(SIZE * SIZE, CLASSES, hidden_sizes=(32, 16),
                          rng=np.random.default_rng(0))


HEALTHY = {
    "SGD": lambda: healthy(),
    "Adam by name": lambda: {**healthy(), "lr": 1e-3, "optimizer": "adam"},
    "preset mlp with batch norm and dropout, Adam": lambda: {
        **healthy(), "model": _preset_mlp(), "lr": 1e-3, "optimizer": "adam"},
    "own TwoLayerNet": lambda: {**healthy(), "model": TwoLayerNet()},
    "own batch norm layer": lambda: {**healthy(), "model": with_hand_batchnorm(drop=False)},
    "one-hot labels": lambda: {**healthy(), "y": np.eye(CLASSES)[healthy()["y"]]},
}


@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_model_gets_a_clean_report(name):
    report = snn.doctor(**HEALTHY[name]())
    assert report.clean, report.text()
    assert all(f.severity == "info" for f in report.findings)
    assert any(line.startswith("gradient check: all") for line in report.passed)
    assert any(line.startswith("fits one batch") for line in report.passed)
    assert any(line.startswith("learns something that generalises") for line in report.passed)
    assert report.lr_curve is not None and report.lr_curve.suggested is not None


def test_an_optimizer_instance_is_examined_at_its_own_learning_rate():
    case = healthy()
    del case["lr"]
    case["optimizer"] = snn.optim.SGD(case["model"].parameters(), lr=0.05, momentum=0.9)
    report = snn.doctor(**case)
    assert report.clean, report.text()
    assert "SGD lr=0.05" in report.subject


def test_regression_with_mse_runs_without_classification_checks():
    x = standardise(images()[0]).reshape(-1, SIZE * SIZE)
    rng = np.random.default_rng(0)
    target = (x @ rng.standard_normal((SIZE * SIZE, 2)) / SIZE).astype(np.float32)
    model = snn.Sequential(snn.layers.Linear(SIZE * SIZE, 16, rng=rng), snn.layers.Tanh(),
                           snn.layers.Linear(16, 2, rng=rng))
    report = snn.doctor(model, MSE(), x, target, lr=0.05)
    assert not [f for f in report.findings if f.severity == "critical"], report.text()
    assert any("targets: float32" in line for line in report.passed)


# -- the patient is left as it came -------------------------------------------------------------

def test_the_doctor_changes_nothing_it_is_given():
    case = {**healthy(), "model": _preset_mlp()}
    case["optimizer"] = snn.optim.Adam(case["model"].parameters(), lr=1e-3)
    model, optimizer, loss_fn = case["model"], case["optimizer"], case["loss_fn"]
    dropout_rng = model[4].rng.bit_generator.state
    state = copy.deepcopy(model.state_dict())
    x, y = case["x"].copy(), case["y"].copy()
    model.eval()
    snn.doctor(**case)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    assert model.training is False and all(p.grad is None for p in model.parameters())
    assert model[4].rng.bit_generator.state == dropout_rng
    assert optimizer.state == [{} for _ in optimizer.params] and optimizer.lr == 1e-3
    assert optimizer.params[0] is model.parameters()[0]
    assert loss_fn._cache is None
    np.testing.assert_array_equal(case["x"], x)
    np.testing.assert_array_equal(case["y"], y)
