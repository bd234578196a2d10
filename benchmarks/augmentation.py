"""Does augmentation help? The same training run with and without random crop + flip, side by side.

    python benchmarks/augmentation.py [--model cnn] [--dataset fashion-mnist] [--epochs 10]
                                      [-- extra scratchnn train flags]

Runs `scratchnn train` twice in child processes (same seed, model, schedule and epochs; the
second adds --augment, i.e. crop padding 2 and horizontal flips for Fashion-MNIST) and prints
the test accuracy and wall time of each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def scratchnn(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scratchnn", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, help="parent of the two run directories")
    parser.add_argument("extra", nargs="*", help="extra flags for scratchnn train (after --)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="scratchnn-augment-"))
    for name, flags in (("plain", ["--no-augment"]), ("augmented", ["--augment"])):
        command = ["train", "--model", args.model, "--dataset", args.dataset, "--epochs",
                   str(args.epochs), "--out", str(out / name), "--no-progress", *flags,
                   *args.extra]
        started = time.perf_counter()
        scratchnn(*command)
        seconds = time.perf_counter() - started
        test = json.loads(scratchnn("evaluate", str(out / name), "--json").stdout)
        print(f"scratchnn {' '.join(command)}")
        print(f"  {name:<10} test accuracy {test['accuracy']:.4f}   test loss "
              f"{test['loss']:.4f}   wall time {seconds / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
