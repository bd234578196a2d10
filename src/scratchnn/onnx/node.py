"""NodeView: one ONNX node with its attributes decoded and checked, for the converters."""

from __future__ import annotations

import numpy as np

from scratchnn.onnx.errors import UnsupportedModelError

MAX_ATTRIBUTE = 2**16       # larger kernel sizes, strides or pads are refused


def float32_decimal(value: float) -> float:
    """A float32 value as the shortest decimal that rounds to it (0.1f -> 0.1, not
    0.10000000149)."""
    return float(np.format_float_positional(np.float32(value), unique=True))


class NodeView:
    """A NodeProto: op, name, inputs, outputs, decoded attributes and the graph's constants."""

    def __init__(self, proto, index: int, constants: dict[str, np.ndarray]) -> None:
        from onnx import helper

        self.op, self.inputs, self.outputs = proto.op_type, list(proto.input), list(proto.output)
        self.name = proto.name or f"#{index}"
        self.constants = constants
        self.attributes = {}
        for attribute in proto.attribute:
            try:
                self.attributes[attribute.name] = helper.get_attribute_value(attribute)
            except (ValueError, TypeError) as error:
                raise self.fail(f"attribute {attribute.name!r} cannot be read ({error})") from None

    def fail(self, message: str) -> UnsupportedModelError:
        return UnsupportedModelError(f"node {self.name!r} ({self.op}): {message}")

    def allow(self, *names: str) -> None:
        """Refuse any attribute not in `names`."""
        for name in self.attributes:
            if name not in names:
                allowed = ", ".join(names) or "none"
                raise self.fail(f"attribute {name!r} is not supported (supported: {allowed})")

    def const(self, i: int, what: str) -> np.ndarray | None:
        """Input i as a constant array (an initializer or Constant node); None if absent."""
        if i >= len(self.inputs) or not self.inputs[i]:
            return None
        if self.inputs[i] not in self.constants:
            raise self.fail(f"input {i} ({what}) must be a constant (an initializer), got the "
                            f"computed tensor {self.inputs[i]!r}")
        return self.constants[self.inputs[i]]

    def weight(self, i: int, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """A required float constant as float32, optionally of a given shape."""
        array = self.const(i, what)
        if array is None:
            raise self.fail(f"input {i} ({what}) is missing")
        if array.dtype != np.float32:
            raise self.fail(f"{what} is {array.dtype}; only float32 weights are supported")
        if shape is not None and array.shape != shape:
            raise self.fail(f"{what} has shape {array.shape}, expected {shape}")
        return array

    def integer(self, name: str, default: int) -> int:
        value = self.attributes.get(name, default)
        if not isinstance(value, int) or abs(value) > MAX_ATTRIBUTE:
            raise self.fail(f"attribute {name}={value!r} is not a small integer")
        return value

    def real(self, name: str, default: float) -> float:
        value = self.attributes.get(name, default)
        if not isinstance(value, float | int) or not np.isfinite(value):
            raise self.fail(f"attribute {name}={value!r} is not a finite number")
        return float32_decimal(value)

    def string(self, name: str, default: str) -> str:
        value = self.attributes.get(name, default)
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    def ints(self, name: str, default: tuple[int, ...], length: int) -> tuple[int, ...]:
        value = self.attributes.get(name, default)
        if (not isinstance(value, list | tuple) or len(value) != length
                or not all(isinstance(v, int) and 0 <= v <= MAX_ATTRIBUTE for v in value)):
            raise self.fail(f"attribute {name}={value!r}: expected {length} integers in "
                            f"[0, {MAX_ATTRIBUTE}]")
        return tuple(value)

    def expect(self, name: str, value, supported) -> None:
        """Refuse an attribute value other than `supported`."""
        if value != supported:
            raise self.fail(f"attribute {name}={value!r} is not supported (only "
                            f"{name}={supported!r})")
