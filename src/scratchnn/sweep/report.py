"""The sweep report, DIR/report.html: one self-contained page like the run report (every image
a data: URI, no scripts, no network).

Sections (each an element with this id): best (the top trials), history (validation accuracy
by trial and the best so far), parallel (parallel coordinates of the parameters), importance
(Optuna's parameter importances), trials (every trial, linked to its own report.html).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from scratchnn.errors import one_line
from scratchnn.sweep import directory as layout
from scratchnn.sweep.results import best_row, columns, result_rows, top_rows
from scratchnn.sweep.space import searched
from scratchnn.sweep.spec import Param, SweepSpec
from scratchnn.train.storage import atomic_write_text
from scratchnn.viz.images import figure_png, plt
from scratchnn.viz.report import PAGE, STYLE, escape, image_tag, section
from scratchnn.viz.table import cell

SECTIONS = ("best", "history", "parallel", "importance", "trials")


def write_sweep_report(directory: Path, spec: SweepSpec, study) -> Path:
    """Write DIR/report.html from the study and the trials' directories -> its path."""
    rows = result_rows(study, spec)
    params = searched(spec.space)
    scored = top_rows(rows, len(rows))
    body = [f"<h1>Sweep {escape(directory.name)}</h1>",
            f"<p class='lead'>{_summary(rows, spec)}</p>",
            section("best", "Best trials", _table(directory, top_rows(rows, 10), spec)),
            section("history", "Optimisation history", image_tag(history_png(rows), "history")),
            section("parallel", "Parallel coordinates",
                     image_tag(parallel_png(scored, params), "parallel coordinates")
                     if len(scored) >= 2 else "<p>Fewer than two scored trials.</p>"),
            section("importance", "Parameter importances", _importance(study)),
            section("trials", "Every trial", _table(directory, rows, spec))]
    page = PAGE.format(title=escape(f"Sweep {directory.name}"), style=STYLE + _LINKS,
                        body="\n".join(body))
    path = directory / layout.REPORT_FILE
    atomic_write_text(path, page)
    return path


def history_png(rows: list[dict]) -> bytes:
    """Best validation accuracy of each trial (pruned ones grey) and the best so far."""
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    for state, style in (("complete", dict(color="#4c78a8", marker="o")),
                         ("pruned", dict(color="#999999", marker="x"))):
        points = [(r["trial"], r["best_val_acc"]) for r in rows
                  if r["state"] == state and r.get("best_val_acc") is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), label=state, **style)
    best, running = [], -math.inf
    for row in rows:
        if row["state"] == "complete" and row.get("best_val_acc") is not None:
            running = max(running, row["best_val_acc"])
        best.append((row["trial"], running))
    shown = [(n, v) for n, v in best if v > -math.inf]
    if shown:
        ax.step(*zip(*shown, strict=True), where="post", color="#e45756", label="best so far")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("best validation accuracy")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(loc="lower right")
    return figure_png(fig)


def parallel_png(rows: list[dict], params: tuple[Param, ...]) -> bytes:
    """One vertical axis per parameter and one for the accuracy; a line per trial, coloured by
    its best validation accuracy. Log-scale parameters are placed by their logarithm."""
    axes = [*params, None]                       # None: the accuracy axis
    values = np.array([row["best_val_acc"] for row in rows])
    positions = np.column_stack([_positions([row.get(p.name) for row in rows], p)
                                 if p else _positions(list(values), None) for p in axes])
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(axes)), 4.5), dpi=100)
    colours = plt.get_cmap("viridis")((values - values.min()) / max(np.ptp(values), 1e-12))
    for line, colour in zip(positions, colours, strict=True):
        ax.plot(range(len(axes)), line, color=colour, alpha=0.8, lw=1.5)
    for i, p in enumerate(axes):
        ax.axvline(i, color="#333333", lw=0.8)
        column = [row.get(p.name) for row in rows] if p else list(values)
        low, high = _ends(column, p)
        ax.text(i, -0.06, low, ha="center", va="top", fontsize=8)
        ax.text(i, 1.06, high, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(axes)), labels=[p.name if p else "val acc" for p in axes])
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return figure_png(fig)


def importance_png(importances: dict[str, float]) -> bytes:
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.2), dpi=100)
    ax.barh(names, [importances[n] for n in names], color="#4c78a8")
    ax.set_xlabel("importance for the best validation accuracy (sums to 1)")
    ax.grid(axis="x", alpha=0.3)
    return figure_png(fig)


def param_importances(study) -> dict[str, float]:
    """fANOVA importances (needs scikit-learn), else Optuna's PED-ANOVA."""
    import optuna

    try:
        return optuna.importance.get_param_importances(study)
    except ImportError:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        return optuna.importance.get_param_importances(study, evaluator=evaluator)


def _importance(study) -> str:
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return "<p>Importances need at least two complete trials.</p>"
    try:
        importances = param_importances(study)
    except (ValueError, RuntimeError) as error:
        return f"<p>No importances: {escape(one_line(error))}</p>"
    if not importances:
        return "<p>No parameter varied between the complete trials.</p>"
    return image_tag(importance_png(importances), "parameter importances")


def _positions(column: list, param: Param | None) -> np.ndarray:
    """A column of values placed on [0, 1] along its axis."""
    if param is not None and param.kind == "choice":
        from scratchnn.sweep.space import label

        labels = [label(v) for v in param.values]
        index = np.array([labels.index(v) for v in column], dtype=float)
        return index / max(len(labels) - 1, 1)
    x = np.array(column, dtype=float)
    if param is not None and (param.kind == "loguniform" or param.log):
        x = np.log10(x)
        low, high = np.log10(param.low), np.log10(param.high)
    elif param is not None:
        low, high = param.low, param.high
    else:
        low, high = x.min(), x.max()
    return (x - low) / max(high - low, 1e-12)


def _ends(column: list, param: Param | None) -> tuple[str, str]:
    if param is None:
        return cell(float(min(column))), cell(float(max(column)))
    if param.kind == "choice":
        from scratchnn.sweep.space import label

        return str(label(param.values[0])), str(label(param.values[-1]))
    return cell(param.low), cell(param.high)


def _summary(rows: list[dict], spec: SweepSpec) -> str:
    states = [row["state"] for row in rows]
    parts = [f"sampler {escape(spec.sampler)}", f"pruner {escape(spec.pruner)}",
             f"{len(rows)} finished trials ({states.count('complete')} complete, "
             f"{states.count('pruned')} pruned, {states.count('fail')} failed)"]
    best = best_row(rows)
    if best is not None:
        parts.append(f"best validation accuracy <b>{best['best_val_acc']:.4f}</b> "
                     f"(trial {best['trial']})")
    return " &middot; ".join(parts)


def _table(directory: Path, rows: list[dict], spec: SweepSpec) -> str:
    if not rows:
        return "<p>No finished trials yet.</p>"
    keys = [c for c in columns(spec) if c != "directory"]
    head = "".join(f"<th>{escape(k)}</th>" for k in keys) + "<th>report</th>"
    body = []
    for row in rows:
        cells = "".join(f"<td>{escape(cell(row.get(k)))}</td>" for k in keys)
        report = f"{row.get('directory')}/report.html" if row.get("directory") else None
        link = (f"<a href='{escape(report)}'>trial {row['trial']}</a>"
                if report and (directory / report).is_file() else "-")
        body.append(f"<tr>{cells}<td>{link}</td></tr>")
    return f"<table class='trials'><tr>{head}</tr>{''.join(body)}</table>"


_LINKS = """
table.trials td { font-variant-numeric: tabular-nums; font-size: 13px; }
"""
