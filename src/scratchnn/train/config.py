"""TrainConfig: every setting of a training run, each declared once.

A field declares the setting's type (its annotation), default and help; `scratchnn train`'s
flags (`--name-with-dashes`), the TOML keys, the type checks, `train --help` and
`train --print-config` are all generated from the fields.

weight_decay is the optimizer's, with torch.optim's meaning: L2 through the gradient for sgd,
momentum, nesterov, adagrad, rmsprop and adam, decoupled for adamw; unset, each optimizer keeps
its own default (adamw 0.01, the others 0). The course-style L2 term that also adds
l2_reg/2 * sum ||W||^2 to the reported loss (CS231n's `reg`, the book's weight_decay_lambda) is
the separate setting l2_reg. Config files written by scratchnn 0.1, where weight_decay meant that
L2 term, still load, with the optimizer meaning: write l2_reg to keep the old behaviour.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import textwrap
import tomllib
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from scratchnn import models
from scratchnn.data.transforms import PREPROCESS, Augment
from scratchnn.errors import ConfigError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.names import choose
from scratchnn.optim import OPTIMIZERS
from scratchnn.optim.schedules import SCHEDULES

MAX_EPOCHS = 10_000
# Names other libraries and courses use for a setting: suggested in "did you mean".
KEY_ALIASES = {"learning_rate": "lr", "learning-rate": "lr", "num_epochs": "epochs",
               "n_epochs": "epochs", "max_epochs": "epochs", "batch": "batch_size",
               "batchsize": "batch_size", "optim": "optimizer", "lr_schedule": "schedule",
               "scheduler": "schedule", "validation_split": "val_fraction",
               "val_split": "val_fraction", "hidden": "hidden_sizes",
               "hidden_size": "hidden_sizes", "reg": "l2_reg", "weight_decay_lambda": "l2_reg",
               "patience": "early_stopping", "warmup": "warmup_epochs", "output": "out",
               "output_dir": "out", "random_seed": "seed", "data": "dataset"}


def setting(default, help: str, *, unset: str = "", flag: bool = True,
            metavar: str | None = None, choices: Iterable[str] | None = None,
            passed_to: str | None = None, resumable: bool = False):
    """A TrainConfig field. unset: what a None (or "") default means, for the help; flag:
    `scratchnn train` has --name-with-dashes for it; choices: the valid values (checked, with
    "did you mean"); passed_to: "model" (an option of the preset) or "data" (of
    scratchnn.data.load); resumable: allowed with --resume (it changes nothing the run
    computes)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "unset": unset, "flag": flag, "metavar": metavar, "passed_to": passed_to,
        "choices": None if choices is None else tuple(choices), "resumable": resumable})


