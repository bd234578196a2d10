"""A complete training run from a TrainConfig: data, model, optimizer, trainer, run directory.

    run = run_training(TrainConfig(epochs=5))   # what `scratchnn train` does
    run.test["accuracy"], run.directory
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchnn import __version__, models, optim
from scratchnn import data as datasets
from scratchnn.data.registry import describe_source, pixel_max
from scratchnn.data.transforms import Augment, fit_preprocess
from scratchnn.data.views import TestViews
from scratchnn.errors import ConfigError, DataError, ScratchnnError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train import checkpoint as checkpoints
from scratchnn.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    EpochLog,
    LossExplosion,
    ProgressBar,
)
from scratchnn.train.config import TrainConfig
from scratchnn.train.evaluate import score_metrics
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
    test_views: TestViews | None = None      # what its test predictions averaged (--tta)


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
                               flip=config.flip, erase=config.erase)


def test_views(config: TrainConfig, name: str, input_shape: tuple[int, ...]
               ) -> TestViews | None:
    """The views test predictions average (None unless config.tta): those matching the
    dataset's augmentation (its flips and crop padding, whether or not training augments)."""
    if not config.tta:
        return None
    return TestViews.for_augment(Augment.for_dataset(
        name, input_shape, crop_padding=config.crop_padding, flip=config.flip))


RUN_ENTRIES = ("config.toml", "metrics.csv", "model.npz", "report.html", "plots",
               checkpoints.SUBDIR)        # what a run directory holds (what --overwrite removes)


def run_directory(config: TrainConfig) -> Path:
    """config.out, else a new runs/<model>-<date>-<time> (with -2, -3, ... if that is taken)."""
    if config.out:
        return Path(config.out)
    base = Path("runs") / f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    directory, count = base, 1
    while directory.exists():
        count += 1
        directory = base.with_name(f"{base.name}-{count}")
    return directory


def check_new_run_directory(directory: Path, overwrite: bool = False) -> None:
    """Refuse (ConfigError) to start a run in `directory` when it would destroy something: an
    existing run (unless overwrite: --overwrite), or any other file."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise ConfigError(f"--out {directory}: a file, not a directory; choose another --out")
    present = sorted(p.name for p in directory.iterdir())
    others = [name for name in present if name not in RUN_ENTRIES]
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise ConfigError(f"--out {directory} already holds files that are not a run's "
                          f"({shown}); choose another --out")
    if present and not overwrite:
        raise ConfigError(f"--out {directory} already holds {describe_run(directory)}; "
                          f"continue it with --resume {shlex.quote(str(directory))}, replace "
                          "it with --overwrite, or choose another --out")


def describe_run(directory: Path) -> str:
    """What a run directory holds, in words: "a finished run (digits, mlp, 5 epochs, test
    accuracy 0.9500)" or "an unfinished run (digits, mlp, 2 epochs done, with a checkpoint)"."""
    try:
        run = Run.open(directory)
    except ScratchnnError:
        return f"the remains of a run ({', '.join(sorted(p.name for p in directory.iterdir()))})"
    what = [str(v) for v in (run.dataset_name, run.config.get("model")) if v]
    what.append(f"{len(run.epochs)} epoch{'s' if len(run.epochs) != 1 else ''}")
    if run.test:
        return f"a finished run ({', '.join(what)}, test accuracy {run.test['accuracy']:.4f})"
    saved = ("with a checkpoint" if checkpoints.find_checkpoints(run.checkpoint_dir)
             else "without a checkpoint")
    return f"an unfinished run ({', '.join(what)} done, {saved})"


def _remove_run_files(directory: Path) -> None:
    for name in RUN_ENTRIES:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def resume_config(directory: str | os.PathLike) -> TrainConfig:
    """The settings of the run in `directory`, to continue it: from its newest good checkpoint,
    else from its config.toml (a run stopped before its first checkpoint)."""
    if Path(directory).is_file():
        raise DataError(f"{directory}: not a run directory (a file)")
    return Run.open(directory).train_config()


def _check_sizes(config: TrainConfig, n_train: int, validation) -> None:
    """An empty validation set is an error."""
    if validation is not None and len(validation[0]) == 0:
        raise ConfigError(f"the validation set is empty: val_fraction {config.val_fraction:g} of "
                          f"{n_train} training samples is 0 samples; raise val_fraction (or "
                          "n_val), or set val_fraction 0 for no validation")


def make_trainer(config: TrainConfig, model, **kwargs) -> Trainer:
    """The Trainer, optimizer and schedule `config` asks for, on `model`. The optimizer gets
    config.weight_decay (None: its own default), the Trainer config.l2_reg and the loss
    config.label_smoothing. kwargs: the run's
    own Trainer arguments (callbacks, preprocess, augment, checkpoint_dir)."""
    optimizer = optim.make_optimizer(config.optimizer, model.parameters(), lr=config.lr,
                                     weight_decay=config.weight_decay)
    schedule = optim.make_schedule(config.schedule, config.lr, config.epochs,
                                   warmup_epochs=config.warmup_epochs)
    return Trainer(model, SoftmaxCrossEntropy(config.label_smoothing), optimizer,
                   batch_size=config.batch_size, schedule=schedule, seed=config.seed,
                   keep_best=config.keep_best,
                   l2_reg=config.l2_reg, checkpoint_every=config.checkpoint_every,
                   skip_nonfinite=config.skip_nonfinite, **kwargs)


