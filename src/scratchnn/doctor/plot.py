"""lr_range.png: the learning-rate range test as a plot (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scratchnn.doctor.report import LRCurve


def plot_lr_range(curve: LRCurve, path: str | Path) -> Path:
    """Loss reached after curve.steps steps against the learning rate (log axis); diverged
    rates marked with x at the top; the suggested and the given rate as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lrs, losses = np.asarray(curve.lrs), np.asarray(curve.losses)
    finite = np.isfinite(losses)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(lrs[finite], losses[finite], "o-", color="tab:blue",
            label=f"loss after {curve.steps} steps")
    top = max(float(losses[finite].max()) if finite.any() else curve.start_loss,
              curve.start_loss) * 1.1
    if (~finite).any():
        ax.plot(lrs[~finite], np.full((~finite).sum(), top), "x", color="tab:red", ms=8,
                label="diverged")
    ax.axhline(curve.start_loss, color="gray", ls=":", label=f"start ({curve.start_loss:.3g})")
    if curve.suggested is not None:
        ax.axvline(curve.suggested, color="tab:green", ls="--",
                   label=f"suggested lr {curve.suggested:g}")
    if curve.given is not None:
        ax.axvline(curve.given, color="tab:orange", ls="-.", label=f"given lr {curve.given:g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test (each rate from the same start)")
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
