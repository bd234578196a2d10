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
from scratchnn.doctor.report import Finding, LRCurve

LRS = tuple(m * 10.0**e for e in range(-5, 1) for m in (1, 3)) + (10.0,)   # 1e-5, 3e-5 ... 10
STEPS = 20
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


def lr_range_verdict(curve: LRCurve, works_at: float | None) -> tuple[list[Finding], str]:
    """The curve's own finding. works_at: the rate at which the model fitted a batch, or None.

    With a suggestion: a note when the given rate works but is 10x off it. Without one (no rate
    lowered the loss): a warning if the model cannot learn at all, else a note (trained weights
    leave nothing to gain in a few steps)."""
    learns = works_at is not None
    if curve.suggested is not None:
        summary = (f"learning-rate range test: suggests lr={curve.suggested:g} (loss after "
                   f"{curve.steps} steps at each rate, see lr_range.png)")
        ratio = curve.given / curve.suggested if curve.given else 1.0
        if 1 / 9 <= ratio <= 9 or works_at != curve.given:
            return [], summary
        side = "below" if ratio < 1 else "above"
        return [Finding("info", f"the learning rate {curve.given:g} is far {side} the range "
                        f"test's suggestion ({curve.suggested:g})", summary + ".",
                        "Training works at the given rate (it fits a batch), but "
                        + ("slower than it could." if ratio < 1 else "with little margin."),
                        f"Try lr={curve.suggested:g}.", "lr-range")], summary
    measured = (f"{curve.steps} steps at each of {len(curve.lrs)} rates from {curve.lrs[0]:g} "
                f"to {curve.lrs[-1]:g}, starting from loss {curve.start_loss:.3g}: none got "
                "below 95% of it.")
    if learns:
        return [Finding("info", "no learning rate lowered the loss further", measured,
                        "The loss is already low (trained weights?): a short run at any rate "
                        "has nothing to gain.", "Nothing to do.", "lr-range")], ""
    return [Finding("warning", "no learning rate in the range test lowered the loss", measured,
                    "Training does not work at any rate: the cause is elsewhere.",
                    "See the findings above.", "lr-range")], ""
