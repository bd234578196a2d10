"""compat.Solver trains through scratchnn's Trainer: its steps are the Trainer's, the Trainer's
divergence guard stops it, and it prints only through its verbose callback."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import compat
from scratchnn.errors import DivergenceError
from scratchnn.train import Trainer


class Softmax:
    """A linear softmax classifier written the course's way: params dict, loss -> grads."""

    def __init__(self, dim: int, classes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((dim, classes)), "b": np.zeros(classes)}

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        n = len(X)
        loss = -np.log(probs[np.arange(n), y]).mean()
        probs[np.arange(n), y] -= 1
        return loss, {"W": X.T @ probs / n, "b": probs.sum(axis=0) / n}


@pytest.fixture
def data(rng):
    centres = 3 * rng.standard_normal((3, 4))
    y = rng.integers(0, 3, 120)
    x = centres[y] + rng.standard_normal((120, 4))
    return {"X_train": x[:90], "y_train": y[:90], "X_val": x[90:], "y_val": y[90:]}


def test_every_solver_step_is_a_trainer_step(data, monkeypatch):
    steps = []
    original = Trainer.train_step

    def spy(self, x, y):
        steps.append(len(x))
        return original(self, x, y)

    monkeypatch.setattr(Trainer, "train_step", spy)
    solver = compat.Solver(Softmax(4, 3), data, batch_size=20, num_epochs=3, verbose=False,
                           optim_config={"learning_rate": 0.5})
    solver.train()
    assert steps == [20] * 12 and len(solver.loss_history) == 12       # 90 // 20 per epoch
    assert solver.best_val_acc > 0.8


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_the_trainers_guard_stops_a_diverging_solver(data):
    data = dict(data, X_train=data["X_train"] * 1e200)           # scores overflow at once
    model = Softmax(4, 3)
    before = {k: v.copy() for k, v in model.params.items()}
    solver = compat.Solver(model, data, batch_size=20, num_epochs=2, verbose=False)
    with pytest.raises(DivergenceError, match="diverged at step 1"):
        solver.train()
    assert all(np.array_equal(model.params[k], before[k]) for k in before)   # no update made


def test_the_solver_prints_only_when_verbose(data, capsys):
    for verbose in (False, True):
        compat.Solver(Softmax(4, 3), data, batch_size=20, num_epochs=2, print_every=3,
                      verbose=verbose, optim_config={"learning_rate": 0.5}).train()
        printed = capsys.readouterr().out.splitlines()
        if not verbose:
            assert printed == []
    assert [line.split(")")[0] for line in printed] == [
        "(Iteration 1 / 8", "(Epoch 0 / 2", "(Iteration 4 / 8", "(Epoch 1 / 2",
        "(Iteration 7 / 8", "(Epoch 2 / 2"]
