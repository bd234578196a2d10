"""An uploaded file -> the model's raw input, read by the code `scratchnn predict` uses.

    x = read_upload(run, body, "shoe.png", invert=False)     # (1, *run.input_shape)

The body is written to a temporary file named by its content (PNG, JPEG, GIF, BMP or .npy) and
read by train.predict.model_inputs, so the page and `scratchnn predict` see the same pixels.
Anything else is an UploadError carrying the HTTP status the server answers with: 413 for a body
or an image too large, 415 for a file of another kind, 400 for a file that cannot be used.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from scratchnn.errors import DataError, ScratchnnError, one_line
from scratchnn.train.predict import model_inputs
from scratchnn.train.rundir import Run

MAX_BYTES = 8 * 2**20               # request bodies above this are refused (413)
MAX_PIXELS = 4096 * 4096            # images above this are refused before they are decoded
SIGNATURES = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg", b"GIF87a": ".gif",
              b"GIF89a": ".gif", b"BM": ".bmp", b"\x93NUMPY": ".npy"}


class UploadError(ScratchnnError):
    """An upload the page cannot use; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def file_kind(body: bytes, name: str) -> str:
    """The suffix for a body's content (".png", ".npy", ...); UploadError 415 for other files."""
    for signature, suffix in SIGNATURES.items():
        if body.startswith(signature):
            return suffix
    what = "an empty file" if not body else "not an image"
    raise UploadError(f"{name}: {what}; upload a PNG, JPEG, GIF or BMP image, or a .npy array",
                      415)


def check_size(body: bytes, name: str) -> None:
    """UploadError 413 when an image is larger than MAX_PIXELS (read from its header only)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(body)) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - unreadable: model_inputs gives the one-line reason
        return
    if width * height > MAX_PIXELS:
        raise UploadError(f"{name}: image of {width}x{height} pixels is too large (at most "
                          f"{MAX_PIXELS:,} pixels)", 413)


def read_upload(run: Run, body: bytes, name: str, *, invert: bool = False) -> np.ndarray:
    """An uploaded file's bytes -> raw inputs (1, *run.input_shape) on the training scale."""
    if len(body) > MAX_BYTES:
        raise UploadError(f"{name}: {len(body):,} bytes is too large (at most {MAX_BYTES:,})", 413)
    suffix = file_kind(body, name)
    if suffix != ".npy":
        check_size(body, name)
    with tempfile.TemporaryDirectory(prefix="scratchnn-serve-") as directory:
        path = Path(directory) / f"upload{suffix}"
        path.write_bytes(body)
        try:
            _, x = model_inputs(run, path, invert=invert)
        except DataError as error:
            raise UploadError(one_line(str(error).replace(str(path), name))) from None
    if len(x) != 1:
        raise UploadError(f"{name}: holds {len(x)} samples; upload one at a time")
    return x
