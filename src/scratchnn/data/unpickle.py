"""A restricted unpickler for the CIFAR-10 "python version": only what those files contain.

Why: a pickle is a small program. Its GLOBAL opcode names any importable callable ("os system")
and REDUCE calls it, so `pickle.load` on a file from elsewhere can run anything. Every callable a
pickle reaches goes through `Unpickler.find_class(module, name)`; we override that one door and
open it only for the names the real batch files use, each mapped to a stand-in that checks its
arguments. Nothing numpy- or Python-side ever sees the file's data but the stand-ins below.

The real files (written by Python 2's cPickle, protocol 2) hold a dict of str, lists of ints and
str, and one uint8 ndarray, which pickle stores as

    numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")          -> an empty array
    BUILD (1, (10000, 3072), numpy.dtype("u1", 0, 1) + BUILD (3, "|", ...), False, <raw bytes>)

(numpy >= 2 writes numpy._core.multiarray). Python 3 writes bytes at protocol 2 as
_codecs.encode(text, "latin1") and b"" as __builtin__.bytes(). Those five names are admitted:
the array is rebuilt here with np.frombuffer from (shape, dtype, bytes), after checking that the
dtype is a plain number type and that the byte count matches the shape; anything else is refused
before it runs, with pickle.UnpicklingError.
"""

from __future__ import annotations

import math
import os
import pickle

import numpy as np

from scratchnn.errors import DataError, one_line

# Plain number types an array in a batch file may have (no objects, no records, no strings).
DTYPES = frozenset({"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8"})


class _NdarrayName:
    """What `numpy.ndarray` resolves to: a name _reconstruct accepts, never a callable."""

    __slots__ = ()  # no __dict__: a BUILD aimed at it fails


_NDARRAY = _NdarrayName()


class _DtypeStandIn:
    """numpy.dtype(spec, align, copy) for a plain number type; BUILD may set the byte order."""

    __slots__ = ("dtype",)

    def __init__(self, spec, align=False, copy=True) -> None:
        if isinstance(spec, bytes):
            spec = spec.decode("latin1")
        if not isinstance(spec, str) or spec not in DTYPES:
            raise pickle.UnpicklingError(f"refused numpy.dtype({spec!r}): only plain number "
                                         f"types ({', '.join(sorted(DTYPES))})")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or any(
                part is not None for part in state[2:5]):
            raise pickle.UnpicklingError("refused a numpy.dtype state with fields or subarrays")
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"refused numpy.dtype byte order {order!r}")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


class _ArrayStandIn:
    """What _reconstruct returns: BUILD fills `array` from (shape, dtype, raw bytes)."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]                        # (version, shape, dtype, fortran, raw)
        if not isinstance(state, tuple) or len(state) != 4:
            raise pickle.UnpicklingError("refused an ndarray state that is not "
                                         "(shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"refused ndarray shape {shape!r}")
        if not isinstance(dtype, _DtypeStandIn) or type(fortran) not in (bool, int):
            raise pickle.UnpicklingError("refused an ndarray whose dtype is not a plain number")
        if isinstance(raw, str):
            raw = raw.encode("latin1")               # how numpy reads Python 2 str data
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError(f"refused ndarray data of type {type(raw).__name__}")
        expected = math.prod(shape) * dtype.dtype.itemsize
        if len(raw) != expected:
            raise pickle.UnpicklingError(f"ndarray data is {len(raw)} bytes, but shape {shape} "
                                         f"of {dtype.dtype} needs {expected}")
        array = np.frombuffer(raw, dtype.dtype).reshape(shape, order="F" if fortran else "C")
        self.array = array.astype(dtype.dtype.newbyteorder("="))  # native order, writable


def _reconstruct(subtype, shape, typecode) -> _ArrayStandIn:
    """numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b"): an empty array to BUILD."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("refused _reconstruct of anything but numpy.ndarray")
    return _ArrayStandIn()


def _latin1(text, encoding) -> bytes:
    """_codecs.encode(text, "latin1"): how Python 3 pickles bytes at protocols 0-2."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused _codecs.encode(..., {encoding!r})")
    return text.encode("latin1")


def _empty_bytes(*args) -> bytes:
    """__builtin__.bytes(): how Python 3 pickles b"" at protocols 0-2 (no other call allowed)."""
    if args:
        raise pickle.UnpicklingError("refused bytes() with arguments")
    return b""


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeStandIn,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler whose find_class admits only ALLOWED; everything else is refused."""

    def find_class(self, module: str, name: str):
        stand_in = ALLOWED.get((module, name))
        if stand_in is None:
            raise pickle.UnpicklingError(f"refused to call {one_line(f'{module}.{name}')}")
        return stand_in

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused a persistent id")


def restricted_load(path: str | os.PathLike):
    """Unpickle `path` with RestrictedUnpickler (Python 2 strings as bytes, like encoding="bytes").

    Returns the object; arrays that are values of a top-level dict come back as np.ndarray.
    A refused name or any malformed content raises a one-line DataError naming the file.
    """
    try:
        with open(path, "rb") as f:
            obj = RestrictedUnpickler(f, encoding="bytes").load()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    except pickle.UnpicklingError as error:
        message = one_line(error)
        if message.startswith("refused"):
            raise DataError(f"{path}: {message} (a CIFAR batch holds only dicts, lists, str, "
                            "bytes, ints and uint8 arrays; this file may be malicious)") from None
        raise DataError(f"{path}: not a valid pickle ({message})") from None
    except Exception as error:  # noqa: BLE001 - any malformed pickle: EOFError, ValueError, ...
        raise DataError(f"{path}: not a valid pickle ({type(error).__name__}: "
                        f"{one_line(error)})") from None
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, _ArrayStandIn):
                if value.array is None:
                    raise DataError(f"{path}: an array without its data")
                obj[key] = value.array
    return obj
