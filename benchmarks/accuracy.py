"""The default run, measured: `scratchnn train` with its defaults on Fashion-MNIST, in a child
process; prints the test accuracy, the wall time and the child's peak resident memory.
Targets (issue 2): accuracy >= 0.89, time <= 3 min on 2 cores, peak memory < 1 GB.

    python benchmarks/accuracy.py [--out DIR] [-- extra scratchnn train flags]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe


def scratchnn(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scratchnn", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    parser.add_argument("extra", nargs="*", help="extra flags for scratchnn train (after --)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="scratchnn-bench-")) / "run"
    command = ["train", "--out", str(out), "--no-progress", *args.extra]
    started = time.perf_counter()
    scratchnn(*command)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    test = json.loads(scratchnn("evaluate", str(out), "--json").stdout)
    print(f"scratchnn {' '.join(command)}")
    print(f"  test accuracy {test['accuracy']:.4f}   test loss {test['loss']:.4f}   "
          f"wall time {seconds:.1f} s   peak memory {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
