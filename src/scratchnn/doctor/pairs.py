"""X/y alignment after the batch iterator's shuffling (BACKPROP-BUGS.md 9 and 10).

The doctor cannot know the true label of a sample, but it knows which label each input came
with. It runs one pass of the batch iterator over the data and looks every (x, y) pair it yields
up in the data: a pair that never occurs there was broken by the iterator (x taken from the
unshuffled array, y from the shuffled one). It also counts how often each sample is visited.

Limits: an iterator that transforms x (normalises, augments) cannot be checked this way, and
is reported as unchecked; labels that were already permuted before they reached the doctor
look like genuine pairs here (the generalisation check in learning.py looks for those).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from scratchnn.doctor.report import Finding


def _key(row: np.ndarray) -> bytes:
    return np.ascontiguousarray(row).tobytes()


def _label(row: np.ndarray) -> bytes:
    row = np.asarray(row)
    if row.ndim == 1 and row.size > 1:            # one-hot rows: compare class indices
        row = np.asarray(row.argmax())
    return _key(row.astype(np.int64) if row.dtype.kind in "biuf" and row.size == 1 else row)


def _one_pass(batches: Callable, x: np.ndarray, y: np.ndarray, batch_size: int,
              rng: np.random.Generator):
    """batches(x, y, batch_size, shuffle=True, rng=rng), or batches(x, y, batch_size) for an
    iterator that shuffles on its own."""
    try:
        return iter(batches(x, y, batch_size, shuffle=True, rng=rng))
    except TypeError:
        return iter(batches(x, y, batch_size))


def check_batches(batches: Callable, x: np.ndarray, y: np.ndarray, batch_size: int,
                  rng: np.random.Generator, name: str) -> tuple[list[Finding], str]:
    """One pass of `batches(x, y, batch_size, shuffle=True, rng=rng)`, every pair looked up."""
    labels_of: dict[bytes, set[bytes]] = defaultdict(set)
    copies: dict[bytes, int] = defaultdict(int)          # identical inputs in the data
    for xi, yi in zip(x, y, strict=True):
        labels_of[_key(xi)].add(_label(yi))
        copies[_key(xi)] += 1
    produced = broken = unknown = 0
    visits: dict[bytes, int] = defaultdict(int)
    for xb, yb in _one_pass(batches, x, y, batch_size, rng):
        xb, yb = np.asarray(xb), np.asarray(yb)
        if len(xb) != len(yb):
            return [Finding(
                "critical", f"the batch iterator {name} yields batches of {len(xb)} inputs but "
                f"{len(yb)} labels", f"first mismatched batch: x {xb.shape}, y {yb.shape}.",
                "Every input needs its own label.", "Cut x and y with the same indices: "
                "idx = order[i:i + batch_size]; yield x[idx], y[idx]", "batches",
                remedy={"action": "fix_code", "target": name})], ""
        for xi, yi in zip(xb, yb, strict=True):
            produced += 1
            key = _key(xi)
            if key not in labels_of:
                unknown += 1
                continue
            visits[key] += 1
            broken += _label(yi) not in labels_of[key]
    if produced == 0:
        return [Finding("warning", f"the batch iterator {name} yields nothing",
                        f"one pass over {len(x)} samples gave no batch.", "Nothing to train on.",
                        "Check its loop bounds.", "batches")], ""
    if unknown == produced:
        return [Finding("info", f"could not check the batch iterator {name}",
                        f"none of the {produced} inputs it produced occurs in the data as given "
                        "(it transforms x?).", "Pairs can only be looked up when the iterator "
                        "returns the inputs unchanged.", "Check it on untransformed data, or "
                        "transform after batching.", "batches")], ""
    findings = []
    checked = produced - unknown
    if broken:
        findings.append(Finding(
            "critical", f"the batch iterator {name} breaks the (x, y) pairs",
            f"{broken} of {checked} (x, y) pairs it produced in one pass ({broken / checked:.0%})"
            " do not occur in the data: those inputs came with other labels.",
            "The network is trained on labels that belong to other inputs; there is then "
            "nothing to learn beyond the class frequencies and accuracy stays near chance "
            "(the classic: X taken from the unshuffled array, Y from the shuffled one).",
            "Index x and y with the same permutation: order = rng.permutation(len(x)); for each "
            "batch idx = order[i:i + batch_size]; yield x[idx], y[idx].", "batches",
            remedy={"action": "fix_code", "target": name}))
    missed = sum(max(0, copies[key] - visits.get(key, 0)) for key in copies)
    repeated = sum(max(0, count - copies[key]) for key, count in visits.items())
    if missed >= batch_size or repeated:         # fewer than a batch missed: drop_last
        findings.append(Finding(
            "warning", f"one pass of the batch iterator {name} does not visit every sample "
            "once", f"one pass yielded {produced} samples: {missed} of the {len(x)} samples "
            f"were left out and {repeated} came more than once.",
            "Sampling with replacement (np.random.choice) or a wrong loop bound "
            "leaves some samples out of every epoch and shows others twice.",
            "Take consecutive slices of one permutation per epoch.", "batches",
            remedy={"action": "fix_code", "target": name}))
    summary = (f"batch iterator {name}: {checked} (x, y) pairs from one shuffled pass all occur "
               "in the data; every sample visited once")
    return findings, summary
