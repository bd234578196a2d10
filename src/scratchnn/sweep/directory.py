"""The sweep directory: what it holds and how it is created and reopened.

    DIR/spec.toml        the SPEC, copied (resume reads it)
    DIR/study.journal    the Optuna study (JournalStorage), read and written by the driver only
    DIR/results.csv      one row per finished trial, replaced atomically
    DIR/trials/NNN/      each trial's run directory (config, metrics, model, plots, report)
    DIR/report.html      the sweep report
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from scratchnn.errors import ConfigError
from scratchnn.sweep.spec import SweepSpec, read_spec
from scratchnn.train.storage import atomic_write_text

SPEC_FILE = "spec.toml"
STUDY_FILE = "study.journal"
RESULTS_FILE = "results.csv"
REPORT_FILE = "report.html"
TRIALS = "trials"


def new_sweep_directory(spec_path: str | os.PathLike, out: str | os.PathLike | None = None
                        ) -> Path:
    """Where a new sweep goes (default sweeps/<spec name>-<time>); a directory that already
    holds a sweep is refused (resume it instead). Nothing is created yet."""
    directory = Path(out) if out else \
        Path("sweeps") / f"{Path(spec_path).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    if (directory / STUDY_FILE).exists():
        raise ConfigError(f"{directory} already holds a sweep: continue it with "
                          f"`scratchnn sweep --resume {directory}`, or choose another --out")
    return directory


def create_sweep(directory: Path, spec_path: str | os.PathLike) -> None:
    """Make the sweep directory and copy the SPEC into it."""
    (directory / TRIALS).mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / SPEC_FILE, Path(spec_path).read_text())


def open_sweep(directory: str | os.PathLike) -> tuple[Path, SweepSpec]:
    """Reopen a sweep directory to resume it; ConfigError when it is not one."""
    directory = Path(directory)
    if not (directory / SPEC_FILE).is_file() or not (directory / STUDY_FILE).is_file():
        raise ConfigError(f"{directory}: not a sweep directory (no {SPEC_FILE} and "
                          f"{STUDY_FILE}); start a sweep with `scratchnn sweep SPEC.toml`")
    return directory, read_spec(directory / SPEC_FILE)


def trial_directory(directory: Path, number: int) -> Path:
    return directory / TRIALS / f"{number:03d}"


def write_trial_files(directory: Path, number: int, files: dict[str, bytes]) -> Path:
    """Write a trial's run directory: first to NNN.partial, then renamed to NNN, so that
    trials/NNN is complete or absent, never half written."""
    final = trial_directory(directory, number)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for name, data in files.items():
        path = partial / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    partial.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)      # an earlier attempt's, now superseded
    os.replace(partial, final)
    return final
