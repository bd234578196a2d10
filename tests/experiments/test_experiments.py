"""Every experiment on tiny settings (scikit-learn's digits): the files it writes are there, each
PNG decodes, each CSV has the expected columns and finite numbers; and the command line runs
them."""

from __future__ import annotations

import csv
import math

import matplotlib.image
import pytest

from scratchnn.cli import main
from scratchnn.experiments import EXPERIMENTS

OPTIMIZERS = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]
INIT_CURVES = [f"{a} {i}" for a in ("relu", "sigmoid") for i in ("std 0.01", "Xavier", "He")]

TINY = {
    "optimizers": {"iterations": 12, "batch_size": 32, "hidden_sizes": (16, 16),
                   "test_samples": 100},
    "init": {"iterations": 8, "batch_size": 32, "hidden_sizes": (16, 16, 16),
             "histogram_samples": 50, "test_samples": 100},
    "batchnorm": {"samples": 100, "epochs": 2, "batch_size": 50, "scales": 3,
                  "hidden_sizes": (16, 16), "test_samples": 100},
    "overfitting": {"samples": 60, "epochs": 3, "batch_size": 30, "hidden_sizes": (16, 16),
                    "test_samples": 100},
    "gradients": {"samples": 2, "hidden_size": 4, "repeats": 2},
}

# file -> (columns, the columns holding text; every other cell must be a finite number)
FILES = {
    "optimizers": {
        "loss.png": None,
        "loss_curves.csv": (["iteration", *OPTIMIZERS], []),
        "results.csv": (["optimizer", "lr", "final_train_loss", "test_loss", "test_accuracy",
                         "seconds"], ["optimizer"]),
    },
    "init": {
        "activations.png": None,
        "loss.png": None,
        "activations.csv": (["activation", "init", "layer", "mean", "std", "zero_fraction",
                             "saturated_fraction"], ["activation", "init"]),
        "loss_curves.csv": (["iteration", *INIT_CURVES], []),
        "results.csv": (["activation", "init", "first_layer_init_std", "final_train_loss",
                         "test_loss", "test_accuracy"], ["activation", "init"]),
    },
    "batchnorm": {
        "batchnorm.png": None,
        "final.png": None,
        "curves.csv": (["weight_scale", "batchnorm", "epoch", "train_loss", "train_acc",
                        "test_loss", "test_acc", "diverged"], ["batchnorm"]),
        "results.csv": (["weight_scale", "train_acc_plain", "test_acc_plain", "train_acc_bn",
                         "test_acc_bn"], []),
    },
    "overfitting": {
        "accuracy.png": None,
        "curves.csv": (["regularisation", "epoch", "train_loss", "train_acc", "test_loss",
                        "test_acc", "diverged"], ["regularisation"]),
        "results.csv": (["regularisation", "dropout", "l2_reg", "train_acc", "test_acc",
                         "gap", "best_test_acc", "epochs"], ["regularisation"]),
    },
    "gradients": {
        "agreement.png": None,
        "timing.png": None,
        "results.csv": (["parameter", "shape", "size", "max_rel_error", "mean_abs_diff",
                         "max_abs_diff", "numerical_seconds", "backprop_seconds"],
                        ["parameter", "shape"]),
    },
}


