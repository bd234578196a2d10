"""Numerical gradient vs backprop ("Deep Learning from Scratch" ch. 5, gradient_check.py):
TwoLayerNet 784-50-10 on 3 training images, every coordinate of every parameter.

The numerical gradient takes two forward passes per coordinate (centred differences,
scratchnn.gradcheck.numerical_gradient, in float64); backprop takes one forward and one backward
pass for all of them. The two must agree (relative errors around 1e-8 in float64), and their
times show why nobody trains with numerical gradients.

Writes agreement.png (numerical against backprop, every coordinate, per parameter), timing.png,
and results.csv (per parameter: errors, the numerical gradient's time; and backprop's time).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from scratchnn import gradcheck
from scratchnn.experiments.common import (
    ExperimentResult,
    Log,
    Stopwatch,
    load_data,
    quiet,
    save_figure,
    write_csv,
)
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import TwoLayerNet
from scratchnn.viz.images import plt


def run(out: str | Path, *, dataset: str = "fashion-mnist", samples: int = 3,
        hidden_size: int = 50, repeats: int = 20, seed: int = 0,
        log: Log = quiet) -> ExperimentResult:
    """Compare the two gradients of the loss on the first `samples` training images."""
    clock, out = Stopwatch(), Path(out)
    data = load_data(dataset, samples=samples, test_samples=1, seed=seed)
    model = TwoLayerNet(data.input_size, hidden_size, data.num_classes,
                        rng=np.random.default_rng(seed)).to_dtype(np.float64)
    x = data.prepare(data.x_train).astype(np.float64)
    y = data.y_train
    loss_fn = SoftmaxCrossEntropy()

    def loss() -> float:
        return loss_fn.forward(model.forward(x), y)

    def backprop() -> None:
        loss()
        model.zero_grad()
        model.backward(loss_fn.backward())

    backprop_seconds = _best_time(backprop, repeats)
    backprop()                                   # leaves every Parameter.grad set
    table, pairs = [], {}
    total = 0.0
    for name, param in model.named_parameters():
        timer = Stopwatch()
        numeric = gradcheck.numerical_gradient(loss, param.data)
        seconds = timer()
        total += seconds
        analytic = param.grad
        pairs[name] = (numeric, analytic)
        table.append({"parameter": name, "shape": "x".join(map(str, param.data.shape)),
                      "size": param.data.size,
                      "max_rel_error": gradcheck.rel_error(analytic, numeric, gradcheck.FLOOR),
                      "mean_abs_diff": float(np.mean(np.abs(analytic - numeric))),
                      "max_abs_diff": float(np.max(np.abs(analytic - numeric))),
                      "numerical_seconds": seconds})
        log(f"{name:<10} {table[-1]['shape']:<8} max rel error "
            f"{table[-1]['max_rel_error']:.2e}  numerical {seconds:.2f}s")
    size = sum(row["size"] for row in table)
    table.append({"parameter": "all", "shape": "", "size": size,
                  "max_rel_error": max(row["max_rel_error"] for row in table),
                  "mean_abs_diff": sum(r["mean_abs_diff"] * r["size"] for r in table) / size,
                  "max_abs_diff": max(row["max_abs_diff"] for row in table),
                  "numerical_seconds": total})
    for row in table:
        row["backprop_seconds"] = backprop_seconds
    files = [
        save_figure(_agreement(pairs), out / "agreement.png"),
        save_figure(_timing(table, backprop_seconds), out / "timing.png"),
        write_csv(out / "results.csv", table),
    ]
    notes = [f"{data.name}: TwoLayerNet {data.input_size}-{hidden_size}-{data.num_classes} on "
             f"{len(x)} training images, float64; centred differences with eps "
             f"{gradcheck.EPS:g}; backprop_seconds: one forward + backward for all parameters "
             f"(best of {repeats}); numerical gradient {total / backprop_seconds:,.0f}x slower"]
    return ExperimentResult("gradients", out, table, files, clock(), notes)


def _best_time(f, repeats: int) -> float:
    best = math.inf
    for _ in range(max(1, repeats)):
        timer = Stopwatch()
        f()
        best = min(best, timer())
    return best


def _agreement(pairs: dict[str, tuple[np.ndarray, np.ndarray]]):
    """Top: backprop against numerical, every coordinate. Bottom: the spread of |difference|."""
    fig, axes = plt.subplots(2, len(pairs), figsize=(3.2 * len(pairs), 6.2), dpi=100,
                             squeeze=False)
    for (top, bottom), (name, (numeric, analytic)) in zip(axes.T, pairs.items(), strict=True):
        n, a = numeric.reshape(-1), analytic.reshape(-1)
        top.scatter(n, a, s=4, alpha=0.5)
        low, high = float(min(n.min(), a.min())), float(max(n.max(), a.max()))
        top.plot([low, high], [low, high], color="tab:red", lw=0.8, label="y = x")
        error = gradcheck.rel_error(a, n, gradcheck.FLOOR)
        top.set_title(f"{name} ({a.size} values)\nmax rel error {error:.1e}", fontsize=9)
        top.set_xlabel("numerical", fontsize=8)
        difference = np.abs(a - n)
        nonzero = difference[difference > 0]     # both exactly 0: a dead unit or a 0 pixel
        if nonzero.size:
            bottom.hist(np.log10(nonzero), bins=30, color="tab:gray")
        bottom.set_title(f"{difference.size - nonzero.size} coordinates equal exactly",
                         fontsize=8)
        bottom.set_xlabel("log10 |backprop - numerical|", fontsize=8)
        for ax in (top, bottom):
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("backprop", fontsize=8)
    axes[1, 0].set_ylabel("coordinates", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    return fig


def _timing(table: list[dict], backprop_seconds: float):
    labels = [f"numerical: {row['parameter']}" for row in table] + ["backprop: all"]
    seconds = [row["numerical_seconds"] for row in table] + [backprop_seconds]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2), dpi=110)
    bars = ax.barh(labels, seconds, color=["tab:orange"] * len(table) + ["tab:blue"])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("seconds (log scale)")
    for bar, value in zip(bars, seconds, strict=True):
        ax.text(value, bar.get_y() + bar.get_height() / 2, f" {value:.3g}s", va="center",
                fontsize=8)
    ax.set_title("time of one gradient of the loss")
    ax.grid(alpha=0.3, axis="x")
    return fig
