"""The search space in Optuna's terms: a trial's parameters, the sampler and the pruner.

    sampler = make_sampler(spec, number)     # a fresh sampler for trial `number`
    params = suggest(trial, spec.space)      # {TrainConfig key: value}, fixed values included

A random or TPE sampler is seeded from (spec.seed, trial number), so trial N draws the same
parameters however many workers run and whether or not the sweep was resumed in between. The
grid sampler keeps spec.seed: its shuffled grid must be the same for every trial.
"""

from __future__ import annotations

import json

import numpy as np
import optuna

from scratchnn.sweep.spec import Param, SweepSpec


def searched(space: tuple[Param, ...]) -> tuple[Param, ...]:
    """The parameters Optuna chooses (fixed values are not its business)."""
    return tuple(p for p in space if p.kind != "fixed")


def suggest(trial: optuna.Trial, space: tuple[Param, ...]) -> dict:
    """Ask `trial` for every parameter -> {TrainConfig key: value}."""
    for p in searched(space):
        if p.kind == "choice":
            trial.suggest_categorical(p.name, [label(v) for v in p.values])
        elif p.kind == "int":
            trial.suggest_int(p.name, p.low, p.high, step=p.step, log=p.log)
        else:
            trial.suggest_float(p.name, p.low, p.high, log=p.kind == "loguniform")
    return decode(space, trial.params)


def decode(space: tuple[Param, ...], params: dict) -> dict:
    """Optuna's parameter values (choice labels) -> the TrainConfig values, fixed ones added."""
    values = {}
    for p in space:
        if p.kind == "fixed":
            values[p.name] = p.values[0]
        elif p.kind == "choice":
            values[p.name] = {label(v): v for v in p.values}[params[p.name]]
        else:
            values[p.name] = params[p.name]
    return values


def label(value):
    """A choice as Optuna stores it: scalars as they are, lists ([256, 128]) as JSON text."""
    return json.dumps(value) if isinstance(value, tuple) else value


def make_sampler(spec: SweepSpec, number: int) -> optuna.samplers.BaseSampler:
    if spec.sampler == "grid":
        grid = {p.name: [label(v) for v in p.grid()] for p in searched(spec.space)}
        return Grid(grid, seed=spec.seed)
    seed = int(np.random.SeedSequence([spec.seed, number]).generate_state(1)[0])
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def make_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    """median: stop a trial whose validation accuracy is below the median of earlier trials at
    the same epoch (after spec.startup_trials finished); halving: successive halving
    (arxiv.org/abs/1810.05934); none: never."""
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials)
    if spec.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


class Grid(optuna.samplers.GridSampler):
    """Optuna's grid sampler (trial N gets point N of the grid shuffled by the seed), without
    its study.stop() after the last point: the driver counts trials itself, and stop() works
    only inside study.optimize."""

    def after_trial(self, study, trial, state, values) -> None:
        pass
