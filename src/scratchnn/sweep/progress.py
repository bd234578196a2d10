"""The progress line over a sweep's trials: finished / total, running, pruned, failed, best."""

from __future__ import annotations

import sys


class SweepProgress:
    """A tqdm bar on stderr, one step per finished trial."""

    def __init__(self, total: int, file=None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="trials", unit="trial", file=file or sys.stderr,
                        dynamic_ncols=True, mininterval=0.2)

    def update(self, rows: list[dict], running: int, best: dict | None) -> None:
        """rows: the finished trials (results.csv rows); best: the best of them, or None."""
        states = [row["state"] for row in rows]
        text = (f"running {running}  pruned {states.count('pruned')}  "
                f"failed {states.count('fail')}")
        if best is not None:
            text += f"  best {best['best_val_acc']:.4f} (#{best['trial']})"
        self.bar.n = len(rows)
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
