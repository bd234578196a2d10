"""The classic update rules (CS231n functions, DLFS dict optimizers) against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import compat
from scratchnn.errors import ConfigError

STEPS = 5


def torch_trajectory(torch, make, w0, grads):
    """The weights after each step of a torch optimizer fed the given gradients."""
    w = torch.tensor(w0.copy(), requires_grad=True)
    optimizer = make([w])
    out = []
    for g in grads:
        w.grad = torch.tensor(g)
        optimizer.step()
        out.append(w.detach().numpy().copy())
    return out


@pytest.fixture
def problem(rng):
    return rng.standard_normal((3, 4)), [rng.standard_normal((3, 4)) for _ in range(STEPS)]


@pytest.mark.parametrize("rule, config, make", [
    ("sgd", {"learning_rate": 0.1}, lambda t, p: t.optim.SGD(p, lr=0.1)),
    ("sgd_momentum", {"learning_rate": 0.1, "momentum": 0.8},
     lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.8)),
    ("rmsprop", {"learning_rate": 0.01, "decay_rate": 0.9},
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    ("adam", {"learning_rate": 0.01}, lambda t, p: t.optim.Adam(p, lr=0.01)),
])
def test_cs231n_rules_follow_torch(rule, config, make, problem, torch):
    w, grads = problem
    expected = torch_trajectory(torch, lambda p: make(torch, p), w, grads)
    for g, want in zip(grads, expected, strict=True):
        w, config = compat.UPDATE_RULES[rule](w, g, config)
        np.testing.assert_allclose(w, want, rtol=1e-12, atol=1e-14)


def test_cs231n_rules_fill_in_the_course_defaults(rng):
    w, dw = rng.standard_normal(3), rng.standard_normal(3)
    _, config = compat.adam(w, dw)
    assert config["learning_rate"] == 1e-3 and config["t"] == 1
    _, config = compat.sgd_momentum(w, dw)
    assert config["momentum"] == 0.9 and config["velocity"].shape == (3,)


@pytest.mark.parametrize("optimizer, make", [
    (lambda: compat.SGD(lr=0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    (lambda: compat.Momentum(lr=0.1), lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9)),
    (lambda: compat.Nesterov(lr=0.1),
     lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    (lambda: compat.AdaGrad(lr=0.1), lambda t, p: t.optim.Adagrad(p, lr=0.1, eps=1e-7)),
    (lambda: compat.RMSprop(lr=0.01), lambda t, p: t.optim.RMSprop(p, lr=0.01, eps=1e-7)),
    (lambda: compat.Adam(lr=0.01), lambda t, p: t.optim.Adam(p, lr=0.01, eps=1e-7)),
])
def test_dlfs_optimizers_update_the_dict_in_place_as_torch_does(optimizer, make, problem, torch):
    w, grads = problem
    expected = torch_trajectory(torch, lambda p: make(torch, p), w, grads)
    params = {"W1": w.copy(), "b1": np.zeros(2)}
    original = params["W1"]
    opt = optimizer()
    for g, want in zip(grads, expected, strict=True):
        opt.update(params, {"W1": g, "b1": np.ones(2)})
        np.testing.assert_allclose(params["W1"], want, rtol=1e-12, atol=1e-14)
    assert params["W1"] is original             # updated in place, as the book's code does


def test_dlfs_optimizer_follows_an_array_the_caller_replaced(problem):
    w, grads = problem
    params, opt = {"W": w.copy()}, compat.SGD(lr=0.5)
    opt.update(params, {"W": grads[0]})
    params["W"] = np.zeros_like(w)
    opt.update(params, {"W": grads[1]})
    np.testing.assert_array_equal(params["W"], -0.5 * grads[1])


def test_dlfs_optimizer_refuses_changed_keys(problem):
    w, grads = problem
    opt = compat.Adam()
    opt.update({"W": w.copy()}, {"W": grads[0]})
    with pytest.raises(ConfigError, match="keys changed"):
        opt.update({"V": w.copy()}, {"V": grads[0]})
