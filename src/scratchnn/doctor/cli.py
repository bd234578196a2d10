"""`scratchnn doctor`: examine a run's model, or a fresh one, on its dataset.

    scratchnn doctor runs/mlp-20260101-120000        # the trained model, its data and settings
    scratchnn doctor --model mlp --dataset digits    # a fresh model, as `scratchnn train` builds it

The report is printed and written to doctor.txt, doctor.json and lr_range.png (in the run
directory, or --out). Exit status: 0 when the report is clean (nothing worse than a note),
3 when it found problems (warnings or critical findings), 2 for bad usage or input, 1 otherwise.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn import models
from scratchnn.data import transforms
from scratchnn.errors import ConfigError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.optim import make_schedule
from scratchnn.train.config import TrainConfig
from scratchnn.train.rundir import Run

EXIT_FINDINGS = 3


def add_doctor_command(commands) -> None:
    """Add the `doctor` subcommand to the CLI's subparsers; its options are filled in when it
    is used (the doctor's modules load then, not for `scratchnn --help`)."""
    commands.add_parser(
        "doctor", help="why is my network not learning? (a diagnosis)",
        description="Examine a run's model, or a fresh one, on its dataset: inputs, labels, "
        "gradients, structure, optimizer, learning rate; findings ranked by severity.",
        epilog=f"exit status: 0 clean report, {EXIT_FINDINGS} problems found, 2 bad usage",
        fill=_add_arguments)


def _add_arguments(doc: argparse.ArgumentParser) -> None:
    from scratchnn.doctor.examine import SAMPLES

    doc.add_argument("run", type=Path, nargs="?",
                     help="run directory (or its model.npz); without it, a fresh --model")
    doc.add_argument("--config", type=Path, help="TOML settings, as for train (fresh model)")
    doc.add_argument("--model", help="preset for a fresh model (default mlp)")
    doc.add_argument("--dataset", help="default: the run's dataset, else fashion-mnist")
    doc.add_argument("--optimizer", help="default: the run's (or train's default, adam)")
    doc.add_argument("--lr", type=float, help="the learning rate to examine (default: the run's)")
    doc.add_argument("--batch-size", type=int, help="default: the run's")
    doc.add_argument("--samples", type=int, default=SAMPLES,
                     help=f"training samples examined (a random subset; default {SAMPLES})")
    doc.add_argument("--seed", type=int, help="default: the run's")
    doc.add_argument("--out", type=Path, help="where to write the report (default: the run "
                     "directory, or runs/doctor-<model>-<time>)")
    doc.add_argument("--json", action="store_true", help="print the report as JSON")
    doc.set_defaults(func=run_doctor)


def _settings(args: argparse.Namespace, run: Run | None) -> TrainConfig:
    """The run's settings (or --config, or train's defaults), overridden by the flags."""
    config = TrainConfig()
    if run is not None:
        if run.has_settings():
            config = run.train_config()
    elif args.config is not None:
        config = TrainConfig.from_toml(args.config)
    return config.replace(model=args.model, dataset=args.dataset, optimizer=args.optimizer,
                          lr=args.lr, batch_size=args.batch_size, seed=args.seed)


def _cast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32, copy=False)


def _subject(args: argparse.Namespace, run: Run | None, config: TrainConfig):
    """(model, dataset, prepare, where to write) for a run's model or a fresh one."""
    if run is not None:
        return (run.load_model(), run.load_dataset(args.dataset), run.prepare,
                args.out or run.directory)
    dataset = datasets.load(config.dataset, **config.data_options())
    model = models.build(config.model, dataset.x_train.shape[1:], len(dataset.classes),
                         rng=np.random.default_rng(config.seed), **config.model_options())
    prepare = transforms.fit_preprocess(config.preprocess, dataset.x_train) or _cast
    out = args.out or Path("runs") / f"doctor-{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    return model, dataset, prepare, out


def _test_set(dataset, prepare, n: int, rng: np.random.Generator):
    """Up to n samples of the test set, as the model sees them: data no run trained on."""
    if dataset.x_test is None or not len(dataset.x_test):
        return None
    keep = np.sort(rng.choice(len(dataset.x_test), min(n, len(dataset.x_test)), replace=False))
    return prepare(dataset.x_test[keep]), dataset.y_test[keep]


def run_doctor(args: argparse.Namespace) -> int:
    """Examine, print, write the report; 0 when it is clean, EXIT_FINDINGS otherwise."""
    from scratchnn.doctor.examine import doctor

    if args.samples < 2:
        raise ConfigError(f"--samples must be at least 2, got {args.samples}")
    if args.run is not None and args.model is not None:
        raise ConfigError("give a run directory or --model, not both")
    run = Run.open(args.run) if args.run is not None else None
    config = _settings(args, run)
    model, dataset, prepare, out = _subject(args, run, config)
    rng = np.random.default_rng(config.seed)
    n = min(args.samples, len(dataset.x_train))
    subset = np.sort(rng.choice(len(dataset.x_train), n, replace=False))
    x, y = prepare(dataset.x_train[subset]), dataset.y_train[subset]
    report = doctor(model.train(), SoftmaxCrossEntropy(config.label_smoothing), x, y, lr=config.lr,
                    optimizer=config.optimizer, batch_size=config.batch_size, samples=n,
                    seed=config.seed, weight_decay=config.weight_decay,
                    held_out=_test_set(dataset, prepare, n, rng),
                    schedule=make_schedule(config.schedule, config.lr, config.epochs,
                                           warmup_epochs=config.warmup_epochs),
                    epochs=config.epochs)
    written = report.save(out)
    print(report.to_json() if args.json else report.text())
    if not args.json:
        print(f"\nreport written to {', '.join(str(p) for p in written)}")
    return 0 if report.clean else EXIT_FINDINGS
