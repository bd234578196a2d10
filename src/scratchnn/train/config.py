"""TrainConfig: every setting of a training run, read from TOML and overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

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
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.hidden_sizes is not None:
            object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))

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
        try:
            with open(path, "rb") as f:
                table = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        unknown_keys(table, where=f"{path}: ")
        try:
            return cls(**table)
        except TypeError as error:
            raise ConfigError(f"{path}: {error}") from None


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
