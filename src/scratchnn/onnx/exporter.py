"""export(model, path, ...): a scratchnn model as an ONNX file, built with onnx.helper."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchnn.data.views import TestViews
from scratchnn.errors import ConfigError
from scratchnn.layer import Layer, Sequential
from scratchnn.onnx.builder import GraphBuilder
from scratchnn.onnx.front import PREFIX, add_front
from scratchnn.onnx.layer_ops import layer_nodes
from scratchnn.onnx.views import META_VIEWS, add_views, average_views
from scratchnn.onnx.views import PREFIX as VIEWS_PREFIX

DEFAULT_OPSET = 17          # LayerNormalization's; onnxruntime and browsers run it
MIN_OPSET = 13
BATCH = "batch"             # the name of the dynamic batch axis
META_PREPROCESS = "scratchnn.preprocess"   # metadata: the folded-in front, as JSON


def export(model: Layer, path: str | Path, *, input_shape: Sequence[int], preprocess=None,
           pixel_max: float | None = None, classes: Sequence[str] | None = None,
           views: TestViews | None = None, opset: int = DEFAULT_OPSET) -> Path:
    """Write `model` (its eval-mode forward) as an ONNX file that onnx.checker accepts.

    Shapes: input (batch, *input_shape) -> outputs "logits" (batch, K) and "probabilities"
    (batch, K), their softmax; the batch axis is dynamic.
    preprocess: a fitted transform (transforms.Standardize, Scale or SubtractMeanImage),
    folded in at the front: the input is then raw uint8 pixels named "pixels" (as `scratchnn
    predict` takes them); without it, the float32 model input "input".
    pixel_max: the training data's full-intensity value (16 for digits): the input becomes
    0-255 uint8 pixels mapped onto that scale, as predict does with image files.
    classes: class names, stored in the metadata as the JSON list "classes".
    views: average the scores over these views of each image (a run trained with --tta), made
    at the very front (of the uint8 pixels, when there are).
    """
    import onnx
    from onnx import TensorProto, helper
    from scratchnn import __version__

    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ConfigError(f"opset must be in [{MIN_OPSET}, {onnx.defs.onnx_opset_version()}], "
                          f"got {opset}")
    input_shape = tuple(int(d) for d in input_shape)
    g = GraphBuilder(opset)
    pixels = preprocess is not None or pixel_max is not None
    name, dtype = ("pixels", TensorProto.UINT8) if pixels else ("input", TensorProto.FLOAT)
    x = add_views(g, name, views, input_shape) if views is not None else name
    x = add_front(g, x, preprocess, pixel_max, input_shape) if pixels else x
    logits_shape = _emit_model(g, model, x, input_shape,
                               "scores" if views is not None else "logits")
    if views is not None:
        average_views(g, "scores", views, logits_shape[0])
    if classes is not None and len(classes) != logits_shape[0]:
        raise ConfigError(f"{len(classes)} class names for a model of {logits_shape[0]} outputs")
    probabilities = g.node("Softmax", ["logits"], "probabilities", axis=1)

    graph = helper.make_graph(
        g.nodes, "scratchnn", [helper.make_tensor_value_info(name, dtype, [BATCH, *input_shape])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [BATCH, *logits_shape])
         for out in ("logits", probabilities)], initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="scratchnn", producer_version=__version__)
    proto.ir_version = helper.find_min_ir_version_for(list(proto.opset_import))
    meta = {"classes": json.dumps(list(map(str, classes)))} if classes is not None else {}
    if pixels:
        meta[META_PREPROCESS] = json.dumps({
            "preprocess": preprocess.to_dict() if preprocess is not None else None,
            "pixel_max": pixel_max, "nodes": PREFIX})
    if views is not None:
        meta[META_VIEWS] = json.dumps({**views.to_dict(), "nodes": VIEWS_PREFIX})
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)

    from scratchnn.train.storage import atomic_write

    path = Path(path)
    atomic_write(path, lambda f: f.write(proto.SerializeToString()))
    return path


def _emit_model(g: GraphBuilder, model: Layer, x: str, input_shape: tuple[int, ...],
                output: str) -> tuple[int, ...]:
    """Append the model's nodes, the last output named `output` -> its sample shape (K,).
    The shapes come from an eval-mode forward of one zero sample."""
    was_training = model.training
    model.eval()
    try:
        leaves = list(_leaves(model, ""))
        if not leaves:
            raise ConfigError("cannot export a model without layers")
        if math.prod(input_shape) > 2**26:
            raise ConfigError(f"input shape {input_shape} is too large to export")
        probe = np.zeros((1, *input_shape), np.float32)
        for prefix, layer in leaves:
            x = layer_nodes(g, prefix, layer, x, probe.shape[1:])
            probe = layer.forward(probe)
    finally:
        model.train(was_training)
    if probe.ndim != 2:
        raise ConfigError(f"export needs a model whose output is (N, classes), got samples of "
                          f"shape {probe.shape[1:]}")
    g.rename_output(x, output)
    return probe.shape[1:]


def _leaves(layer: Layer, prefix: str):
    """(state_dict prefix, layer) for every layer, Sequential containers flattened."""
    if isinstance(layer, Sequential):
        for name, child in layer.children():
            yield from _leaves(child, f"{prefix}{name}.")
    else:
        yield prefix, layer
