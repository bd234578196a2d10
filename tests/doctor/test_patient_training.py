"""The doctor's training runs (range test, overfitting, generalisation) are Trainer runs: the
same step, the Trainer's guard, and the data-gradient shortcut."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from doctor_cases import healthy

from scratchnn.doctor.patient import Patient
from scratchnn.optim import SGD
from scratchnn.train import Trainer


def patient() -> Patient:
    case = healthy()
    x = case["x"]
    return Patient(case["model"], case["loss_fn"], x, x, case["y"])


def test_patient_train_steps_are_trainer_steps_and_stop_on_request(monkeypatch):
    sick = patient()
    steps = []
    original = Trainer.train_step
    monkeypatch.setattr(Trainer, "train_step",
                        lambda self, x, y: (steps.append(len(x)), original(self, x, y))[1])
    model = sick.copy_model()
    losses = sick.train(model, SGD(model.parameters(), 0.1), sick.stream(sick.x, sick.y, 1), 10,
                        stop=lambda losses: len(losses) == 4)
    assert len(losses) == 4 and steps == [32] * 4 and np.all(np.isfinite(losses))


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_non_finite_step_is_caught_by_the_guard_and_recorded_as_inf():
    sick = patient()
    model = sick.copy_model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    xb, yb = sick.batch(32)
    xb = xb.copy()
    xb[3] = np.nan
    losses = sick.train(model, SGD(model.parameters(), 0.1), itertools.repeat((xb, yb)), 5)
    assert losses == [float("inf")]
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_loss_above_the_ceiling_ends_the_run():
    sick = patient()
    model = sick.copy_model()
    losses = sick.train(model, SGD(model.parameters(), 0.1), sick.stream(sick.x, sick.y, 1), 10,
                        diverged=0.0)
    assert losses == [float("inf")]
