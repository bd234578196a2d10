"""A sweep's SPEC.toml: the base training config, the search space and the search settings.

    [train]                   # the same keys as `scratchnn train --config` (fixed values)
    dataset = "digits"
    epochs = 3

    [sweep]                   # all optional
    trials = 16
    sampler = "tpe"           # tpe | random | grid
    seed = 0                  # the sampler's seed
    pruner = "median"         # median | halving | none
    startup_trials = 5        # median: trials that run to the end before any is pruned

    [space]                   # one entry per TrainConfig key searched
    lr = { type = "loguniform", low = 1e-4, high = 1e-1 }
    dropout = { type = "uniform", low = 0.0, high = 0.5 }
    batch_size = { type = "int", low = 32, high = 256, log = true }
    hidden_sizes = { type = "choice", values = [[100], [200, 100]] }
    optimizer = { type = "fixed", value = "adam" }

Every mistake (an unknown key or type, an empty range, a value TrainConfig refuses) raises a
one-line ConfigError naming the entry. Reading needs neither Optuna nor Dask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from scratchnn.errors import ConfigError
from scratchnn.names import choose
from scratchnn.train.config import TrainConfig, load_toml, unknown_keys

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
# Each parameter type and the keys it takes (required, optional).
TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "loguniform": (("low", "high"), ()),
    "uniform": (("low", "high"), ()),
    "int": (("low", "high"), ("log", "step")),
    "choice": (("values",), ()),
    "fixed": (("value",), ()),
}
SWEEP_KEYS = ("trials", "sampler", "seed", "pruner", "startup_trials")
DEFAULT_TRIALS = 20


@dataclass(frozen=True)
class Param:
    """One searched setting: `kind` is a key of TYPES; `values` the choices (or [value])."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: int = 1
    values: tuple = ()

    def grid(self) -> list:
        """Every value a grid search visits (choices, fixed values and integer ranges)."""
        if self.kind in ("choice", "fixed"):
            return list(self.values)
        if self.kind == "int" and not self.log:
            return list(range(self.low, self.high + 1, self.step))
        raise ConfigError(f"space.{self.name}: the grid sampler needs a list of values; use "
                          f"type = \"choice\" (not {self.kind!r}{' with log' if self.log else ''})")


@dataclass(frozen=True)
class SweepSpec:
    """The parsed SPEC: `base` the [train] table, `space` the searched settings."""

    base: dict = field(default_factory=dict)
    space: tuple[Param, ...] = ()
    trials: int = DEFAULT_TRIALS
    sampler: str = "tpe"
    seed: int = 0
    pruner: str = "median"
    startup_trials: int = 5

    def config(self, params: dict) -> TrainConfig:
        """The TrainConfig of one trial: the base settings with `params` applied."""
        return TrainConfig.from_table({**self.base, **params})

    def grid_size(self) -> int:
        return math.prod(len(p.grid()) for p in self.space)


def read_spec(path: str | Path) -> SweepSpec:
    """Read and check a SPEC.toml; a ConfigError names the file and the entry at fault."""
    table = load_toml(path, "sweep spec")
    try:
        return spec_from_table(table)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def spec_from_table(table: dict) -> SweepSpec:
    """The SweepSpec of a TOML table with [train], [sweep] and [space]."""
    _only(table, ("train", "sweep", "space"), "section")
    base = _table(table, "train")
    unknown_keys(base, where="[train]: ")
    if "out" in base:
        raise ConfigError("[train]: out is chosen by the sweep (DIR/trials/NNN); use --out DIR")
    settings = _table(table, "sweep")
    _only(settings, SWEEP_KEYS, "[sweep] key")
    space = tuple(_param(name, entry) for name, entry in _table(table, "space").items())
    if not space:
        raise ConfigError("[space] is empty: give at least one setting to search")
    spec = SweepSpec(base=base, space=space, **settings)
    _check_settings(spec)
    _check_values(spec)
    return spec


