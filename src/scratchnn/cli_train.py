"""`scratchnn train | evaluate | datasets | gradcheck`: training runs and their checks.
(The registrars are listed in cli.COMMANDS; report, compare and predict are in cli_runs.py.)"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


def add_train_command(commands) -> None:
    from scratchnn.train import config as settings

    train = commands.add_parser(
        "train", description="Train a model and write a run directory (settings, metrics, "
        "model, plots, report.html). Each setting comes from the first place that gives it: a "
        "flag, the --config file, the model preset, the default. --print-config prints every "
        "setting with its help and default: a complete TOML file for --config.")
    train.add_argument("--config", type=Path, metavar="FILE.toml",
                       help="TOML file of settings, keys as the flags with _ for - (flags "
                       "override it; --print-config writes a complete, commented one)")
    settings.add_arguments(train)
    train.add_argument("--print-config", action="store_true",
                       help="print the settings as a complete, commented TOML file and exit")
    train.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, with its settings")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run already in --out DIR (it is never replaced "
                       "without this flag)")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bar (it is shown only on a terminal anyway); the "
                       "one line per epoch stays")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar and no line per epoch: only the result")
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    config = _resume_config(args) if args.resume is not None else _train_config(args)
    if args.print_config:
        print(config.to_toml(comments=True), end="")
        return 0
    from scratchnn.train.run import run_training  # imports matplotlib: only when training

    progress = not (args.quiet or args.no_progress) and sys.stderr.isatty()
    run = run_training(config, progress=progress, epoch_lines=not args.quiet,
                       resume=args.resume is not None, overwrite=args.overwrite,
                       announce=lambda text: print(text, flush=True),
                       command=shlex.join(["scratchnn", *args.argv]))
    for note in run.notes:
        print(f"note: {note}")
    best = run.history.best("val_acc")
    if best is not None:
        print(f"best validation accuracy: {best['val_acc']:.4f} (epoch {best['epoch']})")
    print(f"test accuracy: {run.test['accuracy']:.4f}  test loss: {run.test['loss']:.4f}"
          f"{_averaged(run.test_views)}")
    print(f"wall time: {run.seconds:.1f}s (the whole command: data, training, test, plots, "
          f"report; training alone "
          f"{sum(run.history.column('seconds')):.1f}s)")
    print(f"wrote {run.directory / 'report.html'} (open it in a browser)")
    return 0


def _train_config(args: argparse.Namespace):
    """A new run's settings, each from the first place that gives it: the flags, the --config
    file, the model preset's own training settings (models.TRAIN_DEFAULTS: the cnn's epochs
    of AdamW with augmentation), TrainConfig's defaults."""
    from scratchnn import models
    from scratchnn.names import choose
    from scratchnn.train import config as settings
    from scratchnn.train.config import TrainConfig, read_toml

    flags = settings.from_arguments(args)
    table = read_toml(args.config) if args.config else {}
    model = flags["model"] or table.get("model")
    if isinstance(model, str):
        model = choose("model", model, models.PRESETS)
    preset = models.TRAIN_DEFAULTS.get(model, {}) if isinstance(model, str) else {}
    return TrainConfig.from_table({**preset, **table}, where=args.config).replace(**flags)


def _resume_config(args: argparse.Namespace):
    """The settings of the run to resume, with the flags that change nothing it computes
    (settings.resumable); any other flag, or --config, is an error."""
    from scratchnn.errors import ConfigError
    from scratchnn.train import config as settings
    from scratchnn.train.run import resume_config

    flags = settings.from_arguments(args)
    given = sorted(name for name, value in flags.items()
                   if value is not None and not settings.resumable(name))
    if given or args.config is not None or args.overwrite:
        flag = (given[0].replace("_", "-") if given else
                "config" if args.config is not None else "overwrite")
        raise ConfigError(f"--resume continues a run with the settings it was started with; "
                          f"drop --{flag} (or start a new run)")
    return resume_config(args.resume).replace(**{**flags, "out": str(args.resume)})


