"""A complete training run from a TrainConfig: data, model, optimizer, trainer, run directory.

    run = run_training(TrainConfig(epochs=5))   # what `scratchnn train` does
    run.test["accuracy"], run.directory
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn import models, optim
from scratchnn.data.registry import pixel_max
from scratchnn.data.transforms import Augment, fit_preprocess
from scratchnn.errors import DataError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train import checkpoint as checkpoints
from scratchnn.train.callbacks import Callback, CSVLogger, EarlyStopping, ProgressBar
from scratchnn.train.config import TrainConfig
from scratchnn.train.history import History
from scratchnn.train.modelfile import save_model
from scratchnn.train.reporting import write_report
from scratchnn.train.rundir import Run
from scratchnn.train.storage import atomic_write_text
from scratchnn.train.trainer import Trainer
from scratchnn.viz.filters import plot_filters
from scratchnn.viz.plots import plot_accuracy, plot_loss


@dataclass
class RunResult:
    directory: Path
    history: History
    test: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)   # e.g. how a resumed run was resumed


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random `fraction` of (x, y) held out -> (x_train, y_train, x_val, y_val)."""
    n_val = int(round(len(x) * fraction))
    order = rng.permutation(len(x))
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    return x[train], y[train], x[val], y[val]


def augmentation(config: TrainConfig, name: str, input_shape: tuple[int, ...]
                 ) -> Augment | None:
    """The Augment of `config` (None unless config.augment), defaults filled in for the data."""
    if not config.augment:
        return None
    return Augment.for_dataset(name, input_shape, crop_padding=config.crop_padding,
                               flip=config.flip)


def run_directory(config: TrainConfig) -> Path:
    if config.out:
        return Path(config.out)
    return Path("runs") / f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def resume_config(directory: str | os.PathLike) -> TrainConfig:
    """The settings of the run in `directory`, to continue it: from its newest good checkpoint,
    else from its config.toml (a run stopped before its first checkpoint)."""
    if Path(directory).is_file():
        raise DataError(f"{directory}: not a run directory (a file)")
    return Run.open(directory).train_config()


def make_trainer(config: TrainConfig, model, **kwargs) -> Trainer:
    """The Trainer, optimizer and schedule `config` asks for, on `model`. The optimizer gets
    config.weight_decay (None: its own default), the Trainer config.l2_reg. kwargs: the run's
    own Trainer arguments (callbacks, preprocess, augment, checkpoint_dir)."""
    optimizer = optim.make_optimizer(config.optimizer, model.parameters(), lr=config.lr,
                                     weight_decay=config.weight_decay)
    schedule = optim.make_schedule(config.schedule, config.lr, config.epochs,
                                   warmup_epochs=config.warmup_epochs)
    return Trainer(model, SoftmaxCrossEntropy(), optimizer, batch_size=config.batch_size,
                   schedule=schedule, seed=config.seed, keep_best=config.keep_best,
                   l2_reg=config.l2_reg, checkpoint_every=config.checkpoint_every,
                   skip_nonfinite=config.skip_nonfinite, **kwargs)


def run_training(config: TrainConfig, *, progress: bool = True,
                 callbacks: tuple[Callback, ...] = (), resume: bool = False) -> RunResult:
    """Train as `config` says; write config.toml, metrics.csv, model.npz and plots/ to the run
    directory, and checkpoints to its checkpoint/; return the directory, history and test
    metrics. resume=True continues the run in config.out from its last checkpoint (from the
    start when it has none yet); the settings must be the run's own (see resume_config)."""
    started = time.perf_counter()
    dataset = datasets.load(config.dataset, **config.data_options())
    directory = run_directory(config)
    directory.mkdir(parents=True, exist_ok=True)
    if not (resume and (directory / "config.toml").is_file()):
        atomic_write_text(directory / "config.toml", config.to_toml())
    checkpoint_dir = directory / checkpoints.SUBDIR
    notes = []
    if resume and not checkpoints.find_checkpoints(checkpoint_dir):
        notes.append(f"no checkpoint in {checkpoint_dir} yet: training from the start")
        resume = False

    split_rng, model_rng = np.random.default_rng(config.seed).spawn(2)
    x_train, y_train = dataset.x_train, dataset.y_train
    validation = None
    if dataset.x_val is not None:       # n_val: the validation split load() carved (CS231n)
        validation = (dataset.x_val, dataset.y_val)
    elif config.val_fraction > 0:
        x_train, y_train, x_val, y_val = split_validation(x_train, y_train, config.val_fraction,
                                                          split_rng)
        validation = (x_val, y_val)
    input_size, output_size = math.prod(x_train.shape[1:]), len(dataset.classes)
    model = models.build(config.model, x_train.shape[1:], output_size, rng=model_rng,
                         **config.model_options())
    hooks = [*callbacks, CSVLogger(directory / "metrics.csv")]
    if progress:
        hooks.append(ProgressBar())
    if config.early_stopping:
        hooks.append(EarlyStopping(config.early_stopping))
    trainer = make_trainer(config, model, callbacks=hooks,
                           preprocess=fit_preprocess(config.preprocess, x_train),
                           augment=augmentation(config, dataset.name, x_train.shape[1:]),
                           checkpoint_dir=checkpoint_dir)
    trainer.checkpoint_info = {"config": dataclasses.asdict(config)}
    history = trainer.fit(x_train, y_train, config.epochs, validation=validation,
                          resume=checkpoint_dir if resume else None)
    if trainer.resumed is not None:
        notes.append(f"resumed from {trainer.resumed.path} (epoch {trainer.resumed.meta['epoch']}"
                     f", step {trainer.resumed.meta['step']})")
        if trainer.resumed.note:
            notes.append(trainer.resumed.note)
    test = trainer.evaluate(dataset.x_test, dataset.y_test)

    options = {k: list(v) if isinstance(v, tuple) else v
               for k, v in config.model_options().items()}
    save_model(directory / "model.npz", model, {
        "model": config.model, "model_options": options, "input_size": input_size,
        "output_size": output_size, "input_shape": list(x_train.shape[1:]),
        "classes": list(dataset.classes), "dataset": config.dataset,
        "pixel_max": pixel_max(dataset.name, dataset.x_train),
        "preprocess": getattr(trainer.preprocess, "to_dict", dict)(), "test": test,
        "data_options": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in config.data_options().items()
                         if k in ("image_size", "label_column")}})
    plot_loss(history, directory / "plots" / "loss.png", trainer.steps_per_epoch)
    plot_accuracy(history, directory / "plots" / "accuracy.png")
    plot_filters(model, directory / "plots" / "filters.png", x_train.shape[1:])
    write_report(directory, dataset=dataset)          # report.html (train/reporting.py)
    return RunResult(directory, history, test, time.perf_counter() - started, notes)
