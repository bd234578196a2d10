"""report.html for a run directory: gather what the run wrote, predict the test set, render.

    write_report("runs/mlp-20250101-120000")    # what `scratchnn report DIR` does

`scratchnn train` calls this at the end of every run (passing the dataset it already holds).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn.data import transforms
from scratchnn.data.dataset import Dataset
from scratchnn.errors import ConfigError
from scratchnn.functional.losses import softmax
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.parameter import Parameter
from scratchnn.train.config import TrainConfig
from scratchnn.train.evaluate import predict_scores
from scratchnn.train.modelfile import load_model
from scratchnn.train.rundir import read_run
from scratchnn.viz.filters import first_layer_images
from scratchnn.viz.images import weight_grid
from scratchnn.viz.report import ReportContent, render_report

CURVE_FILES = {"loss": "plots/loss.png", "accuracy": "plots/accuracy.png"}


def write_report(directory: str | Path, *, dataset: Dataset | None = None) -> Path:
    """Write DIRECTORY/report.html from its config.toml, metrics.csv, model.npz and plots/,
    evaluating the model on the test split of `dataset` (default: the one it was trained on).
    Returns the path of the report."""
    directory = Path(directory)
    run = read_run(directory)
    model, meta = load_model(directory / "model.npz")
    if dataset is None:
        dataset = _training_dataset(directory, meta)
    prepare = (transforms.from_dict(meta["preprocess"]) if meta.get("preprocess")
               else (lambda x: np.asarray(x, np.float32)))
    scores = predict_scores(model, dataset.x_test, prepare)
    loss = SoftmaxCrossEntropy().forward(scores, dataset.y_test)
    probabilities = softmax(scores.astype(np.float64))
    accuracy = float(np.mean(probabilities.argmax(axis=1) == dataset.y_test))

    weights, caption = _weights(model, tuple(meta.get("input_shape") or dataset.input_shape))
    curves = {title: (directory / name).read_bytes() for title, name in CURVE_FILES.items()
              if (directory / name).is_file()}
    content = ReportContent(
        title=directory.resolve().name, config=run.config or {"dataset": meta.get("dataset")},
        model_text=repr(model), num_parameters=model.num_parameters(), epochs=run.epochs,
        test={"accuracy": accuracy, "loss": loss, "samples": len(dataset.y_test)},
        classes=list(dataset.classes), y_true=dataset.y_test, probabilities=probabilities,
        x_test=dataset.x_test, weights=weights, weights_caption=caption, curves=curves)
    path = directory / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(content), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _training_dataset(directory: Path, meta: dict) -> Dataset:
    """The dataset as the run loaded it: with config.toml's data options (n_test, image_size,
    ...) when it has them, else with those the model file keeps."""
    try:
        config = TrainConfig.from_toml(directory / "config.toml")
        return datasets.load(config.dataset, **config.data_options())
    except ConfigError:                  # no config.toml, or one this version cannot read
        options = {k: tuple(v) if isinstance(v, list) else v
                   for k, v in (meta.get("data_options") or {}).items()}
        return datasets.load(meta["dataset"], **options)


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
