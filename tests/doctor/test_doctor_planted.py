"""Each classic bug planted in an otherwise healthy model must be the doctor's top finding; the
healthy models must get a clean report (nothing worse than a note); nothing passed in changes."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
from doctor_cases import (
    CLASSES,
    LR,
    SIZE,
    TwoLayerNet,
    apply_remedy,
    conv_net,
    doctor_args,
    healthy,
    images,
    planted,
    schedule_case,
    standardise,
    with_hand_batchnorm,
    with_held_out,
)

import scratchnn as snn
from scratchnn.losses import MSE, SoftmaxCrossEntropy

# (bug, the check that must rank first, words in its title, words in what it measured, the
# remedy's action). Dense and conv; built-in and hand-written layers; data, optimizer, schedule.
PLANTED = [
    ("softmax derivative in the loss gradient", "gradients", "the loss's backward",
     "multiplied by s(1 - s)", "fix_code"),
    ("update adds the gradient", "optimizer", "goes uphill", "-1.00", "fix_code"),
    ("raw uint8 inputs", "inputs", "raw uint8", "x.dtype = uint8", "scale_inputs"),
    ("all-zero initialisation", "structure", "identical (symmetric initialisation)",
     "'weight' all 0", "reinit"),
    ("learning rate 100x too high", "learning-rate", "the learning rate 10 is too high",
     "diverged", "set_lr"),
    ("batch iterator misaligns x and y", "batches", "breaks the (x, y) pairs",
     "do not occur in the data", "fix_code"),
    ("labels permuted against the inputs", "generalisation", "no better than chance",
     "kept out of these steps", "realign_labels"),
    ("ReLU before the fused loss", "structure", "layer 6 (ReLU) sits right before", "[0,",
     "remove_layer"),
    ("loss gradient without 1/N", "gradients", "the loss's backward (SummedLoss)",
     "the 1/N of the batch mean is missing", "fix_code"),
    ("batch norm backward without 1/N", "gradients", "layer 2 (HandBatchNorm)",
     "exactly N = 4 (the batch size) times", "fix_code"),
    ("own model's bias gradient averaged", "gradients", "TwoLayerNet: backward disagrees",
     "1/N = 1/4", "fix_code"),
    ("dropout random in eval mode", "structure", "layer 3 (EvalRandomDropout) is still random",
     "differ", "fix_code"),
    ("hidden biases very negative", "statistics", "layer 2 (ReLU): 100% of its units never fire",
     "output 0 for every one", "zero_bias"),
    ("deep sigmoid stack", "statistics", "gradients vanish across depth", "in the first layer",
     "relu_he"),
    ("saturated tanh", "statistics", "layer 2 (Tanh)", "within 2% of a bound", "reinit"),
    ("dropout left in eval mode", "structure", "layer 3 (Dropout) is in eval mode",
     "in eval mode as given", "train_mode"),
    ("batch norm left in eval mode", "structure", "layer 2 (BatchNorm1d) is in eval mode",
     "in eval mode as given", "train_mode"),
    ("keep probability passed as dropout p", "structure", "(Dropout) drops",
     "(p = 0.9)", "set"),
    ("drop probability passed as keep_prob", "structure", "(KeepDropout) drops",
     "(keep_prob = 0.1)", "set"),
    ("cosine schedule over 5 of 50 epochs", "schedule", "reaches zero at epoch 5 of 50",
     "50 epochs are planned", "schedule_span"),
    ("step decay far too steep", "schedule", "reaches zero at epoch", "30 epochs",
     "schedule_span"),
    ("weight decay 1", "optimizer", "weight decay 1 shrinks the weights to nothing",
     "keep 0% of their norm", "weight_decay"),
    ("held-out samples shared with training", "held-out",
     "30 held-out samples are also training samples", "30 of 200", "drop_shared_held_out"),
    ("conv padding 1 with a 5x5 kernel", "structure", "padding (1, 1) with a 5x5 kernel",
     "output 6x6 from input 8x8", "set"),
    ("conv all-zero initialisation", "structure", "layer 0 (Conv2d): its units are identical",
     "'weight' all 0", "reinit"),
    ("hand-written conv: transposed kernel in backward", "gradients", "layer 0 (HandConv)",
     "the kernel is transposed in the backward", "fix_code"),
    ("hand-written conv: col2im overwrites", "gradients", "layer 0 (HandConv)",
     "col2im overwrites instead of adding", "fix_code"),
]
BUGS = [p[0] for p in PLANTED]


@functools.cache
def examined(bug: str) -> tuple[dict, snn.doctor.Report]:
    """The planted case and its report, once per bug for the tests of this module."""
    case = planted(bug)
    return case, snn.doctor(**doctor_args(case))


@pytest.mark.parametrize("bug, check, title, measured, action", PLANTED, ids=BUGS)
def test_the_planted_bug_is_the_top_finding(bug, check, title, measured, action):
    report = examined(bug)[1]
    top = report.top
    assert top is not None and not report.clean, report.text()
    assert top.severity in ("critical", "warning") and top.check == check, report.text()
    assert title in top.title and measured in top.measured, report.text()
    assert top.why and top.fix and top.follows is None
    assert top.remedy is not None and top.remedy["action"] == action, top.remedy


@pytest.mark.parametrize("bug", BUGS)
def test_the_prescribed_fix_cures_the_finding(bug):
    """Apply the top finding's remedy as it says, examine again: that finding is gone."""
    case, report = examined(bug)
    cured = snn.doctor(**doctor_args(apply_remedy(case, report.top.remedy)))
    again = [f for f in cured.problems if (f.check, f.layer, f.title) == (
        report.top.check, report.top.layer, report.top.title)
        or (f.remedy or {}).get("action") == report.top.remedy["action"] == "fix_code"
        and f.remedy == report.top.remedy]
    assert not again, cured.text()


