"""The learning-rate range test: the same short training from the same start at a sweep of
learning rates, and the loss each one reaches.

Unlike the single-run sweep of Smith (2017, https://arxiv.org/abs/1506.01186), each learning
rate gets its own run from the initial weights, on the same batches, so every point of the
curve answers one plain question: where does `steps` steps of training at this rate get to?
The suggestion is the rate one grid step (about 3x) below the one that got lowest: the best
rate for a short run sits at the edge of instability, and a long run wants some margin.
"""

from __future__ import annotations

import numpy as np

from scratchnn.doctor.patient import Patient
from scratchnn.doctor.report import LRCurve

LRS = tuple(float(v) for v in np.logspace(-5, 1, 13))   # 1e-5 ... 10, half a decade apart
STEPS = 30
AVERAGE = 5               # the loss reached: the mean of the last AVERAGE steps


def lr_range_test(patient: Patient, x: np.ndarray, y: np.ndarray, lrs=LRS,
                  steps: int = STEPS) -> LRCurve:
    """Loss after `steps` steps at each lr, each run from the same copy of the model."""
    start = patient.loss_of(patient.copy_model(), x[:256], y[:256], training=True)
    losses = []
    for lr in lrs:
        model = patient.copy_model()
        optimizer = patient.make_optimizer(model, lr)
        run = patient.train(model, optimizer, patient.stream(x, y, key=40), steps,
                            diverged=4 * start + 10)
        finite = len(run) == steps and np.all(np.isfinite(run))
        losses.append(float(np.mean(run[-AVERAGE:])) if finite else float("inf"))
        if not finite and len(losses) >= 2 and losses[-2] == float("inf"):
            losses += [float("inf")] * (len(lrs) - len(losses))   # higher rates diverge too
            break
    return LRCurve(list(lrs), losses, start, steps, suggest(list(lrs), losses, start),
                   patient.given_lr())


def suggest(lrs: list[float], losses: list[float], start: float) -> float | None:
    """One grid step below the rate with the lowest loss; None if no rate lowers the loss."""
    values = np.asarray(losses)
    if not np.any(np.isfinite(values)):
        return None
    best = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))
    if not values[best] < 0.95 * start:
        return None
    return lrs[max(best - 1, 0)]
