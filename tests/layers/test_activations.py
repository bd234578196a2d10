"""ReLU, LeakyReLU, Sigmoid, Tanh: float64 numerical gradients, torch parity (exact zeros
included), and mutations that must be caught (ReLU `>=`, sigmoid derivative of the input)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, away_from_zero, parity_error, tensor

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.layers import LeakyReLU, ReLU, Sigmoid, Tanh

SHAPES = [(1, 1), (3, 4), (2, 3, 4, 5)]

# name -> (layer factory, torch function, has a kink at 0)
ACTIVATIONS = {
    "relu": (ReLU, lambda t, x: t.nn.functional.relu(x), True),
    "leaky_relu_0.01": (LeakyReLU, lambda t, x: t.nn.functional.leaky_relu(x, 0.01), True),
    "leaky_relu_0.2": (lambda: LeakyReLU(0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2),
                       True),
    "sigmoid": (Sigmoid, lambda t, x: t.sigmoid(x), False),
    "tanh": (Tanh, lambda t, x: t.tanh(x), False),
}


def activation_input(name, rng, shape, dtype=np.float64):
    """Kinked activations get inputs at least 0.1 from 0; smooth ones a wide N(0, 3^2)."""
    if ACTIVATIONS[name][2]:
        return away_from_zero(rng, shape, dtype)
    return (3 * rng.standard_normal(shape)).astype(dtype)


def torch_reference(torch, name, x, dout):
    """(output, dx) from torch autograd."""
    xt = tensor(torch, x, requires_grad=True)
    out = ACTIVATIONS[name][1](torch, xt)
    out.backward(tensor(torch, dout))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradient_matches_numerical_gradient(name, shape, rng):
    x = activation_input(name, rng, shape)
    report = gradcheck.check_layer(ACTIVATIONS[name][0](), x, rng.standard_normal(shape))
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_output_and_gradient_match_torch(name, shape, dtype, rng, torch):
    x = activation_input(name, rng, shape, dtype)
    x.flat[:: 3] = 0          # exact zeros: torch's ReLU gradient there is 0, LeakyReLU's the slope
    dout = rng.standard_normal(shape).astype(dtype)
    layer = ACTIVATIONS[name][0]()
    out_t, dx_t = torch_reference(torch, name, x, dout)
    assert_close(layer(x), out_t, dtype)
    assert_close(layer.backward(dout), dx_t, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_tanh_saturate_without_overflow_and_match_torch(dtype, rng, torch):
    x = np.array([[-1e4, -80.0, -20.0, 0.0, 20.0, 80.0, 1e4]], dtype)
    dout = np.ones_like(x)
    for name, layer in [("sigmoid", Sigmoid()), ("tanh", Tanh())]:
        with np.errstate(all="raise"):
            out, dx = layer(x), layer.backward(dout)
        out_t, dx_t = torch_reference(torch, name, x, dout)
        assert_close(out, out_t, dtype)
        assert_close(dx, dx_t, dtype)


def _relu_dx(x, dout):
    layer = ReLU()
    layer(x)
    return layer.backward(dout)


def test_relu_mask_with_greater_or_equal_is_caught_by_torch_parity_on_zeros(monkeypatch, rng,
                                                                            torch):
    """Bug 6: `x >= 0` passes the gradient at 0; torch (and our contract) passes none."""
    x = away_from_zero(rng, (4, 6))
    x[:, ::2] = 0.0
    dout = rng.standard_normal(x.shape)
    _, dx_t = torch_reference(torch, "relu", x, dout)
    assert parity_error(_relu_dx(x, dout), dx_t) == 0      # the real kernel agrees exactly

    monkeypatch.setattr(F, "relu_forward", lambda x: (np.maximum(x, 0), x >= 0))
    assert parity_error(_relu_dx(x, dout), dx_t) > 1e-2


def test_sigmoid_derivative_of_the_input_instead_of_the_output_is_caught_by_gradcheck(
        monkeypatch, rng):
    """Bug 5: y(1 - y) evaluated at the pre-activation x."""
    original = F.sigmoid_forward

    def broken(x):
        out, _ = original(x)
        return out, x

    monkeypatch.setattr(F, "sigmoid_forward", broken)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    report = gradcheck.check_layer(Sigmoid(), x, dout)
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE


@pytest.mark.parametrize("kernel", ["relu_backward", "leaky_relu_backward", "sigmoid_backward",
                                    "tanh_backward"])
def test_gradcheck_fails_when_an_activation_backward_is_0_1_percent_too_large(kernel, monkeypatch,
                                                                              rng):
    original = getattr(F, kernel)
    monkeypatch.setattr(F, kernel, lambda dout, cache: 1.001 * original(dout, cache))
    layer = {"relu_backward": ReLU, "leaky_relu_backward": LeakyReLU,
             "sigmoid_backward": Sigmoid, "tanh_backward": Tanh}[kernel]()
    x = away_from_zero(rng, (3, 5))
    x[0] = np.abs(x[0])                 # some inputs positive, so ReLU passes some gradient
    report = gradcheck.check_layer(layer, x, rng.standard_normal((3, 5)))
    assert report.ok is False
    assert report.max_rel_error > 100 * gradcheck.TOLERANCE
