"""Data speed: loading Fashion-MNIST (and CIFAR-10 when present), and whether the batch iterator
with augmentation keeps up with training.

    python benchmarks/data_load.py [--epochs-timed 1]

1. Load all of Fashion-MNIST from its four .gz IDX files (median of 3; target < 2 s); the same
   for CIFAR-10 when `scratchnn datasets` finds it.
2. One epoch of the default run's data pipeline without the model (54000 training images,
   batch 128, shuffled): the iterator alone, + augmentation (random crop, padding 2, and flip),
   + standardisation; images per second.
3. One training epoch of the default model (mlp, Adam) with the same augmentation, and the share
   of its time that the iterator and augmentation take.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from machine import describe

import scratchnn as snn
import scratchnn.data as data
from scratchnn.data.transforms import Augment, Standardize, augment_rng
from scratchnn.errors import DataError


def _median_load(name: str) -> tuple[float, list[float], data.Dataset]:
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        dataset = data.load(name)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), seconds, dataset


def _pipeline_epoch(x, y, seed: int, epoch: int, augment=None, prepare=None) -> float:
    """Seconds for one shuffled pass of batches of 128, each augmented and prepared if given."""
    started = time.perf_counter()
    rng = np.random.default_rng([seed, epoch])
    for i, (xb, _) in enumerate(data.batches(x, y, 128, shuffle=True, rng=rng)):
        if augment is not None:
            xb = augment(xb, augment_rng(seed, epoch, i))
        if prepare is not None:
            xb = prepare(xb)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-timed", type=int, default=1,
                        help="training epochs to time (the median is reported)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    try:
        directory = data.registry.find("fashion-mnist")
        if directory is None:
            data.load("fashion-mnist")  # raises the message that says how to get it
    except DataError as error:
        print(f"skipped: {error}")
        return
    median, seconds, dataset = _median_load("fashion-mnist")
    print(f"{dataset!r} from {directory}")
    print(f"load: {median:.3f} s (median of 3: {', '.join(f'{s:.3f}' for s in seconds)})")
    if data.registry.find("cifar10") is not None:
        median, seconds, cifar = _median_load("cifar10")
        print(f"{cifar!r} from {data.registry.find('cifar10')}: load {median:.3f} s")
    else:
        print("cifar10: not found (python -m scratchnn.data.download cifar10), not timed")

    x, y = dataset.x_train[:54000], dataset.y_train[:54000]   # the default run's training part
    augment = Augment.for_dataset("fashion-mnist", x.shape[1:])
    standardize = Standardize.fit(x)
    print(f"\none epoch of batches of 128 over {len(x)} images, {augment}:")
    timings = {}
    for label, kwargs in [("iterator", {}), ("iterator + augment", {"augment": augment}),
                          ("iterator + augment + standardize",
                           {"augment": augment, "prepare": standardize})]:
        runs = [_pipeline_epoch(x, y, 0, epoch, **kwargs) for epoch in range(3)]
        timings[label] = statistics.median(runs)
        print(f"  {label:<34} {timings[label]:6.3f} s  {len(x) / timings[label]:>10,.0f} img/s")

    epochs = []
    for epoch in range(args.epochs_timed):
        model = snn.models.build("mlp", x.shape[1:], 10, rng=np.random.default_rng(0))
        trainer = snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                              snn.optim.Adam(model.parameters(), lr=1e-3), batch_size=128,
                              seed=epoch, augment=augment)
        trainer.fit(x, y, epochs=1)
        epochs.append(trainer.history[-1]["seconds"])
    train = statistics.median(epochs)
    share = timings["iterator + augment"] / train
    with_standardize = timings["iterator + augment + standardize"] / train
    print(f"\ntraining epoch of the default mlp with that augmentation: {train:.2f} s "
          f"({len(x) / train:,.0f} img/s)")
    print(f"iterator + augmentation: {100 * share:.1f}% of the epoch "
          f"(with standardisation: {100 * with_standardize:.1f}%)")


if __name__ == "__main__":
    main()