def test_the_corpus_covers_dense_conv_data_optimizer_and_schedule_bugs():
    checks = {p[1] for p in PLANTED}
    assert len(PLANTED) >= 24 and {"inputs", "held-out", "batches", "optimizer",
                                   "learning-rate", "schedule", "gradients", "structure"} <= checks
    assert sum("conv" in bug for bug in BUGS) >= 4


def test_causes_come_before_symptoms_in_the_issue_example():
    """Hidden biases very negative: the dead ReLUs of layer 2 are the cause; nothing is called
    symmetric; the layers after it are marked as following from it."""
    report = examined("hidden biases very negative")[1]
    assert report.top.title == "layer 2 (ReLU): 100% of its units never fire"
    assert report.top.severity == "critical"
    assert not any("symmetric" in f.title or "symmetric" in f.measured for f in report.findings)
    receiving = [f for f in report.findings if f.title.startswith("layer 3 (Linear)")]
    assert receiving and "from layer 2 (ReLU)" in receiving[0].title
    assert all(f.follows == 1 for f in report.problems[1:]), report.text()
    assert "Initialise the biases of layer 1 (Linear) at 0" in report.top.fix


def test_the_learning_rate_finding_names_a_rate_that_works():
    report = examined("learning rate 100x too high")[1]
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
    "small CNN, SGD": lambda: {**healthy(), "model": conv_net()},
    "preset cnn (conv, batch norm, dropout), Adam": lambda: {
        **healthy(), "model": _preset("cnn", hidden_sizes=(32,)), "lr": 1e-3, "optimizer": "adam"},
    "preset three-layer-convnet": lambda: {
        **healthy(), "model": _preset("three-layer-convnet", num_filters=8, filter_size=3,
                                      hidden_dim=32), "lr": 0.05},
    "preset simple-convnet": lambda: {
        **healthy(), "model": _preset("simple-convnet", filter_num=8, filter_size=3, padding=1,
                                      hidden_size=32), "lr": 0.05},
    "SGD with a cosine schedule, weight decay and held-out data": lambda: {
        **with_held_out(), **schedule_case("cosine", 20), "weight_decay": 5e-4},
    "digits, preset mlp, Adam": lambda: _digits(),
}


def _preset(name: str, **options) -> snn.Sequential:
    return snn.models.build(name, (1, SIZE, SIZE), CLASSES, rng=np.random.default_rng(0),
                            **options)


def _digits() -> dict:
    """scikit-learn's digits (8x8 images, 10 classes), 600 samples, 300 held out."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = ((bunch.images / 16.0 - 0.3) / 0.45).astype(np.float32)[:, None]
    y = bunch.target
    model = snn.models.build("mlp", (1, 8, 8), 10, rng=np.random.default_rng(0),
                             hidden_sizes=(64,))
    return dict(model=model, loss_fn=SoftmaxCrossEntropy(), x=x[:600], y=y[:600],
                held_out=(x[600:900], y[600:900]), lr=1e-3, optimizer="adam")


@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_model_gets_a_clean_report(name):
    report = snn.doctor(**doctor_args(HEALTHY[name]()))
    assert_healthy(report)


def assert_healthy(report) -> None:
    assert report.clean, report.text()
    assert all(f.severity == "info" for f in report.findings)
    assert any(line.startswith("gradient check: all") for line in report.passed)
    assert any(line.startswith("fits one batch") for line in report.passed)
    assert any(line.startswith("learns something that generalises") for line in report.passed)
    assert report.lr_curve is not None and report.lr_curve.suggested is not None


def test_a_small_cnn_on_fashion_mnist_gets_a_clean_report():
    """Real images: 400 Fashion-MNIST training samples, 200 test samples held out."""
    from scratchnn.data import registry

    try:
        data = registry.load("fashion-mnist", n_train=400, n_test=200)
    except Exception as error:  # noqa: BLE001 - not installed on this machine
        pytest.skip(f"Fashion-MNIST not available: {error}")
    mean, std = data.x_train.mean(), data.x_train.std()
    scale = lambda x: ((x.astype(np.float32) - mean) / std)  # noqa: E731
    model = snn.models.build("simple-convnet", data.x_train.shape[1:], 10,
                             rng=np.random.default_rng(0), filter_num=8, hidden_size=32)
    report = snn.doctor(model, SoftmaxCrossEntropy(), scale(data.x_train), data.y_train,
                        lr=1e-3, optimizer="adam",
                        held_out=(scale(data.x_test), data.y_test))
    assert_healthy(report)


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
