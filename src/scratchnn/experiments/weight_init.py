"""Weight initialisation ("Deep Learning from Scratch" ch. 6, weight_init_compare.py and
weight_init_activation_histogram.py): std 0.01 vs Xavier vs He, with ReLU and with sigmoid.

For each activation and initialisation, a MultiLayerNet (5 hidden layers of 100) is built from
the same seed, so the three initialisations are the same random numbers at three scales. First
the activations of every hidden layer are measured on a batch of training images at
initialisation (do they vanish, saturate or keep their spread?), then each network is trained
with SGD on the same batches to see what that does to learning.

Writes activations.png (a histogram per configuration and layer), activations.csv (per layer:
mean, std, fraction of zeros and of saturated sigmoids), loss.png (smoothed training loss, one
panel per activation), loss_curves.csv and results.csv.
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
    batch_schedule,
    load_data,
    quiet,
    save_figure,
    smoothed,
    tail_mean,
    train_iterations,
    write_csv,
)
from scratchnn.layers import ReLU, Sigmoid
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.train.trainer import Trainer
from scratchnn.viz.images import plt

INITS: dict[str, str | float] = {"std 0.01": 0.01, "Xavier": "xavier", "He": "he"}
ACTIVATIONS = ("relu", "sigmoid")


def run(out: str | Path, *, dataset: str = "fashion-mnist", iterations: int = 2000,
        batch_size: int = 128, lr: float = 0.01, hidden_sizes: Sequence[int] = (100,) * 5,
        histogram_samples: int = 1000, seed: int = 0, samples: int | None = None,
        test_samples: int | None = None, log: Log = quiet) -> ExperimentResult:
    """Activation statistics at initialisation, then SGD training, for each configuration."""
    clock, out = Stopwatch(), Path(out)
    data = load_data(dataset, samples=samples, test_samples=test_samples, seed=seed)
    rng = np.random.default_rng(seed)
    schedule = batch_schedule(len(data.x_train), batch_size, iterations, rng)
    probe = data.prepare(data.x_train[rng.permutation(len(data.x_train))[:histogram_samples]])

    activations: dict[tuple[str, str], list[np.ndarray]] = {}
    curves: dict[tuple[str, str], list[float]] = {}
    table, stats = [], []
    for activation in ACTIVATIONS:
        for init_name, init in INITS.items():
            model = MultiLayerNet(data.input_size, hidden_sizes, data.num_classes,
                                  activation=activation, weight_init=init,
                                  rng=np.random.default_rng([seed, 2]))
            init_std = float(np.std(model[1].weight.data))     # the first Linear, as drawn
            layers = hidden_activations(model, probe)
            activations[activation, init_name] = layers
            stats += [{"activation": activation, "init": init_name, "layer": i + 1,
                       **activation_stats(a, activation)} for i, a in enumerate(layers)]
            trainer = Trainer(model, SoftmaxCrossEntropy(),
                              optim.SGD(model.parameters(), lr), batch_size=batch_size,
                              seed=seed, preprocess=data.prepare)
            losses, diverged = train_iterations(trainer, data, schedule)
            test = trainer.evaluate(data.x_test, data.y_test)
            curves[activation, init_name] = losses
            row = {"activation": activation, "init": init_name,
                   "first_layer_init_std": init_std,
                   "final_train_loss": tail_mean(losses), "test_loss": test["loss"],
                   "test_accuracy": test["accuracy"]}
            if diverged is not None:
                row["diverged_at"] = diverged
            table.append(row)
            log(f"{activation:<8}{init_name:<9} last-layer activation std "
                f"{np.std(layers[-1]):.3g}  final loss {row['final_train_loss']:.4f}  "
                f"test accuracy {test['accuracy']:.4f}")

    names = [f"{a} {i}" for a, i in curves]
    files = [
        save_figure(_histograms(activations), out / "activations.png"),
        write_csv(out / "activations.csv", stats),
        save_figure(_losses(curves, data.name, lr), out / "loss.png"),
        write_csv(out / "loss_curves.csv",
                  [{"iteration": i + 1, **{f"{a} {n}": c[i] for (a, n), c in curves.items()
                                           if i < len(c)}} for i in range(iterations)],
                  ["iteration", *names]),
        write_csv(out / "results.csv", table),
    ]
    notes = [f"{data.name}: SGD lr {lr}, batch {batch_size}, {iterations} iterations, hidden "
             f"layers {list(hidden_sizes)}; activations measured on {len(probe)} training images "
             "at initialisation"]
    return ExperimentResult("init", out, table, files, clock(), notes)


def hidden_activations(model, x: np.ndarray) -> list[np.ndarray]:
    """The output of every activation layer of `model` for input x, in eval mode."""
    model.eval()
    outputs = []
    for layer in model:
        x = layer.forward(x)
        if isinstance(layer, ReLU | Sigmoid):
            outputs.append(x)
    model.train()
    return outputs


def activation_stats(a: np.ndarray, activation: str) -> dict[str, float]:
    """mean, std, the fraction of exact zeros (dead ReLUs) and of saturated sigmoid outputs
    (below 0.01 or above 0.99, where the gradient y(1-y) is under 0.01)."""
    return {"mean": float(a.mean()), "std": float(a.std()),
            "zero_fraction": float(np.mean(a == 0)),
            "saturated_fraction": (float(np.mean((a < 0.01) | (a > 0.99)))
                                   if activation == "sigmoid" else 0.0)}


def _histograms(activations: dict[tuple[str, str], list[np.ndarray]]):
    rows, columns = len(activations), max(len(v) for v in activations.values())
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 1.6 * rows), dpi=100,
                             squeeze=False, sharey="row")
    for r, ((activation, init), layers) in enumerate(activations.items()):
        # sigmoid outputs live in (0, 1); ReLU's zeros are counted, not drawn, and its range is
        # the row's 99.5th percentile, so a vanishing row shows as tiny values, not a blank
        if activation == "sigmoid":
            span = (0.0, 1.0)
        else:
            positive = np.concatenate([a[a > 0] for a in layers])
            span = (0.0, float(np.percentile(positive, 99.5)) if positive.size else 1.0)
        for c, ax in enumerate(axes[r]):
            if c >= len(layers):
                ax.axis("off")
                continue
            a = layers[c].reshape(-1)
            shown = a[a > 0] if activation == "relu" else a
            ax.hist(shown, bins=30, range=span, color="tab:blue" if activation == "relu"
                    else "tab:green")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            if activation == "relu":
                ax.text(0.97, 0.9, f"zeros {np.mean(a == 0):.0%}", transform=ax.transAxes,
                        ha="right", fontsize=7)
            if r == 0:
                ax.set_title(f"layer {c + 1}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{activation}\n{init}", fontsize=9)
    fig.suptitle("hidden-layer activations at initialisation", fontsize=10)
    return fig


def _losses(curves: dict[tuple[str, str], list[float]], dataset: str, lr: float):
    fig, axes = plt.subplots(1, len(ACTIVATIONS), figsize=(11, 4), dpi=110, sharey=True)
    for ax, activation in zip(axes, ACTIVATIONS, strict=True):
        for (act, init), losses in curves.items():
            if act == activation:
                ax.plot(np.arange(1, len(losses) + 1), smoothed(losses), lw=1.4, label=init)
        ax.set_title(f"{activation}: SGD lr {lr:g} on {dataset}")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("training loss (moving average)")
    axes[0].set_ylim(bottom=0)
    return fig
