"""Reading a run directory back: its configuration, per-epoch metrics and model metadata.

    run = read_run("runs/mlp-20250101-120000")
    run.config["lr"], run.epochs[-1]["val_acc"], run.test["accuracy"]
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn.errors import DataError
from scratchnn.train.modelfile import META_KEY


@dataclass
class RunRecord:
    """What a run directory holds, read without loading the weights.

    config: config.toml as a dict; epochs: metrics.csv, one dict of floats per epoch;
    meta: the metadata of model.npz (classes, input shape, test metrics), {} without a model.
    """

    directory: Path
    config: dict[str, object]
    epochs: list[dict[str, float]]
    meta: dict

    @property
    def test(self) -> dict[str, float]:
        return self.meta.get("test") or {}


def read_run(directory: str | Path) -> RunRecord:
    """Read config.toml, metrics.csv and model.npz's metadata; a one-line DataError when the
    directory is missing or holds none of them."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such run directory")
    names = ("config.toml", "metrics.csv", "model.npz")
    if not any((directory / name).is_file() for name in names):
        raise DataError(f"{directory}: not a run directory (no {', '.join(names)})")
    return RunRecord(directory, _config(directory / "config.toml"),
                     read_metrics(directory / "metrics.csv"), read_meta(directory / "model.npz"))


def read_metrics(path: Path) -> list[dict[str, float]]:
    """metrics.csv as a list of {column: float}; empty cells are left out; [] without a file."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows.append({k: float(v) for k, v in row.items() if k and v not in ("", None)})
            except ValueError as error:
                raise DataError(f"{path}: not a metrics file ({error})") from None
    return rows


def read_meta(path: Path) -> dict:
    """The JSON metadata of a model file (without reading or checking the weights); {} if none."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            return json.loads(str(archive[META_KEY]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable scratchnn model file ({error})") from None


def _config(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{path}: invalid TOML: {error}") from None


def final(epochs: list[dict[str, float]], key: str) -> float:
    """The last epoch's `key`, NaN when absent."""
    values = [row[key] for row in epochs if key in row]
    return values[-1] if values else math.nan
