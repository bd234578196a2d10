"""ONNX export and import (the optional `onnx` package is imported only when they are called).

    snn.onnx.export(model, "model.onnx", input_shape=(1, 28, 28), preprocess=Standardize(...))
    model = snn.onnx.load("model.onnx")          # a Sequential, like any other

The exported graph is float32 with a dynamic batch axis and two outputs, "logits" and
"probabilities"; with preprocessing folded in it takes raw uint8 pixels ("pixels"), else the
model's float input ("input"). `load` reads the operators in SUPPORTED_OPERATORS (importer.py).
"""

from scratchnn.onnx.errors import UnsupportedModelError
from scratchnn.onnx.exporter import DEFAULT_OPSET, export
from scratchnn.onnx.importer import load

__all__ = ["DEFAULT_OPSET", "UnsupportedModelError", "export", "load"]
