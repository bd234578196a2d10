"""Loss classes: `forward(scores, labels) -> float` (the batch mean) and `backward() -> dscores`.

They are not Layers: they take two inputs and end the graph with a scalar.
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.labels import check_labels


def _scores_and_labels(scores: np.ndarray, labels, loss: str) -> np.ndarray:
    """Labels checked against scores (N, C) by scratchnn.labels.check_labels; rows as floats
    of the scores' dtype."""
    if scores.ndim != 2:
        raise ShapeError(f"{loss} expects scores (N, C), got {scores.shape}")
    labels = check_labels(labels, scores.shape[1], len(scores))
    return labels.astype(scores.dtype, copy=False) if labels.ndim == 2 else labels


class _Loss:
    def __init__(self) -> None:
        self._cache = None

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        return self.forward(scores, labels)

    def _saved(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called without a preceding forward")
        return self._cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(_Loss):
    """Softmax followed by cross-entropy, fused and computed with log-sum-exp (finite for logits
    of 1e4). Labels: int (N,) or one-hot / probability rows (N, C). Gradient (softmax - onehot) / N.

    label_smoothing = e (torch's CrossEntropyLoss(label_smoothing=e)): the target rows become
    (1 - e) * rows + e / C, so the gradient is (softmax - smoothed rows) / N and the loss
    includes the e / C share of every class.

    >>> loss_fn = SoftmaxCrossEntropy()
    >>> round(loss_fn.forward(np.zeros((2, 4)), np.array([0, 3])), 4)   # uniform: ln 4
    1.3863
    >>> loss_fn.backward()[0].tolist()                                  # (0.25 - [1, 0, 0, 0]) / 2
    [-0.375, 0.125, 0.125, 0.125]
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        labels = _scores_and_labels(scores, labels, "SoftmaxCrossEntropy")
        if self.label_smoothing:
            labels = smoothed(labels, scores.shape[1], self.label_smoothing, scores.dtype)
        loss, self._cache = F.softmax_cross_entropy_forward(scores, labels)
        return loss

    def backward(self) -> np.ndarray:
        return F.softmax_cross_entropy_backward(self._saved())

    def __repr__(self) -> str:
        smoothing = f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return f"SoftmaxCrossEntropy({smoothing})"


def smoothed(labels: np.ndarray, classes: int, smoothing: float, dtype) -> np.ndarray:
    """Int labels (N,) or rows (N, C) -> rows (1 - smoothing) * one-hot/rows + smoothing / C."""
    if labels.ndim == 1:
        rows = np.zeros((len(labels), classes), dtype)
        rows[np.arange(len(labels)), labels] = 1
    else:
        rows = labels.astype(dtype)            # a copy: the caller's rows stay as they are
    rows *= 1.0 - smoothing                    # in place: stays in the scores' dtype
    rows += smoothing / classes
    return rows


class MulticlassHinge(_Loss):
    """CS231n's SVM loss: sum over wrong classes of max(0, s_j - s_y + margin), mean over the batch.
    Labels: int (N,) or one-hot (N, C).
    """

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        labels = _scores_and_labels(scores, labels, "MulticlassHinge")
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        loss, self._cache = F.multiclass_hinge_forward(scores, labels, self.margin)
        return loss

    def backward(self) -> np.ndarray:
        return F.multiclass_hinge_backward(self._saved())


class MSE(_Loss):
    """Mean squared error over all elements: mean((pred - target)^2). Shapes: pred, target alike."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target)
        if pred.shape != target.shape:
            raise ShapeError(f"MSE expects target of shape {pred.shape}, got {target.shape}")
        loss, self._cache = F.mse_forward(pred, target.astype(pred.dtype, copy=False))
        return loss

    def backward(self) -> np.ndarray:
        return F.mse_backward(self._saved())


def weight_matrices(model) -> list:
    """The parameters a course-style L2 term applies to: every `*.weight` with ndim >= 2
    (Linear and Conv2d weights; not biases, not batch-norm scales)."""
    return [p for name, p in model.named_parameters()
            if name.rsplit(".", 1)[-1] == "weight" and p.data.ndim >= 2]


def l2_penalty(weights, reg: float) -> float:
    """The course-style L2 term (CS231n `reg`, the book's `weight_decay_lambda`): adds
    reg * W to each weight's gradient (where it has one) and returns reg/2 * sum ||W||^2, the
    amount to add to the reported loss. This is not the optimizer's `weight_decay`."""
    total = 0.0
    for p in weights:
        if p.grad is not None:
            p.grad = p.grad + reg * p.data        # a new array: a shared grad stays untouched
        total += float(np.vdot(p.data, p.data))
    return 0.5 * reg * total
