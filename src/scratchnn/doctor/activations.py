"""What each layer's units do on a batch, in forward order: weights identical across units
(symmetric initialisation), ReLUs that never fire, saturated sigmoid/tanh units, and outputs
that are the same for every sample (which make the next layer's units identical).

Every finding names its layer (`layer`, the position in the forward pass), so that
Report.relate can put the earliest one first and mark the later ones as following from it.
A diagnosis names its evidence: "symmetric initialisation" only when the weights themselves are
identical across units; units made identical by a constant input are reported as that, with
the layer that made the input constant.
"""

from __future__ import annotations

import numpy as np

from scratchnn.doctor.patient import Trace, describe, has_parameters
from scratchnn.doctor.report import Finding
from scratchnn.layers import Linear, ReLU, Sigmoid, Tanh

DEAD_WARNING = 0.5        # fraction of a ReLU layer's units that never fire on the batch
SATURATED = 0.5           # fraction of sigmoid/tanh outputs within 2% of a bound
NEAR_BOUND = 0.02


def _units(h: np.ndarray) -> np.ndarray:
    """(units, samples * positions): axis 1 is the unit (feature or channel)."""
    return np.moveaxis(h.reshape(h.shape[0], h.shape[1], -1), 1, 0).reshape(h.shape[1], -1)


def _constant(h: np.ndarray) -> bool:
    """The same values for every sample (to rounding)."""
    if h.ndim < 2 or len(h) < 2:
        return False
    scale = float(np.abs(h).max(initial=0.0)) or 1.0
    return float(np.abs(h - h[:1]).max()) <= 1e-6 * scale


def _clips_at_zero(layer) -> bool:
    name = type(layer).__name__.lower()
    return isinstance(layer, ReLU) or (not has_parameters(layer) and "relu" in name
                                       and "leaky" not in name)


def dead_fraction(layer, h_in: np.ndarray, h_out: np.ndarray) -> float | None:
    """Units (axis 1) that are 0 for every sample, for layers that clip at zero like ReLU."""
    if not _clips_at_zero(layer) or h_out.ndim < 2 or h_out.shape != h_in.shape:
        return None
    return float(np.mean(~np.any(_units(h_out) != 0, axis=1)))


def saturated_fraction(layer, h_out: np.ndarray) -> float | None:
    """Outputs within 2% of a bound of sigmoid (0, 1) or tanh (-1, 1)."""
    name = type(layer).__name__.lower()
    if isinstance(layer, Tanh) or (not has_parameters(layer) and "tanh" in name):
        return float(np.mean(np.abs(h_out) > 1 - 2 * NEAR_BOUND))
    if isinstance(layer, Sigmoid) or (not has_parameters(layer) and "sigmoid" in name):
        return float(np.mean((h_out < NEAR_BOUND) | (h_out > 1 - NEAR_BOUND)))
    return None


def identical_weights(layer) -> list[str]:
    """Weight arrays identical across the layer's units: "'weight' all 0", "'W1' columns
    identical". A Linear's units are its columns; a convolution's its filters (axis 0); for a
    user's layer, a weight constant throughout."""
    found = []
    for name, p in layer.named_parameters():
        w = p.data
        if w.ndim < 2 or w.size == 0:
            continue
        if np.all(w == w.flat[0]):
            found.append(f"'{name}' all {w.flat[0]:g}")
        elif isinstance(layer, Linear) and np.all(w == w[:, :1]):
            found.append(f"'{name}': every column (unit) the same")
        elif w.ndim == 4 and np.all(w == w[:1]):
            found.append(f"'{name}': every filter the same")
    return found


def _previous_with_parameters(tr: Trace, i: int) -> int | None:
    return next((j for j in range(i - 1, -1, -1) if has_parameters(tr.layers[j])), None)


def _layer_remedy(tr: Trace, j: int | None, effect: str, init: str = "he"
                  ) -> tuple[str, dict | None]:
    """How to fix units killed or saturated by layer j's output: its biases or its weights."""
    if j is None:
        return "Scale the inputs to about unit size (standardise them).", None
    where, layer = describe(tr.names[j], tr.layers[j]), tr.layers[j]
    bias = getattr(layer, "bias", None)
    out = tr.outputs[j]
    if bias is not None and bias.data.size and abs(float(np.mean(bias.data))) > 2 * float(
            np.std(out - np.reshape(bias.data, (1, -1) + (1,) * (out.ndim - 2)))):
        return (f"Initialise the biases of {where} at 0 (they average "
                f"{float(np.mean(bias.data)):.3g}, which makes its outputs {effect}).",
                {"action": "zero_bias", "layer": tr.names[j]})
    return (f"Re-initialise the weights of {where}: {'Xavier' if init == 'xavier' else 'He'} "
            f"initialisation (weight_init='{init}'); its outputs are {effect}. Keep the inputs "
            "at unit scale.", {"action": "reinit", "layer": tr.names[j], "init": init})


