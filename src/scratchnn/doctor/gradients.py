"""Gradient checks: every layer at its own input, then the loss at the model's own scores.

Each leaf layer of the model (see patient.leaves) is checked with scratchnn.gradcheck.check_layer
on a float64 copy, at the input it receives in a forward pass of a small batch; the report names
the FIRST layer whose backward disagrees. A failure is confirmed at a second, jittered input
before it is reported: an input sitting exactly on a kink (ReLU at 0 after an all-zero layer, a
tie in a max-pool window) fools centred differences, a wrong backward fails at any input.
When a check fails, the doctor says how the backward differs: a sign, a factor N (the 1/N of a
batch mean), the softmax derivative s(1 - s) multiplied in, or a different formula.
"""

from __future__ import annotations

import numpy as np

from scratchnn import gradcheck
from scratchnn.doctor.conv_gradients import name_conv_bug
from scratchnn.doctor.patient import Patient, describe, leaves
from scratchnn.doctor.report import Finding
from scratchnn.functional import softmax
from scratchnn.snapshot import freeze

MAX_CHECKS = 20          # coordinates sampled per array (as `scratchnn gradcheck`)
EXPLAIN_CHECKS = 200     # coordinates used to explain a failure
WHY = ("Gradient descent follows the gradients that backward computes. A wrong one sends the "
       "updates in a wrong direction or at a wrong scale: the loss stalls, falls then rises, or "
       "a learning rate that should work diverges, and no tuning fixes it.")


def _err(value: float) -> str:
    return f"{value:.2f}" if value >= 0.01 else f"{value:.1e}"


