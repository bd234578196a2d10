"""Model files: weights in .npz (never pickled) with a JSON metadata entry and a checksum.

The metadata says how to rebuild the model (preset name and options, input/output sizes), the
class names and the input normalisation, so `load_model` needs nothing but the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from scratchnn import models
from scratchnn.errors import DataError, ScratchnnError
from scratchnn.layer import Sequential

FORMAT = "scratchnn-model"
VERSION = 1
META_KEY = "__meta__"


def _checksum(state: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        array = np.ascontiguousarray(state[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_model(path: str | Path, model: Sequential, meta: dict) -> None:
    """Write the model's state_dict and `meta` (JSON-able) atomically: temp file, fsync, rename."""
    state = model.state_dict()
    meta = {"format": FORMAT, "version": VERSION, **meta, "sha256": _checksum(state)}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:            # a file handle: np.savez would append ".npz" to a name
        np.savez(f, **state, **{META_KEY: np.array(json.dumps(meta))})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_model_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """-> (state, meta), verified; a clear one-line DataError for anything else."""
    name = str(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise DataError(f"{name}: no such model file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(f"{name}: not a readable .npz model file ({error})") from None
    if META_KEY not in arrays:
        raise DataError(f"{name}: not a scratchnn model file (no {META_KEY} entry)")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as error:
        raise DataError(f"{name}: corrupt metadata ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{name}: not a scratchnn model file")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise DataError(f"{name}: model format version {meta.get('version')} is newer than this "
                        f"scratchnn reads ({VERSION}); upgrade scratchnn")
    if meta.get("sha256") != _checksum(arrays):
        raise DataError(f"{name}: checksum mismatch: the weights are corrupt")
    return arrays, meta


def load_model(path: str | Path) -> tuple[Sequential, dict]:
    """Rebuild the preset the file names and load its weights -> (model in eval mode, meta)."""
    state, meta = read_model_file(path)
    try:
        model = models.build(meta["model"], meta.get("input_shape", meta["input_size"]),
                             meta["output_size"],
                             rng=np.random.default_rng(0), **meta.get("model_options", {}))
        model.load_state_dict(state)
    except (KeyError, TypeError) as error:
        raise DataError(f"{path}: metadata does not describe a known model ({error})") from None
    except ScratchnnError as error:
        raise DataError(f"{path}: {error}") from None
    return model.eval(), meta
