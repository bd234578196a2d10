"""Test-time augmentation in an exported graph (data/views.py): the views are stacked on the
batch axis before the front, and the network's scores are averaged over them after it, so the
graph computes what `scratchnn predict` computes for a run trained with --tta."""

from __future__ import annotations

import numpy as np

from scratchnn.data.views import TestViews
from scratchnn.onnx.builder import GraphBuilder

PREFIX = "views/"             # every node of the views is named so (the importer skips them)
META_VIEWS = "scratchnn.test_views"     # metadata: the views, as JSON
WIDTH_AXIS = 3


def add_views(g: GraphBuilder, x: str, views: TestViews, input_shape: tuple[int, ...]) -> str:
    """Nodes from images x (N, C, H, W) to their views (count * N, C, H, W), in the order of
    TestViews.of."""
    width = input_shape[-1]
    images = [x]
    if views.flip:
        images.append(_slice(g, x, -1, np.iinfo(np.int64).min, step=-1, name="mirror"))
    stacked = [_moved(g, image, dx, width) for image in images for dx in views.offsets]
    return g.node("Concat", stacked, PREFIX + "stack", axis=0)


def average_views(g: GraphBuilder, scores: str, views: TestViews, classes: int) -> str:
    """Scores (count * N, K) -> (N, K), the mean over the views, named "logits"."""
    grouped = g.node("Reshape", [scores, g.constant(PREFIX + "groups",
                                                    np.array([views.count, -1, classes]))],
                     PREFIX + "group")
    if g.opset >= 18:               # ReduceMean's axes became an input in opset 18
        mean = g.node("ReduceMean", [grouped, g.constant(PREFIX + "axes", np.array([0]))],
                      PREFIX + "mean", keepdims=0)
    else:
        mean = g.node("ReduceMean", [grouped], PREFIX + "mean", axes=[0], keepdims=0)
    g.rename_output(mean, "logits")
    return "logits"


def _moved(g: GraphBuilder, x: str, dx: int, width: int) -> str:
    """x moved dx pixels right (left if negative), zero-filled: pad one side, cut the other."""
    if dx == 0:
        return x
    pads = [0, 0, 0, dx, 0, 0, 0, 0] if dx > 0 else [0, 0, 0, 0, 0, 0, 0, -dx]
    padded = g.node("Pad", [x, g.constant(PREFIX + "pads", np.array(pads))], PREFIX + "pad")
    start = 0 if dx > 0 else -dx
    return _slice(g, padded, start, start + width, name="move")


def _slice(g: GraphBuilder, x: str, start: int, end: int, *, step: int = 1, name: str) -> str:
    """x[..., start:end:step] on the width axis."""
    inputs = [x] + [g.constant(PREFIX + key, np.array([value])) for key, value in
                    (("starts", start), ("ends", end), ("axes", WIDTH_AXIS), ("steps", step))]
    return g.node("Slice", inputs, PREFIX + name)
