"""One trial as a worker runs it, without Dask: a complete run directory comes back as files; a
trial that fails (divergence, bad data) is a failed outcome with its reason, not an exception."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

from scratchnn.sweep.trial import TrialJob, run_trial

DIGITS = {"dataset": "digits", "epochs": 1, "hidden_sizes": [8], "dropout": 0.0}


def test_a_trial_returns_its_whole_run_directory():
    outcome = run_trial(TrialJob(4, DIGITS))
    assert outcome.state == "complete" and outcome.epochs == 1
    assert 0 < outcome.best_val_acc <= 1 and outcome.worker == "local"
    assert {"config.toml", "metrics.csv", "model.npz", "report.html"} <= set(outcome.files)
    assert 'dataset = "digits"' in outcome.files["config.toml"].decode()


def test_a_diverging_trial_fails_with_the_reason():
    outcome = run_trial(TrialJob(1, {**DIGITS, "optimizer": "sgd", "lr": 1e12}))
    assert outcome.state == "fail"
    assert outcome.reason.startswith("DivergenceError: ") and "\n" not in outcome.reason


def test_missing_data_fails_the_trial_with_the_reason(tmp_path):
    outcome = run_trial(TrialJob(2, {**DIGITS, "dataset": str(tmp_path / "none.npz")}))
    assert outcome.state == "fail" and "DataError" in outcome.reason
    assert str(tmp_path / "none.npz") in outcome.reason


PAGE_FAULTS = """
import resource, numpy as np
from scratchnn.sweep.trial import reuse_freed_memory

def faults():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        np.ones(1 << 20, np.float32).sum()        # 4 MiB, freed at once
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

before = faults()
reuse_freed_memory()
faults()                                          # the first array settles on the heap
print(before, faults())
"""


def test_a_trial_keeps_freed_memory_although_dask_workers_start_with_a_trim_threshold():
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536: every array then comes from fresh pages
    (page faults on each use). After reuse_freed_memory() they come from the heap again."""
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    done = subprocess.run([sys.executable, "-c", PAGE_FAULTS], env=env, capture_output=True,
                          text=True, check=True)
    before, after = map(int, done.stdout.split())
    assert before > 50 * 500 and after < before / 20, (before, after)


class _Future:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def result(self):
        raise self.error


def test_a_trial_whose_worker_died_also_on_retry_is_a_failed_trial_with_the_reason():
    """Dask gives up on a task after its retry limit (KilledWorker): the trial fails, with why;
    any other task error too. The sweep itself goes on."""
    from distributed import KilledWorker

    from scratchnn.sweep.driver import _outcome

    last_worker = SimpleNamespace(address="tcp://127.0.0.1:4242")
    died = _outcome(_Future(KilledWorker("trial-7", last_worker, 3)), 7)
    assert (died.number, died.state) == (7, "fail")
    assert died.reason.startswith("the worker running it died, also on retry (KilledWorker: "
                                  "Attempted to run task 'trial-7' on 4 different workers")
    broken = _outcome(_Future(MemoryError("out of memory")), 8)
    assert (broken.state, broken.reason) == ("fail", "MemoryError: out of memory")