def _preset_settings() -> str:
    own = "; ".join(f"{name} trains with " + ", ".join(f"{k} {v}" for k, v in d.items())
                    for name, d in models.TRAIN_DEFAULTS.items())
    return f" (unless told otherwise, {own})" if own else ""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (`scratchnn train --print-config` lists them all)."""

    dataset: str = setting(
        "fashion-mnist", "fashion-mnist, mnist, cifar10, digits or a path: an .npz, a .csv or a "
        "folder of class folders of images (see `scratchnn datasets`)", metavar="NAME|PATH")
    model: str = setting("mlp", "the network preset" + _preset_settings(),
                         choices=models.PRESETS, metavar="NAME")
    optimizer: str = setting("adam", "the update rule", choices=OPTIMIZERS, metavar="NAME")
    lr: float = setting(1e-3, "the (peak) learning rate", metavar="X")
    epochs: int = setting(20, "passes over the training set (a preset may bring its own: see "
                          "--model)", metavar="N")
    batch_size: int = setting(128, "samples per training step", metavar="N")
    seed: int = setting(0, "seeds the validation split, the weights, dropout and the batch order",
                        metavar="N")
    out: str = setting("", "the run directory", unset="runs/<model>-<date>-<time>",
                       metavar="DIR")
    val_fraction: float = setting(0.1, "the fraction of the training set held out (seeded) for "
                                  "validation", metavar="X")
    schedule: str = setting("cosine", "the learning-rate schedule", choices=SCHEDULES,
                            metavar="NAME")
    warmup_epochs: float = setting(0.0, "epochs of linear learning-rate warm-up from 0",
                                   metavar="X")
    early_stopping: int = setting(0, "stop after N epochs without a better validation accuracy "
                                  "(0: never stop early)", metavar="N")
    keep_best: bool = setting(True, "end with the weights of the best validation epoch")
    weight_decay: float | None = setting(
        None, "the optimizer's weight decay, as torch.optim: through the gradient (L2) for sgd, "
        "momentum, nesterov, adagrad, rmsprop and adam, decoupled for adamw",
        unset="the optimizer's own: adamw 0.01, the others 0", metavar="X")
    l2_reg: float = setting(0.0, "the course-style L2 term: adds l2_reg/2 * sum ||W||^2 over the "
                            "weight matrices to the loss (CS231n's reg, the book's "
                            "weight_decay_lambda)", metavar="X")
    label_smoothing: float = setting(0.0, "trains towards (1 - X) * the label + X spread over "
                                     "all classes, as torch's CrossEntropyLoss (the reported "
                                     "losses include it)", metavar="X")
    # model options (None: the preset's default)
    hidden_sizes: tuple[int, ...] | None = setting(
        None, "hidden layer sizes", unset="the preset's; mlp 512,256", metavar="N,N",
        passed_to="model")
    channels: tuple[int, ...] | None = setting(
        None, "conv channels of each block", unset="the preset's; cnn 24,64,192", metavar="N,N",
        passed_to="model")
    activation: str | None = setting(None, "the hidden layers' activation",
                                     unset="the preset's, relu", choices=models.ACTIVATIONS,
                                     metavar="NAME", passed_to="model")
    weight_init: str | float | None = setting(
        None, "the initial weights: he, xavier or a standard deviation",
        unset="the preset's, he", metavar="KIND", passed_to="model")
    batchnorm: bool | None = setting(None, "batch norm after each hidden affine layer",
                                     unset="the preset's; mlp on", passed_to="model")
    dropout: float | None = setting(None, "drop probability after each hidden layer",
                                    unset="the preset's; mlp 0.2", metavar="P",
                                    passed_to="model")
    # data (scratchnn.data.load and scratchnn.data.transforms)
    augment: bool = setting(False, "random crop + horizontal flip of training batches")
    crop_padding: int | None = setting(
        None, "zeros around an image before the random crop (0: no crop)",
        unset="4 for 32x32 images, 2 for 28x28", metavar="N")
    flip: bool | None = setting(None, "random horizontal flips",
                                unset="on, but off for digits and mnist")
    erase: float = setting(0.0, "probability of random erasing: noise over a random rectangle "
                           "of a training image (with --augment)", metavar="P")
    tta: bool = setting(False, "test-time augmentation: the run's predictions (test accuracy, "
                        "evaluate, predict, serve, export) average the scores of the image, "
                        "its mirror, and both moved one pixel left and right (no mirror "
                        "without flips, no moves with crop_padding 0)")
    preprocess: str = setting("standardize", "how pixels become the network's input",
                              choices=PREPROCESS, metavar="KIND")
    n_train: int | None = setting(None, "train on the first N training samples", unset="all",
                                  metavar="N", passed_to="data")
    n_val: int | None = setting(None, "validate on the next N training samples",
                                unset="val_fraction of them, at random", metavar="N",
                                passed_to="data")
    n_test: int | None = setting(None, "test on the first N test samples", unset="all",
                                 metavar="N", passed_to="data")
    image_size: tuple[int, int] | None = setting(
        None, "resize an image folder's images to H,W", unset="no resizing", metavar="H,W",
        passed_to="data")
    label_column: str | None = setting(None, "the label column of a CSV", unset="label",
                                       metavar="NAME", passed_to="data")
    # reliability (scratchnn.train.checkpoint, the divergence guard)
    checkpoint_every: int = setting(0, "also save a checkpoint every N steps (0: after each "
                                    "epoch only)", metavar="N", resumable=True)
    skip_nonfinite: bool = setting(False, "skip batches with a non-finite loss or gradient "
                                   "instead of stopping", resumable=True)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, _checked(f, value))
        for name, low in (("epochs", 1), ("batch_size", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.epochs > MAX_EPOCHS:
            raise ConfigError(f"epochs {self.epochs} would never finish: at most {MAX_EPOCHS} "
                              "(use early_stopping to stop when validation stops improving)")
        for name in ("n_train", "n_val", "n_test"):
            if getattr(self, name) == 0:
                raise ConfigError(f"{name} must be a positive integer, got 0 (leave it unset "
                                  f"for {_default(TrainConfig.__dataclass_fields__[name])})")
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        for name in ("seed", "checkpoint_every", "early_stopping", "crop_padding", "n_train",
                     "n_val", "n_test"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("weight_decay", "l2_reg"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) < math.inf:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        SoftmaxCrossEntropy(self.label_smoothing)      # the loss checks its own range,
        Augment(erase=self.erase)                      # augmentation its own
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.image_size is not None and (len(self.image_size) != 2
                                            or min(self.image_size) <= 0):
            raise ConfigError(f"image_size must be [H, W], got {list(self.image_size)!r}")

    def data_options(self) -> dict:
        """The keyword arguments of scratchnn.data.load that were set."""
        return self._set("data")

    def model_options(self) -> dict:
        """The model options that were set (the rest stay at the preset's defaults)."""
        return self._set("model")

    def _set(self, passed_to: str) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.metadata["passed_to"] == passed_to and getattr(self, f.name) is not None}

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes` applied; None values are ignored (an unset CLI flag)."""
        unknown_keys(changes)
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_toml(self, comments: bool = False) -> str:
        """The settings as TOML; unset ones (None) are left out, or with comments=True written
        as comments, each setting after a comment line of its help."""
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if comments:
                text = f"{f.metadata['help']}{_choices(f)} (default: {_default(f)})"
                lines += ["# " + line for line in textwrap.wrap(text, 98)]
            if value is not None:
                lines.append(f"{f.name} = {_toml_value(value)}")
            elif comments:
                lines.append(f"# {f.name} =")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        return cls.from_table(read_toml(path), where=path)

    @classmethod
    def from_table(cls, table: dict, where: str | Path | None = None) -> TrainConfig:
        """The config of a table of settings (a TOML file's, read by read_toml)."""
        unknown_keys(table, where=f"{where}: " if where else "")
        try:
            return cls(**table)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}" if where else str(error)) from None


# -- the type checks, from the annotations ------------------------------------------------------

@functools.cache
def _kinds(name: str) -> tuple[type, ...]:
    """The types a field's annotation allows, None left out: (float,), (str, float), (tuple,)."""
    hint = typing.get_type_hints(TrainConfig)[name]
    options = typing.get_args(hint) if typing.get_origin(hint) is not tuple else (hint,)
    options = options or (hint,)
    return tuple(typing.get_origin(t) or t for t in options if t is not type(None))


def _checked(f: dataclasses.Field, value):
    """`value` if its type fits the field (an int for a float; a list for a tuple, made a
    tuple of ints), with choices checked; else ConfigError naming the key."""
    kinds = _kinds(f.name)
    allowed = {bool: (bool,), int: (int,), float: (float, int), str: (str,),
               tuple: (tuple, list)}
    fits = any(isinstance(value, allowed[k]) and (k is bool or not isinstance(value, bool))
               for k in kinds)
    if fits and tuple in kinds:
        fits = all(type(v) is int for v in value)
        value = tuple(value)
    if not fits:
        names = " or ".join("a list of integers" if k is tuple else k.__name__ for k in kinds)
        raise ConfigError(f"config key {f.name!r} must be {names}, got {value!r}")
    if f.metadata["choices"] is not None:
        value = choose(f.name.replace("_", " "), value, f.metadata["choices"])
    return value


def _choices(f: dataclasses.Field) -> str:
    return f": {', '.join(f.metadata['choices'])}" if f.metadata["choices"] else ""


# -- TOML files ---------------------------------------------------------------------------------

def load_toml(path: str | Path, what: str = "config file") -> dict:
    """The table of a TOML file; a missing, unreadable or invalid one raises a one-line
    ConfigError naming the file (and calling it `what`: "config file", "sweep spec")."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what} ({error.strerror})") from None


def read_toml(path: str | Path) -> dict:
    """The settings a TOML config file gives; a missing or invalid file, or a key that is not a
    TrainConfig field, raises ConfigError."""
    table = load_toml(path)
    unknown_keys(table, where=f"{path}: ")
    return table


def unknown_keys(table: dict, where: str = "") -> None:
    """Raise for a key that is not a TrainConfig field, suggesting the nearest valid one."""
    valid = [f.name for f in fields(TrainConfig)]
    for key in table:
        choose("config key", key, valid, where=where, aliases=KEY_ALIASES, exact=True,
               listing="every key: scratchnn train --print-config")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- command-line flags -------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting: --batch-size N for batch_size, --augment/--no-augment for a bool;
    every flag defaults to None (unset), and the help shows the setting's default."""
    for f in fields(TrainConfig):
        if not f.metadata["flag"]:
            continue
        flag = "--" + f.name.replace("_", "-")
        kinds = _kinds(f.name)
        help = f"{f.metadata['help']}{_choices(f)} (default: {_default(f)})".replace("%", "%%")
        if kinds == (bool,):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=help)
        else:
            parser.add_argument(flag, type=_parser_of(kinds, f.metadata["metavar"]),
                                metavar=f.metadata["metavar"], help=help)


def from_arguments(args: argparse.Namespace) -> dict:
    """The settings the flags of add_arguments gave (None where a flag was not used)."""
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.metadata["flag"]}


def resumable(name: str) -> bool:
    """Whether --resume accepts the setting `name` (it does not change what the run computes)."""
    return any(f.name == name and f.metadata["resumable"] for f in fields(TrainConfig))


def _default(f: dataclasses.Field) -> str:
    """A setting's default in words: `unset` for None or "", "on"/"off" for a bool."""
    default = f.default
    if default is None or default == "":
        return f.metadata["unset"]
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"{default:g}" if isinstance(default, float) else str(default)


def _parser_of(kinds: tuple[type, ...], metavar: str | None) -> Callable[[str], object]:
    if kinds == (tuple,):
        example = {"H,W": "28,28", "N,N": "512,256"}.get(metavar, metavar)

        def integers(text: str) -> tuple[int, ...]:
            try:       # 512,256 or 512 256; an image size also as 28x28
                separators = text.replace(",", " ").replace("x", " ").replace("X", " ")
                return tuple(int(part) for part in separators.split())
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected integers like {example}, got {text!r}") from None
        return integers
    if kinds == (str, float):
        def name_or_number(text: str) -> str | float:
            try:
                return float(text)
            except ValueError:
                return text
        return name_or_number
    return kinds[0]
