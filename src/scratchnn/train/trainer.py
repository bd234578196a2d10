"""Trainer: the training loop, and nothing else (callbacks do the printing, logging and plots)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from scratchnn.data.batches import batches
from scratchnn.errors import ConfigError, ScratchnnError, ShapeError
from scratchnn.layer import Sequential
from scratchnn.layers import Linear
from scratchnn.train.callbacks import Callback
from scratchnn.train.evaluate import class_labels, evaluate
from scratchnn.train.history import History
from scratchnn.train.preprocess import Standardize


class Trainer:
    """Mini-batch training of `model` on `loss_fn` with `optimizer`.

    Each epoch visits every training sample exactly once, in a fresh order drawn from
    np.random.default_rng([seed, epoch]). Batches are cut from the (uint8) training array and
    turned into float32 on the fly by `preprocess` (by default: scale to [0, 1] and standardise
    with the training set's per-channel mean and std), so no float copy of the dataset is made.

    schedule: a function of fractional epochs -> learning rate (see scratchnn.optim.schedules);
    None keeps optimizer.lr. weight_decay: L2 strength lambda; adds lambda/2 * ||W||^2 of every
    weight matrix to the loss and lambda * W to its gradient (defaults to model.weight_decay).
    keep_best: at the end, restore the weights of the epoch with the best validation accuracy.
    """

    def __init__(self, model, loss_fn, optimizer, *, batch_size: int = 128,
                 schedule: Callable[[float], float] | None = None, seed: int = 0,
                 callbacks: Sequence[Callback] = (), preprocess: Callable | None = None,
                 weight_decay: float | None = None, eval_batch_size: int = 1000,
                 keep_best: bool = True) -> None:
        if batch_size <= 0 or eval_batch_size <= 0:
            raise ConfigError(f"batch size must be positive, got {batch_size}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.schedule, self.seed, self.keep_best = schedule, seed, keep_best
        self.callbacks = list(callbacks)
        self.preprocess = preprocess
        self.weight_decay = (getattr(model, "weight_decay", 0.0) if weight_decay is None
                             else weight_decay)
        self._decayed = [p for name, p in model.named_parameters()
                         if name.rsplit(".", 1)[-1] == "weight" and p.data.ndim >= 2]
        self.history = History()
        self.epoch, self.step, self.steps_per_epoch = 0, 0, 0
        self.stop = False
        self.best_state: dict[str, np.ndarray] | None = None

    # -- one step -------------------------------------------------------------------------------

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Forward, backward and one optimizer step on a prepared batch -> (loss, correct)."""
        scores = self.model.forward(x)
        loss = self.loss_fn.forward(scores, y)
        self.optimizer.zero_grad()
        self.model.backward(self.loss_fn.backward())
        if self.weight_decay:
            loss += self._add_weight_decay()
        if not math.isfinite(loss):
            raise ScratchnnError(f"training diverged: loss is {loss} at epoch {self.epoch + 1}, "
                                 f"step {self.step + 1}; lower the learning rate")
        self.optimizer.step()
        return loss, int(np.count_nonzero(scores.argmax(axis=1) == class_labels(y)))

    def _add_weight_decay(self) -> float:
        """L2: add lambda * W to each weight gradient; return lambda/2 * sum ||W||^2."""
        penalty = 0.0
        for p in self._decayed:
            p.grad = p.grad + self.weight_decay * p.data if p.grad is not None else None
            penalty += float(np.vdot(p.data, p.data))
        return 0.5 * self.weight_decay * penalty

    # -- loops ----------------------------------------------------------------------------------

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """A raw batch -> the model's input: preprocess, else a cast to the parameters' dtype."""
        if self.preprocess is not None:
            return self.preprocess(x)
        dtype = next(iter(self.model.parameters())).data.dtype
        return x.astype(dtype, copy=False)

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int,
            validation: tuple[np.ndarray, np.ndarray] | None = None) -> History:
        """Train for `epochs` (counting epochs already done) and return the History."""
        _check_data(x, y, "training")
        if validation is not None:
            _check_data(*validation, "validation")
        if epochs <= 0:
            raise ConfigError(f"epochs must be positive, got {epochs}")
        if self.preprocess is None and x.dtype == np.uint8:
            self.preprocess = Standardize.fit(x)
        self.steps_per_epoch = math.ceil(len(x) / self.batch_size)
        self.stop = False
        self._emit("on_train_begin")
        with _no_data_gradient(self.model):
            while self.epoch < epochs and not self.stop:
                self._run_epoch(x, y, validation)
        if self.keep_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self._emit("on_train_end")
        return self.history

    def _run_epoch(self, x, y, validation) -> None:
        self.model.train()
        self._emit("on_epoch_begin")
        started, loss_sum, correct, seen = time.perf_counter(), 0.0, 0, 0
        rng = np.random.default_rng([self.seed, self.epoch])
        for i, (xb, yb) in enumerate(batches(x, y, self.batch_size, shuffle=True, rng=rng)):
            if self.schedule is not None:
                self.optimizer.lr = self.schedule(self.epoch + i / self.steps_per_epoch)
            loss, hits = self.train_step(self.prepare(xb), yb)
            self.history.steps.append(loss)
            loss_sum, correct, seen = loss_sum + loss * len(yb), correct + hits, seen + len(yb)
            self.step += 1
            self._emit("on_batch_end", loss, hits, len(yb))
        self.epoch += 1
        metrics = {"epoch": self.epoch, "lr": float(self.optimizer.lr),
                   "train_loss": loss_sum / seen, "train_acc": correct / seen}
        if validation is not None:
            val = self.evaluate(*validation)
            metrics |= {"val_loss": val["loss"], "val_acc": val["accuracy"]}
            best = self.history.best("val_acc")
            if best is None or val["accuracy"] > best["val_acc"]:
                self.best_state = {k: v.copy() for k, v in self.model.state_dict().items()}
        metrics["seconds"] = time.perf_counter() - started
        self.history.append(metrics)
        self._emit("on_epoch_end", metrics)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """{"loss", "accuracy", "samples"} over the whole of (x, y), in eval mode."""
        _check_data(x, y, "evaluation")
        return evaluate(self.model, self.loss_fn, x, y, self.prepare, self.eval_batch_size)

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)


@contextmanager
def _no_data_gradient(model) -> Iterator[None]:
    """While training, the first Linear of a Sequential skips dx when only parameter-free layers
    (Flatten) come before it: the gradient with respect to the data is never used."""
    first = None
    for layer in model if isinstance(model, Sequential) else ():
        if isinstance(layer, Linear):
            first = layer
            break
        if layer.parameters() or any(layer.children()):    # not a plain reshaping layer
            break
    if first is None or not first.input_grad:
        yield
        return
    first.input_grad = False
    try:
        yield
    finally:
        first.input_grad = True


def _check_data(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if len(x) == 0:
        raise ShapeError(f"the {what} set is empty")
    if len(x) != len(y):
        raise ShapeError(f"{what} inputs and labels differ in length: {len(x)} vs {len(y)}")
