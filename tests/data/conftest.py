"""Data tests run in isolation: HOME is a temporary directory, $SCRATCHNN_DATA is unset and no
system directory is searched, so no result depends on what is installed on the machine."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from scratchnn.data import CIFAR10_CLASSES, registry, write_idx


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {})
    return home


@pytest.fixture
def make_idx_dataset():
    """make_idx_dataset(directory, seed=0, gz=True, ...) writes a small MNIST-style dataset (four
    IDX files) and returns its arrays: x (N, H, W) uint8 and y (N,) uint8, as stored."""

    def make(directory: Path, seed: int = 0, *, gz: bool = True, n_train: int = 12,
             n_test: int = 5, size: tuple[int, int] = (28, 28),
             num_classes: int = 10) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        arrays = {
            "x_train": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
            "y_train": rng.integers(0, num_classes, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
            "y_test": rng.integers(0, num_classes, n_test, dtype=np.uint8),
        }
        directory.mkdir(parents=True, exist_ok=True)
        suffix = ".gz" if gz else ""
        for key, stem in registry.IDX_FILES.items():
            write_idx(directory / f"{stem}{suffix}", arrays[key])
        return arrays

    return make


class _Python2Pickler(pickle._Pickler):
    """Writes bytes and str as Python 2's cPickle wrote its str (SHORT_BINSTRING / BINSTRING),
    so a file is byte for byte what the real CIFAR batches look like."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str


def python2_dumps(obj) -> bytes:
    """pickle.dumps(obj, protocol 2) as Python 2 + numpy 1 wrote it (numpy.core.multiarray)."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


@pytest.fixture
def make_cifar():
    """make_cifar(directory, layout="bin" | "py" | "py2", n=(7, 7, 7, 7, 7, 5), seed=0) writes a
    small CIFAR-10 in the real format into directory/cifar-10-batches-{bin,py} and returns
    x_train, y_train, x_test, y_test as they should load (x uint8 (N, 3, 32, 32)).

    "py": pickle.dump of the real dict (bytes keys, uint8 ndarray, protocol 2) from Python 3;
    "py2": the same dict as Python 2's cPickle wrote it (how the published files are)."""

    def make(directory: Path, layout: str = "bin", n=(7, 7, 7, 7, 7, 5), seed: int = 0,
             *, folder: str | None = None) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        name = "cifar-10-batches-bin" if layout == "bin" else "cifar-10-batches-py"
        target = directory / (name if folder is None else folder)
        target.mkdir(parents=True, exist_ok=True)
        xs, ys = [], []
        for i, count in enumerate(n):
            x = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
            y = rng.integers(0, 10, count)
            xs.append(x)
            ys.append(y)
            stem = f"data_batch_{i + 1}" if i < len(n) - 1 else "test_batch"
            if layout == "bin":
                records = np.concatenate([y.astype(np.uint8)[:, None], x], axis=1)
                (target / f"{stem}.bin").write_bytes(records.tobytes())
            else:
                batch = {b"batch_label": f"{stem} of 6".encode(), b"labels": y.tolist(),
                         b"data": x, b"filenames": [f"img_{i}_{k}.png".encode()
                                                    for k in range(count)]}
                data = (python2_dumps(batch) if layout == "py2"
                        else pickle.dumps(batch, protocol=2))
                (target / stem).write_bytes(data)
        if layout == "bin":
            (target / "batches.meta.txt").write_text("\n".join(CIFAR10_CLASSES) + "\n\n")
        else:
            meta = {b"num_cases_per_batch": n[0], b"label_names": [c.encode() for c in
                                                                   CIFAR10_CLASSES],
                    b"num_vis": 3072}
            (target / "batches.meta").write_bytes(
                python2_dumps(meta) if layout == "py2" else pickle.dumps(meta, protocol=2))
        images = [x.reshape(-1, 3, 32, 32) for x in xs]
        return {"x_train": np.concatenate(images[:-1]), "y_train": np.concatenate(ys[:-1]),
                "x_test": images[-1], "y_test": ys[-1], "directory": target}

    return make
