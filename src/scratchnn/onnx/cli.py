"""`scratchnn export RUN [--out FILE] [--opset N]`: a run's model as an ONNX file."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_export_command(commands) -> None:
    """Add the `export` subcommand to the CLI's subparsers."""
    from scratchnn.onnx.exporter import DEFAULT_OPSET

    exp = commands.add_parser(
        "export", help="write a run's model as ONNX (needs: pip install scratchnn[onnx])",
        description="Write the run's model as an ONNX file: uint8 pixels (batch, C, H, W) in, "
        "the run's preprocessing folded in, outputs 'logits' and 'probabilities', class names "
        "in the metadata.")
    exp.add_argument("run", type=Path, help="run directory (or its model.npz)")
    exp.add_argument("--out", type=Path, help="ONNX file to write (default: model.onnx in the "
                     "run directory)")
    exp.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                     help=f"ONNX operator set version (default {DEFAULT_OPSET})")
    exp.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from scratchnn.errors import ConfigError
    from scratchnn.onnx.run import export_run

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConfigError("export needs the onnx package: pip install 'scratchnn[onnx]'") from None
    print(f"wrote {export_run(args.run, args.out, opset=args.opset)}")
    return 0
