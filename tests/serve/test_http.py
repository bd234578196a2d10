"""A real `scratchnn serve RUN --port 0` subprocess on 127.0.0.1: the page and its files, a good
upload (the answer of `scratchnn predict`), bad uploads (each a JSON error with its status, the
server still serving after it), Ctrl-C, a taken port, a non-loopback host's warning."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import urllib.request
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from serve_helpers import Server, npy, png

from scratchnn.cli import main
from scratchnn.serve.upload import MAX_BYTES
from scratchnn.train.predict import predict_files


def request(server, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request on a new connection."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def upload(server, body: bytes, name: str = "file", query: str = "") -> tuple[int, dict]:
    status, kind, answer = request(server, "POST", "/predict" + query, body,
                                   {"X-Filename": quote(name)})
    assert kind == "application/json"
    return status, json.loads(answer)


def still_serving(server) -> None:
    status, _, info = request(server, "GET", "/info")
    assert status == 200 and json.loads(info)["input_shape"]
    assert server.process.poll() is None


def test_the_page_and_its_files_are_served_locally(server):
    status, kind, page = request(server, "GET", "/")
    assert status == 200 and kind.startswith("text/html")
    for path in re.findall(rb'(?:src|href)="([^"]+)"', page):
        assert not path.startswith((b"http", b"//")), path        # no CDN
        if not path.startswith(b"data:"):
            status, _, _ = request(server, "GET", "/" + path.decode())
            assert status == 200, path
    status, _, info = request(server, "GET", "/info")
    assert json.loads(info)["classes"] and json.loads(info)["max_bytes"] == MAX_BYTES
    assert request(server, "GET", "/nothing")[0] == 404


def test_a_good_upload_answers_what_predict_answers(server, served_run, test_images):
    for path in test_images[:2]:
        status, answer = upload(server, path.read_bytes(), path.name)
        assert status == 200
        expected = predict_files(served_run, [path], top_k=5)[0].top
        assert answer["predicted"] == expected[0][0]
        assert answer["top"] == [list(pair) for pair in expected]
        assert answer["name"] == path.name
        assert answer["seen"].startswith("data:image/png;base64,")
        assert answer["saliency"].startswith("data:image/png;base64,")


def test_bad_uploads_get_a_json_error_and_the_server_keeps_serving(server, test_images):
    rgba_odd = png(np.random.default_rng(0).integers(0, 256, (37, 19, 4), np.uint8), "RGBA")
    cases = [
        (b"a text file, not an image\n", 415, "not an image"),
        (b"\0" * (MAX_BYTES + 1), 413, "too large"),
        (np.random.default_rng(1).bytes(5000), 415, "not an image"),          # garbage
        (b"\x89PNG\r\n\x1a\n" + np.random.default_rng(2).bytes(5000), 400, "not a readable"),
        (npy(np.full((1, 28, 28), np.inf, np.float32)), 400, "NaN or infinite"),
        (npy(np.zeros((3, 33, 33), np.float32)), 400, "does not fit"),
    ]
    for body, status, words in cases:
        got, answer = upload(server, body, "bad.bin")
        assert (got, words in answer["error"]) == (status, True), answer
        still_serving(server)
    status, answer = upload(server, rgba_odd, "odd.png")   # alpha dropped, resized: as predict
    assert status == 200 and answer["top"]
    status, answer = upload(server, test_images[0].read_bytes(), "after.png")
    assert status == 200


def test_requests_without_a_length_or_to_nowhere(server):
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n")
        reply = sock.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.0 411") and b"Content-Length" in reply
    assert upload(server, b"x", query="?invert=1")[0] == 415
    assert request(server, "POST", "/elsewhere", b"x")[0] == 404
    still_serving(server)


def test_ctrl_c_stops_cleanly(served_run, tmp_path):
    server = Server(served_run, tmp_path / "stderr.txt")
    try:
        still_serving(server)
        status, out, err = server.interrupt()
    finally:
        server.stop()
    assert status == 0 and "stopped" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_a_taken_port_and_a_missing_run_are_one_line_errors(served_run, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", str(served_run), "--port", port]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1
    assert main(["serve", str(tmp_path / "no")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_another_host_is_served_with_a_warning(served_run, tmp_path):
    """127.0.0.2 is a loopback address too, but not the default: the warning is printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchnn", "serve", str(served_run), "--port", "0",
         "--host", "127.0.0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert "http://127.0.0.2:" in first
    finally:
        process.kill()
        _, err = process.communicate()
    assert "warning: listening on 127.0.0.2" in err


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_port_out_of_range_is_refused(served_run, port, capsys):
    assert main(["serve", str(served_run), "--port", port]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


def test_a_client_that_goes_quiet_is_dropped_and_others_are_served(served_run, monkeypatch):
    """In process, with a 1 s timeout instead of 60 s: a body that never arrives in full."""
    import threading

    from scratchnn.serve import PageServer, Predictor
    from scratchnn.serve.server import Handler

    monkeypatch.setattr(Handler, "timeout", 1)
    with PageServer(Predictor(served_run)) as page_server:
        thread = threading.Thread(target=page_server.serve_forever, daemon=True)
        thread.start()
        try:
            host, port = page_server.server_address[:2]
            with socket.create_connection((host, port), timeout=30) as quiet:
                quiet.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                              b"\r\n" + b"\x89PNG")
                assert quiet.recv(100) == b""           # closed after the timeout, no answer

            answer = urllib.request.urlopen(page_server.url + "info", timeout=30)
            assert answer.status == 200 and json.loads(answer.read())["classes"]
        finally:
            page_server.shutdown()
