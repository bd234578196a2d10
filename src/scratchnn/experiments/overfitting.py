"""Overfitting and two cures ("Deep Learning from Scratch" ch. 6, overfit_weight_decay.py and
overfit_dropout.py): a MultiLayerNet with 6 hidden layers of 100 trained with SGD on only 300
training images for 200 epochs, with no regularisation, with dropout, with the course-style L2
term (the book's weight_decay_lambda: the Trainer's l2_reg), and with both.

All four networks start from the same weights (one state_dict, loaded into each) and see the
same batches. Training and test accuracy are measured after every epoch in eval mode (dropout
off); the gap between them is the overfitting.

Writes accuracy.png (train and test accuracy per epoch, one panel per variant), curves.csv
(every epoch) and results.csv (final and best accuracies, the final gap).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchnn import optim
from scratchnn.experiments.common import (
    ExperimentResult,
    Log,
    Stopwatch,
    fit_epochs,
    load_data,
    quiet,
    save_figure,
    set_parameters,
    write_csv,
)
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.train.trainer import Trainer
from scratchnn.viz.images import plt


def run(out: str | Path, *, dataset: str = "fashion-mnist", samples: int | None = 300,
        epochs: int = 200, batch_size: int = 100, lr: float = 0.01, dropout: float = 0.2,
        l2_reg: float = 0.1, hidden_sizes: Sequence[int] = (100,) * 6, seed: int = 0,
        test_samples: int | None = None, log: Log = quiet) -> ExperimentResult:
    """Train the four variants on `samples` training images and compare train/test accuracy."""
    clock, out = Stopwatch(), Path(out)
    data = load_data(dataset, samples=samples, test_samples=test_samples, seed=seed)
    variants = {"none": (0.0, 0.0), f"dropout {dropout:g}": (dropout, 0.0),
                f"L2 term {l2_reg:g}": (0.0, l2_reg), "dropout + L2 term": (dropout, l2_reg)}
    initial = None
    curves: dict[str, list[dict]] = {}
    table = []
    for name, (p, reg) in variants.items():
        model = MultiLayerNet(data.input_size, hidden_sizes, data.num_classes, dropout=p,
                              rng=np.random.default_rng([seed, 4]))
        if initial is None:                 # dropout adds no parameters: one set fits all
            initial = [p.data.copy() for p in model.parameters()]
        set_parameters(model, initial)
        trainer = Trainer(model, SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr),
                          batch_size=batch_size, seed=seed, preprocess=data.prepare,
                          l2_reg=reg, keep_best=False)
        rows, diverged = fit_epochs(trainer, data, epochs)
        curves[name] = rows
        last = rows[-1]
        table.append({"regularisation": name, "dropout": p, "l2_reg": reg,
                      "train_acc": last["train_acc"], "test_acc": last["test_acc"],
                      "gap": last["train_acc"] - last["test_acc"],
                      "best_test_acc": max(r["test_acc"] for r in rows),
                      "epochs": int(last["epoch"])})
        log(f"{name:<24} train {last['train_acc']:.4f}  test {last['test_acc']:.4f}  "
            f"gap {last['train_acc'] - last['test_acc']:.4f}"
            + (f"  (diverged in epoch {diverged})" if diverged else ""))

    files = [
        save_figure(_plot(curves, data.name, len(data.x_train)), out / "accuracy.png"),
        write_csv(out / "curves.csv", [{"regularisation": name, **row}
                                       for name, rows in curves.items() for row in rows]),
        write_csv(out / "results.csv", table),
    ]
    notes = [f"{data.name}: {len(data.x_train)} training samples, {len(data.x_test)} test "
             f"samples, SGD lr {lr}, batch {batch_size}, hidden layers {list(hidden_sizes)}; "
             "accuracies after the last epoch, in eval mode"]
    return ExperimentResult("overfitting", out, table, files, clock(), notes)


def _plot(curves: dict[str, list[dict]], dataset: str, samples: int):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=100, sharex=True, sharey=True)
    for ax, (name, rows) in zip(axes.flat, curves.items(), strict=True):
        epochs = [r["epoch"] for r in rows]
        ax.plot(epochs, [r["train_acc"] for r in rows], label="train", lw=1.4)
        ax.plot(epochs, [r["test_acc"] for r in rows], label="test", lw=1.4)
        gap = rows[-1]["train_acc"] - rows[-1]["test_acc"]
        ax.set_title(f"{name}: gap {gap:.2f} at the end", fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    fig.suptitle(f"{samples} training images of {dataset}: train vs test accuracy", fontsize=11)
    return fig