def check_activations(tr: Trace) -> list[Finding]:
    """Per layer in forward order: symmetric weights, dead ReLUs, saturated sigmoid/tanh,
    constant outputs and the units that receive them."""
    findings: list[Finding] = []
    last = len(tr.layers) - 1
    with_params = [i for i, layer in enumerate(tr.layers) if has_parameters(layer)]
    head = with_params[-1] if with_params else None    # its units are told apart by the labels
    n = len(tr.inputs[0])
    maker: int | None = None        # the layer that made its output the same for every sample
    receiver_named = False          # the first layer with weights after it has been named
    told: set[int] = set()          # layers already named for it
    for i, (name, layer) in enumerate(zip(tr.names, tr.layers, strict=True)):
        where, h_in, h_out = describe(name, layer), tr.inputs[i], tr.outputs[i]
        same = identical_weights(layer) if i != head else []
        if same:
            findings.append(Finding(
                "critical", f"{where}: its units are identical (symmetric initialisation)",
                f"the weights of {where} are identical across its units: {', '.join(same)}.",
                "Units that start alike receive identical gradients and stay alike forever: "
                "the layer acts as a single unit. With all-zero weights and ReLU nothing "
                "passes at all and no gradient reaches the weights.",
                "Initialise weights randomly: He (std sqrt(2 / fan_in)) before ReLU, Xavier "
                "before tanh or sigmoid (scratchnn.init.he_normal, weight_init='he'); biases "
                "may be 0.", "structure", layer=i,
                remedy={"action": "reinit", "layer": name, "init": "he"}))
            told.add(i)
        dead = dead_fraction(layer, h_in, h_out)
        if dead is not None and dead >= DEAD_WARNING:
            fix, remedy = _layer_remedy(tr, _previous_with_parameters(tr, i),
                                        "negative for almost every sample")
            findings.append(Finding(
                "critical" if dead == 1 else "warning",
                f"{where}: {dead:.0%} of its units never fire",
                f"{dead:.0%} of the units of {where} output 0 for every one of {n} samples.",
                "A dead ReLU passes no gradient, so its incoming weights never change"
                + (": nothing reaches the layers after it, and no gradient the layers before."
                   if dead == 1 else ": that much of the layer is wasted."),
                fix, "statistics", layer=i, downstream=True, remedy=remedy))
            told.add(i)
        saturated = saturated_fraction(layer, h_out)
        if saturated is not None and saturated >= SATURATED:
            fix, remedy = _layer_remedy(tr, _previous_with_parameters(tr, i),
                                        "far too large for it", init="xavier")
            findings.append(Finding(
                "warning", f"{where}: {saturated:.0%} of its outputs are saturated",
                f"{saturated:.0%} of the outputs of {where} on {n} samples are within "
                f"{NEAR_BOUND:.0%} of a bound of the function.", "A saturated sigmoid or tanh "
                "has a derivative near 0: almost no gradient passes it, the layers before "
                "it hardly learn.", fix, "statistics", layer=i, downstream=True, remedy=remedy))
            told.add(i)
        if i == last or not _constant(h_out) or h_out.size == 0:
            continue
        if maker is None and not _constant(h_in):
            maker = i
            if i not in told:
                findings.append(Finding(
                    "critical", f"{where} gives the same output for every sample",
                    f"its input varies across {n} samples, its output does not.",
                    "Whatever comes after it sees every sample alike: nothing can be learned.",
                    f"Look at {type(layer).__name__}: its weights or its scale.", "structure",
                    layer=i, downstream=True))
        elif maker is not None and has_parameters(layer) and i not in told | {maker} \
                and not receiver_named:
            source = describe(tr.names[maker], tr.layers[maker])
            findings.append(Finding(
                "warning", f"{where}: its units receive the same input for every sample, "
                f"from {source}",
                f"{where}'s input is identical across {n} samples (made so by {source}), so "
                "its units give the same output for every sample; its weights are not "
                "identical across units.", "Nothing after a constant layer can tell samples "
                "apart: this is a consequence, not a problem of this layer.",
                f"Fix {source} (see the finding about it).", "structure", layer=i,
                downstream=True))
            receiver_named = True
    return findings