def run_training(config: TrainConfig, *, progress: bool = True,
                 epoch_lines: bool | None = None, callbacks: tuple[Callback, ...] = (),
                 resume: bool = False, overwrite: bool = False,
                 announce: Callable[[str], None] | None = None,
                 command: str | None = None) -> RunResult:
    """Train as `config` says; write config.toml, metrics.csv, model.npz, plots/ and
    report.html to the run directory, and checkpoints to its checkpoint/; return the
    directory, history and test metrics. resume=True continues the run in config.out from its
    last checkpoint (from the start when it has none yet); the settings must be the run's own
    (see resume_config).

    Nothing a user made is lost: an existing run in config.out is refused (ConfigError) unless
    overwrite=True, and the directory is created only once the data, the model and the
    optimizer have been built; a run that fails before its first checkpoint leaves nothing.
    progress: a tqdm bar; epoch_lines (default: as progress): one line per epoch on stderr;
    announce(text): told where the run goes when training starts; command: the command line
    that started the run (the report shows it). A loss that grows past
    1000x its first value stops training with DivergenceError (callbacks.LossExplosion)."""
    started = time.perf_counter()
    directory = run_directory(config)
    if not resume:
        check_new_run_directory(directory, overwrite)
    dataset = datasets.load(config.dataset, **config.data_options())
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
    _check_sizes(config, len(x_train), validation)
    input_size, output_size = math.prod(x_train.shape[1:]), len(dataset.classes)
    model = models.build(config.model, x_train.shape[1:], output_size, rng=model_rng,
                         **config.model_options())
    hooks = [*callbacks, CSVLogger(directory / "metrics.csv"), LossExplosion()]
    if progress:
        hooks.append(ProgressBar())
    if progress if epoch_lines is None else epoch_lines:
        hooks.append(EpochLog())
    if config.early_stopping:
        hooks.append(EarlyStopping(config.early_stopping))
    views = test_views(config, dataset.name, x_train.shape[1:])   # refused before training
    trainer = make_trainer(config, model, callbacks=hooks,
                           preprocess=fit_preprocess(config.preprocess, x_train),
                           augment=augmentation(config, dataset.name, x_train.shape[1:]),
                           checkpoint_dir=checkpoint_dir)
    trainer.checkpoint_info = {"config": dataclasses.asdict(config)}

    if config.batch_size > len(x_train):        # warned once every setting was accepted
        warnings.warn(f"batch_size {config.batch_size} is larger than the {len(x_train)} "
                      f"training samples: each epoch is one step on all {len(x_train)}",
                      stacklevel=2)
    created = not directory.exists() or not any(directory.iterdir())
    if not resume:          # a new run (or a resumed one without a checkpoint: from the start)
        _remove_run_files(directory)      # only what --overwrite allowed (checked above)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / "config.toml", config.to_toml())
    if announce is not None:
        sizes = (f"{len(x_train)} training, {0 if validation is None else len(validation[0])} "
                 f"validation, {len(dataset.y_test)} test samples")
        verb = "resuming" if resume else "training"
        epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
        announce(f"{verb} {config.model} on {dataset.name} ({sizes}) for {epochs}; run "
                 f"directory: {directory}")
    try:
        history = trainer.fit(x_train, y_train, config.epochs, validation=validation,
                              resume=checkpoint_dir if resume else None)
    except BaseException:
        if created and not checkpoints.find_checkpoints(checkpoint_dir):
            shutil.rmtree(directory, ignore_errors=True)     # nothing to resume: no junk left
        raise
    if trainer.resumed is not None:
        meta = trainer.resumed.meta
        where = (f"at the end of epoch {meta['epoch']}" if not meta.get("batch_index") else
                 f"in epoch {meta['epoch'] + 1} after batch {meta['batch_index']}")
        notes.append(f"resumed from {trainer.resumed.path} ({where}, step {meta['step']})")
        if trainer.resumed.note:
            notes.append(trainer.resumed.note)
    test_scores = trainer.scores(dataset.x_test, dataset.y_test, views)
    test = score_metrics(test_scores, dataset.y_test, trainer.loss_fn)

    options = models.resolved_options(config.model, config.model_options())
    save_model(directory / "model.npz", model, {
        "model": config.model, "model_options": options, "input_size": input_size,
        "output_size": output_size, "input_shape": list(x_train.shape[1:]),
        "classes": list(dataset.classes), "dataset": config.dataset,
        "pixel_max": pixel_max(dataset.name, dataset.x_train),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "scratchnn_version": __version__,
        "command": command, "dataset_source": describe_source(config.dataset),
        "preprocess": getattr(trainer.preprocess, "to_dict", dict)(), "test": test,
        "test_views": views.to_dict() if views is not None else None,
        "data_options": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in config.data_options().items()
                         if k in ("image_size", "label_column")}})
    plot_loss(history, directory / "plots" / "loss.png", trainer.steps_per_epoch)
    plot_accuracy(history, directory / "plots" / "accuracy.png")
    plot_filters(model, directory / "plots" / "filters.png", x_train.shape[1:])
    write_report(directory, dataset=dataset, test_scores=test_scores)    # report.html
    return RunResult(directory, history, test, time.perf_counter() - started, notes, views)
