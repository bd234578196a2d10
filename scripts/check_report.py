"""Open a report.html in headless Chromium, check that every image loaded, take a screenshot.

    python scripts/check_report.py runs/mlp-20250101-120000/report.html --screenshot shot.png

Two Chromium runs, both with every host name unresolvable (so the page cannot use the network):
1. a copy of the page with a small script added that, once the page has loaded, lists every
   <img> whose naturalWidth is 0 (not decoded) and the page's height; read back with --dump-dom;
2. a screenshot of the page itself, as tall as the page (up to --max-height).
The screenshot is then checked: a PNG of the window's size that is not one flat colour.

Exit status: 0 every image loaded, 1 something did not (listed on stderr), 2 no Chromium or the
page is missing.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
PROBE = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var result = document.createElement("pre");
  result.id = "image-check";
  result.textContent = JSON.stringify({
    images: images.length,
    broken: broken.map(function (i) { return i.alt || i.src.slice(0, 60); }),
    sources: images.map(function (i) { return i.src.slice(0, 22); }),
    height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)
  });
  document.body.appendChild(result);
});
</script>
"""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def chromium(binary: str, profile: Path, *args: str, timeout: float = 60) -> str:
    """Run headless Chromium offline (every host name fails to resolve) -> its stdout."""
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
               "--virtual-time-budget=10000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def check_images(binary: str, page: Path, width: int, work: Path) -> dict:
    """Load a probed copy of `page` in a window `width` wide -> {"images": n, "broken": [...],
    "sources": [...], "height": the page's height in px}."""
    text = page.read_text(encoding="utf-8")
    probed = work / "probe.html"
    probed.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    dom = chromium(binary, work / "profile-probe", f"--window-size={width},800", "--dump-dom",
                   probed.as_uri())
    found = re.search(r'<pre id="image-check">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError("the page's load event never fired (no result in the DOM)")
    return json.loads(html.unescape(found.group(1)))


def screenshot(binary: str, page: Path, path: Path, width: int, height: int, work: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    chromium(binary, work / "profile-shot", f"--window-size={width},{height}",
             f"--screenshot={path.resolve()}", page.resolve().as_uri())


def check_screenshot(path: Path, width: int, height: int) -> list[str]:
    """Problems with the screenshot: missing, not a PNG of width x height, or one flat colour."""
    from PIL import Image

    if not path.is_file():
        return [f"no screenshot was written to {path}"]
    with Image.open(path) as image:
        size = image.size
        low, high = image.convert("L").getextrema()
    problems = []
    if size != (width, height):
        problems.append(f"screenshot is {size[0]}x{size[1]}, expected {width}x{height}")
    if low == high:
        problems.append("screenshot is one flat colour: nothing was rendered")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report.html to check")
    parser.add_argument("--screenshot", type=Path, help="where to save the screenshot "
                        "(default: report.png beside the report)")
    parser.add_argument("--width", type=int, default=1200, help="window width (default 1200)")
    parser.add_argument("--max-height", type=int, default=12000,
                        help="the screenshot is as tall as the page, up to this (default 12000)")
    args = parser.parse_args(argv)
    binary = find_chromium()
    if binary is None:
        print("check_report: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"check_report: {args.report}: no such file", file=sys.stderr)
        return 2
    shot = args.screenshot or args.report.with_suffix(".png")
    with tempfile.TemporaryDirectory(prefix="check-report-") as tmp:
        work = Path(tmp)
        result = check_images(binary, args.report, args.width, work)
        height = min(max(int(result["height"]), 200), args.max_height)
        screenshot(binary, args.report, shot, args.width, height, work)
    problems = [f"image did not load: {name}" for name in result["broken"]]
    problems += [f"image not embedded as a data: URI: {src}..." for src in result["sources"]
                 if not src.startswith("data:")]
    if result["images"] == 0:
        problems.append("the page has no images")
    problems += check_screenshot(shot, args.width, height)
    for problem in problems:
        print(f"check_report: {problem}", file=sys.stderr)
    print(f"{args.report}: {result['images']} images, {len(result['broken'])} broken; "
          f"screenshot {shot} ({args.width}x{height})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
