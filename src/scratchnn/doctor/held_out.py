"""Held-out data: samples shared between the training and the held-out set, and the accuracy of
the model as given on samples it did not train on.

An accuracy measured on samples the model trained on says how well it memorised, not how well
it will do: the doctor measures "held-out" accuracy only on the held-out data it is given
(a validation split, a test set), and otherwise says plainly which samples it used.
"""

from __future__ import annotations

import numpy as np

from scratchnn.doctor.learning import accuracy
from scratchnn.doctor.report import Finding
from scratchnn.labels import class_labels


def _rows(x: np.ndarray) -> list[bytes]:
    x = np.ascontiguousarray(x)
    return [row.tobytes() for row in x.reshape(len(x), -1)]


def shared_samples(x_train: np.ndarray, x_held: np.ndarray) -> np.ndarray:
    """Indices of the held-out samples whose input also occurs in the training data."""
    seen = set(_rows(np.asarray(x_train)))
    return np.array([i for i, row in enumerate(_rows(np.asarray(x_held))) if row in seen],
                    dtype=np.int64)


def check_shared(x_train: np.ndarray, x_held: np.ndarray) -> tuple[list[Finding], str]:
    """Held-out inputs that are also training inputs (exact copies)."""
    shared = shared_samples(x_train, x_held)
    if not shared.size:
        return [], (f"held-out data: none of its {len(x_held)} inputs occurs among the "
                    f"{len(x_train)} training inputs")
    share = shared.size / len(x_held)
    return [Finding(
        "critical" if share >= 0.1 else "warning",
        f"{shared.size} held-out samples are also training samples",
        f"{shared.size} of {len(x_held)} held-out inputs ({share:.1%}) occur exactly among the "
        f"{len(x_train)} training inputs (first held-out indices: "
        f"{', '.join(str(i) for i in shared[:5])}).", "A model is scored on samples it "
        "trained on: the held-out accuracy overstates how it does on new data, and early "
        "stopping or model selection on it favours memorising.", "Remove the shared samples "
        "from the held-out set (or split once, before any copying or augmentation): "
        "keep = ~np.isin(np.arange(len(x_val)), shared).", "held-out",
        remedy={"action": "drop_shared_held_out", "count": int(shared.size)})], ""


def model_as_given(model, x: np.ndarray, y: np.ndarray) -> str:
    """One line: the accuracy of the model as given on held-out samples."""
    return (f"the model as given: accuracy {accuracy(model.eval(), x, class_labels(y)):.3f} on "
            f"{len(x)} held-out samples it did not train on")
