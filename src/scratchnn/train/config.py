"""TrainConfig: every setting of a training run, read from TOML and overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from scratchnn.data.transforms import PREPROCESS
from scratchnn.errors import ConfigError

# Model options: None means "the preset's default".
MODEL_OPTIONS = ("hidden_sizes", "activation", "weight_init", "batchnorm", "dropout",
                 "weight_decay")


_TYPES: dict[str, tuple[type, ...]] = {
    "dataset": (str,), "model": (str,), "optimizer": (str,), "lr": (float, int), "epochs": (int,),
    "batch_size": (int,), "seed": (int,), "out": (str,), "val_fraction": (float, int),
    "schedule": (str,), "warmup_epochs": (float, int), "early_stopping": (int,),
    "keep_best": (bool,), "hidden_sizes": (tuple, list), "activation": (str,),
    "weight_init": (str, float, int), "batchnorm": (bool,), "dropout": (float, int),
    "weight_decay": (float, int),
    "augment": (bool,), "crop_padding": (int,), "flip": (bool,), "preprocess": (str,),
    "n_train": (int,), "n_val": (int,), "n_test": (int,), "image_size": (tuple, list),
    "label_column": (str,),
    "checkpoint_every": (int,), "skip_nonfinite": (bool,),
}


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "fashion-mnist"
    model: str = "mlp"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 20
    batch_size: int = 128
    seed: int = 0
    out: str = ""                     # run directory; "" -> runs/<model>-<time>
    val_fraction: float = 0.1         # carved from the training set, seeded
    schedule: str = "cosine"          # constant | step | exponential | cosine
    warmup_epochs: float = 0.0
    early_stopping: int = 0           # patience in epochs; 0 = off
    keep_best: bool = True            # restore the best-validation weights at the end
    hidden_sizes: tuple[int, ...] | None = None
    activation: str | None = None
    weight_init: str | float | None = None
    batchnorm: bool | None = None
    dropout: float | None = None
    weight_decay: float | None = None  # L2 lambda of the model (DLFS MultiLayerNet)
    # data (scratchnn.data.load and scratchnn.data.transforms)
    augment: bool = False             # random crop + horizontal flip of training batches
    crop_padding: int | None = None   # None: by image size (4 for 32x32, 2 for 28x28); 0 = off
    flip: bool | None = None          # None: by dataset (off for digits and MNIST)
    preprocess: str = "standardize"   # standardize | scale | mean_image | none
    n_train: int | None = None        # the first N training samples (None: all)
    n_val: int | None = None          # the next N as validation (then val_fraction is unused)
    n_test: int | None = None         # the first N test samples (None: all)
    image_size: tuple[int, int] | None = None  # resize an image folder's images to (H, W)
    label_column: str | None = None   # the label column of a CSV (None: "label")
    # reliability (scratchnn.train.checkpoint, the divergence guard)
    checkpoint_every: int = 0         # also checkpoint every N steps (0: after each epoch only)
    skip_nonfinite: bool = False      # skip batches with a non-finite loss/gradient, not stop

    def __post_init__(self) -> None:
        for f in fields(self):
            value, expected = getattr(self, f.name), _TYPES[f.name]
            if value is not None and (not isinstance(value, expected)
                                      or (isinstance(value, bool) and bool not in expected)):
                names = " or ".join(t.__name__ for t in expected)
                raise ConfigError(f"config key {f.name!r} must be {names}, got {value!r}")
        for name, low in (("epochs", 1), ("batch_size", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        for name in ("seed", "checkpoint_every", "early_stopping"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.weight_decay is not None and not 0 <= self.weight_decay < math.inf:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.hidden_sizes is not None:
            object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        for name in ("crop_padding", "n_train", "n_val", "n_test"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.preprocess not in PREPROCESS:
            raise ConfigError(f"preprocess must be one of {', '.join(PREPROCESS)}, "
                              f"got {self.preprocess!r}")
        if self.image_size is not None:
            size = tuple(self.image_size)
            if len(size) != 2 or not all(type(v) is int and v > 0 for v in size):
                raise ConfigError(f"image_size must be [H, W], got {self.image_size!r}")
            object.__setattr__(self, "image_size", size)

    def data_options(self) -> dict:
        """The keyword arguments of scratchnn.data.load that were set."""
        keys = ("n_train", "n_val", "n_test", "image_size", "label_column")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def model_options(self) -> dict:
        """The model options that were set (the rest stay at the preset's defaults)."""
        return {k: getattr(self, k) for k in MODEL_OPTIONS if getattr(self, k) is not None}

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes` applied; None values are ignored (an unset CLI flag)."""
        unknown_keys(changes)
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_toml(self) -> str:
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                lines.append(f"{f.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        return cls.from_table(read_toml(path), where=path)

    @classmethod
    def from_table(cls, table: dict, where: str | Path | None = None) -> TrainConfig:
        """The config of a table of settings (a TOML file's, read by read_toml)."""
        try:
            return cls(**table)
        except TypeError as error:
            raise ConfigError(f"{where}: {error}" if where else str(error)) from None


def read_toml(path: str | Path) -> dict:
    """The settings a TOML config file gives; a missing or invalid file, or a key that is not a
    TrainConfig field, raises ConfigError."""
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    unknown_keys(table, where=f"{path}: ")
    return table


def unknown_keys(table: dict, where: str = "") -> None:
    """Raise for a key that is not a TrainConfig field, suggesting the nearest valid one."""
    valid = [f.name for f in fields(TrainConfig)]
    for key in table:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}unknown config key {key!r}{hint}")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
