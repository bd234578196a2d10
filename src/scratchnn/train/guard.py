"""The divergence guard: notice a non-finite loss or gradient, find the first layer where values
stopped being finite, and undo the step's side effects (batch-norm statistics, dropout draws).

A step checks cheaply (the loss, and one sum per gradient: a sum is non-finite when any term is,
or when it overflows). Only when that check fails is the step run again, layer by layer, from the
state it started in, looking at every activation and gradient in the order they were computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from scratchnn.layer import Layer, Sequential
from scratchnn.parameter import Parameter
from scratchnn.snapshot import ModelState

# The state a training step changes besides the parameters and the optimizer (batch-norm
# statistics, dropout generators): StepUndo(model).save() before the step, .restore(saved) after.
StepUndo = ModelState


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
            if index == 0:              # as the step: the data needs no gradient
                getattr(layer, "backward_params", layer.backward)(dout)
            else:
                dout = layer.backward(dout)
            for name, p in layer.named_parameters():
                if first is None and not _finite(p.grad):
                    first = f"the gradient of {name!r} in {label}"
            if first is None and index > 0 and not _finite(dout):
                first = f"the input gradient that {label} passes back"
        if add_weight_decay is not None:
            loss += add_weight_decay()
            if first is None and not (math.isfinite(loss) and all(
                    _finite(p.grad) for p in model.parameters())):
                first = "the L2 weight-decay term"
    return first, loss
