"""Checks of the training plan around the model: a learning-rate schedule that reaches zero long
before the last epoch, and weight decay strong enough to shrink the weights to nothing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn.doctor.patient import Patient
from scratchnn.doctor.report import Finding

ZERO = 1e-3               # a rate below this fraction of the schedule's peak learns nothing
EARLY = 0.8               # ... reached before this fraction of the epochs: too early
DECAY_STEPS = 100         # steps of the weight-decay measurement
SHRUNK = 0.2              # weights below this fraction of their initial norm: shrunk to nothing
USUAL_DECAY = 5e-4


def check_schedule(schedule: Callable[[float], float], epochs: float) -> tuple[list[Finding], str]:
    """The schedule's rate over `epochs`, on a grid of 201 points: when does it reach zero?"""
    grid = np.linspace(0.0, float(epochs), 201)
    rates = np.array([float(schedule(e)) for e in grid])
    peak = float(rates.max())
    if not peak > 0:
        return [Finding("critical", "the learning-rate schedule is zero from the start",
                        f"lr(epoch) <= 0 at every epoch from 0 to {epochs:g}.",
                        "Nothing is learned at a learning rate of 0.",
                        "Give the schedule a positive base learning rate.", "schedule",
                        remedy={"action": "schedule_span", "epochs": epochs})], ""
    low = np.flatnonzero(rates <= ZERO * peak)
    summary = (f"learning-rate schedule: from {rates[0]:g} (peak {peak:g}) to {rates[-1]:g} over "
               f"{epochs:g} epochs")
    if not low.size or grid[low[0]] >= EARLY * epochs:
        return [], summary
    at = float(grid[low[0]])
    return [Finding(
        "warning", f"the learning-rate schedule reaches zero at epoch {at:.3g} of {epochs:g}",
        f"lr(epoch) falls from a peak of {peak:g} to {rates[low[0]]:.3g} (under {ZERO:g} of it) "
        f"at epoch {at:.3g}, and stays there; {epochs:g} epochs are planned.",
        f"The last {epochs - at:.3g} epochs train at a rate too small to change anything: that "
        "time is wasted, and the network stops where the schedule gave up.",
        f"Make the schedule span the whole run: a cosine over epochs={epochs:g} "
        f"(make_schedule('cosine', lr, epochs={epochs:g})); a step or exponential decay whose "
        f"total decay stays above 1/100 (a factor per epoch of at least 0.01 ** (1 / "
        f"{epochs:g}) = {0.01 ** (1 / epochs):.3g}).", "schedule",
        remedy={"action": "schedule_span", "epochs": epochs})], ""


def _weight_norm(model) -> float:
    return float(np.sqrt(sum(np.sum(np.square(p.data, dtype=np.float64))
                             for p in model.parameters() if p.data.ndim >= 2)))


def check_weight_decay(patient: Patient, lr: float, chance: float) -> tuple[list[Finding], str]:
    """Train a copy DECAY_STEPS steps with the optimizer's weight decay: do the weights keep
    a sensible size, and does the loss still fall?"""
    model = patient.copy_model()
    optimizer = patient.make_optimizer(model, lr)
    decay = float(getattr(optimizer, "weight_decay", 0.0) or 0.0)
    if not decay:
        return [], ""
    start = _weight_norm(model)
    losses = patient.train(model, optimizer, patient.stream(patient.x, patient.y, key=70),
                           DECAY_STEPS, diverged=1e6)
    if not start or not losses or not np.all(np.isfinite(losses)):
        return [], ""
    kept = _weight_norm(model) / start
    reached = float(np.mean(losses[-5:]))
    summary = (f"weight decay {decay:g}: after {len(losses)} steps at lr={lr:g} the weights keep "
               f"{kept:.0%} of their norm, the loss went {losses[0]:.3g} -> {reached:.3g}")
    if kept >= SHRUNK:
        return [], summary
    stuck = reached > 0.8 * chance
    return [Finding(
        "critical" if stuck else "warning",
        f"weight decay {decay:g} shrinks the weights to nothing",
        f"{summary} (chance level {chance:.3g}).",
        "Weight decay pulls every weight towards 0 by lr * weight_decay of itself per step; "
        "this strong, it overwhelms the gradient of the loss: the weights collapse and the "
        "network predicts the same for every input.",
        f"Use weight_decay={USUAL_DECAY:g} (values of 1e-5 to 1e-3 are usual), or 0.",
        "optimizer", remedy={"action": "weight_decay", "value": USUAL_DECAY})], ""
