"""Kill `scratchnn train` with SIGKILL at many moments -- during each phase of a checkpoint
write, mid-epoch, during validation, while the model file is written, before the first
checkpoint, at random times -- resume each time with --resume, and check that the final weights
(and the whole final training state) are bit-identical to a run that was never interrupted.

The moments are reached with test-only hooks (tests/kill_hook.py): the child process stops at
the moment and this test kills it there with SIGKILL. Ctrl-C (SIGINT) is checked the same way.
"""

from __future__ import annotations

import concurrent.futures
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kill_hook import command
from scratchnn.errors import DataError
from scratchnn.train.checkpoint import LATEST, load_checkpoint, read_checkpoint_file
from scratchnn.train.modelfile import read_model_file

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir() or os.name != "posix",
                                reason="SIGKILL and /proc/self/fd are POSIX/Linux")

# A small, quick run: digits, the default mlp (batch norm, dropout) with 16 hidden units, 41
# batches per epoch, a checkpoint every 10 steps and after every epoch.
TRAIN = ["train", "--dataset", "digits", "--hidden-sizes", "16", "--epochs", "3",
         "--batch-size", "32", "--seed", "5", "--checkpoint-every", "10", "--no-progress"]
STEPS = 3 * 41
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
TIMEOUT = 120


def start(args: list[str], pause: str | None, marker: Path) -> subprocess.Popen:
    env = {**ENV, "SCRATCHNN_TEST_PAUSE": pause or "", "SCRATCHNN_TEST_MARKER": str(marker)}
    return subprocess.Popen(command(*args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_at(args: list[str], pause: str, workdir: Path) -> None:
    """Run until the hook reaches `pause`, then SIGKILL the process there."""
    marker = workdir / f"reached-{pause.replace(':', '-')}-{time.monotonic_ns()}"
    proc = start(args, pause, marker)
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"{pause}: the process ended (status {proc.returncode}) before the "
                        f"moment was reached\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{pause}: not reached in {TIMEOUT} s")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL


def finish(args: list[str], workdir: Path) -> str:
    """Run to the end; -> stdout."""
    proc = start(args, None, workdir / "unused")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"{args}\n{out}\n{err}"
    return out


def resume_args(run: Path) -> list[str]:
    return ["train", "--resume", str(run), "--no-progress"]


def final_state(run: Path) -> dict:
    """Everything a finished run leaves that must not depend on interruptions."""
    weights, meta = read_model_file(run / "model.npz")
    checkpoint = load_checkpoint(run / "checkpoint")
    with open(run / "metrics.csv", newline="") as f:
        metrics = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    history = [{k: v for k, v in row.items() if k != "seconds"}
               for row in checkpoint.meta["history"]["epochs"]]
    return {"weights": weights, "test": meta["test"], "metrics": metrics,
            "checkpoint": checkpoint.arrays, "history": history,
            "position": (checkpoint.meta["epoch"], checkpoint.meta["step"])}


def assert_identical(run: Path, reference: dict) -> None:
    state = final_state(run)
    assert state["weights"].keys() == reference["weights"].keys()
    for key, value in reference["weights"].items():
        assert state["weights"][key].dtype == value.dtype
        assert np.array_equal(state["weights"][key], value), f"{run.name}: {key} differs"
    assert state["checkpoint"].keys() == reference["checkpoint"].keys()
    for key, value in reference["checkpoint"].items():      # optimizer state, history/steps, ...
        assert np.array_equal(state["checkpoint"][key], value, equal_nan=True), key
    for key in ("test", "metrics", "history", "position"):
        assert state[key] == reference[key], f"{run.name}: {key} differs"


# -- the scenarios, each a chain of kills and resumes ------------------------------------------

def during_checkpoint_writes(run: Path, workdir: Path) -> list[str]:
    """SIGKILL in each phase of writing a checkpoint, resuming after each."""
    seen = []
    kill_at([*TRAIN, "--out", str(run)], "checkpoint-data:3", workdir)
    tmp = run / "checkpoint" / f"{LATEST}.tmp"
    assert tmp.is_file(), "the kill should have landed in the middle of a checkpoint write"
    with pytest.raises(DataError):
        read_checkpoint_file(tmp)                     # half a file
    assert load_checkpoint(run / "checkpoint").meta["step"] == 20   # the previous one is intact
    seen.append("half-written checkpoint file (step 30)")

    kill_at(resume_args(run), "checkpoint-rotate:2", workdir)   # resumed at 20: 30 saved, 40
    assert read_checkpoint_file(tmp)[1]["step"] == 40            # complete but not committed
    assert load_checkpoint(run / "checkpoint").meta["step"] == 30
    seen.append("complete temporary file, before any rename (step 40)")

    kill_at(resume_args(run), "checkpoint-commit:3", workdir)   # resumed at 30: 40, 41, 50
    assert not (run / "checkpoint" / LATEST).exists()
    assert load_checkpoint(run / "checkpoint").meta["step"] == 41   # previous.npz
    seen.append("between latest -> previous and tmp -> latest (step 50)")

    kill_at(resume_args(run), "checkpoint-dirsync:4", workdir)  # resumed at 41: 50 .. 80
    assert load_checkpoint(run / "checkpoint").meta["step"] == 80
    seen.append("after the rename, before the directory fsync (step 80)")

    finish(resume_args(run), workdir)
    return seen


def during_training(run: Path, workdir: Path) -> list[str]:
    """SIGKILL before any checkpoint, mid-epoch, in validation and while writing model.npz."""
    seen = []
    kill_at([*TRAIN, "--out", str(run)], "step:6", workdir)
    assert not (run / "checkpoint" / LATEST).exists()
    seen.append("before the first checkpoint (step 6)")

    kill_at(resume_args(run), "step:36", workdir)               # starts over; dies at 36
    assert load_checkpoint(run / "checkpoint").meta["step"] == 30
    seen.append("mid-epoch, between two checkpoints (step 36)")

    kill_at(resume_args(run), "evaluate:1", workdir)            # from 30 to the end of epoch 1
    assert load_checkpoint(run / "checkpoint").meta["step"] == 40
    seen.append("during validation at the end of epoch 1")

    kill_at(resume_args(run), "model-data:1", workdir)          # from 40 to the end
    assert (run / "model.npz.tmp").is_file() and not (run / "model.npz").exists()
    assert load_checkpoint(run / "checkpoint").meta["step"] == STEPS
    seen.append("while writing model.npz, after the last step")

    out = finish(resume_args(run), workdir)                     # nothing left but the files
    assert f"epoch 3, step {STEPS}" in out
    return seen


def at_random_times(run: Path, workdir: Path) -> list[str]:
    """Plain `python -m scratchnn` (no hooks), SIGKILLed at seeded random delays after its
    first checkpoint appears."""
    seen = []
    delays = np.random.default_rng(2024).uniform(0.0, 0.3, 2)
    args = [*TRAIN, "--out", str(run)]
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-m", "scratchnn", *args], env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + TIMEOUT
        while not (run / "checkpoint" / LATEST).exists() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT)
        seen.append(f"{delay:.3f} s after a checkpoint appeared (status {proc.returncode})")
        args = resume_args(run)
    finish(args, workdir)
    return seen


