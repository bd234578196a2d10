"""The page in a real headless Chromium (scratchnn.viz.browser_check, network unreachable), as a
user uses it: choose a Fashion-MNIST test image (digits when Fashion-MNIST is not installed) in
the file input, see the class `scratchnn predict` gives and a saliency map that loads; choose a
text file, see the error message; choose another image, see its class; draw on the canvas."""

from __future__ import annotations

import pytest

from scratchnn.train import Run
from scratchnn.train.predict import predict_files
from scratchnn.viz.browser_check import check_page, find_chromium

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium: `make browser` installs Debian's chromium (as root with apt)")

ANSWERS = "Number(document.body.dataset.answers)"
# Waits for the page's next answer (a prediction or an error) after `before` answers.
NEXT_ANSWER = """(async () => {
  while (Number(document.body.dataset.answers) <= %d) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(Array.from(document.images, (i) => i.decode()));   // throws if broken
  const visible = (id) => !document.getElementById(id).hidden;
  return {state: document.body.dataset.state,
          predicted: document.getElementById("result").dataset.predicted || null,
          shown: visible("result") ? document.querySelector("#top .name").textContent : null,
          error: visible("error") ? document.getElementById("error").textContent : null,
          images: Array.from(document.images, (i) => [i.alt, i.naturalWidth])};
})()"""
DRAW = """(() => {
  const context = document.getElementById("canvas").getContext("2d");
  context.strokeStyle = "#fff"; context.lineWidth = 22; context.beginPath();
  context.moveTo(70, 250); context.lineTo(70, 40); context.lineTo(210, 40);
  context.lineTo(210, 250); context.stroke();
  document.getElementById("predict-drawing").click();
})()"""


def choose(page, paths) -> dict:
    before = page.evaluate(ANSWERS)
    page.set_files("#file", paths)
    return page.evaluate(NEXT_ANSWER % before)


def test_upload_error_upload_and_draw_in_a_real_browser(server, served_run, test_images,
                                                        tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    steps = {}

    def use_the_page(page):
        steps["first"] = choose(page, [test_images[0]])
        steps["bad"] = choose(page, [text])
        steps["second"] = choose(page, [test_images[1]])
        before = page.evaluate(ANSWERS)
        page.evaluate(DRAW)
        steps["drawing"] = page.evaluate(NEXT_ANSWER % before)
        steps["model"] = page.evaluate('document.getElementById("model").textContent')

    result = check_page(server.url, settle=0.5, interact=use_the_page)
    first, second = (predict_files(served_run, [path])[0].top[0][0] for path in test_images[:2])
    assert steps["first"]["state"] == "done"
    assert steps["first"]["predicted"] == steps["first"]["shown"] == first
    assert [alt for alt, _ in steps["first"]["images"]] == ["the image as the model sees it",
                                                            "saliency map"]
    assert all(width >= 200 for _, width in steps["first"]["images"])   # loaded, scaled up
    assert steps["bad"]["state"] == "error" and steps["bad"]["images"] == []
    assert steps["bad"]["error"].startswith("notes.txt: not an image")
    assert steps["bad"]["predicted"] is None
    assert steps["second"]["state"] == "done" and steps["second"]["predicted"] == second
    assert steps["drawing"]["state"] == "done" and steps["drawing"]["predicted"]
    assert f"{len(Run.open(served_run).classes)} classes" in steps["model"]
    # The images on the page at the end (the drawing's) loaded; the only console error is the
    # browser's own line about the refused text file's 415 answer.
    assert [image.alt for image in result.images] == ["the image as the model sees it",
                                                      "saliency map"]
    assert not result.broken and not result.exceptions and result.load_error is None
    refused = "Failed to load resource: the server responded with a status of 415"
    assert [error.startswith(refused) for error in result.console_errors] == [True], \
        result.console_errors
