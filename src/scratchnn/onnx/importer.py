"""load(path): an ONNX model made of supported operators -> a scratchnn Sequential.

The graph must be a chain from its one input: each node feeds the next, weights are
initializers (or Constant nodes), and an optional Softmax at the end is dropped (the model
returns the scores, as our models do). The uint8 front that `export` writes (nodes named
"preprocess/...", recorded in the metadata) is skipped: the model takes its float input. So
are the test views of a run trained with --tta (nodes "views/..."): the model is the network,
and metadata() says which views the file averages.
Nothing in the file is executed; external data files are never opened.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from scratchnn.errors import ConfigError, DataError, ShapeError
from scratchnn.layer import Sequential
from scratchnn.onnx.errors import UnsupportedModelError
from scratchnn.onnx.node import NodeView
from scratchnn.onnx.node_ops import OPS, PAIRS
from scratchnn.onnx.reading import MAX_BYTES, MAX_ELEMENTS, read_model, tensor_array

SUPPORTED_OPERATORS = ("Gemm, MatMul(+Add), Conv, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, "
                       "AveragePool, GlobalAveragePool, BatchNormalization, LayerNormalization, "
                       "Flatten, Reshape, Dropout, Identity, and Softmax as the last node")
FRONT_OPS = ("Cast", "Mul", "Sub")
VIEW_OPS = ("Slice", "Pad", "Concat", "Reshape", "ReduceMean")
FLOAT, UINT8 = 1, 2                      # onnx TensorProto element types


def load(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Sequential:
    """Read an ONNX file -> a Sequential of float32 layers holding the file's weights, in train
    mode like any new model (call .eval() before predicting by hand).

    Raises a one-line DataError for a missing, oversized (> max_bytes) or malformed file, and
    UnsupportedModelError (a DataError) naming the node, the operator and what is supported.
    """
    model = read_model(path, max_bytes)
    try:
        return _convert(model)
    except DataError as error:
        raise type(error)(f"{path}: {error}") from None


def _convert(model) -> Sequential:
    for opset in model.opset_import:
        if opset.domain not in ("", "ai.onnx"):
            raise UnsupportedModelError(f"operator set {opset.domain!r} is not supported "
                                        "(only the default ONNX domain)")
    graph = model.graph
    constants = {t.name: tensor_array(t, f"initializer {t.name!r}") for t in graph.initializer}
    nodes = _constant_nodes(graph.node, constants)
    name, shape = _graph_input(graph, constants)
    consumers: dict[str, list[NodeView]] = {}
    for node in nodes:
        for tensor in dict.fromkeys(node.inputs):      # once per node
            if tensor and tensor not in constants:
                consumers.setdefault(tensor, []).append(node)

    current, layers, visited = name, [], set()
    views = _view_nodes(model, nodes)
    if views:
        visited |= {id(node) for node in views}
        current = next(node.outputs[0] for node in views if node.op == "Concat")
    if _has_front(model):
        current, visited = _skip_front(current, consumers, visited)
    outputs = {o.name for o in graph.output}
    ends = set()                    # the chain's last tensor, and its softmax if there is one
    while True:
        node = _only_consumer(current, consumers, outputs)
        if node is None:
            break
        if id(node) in visited:     # the mean over the views: the network ends before it
            current = _end_of_views(node, consumers, outputs)
            continue
        if node.op == "Softmax" and _is_final_softmax(node, shape, consumers, outputs):
            visited.add(id(node))
            ends.add(node.outputs[0])
            break
        if node.op not in OPS:
            raise node.fail(f"operator {node.op} is not supported; supported: "
                            f"{SUPPORTED_OPERATORS}")
        follower = _only_consumer(node.outputs[0], consumers, outputs)
        converted = None
        if follower is not None and (node.op, follower.op) in PAIRS:
            converted = _guarded(PAIRS[node.op, follower.op], node, follower, shape)
        if converted is not None:
            visited.add(id(follower))
            node_out = follower.outputs[0]
        else:
            converted = _guarded(OPS[node.op], node, shape)
            node_out = node.outputs[0]
        visited.add(id(node))
        new_layers, shape = converted
        if math.prod(shape) > MAX_ELEMENTS:
            raise node.fail(f"output samples of shape {shape} are too large")
        layers += new_layers
        current = node_out

    left = [node for node in nodes if id(node) not in visited]
    if left:
        raise left[0].fail("is not on the chain from the input to the output: only chains "
                           "of layers are supported")
    ends.add(current)
    if not outputs or not outputs <= ends:
        raise UnsupportedModelError(f"the graph's outputs {sorted(outputs)} are not the end of "
                                    f"the chain from its input ({current!r})")
    if not layers:
        raise UnsupportedModelError("the graph holds no layers")
    return Sequential(*layers)


def _guarded(convert, *args):
    """Run a converter; layer settings our layers refuse become an error naming the node."""
    try:
        return convert(*args)
    except (ConfigError, ShapeError) as error:
        raise args[0].fail(str(error)) from None


def _constant_nodes(protos, constants: dict[str, np.ndarray]) -> list[NodeView]:
    """Fold Constant nodes and Identity nodes of constants into `constants`; the other nodes
    as NodeViews, in file order."""
    nodes = []
    for index, proto in enumerate(protos):
        node = NodeView(proto, index, constants)
        if len(node.outputs) < 1 or not node.outputs[0]:
            raise node.fail("has no output")
        if node.op == "Constant":
            constants[node.outputs[0]] = _constant_value(node)
        elif node.op == "Identity" and node.inputs and node.inputs[0] in constants:
            constants[node.outputs[0]] = constants[node.inputs[0]]
        else:
            nodes.append(node)
    return nodes


def _constant_value(node: NodeView) -> np.ndarray:
    if len(node.attributes) != 1:
        raise node.fail("expects exactly one value attribute")
    (key, value), = node.attributes.items()
    if key == "value" and hasattr(value, "dims"):
        return tensor_array(value, f"node {node.name!r} (Constant)")
    kinds = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
             "value_ints": np.int64}
    if key not in kinds or isinstance(value, bytes | str):
        raise node.fail(f"attribute {key!r} is not supported (value, value_float(s), "
                        "value_int(s))")
    array = np.array(value, kinds[key])
    if array.size > MAX_ELEMENTS:
        raise node.fail("constant too large")
    return array


def _graph_input(graph, constants) -> tuple[str, tuple[int, ...]]:
    """The one non-constant graph input -> (name, sample shape)."""
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise UnsupportedModelError(f"the graph has {len(inputs)} inputs; exactly one is "
                                    "supported")
    tensor = inputs[0].type.tensor_type
    if tensor.elem_type not in (FLOAT, UINT8):
        raise UnsupportedModelError(f"input {inputs[0].name!r} has element type "
                                    f"{tensor.elem_type}; float32 is supported")
    dims = list(tensor.shape.dim)
    sample = [d.dim_value if d.HasField("dim_value") else None for d in dims[1:]]
    if not dims or any(d is None or d < 1 for d in sample):
        raise UnsupportedModelError(f"input {inputs[0].name!r} needs a fixed sample shape "
                                    "(all but the batch axis)")
    if math.prod(sample) > MAX_ELEMENTS:
        raise UnsupportedModelError(f"input samples of shape {tuple(sample)} are too large")
    return inputs[0].name, tuple(sample)


def _has_front(model) -> bool:
    from scratchnn.onnx.exporter import META_PREPROCESS

    return any(p.key == META_PREPROCESS for p in model.metadata_props)


def _view_nodes(model, nodes: list[NodeView]) -> list[NodeView]:
    """The nodes of export's test views (onnx/views.py), when the metadata records them."""
    from scratchnn.onnx.views import META_VIEWS, PREFIX

    if not any(p.key == META_VIEWS for p in model.metadata_props):
        return []
    found = [node for node in nodes if node.name.startswith(PREFIX) and node.op in VIEW_OPS]
    if [node.op for node in found].count("Concat") != 1:
        raise UnsupportedModelError("the metadata records test views, but the graph does not "
                                    "stack them as export writes them")
    return found


