"""scratchnn.train.Run: a finished run read back (settings, metrics, model, preprocessing, data)
reproduces what training measured; each kind of missing or broken run is one clear line."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from scratchnn.errors import DataError
from scratchnn.layer import Sequential
from scratchnn.layers import Flatten, Linear
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train import Run
from scratchnn.train.evaluate import evaluate
from scratchnn.train.modelfile import save_model


def test_a_run_reads_back_its_settings_metrics_and_metadata(digits_runs):
    run = Run.open(digits_runs["fast"])
    assert run.directory == digits_runs["fast"]
    assert run.config["dataset"] == "digits" and run.config["lr"] == 0.003
    with open(run.directory / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in run.epochs] == [1.0, 2.0] == [float(r["epoch"]) for r in rows]
    assert run.epochs[-1]["val_acc"] == float(rows[-1]["val_acc"])
    assert run.dataset_name == "digits" and run.classes == [str(k) for k in range(10)]
    assert run.input_shape == (1, 8, 8)
    assert run.checkpoint_dir == run.directory / "checkpoint"
    assert run.train_config().lr == 0.003
    assert 0.5 < run.test["accuracy"] <= 1 and run.test["samples"] == 359


def test_the_model_preprocessing_and_data_reproduce_the_recorded_test_metrics(digits_runs):
    run = Run.open(digits_runs["fast"])
    model = run.load_model()
    assert not model.training and run.load_model() is model            # loaded once
    data = run.load_dataset(as_trained=True)
    result = evaluate(model, SoftmaxCrossEntropy(), data.x_test, data.y_test, run.prepare)
    assert result["accuracy"] == run.test["accuracy"]
    assert result["loss"] == pytest.approx(run.test["loss"], rel=1e-6)
    x = run.prepare(data.x_test[:5])
    assert x.dtype == np.float32 and abs(float(x.mean())) < 1       # standardised, not 0..16


def test_a_model_file_opens_as_its_run(digits_runs):
    by_file = Run.open(digits_runs["fast"] / "model.npz")
    by_directory = Run.open(digits_runs["fast"])
    assert by_file.directory == by_directory.directory
    assert by_file.meta == by_directory.meta and by_file.epochs == by_directory.epochs


def test_without_stored_preprocessing_inputs_are_taken_as_float32(tmp_path, rng):
    model = Sequential(Flatten(), Linear(4, 3, rng=rng))
    save_model(tmp_path / "model.npz", model, {
        "model": "mlp", "input_size": 4, "output_size": 3, "dataset": "digits",
        "preprocess": {}})
    run = Run.open(tmp_path)
    x = rng.integers(0, 17, (2, 4), dtype=np.uint8)
    prepared = run.prepare(x)
    assert prepared.dtype == np.float32 and np.array_equal(prepared, x)
    assert run.classes == ["0", "1", "2"] and run.input_shape == (4,)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nowhere", "nowhere: no such run directory"),
    (lambda d: d / "nowhere.npz", "nowhere.npz: no such model file"),
    (lambda d: (d / "empty").mkdir() or d / "empty",
     "empty: not a run directory (no config.toml, metrics.csv, model.npz or checkpoint/)"),
])
def test_what_is_not_a_run_is_one_line(tmp_path, make, message):
    with pytest.raises(DataError) as caught:
        Run.open(make(tmp_path))
    assert str(caught.value).endswith(message) and "\n" not in str(caught.value)


def test_an_unfinished_run_says_how_to_continue_it(own_run):
    (own_run / "model.npz").unlink()
    run = Run.open(own_run)
    assert run.meta == {} and run.test == {} and run.config["dataset"] == "digits"
    with pytest.raises(DataError, match="the run has not finished; continue it with "
                                        f"scratchnn train --resume {own_run}"):
        run.load_model()
    shutil.rmtree(own_run / "checkpoint")
    with pytest.raises(DataError, match="no model file"):
        Run.open(own_run).load_model()


def test_damaged_files_are_one_line_errors(own_run):
    model = own_run / "model.npz"
    model.write_bytes(model.read_bytes()[:200])
    with pytest.raises(DataError, match="not a readable model file"):
        Run.open(own_run)
    model.write_bytes(b"\x80\x04 a pickle")
    with pytest.raises(DataError, match="is a zip archive"):
        Run.open(own_run)
    model.unlink()
    (own_run / "config.toml").write_text("lr = [unclosed\n")
    with pytest.raises(DataError, match="config.toml: invalid TOML"):
        Run.open(own_run)
    (own_run / "config.toml").unlink()
    (own_run / "metrics.csv").write_text("epoch,val_acc\n1,high\n")
    with pytest.raises(DataError, match="metrics.csv: not a metrics file"):
        Run.open(own_run)
