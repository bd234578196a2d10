"""python -m scratchnn.data.download NAME [--root DIR]: download, verify, print the directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scratchnn.data.download import MIRRORS, download
from scratchnn.errors import DataError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scratchnn.data.download",
        description="Download a dataset's files, checking each MD5 (archives are unpacked); "
                    "print the directory.")
    parser.add_argument("name", choices=sorted(MIRRORS))
    parser.add_argument("--root", type=Path, default=None,
                        help="put the files in ROOT/NAME (default: ~/.cache/scratchnn/NAME)")
    args = parser.parse_args(argv)
    try:
        directory = download(args.name, args.root, log=lambda line: print(line, file=sys.stderr))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
