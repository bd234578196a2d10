"""Checks that train: the loss at the start against chance, overfitting one small batch (which
also tells whether the learning rate is too high or too low), and generalising to held-out
samples (which is how labels misaligned with their inputs show up).

Overfitting one batch (Karpathy's "overfit a single batch") separates the data from the rest:
32 samples can be memorised by any network that works, even with random labels. If it cannot
be done, the model, the loss or the optimizer is broken, not the data.

Generalisation: the doctor trains a copy on 3/4 of its samples and measures accuracy on the
other 1/4. A network that learns (it fits a batch) but predicts held-out samples no better than
always guessing the most frequent class has labels that say nothing about its inputs: x and y
misaligned (shuffled separately, sorted differently, from different files) - or a task too
hard to show progress in a few hundred steps; the report says both.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from scratchnn.doctor.data_checks import is_classification
from scratchnn.doctor.patient import Patient
from scratchnn.doctor.report import Finding
from scratchnn.labels import class_labels

OVERFIT_SAMPLES = 32
OVERFIT_STEPS = 300
OVERFIT_TARGET = 0.1      # fraction of the chance-level loss to reach
DIVERGED = 10.0           # a loss this many times the chance level: diverged, stop
EVAL_EVERY = 25           # steps between checks of the eval-mode loss (dropout off)
GENERALISE_STEPS = 150
MIN_HELD_OUT = 50


def chance_loss(patient: Patient, scores: np.ndarray, y: np.ndarray) -> float:
    """The loss of uniform predictions (all-zero scores): ln(C) for cross-entropy, the margin
    times C - 1 for the hinge loss."""
    return float(patient.copy_loss().forward(np.zeros_like(scores), y))


def check_init_loss(patient: Patient, loss: float, scores: np.ndarray, y: np.ndarray
                    ) -> tuple[list[Finding], str]:
    """The loss of the model as given, against the loss of uniform predictions."""
    classes = scores.shape[1] if scores.ndim == 2 else 0
    if not is_classification(y, classes):
        return [], f"starting loss {loss:.4g}"
    uniform = chance_loss(patient, scores, y)
    named = (f"ln({classes}) = {uniform:.3f}" if abs(uniform - math.log(classes)) < 1e-6
             else f"{uniform:.3f}")
    if not np.isfinite(loss):
        return [Finding("critical", "the loss is not finite at the start",
                        f"loss {loss} on {len(scores)} samples.", "Every gradient is then NaN.",
                        "Compute softmax/cross-entropy with log-sum-exp (subtract the row "
                        "max); check the inputs.", "init-loss")], ""
    spread = float(np.std(scores))
    if loss > 2 * uniform + 1:
        severity = "critical" if loss > 3 * uniform + 3 else "warning"
        return [Finding(
            severity, f"the starting loss is {loss:.3g}, far above chance ({named})",
            f"loss {loss:.4g} on {len(scores)} samples, against {named} for uniform "
            f"predictions; the scores have std {spread:.3g} (about 1 or less is usual at "
            "initialisation).", "The untrained network is confidently wrong: its scores are "
            "far too large. The first steps are then spent shrinking them, with huge "
            "gradients that can kill ReLUs or diverge.", "Scale the inputs to about unit "
            "size, use He/Xavier initialisation, or initialise the last layer smaller.",
            "init-loss")], ""
    return [], f"starting loss {loss:.3f} vs {named} for uniform predictions"


@dataclass
class Fit:
    """One attempt to overfit a batch: the training-mode loss before each step, and whether
    the batch was fitted (training-mode loss, or every EVAL_EVERY steps the loss in eval mode,
    where dropout no longer adds its noise)."""

    lr: float
    target: float
    losses: list[float] = field(default_factory=list)
    ok: bool = False
    eval_loss: float | None = None

    @property
    def diverged(self) -> bool:
        return bool(self.losses) and (not np.isfinite(self.losses[-1])
                                      or self.losses[-1] > self.losses[0])

    def story(self) -> str:
        end = self.losses[-1]
        how = "diverged (inf, NaN or above 10x chance)" if not np.isfinite(end) else f"{end:.3g}"
        by_eval = self.eval_loss is not None and self.eval_loss <= self.target
        after = f" ({self.eval_loss:.3g} in eval mode)" if by_eval else ""
        return (f"at lr={self.lr:g} the loss went {self.losses[0]:.3g} -> {how}{after} in "
                f"{len(self.losses)} steps")


def overfit(patient: Patient, lr: float, target: float, ceiling: float) -> Fit:
    """Train a copy on one batch of OVERFIT_SAMPLES until its loss is below `target`; a loss
    above `ceiling` counts as diverged and ends the run."""
    xb, yb = patient.batch(OVERFIT_SAMPLES)
    model = patient.copy_model()
    fit = Fit(lr, target)

    def fitted(losses: list[float]) -> bool:
        if len(losses) >= 5 and np.mean(losses[-5:]) <= target:
            fit.ok = True
        elif len(losses) % EVAL_EVERY == 0:
            fit.eval_loss = patient.loss_of(model, xb, yb)
            fit.ok = fit.eval_loss <= target
        return fit.ok

    fit.losses = patient.train(model, patient.make_optimizer(model, lr),
                               itertools.repeat((xb, yb)), OVERFIT_STEPS, stop=fitted,
                               diverged=ceiling)
    return fit


def check_overfit(patient: Patient, uniform: float, suggested: float | None
                  ) -> tuple[list[Finding], str, float | None]:
    """Overfit one batch at the given lr; on failure, at other rates to tell the learning rate
    apart from a broken model. Returns (findings, summary, an lr that works or None)."""
    given = patient.given_lr()
    lr = given if given is not None else (suggested or 1e-2)
    target, ceiling = OVERFIT_TARGET * uniform, DIVERGED * uniform
    first = overfit(patient, lr, target, ceiling)
    n = min(OVERFIT_SAMPLES, len(patient.x))
    if first.ok:
        return [], (f"fits one batch of {n} samples: {first.story()} (target {target:.3g})"), lr
    others = [v for v in (suggested, lr / 10 if first.diverged else lr * 10) if v and v != lr]
    second = None
    for other in dict.fromkeys(others):
        second = overfit(patient, other, target, ceiling)
        if second.ok:
            break
    name = patient.optimizer_name()
    if second is not None and second.ok and given is not None:
        if second.lr < lr:
            return [Finding(
                "critical" if first.diverged else "warning",
                f"the learning rate {lr:g} is too high",
                f"overfitting one batch of {n} samples with {name}: {first.story()}; "
                f"{second.story()}.", "Steps too large overshoot the minimum: the loss jumps "
                "around, climbs or diverges (inf, NaN) instead of falling.",
                f"Use lr={second.lr:g} or lower{_suggests(suggested, second.lr)}.",
                "learning-rate", remedy={"action": "set_lr", "lr": second.lr})], "", second.lr
        return [Finding(
            "warning", f"the learning rate {lr:g} is too low",
            f"overfitting one batch of {n} samples with {name}: {first.story()}; "
            f"{second.story()}.", "Steps too small make training crawl: the loss falls, but "
            "far more slowly than it could.",
            f"Use lr={second.lr:g}{_suggests(suggested, second.lr)}.",
            "learning-rate", remedy={"action": "set_lr", "lr": second.lr})], "", second.lr
    if second is not None and second.ok:
        return [], f"fits one batch of {n} samples: {second.story()}", second.lr
    tried = "; ".join(f.story() for f in (first, second) if f is not None)
    return [Finding(
        "critical", f"it cannot overfit one batch of {n} samples",
        f"{tried}; the target was {target:.3g} ({OVERFIT_TARGET:g} x the chance-level loss).",
        "Any working network memorises a few dozen samples. When it cannot, the model, the "
        "loss or the optimizer is broken, not the data: look at the findings above.",
        "Fix what the other findings point at; if there are none, simplify the model until "
        "it can overfit, then add back one piece at a time.", "overfit")], "", None


def _suggests(suggested: float | None, used: float) -> str:
    if suggested is None:
        return ""
    if suggested == used:
        return " (the range test's suggestion)"
    return f" (the range test suggests {suggested:g})"


def check_generalisation(patient: Patient, lr: float, held: tuple | None = None,
                         steps: int = GENERALISE_STEPS) -> tuple[list[Finding], str]:
    """Train a copy, compare its accuracy on samples it did not train on with the majority
    baseline. held: (x, y) held-out data (trained on: every sample); without it the copy
    trains on 3/4 of the samples and is measured on the other 1/4, which the model as given
    may have trained on (the report says so)."""
    n = len(patient.x)
    n_val = n // 4 if held is None else len(held[0])
    classes = int(class_labels(patient.y).max()) + 1 if n else 0
    if n_val < MIN_HELD_OUT or not is_classification(patient.y, classes):
        return [], ""
    if held is None:
        x_train, y_train = patient.x[:-n_val], patient.y[:-n_val]
        x_val, y_val = patient.x[-n_val:], class_labels(patient.y[-n_val:])
        which = (f"{n_val} samples kept out of these steps (not out of any training the model "
                 "had before: pass held_out= to measure on data it never saw)")
    else:
        x_train, y_train = patient.x, patient.y
        x_val, y_val = held[0], class_labels(held[1])
        which = f"{n_val} held-out samples"
    model = patient.copy_model()
    losses = patient.train(model, patient.make_optimizer(model, lr),
                           patient.stream(x_train, y_train, key=60), steps, diverged=1e6)
    if not np.all(np.isfinite(losses)):
        return [], ""
    held_accuracy = accuracy(model.eval(), x_val, y_val)
    base = float(np.bincount(y_val).max() / len(y_val))
    noise = math.sqrt(base * (1 - base) / n_val)
    seen = len(losses) * min(patient.batch_size, len(x_train))
    story = (f"after {len(losses)} steps on {len(x_train)} samples, accuracy "
             f"{held_accuracy:.3f} on {which} (always guessing the most frequent class: "
             f"{base:.3f})")
    if held_accuracy > base + 3 * noise:
        return _train_mode_note(model, x_val, y_val, held_accuracy, noise), (
            f"learns something that generalises: {story}")
    return [Finding(
        "critical", "it learns, but predicts samples it did not train on no better than "
        "chance",
        f"{story}; training saw {seen} samples, its loss went {losses[0]:.3g} -> "
        f"{np.mean(losses[-5:]):.3g}.", "The network can fit samples it has seen (it "
        "overfits one batch) but what it learns says nothing about other samples: the labels "
        "look unrelated to the inputs. Most often x and y are misaligned (shuffled or sorted "
        "separately, taken from different files or splits). It can also be a task too hard to "
        "show progress in a few hundred steps.", "Check a few pairs by eye (plot x[i] with "
        "y[i]); shuffle with one permutation applied to both arrays: idx = "
        "rng.permutation(len(x)); x, y = x[idx], y[idx].", "generalisation",
        remedy={"action": "realign_labels"})], ""


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of `model` in its current mode on (x, y labels), in chunks of 500."""
    scores = np.concatenate([model.forward(x[i:i + 500]) for i in range(0, len(x), 500)])
    return float(np.mean(scores.argmax(axis=1) == y))


def _train_mode_note(model, x: np.ndarray, y: np.ndarray, evaluated: float, noise: float
                     ) -> list[Finding]:
    """What evaluating in training mode (dropout on, batch statistics) would cost, measured."""
    in_train_mode = accuracy(model.train(), x, y)
    model.eval()
    if in_train_mode >= evaluated - max(0.02, 2 * noise):
        return []
    return [Finding(
        "info", "evaluate in eval mode: in training mode this model predicts worse",
        f"held-out accuracy {evaluated:.3f} after model.eval(), {in_train_mode:.3f} with the "
        "model left in training mode.", "Dropout still drops units and batch norm normalises "
        "with the statistics of the evaluation batch itself when the model is left in training "
        "mode.", "Call model.eval() before evaluating or predicting, model.train() before "
        "training again.", "generalisation")]