def read_csv(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    return {name: run(root / name, dataset="digits", **TINY[name])
            for name, run in EXPERIMENTS.items()}


@pytest.mark.parametrize("name", list(FILES))
def test_each_experiment_writes_its_files(results, name):
    result = results[name]
    assert sorted(p.name for p in result.files) == sorted(FILES[name])
    for file, spec in FILES[name].items():
        path = result.directory / file
        assert path.is_file(), path
        if spec is None:
            image = matplotlib.image.imread(path)
            assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, file
            assert image.std() > 0, f"{file} is blank"
            continue
        columns, text = spec
        header, rows = read_csv(path)
        assert header == columns, file
        assert rows, f"{file} has no rows"
        for row in rows:
            if row.get("diverged") == "1":       # a stopped run: only its accuracy is finite
                continue
            for column in columns:
                if column not in text:
                    value = float(row[column])
                    assert math.isfinite(value), (file, column, row)


def test_the_tables_say_what_was_run(results):
    assert [row["optimizer"] for row in results["optimizers"].table] == OPTIMIZERS
    assert [r["lr"] for r in results["optimizers"].table] == [0.01] * 5 + [0.001]
    init_std = {(r["activation"], r["init"]): r["first_layer_init_std"]
                for r in results["init"].table}
    for activation in ("relu", "sigmoid"):          # digits: 64 inputs, 16 hidden units
        assert init_std[activation, "std 0.01"] == pytest.approx(0.01, rel=0.1)
        assert init_std[activation, "Xavier"] == pytest.approx((2 / (64 + 16)) ** 0.5, rel=0.1)
        assert init_std[activation, "He"] == pytest.approx((2 / 64) ** 0.5, rel=0.1)
    scales = [row["weight_scale"] for row in results["batchnorm"].table]
    assert scales == pytest.approx([1.0, 1e-2, 1e-4])
    assert [(r["regularisation"], r["dropout"], r["l2_reg"])
            for r in results["overfitting"].table] == [
        ("none", 0.0, 0.0), ("dropout 0.2", 0.2, 0.0), ("L2 term 0.1", 0.0, 0.1),
        ("dropout + L2 term", 0.2, 0.1)]
    gradients = {row["parameter"]: row for row in results["gradients"].table}
    assert set(gradients) == {"1.weight", "1.bias", "3.weight", "3.bias", "all"}
    assert gradients["all"]["size"] == 64 * 4 + 4 + 4 * 10 + 10
    assert gradients["all"]["max_rel_error"] < 1e-6       # backprop agrees with the numbers
    assert gradients["all"]["numerical_seconds"] > gradients["all"]["backprop_seconds"]


def test_init_measures_vanishing_activations(results):
    """std 0.01 makes ReLU activations shrink layer by layer; He keeps their spread."""
    with open(results["init"].directory / "activations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    std = {(r["activation"], r["init"], int(r["layer"])): float(r["std"]) for r in rows}
    assert std["relu", "std 0.01", 3] < 0.01 * std["relu", "std 0.01", 1]
    assert std["relu", "He", 3] > 0.2 * std["relu", "He", 1]


def test_the_command_line_runs_an_experiment(tmp_path, capsys):
    status = main(["experiment", "gradients", "--dataset", "digits", "--samples", "2",
                   "--hidden-size", "3", "--repeats", "1", "--out", str(tmp_path / "g")])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "max_rel_error" in out and "wrote" in out and "1.weight" in err
    assert (tmp_path / "g" / "results.csv").is_file()


def test_the_overfitting_l2_term_is_the_trainers_l2_reg_flag(capsys):
    """--l2-reg as in `scratchnn train`; --weight-decay is the optimizer's and not offered."""
    with pytest.raises(SystemExit):
        main(["experiment", "overfitting", "--help"])
    help_text = capsys.readouterr().out
    assert "--l2-reg" in help_text and "--weight-decay" not in help_text


@pytest.mark.parametrize("args, needle", [
    (["optimizers", "--optimizers", "adam,lion"], "lion"),
    (["optimizers", "--iterations", "0"], "iterations"),
    (["batchnorm", "--scales", "0"], "scales"),
    (["overfitting", "--samples", "0"], "samples"),
    (["init", "--dataset", "fashon"], "unknown dataset"),
])
def test_bad_experiment_options_are_one_line_errors(tmp_path, capsys, args, needle):
    status = main(["experiment", *args, "--out", str(tmp_path / "x"),
                   *(["--dataset", "digits"] if "--dataset" not in args else [])])
    _, err = capsys.readouterr()
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def tiny_data(rng):
    import numpy as np

    from scratchnn.experiments.common import ExperimentData

    x = rng.integers(0, 256, (40, 1, 4, 4), dtype=np.uint8)
    y = rng.integers(0, 3, 40)
    return ExperimentData("tiny", x, y, x, y, ("a", "b", "c"), prepare=lambda batch:
                          batch.reshape(len(batch), -1).astype(np.float32) / 255)


def test_experiment_steps_are_the_trainers_own(rng):
    """train_iterations drives Trainer.fit: callbacks see every step of the schedule, in order."""
    import numpy as np

    import scratchnn as snn
    from scratchnn.experiments.common import train_iterations

    data = tiny_data(rng)
    model = snn.models.build("mlp", 16, 3, rng=rng, hidden_sizes=(8,))
    seen = []

    class Watch(snn.train.Callback):
        def on_batch_end(self, trainer, loss, correct, size):
            seen.append((trainer.step, loss, size))

    trainer = snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                          snn.optim.SGD(model.parameters(), lr=0.1), seed=0,
                          preprocess=data.prepare, callbacks=[Watch()])
    schedule = [np.arange(10), np.arange(10, 25), np.arange(5)]
    losses, diverged = train_iterations(trainer, data, schedule)
    assert diverged is None and [(s, n) for s, _, n in seen] == [(1, 10), (2, 15), (3, 5)]
    assert losses == [loss for _, loss, _ in seen]


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_diverging_experiment_run_is_stopped_by_the_trainers_guard(rng):
    import numpy as np

    import scratchnn as snn
    from scratchnn.experiments.common import train_iterations

    data = tiny_data(rng)
    model = snn.models.build("mlp", 16, 3, rng=rng, hidden_sizes=(8,))
    trainer = snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                          snn.optim.SGD(model.parameters(), lr=1e30), preprocess=data.prepare)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    losses, diverged = train_iterations(trainer, data, [np.arange(10)] * 5)
    assert diverged is not None and len(losses) == diverged - 1 < 5
    assert all(np.isfinite(v).all() for v in model.state_dict().values())   # the step undone
    if diverged == 1:
        assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
