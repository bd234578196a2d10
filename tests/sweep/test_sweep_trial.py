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


HEAP_USE = """
import ctypes, numpy as np
from scratchnn.sweep.trial import reuse_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena ordblks smblks hblks hblkhd usmblks"
                                                     " fsmblks uordblks fordblks keepcost").split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def use():
    \"\"\"(bytes mapped for a live 4 MiB array, bytes of free heap kept once it is freed)\"\"\"
    mapped = libc.mallinfo2().hblkhd
    array = np.ones(1 << 20, np.float32)
    mapped = libc.mallinfo2().hblkhd - mapped
    del array
    return mapped, libc.mallinfo2().fordblks

before = use()
reuse_freed_memory()
print(*before, *use())
"""


def test_a_trial_keeps_freed_memory_although_dask_workers_start_with_a_trim_threshold():
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536: every array over 128 KiB is then mapped
    fresh and handed back when freed (page faults on each use). After reuse_freed_memory() it
    comes from the heap, and the heap keeps it when freed. Asked of glibc itself (mallinfo2), as
    page-fault counts depend on the kernel's transparent huge pages."""
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    done = subprocess.run([sys.executable, "-c", HEAP_USE], env=env, capture_output=True,
                          text=True, check=True)
    mapped_before, kept_before, mapped_after, kept_after = map(int, done.stdout.split())
    four_mib = 4 << 20
    assert mapped_before >= four_mib and kept_before < four_mib, done.stdout
    assert mapped_after == 0 and kept_after >= four_mib, done.stdout


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
