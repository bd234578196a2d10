"""Sweeps on the embedded LocalCluster: with a random or grid sampler and a fixed seed the same
SPEC gives the same trials and bit-identical results for 1 and 2 workers; pruning stops a
hopeless trial; every trial is a run directory the other commands open; the report passes the
real-browser check."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.cli import main
from scratchnn.viz.browser_check import check_page, find_chromium

RANDOM = ('trials = 3\nsampler = "random"\nseed = 7\npruner = "none"',
          'lr = { type = "loguniform", low = 1e-3, high = 1e-1 }\n'
          'hidden_sizes = { type = "choice", values = [[8], [16, 8]] }')
GRID = ('sampler = "grid"\nseed = 3\npruner = "none"',
        'lr = { type = "choice", values = [0.003, 0.03] }\n'
        'batch_size = { type = "int", low = 48, high = 48 }\n'     # one value
        'hidden_sizes = { type = "fixed", value = [8] }')


def trial_files(directory, row) -> dict:
    """What a trial computed: metrics.csv without the timing column, and the weights."""
    trial = directory / row["directory"]
    lines = (trial / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "seconds"]
    metrics = [[line.split(",")[i] for i in keep] for line in lines]
    with np.load(trial / "model.npz", allow_pickle=False) as archive:
        weights = {k: archive[k] for k in archive.files if not k.startswith("__")}
    return {"metrics": metrics, "weights": weights}


def same_trials(a, b, results) -> None:
    rows_a, rows_b = results(a), results(b)
    assert len(rows_a) == len(rows_b) > 0
    for ra, rb in zip(rows_a, rows_b, strict=True):
        ignore = ("seconds", "worker")
        assert {k: v for k, v in ra.items() if k not in ignore} == \
            {k: v for k, v in rb.items() if k not in ignore}
        fa, fb = trial_files(a, ra), trial_files(b, rb)
        assert fa["metrics"] == fb["metrics"]
        assert fa["weights"].keys() == fb["weights"].keys()
        for key in fa["weights"]:
            assert np.array_equal(fa["weights"][key], fb["weights"][key]), key


@pytest.fixture(scope="module")
def random_sweeps(tmp_path_factory, spec_text):
    """The RANDOM sweep run twice: 1 worker from Python, 2 workers from the command line.
    -> (directory with 1 worker, directory with 2 workers, what the command printed)."""
    where = tmp_path_factory.mktemp("random")
    spec = where / "spec.toml"
    spec.write_text(spec_text(*RANDOM))
    one = snn.sweep(spec, workers=1, out=where / "w1")
    two = where / "w2"
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["sweep", str(spec), "--workers", "2", "--out", str(two),
                     "--no-progress"]) == 0
    return one.directory, two, printed.getvalue()


def test_random_search_gives_the_same_trials_and_results_for_one_and_two_workers(
        random_sweeps, results):
    one, two, printed = random_sweeps
    assert "best trial:" in printed and "best_val_acc" in printed      # the top-trials table
    assert [r["state"] for r in results(one)] == ["complete"] * 3
    assert len({r["lr"] for r in results(two)}) == 3
    same_trials(one, two, results)


def test_every_trial_is_a_run_directory_linked_from_the_report(random_sweeps, results, capsys):
    out = random_sweeps[1]
    rows = results(out)
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["000", "001", "002"]
    for row in rows:
        trial = out / row["directory"]
        assert {"config.toml", "metrics.csv", "model.npz", "report.html"} <= \
            {p.name for p in trial.iterdir()}
        assert float(row["best_val_acc"]) > 0 and row["epochs"] == "1"
        run = snn.train.Run.open(trial)                    # the one way to open a run
        assert run.train_config().lr == float(row["lr"]) and run.load_model() is not None
    assert main(["evaluate", str(out / "trials" / "000"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["accuracy"] == pytest.approx(float(rows[0]["test_acc"]))
    report = (out / "report.html").read_text()
    for section in ("best", "history", "parallel", "importance", "trials"):
        assert f"id='{section}'" in report
    for number in ("000", "001", "002"):
        assert f"href='trials/{number}/report.html'" in report


@pytest.mark.skipif(find_chromium() is None,
                    reason="no chromium: `make browser` installs Debian's chromium")
def test_the_sweep_report_in_headless_chromium_every_image_loads_no_console_error(
        random_sweeps):
    report = random_sweeps[1] / "report.html"
    result = check_page(report)
    assert result.ok, "\n".join(result.problems)
    assert {image.alt for image in result.images} == \
        {"history", "parallel coordinates", "parameter importances"}
    assert all(image.src.startswith("data:image/png;base64,") for image in result.images)


def test_grid_search_visits_every_point_once_whatever_the_workers(write_spec, results,
                                                                  tmp_path):
    spec = write_spec(*GRID)
    one = snn.sweep(spec, workers=1, out=tmp_path / "w1")
    two = snn.sweep(spec, workers=2, out=tmp_path / "w2", trials=10)   # a grid stops at 2
    points = [(r["lr"], r["batch_size"]) for r in results(two.directory)]
    assert sorted(points) == [("0.003", "48"), ("0.03", "48")]
    same_trials(one.directory, two.directory, results)


def test_the_median_pruner_stops_a_hopeless_trial(write_spec, results, tmp_path):
    # Grid order with seed 3 puts the hopeless learning rate last (checked below): the two
    # trials before it run to the end, then it stops after its first epoch.
    spec = write_spec('sampler = "grid"\nseed = 3\npruner = "median"\nstartup_trials = 2',
                      'lr = { type = "choice", values = [0.05, 0.02, 1e-7] }', epochs=2)
    result = snn.sweep(spec, workers=1, out=tmp_path / "pruned")
    rows = {r["lr"]: r for r in results(result.directory)}
    assert rows["1e-07"]["trial"] == "2", "the grid order changed: pick another seed"
    assert rows["1e-07"]["state"] == "pruned" and rows["1e-07"]["epochs"] == "1"
    assert [rows[lr]["state"] for lr in ("0.05", "0.02")] == ["complete", "complete"]
    metrics = (result.directory / rows["1e-07"]["directory"] / "metrics.csv").read_text()
    assert len(metrics.splitlines()) == 2                 # header and the one epoch run


def test_blas_is_limited_to_the_worker_share_while_a_trial_trains():
    from threadpoolctl import threadpool_info

    from scratchnn.sweep.trial import _blas_limit

    with _blas_limit(1):
        assert {lib["num_threads"] for lib in threadpool_info()} == {1}
