"""Optimizer behaviour: skipping None grads, zero_grad, descent, dtype and state_dict."""

from __future__ import annotations

import io

import numpy as np
import pytest

from scratchnn import ConfigError, Parameter, ShapeError
from scratchnn.optim import SGD, AdaGrad, Adam, AdamW, RMSprop

# One configuration per optimizer that exercises every state slot.
ALL = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (AdaGrad, {"lr": 0.1, "weight_decay": 0.01, "lr_decay": 0.01}),
    (RMSprop, {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
    (Adam, {"lr": 0.01, "weight_decay": 0.01}),
    (AdamW, {"lr": 0.01}),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(ALL)]


def make_params(rng, dtype=np.float64) -> list[Parameter]:
    return [Parameter(rng.standard_normal(shape).astype(dtype), name)
            for shape, name in (((4, 3), "weight"), ((3,), "bias"))]


def quadratic_loss(params) -> float:
    """0.5 * sum(p**2) over all parameters: convex, gradient = p."""
    return 0.5 * sum(float(np.sum(p.data**2)) for p in params)


def set_gradients(params, rng) -> None:
    for p in params:
        p.grad = rng.standard_normal(p.data.shape).astype(p.data.dtype)


@pytest.mark.parametrize("cls, kwargs", ALL, ids=IDS)
def test_step_skips_parameters_without_gradient(cls, kwargs, rng):
    params = make_params(rng)
    opt = cls(params, **kwargs)
    weight, bias = params[0].data.copy(), params[1].data.copy()
    params[0].grad = np.ones_like(weight)
    opt.step()
    np.testing.assert_array_equal(params[1].data, bias)      # no weight decay either
    assert opt.state[1] == {}                                # state is created lazily
    assert not np.array_equal(params[0].data, weight)


@pytest.mark.parametrize("cls, kwargs", ALL, ids=IDS)
def test_zero_grad_sets_none_and_step_leaves_grad_alone(cls, kwargs, rng):
    params = make_params(rng)
    opt = cls(params, **kwargs)
    set_gradients(params, rng)
    grads = [p.grad.copy() for p in params]
    opt.step()
    opt.step()                                               # second step touches buffers
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)             # weight decay must not write into it
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("cls, kwargs", ALL, ids=IDS)
def test_one_step_on_a_convex_loss_lowers_it(cls, kwargs, rng):
    params = make_params(rng)
    opt = cls(params, **{**kwargs, "lr": 1e-3})
    before = quadratic_loss(params)
    for p in params:
        p.grad = p.data.copy()                               # d/dp 0.5 * p**2
    opt.step()
    assert quadratic_loss(params) < before


@pytest.mark.parametrize("cls, kwargs", ALL, ids=IDS)
def test_float32_stays_float32_even_with_a_numpy_lr(cls, kwargs, rng):
    params = make_params(rng, np.float32)
    opt = cls(params, **kwargs)
    for _ in range(3):
        opt.lr = np.float64(kwargs["lr"])                    # as a schedule might return it
        set_gradients(params, rng)
        opt.step()
    assert isinstance(opt.lr, float)
    for p, state in zip(params, opt.state, strict=True):
        assert p.data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))
    assert all(a.dtype in (np.float32, np.int64, np.float64) for a in opt.state_dict().values())


def run(opt, params, grads) -> None:
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g
        opt.step()


@pytest.mark.parametrize("through_npz", [False, True])
@pytest.mark.parametrize("cls, kwargs", ALL, ids=IDS)
def test_state_dict_round_trip_continues_bit_identically(cls, kwargs, through_npz, rng):
    params = make_params(rng)
    grads = [[rng.standard_normal(p.data.shape) for p in params] for _ in range(10)]
    opt = cls(params, **kwargs)
    run(opt, params, grads[:5])
    opt.lr = 0.5 * kwargs["lr"]                              # lr is part of the state
    saved, weights = opt.state_dict(), [p.data.copy() for p in params]
    if through_npz:
        buffer = io.BytesIO()
        np.savez(buffer, **saved)
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as archive:
            saved = dict(archive)
    run(opt, params, grads[5:])                              # the original carries on ...

    resumed = [Parameter(w, p.name) for w, p in zip(weights, params, strict=True)]
    fresh = cls(resumed, **kwargs)
    fresh.load_state_dict(saved)                             # ... and so does a fresh copy
    assert fresh.lr == 0.5 * kwargs["lr"]
    run(fresh, resumed, grads[5:])
    for a, b in zip(params, resumed, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_is_flat_named_and_a_copy(rng):
    params = make_params(rng)
    opt = Adam(params, lr=0.01)
    set_gradients(params, rng)
    opt.step()
    saved = opt.state_dict()
    assert sorted(saved) == ["0.exp_avg", "0.exp_avg_sq", "0.step", "1.exp_avg",
                             "1.exp_avg_sq", "1.step", "lr"]
    assert saved["0.step"] == 1 and saved["lr"] == 0.01
    first = saved["0.exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["0.exp_avg"], first)


def stepped_adam(rng) -> Adam:
    params = make_params(rng)
    opt = Adam(params, lr=0.01)
    set_gradients(params, rng)
    opt.step()
    return opt


@pytest.mark.parametrize("edit, error, message", [
    (lambda d: d.pop("lr"), ConfigError, "no 'lr' entry"),
    (lambda d: d.update({"0.momentum_buffer": d["0.exp_avg"]}), ConfigError, "unexpected key"),
    (lambda d: d.update({"7.step": np.array(1)}), ConfigError, "has 2 parameters"),
    (lambda d: d.pop("1.exp_avg_sq"), ConfigError, "state for parameter 1 has slots"),
    (lambda d: d.update({"0.exp_avg": np.zeros((3, 4))}), ShapeError, "expected (4, 3)"),
])
def test_load_state_dict_mismatch_is_a_clear_error(edit, error, message, rng):
    opt = stepped_adam(rng)
    saved = opt.state_dict()
    edit(saved)
    before = opt.state_dict()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        opt.load_state_dict(saved)
    for key, value in opt.state_dict().items():              # nothing was half-loaded
        np.testing.assert_array_equal(value, before[key])


def test_loading_another_optimizers_state_is_an_error(rng):
    adam = stepped_adam(rng)
    with pytest.raises(ConfigError, match="unexpected key '0.step' in SGD state_dict"):
        SGD(adam.params, lr=0.1, momentum=0.9).load_state_dict(adam.state_dict())
