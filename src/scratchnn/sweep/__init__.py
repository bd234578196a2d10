"""Hyperparameter sweeps: Optuna chooses the trials, Dask runs them, every trial a run directory.

    result = snn.sweep("examples/sweeps/dlfs_lr_decay.toml", workers=2, out="sweeps/dlfs")
    result.best["best_val_acc"], result.directory / "report.html"

`scratchnn sweep SPEC.toml` does the same from the command line. The SPEC format is in
scratchnn.sweep.spec; Optuna and Dask are imported only when a sweep runs
(pip install 'scratchnn[sweep]').
"""

import sys
import types

from scratchnn.sweep.spec import SweepSpec, read_spec

__all__ = ["SweepSpec", "read_spec", "sweep"]


def sweep(spec=None, **options):
    """Run a sweep: see scratchnn.sweep.run.run_sweep (SPEC path, trials, workers, scheduler,
    out, resume, progress) -> SweepResult(directory, rows, best)."""
    from scratchnn.sweep.cli import require_extras
    from scratchnn.sweep.run import run_sweep

    require_extras()
    return run_sweep(spec, **options)


class _CallablePackage(types.ModuleType):
    """This package, callable: `snn.sweep(...)` is `snn.sweep.sweep(...)` (as snn.doctor)."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
