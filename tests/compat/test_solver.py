"""compat.Solver: a CS231n-style model trained the classic way, against the course's semantics."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import compat
from scratchnn.errors import ConfigError


class ClassicTwoLayerNet:
    """affine - relu - affine - softmax, written the course's way: params dict, loss -> grads."""

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-2, reg=1e-3, seed=0):
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.params = {"W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
                       "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
                       "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden = np.maximum(0, X @ W1 + b1)
        scores = hidden @ W2 + b2
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = X.shape[0]
        loss = -log_probs[np.arange(n), y].mean()
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = np.exp(log_probs)
        dscores[np.arange(n), y] -= 1
        dscores /= n
        dhidden = (dscores @ W2.T) * (hidden > 0)
        grads = {"W2": hidden.T @ dscores + self.reg * W2, "b2": dscores.sum(axis=0),
                 "W1": X.T @ dhidden + self.reg * W1, "b1": dhidden.sum(axis=0)}
        return loss, grads


def blobs(rng, n, classes=3, dim=5):
    """Gaussian clusters, one per class: learnable, far from trivial at the start."""
    centres = 2 * rng.standard_normal((classes, dim))
    y = rng.integers(0, classes, n)
    return centres[y] + rng.standard_normal((n, dim)), y


@pytest.fixture
def data(rng):
    X_train, y_train = blobs(np.random.default_rng(1), 230)
    X_val, y_val = blobs(np.random.default_rng(1), 330)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val[230:], "y_val": y_val[230:]}


def original_solver(model, data, update_rule, optim_config, lr_decay, batch_size, num_epochs,
                    num_train_samples, seed):
    """The course's Solver.train, transcribed: global RNG, batches drawn with replacement."""
    np.random.seed(seed)
    configs = {p: dict(optim_config) for p in model.params}
    loss_history, train_acc_history, val_acc_history = [], [], []
    best_val_acc, best_params = 0, {}

    def check_accuracy(X, y, num_samples=None, batch_size=100):
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N, X, y = num_samples, X[mask], y[mask]
        num_batches = N // batch_size + (N % batch_size != 0)
        y_pred = [np.argmax(model.loss(X[i * batch_size:(i + 1) * batch_size]), axis=1)
                  for i in range(num_batches)]
        return np.mean(np.hstack(y_pred) == y)

    num_train = data["X_train"].shape[0]
    iterations_per_epoch = max(num_train // batch_size, 1)
    num_iterations = num_epochs * iterations_per_epoch
    for t in range(num_iterations):
        batch_mask = np.random.choice(num_train, batch_size)
        loss, grads = model.loss(data["X_train"][batch_mask], data["y_train"][batch_mask])
        loss_history.append(loss)
        for p, w in model.params.items():
            model.params[p], configs[p] = update_rule(w, grads[p], configs[p])
        epoch_end = (t + 1) % iterations_per_epoch == 0
        if epoch_end:
            for k in configs:
                configs[k]["learning_rate"] *= lr_decay
        if t == 0 or t == num_iterations - 1 or epoch_end:
            train_acc = check_accuracy(data["X_train"], data["y_train"], num_train_samples)
            val_acc = check_accuracy(data["X_val"], data["y_val"])
            train_acc_history.append(train_acc)
            val_acc_history.append(val_acc)
            if val_acc > best_val_acc:
                best_val_acc = val_acc
                best_params = {k: v.copy() for k, v in model.params.items()}
    model.params = best_params
    return loss_history, train_acc_history, val_acc_history


SETTINGS = {"optim_config": {"learning_rate": 5e-2}, "lr_decay": 0.9, "batch_size": 25,
            "num_epochs": 4, "num_train_samples": 100}


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_same_loss_curve_as_the_original_solver_for_the_same_seed_and_batches(rule, data):
    reference = ClassicTwoLayerNet(5, 20, 3)
    expected = original_solver(reference, data, compat.UPDATE_RULES[rule], seed=7, **SETTINGS)
    model = ClassicTwoLayerNet(5, 20, 3)
    solver = compat.Solver(model, data, update_rule=rule, sampling="replacement",
                           rng=np.random.RandomState(7), verbose=False, **SETTINGS)
    solver.train()
    assert solver.loss_history == expected[0]
    assert solver.train_acc_history == expected[1]
    assert solver.val_acc_history == expected[2]
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], reference.params[name])


def test_by_default_each_epoch_visits_every_training_sample_once(data):
    seen = []

    class Recording(ClassicTwoLayerNet):
        def loss(self, X, y=None):
            if y is not None:
                seen.append(X[:, 0].copy())
            return super().loss(X, y)

    solver = compat.Solver(Recording(5, 20, 3), data, batch_size=23, num_epochs=2, verbose=False)
    solver.train()
    per_epoch = len(data["X_train"]) // 23
    for epoch in range(2):
        firsts = np.concatenate(seen[epoch * per_epoch:(epoch + 1) * per_epoch])
        assert len(np.unique(firsts)) == len(firsts) == 230    # 10 batches of 23, no repeats


def test_the_solver_learns_and_keeps_the_best_validation_weights(data, capsys):
    model = ClassicTwoLayerNet(5, 50, 3)
    solver = compat.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                           num_epochs=8, batch_size=23, print_every=20, seed=3)
    solver.train()
    assert np.mean(solver.loss_history[-10:]) < 0.5 * solver.loss_history[0]
    assert solver.best_val_acc == max(solver.val_acc_history) > 0.8
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    printed = capsys.readouterr().out
    assert "(Iteration 1 / 80) loss:" in printed and "(Epoch 8 / 8) train acc:" in printed


def test_lr_decay_is_applied_once_per_epoch(data):
    solver = compat.Solver(ClassicTwoLayerNet(5, 4, 3), data, optim_config={"learning_rate": 1.0},
                           lr_decay=0.5, batch_size=23, num_epochs=3, verbose=False)
    solver.train()
    assert all(c["learning_rate"] == 0.125 for c in solver.optim_configs.values())


def test_bad_arguments_are_config_errors(data):
    model = ClassicTwoLayerNet(5, 4, 3)
    with pytest.raises(ConfigError, match="unknown update rule 'adamm'"):
        compat.Solver(model, data, update_rule="adamm")
    with pytest.raises(ConfigError, match="missing X_val"):
        compat.Solver(model, {k: v for k, v in data.items() if k != "X_val"})
