"""`scratchnn serve RUN [--port P] [--host H]`: the "try it" page of a trained run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_PORT = 8000


def add_serve_command(commands) -> None:
    """Add the `serve` subcommand to the CLI's subparsers."""
    srv = commands.add_parser(
        "serve", help="a local web page to try a run's model on your own images",
        description="Start a local web page where you upload an image or draw one, and see the "
        "model's top classes, the image as the model sees it and a saliency map (the gradient "
        "of the winning class score with respect to the pixels). Ctrl-C stops it.")
    srv.add_argument("run", type=Path, help="run directory (or its model.npz)")
    srv.add_argument("--port", type=int, default=DEFAULT_PORT,
                     help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    srv.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from scratchnn.errors import ConfigError
    from scratchnn.serve.server import LOOPBACK, serve

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use "
              "the page (no password, no encryption)", file=sys.stderr)
    try:
        serve(args.run, args.host, args.port, announce=lambda text: print(text, flush=True))
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0
