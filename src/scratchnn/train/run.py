"""A complete training run from a TrainConfig: data, model, optimizer, trainer, run directory.

    run = run_training(TrainConfig(epochs=5))   # what `scratchnn train` does
    run.test["accuracy"], run.directory
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn import models, optim
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train.callbacks import Callback, CSVLogger, EarlyStopping, ProgressBar
from scratchnn.train.config import TrainConfig
from scratchnn.train.history import History
from scratchnn.train.modelfile import save_model
from scratchnn.train.trainer import Trainer
from scratchnn.viz.plots import plot_accuracy, plot_loss


@dataclass
class RunResult:
    directory: Path
    history: History
    test: dict[str, float]
    seconds: float


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random `fraction` of (x, y) held out -> (x_train, y_train, x_val, y_val)."""
    n_val = int(round(len(x) * fraction))
    order = rng.permutation(len(x))
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    return x[train], y[train], x[val], y[val]


def run_directory(config: TrainConfig) -> Path:
    if config.out:
        return Path(config.out)
    return Path("runs") / f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_training(config: TrainConfig, *, progress: bool = True,
                 callbacks: tuple[Callback, ...] = ()) -> RunResult:
    """Train as `config` says; write config.toml, metrics.csv, model.npz and plots/ to the run
    directory; return the directory, history and test metrics."""
    started = time.perf_counter()
    dataset = datasets.load(config.dataset)
    directory = run_directory(config)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.toml").write_text(config.to_toml())

    split_rng, model_rng = np.random.default_rng(config.seed).spawn(2)
    x_train, y_train = dataset.x_train, dataset.y_train
    validation = None
    if config.val_fraction > 0:
        x_train, y_train, x_val, y_val = split_validation(x_train, y_train, config.val_fraction,
                                                          split_rng)
        validation = (x_val, y_val)
    input_size, output_size = math.prod(x_train.shape[1:]), len(dataset.classes)
    model = models.build(config.model, input_size, output_size, rng=model_rng,
                         **config.model_options())
    optimizer = optim.make_optimizer(config.optimizer, model.parameters(), lr=config.lr)
    schedule = optim.make_schedule(config.schedule, config.lr, config.epochs,
                                   warmup_epochs=config.warmup_epochs)
    hooks = [*callbacks, CSVLogger(directory / "metrics.csv")]
    if progress:
        hooks.append(ProgressBar())
    if config.early_stopping:
        hooks.append(EarlyStopping(config.early_stopping))
    trainer = Trainer(model, SoftmaxCrossEntropy(), optimizer, batch_size=config.batch_size,
                      schedule=schedule, seed=config.seed, callbacks=hooks,
                      keep_best=config.keep_best)
    history = trainer.fit(x_train, y_train, config.epochs, validation=validation)
    test = trainer.evaluate(dataset.x_test, dataset.y_test)

    options = {k: list(v) if isinstance(v, tuple) else v
               for k, v in config.model_options().items()}
    save_model(directory / "model.npz", model, {
        "model": config.model, "model_options": options, "input_size": input_size,
        "output_size": output_size, "input_shape": list(x_train.shape[1:]),
        "classes": list(dataset.classes), "dataset": config.dataset,
        "preprocess": getattr(trainer.preprocess, "to_dict", dict)(), "test": test})
    plot_loss(history, directory / "plots" / "loss.png", trainer.steps_per_epoch)
    plot_accuracy(history, directory / "plots" / "accuracy.png")
    return RunResult(directory, history, test, time.perf_counter() - started)
