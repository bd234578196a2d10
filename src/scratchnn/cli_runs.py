"""`scratchnn report | compare | predict`: looking at finished runs.

    scratchnn report runs/mlp-20250101-120000          # rebuild its report.html
    scratchnn compare runs/a runs/b --out cmp          # table + cmp/compare.png, cmp/compare.csv
    scratchnn predict runs/a shoe.png batch.npy        # top-3 classes per input
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_run_commands(commands) -> None:
    """Add the report, compare and predict sub-commands to the CLI's subparsers."""
    rep = commands.add_parser(
        "report", help="(re)build a run directory's report.html",
        description="(Re)build DIR/report.html: settings, curves, test accuracy, per-class "
        "precision and recall, confusion matrix, mistakes, first-layer weights.")
    rep.add_argument("run", type=Path, help="run directory")
    rep.add_argument("--dataset", help="test set to report on (default: the run's dataset)")
    rep.set_defaults(func=_report)

    cmp = commands.add_parser(
        "compare", help="runs side by side: table and overlaid curves",
        description="Runs side by side: a table of the settings that differ and the results "
        "(time: the seconds of training, the sum of the epochs), curves overlaid in "
        "compare.png, the table in compare.csv.")
    cmp.add_argument("runs", type=Path, nargs="+", metavar="DIR", help="run directories")
    cmp.add_argument("--out", type=Path, default=Path("."),
                     help="where compare.png and compare.csv go (default: the current "
                          "directory)")
    cmp.set_defaults(func=_compare)

    pre = commands.add_parser(
        "predict", help="top-k classes for image (PNG/JPEG) or .npy files",
        description="The run's top classes for each input. An image is converted to the "
        "model's channels and resized to its size (and says so); a .npy array must already "
        "have the model's sample shape and pixel scale.")
    pre.add_argument("run", type=Path, help="run directory (or its model.npz)")
    pre.add_argument("files", type=Path, nargs="+", metavar="FILE",
                     help="an image (PNG, JPEG, ...) or a .npy array of one sample or a batch")
    pre.add_argument("--top-k", type=int, default=3, metavar="K", help="classes shown per input")
    pre.add_argument("--invert", action="store_true",
                     help="invert the pixels (dark objects on a light background, for models "
                          "trained on light-on-dark images such as Fashion-MNIST)")
    pre.add_argument("--json", action="store_true", help="print one JSON object per input")
    pre.set_defaults(func=_predict)


def _report(args: argparse.Namespace) -> int:
    from scratchnn.train import Run
    from scratchnn.train.predict import require_input_shape
    from scratchnn.train.reporting import write_report

    dataset = None
    if args.dataset:
        run = Run.open(args.run)
        dataset = run.load_dataset(args.dataset)
        require_input_shape(run, dataset.x_test.shape[1:], args.dataset)
    print(f"wrote {write_report(args.run, dataset=dataset)}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from scratchnn.train.compare import compare_runs, write_comparison
    from scratchnn.viz.table import format_table

    comparison = compare_runs(args.runs)
    print(format_table(comparison.rows))
    if len(comparison.runs) > 1 and not comparison.differing:
        print("(the runs' settings are identical)")
    for path in write_comparison(comparison, args.out):
        print(f"wrote {path}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from scratchnn.train.predict import predict_files

    predictions = predict_files(args.run, args.files, top_k=args.top_k, invert=args.invert,
                                note=lambda text: print(f"scratchnn: {text}", file=sys.stderr))
    for prediction in predictions:
        if args.json:
            print(json.dumps({"input": prediction.source,
                              "top": [{"class": c, "probability": p} for c, p in prediction.top]}))
            continue
        print(prediction.source)
        width = max(len(c) for c, _ in prediction.top)
        for rank, (name, probability) in enumerate(prediction.top, 1):
            print(f"  {rank}. {name:<{width}}  {probability:.4f}")
    return 0