def _param(name: str, entry) -> Param:
    unknown_keys({name: None}, where="[space]: ")
    if name == "out":
        raise ConfigError("[space]: out is chosen by the sweep, not searched")
    where = f"space.{name}"
    if not isinstance(entry, dict) or "type" not in entry:
        raise ConfigError(f"{where}: expected a table like {{ type = \"loguniform\", low = 1e-4, "
                          f"high = 1e-1 }}, got {entry!r}")
    kind = entry["type"]
    choose("parameter type", kind, TYPES, where=f"{where}: ", exact=True)
    required, optional = TYPES[kind]
    _only({k: v for k, v in entry.items() if k != "type"}, required + optional, f"{where} key")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ConfigError(f"{where}: type {kind!r} needs {' and '.join(required)}")
    if kind == "choice":
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: values must be a non-empty list, got {values!r}")
        return Param(name, kind, values=tuple(_frozen(v) for v in values))
    if kind == "fixed":
        return Param(name, kind, values=(_frozen(entry["value"]),))
    return _range(where, Param(name, kind, entry["low"], entry["high"],
                               entry.get("log", False), entry.get("step", 1)))


def _range(where: str, param: Param) -> Param:
    number = int if param.kind == "int" else (int, float)
    for key in ("low", "high"):
        value = getattr(param, key)
        if not isinstance(value, number) or isinstance(value, bool) or not math.isfinite(value):
            what = "an integer" if number is int else "a number"
            raise ConfigError(f"{where}: {key} must be {what}, got {value!r}")
    if not isinstance(param.log, bool) or type(param.step) is not int or param.step < 1:
        raise ConfigError(f"{where}: log must be true or false and step a positive integer")
    if param.kind == "int" and param.log and param.step != 1:
        raise ConfigError(f"{where}: a log-scale integer range takes no step")
    if param.kind == "int" and (param.high - param.low) % param.step:
        raise ConfigError(f"{where}: high - low must be a multiple of step {param.step}")
    empty = param.low > param.high if param.kind == "int" else param.low >= param.high
    if empty:
        raise ConfigError(f"{where}: empty range: low {param.low} must be "
                          f"{'<=' if param.kind == 'int' else '<'} high {param.high}")
    if (param.kind == "loguniform" or param.log) and param.low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {param.low}")
    if param.kind == "int":
        return param
    return Param(param.name, param.kind, float(param.low), float(param.high))


def _check_settings(spec: SweepSpec) -> None:
    if type(spec.trials) is not int or spec.trials < 1:
        raise ConfigError(f"[sweep]: trials must be a positive integer, got {spec.trials!r}")
    for key in ("seed", "startup_trials"):
        value = getattr(spec, key)
        if type(value) is not int or value < 0:
            raise ConfigError(f"[sweep]: {key} must be an integer >= 0, got {value!r}")
    for key, valid in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        value = getattr(spec, key)
        choose(key, value, valid, where="[sweep]: ", exact=True)
    if spec.sampler == "grid":
        for param in spec.space:
            param.grid()


def _check_values(spec: SweepSpec) -> None:
    """Every bound and choice must be a value TrainConfig accepts for its key."""
    for name in spec.base:
        if name in {p.name for p in spec.space}:
            raise ConfigError(f"{name} is both fixed in [train] and searched in [space]")
    try:
        base = spec.config({})
    except ConfigError as error:
        raise ConfigError(f"[train]: {error}") from None
    if base.val_fraction == 0 and base.n_val is None:
        raise ConfigError("[train]: a sweep ranks trials by validation accuracy: set "
                          "val_fraction > 0 or n_val")
    for param in spec.space:
        samples = param.values or (param.low, param.high)
        for value in samples:
            try:
                spec.config({param.name: value})
            except ConfigError as error:
                raise ConfigError(f"space.{param.name}: {error}") from None


def _table(table: dict, key: str) -> dict:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table [{key}], got {value!r}")
    return value


def _only(table: dict, valid: tuple[str, ...], what: str) -> None:
    for key in table:
        choose(what, key, valid, exact=True)


def _frozen(value):
    """TOML arrays as tuples, so that choices are hashable and compare by value."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value

