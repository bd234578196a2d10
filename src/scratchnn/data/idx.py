"""IDX files, the format of MNIST and Fashion-MNIST: a small big-endian header, then the raw array.

    bytes 0-1   00 00
    byte 2      type code: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64
    byte 3      number of dimensions D
    then        D sizes, each a big-endian uint32
    then        prod(sizes) values, big-endian, in C (row-major) order

Files may be gzip-compressed; that is recognised by their first two bytes (1f 8b), not their name.
The format is described at http://yann.lecun.com/exdb/mnist/ (bottom of the page).
"""

from __future__ import annotations

import gzip
import io
import os
import secrets
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from scratchnn.errors import DataError

TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODE_OF = {(dtype.kind, dtype.itemsize): code for code, dtype in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a raw or gzip-compressed IDX file.

    Shapes: a file with sizes (d1, ..., dD) -> array (d1, ..., dD), dtype from the type code, in
    native byte order, writable. Any problem (unreadable file, corrupt gzip, bad magic number,
    truncated data, trailing bytes) raises a one-line DataError that names the file.

    The data is streamed straight into the array: never more is decompressed than the header
    declares (plus one chunk to see whether anything trails), so a small .gz that inflates to
    gigabytes (a "gzip bomb") costs no memory beyond the array its header asks for.
    """
    with _reading(path) as f:
        dtype, dims = _parse_header(_read_header(f), path)
        array = _allocate(dims, dtype, path)
        expected = array.nbytes
        actual = _read_into(f, memoryview(array.reshape(-1).view(np.uint8)))
        if actual < expected:
            raise DataError(f"{path}: truncated: header says {expected} bytes of data, "
                            f"file has {actual}")
        trailing = _count_rest(f)
    if trailing:
        many = "more than " if trailing > _TRAILING_LIMIT else ""
        raise DataError(f"{path}: {many}{min(trailing, _TRAILING_LIMIT)} trailing bytes: header "
                        f"says {expected} bytes of data, the file has more")
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def read_idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The array shape an IDX file's header declares, reading only the header (gzip or raw)."""
    with _reading(path) as f:
        head = _read_header(f)
    return _parse_header(head, path)[1]


_CHUNK = 1 << 20                # bytes decompressed at a time
_TRAILING_LIMIT = 16 * _CHUNK   # trailing bytes counted before giving up counting


@contextmanager
def _reading(path: str | os.PathLike) -> Iterator[io.BufferedIOBase]:
    """The open file, decompressed on the fly when it starts with the gzip magic number. A read
    error or corrupt gzip data becomes a one-line DataError naming the file."""
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == _GZIP_MAGIC
        with (gzip.open if compressed else open)(path, "rb") as f:
            yield f
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:   # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip data ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None


def _read_header(f: io.BufferedIOBase) -> bytes:
    """The header's bytes: 4, then 4 per dimension (fewer if the file ends first)."""
    head = f.read(4)
    return head + f.read(4 * head[3]) if len(head) == 4 else head


def _allocate(dims: tuple[int, ...], dtype: np.dtype, path) -> np.ndarray:
    """An uninitialised array of the declared shape (memory is committed only as data arrives)."""
    try:
        return np.empty(dims, dtype)
    except (ValueError, MemoryError) as error:  # e.g. sizes (2**31, 2**31, 2**31)
        raise DataError(f"{path}: IDX sizes {dims} are beyond what NumPy can hold "
                        f"({error})") from None


def _read_into(f: io.BufferedIOBase, buffer: memoryview) -> int:
    """Fill `buffer` from `f` until it is full or the file ends; the number of bytes read."""
    filled = 0
    while filled < len(buffer):           # in chunks: GzipFile.readinto(b) makes a bytes of len(b)
        n = f.readinto(buffer[filled:filled + _CHUNK])
        if not n:
            break
        filled += n
    return filled


def _count_rest(f: io.BufferedIOBase) -> int:
    """The bytes left in `f`, counted up to just past _TRAILING_LIMIT. Reading a gzip file to
    its end also checks its CRC."""
    count = 0
    while count <= _TRAILING_LIMIT:
        chunk = f.read(_CHUNK)
        if not chunk:
            break
        count += len(chunk)
    return count


def _parse_header(raw: bytes, path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """(dtype, dims) from the header bytes of an IDX file."""
    if not raw:
        raise DataError(f"{path}: empty file")
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (starts with {raw[:4].hex(' ')}, "
                        "expected 00 00 <type> <ndim>)")
    code, ndim = raw[2], raw[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"{c:02x} {d.name}" for c, d in TYPE_CODES.items())
        raise DataError(f"{path}: unknown IDX type code {code:02x} (known: {known})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header says the array has 0 dimensions")
    if ndim > 64:                       # NumPy's limit (NPY_MAXDIMS); found by tests/test_fuzz.py
        raise DataError(f"{path}: IDX header says the array has {ndim} dimensions; "
                        "at most 64 are supported")
    size = 4 + 4 * ndim
    if len(raw) < size:
        raise DataError(f"{path}: truncated header: {ndim} dimensions need {size} bytes, "
                        f"file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    return TYPE_CODES[code], dims


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed when the name ends in .gz.

    Shapes: array (d1, ..., dD) of uint8, int8, int16, int32, float32 or float64 (IDX has no
    int64: cast labels first). Atomic: written to a temporary file beside `path`, then moved
    into place with os.replace, so a reader never sees half a file.
    """
    path, array = Path(path), np.asarray(array)
    code = _CODE_OF.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.dtype.kind == "b":
        raise DataError(f"{path}: IDX cannot store dtype {array.dtype} "
                        "(uint8, int8, int16, int32, float32 or float64)")
    if not 1 <= array.ndim <= 255 or max(array.shape) >= 2**32:
        raise DataError(f"{path}: IDX cannot store an array of shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data = np.ascontiguousarray(array, TYPE_CODES[code])  # big-endian, C order
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as f:  # "x": created with the user's umask, never overwritten
            if path.name.endswith(".gz"):
                with gzip.GzipFile(path.name, "wb", compresslevel=6, fileobj=f, mtime=0) as gz:
                    gz.write(header)
                    gz.write(data.data)
            else:
                f.write(header)
                f.write(data.data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
