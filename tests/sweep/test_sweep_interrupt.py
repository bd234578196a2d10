"""Ctrl-C stops a sweep cleanly and prints the resume command; `--resume DIR` runs only the
trials still missing: the ones finished before are not run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

TIMEOUT = 600
# Subprocesses as users start them, with one BLAS thread each and no display.
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
SCRATCHNN = [sys.executable, "-m", "scratchnn"]


def test_ctrl_c_then_resume_runs_only_the_missing_trials(write_spec, results, tmp_path):
    out = tmp_path / "sweep"
    spec = write_spec('trials = 2\nsampler = "random"\nseed = 2\npruner = "none"',
                      'lr = { type = "loguniform", low = 1e-3, high = 1e-1 }')
    command = [*SCRATCHNN, "sweep", str(spec), "--workers", "1", "--out", str(out),
               "--no-progress"]
    # Its own process group, Ctrl-C enabled: a terminal's Ctrl-C reaches the driver and its
    # worker processes alike.
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + TIMEOUT
    while not ((out / "results.csv").is_file() and results(out)):    # one trial finished
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, stderr
    assert f"resume with: scratchnn sweep --resume {out}" in stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr                     # workers leave Ctrl-C to the driver

    before = results(out)
    assert len(before) == 1                               # one worker: one trial at a time
    stamps = {row["directory"]: (out / row["directory"] / "model.npz").stat()
              for row in before}
    resumed = subprocess.run([*SCRATCHNN, "sweep", "--resume", str(out), "--no-progress"],
                             env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr
    after = results(out)
    assert [r["trial"] for r in after] == ["0", "1"]
    assert [r["state"] for r in after] == ["complete"] * 2
    assert after[:len(before)] == before                  # the same rows, seconds included
    for directory, stat in stamps.items():                # not written again
        again = (out / directory / "model.npz").stat()
        assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
