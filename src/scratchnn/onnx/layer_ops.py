"""Each scratchnn layer as ONNX nodes (eval mode): EXPORTERS[type(layer)](g, prefix, layer, x,
shape) appends the nodes computing the layer on tensor x, whose samples have `shape`, and
returns the output tensor's name. Initializers are named like the state_dict ("0.weight")."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn import layers as L
from scratchnn.errors import ConfigError
from scratchnn.onnx.builder import GraphBuilder


def _linear(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    inputs = [x, g.constant(prefix + "weight", layer.weight.data)]     # (in, out): transB=0
    if layer.bias is not None:
        inputs.append(g.constant(prefix + "bias", layer.bias.data))
    return g.node("Gemm", inputs, prefix + "Gemm")


def _conv(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    inputs = [x, g.constant(prefix + "weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(g.constant(prefix + "bias", layer.bias.data))
    return g.node("Conv", inputs, prefix + "Conv", kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=list(layer.padding) * 2)


def _pool(op: str, **extra) -> Callable:
    def export(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
        return g.node(op, [x], prefix + op, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.stride), pads=list(layer.padding) * 2, **extra)
    return export


def _global_avg_pool(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    pooled = g.node("GlobalAveragePool", [x], prefix + "GlobalAveragePool")  # (N, C, 1, 1)
    return g.node("Flatten", [pooled], prefix + "Flatten", axis=1)            # (N, C)


def _batchnorm(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    names = [g.constant(prefix + key, value) for key, value in
             (("weight", layer.weight.data), ("bias", layer.bias.data),
              ("running_mean", layer.running_mean), ("running_var", layer.running_var))]
    # ONNX's momentum weighs the running value, torch's (ours) the batch statistic
    return g.node("BatchNormalization", [x, *names], prefix + "BatchNormalization",
                  epsilon=float(layer.eps), momentum=1.0 - float(layer.momentum))


def _layernorm(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    if g.opset < 17:
        raise ConfigError(f"LayerNorm needs ONNX opset 17 or later, got {g.opset}")
    return g.node("LayerNormalization", [x, g.constant(prefix + "weight", layer.weight.data),
                                         g.constant(prefix + "bias", layer.bias.data)],
                  prefix + "LayerNormalization", axis=-len(layer.normalized_shape),
                  epsilon=float(layer.eps))


def _groupnorm(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    # (N, C, ...) -> (N, G, rest): instance norm of the G "channels" is group norm without the
    # affine part, which is per channel and applied after reshaping back.
    groups = layer.num_groups
    grouped = g.node("Reshape", [x, g.constant(prefix + "groups", np.array([0, groups, -1]))],
                     prefix + "Reshape")
    normed = g.node("InstanceNormalization",
                    [grouped, g.constant(prefix + "ones", np.ones(groups, np.float32)),
                     g.constant(prefix + "zeros", np.zeros(groups, np.float32))],
                    prefix + "InstanceNormalization", epsilon=float(layer.eps))
    back = g.node("Reshape", [normed, g.constant(prefix + "shape", np.array([0, *shape]))],
                  prefix + "Reshape")
    affine = (layer.num_channels,) + (1,) * (len(shape) - 1)
    scaled = g.node("Mul", [back, g.constant(prefix + "weight",
                                             layer.weight.data.reshape(affine))], prefix + "Mul")
    return g.node("Add", [scaled, g.constant(prefix + "bias", layer.bias.data.reshape(affine))],
                  prefix + "Add")


def _dropout(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    # inference mode (no training_mode input): the identity; the ratio is kept for load()
    ratio = g.constant(prefix + "ratio", np.float32(layer.p))
    return g.node("Dropout", [x, ratio], prefix + "Dropout")


def _elementwise(op: str, **attributes) -> Callable:
    def export(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
        return g.node(op, [x], prefix + op, **attributes)
    return export


def _leaky_relu(g: GraphBuilder, prefix: str, layer, x: str, shape) -> str:
    return g.node("LeakyRelu", [x], prefix + "LeakyRelu", alpha=float(layer.negative_slope))


EXPORTERS: dict[type, Callable] = {
    L.Linear: _linear, L.Conv2d: _conv,
    L.MaxPool2d: _pool("MaxPool"), L.AvgPool2d: _pool("AveragePool", count_include_pad=1),
    L.GlobalAvgPool2d: _global_avg_pool,
    L.BatchNorm1d: _batchnorm, L.BatchNorm2d: _batchnorm,
    L.Dropout: _dropout, L.Flatten: _elementwise("Flatten", axis=1),
    L.ReLU: _elementwise("Relu"), L.LeakyReLU: _leaky_relu,
    L.Sigmoid: _elementwise("Sigmoid"), L.Tanh: _elementwise("Tanh"),
    L.LayerNorm: _layernorm, L.GroupNorm: _groupnorm,
}


def layer_nodes(g: GraphBuilder, prefix: str, layer, x: str, shape: tuple[int, ...]) -> str:
    """Append the nodes of one (non-container) layer -> its output tensor's name."""
    export = EXPORTERS.get(type(layer))
    if export is None:
        supported = ", ".join(sorted(cls.__name__ for cls in EXPORTERS))
        raise ConfigError(f"cannot export layer {prefix.rstrip('.')} ({type(layer).__name__}) "
                          f"to ONNX; supported layers: {supported}, and Sequential")
    return export(g, prefix, layer, x, shape)
