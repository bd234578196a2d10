"""The speed-up of scratchnn's conv kernels over the naive 4-loop kernel of the tests
(tests/layers/naive_conv.py): SimpleConvNet's conv layer (30@5x5), forward and backward on one
batch of 100 images. Printed at the end of benchmarks/speed.py, or alone:

    python benchmarks/speed_naive.py
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np

from scratchnn import functional as F


def naive_speedup(batch: int = 100) -> None:
    path = Path(__file__).resolve().parent.parent / "tests" / "layers" / "naive_conv.py"
    spec = importlib.util.spec_from_file_location("naive_conv", path)
    naive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(naive)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    weight = (0.1 * rng.standard_normal((30, 1, 5, 5))).astype(np.float32)
    bias = np.zeros(30, np.float32)
    start = time.perf_counter()
    out = naive.conv_forward_naive(x, weight, bias, (1, 1), (0, 0))
    naive.conv_backward_naive(np.ones_like(out), x, weight, (1, 1), (0, 0))
    t_naive = time.perf_counter() - start
    fast = []
    for _ in range(20):
        start = time.perf_counter()
        out, cache = F.conv2d_forward(x, weight, bias, (1, 1), (0, 0))
        F.conv2d_backward(np.ones_like(out), cache)
        fast.append(time.perf_counter() - start)
    t_fast = statistics.median(fast)
    print(f"conv 30@5x5 forward + backward, one batch of {batch}: naive loops {t_naive:.1f} s, "
          f"scratchnn {t_fast * 1e3:.2f} ms: {t_naive / t_fast:,.0f}x faster")


if __name__ == "__main__":
    naive_speedup()