def jitter(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x moved off any kink: plus 10% of its RMS (or 0.1) in Gaussian noise."""
    scale = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    return x + 0.1 * (scale or 1.0) * rng.standard_normal(x.shape)


def explain(analytic: np.ndarray, numeric: np.ndarray, n: int,
            probs: np.ndarray | None = None) -> str:
    """How the backward's gradient relates to the true (numerical) one, in words."""
    a, t = analytic.reshape(-1), numeric.reshape(-1)
    norm_a, norm_t = float(np.linalg.norm(a)), float(np.linalg.norm(t))
    if norm_a == 0:
        return "backward returns zeros where the true gradient is not zero"
    if norm_t == 0:
        return "the true gradient is zero here, but backward returns non-zero values"
    k = float(a @ t) / norm_t**2
    if np.linalg.norm(a - k * t) < 1e-4 * norm_a:
        return _factor(k, n, "the true gradient", alone=True)
    if probs is not None:
        m = t * (probs * (1 - probs)).reshape(-1)
        k2 = float(a @ m) / float(m @ m)
        if np.linalg.norm(a - k2 * m) < 1e-4 * norm_a:
            return ("backward returns the true gradient multiplied by s(1 - s), the softmax "
                    "derivative (the diagonal of the softmax Jacobian)"
                    + _factor(k2, n, "", alone=False))
    corr = float(a @ t) / (norm_a * norm_t)
    return (f"backward is not a constant multiple of the true gradient (correlation "
            f"{corr:.2f}): the formula is wrong, not just a factor")


def _factor(k: float, n: int, what: str, alone: bool) -> str:
    """Words for a gradient that is k times `what`."""
    close = lambda v: abs(k - v) <= 1e-3 * max(1.0, abs(v))  # noqa: E731
    if alone:
        if close(-1):
            return f"backward returns exactly minus {what}: a sign error"
        if close(n) and n > 1:
            return (f"backward returns exactly N = {n} (the batch size) times {what}: the 1/N "
                    "of the batch mean is missing")
        if close(-n) and n > 1:
            return (f"backward returns exactly -N = -{n} times {what}: the sign is flipped "
                    "and the 1/N of the batch mean is missing")
        if close(1 / n) and n > 1:
            return f"backward returns exactly 1/N = 1/{n} of {what}: divided by N twice"
        return f"backward returns {k:.4g} times {what}: a constant factor is wrong"
    if close(1):
        return ""
    if close(-1):
        return ", and with the sign flipped"
    if close(n) and n > 1:
        return f", and without the 1/N of the batch mean (N = {n})"
    if close(-n) and n > 1:
        return f", with the sign flipped and without the 1/N of the batch mean (N = {n})"
    return f", times {k:.4g}"


def _layer_arrays(layer, x: np.ndarray, array: str, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(analytic, numerical) gradient of sum(layer(x) * dout) for one array, on a sample."""
    layer = gradcheck._float64_copy(layer)
    layer.train()
    restore = freeze(layer)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    layer.zero_grad()
    dx = layer.backward(dout.copy())
    if array == "input":
        target, analytic = x, dx
    else:
        param = dict(layer.named_parameters())[array]
        target = param.data
        analytic = param.grad if param.grad is not None else np.zeros_like(target)

    def f() -> np.ndarray:
        restore()
        return layer.forward(x) * dout

    index = gradcheck._sample(target.size, EXPLAIN_CHECKS, rng)
    numeric = gradcheck.numerical_gradient(f, target, index=index)
    keep = slice(None) if index is None else index
    return analytic.reshape(-1)[keep], numeric.reshape(-1)[keep]


def _check_leaf(layer, x: np.ndarray, rng: np.random.Generator
                ) -> tuple[gradcheck.GradcheckReport, np.ndarray]:
    """check_layer at x; a failure re-checked at a jittered x (the better result is kept)."""
    report = gradcheck.check_layer(layer, x, max_checks=MAX_CHECKS, rng=rng)
    if report.ok:
        return report, x
    moved = jitter(x, rng)
    retry = gradcheck.check_layer(layer, moved, max_checks=MAX_CHECKS, rng=rng)
    return (retry, moved) if retry.max_rel_error < report.max_rel_error else (report, x)


def check_layers(patient: Patient, x: np.ndarray) -> tuple[list[Finding], str]:
    """Gradient-check every leaf layer at its own input; one finding naming the first failure."""
    rng = patient.rng(30)
    model = patient.copy_model(np.float64)
    h = np.asarray(x, np.float64)
    failures, checked, worst_ok = [], 0, 0.0
    for name, layer in leaves(model):
        try:
            report, at = _check_leaf(layer, h, rng)
        except Exception as error:                     # a user's backward may crash
            failures.append((name, layer, None, h, f"{type(error).__name__}: {error}"))
            break
        checked += 1
        if report.ok:
            worst_ok = max(worst_ok, report.max_rel_error)
        else:
            failures.append((name, layer, report, at, ""))
        h = layer.forward(h)
    if not failures:
        return [], (f"gradient check: all {checked} layers agree with centred differences in "
                    f"float64 (max relative error {worst_ok:.1e}, tolerance "
                    f"{gradcheck.TOLERANCE:g})")
    name, layer, report, at, crash = failures[0]
    where = describe(name, layer)
    if crash:
        return [Finding("critical", f"{where}: backward fails", f"the gradient check of {where} "
                        f"raised {crash}.", WHY, f"Fix {type(layer).__name__}.backward.",
                        "gradients", layer=[n for n, _ in leaves(model)].index(name),
                        remedy={"action": "fix_code",
                                "target": f"{type(layer).__name__}.backward"})], ""
    worst = report.worst()
    analytic, numeric = _layer_arrays(layer, at, worst.name, rng)
    how = explain(analytic, numeric, len(at))
    named = name_conv_bug(layer, at, rng) if worst.name == "input" else None
    how = named or how
    others = [describe(n, lay) for n, lay, *_ in failures[1:]]
    before = [n for n, _ in leaves(model)].index(name)
    measured = (f"float64 gradient check at the layer's own input ({len(at)} samples): "
                f"relative error {_err(worst.max_rel_error)} for '{worst.name}' (tolerance "
                f"{gradcheck.TOLERANCE:g}); {how}."
                + ({0: "", 1: " The layer before it agrees."}.get(
                    before, f" The {before} layers before it agree."))
                + (f" Later layers that also fail: {', '.join(others)}." if others else ""))
    fix = (f"Fix {type(layer).__name__}.backward, then check it alone until the relative error "
           "is below 1e-6: snn.gradcheck.check_layer(layer, x) for a Layer, "
           "snn.gradcheck.check_pair(forward, backward, *inputs) for a functional pair.")
    return [Finding("critical", f"{where}: backward disagrees with the numerical gradient",
                    measured, WHY, fix, "gradients", details=report.table(),
                    layer=before, remedy={"action": "fix_code",
                                          "target": f"{type(layer).__name__}.backward"})], ""


def check_loss(patient: Patient, x: np.ndarray, y: np.ndarray) -> tuple[list[Finding], str]:
    """Gradient-check the loss at the scores the model gives for x."""
    rng = patient.rng(31)
    model = patient.copy_model(np.float64)
    scores = model.forward(np.asarray(x, np.float64))
    name = type(patient.loss_fn).__name__
    report = gradcheck.check_loss(patient.loss_fn, scores, y)
    if not report.ok:
        moved = jitter(scores, rng)
        retry = gradcheck.check_loss(patient.loss_fn, moved, y)
        if retry.ok:
            report = retry
        else:
            scores, report = (moved, retry) if retry.max_rel_error < report.max_rel_error else (
                scores, report)
    if report.ok:
        return [], (f"loss gradient: {name}.backward agrees with centred differences "
                    f"(relative error {report.max_rel_error:.1e})")
    loss_fn = patient.copy_loss()
    loss_fn.forward(scores, y)
    analytic = np.asarray(loss_fn.backward(), np.float64)
    numeric = gradcheck.numerical_gradient(lambda: loss_fn.forward(scores, y), scores)
    probs = softmax(scores) if scores.ndim == 2 else None
    how = explain(analytic, numeric, len(scores), probs)
    if "s(1 - s)" in how:
        fix = ("For softmax followed by cross-entropy the gradient with respect to the scores is "
               "(softmax(scores) - onehot(y)) / N: the softmax Jacobian and the log's 1/p cancel, "
               "so softmax'(z) must not be multiplied in again. Use snn.losses.SoftmaxCrossEntropy"
               ", or return (probs - onehot) / N from your backward.")
    else:
        fix = (f"Derive d(loss)/d(scores) of {name} again (a mean over the batch brings a 1/N) "
               "and check it with snn.gradcheck.check_loss(loss_fn, scores, y).")
    measured = (f"float64 check of d(loss)/d(scores) at the model's scores for {len(scores)} "
                f"samples: relative error {_err(report.max_rel_error)} (tolerance "
                f"{gradcheck.TOLERANCE:g}); {how}.")
    return [Finding("critical", f"the loss's backward ({name}) disagrees with the numerical "
                    "gradient", measured, "Every gradient in the network starts from this one. "
                    + WHY, fix, "gradients", details=report.table(),
                    remedy={"action": "fix_code", "target": f"{name}.backward"})], ""
