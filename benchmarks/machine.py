"""The machine a benchmark ran on, printed beside its figures: machines differ by 3x.

    from machine import describe      # benchmarks/ is on sys.path when a benchmark runs
    print("machine:", describe())
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def gemm() -> dict:
    """float32 GFLOP/s of NumPy's BLAS on square products: best of several sizes and repeats."""
    best = 0.0
    for n in (512, 1024, 2048):
        a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
        a @ a                                                      # threads and caches warm
        for _ in range(5):
            start = time.perf_counter()
            a @ a
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return {"gflops": best, "blas": blas_info()}


def blas_info() -> list[dict]:
    from threadpoolctl import threadpool_info
    return [{k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for pool in threadpool_info()]


def describe(measured: dict | None = None, env: dict[str, str] | None = None) -> str:
    """CPU model, cores, float32 GEMM GFLOP/s, the BLAS kernel threadpoolctl reports, and the
    OpenBLAS overrides set in `env` (default: this process's environment)."""
    measured = measured or gemm()
    env = os.environ if env is None else env
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = ", ".join(f"{p['internal_api']} {p['version']} {p['architecture']} "
                     f"({p['num_threads']} threads)" for p in measured["blas"])
    overrides = [f"{name}={env[name]}" for name in OVERRIDES if name in env]
    return (f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable); float32 GEMM "
            f"{measured['gflops']:.0f} GFLOP/s; BLAS {blas}"
            + (f"; set: {' '.join(overrides)}" if overrides else ""))
