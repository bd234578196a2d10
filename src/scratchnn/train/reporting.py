"""report.html for a run directory: gather what the run wrote, predict the test set, render.

    write_report("runs/mlp-20250101-120000")    # what `scratchnn report DIR` does

`scratchnn train` calls this at the end of every run (passing the dataset it already holds).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import numpy as np

from scratchnn.data.dataset import Dataset
from scratchnn.data.registry import describe_source
from scratchnn.errors import ScratchnnError
from scratchnn.functional.losses import softmax
from scratchnn.parameter import Parameter
from scratchnn.train.evaluate import predict_scores, score_metrics
from scratchnn.train.rundir import Run
from scratchnn.train.storage import atomic_write_text
from scratchnn.viz.filters import first_layer_images
from scratchnn.viz.images import weight_grid
from scratchnn.viz.report import ReportContent, render_report

CURVE_FILES = {"loss": "plots/loss.png", "accuracy": "plots/accuracy.png"}


def write_report(directory: str | Path, *, dataset: Dataset | None = None,
                 test_scores: np.ndarray | None = None) -> Path:
    """Write DIRECTORY/report.html from its config.toml, metrics.csv, model.npz and plots/,
    evaluating the model on the test split of `dataset` (default: the one it was trained on,
    as it was loaded for training). Returns the path of the report.

    test_scores: the model's scores (N, C) for that test split, when the caller has them.
    """
    run = Run.open(directory)
    model = run.load_model()
    if dataset is None:
        dataset = run.load_dataset(as_trained=True)
    scores = test_scores
    if scores is None:
        scores = predict_scores(model, dataset.x_test, run.prepare, views=run.test_views)
    test = score_metrics(scores, dataset.y_test, run.loss())
    probabilities = softmax(scores.astype(np.float64))

    weights, caption = _weights(model, tuple(run.meta.get("input_shape") or dataset.input_shape))
    curves = {title: (run.directory / name).read_bytes() for title, name in CURVE_FILES.items()
              if (run.directory / name).is_file()}
    data_name = (dataset.name if dataset is not None else None) or run.dataset_name
    content = ReportContent(
        title=run.directory.resolve().name, config=run.config or {"dataset": run.dataset_name},
        model_text=repr(model), num_parameters=model.num_parameters(), epochs=run.epochs,
        test=test,
        classes=list(dataset.classes), y_true=dataset.y_test, probabilities=probabilities,
        x_test=dataset.x_test, weights=weights, weights_caption=caption, curves=curves,
        about=_about(run, data_name), learning_rate=_learning_rate(run))
    path = run.directory / "report.html"
    atomic_write_text(path, render_report(content))
    return path


def _about(run: Run, dataset: str | None) -> dict[str, str]:
    """Date, version, command, data source and the doctor's command, as far as the run says."""
    from scratchnn import __version__

    meta = run.meta
    about = {"trained": meta.get("finished", "unknown (an older run)"),
             "report written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
             "scratchnn": (f"{meta['scratchnn_version']} (the report: {__version__})"
                           if meta.get("scratchnn_version") else __version__),
             "command": meta.get("command") or "unknown (not trained by the scratchnn command)",
             "data": f"{dataset}: {meta.get('dataset_source') or describe_source(dataset)}"
                     if dataset else "unknown",
             "diagnose it": f"scratchnn doctor {shlex.quote(str(run.directory))}"}
    return about


def _learning_rate(run: Run) -> tuple[list[float], list[float]] | None:
    """The schedule's learning rate over the run's epochs (from its settings), else the
    rates metrics.csv recorded at the end of each epoch; None when neither is known."""
    from scratchnn.optim import make_schedule

    config = run.config
    try:
        epochs = int(config["epochs"])
        schedule = make_schedule(str(config.get("schedule", "cosine")), float(config["lr"]),
                                 epochs, warmup_epochs=float(config.get("warmup_epochs", 0.0)))
    except (KeyError, TypeError, ValueError, ScratchnnError):
        rows = [row for row in run.epochs if "lr" in row]
        return ([row["epoch"] for row in rows], [row["lr"] for row in rows]) if rows else None
    points = [epochs * i / 200 for i in range(201)]
    return points, [schedule(e) for e in points]


def _weights(model, input_shape: tuple[int, ...], shown: int = 64) -> tuple[bytes | None, str]:
    """The first layer's filters (Conv2d) or templates (Linear on images) as a PNG grid and a
    caption saying what they are; (None, why not) when they are not image-shaped."""
    layer = next((m for m in model.modules() if isinstance(vars(m).get("weight"), Parameter)),
                 None)
    if layer is None:
        return None, "The model has no weights."
    images = first_layer_images(model, input_shape)
    name, shape = type(layer).__name__, layer.weight.data.shape
    if images is None:
        return None, (f"The first layer ({name}, weight {shape}) is not image-shaped for "
                      f"inputs of shape {input_shape}.")
    kind = "filters" if len(shape) == 4 else "templates (one per hidden unit)"
    count = f"the first {shown} of {len(images)}" if len(images) > shown else f"all {len(images)}"
    colours = ("each scaled to its own range" if images.ndim == 4 else
               "red positive, blue negative, white zero; each scaled by its own largest |weight|")
    return weight_grid(images[:shown]), (f"{name} weight {shape}: {count} {kind}, "
                                         f"{images.shape[1]}x{images.shape[2]}; {colours}.")
