"""The error of an ONNX file scratchnn cannot turn into layers."""

from scratchnn.errors import DataError


class UnsupportedModelError(DataError):
    """An ONNX graph uses an operator, attribute or structure that has no scratchnn layer; the
    message names the node, the operator and what is supported."""