def with_ctrl_c(run: Path, workdir: Path) -> list[str]:
    """SIGINT in the middle of step 52: the step finishes, a checkpoint is saved, exit 130 with
    one line saying how to resume; resuming then finishes the run."""
    proc = start([*TRAIN, "--out", str(run)], "sigint-step:52", workdir / "unused")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"scratchnn train --resume {run}" in lines[0], err
    assert "after step 52" in lines[0]
    assert load_checkpoint(run / "checkpoint").meta["step"] == 52
    finish(resume_args(run), workdir)
    return ["Ctrl-C in the middle of step 52"]


def test_sigkill_at_many_moments_then_resume_gives_bit_identical_weights(tmp_path):
    scenarios = [during_checkpoint_writes, during_training, at_random_times, with_ctrl_c]
    reference = tmp_path / "reference"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        uninterrupted = pool.submit(finish, [*TRAIN, "--out", str(reference)], tmp_path)
        runs = {s.__name__: pool.submit(s, tmp_path / s.__name__, tmp_path) for s in scenarios}
        uninterrupted.result()
        moments = {name: future.result() for name, future in runs.items()}
    expected = final_state(reference)
    assert expected["position"] == (3, STEPS)
    for name in moments:
        assert_identical(tmp_path / name, expected)
    killed = [m for name, ms in moments.items() if name != "with_ctrl_c" for m in ms]
    assert len(killed) >= 5, killed
