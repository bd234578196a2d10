"""Runs side by side: the settings in which they differ, their final metrics, their curves.

    comparison = compare_runs(["runs/a", "runs/b"])
    print(format_table(comparison.rows))
    write_comparison(comparison, ".")         # compare.csv and compare.png
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scratchnn.train.rundir import Run, final
from scratchnn.viz.compare import plot_runs
from scratchnn.viz.table import cell

IGNORED = ("out",)      # differs between any two runs, and says nothing about them


@dataclass
class Comparison:
    """names: a short unique name per run; differing: the config keys whose values differ
    (every key when there is one run); rows: one per run, its differing settings then its
    metrics, as compare.csv holds them."""

    runs: list[Run]
    names: list[str]
    differing: list[str]
    rows: list[dict]


def compare_runs(directories: Sequence[str | Path]) -> Comparison:
    runs = [Run.open(d) for d in directories]
    names = _names([run.directory for run in runs])
    keys = list(dict.fromkeys(k for run in runs for k in run.config if k not in IGNORED))
    differing = [k for k in keys
                 if len({cell(run.config.get(k)) for run in runs}) > 1 or len(runs) == 1]
    rows = []
    for name, run in zip(names, runs, strict=True):
        row: dict[str, object] = {"run": name}
        row.update({k: run.config.get(k) for k in differing})
        epochs = run.epochs
        with_val = [r for r in epochs if "val_acc" in r]
        row.update({
            "epochs_done": len(epochs),
            "train_loss": final(epochs, "train_loss"),
            "val_loss": final(epochs, "val_loss"),
            "best_val_acc": max((r["val_acc"] for r in with_val), default=None),
            "test_loss": run.test.get("loss"),
            "test_acc": run.test.get("accuracy"),
            "seconds": sum(r.get("seconds", 0.0) for r in epochs),
        })
        rows.append(row)
    return Comparison(runs, names, differing, rows)


def write_comparison(comparison: Comparison, out: str | Path) -> list[Path]:
    """compare.csv (the table) and compare.png (loss and accuracy per epoch, overlaid) in
    `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "compare.csv"
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(comparison.rows[0]))
        writer.writeheader()
        writer.writerows({k: cell(v) if isinstance(v, tuple | list) else v
                          for k, v in row.items()} for row in comparison.rows)
    plot = out / "compare.png"
    plot_runs({name: run.epochs for name, run in zip(comparison.names, comparison.runs,
                                                     strict=True)}, plot)
    return [table, plot]


def _names(directories: list[Path]) -> list[str]:
    """Directory names, or the paths as given where two runs share a name."""
    short = [d.name or str(d) for d in directories]
    if len(set(short)) == len(short):
        return short
    return [str(d) for d in directories]
