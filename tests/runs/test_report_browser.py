"""report.html in a real browser: headless Chromium, network unreachable, through the DevTools
protocol (scratchnn.viz.browser_check). A fresh run's report must show every image and log no
console error or exception; pages with a broken image or a script error must fail the check."""

from __future__ import annotations

import base64
import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scratchnn.viz.browser_check import check_page, find_chromium

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium: `make browser` installs Debian's chromium (as root with apt)")

ROOT = Path(__file__).resolve().parents[2]
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA"
           "AABJRU5ErkJggg==")                                  # one pixel


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report.html of a real `scratchnn train` run (digits, 2 epochs), started as users do."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    subprocess.run([sys.executable, "-m", "scratchnn", "train", "--dataset", "digits",
                    "--epochs", "2", "--out", str(out)], check=True, capture_output=True)
    return out / "report.html"


def test_every_image_of_a_fresh_report_loads_and_nothing_fails(report):
    result = check_page(report)
    assert result.ok, "\n".join(result.problems)
    written = re.findall(r"<img\b", report.read_text(encoding="utf-8"))
    assert len(result.images) == len(written)
    alts = [image.alt for image in result.images]
    assert {"loss", "accuracy", "confusion matrix", "first-layer weights"} <= set(alts)
    samples = sum(alt.startswith("test image ") for alt in alts)   # the misclassified grid
    assert 1 <= samples <= 48
    assert all(image.width > 0 for image in result.images)
    assert all(image.src.startswith("data:image/png;base64,") for image in result.images)


def test_a_broken_image_fails_the_check(report, tmp_path):
    page = report.read_text(encoding="utf-8")
    corrupt = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,iVBORw0KGgoAAAANSUhEUg", page, count=1)
    remote = corrupt.replace("</body>", "<img alt='remote' src='http://example.com/a.png'></body>")
    broken = tmp_path / "broken.html"
    broken.write_text(remote, encoding="utf-8")
    result = check_page(broken)
    assert len(result.broken) == 2, result.problems
    assert result.broken[-1].alt == "remote"
    assert any("Failed to load resource" in e and "example.com" in e
               for e in result.console_errors), result.problems
    assert not result.ok


def test_a_script_error_fails_the_check(tmp_path):
    page = tmp_path / "script.html"
    page.write_text(f"<html><body><img alt='fine' src='data:image/png;base64,{PNG_1PX}'>"
                    "<script>console.error('drawn wrong'); noSuchFunction();</script>"
                    "</body></html>", encoding="utf-8")
    result = check_page(page)
    assert not result.broken
    assert result.console_errors == ["drawn wrong"]
    assert len(result.exceptions) == 1 and "noSuchFunction" in result.exceptions[0]
    assert not result.ok


def test_errors_after_the_load_event_are_caught_while_the_page_settles(tmp_path):
    page = tmp_path / "late.html"
    page.write_text("<html><body><script>setTimeout(() => { throw new Error('late'); }, 200);"
                    "</script></body></html>", encoding="utf-8")
    result = check_page(page, settle=2.0)
    assert len(result.exceptions) == 1 and "late" in result.exceptions[0], result.problems


def test_a_page_served_on_the_loopback_interface_is_checked_too(tmp_path):
    (tmp_path / "index.html").write_text(
        f"<html><body><img alt='dot' src='data:image/png;base64,{PNG_1PX}'>"
        "<img alt='served' src='dot.png'></body></html>", encoding="utf-8")
    (tmp_path / "dot.png").write_bytes(base64.b64decode(PNG_1PX))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = check_page(f"http://127.0.0.1:{server.server_address[1]}/index.html")
    finally:
        server.shutdown()
        server.server_close()
    assert result.ok, result.problems
    assert [image.alt for image in result.images] == ["dot", "served"]


def test_a_missing_page_is_reported_not_passed(tmp_path):
    result = check_page(tmp_path / "nothing.html")
    assert result.load_error and "ERR_FILE_NOT_FOUND" in result.load_error
    assert not result.ok


def test_the_script_checks_a_report_and_saves_a_screenshot(report, tmp_path):
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "scripts/check_report.py", str(report),
                           "--screenshot", str(shot)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r".*: \d+ images, 0 problems\n", done.stdout)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == 1200 and image.height > 900    # the whole page, not the window
        assert image.convert("L").getextrema()[0] < 128       # something dark was drawn
