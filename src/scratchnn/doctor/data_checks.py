"""Checks of the data itself: the inputs (dtype, NaN/Inf, scale, constant features) and the labels
(shape, range, class balance)."""

from __future__ import annotations

import numpy as np

from scratchnn import labels as labels_module
from scratchnn.doctor.report import Finding
from scratchnn.errors import DataError, ShapeError, one_line
from scratchnn.labels import class_labels

SCALE_CRITICAL = 10.0     # RMS of the inputs above this: the first layer saturates or explodes
SCALE_WARNING = 3.0
SCALE_TINY = 1e-2


def check_inputs(x_raw: np.ndarray, x: np.ndarray, param_dtype) -> tuple[list[Finding], str]:
    """Findings about the inputs, and a one-line summary for the "passed" list.

    x_raw: every input as given; x: the doctor's sample as the model sees it (float).
    """
    findings = []
    if x_raw.dtype.kind in "biu":
        low, high = x_raw.min(), x_raw.max()
        findings.append(Finding(
            "critical", f"the inputs are raw {x_raw.dtype} values ({low}..{high}), not scaled "
            "floats", f"x.dtype = {x_raw.dtype}, values from {low} to {high}; the checks below "
            "ran on x.astype(float32), unscaled, which is what the network computes with if "
            "nobody converts them.",
            "Integer pixels are hundreds of times larger than the unit-scale inputs that weight "
            "initialisations assume: the first layer's outputs are huge, softmax saturates, the "
            "loss starts far above ln(C) and the gradients explode (uint8 arithmetic can also "
            "overflow and wrap around).",
            "Convert and scale before the network: x = x.astype(np.float32) / 255 (or "
            "standardise with the training set's mean and std, as "
            "scratchnn.data.Standardize.fit(x_train) does).", "inputs", layer=-1,
            remedy={"action": "scale_inputs"}))
    bad = int(x_raw.size - np.count_nonzero(np.isfinite(x_raw))) if x_raw.dtype.kind == "f" else 0
    if bad:
        findings.append(Finding(
            "critical", "the inputs contain NaN or infinite values",
            f"{bad} of {x_raw.size} input values are NaN or +-inf.",
            "One NaN input makes that sample's loss NaN, and through the gradient every weight.",
            "Find where they come from (a division by a zero std, a failed parse, a missing "
            "value) and drop or impute those samples.", "inputs", layer=-1))
        return findings, ""
    flat = x.reshape(len(x), -1).astype(np.float64)
    rms = float(np.sqrt(np.mean(flat**2))) if flat.size else 0.0
    std = flat.std(axis=0)
    constant = int(np.count_nonzero(std == 0))
    if rms == 0 or constant == flat.shape[1]:
        findings.append(Finding(
            "critical", "every input feature is constant", f"all {flat.shape[1]} features take "
            f"one value in the sample (RMS {rms:.3g}).", "Constant inputs carry no information: "
            "every sample looks the same to the network.", "Check the data loading (a wrong "
            "slice, a mask multiplied in, an over-eager normalisation).", "inputs", layer=-1))
        return findings, ""
    if x_raw.dtype.kind not in "biu":
        if rms > SCALE_WARNING:
            findings.append(Finding(
                "critical" if rms > SCALE_CRITICAL else "warning",
                f"the inputs are large: root-mean-square {rms:.3g}, expected about 1",
                f"RMS of the inputs {rms:.3g}, mean {flat.mean():.3g}, values from "
                f"{flat.min():.3g} to {flat.max():.3g}.",
                "Initialisations (He, Xavier) assume inputs of unit scale; inputs "
                f"{rms:.0f}x larger make the first layer's outputs and the gradients of its "
                "weights that much larger, which acts like a learning rate far too high.",
                "Scale the inputs: divide images by 255, or standardise each feature with the "
                "training set's mean and std.", "inputs", layer=-1,
                remedy={"action": "scale_inputs"}))
        elif rms < SCALE_TINY:
            findings.append(Finding(
                "warning", f"the inputs are tiny: root-mean-square {rms:.3g}, expected about 1",
                f"RMS of the inputs {rms:.3g}, values from {flat.min():.3g} to "
                f"{flat.max():.3g} (divided by 255 twice?).",
                "The signal reaching the first layer is swamped by its bias, and its weights "
                "learn very slowly.", "Standardise the inputs to mean 0 and std 1.", "inputs",
                layer=-1, remedy={"action": "scale_inputs"}))
        varying = std[std > 0]
        spread = float(varying.max() / np.median(varying))
        if spread > 100:
            findings.append(Finding(
                "warning", f"the input features differ in scale by a factor of {spread:.0f}",
                f"per-feature std from {varying.min():.3g} to {varying.max():.3g} (median "
                f"{np.median(varying):.3g}).", "The largest features dominate the first layer "
                "and the gradient; the small ones are learned hardly at all.",
                "Standardise each feature: (x - mean) / std with the training set's "
                "statistics.", "inputs", layer=-1,
                remedy={"action": "scale_inputs"}))
    if constant:
        findings.append(Finding(
            "info", f"{constant} of {flat.shape[1]} input features are constant in the sample",
            f"{constant} features have zero variance over {len(x)} samples.",
            "They carry no information (harmless: image borders often are constant).",
            "Nothing to do, unless you expected them to vary.", "inputs"))
    if x.dtype == np.float64 and np.dtype(param_dtype) == np.float32:
        findings.append(Finding(
            "info", "the inputs are float64, the parameters float32",
            "x.dtype = float64: NumPy then computes every layer in float64.",
            "float64 is about twice as slow and holds twice the memory, for no gain in "
            "training.", "x = x.astype(np.float32)", "inputs"))
    summary = (f"inputs: {x_raw.dtype}, RMS {rms:.3g}, mean {flat.mean():.3g}, no NaN/Inf, "
               f"{flat.shape[1]} features")
    return findings, summary


