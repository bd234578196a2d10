"""A trained run, opened in one place: its settings, metrics, model, preprocessing and data.

    run = Run.open("runs/mlp-20250101-120000")        # or the run's model.npz
    run.config["lr"], run.epochs[-1]["val_acc"], run.test["accuracy"], run.classes
    model = run.load_model()                          # verified, in eval mode
    data = run.load_dataset()                         # read as the run read it
    scores = model(run.prepare(data.x_test[:10]))     # the run's own preprocessing

A run directory holds config.toml, metrics.csv, model.npz (when training finished), plots/,
report.html and checkpoint/ (scratchnn.train.run writes them). Opening reads the settings, the
metrics and the model file's metadata; the weights are read by load_model().
"""

from __future__ import annotations

import csv
import math
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scratchnn import data as datasets
from scratchnn.data import transforms
from scratchnn.data.dataset import Dataset
from scratchnn.data.views import TestViews
from scratchnn.errors import ConfigError, DataError
from scratchnn.layer import Layer
from scratchnn.train import checkpoint as checkpoints
from scratchnn.train.modelfile import load_model
from scratchnn.train.storage import read_meta

if TYPE_CHECKING:
    from scratchnn.train.config import TrainConfig

MODEL_FILE, CONFIG_FILE, METRICS_FILE = "model.npz", "config.toml", "metrics.csv"
READ_OPTIONS = ("image_size", "label_column")    # how the data was read (not which subset)


