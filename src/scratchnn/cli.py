"""The command line: scratchnn train | evaluate | gradcheck | datasets | doctor.
(experiment: experiments/cli.py; report, compare, predict: cli_runs.py.)

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn import gradcheck, models
from scratchnn.cli_runs import add_run_commands
from scratchnn.doctor.cli import add_doctor_command
from scratchnn.errors import ConfigError, ScratchnnError
from scratchnn.experiments.cli import add_experiment_command
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.onnx.cli import add_export_command
from scratchnn.serve.cli import add_serve_command
from scratchnn.sweep.cli import add_sweep_command
from scratchnn.train import config as settings
from scratchnn.train.config import TrainConfig, read_toml
from scratchnn.train.evaluate import evaluate
from scratchnn.train.interrupt import TrainingInterrupted


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that a sub-command may ask to fill in only when it is used:
    commands.add_parser(name, help=..., fill=function) calls function(parser) before parsing
    that command's arguments, so `scratchnn --help` does not import what the command needs."""

    def __init__(self, *args, fill: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._fill = fill

    def parse_known_args(self, args=None, namespace=None):
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill(self)
        return super().parse_known_args(args, namespace)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="scratchnn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)

    train = commands.add_parser(
        "train", help="train a model and write a run directory",
        description="Train a model and write a run directory. Each setting comes from the "
        "first place that gives it: a flag, the --config file, the model preset, the default.")
    train.add_argument("--config", type=Path, metavar="FILE.toml",
                       help="TOML file of settings, keys as the flags with _ for - (flags "
                       "override it; see --print-config)")
    settings.add_arguments(train)
    train.add_argument("--print-config", action="store_true",
                       help="print the settings as a complete, commented TOML file and exit")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, with its settings")
    train.set_defaults(func=_train)

    ev = commands.add_parser("evaluate", help="evaluate a run's model on a dataset's test split")
    ev.add_argument("run", type=Path, help="run directory (or a model.npz)")
    ev.add_argument("--dataset", help="default: the dataset the model was trained on")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=_evaluate)

    gc = commands.add_parser("gradcheck", help="numerical vs backprop gradients, layer by layer")
    gc.add_argument("--model", default="mlp", metavar="NAME",
                    help=f"preset to check: {', '.join(models.PRESETS)} (default: mlp)")
    gc.add_argument("--batch", type=int, default=4, metavar="N",
                    help="batch size of the random input (default: 4)")
    gc.add_argument("--max-checks", type=int, default=20, metavar="N",
                    help="coordinates sampled per array (default: 20)")
    gc.add_argument("--seed", type=int, default=0, metavar="N",
                    help="seeds the model, the input and the sample (default: 0)")
    gc.set_defaults(func=_gradcheck)

    ds = commands.add_parser("datasets", help="known datasets: where found, size, how to get them")
    ds.add_argument("--json", action="store_true", help="print one JSON object per dataset")
    ds.set_defaults(func=_datasets)

    add_doctor_command(commands)      # exit 3 when it finds problems (see doctor/cli.py)
    add_experiment_command(commands)  # see experiments/cli.py
    add_run_commands(commands)        # report, compare, predict: see cli_runs.py
    add_export_command(commands)      # see onnx/cli.py
    add_sweep_command(commands)       # see sweep/cli.py
    add_serve_command(commands)       # see serve/cli.py
    return parser


def _train(args: argparse.Namespace) -> int:
    config = _resume_config(args) if args.resume is not None else _train_config(args)
    if args.print_config:
        print(config.to_toml(comments=True), end="")
        return 0
    from scratchnn.train.run import run_training  # imports matplotlib: only when training

    run = run_training(config, progress=not args.no_progress, resume=args.resume is not None)
    for note in run.notes:
        print(f"note: {note}")
    best = run.history.best("val_acc")
    print(f"run directory: {run.directory}")
    if best is not None:
        print(f"best validation accuracy: {best['val_acc']:.4f} (epoch {best['epoch']})")
    print(f"test accuracy: {run.test['accuracy']:.4f}  test loss: {run.test['loss']:.4f}  "
          f"time: {run.seconds:.1f}s")
    return 0


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """A new run's settings, each from the first place that gives it: the flags, the --config
    file, the model preset's own training settings (models.TRAIN_DEFAULTS: the cnn's 10
    epochs), TrainConfig's defaults."""
    flags = settings.from_arguments(args)
    table = read_toml(args.config) if args.config else {}
    model = flags["model"] or table.get("model")
    preset = models.TRAIN_DEFAULTS.get(model, {}) if isinstance(model, str) else {}
    return TrainConfig.from_table({**preset, **table}, where=args.config).replace(**flags)


def _resume_config(args: argparse.Namespace) -> TrainConfig:
    """The settings of the run to resume, with the flags that change nothing it computes
    (settings.resumable); any other flag, or --config, is an error."""
    from scratchnn.train.run import resume_config

    flags = settings.from_arguments(args)
    given = sorted(name for name, value in flags.items()
                   if value is not None and not settings.resumable(name))
    if given or args.config is not None:
        flag = given[0].replace("_", "-") if given else "config"
        raise ConfigError(f"--resume continues a run with the settings it was started with; "
                          f"drop --{flag} (or start a new run)")
    return resume_config(args.resume).replace(**{**flags, "out": str(args.resume)})


def _evaluate(args: argparse.Namespace) -> int:
    from scratchnn.train import Run

    run = Run.open(args.run)
    model, dataset = run.load_model(), run.load_dataset(args.dataset)
    result = evaluate(model, SoftmaxCrossEntropy(), dataset.x_test, dataset.y_test, run.prepare)
    name = args.dataset or run.dataset_name
    result = {"dataset": name, "split": "test", **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{name} test: accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  "
              f"({result['samples']} samples)")
    return 0


def _datasets(args: argparse.Namespace) -> int:
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


def _gradcheck(args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ScratchnnError as error:
        print(f"scratchnn: error: {error}", file=sys.stderr)
        return 2
    except TrainingInterrupted as interrupt:
        resume = ""
        if interrupt.checkpoint is not None:
            run = shlex.quote(str(interrupt.checkpoint.parent))
            resume = f"; resume with: scratchnn train --resume {run}"
        print(f"scratchnn: {interrupt}{resume}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("scratchnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
