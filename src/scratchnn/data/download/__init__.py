"""Download Fashion-MNIST or MNIST into the cache, trying mirrors in order and checking each MD5.

    python -m scratchnn.data.download fashion-mnist     # prints the directory it filled

Each file is streamed to a temporary file beside its target, checked (length and MD5), then moved
into place with os.replace, so a failed or interrupted download never leaves a file that looks
complete. Files already present with the right checksum are not downloaded again.

(A package rather than download.py: `python -m` on a module that the package's __init__ has
already imported warns about running it twice; on a package it runs download/__main__.py.)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scratchnn.data.registry import cache_dir
from scratchnn.errors import DataError

MIRRORS: dict[str, tuple[str, ...]] = {
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
}

# MD5 of each published .gz file, as listed in the Fashion-MNIST README and in torchvision.
CHECKSUMS: dict[str, dict[str, str]] = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
}

TIMEOUT = 30.0  # seconds for connecting and for each read


class _MirrorFailed(Exception):
    """One mirror could not deliver one file; the message says why in a few words."""


def download(name: str, root: str | os.PathLike | None = None, *,
             mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
             timeout: float = TIMEOUT, log: Callable[[str], None] | None = None) -> Path:
    """Download the .gz files of `name` into root/NAME (default ~/.cache/scratchnn/NAME).

    Returns that directory, which load(name) then finds. For each file the mirrors (default
    MIRRORS[name], base URLs) are tried in order until one delivers the expected length and MD5
    (default CHECKSUMS[name], file name -> md5). When all fail: a one-line DataError naming the
    file and each mirror's failure. `log`, if given, is called with a line per file fetched.
    """
    if mirrors is None or checksums is None:
        if name not in MIRRORS:
            raise DataError(f"cannot download '{name}'; downloadable: {', '.join(MIRRORS)}")
        mirrors = MIRRORS[name] if mirrors is None else mirrors
        checksums = CHECKSUMS[name] if checksums is None else checksums
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    directory = (cache_dir() if root is None else Path(root).expanduser()) / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{directory}: cannot create ({error.strerror or error})") from None
    for filename, md5 in checksums.items():
        target = directory / filename
        md5 = md5.lower()
        if target.is_file() and _md5(target) == md5:
            continue
        failures = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + filename
            if log is not None:
                log(f"{filename}: downloading {url}")
            try:
                _fetch(url, target, md5, timeout)
                break
            except _MirrorFailed as error:
                failures.append(f"{url}: {error}")
        else:
            raise DataError(f"{filename}: every mirror failed: {'; '.join(failures)}")
    return directory


def _fetch(url: str, target: Path, md5: str, timeout: float) -> None:
    """Stream `url` to a temporary file beside `target`; move it into place if length and MD5
    match, else delete it and raise _MirrorFailed."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        digest, size = hashlib.md5(usedforsecurity=False), 0
        with urllib.request.urlopen(url, timeout=timeout) as response, open(temp, "xb") as out:
            length = response.headers.get("Content-Length")
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if length is not None and size != int(length):
            raise _MirrorFailed(f"partial transfer ({size} of {length} bytes)")
        if digest.hexdigest() != md5:
            raise _MirrorFailed(f"wrong checksum (md5 {digest.hexdigest()}, expected {md5})")
        os.replace(temp, target)
    except urllib.error.HTTPError as error:
        raise _MirrorFailed(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise _MirrorFailed(_reason(error.reason)) from None
    except http.client.IncompleteRead as error:
        raise _MirrorFailed(f"partial transfer ({len(error.partial)} bytes, then the "
                            "connection closed)") from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _MirrorFailed(_reason(error)) from None
    finally:
        temp.unlink(missing_ok=True)


def _reason(error: object) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
