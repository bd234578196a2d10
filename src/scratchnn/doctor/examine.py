"""doctor(model, loss_fn, x, y, lr=None): run every check and return the Report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scratchnn.data.batches import batches as plain_batches
from scratchnn.doctor import (
    activations,
    data_checks,
    gradients,
    held_out,
    learning,
    modes,
    pairs,
    statistics,
    structure,
    training_plan,
)
from scratchnn.doctor.lr_range import LRS, lr_range_test, lr_range_verdict
from scratchnn.doctor.lr_range import STEPS as RANGE_STEPS
from scratchnn.doctor.patient import Patient, leaves
from scratchnn.doctor.report import Finding, Report
from scratchnn.errors import ShapeError
from scratchnn.optim import make_optimizer

SAMPLES = 2000        # the doctor works on a random subset of this many samples
GRADCHECK_SAMPLES = 4
STATS_SAMPLES = 256
BUDGET = 1e11         # multiply-adds of the training checks (a few tens of seconds on one core)
PLANNED_STEPS = 500   # their training steps at full effort (range test, overfit, generalise)
EXPENSIVE_HELD_OUT = 500   # held-out samples evaluated for a model over the budget


def doctor(model, loss_fn, x: np.ndarray, y: np.ndarray, lr: float | None = None, *,
           optimizer=None, batches: Callable | None = None, batch_size: int = 32,
           samples: int = SAMPLES, seed: int = 0, weight_decay: float | None = None,
           held_out: tuple[np.ndarray, np.ndarray] | None = None,
           schedule: Callable[[float], float] | None = None, epochs: float | None = None
           ) -> Report:
    """Examine why `model` (any Layer) might not learn from (x, y) with `loss_fn`.

    Nothing passed in is changed: every check works on copies. Checks, in the order the report
    ranks their findings: inputs and labels; the batch iterator's (x, y) pairs; a float64
    gradient check of every layer at its own input (naming the first that disagrees) and of the
    loss; structure (an activation before a fused softmax loss, identical units, layers that
    ignore eval()); the optimizer's direction; the starting loss against chance; the learning
    rate, its schedule and the weight decay; per-layer statistics (dead, saturated or constant
    units, gradient scale across depth); overfitting one batch; generalising to held-out
    samples. A learning-rate range test gives the curve (`report.lr_curve`) and a suggested
    rate. Report.relate then puts causes before the symptoms they explain.

    lr: the learning rate you train with (default: the optimizer's, else the suggested one).
    optimizer: None (plain SGD: w -= lr * grad), a name ("adam"), an optimizer built on
        model.parameters() (copied and rebound, never stepped itself), or a function
        (params, lr) -> optimizer.
    batches: your batch iterator, called as batches(x, y, batch_size, shuffle=True, rng=rng)
        like scratchnn.data.batches (the default); one pass is checked for broken (x, y) pairs.
    samples: at most this many samples (a random subset) are used.
    weight_decay: the weight decay of an optimizer given by name or None (an optimizer object
        has its own).
    held_out: (x, y) the model does not train on (a validation split, a test set): checked for
        samples shared with x, and used to measure accuracy on unseen data.
    schedule, epochs: the learning-rate schedule (epoch -> lr) and the epochs it will run for.
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
    if weight_decay is not None and (optimizer is None or isinstance(optimizer, str)):
        optimizer = _with_weight_decay(optimizer or "sgd", weight_decay)
    patient = Patient(model, loss_fn, x_raw, x_model, y_sample, optimizer, lr,
                      batches or plain_batches, batch_size, seed)
    report = Report(subject=_subject(patient, len(x)))
    plan = Plan(_held_out(held_out, samples, rng), schedule, epochs)
    _examine(patient, report, x, y, plan)
    report.relate()
    report.seconds = time.perf_counter() - started
    return report


def _with_weight_decay(name: str, weight_decay: float) -> Callable:
    """The optimizer called `name` with this weight decay, as a (params, lr) -> optimizer."""
    def build(params, lr):
        return make_optimizer(name, params, lr, weight_decay=weight_decay)

    build.__name__ = f"{name} weight_decay={weight_decay:g}"
    return build


@dataclass
class Plan:
    """What surrounds the model: held-out data (as given, and as the model sees it), the
    learning-rate schedule and its epochs."""

    held_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None   # x as given, x, y
    schedule: Callable[[float], float] | None = None
    epochs: float | None = None


def _held_out(held_out, samples: int, rng: np.random.Generator):
    """(x as given, x as the model sees it, y) of at most `samples` held-out samples."""
    if held_out is None:
        return None
    x, y = (np.asarray(a) for a in held_out)
    if len(x) != len(y):
        raise ShapeError(f"held-out x and y differ in length: {len(x)} vs {len(y)}")
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "biu":
        y = y.ravel()
    keep = np.sort(rng.permutation(len(x))[:samples])
    return x, (x[keep].astype(np.float32) if x.dtype.kind in "biu" else x[keep]), y[keep]


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


def _examine(patient: Patient, report: Report, x_all: np.ndarray, y_all: np.ndarray,
             plan: Plan) -> None:
    param_dtype = next((p.data.dtype for p in patient.model.parameters()), np.float32)
    _run(report, "inputs", data_checks.check_inputs, x_all, patient.x, param_dtype)
    tr = _run(report, "forward", _trace, patient, STATS_SAMPLES)
    scores = tr.outputs[-1] if tr else _scores(patient)
    outputs = scores.shape[1] if scores is not None and scores.ndim == 2 else None
    usable = _run(report, "labels", data_checks.check_labels, y_all, outputs)
    if not tr or not usable:
        return                  # nothing below can run: the findings say why
    if plan.held_out is not None:
        _run(report, "held-out data", held_out.check_shared, x_all, plan.held_out[0])
    _run(report, "batches", pairs.check_batches, patient.batches, patient.x_raw, patient.y,
         patient.batch_size, patient.rng(20), _name(patient.batches))
    _run(report, "gradient", gradients.check_layers, patient, patient.x[:GRADCHECK_SAMPLES])
    _run(report, "loss gradient", gradients.check_loss, patient, *patient.batch(8))
    structural = {"hidden layers": (structure.check_hidden, patient.model),
                  "final activation": (structure.check_last_activation, patient, tr),
                  "activations": (activations.check_activations, tr),
                  "eval mode": (structure.check_eval_mode, patient, patient.x[:64]),
                  "training mode": (modes.check_given_mode, patient),
                  "dropout rate": (modes.check_dropout_rate, patient, patient.x[:64]),
                  "conv padding": (structure.check_conv_padding, tr)}
    for name, (check, *args) in structural.items():
        _run(report, name, lambda c=check, a=args: (c(*a), ""))
    effort = _effort(tr, patient.batch_size)
    if effort < 1:
        report.passed.append(f"an expensive model: the training checks ran {effort:.0%} of "
                             "their usual steps (the range test at 10x rates, within 100x of "
                             "the given rate)")
    lrs, range_steps = (LRS, RANGE_STEPS) if effort == 1 else (
        _near(LRS[::2], patient.given_lr()), max(6, round(RANGE_STEPS * effort)))
    curve = _run(report, "lr range", lambda: ([], "", lr_range_test(
        patient, patient.x, patient.y, lrs, range_steps)))
    report.lr_curve = curve or None
    suggested = curve.suggested if curve else None
    lr = patient.given_lr() or suggested or 1e-2
    _run(report, "statistics", _statistics, patient, tr, lr, report)
    if plan.schedule is not None and plan.epochs:
        _run(report, "schedule", training_plan.check_schedule, plan.schedule, plan.epochs)
    ys = patient.y[:len(scores)]
    _run(report, "starting loss", learning.check_init_loss, patient, tr.loss, scores, ys)
    try:
        uniform = learning.chance_loss(patient, scores, ys)
    except Exception:  # noqa: BLE001 - a user's loss may refuse all-zero scores
        uniform = tr.loss
    _run(report, "weight decay", training_plan.check_weight_decay, patient, lr, uniform)
    working = _run(report, "overfit", learning.check_overfit, patient, uniform, suggested)
    held = plan.held_out[1:] if plan.held_out is not None else None
    if held is not None and effort < 1:             # evaluating is costly too
        held = tuple(a[:EXPENSIVE_HELD_OUT] for a in held)
    if working:
        _run(report, "generalisation", learning.check_generalisation, patient, working, held,
             max(20, round(learning.GENERALISE_STEPS * effort)))
    if held is not None and data_checks.is_classification(patient.y, outputs or 0):
        report.passed.append(held_out.model_as_given(patient.copy_model(), *held))
    if curve:
        _run(report, "lr verdict", lambda: lr_range_verdict(curve, working or None))


def _near(lrs: tuple[float, ...], given: float | None) -> tuple[float, ...]:
    """The rates within 100x of the given one (all of them without one)."""
    near = tuple(lr for lr in lrs if given is None or given / 101 <= lr <= given * 101)
    return near if len(near) >= 3 else lrs


def _effort(tr, batch_size: int) -> float:
    """The share of the usual training steps the doctor can afford for this model: 1, or less
    when the steps planned (about 500) would cost more than BUDGET multiply-adds. The cost of a
    sample: each weight array's size times the positions it is applied at (a convolution's
    output pixels), three times over for forward and backward."""
    per_sample = sum(p.data.size * (int(np.prod(out.shape[2:])) if out.ndim > 2 else 1)
                     for layer, out in zip(tr.layers, tr.outputs, strict=True)
                     for p in layer.parameters() if p.data.ndim >= 2)
    planned = PLANNED_STEPS * 3 * per_sample * batch_size
    return 1.0 if planned <= BUDGET else max(BUDGET / planned, 0.1)


def _statistics(patient: Patient, tr, lr: float, report: Report):
    stats, findings = statistics.layer_stats(patient, tr, lr)
    findings += statistics.check_statistics(tr, stats, lr)
    report.sections.append((f"per layer (one training step on {len(tr.inputs[0])} samples, "
                            f"lr={lr:g})", statistics.stats_table(stats, tr.layers)))
    return findings, "per-layer statistics: no dead layers, gradients flow, updates of sane size"
