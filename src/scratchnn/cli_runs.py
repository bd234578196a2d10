"""`scratchnn report | compare | predict`: looking at finished runs.

    scratchnn report runs/mlp-20250101-120000          # rebuild its report.html
    scratchnn compare runs/a runs/b --out cmp          # table + cmp/compare.png, cmp/compare.csv
    scratchnn predict runs/a shoe.png batch.npy        # top-3 classes per input
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_run_commands(commands) -> None:
    """Add the report, compare and predict sub-commands to the CLI's subparsers."""
    rep = commands.add_parser("report", help="(re)build a run directory's report.html")
    rep.add_argument("run", type=Path, help="run directory")
    rep.add_argument("--dataset", help="test set to report on (default: the run's dataset)")
    rep.set_defaults(func=_report)

    cmp = commands.add_parser("compare", help="runs side by side: table and overlaid curves")
    cmp.add_argument("runs", type=Path, nargs="+", metavar="DIR", help="run directories")
    cmp.add_argument("--out", type=Path, default=Path("."),
                     help="where compare.png and compare.csv go (default: the current "
                          "directory)")
    cmp.set_defaults(func=_compare)

    pre = commands.add_parser("predict", help="top-k classes for image (PNG/JPEG) or .npy files")
    pre.add_argument("run", type=Path, help="run directory (or its model.npz)")
    pre.add_argument("files", type=Path, nargs="+", metavar="FILE")
    pre.add_argument("--top-k", type=int, default=3, help="classes shown per input (default 3)")
    pre.add_argument("--invert", action="store_true",
                     help="invert the pixels (dark objects on a light background, for models "
                          "trained on light-on-dark images such as Fashion-MNIST)")
    pre.add_argument("--json", action="store_true", help="print one JSON object per input")
    pre.set_defaults(func=_predict)


def _report(args: argparse.Namespace) -> int:
    from scratchnn.train import Run
    from scratchnn.train.reporting import write_report

    dataset = Run.open(args.run).load_dataset(args.dataset) if args.dataset else None
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

    predictions = predict_files(args.run, args.files, top_k=args.top_k, invert=args.invert)
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
