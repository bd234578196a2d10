"""TrainConfig declares each setting once: the `train` flags, the TOML keys and their type
checks, the help with every default and `--print-config` all come from its fields."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from scratchnn.cli import _parser, main
from scratchnn.cli_train import _train_config
from scratchnn.errors import ConfigError
from scratchnn.train import config as settings
from scratchnn.train.config import TrainConfig

# Every flag `scratchnn train` had before the settings were generated (DESIGN.md pins the CLI).
FLAGS = ["--config", "--dataset", "--model", "--optimizer", "--lr", "--epochs", "--batch-size",
         "--seed", "--out", "--schedule", "--val-fraction", "--hidden-sizes", "--activation",
         "--dropout", "--batchnorm", "--no-batchnorm", "--weight-decay", "--augment",
         "--no-augment", "--crop-padding", "--flip", "--no-flip", "--preprocess", "--n-train",
         "--n-val", "--n-test", "--image-size", "--label-column", "--no-progress", "--resume",
         "--checkpoint-every", "--skip-nonfinite", "--l2-reg"]


def train_actions() -> dict:
    commands = next(a for a in _parser()._actions if a.dest == "command")
    train = commands.choices["train"]
    train.parse_known_args([])                   # its options are filled in when it is used
    return {flag: action for action in train._actions for flag in action.option_strings}


def test_every_old_flag_still_exists():
    assert set(FLAGS) <= set(train_actions())


def test_each_setting_has_one_flag_whose_help_shows_its_default():
    actions = train_actions()
    for f in dataclasses.fields(TrainConfig):
        action = actions["--" + f.name.replace("_", "-")]
        assert action.dest == f.name
        assert f.metadata["help"] in action.help and "(default: " in action.help, f.name
    assert "(default: 128)" in actions["--batch-size"].help
    assert "(default: adam)" in actions["--optimizer"].help
    assert "adamw 0.01" in actions["--weight-decay"].help


@pytest.mark.parametrize("table, message", [
    ({"epochs": "3"}, "config key 'epochs' must be int, got '3'"),
    ({"lr": True}, "config key 'lr' must be float, got True"),
    ({"batchnorm": 1}, "config key 'batchnorm' must be bool, got 1"),
    ({"hidden_sizes": [1.5]}, "config key 'hidden_sizes' must be a list of integers"),
    ({"weight_init": [1]}, "config key 'weight_init' must be str or float"),
    ({"schedule": "cosin"}, "unknown schedule 'cosin' (did you mean 'cosine'?)"),
    ({"activation": "rleu"}, "unknown activation 'rleu' (did you mean 'relu'?)"),
    ({"l2_reg": -1.0}, "l2_reg must be >= 0"),
    ({"batchsize": 3}, "unknown config key 'batchsize' (did you mean 'batch_size'?)"),
])
def test_toml_values_are_checked_against_the_declared_types(table, message):
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_table(table, where="run.toml")
    assert str(error.value).startswith("run.toml: ") and message in str(error.value)


def test_lists_become_tuples_and_ints_are_accepted_for_floats():
    config = TrainConfig.from_table({"hidden_sizes": [4, 5], "lr": 1, "image_size": [8, 9]})
    assert config.hidden_sizes == (4, 5) and config.image_size == (8, 9) and config.lr == 1


def test_print_config_is_a_complete_commented_toml_file_that_loads_back(capsys, tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--print-config", "--dataset", "digits", "--hidden-sizes", "16,8",
                   "--optimizer", "adamw", "--weight-decay", "0.1"])
    text = capsys.readouterr().out
    assert status == 0
    for f in dataclasses.fields(TrainConfig):
        assert f"\n{f.name} = " in text or f"\n# {f.name} =" in text, f.name
    table = tomllib.loads(text)
    assert TrainConfig.from_table(table) == TrainConfig(
        dataset="digits", hidden_sizes=(16, 8), optimizer="adamw", weight_decay=0.1)
    assert not any(tmp_path.iterdir())                # nothing trained, no runs/ folder


def test_flags_override_the_config_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('dataset = "digits"\nepochs = 3\nl2_reg = 0.5\n')
    args = _parser().parse_args(["train", "--config", str(path), "--epochs", "4"])
    config = _train_config(args)
    assert (config.dataset, config.epochs, config.l2_reg) == ("digits", 4, 0.5)


def test_resume_takes_only_the_settings_that_change_nothing_computed(capsys, tmp_path):
    assert [f.name for f in dataclasses.fields(TrainConfig) if settings.resumable(f.name)] == [
        "checkpoint_every", "skip_nonfinite"]
    config = tmp_path / "c.toml"
    config.write_text('dataset = "digits"\n')
    status = main(["train", "--resume", str(tmp_path), "--config", str(config)])
    err = capsys.readouterr().err
    assert status == 2 and "drop --config" in err


def test_unreadable_config_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.toml").write_text("epochs = = 3\n")
    for path, message in ((tmp_path / "none.toml", "config file not found"),
                          (tmp_path / "bad.toml", "invalid TOML"),
                          (tmp_path, "cannot read the config file")):
        with pytest.raises(ConfigError, match=message):
            settings.read_toml(path)
