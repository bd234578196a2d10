"""Several runs' curves overlaid: loss and accuracy per epoch, one colour per run."""

from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import MaxNLocator

from scratchnn.viz.images import plt  # pyplot, with the Agg backend chosen


def plot_runs(runs: dict[str, list[dict[str, float]]], path: str | Path) -> None:
    """runs: name -> metrics.csv rows. Left: loss, right: accuracy; validation solid, training
    dashed (training values are running means over each epoch, in train mode)."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.6), dpi=100)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, epochs) in enumerate(runs.items()):
        colour = colours[i % len(colours)]
        x = [row["epoch"] for row in epochs]
        for ax, key in ((loss_ax, "loss"), (acc_ax, "acc")):
            for split, style in (("val", "-"), ("train", "--")):
                values = [row.get(f"{split}_{key}") for row in epochs]
                if any(v is not None for v in values):
                    ax.plot(x, [float("nan") if v is None else v for v in values], style,
                            color=colour, lw=1.5, marker="o" if split == "val" else None,
                            markersize=3, label=f"{name} ({split})")
    loss_ax.set_ylabel("loss")
    loss_ax.set_yscale("log")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both")
    acc_ax.legend(fontsize=8, loc="lower right")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
