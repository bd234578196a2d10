"""Training plots as PNG files (matplotlib with the Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def smooth(values: list[float], window: int) -> np.ndarray:
    """Moving average over `window` steps (shorter at the start)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    window = max(1, min(window, len(values)))
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    out[window - 1:] = (cumulative[window:] - cumulative[:-window]) / window
    out[:window - 1] = cumulative[1:window] / np.arange(1, window)
    return out


def plot_loss(history, path: str | Path, steps_per_epoch: int | None = None) -> None:
    """Per-step training loss (faint), its moving average, and per-epoch validation loss."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    steps = np.arange(1, len(history.steps) + 1)
    scale = steps_per_epoch or 1
    ax.plot(steps / scale, history.steps, color="tab:blue", alpha=0.25, lw=0.7,
            label="train loss (step)")
    window = max(1, len(history.steps) // 50)
    ax.plot(steps / scale, smooth(history.steps, window), color="tab:blue", lw=1.6,
            label=f"train loss ({window}-step mean)")
    if history.column("val_loss"):
        ax.plot(history.column("epoch"), history.column("val_loss"), "o-", color="tab:orange",
                label="validation loss")
    ax.set_xlabel("epoch" if steps_per_epoch else "step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (log scale)")
    ax.set_title("training loss per step, validation loss per epoch")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def plot_accuracy(history, path: str | Path) -> None:
    """Train and validation accuracy per epoch."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    epochs = history.column("epoch")
    ax.plot(epochs, history.column("train_acc"), "o-", label="train (running, train mode)")
    if history.column("val_acc"):
        ax.plot(epochs, history.column("val_acc"), "o-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_xlim(0.5, max(epochs, default=1) + 0.5)        # one epoch reads as well as 100
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy per epoch (train: running mean over the epoch)")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def _save(fig, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
