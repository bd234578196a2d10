"""The same network trained two ways on Fashion-MNIST: compat.cs231n.FullyConnectedNet by
compat.Solver (the course's workflow) and the equivalent native Sequential by the Trainer.
Prints each one's validation accuracy per epoch and seconds per epoch; the two should agree
within seed-to-seed noise (issue 13).

    python benchmarks/compat_solver.py [--epochs 5] [--seeds 0 1 2] [--train N]

Network: {affine - batch norm - relu - dropout (keep 0.5)} x 2 (100 units) - affine - softmax,
Adam lr 1e-3, batch 100, 55000 training / 5000 validation images scaled to [0, 1] minus the
training mean (the same float32 arrays for both), and the same initial weights: the course's
draws (normal, std weight_scale = 5e-2, after np.random.seed(seed)) copied into the Sequential
(its own He initialisation gives the 100-unit layers std 0.14 instead, which trains
differently in 5 epochs). The conventions differ as documented:
compat's batch norm keeps the course's running statistics (eval-time only) and its dropout p
is the keep probability (0.5 either way here).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from machine import describe

from scratchnn import layers as L
from scratchnn.compat import Solver
from scratchnn.compat.cs231n import FullyConnectedNet
from scratchnn.data import load
from scratchnn.layer import Sequential
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.optim import Adam
from scratchnn.train import Trainer


def load_data(n_train: int | None) -> dict[str, np.ndarray]:
    data = load("fashion-mnist", n_train=n_train, n_val=5000)
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float32) / 255
    mean = x.mean(axis=0)
    x_val = data.x_val.reshape(len(data.x_val), -1).astype(np.float32) / 255
    return {"X_train": x - mean, "y_train": data.y_train, "X_val": x_val - mean,
            "y_val": data.y_val}


def course_model(seed: int) -> FullyConnectedNet:
    np.random.seed(seed)                                   # the course's weight draws
    return FullyConnectedNet([100, 100], input_dim=784, num_classes=10, weight_scale=5e-2,
                             normalization="batchnorm", dropout_keep_ratio=0.5)


def course_run(data: dict, epochs: int, seed: int) -> tuple[list[float], float]:
    model = course_model(seed)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=epochs, batch_size=100, num_val_samples=None, verbose=False,
                    seed=seed)
    started = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - started
    return solver.val_acc_history[1:], seconds / epochs  # [0] is before training


def native_run(data: dict, epochs: int, seed: int) -> tuple[list[float], float]:
    rng = np.random.default_rng(seed)
    model = Sequential(
        L.Linear(784, 100, rng=rng), L.BatchNorm1d(100), L.ReLU(), L.Dropout(0.5, rng=rng),
        L.Linear(100, 100, rng=rng), L.BatchNorm1d(100), L.ReLU(), L.Dropout(0.5, rng=rng),
        L.Linear(100, 10, rng=rng))
    params = course_model(seed).params                     # the same initial weights
    for number, linear in enumerate((model[0], model[4], model[8]), start=1):
        linear.weight.data[...] = params[f"W{number}"]
        linear.bias.data[...] = params[f"b{number}"]
    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-3),
                      batch_size=100, seed=seed)
    started = time.perf_counter()
    history = trainer.fit(data["X_train"], data["y_train"], epochs,
                          validation=(data["X_val"], data["y_val"]))
    seconds = time.perf_counter() - started
    return history.column("val_acc"), seconds / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train", type=int, default=None,
                        help="training images (default: all 55000 not held out)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    data = load_data(args.train)
    print(f"{len(data['X_train'])} training, {len(data['X_val'])} validation images, "
          f"{args.epochs} epochs")
    for name, run in (("compat.Solver + FullyConnectedNet", course_run),
                      ("Trainer + Sequential", native_run)):
        finals, times = [], []
        for seed in args.seeds:
            accuracies, per_epoch = run(data, args.epochs, seed)
            finals.append(accuracies[-1])
            times.append(per_epoch)
            print(f"  {name:34s} seed {seed}: val acc by epoch "
                  f"{' '.join(f'{a:.4f}' for a in accuracies)}; {per_epoch:.2f} s/epoch")
        print(f"{name:36s} final val acc {np.mean(finals):.4f} +- {np.std(finals):.4f}, "
              f"{np.mean(times):.2f} s/epoch")


if __name__ == "__main__":
    main()
