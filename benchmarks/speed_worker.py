"""One library's side of benchmarks/speed.py, run in a fresh process per measurement:

    python benchmarks/speed_worker.py gemm
    python benchmarks/speed_worker.py {scratchnn,torch} NET BATCHES.npz --steps S [--layers]

The scratchnn side imports scratchnn before NumPy, as the `scratchnn` command does, so
OpenBLAS's idle threads wait as scratchnn sets them to (scratchnn/_blas_wait.py). It
prints one JSON line: the median training-step time (forward, backward, Adam; float32), the
threads used, and with --layers the median forward and backward time of every layer. The torch
side imports neither scratchnn nor anything else that starts a second thread pool.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

if sys.argv[1:2] == ["scratchnn"]:
    import scratchnn  # noqa: F401  before NumPy, as the `scratchnn` command (scratchnn/_blas_wait.py)
import numpy as np
from machine import blas_info, gemm

NETS = ("mlp", "simple-convnet", "convnet", "cnn")
BATCH = {"mlp": 128, "simple-convnet": 100, "convnet": 128, "cnn": 128}
HIDDEN = (100, 100, 100, 100)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


# -- scratchnn ---------------------------------------------------------------------------------

def scratchnn_model(net: str):
    from scratchnn.models import ConvNet, MultiLayerNet, SimpleConvNet, cnn
    rng = np.random.default_rng(0)
    return {"mlp": lambda: MultiLayerNet(784, HIDDEN, 10, rng=rng),
            "simple-convnet": lambda: SimpleConvNet((1, 28, 28), rng=rng),
            "convnet": lambda: ConvNet((1, 28, 28), rng=rng),
            "cnn": lambda: cnn((1, 28, 28), rng=rng)}[net]()


def scratchnn_run(net: str, x, y, steps: int, layers: bool) -> dict:
    import scratchnn as snn
    try:
        from scratchnn.parallel import num_threads
    except ImportError:                                 # a version before the thread pool
        def num_threads():
            return 1
    model = scratchnn_model(net)
    loss_fn = snn.losses.SoftmaxCrossEntropy()
    optimizer = snn.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        loss_fn.forward(model.forward(x), y)
        optimizer.zero_grad()
        model.backward_params(loss_fn.backward())        # as the Trainer does
        optimizer.step()
    result = {"step_ms": timed_median(step, steps), "gemm_flops": gemm_flops(model, x),
              "threads": {"scratchnn": num_threads(), "blas": blas_info(),
                          "blas_wait": os.environ.get("OPENBLAS_THREAD_TIMEOUT", "default")}}
    if layers:
        result["layers"] = scratchnn_layers(model, loss_fn, x, y, steps)
    return result


def scratchnn_layers(model, loss_fn, x, y, steps: int) -> list[dict]:
    layers = list(model)
    first = next(i for i, layer in enumerate(layers) if layer.parameters())
    forward, backward = [[] for _ in layers], [[] for _ in layers]
    for _ in range(steps):
        h = x
        for i, layer in enumerate(layers):
            start = time.perf_counter()
            h = layer.forward(h)
            forward[i].append(time.perf_counter() - start)
        loss_fn.forward(h, y)
        dout = loss_fn.backward()
        for i in reversed(range(first, len(layers))):
            start = time.perf_counter()
            if i == first:
                layers[i].backward_params(dout)
            else:
                dout = layers[i].backward(dout)
            backward[i].append(time.perf_counter() - start)
        model.zero_grad()
    return [{"layer": repr(layer), "forward_ms": median_ms(f),
             "backward_ms": median_ms(b) if b else 0.0}
            for layer, f, b in zip(layers, forward, backward, strict=True)]


def gemm_flops(model, x) -> float:
    """Floating-point operations of the step's matrix products: every Conv2d and Linear does
    one product forward and two backward (dweight, dx), the first one no dx."""
    from scratchnn.layers import Conv2d, Linear
    total, first, h = 0.0, True, x
    for layer in model:
        out = layer.forward(h)
        if isinstance(layer, Conv2d | Linear):
            n = h.shape[0]
            if isinstance(layer, Linear):
                per_product = 2 * n * layer.in_features * layer.out_features
            else:
                per_product = 2 * out.size * layer.in_channels * np.prod(layer.kernel_size)
            total += per_product * (2 if first else 3)
            first = False
        h = out
    return float(total)


# -- PyTorch -----------------------------------------------------------------------------------

def torch_model(net: str):
    import torch
    nn = torch.nn
    torch.manual_seed(0)
    if net == "mlp":
        layers = [nn.Flatten()]                        # as MultiLayerNet: the layers line up
        for fan_in, fan_out in zip((784, *HIDDEN[:-1]), HIDDEN, strict=True):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(HIDDEN[-1], 10))
    if net == "simple-convnet":
        return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))
    channels, hidden, dropout = ((32, 64), 128, 0.5) if net == "convnet" else \
        ((24, 64, 192), 256, 0.0)                      # scratchnn.models.CNN_CHANNELS
    layers, size = [], 28
    for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(), nn.MaxPool2d(2)]
        size //= 2
    layers += [nn.Flatten(), nn.Linear(channels[-1] * size * size, hidden), nn.ReLU()]
    return nn.Sequential(*layers, *([nn.Dropout(dropout)] if dropout else []),
                         nn.Linear(hidden, 10))


def torch_run(net: str, x, y, steps: int, layers: bool, threads: int | None) -> dict:
    import torch
    if threads:
        torch.set_num_threads(threads)
    model = torch_model(net)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    result = {"step_ms": timed_median(step, steps),
              "threads": {"torch": torch.get_num_threads(), "version": torch.__version__}}
    if layers:
        result["layers"] = torch_layers(model, x, y, steps)
    return result


def torch_layers(model, x, y, steps: int) -> list[dict]:
    import torch
    layers = list(model)
    first = next(i for i, layer in enumerate(layers) if list(layer.parameters()))
    forward, backward = [[] for _ in layers], [[] for _ in layers]
    for _ in range(steps):
        inputs, outputs, h = [], [], x
        for i, layer in enumerate(layers):
            h = h.detach().requires_grad_(i > first)         # each layer its own graph
            start = time.perf_counter()
            out = layer(h)
            forward[i].append(time.perf_counter() - start)
            inputs.append(h)
            outputs.append(out)
            h = out
        logits = h.detach().requires_grad_()
        torch.nn.functional.cross_entropy(logits, y).backward()
        dout = logits.grad
        for i in reversed(range(first, len(layers))):
            start = time.perf_counter()
            outputs[i].backward(dout)
            backward[i].append(time.perf_counter() - start)
            dout = inputs[i].grad
        model.zero_grad()
    return [{"layer": repr(layer), "forward_ms": median_ms(f),
             "backward_ms": median_ms(b) if b else 0.0}
            for layer, f, b in zip(layers, forward, backward, strict=True)]


def timed_median(step, steps: int) -> float:
    for _ in range(max(5, steps // 10)):                     # caches, allocator, thread pools
        step()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("library", choices=("gemm", "scratchnn", "torch"))
    parser.add_argument("net", nargs="?", choices=NETS)
    parser.add_argument("batches", nargs="?", help=".npz written by speed.py")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--layers", action="store_true")
    parser.add_argument("--torch-threads", type=int)
    args = parser.parse_args()
    if args.library == "gemm":
        result = gemm()
    else:
        with np.load(args.batches, allow_pickle=False) as data:
            x, y = data[f"x{BATCH[args.net]}"], data[f"y{BATCH[args.net]}"]
        x = x.reshape(len(x), -1) if args.net == "mlp" else x
        if args.library == "scratchnn":
            result = scratchnn_run(args.net, x, y, args.steps, args.layers)
        else:
            result = torch_run(args.net, x, y, args.steps, args.layers, args.torch_threads)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
