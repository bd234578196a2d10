"""`scratchnn doctor` end to end on scikit-learn's digits (no downloads): a fresh model, a run
directory, JSON output, the exit status (0 clean, 3 problems found, 2 bad usage)."""

from __future__ import annotations

import json
import re

import pytest

from scratchnn.cli import main
from scratchnn.doctor.cli import EXIT_FINDINGS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = ["--samples", "300", "--batch-size", "32"]


def run_cli(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A two-layer-net trained on digits for one epoch."""
    out = tmp_path_factory.mktemp("run") / "digits"
    assert main(["train", "--dataset", "digits", "--model", "two-layer-net", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    return out


def test_a_fresh_model_gets_a_clean_report_written_to_out(capsys, tmp_path):
    status, out, err = run_cli(capsys, "doctor", "--model", "two-layer-net", "--dataset",
                               "digits", "--out", tmp_path / "report", *SMALL)
    assert status == 0, out + err
    assert out.startswith("scratchnn doctor: Sequential(Flatten, Linear, ReLU, Linear)")
    assert "no problems found" in out and "report written to" in out
    assert (tmp_path / "report" / "doctor.txt").read_text().startswith("scratchnn doctor:")
    assert json.loads((tmp_path / "report" / "doctor.json").read_text())["clean"] is True
    assert (tmp_path / "report" / "lr_range.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_run_directory_is_examined_with_its_data_preprocessing_and_settings(capsys, run_dir):
    status, out, err = run_cli(capsys, "doctor", run_dir, *SMALL)
    assert status in (0, EXIT_FINDINGS), err
    assert "adam lr=0.001" in out and "300 of 300 samples" in out
    rms = float(re.search(r"inputs: float32, RMS ([0-9.]+)", out).group(1))
    assert 0.9 < rms < 1.1                                  # standardised as in training
    assert (run_dir / "doctor.txt").is_file() and (run_dir / "lr_range.png").is_file()


def test_held_out_accuracy_is_measured_on_the_test_set_the_run_never_trained_on(capsys, run_dir):
    """With --samples above the test set's size the doctor uses the whole test set: the model's
    accuracy there is the run's own test accuracy, not its accuracy on training samples."""
    from scratchnn.train.rundir import Run

    status, out, err = run_cli(capsys, "doctor", run_dir, "--samples", "1000")
    assert status in (0, EXIT_FINDINGS), err
    found = re.search(r"the model as given: accuracy ([0-9.]+) on (\d+) held-out samples it did "
                      r"not train on", out)
    assert found, out
    test = Run.open(run_dir).test
    assert float(found.group(1)) == pytest.approx(test["accuracy"], abs=1e-3)
    assert "held-out data: none of its" in out


def test_json_output_and_exit_status_3_when_problems_are_found(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "doctor", "--model", "two-layer-net", "--dataset", "digits",
                             "--optimizer", "sgd", "--lr", "100", "--json", "--out", tmp_path,
                             *SMALL)
    assert status == EXIT_FINDINGS == 3
    report = json.loads(out)
    assert report["clean"] is False
    assert report["findings"][0]["title"] == "the learning rate 100 is too high"


@pytest.mark.parametrize("args, needle", [
    (["no/such/run"], "no such run directory"),
    (["--samples", "1"], "--samples must be at least 2"),
])
def test_bad_usage_is_one_line_and_exit_2(args, needle, capsys, tmp_path):
    status, _, err = run_cli(capsys, "doctor", *args, "--out", tmp_path)
    assert status == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_a_run_and_a_model_together_are_refused(capsys, run_dir, tmp_path):
    status, _, err = run_cli(capsys, "doctor", run_dir, "--model", "mlp", "--out", tmp_path)
    assert status == 2 and "not both" in err
