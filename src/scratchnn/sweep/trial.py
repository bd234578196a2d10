"""One trial, as a Dask worker runs it: a full training run in a temporary directory whose files
go back to the driver with the result, so that workers on other machines need no shared disk.

    outcome = run_trial(TrialJob(number=3, config={...}, channel="sweep-abc"))
    outcome.state, outcome.best_val_acc, outcome.files["metrics.csv"]

With a `channel`, the validation accuracy of each epoch goes to the driver (a Dask Queue) and
the trial waits for the driver's answer: continue, or stop here (pruned).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scratchnn import parallel
from scratchnn.errors import one_line
from scratchnn.train.callbacks import Callback
from scratchnn.train.config import TrainConfig

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameters
DECISION_TIMEOUT = 120.0    # seconds a trial waits for the driver's pruning decision
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class TrialJob:
    number: int
    config: dict                 # the trial's TrainConfig settings, without `out`
    channel: str | None = None   # the Dask queues' prefix; None: no pruning
    blas_threads: int | None = None


@dataclass
class TrialOutcome:
    number: int
    state: str                   # "complete", "pruned" or "fail"
    best_val_acc: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    worker: str = ""
    reason: str = ""             # why it failed
    test_acc: float | None = None
    files: dict[str, bytes] = field(default_factory=dict)   # run directory: relative path -> bytes


def run_trial(job: TrialJob) -> TrialOutcome:
    """Train the trial's config (its run directory returned in `files`). An error of the trial
    itself (divergence, bad data, a bug) is a failed outcome with the reason, not an exception."""
    from scratchnn.train.run import run_training  # matplotlib: only on workers

    reuse_freed_memory()
    started, worker = time.perf_counter(), _worker_name()
    reporter = PruningReporter(job.channel, job.number) if job.channel else None
    directory = Path(tempfile.mkdtemp(prefix=f"scratchnn-trial-{job.number:03d}-"))
    try:
        config = TrainConfig.from_table({**job.config, "out": str(directory)})
        with _blas_limit(job.blas_threads):
            run = run_training(config, progress=False, callbacks=(reporter,) if reporter else ())
        best = run.history.best("val_acc")
        pruned = reporter is not None and reporter.pruned
        return TrialOutcome(job.number, "pruned" if pruned else "complete",
                            best["val_acc"] if best else None, len(run.history),
                            time.perf_counter() - started, worker,
                            test_acc=run.test.get("accuracy"), files=read_files(directory))
    except Exception as error:          # a failed trial, not a failed sweep (Ctrl-C is not)
        return TrialOutcome(job.number, "fail", seconds=time.perf_counter() - started,
                            worker=worker, reason=f"{type(error).__name__}: {one_line(error)}",
                            files=read_files(directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def reuse_freed_memory() -> None:
    """Let glibc's malloc keep freed memory for the next training step.

    Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536: glibc then hands freed
    memory back to the system at once and serves every array over 128 KiB from fresh pages, so
    each training step page-faults through all its arrays again (a 3-epoch MLP trial measured
    36 s instead of 21 s). This restores glibc's own limits for a long-running process: arrays
    up to 32 MiB come from the heap, and up to 64 MiB of free heap is kept. Nothing to do with
    another C library (no mallopt).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        pass


class PruningReporter(Callback):
    """Sends (trial, epoch, val_acc) to the driver after each epoch and stops training when the
    driver answers "prune"."""

    def __init__(self, channel: str, number: int) -> None:
        self.channel, self.number, self.pruned = channel, number, False
        self.queues = None

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        if "val_acc" not in metrics:
            return
        if self.queues is None:
            from distributed import Queue

            self.queues = (Queue(reports_queue(self.channel)),
                           Queue(answers_queue(self.channel, self.number)))
        reports, answers = self.queues
        epoch = int(metrics["epoch"])
        reports.put((self.number, epoch, float(metrics["val_acc"])))
        deadline = time.monotonic() + DECISION_TIMEOUT
        while time.monotonic() < deadline:      # no answer in time (no driver): keep training
            for answered_epoch, prune in answers.get(batch=True):
                if answered_epoch == epoch:         # not an answer meant for an earlier attempt
                    self.pruned = trainer.stop = prune
                    return
            time.sleep(POLL_SECONDS)


def reports_queue(channel: str) -> str:
    return f"{channel}-reports"


def answers_queue(channel: str, number: int) -> str:
    return f"{channel}-answers-{number}"


def read_files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` by its relative POSIX path."""
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file()}


@contextmanager
def _blas_limit(threads: int | None) -> Iterator[None]:
    """Limit BLAS (OpenBLAS, MKL, OpenMP) and scratchnn's own pool (scratchnn.parallel) to
    `threads` in this process while training."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads), parallel.limit(threads):
        yield


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"
