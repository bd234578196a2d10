"""Which test views? Accuracy of trained runs on their own validation images and on the test set,
averaged over growing sets of views: how `--tta`'s views (mirror x moves left and right) were
chosen, on validation images, and what they give on the test set.

    python benchmarks/tta.py RUN [RUN ...]

For each run directory (trained by `scratchnn train`, with a val_fraction split), prints the
accuracy of the plain network, of the image and its mirror (2 views), of both moved one pixel
left and right (6, what --tta uses), of both moved one pixel in the four directions (10), and
of both moved to every offset of a 3x3 square (18). The runs' own test_views are not used: the
views are made here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import describe

import scratchnn  # noqa: F401  (before numpy's BLAS starts: the command's thread settings)
from scratchnn.labels import class_labels
from scratchnn.train import Run
from scratchnn.train.evaluate import predict_scores
from scratchnn.train.run import split_validation

VIEW_SETS = {
    "plain": [(False, 0, 0)],
    "mirror (2)": [(f, 0, 0) for f in (False, True)],
    "mirror x left/right (6, --tta)": [(f, 0, dx) for f in (False, True) for dx in (0, 1, -1)],
    "mirror x 4 directions (10)": [(f, dy, dx) for f in (False, True)
                                   for dy, dx in ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))],
    "mirror x 3x3 offsets (18)": [(f, dy, dx) for f in (False, True)
                                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)],
}


def view(x: np.ndarray, flip: bool, dy: int, dx: int) -> np.ndarray:
    """x (N, C, H, W) mirrored, then moved dy pixels down and dx right, zero-filled."""
    if flip:
        x = x[..., ::-1]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = x.shape[2:]
    return np.ascontiguousarray(padded[:, :, 1 - dy:1 - dy + h, 1 - dx:1 - dx + w])


def validation_split(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The run's validation images, drawn as scratchnn.train.run.run_training draws them."""
    config = run.train_config()
    data = run.load_dataset(as_trained=True)
    split_rng, _ = np.random.default_rng(config.seed).spawn(2)
    _, _, x_val, y_val = split_validation(data.x_train, data.y_train, config.val_fraction,
                                          split_rng)
    return x_val, y_val


def accuracies(run: Run, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    model, labels = run.load_model(), class_labels(y)
    scores = {key: predict_scores(model, view(x, *key), run.prepare, 500)
              for key in {key for keys in VIEW_SETS.values() for key in keys}}
    return {name: float(np.mean(sum(scores[k] for k in keys).argmax(axis=1) == labels))
            for name, keys in VIEW_SETS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    table = {}
    for directory in args.runs:
        run = Run.open(directory)
        started = time.perf_counter()
        data = run.load_dataset(as_trained=True)
        table[directory] = (accuracies(run, *validation_split(run)),
                            accuracies(run, data.x_test, data.y_test))
        print(f"{directory}: {time.perf_counter() - started:.0f} s", flush=True)
    for split, column in (("validation", 0), ("test", 1)):
        print(f"\n{split} accuracy")
        print(f"{'views':32s}" + "".join(f"{d.name[-14:]:>15s}" for d in table) + "     mean")
        for name in VIEW_SETS:
            values = [row[column][name] for row in table.values()]
            print(f"{name:32s}" + "".join(f"{v:15.4f}" for v in values)
                  + f"{np.mean(values):9.4f}")


if __name__ == "__main__":
    main()
