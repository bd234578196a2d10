"""The command line: scratchnn train | evaluate | gradcheck.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn import gradcheck, models
from scratchnn.errors import ScratchnnError
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train.config import TrainConfig
from scratchnn.train.evaluate import evaluate
from scratchnn.train.modelfile import load_model
from scratchnn.train.preprocess import Standardize


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 512,256, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scratchnn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and write a run directory")
    train.add_argument("--config", type=Path, help="TOML file of settings (flags override it)")
    train.add_argument("--dataset", help="fashion-mnist (default), mnist, digits or a path")
    train.add_argument("--model", help=f"one of {', '.join(models.PRESETS)} (default mlp)")
    train.add_argument("--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw")
    train.add_argument("--lr", type=float, help="(peak) learning rate")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="run directory (default runs/<model>-<time>)")
    train.add_argument("--schedule", help="constant, step, exponential or cosine")
    train.add_argument("--val-fraction", type=float)
    train.add_argument("--hidden-sizes", type=_ints, help="e.g. 512,256")
    train.add_argument("--activation", help="relu, leaky_relu, sigmoid or tanh")
    train.add_argument("--dropout", type=float, help="drop probability after each hidden layer")
    train.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--weight-decay", type=float, help="L2 lambda on weight matrices")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    ev = commands.add_parser("evaluate", help="evaluate a run's model on a dataset's test split")
    ev.add_argument("run", type=Path, help="run directory (or a model.npz)")
    ev.add_argument("--dataset", help="default: the dataset the model was trained on")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=_evaluate)

    gc = commands.add_parser("gradcheck", help="numerical vs backprop gradients, layer by layer")
    gc.add_argument("--model", default="mlp", help="preset to check (default mlp)")
    gc.add_argument("--batch", type=int, default=4, help="batch size of the random input")
    gc.add_argument("--max-checks", type=int, default=20, help="coordinates sampled per array")
    gc.add_argument("--seed", type=int, default=0)
    gc.set_defaults(func=_gradcheck)
    return parser


def _train(args: argparse.Namespace) -> int:
    from scratchnn.train.run import run_training  # imports matplotlib: only when training

    config = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    config = config.replace(
        dataset=args.dataset, model=args.model, optimizer=args.optimizer, lr=args.lr,
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, out=args.out,
        schedule=args.schedule, val_fraction=args.val_fraction, hidden_sizes=args.hidden_sizes,
        activation=args.activation, dropout=args.dropout, batchnorm=args.batchnorm,
        weight_decay=args.weight_decay)
    run = run_training(config, progress=not args.no_progress)
    best = run.history.best("val_acc")
    print(f"run directory: {run.directory}")
    if best is not None:
        print(f"best validation accuracy: {best['val_acc']:.4f} (epoch {best['epoch']})")
    print(f"test accuracy: {run.test['accuracy']:.4f}  test loss: {run.test['loss']:.4f}  "
          f"time: {run.seconds:.1f}s")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    path = args.run / "model.npz" if args.run.is_dir() else args.run
    model, meta = load_model(path)
    name = args.dataset or meta["dataset"]
    dataset = datasets.load(name)
    prepare = Standardize(**meta["preprocess"]) if meta.get("preprocess") else np.asarray
    result = evaluate(model, SoftmaxCrossEntropy(), dataset.x_test, dataset.y_test, prepare)
    result = {"dataset": name, "split": "test", **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{name} test: accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  "
              f"({result['samples']} samples)")
    return 0


def _gradcheck(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    model = models.build(args.model, 784, 10, rng=rng).to_dtype(np.float64)
    x = rng.standard_normal((args.batch, 1, 28, 28))
    y = rng.integers(0, 10, args.batch)
    failed = False
    print(f"{args.model}: every layer at its own input, then the whole model with "
          "SoftmaxCrossEntropy")
    layer_input = x
    for name, layer in model.children():
        report = gradcheck.check_layer(layer, layer_input, max_checks=args.max_checks, rng=rng)
        print(f"\nlayer {name}: {layer!r}\n{report.table()}")
        failed |= not report.ok
        layer_input = layer.forward(layer_input)
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y,
                                   max_checks=args.max_checks, rng=rng)
    print(f"\nwhole model\n{report.table()}")
    failed |= not report.ok
    print("\nall gradients agree" if not failed else "\nGRADIENT CHECK FAILED")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ScratchnnError as error:
        print(f"scratchnn: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scratchnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
