"""`scratchnn doctor` on Fashion-MNIST, timed: in child processes, the wall time of the doctor
on a fresh default `mlp`, on a fresh `cnn` and on a run directory of the mlp (trained for one
epoch first, not timed), with the child's peak resident memory.
Target (issues 7 and 16): under a minute each on 2 cores, with the default 2000 samples.
--threads sets OPENBLAS_NUM_THREADS for the children (on a busy shared machine, 1 is faster).

    python benchmarks/doctor.py [--run DIR] [--samples N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe


def scratchnn(*args: str) -> tuple[float, int]:
    """Run `python -m scratchnn ARGS` -> (wall seconds, exit status); stdout is discarded."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scratchnn", *args], capture_output=True,
                          text=True)
    if done.returncode not in (0, 3):                 # 3: the report lists problems
        sys.exit(f"scratchnn {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run directory (default: train one "
                        "for one epoch into a temporary directory)")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1, help="time each case K times")
    parser.add_argument("--threads", help="OPENBLAS_NUM_THREADS and OMP_NUM_THREADS of the "
                        "children (default: as inherited)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    if args.threads:
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = args.threads
    scratch = Path(tempfile.mkdtemp(prefix="scratchnn-doctor-"))
    run = args.run
    if run is None:
        run = scratch / "run"
        scratchnn("train", "--epochs", "1", "--out", str(run), "--no-progress")
    cases = {
        "fresh default mlp": ["doctor", "--model", "mlp", "--dataset", "fashion-mnist",
                              "--out", str(scratch / "fresh")],
        "fresh cnn": ["doctor", "--model", "cnn", "--dataset", "fashion-mnist",
                      "--out", str(scratch / "fresh-cnn")],
        f"run directory {run}": ["doctor", str(run), "--out", str(scratch / "run-report")],
    }
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start, "
          f"{args.samples} samples, BLAS threads {threads}")
    for name, command in cases.items():
        for _ in range(args.repeat):
            seconds, status = scratchnn(*command, "--samples", str(args.samples))
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
            print(f"  {name}: {seconds:.1f} s wall (exit {status}; peak memory of any child so "
                  f"far {peak:.0f} MiB; load average {os.getloadavg()[0]:.1f})")
    print(f"reports in {scratch}")


if __name__ == "__main__":
    main()
