"""The mini-batch iterator: every sample once per pass, x and y cut with the same indices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = False,
            rng: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x[idx], y[idx]) for consecutive slices idx of one permutation of range(len(x)).

    x: (N, ...) in its stored dtype (uint8 images stay uint8: normalising is the caller's job, per
    batch, so no float copy of the dataset is ever made); y: (N,) or (N, C). With shuffle=True the
    order is a permutation drawn from `rng` (sampling without replacement: every sample appears
    exactly once). The last batch is smaller when batch_size does not divide N, unless drop_last.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs an rng (np.random.default_rng(seed))")
    n = len(x)
    end = n - n % batch_size if drop_last else n
    if not shuffle:
        for start in range(0, end, batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        return
    order = rng.permutation(n)
    for start in range(0, end, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]