def add_evaluate_command(commands) -> None:
    ev = commands.add_parser(
        "evaluate", description="Evaluate a run's model on the test split of its dataset (or "
        "another dataset of the same image size): accuracy, loss and the number of samples.")
    ev.add_argument("run", type=Path, help="run directory (or its model.npz)")
    ev.add_argument("--dataset", help="default: the dataset the model was trained on")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from scratchnn.train import Run
    from scratchnn.train.evaluate import evaluate
    from scratchnn.train.predict import require_input_shape

    run = Run.open(args.run)
    model, dataset = run.load_model(), run.load_dataset(args.dataset)
    name = args.dataset or run.dataset_name
    require_input_shape(run, dataset.x_test.shape[1:], name)
    result = evaluate(model, run.loss(), dataset.x_test, dataset.y_test, run.prepare,
                      views=run.test_views)
    result = {"dataset": name, "split": "test", **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{name} test: accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  "
              f"({result['samples']} samples){_averaged(run.test_views)}")
    return 0


def _averaged(views) -> str:
    """What a printed test result adds for a run whose predictions average test views."""
    return f"  (each the mean over {views.count} views: --tta)" if views is not None else ""


def add_datasets_command(commands) -> None:
    ds = commands.add_parser(
        "datasets", description="The datasets scratchnn knows: where each was found, its size, "
        "or the command that gets it; and the file formats a path may point to.")
    ds.add_argument("--json", action="store_true", help="print one JSON object per dataset")
    ds.set_defaults(func=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    import dataclasses

    from scratchnn import data as datasets

    infos = datasets.known_datasets()
    if args.json:
        for info in infos:
            print(json.dumps(dataclasses.asdict(info)))
        return 0
    print(f"{'dataset':<14} {'status':<8} {'size':<40} location, or how to get it")
    for info in infos:
        if info.location is None:
            status, size = "missing", "-"
            where = "get it: " + "  or  ".join(info.commands)
        elif info.problem is not None:
            status, size, where = "broken", "-", info.problem
        else:
            shape = "x".join(map(str, info.input_shape))
            status, where = "found", info.location
            size = f"{info.train_samples} train + {info.test_samples} test of {shape}"
        print(f"{info.name:<14} {status:<8} {size:<40} {where}")
    print("also: a path to an .npz (x, y or x_train, y_train, x_test, y_test), a .csv with a "
          "label column, or a folder of class sub-folders of PNG/JPEG images")
    return 0


GRADCHECK_SHAPE = (1, 28, 28)     # one Fashion-MNIST image


def add_gradcheck_command(commands) -> None:
    from scratchnn import models

    gc = commands.add_parser(
        "gradcheck", description="Compare backprop's gradients with numerical ones (central "
        "differences in float64), for every layer of a preset at its own input and for the "
        "whole model with SoftmaxCrossEntropy; exit 1 when they disagree.")
    gc.add_argument("--model", default="mlp", metavar="NAME",
                    help=f"preset to check: {', '.join(models.PRESETS)}")
    gc.add_argument("--batch", type=int, default=4, metavar="N",
                    help="batch size of the random input")
    gc.add_argument("--max-checks", type=int, default=20, metavar="N",
                    help="coordinates sampled per array")
    gc.add_argument("--seed", type=int, default=0, metavar="N",
                    help="seeds the model, the input and the sample")
    gc.set_defaults(func=_gradcheck)


def _gradcheck(args: argparse.Namespace) -> int:
    import numpy as np

    from scratchnn import gradcheck, models
    from scratchnn.errors import ConfigError
    from scratchnn.losses import SoftmaxCrossEntropy

    for name in ("batch", "max_checks"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got "
                              f"{getattr(args, name)}")
    rng = np.random.default_rng(args.seed)
    model = models.build(args.model, GRADCHECK_SHAPE, 10, rng=rng)
    x = rng.standard_normal((args.batch, *GRADCHECK_SHAPE))
    y = rng.integers(0, 10, args.batch)
    failed = False
    print(f"{args.model}: every layer at its own input, then the whole model with "
          "SoftmaxCrossEntropy")
    for name, layer, report in gradcheck.check_layers(model, x, max_checks=args.max_checks,
                                                      rng=rng):
        print(f"\nlayer {name}: {layer!r}\n{report.table()}")
        failed |= not report.ok
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y,
                                   max_checks=args.max_checks, rng=rng)
    print(f"\nwhole model\n{report.table()}")
    failed |= not report.ok
    print("\nall gradients agree" if not failed else "\nGRADIENT CHECK FAILED")
    return 1 if failed else 0
