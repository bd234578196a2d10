"""Files that survive a crash and cannot run code: atomic writes, and .npz reading that turns every
kind of bad file into one DataError.

An atomic write goes to NAME.tmp in the same directory, is flushed and fsynced, then renamed over
NAME with os.replace (atomic on POSIX and Windows), and the directory is fsynced so the rename
itself is on disk. A reader, or the next run after a crash, sees the old file or the new one,
never a mix. .npz files are read with allow_pickle=False: an array of Python objects (a pickle)
is refused, never unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchnn.errors import DataError

META_KEY = "__meta__"        # the JSON metadata entry of a scratchnn .npz file

# A member may expand at most this much when decompressed (scratchnn writes uncompressed npz;
# the limit only stops a "zip bomb" from filling memory).
_MAX_RATIO = 200


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def write_synced(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """write(f) into path.tmp, flush and fsync it -> the temporary path (not yet renamed).

    On any exception (Ctrl-C included) the temporary file is removed.
    """
    tmp = temp_path(Path(path))
    try:
        with open(tmp, "wb") as f:      # a handle: np.savez would append ".npz" to a name
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make renames in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:                      # Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass                             # some file systems refuse fsync on a directory
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Replace `path` by what write(f) writes, atomically and durably (see the module doc)."""
    path = Path(path)
    tmp = write_synced(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """arrays and the JSON `meta` (entry __meta__) as an uncompressed .npz, written atomically."""
    entries = {**arrays, META_KEY: np.array(json.dumps(meta, allow_nan=True))}
    atomic_write(path, lambda f: np.savez(f, **entries))


def checksum(arrays: dict[str, np.ndarray], meta: dict | None = None) -> str:
    """sha256 over every array (name, dtype, shape, bytes, in sorted name order) and `meta` as
    canonical JSON. The zip format's CRC-32 already catches most damage; this also catches a
    file edited or assembled by hand, and any mismatch between the metadata and the arrays."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    if meta is not None:
        digest.update(json.dumps(meta, sort_keys=True, allow_nan=True).encode())
    return digest.hexdigest()


def read_npz(path: str | os.PathLike, what: str) -> tuple[dict[str, np.ndarray], dict]:
    """Every array of a scratchnn .npz file and its JSON metadata -> (arrays, meta).

    `what` names the kind of file in messages ("model file", "checkpoint"). Anything wrong with
    the file (missing, truncated, not a zip, pickled objects, a bad or missing metadata entry)
    raises a one-line DataError; no other exception escapes, and nothing in the file is run.
    """
    name = str(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise DataError(f"{name}: no such {what}") from None
    except OSError as error:
        raise DataError(f"{name}: cannot read the {what} ({error.strerror or error})") from None
    if size == 0:
        raise DataError(f"{name}: empty file, not a {what}")
    try:
        with open(path, "rb") as f:
            start = f.read(6)
    except OSError as error:
        raise DataError(f"{name}: cannot read the {what} ({error.strerror or error})") from None
    if not start.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        # np.load would take anything else for a pickle (and suggest unpickling it)
        raise DataError(f"{name}: not a {what}: an .npz file is a zip archive, this one starts "
                        f"with {start[:4]!r}")
    try:
        _check_zip(path, size)
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):     # a bare .npy array
            raise DataError(f"a single {loaded.dtype} array of shape {loaded.shape}, "
                            "not an .npz archive")
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except DataError as error:
        raise DataError(f"{name}: not a readable {what} ({error})") from None
    except Exception as error:  # noqa: BLE001 - a damaged zip or .npy fails in many ways
        raise DataError(f"{name}: not a readable {what} "
                        f"({type(error).__name__}: {_one_line(error)})") from None
    meta = arrays.pop(META_KEY, None)
    if meta is None:
        raise DataError(f"{name}: not a scratchnn {what} (no {META_KEY} entry)")
    if meta.dtype.kind != "U" or meta.ndim != 0:
        raise DataError(f"{name}: corrupt metadata (a {meta.dtype} array, expected JSON text)")
    try:
        meta = json.loads(str(meta))
    except (ValueError, RecursionError) as error:
        raise DataError(f"{name}: corrupt metadata ({_one_line(error)})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{name}: corrupt metadata (not a JSON object)")
    return arrays, meta


def _check_zip(path: str | os.PathLike, size: int) -> None:
    """Refuse archives whose members would expand to far more than the file holds."""
    if not zipfile.is_zipfile(path):
        return                           # np.load says what it is (a .npy, a pickle, ...)
    with zipfile.ZipFile(path) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    if declared > _MAX_RATIO * size + 2**20:
        raise DataError(f"its members claim {declared} bytes uncompressed from a {size}-byte "
                        "file")


def _one_line(error: BaseException, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit] + "..."
