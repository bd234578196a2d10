"""Batch normalisation across weight scales ("Deep Learning from Scratch" ch. 6,
batch_norm_test.py): a MultiLayerNet with 5 hidden layers of 100, trained with SGD on 1000
training images for 20 epochs, with and without batch norm, for 16 initial weight scales from
1 down to 1e-4.

For each scale both networks start from the same Linear weights (the same seed; batch norm adds
no random numbers) and see the same batches. Without batch norm only a narrow band of scales
learns; with it, almost every scale does.

Writes batchnorm.png (the book's grid: training accuracy per epoch, one panel per scale),
final.png (final training and test accuracy against the scale), curves.csv (every epoch) and
results.csv (the final accuracies per scale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchnn import optim
from scratchnn.errors import ConfigError
from scratchnn.experiments.common import (
    ExperimentResult,
    Log,
    Stopwatch,
    fit_epochs,
    load_data,
    quiet,
    save_figure,
    write_csv,
)
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.train.trainer import Trainer
from scratchnn.viz.images import plt


def run(out: str | Path, *, dataset: str = "fashion-mnist", samples: int | None = 1000,
        epochs: int = 20, batch_size: int = 100, lr: float = 0.01, scales: int = 16,
        hidden_sizes: Sequence[int] = (100,) * 5, seed: int = 0, test_samples: int | None = None,
        log: Log = quiet) -> ExperimentResult:
    """Train with and without batch norm at `scales` weight scales, np.logspace(0, -4, scales)."""
    if scales < 1:
        raise ConfigError(f"scales must be a positive integer, got {scales}")
    clock, out = Stopwatch(), Path(out)
    data = load_data(dataset, samples=samples, test_samples=test_samples, seed=seed)
    curves, table, notes = [], [], []
    for scale in np.logspace(0, -4, scales):
        scale = float(scale)
        row: dict[str, object] = {"weight_scale": scale}
        for batchnorm in (False, True):
            model = MultiLayerNet(data.input_size, hidden_sizes, data.num_classes,
                                  weight_init=scale, batchnorm=batchnorm,
                                  rng=np.random.default_rng([seed, 3]))
            trainer = Trainer(model, SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr),
                              batch_size=batch_size, seed=seed, preprocess=data.prepare,
                              keep_best=False)
            rows, diverged = fit_epochs(trainer, data, epochs)
            curves += [{"weight_scale": scale, "batchnorm": batchnorm, **r} for r in rows]
            tag = "bn" if batchnorm else "plain"
            row[f"train_acc_{tag}"] = rows[-1]["train_acc"]
            row[f"test_acc_{tag}"] = rows[-1]["test_acc"]
            if diverged is not None:
                notes.append(f"scale {scale:.3g} {'with' if batchnorm else 'without'} batch "
                             f"norm: training diverged in epoch {diverged} (x in the plot; "
                             "accuracies of the weights before the diverging step)")
        table.append(row)
        log(f"weight scale {scale:<10.3g} train accuracy without BN {row['train_acc_plain']:.4f}"
            f"  with BN {row['train_acc_bn']:.4f}")

    files = [
        save_figure(_grid(curves, data.name), out / "batchnorm.png"),
        save_figure(_final(table, data.name), out / "final.png"),
        write_csv(out / "curves.csv", curves),
        write_csv(out / "results.csv", table),
    ]
    notes.insert(0, f"{data.name}: {len(data.x_train)} training samples, SGD lr {lr}, batch "
                    f"{batch_size}, {epochs} epochs, hidden layers {list(hidden_sizes)}; "
                    "accuracies after the last epoch, in eval mode")
    return ExperimentResult("batchnorm", out, table, files, clock(), notes)


def _grid(curves: list[dict], dataset: str):
    scales = list(dict.fromkeys(row["weight_scale"] for row in curves))
    columns = math.ceil(math.sqrt(len(scales)))
    rows = math.ceil(len(scales) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.1 * rows), dpi=100,
                             squeeze=False, sharex=True, sharey=True)
    for ax in axes.flat[len(scales):]:
        ax.axis("off")
    for ax, scale in zip(axes.flat, scales, strict=False):
        for batchnorm, style, label in ((True, "-", "batch norm"), (False, "--", "without")):
            points = [r for r in curves if r["weight_scale"] == scale
                      and r["batchnorm"] == batchnorm]
            color = "tab:blue" if batchnorm else "tab:orange"
            ax.plot([r["epoch"] for r in points], [r["train_acc"] for r in points], style,
                    color=color, lw=1.5, label=label)
            if points and points[-1]["diverged"]:       # training stopped here
                ax.plot(points[-1]["epoch"], points[-1]["train_acc"], "x", color=color, ms=7)
        ax.set_title(f"w = {scale:.3g}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"training accuracy per epoch on {dataset}: batch norm (solid) vs without "
                 "(dashed); x: training diverged", fontsize=10)
    return fig


def _final(table: list[dict], dataset: str):
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    scales = [row["weight_scale"] for row in table]
    for key, style, label in (("train_acc_bn", "o-", "train, batch norm"),
                              ("test_acc_bn", "s-", "test, batch norm"),
                              ("train_acc_plain", "o--", "train, without"),
                              ("test_acc_plain", "s--", "test, without")):
        ax.plot(scales, [row[key] for row in table], style, lw=1.3, markersize=4, label=label,
                color="tab:blue" if key.endswith("bn") else "tab:orange",
                alpha=1.0 if key.startswith("train") else 0.6)
    ax.set_xscale("log")
    ax.set_xlabel("initial weight scale (std)")
    ax.set_ylabel("accuracy after the last epoch")
    ax.set_ylim(0, 1)
    ax.set_title(f"batch norm across weight scales ({dataset})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig
