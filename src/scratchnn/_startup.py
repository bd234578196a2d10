"""Ctrl-C while the `scratchnn` command is still importing: one line, no traceback.

`scratchnn/__init__.py` imports this first, so the hook is in place from the command's first
line of our code on (cli.main catches everything after that itself). A program that imports
scratchnn keeps Python's own handling: the hook is installed only when the process is the
command (`scratchnn ...` or `python -m scratchnn ...`).
"""

import sys


def _interrupted_while_starting(kind, value, traceback, previous=sys.excepthook) -> None:
    if issubclass(kind, KeyboardInterrupt):
        print("scratchnn: interrupted", file=sys.stderr)
    else:
        previous(kind, value, traceback)


def is_the_command() -> bool:
    first = sys.argv[0].replace("\\", "/") if sys.argv else ""
    return first.endswith(("/scratchnn", "scratchnn/__main__.py")) or (
        first == "-m" and "scratchnn" in (sys.orig_argv[2:3] if hasattr(sys, "orig_argv") else []))


if is_the_command():
    sys.excepthook = _interrupted_while_starting
