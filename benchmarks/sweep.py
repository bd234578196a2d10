"""The sweep, measured (issue 12): a 16-trial random search around the default MLP on
Fashion-MNIST, 3 epochs per trial, run with --workers 1 and with --workers 2 on this machine;
then the default config trained the same 3 epochs. Prints the wall times, their ratio (target
<= 0.6 on 2 cores) and the best trial's validation accuracy beside the default's (target: at
least as high). The random sampler and no pruning make both sweeps run the same 16 trials.

    python benchmarks/sweep.py [--trials 16] [--epochs 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

SPEC = """
[train]
dataset = "fashion-mnist"
model = "mlp"
epochs = {epochs}

[sweep]
trials = {trials}
sampler = "random"
seed = 0
pruner = "none"

[space]
lr = {{ type = "loguniform", low = 3e-4, high = 3e-3 }}
dropout = {{ type = "uniform", low = 0.0, high = 0.4 }}
weight_decay = {{ type = "loguniform", low = 1e-6, high = 1e-3 }}
"""


def scratchnn(*args: str) -> float:
    """Run `scratchnn ARGS` -> its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scratchnn", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def best_val_acc(metrics_or_results: Path, column: str) -> float:
    with open(metrics_or_results, newline="") as f:
        return max(float(row[column]) for row in csv.DictReader(f) if row[column])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="where to put the sweeps (default: temporary)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="scratchnn-bench-sweep-"))
    out.mkdir(parents=True, exist_ok=True)
    spec = out / "spec.toml"
    spec.write_text(SPEC.format(trials=args.trials, epochs=args.epochs))
    seconds = {}
    for workers in (1, 2):
        command = ["sweep", str(spec), "--workers", str(workers), "--out",
                   str(out / f"workers-{workers}"), "--no-progress"]
        seconds[workers] = scratchnn(*command)
        print(f"scratchnn {' '.join(command)}: {seconds[workers]:.1f} s", flush=True)
    default = out / "default"
    scratchnn("train", "--epochs", str(args.epochs), "--out", str(default), "--no-progress")
    swept = best_val_acc(out / "workers-2" / "results.csv", "best_val_acc")
    baseline = best_val_acc(default / "metrics.csv", "val_acc")
    print(f"wall time --workers 2 / --workers 1: {seconds[2] / seconds[1]:.2f} (target <= 0.6)")
    print(f"best validation accuracy: sweep {swept:.4f}, default config {baseline:.4f} "
          f"({args.epochs} epochs; target: sweep >= default)")


if __name__ == "__main__":
    main()