def _end_of_views(node: NodeView, consumers, outputs: set[str]) -> str:
    """Walk from the first node of the mean over the views to its output."""
    from scratchnn.onnx.views import PREFIX

    while True:
        follower = _only_consumer(node.outputs[0], consumers, outputs)
        if follower is None or not follower.name.startswith(PREFIX):
            return node.outputs[0]
        node = follower


def _skip_front(current: str, consumers, visited: set) -> tuple[str, set]:
    """Walk past the nodes of export's uint8 front -> (the model's input tensor, visited)."""
    from scratchnn.onnx.front import PREFIX

    while len(consumers.get(current, [])) == 1:
        node = consumers[current][0]
        if not (node.name.startswith(PREFIX) and node.op in FRONT_OPS):
            break
        visited.add(id(node))
        current = node.outputs[0]
    return current, visited


def _only_consumer(tensor: str, consumers, outputs: set[str]) -> NodeView | None:
    """The one node reading `tensor`; None at the end of the chain."""
    readers = consumers.get(tensor, [])
    if len(readers) > 1:
        names = ", ".join(repr(r.name) for r in readers[:3])
        raise UnsupportedModelError(f"tensor {tensor!r} feeds {len(readers)} nodes ({names}): "
                                    "only chains of layers are supported")
    return readers[0] if readers else None


def _is_final_softmax(node: NodeView, shape, consumers, outputs: set[str]) -> bool:
    node.allow("axis")
    if node.outputs[0] not in outputs or consumers.get(node.outputs[0]):
        raise node.fail("Softmax is supported only as the last node")
    if len(shape) != 1 or node.integer("axis", 1 if len(shape) == 1 else -1) not in (1, -1):
        raise node.fail("only a Softmax over the classes of (N, K) scores is supported")
    return True


def metadata(path: str | Path, *, max_bytes: int = MAX_BYTES) -> dict[str, object]:
    """The model's metadata: "classes" (a list or None), "preprocess" (export's front as
    JSON, or None) and "test_views" (the views it averages, as JSON, or None)."""
    from scratchnn.onnx.exporter import META_PREPROCESS
    from scratchnn.onnx.views import META_VIEWS

    props = {p.key: p.value for p in read_model(path, max_bytes).metadata_props}
    try:
        classes = json.loads(props["classes"]) if "classes" in props else None
        front = json.loads(props[META_PREPROCESS]) if META_PREPROCESS in props else None
        views = json.loads(props[META_VIEWS]) if META_VIEWS in props else None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: metadata is not valid JSON ({error})") from None
    return {"classes": classes, "preprocess": front, "test_views": views}
