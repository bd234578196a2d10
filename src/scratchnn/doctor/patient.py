"""The patient: the user's model, loss, optimizer and data, and the copies the checks work on.

Nothing the user passed is ever changed: every experiment runs on a deep copy of the model (and
of the optimizer, rebound to the copy's parameters), with a fresh copy of the loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from scratchnn.data.batches import batches as plain_batches
from scratchnn.errors import DivergenceError
from scratchnn.layer import Layer, Sequential
from scratchnn.optim import SGD, make_optimizer
from scratchnn.train.callbacks import Callback
from scratchnn.train.trainer import Trainer


def leaves(model: Layer, prefix: str = "") -> list[tuple[str, Layer]]:
    """The layers a Sequential is made of, nested Sequentials opened: [("0", Flatten()), ...].

    Any other layer, including a user's own composite layer, is one leaf (its wiring is its own).
    """
    if not isinstance(model, Sequential):
        return [(prefix.rstrip(".") or "model", model)]
    out = []
    for name, child in model.children():
        out += leaves(child, f"{prefix}{name}.")
    return out


def describe(name: str, layer: Layer) -> str:
    """'layer 2 (Linear)' or, for a whole model, 'MyNet'."""
    kind = type(layer).__name__
    return kind if name == "model" else f"layer {name} ({kind})"


def has_parameters(layer: Layer) -> bool:
    return bool(layer.parameters())


@dataclass
class Trace:
    """One train-mode forward and backward through the leaves of a copy of the model."""

    model: Layer
    names: list[str]
    layers: list[Layer]
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    douts: list[np.ndarray | None] = field(default_factory=list)  # d(loss)/d(output) per leaf
    loss: float = float("nan")


@dataclass
class Patient:
    """What the doctor examines. `x` is what the model is fed (integer inputs cast to float32,
    unscaled, as a network sees them when nobody converts them); `x_raw` is as given."""

    model: Layer
    loss_fn: object
    x_raw: np.ndarray
    x: np.ndarray
    y: np.ndarray
    optimizer: object = None          # None (SGD), a name, an optimizer, or (params, lr) -> opt
    lr: float | None = None
    batches: Callable | None = None
    batch_size: int = 32
    seed: int = 0

    # -- copies ---------------------------------------------------------------------------------

    def copy_model(self, dtype=None) -> Layer:
        model = copy.deepcopy(self.model)
        if dtype is not None:
            model.to_dtype(dtype)
        return model.train()

    def copy_loss(self):
        return copy.deepcopy(self.loss_fn)

    def make_optimizer(self, model: Layer, lr: float):
        """An optimizer like the user's, on `model` (a copy of theirs), at learning rate `lr`."""
        spec = self.optimizer
        if spec is None:
            return SGD(model.parameters(), lr)
        if isinstance(spec, str):
            return make_optimizer(spec, model.parameters(), lr)
        if hasattr(spec, "step"):
            # deepcopy with a memo that maps the user's parameters to the copy's: the new
            # optimizer updates the copy (parameters it holds that are not the model's stay
            # orphans, so a step then changes nothing: the doctor reports that).
            memo = {id(old): new for old, new in zip(self.model.parameters(), model.parameters(),
                                                     strict=True)}
            memo[id(self.model)] = model
            optimizer = copy.deepcopy(spec, memo)
            if isinstance(getattr(optimizer, "state", None), list):
                optimizer.state = [{} for _ in optimizer.state]      # a fresh start
            if hasattr(optimizer, "lr"):
                optimizer.lr = lr
            return optimizer
        return spec(model.parameters(), lr)

    def optimizer_name(self) -> str:
        spec = self.optimizer
        if spec is None:
            return "SGD"
        if isinstance(spec, str):
            return spec
        return type(spec).__name__ if hasattr(spec, "step") else getattr(spec, "__name__", "?")

    def given_lr(self) -> float | None:
        """The lr argument, else the user's optimizer's own lr, else None."""
        if self.lr is not None:
            return float(self.lr)
        lr = getattr(self.optimizer, "lr", None) if hasattr(self.optimizer, "step") else None
        return None if lr is None else float(lr)

    def rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    # -- data -----------------------------------------------------------------------------------

    def batch(self, n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n samples (fewer if there are not that many), starting at `offset`."""
        return self.x[offset:offset + n], self.y[offset:offset + n]

    def stream(self, x: np.ndarray, y: np.ndarray, key: int) -> Iterator[tuple[np.ndarray,
                                                                                np.ndarray]]:
        """Endless correctly paired mini-batches of (x, y), one permutation per pass."""
        rng = self.rng(key)
        size = min(self.batch_size, len(x))
        while True:
            yield from plain_batches(x, y, size, shuffle=True, rng=rng, drop_last=True)

    # -- running the model ----------------------------------------------------------------------

    def trace(self, model: Layer, x: np.ndarray, y: np.ndarray, backward: bool = True) -> Trace:
        """Forward leaf by leaf (train mode), the loss, and backward leaf by leaf, recording
        every input, output and output gradient. Parameter gradients are left in `model`."""
        names, layers = zip(*leaves(model), strict=True)
        tr = Trace(model, list(names), list(layers), [], [])
        h = x
        for layer in layers:
            tr.inputs.append(h)
            h = layer.forward(h)
            tr.outputs.append(h)
        loss_fn = self.copy_loss()
        tr.loss = float(loss_fn.forward(h, y))
        if backward:
            model.zero_grad()
            dout = loss_fn.backward()
            tr.douts = [None] * len(layers)
            for i in reversed(range(len(layers))):
                tr.douts[i] = dout
                dout = layers[i].backward(dout)
        return tr

    def train(self, model: Layer, optimizer, stream: Iterator, steps: int,
              stop: Callable[[list[float]], bool] | None = None,
              diverged: float = float("inf")) -> list[float]:
        """Up to `steps` Trainer steps on batches from `stream` -> the loss before each step.

        Stops early when `stop(losses)` is true, or when the loss is not finite (the Trainer's
        guard undoes that step) or exceeds `diverged`; that loss is recorded as inf.
        """
        losses: list[float] = []

        class Watch(Callback):
            def on_batch_end(self, trainer, loss: float, correct: int, size: int) -> None:
                losses.append(loss if loss <= diverged else float("inf"))
                trainer.stop = losses[-1] == float("inf") or bool(stop and stop(losses))

        def batches(x: np.ndarray, y: np.ndarray, epoch: int) -> Iterator:
            for _ in range(steps):
                yield next(stream)
                if trainer.stop:
                    return

        trainer = Trainer(model, self.copy_loss(), optimizer, callbacks=[Watch()],
                          batches=batches, seed=self.seed, keep_best=False)
        try:
            trainer.fit(self.x, self.y, epochs=1)     # the patient's data, for fit's checks
        except DivergenceError:
            losses.append(float("inf"))
        return losses

    def loss_of(self, model: Layer, x: np.ndarray, y: np.ndarray, training: bool = False
                ) -> float:
        model.train(training)
        with np.errstate(all="ignore"):
            loss = float(self.copy_loss().forward(model.forward(x), y))
        model.train()
        return loss if np.isfinite(loss) else float("inf")
