"""results.csv: one row per finished trial, built from the study and replaced atomically (a
reader, or a sweep killed while writing, sees the old file or the new one: never half a row).

Columns: trial, state (complete, pruned, fail), best_val_acc, epochs, seconds, worker, one
column per searched parameter, test_acc, reason (why a trial failed), directory.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from scratchnn.sweep.space import label, searched
from scratchnn.sweep.spec import SweepSpec
from scratchnn.train.storage import atomic_write_text

FIRST = ("trial", "state", "best_val_acc", "epochs", "seconds", "worker")
LAST = ("test_acc", "reason", "directory")
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "fail"}


def result_rows(study, spec: SweepSpec) -> list[dict]:
    """The finished trials of `study`, in trial order, as results.csv rows."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name not in STATES:
            continue                             # running, or waiting to be run
        attrs = trial.user_attrs
        row = {"trial": trial.number, "state": STATES[trial.state.name]}
        row |= {key: attrs.get(key) for key in FIRST[2:]}
        row |= {p.name: trial.params.get(p.name) for p in searched(spec.space)}
        row |= {key: attrs.get(key) for key in LAST}
        rows.append(row)
    return rows


def columns(spec: SweepSpec) -> list[str]:
    return [*FIRST, *(p.name for p in searched(spec.space)), *LAST]


def write_results(path: Path, rows: list[dict], spec: SweepSpec) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns(spec))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else label(v) for k, v in row.items()})
    atomic_write_text(path, text.getvalue())


def best_row(rows: list[dict]) -> dict | None:
    """The trial with the highest best validation accuracy (complete or pruned)."""
    ranked = top_rows(rows, 1)
    return ranked[0] if ranked else None


def top_rows(rows: list[dict], k: int = 5) -> list[dict]:
    """The k trials with the highest best validation accuracy, best first (ties: lower trial)."""
    scored = [row for row in rows if _score(row) is not None]
    return sorted(scored, key=lambda row: (-_score(row), row["trial"]))[:k]


def _score(row: dict) -> float | None:
    value = row.get("best_val_acc")
    return value if isinstance(value, float) and not math.isnan(value) else None
