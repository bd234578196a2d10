"""Per-layer statistics of one training step: activations (mean, std, dead ReLU units), gradients
(vanishing, exploding, none at all), and what one optimizer step does to the weights (its
direction against the gradient, and the update-to-weight ratio for the learning rate).

Thresholds are deliberately wide (a factor of 1000 between layers, one step that moves a weight
matrix by half its size): these checks catch what is broken, they do not tune what works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scratchnn.doctor.activations import dead_fraction
from scratchnn.doctor.patient import Patient, Trace, describe
from scratchnn.doctor.report import Finding

FLOW_RATIO = 1e3          # relative gradients of two layers differing by more: vanish / explode
FLOW_CRITICAL = 1e4       # ... by this much: the first layers cannot learn at all
UPDATE_HIGH = 0.5         # ||update|| / ||weight|| of one step (about 1e-3 is the usual advice)
UPDATE_LOW = 1e-7


@dataclass
class LayerStats:
    name: str
    shape: tuple[int, ...]
    mean: float
    std: float
    grad_std: float                  # std of d(loss)/d(output)
    dead: float | None = None        # fraction of units never active (ReLU-like layers)
    grad_ratio: float | None = None  # RMS(d loss / d weight) / RMS(weight)
    zero_weights: bool = False       # every weight matrix all zeros (before the step)
    update_ratio: float | None = None  # ||update|| / ||weight|| after one optimizer step


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else 0.0


def _weights(layer) -> list:
    return [p for _, p in layer.named_parameters() if p.data.ndim >= 2]


def layer_stats(patient: Patient, tr: Trace, lr: float) -> tuple[list[LayerStats], list[Finding]]:
    """Statistics per leaf, then one optimizer step at `lr` on the traced copy."""
    stats = []
    for name, layer, h_in, h_out, dout in zip(tr.names, tr.layers, tr.inputs, tr.outputs,
                                              tr.douts, strict=True):
        s = LayerStats(name, tuple(h_out.shape), float(np.mean(h_out)), float(np.std(h_out)),
                       float(np.std(dout)), dead_fraction(layer, h_in, h_out))
        weights = [p for p in _weights(layer) if p.grad is not None]
        if weights:
            s.grad_ratio = max(_rms(p.grad) / max(_rms(p.data), 1e-12) for p in weights)
            s.zero_weights = not any(np.any(p.data) for p in weights)
        stats.append(s)
    params = tr.model.parameters()
    before = [p.data.copy() for p in params]
    grads = [None if p.grad is None else p.grad.copy() for p in params]
    optimizer = patient.make_optimizer(tr.model, lr)
    optimizer.step()
    deltas = [p.data - b for p, b in zip(params, before, strict=True)]
    ratio_of = {id(p): float(np.linalg.norm(d)) / float(np.linalg.norm(b))
                for p, d, b in zip(params, deltas, before, strict=True)
                if p.data.ndim >= 2 and np.linalg.norm(b) > 0}
    for s, layer in zip(stats, tr.layers, strict=True):
        ratios = [ratio_of[id(p)] for p in _weights(layer) if id(p) in ratio_of]
        s.update_ratio = max(ratios) if ratios else None
    findings = _optimizer_findings(patient, tr, params, grads, deltas, lr)
    return stats, findings


def _optimizer_findings(patient: Patient, tr: Trace, params, grads, deltas, lr: float
                        ) -> list[Finding]:
    name = patient.optimizer_name()
    pairs = [(p, g, d) for p, g, d in zip(params, grads, deltas, strict=True)
             if g is not None and np.any(g != 0)]
    if not pairs:
        return []
    g = np.concatenate([g.reshape(-1) for _, g, _ in pairs]).astype(np.float64)
    d = np.concatenate([d.reshape(-1) for _, _, d in pairs]).astype(np.float64)
    names = {id(p): n for n, p in tr.model.named_parameters()}
    if not np.any(d):
        return [Finding(
            "critical", f"one {name} step changed no weight",
            f"after backward and optimizer.step() at lr={lr:g}, all {len(pairs)} parameters "
            "with a non-zero gradient are unchanged.", "Without updates nothing is learned. "
            "Usual causes: the optimizer was given other parameters (of another copy of the "
            "model), or step() rebinds a name (p = p - lr * g) instead of writing into the "
            "array.", "Build the optimizer with model.parameters() of the model you train, and "
            "update in place: param.data -= lr * grad.", "optimizer",
            remedy={"action": "fix_code", "target": f"{name}.step"})]
    cosine = float(-(d @ g) / (np.linalg.norm(d) * np.linalg.norm(g)))
    if cosine < 0:
        return [Finding(
            "critical", f"the optimizer ({name}) goes uphill: its step adds the gradient",
            f"one step at lr={lr:g}: cosine between the update and the negative gradient "
            f"{cosine:+.2f} (descent gives +1 for SGD, and is positive for every descent "
            "method).", "The gradient points to where the loss grows; adding it makes the "
            "loss rise step after step (or fall only by accident).",
            "Subtract: param.data -= lr * grad. If your gradient is (y - a) rather than "
            "(a - y), fix the gradient's sign instead, so that the optimizer can subtract it.",
            "optimizer", remedy={"action": "fix_code", "target": f"{name}.step"})]
    frozen = [names.get(id(p), "?") for p, _, dp in pairs if not np.any(dp)]
    if frozen:
        return [Finding(
            "warning", f"{len(frozen)} parameter(s) with a gradient are not updated by {name}",
            f"unchanged after one step: {', '.join(frozen[:6])}"
            + (" ..." if len(frozen) > 6 else "") + ".",
            "They keep their initial values however long you train.",
            "Give the optimizer every parameter: optimizer = SGD(model.parameters(), lr).",
            "optimizer", remedy={"action": "fix_code", "target": "the optimizer's parameters"})]
    return []


def check_statistics(tr: Trace, stats: list[LayerStats], lr: float) -> list[Finding]:
    """Dead ReLUs, non-finite values, vanishing or exploding gradients, update ratios."""
    findings = []
    for s, layer in zip(stats, tr.layers, strict=True):
        where = describe(s.name, layer)
        if not (np.isfinite(s.mean) and np.isfinite(s.std) and np.isfinite(s.grad_std)):
            return [Finding(
                "critical", f"{where}: NaN or infinite values in the forward or backward pass",
                f"output mean {s.mean:.3g}, std {s.std:.3g}; gradient std {s.grad_std:.3g}.",
                "One NaN spreads to every weight at the next update.",
                "Look for an overflow (exp of large scores, a log of 0, a division by a zero "
                "std) in this layer or its input.", "statistics")]
    with_weights = [s for s in stats if s.grad_ratio is not None]
    zero = [describe(s.name, lay) for s, lay in zip(stats, tr.layers, strict=True)
            if s.grad_ratio == 0.0]
    zero_head = bool(with_weights) and with_weights[-1].zero_weights
    if zero and zero_head:          # a zero-initialised output layer: fine after one step
        findings.append(Finding(
            "info", "the output layer starts at zero, so no gradient reaches the layers before "
            "it yet", f"the weight gradient is exactly zero in: {', '.join(zero)}.",
            "The first step gives the output layer non-zero weights (its gradient differs per "
            "class); from the second step on the gradient reaches the layers before it.",
            "Nothing to do, if that is what you meant.", "statistics"))
    elif zero:
        findings.append(Finding(
            "warning", f"no gradient reaches {zero[0]}" + (f" and {len(zero) - 1} more layers"
                                                           if len(zero) > 1 else ""),
            f"the weight gradient is exactly zero in: {', '.join(zero)}.",
            "Those weights cannot learn. Something after them blocks the gradient: dead "
            "ReLUs, an all-zero weight matrix, saturated sigmoids.",
            "Initialise randomly (He / Xavier), keep inputs at unit scale.", "statistics",
            downstream=True))
    live = [s for s in with_weights if s.grad_ratio > 0]
    if len(live) >= 2:
        first, last = live[0].grad_ratio, live[-1].grad_ratio
        if last / first > FLOW_RATIO or first / last > FLOW_RATIO:
            vanish = last / first > FLOW_RATIO
            extreme = max(last / first, first / last) > FLOW_CRITICAL
            findings.append(Finding(
                "critical" if extreme else "warning",
                "gradients " + ("vanish" if vanish else "explode") + " across depth, "
                "from the output towards the input",
                f"RMS(weight gradient) / RMS(weight): {first:.2g} in the first layer with "
                f"weights, {last:.2g} in the last ({len(live)} layers with weights).",
                "Layers far from the loss then learn "
                + ("hardly at all" if vanish else "far too fast, and training diverges") + ".",
                "Use ReLU with He initialisation (not sigmoid/tanh with small weights), "
                "batch normalisation, or fewer layers.", "statistics",
                details=gradient_scale(stats, tr.layers), downstream=True,
                remedy={"action": "relu_he"}))
    ratios = [s.update_ratio for s in stats if s.update_ratio is not None and s.grad_ratio]
    if ratios and max(ratios) > UPDATE_HIGH:
        findings.append(Finding(
            "warning", f"one step changes the weights by up to {max(ratios):.0%}",
            f"||update|| / ||weight|| after one step at lr={lr:g}: up to {max(ratios):.2g} "
            "(about 1e-3 is the usual rule of thumb).", "Steps that large overshoot: the loss "
            "jumps around or diverges.", "Lower the learning rate (see the range test).",
            "statistics"))
    elif ratios and max(ratios) < UPDATE_LOW:
        findings.append(Finding(
            "warning", "one step barely changes the weights",
            f"||update|| / ||weight|| after one step at lr={lr:g}: at most {max(ratios):.2g} "
            "(about 1e-3 is the usual rule of thumb).", "Training will take forever.",
            "Raise the learning rate (see the range test).", "statistics"))
    return findings


def gradient_scale(stats: list[LayerStats], layers) -> str:
    """Gradient scale per layer with weights, from the output to the input."""
    rows = [f"{describe(s.name, layer)[:30]:<32}{s.grad_ratio:>10.2g}"
            for s, layer in zip(stats, layers, strict=True) if s.grad_ratio is not None]
    return "\n".join([f"{'from the output to the input':<32}{'dW/W':>10}", *rows[::-1]])


def stats_table(stats: list[LayerStats], layers) -> str:
    head = (f"{'layer':<24}{'output':<18}{'mean':>9}{'std':>9}{'dead':>7}{'grad std':>10}"
            f"{'dW/W':>9}{'step/W':>9}")
    lines = [head, "-" * len(head)]
    fmt = lambda v, spec: "" if v is None else format(v, spec)  # noqa: E731
    for s, layer in zip(stats, layers, strict=True):
        lines.append(f"{describe(s.name, layer)[:23]:<24}{str(s.shape)[:17]:<18}"
                     f"{s.mean:>9.3g}{s.std:>9.3g}{fmt(s.dead, '.0%'):>7}{s.grad_std:>10.2g}"
                     f"{fmt(s.grad_ratio, '.2g'):>9}{fmt(s.update_ratio, '.2g'):>9}")
    lines.append("dead: units that output 0 for every sample; grad std: of d(loss)/d(output)")
    lines.append("dW/W: RMS(weight gradient) / RMS(weight); step/W: ||update|| / ||weight||")
    return "\n".join(lines)
