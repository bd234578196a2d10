"""Where trials run: a LocalCluster of W worker processes on this machine (the default), or an
existing Dask cluster reached through its scheduler's address.

    with dask_client(workers=2) as (client, blas_threads): ...
    with dask_client(scheduler="tcp://10.0.0.5:8786") as (client, blas_threads): ...

Local workers run one trial at a time each, with BLAS limited to their share of the cores
(blas_threads), so that W workers do not fight over the same cores. On an existing cluster the
workers' own settings stand (`dask worker` limits BLAS to one thread per worker by default).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from distributed.diagnostics.plugin import WorkerPlugin

from scratchnn.errors import ConfigError, one_line

CONNECT_TIMEOUT = "10s"


def default_workers() -> int:
    """One worker per core, at most 8 (each holds its own copy of the dataset)."""
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None
                ) -> Iterator[tuple[object, int | None]]:
    """A distributed.Client and the BLAS threads each trial may use (None: leave as is)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({one_line(error, 80)}); start "
                f"one with `dask scheduler` and workers with `dask worker {scheduler}`") from None
        with client:
            yield client, None
        return
    workers = workers or default_workers()
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    with warnings.catch_warnings():     # its HTTP server moves to a free port when 8787 is taken
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        client.register_plugin(IgnoreCtrlC())
        yield client, max(1, (os.cpu_count() or 1) // workers)


def capacity(client) -> int:
    """How many trials the cluster runs at once: its worker threads (at least 1)."""
    return max(1, sum(client.nthreads().values()))


class IgnoreCtrlC(WorkerPlugin):
    """Local workers ignore Ctrl-C, which a terminal sends to them too: the driver alone stops
    the sweep (and the cluster with it), without a traceback from every worker."""

    def setup(self, worker) -> None:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
