"""Open a page in headless Chromium with the network unreachable, and list what went wrong.

    result = check_page("runs/a/report.html")      # a file, or an http://127.0.0.1:PORT/ URL
    assert result.ok, "\\n".join(result.problems)

Speaks the Chrome DevTools protocol over `--remote-debugging-pipe` (no port, no extra package):
while the page loads it records every console error, uncaught exception and failed resource; after
the load event it reads every <img> (an image that did not decode has naturalWidth 0). The network
is unreachable: every request not to the loopback interface goes to a proxy that refuses it, and
host names other than localhost do not resolve. `interact=` uses the page between the load and
the check (PageSession: evaluate JavaScript, choose files in a file input).
tests/runs/test_report_browser.py checks report.html with it, tests/serve/test_browser.py the
`scratchnn serve` page; every page scratchnn writes or serves should pass the same check. Stdlib
only, and not imported by `import scratchnn`.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--remote-debugging-pipe")
IMAGES = """JSON.stringify(Array.from(document.images, i => ({
    src: i.currentSrc || i.src, alt: i.alt, complete: i.complete, width: i.naturalWidth})))"""

_TRAMPOLINE = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
               "os.execv(sys.argv[3], sys.argv[3:])")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable ($CHROMIUM first), or None."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override)
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer in time."""


@dataclass
class PageImage:
    src: str
    alt: str
    complete: bool
    width: int            # naturalWidth: 0 when the image did not load or decode

    @property
    def loaded(self) -> bool:
        return self.complete and self.width > 0


@dataclass
class PageCheck:
    """What one page load showed: its images, console errors and uncaught exceptions."""

    url: str
    load_error: str | None = None      # the page itself did not open (net::ERR_FILE_NOT_FOUND...)
    images: list[PageImage] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    screenshot: bytes | None = None

    @property
    def broken(self) -> list[PageImage]:
        return [image for image in self.images if not image.loaded]

    @property
    def problems(self) -> list[str]:
        """One line per failure: the page or an image did not load, a console error, an
        uncaught exception."""
        return ([f"page did not open: {self.load_error}"] * (self.load_error is not None)
                + [f"image did not load: {image.alt or image.src[:80]}" for image in self.broken]
                + [f"console error: {text}" for text in self.console_errors]
                + [f"uncaught exception: {text}" for text in self.exceptions])

    @property
    def ok(self) -> bool:
        return not self.problems


def check_page(page: str | os.PathLike, *, chromium: str | None = None, width: int = 1200,
               height: int = 900, settle: float = 0.0, screenshot: bool = False,
               interact: Callable[[PageSession], None] | None = None,
               timeout: float = 120.0) -> PageCheck:
    """Load `page` (a file path or a URL) in a fresh headless Chromium profile and report.

    settle: seconds to keep listening after the load event, for pages whose scripts run later
    (timers, fetches). screenshot: also capture the whole page as PNG bytes.
    interact: called with a PageSession after the load (and settle), to use the page as a user
    would (choose files, run script); the images are read after it returns.
    Raises BrowserError when there is no Chromium or it does not answer within `timeout` s.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserError("no chromium found (apt-get install chromium)")
    url = str(page) if "://" in str(page) else Path(page).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="scratchnn-browser-") as profile, \
            socket.socket() as refuser, _DevTools(binary, profile, width, height,
                                                   _closed_port(refuser)) as browser:
        return browser.check(url, settle, screenshot, time.monotonic() + timeout, interact)


def _closed_port(sock: socket.socket) -> int:
    """A loopback port that refuses connections (bound, never listening): the browser's proxy."""
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


