"""download() against an http.server on 127.0.0.1: good files, bad checksums, 404s, refused
connections, partial transfers and timeouts; CIFAR-10's archive unpacked, unsafe archives refused.
No test reaches the internet."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from scratchnn.data import download, load, registry, write_idx
from scratchnn.data.download import CHECKSUMS, CIFAR10_PYTHON, MIRRORS
from scratchnn.data.download.__main__ import main
from scratchnn.errors import DataError

FILE = "t10k-labels-idx1-ubyte.gz"


class _Handler(BaseHTTPRequestHandler):
    """Serves server.files[path] = (body, declared Content-Length or None, delay in seconds)."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path not in self.server.files:
            self.send_error(404)
            return
        body, length, delay = self.server.files[self.path]
        if delay:
            self.server.release.wait(delay)  # set when the test ends
        self.close_connection = True  # a short body then ends with the connection
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (the timeout test)
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.release = {}, [], threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _gz_idx(tmp_path, array: np.ndarray) -> bytes:
    write_idx(tmp_path / "served.gz", array)
    return (tmp_path / "served.gz").read_bytes()


@pytest.fixture
def payload(tmp_path) -> bytes:
    return _gz_idx(tmp_path, np.arange(7, dtype=np.uint8))


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there now: connection refused


def _fetch(tmp_path, server, payload, mirrors, **kwargs):
    return download("toy", tmp_path / "cache", mirrors=mirrors, checksums={FILE: _md5(payload)},
                    **kwargs)


def test_good_file(tmp_path, server, payload):
    server.files["/a/" + FILE] = (payload, None, 0)
    directory = _fetch(tmp_path, server, payload, [server.url + "/a"])
    assert directory == tmp_path / "cache" / "toy"
    assert os.listdir(directory) == [FILE] and (directory / FILE).read_bytes() == payload


def test_wrong_checksum_is_discarded_and_the_next_mirror_tried(tmp_path, server, payload):
    server.files["/bad/" + FILE] = (payload[:-1] + bytes([payload[-1] ^ 0xFF]), None, 0)
    server.files["/good/" + FILE] = (payload, None, 0)
    directory = _fetch(tmp_path, server, payload, [server.url + "/bad/", server.url + "/good/"])
    assert server.requests == ["/bad/" + FILE, "/good/" + FILE]
    assert os.listdir(directory) == [FILE] and (directory / FILE).read_bytes() == payload


@pytest.mark.parametrize("failure", ["404", "refused", "partial", "timeout"])
def test_failing_mirror_is_skipped(tmp_path, server, payload, failure):
    bad, reason = {"404": (server.url + "/missing/", "HTTP 404 Not Found"),
                   "refused": (_closed_port_url(), "Connection refused"),
                   "partial": (server.url + "/partial/",
                               f"partial transfer (10 of {len(payload)} bytes)"),
                   "timeout": (server.url + "/slow/", "timed out")}[failure]
    server.files["/partial/" + FILE] = (payload[:10], len(payload), 0)
    server.files["/slow/" + FILE] = (payload, None, 10.0)
    server.files["/good/" + FILE] = (payload, None, 0)
    with pytest.raises(DataError) as caught:
        _fetch(tmp_path, server, payload, [bad], timeout=0.2)
    assert str(caught.value) == f"{FILE}: every mirror failed: {bad}{FILE}: {reason}"
    directory = _fetch(tmp_path, server, payload, [bad, server.url + "/good/"], timeout=0.2)
    assert os.listdir(directory) == [FILE] and (directory / FILE).read_bytes() == payload


def test_file_already_present_is_not_downloaded_again(tmp_path, server, payload):
    (tmp_path / "cache" / "toy").mkdir(parents=True)
    (tmp_path / "cache" / "toy" / FILE).write_bytes(payload)
    _fetch(tmp_path, server, payload, [server.url + "/a/"])
    assert server.requests == []


def test_file_present_with_a_wrong_checksum_is_replaced(tmp_path, server, payload):
    (tmp_path / "cache" / "toy").mkdir(parents=True)
    (tmp_path / "cache" / "toy" / FILE).write_bytes(b"stale")
    server.files["/a/" + FILE] = (payload, None, 0)
    directory = _fetch(tmp_path, server, payload, [server.url + "/a/"])
    assert (directory / FILE).read_bytes() == payload


def test_all_mirrors_failing_is_one_data_error_naming_each(tmp_path, server, payload):
    refused = _closed_port_url()
    server.files["/bad/" + FILE] = (b"not it", None, 0)
    server.files["/partial/" + FILE] = (payload[:10], len(payload), 0)
    mirrors = [server.url + "/missing/", refused, server.url + "/bad/", server.url + "/partial/"]
    with pytest.raises(DataError) as caught:
        _fetch(tmp_path, server, payload, mirrors)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{FILE}: every mirror failed: ")
    assert f"{server.url}/missing/{FILE}: HTTP 404" in message
    assert f"{refused}{FILE}: Connection refused" in message
    assert f"{server.url}/bad/{FILE}: wrong checksum" in message
    assert f"{server.url}/partial/{FILE}: partial transfer (10 of {len(payload)} bytes)" in message
    assert os.listdir(tmp_path / "cache" / "toy") == []  # nothing half-written left behind


def test_downloaded_fashion_mnist_loads(tmp_path, server, make_idx_dataset):
    arrays = make_idx_dataset(tmp_path / "served")
    checksums = {}
    for path in (tmp_path / "served").iterdir():
        server.files["/fashion/" + path.name] = (path.read_bytes(), None, 0)
        checksums[path.name] = _md5(path.read_bytes())
    directory = download("fashion-mnist", mirrors=[server.url + "/fashion/"], checksums=checksums)
    assert directory == registry.cache_dir() / "fashion-mnist"
    data = load("fashion-mnist")  # found in the cache, which is under the test's HOME
    np.testing.assert_array_equal(data.y_train, arrays["y_train"])


