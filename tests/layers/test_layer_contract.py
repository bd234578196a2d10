"""What DESIGN.md promises about every layer, checked on each one: backward leaves dout and the
forward cache alone, gradients accumulate, zero_grad resets to None, backward without a
train-mode forward is a clear error, computation stays in the input's dtype, integer inputs are
refused, and new layers start in train mode with float32 parameters."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from engine_helpers import DTYPES, randomise

from scratchnn.errors import ShapeError
from scratchnn.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)

# name -> (factory taking an rng, input shape)
LAYERS = {
    "Linear": (lambda rng: Linear(4, 3, rng=rng), (5, 4)),
    "Linear-no-bias": (lambda rng: Linear(4, 3, bias=False, rng=rng), (5, 4)),
    "ReLU": (lambda rng: ReLU(), (5, 4)),
    "LeakyReLU": (lambda rng: LeakyReLU(0.1), (5, 4)),
    "Sigmoid": (lambda rng: Sigmoid(), (5, 4)),
    "Tanh": (lambda rng: Tanh(), (5, 4)),
    "Dropout": (lambda rng: Dropout(0.5, rng=rng), (5, 4)),
    "BatchNorm1d": (lambda rng: BatchNorm1d(4), (5, 4)),
    "BatchNorm2d": (lambda rng: BatchNorm2d(3), (2, 3, 4, 4)),
    "Flatten": (lambda rng: Flatten(), (2, 3, 4)),
    "Conv2d": (lambda rng: Conv2d(3, 2, 3, stride=2, padding=1, rng=rng), (2, 3, 5, 5)),
    "Conv2d-no-bias": (lambda rng: Conv2d(3, 2, (2, 3), bias=False, rng=rng), (2, 3, 4, 5)),
    "MaxPool2d": (lambda rng: MaxPool2d(3, 2, 1), (2, 3, 5, 5)),
    "AvgPool2d": (lambda rng: AvgPool2d(2), (2, 3, 4, 4)),
    "GlobalAvgPool2d": (lambda rng: GlobalAvgPool2d(), (2, 3, 4, 4)),
}
WITH_PARAMETERS = ["Linear", "Linear-no-bias", "BatchNorm1d", "BatchNorm2d", "Conv2d",
                   "Conv2d-no-bias"]
SPATIAL = ["Conv2d", "Conv2d-no-bias", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]
COMPUTING = [name for name in LAYERS if name != "Flatten"]   # Flatten only reshapes


def make_case(name, rng, dtype=np.float64):
    """(layer in `dtype` with random parameters, input x, upstream gradient dout)."""
    factory, shape = LAYERS[name]
    layer = factory(rng).to_dtype(dtype)
    randomise(layer, rng)
    x = rng.standard_normal(shape).astype(dtype)
    dout_shape = (shape[0], int(np.prod(shape[1:]))) if name == "Flatten" else shape
    if name.startswith("Linear"):
        dout_shape = (shape[0], 3)
    if name in SPATIAL:                  # the output shape, from a forward on a copy
        dout_shape = copy.deepcopy(layer)(x).shape
    return layer, x, rng.standard_normal(dout_shape).astype(dtype)


def assert_identical(a, b) -> None:
    """Same structure, same values and dtypes (arrays, tuples, NamedTuples, scalars)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            assert_identical(u, v)
    else:
        assert a == b


@pytest.mark.parametrize("name", LAYERS)
def test_forward_and_backward_leave_x_dout_and_the_cache_unchanged(name, rng):
    layer, x, dout = make_case(name, rng)
    x_before, dout_before = x.copy(), dout.copy()
    layer(x)
    cache_before = copy.deepcopy(layer._cache)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    assert_identical(layer._cache, cache_before)
    np.testing.assert_array_equal(layer.backward(dout), dx)     # a second backward agrees


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_backward_accumulates_into_parameter_grad(name, rng):
    layer, x, dout = make_case(name, rng)
    layer(x)
    dx = layer.backward(dout)
    once = {key: p.grad.copy() for key, p in layer.named_parameters()}
    np.testing.assert_array_equal(layer.backward(dout), dx)
    for key, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, 2 * once[key])    # exact: g + g == 2 g


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_zero_grad_sets_every_grad_to_none_and_backward_starts_afresh(name, rng):
    layer, x, dout = make_case(name, rng)
    assert all(p.grad is None for p in layer.parameters())     # None until the first backward
    layer(x)
    layer.backward(dout)
    once = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
    layer.backward(dout)
    for p, g in zip(layer.parameters(), once, strict=True):
        np.testing.assert_array_equal(p.grad, g)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_before_any_forward_raises_a_runtime_error_naming_the_layer(name, rng):
    layer, _, dout = make_case(name, rng)
    with pytest.raises(RuntimeError, match=type(layer).__name__):
        layer.backward(dout)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_after_an_eval_mode_forward_raises_a_runtime_error(name, rng):
    layer, x, dout = make_case(name, rng)
    layer(x)                 # a train-mode cache, dropped by eval()
    layer.eval()
    layer(x)
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(dout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", LAYERS)
def test_layer_computes_in_the_dtype_of_its_input_and_parameters(name, dtype, rng):
    layer, x, dout = make_case(name, rng, dtype)
    out = layer(x)
    assert out.dtype == dtype
    assert layer.backward(dout).dtype == dtype
    for p in layer.parameters():
        assert p.data.dtype == dtype and p.grad.dtype == dtype
    for buffer in layer.buffers:
        assert getattr(layer, buffer).dtype == dtype
    layer.eval()
    assert layer(x).dtype == dtype


@pytest.mark.parametrize("int_dtype", [np.uint8, np.int64])
@pytest.mark.parametrize("name", COMPUTING)
def test_layer_refuses_integer_input_with_a_shape_error(name, int_dtype, rng):
    """Bug 13: raw uint8 pixels overflow; sigmoid(int) silently computed 0 before this test."""
    layer, x, _ = make_case(name, rng)
    with pytest.raises(ShapeError, match="floating-point"):
        layer((10 * x).astype(int_dtype))


@pytest.mark.parametrize("name", LAYERS)
def test_new_layer_starts_in_train_mode_with_float32_parameters(name, rng):
    layer = LAYERS[name][0](rng)
    assert layer.training is True
    for p in layer.parameters():
        assert p.data.dtype == np.float32
    for buffer in layer.buffers:
        assert getattr(layer, buffer).dtype == np.float32
    assert layer.eval() is layer and layer.training is False
    assert layer.train() is layer and layer.training is True
