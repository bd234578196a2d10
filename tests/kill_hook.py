"""Test-only hooks that make a `scratchnn train` subprocess stop at a chosen moment, so that the
test can SIGKILL it right there (tests/test_kill_resume.py). Nothing here is part of scratchnn.

The child runs `python -c BOOT train ...`: BOOT imports this module, calls install(), then runs
scratchnn's __main__ exactly as `python -m scratchnn` does. SCRATCHNN_TEST_PAUSE="EVENT:N"
names the moment, the N-th EVENT of the process:

    checkpoint-data     half of latest.npz.tmp is written (a deliberately slow writer)
    checkpoint-rotate   latest.npz.tmp is complete and fsynced; nothing renamed yet
    checkpoint-commit   latest.npz has become previous.npz; the new file is not yet latest.npz
    checkpoint-dirsync  latest.npz is in place; the directory is not yet fsynced
    model-data          half of model.npz.tmp is written
    step                a training step starts
    evaluate            an evaluation starts (validation at the end of an epoch, or the test)
    sigint-step         a training step starts, and the process sends itself SIGINT (Ctrl-C)

At the moment, the hook writes the file SCRATCHNN_TEST_MARKER and sleeps until it is killed
(except sigint-step, which carries on).
"""

from __future__ import annotations

import io
import os
import signal
import stat
import sys
import time
from pathlib import Path

BOOT = ("import sys, runpy; sys.path.insert(0, {tests!r}); import kill_hook; "
        "kill_hook.install(); runpy.run_module('scratchnn', run_name='__main__', alter_sys=True)")

_counts: dict[str, int] = {}


def command(*args: str) -> list[str]:
    """The argv of a `scratchnn` child process with the hooks installed."""
    return [sys.executable, "-c", BOOT.format(tests=str(Path(__file__).parent)), *args]


def _reached(event: str) -> bool:
    """Count `event`; True when it is the one SCRATCHNN_TEST_PAUSE waits for."""
    _counts[event] = _counts.get(event, 0) + 1
    wanted, _, count = os.environ.get("SCRATCHNN_TEST_PAUSE", "").partition(":")
    return wanted == event and _counts[event] == int(count or 1)


def _stop_here() -> None:
    Path(os.environ["SCRATCHNN_TEST_MARKER"]).write_text(str(os.getpid()))
    while True:                      # until SIGKILL
        time.sleep(1)


def install() -> None:
    import numpy as np

    from scratchnn.train.trainer import Trainer

    real_savez, real_replace, real_fsync = np.savez, os.replace, os.fsync

    def savez(file, *args, **kwargs):
        name = getattr(file, "name", str(file))
        event = ("checkpoint-data" if name.endswith("latest.npz.tmp") else
                 "model-data" if name.endswith("model.npz.tmp") else None)
        if event is None or not _reached(event):
            return real_savez(file, *args, **kwargs)
        buffer = io.BytesIO()
        real_savez(buffer, *args, **kwargs)
        data = buffer.getvalue()
        file.write(data[:len(data) // 2])
        file.flush()
        os.fsync(file.fileno())
        _stop_here()

    def replace(src, dst, *args, **kwargs):
        src, dst = str(src), str(dst)
        if src.endswith("latest.npz.tmp") and _reached("checkpoint-commit"):
            _stop_here()
        if src.endswith("latest.npz") and dst.endswith("previous.npz") \
                and _reached("checkpoint-rotate"):
            _stop_here()
        return real_replace(src, dst, *args, **kwargs)

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode) \
                and os.readlink(f"/proc/self/fd/{fd}").endswith("/checkpoint") \
                and _reached("checkpoint-dirsync"):
            _stop_here()
        return real_fsync(fd)

    real_step, real_evaluate = Trainer.train_step, Trainer.evaluate

    def train_step(self, x, y):
        if _reached("step"):
            _stop_here()
        if _reached("sigint-step"):
            os.kill(os.getpid(), signal.SIGINT)     # arrives in the middle of this step
        return real_step(self, x, y)

    def evaluate(self, x, y):
        if _reached("evaluate"):
            _stop_here()
        return real_evaluate(self, x, y)

    np.savez, os.replace, os.fsync = savez, replace, fsync
    # Ctrl-C as in a terminal, even if the test runner ignores SIGINT (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    Trainer.train_step, Trainer.evaluate = train_step, evaluate
