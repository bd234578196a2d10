"""Check a page (a run's report.html) in headless Chromium, and optionally save a screenshot.

    python scripts/check_report.py runs/mlp-20250101-120000/report.html --screenshot docs/report.png

The check is scratchnn.viz.browser_check.check_page, the one tests/runs/test_report_browser.py
runs: every <img> decoded, no console error, no uncaught exception, the network unreachable.
Exit status: 0 clean, 1 problems (listed on stderr), 2 no Chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scratchnn.viz.browser_check import BrowserError, check_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="an HTML file or an http://127.0.0.1:PORT/ URL")
    parser.add_argument("--screenshot", type=Path, help="save the whole page as this PNG")
    args = parser.parse_args(argv)
    try:
        result = check_page(args.page, screenshot=args.screenshot is not None)
    except BrowserError as error:
        print(f"check_report: {error}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"check_report: {problem}", file=sys.stderr)
    if args.screenshot is not None:
        args.screenshot.write_bytes(result.screenshot)
    print(f"{args.page}: {len(result.images)} images, {len(result.problems)} problems")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
