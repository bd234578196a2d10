"""Six update rules on one network ("Deep Learning from Scratch" ch. 6,
optimizer_compare_mnist.py): MultiLayerNet 784-100-100-100-100-10, batch 128, 2000 iterations.

Every optimizer starts from the same initial weights (one state_dict, loaded into each model)
and sees the same mini-batches in the same order (one batch_schedule), so the curves differ only
by the update rule. The learning rates are the book's defaults (common/optimizer.py); the update
rules are scratchnn.optim's, which equal torch.optim's.

Writes loss.png (smoothed training loss of each optimizer), loss_curves.csv (the loss of every
iteration) and results.csv (final training loss, test loss and accuracy, time).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchnn import optim
from scratchnn.errors import ConfigError
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
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.train.trainer import Trainer
from scratchnn.viz.images import plt

# name in the plot -> (scratchnn.optim.make_optimizer name, the book's learning rate)
OPTIMIZERS: dict[str, tuple[str, float]] = {
    "SGD": ("sgd", 0.01),
    "Momentum": ("momentum", 0.01),
    "Nesterov": ("nesterov", 0.01),
    "AdaGrad": ("adagrad", 0.01),
    "RMSprop": ("rmsprop", 0.01),
    "Adam": ("adam", 0.001),
}


def run(out: str | Path, *, dataset: str = "fashion-mnist", iterations: int = 2000,
        batch_size: int = 128, hidden_sizes: Sequence[int] = (100, 100, 100, 100),
        optimizers: Sequence[str] | None = None, seed: int = 0, samples: int | None = None,
        test_samples: int | None = None, log: Log = quiet) -> ExperimentResult:
    """Train one MultiLayerNet per optimizer from identical weights on identical batches."""
    clock, out = Stopwatch(), Path(out)
    by_lower = {name.lower(): name for name in OPTIMIZERS}
    names = list(OPTIMIZERS) if optimizers is None else [by_lower.get(name.lower(), name)
                                                         for name in optimizers]
    unknown = [name for name in names if name not in OPTIMIZERS]
    if unknown or not names:
        raise ConfigError(f"unknown optimizer(s) {', '.join(unknown) or '(none given)'}; "
                          f"choose from {', '.join(OPTIMIZERS)}")
    data = load_data(dataset, samples=samples, test_samples=test_samples, seed=seed)
    rng = np.random.default_rng(seed)

    def network() -> MultiLayerNet:
        return MultiLayerNet(data.input_size, hidden_sizes, data.num_classes, rng=rng)

    initial = {key: value.copy() for key, value in network().state_dict().items()}
    schedule = batch_schedule(len(data.x_train), batch_size, iterations, rng)

    curves: dict[str, list[float]] = {}
    table = []
    for name in names:
        key, lr = OPTIMIZERS[name]
        model = network()
        model.load_state_dict(initial)          # the same starting point for every optimizer
        trainer = Trainer(model, SoftmaxCrossEntropy(),
                          optim.make_optimizer(key, model.parameters(), lr=lr),
                          batch_size=batch_size, seed=seed, preprocess=data.prepare)
        timer = Stopwatch()
        losses, diverged = train_iterations(trainer, data, schedule)
        seconds = timer()
        test = trainer.evaluate(data.x_test, data.y_test)
        curves[name] = losses
        table.append({"optimizer": name, "lr": lr, "final_train_loss": tail_mean(losses),
                      "test_loss": test["loss"], "test_accuracy": test["accuracy"],
                      "seconds": seconds})
        if diverged is not None:
            table[-1]["diverged_at"] = diverged      # the iteration whose loss was not finite
        log(f"{name:<9} lr {lr:<6g} final loss {tail_mean(losses):.4f}  "
            f"test accuracy {test['accuracy']:.4f}  {seconds:.1f}s")

    files = [
        save_figure(_plot(curves, data.name, iterations), out / "loss.png"),
        write_csv(out / "loss_curves.csv", _curve_rows(curves, iterations),
                  ["iteration", *names]),
        write_csv(out / "results.csv", table),
    ]
    notes = [f"{data.name}: {len(data.x_train)} training samples, {len(data.x_test)} test "
             f"samples; final_train_loss: mean of the last 5% of iterations"]
    notes += [f"{row['optimizer']} diverged at iteration {row['diverged_at']}" for row in table
              if "diverged_at" in row]
    return ExperimentResult("optimizers", out, table, files, clock(), notes)


def _curve_rows(curves: dict[str, list[float]], iterations: int) -> list[dict]:
    """One row per iteration; an optimizer that diverged has empty cells after it."""
    return [{"iteration": i + 1, **{name: losses[i] for name, losses in curves.items()
                                    if i < len(losses)}} for i in range(iterations)]


def _plot(curves: dict[str, list[float]], dataset: str, iterations: int):
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    markers = "oxsD^v"
    for (name, losses), marker in zip(curves.items(), markers, strict=False):
        steps = np.arange(1, len(losses) + 1)
        ax.plot(steps, smoothed(losses), marker=marker, markevery=max(1, iterations // 10),
                markersize=5, lw=1.4, label=name)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss (moving average)")
    finals = [smoothed(losses)[-1] for losses in curves.values() if losses]
    if finals and max(finals) < 0.8:
        ax.set_ylim(0, 1)                 # as the book draws it: the start is cut off
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(f"optimizers on {dataset}: same initial weights, same batches")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
