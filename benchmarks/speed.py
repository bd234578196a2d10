"""Training-step time of scratchnn against PyTorch CPU, each library in its own fresh process.

One step = forward, backward and an Adam update in float32 on a Fashion-MNIST batch (random
pixels if the dataset is not installed) for four networks:
  mlp             MLP 784-100-100-100-100-10, batch 128
  simple-convnet  SimpleConvNet: conv 30@5x5 - ReLU - pool - affine 100 - ReLU - affine, batch 100
  convnet         models.ConvNet(): two conv3x3-BN-ReLU-pool blocks (32, 64) - 128 - 10, batch 128
  cnn             the `cnn` preset: three blocks (24, 64, 192) - 256 - 10 (no dropout), batch 128

Each measurement is a new process (benchmarks/speed_worker.py) timing one library alone: in one
process NumPy's OpenBLAS threads and torch's OpenMP threads spin against each other. The
libraries alternate, round after round; each one's figure is its best median over the rounds.
The machine comes first: CPU model, cores, the float32 GEMM GFLOP/s NumPy's BLAS reaches, and
the BLAS kernel threadpoolctl reports. Then the share of that peak the `cnn` step reaches (FLOPs
of its convolutions and matrix products / step time / peak).

Run it alone on the machine, with the machine's BLAS defaults (the command unsets the BLAS
core-type and cache-size overrides some machines set):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/speed.py
        [--nets mlp,simple-convnet,convnet,cnn] [--rounds 3] [--steps 30] [--mlp-steps 300]
        [--threads N] [--layers] [--no-naive]

--threads N sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and SCRATCHNN_NUM_THREADS of the workers
and torch.set_num_threads(N) (default: each library's own default). --layers adds a
per-layer breakdown (forward and backward per layer, ours and torch's) from one more process
per library and network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from machine import cpu_model, describe

HERE = Path(__file__).resolve().parent
WORKER = HERE / "speed_worker.py"
LABELS = {"mlp": "MLP 784-100x4-10, batch 128",
          "simple-convnet": "SimpleConvNet (conv 30@5x5), batch 100",
          "convnet": "two-block BN net (32, 64; 128), batch 128",
          "cnn": "cnn preset (24, 64, 192; 256), batch 128"}


def worker(args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, str(WORKER), *args], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_batches(path: Path) -> None:
    """Standardised float32 batches of 100 and 128 images with their labels."""
    import scratchnn as snn
    from scratchnn.data.transforms import Standardize
    rng = np.random.default_rng(0)
    try:
        data = snn.data.load("fashion-mnist")
        images, labels = data.x_train, data.y_train
    except snn.DataError:
        images = rng.integers(0, 256, (1000, 1, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, 1000)
    arrays = {}
    for batch in (100, 128):
        index = rng.choice(len(images), batch, replace=False)
        x = images[index]
        arrays[f"x{batch}"] = Standardize.fit(x)(x).astype(np.float32).reshape(batch, 1, 28, 28)
        arrays[f"y{batch}"] = labels[index].astype(np.int64)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def print_layers(net: str, ours: list[dict], theirs: list[dict]) -> None:
    print(f"\n{LABELS[net]}: per layer, median ms (forward / backward)")
    print(f"  {'scratchnn layer':44s} {'ours':>15s}   {'PyTorch':>15s}")
    for a, b in zip(ours, theirs, strict=True):
        print(f"  {a['layer'][:44]:44s} {a['forward_ms']:6.2f} / {a['backward_ms']:6.2f}   "
              f"{b['forward_ms']:6.2f} / {b['backward_ms']:6.2f}")
    total = [sum(r[k] for r in rows) for rows in (ours, theirs)
             for k in ("forward_ms", "backward_ms")]
    print(f"  {'total':44s} {total[0]:6.2f} / {total[1]:6.2f}   {total[2]:6.2f} / {total[3]:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="mlp,simple-convnet,convnet,cnn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed steps of a conv net")
    parser.add_argument("--mlp-steps", type=int, default=300)
    parser.add_argument("--threads", type=int, help="threads of every library (default: theirs)")
    parser.add_argument("--layers", action="store_true", help="per-layer breakdown")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive conv timing")
    args = parser.parse_args()
    nets = args.nets.split(",")
    env = dict(os.environ)
    torch_args = []
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "SCRATCHNN_NUM_THREADS"):
            env[name] = str(args.threads)
        torch_args = ["--torch-threads", str(args.threads)]
    gemm = worker(["gemm"], env)
    tag = f"[{cpu_model()} x{os.cpu_count()}, GEMM {gemm['gflops']:.0f} GFLOP/s]"
    print(f"machine: {describe(gemm, env)}")
    with tempfile.TemporaryDirectory() as tmp:
        batches = Path(tmp) / "batches.npz"
        write_batches(batches)
        best: dict[tuple[str, str], dict] = {}
        for round_ in range(args.rounds):
            for net in nets:
                steps = str(args.mlp_steps if net == "mlp" else args.steps)
                for library in ("scratchnn", "torch"):
                    extra = torch_args if library == "torch" else []
                    result = worker([library, net, str(batches), "--steps", steps, *extra], env)
                    key = (library, net)
                    if key not in best or result["step_ms"] < best[key]["step_ms"]:
                        best[key] = result
            print(f"round {round_ + 1} of {args.rounds} done", file=sys.stderr)
        ours_threads = best[("scratchnn", nets[0])]["threads"]["scratchnn"]
        torch_threads = best[("torch", nets[0])]["threads"]
        wait = best[("scratchnn", nets[0])]["threads"].get("blas_wait", "default")
        print(f"threads: scratchnn {ours_threads} (+ BLAS, OPENBLAS_THREAD_TIMEOUT {wait}), "
              f"torch {torch_threads['torch']} "
              f"(torch {torch_threads['version']}); best median of {args.rounds} fresh "
              f"processes each, alternating")
        print(f"{'network':44s} {'scratchnn':>10s} {'PyTorch':>10s}  ratio")
        for net in nets:
            a, b = best[("scratchnn", net)]["step_ms"], best[("torch", net)]["step_ms"]
            print(f"{LABELS[net]:44s} {a:7.2f} ms {b:7.2f} ms  {a / b:.2f}x  {tag}")
        if "cnn" in nets:
            result = best[("scratchnn", "cnn")]
            achieved = result["gemm_flops"] / (result["step_ms"] / 1e3) / 1e9
            print(f"cnn step: {result['gemm_flops'] / 1e9:.2f} GFLOP of convolutions and "
                  f"products in {result['step_ms']:.1f} ms = {achieved:.0f} GFLOP/s, "
                  f"{achieved / gemm['gflops']:.0%} of the GEMM peak")
        if args.layers:
            for net in nets:
                steps = str(max(5, args.steps if net != "mlp" else args.mlp_steps // 10))
                rows = [worker([library, net, str(batches), "--steps", steps, "--layers",
                                *(torch_args if library == "torch" else [])], env)["layers"]
                        for library in ("scratchnn", "torch")]
                print_layers(net, *rows)
    if not args.no_naive:
        from speed_naive import naive_speedup
        naive_speedup()


if __name__ == "__main__":
    main()
