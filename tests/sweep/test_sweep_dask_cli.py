"""Sweeps on a real Dask cluster started as users start one: `dask scheduler` and two
`dask worker` processes on 127.0.0.1, the sweep sent there with --scheduler. A worker killed
with SIGKILL in the middle of a trial costs nothing: the trial runs again and results.csv never
holds a partial row."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
TIMEOUT = 600
# Subprocesses as users start them, with one BLAS thread each and no display.
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
SCRATCHNN = [sys.executable, "-m", "scratchnn"]
DASK = str(Path(sys.executable).with_name("dask"))       # the distributed package's CLI
SPACE = ('lr = { type = "loguniform", low = 1e-3, high = 1e-1 }\n'
         'hidden_sizes = { type = "choice", values = [[8], [16]] }')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """-> the scheduler's address; a scheduler and two workers, stopped afterwards."""
    where = tmp_path_factory.mktemp("dask")
    info = where / "scheduler.json"
    processes = [subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(info)], env=ENV, cwd=where,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        address = wait_for(lambda: info.is_file() and json.loads(info.read_text())["address"])
        for _ in range(2):
            processes.append(subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard"], env=ENV, cwd=where,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with connect(address) as client:
            client.wait_for_workers(2, timeout=TIMEOUT)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def connect(address: str):
    from distributed import Client

    return Client(address, timeout="30s")


def wait_for(condition, timeout: float = TIMEOUT, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"not reached in {timeout} s")


def sweep(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([*SCRATCHNN, "sweep", *args, "--no-progress"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_complete(out: Path, trials: int) -> list[dict]:
    """results.csv: a header and `trials` whole rows, all complete; each trial a run directory."""
    text = (out / "results.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    assert all(len(row) == len(rows[0]) for row in rows), "a partial row"
    assert text.endswith("\n") and len(rows) == trials + 1
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["state"] for r in records] == ["complete"] * trials
    assert sorted(p.name for p in (out / "trials").iterdir()) == \
        [f"{n:03d}" for n in range(trials)]                    # no NNN.partial left over
    for record in records:
        files = {p.name for p in (out / record["directory"]).iterdir()}
        assert {"config.toml", "metrics.csv", "model.npz", "report.html", "plots"} <= files
    return records


def test_a_four_trial_sweep_through_scheduler_fills_four_trial_directories(
        cluster, write_spec, tmp_path):
    out = tmp_path / "sweep"
    spec = write_spec('trials = 4\nsampler = "random"\npruner = "none"', SPACE)
    proc = sweep([str(spec), "--scheduler", cluster, "--out", str(out)])
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, stderr
    records = check_complete(out, 4)
    assert {r["worker"] for r in records} <= set(workers_of(cluster))
    assert f"sweep directory: {out}" in stdout


def test_a_worker_killed_in_the_middle_of_a_trial_loses_nothing(cluster, write_spec, tmp_path):
    out = tmp_path / "sweep"
    spec = write_spec('trials = 2\nsampler = "random"\npruner = "none"', SPACE, epochs=3)
    proc = sweep([str(spec), "--scheduler", cluster, "--out", str(out)])
    with connect(cluster) as client:
        def busy_worker():
            running = {w: keys for w, keys in client.processing().items() if keys}
            return next(iter(running), None)

        victim = wait_for(busy_worker)
        time.sleep(0.5)                                   # into the trial
        keys = client.processing()[victim]
        assert keys, "the trial ended before the kill"
        killed = int(str(keys[0]).rsplit("-", 1)[1])      # key: <channel>-trial-<number>
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, stderr
    records = check_complete(out, 2)
    assert records[killed]["worker"] != victim            # run again, by a live worker


def workers_of(address: str) -> list[str]:
    with connect(address) as client:
        return list(client.nthreads())
