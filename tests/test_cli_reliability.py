"""`scratchnn train --resume`, --checkpoint-every and --skip-nonfinite, Ctrl-C and divergence
from the command line, on scikit-learn's digits (in this process; tests/test_kill_resume.py
kills real subprocesses)."""

from __future__ import annotations

import csv
import signal

import numpy as np
import pytest

from scratchnn.cli import main
from scratchnn.train import Callback
from scratchnn.train.checkpoint import load_checkpoint
from scratchnn.train.config import TrainConfig
from scratchnn.train.interrupt import TrainingInterrupted
from scratchnn.train.modelfile import read_model_file
from scratchnn.train.run import run_training

# these tests send SIGINT to this process (the fixture is in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("ctrl_c_enabled")

TRAIN = ["train", "--dataset", "digits", "--hidden-sizes", "16", "--epochs", "2",
         "--batch-size", "64", "--seed", "2", "--no-progress"]


def cli(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def usage_error(status, err, *needles):
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scratchnn: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def weights(run):
    return read_model_file(run / "model.npz")[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run = tmp_path_factory.mktemp("reference") / "run"
    assert main([*TRAIN, "--out", str(run)]) == 0
    return run


class CtrlC(Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, trainer, *args):
        if trainer.step == self.step:
            signal.raise_signal(signal.SIGINT)


def test_interrupted_then_resumed_from_the_command_line_is_bit_identical(tmp_path, capsys,
                                                                         reference):
    run = tmp_path / "run"
    config = TrainConfig(dataset="digits", hidden_sizes=(16,), epochs=2, batch_size=64, seed=2,
                         out=str(run))
    with pytest.raises(TrainingInterrupted):
        run_training(config, progress=False, callbacks=(CtrlC(25),))
    assert load_checkpoint(run).meta["step"] == 25 and not (run / "model.npz").exists()
    status, _, err = cli(capsys, "evaluate", run)
    usage_error(status, err, "has not finished", f"scratchnn train --resume {run}")
    status, out, err = cli(capsys, "train", "--resume", run, "--no-progress")
    assert status == 0, err
    assert "note: resumed from" in out and "step 25" in out
    a, b = weights(run), weights(reference)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    with open(run / "metrics.csv") as f, open(reference / "metrics.csv") as g:
        strip = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
        assert strip == [{k: v for k, v in row.items() if k != "seconds"}
                         for row in csv.DictReader(g)]


def test_checkpoint_every(tmp_path, capsys):
    status, _, err = cli(capsys, *TRAIN, "--epochs", "1", "--checkpoint-every", "4",
                         "--out", tmp_path / "run")
    assert status == 0, err
    found = load_checkpoint(tmp_path / "run")
    assert found.meta["step"] == 21 and found.meta["info"]["config"]["checkpoint_every"] == 4
    assert load_checkpoint(tmp_path / "run" / "checkpoint" / "previous.npz").meta["step"] == 20


def test_resume_refuses_flags_that_change_the_run(tmp_path, capsys, reference):
    status, _, err = cli(capsys, "train", "--resume", reference, "--lr", "0.1")
    usage_error(status, err, "drop --lr")
    status, _, err = cli(capsys, "train", "--resume", reference, "--epochs", "5")
    usage_error(status, err, "drop --epochs")


def test_resume_of_what_is_not_a_run(tmp_path, capsys):
    status, _, err = cli(capsys, "train", "--resume", tmp_path / "nowhere")
    usage_error(status, err, "no such run directory")
    (tmp_path / "empty").mkdir()
    status, _, err = cli(capsys, "train", "--resume", tmp_path / "empty")
    usage_error(status, err, "not a run directory")
    (tmp_path / "broken" / "checkpoint").mkdir(parents=True)
    (tmp_path / "broken" / "checkpoint" / "latest.npz").write_bytes(b"PK\x03\x04 garbage")
    status, _, err = cli(capsys, "train", "--resume", tmp_path / "broken")
    usage_error(status, err, "not a readable checkpoint")


def test_resume_before_the_first_checkpoint_starts_over(tmp_path, capsys, reference):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(
        'dataset = "digits"\nhidden_sizes = [16]\nepochs = 2\nbatch_size = 64\nseed = 2\n')
    status, out, err = cli(capsys, "train", "--resume", run, "--no-progress")
    assert status == 0, err
    assert "no checkpoint" in out and "from the start" in out
    a, b = weights(run), weights(reference)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("flag, value", [("--checkpoint-every", "-1"), ("--seed", "-3"),
                                         ("--lr", "inf"), ("--weight-decay", "-1"),
                                         ("--batch-size", "0")])
def test_bad_numbers_are_one_line_errors(tmp_path, capsys, flag, value):
    status, _, err = cli(capsys, *TRAIN, flag, value, "--out", tmp_path / "r")
    usage_error(status, err, flag.lstrip("-").replace("-", "_"))


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_divergence_stops_keeps_the_checkpoint_and_can_be_skipped(tmp_path, capsys):
    """(The evaluations after training, of a model that diverged, warn about overflows.)"""
    run = tmp_path / "run"
    args = [*TRAIN, "--optimizer", "sgd", "--schedule", "constant", "--lr", "1e20",
            "--checkpoint-every", "1", "--out", run]
    status, _, err = cli(capsys, *args)
    usage_error(status, err, "training diverged at step", "non-finite values first appeared in",
                "--skip-nonfinite", "last good checkpoint")
    step = int(err.split("training diverged at step ")[1].split()[0])
    assert load_checkpoint(run).meta["step"] == step - 1
    status, out, err = cli(capsys, "train", "--resume", run, "--skip-nonfinite", "--no-progress")
    assert status == 0, err
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert "skipped" in rows[0] and sum(int(row["skipped"]) for row in rows) > 0
    assert load_checkpoint(run).meta["history"]["skipped"][0] == step
