"""History: what training measured, per step and per epoch."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from scratchnn.train.storage import atomic_write_text


@dataclass
class History:
    """`steps`: the training loss of every step, in order (NaN for a skipped step). `epochs`: one
    dict per epoch with epoch, lr, train_loss, train_acc (running means over the epoch's batches,
    in train mode), val_loss, val_acc (a full pass in eval mode) and seconds; with
    skip_nonfinite also `skipped`, the batches of the epoch skipped for non-finite values.
    `skipped`: the (1-based) numbers of the skipped steps."""

    steps: list[float] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def append(self, metrics: dict[str, float]) -> None:
        self.epochs.append(dict(metrics))

    def column(self, key: str) -> list[float]:
        return [row[key] for row in self.epochs if key in row]

    def best(self, key: str = "val_acc") -> dict[str, float] | None:
        rows = [row for row in self.epochs if key in row]
        return max(rows, key=lambda row: row[key]) if rows else None

    def __getitem__(self, index: int) -> dict[str, float]:
        return self.epochs[index]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_csv(self, path: str | Path) -> None:
        """One row per epoch (metrics.csv of a run directory), replaced atomically."""
        keys = list(dict.fromkeys(k for row in self.epochs for k in row))
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.epochs)
        atomic_write_text(path, text.getvalue())
