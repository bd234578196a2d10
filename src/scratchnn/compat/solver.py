"""CS231n's Solver: trains any model that follows the course's model protocol.

    model.params                  dict name -> ndarray, updated by the solver
    model.loss(X)                 -> scores (N, C)                  (test time)
    model.loss(X, y)              -> (loss, grads), grads keyed like params

    solver = Solver(model, {"X_train": ..., "y_train": ..., "X_val": ..., "y_val": ...},
                    update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=100, print_every=100, seed=0)
    solver.train()                # afterwards model.params holds the best-validation weights
    solver.loss_history, solver.train_acc_history, solver.val_acc_history

Two differences from the course's file, both on purpose: randomness comes from an explicit
generator (`seed=` or `rng=`), never from NumPy's global state; and by default each epoch visits
every training sample once in a fresh order. `sampling="replacement"` draws each batch with
replacement, as the original does; with `rng=np.random.RandomState(s)` it reproduces the
original's batches after `np.random.seed(s)` exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn.compat.cs231n_optim import UPDATE_RULES
from scratchnn.errors import ConfigError

UpdateRule = Callable[[np.ndarray, np.ndarray, dict], tuple[np.ndarray, dict]]


class Solver:
    """Mini-batch training of a CS231n-style model with one of the update rules (or your own)."""

    def __init__(self, model, data: dict[str, np.ndarray], *, update_rule: str | UpdateRule = "sgd",
                 optim_config: dict | None = None, lr_decay: float = 1.0, batch_size: int = 100,
                 num_epochs: int = 10, num_train_samples: int | None = 1000,
                 num_val_samples: int | None = None, print_every: int = 10, verbose: bool = True,
                 sampling: str = "epoch", seed: int = 0,
                 rng: np.random.Generator | np.random.RandomState | None = None) -> None:
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ConfigError(f"Solver data is missing {', '.join(missing)}")
        if isinstance(update_rule, str):
            if update_rule not in UPDATE_RULES:
                raise ConfigError(f"unknown update rule {update_rule!r}; "
                                  f"expected one of {sorted(UPDATE_RULES)} or a function")
            update_rule = UPDATE_RULES[update_rule]
        if sampling not in ("epoch", "replacement"):
            raise ConfigError(f"sampling must be 'epoch' or 'replacement', got {sampling!r}")
        if batch_size <= 0 or num_epochs <= 0:
            raise ConfigError("batch_size and num_epochs must be positive")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = update_rule
        self.optim_config = dict(optim_config or {})
        self.lr_decay, self.batch_size, self.num_epochs = lr_decay, batch_size, num_epochs
        self.num_train_samples, self.num_val_samples = num_train_samples, num_val_samples
        self.print_every, self.verbose, self.sampling = print_every, verbose, sampling
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self._reset()

    def _reset(self) -> None:
        """Book-keeping for a fresh run; every parameter gets its own copy of optim_config."""
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params: dict[str, np.ndarray] = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}
        self._order = np.empty(0, dtype=np.intp)

    def _batch_indices(self) -> np.ndarray:
        n = self.X_train.shape[0]
        if self.sampling == "replacement":
            return self.rng.choice(n, self.batch_size)
        if len(self._order) < self.batch_size:      # a new epoch: a fresh permutation
            self._order = self.rng.permutation(n)
        batch, self._order = self._order[:self.batch_size], self._order[self.batch_size:]
        return batch

    def _step(self) -> None:
        """One gradient step on one mini-batch (the loss goes into loss_history)."""
        batch = self._batch_indices()
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name],
                                                                self.optim_configs[name])
            self.model.params[name] = next_w

    def check_accuracy(self, X: np.ndarray, y: np.ndarray, num_samples: int | None = None,
                       batch_size: int = 100) -> float:
        """Accuracy of the model on (X, y), on a random subsample of num_samples if given."""
        n = X.shape[0]
        if num_samples is not None and n > num_samples:
            keep = self.rng.choice(n, num_samples)
            X, y, n = X[keep], y[keep], num_samples
        predictions = [np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                       for start in range(0, n, batch_size)]
        return float(np.mean(np.concatenate(predictions) == y))

    def train(self) -> None:
        """Run the optimisation; at the end model.params holds the best-validation weights."""
        n = self.X_train.shape[0]
        iterations_per_epoch = max(n // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if "learning_rate" not in config:
                        raise ConfigError("the update rule left no config['learning_rate'] for "
                                          "lr_decay to decay")
                    config["learning_rate"] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train,
                                                num_samples=self.num_train_samples)
                val_acc = self.check_accuracy(self.X_val, self.y_val,
                                              num_samples=self.num_val_samples)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                if self.verbose:
                    print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                          f"val_acc: {val_acc:f}")
                if val_acc > self.best_val_acc:
                    self.best_val_acc = val_acc
                    self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        if self.best_params:                    # (never empty unless val accuracy stayed 0)
            self.model.params = self.best_params
