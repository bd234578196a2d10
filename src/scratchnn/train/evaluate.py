"""Evaluation in large batches, in eval mode (dropout off, batch norm on running statistics)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratchnn.labels import class_labels


def predict_scores(model, x: np.ndarray, prepare: Callable[[np.ndarray], np.ndarray],
                   batch_size: int = 1000) -> np.ndarray:
    """Scores (N, C) of `model` for raw inputs x, prepared and run batch by batch in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([model.forward(prepare(x[i:i + batch_size]))
                               for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model, loss_fn, x: np.ndarray, y: np.ndarray,
             prepare: Callable[[np.ndarray], np.ndarray], batch_size: int = 1000
             ) -> dict[str, float]:
    """{"loss", "accuracy", "samples"} of `model` over all of (x, y)."""
    scores = predict_scores(model, x, prepare, batch_size)
    loss = loss_fn.forward(scores, y)
    accuracy = float(np.mean(scores.argmax(axis=1) == class_labels(y)))
    return {"loss": loss, "accuracy": accuracy, "samples": len(x)}
