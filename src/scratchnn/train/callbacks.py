"""Callbacks: everything around the training loop that is not the math (printing, logging,
early stopping, plots). The library itself never prints; these do.

Hooks receive the trainer: on_train_begin, on_epoch_begin, on_batch_end(loss, correct, size),
on_epoch_end(metrics), on_train_end, and on_train_error(error) when an exception (Ctrl-C,
divergence) stops training. Set `trainer.stop = True` to end training after the epoch.
A batch skipped for non-finite values (skip_nonfinite) reports size 0. A callback with state
that must survive a restart returns it from state_dict() (JSON-able); checkpoints keep it.
"""

from __future__ import annotations

import math
import sys
import time


class Callback:
    def on_train_begin(self, trainer) -> None: ...
    def on_epoch_begin(self, trainer) -> None: ...
    def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None: ...
    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None: ...
    def on_train_end(self, trainer) -> None: ...
    def on_train_error(self, trainer, error: BaseException) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs (higher is better for *acc)."""

    def __init__(self, patience: int = 5, monitor: str = "val_acc", min_delta: float = 0.0
                 ) -> None:
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.best, self.waited = -math.inf, 0

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        value = metrics.get(self.monitor)
        if value is None:
            return
        score = value if self.monitor.endswith("acc") else -value
        if score > self.best + self.min_delta:
            self.best, self.waited = score, 0
        else:
            self.waited += 1
            if self.waited >= self.patience:
                trainer.stop = True

    def state_dict(self) -> dict:
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.waited = float(state["best"]), int(state["waited"])


class ProgressBar(Callback):
    """A tqdm bar per epoch showing the running loss, accuracy and images per second; it
    disappears when the epoch ends (EpochLog writes the epoch's line). Meant for a terminal:
    in a log file its redraws would be noise."""

    def __init__(self, file=None) -> None:
        self.file = file or sys.stderr
        self.bar = None

    def on_epoch_begin(self, trainer) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=trainer.steps_per_epoch, desc=f"epoch {trainer.epoch + 1}",
                        initial=trainer.batch_index,      # > 0 when resumed mid-epoch
                        file=self.file, leave=False, dynamic_ncols=True, mininterval=0.5)
        self.seen, self.loss_sum, self.correct, self.started = 0, 0.0, 0, time.perf_counter()

    def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None:
        self.seen += size
        self.loss_sum += loss * size
        self.correct += correct
        self.bar.update(1)
        if self.bar.n % 20 == 0 or self.bar.n == self.bar.total:
            speed = self.seen / max(time.perf_counter() - self.started, 1e-9)
            seen = max(self.seen, 1)                   # every batch so far may have been skipped
            self.bar.set_postfix(loss=f"{self.loss_sum / seen:.4f}",
                                 acc=f"{self.correct / seen:.4f}",
                                 speed=f"{speed:,.0f} img/s", refresh=False)

    def on_train_error(self, trainer, error: BaseException) -> None:
        if self.bar is not None:
            self.bar.close()               # the error's message starts on a clean line

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        self.bar.close()


class EpochLog(Callback):
    """One line per epoch: its number, the losses and accuracies, the learning rate at its end
    and how long it took (training and validation). On stdout, the command's output; the bar
    and the errors go to stderr."""

    def __init__(self, file=None) -> None:
        self.file = file or sys.stdout

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        parts = [f"epoch {metrics['epoch']:>3}"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            if key in metrics:
                parts.append(f"{key} {metrics[key]:.4f}")
        parts.append(f"lr {metrics['lr']:.2e}  took {metrics['seconds']:.1f}s")
        print("  ".join(parts), file=self.file, flush=True)


class LossExplosion(Callback):
    """Stop with DivergenceError when the training loss, though finite, grows past `factor`
    times its first value (the Trainer's own guard sees only NaN and Inf): such a run has
    diverged and would only waste its remaining epochs."""

    def __init__(self, factor: float = 1000.0) -> None:
        self.factor, self.first = factor, None

    def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None:
        if size == 0 or not math.isfinite(loss):      # a skipped batch
            return
        if self.first is None:
            self.first = max(loss, 1e-3)
        elif loss > self.factor * self.first:
            from scratchnn.errors import DivergenceError

            raise DivergenceError(
                f"training diverged at step {trainer.step} (epoch {trainer.epoch + 1}, batch "
                f"{trainer.batch_index}): the loss reached {loss:.4g}, over {self.factor:g}x "
                f"its first value {self.first:.4g}; lower the learning rate"
                f"{trainer.checkpoint_kept()}")

    def state_dict(self) -> dict:
        return {"first": self.first}

    def load_state_dict(self, state: dict) -> None:
        self.first = state.get("first")


class CSVLogger(Callback):
    """Rewrites `path` (metrics.csv) with every epoch so far at the end of each epoch."""

    def __init__(self, path) -> None:
        self.path = path

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        trainer.history.to_csv(self.path)