def test_main_downloads_with_the_module_mirrors(tmp_path, server, payload, monkeypatch, capsys):
    server.files["/m/" + FILE] = (payload, None, 0)
    monkeypatch.setitem(MIRRORS, "mnist", (server.url + "/m/",))
    monkeypatch.setitem(CHECKSUMS, "mnist", {FILE: _md5(payload)})
    assert main(["mnist", "--root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{tmp_path / 'mnist'}\n" and f"{FILE}: downloading" in err
    monkeypatch.setitem(CHECKSUMS, "mnist", {FILE: "0" * 32})
    assert main(["mnist", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"error: {FILE}: every mirror")


def test_unknown_dataset_cannot_be_downloaded():
    with pytest.raises(DataError, match="cannot download 'digits'; downloadable: cifar10, "):
        download("digits")


def test_published_checksums_are_md5s():
    for name in ("fashion-mnist", "mnist"):
        assert sorted(CHECKSUMS[name]) == sorted(f"{stem}.gz"
                                                 for stem in registry.IDX_FILES.values())
    for files in [*CHECKSUMS.values(), CIFAR10_PYTHON]:
        assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in files.values())
    assert MIRRORS["mnist"][-1] == "http://yann.lecun.com/exdb/mnist/"
    # as published on https://www.cs.toronto.edu/~kriz/cifar.html
    assert CHECKSUMS["cifar10"] == {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}
    assert CIFAR10_PYTHON == {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}


def test_runs_as_a_module_without_warnings():
    result = subprocess.run([sys.executable, "-W", "error", "-m", "scratchnn.data.download",
                             "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "fashion-mnist" in result.stdout
    assert result.stderr == ""



# -- CIFAR-10: an archive, unpacked safely -----------------------------------------------------

CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"


def _tar_gz(path, members) -> bytes:
    """A .tar.gz of members: (TarInfo, bytes or None) pairs."""
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path.read_bytes()


def test_downloaded_cifar10_is_unpacked_and_loads(tmp_path, server, make_cifar):
    arrays = make_cifar(tmp_path / "served", "bin")
    with tarfile.open(tmp_path / CIFAR_ARCHIVE, "w:gz") as tar:
        tar.add(arrays["directory"], arcname="cifar-10-batches-bin")
    body = (tmp_path / CIFAR_ARCHIVE).read_bytes()
    server.files["/kriz/" + CIFAR_ARCHIVE] = (body, None, 0)
    lines = []
    directory = download("cifar10", mirrors=[server.url + "/kriz/"],
                         checksums={CIFAR_ARCHIVE: _md5(body)}, log=lines.append)
    assert directory == registry.cache_dir() / "cifar10"
    assert os.listdir(directory) == ["cifar-10-batches-bin"]      # the archive is deleted
    assert lines[-1] == f"{CIFAR_ARCHIVE}: unpacking into {directory / 'cifar-10-batches-bin'}"
    data = load("cifar10")
    np.testing.assert_array_equal(data.x_train, arrays["x_train"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    download("cifar10", mirrors=[server.url + "/kriz/"], checksums={CIFAR_ARCHIVE: _md5(body)})
    assert server.requests == ["/kriz/" + CIFAR_ARCHIVE]          # not fetched again


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


@pytest.mark.parametrize("name, kind, linkname, reason", [
    ("cifar-10-batches-bin/../../evil", tarfile.REGTYPE, "", "not inside cifar-10-batches-bin/"),
    ("/tmp/evil", tarfile.REGTYPE, "", "not inside"),
    ("other/evil", tarfile.REGTYPE, "", "not inside"),
    ("cifar-10-batches-bin/link", tarfile.SYMTYPE, "/etc/passwd", "not a regular file or folder"),
    ("cifar-10-batches-bin/hard", tarfile.LNKTYPE, "../x", "not a regular file or folder"),
    ("cifar-10-batches-bin/dev", tarfile.CHRTYPE, "", "not a regular file or folder"),
])
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, server, name, kind,
                                                                 linkname, reason):
    members = [(_member("cifar-10-batches-bin", tarfile.DIRTYPE), None),
               (_member("cifar-10-batches-bin/data_batch_1.bin"), b"x" * 3073),
               (_member(name, kind, linkname), b"evil" if kind == tarfile.REGTYPE else None)]
    body = _tar_gz(tmp_path / "evil.tar.gz", members)
    server.files["/k/" + CIFAR_ARCHIVE] = (body, None, 0)
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as caught:
        download("cifar10", cache, mirrors=[server.url + "/k/"], checksums={CIFAR_ARCHIVE:
                                                                           _md5(body)})
    message = str(caught.value)
    assert message.startswith(f"{cache / 'cifar10' / CIFAR_ARCHIVE}: refused member {name!r}")
    assert reason in message and "\n" not in message
    assert sorted(os.listdir(cache / "cifar10")) == [CIFAR_ARCHIVE]    # nothing unpacked
    assert not (tmp_path / "evil").exists() and not (cache / "evil").exists()


def test_a_corrupt_archive_is_named(tmp_path, server):
    body = b"\x1f\x8b\x08\x00 not really gzip"
    server.files["/k/" + CIFAR_ARCHIVE] = (body, None, 0)
    with pytest.raises(DataError, match=rf"{CIFAR_ARCHIVE}: corrupt archive"):
        download("cifar10", tmp_path, mirrors=[server.url + "/k/"],
                 checksums={CIFAR_ARCHIVE: _md5(body)})
    assert sorted(os.listdir(tmp_path / "cifar10")) == [CIFAR_ARCHIVE]
