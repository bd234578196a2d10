"""Download Fashion-MNIST, MNIST or CIFAR-10 into the cache, trying mirrors in order and checking
each MD5.

    python -m scratchnn.data.download fashion-mnist     # prints the directory it filled

Each file is streamed to a temporary file beside its target, checked (length and MD5), then moved
into place with os.replace, so a failed or interrupted download never leaves a file that looks
complete. Files already present with the right checksum are not downloaded again.
An archive (CIFAR-10's .tar.gz) is unpacked safely -- only regular files and folders, all under
the one folder it is known to hold, nothing outside -- into a temporary folder that is then moved
into place; the archive is deleted afterwards, and not fetched again once its folder exists.

(A package rather than download.py: `python -m` on a module that the package's __init__ has
already imported warns about running it twice; on a package it runs download/__main__.py.)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tarfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

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
    "cifar10": ("https://www.cs.toronto.edu/~kriz/",),
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
    # https://www.cs.toronto.edu/~kriz/cifar.html lists the MD5 of each version.
    "cifar10": {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
}

# The python version instead: download("cifar10", checksums=CIFAR10_PYTHON) (it is unpickled,
# with a restricted unpickler, on every load; the binary version needs no unpickling).
CIFAR10_PYTHON = {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}

# Archives, and the one top-level folder each holds.
UNPACK = {"cifar-10-binary.tar.gz": "cifar-10-batches-bin",
          "cifar-10-python.tar.gz": "cifar-10-batches-py"}

TIMEOUT = 30.0  # seconds for connecting and for each read


class _MirrorFailed(Exception):
    """One mirror could not deliver one file; the message says why in a few words."""


def download(name: str, root: str | os.PathLike | None = None, *,
             mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
             timeout: float = TIMEOUT, log: Callable[[str], None] | None = None) -> Path:
    """Download the files of `name` into root/NAME (default ~/.cache/scratchnn/NAME).

    Returns that directory, which load(name) then finds. For each file the mirrors (default
    MIRRORS[name], base URLs) are tried in order until one delivers the expected length and MD5
    (default CHECKSUMS[name], file name -> md5). When all fail: a one-line DataError naming the
    file and each mirror's failure. Archives (UNPACK) are unpacked with unpack() and deleted.
    `log`, if given, is called with a line per file fetched.
    """
    if mirrors is None or checksums is None:
        if name not in MIRRORS:
            raise DataError(f"cannot download '{name}'; downloadable: "
                            f"{', '.join(sorted(MIRRORS))}")
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
        target, folder = directory / filename, UNPACK.get(filename)
        md5 = md5.lower()
        if folder is not None and (directory / folder).is_dir():
            continue                                 # unpacked before
        if not (target.is_file() and _md5(target) == md5):
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
        if folder is not None:
            if log is not None:
                log(f"{filename}: unpacking into {directory / folder}")
            unpack(target, directory, folder)
            target.unlink()
    return directory


def unpack(archive: str | os.PathLike, directory: str | os.PathLike, folder: str) -> Path:
    """Unpack a tar archive whose members all lie under `folder`/ into directory/folder.

    Refused with a DataError, before anything is written: absolute names, "..", members outside
    `folder`/, and anything but regular files and folders (links, devices, fifos). The members
    are extracted into a temporary folder with tarfile's "data" filter too, then moved into place.
    """
    archive, directory = Path(archive), Path(directory)
    temp = directory / f".{folder}.{secrets.token_hex(4)}.tmp"
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = PurePosixPath(member.name).parts
                if member.name.startswith("/") or ".." in parts or not parts \
                        or parts[0] != folder:
                    raise DataError(f"{archive}: refused member {member.name!r}: not inside "
                                    f"{folder}/")
                if not (member.isfile() or member.isdir()):
                    raise DataError(f"{archive}: refused member {member.name!r}: not a regular "
                                    "file or folder")
            temp.mkdir()
            tar.extractall(temp, members=members, filter="data")
        if not (temp / folder).is_dir():
            raise DataError(f"{archive}: empty archive, expected {folder}/")
        os.replace(temp / folder, directory / folder)
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DataError(f"{archive}: corrupt archive ({error})") from None
    except OSError as error:
        raise DataError(f"{archive}: cannot unpack ({error.strerror or error})") from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return directory / folder


def _fetch(url: str, target: Path, md5: str, timeout: float) -> None:
    """Stream `url` to a temporary file beside `target`; move it into place if length and MD5
    match, else delete it and raise _MirrorFailed."""
    import http.client  # here, not at import time: `scratchnn --help` stays fast
    import urllib.error
    import urllib.request

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
