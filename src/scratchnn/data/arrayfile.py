"""The one reader for .npz and .npy files a user hands us (datasets, model files, checkpoints,
prediction inputs): nothing in the file is ever run, and every kind of bad file is one DataError.

    arrays = read_npz("mine.npz", "dataset")        # {name: array}
    x = read_npy("batch.npy", ".npy array")

Checks, before NumPy parses anything: the file exists and is not empty; it starts like a zip
archive or a .npy header (np.load would take anything else for a pickle); a zip's members do not
claim to expand to far more than the file holds (a "zip bomb"). Arrays are read with
allow_pickle=False: an array of Python objects is refused, never unpickled.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from scratchnn.errors import DataError, one_line

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"

# A member may expand at most this much when decompressed (scratchnn writes uncompressed npz;
# the limit only stops a zip bomb from filling memory).
MAX_RATIO = 200


def read_npz(path: str | os.PathLike, what: str, keys: set[str] | None = None
             ) -> dict[str, np.ndarray]:
    """Every array of an .npz archive (or only those named in `keys`) -> {name: array}.

    `what` names the kind of file in messages ("model file", "checkpoint", ".npz dataset").
    """
    size = _check_start(path, what, ZIP_MAGIC + (NPY_MAGIC,))
    try:
        _check_zip(path, size)
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"a single array (.npy) of {loaded.dtype} {loaded.shape}, not an "
                            ".npz archive")
        with loaded as archive:
            return {key: archive[key] for key in archive.files if keys is None or key in keys}
    except Exception as error:  # noqa: BLE001 - a damaged zip or .npy fails in many ways
        raise _unreadable(path, what, error) from None


def read_npy(path: str | os.PathLike, what: str = ".npy array") -> np.ndarray:
    """The array of a .npy file."""
    _check_start(path, what, (NPY_MAGIC,))
    try:
        return np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001
        raise _unreadable(path, what, error) from None


def _check_start(path, what: str, magics: tuple[bytes, ...]) -> int:
    """-> the file's size, after checking that it exists, is not empty and starts as expected."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            start = f.read(6)
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the {what} ({error.strerror or error})") from None
    if size == 0:
        raise DataError(f"{path}: empty file, not {_a(what)}")
    if not start.startswith(magics):    # np.load would take it for a pickle
        kind = "an .npz file is a zip archive" if ZIP_MAGIC[0] in magics else \
            "a .npy file starts with b'\\x93NUMPY'"
        raise DataError(f"{path}: not {_a(what)}: {kind}, this one starts with {start[:4]!r}")
    return size


def _check_zip(path, size: int) -> None:
    """Refuse archives whose members would expand to far more than the file holds."""
    if not zipfile.is_zipfile(path):
        return                           # np.load says what it is
    with zipfile.ZipFile(path) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    if declared > MAX_RATIO * size + 2**20:
        raise DataError(f"its members claim {declared} bytes uncompressed from a {size}-byte "
                        "file")


def _unreadable(path, what: str, error: Exception) -> DataError:
    if isinstance(error, DataError):
        return DataError(f"{path}: not a readable {what} ({error})")
    if isinstance(error, ValueError) and "Object arrays" in str(error):
        return DataError(f"{path}: not a readable {what} (it holds object arrays, which would need "
                         "unpickling; store numbers, and text as string arrays)")
    return DataError(f"{path}: not a readable {what} ({type(error).__name__}: "
                     f"{one_line(error, 160)})")


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou.' else 'a'} {what}"
