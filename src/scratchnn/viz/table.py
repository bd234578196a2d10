"""Plain-text tables for the terminal: the experiments' summaries and `scratchnn compare`."""

from __future__ import annotations

import math
from collections.abc import Sequence


def cell(value) -> str:
    """A table cell: floats to 4 significant digits (accuracies as 0.xxxx), None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4f}"
    if isinstance(value, tuple | list):
        return ",".join(cell(v) for v in value)
    return str(value)


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as aligned columns under a header; numbers right-aligned, text left."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    numeric = [all(isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
                   for row in rows if row.get(c) is not None) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])
