"""Initialisers: the right standard deviation (statistically, with fixed bounds), only the
Generator they are given, float32 by default."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn import ConfigError, init
from scratchnn.layers import BatchNorm1d, Linear

SHAPE = (400, 300)          # 120,000 draws


def assert_std(w: np.ndarray, std: float) -> None:
    """For n normal draws the sample std has relative standard error 1/sqrt(2n) and the mean
    has standard error std/sqrt(n); 6 standard errors never trip by chance (p ~ 2e-9), while a
    wrong fan (e.g. 2/fan_out for 400x300) is off by 15%."""
    n = w.size
    assert abs(w.std() / std - 1) < 6 / math.sqrt(2 * n)
    assert abs(w.mean()) < 6 * std / math.sqrt(n)


@pytest.mark.parametrize("shape, fan_in, fan_out", [((400, 300), 400, 300),
                                                    ((8, 3, 5, 5), 75, 200)])
def test_fans_of_linear_and_conv_weights(shape, fan_in, fan_out):
    assert init.fans(shape) == (fan_in, fan_out)


@pytest.mark.parametrize("shape", [SHAPE, (64, 40, 7, 7)])
def test_he_normal_has_std_sqrt_2_over_fan_in(shape, rng):
    fan_in, _ = init.fans(shape)
    assert_std(init.he_normal(shape, rng), math.sqrt(2 / fan_in))


@pytest.mark.parametrize("shape", [SHAPE, (64, 40, 7, 7)])
def test_xavier_normal_has_std_sqrt_2_over_fan_in_plus_fan_out(shape, rng):
    fan_in, fan_out = init.fans(shape)
    assert_std(init.xavier_normal(shape, rng), math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("std", [0.01, 1.0, 3.0])
def test_normal_has_the_given_std(std, rng):
    assert_std(init.normal(SHAPE, std, rng), std)


def test_linear_weights_start_he_normal_and_biases_at_zero(rng):
    layer = Linear(*SHAPE, rng=rng)
    assert_std(layer.weight.data, math.sqrt(2 / SHAPE[0]))
    assert layer.weight.data.shape == SHAPE                       # (in_features, out_features)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(SHAPE[1], np.float32))


@pytest.mark.parametrize("scheme, std", [("he", math.sqrt(2 / 400)),
                                         ("xavier", math.sqrt(2 / 700)), (0.05, 0.05)])
def test_initialise_by_name_or_number(scheme, std, rng):
    assert_std(init.initialise(SHAPE, scheme, rng), std)
    assert_std(Linear(*SHAPE, weight_init=scheme, rng=rng).weight.data, std)


def test_initialise_rejects_an_unknown_scheme(rng):
    with pytest.raises(ConfigError, match="'uniform'"):
        init.initialise((3, 3), "uniform", rng)


@pytest.fixture
def restore_global_rng():
    """The test reseeds NumPy's global RNG; put the caller's state back afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.mark.parametrize("draw", [
    lambda g: init.he_normal((20, 10), g),
    lambda g: init.xavier_normal((20, 10), g),
    lambda g: init.normal((20, 10), 0.1, g),
    lambda g: Linear(20, 10, rng=g).weight.data,
], ids=["he", "xavier", "normal", "Linear"])
@pytest.mark.usefixtures("restore_global_rng")
def test_same_seed_same_weights_and_the_global_rng_is_neither_used_nor_advanced(draw):
    np.random.seed(0)
    fresh = np.random.get_state()
    first = draw(np.random.default_rng(42))
    after = np.random.get_state()                 # not advanced by the draw
    assert after[0] == fresh[0] and np.array_equal(after[1], fresh[1]) and after[2:] == fresh[2:]
    np.random.seed(1)                             # a different global seed changes nothing
    np.testing.assert_array_equal(draw(np.random.default_rng(42)), first)
    assert not np.array_equal(draw(np.random.default_rng(43)), first)


def test_initialisers_and_layers_default_to_float32_and_honour_a_dtype(rng):
    for w in (init.he_normal((3, 4), rng), init.xavier_normal((3, 4), rng),
              init.normal((3, 4), 1.0, rng), Linear(3, 4, rng=rng).weight.data,
              Linear(3, 4, rng=rng).bias.data, BatchNorm1d(4).weight.data):
        assert w.dtype == np.float32
    assert init.he_normal((3, 4), rng, dtype=np.float64).dtype == np.float64
    layer = Linear(3, 4, rng=rng, dtype=np.float64)
    assert layer.weight.data.dtype == layer.bias.data.dtype == np.float64
