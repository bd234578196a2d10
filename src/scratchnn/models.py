"""Preset architectures, each returned as a Sequential of layers.

The presets follow the course code people arrive with: two_layer_net (CS231n, "Deep Learning
from Scratch" ch. 5) and multi_layer_net (DLFS ch. 6: any depth, activation, initialisation,
batch norm and dropout); the convolutional three_layer_convnet (CS231n) and simple_convnet (DLFS
ch. 7), and convnet, blocks of conv - batch norm - ReLU - max-pool (the `cnn` preset).
`build(name, input_shape, ...)` makes one by its command-line name (PRESETS).

Weight decay is not a model option: it belongs to the optimizer (`weight_decay`), and the
course-style L2 term to the Trainer (`l2_reg`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from scratchnn.errors import ConfigError
from scratchnn.layer import Layer, Sequential
from scratchnn.layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from scratchnn.names import choose

ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
}


def _activation(name: str) -> Layer:
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def two_layer_net(input_size: int = 784, hidden_size: int = 100, output_size: int = 10, *,
                  weight_init: str | float = "he", rng: np.random.Generator | None = None
                  ) -> Sequential:
    """affine - relu - affine (the scores; pair it with SoftmaxCrossEntropy).

    Shapes: x (N, input_size) or images (N, C, H, W) -> scores (N, output_size).
    """
    return multi_layer_net(input_size, (hidden_size,), output_size, weight_init=weight_init,
                           rng=rng)


def multi_layer_net(input_size: int = 784,
                    hidden_sizes: Sequence[int] = (100, 100, 100, 100), output_size: int = 10,
                    *, activation: str = "relu", weight_init: str | float = "he",
                    batchnorm: bool = False, dropout: float = 0.0,
                    rng: np.random.Generator | None = None) -> Sequential:
    """Flatten, then per hidden layer: affine - [batch norm] - activation - [dropout]; then affine.

    weight_init: "he", "xavier" or a standard deviation (DLFS's weight_init_std). DLFS's
    weight_decay_lambda is Trainer(l2_reg=...), not an option of the network.
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
    return Sequential(*layers)


def mlp(input_size: int = 784, output_size: int = 10, *,
        hidden_sizes: Sequence[int] = (512, 256), activation: str = "relu",
        weight_init: str | float = "he", batchnorm: bool = True, dropout: float = 0.2,
        rng: np.random.Generator | None = None) -> Sequential:
    """The default model: a multi_layer_net 784-512-256-10 with batch norm, ReLU, dropout 0.2."""
    return multi_layer_net(input_size, hidden_sizes, output_size, activation=activation,
                           weight_init=weight_init, batchnorm=batchnorm, dropout=dropout, rng=rng)


def _image_shape(input_shape: Sequence[int], name: str) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ConfigError(f"{name} needs image input (C, H, W), got shape {tuple(input_shape)}")
    return tuple(int(d) for d in input_shape)


def _pooled(size: int, times: int) -> int:
    """The size after `times` 2x2 max-pools (each floors)."""
    for _ in range(times):
        size //= 2
    return size


def three_layer_convnet(input_shape: Sequence[int] = (3, 32, 32), num_filters: int = 32,
                        filter_size: int = 7, hidden_dim: int = 100, output_size: int = 10, *,
                        weight_init: str | float = "he", rng: np.random.Generator | None = None
                        ) -> Sequential:
    """CS231n's conv - relu - 2x2 max-pool - affine - relu - affine.

    The convolution keeps the spatial size (stride 1, padding (filter_size - 1) // 2). CS231n's
    `reg` is Trainer(l2_reg=...).
    Shapes: x (N, C, H, W) -> scores (N, output_size).
    """
    c, h, w = _image_shape(input_shape, "three_layer_convnet")
    rng = rng if rng is not None else np.random.default_rng()
    return Sequential(
        Conv2d(c, num_filters, filter_size, padding=(filter_size - 1) // 2,
               weight_init=weight_init, rng=rng),
        ReLU(), MaxPool2d(2), Flatten(),
        Linear(num_filters * _pooled(h, 1) * _pooled(w, 1), hidden_dim, weight_init=weight_init,
               rng=rng),
        ReLU(),
        Linear(hidden_dim, output_size, weight_init=weight_init, rng=rng))


def simple_convnet(input_shape: Sequence[int] = (1, 28, 28), filter_num: int = 30,
                   filter_size: int = 5, padding: int = 0, stride: int = 1,
                   hidden_size: int = 100, output_size: int = 10, *,
                   weight_init: str | float = "he", rng: np.random.Generator | None = None
                   ) -> Sequential:
    """DLFS ch. 7's conv - relu - 2x2 max-pool - affine - relu - affine (conv 30@5x5, affine 100).

    Shapes: x (N, C, H, W) -> scores (N, output_size).
    """
    c, h, w = _image_shape(input_shape, "simple_convnet")
    rng = rng if rng is not None else np.random.default_rng()
    conv_h = (h + 2 * padding - filter_size) // stride + 1
    conv_w = (w + 2 * padding - filter_size) // stride + 1
    return Sequential(
        Conv2d(c, filter_num, filter_size, stride, padding, weight_init=weight_init, rng=rng),
        ReLU(), MaxPool2d(2), Flatten(),
        Linear(filter_num * _pooled(conv_h, 1) * _pooled(conv_w, 1), hidden_size,
               weight_init=weight_init, rng=rng),
        ReLU(),
        Linear(hidden_size, output_size, weight_init=weight_init, rng=rng))


def convnet(input_shape: Sequence[int] = (1, 28, 28), channels: Sequence[int] = (32, 64),
            hidden_sizes: Sequence[int] = (128,), output_size: int = 10, *,
            batchnorm: bool = True, dropout: float = 0.5, weight_init: str | float = "he",
            rng: np.random.Generator | None = None) -> Sequential:
    """Per entry of `channels`: conv 3x3 pad 1 - [batch norm] - ReLU - 2x2 max-pool; flatten;
    per hidden size: affine - ReLU - [dropout]; then affine.

    The defaults are the two-block network of benchmarks/speed.py.
    Shapes: x (N, C, H, W) -> scores (N, output_size).
    """
    c, h, w = _image_shape(input_shape, "convnet")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
    if _pooled(min(h, w), len(channels)) < 1:
        raise ConfigError(f"{len(channels)} 2x2 poolings do not fit input {h}x{w}")
    rng = rng if rng is not None else np.random.default_rng()
    layers: list[Layer] = []
    for fan_in, fan_out in zip((c, *channels[:-1]), channels, strict=True):
        layers.append(Conv2d(fan_in, fan_out, 3, padding=1, bias=not batchnorm,
                             weight_init=weight_init, rng=rng))
        if batchnorm:               # its beta does the bias's job
            layers.append(BatchNorm2d(fan_out))
        layers += [ReLU(), MaxPool2d(2)]
    layers.append(Flatten())
    sizes = [channels[-1] * _pooled(h, len(channels)) * _pooled(w, len(channels)),
             *hidden_sizes]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Linear(fan_in, fan_out, weight_init=weight_init, rng=rng), ReLU()]
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    layers.append(Linear(sizes[-1], output_size, weight_init=weight_init, rng=rng))
    return Sequential(*layers)


