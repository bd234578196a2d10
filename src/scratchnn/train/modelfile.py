"""Model files: weights in .npz (never pickled) with a JSON metadata entry and a checksum.

The metadata says how to rebuild the model (preset name and options, input/output sizes), the
class names and the input normalisation, so `load_model` needs nothing but the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from scratchnn import models
from scratchnn.errors import DataError, ScratchnnError
from scratchnn.layer import Sequential
from scratchnn.train.storage import META_KEY, checksum, read_verified, save_npz

FORMAT = "scratchnn-model"
VERSION = 2     # 2: the checksum covers the metadata too (1: the weights only; still read)

__all__ = ["FORMAT", "META_KEY", "VERSION", "load_model", "read_model_file", "save_model"]


def save_model(path: str | Path, model: Sequential, meta: dict) -> None:
    """Write the model's state_dict and `meta` (JSON-able) atomically: temp file, fsync, rename,
    fsync of the directory. The sha256 covers the weights and the metadata."""
    state = model.state_dict()
    meta = json.loads(json.dumps({"format": FORMAT, "version": VERSION, **meta}))
    save_npz(path, state, {**meta, "sha256": checksum(state, meta)})


def read_model_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """-> (state, meta), verified; a one-line DataError for a missing, truncated or corrupt file,
    one of another format, or of a newer format version."""
    return read_verified(path, "model file", FORMAT, VERSION, weights_only_before=2, others={
        "scratchnn-checkpoint": " (a training checkpoint: `scratchnn train --resume` continues "
                                "it)"})


def _check_sizes(meta: dict, state: dict[str, np.ndarray], path) -> None:
    """Refuse metadata whose sizes could not describe the weights in the file, before a model
    of that size is built (a hand-made file must not make us allocate terabytes)."""
    total = sum(array.size for array in state.values())
    options = meta.get("model_options", {})
    if not isinstance(options, dict):
        raise DataError(f"{path}: metadata 'model_options' is not a JSON object")
    sizes = [meta.get("input_size"), meta.get("output_size"), meta.get("input_shape"),
             *options.values()]
    numbers = [v for s in sizes for v in (s if isinstance(s, list) else [s])
               if type(v) is int]
    # consecutive widths: each pair's product is at most the size of the weights between them
    # (a conv's channels feed each other, its last ones feed the first hidden layer)
    hidden, channels = options.get("hidden_sizes"), options.get("channels")
    shape = meta.get("input_shape")
    in_channels = shape[0] if isinstance(shape, list) and shape else None
    first = [in_channels, *channels] if isinstance(channels, list) else [meta.get("input_size")]
    layers = [*first, *(hidden if isinstance(hidden, list) else [hidden]),
              meta.get("output_size")]
    products = [a * b for a, b in zip(layers[:-1], layers[1:], strict=True)
                if type(a) is int and type(b) is int]
    if any(not 0 <= v <= total for v in numbers) or any(p > total for p in products):
        raise DataError(f"{path}: metadata sizes do not match the {total} numbers in the file")
    if type(meta.get("input_size")) is int and isinstance(meta.get("input_shape"), list) \
            and all(type(v) is int for v in meta["input_shape"]) \
            and math.prod(meta["input_shape"]) != meta["input_size"]:
        raise DataError(f"{path}: metadata input_shape and input_size disagree")


# Files written before model files stored every option (models.resolved_options) name only the
# options that were set; these are the defaults they were built with where the preset's changed.
OPTIONS_BEFORE_THEY_WERE_STORED = {"cnn": {"channels": [32, 64, 128]}}


def load_model(path: str | Path) -> tuple[Sequential, dict]:
    """Rebuild the preset the file names and load its weights -> (model in eval mode, meta)."""
    state, meta = read_model_file(path)
    _check_sizes(meta, state, path)
    # scratchnn 0.1 stored its L2 weight decay among the model options; it never shaped the net
    options = {k: v for k, v in meta.get("model_options", {}).items() if k != "weight_decay"}
    try:
        options = {**OPTIONS_BEFORE_THEY_WERE_STORED.get(meta.get("model"), {}), **options}
        model = models.build(meta["model"], meta.get("input_shape", meta["input_size"]),
                             meta["output_size"], rng=np.random.default_rng(0), **options)
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise DataError(f"{path}: metadata does not describe a known model ({error})") from None
    except ScratchnnError as error:
        raise DataError(f"{path}: {error}") from None
    return model.eval(), meta
