"""Loss kernels. Each forward returns (mean loss, cache); each backward returns d(loss)/d(scores).

`target` is either int labels (N,) or a (N, C) matrix: one-hot, or any rows of probabilities.
"""

from __future__ import annotations

import numpy as np


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """log(softmax(scores)) per row, by log-sum-exp: finite for any finite scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)  # row max becomes 0: exp cannot overflow
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax. Shapes: (N, C) -> (N, C), rows sum to 1."""
    return np.exp(log_softmax(scores))


def softmax_cross_entropy_forward(scores: np.ndarray, target: np.ndarray
                                  ) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """Mean over the batch of -sum_c target_c log softmax(scores)_c, in one fused kernel.

    Shapes: scores (N, C); target (N,) ints or (N, C) rows.
    """
    logp = log_softmax(scores)
    n = scores.shape[0]
    if target.ndim == 1:
        loss = -logp[np.arange(n), target].sum() / n
    else:
        loss = -np.sum(target * logp) / n
    return float(loss), (logp, target)


# For one row with p = softmax(s) and target t: dL/ds = p * sum(t) - t, which is p - t when t sums
# to 1 (labels, one-hot, probabilities). This is where the softmax Jacobian and the log's 1/p
# cancel; multiplying by "the softmax derivative" p(1 - p) again is the classic bug. The mean over
# the batch brings the 1/N.
def softmax_cross_entropy_backward(cache: tuple[np.ndarray, np.ndarray],
                                   dloss: float = 1.0) -> np.ndarray:
    """-> dscores (N, C) = (softmax(scores) * rowsum(target) - target) / N."""
    logp, target = cache
    n = logp.shape[0]
    dscores = np.exp(logp)
    if target.ndim == 1:
        dscores[np.arange(n), target] -= 1
    else:
        dscores *= target.sum(axis=1, keepdims=True)
        dscores -= target
    dscores *= dscores.dtype.type(dloss / n)
    return dscores


def multiclass_hinge_forward(scores: np.ndarray, labels: np.ndarray, margin: float = 1.0
                             ) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """CS231n's svm_loss: mean over the batch of sum_{j != y} max(0, s_j - s_y + margin).

    Shapes: scores (N, C), labels (N,) ints.
    """
    n = scores.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, scores - scores[rows, labels][:, None] + margin)
    margins[rows, labels] = 0
    return float(margins.sum() / n), (margins, labels)


# Each wrong class with a positive margin adds +1 to its own score's gradient and -1 to the
# correct class's; then the mean brings the 1/N.
def multiclass_hinge_backward(cache: tuple[np.ndarray, np.ndarray], dloss: float = 1.0
                              ) -> np.ndarray:
    margins, labels = cache
    n = margins.shape[0]
    dscores = (margins > 0).astype(margins.dtype)
    dscores[np.arange(n), labels] = -dscores.sum(axis=1)
    dscores *= dscores.dtype.type(dloss / n)
    return dscores


def mse_forward(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over all elements of (pred - target)^2. Shapes: pred and target alike."""
    diff = pred - target
    return float(np.mean(diff * diff)), diff


def mse_backward(diff: np.ndarray, dloss: float = 1.0) -> np.ndarray:
    return diff * diff.dtype.type(2.0 * dloss / diff.size)
