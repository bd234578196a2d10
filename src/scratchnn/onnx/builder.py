"""GraphBuilder: the nodes and initializers of an ONNX graph, added in order."""

from __future__ import annotations

import numpy as np


class GraphBuilder:
    """Collects onnx NodeProtos and initializer TensorProtos; every node has one output, named
    like the node, and names are made unique by a numeric suffix."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()

    def _unique(self, name: str) -> str:
        candidate, i = name, 1
        while candidate in self._names:
            candidate, i = f"{name}_{i}", i + 1
        self._names.add(candidate)
        return candidate

    def constant(self, name: str, array: np.ndarray) -> str:
        """An initializer holding `array` (floats stored as float32) -> its name."""
        from onnx import numpy_helper

        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(np.float32, copy=False)
        name = self._unique(name)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        """Append node `op`(inputs) -> its output tensor's name."""
        from onnx import helper

        name = self._unique(name)
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def rename_output(self, old: str, new: str) -> None:
        """Give the tensor `old` (made by the last node) the name `new`."""
        last = self.nodes[-1]
        if list(last.output) != [old]:
            raise ValueError(f"{old!r} is not the output of the last node")
        last.output[0] = new
