"""SPEC.toml parsing: every mistake is one ConfigError line naming the entry, and the CLI turns
it into exit 2; the examples are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchnn.cli import main
from scratchnn.errors import ConfigError
from scratchnn.sweep.spec import read_spec, spec_from_table

ROOT = Path(__file__).resolve().parents[2]
BASE = {"dataset": "digits", "epochs": 1}
LR = {"type": "loguniform", "low": 1e-4, "high": 1e-1}


def parse(space=None, sweep=None, train=None, **sections):
    table = {"train": BASE if train is None else train,
             "space": {"lr": LR} if space is None else space, **sections}
    if sweep is not None:
        table["sweep"] = sweep
    return spec_from_table(table)


def test_a_full_spec_is_read():
    spec = parse(space={
        "lr": LR, "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        "batch_size": {"type": "int", "low": 16, "high": 128, "log": True},
        "hidden_sizes": {"type": "choice", "values": [[64], [128, 64]]},
        "optimizer": {"type": "fixed", "value": "sgd"}},
        sweep={"trials": 7, "sampler": "random", "seed": 3, "pruner": "halving"})
    assert (spec.trials, spec.sampler, spec.seed, spec.pruner) == (7, "random", 3, "halving")
    kinds = {p.name: p.kind for p in spec.space}
    assert kinds == {"lr": "loguniform", "dropout": "uniform", "batch_size": "int",
                     "hidden_sizes": "choice", "optimizer": "fixed"}
    hidden = next(p for p in spec.space if p.name == "hidden_sizes")
    assert hidden.values == ((64,), (128, 64))
    assert spec.config({"lr": 0.01, "hidden_sizes": (64,)}).hidden_sizes == (64,)


@pytest.mark.parametrize("space, sweep, message", [
    ({"lrr": LR}, None, "[space]: unknown config key 'lrr'"),
    ({"lr": {"type": "logunif", "low": 1e-4, "high": 1}}, None,
     "space.lr: unknown parameter type 'logunif' (did you mean 'loguniform'?)"),
    ({"lr": {"type": "uniform", "low": 0.1, "high": 0.1}}, None, "space.lr: empty range"),
    ({"epochs": {"type": "int", "low": 5, "high": 2}}, None, "space.epochs: empty range"),
    ({"lr": {"type": "loguniform", "low": 0.0, "high": 1}}, None, "a log scale needs low > 0"),
    ({"lr": {"type": "uniform", "low": "a", "high": 1}}, None, "low must be a number"),
    ({"lr": {"type": "uniform", "low": 0.1}}, None, "type 'uniform' needs low and high"),
    ({"lr": {"type": "uniform", "low": 0.1, "high": 1, "step": 2}}, None,
     "unknown space.lr key 'step'"),
    ({"hidden_sizes": {"type": "choice", "values": []}}, None, "values must be a non-empty"),
    ({"batch_size": {"type": "int", "low": 48, "high": 64, "step": 32}}, None,
     "high - low must be a multiple of step 32"),
    ({"lr": 0.1}, None, "space.lr: expected a table"),
    ({"lr": {"type": "uniform", "low": -1.0, "high": 1.0}}, None,
     "space.lr: lr must be a positive number"),
    ({"optimizer": {"type": "choice", "values": ["sgd", 3]}}, None, "space.optimizer"),
    ({}, None, "[space] is empty"),
    (None, {"sampler": "bayes"}, "unknown sampler 'bayes'"),
    (None, {"pruner": "hyperband"}, "unknown pruner 'hyperband'"),
    (None, {"trials": 0}, "trials must be a positive integer"),
    (None, {"trails": 3}, "unknown [sweep] key 'trails' (did you mean 'trials'?)"),
    (None, {"sampler": "grid"}, "the grid sampler needs a list of values"),
])
def test_each_mistake_is_one_clear_line(space, sweep, message):
    with pytest.raises(ConfigError) as error:
        parse(space=space, sweep=sweep)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_train_section_mistakes():
    with pytest.raises(ConfigError, match=r"\[train\]: unknown config key 'epoch'"):
        parse(train={"epoch": 3})
    with pytest.raises(ConfigError, match="lr is both fixed in"):
        parse(train={"lr": 0.1})
    with pytest.raises(ConfigError, match="out is chosen by the sweep"):
        parse(train={"out": "x"})
    with pytest.raises(ConfigError, match="validation accuracy: set val_fraction > 0 or n_val"):
        parse(train={"val_fraction": 0.0})
    with pytest.raises(ConfigError, match="unknown section 'serach'"):
        parse(serach={})


def test_grid_size_counts_choices_and_integer_ranges():
    spec = parse(space={"batch_size": {"type": "int", "low": 1, "high": 3},
                        "lr": {"type": "choice", "values": [0.1, 0.01]}},
                 sweep={"sampler": "grid"})
    assert spec.grid_size() == 6


@pytest.mark.parametrize("name", ["cs231n_two_layer", "dlfs_lr_decay"])
def test_the_examples_are_valid(name):
    spec = read_spec(ROOT / "examples" / "sweeps" / f"{name}.toml")
    assert {"lr", "l2_reg"} <= {p.name for p in spec.space}


def test_the_cli_says_what_is_wrong_in_one_line_and_exits_2(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[train]\ndataset = "digits"\n[space]\nlr = { type = "gauss", mean = 1 }\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "space.lr: unknown parameter type 'gauss'" in err
    assert not (tmp_path / "out").exists()          # nothing created for a bad SPEC
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "sweep spec not found" in capsys.readouterr().err


def test_resume_of_a_directory_that_is_not_a_sweep_exits_2(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: not a sweep directory" in err and err.count("\n") == 1


def test_without_the_extras_the_cli_says_how_to_install_them(monkeypatch, tmp_path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    assert main(["sweep", str(tmp_path / "x.toml")]) == 2
    assert "needs optuna: pip install 'scratchnn[sweep]'" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_named_with_how_to_start_one(monkeypatch, write_spec,
                                                                 tmp_path, capsys):
    import socket

    from scratchnn.sweep import cluster

    with socket.socket() as s:                      # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    spec = write_spec("trials = 1", f"lr = {LR_TOML}")
    assert main(["sweep", str(spec), "--scheduler", address, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert "`dask scheduler`" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


LR_TOML = '{ type = "loguniform", low = 1e-3, high = 1e-1 }'
