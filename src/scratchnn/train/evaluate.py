"""Evaluation in large batches, in eval mode (dropout off, batch norm on running statistics)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn.data.views import TestViews
from scratchnn.labels import class_labels


def predict_scores(model, x: np.ndarray, prepare: Callable[[np.ndarray], np.ndarray],
                   batch_size: int = 1000, views: TestViews | None = None) -> np.ndarray:
    """Scores (N, C) of `model` for raw inputs x, prepared and run batch by batch in eval mode.

    views: average the scores over these views of each image (test-time augmentation); a batch
    then holds batch_size // views.count images, batch_size rows of views.
    """
    def scores(batch: np.ndarray) -> np.ndarray:
        if views is None:
            return model.forward(prepare(batch))
        return views.average(model.forward(prepare(views.of(batch))))

    step = batch_size if views is None else max(1, batch_size // views.count)
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([scores(x[i:i + step]) for i in range(0, len(x), step)])
    finally:
        model.train(was_training)


def evaluate(model, loss_fn, x: np.ndarray, y: np.ndarray,
             prepare: Callable[[np.ndarray], np.ndarray], batch_size: int = 1000,
             views: TestViews | None = None) -> dict[str, float]:
    """{"loss", "accuracy", "samples"} of `model` over all of (x, y), averaged over `views`
    when given."""
    return score_metrics(predict_scores(model, x, prepare, batch_size, views), y, loss_fn)


def score_metrics(scores: np.ndarray, y: np.ndarray, loss_fn) -> dict[str, float]:
    """{"loss", "accuracy", "samples"} of scores (N, C) against labels y (N,) or (N, C)."""
    loss = loss_fn.forward(scores, y)
    accuracy = float(np.mean(scores.argmax(axis=1) == class_labels(y)))
    return {"loss": loss, "accuracy": accuracy, "samples": len(y)}