def is_classification(y: np.ndarray, num_outputs: int | None) -> bool:
    """Integer class labels (N,), or rows of class probabilities (N, C) matching the outputs."""
    if y.ndim == 1 and y.dtype.kind in "biu":
        return True
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "biu":
        return True
    return (y.ndim == 2 and y.dtype.kind == "f" and y.shape[1] == num_outputs
            and bool(np.all(y >= 0)) and np.allclose(y.sum(axis=1), 1.0, atol=1e-3))


def check_labels(y: np.ndarray, num_outputs: int | None) -> tuple[list[Finding], str, bool]:
    """Findings about classification labels: shape, range, balance, and whether the model can
    be trained on them at all. Regression targets (float arrays shaped like the outputs) are
    only checked for NaN/Inf. The shape and range come from scratchnn.labels.check_labels: its
    error message is the finding's title, as the Trainer and the losses would say it."""
    shape_error = None
    if num_outputs is not None:
        try:
            labels_module.check_labels(y, num_outputs)
        except DataError as error:
            return [_bad_values(y, num_outputs, error)], "", False
        except ShapeError as error:
            if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "biu":
                findings, summary, usable = check_labels(y.ravel(), num_outputs)
                return [_column(y, error), *findings], summary, usable
            if y.dtype.kind != "f":
                return [Finding("critical", one_line(error), f"y.shape = {y.shape}, y.dtype = "
                                f"{y.dtype}; the model has {num_outputs} outputs.",
                                "The loss cannot pair these labels with the model's scores.",
                                "Give class indices (N,) or one row (N, C) per sample.",
                                "labels")], "", False
            shape_error = error              # float targets of another shape: regression?
    findings = []
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        return [_non_finite(y, "the labels contain NaN or infinite values")], "", False
    if not is_classification(y, num_outputs):
        if y.ndim == 1 and y.dtype.kind == "f" and np.all(y == np.round(y)):
            findings.append(Finding(
                "warning", one_line(shape_error) if shape_error else "the class labels are "
                "floats", f"y.dtype = {y.dtype}, values {y.min():g}..{y.max():g}, all whole "
                "numbers.", "Losses index their scores with the labels; float labels are "
                "refused or silently treated as targets.", "y = y.astype(np.int64)", "labels"))
        return findings, f"targets: {y.dtype} {y.shape} (not class labels)", True
    labels = class_labels(y)
    low, high = int(labels.min()), int(labels.max())
    counts = np.bincount(labels, minlength=num_outputs or 0)
    present = counts[counts > 0]
    if len(labels) >= 20 * len(counts) and present.max() > 10 * present.min():
        findings.append(Finding(
            "warning", "the classes are very unbalanced",
            f"samples per class from {present.min()} to {present.max()}; always predicting "
            f"the most frequent class is right {present.max() / len(labels):.0%} of the time.",
            "The network first learns to predict the frequent classes; accuracy then says "
            "little, and rare classes may never be learned.", "Compare with the majority "
            "baseline; resample or weight the classes if the rare ones matter.", "labels"))
    per_class = (f"{present.min()}" if present.min() == present.max()
                 else f"{present.min()}..{present.max()}")
    summary = f"labels: {len(counts)} classes, values {low}..{high}, {per_class} samples per class"
    return findings, summary, True


def _column(y: np.ndarray, error: ShapeError) -> Finding:
    return Finding(
        "critical", one_line(error), f"y.shape = {y.shape}; the checks below ran on y.ravel().",
        "A (N, 1) column broadcasts against (N,) arrays into an (N, N) matrix: the loss and its "
        "gradient are then computed against every label at once (or refused).",
        "y = y.ravel()", "labels")


def _bad_values(y: np.ndarray, num_outputs: int, error: DataError) -> Finding:
    """Class indices outside [0, C), or NaN/Inf in label rows."""
    if y.ndim == 2:
        return _non_finite(y, one_line(error))
    low, high = int(y.min()), int(y.max())
    hint = " They look 1-based: subtract 1." if low == 1 and high == num_outputs else ""
    return Finding(
        "critical", one_line(error), f"labels in [{low}, {high}]; valid class indices are "
        f"0..{num_outputs - 1}.{hint}", "A label outside the outputs indexes a wrong or missing "
        "score: the loss raises, wraps around to another class, or is garbage.",
        f"Map the labels to 0..{num_outputs - 1}, or give the last layer as many outputs as "
        "there are classes.", "labels")


def _non_finite(y: np.ndarray, title: str) -> Finding:
    bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
    return Finding("critical", title, f"{bad} non-finite values in y.", "The loss of those "
                   "samples is NaN, and then so is every gradient.", "Drop or fix those "
                   "samples.", "labels")
