"""Structure checks: an activation placed before a fused softmax cross-entropy, layers that do not
honour eval() (dropout or batch norm left in training mode at evaluation), and layers or weights
the Layer machinery cannot see."""

from __future__ import annotations

import re

import numpy as np

from scratchnn.doctor.patient import Patient, Trace, describe, has_parameters, leaves
from scratchnn.doctor.report import Finding
from scratchnn.layer import Layer
from scratchnn.layers import LeakyReLU, ReLU, Sigmoid, Tanh
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.parameter import Parameter

ACTIVATION_NAMES = re.compile(r"relu|sigmoid|tanh|softmax|elu|gelu|softplus|swish|logistic", re.I)
WEIGHT_NAMES = re.compile(r"^(w\d*|b\d*|weights?\d*|bias(es)?\d*|gamma|beta|kernel|filters?)$",
                          re.I)


def fused_softmax(loss_fn) -> bool:
    """A loss that applies softmax itself (it wants raw scores, logits)."""
    name = type(loss_fn).__name__.lower()
    return isinstance(loss_fn, SoftmaxCrossEntropy) or "softmax" in name or (
        "cross" in name and "entropy" in name)


def _is_activation(layer: Layer) -> bool:
    return isinstance(layer, ReLU | LeakyReLU | Sigmoid | Tanh) or (
        not has_parameters(layer) and bool(ACTIVATION_NAMES.search(type(layer).__name__)))


def check_last_activation(patient: Patient, tr: Trace) -> list[Finding]:
    """An activation between the last affine layer and a loss that applies softmax itself."""
    if not fused_softmax(patient.loss_fn):
        return []
    last, name, scores = tr.layers[-1], tr.names[-1], tr.outputs[-1]
    loss = type(patient.loss_fn).__name__
    if _is_activation(last):
        what = describe(name, last)
    elif (scores.ndim == 2 and scores.shape[1] > 1 and np.all(scores >= 0)
          and np.any(scores != scores.flat[0])):
        what = f"{describe(name, last)}, whose outputs are never negative,"
    else:
        return []
    probs = scores.ndim == 2 and np.allclose(scores.sum(axis=1), 1, atol=1e-4)
    effect = ("applies softmax a second time to probabilities: the result is close to uniform "
              "whatever the network says, and the gradient is tiny" if probs else
              "squashes or clips the scores: negative scores become 0 (ReLU) or every score "
              "is confined to a small range (sigmoid, tanh), so the softmax can neither rank "
              "the classes freely nor become confident, and the gradient through clipped "
              "scores is zero")
    return [Finding(
        "critical", f"{what} sits right before {loss}, which applies softmax itself",
        f"the last layer is {what.rstrip(',')}; the scores reaching the loss are in "
        f"[{scores.min():.3g}, {scores.max():.3g}]" + (" and each row sums to 1" if probs else "")
        + ".", f"{loss} expects raw scores (logits) of any sign and applies softmax inside; an "
        f"activation before it {effect}.", "Remove the final activation: feed the last Linear "
        "layer's output straight into the loss (apply softmax only to read probabilities).",
        "structure", layer=len(tr.layers) - 1,
        remedy={"action": "remove_layer", "layer": name} if _is_activation(last) else None)]


def _differs(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.abs(a).max(initial=0.0)), 1e-12)
    return a.shape != b.shape or float(np.abs(a - b).max(initial=0.0)) > 1e-4 * scale


