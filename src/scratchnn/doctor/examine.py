"""doctor(model, loss_fn, x, y, lr=None): run every check and return the Report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from scratchnn.data.batches import batches as plain_batches
from scratchnn.doctor import data_checks, gradients, learning, pairs, statistics, structure
from scratchnn.doctor.lr_range import lr_range_test, lr_range_verdict
from scratchnn.doctor.patient import Patient, leaves
from scratchnn.doctor.report import Finding, Report
from scratchnn.errors import ShapeError

SAMPLES = 2000        # the doctor works on a random subset of this many samples
GRADCHECK_SAMPLES = 4
STATS_SAMPLES = 256


def doctor(model, loss_fn, x: np.ndarray, y: np.ndarray, lr: float | None = None, *,
           optimizer=None, batches: Callable | None = None, batch_size: int = 32,
           samples: int = SAMPLES, seed: int = 0) -> Report:
    """Examine why `model` (any Layer) might not learn from (x, y) with `loss_fn`.

    Nothing passed in is changed: every check works on copies. Checks, in the order the report
    ranks their findings: inputs and labels; the batch iterator's (x, y) pairs; a float64
    gradient check of every layer at its own input (naming the first that disagrees) and of the
    loss; structure (an activation before a fused softmax loss, identical units, layers that
    ignore eval()); the optimizer's direction; the starting loss against chance; the learning
    rate; per-layer statistics; overfitting one batch; generalising to held-out samples. A
    learning-rate range test gives the curve (`report.lr_curve`) and a suggested rate.

    lr: the learning rate you train with (default: the optimizer's, else the suggested one).
    optimizer: None (plain SGD: w -= lr * grad), a name ("adam"), an optimizer built on
        model.parameters() (copied and rebound, never stepped itself), or a function
        (params, lr) -> optimizer.
    batches: your batch iterator, called as batches(x, y, batch_size, shuffle=True, rng=rng)
        like scratchnn.data.batches (the default); one pass is checked for broken (x, y) pairs.
    samples: at most this many samples (a random subset) are used.
    """
    started = time.perf_counter()
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ShapeError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if len(x) < 2:
        raise ShapeError(f"the doctor needs at least 2 samples, got {len(x)}")
    rng = np.random.default_rng([seed, 1])
    subset = np.sort(rng.permutation(len(x))[:samples]) if len(x) > samples else np.arange(len(x))
    order = rng.permutation(len(subset))                 # a shuffled sample: every class early
    x_raw, y_sample = x[subset][order], y[subset][order]
    x_model = x_raw.astype(np.float32) if x_raw.dtype.kind in "biu" else x_raw
    if y_sample.ndim == 2 and y_sample.shape[1] == 1 and y_sample.dtype.kind in "biu":
        y_sample = y_sample.ravel()       # reported by check_labels; the rest can go on
    patient = Patient(model, loss_fn, x_raw, x_model, y_sample, optimizer, lr,
                      batches or plain_batches, batch_size, seed)
    report = Report(subject=_subject(patient, len(x)))
    _examine(patient, report, x, y)
    _relate(report)
    report.seconds = time.perf_counter() - started
    return report


CAUSES = ("inputs", "labels", "batches", "gradients", "structure", "optimizer")
SYMPTOMS = ("init-loss", "learning-rate", "statistics", "overfit", "lr-range")


def _relate(report: Report) -> None:
    """Point symptoms (a learning rate that diverges, a batch that cannot be fitted) at the
    critical cause ranked above them: fixing the cause changes what they measure."""
    causes = [i for i, f in enumerate(report.findings, 1)
              if f.severity == "critical" and f.check in CAUSES]
    if not causes:
        return
    which = ", ".join(str(i) for i in causes[:3])
    note = (f" This may well follow from finding{'s' * (len(causes) > 1)} {which} above: fix "
            f"{'that' if len(causes) == 1 else 'those'} first and examine again.")
    report.findings = [dataclasses.replace(f, why=f.why + note) if f.check in SYMPTOMS else f
                       for f in report.findings]


def _name(function) -> str:
    """'scratchnn.data.batches', 'my_batches' (a user's function in __main__)."""
    name = getattr(function, "__qualname__", type(function).__name__)
    module = getattr(function, "__module__", "") or ""
    if module.startswith("scratchnn."):
        module = "scratchnn.data" if module == "scratchnn.data.batches" else module
        return f"{module}.{name}"
    return name


def _subject(patient: Patient, total: int) -> str:
    model = patient.model
    kinds = [type(layer).__name__ for _, layer in leaves(model)]
    shown = ", ".join(kinds) if len(kinds) <= 12 else ", ".join(kinds[:11]) + ", ..."
    lr = patient.given_lr()
    return (f"{type(model).__name__}({shown}), {model.num_parameters():,} parameters; "
            f"{type(patient.loss_fn).__name__}; {patient.optimizer_name()} "
            f"{'lr=' + format(lr, 'g') if lr is not None else '(no lr given)'}; "
            f"{len(patient.x)} of {total} samples")


def _run(report: Report, name: str, check: Callable, *args):
    """Run one check: add its findings, and its summary line to "passed" when it found no
    problem. Returns the check's extra result (None if it crashed). A check that crashes (on
    a user's layer that raises, say) becomes a finding instead of ending the examination."""
    started = time.perf_counter()
    try:
        findings, summary, *extra = check(*args)
    except Exception as error:  # noqa: BLE001 - anything a user's code raises is a finding
        report.add(Finding("warning", f"the {name} check could not run",
                           f"{type(error).__name__}: {error}", "This part of the examination "
                           "is missing from the report.", "Fix the error, or report it if it "
                           "is the doctor's.", "doctor"))
        return None
    finally:
        report.timings[name] = time.perf_counter() - started
    for finding in findings:
        report.add(finding)
    if summary and all(f.severity == "info" for f in findings):
        report.passed.append(summary)
    return extra[0] if extra else True


def _trace(patient: Patient, n: int):
    """Forward and backward of a copy on n samples, every layer's values kept."""
    xb, yb = patient.batch(n)
    try:
        return [], "", patient.trace(patient.copy_model(), xb, yb)
    except Exception as error:  # noqa: BLE001
        return [Finding("critical", "the model cannot run a forward and backward pass",
                        f"{type(error).__name__}: {error}", "Nothing can be learned before "
                        "this works.", "Fix the error (often a shape: check each layer's "
                        "input and output shapes).", "forward")], "", None


def _scores(patient: Patient) -> np.ndarray | None:
    """The model's outputs for two samples, when forward works though the loss fails."""
    try:
        return patient.copy_model().forward(patient.x[:2])
    except Exception:  # noqa: BLE001 - reported by _trace already
        return None


def _examine(patient: Patient, report: Report, x_all: np.ndarray, y_all: np.ndarray) -> None:
    param_dtype = next((p.data.dtype for p in patient.model.parameters()), np.float32)
    _run(report, "inputs", data_checks.check_inputs, x_all, patient.x, param_dtype)
    tr = _run(report, "forward", _trace, patient, STATS_SAMPLES)
    scores = tr.outputs[-1] if tr else _scores(patient)
    outputs = scores.shape[1] if scores is not None and scores.ndim == 2 else None
    usable = _run(report, "labels", data_checks.check_labels, y_all, outputs)
    if not tr or not usable:
        return                  # nothing below can run: the findings say why
    _run(report, "batches", pairs.check_batches, patient.batches, patient.x_raw, patient.y,
         patient.batch_size, patient.rng(20), _name(patient.batches))
    _run(report, "gradient", gradients.check_layers, patient, patient.x[:GRADCHECK_SAMPLES])
    _run(report, "loss gradient", gradients.check_loss, patient, *patient.batch(8))
    structural = {"hidden layers": (structure.check_hidden, patient.model),
                  "final activation": (structure.check_last_activation, patient, tr),
                  "symmetry": (structure.check_symmetry, tr),
                  "eval mode": (structure.check_eval_mode, patient, patient.x[:64])}
    for name, (check, *args) in structural.items():
        _run(report, name, lambda c=check, a=args: (c(*a), ""))
    curve = _run(report, "lr range", lambda: ([], "", lr_range_test(patient, patient.x,
                                                                     patient.y)))
    report.lr_curve = curve or None
    suggested = curve.suggested if curve else None
    lr = patient.given_lr() or suggested or 1e-2
    _run(report, "statistics", _statistics, patient, tr, lr, report)
    ys = patient.y[:len(scores)]
    _run(report, "starting loss", learning.check_init_loss, patient, tr.loss, scores, ys)
    try:
        uniform = learning.chance_loss(patient, scores, ys)
    except Exception:  # noqa: BLE001 - a user's loss may refuse all-zero scores
        uniform = tr.loss
    working = _run(report, "overfit", learning.check_overfit, patient, uniform, suggested)
    if working:
        _run(report, "generalisation", learning.check_generalisation, patient, working)
    if curve:
        _run(report, "lr verdict", lambda: lr_range_verdict(curve, working or None))


def _statistics(patient: Patient, tr, lr: float, report: Report):
    stats, findings = statistics.layer_stats(patient, tr, lr)
    findings += statistics.check_statistics(tr, stats, lr)
    report.sections.append((f"per layer (one training step on {len(tr.inputs[0])} samples, "
                            f"lr={lr:g})", statistics.stats_table(stats, tr.layers)))
    return findings, "per-layer statistics: no dead layers, gradients flow, updates of sane size"
