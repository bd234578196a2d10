"""`scratchnn report | compare | predict | evaluate` on finished runs, as a user runs them: what
they print and write, and exit status 2 with one line for every bad input."""

from __future__ import annotations

import csv
import json
import pickle
import re

import numpy as np
import pytest
from PIL import Image

from scratchnn.cli import main
from scratchnn.functional.losses import softmax
from scratchnn.train import Run
from scratchnn.train.evaluate import predict_scores
from scratchnn.viz.report import SECTIONS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(capsys, *args) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def usage_error(status: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("scratchnn: error: "), err
    assert needle in lines[0], lines[0]


def probabilities(run: Run, x: np.ndarray) -> np.ndarray:
    return softmax(predict_scores(run.load_model(), x, run.prepare).astype(np.float64))


# -- report -------------------------------------------------------------------------------------

def test_report_rebuilds_a_self_contained_page_with_the_recorded_accuracy(capsys, own_run):
    (own_run / "report.html").unlink()
    status, out, _ = cli(capsys, "report", own_run)
    assert status == 0 and out.strip() == f"wrote {own_run / 'report.html'}"
    page = (own_run / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f"<section id='{section}'>" in page
    accuracy = Run.open(own_run).test["accuracy"]
    assert f"test accuracy <b>{accuracy:.4f}</b>" in page
    sources = re.findall(r"src='([^']*)'", page)
    assert len(sources) >= 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<script|<link|https?://", page)        # nothing fetched, nothing run
    wrong = round((1 - accuracy) * 359)
    assert f"{wrong} of 359 test images are misclassified" in page


def test_report_on_a_named_dataset_and_on_what_is_not_a_run(capsys, own_run, tmp_path):
    status, out, _ = cli(capsys, "report", own_run, "--dataset", "digits")
    assert status == 0 and "test images are misclassified" in (own_run / "report.html").read_text()
    status, _, err = cli(capsys, "report", tmp_path / "nowhere")
    usage_error(status, err, "nowhere: no such run directory")
    status, _, err = cli(capsys, "report", own_run, "--dataset", "no-such-data")
    usage_error(status, err, "no-such-data")


# -- compare ------------------------------------------------------------------------------------

def test_compare_tabulates_the_differing_setting_and_final_metrics(capsys, digits_runs, tmp_path):
    status, out, _ = cli(capsys, "compare", digits_runs["slow"], digits_runs["fast"],
                         "--out", tmp_path)
    assert status == 0
    header, rule, *rows = out.splitlines()[:4]
    assert header.split()[:2] == ["run", "lr"] and "test_acc" in header and set(rule) <= set("- ")
    assert [row.split()[:2] for row in rows] == [["slow", "5.000e-04"], ["fast", "0.0030"]]
    with open(tmp_path / "compare.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [row["run"] for row in table] == ["slow", "fast"]
    for row, name in zip(table, ("slow", "fast"), strict=True):
        run = Run.open(digits_runs[name])
        assert float(row["lr"]) == run.config["lr"] and row["epochs_done"] == "2"
        assert float(row["test_acc"]) == run.test["accuracy"]
        assert float(row["best_val_acc"]) == max(e["val_acc"] for e in run.epochs)
        assert float(row["train_loss"]) == run.epochs[-1]["train_loss"]
    assert (tmp_path / "compare.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"wrote {tmp_path / 'compare.csv'}" in out


def test_compare_of_runs_with_the_same_settings_and_name(capsys, digits_runs, own_run, tmp_path):
    status, out, _ = cli(capsys, "compare", digits_runs["fast"], own_run, "--out", tmp_path)
    assert status == 0 and "(the runs' settings are identical)" in out
    with open(tmp_path / "compare.csv", newline="") as f:
        names = [row["run"] for row in csv.DictReader(f)]
    assert names == [str(digits_runs["fast"]), str(own_run)]       # both are called "fast"


def test_compare_with_a_missing_run(capsys, digits_runs, tmp_path):
    status, _, err = cli(capsys, "compare", digits_runs["fast"], tmp_path / "gone")
    usage_error(status, err, "gone: no such run directory")


# -- predict ------------------------------------------------------------------------------------

def test_predict_on_a_npy_batch_gives_the_models_top_classes(capsys, digits_runs, tmp_path):
    run = Run.open(digits_runs["fast"])
    x = run.load_dataset().x_test[:4]
    np.save(tmp_path / "batch.npy", x)
    status, out, _ = cli(capsys, "predict", digits_runs["fast"], tmp_path / "batch.npy",
                         "--json", "--top-k", "2")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    expected = probabilities(run, x)
    assert [line["input"] for line in lines] == [f"{tmp_path / 'batch.npy'}[{i}]"
                                                for i in range(4)]
    for line, p in zip(lines, expected, strict=True):
        top = np.argsort(-p, kind="stable")[:2]
        assert [t["class"] for t in line["top"]] == [str(k) for k in top]
        assert [t["probability"] for t in line["top"]] == pytest.approx(p[top], rel=1e-6)


def test_predict_on_a_png_maps_0_255_onto_the_training_scale(capsys, digits_runs, tmp_path):
    run = Run.open(digits_runs["fast"])
    sample = run.load_dataset().x_test[7, 0]                           # (8, 8), 0..16
    pixels = np.rint(sample * (255 / 16)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "seven.png")
    status, out, _ = cli(capsys, "predict", run.directory, tmp_path / "seven.png")
    assert status == 0
    name, *ranks = out.splitlines()
    assert name == str(tmp_path / "seven.png") and len(ranks) == 3
    p = probabilities(run, (pixels * np.float32(16 / 255))[None, None])[0]
    best = int(p.argmax())
    assert ranks[0].split() == ["1.", str(best), f"{p[best]:.4f}"]
    status, out, _ = cli(capsys, "predict", run.directory, tmp_path / "seven.png", "--invert",
                         "--json")
    inverted = probabilities(run, (16 - pixels * np.float32(16 / 255))[None, None])[0]
    top = json.loads(out)["top"][0]
    assert top["class"] == str(inverted.argmax())
    assert top["probability"] == pytest.approx(inverted.max(), rel=1e-5)


@pytest.mark.parametrize("content, args, needle", [
    (np.zeros((2, 5)), [], "array of shape (2, 5) does not fit the model's input"),
    (None, [], "no such file"),
    ("pickle", [], "not a readable .npy array"),
    (np.zeros((1, 64)), ["--top-k", "0"], "top-k must be a positive integer"),
])
def test_predict_refuses_bad_input_in_one_line(capsys, digits_runs, tmp_path, content, args,
                                              needle):
    path = tmp_path / "x.npy"
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif content == "pickle":
        np.save(path, np.array([{"evil": print}], dtype=object), allow_pickle=True)
    status, _, err = cli(capsys, "predict", digits_runs["fast"], path, *args)
    usage_error(status, err, needle)


def test_predict_never_unpickles(capsys, digits_runs, tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: called.append(a))
    path = tmp_path / "x.npy"
    np.save(path, np.array([object()], dtype=object), allow_pickle=True)
    status, _, _ = cli(capsys, "predict", digits_runs["fast"], path)
    assert status == 2 and not called


# -- evaluate -----------------------------------------------------------------------------------

def test_evaluate_repeats_the_recorded_test_metrics(capsys, digits_runs):
    status, out, _ = cli(capsys, "evaluate", digits_runs["slow"], "--json")
    result = json.loads(out)
    run = Run.open(digits_runs["slow"])
    assert status == 0 and result["dataset"] == "digits"
    assert result["accuracy"] == run.test["accuracy"] and result["samples"] == 359


def test_evaluate_of_an_unfinished_run_says_how_to_continue(capsys, own_run):
    (own_run / "model.npz").unlink()
    status, _, err = cli(capsys, "evaluate", own_run)
    usage_error(status, err, f"the run has not finished; continue it with scratchnn train "
                             f"--resume {own_run}")
    status, _, err = cli(capsys, "evaluate", own_run / "nowhere")
    usage_error(status, err, "nowhere: no such run directory")
