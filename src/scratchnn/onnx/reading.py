"""Reading an ONNX file safely: a size limit, protobuf parsing only (no code runs, no external
data files are opened), tensors decoded by hand into bounded numpy arrays."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from scratchnn.errors import DataError, one_line

MAX_BYTES = 256 * 2**20     # files larger than this are refused (our largest preset: ~5 MB)
MAX_ELEMENTS = 2**26        # per tensor, and per sample of any activation

# onnx TensorProto.DataType codes read here -> numpy dtype
DTYPES = {1: np.dtype("<f4"), 2: np.dtype("u1"), 6: np.dtype("<i4"), 7: np.dtype("<i8"),
          11: np.dtype("<f8")}
_TYPED_FIELDS = {1: "float_data", 2: "int32_data", 6: "int32_data", 7: "int64_data",
                 11: "double_data"}


def read_model(path: str | Path, max_bytes: int = MAX_BYTES):
    """path -> onnx.ModelProto; a one-line DataError for a missing, oversized or malformed
    file."""
    from google.protobuf.message import DecodeError

    import onnx

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(f"{path}: {size} bytes, more than the {max_bytes} an ONNX model may "
                        "have here (load(..., max_bytes=...) raises the limit)")
    try:
        data = path.read_bytes()
        model = onnx.ModelProto.FromString(data)
    except (OSError, DecodeError, ValueError, RuntimeError) as error:
        raise DataError(f"{path}: not an ONNX model ({one_line(error)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise DataError(f"{path}: not an ONNX model (no graph of nodes)")
    return model


def tensor_array(tensor, what: str) -> np.ndarray:
    """A TensorProto -> ndarray; only embedded float32/float64/int/uint8 data of the size its
    dims declare."""
    if tensor.data_location == 1 or len(tensor.external_data):
        raise DataError(f"{what}: data stored in an external file, which is never read")
    dtype = DTYPES.get(tensor.data_type)
    if dtype is None:
        raise DataError(f"{what}: tensor element type {tensor.data_type} is not supported "
                        "(float32, float64, int32, int64, uint8)")
    dims = tuple(tensor.dims)
    if any(not 0 <= d <= MAX_ELEMENTS for d in dims) or math.prod(dims) > MAX_ELEMENTS:
        raise DataError(f"{what}: bad or too large tensor shape {dims}")
    count = math.prod(dims)
    if tensor.raw_data:
        if len(tensor.raw_data) != count * dtype.itemsize:
            raise DataError(f"{what}: {len(tensor.raw_data)} bytes of data for shape {dims}")
        array = np.frombuffer(tensor.raw_data, dtype)
    else:
        values = getattr(tensor, _TYPED_FIELDS[tensor.data_type])
        if len(values) != count:
            raise DataError(f"{what}: {len(values)} values for shape {dims}")
        array = np.array(values, dtype=np.int64 if dtype.kind in "iu" else dtype)
        if dtype == np.uint8 and array.size and (array.min() < 0 or array.max() > 255):
            raise DataError(f"{what}: uint8 values out of range")
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(dims)
