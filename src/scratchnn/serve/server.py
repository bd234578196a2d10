"""The local web server of the "try it" page: the standard library's ThreadingHTTPServer.

    GET  /               the page (page/index.html, page.js, page.css: no CDN, nothing remote)
    GET  /info           the model: run, dataset, input shape, classes, upload limit (JSON)
    POST /predict        body: the file's bytes; header X-Filename (URL-encoded); ?invert=1
                         -> Predictor.answer as JSON, or {"error": one line} with status 400
                         (unusable file), 404, 411 (no Content-Length), 413 (too large), 415 (not
                         an image) or 500 (a bug of ours); the server keeps serving after each.
"""

from __future__ import annotations

import json
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, unquote, urlsplit

from scratchnn.errors import ConfigError, ScratchnnError, one_line
from scratchnn.serve.predictor import Predictor
from scratchnn.serve.upload import MAX_BYTES, UploadError

PAGE_FILES = {"/": ("index.html", "text/html"), "/page.js": ("page.js", "text/javascript"),
              "/page.css": ("page.css", "text/css")}
DRAIN_LIMIT = 8 * MAX_BYTES     # an oversized body up to this is read (and dropped) before the
                                # 413, so the browser sees the answer instead of a reset
LOOPBACK = ("127.0.0.1", "localhost")


class PageServer(ThreadingHTTPServer):
    """Serves one Predictor's page; a thread per request, none of them blocking shutdown."""

    daemon_threads = True

    def __init__(self, predictor: Predictor, host: str = "127.0.0.1", port: int = 0) -> None:
        self.predictor = predictor
        try:
            super().__init__((host, port), Handler)
        except OSError as error:
            raise ConfigError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                              "choose another --port (0 picks a free one)") from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server: PageServer
    server_version = "scratchnn"
    timeout = 60                    # seconds a slow client may hold its thread

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in PAGE_FILES:
            name, kind = PAGE_FILES[path]
            page = resources.files("scratchnn.serve").joinpath("page", name).read_bytes()
            self._send(200, page, f"{kind}; charset=utf-8")
        elif path == "/info":
            self._json(200, self.server.predictor.info())
        else:
            self._json(404, {"error": f"no page {path}"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        try:
            if url.path != "/predict":
                self.close_connection = True                # its body is never read
                raise UploadError(f"no page {url.path} to post to", 404)
            body = self._body()
            name = unquote(self.headers.get("X-Filename") or "upload").split("/")[-1][:100]
            invert = parse_qs(url.query).get("invert") == ["1"]
            self._json(200, self.server.predictor.answer(body, name or "upload", invert=invert))
        except UploadError as error:
            self._json(error.status, {"error": str(error)})
        except ScratchnnError as error:
            self._json(400, {"error": one_line(error)})
        except (TimeoutError, ConnectionError):         # the client went quiet or away
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 - a bug of ours must not stop the server
            traceback.print_exc(file=sys.stderr)
            self._json(500, {"error": f"internal error: {one_line(error)}"})

    def _body(self) -> bytes:
        """The request body; UploadError 411 without a Content-Length, 413 above MAX_BYTES."""
        try:
            size = int(self.headers["Content-Length"])
        except (TypeError, ValueError):
            self.close_connection = True
            raise UploadError("the request has no Content-Length", 411) from None
        if size > MAX_BYTES:
            if size <= DRAIN_LIMIT:
                for start in range(0, size, 1 << 20):
                    self.rfile.read(min(1 << 20, size - start))
            self.close_connection = True
            raise UploadError(f"the file of {size:,} bytes is too large (at most "
                              f"{MAX_BYTES:,})", 413)
        return self.rfile.read(max(size, 0))

    def _json(self, status: int, value: dict) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve(run, host: str = "127.0.0.1", port: int = 8000, *, announce=print) -> None:
    """Serve the page for `run` until Ctrl-C (KeyboardInterrupt, raised to the caller).

    port 0 picks a free port; `announce(text)` is told the URL once the server listens."""
    with PageServer(Predictor(run), host, port) as server:
        announce(f"serving {server.predictor.run.directory} at {server.url}  (Ctrl-C stops)")
        server.serve_forever()
