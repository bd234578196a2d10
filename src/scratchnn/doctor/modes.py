"""Training-mode checks: batch norm or dropout left in eval mode for training, and a dropout
that drops most of its inputs (a keep probability passed where a drop probability was meant,
or the reverse).

The doctor examines copies in training mode; these checks look at the model as it was given
(the mode its layers are in when the user's loop trains it) and at what a dropout layer
actually drops, measured, so that a user's own dropout with its own parameter names is judged
the same way as scratchnn's.
"""

from __future__ import annotations

import numpy as np

from scratchnn.doctor.patient import Patient, describe, has_parameters, leaves
from scratchnn.doctor.report import Finding
from scratchnn.layers import BatchNorm1d, BatchNorm2d, Dropout

DROPS_TOO_MUCH = 0.6      # measured fraction of inputs zeroed in training
RATE_NAMES = ("p", "rate", "drop_prob", "dropout", "keep_prob", "keep", "p_keep")


def _mode_dependent(layer) -> bool:
    """Batch norm and dropout: layers that behave differently in training and evaluation."""
    name = type(layer).__name__.lower()
    return isinstance(layer, BatchNorm1d | BatchNorm2d | Dropout) or (
        bool(layer.buffers) or "dropout" in name or "norm" in name)


def check_given_mode(patient: Patient) -> list[Finding]:
    """Layers of the model as given that are in eval mode: trained like that, dropout drops
    nothing and batch norm normalises with running statistics it never updates."""
    frozen = [(i, name, layer) for i, (name, layer) in enumerate(leaves(patient.model))
              if _mode_dependent(layer) and not layer.training]
    if not frozen:
        return []
    i, name, layer = frozen[0]
    where = describe(name, layer)
    whole = not patient.model.training
    return [Finding(
        "warning", f"{where} is in eval mode" + (" (the whole model is)" if whole else ""),
        f"{len(frozen)} layer(s) that behave differently in training are in eval mode as given: "
        + ", ".join(describe(n, lay) for _, n, lay in frozen[:4]) + ".",
        "Trained in eval mode, dropout drops nothing (no regularisation) and batch norm "
        "normalises with running statistics that are never updated, so the network trains on "
        "a different function than it will be evaluated with. The rest of this examination "
        "ran in training mode.", "Call model.train() before training (after every "
        "evaluation that called model.eval()).", "structure", layer=i,
        remedy={"action": "train_mode"})]


def _rate_attribute(layer, dropped: float) -> tuple[str, float] | None:
    """(name, value) of the attribute that sets the rate: the drop rate or its complement."""
    for name in RATE_NAMES:
        value = getattr(layer, name, None)
        if isinstance(value, float | int) and not isinstance(value, bool) and 0 < value < 1:
            if abs(value - dropped) < 0.1 or abs(1 - value - dropped) < 0.1:
                return name, float(value)
    return None


def check_dropout_rate(patient: Patient, x: np.ndarray) -> list[Finding]:
    """The fraction of its (non-zero) inputs each dropout-like layer zeroes in training."""
    model = patient.copy_model()
    h = x
    for i, (name, layer) in enumerate(leaves(model)):
        out = layer.forward(h)
        dropout = isinstance(layer, Dropout) or (
            not has_parameters(layer) and "dropout" in type(layer).__name__.lower())
        live = h != 0
        if dropout and out.shape == h.shape and live.any():
            dropped = float(np.mean(out[live] == 0))
            if dropped > DROPS_TOO_MUCH:
                where = describe(name, layer)
                rate = _rate_attribute(layer, dropped)
                set_to = f" ({rate[0]} = {rate[1]:g})" if rate else ""
                fixed = round(1 - rate[1], 6) if rate else None
                return [Finding(
                    "warning", f"{where} drops {dropped:.0%} of its inputs in training",
                    f"{dropped:.0%} of the non-zero inputs of {where} are zeroed in a "
                    f"training-mode forward of {len(h)} samples{set_to}.",
                    "Dropout rates are usually 0.1 to 0.5. A rate this high is most often a "
                    "keep probability passed where a drop probability was meant (scratchnn's "
                    "and torch's Dropout(p) take the probability to DROP; some course code "
                    "takes the probability to keep), or the reverse: the network sees a few "
                    "units per sample and learns slowly.",
                    (f"Set {rate[0]} = {fixed:g} (1 - {rate[1]:g})" if rate else
                     "Pass the drop probability (1 - keep)") + " if you meant to keep "
                    f"{dropped:.0%}.", "structure", layer=i,
                    remedy={"action": "set", "layer": name, "attribute": rate[0],
                            "value": fixed} if rate else None)]
        h = out
    return []
