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

Training runs in scratchnn's Trainer (its step, guard and epoch loop): the course model is seen
through CourseModel and CourseLoss, the update rules through UpdateRules, and the Solver's own
book-keeping and printing are callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from scratchnn.compat.cs231n_optim import UPDATE_RULES
from scratchnn.errors import ConfigError
from scratchnn.layer import Layer
from scratchnn.parameter import Parameter
from scratchnn.train.callbacks import Callback
from scratchnn.train.trainer import Trainer

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
        """Run the optimisation; at the end model.params holds the best-validation weights.

        A step whose loss or gradients are not finite raises DivergenceError (the Trainer's
        guard), with the model as it was before that step."""
        per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        total = self.num_epochs * per_epoch
        model = CourseModel(self.model)
        callbacks: list[Callback] = [SolverBookkeeping(self, per_epoch, total)]
        if self.verbose:
            callbacks.append(SolverPrinter(self, total))

        def batches(x: np.ndarray, y: np.ndarray, epoch: int) -> Iterator:
            for _ in range(per_epoch):       # drawn one at a time: accuracy checks share the rng
                index = self._batch_indices()
                yield x[index], y[index]

        trainer = Trainer(model, CourseLoss(model),
                          UpdateRules(model, self.update_rule, self.optim_configs),
                          batch_size=self.batch_size, preprocess=_as_given, keep_best=False,
                          callbacks=callbacks, batches=batches)
        trainer.fit(self.X_train, self.y_train, self.num_epochs)
        if self.best_params:                    # (never empty unless val accuracy stayed 0)
            self.model.params = self.best_params


class SolverBookkeeping(Callback):
    """What the course's Solver does after each step: record the loss; at the end of an epoch
    decay every learning rate; after the first step, each epoch and the last step measure train
    and validation accuracy and keep the best weights."""

    def __init__(self, solver: Solver, per_epoch: int, total: int) -> None:
        self.solver, self.per_epoch, self.total = solver, per_epoch, total

    def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None:
        solver, t = self.solver, trainer.step - 1
        solver.loss_history.append(loss)
        epoch_end = (t + 1) % self.per_epoch == 0
        if epoch_end:
            solver.epoch += 1
            for config in solver.optim_configs.values():
                if "learning_rate" not in config:
                    raise ConfigError("the update rule left no config['learning_rate'] for "
                                      "lr_decay to decay")
                config["learning_rate"] *= solver.lr_decay
        if t == 0 or t == self.total - 1 or epoch_end:
            train_acc = solver.check_accuracy(solver.X_train, solver.y_train,
                                              num_samples=solver.num_train_samples)
            val_acc = solver.check_accuracy(solver.X_val, solver.y_val,
                                            num_samples=solver.num_val_samples)
            solver.train_acc_history.append(train_acc)
            solver.val_acc_history.append(val_acc)
            if val_acc > solver.best_val_acc:
                solver.best_val_acc = val_acc
                solver.best_params = {k: v.copy() for k, v in solver.model.params.items()}


class SolverPrinter(Callback):
    """The course Solver's output (verbose=True): the loss every print_every iterations, and
    the accuracies each time they are measured."""

    def __init__(self, solver: Solver, total: int) -> None:
        self.solver, self.total, self.shown = solver, total, 0

    def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None:
        solver, t = self.solver, trainer.step - 1
        if t % solver.print_every == 0:
            print(f"(Iteration {t + 1} / {self.total}) loss: {loss:f}")
        if len(solver.val_acc_history) > self.shown:
            self.shown = len(solver.val_acc_history)
            print(f"(Epoch {solver.epoch} / {solver.num_epochs}) train acc: "
                  f"{solver.train_acc_history[-1]:f}; val_acc: {solver.val_acc_history[-1]:f}")


class CourseModel(Layer):
    """A course model (`params` dict; `loss(X)` -> scores; `loss(X, y)` -> (loss, grads)) as a
    Layer for the Trainer, with a Parameter on each array of `params`.

    In eval mode forward returns the test-time scores. In train mode the course computes the
    scores, the loss and every gradient in one call, which CourseLoss makes: forward keeps the
    batch and returns no scores ((N, 0)), and backward_params hands the call's gradients to the
    Parameters. The protocol gives no gradient for the input, so there is no backward.
    """

    def __init__(self, net) -> None:
        super().__init__()
        self.net = net
        self._params = {name: Parameter(w, name) for name, w in net.params.items()}
        self._grads: dict[str, np.ndarray] | None = None

    def named_parameters(self, prefix: str = ""):
        for name, p in self._params.items():
            yield prefix + name, p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            return self.net.loss(x)
        self._cache = x
        return np.empty((len(x), 0), dtype=x.dtype)

    def backward_params(self, dout: np.ndarray) -> None:
        if self._grads is None:
            raise RuntimeError("CourseModel.backward_params called before CourseLoss.forward")
        for name, p in self._params.items():
            p.accumulate(self._grads[name])


class CourseLoss:
    """The course model's loss(X, y) on the batch CourseModel kept -> (float) loss; its
    gradients wait in the model for backward_params."""

    def __init__(self, model: CourseModel) -> None:
        self.model = model

    def forward(self, scores: np.ndarray, y: np.ndarray) -> float:
        loss, self.model._grads = self.model.net.loss(self.model._saved(), y)
        return float(loss)

    def backward(self) -> np.ndarray:
        """The gradient for CourseModel's (N, 0) output: empty."""
        return np.empty((len(self.model._saved()), 0))


class UpdateRules:
    """The course's update rules as an optimizer: for each parameter,
    next_w, config = rule(w, dw, config), each with its own config; the course model's
    `params` get the new arrays."""

    def __init__(self, model: CourseModel, rule: UpdateRule, configs: dict[str, dict]) -> None:
        self.model, self.rule, self.configs = model, rule, configs
        self.params = model.parameters()

    @property
    def lr(self) -> float:
        """The first parameter's learning rate (for the Trainer's history)."""
        return next(iter(self.configs.values()), {}).get("learning_rate", math.nan)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for name, p in self.model.named_parameters():
            p.data, self.configs[name] = self.rule(p.data, p.grad, self.configs[name])
            self.model.net.params[name] = p.data


def _as_given(x: np.ndarray) -> np.ndarray:
    """The course feeds its models the arrays as they are."""
    return x
