"""Weight initialisers. Each draws from an explicit np.random.Generator (no global RNG state).

`shape` is (fan_in, fan_out) for Linear and (out_channels, in_channels, kh, kw) for Conv2d.
"""

from __future__ import annotations

import math

import numpy as np

from scratchnn.errors import ConfigError


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a Linear (D, M) or a Conv2d (out, in, kh, kw) weight."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def normal(shape: tuple[int, ...], std: float, rng: np.random.Generator,
           dtype=np.float32) -> np.ndarray:
    """N(0, std^2): the classic `weight_init_std * randn` of the course code."""
    return (std * rng.standard_normal(shape)).astype(dtype)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """He et al. 2015 (arxiv.org/abs/1502.01852): N(0, 2 / fan_in), for ReLU networks."""
    return normal(shape, math.sqrt(2.0 / fans(shape)[0]), rng, dtype)


def xavier_normal(shape: tuple[int, ...], rng: np.random.Generator,
                  dtype=np.float32) -> np.ndarray:
    """Glorot & Bengio 2010: N(0, 2 / (fan_in + fan_out)), for sigmoid and tanh networks."""
    fan_in, fan_out = fans(shape)
    return normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def initialise(shape: tuple[int, ...], scheme: str | float, rng: np.random.Generator,
               dtype=np.float32) -> np.ndarray:
    """Draw a weight by name: "he", "xavier", or a number used as the standard deviation."""
    if not all(isinstance(n, int | np.integer) and n >= 1 for n in shape):
        raise ConfigError(f"a weight of shape {tuple(shape)}: every size must be an integer >= 1")
    if isinstance(scheme, int | float):
        return normal(shape, float(scheme), rng, dtype)
    if scheme in ("he", "relu"):
        return he_normal(shape, rng, dtype)
    if scheme in ("xavier", "sigmoid", "tanh"):
        return xavier_normal(shape, rng, dtype)
    raise ConfigError(f"unknown weight init {scheme!r}; expected 'he', 'xavier' or a std number")
