"""`scratchnn sweep`: hyperparameter search with Optuna, trials run on Dask.

    scratchnn sweep examples/sweeps/cs231n_two_layer.toml --workers 2 --out sweeps/two
    scratchnn sweep SPEC.toml --scheduler tcp://10.0.0.5:8786     # an existing Dask cluster
    scratchnn sweep --resume sweeps/two                            # only the missing trials

Exit status: 0 done, 2 bad usage or input (one line), 130 interrupted (the resume command is
printed), 1 anything else.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from scratchnn.errors import ScratchnnError

INSTALL = "pip install 'scratchnn[sweep]'"


def add_sweep_command(commands) -> None:
    """Add the `sweep` subcommand to the CLI's subparsers."""
    sweep = commands.add_parser(
        "sweep", help="hyperparameter search (Optuna), trials on a Dask cluster",
        description="Search the [space] of SPEC.toml around its [train] settings; every trial is "
        "a run directory DIR/trials/NNN, DIR/results.csv has a row per trial and DIR/report.html "
        f"shows the search. Needs the sweep extra: {INSTALL}.")
    sweep.add_argument("spec", type=Path, nargs="?", metavar="SPEC.toml",
                       help="the sweep: [train] base settings, [space], [sweep] options")
    sweep.add_argument("--trials", type=int, metavar="N", help="total trials (default: SPEC's)")
    sweep.add_argument("--workers", type=int, metavar="W",
                       help="local worker processes (default: one per core, at most 8)")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the trials on this Dask cluster (started with `dask scheduler` "
                       "and `dask worker`) instead of local workers")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="sweep directory (default sweeps/<spec>-<time>)")
    sweep.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the interrupted sweep in DIR")
    sweep.add_argument("--top", type=int, default=5, metavar="K", help="trials in the table")
    sweep.add_argument("--no-progress", action="store_true", help="no progress line")
    sweep.set_defaults(func=run_sweep_command)


def run_sweep_command(args: argparse.Namespace) -> int:
    require_extras()
    from scratchnn.sweep.driver import SweepInterrupted
    from scratchnn.sweep.results import columns, top_rows
    from scratchnn.sweep.run import run_sweep
    from scratchnn.sweep.spec import read_spec
    from scratchnn.viz.table import format_table

    if args.workers is not None and args.scheduler:
        raise ScratchnnError("--workers starts local workers; with --scheduler the cluster's "
                             "workers run the trials: drop one of them")
    try:
        result = run_sweep(args.spec, trials=args.trials, workers=args.workers,
                           scheduler=args.scheduler, out=args.out, resume=args.resume,
                           progress=not args.no_progress)
    except SweepInterrupted as interrupt:
        print(f"scratchnn: sweep interrupted; finished trials are kept in {interrupt.directory}; "
              f"resume with: scratchnn sweep --resume {shlex.quote(str(interrupt.directory))}",
              file=sys.stderr)
        return 130
    spec = read_spec(result.directory / "spec.toml")
    shown = [c for c in columns(spec) if c not in ("reason", "worker")]
    if result.rows:
        print(format_table(top_rows(result.rows, args.top) or result.rows[:args.top], shown))
    print(f"sweep directory: {result.directory} (results.csv, report.html, trials/)")
    if result.best is not None:
        print(f"best trial: {result.best['trial']}  validation accuracy "
              f"{result.best['best_val_acc']:.4f}  ({result.best['directory']})")
    return 0


def require_extras() -> None:
    """A one-line error saying how to install Optuna and Dask when either is missing."""
    missing = [name for name in ("optuna", "distributed", "threadpoolctl")
               if not _importable(name)]
    if missing:
        raise ScratchnnError(f"scratchnn sweep needs {' and '.join(missing)}: {INSTALL}")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