def check_eval_mode(patient: Patient, x: np.ndarray) -> list[Finding]:
    """In eval mode every layer must be deterministic and treat each sample on its own, and a
    parameter-free layer (dropout) must keep the scale of its output between train and eval."""
    model = patient.copy_model().eval()
    h, half = x, max(1, len(x) // 2)
    for name, layer in leaves(model):
        out = layer.forward(h)
        where = describe(name, layer)
        if _differs(layer.forward(h), out):
            return [Finding(
                "critical", f"{where} is still random in eval mode",
                f"two eval-mode forwards of the same {len(h)} samples through {where} differ.",
                "At evaluation dropout must be off: a random layer changes predictions from "
                "call to call and lowers the measured accuracy.",
                f"Make {type(layer).__name__}.forward return its input unchanged when "
                "self.training is False, and call model.eval() before evaluating.",
                "structure", remedy={"action": "fix_code",
                                     "target": f"{type(layer).__name__}.forward"})]
        if _differs(layer.forward(h[:half]), out[:half]):
            return [Finding(
                "critical", f"{where} depends on the rest of the batch in eval mode",
                f"the eval-mode outputs of {where} for {half} samples change when the other "
                f"{len(h) - half} samples of the batch are left out.",
                "At evaluation a prediction must not depend on which other samples share the "
                "batch: batch norm must use its running statistics, not the batch's.",
                f"In {type(layer).__name__}.forward, use running_mean and running_var when "
                "self.training is False (and update them only in training).", "structure",
                remedy={"action": "fix_code", "target": f"{type(layer).__name__}.forward"})]
        if not has_parameters(layer) and not layer.buffers and not any(layer.children()):
            layer.train()
            trained = np.abs(layer.forward(h)).mean()
            layer.eval()
            evaluated = np.abs(out).mean()
            if evaluated > 0 and not 0.8 < trained / evaluated < 1.25:
                return [Finding(
                    "warning", f"{where} changes the scale of its output between training and "
                    "evaluation", f"mean |output| of {where}: {trained:.3g} in train mode, "
                    f"{evaluated:.3g} in eval mode (ratio {trained / evaluated:.2f}).",
                    "The next layer is trained on one scale and evaluated on another. Dropout "
                    "must scale the kept units by 1/(1 - p) in training (inverted dropout) and "
                    "do nothing at evaluation.", "Scale in training only: "
                    "out = x * mask / (1 - p); at evaluation return x.", "structure",
                    remedy={"action": "fix_code", "target": f"{type(layer).__name__}.forward"})]
        h = out
    return []


def check_hidden(model: Layer) -> list[Finding]:
    """Layers kept in lists or dicts, and weights kept as plain arrays: parameters(), eval() and
    state_dict() only see Layer and Parameter attributes."""
    for layer in model.modules():
        for attr, value in vars(layer).items():
            items = (value.values() if isinstance(value, dict) else value
                     if isinstance(value, list | tuple) else ())
            hidden = [v for v in items if isinstance(v, Layer | Parameter)]
            if hidden:
                kind = type(hidden[0]).__name__
                return [Finding(
                    "critical", f"{type(layer).__name__}.{attr} holds {kind}s in a "
                    f"{type(value).__name__}", f"{len(hidden)} {kind} object(s) in "
                    f"{type(layer).__name__}.{attr}, invisible to parameters() and modules().",
                    "scratchnn finds parameters and sub-layers through attributes: the optimizer "
                    "never updates what is in a list, eval() leaves its dropout and batch norm "
                    "in training mode, and state_dict() does not save it.",
                    "Give each one its own attribute (self.block0 = ...), or hold them in "
                    "snn.Sequential(*layers).", "structure",
                    remedy={"action": "fix_code", "target": f"{type(layer).__name__}.{attr}"})]
            if (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim >= 1
                    and attr not in layer.buffers and WEIGHT_NAMES.match(attr)):
                return [Finding(
                    "warning", f"{type(layer).__name__}.{attr} is a plain array, not a Parameter",
                    f"{type(layer).__name__}.{attr}: ndarray {value.shape}; parameters() does "
                    "not list it.", "The optimizer only updates Parameters: this weight keeps "
                    "its initial value however long you train.",
                    f"self.{attr} = snn.Parameter(array, '{attr}'), and accumulate its gradient "
                    f"in backward with self.{attr}.accumulate(grad).", "structure",
                    remedy={"action": "fix_code", "target": f"{type(layer).__name__}.{attr}"})]
    return []


def check_conv_padding(tr: Trace) -> list[Finding]:
    """Stride-1 convolutions whose padding is neither 0 ("valid") nor (k - 1) / 2 ("same"):
    the output is a little smaller or larger than the input, which is seldom what was meant."""
    for i, (name, layer) in enumerate(zip(tr.names, tr.layers, strict=True)):
        kernel = getattr(layer, "kernel_size", None)
        padding, stride = getattr(layer, "padding", None), getattr(layer, "stride", None)
        h_in, h_out = tr.inputs[i], tr.outputs[i]
        if not (isinstance(kernel, tuple) and isinstance(padding, tuple)
                and stride == (1, 1) and h_in.ndim == 4 and h_out.ndim == 4):
            continue
        same = tuple((k - 1) // 2 for k in kernel)
        if all(k % 2 for k in kernel) and padding not in ((0, 0), same):
            where = describe(name, layer)
            return [Finding(
                "warning", f"{where}: padding {padding} with a {kernel[0]}x{kernel[1]} kernel "
                f"turns {h_in.shape[2]}x{h_in.shape[3]} into {h_out.shape[2]}x{h_out.shape[3]}",
                f"{where}: kernel {kernel}, stride 1, padding {padding}: output "
                f"{h_out.shape[2]}x{h_out.shape[3]} from input {h_in.shape[2]}x{h_in.shape[3]}.",
                "A stride-1 convolution keeps the size with padding (k - 1) / 2 ('same') or "
                "shrinks it by k - 1 with padding 0 ('valid'); any other padding changes it by "
                "a few pixels (a border of zeros the kernel mostly sees, or a border lost), "
                "usually a padding copied from a layer with another kernel size.",
                f"Use padding={same[0] if same[0] == same[1] else same} to keep the size (and "
                "size the layers after it for that output).", "structure", layer=i,
                remedy={"action": "set", "layer": name, "attribute": "padding",
                        "value": list(same)})]
    return []
