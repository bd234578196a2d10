"""Preset architectures, each returned as a Sequential of layers.

The names follow the course code people arrive with: TwoLayerNet (CS231n, "Deep Learning from
Scratch" ch. 5) and MultiLayerNet (DLFS ch. 6: any depth, activation, initialisation, batch norm,
dropout and L2 weight decay). `build(name, ...)` makes one by its command-line name.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.layer import Layer, Sequential
from scratchnn.layers import BatchNorm1d, Dropout, Flatten, LeakyReLU, Linear, ReLU, Sigmoid, Tanh

ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
}


def _activation(name: str) -> Layer:
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def TwoLayerNet(input_size: int = 784, hidden_size: int = 100, output_size: int = 10, *,
                weight_init: str | float = "he", rng: np.random.Generator | None = None
                ) -> Sequential:
    """affine - relu - affine (the scores; pair it with SoftmaxCrossEntropy).

    Shapes: x (N, input_size) or images (N, C, H, W) -> scores (N, output_size).
    """
    return MultiLayerNet(input_size, (hidden_size,), output_size, weight_init=weight_init,
                         rng=rng)


def MultiLayerNet(input_size: int = 784, hidden_sizes: Sequence[int] = (100, 100, 100, 100),
                  output_size: int = 10, *, activation: str = "relu",
                  weight_init: str | float = "he", batchnorm: bool = False, dropout: float = 0.0,
                  weight_decay: float = 0.0, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten, then per hidden layer: affine - [batch norm] - activation - [dropout]; then affine.

    weight_init: "he", "xavier" or a standard deviation (DLFS's weight_init_std).
    weight_decay: L2 strength lambda; the trainer adds lambda/2 * sum(weight^2) over every
    weight matrix (not biases) to the loss, as DLFS's MultiLayerNet does. It is stored on the
    returned model as `model.weight_decay`.
    Shapes: x (N, input_size) or images (N, C, H, W) with C*H*W = input_size -> (N, output_size).
    """
    if any(h <= 0 for h in hidden_sizes):
        raise ConfigError(f"hidden sizes must be positive, got {list(hidden_sizes)}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
    rng = rng if rng is not None else np.random.default_rng()
    layers: list[Layer] = [Flatten()]
    sizes = [input_size, *hidden_sizes]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(Linear(fan_in, fan_out, weight_init=weight_init, rng=rng))
        if batchnorm:
            layers.append(BatchNorm1d(fan_out))
        layers.append(_activation(activation))
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    layers.append(Linear(sizes[-1], output_size, weight_init=weight_init, rng=rng))
    model = Sequential(*layers)
    model.weight_decay = weight_decay
    return model


def mlp(input_size: int = 784, output_size: int = 10, *,
        hidden_sizes: Sequence[int] = (512, 256), activation: str = "relu",
        weight_init: str | float = "he", batchnorm: bool = True, dropout: float = 0.2,
        weight_decay: float = 0.0, rng: np.random.Generator | None = None) -> Sequential:
    """The default model: a MultiLayerNet 784-512-256-10 with batch norm, ReLU and dropout 0.2."""
    return MultiLayerNet(input_size, hidden_sizes, output_size, activation=activation,
                         weight_init=weight_init, batchnorm=batchnorm, dropout=dropout,
                         weight_decay=weight_decay, rng=rng)


PRESETS = {
    "mlp": mlp,
    "two-layer-net": TwoLayerNet,
    "multi-layer-net": MultiLayerNet,
}


def build(name: str, input_size: int, output_size: int, *, rng: np.random.Generator,
          **options) -> Sequential:
    """Build a preset by its command-line name; unknown names suggest the nearest one."""
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown model {name!r}{hint}; expected one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    accepted = inspect.signature(preset).parameters
    for option in options:
        if option not in accepted:
            raise ConfigError(f"model {name!r} has no option {option!r}")
    return preset(input_size, output_size=output_size, rng=rng, **options)
