"""Learning-rate schedules against hand-computed values, CS231n's lr_decay and torch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn import ConfigError
from scratchnn.optim import make_schedule
from scratchnn.optim.schedules import constant, cosine, exponential, step_decay


def test_constant():
    assert constant(0.0, 0.1) == constant(17.3, 0.1) == 0.1
    assert make_schedule("constant", 0.1, 5)(4.9) == 0.1


@pytest.mark.parametrize("epoch, expected", [(0.0, 0.1), (1.99, 0.1), (2.0, 0.05),
                                             (3.5, 0.05), (5.5, 0.025)])
def test_step_decay_halves_every_two_epochs(epoch, expected):
    assert step_decay(epoch, 0.1, decay=0.5, every=2) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("epoch", [0.0, 1.0, 2.5, 7.25])
def test_exponential_is_continuous_in_the_epoch(epoch):
    assert exponential(epoch, 0.2, gamma=0.8) == pytest.approx(0.2 * 0.8**epoch, rel=1e-15)


@pytest.mark.parametrize("epoch, expected", [
    (0.0, 0.1), (2.5, 0.001 + 0.099 * (1 + math.cos(math.pi / 4)) / 2), (5.0, 0.0505),
    (10.0, 0.001), (12.0, 0.001),                            # stays at min_lr after the end
])
def test_cosine_from_base_to_min(epoch, expected):
    assert cosine(epoch, 0.1, 10, min_lr=0.001) == pytest.approx(expected, rel=1e-14)


def test_linear_warmup_then_cosine_over_the_remaining_epochs():
    schedule = make_schedule("cosine", 0.1, epochs=11, warmup_epochs=1)
    assert schedule(0.0) == 0.0
    assert schedule(0.25) == pytest.approx(0.025, rel=1e-15)
    assert schedule(1.0) == 0.1                               # warm-up ends at base_lr
    assert schedule(6.0) == pytest.approx(0.05, rel=1e-14)   # half-way through the cosine
    assert schedule(11.0) == pytest.approx(0.0, abs=1e-18)


def test_warmup_from_a_small_start_then_step_decay():
    schedule = make_schedule("step", 0.1, epochs=10, warmup_epochs=2, warmup_start_lr=0.01,
                             decay=0.5, every=1)
    assert schedule(0.0) == 0.01
    assert schedule(1.0) == pytest.approx(0.055, rel=1e-15)
    assert schedule(2.0) == 0.1                               # the decay starts after warm-up
    assert schedule(3.5) == pytest.approx(0.05, rel=1e-15)


def test_step_schedule_equals_cs231n_solver_lr_decay():
    # CS231n Solver: lr stays fixed within an epoch and is multiplied by lr_decay after each.
    base_lr, lr_decay, epochs, steps_per_epoch = 1e-2, 0.95, 6, 7
    schedule = make_schedule("step", base_lr, epochs, decay=lr_decay)
    lr = base_lr
    for epoch in range(epochs):
        for step in range(steps_per_epoch):
            assert schedule(epoch + step / steps_per_epoch) == pytest.approx(lr, rel=1e-14)
        lr *= lr_decay


def torch_lrs(torch, make_scheduler, base_lr, epochs) -> list[float]:
    """The lr torch uses in each epoch 0..epochs, stepping the scheduler once per epoch."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler, lrs = make_scheduler(opt), []
    for _ in range(epochs + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def test_cosine_matches_torch_cosine_annealing_at_epoch_boundaries(torch):
    base_lr, min_lr, epochs = 0.1, 1e-3, 12
    theirs = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=epochs, eta_min=min_lr), base_lr, epochs)
    ours = [make_schedule("cosine", base_lr, epochs, min_lr=min_lr)(e) for e in range(epochs + 1)]
    # torch updates the lr recursively, so the two agree to rounding, not bit for bit
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-17)


def test_step_and_exponential_match_torch_at_epoch_boundaries(torch):
    step = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
                     0.1, 10)
    np.testing.assert_allclose([step_decay(e, 0.1, decay=0.5, every=3) for e in range(11)], step,
                               rtol=1e-15)
    exp = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 0.1, 10)
    np.testing.assert_allclose([exponential(e, 0.1, gamma=0.9) for e in range(11)], exp,
                               rtol=1e-14)


def test_schedules_return_python_floats():
    for name in ("constant", "step", "exponential", "cosine"):
        assert type(make_schedule(name, 1, 5, warmup_epochs=1)(np.float64(2.5))) is float


def test_unknown_schedule_names_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown schedule 'cosin' \(did you mean 'cosine'\?\);"
                                          r" valid: constant, step, exponential, cosine"):
        make_schedule("cosin", 0.1, 10)


@pytest.mark.parametrize("kwargs, message", [
    ({"gamma": 0.5}, "unknown option 'gamma' for the cosine schedule; valid: min_lr"),
    ({"warmup_epochs": 10}, r"warmup_epochs must be in \[0, epochs=10\), got 10"),
    ({"warmup_epochs": -1}, "warmup_epochs must be in"),
])
def test_bad_schedule_options_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_schedule("cosine", 0.1, 10, **kwargs)


def test_step_decay_needs_a_positive_period():
    with pytest.raises(ConfigError, match="every must be positive, got 0"):
        make_schedule("step", 0.1, 10, every=0)
