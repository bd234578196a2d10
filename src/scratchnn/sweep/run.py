"""A whole sweep: the directory, the study, the cluster, the trials, results.csv and report.html.

    result = run_sweep("examples/sweeps/cs231n_two_layer.toml", workers=2, out="sweeps/two")
    result = run_sweep(resume="sweeps/two")            # only the trials still missing
"""

from __future__ import annotations

import os

from scratchnn.errors import ConfigError
from scratchnn.sweep import directory as layout
from scratchnn.sweep.cluster import dask_client
from scratchnn.sweep.driver import Driver, SweepInterrupted, SweepResult, open_study
from scratchnn.sweep.progress import SweepProgress
from scratchnn.sweep.report import write_sweep_report
from scratchnn.sweep.spec import read_spec


def run_sweep(spec: str | os.PathLike | None = None, *, trials: int | None = None,
              workers: int | None = None, scheduler: str | None = None,
              out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
              progress: bool = False) -> SweepResult:
    """Run the sweep SPEC (a TOML file) into `out`, or continue the one in `resume`.

    trials: the total number of trials (default: the SPEC's; a grid stops at its size).
    workers: local worker processes (default one per core, at most 8); scheduler: the address
    of an existing Dask cluster instead (tcp://HOST:PORT). Ctrl-C raises SweepInterrupted
    after the finished trials are saved; the running ones are run again on resume.
    """
    if (spec is None) == (resume is None):
        raise ConfigError("give a sweep SPEC.toml, or --resume DIR (not both)")
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    if resume is not None:
        if out is not None:
            raise ConfigError("--resume continues the sweep in its own directory; drop --out")
        directory, parsed = layout.open_sweep(resume)
    else:
        parsed = read_spec(spec)
        directory = layout.new_sweep_directory(spec, out)
    total = trials or parsed.trials
    if parsed.sampler == "grid":
        total = min(total, parsed.grid_size())
    with dask_client(workers, scheduler) as (client, blas_threads):
        if resume is None:
            layout.create_sweep(directory, spec)
        study = open_study(directory, parsed)
        bar = SweepProgress(total) if progress else None
        driver = Driver(directory, parsed, study, client, total, blas_threads, bar)
        try:
            driver.run()
        except KeyboardInterrupt:
            driver.cancel()
            raise SweepInterrupted(directory) from None
        finally:
            if bar is not None:
                bar.close()
            write_sweep_report(directory, parsed, study)
    return driver.result()
