"""One training step (forward, backward, Adam; float32; batch 128) of the MLP
784-100-100-100-100-10 in scratchnn and in PyTorch CPU, timed in the same process, alternating
step by step, median of many steps. Prints the ratio scratchnn / PyTorch (target: <= 1.2).

    python benchmarks/speed.py [--steps 500] [--threads 2]
"""

from __future__ import annotations

import os

# Both libraries keep their worker threads spinning for a while after each call. Alternating
# steps on 2 cores, OpenBLAS's spinning threads (NumPy's) steal the cores from torch's OpenMP
# pool and vice versa: both run 4-5x slower than alone. The shortest OpenBLAS spin (2^4 cycles)
# removes that interference; it must be set before NumPy loads OpenBLAS. (OMP_WAIT_POLICY=PASSIVE
# would instead slow torch down 2x, an unfair comparison.)
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import scratchnn as snn
from scratchnn.models import MultiLayerNet
from scratchnn.train.preprocess import Standardize

SIZES = (100, 100, 100, 100)


def fashion_batch(batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A real Fashion-MNIST batch when the data is installed, else random pixels (same speed)."""
    try:
        data = snn.data.load("fashion-mnist")
        index = rng.choice(len(data.x_train), batch, replace=False)
        x, y = data.x_train[index], data.y_train[index]
    except snn.DataError:
        x = rng.integers(0, 256, (batch, 1, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, batch)
    return Standardize.fit(x)(x).reshape(batch, -1), y


def scratchnn_step(rng: np.random.Generator):
    model = MultiLayerNet(784, SIZES, 10, rng=rng)
    model[1].input_grad = False        # as the Trainer does: no gradient for the data (as torch)
    loss_fn = snn.losses.SoftmaxCrossEntropy()
    optimizer = snn.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = loss_fn.forward(model.forward(x), y)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss
    return step


def torch_step():
    layers = []
    for fan_in, fan_out in zip((784, *SIZES[:-1]), SIZES, strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(SIZES[-1], 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def timed(step, *args) -> float:
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x, y = fashion_batch(args.batch, rng)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    ours, theirs = scratchnn_step(rng), torch_step()
    for _ in range(50):                                   # warm-up: caches, allocator, BLAS
        ours(x, y)
        theirs(xt, yt)
    t_ours, t_theirs = [], []
    for _ in range(args.steps):                           # alternate, so both see the same load
        t_ours.append(timed(ours, x, y))
        t_theirs.append(timed(theirs, xt, yt))
    b_ours, b_theirs = [], []
    for _ in range(5):                                    # blocks: each with the cores to itself
        b_ours += [timed(ours, x, y) for _ in range(args.steps // 5)]
        b_theirs += [timed(theirs, xt, yt) for _ in range(args.steps // 5)]
    print(f"MLP 784-{'-'.join(map(str, SIZES))}-10, batch {args.batch}, Adam, float32, "
          f"{args.threads} threads, median of {args.steps} steps "
          f"(OPENBLAS_THREAD_TIMEOUT={os.environ['OPENBLAS_THREAD_TIMEOUT']})")
    for label, a, b in (("alternating step by step", t_ours, t_theirs),
                        (f"in blocks of {args.steps // 5} steps", b_ours, b_theirs)):
        a, b = statistics.median(a) * 1e3, statistics.median(b) * 1e3
        print(f"  {label:26s} scratchnn {a:.3f} ms   PyTorch {b:.3f} ms   ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