# A narrow first block, where each channel costs most (28x28 maps), and a wide last one (7x7).
CNN_CHANNELS = (24, 64, 192)


def cnn(input_shape: Sequence[int] = (1, 28, 28), output_size: int = 10, *,
        channels: Sequence[int] = CNN_CHANNELS, hidden_sizes: Sequence[int] = (256,),
        batchnorm: bool = True, dropout: float = 0.0, weight_init: str | float = "he",
        rng: np.random.Generator | None = None) -> Sequential:
    """The strongest preset for Fashion-MNIST within the time budget (README): a convnet of three
    blocks, 24, 64 and 192 channels, then affine 256 - ReLU - affine. No dropout: it trains with
    augmentation instead, AdamW and 21 epochs, and predicts with test views (TRAIN_DEFAULTS).
    """
    return convnet(input_shape, channels, hidden_sizes, output_size, batchnorm=batchnorm,
                   dropout=dropout, weight_init=weight_init, rng=rng)


# The course's class-like names, used by the README, the benchmarks and the experiments.
TwoLayerNet, MultiLayerNet = two_layer_net, multi_layer_net
ThreeLayerConvNet, SimpleConvNet, ConvNet = three_layer_convnet, simple_convnet, convnet


class Preset(NamedTuple):
    function: Callable[..., Sequential]
    flat: bool            # True: the first argument is input_size = C*H*W; False: (C, H, W)


PRESETS: dict[str, Preset] = {
    "mlp": Preset(mlp, flat=True),
    "two-layer-net": Preset(two_layer_net, flat=True),
    "multi-layer-net": Preset(multi_layer_net, flat=True),
    "three-layer-convnet": Preset(three_layer_convnet, flat=False),
    "simple-convnet": Preset(simple_convnet, flat=False),
    "cnn": Preset(cnn, flat=False),
}

# Training settings a preset comes with: `scratchnn train --model NAME` uses them wherever
# neither the --config file nor a flag sets them.
TRAIN_DEFAULTS: dict[str, dict[str, object]] = {
    "cnn": {"epochs": 21, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05,
            "warmup_epochs": 1.0, "augment": True, "tta": True},
}


def options(name: str) -> list[str]:
    """The options a preset accepts by name (not its input, output_size or rng)."""
    params = list(inspect.signature(PRESETS[name].function).parameters)
    return [p for p in params[1:] if p not in ("output_size", "rng")]


def resolved_options(name: str, given: dict) -> dict:
    """Every option of preset `name`: `given`, else the preset's default (sequences as lists).
    A model file stores these, so a later change of a preset's defaults cannot change it."""
    params = inspect.signature(PRESETS[name].function).parameters
    values = {p: given.get(p, params[p].default) for p in options(name)}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def build(name: str, input_shape: int | Sequence[int], output_size: int, *,
          rng: np.random.Generator, **kwargs) -> Sequential:
    """Build a preset by its command-line name; unknown names suggest the nearest one.

    input_shape: one sample's shape, (C, H, W) for images (an int for flat inputs). The flat
    presets (the MLPs) get its product, the convolutional ones the shape.
    """
    preset = PRESETS[choose("model", name, PRESETS)]
    for option in kwargs:
        if option not in options(name):
            raise ConfigError(f"model {name!r} has no option {option!r}")
    shape = (input_shape,) if isinstance(input_shape, int | np.integer) else tuple(input_shape)
    return preset.function(math.prod(shape) if preset.flat else shape, output_size=output_size,
                           rng=rng, **kwargs)
