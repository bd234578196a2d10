"""Checkpoints: the complete state of a training run, so that a killed run continues exactly.

    trainer = Trainer(model, loss_fn, optimizer, checkpoint_dir="runs/a/checkpoint",
                      checkpoint_every=100)             # every 100 steps and after every epoch
    trainer.fit(x, y, epochs=20)
    # ... the process dies; in a new one, build the same model, optimizer and trainer, then:
    trainer.fit(x, y, epochs=20, resume="runs/a/checkpoint")

Continuing from a checkpoint gives bit-identical weights to a run that was never stopped. The
state is the Trainer's own (Trainer.state_dict(), put back by Trainer.load_state_dict()); this
module writes it as one .npz file (no pickle): arrays, and a JSON entry __meta__, with a sha256
over both (storage.checksum):

    model/<name>       model.state_dict(): parameters and batch-norm running statistics
    optimizer/<name>   optimizer.state_dict(): lr and every slot (Adam's exp_avg, step, ...)
    best/<name>        the weights of the best validation accuracy so far (keep_best)
    history/steps      the training loss of every step
    __meta__           epoch, step, batch_index (batches done in the current epoch) and that
                       epoch's running sums; the per-epoch History and the skipped steps; the
                       state of each distinct random generator in the model (dropout masks) and
                       which layers share it; the callbacks' state (early stopping); the
                       preprocessing statistics; seed, batch size and a fingerprint of the
                       training data; `info` (run.py puts the run's config there)

The learning-rate schedule is a pure function of the fractional epoch, and an epoch's shuffling
order is drawn from default_rng([seed, epoch]), so epoch and batch_index recreate both.

A directory holds latest.npz and previous.npz. Saving writes latest.npz.tmp (flushed and
fsynced), renames latest.npz to previous.npz, renames the new file to latest.npz and fsyncs the
directory: whenever the process dies, a complete checkpoint is on disk. Loading takes latest.npz,
or previous.npz when latest.npz is missing or fails its checks.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn.errors import ConfigError, DataError
from scratchnn.train.history import History
from scratchnn.train.storage import META_KEY, checksum, fsync_directory, read_verified, write_synced

FORMAT = "scratchnn-checkpoint"
VERSION = 1
LATEST, PREVIOUS = "latest.npz", "previous.npz"
SUBDIR = "checkpoint"           # a run directory's checkpoints live in RUN/checkpoint/

# Top-level metadata entries and their types, checked when a checkpoint is read.
_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "epoch": int, "step": int, "batch_index": int, "totals": dict, "stop": bool, "seed": int,
    "batch_size": int, "steps_per_epoch": int, "optimizer": str, "generators": dict,
    "history": dict, "callbacks": list, "preprocess": (dict, type(None)),
    "data": (dict, type(None)), "info": dict,
}


@dataclass
class Checkpoint:
    """A verified checkpoint file: its arrays and metadata. `note` says why an older file was
    used instead of latest.npz ("" when latest.npz was fine)."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict
    note: str = ""

    def section(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays stored under "prefix/", without the prefix: section("model") is a
        state_dict."""
        start = prefix + "/"
        return {k[len(start):]: v for k, v in self.arrays.items() if k.startswith(start)}


# -- saving -------------------------------------------------------------------------------------

def save_checkpoint(trainer, directory: str | os.PathLike) -> Path:
    """Write trainer.state_dict() to directory/latest.npz (the old one becomes previous.npz)
    -> the path written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = trainer.state_dict()
    arrays = {f"model/{k}": v for k, v in state["model"].items()}
    arrays |= {f"optimizer/{k}": v for k, v in state["optimizer"].items()}
    arrays |= {f"best/{k}": v for k, v in (state["best"] or {}).items()}
    arrays["history/steps"] = np.array(state["history"].steps, np.float64)
    meta = {"format": FORMAT, "version": VERSION,
            **{key: state[key] for key in ("epoch", "step", "batch_index", "totals", "stop",
                                           "seed", "batch_size", "steps_per_epoch")},
            "optimizer": state["optimizer_class"], "generators": state["generators"],
            "history": {"epochs": state["history"].epochs,
                        "skipped": state["history"].skipped},
            "callbacks": state["callbacks"], "preprocess": state["preprocess"],
            "data": state["data"], "info": trainer.checkpoint_info}
    meta = json.loads(json.dumps(meta, default=_plain))   # exactly what a reader will see
    meta["sha256"] = checksum(arrays, meta)
    entries = {**arrays, META_KEY: np.array(json.dumps(meta))}
    latest = directory / LATEST
    tmp = write_synced(latest, lambda f: np.savez(f, **entries))
    try:
        if latest.exists():
            os.replace(latest, directory / PREVIOUS)
        os.replace(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(directory)
    return latest


def _plain(value):
    """JSON for the NumPy values that may appear in metadata (bit-generator keys, metrics)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def _from_plain(value):
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {k: _from_plain(v) for k, v in value.items()}
    return value


def data_fingerprint(x: np.ndarray, y: np.ndarray) -> dict:
    """Size, sample shape, dtype and sha256 of the training data: a resumed run must see the
    same data. Hashed in slices, so no copy of the whole array is made."""
    digest = hashlib.sha256()
    for array in (x, y):
        for start in range(0, len(array), 4096):
            digest.update(np.ascontiguousarray(array[start:start + 4096]).data)
    return {"samples": len(x), "shape": list(x.shape[1:]), "dtype": str(x.dtype),
            "sha256": digest.hexdigest()}


# -- loading ------------------------------------------------------------------------------------

def find_checkpoints(path: str | os.PathLike) -> list[Path]:
    """The checkpoint files to try for `path`, best first: a file itself; a checkpoint directory's
    latest.npz and previous.npz; or those of a run directory's checkpoint/."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir() and not any((path / n).is_file() for n in (LATEST, PREVIOUS)):
        path = path / SUBDIR
    return [path / n for n in (LATEST, PREVIOUS) if (path / n).is_file()]


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """The newest good checkpoint at `path` (see find_checkpoints); DataError when none is."""
    candidates = find_checkpoints(path)
    if not candidates:
        raise DataError(f"{path}: no checkpoint found (looked for {LATEST} and {PREVIOUS} in it "
                        f"and in {Path(path) / SUBDIR})")
    problems = []
    for candidate in candidates:
        try:
            arrays, meta = read_checkpoint_file(candidate)
        except DataError as error:
            problems.append(str(error))
            continue
        note = f"{problems[0]}; using {candidate.name} instead" if problems else ""
        return Checkpoint(candidate, arrays, meta, note)
    raise DataError("; ".join(problems))


def read_checkpoint_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of one checkpoint file, verified: format, version, checksum, metadata."""
    arrays, meta = read_verified(path, "checkpoint", FORMAT, VERSION, others={
        "scratchnn-model": " (a model file; to continue training, resume from the run "
                           "directory)"})
    for key, expected in _META_TYPES.items():
        value = meta.get(key)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DataError(f"{path}: malformed checkpoint metadata: {key!r} is {value!r}")
    if "history/steps" not in arrays:
        raise DataError(f"{path}: malformed checkpoint: no history/steps")
    return arrays, meta


# -- restoring ----------------------------------------------------------------------------------

def restore_checkpoint(trainer, checkpoint: Checkpoint) -> None:
    """Put the checkpoint's state into `trainer` (Trainer.load_state_dict). The trainer must be
    set up as the one that saved it: a mismatch raises ConfigError, and nothing is changed."""
    try:
        state = _trainer_state(checkpoint)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DataError(f"{checkpoint.path}: malformed checkpoint metadata ({error!r})") from None
    try:
        trainer.load_state_dict(state)
    except ConfigError as error:
        raise ConfigError(f"{checkpoint.path}: {error}") from None


def _trainer_state(checkpoint: Checkpoint) -> dict:
    """The checkpoint as a Trainer.state_dict(), in the types the trainer holds."""
    meta = checkpoint.meta
    totals, history = meta["totals"], meta["history"]
    state = {key: meta[key] for key in ("epoch", "step", "batch_index", "stop", "seed",
                                        "batch_size", "steps_per_epoch", "callbacks",
                                        "preprocess", "data")}
    state |= {
        "model": checkpoint.section("model"), "optimizer": checkpoint.section("optimizer"),
        "best": checkpoint.section("best") or None, "optimizer_class": meta["optimizer"],
        "totals": {"loss": float(totals["loss"]), "correct": int(totals["correct"]),
                   "seen": int(totals["seen"]), "skipped": int(totals["skipped"])},
        "history": History(steps=[float(v) for v in checkpoint.arrays["history/steps"]],
                           epochs=[dict(row) for row in history["epochs"]],
                           skipped=[int(s) for s in history["skipped"]]),
        "generators": {"states": [_from_plain(s) for s in meta["generators"]["states"]],
                       "owners": [list(o) for o in meta["generators"]["owners"]]},
    }
    if min(state["epoch"], state["step"], state["batch_index"]) < 0:
        raise ValueError("negative epoch, step or batch index")
    if state["preprocess"] is not None and not isinstance(state["preprocess"].get("state"),
                                                          dict):
        raise ValueError("preprocess without a state")
    return state


def describe_data(fingerprint: dict | None) -> str:
    if not fingerprint:
        return "unknown"
    return (f"{fingerprint.get('samples')} samples of shape {tuple(fingerprint.get('shape', ()))}"
            f" {fingerprint.get('dtype')}, sha256 {str(fingerprint.get('sha256'))[:12]}")
