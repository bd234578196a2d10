"""The divergence guard: notice a non-finite loss or gradient, find the first layer where values
stopped being finite, and undo the step's side effects (batch-norm statistics, dropout draws).

A step checks cheaply (the loss, and one sum per gradient: a sum is non-finite when any term is,
or when it overflows). Only when that check fails is the step run again, layer by layer, from the
state it started in, looking at every activation and gradient in the order they were computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from scratchnn.layer import Layer, Sequential
from scratchnn.parameter import Parameter


def generators(model: Layer) -> Iterator[tuple[str, str, np.random.Generator]]:
    """Every np.random.Generator a layer of `model` holds (dropout's `rng`), depth first, as
    (layer path like "3" or "" for the model itself, attribute name, generator). Several layers
    may share one generator; it is then listed once per layer."""
    def walk(layer: Layer, path: str):
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                yield path, name, value
        for name, child in layer.children():
            yield from walk(child, f"{path}.{name}" if path else name)
    return walk(model, "")


class StepUndo:
    """The state a training step changes besides the parameters and the optimizer: buffers
    (batch-norm running statistics) and random generators (dropout). save() before the step,
    restore(saved) puts it back; generators are rewound in place, so layers that share one keep
    sharing it. The layers are found once, when the StepUndo is made."""

    def __init__(self, model: Layer) -> None:
        self.buffers = [(layer, name) for layer in model.modules() for name in layer.buffers]
        self.generators = list({id(g): g for _, _, g in generators(model)}.values())

    def save(self) -> tuple[list[np.ndarray], list[dict]]:
        return ([np.array(getattr(layer, name), copy=True) for layer, name in self.buffers],
                [g.bit_generator.state for g in self.generators])

    def restore(self, saved: tuple[list[np.ndarray], list[dict]]) -> None:
        buffers, states = saved
        for (layer, name), value in zip(self.buffers, buffers, strict=True):
            setattr(layer, name, value.copy())
        for generator, state in zip(self.generators, states, strict=True):
            generator.bit_generator.state = state


def grads_look_finite(params: Iterable[Parameter]) -> bool:
    """A fast test: False when some gradient holds NaN or Inf (or its sum of squares overflows,
    which `first_nonfinite` then tells apart). vdot is one BLAS call, 3x faster than a sum."""
    total = 0.0
    with np.errstate(all="ignore"):
        for p in params:
            if p.grad is not None:
                total += float(np.vdot(p.grad, p.grad))
    return math.isfinite(total)


def _finite(array: np.ndarray | None) -> bool:
    return array is None or bool(np.isfinite(array).all())


def first_nonfinite(model: Layer, loss_fn, x: np.ndarray, y: np.ndarray,
                    add_weight_decay: Callable[[], float] | None) -> tuple[str | None, float]:
    """Run a training step's forward and backward again, layer by layer, exactly as the step did
    (start from the state the step started in: see StepUndo). -> (where the first non-finite value
    appeared or None when every value is finite, the loss). Parameter gradients are left as the
    step computes them."""
    if isinstance(model, Sequential):
        layers = [(f"layer {name} ({type(layer).__name__})", layer)
                  for name, layer in model.children()]
    else:
        layers = [(f"the model ({type(model).__name__})", model)]
    first = None if _finite(x) else "the input batch"
    with np.errstate(all="ignore"):
        out = x
        for label, layer in layers:
            out = layer.forward(out)
            if first is None and not _finite(out):
                first = f"the forward output of {label}"
        loss = loss_fn.forward(out, y)
        if first is None and not math.isfinite(loss):
            first = f"the loss ({type(loss_fn).__name__})"
        dout = loss_fn.backward()
        if first is None and not _finite(dout):
            first = f"the gradient of the loss ({type(loss_fn).__name__})"
        model.zero_grad()
        for index in reversed(range(len(layers))):
            label, layer = layers[index]
            dout = layer.backward(dout)
            for name, p in layer.named_parameters():
                if first is None and not _finite(p.grad):
                    first = f"the gradient of {name!r} in {label}"
            if dout is None:            # a first layer that computes no gradient for the data
                break
            if first is None and index > 0 and not _finite(dout):
                first = f"the input gradient that {label} passes back"
        if add_weight_decay is not None:
            loss += add_weight_decay()
            if first is None and not (math.isfinite(loss) and all(
                    _finite(p.grad) for p in model.parameters())):
                first = "the L2 weight-decay term"
    return first, loss
