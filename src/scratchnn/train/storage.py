"""Files that survive a crash and cannot run code: atomic writes, and the reading and checking
(format, version, checksum) of scratchnn's own .npz files, with every kind of bad file one
DataError.

An atomic write goes to NAME.tmp in the same directory, is flushed and fsynced, then renamed over
NAME with os.replace (atomic on POSIX and Windows), and the directory is fsynced so the rename
itself is on disk. A reader, or the next run after a crash, sees the old file or the new one,
never a mix. .npz files are read by scratchnn.data.arrayfile: no pickle, no zip bomb.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchnn.data import arrayfile
from scratchnn.errors import DataError, one_line

META_KEY = "__meta__"        # the JSON metadata entry of a scratchnn .npz file


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


def read_meta(path: str | os.PathLike, what: str) -> dict:
    """The JSON metadata of a scratchnn .npz file, read without its arrays (nor checking them)."""
    return _pop_meta(arrayfile.read_npz(path, what, keys={META_KEY}), path, what)


def _pop_meta(arrays: dict[str, np.ndarray], path, what: str) -> dict:
    """Remove the __meta__ entry from `arrays` -> its JSON object; DataError when absent or
    corrupt."""
    entry = arrays.pop(META_KEY, None)
    if entry is None:
        raise DataError(f"{path}: not a scratchnn {what} (no {META_KEY} entry)")
    if entry.dtype.kind != "U" or entry.ndim != 0:
        raise DataError(f"{path}: corrupt metadata (a {entry.dtype} array, expected JSON text)")
    try:
        meta = json.loads(str(entry))
    except (ValueError, RecursionError) as error:
        raise DataError(f"{path}: corrupt metadata ({one_line(error, 160)})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: corrupt metadata (not a JSON object)")
    return meta


def read_verified(path: str | os.PathLike, what: str, format: str, version: int, *,
                  others: dict[str, str] | None = None, weights_only_before: int = 0
                  ) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta without "sha256") of a scratchnn file of `format`, checked: the format
    (`others` maps another format to a hint), a version from 1 to `version`, the sha256.
    Versions below `weights_only_before` had a checksum over the arrays only. Anything wrong
    (missing, truncated, not a zip, a zip bomb, pickled objects, bad metadata) raises a one-line
    DataError that names the file and `what` it should be ("model file", "checkpoint")."""
    arrays = arrayfile.read_npz(path, what)
    meta = _pop_meta(arrays, path, what)
    kind = what.split()[0]                                # "model file" -> "model"
    if meta.get("format") != format:
        hint = (others or {}).get(meta.get("format"), "")
        raise DataError(f"{path}: not a scratchnn {what}{hint}")
    found = meta.get("version")
    if type(found) is not int or found < 1:
        raise DataError(f"{path}: bad {kind} format version {found!r}")
    if found > version:
        raise DataError(f"{path}: {kind} format version {found} is newer than this "
                        f"scratchnn reads ({version}); upgrade scratchnn")
    stored = meta.pop("sha256", None)
    expected = checksum(arrays) if found < weights_only_before else checksum(arrays, meta)
    if stored != expected:
        raise DataError(f"{path}: checksum mismatch: the {what} is corrupt")
    return arrays, meta
