"""Does augmentation help? The same training run with and without random crop + flip, side by side.

    python benchmarks/augmentation.py [--model cnn] [--dataset fashion-mnist] [--epochs N]
                                      [--seeds 0 1 2] [-- extra scratchnn train flags]

For each seed, runs `scratchnn train` twice in child processes (same seed, model, schedule and
epochs; the second adds --augment, i.e. crop padding 2 and horizontal flips for Fashion-MNIST)
and prints the test accuracy and wall time of each; then, over the seeds, the mean accuracy of
each and the mean gain with its standard error. Without --epochs the preset's own default is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", type=int, help="default: the preset's own (scratchnn train)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, help="parent of the run directories")
    parser.add_argument("extra", nargs="*", help="extra flags for scratchnn train (after --)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="scratchnn-augment-"))
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    accuracy: dict[str, list[float]] = {"plain": [], "augmented": []}
    for seed in args.seeds:
        for name, flag in (("plain", "--no-augment"), ("augmented", "--augment")):
            run = out / f"{name}-seed{seed}"
            command = ["train", "--model", args.model, "--dataset", args.dataset, *epochs,
                       "--seed", str(seed), "--out", str(run), "--no-progress", flag,
                       *args.extra]
            started = time.perf_counter()
            scratchnn(*command)
            seconds = time.perf_counter() - started
            test = json.loads(scratchnn("evaluate", str(run), "--json").stdout)
            accuracy[name].append(test["accuracy"])
            print(f"scratchnn {' '.join(command)}")
            print(f"  {name:<10} seed {seed}  test accuracy {test['accuracy']:.4f}   test loss "
                  f"{test['loss']:.4f}   wall time {seconds / 60:.1f} min", flush=True)
    gains = [a - p for a, p in zip(accuracy["augmented"], accuracy["plain"], strict=True)]
    error = statistics.stdev(gains) / len(gains) ** 0.5 if len(gains) > 1 else float("nan")
    print(f"over {len(gains)} seed(s): plain {statistics.mean(accuracy['plain']):.4f}, augmented "
          f"{statistics.mean(accuracy['augmented']):.4f}, gain {statistics.mean(gains):+.4f} "
          f"(standard error {error:.4f}; augmented better in {sum(g > 0 for g in gains)} of "
          f"{len(gains)})")


if __name__ == "__main__":
    main()
