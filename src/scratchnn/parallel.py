"""A small thread pool for the NumPy passes that BLAS does not cover (batch norm, ReLU,
pooling, im2col/col2im): the caller splits an array into contiguous slices and each thread
runs the same NumPy code on its own slices (NumPy releases the GIL inside its loops).

Kernels split only where each slice's result is exactly what the whole array would give for
those elements: elementwise work, or reductions whose every output (a channel's sum) is computed
inside one slice. Results therefore never depend on the number of threads.

The number of threads is `SCRATCHNN_NUM_THREADS` if set, else the cores this process may run
on (`os.sched_getaffinity`), at most what `limit(threads)` allows. With one thread no pool is
ever created.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from scratchnn.errors import ConfigError

ENV = "SCRATCHNN_NUM_THREADS"
MIN_BYTES = 1 << 18      # smaller work runs on the calling thread (a hand-off costs ~20 us)
CHUNKS_PER_THREAD = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_threads = 0
_limit: int | None = None
_local = threading.local()          # .inside: this thread is running a slice already


def num_threads() -> int:
    """Threads for one pass: SCRATCHNN_NUM_THREADS, else the cores available to the process;
    at most the innermost limit() in force."""
    value = os.environ.get(ENV, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ConfigError(f"{ENV} must be a positive integer, got {value!r}")
    elif hasattr(os, "sched_getaffinity"):
        threads = max(1, len(os.sched_getaffinity(0)))
    else:
        threads = os.cpu_count() or 1
    return threads if _limit is None else min(threads, _limit)


@contextmanager
def limit(threads: int) -> Iterator[None]:
    """At most `threads` threads per pass inside the block, in the whole process (e.g. a sweep
    worker sharing the machine with others, as threadpoolctl limits BLAS)."""
    global _limit
    if threads < 1:
        raise ConfigError(f"a thread limit must be >= 1, got {threads}")
    previous, _limit = _limit, threads
    try:
        yield
    finally:
        _limit = previous


def _executor(threads: int) -> ThreadPoolExecutor:
    """The pool's threads - 1 workers (the calling thread takes one slice itself)."""
    global _pool, _pool_threads
    with _lock:
        if _pool is None or _pool_threads != threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="scratchnn")
            _pool_threads = threads
        return _pool


def _forget_pool() -> None:
    """After fork the child has none of the parent's threads: start a new pool when needed."""
    global _pool, _pool_threads, _lock
    _pool, _pool_threads, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def slices(length: int, parts: int) -> list[slice]:
    """[0, length) cut into `parts` contiguous ranges whose sizes differ by at most one."""
    bounds = [length * k // parts for k in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def run(work: Callable[[slice], None], length: int, nbytes: int) -> None:
    """Call work(s) for contiguous slices s covering [0, length) once each, and wait for all.

    `nbytes` is the memory the whole pass touches: small passes, nested calls and one-thread
    processes run work(slice(0, length)) on the calling thread. Otherwise [0, length) is cut
    into up to CHUNKS_PER_THREAD slices per thread, which the threads take one after another:
    a thread whose core is busy with another process holds up only its current slice.
    """
    threads = 1 if nbytes < MIN_BYTES else min(num_threads(), length)
    if threads <= 1 or getattr(_local, "inside", False):
        work(slice(0, length))
        return
    chunks = min(length, threads * CHUNKS_PER_THREAD, max(threads, nbytes // max(1, MIN_BYTES)))
    pending = iter(slices(length, chunks))
    take = threading.Lock()

    def drain() -> None:
        while True:
            with take:
                s = next(pending, None)
            if s is None:
                return
            work(s)
    pool = _executor(threads)
    futures = [pool.submit(_inside, drain) for _ in range(threads - 1)]
    try:
        _inside(drain)
    finally:
        for future in futures:
            future.result()


def _inside(work: Callable[[], None]) -> None:
    _local.inside = True
    try:
        work()
    finally:
        _local.inside = False


def outer_axis(a: np.ndarray) -> int:
    """Axis 0 or 1 (N or C), whichever is outermost in memory: slices of it are contiguous
    blocks (a conv output is channel-major, (C, N, H, W) in memory)."""
    return 1 if a.ndim > 1 and abs(a.strides[1]) > abs(a.strides[0]) else 0


def along(a: np.ndarray, axis: int, s: slice) -> np.ndarray:
    """The view a[s] along `axis`."""
    return a[(slice(None),) * axis + (s,)]


def elementwise(work: Callable[..., None], *arrays: np.ndarray) -> None:
    """work(*views) on matching slices of arrays that share axes 0 and 1, split along the
    outer axis of the first (per-sample or per-channel work: exact under any split)."""
    first, nbytes = arrays[0], sum(a.nbytes for a in arrays)
    if first.ndim == 0 or nbytes < MIN_BYTES:
        work(*arrays)
        return
    axis = outer_axis(first)
    run(lambda s: work(*(along(a, axis, s) for a in arrays)), first.shape[axis], nbytes)
