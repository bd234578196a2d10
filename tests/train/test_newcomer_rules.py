"""The rules of issue 17 one by one, in process (the CLI replay is tests/test_newcomer_session.py):
names ignore case and suggest, a finite loss explosion is divergence, an existing run is never
replaced without --overwrite, the report says what each figure measures."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.errors import ConfigError, DivergenceError
from scratchnn.names import choose
from scratchnn.train.callbacks import LossExplosion
from scratchnn.train.config import TrainConfig, read_toml
from scratchnn.train.run import check_new_run_directory


def test_names_ignore_case_and_suggest_in_one_format():
    assert choose("optimizer", "ADAM", ["adam", "sgd"]) == "adam"
    with pytest.raises(ConfigError, match=r"unknown optimizer 'adma' \(did you mean 'adam'\?\); "
                                          r"valid: adam, sgd$"):
        choose("optimizer", "adma", ["adam", "sgd"])
    assert TrainConfig(model="MLP", optimizer="Adam", schedule="COSINE").optimizer == "adam"


def test_config_keys_are_exact_and_known_aliases_are_suggested(tmp_path):
    for text, suggestion in (("learning_rate = 0.1", "lr"), ("LR = 0.1", "lr"),
                             ("num_epochs = 3", "epochs"), ("batchsize = 3", "batch_size")):
        (tmp_path / "c.toml").write_text(text + "\n")
        with pytest.raises(ConfigError, match=f"did you mean '{suggestion}'"):
            read_toml(tmp_path / "c.toml")


def test_absurd_settings_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match="would never finish"):
        TrainConfig(epochs=10**12)
    with pytest.raises(ConfigError, match="n_train must be a positive integer"):
        TrainConfig(n_train=0)


def _trainer(lr: float, rng) -> snn.Trainer:
    model = snn.Sequential(snn.layers.Linear(4, 16, rng=rng), snn.layers.ReLU(),
                           snn.layers.Linear(16, 3, rng=rng))
    return snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                       snn.optim.SGD(model.parameters(), lr=lr), batch_size=8,
                       callbacks=[LossExplosion()])


def test_a_finite_loss_explosion_stops_as_divergence(rng):
    x, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    with pytest.raises(DivergenceError, match=r"the loss reached .* over 1000x its first value"):
        _trainer(1e4, rng).fit(x, y, epochs=5)
    history = _trainer(0.05, rng).fit(x, y, epochs=5)             # a sane rate trains on
    assert len(history) == 5


def test_an_existing_run_or_other_files_are_never_replaced(tmp_path):
    check_new_run_directory(tmp_path / "new")                      # nothing there: fine
    (tmp_path / "empty").mkdir()
    check_new_run_directory(tmp_path / "empty")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text('dataset = "digits"\nmodel = "mlp"\n')
    with pytest.raises(ConfigError, match="already holds an unfinished run .* --resume .* "
                                          "--overwrite"):
        check_new_run_directory(run)
    check_new_run_directory(run, overwrite=True)
    (run / "thesis.tex").write_text("mine")
    with pytest.raises(ConfigError, match=r"not a run's \(thesis.tex\)"):
        check_new_run_directory(run, overwrite=True)
    with pytest.raises(ConfigError, match="a file, not a directory"):
        check_new_run_directory(run / "thesis.tex")
