"""Trainer: the training loop, and nothing else (callbacks do the printing, logging and plots)."""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from scratchnn.data.batches import batches as cut_batches
from scratchnn.data.transforms import Standardize, augment_rng, from_dict
from scratchnn.data.views import TestViews
from scratchnn.errors import ConfigError, DataError, DivergenceError, ShapeError
from scratchnn.labels import check_labels, class_labels
from scratchnn.losses import l2_penalty, weight_matrices
from scratchnn.snapshot import ModelState
from scratchnn.train import checkpoint as checkpoints
from scratchnn.train.callbacks import Callback
from scratchnn.train.evaluate import predict_scores, score_metrics
from scratchnn.train.guard import StepUndo, first_nonfinite, grads_look_finite
from scratchnn.train.history import History
from scratchnn.train.interrupt import TrainingInterrupted, deferred_interrupt


class Trainer:
    """Mini-batch training of `model` on `loss_fn` with `optimizer`.

    By default each epoch visits every training sample exactly once, in a fresh order drawn
    from np.random.default_rng([seed, epoch]) (see `batches`). Batches are cut from the (uint8)
    training array and turned into float32 on the fly by `preprocess` (by default: scale to
    [0, 1] and standardise with the training set's per-channel mean and std), so no float copy
    of the dataset is made.

    schedule: a function of fractional epochs -> learning rate (see scratchnn.optim.schedules);
    None keeps optimizer.lr. l2_reg: the course-style L2 term (CS231n's `reg`): adds
    l2_reg/2 * ||W||^2 of every weight matrix to the loss and l2_reg * W to its gradient
    (scratchnn.losses.l2_penalty); weight decay proper is the optimizer's `weight_decay`.
    keep_best: at the end, restore the weights of the epoch with the best validation accuracy.

    checkpoint_dir: where the complete training state is saved (scratchnn.train.checkpoint):
    after every epoch, every `checkpoint_every` steps when that is > 0, and on Ctrl-C.
    `checkpoint_info`, a JSON-able dict, is stored in each checkpoint (run.py puts its config
    there). skip_nonfinite: skip a batch whose loss or gradient is not finite (no update; counted
    in history.skipped) instead of stopping with DivergenceError.

    augment: applied to each raw training batch before `preprocess`, as augment(x, rng) with
    rng = scratchnn.data.augment_rng(seed, epoch, batch index), e.g. scratchnn.data.Augment().

    batches: the batches of an epoch, as batches(x, y, epoch) -> (x_batch, y_batch) pairs (a
    sequence, or a lazy iterable). The default, shuffled_batches, cuts one permutation from
    np.random.default_rng([seed, epoch]) into batch_size slices. Tools with their own order
    (a fixed list of batches, the CS231n Solver's draws, the doctor's streams) pass theirs.

    The model's backward_params is called in place of backward: the gradient for the data is
    never used, and the first Linear or Conv2d skips computing it.

    >>> import scratchnn as snn
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)                 # class 1 where the first feature > 0
    >>> model = snn.Sequential(snn.layers.Linear(2, 2, rng=rng))
    >>> trainer = Trainer(model, snn.losses.SoftmaxCrossEntropy(),
    ...                   snn.optim.SGD(model.parameters(), lr=0.5), batch_size=20)
    >>> history = trainer.fit(x, y, epochs=5)
    >>> len(history), trainer.evaluate(x, y)["accuracy"] > 0.95
    (5, True)
    """

    def __init__(self, model, loss_fn, optimizer, *, batch_size: int = 128,
                 schedule: Callable[[float], float] | None = None, seed: int = 0,
                 callbacks: Sequence[Callback] = (), preprocess: Callable | None = None,
                 l2_reg: float = 0.0, eval_batch_size: int = 1000,
                 keep_best: bool = True, checkpoint_dir: str | os.PathLike | None = None,
                 checkpoint_every: int = 0, skip_nonfinite: bool = False,
                 augment: Callable | None = None,
                 batches: Callable[[np.ndarray, np.ndarray, int], Iterable] | None = None
                 ) -> None:
        for name, value, low in (("batch size", batch_size, 1), ("eval batch size",
                                 eval_batch_size, 1), ("seed", seed, 0),
                                 ("checkpoint_every", checkpoint_every, 0)):
            if not _is_int(value) or value < low:
                kind = "a positive" if low else "a non-negative"
                raise ConfigError(f"{name} must be {kind} integer, got {value!r}")
        if not 0.0 <= l2_reg < math.inf:
            raise ConfigError(f"l2_reg must be a number >= 0, got {l2_reg!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.schedule, self.seed, self.keep_best = schedule, seed, keep_best
        self.callbacks = list(callbacks)
        self.preprocess, self.augment = preprocess, augment
        self.l2_reg = l2_reg
        self._l2_weights = weight_matrices(model)
        self.batches = batches if batches is not None else self.shuffled_batches
        self.history = History()
        self.epoch, self.step, self.steps_per_epoch = 0, 0, 0
        self.batch_index = 0                 # batches of the current epoch already trained
        self.totals = _new_totals()          # the current epoch's running sums
        self.stop = False
        self.best_state: dict[str, np.ndarray] | None = None
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.checkpoint_every, self.skip_nonfinite = checkpoint_every, skip_nonfinite
        self.checkpoint_info: dict = {}
        self.data_fingerprint: dict | None = None
        self.last_checkpoint: tuple[int, Path] | None = None     # (step, file) of the last save
        self.resumed: checkpoints.Checkpoint | None = None      # what fit(resume=...) loaded
        self._interrupted: Callable[[], bool] = _never
        self._undo: StepUndo | None = None          # found again by each fit()

    # -- one step -------------------------------------------------------------------------------

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Forward, backward and one optimizer step on a prepared batch -> (loss, correct).

        A non-finite loss or gradient raises DivergenceError before the update, naming the first
        layer where values stopped being finite; the model (batch-norm statistics and dropout
        generators included) and the optimizer are then as they were before the step.
        """
        if self._undo is None:
            self._undo = StepUndo(self.model)
        before = self._undo.save()
        with np.errstate(all="ignore"):          # non-finite values are checked below instead
            scores = self.model.forward(x)
            loss = self.loss_fn.forward(scores, y)
            self.optimizer.zero_grad()
            backward = getattr(self.model, "backward_params", self.model.backward)
            backward(self.loss_fn.backward())
            loss += self._l2_penalty()
        if not (math.isfinite(loss) and grads_look_finite(self.optimizer.params)):
            self._check_finite(x, y, before)
        self.optimizer.step()
        return loss, _correct(scores, y)

    def _check_finite(self, x: np.ndarray, y: np.ndarray, before) -> None:
        """Run the step again from its start, layer by layer; unless every value turns out finite
        after all (a gradient sum overflowed), undo the step and raise DivergenceError."""
        self._undo.restore(before)
        where, loss = first_nonfinite(self.model, self.loss_fn, x, y,
                                      self._l2_penalty if self.l2_reg else None)
        if where is None:
            return
        self._undo.restore(before)
        self.optimizer.zero_grad()
        raise DivergenceError(
            f"training diverged at step {self.step + 1} (epoch {self.epoch + 1}, batch "
            f"{self.batch_index + 1}): non-finite values first appeared in {where} (loss "
            f"{loss:.4g}); lower the learning rate, or skip such batches with "
            f"skip_nonfinite=True (--skip-nonfinite){self.checkpoint_kept()}")

    def checkpoint_kept(self) -> str:
        """"; the last good checkpoint (step S) is in DIR" for a divergence message, or ""."""
        if self.last_checkpoint is None:
            return ""
        step, path = self.last_checkpoint
        return f"; the last good checkpoint (step {step}) is in {path.parent}"

    def _l2_penalty(self) -> float:
        """The l2_reg term: added to the weight gradients; returned for the loss (0.0 if off)."""
        return l2_penalty(self._l2_weights, self.l2_reg) if self.l2_reg else 0.0

    # -- loops ----------------------------------------------------------------------------------

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """A raw batch -> the model's input: preprocess, else a cast to the parameters' dtype."""
        if self.preprocess is not None:
            return self.preprocess(x)
        param = next(iter(self.model.parameters()), None)
        return x if param is None else x.astype(param.data.dtype, copy=False)

    def shuffled_batches(self, x: np.ndarray, y: np.ndarray, epoch: int) -> Iterator:
        """The default batches: one permutation from default_rng([seed, epoch]) cut into
        batch_size slices (the last one smaller), so every sample is seen once per epoch."""
        rng = np.random.default_rng([self.seed, epoch])
        return cut_batches(x, y, self.batch_size, shuffle=True, rng=rng)

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int,
            validation: tuple[np.ndarray, np.ndarray] | None = None,
            resume: str | os.PathLike | None = None) -> History:
        """Train for `epochs` (counting epochs already done) and return the History.

        resume: a checkpoint to continue from (a file, a checkpoint directory or a run directory
        holding checkpoint/), saved by a trainer set up like this one, on the same data. The
        result is bit-identical to a run that was never stopped. Checkpoints then go on to
        checkpoint_dir, by default the directory resumed from.
        Ctrl-C stops training after the current step, saves a checkpoint (with a checkpoint_dir)
        and raises TrainingInterrupted, a KeyboardInterrupt; a second Ctrl-C stops at once.
        """
        if not _is_int(epochs) or epochs <= 0:
            raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
        self._undo = None
        x, y = _check_data(x, y, "training")
        if validation is not None:
            validation = _check_data(*validation, "validation")
        self.steps_per_epoch = math.ceil(len(x) / self.batch_size)   # the default batches'
        if resume is not None or self.checkpoint_dir is not None:
            self.data_fingerprint = checkpoints.data_fingerprint(x, y)
        if resume is not None:
            self.resumed = checkpoints.load_checkpoint(resume)
            checkpoints.restore_checkpoint(self, self.resumed)
            if self.checkpoint_dir is None:
                self.checkpoint_dir = self.resumed.path.parent
        else:
            self.stop = False
        if self.preprocess is None and x.dtype == np.uint8:
            self.preprocess = Standardize.fit(x)
        self._check_labels(x, y, "training")
        if validation is not None:
            self._check_labels(*validation, "validation")
        self._emit("on_train_begin")
        with deferred_interrupt() as interrupted:
            self._interrupted = interrupted
            try:
                while self.epoch < epochs and not self.stop:
                    self._run_epoch(x, y, validation)
            except BaseException as error:     # Ctrl-C, divergence, ...: callbacks tidy up
                for callback in self.callbacks:
                    if hasattr(callback, "on_train_error"):
                        callback.on_train_error(self, error)
                raise
            finally:
                self._interrupted = _never
        if self.keep_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self._emit("on_train_end")
        return self.history

    def _run_epoch(self, x, y, validation) -> None:
        """The rest of the current epoch: its batches from batch_index on (a checkpoint saved
        mid-epoch resumes there), then validation, history, callbacks and a checkpoint."""
        self.model.train()
        self._emit("on_epoch_begin")
        started = time.perf_counter()
        if self.batch_index == 0:
            self.totals = _new_totals()
        order = self.batches(x, y, self.epoch)
        if hasattr(order, "__len__"):
            self.steps_per_epoch = len(order)
        for i, (xb, yb) in enumerate(itertools.islice(order, self.batch_index, None),
                                     self.batch_index):
            if self.schedule is not None:
                self.optimizer.lr = self.schedule(self.epoch + i / self.steps_per_epoch)
            if self.augment is not None:      # a pure function of (seed, epoch, batch): resumable
                xb = self.augment(xb, augment_rng(self.seed, self.epoch, i))
            loss, hits, size = self._train_batch(self.prepare(xb), yb)
            self.step += 1
            self.batch_index = i + 1
            self._emit("on_batch_end", loss, hits, size)
            if self._interrupted():
                self._interrupt()
            if (self.checkpoint_dir is not None and self.checkpoint_every
                    and self.step % self.checkpoint_every == 0
                    and self.batch_index < self.steps_per_epoch):   # else the epoch's own follows
                self.save_checkpoint()
        self.epoch += 1
        self.batch_index = 0
        seen = self.totals["seen"]
        metrics = {"epoch": self.epoch, "lr": float(self.optimizer.lr),
                   "train_loss": self.totals["loss"] / seen if seen else math.nan,
                   "train_acc": self.totals["correct"] / seen if seen else math.nan}
        if self.skip_nonfinite:
            metrics["skipped"] = self.totals["skipped"]
        if validation is not None:
            val = self.evaluate(*validation)
            metrics |= {"val_loss": val["loss"], "val_acc": val["accuracy"]}
            best = self.history.best("val_acc")
            if best is None or val["accuracy"] > best["val_acc"]:
                self.best_state = {k: v.copy() for k, v in self.model.state_dict().items()}
        metrics["seconds"] = time.perf_counter() - started
        self.history.append(metrics)
        self._emit("on_epoch_end", metrics)
        if self.checkpoint_dir is not None:
            self.save_checkpoint()
        if self._interrupted():
            self._interrupt(saved=True)

    def _train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int, int]:
        """train_step plus the bookkeeping -> (loss, correct, size); with skip_nonfinite a batch
        with non-finite values is skipped and reported as (0.0, 0, 0)."""
        try:
            loss, hits = self.train_step(x, y)
        except DivergenceError:
            if not self.skip_nonfinite:
                raise
            self.history.steps.append(math.nan)
            self.history.skipped.append(self.step + 1)
            self.totals["skipped"] += 1
            return 0.0, 0, 0
        self.history.steps.append(loss)
        self.totals["loss"] += loss * len(y)
        self.totals["correct"] += hits
        self.totals["seen"] += len(y)
        return loss, hits, len(y)

    def save_checkpoint(self, directory: str | os.PathLike | None = None) -> Path:
        """Write the complete training state to `directory` (default: checkpoint_dir) -> the
        file written. fit() calls this itself; see scratchnn.train.checkpoint."""
        directory = directory if directory is not None else self.checkpoint_dir
        if directory is None:
            raise ConfigError("no checkpoint directory: give the Trainer a checkpoint_dir")
        path = checkpoints.save_checkpoint(self, directory)
        self.last_checkpoint = (self.step, path)
        return path

    def _interrupt(self, saved: bool = False) -> None:
        """Ctrl-C was pressed: save a checkpoint (unless one was just saved), then stop."""
        if self.checkpoint_dir is not None and not saved:
            self.save_checkpoint()
        where = (f"at the end of epoch {self.epoch}" if self.batch_index == 0 else
                 f"in epoch {self.epoch + 1} (batch {self.batch_index} of "
                 f"{self.steps_per_epoch})")
        saved_in = (f"; checkpoint saved in {self.checkpoint_dir}"
                    if self.checkpoint_dir is not None else "")
        raise TrainingInterrupted(f"training interrupted after step {self.step}, {where}"
                                  f"{saved_in}", self.checkpoint_dir)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """{"loss", "accuracy", "samples"} over the whole of (x, y), in eval mode."""
        return score_metrics(self.scores(x, y), np.asarray(y), self.loss_fn)

    def scores(self, x: np.ndarray, y: np.ndarray, views: TestViews | None = None
               ) -> np.ndarray:
        """The model's scores (N, C) for (x, y) (y only checked), in eval mode; averaged over
        `views` when given (test-time augmentation)."""
        x, y = _check_data(x, y, "evaluation")
        return predict_scores(self.model, x, self.prepare, self.eval_batch_size, views)

    def _check_labels(self, x: np.ndarray, y: np.ndarray, what: str) -> None:
        """Labels against the model's number of outputs C, found by running one sample in eval
        mode (which also reports a model that does not fit the data before training starts),
        by scratchnn.labels.check_labels."""
        was_training = self.model.training
        self.model.eval()
        try:
            scores = self.model.forward(self.prepare(x[:1]))
        finally:
            self.model.train(was_training)
        if scores.ndim == 2:                         # else not a classifier: the loss checks
            check_labels(y, scores.shape[1], name=f"{what} labels")

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything fit() needs to continue exactly (scratchnn.train.checkpoint writes it):
        "model", "optimizer", "best" (state_dicts; best None), "history", the counters ("epoch",
        "step", "batch_index", "totals", "stop"), "generators" (the model's random generators and
        which layers share them), "callbacks" and "preprocess" states, and what a continuation
        must share: "seed", "batch_size", "steps_per_epoch", "optimizer_class", "data" (a
        fingerprint of the training data)."""
        randomness = ModelState(self.model)
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "best": self.best_state, "history": self.history, "epoch": self.epoch,
            "step": self.step, "batch_index": self.batch_index, "totals": dict(self.totals),
            "stop": bool(self.stop),
            "generators": {"states": randomness.generator_states(), "owners": randomness.owners},
            "callbacks": [[type(c).__name__, c.state_dict() if hasattr(c, "state_dict") else {}]
                          for c in self.callbacks],
            "preprocess": (None if not hasattr(self.preprocess, "to_dict") else
                           {"type": type(self.preprocess).__name__,
                            "state": self.preprocess.to_dict()}),
            "seed": self.seed, "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "optimizer_class": type(self.optimizer).__name__, "data": self.data_fingerprint,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a state_dict() of a trainer set up like this one. Everything is checked
        before anything changes: other data, seed, batch size, optimizer, model or random
        generators raise ConfigError. The preprocessing is restored only when this trainer has
        none (it is rebuilt from its own stored state: transforms.from_dict)."""
        if state["data"] is not None and self.data_fingerprint not in (None, state["data"]):
            raise ConfigError(f"the saved state was trained on other data "
                              f"({checkpoints.describe_data(state['data'])}; given "
                              f"{checkpoints.describe_data(self.data_fingerprint)})")
        for key in ("seed", "batch_size", "steps_per_epoch"):
            if state[key] != getattr(self, key):
                raise ConfigError(f"the saved state was written with {key} {state[key]}, this "
                                  f"trainer has {getattr(self, key)}")
        if state["optimizer_class"] != type(self.optimizer).__name__:
            raise ConfigError(f"the saved state was written by {state['optimizer_class']}, "
                              f"this trainer uses {type(self.optimizer).__name__}")
        own = self.model.state_dict()
        for weights in (state["model"], state["best"] or own):
            missing, unexpected = own.keys() - weights.keys(), weights.keys() - own.keys()
            wrong = [k for k in own.keys() & weights.keys() if weights[k].shape != own[k].shape]
            if missing or unexpected or wrong:
                raise ConfigError(f"the saved state does not fit this model: missing "
                                  f"{sorted(missing)}, unexpected {sorted(unexpected)}, wrong "
                                  f"shape {sorted(wrong)}")
        randomness = ModelState(self.model)
        try:
            randomness.check_generator_states(**state["generators"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
        preprocess = self.preprocess
        if preprocess is None and state["preprocess"] is not None:
            preprocess = from_dict(state["preprocess"]["state"])

        self.optimizer.load_state_dict(state["optimizer"])        # checks, then changes
        self.model.load_state_dict(state["model"])
        self.best_state = ({k: v.copy() for k, v in state["best"].items()} if state["best"]
                           else None)
        randomness.set_generator_states(state["generators"]["states"])   # in place: shared
        self.epoch, self.step, self.batch_index = (state["epoch"], state["step"],
                                                   state["batch_index"])
        self.totals, self.stop = dict(state["totals"]), state["stop"]
        saved_history = state["history"]                          # a copy: never shared
        self.history = History(list(saved_history.steps), [dict(r) for r in saved_history.epochs],
                               list(saved_history.skipped))
        self.preprocess = preprocess
        saved = list(state["callbacks"])
        for callback in self.callbacks:
            match = next((s for s in saved if s[0] == type(callback).__name__), None)
            if match is not None:
                saved.remove(match)
                if match[1] and hasattr(callback, "load_state_dict"):
                    callback.load_state_dict(match[1])


def _check_data(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as arrays after the checks that need no model: numbers, (N, ...) samples, as many
    labels as samples, not empty, no NaN or Inf among float inputs."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise ShapeError(f"{what} inputs and labels must be arrays of numbers, got "
                         f"{x.dtype} and {y.dtype}")
    if x.ndim < 2:
        raise ShapeError(f"{what} inputs must be (N, ...) samples, got shape {x.shape}")
    if len(x) == 0:
        raise ShapeError(f"the {what} set is empty")
    if len(x) != len(y):
        raise ShapeError(f"{what} inputs and labels differ in length: {len(x)} vs {len(y)}")
    if x.dtype.kind == "f":
        for start in range(0, len(x), 4096):        # in slices: no full-size temporary
            chunk = x[start:start + 4096]
            bad = ~np.isfinite(chunk.reshape(len(chunk), -1)).all(axis=1)
            if bad.any():
                raise DataError(f"{what} inputs contain NaN or Inf (first in sample "
                                f"{start + int(np.argmax(bad))}); fix or drop those samples")
    return x, y


def _correct(scores: np.ndarray, y: np.ndarray) -> int:
    """Correct predictions in a batch: rows of class scores (N, C) whose argmax is the label;
    0 for outputs that are not class scores."""
    if scores.ndim != 2 or scores.shape[1] == 0:
        return 0
    return int(np.count_nonzero(scores.argmax(axis=1) == class_labels(y)))


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _never() -> bool:
    return False


def _new_totals() -> dict:
    """Running sums of an epoch: loss * size, correct predictions, samples seen, batches skipped."""
    return {"loss": 0.0, "correct": 0, "seen": 0, "skipped": 0}
