"""Every optimizer next to torch.optim: the same tiny model, the same start, compared every step.

The model is y = tanh(x @ weight + bias) with a mean squared error. scratchnn's gradients are
written out by hand in NumPy and torch's come from autograd, so the two sides share nothing but
the initial arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import Parameter
from scratchnn.optim import SGD, AdaGrad, Adam, AdamW, RMSprop

CASES = [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "weight_decay": 0.05}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    (AdaGrad, "Adagrad", {"lr": 0.1}),
    (AdaGrad, "Adagrad", {"lr": 0.1, "eps": 1e-3, "weight_decay": 0.1}),
    (AdaGrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    (RMSprop, "RMSprop", {"lr": 0.01}),
    (RMSprop, "RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-3}),
    (RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    (RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3}),
    (Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    (AdamW, "AdamW", {"lr": 0.01}),
    (AdamW, "AdamW", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.3}),
    (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.0}),
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for _, name, kw in CASES]


def numpy_gradients(x, y, weight, bias):
    """loss = mean((tanh(x @ weight + bias) - y)**2) -> (dweight, dbias)."""
    a = np.tanh(x @ weight + bias)                   # (N, M)
    da = 2.0 * (a - y) / a.size
    dz = da * (1.0 - a * a)
    return x.T @ dz, dz.sum(axis=0)


def torch_gradients(torch, x, y, weight, bias):
    for p in (weight, bias):
        p.grad = None
    loss = ((torch.tanh(torch.from_numpy(x) @ weight + bias) - torch.from_numpy(y)) ** 2).mean()
    loss.backward()


def run_side_by_side(torch, rng, cls, torch_name, kwargs, steps=10, lrs=None, frozen_at=None):
    """Train both for `steps`; lrs[i] (optional) is set before step i; at step `frozen_at` the
    bias has no gradient. Yields (scratchnn arrays, torch arrays) after every step."""
    x, y = rng.standard_normal((8, 5)), rng.uniform(-0.9, 0.9, (8, 3))
    weight, bias = Parameter(rng.standard_normal((5, 3)), "weight"), Parameter(
        rng.standard_normal(3), "bias")
    tweight = torch.tensor(weight.data, requires_grad=True)
    tbias = torch.tensor(bias.data, requires_grad=True)
    ours = cls([weight, bias], **kwargs)
    ref = getattr(torch.optim, torch_name)([tweight, tbias], **kwargs)
    for i in range(steps):
        if lrs is not None:
            ours.lr = ref.param_groups[0]["lr"] = lrs[i]
        weight.grad, bias.grad = numpy_gradients(x, y, weight.data, bias.data)
        torch_gradients(torch, x, y, tweight, tbias)
        if i == frozen_at:
            bias.grad = tbias.grad = None
        ours.step()
        ref.step()
        yield (weight.data, bias.data), (tweight.detach().numpy(), tbias.detach().numpy())


def assert_same(ours, theirs, step):
    for a, b, name in zip(ours, theirs, ("weight", "bias"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{name}, step {step}")


@pytest.mark.parametrize("cls, torch_name, kwargs", CASES, ids=IDS)
def test_matches_torch_every_step(cls, torch_name, kwargs, torch, rng):
    for step, (ours, theirs) in enumerate(run_side_by_side(torch, rng, cls, torch_name, kwargs)):
        assert_same(ours, theirs, step)


@pytest.mark.parametrize("cls, torch_name, kwargs", CASES[::2], ids=IDS[::2])
def test_matches_torch_when_lr_changes_every_step(cls, torch_name, kwargs, torch, rng):
    lrs = kwargs["lr"] * np.linspace(1.0, 0.1, 10)     # a decaying schedule, set like the trainer
    runs = run_side_by_side(torch, rng, cls, torch_name, kwargs, lrs=list(lrs))
    for step, (ours, theirs) in enumerate(runs):
        assert_same(ours, theirs, step)


@pytest.mark.parametrize("cls, torch_name, kwargs", CASES[1::3], ids=IDS[1::3])
def test_matches_torch_when_a_parameter_has_no_gradient(cls, torch_name, kwargs, torch, rng):
    bias_before = None
    for step, (ours, theirs) in enumerate(
            run_side_by_side(torch, rng, cls, torch_name, kwargs, frozen_at=3)):
        assert_same(ours, theirs, step)
        if step == 2:
            bias_before = ours[1].copy()
        if step == 3:                                   # skipped: not even weight decay applies
            np.testing.assert_array_equal(ours[1], bias_before)


@pytest.mark.parametrize("cls, torch_name, kwargs", CASES[::3], ids=IDS[::3])
def test_float32_stays_float32_and_tracks_torch(cls, torch_name, kwargs, torch, rng):
    weight = Parameter(rng.standard_normal((4, 3)).astype(np.float32), "weight")
    tweight = torch.tensor(weight.data, requires_grad=True)
    ours = cls([weight], **kwargs)
    ref = getattr(torch.optim, torch_name)([tweight], **kwargs)
    for _ in range(10):
        grad = rng.standard_normal((4, 3)).astype(np.float32)
        weight.grad, tweight.grad = grad, torch.from_numpy(grad.copy())
        ours.step()
        ref.step()
        assert weight.data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in ours.state[0].values()
                   if isinstance(v, np.ndarray))
        np.testing.assert_allclose(weight.data, tweight.detach().numpy(), rtol=1e-5, atol=1e-6)
