"""The divergence guard (the step and the first non-finite layer are named, nothing is updated,
the last good checkpoint is kept, skip_nonfinite skips) and the checks of the Trainer's input."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.layer import Layer
from scratchnn.layers import BatchNorm1d, Dropout, Linear, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.optim import SGD, Adam
from scratchnn.train import Trainer
from scratchnn.train.checkpoint import load_checkpoint


class Poison(Layer):
    """Identity, except at the steps in `forward_at` (NaN output) or `backward_at` (Inf in the
    gradient it passes back). `trainer` tells it the step."""

    def __init__(self, forward_at=(), backward_at=(), scale=1.0):
        super().__init__()
        self.forward_at, self.backward_at, self.scale = forward_at, backward_at, scale
        self.trainer = None

    def _now(self, steps):
        return self.trainer is not None and self.trainer.step + 1 in steps

    def forward(self, x):
        self._cache = True
        if self.training and self._now(self.forward_at):
            x = x.copy()
            x[0, 0] = np.nan
        return x

    def backward(self, dout):
        self._saved()
        dout = dout * np.float32(self.scale)
        if self._now(self.backward_at):
            dout[-1, -1] = np.inf
        return dout


def setup(poison, optimizer=Adam, **kwargs):
    """Linear - BN - Poison - ReLU - Dropout - Linear on 4 features, 3 classes."""
    rng = np.random.default_rng(0)
    model = snn.Sequential(Linear(4, 8, rng=rng), BatchNorm1d(8), poison, ReLU(),
                           Dropout(0.2, rng=rng), Linear(8, 3, rng=rng))
    trainer = Trainer(model, SoftmaxCrossEntropy(), optimizer(model.parameters(), lr=1e-2),
                      batch_size=10, **kwargs)
    poison.trainer = trainer
    x = rng.standard_normal((60, 4)).astype(np.float32)
    return trainer, x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)


def test_a_nan_activation_is_named_with_its_step_and_layer():
    trainer, x, y = setup(Poison(forward_at=[9]))
    with pytest.raises(snn.DivergenceError) as info:
        trainer.fit(x, y, epochs=3)
    message = str(info.value)
    assert "\n" not in message
    assert "step 9 (epoch 2, batch 3)" in message
    assert "the forward output of layer 2 (Poison)" in message
    assert "--skip-nonfinite" in message


def test_a_non_finite_gradient_is_traced_to_the_layer_that_made_it():
    trainer, x, y = setup(Poison(backward_at=[4]))
    with pytest.raises(snn.DivergenceError,
                       match="step 4 .*the input gradient that layer 2 \\(Poison\\) passes back"):
        trainer.fit(x, y, epochs=1)


def test_a_parameter_gradient_is_named():
    """Finite activations and a finite gradient passed back, but x.T @ dout overflows."""
    rng = np.random.default_rng(0)
    model = snn.Sequential(Linear(4, 3, rng=rng), Poison(scale=1e30))
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1))
    x = (1e10 * rng.standard_normal((5, 4))).astype(np.float32)
    with pytest.raises(snn.DivergenceError, match="the gradient of 'weight' in layer 0 "
                                                  "\\(Linear\\) \\(loss"):
        trainer.train_step(x, np.arange(5) % 3)


def test_a_failed_step_changes_nothing():
    """Parameters, optimizer state, batch-norm statistics and the dropout generator are as
    before the step, so the next step is exactly what it would have been."""
    poison = Poison(forward_at=[3])
    trainer, x, y = setup(poison)
    trainer.fit(x[:20], y[:20], epochs=1)                         # steps 1-2
    model, optimizer = trainer.model, trainer.optimizer
    before = ({k: v.copy() for k, v in model.state_dict().items()},
              optimizer.state_dict(), model[4].rng.bit_generator.state)
    with pytest.raises(snn.DivergenceError):
        trainer.train_step(x[20:30], y[20:30])
    after = (model.state_dict(), optimizer.state_dict(), model[4].rng.bit_generator.state)
    for saved, now in zip(before[:2], after[:2], strict=True):
        assert saved.keys() == now.keys()
        assert all(np.array_equal(saved[k], now[k]) for k in saved)
    assert before[2] == after[2]
    assert all(p.grad is None for p in model.parameters())


def test_the_last_good_checkpoint_is_kept_and_named(tmp_path):
    trainer, x, y = setup(Poison(forward_at=[14]), checkpoint_dir=tmp_path, checkpoint_every=4)
    with pytest.raises(snn.DivergenceError, match=f"checkpoint \\(step 12\\) is in {tmp_path}"):
        trainer.fit(x, y, epochs=3)
    found = load_checkpoint(tmp_path)
    assert found.meta["step"] == 12
    assert all(np.isfinite(v).all() for v in found.section("model").values())


def test_skip_nonfinite_skips_the_batch_and_counts_it():
    poison = Poison(forward_at=[3, 8, 9])
    trainer, x, y = setup(poison, skip_nonfinite=True)
    clean, xc, yc = setup(Poison(), skip_nonfinite=True)
    history = trainer.fit(x, y, epochs=2)
    assert history.skipped == [3, 8, 9]
    assert [row["skipped"] for row in history.epochs] == [1, 2]
    assert np.isnan(history.steps[2]) and len(history.steps) == 12
    assert all(np.isfinite(v).all() for v in trainer.model.state_dict().values())
    clean.fit(xc, yc, epochs=2)
    assert history.steps[:2] == clean.history.steps[:2]      # identical until the first skip
    assert history.steps[3] != clean.history.steps[3]


def test_a_sum_that_overflows_is_not_mistaken_for_divergence():
    """The fast check squares and sums each gradient; a huge but finite gradient overflows that
    sum, and the exact check must then let the step go on."""
    trainer, x, y = setup(Poison(scale=1e18), optimizer=SGD)
    loss, _ = trainer.train_step(x[:10], y[:10])
    assert np.isfinite(loss)
    assert all(np.isfinite(p.data).all() for p in trainer.model.parameters())


@pytest.mark.filterwarnings("error")
def test_no_numpy_warnings_escape_a_diverging_step():
    trainer, x, y = setup(Poison(forward_at=[1]))
    with pytest.raises(snn.DivergenceError):
        trainer.fit(x, y, epochs=1)


# -- input checks -------------------------------------------------------------------------------

def small():
    rng = np.random.default_rng(0)
    model = snn.Sequential(Linear(4, 5, rng=rng), ReLU(), Linear(5, 3, rng=rng))
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                      batch_size=4)
    return trainer, rng.standard_normal((10, 4)).astype(np.float32), np.arange(10) % 3


@pytest.mark.parametrize("change, error, message", [
    (lambda x, y: (x, y + 1), snn.DataError, "labels must be class indices in \\[0, 3\\) .* "
                                             "from 1 to 3"),
    (lambda x, y: (x, y - 1), snn.DataError, "from -1 to 1"),
    (lambda x, y: (x, y[:, None]), snn.ShapeError, "\\(10, 1\\).*y.ravel\\(\\)"),
    (lambda x, y: (x, y.astype(np.float32)), snn.ShapeError, "integer class indices"),
    (lambda x, y: (x, np.zeros((10, 5))), snn.ShapeError, "\\(10, 3\\).*got \\(10, 5\\)"),
    (lambda x, y: (x, np.full((10, 3), np.nan)), snn.DataError, "NaN"),
    (lambda x, y: (np.where(np.arange(40).reshape(10, 4) == 29, np.inf, x), y), snn.DataError,
     "NaN or Inf \\(first in sample 7\\)"),
    (lambda x, y: (x[:0], y[:0]), snn.ShapeError, "empty"),
    (lambda x, y: (x, y[:9]), snn.ShapeError, "10 vs 9"),
    (lambda x, y: (x[:, :3], y), snn.ShapeError, "Linear expects input \\(N, 4\\), got \\(1, 3\\)"),
    (lambda x, y: (x[:, 0], y), snn.ShapeError, "\\(N, ...\\) samples"),
    (lambda x, y: (x.astype(str), y), snn.ShapeError, "arrays of numbers"),
])
def test_bad_training_data_is_a_one_line_error_before_any_step(change, error, message):
    trainer, x, y = small()
    x, y = change(x, y)
    with pytest.raises(error, match=message) as info:
        trainer.fit(x, y, epochs=1)
    assert "\n" not in str(info.value)
    assert trainer.step == 0


def test_bad_validation_and_evaluation_data():
    trainer, x, y = small()
    with pytest.raises(snn.DataError, match="validation labels"):
        trainer.fit(x, y, epochs=1, validation=(x, y + 2))
    with pytest.raises(snn.DataError, match="evaluation inputs contain NaN"):
        trainer.evaluate(np.full_like(x, np.nan), y)


def test_one_hot_rows_and_lists_are_accepted():
    trainer, x, y = small()
    trainer.fit(x.tolist(), np.eye(3)[y], epochs=1)
    assert trainer.step == 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch size must be a positive integer, got 0"),
    (dict(batch_size=-3), "got -3"),
    (dict(batch_size=2.5), "got 2.5"),
    (dict(batch_size=True), "got True"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(checkpoint_every=-5), "checkpoint_every"),
])
def test_bad_trainer_settings(kwargs, message):
    trainer, *_ = small()
    with pytest.raises(snn.ConfigError, match=message):
        Trainer(trainer.model, trainer.loss_fn, trainer.optimizer, **kwargs)


@pytest.mark.parametrize("epochs", [0, -1, 1.5, None])
def test_bad_epochs(epochs):
    trainer, x, y = small()
    with pytest.raises(snn.ConfigError, match="epochs must be a positive integer"):
        trainer.fit(x, y, epochs=epochs)
