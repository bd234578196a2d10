"""Constructing optimizers: hyperparameter validation with torch's wording, and make_optimizer."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import ConfigError, Parameter
from scratchnn.optim import SGD, AdaGrad, Adam, AdamW, RMSprop, make_optimizer


def make_params(rng) -> list[Parameter]:
    return [Parameter(rng.standard_normal((4, 3)), "weight"), Parameter(np.zeros(3), "bias")]


@pytest.mark.parametrize("cls, kwargs, message", [
    (SGD, {"lr": -1}, "Invalid learning rate: -1"),
    (SGD, {"lr": float("nan")}, "Invalid learning rate: nan"),
    (SGD, {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
    (SGD, {"lr": 0.1, "weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    (SGD, {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum"),
    (AdaGrad, {"lr": 0.1, "eps": -1.0}, "Invalid epsilon value: -1.0"),
    (AdaGrad, {"lr": 0.1, "lr_decay": -1.0}, "Invalid lr_decay value: -1.0"),
    (RMSprop, {"lr": 0.1, "alpha": -0.1}, "Invalid alpha value: -0.1"),
    (RMSprop, {"lr": 0.1, "alpha": 1.5}, "Invalid alpha value: 1.5"),
    (RMSprop, {"lr": 0.1, "momentum": -1}, "Invalid momentum value: -1"),
    (Adam, {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    (Adam, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    (Adam, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    (AdamW, {"weight_decay": -0.01}, "Invalid weight_decay value: -0.01"),
])
def test_invalid_hyperparameters_raise_with_torch_wording(cls, kwargs, message, rng):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cls(make_params(rng), **kwargs)


def test_empty_parameter_list_is_an_error():
    with pytest.raises(ConfigError, match="empty parameter list"):
        Adam([])


@pytest.mark.parametrize("name, cls, attrs", [
    ("sgd", SGD, {"momentum": 0.0, "nesterov": False}),
    ("momentum", SGD, {"momentum": 0.9, "nesterov": False}),
    ("nesterov", SGD, {"momentum": 0.9, "nesterov": True}),
    ("adagrad", AdaGrad, {"eps": 1e-10}),
    ("rmsprop", RMSprop, {"alpha": 0.99}),
    ("adam", Adam, {"betas": (0.9, 0.999), "weight_decay": 0.0}),
    ("adamw", AdamW, {"weight_decay": 0.01}),
])
def test_make_optimizer_by_name(name, cls, attrs, rng):
    opt = make_optimizer(name, make_params(rng), lr=0.05)
    assert type(opt) is cls and opt.lr == 0.05
    assert {k: getattr(opt, k) for k in attrs} == attrs


def test_make_optimizer_passes_options_through(rng):
    opt = make_optimizer("momentum", make_params(rng), lr=0.1, momentum=0.5, weight_decay=1e-4)
    assert (opt.momentum, opt.weight_decay) == (0.5, 1e-4)


def test_make_optimizer_unknown_name_lists_names_and_closest_match(rng):
    with pytest.raises(ConfigError) as info:
        make_optimizer("adamm", make_params(rng), lr=0.1)
    message = str(info.value)
    assert "unknown optimizer 'adamm'" in message and "did you mean 'adam'?" in message
    assert "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw" in message
    assert "\n" not in message
