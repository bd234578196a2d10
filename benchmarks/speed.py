"""One training step (forward, backward, Adam; float32; batch 128) of the MLP
784-100-100-100-100-10 in scratchnn and in PyTorch CPU, timed in the same process, alternating
step by step, median of many steps. Prints the ratio scratchnn / PyTorch (target: <= 1.2).

Then the same for two conv nets (issue 3; target: <= 2.0): SimpleConvNet (conv 30@5x5 - ReLU -
2x2 max-pool - affine 100 - ReLU - affine 10, batch 100) and the two-block BN network (conv
32@3x3 pad 1 - BN - ReLU - pool - conv 64@3x3 pad 1 - BN - ReLU - pool - affine 128 - ReLU -
dropout 0.5 - affine 10, batch 128, `models.ConvNet()`); then the bigger `cnn` preset (three
blocks, 32/64/128 channels, affine 256, batch 128); and the speed-up of scratchnn's conv layer
over the naive 4-loop kernel (tests/layers/naive_conv.py), timed on one batch.

    python benchmarks/speed.py [--steps 500] [--conv-steps 100] [--threads 2] [--no-naive]
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
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import scratchnn as snn
from scratchnn import functional as F
from scratchnn.data.transforms import Standardize
from scratchnn.models import ConvNet, MultiLayerNet, SimpleConvNet, cnn

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


def torch_mlp():
    layers = []
    for fan_in, fan_out in zip((784, *SIZES[:-1]), SIZES, strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(SIZES[-1], 10))


def scratchnn_sequential_step(model):
    """A training step of a scratchnn Sequential. Its first Linear or Conv2d computes no
    gradient for the data, as in the Trainer (and as torch does for inputs)."""
    next(layer for layer in model if hasattr(layer, "input_grad")).input_grad = False
    loss_fn = snn.losses.SoftmaxCrossEntropy()
    optimizer = snn.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = loss_fn.forward(model.forward(x), y)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss
    return step


def torch_sequential_step(model):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def torch_simple_convnet():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))


def torch_bn_convnet(channels=(32, 64), hidden=128, dropout=0.5):
    """conv 3x3 pad 1 - BN - ReLU - 2x2 max-pool per channel count, then affine `hidden` -
    ReLU - dropout - affine 10: models.ConvNet() by default; the cnn preset with (32, 64, 128),
    256, 0.3."""
    nn, layers, size = torch.nn, [], 28
    for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(), nn.MaxPool2d(2)]
        size //= 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels[-1] * size * size, hidden),
                         nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))


def compare(label: str, ours, theirs, x, y, steps: int, warmup: int = 10,
            decimals: int = 2) -> None:
    """Time both steps alternating step by step (so both see the same load), then in blocks of
    steps // 5 (each with the cores to itself); print medians and the ratio."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(warmup):                               # caches, allocator, BLAS threads
        ours(x, y)
        theirs(xt, yt)
    t_ours, t_theirs = [], []
    for _ in range(steps):
        t_ours.append(timed(ours, x, y))
        t_theirs.append(timed(theirs, xt, yt))
    block = max(1, steps // 5)
    b_ours, b_theirs = [], []
    for _ in range(5):
        b_ours += [timed(ours, x, y) for _ in range(block)]
        b_theirs += [timed(theirs, xt, yt) for _ in range(block)]
    print(f"{label}, median of {steps} steps")
    for how, a, b in (("alternating step by step", t_ours, t_theirs),
                      (f"in blocks of {block} steps", b_ours, b_theirs)):
        a, b = statistics.median(a) * 1e3, statistics.median(b) * 1e3
        print(f"  {how:26s} scratchnn {a:.{decimals}f} ms   PyTorch {b:.{decimals}f} ms   "
              f"ratio {a / b:.2f}x")


def naive_speedup(x: np.ndarray, rng: np.random.Generator) -> None:
    """SimpleConvNet's conv layer (30@5x5), forward and backward on one batch: the 4-loop kernel
    of the tests against scratchnn's im2col kernels."""
    path = Path(__file__).resolve().parent.parent / "tests" / "layers" / "naive_conv.py"
    spec = importlib.util.spec_from_file_location("naive_conv", path)
    naive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(naive)
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
    print(f"conv 30@5x5 forward + backward, one batch of {len(x)}: naive loops {t_naive:.1f} s, "
          f"scratchnn {t_fast * 1e3:.2f} ms: {t_naive / t_fast:,.0f}x faster")


def timed(step, *args) -> float:
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--conv-steps", type=int, default=100, help="0 skips the conv nets")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive conv timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x, y = fashion_batch(args.batch, rng)
    compare(f"MLP 784-{'-'.join(map(str, SIZES))}-10, batch {args.batch}, Adam, float32, "
            f"{args.threads} threads (OPENBLAS_THREAD_TIMEOUT="
            f"{os.environ['OPENBLAS_THREAD_TIMEOUT']})",
            scratchnn_sequential_step(MultiLayerNet(784, SIZES, 10, rng=rng)),
            torch_sequential_step(torch_mlp()), x, y, args.steps, warmup=50, decimals=3)
    if args.conv_steps <= 0:
        return
    x100, y100 = fashion_batch(100, rng)
    x100 = x100.reshape(100, 1, 28, 28)
    compare("SimpleConvNet (conv 30@5x5), batch 100, Adam, float32",
            scratchnn_sequential_step(SimpleConvNet((1, 28, 28), rng=rng)),
            torch_sequential_step(torch_simple_convnet()), x100, y100, args.conv_steps)
    x128, y128 = fashion_batch(128, rng)
    compare("two-block BN net (conv 32, 64 @3x3, BN, pool; 128; dropout), batch 128, Adam",
            scratchnn_sequential_step(ConvNet((1, 28, 28), rng=rng)),
            torch_sequential_step(torch_bn_convnet()), x128.reshape(128, 1, 28, 28), y128,
            args.conv_steps)
    compare("cnn preset (conv 32, 64, 128 @3x3, BN, pool; 256; dropout), batch 128, Adam",
            scratchnn_sequential_step(cnn((1, 28, 28), rng=rng)),
            torch_sequential_step(torch_bn_convnet((32, 64, 128), 256, 0.3)),
            x128.reshape(128, 1, 28, 28), y128, args.conv_steps)
    if not args.no_naive:
        naive_speedup(x100, rng)


if __name__ == "__main__":
    main()
