"""`scratchnn experiment NAME [options]`: run one experiment, print its table, list its files.

    scratchnn experiment optimizers                       # Fashion-MNIST, 2000 iterations
    scratchnn experiment batchnorm --epochs 10 --out runs/bn
    scratchnn experiment gradients --dataset digits

Each experiment's options are the keyword arguments of its run() function; an option left out
keeps that function's default (shown in --help). Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path


def _names(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 100,100, got {text!r}") from None


# keyword argument of a run() -> (type, help)
OPTIONS: dict[str, tuple[object, str]] = {
    "dataset": (str, "fashion-mnist, mnist, digits or a path"),
    "seed": (int, "seed of the weights, batches and subsets"),
    "iterations": (int, "training iterations (mini-batches)"),
    "epochs": (int, "training epochs"),
    "batch_size": (int, "mini-batch size"),
    "lr": (float, "learning rate (SGD)"),
    "samples": (int, "training samples used (a seeded random subset; the batch for gradients)"),
    "test_samples": (int, "test samples used (a seeded random subset)"),
    "hidden_sizes": (_ints, "hidden layer sizes, e.g. 100,100,100,100"),
    "hidden_size": (int, "hidden layer size"),
    "optimizers": (_names, "which of SGD,Momentum,Nesterov,AdaGrad,RMSprop,Adam"),
    "scales": (int, "number of weight scales, from 1 down to 1e-4 (log spaced)"),
    "dropout": (float, "dropout probability (of dropping)"),
    "l2_reg": (float, "the course-style L2 term's lambda (Trainer l2_reg; not weight decay)"),
    "histogram_samples": (int, "training images whose activations are histogrammed"),
    "repeats": (int, "backprop timings taken (the best is kept)"),
}


def add_experiment_command(commands) -> None:
    """Add `experiment NAME` (one sub-command per experiment) to the CLI's subparsers. Its
    options are filled in only when it is used: the experiments import matplotlib."""
    commands.add_parser("experiment", help="run a classic experiment: plots and CSV",
                        description=__doc__.splitlines()[0], fill=_add_experiments)


def _add_experiments(parser: argparse.ArgumentParser) -> None:
    from scratchnn.experiments import EXPERIMENTS

    names = parser.add_subparsers(dest="experiment", required=True, metavar="NAME")
    for name, run in EXPERIMENTS.items():
        doc = inspect.getdoc(inspect.getmodule(run)) or ""
        sub = names.add_parser(name, help=" ".join(doc.split("\n\n")[0].split()) or None,
                               description=doc, formatter_class=argparse.RawTextHelpFormatter)
        sub.add_argument("--out", type=Path, help=f"output directory (default runs/experiments/"
                         f"{name})")
        for key, parameter in inspect.signature(run).parameters.items():
            if key not in OPTIONS:
                continue
            kind, text = OPTIONS[key]
            default = parameter.default
            shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else default
            sub.add_argument("--" + key.replace("_", "-"), dest=key, type=kind,
                             help=f"{text} (default {'all' if shown is None else shown})")
        sub.set_defaults(func=_run, experiment_run=run)


def _run(args: argparse.Namespace) -> int:
    run = args.experiment_run
    options = {key: value for key, value in vars(args).items()
               if key in OPTIONS and value is not None
               and key in inspect.signature(run).parameters}
    out = args.out or Path("runs") / "experiments" / args.experiment
    result = run(out, log=lambda message: print(message, file=sys.stderr, flush=True),
                 **options)
    print(result.summary())
    return 0