@dataclass
class Run:
    """What a run directory holds. config: config.toml as a dict ({} without one); epochs:
    metrics.csv, one dict of floats per epoch; meta: model.npz's metadata ({} before training
    finished)."""

    directory: Path
    model_path: Path
    config: dict[str, object]
    epochs: list[dict[str, float]]
    meta: dict
    _model: Layer | None = field(default=None, repr=False)
    _preprocess: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """A run directory, or a model file (its directory is then the run's); a one-line
        DataError when the path is missing or holds no run."""
        path = Path(path)
        if not path.exists():
            kind = "model file" if path.suffix == ".npz" else "run directory"
            raise DataError(f"{path}: no such {kind}")
        if path.is_file():
            directory, model_path = path.parent, path
        else:
            directory, model_path = path, path / MODEL_FILE
            names = (CONFIG_FILE, METRICS_FILE, MODEL_FILE, checkpoints.SUBDIR + "/")
            if not any((path / name).exists() for name in names):
                raise DataError(f"{path}: not a run directory (no {', '.join(names[:-1])} or "
                                f"{names[-1]})")
        return cls(directory, model_path, _read_config(directory / CONFIG_FILE),
                   read_metrics(directory / METRICS_FILE), _read_meta(model_path))

    # -- what the run says about itself ---------------------------------------------------------

    @property
    def test(self) -> dict[str, float]:
        """The test metrics recorded when training finished ({} before)."""
        return self.meta.get("test") or {}

    @property
    def dataset_name(self) -> str | None:
        return self.meta.get("dataset") or self.config.get("dataset")

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.meta.get("classes") or range(self._meta("output_size"))]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.meta.get("input_shape") or (self._meta("input_size"),))

    @property
    def pixel_max(self) -> float | None:
        """The training data's white level (digits 16; None in model files older than it)."""
        white = self.meta.get("pixel_max")
        if white is not None and (type(white) not in (int, float) or not 0 < white < math.inf):
            raise DataError(f"{self.model_path}: metadata pixel_max {white!r} is not a positive "
                            "number")
        return white

    @property
    def test_views(self) -> TestViews | None:
        """The views the run's predictions average (train --tta); None for plain predictions."""
        stored = self.meta.get("test_views")
        if stored is None:
            return None
        try:
            return TestViews.from_dict(stored)
        except ConfigError as error:
            raise DataError(f"{self.model_path}: metadata test_views: {error}") from None

    @property
    def checkpoint_dir(self) -> Path:
        return self.directory / checkpoints.SUBDIR

    def train_config(self) -> TrainConfig:
        """The TrainConfig the run was started with: from its newest good checkpoint (what
        `train --resume` continues), else from config.toml; DataError when it has neither."""
        from scratchnn.train.config import TrainConfig  # argparse and more: not at import time

        if checkpoints.find_checkpoints(self.checkpoint_dir):
            found = checkpoints.load_checkpoint(self.checkpoint_dir)
            stored = found.meta["info"].get("config")
            if isinstance(stored, dict):
                return TrainConfig.from_table(stored, where=found.path)
        if (self.directory / CONFIG_FILE).is_file():
            return TrainConfig.from_toml(self.directory / CONFIG_FILE)
        raise DataError(f"{self.directory}: no settings (no {checkpoints.SUBDIR}/ and no "
                        f"{CONFIG_FILE})")

    # -- model, preprocessing, data -------------------------------------------------------------

    def load_model(self) -> Layer:
        """The trained model (verified, in eval mode); loaded once."""
        if self._model is None:
            self._require_model()
            self._model, self.meta = load_model(self.model_path)
        return self._model

    def loss(self):
        """The run's loss, SoftmaxCrossEntropy with its label_smoothing: the losses a run
        reports (training, validation, test, its report, evaluate) are all of this one."""
        from scratchnn.losses import SoftmaxCrossEntropy

        return SoftmaxCrossEntropy(float(self.config.get("label_smoothing", 0.0)))

    @property
    def preprocessing(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """The fitted preprocessing stored with the model; None when it has none."""
        self._require_model()
        stored = self.meta.get("preprocess")
        return transforms.from_dict(stored) if stored else None

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs -> the model's inputs, as in training: the stored preprocessing; a run
        without one (float data, preprocess "none") took its inputs as float32."""
        if self._preprocess is None:
            self._preprocess = self.preprocessing or _as_float32
        return self._preprocess(x)

    def load_dataset(self, name: str | None = None, *, as_trained: bool = False) -> Dataset:
        """The dataset `name` (default: the run's), read as the run read it (image size, label
        column); as_trained=True also takes the run's n_train/n_val/n_test subset."""
        own = self.dataset_name
        if name is None:
            if own is None:
                raise DataError(f"{self.directory}: the run does not say its dataset; "
                                "give one (--dataset)")
            name = own
        if name != own:
            return datasets.load(name)
        if self.has_settings() and (as_trained or "data_options" not in self.meta):
            stored = self.train_config().data_options()
        else:
            stored = self.meta.get("data_options") or {}
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()
                   if as_trained or k in READ_OPTIONS}
        return datasets.load(name, **options)

    # -- helpers --------------------------------------------------------------------------------

    def _require_model(self) -> None:
        if self.model_path.is_file():
            return
        if checkpoints.find_checkpoints(self.checkpoint_dir):
            raise DataError(f"{self.model_path}: no model file: the run has not finished; "
                            "continue it with scratchnn train --resume "
                            f"{shlex.quote(str(self.directory))}")
        raise DataError(f"{self.model_path}: no model file (the run has not finished)")

    def has_settings(self) -> bool:
        """Whether the run has a config.toml or a checkpoint (train_config() can answer)."""
        return ((self.directory / CONFIG_FILE).is_file()
                or bool(checkpoints.find_checkpoints(self.checkpoint_dir)))

    def _meta(self, key: str):
        self._require_model()
        if key not in self.meta:
            raise DataError(f"{self.model_path}: metadata has no {key!r}")
        return self.meta[key]


def read_metrics(path: Path) -> list[dict[str, float]]:
    """metrics.csv as a list of {column: float}; empty cells are left out; [] without a file."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows.append({k: float(v) for k, v in row.items() if k and v not in ("", None)})
            except (ValueError, TypeError) as error:
                raise DataError(f"{path}: not a metrics file ({error})") from None
    return rows


def final(epochs: list[dict[str, float]], key: str) -> float:
    """The last epoch's `key`, NaN when absent."""
    values = [row[key] for row in epochs if key in row]
    return values[-1] if values else math.nan


def _as_float32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32)


def _read_meta(path: Path) -> dict:
    """The JSON metadata of a model file, read safely without its weights; {} if no file."""
    return read_meta(path, "model file") if path.is_file() else {}


def _read_config(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: invalid TOML: {error}") from None