class PageSession:
    """The loaded page, handed to check_page's `interact` callback."""

    def __init__(self, browser: _DevTools, session: str, deadline: float) -> None:
        self.browser, self.session, self.deadline = browser, session, deadline

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (a promise is awaited); BrowserError if it
        throws."""
        reply = self._call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:60]}: {text}")
        return reply["result"].get("value")

    def set_files(self, selector: str, paths: list[str | os.PathLike]) -> None:
        """Choose files in the <input type=file> matching `selector`, as a user would (the
        page gets its input and change events)."""
        element = self._call("Runtime.evaluate",
                             {"expression": f"document.querySelector({json.dumps(selector)})"})
        if element["result"].get("subtype") != "node":
            raise BrowserError(f"no element matches {selector!r}")
        self._call("DOM.setFileInputFiles", {"files": [str(Path(p).resolve()) for p in paths],
                                             "objectId": element["result"]["objectId"]})

    def _call(self, method: str, params: dict) -> dict:
        return self.browser.call(method, params, session=self.session, deadline=self.deadline)


class _DevTools:
    """One Chromium process driven over its DevTools pipe (fd 3 in, fd 4 out, JSON + NUL)."""

    def __init__(self, binary: str, profile: str, width: int, height: int, proxy_port: int):
        self.commands_r, self.commands_w = os.pipe()
        self.replies_r, self.replies_w = os.pipe()
        flags = [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 f"--proxy-server=http://127.0.0.1:{proxy_port}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                 "about:blank"]
        # A tiny Python trampoline puts our pipe ends on fds 3 and 4, where Chromium expects
        # them (dash cannot redirect fds above 9; preexec_fn is unsafe with threads).
        self.log = Path(profile) / "chromium.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(self.commands_r), str(self.replies_w),
                 binary, *flags], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(self.commands_r, self.replies_w))
        os.close(self.commands_r)
        os.close(self.replies_w)
        self.buffer = b""
        self.events: list[dict] = []
        self.next_id = 0

    def __enter__(self) -> _DevTools:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.process.wait(timeout=5)            # after Browser.close
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.commands_w)
        os.close(self.replies_r)

    def check(self, url: str, settle: float, screenshot: bool, deadline: float,
              interact: Callable[[PageSession], None] | None = None) -> PageCheck:
        target = self.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
        session = self.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                      "flatten": True}, deadline=deadline)
        session = session["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=session, deadline=deadline)
        navigation = self.call("Page.navigate", {"url": url}, session=session, deadline=deadline)
        result = PageCheck(url)
        if navigation.get("errorText"):
            result.load_error = f"{url}: {navigation['errorText']}"
        else:
            self.wait_for("Page.loadEventFired", session, deadline)
            self.listen(min(time.monotonic() + settle, deadline))
            if interact is not None:
                interact(PageSession(self, session, deadline))
            images = self.call("Runtime.evaluate", {"expression": IMAGES, "returnByValue": True},
                               session=session, deadline=deadline)
            result.images = [PageImage(**i) for i in json.loads(images["result"]["value"])]
            if screenshot:
                result.screenshot = self.capture(session, deadline)
        self._collect(result, session)
        self.call("Browser.close", deadline=deadline)
        return result

    def capture(self, session: str, deadline: float) -> bytes:
        """The whole page (not only the window) as PNG bytes."""
        import base64

        size = self.call("Page.getLayoutMetrics", session=session, deadline=deadline)
        size = size["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                    "captureBeyondViewport": True},
                         session=session, deadline=deadline)
        return base64.b64decode(shot["data"])

    def _collect(self, result: PageCheck, session: str) -> None:
        """Console errors and exceptions among the events received so far."""
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                result.exceptions.append(str(text).splitlines()[0])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                args = params.get("args", [])
                result.console_errors.append(" ".join(
                    str(a.get("value", a.get("description", ""))) for a in args))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                where = f" ({entry['url'][:80]})" if entry.get("url") else ""
                result.console_errors.append(entry["text"] + where)

    def call(self, method: str, params: dict | None = None, *, session: str | None = None,
             deadline: float) -> dict:
        """Send one command and wait for its reply (events meanwhile are kept in self.events)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str, deadline: float) -> dict:
        """The first event `method` of `session`, received already or from now on."""
        def wanted(event: dict) -> bool:
            return event.get("method") == method and event.get("sessionId") == session

        for event in filter(wanted, self.events):
            return event
        while True:
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)
                if wanted(event):
                    return event

    def listen(self, until: float) -> None:
        """Keep every event that arrives until then."""
        while (left := until - time.monotonic()) > 0:
            if not select.select([self.replies_r], [], [], left)[0]:
                break
            chunk = os.read(self.replies_r, 1 << 20)
            if not chunk:
                break
            self.buffer += chunk
        *messages, self.buffer = self.buffer.split(b"\0")
        self.events += [json.loads(message) for message in messages]

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready = select.select([self.replies_r], [], [], max(left, 0))[0]
            chunk = os.read(self.replies_r, 1 << 20) if ready else b""
            if not chunk:
                raise BrowserError(self._failure("did not answer in time" if not ready
                                                 else "closed the DevTools pipe"))
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def _failure(self, what: str) -> str:
        if self.process.poll() is not None:
            stderr = self.log.read_text(errors="replace").strip()
            return f"chromium exited ({self.process.returncode}): {stderr[-500:]}"
        return f"chromium {what}"
