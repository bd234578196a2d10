"""Each supported ONNX operator as scratchnn layers.

OPS[op](node, shape) -> (layers, shape after), where `shape` is one sample's shape (the batch
axis left out); PAIRS[(op, next op)](node, next node, shape) does the same for two nodes that
make one layer (MatMul + Add, GlobalAveragePool + Flatten), or returns None when they do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scratchnn import layers as L
from scratchnn.functional.conv import output_size
from scratchnn.onnx.node import NodeView, float32_decimal

Shape = tuple[int, ...]
Result = tuple[list[L.Layer], Shape]


def _flat(node: NodeView, shape: Shape) -> int:
    if len(shape) != 1:
        raise node.fail(f"expects a flat input (N, D), got samples of shape {shape}")
    return shape[0]


def _linear(node: NodeView, weight: np.ndarray, bias: np.ndarray | None, shape: Shape
            ) -> Result:
    """weight (in, out), as our Linear stores it."""
    if weight.ndim != 2 or weight.shape[0] != _flat(node, shape):
        raise node.fail(f"weight of shape {weight.shape} does not fit inputs of shape {shape}")
    if bias is not None:
        if bias.size != weight.shape[1] or bias.ndim > 2:
            raise node.fail(f"bias of shape {bias.shape} does not fit {weight.shape[1]} outputs")
        bias = bias.reshape(-1)
    layer = L.Linear(*weight.shape, bias=bias is not None, rng=np.random.default_rng(0))
    layer.weight.data = np.ascontiguousarray(weight)
    if bias is not None:
        layer.bias.data = bias.copy()
    return [layer], (weight.shape[1],)


def gemm(node: NodeView, shape: Shape) -> Result:
    """Y = A @ B + C (transB: B is (out, in), as torch's Linear.weight)."""
    node.allow("alpha", "beta", "transA", "transB")
    node.expect("alpha", node.real("alpha", 1.0), 1.0)
    node.expect("beta", node.real("beta", 1.0), 1.0)
    node.expect("transA", node.integer("transA", 0), 0)
    trans_b = node.integer("transB", 0)
    weight = node.weight(1, "B")
    if trans_b not in (0, 1) or weight.ndim != 2:
        raise node.fail(f"B of shape {weight.shape} with transB={trans_b} is not supported")
    return _linear(node, weight.T if trans_b else weight, node.const(2, "C"), shape)


def matmul(node: NodeView, shape: Shape) -> Result:
    node.allow()
    return _linear(node, node.weight(1, "B"), None, shape)


def matmul_add(node: NodeView, add: NodeView, shape: Shape) -> Result | None:
    """MatMul(x, W) then Add(., b) with a constant b: one Linear."""
    other = [name for name in add.inputs if name != node.outputs[0]]
    if len(add.inputs) != 2 or len(other) != 1 or other[0] not in add.constants or add.attributes:
        return None
    bias = add.constants[other[0]]
    if bias.dtype != np.float32:
        raise add.fail(f"bias is {bias.dtype}; only float32 weights are supported")
    node.allow()
    return _linear(node, node.weight(1, "B"), bias, shape)


def _window(node: NodeView, shape: Shape, kernel: tuple[int, int]
            ) -> tuple[tuple[int, int], tuple[int, int], Shape]:
    """The strides and (symmetric) padding of a Conv or pool -> (stride, padding, (H', W'))."""
    if len(shape) != 3:
        raise node.fail(f"expects images (N, C, H, W), got samples of shape {shape}")
    auto_pad = node.string("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise node.fail(f"attribute auto_pad={auto_pad!r} is not supported (NOTSET or VALID)")
    stride = node.ints("strides", (1, 1), 2)
    pads = node.ints("pads", (0, 0, 0, 0), 4) if auto_pad == "NOTSET" else (0, 0, 0, 0)
    node.expect("dilations", node.ints("dilations", (1, 1), 2), (1, 1))
    if pads[:2] != pads[2:]:
        raise node.fail(f"attribute pads={list(pads)} is not supported (only the same padding "
                        "at both ends: [ph, pw, ph, pw])")
    if min(kernel) < 1 or min(stride) < 1:
        raise node.fail(f"kernel {kernel} and strides {stride} must be positive")
    size = tuple(output_size(shape[1 + a], kernel[a], stride[a], pads[a]) for a in (0, 1))
    if min(size) < 1:
        raise node.fail(f"window {kernel} does not fit inputs of shape {shape}")
    return stride, pads[:2], size


def conv(node: NodeView, shape: Shape) -> Result:
    node.allow("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad")
    node.expect("group", node.integer("group", 1), 1)
    weight = node.weight(1, "W")
    if weight.ndim != 4 or len(shape) != 3 or weight.shape[1] != shape[0]:
        raise node.fail(f"weight of shape {weight.shape} does not fit inputs of shape {shape}")
    kernel = node.ints("kernel_shape", weight.shape[2:], 2)
    if kernel != weight.shape[2:]:
        raise node.fail(f"kernel_shape {kernel} disagrees with the weight {weight.shape}")
    stride, padding, size = _window(node, shape, kernel)
    bias = node.const(2, "B")
    if bias is not None and (bias.dtype != np.float32 or bias.shape != weight.shape[:1]):
        raise node.fail(f"bias {bias.dtype} {bias.shape} does not fit {weight.shape[0]} filters")
    layer = L.Conv2d(weight.shape[1], weight.shape[0], kernel, stride, padding,
                     bias=bias is not None, rng=np.random.default_rng(0))
    layer.weight.data = weight.copy()
    if bias is not None:
        layer.bias.data = bias.copy()
    return [layer], (weight.shape[0], *size)


def max_pool(node: NodeView, shape: Shape) -> Result:
    node.allow("kernel_shape", "strides", "pads", "dilations", "ceil_mode", "storage_order",
               "auto_pad")
    if len(node.outputs) > 1:
        raise node.fail("the Indices output is not supported")
    node.expect("ceil_mode", node.integer("ceil_mode", 0), 0)
    node.expect("storage_order", node.integer("storage_order", 0), 0)
    kernel = node.ints("kernel_shape", (), 2)
    stride, padding, size = _window(node, shape, kernel)
    return [L.MaxPool2d(kernel, stride, padding)], (shape[0], *size)


def average_pool(node: NodeView, shape: Shape) -> Result:
    node.allow("kernel_shape", "strides", "pads", "dilations", "ceil_mode", "count_include_pad",
               "auto_pad")
    node.expect("ceil_mode", node.integer("ceil_mode", 0), 0)
    kernel = node.ints("kernel_shape", (), 2)
    stride, padding, size = _window(node, shape, kernel)
    if max(padding) > 0:            # our AvgPool2d divides by kh*kw, padding included
        node.expect("count_include_pad", node.integer("count_include_pad", 0), 1)
    return [L.AvgPool2d(kernel, stride, padding)], (shape[0], *size)


def global_average_pool(node: NodeView, flatten: NodeView, shape: Shape) -> Result | None:
    """GlobalAveragePool (N, C, H, W) -> (N, C, 1, 1), then Flatten: one GlobalAvgPool2d."""
    node.allow()
    if len(shape) != 3:
        raise node.fail(f"expects images (N, C, H, W), got samples of shape {shape}")
    if _flattened(flatten, (shape[0], 1, 1)) is None:
        return None
    return [L.GlobalAvgPool2d()], (shape[0],)


def lone_global_average_pool(node: NodeView, shape: Shape) -> Result:
    raise node.fail("GlobalAveragePool is supported when a Flatten (or a Reshape to (N, C)) "
                    "follows it")


def batch_normalization(node: NodeView, shape: Shape) -> Result:
    node.allow("epsilon", "momentum", "training_mode", "spatial")
    node.expect("training_mode", node.integer("training_mode", 0), 0)
    node.expect("spatial", node.integer("spatial", 1), 1)
    if len(node.outputs) > 1:
        raise node.fail("the training outputs (running mean and variance) are not supported")
    if len(shape) not in (1, 3):
        raise node.fail(f"expects (N, C) or (N, C, H, W) inputs, got samples of shape {shape}")
    channels = (shape[0],)
    gamma, beta, mean, var = (node.weight(i, what, channels) for i, what in
                              enumerate(("scale", "B", "input_mean", "input_var"), 1))
    layer_class = L.BatchNorm1d if len(shape) == 1 else L.BatchNorm2d
    momentum = float32_decimal(1 - node.real("momentum", 0.9))
    layer = layer_class(shape[0], eps=node.real("epsilon", 1e-5), momentum=momentum)
    layer.weight.data, layer.bias.data = gamma.copy(), beta.copy()
    layer.running_mean, layer.running_var = mean.copy(), var.copy()
    return [layer], shape


def layer_normalization(node: NodeView, shape: Shape) -> Result:
    """Normalisation over the last k axes, as torch's LayerNorm (scale and B over those axes)."""
    node.allow("axis", "epsilon", "stash_type")
    node.expect("stash_type", node.integer("stash_type", 1), 1)
    if len(node.outputs) > 1 and any(node.outputs[1:]):
        raise node.fail("the Mean and InvStdDev outputs are not supported")
    axis = node.integer("axis", -1)
    k = -axis if axis < 0 else len(shape) + 1 - axis
    if not 1 <= k <= len(shape):
        raise node.fail(f"axis {axis} is not supported for samples of shape {shape} (only "
                        "axes after the batch axis)")
    normalized = shape[-k:]
    scale = node.weight(1, "Scale", normalized)
    bias = node.weight(2, "B", normalized) if node.const(2, "B") is not None else None
    layer = L.LayerNorm(normalized, eps=node.real("epsilon", 1e-5))
    layer.weight.data = scale.copy()
    layer.bias.data = bias.copy() if bias is not None else np.zeros(normalized, np.float32)
    return [layer], shape


def dropout(node: NodeView, shape: Shape) -> Result:
    node.allow("seed", "ratio", "is_test")
    ratio = node.const(1, "ratio")
    if ratio is not None and ratio.size != 1:
        raise node.fail(f"ratio of shape {ratio.shape} is not a single number")
    p = node.real("ratio", 0.5) if ratio is None else float32_decimal(ratio.flat[0])
    training = node.const(2, "training_mode")
    if training is not None and training.size == 1 and bool(training.flat[0]):
        raise node.fail("training_mode=true is not supported")
    if not 0.0 <= p < 1.0:
        raise node.fail(f"ratio {p} must be a number in [0, 1)")
    if len(node.outputs) > 1 and node.outputs[1]:
        raise node.fail("the mask output is not supported")
    return [L.Dropout(p, rng=np.random.default_rng(0))], shape


def _flattened(node: NodeView, shape: Shape) -> Shape | None:
    """The sample shape after a Flatten(axis=1) or a Reshape to (N, D); None for any other."""
    if node.op == "Flatten":
        node.allow("axis")
        node.expect("axis", node.integer("axis", 1), 1)
        return (math.prod(shape),)
    if node.op == "Reshape":
        node.allow("allowzero")
        target = node.const(1, "shape")
        size = math.prod(shape)
        if target is None or target.dtype.kind not in "iu" or target.shape != (2,):
            return None
        first, second = (int(v) for v in target)
        zero_copies = node.integer("allowzero", 0) == 0
        batch_kept = (first == 0 and zero_copies) or first == -1
        if batch_kept and (second == size or (second == -1 and first == 0)):
            return (size,)
    return None


def flatten(node: NodeView, shape: Shape) -> Result:
    flat = _flattened(node, shape)
    if flat is None:
        raise node.fail("only Flatten(axis=1) and a Reshape to (N, D) with a constant shape "
                        "[0, -1], [0, D] or [-1, D] are supported")
    return [L.Flatten()], flat


def _activation(layer_class: type) -> Callable[[NodeView, Shape], Result]:
    def convert(node: NodeView, shape: Shape) -> Result:
        node.allow()
        return [layer_class()], shape
    return convert


def leaky_relu(node: NodeView, shape: Shape) -> Result:
    node.allow("alpha")
    return [L.LeakyReLU(node.real("alpha", 0.01))], shape


def identity(node: NodeView, shape: Shape) -> Result:
    node.allow()
    return [], shape


OPS: dict[str, Callable[[NodeView, Shape], Result]] = {
    "Gemm": gemm, "MatMul": matmul, "Conv": conv, "Relu": _activation(L.ReLU),
    "LeakyRelu": leaky_relu, "Sigmoid": _activation(L.Sigmoid), "Tanh": _activation(L.Tanh),
    "MaxPool": max_pool, "AveragePool": average_pool,
    "GlobalAveragePool": lone_global_average_pool, "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "Flatten": flatten, "Reshape": flatten, "Dropout": dropout, "Identity": identity,
}
PAIRS = {("MatMul", "Add"): matmul_add, ("GlobalAveragePool", "Flatten"): global_average_pool,
         ("GlobalAveragePool", "Reshape"): global_average_pool}
