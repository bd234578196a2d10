"""Flatten: (N, ...) -> (N, prod(...)) and back, like torch.flatten(x, 1)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, tensor

from scratchnn import gradcheck
from scratchnn.layers import Flatten

SHAPES = [(2, 3, 4, 5), (1, 7), (3, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_flatten_gradient_matches_numerical_gradient(shape, rng):
    x = rng.standard_normal(shape)
    dout = rng.standard_normal((shape[0], x[0].size))
    report = gradcheck.check_layer(Flatten(), x, dout)
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_flatten_matches_torch_flatten_from_axis_1(shape, dtype, rng, torch):
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal((shape[0], x[0].size)).astype(dtype)
    xt = tensor(torch, x, requires_grad=True)
    out_t = torch.flatten(xt, 1)
    out_t.backward(tensor(torch, dout))
    layer = Flatten()
    assert_close(layer(x), out_t.detach().numpy(), dtype)
    assert_close(layer.backward(dout), xt.grad.numpy(), dtype)


def test_flatten_backward_restores_the_shape_of_the_last_input(rng):
    layer = Flatten()
    layer(rng.standard_normal((2, 3, 4)))
    assert layer.backward(np.zeros((2, 12))).shape == (2, 3, 4)
