"""Property-based tests (hypothesis, derandomized: the same examples on every run).

Layers on random shapes and dtypes either work or raise the documented error (ShapeError for a
bad input, ConfigError for bad settings, RuntimeError for backward without a train-mode forward).

Random-byte and randomly damaged files -- IDX files, CIFAR-10 batches (binary and pickled),
model files and checkpoints -- give a DataError or, when the damage hit bytes the format does not
check, a clean result; never another exception, never a hang (an alarm fails an example after
ALARM seconds), never code run (pickles that would create a file when unpickled are fed to every
reader, and the file must not appear). More than 1000 files are tried in all (see FILES).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import signal
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnn as snn
from scratchnn import layers as L
from scratchnn.data import read_idx, write_idx
from scratchnn.errors import ConfigError, DataError, ShapeError
from scratchnn.train.checkpoint import load_checkpoint
from scratchnn.train.modelfile import load_model, save_model
from scratchnn.train.storage import META_KEY, checksum

try:                                 # CIFAR-10 readers (scratchnn.data.cifar)
    from scratchnn.data import cifar
except ImportError:                  # pragma: no cover - CIFAR support not present
    cifar = None

ALARM = 10.0                         # seconds one example may take before it counts as a hang
FILES = {}                           # reader -> files tried (checked by the last test)


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


class Hang(Exception):
    pass


@contextmanager
def alarm(seconds: float = ALARM):
    """Fail (raise Hang) if the block takes longer than `seconds` (where SIGALRM exists)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum, frame):
        raise Hang(f"took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_cleanly(reader, path: Path, kind: str):
    """reader(path) -> its result, or None for a DataError; any other exception fails."""
    FILES[kind] = FILES.get(kind, 0) + 1
    with alarm():
        try:
            return reader(path)
        except DataError as error:
            assert "\n" not in str(error), str(error)
            return None


# -- random and damaged bytes -------------------------------------------------------------------

@st.composite
def damaged(draw, original: bytes) -> bytes:
    """`original` after 1-4 random edits: flipped bits, overwritten bytes, a truncation, an
    insertion, a deletion or a duplicated span."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(chunk)] = chunk
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
    return bytes(data)


def random_or_damaged(original: bytes):
    return st.one_of(st.binary(max_size=2048), damaged(original),
                     st.builds(lambda b: original[:4] + b, st.binary(max_size=512)))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- pickles that would run code ----------------------------------------------------------------

class _Touch:
    """Unpickling this calls os.system("touch MARKER") (or open(MARKER, "w") via eval)."""

    def __init__(self, marker: Path, how: str = "system"):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return os.system, (f"touch {self.marker}",)
        return eval, (f"open({self.marker!r}, 'w')",)


def evil_pickles(marker: Path) -> list[bytes]:
    evil = [_Touch(marker), _Touch(marker, "eval")]
    out = []
    for payload in evil:
        for protocol in (0, 2, 5):
            out.append(pickle.dumps(payload, protocol=protocol))
            out.append(pickle.dumps({b"data": payload, b"labels": [1]}, protocol=protocol))
    return out


def test_no_reader_runs_code_from_a_pickle(workdir):
    marker = workdir / "code-was-run"
    path = workdir / "evil"
    readers = {"model": load_model, "checkpoint": load_checkpoint, "idx": read_idx}
    if cifar is not None:
        readers |= {"cifar-py": cifar.read_py_batch, "cifar-meta": cifar.read_classes}
    blobs = evil_pickles(marker)
    for how in ("system", "eval"):                 # the same inside an .npz object array
        buffer = io.BytesIO()
        np.savez(buffer, **{META_KEY: np.array(json.dumps({"format": "scratchnn-model"})),
                            "weights": np.array([_Touch(marker, how), None], dtype=object)})
        blobs.append(buffer.getvalue())
    for blob in blobs:
        path.write_bytes(blob)
        for kind, reader in readers.items():
            assert read_cleanly(reader, path, kind) is None
        assert not marker.exists(), "a reader ran code from a file"


# -- IDX ----------------------------------------------------------------------------------------

def idx_bytes(code: int, dims: list[int], data: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data


@st.composite
def idx_like(draw) -> bytes:
    """Headers that are nearly right: any type code, up to 70 dimensions, data too short, too
    long or exact; then perhaps gzip-compressed."""
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]))
    ndim = draw(st.one_of(st.integers(0, 4), st.integers(60, 70)))
    big = st.integers(0, 2**32 - 1)
    dims = draw(st.lists(st.one_of(st.integers(0, 5), big), min_size=ndim, max_size=ndim))
    itemsize = {0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(code, 1)
    size = int(np.prod(dims, dtype=object)) * itemsize if dims else 0
    length = draw(st.sampled_from([size, max(size - 1, 0), size + 1, 0])) if size < 4096 \
        else draw(st.integers(0, 64))
    raw = idx_bytes(code, dims, draw(st.binary(min_size=length, max_size=length)))
    return gzip.compress(raw, mtime=0) if draw(st.booleans()) else raw


@pytest.fixture(scope="module")
def idx_files(workdir) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    write_idx(workdir / "images.gz", rng.integers(0, 256, (6, 5, 4), dtype=np.uint8))
    write_idx(workdir / "floats", rng.standard_normal((3, 7)))
    return {"gz": (workdir / "images.gz").read_bytes(), "raw": (workdir / "floats").read_bytes()}


@fuzz(400)
@given(data=st.data())
def test_idx_reader_gives_only_data_errors(workdir, idx_files, data):
    blob = data.draw(st.one_of(random_or_damaged(idx_files["gz"]),
                               random_or_damaged(idx_files["raw"]), idx_like()))
    path = workdir / "fuzzed-idx"
    path.write_bytes(blob)
    array = read_cleanly(read_idx, path, "idx")
    if array is not None:
        assert isinstance(array, np.ndarray) and array.dtype.isnative


# -- CIFAR-10 ------------------------------------------------------------------------------------

needs_cifar = pytest.mark.skipif(cifar is None, reason="scratchnn.data.cifar is not there yet")


@pytest.fixture(scope="module")
def cifar_files(workdir) -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 3)
    pixels = rng.integers(0, 256, (3, 3072), dtype=np.uint8)
    binary = np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1).tobytes()
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": labels.tolist(),
             b"data": pixels, b"filenames": [b"a.png", b"b.png", b"c.png"]}
    meta = {b"label_names": [name.encode() for name in
                             ("airplane automobile bird cat deer dog frog horse ship truck"
                              ).split()], b"num_vis": 3072}
    return {"bin": binary, "py": pickle.dumps(batch, protocol=2),
            "meta": pickle.dumps(meta, protocol=2), "txt": b"\n".join(meta[b"label_names"])}


@st.composite
def pickle_programs(draw, marker: str) -> bytes:
    """Short pickle programs from real opcodes, aimed at calling something: GLOBAL of a real
    callable (os.system, builtins.eval, numpy's reconstruct ...), arguments, REDUCE, BUILD."""
    globals_ = [b"cos\nsystem\n", b"cbuiltins\neval\n", b"c__builtin__\nbytes\n",
                b"cnumpy.core.multiarray\n_reconstruct\n", b"cnumpy\ndtype\n",
                b"cnumpy\nndarray\n", b"c_codecs\nencode\n", b"csubprocess\nPopen\n"]
    pieces = [b"\x80\x02", b"}", b"]", b"(", b"t", b"\x85", b"\x86", b"R", b"b", b"s", b"a",
              b"N", b"K\x05", b"J\xff\xff\xff\x7f", b"U\x02u1", b"\x89",
              b"X" + struct.pack("<I", len(marker)) + marker.encode(),
              b"C\x04abcd", b"q\x00", b"h\x00", b"0", b"2"]
    program = draw(st.lists(st.sampled_from(globals_ + pieces), max_size=24))
    return b"\x80\x02" + b"".join(program) + draw(st.sampled_from([b".", b""]))


@needs_cifar
@fuzz(250)
@given(data=st.data())
def test_cifar_readers_give_only_data_errors(workdir, cifar_files, data):
    marker = workdir / "cifar-code-was-run"
    kind = data.draw(st.sampled_from(["bin", "py", "meta", "txt"]))
    blob = data.draw(st.one_of(random_or_damaged(cifar_files[kind]),
                               pickle_programs(f"touch {marker}")))
    path = workdir / ("fuzzed.txt" if kind == "txt" else "fuzzed")
    path.write_bytes(blob)
    reader = {"bin": cifar.read_bin_batch, "py": cifar.read_py_batch,
              "meta": cifar.read_classes, "txt": cifar.read_classes}[kind]
    result = read_cleanly(reader, path, f"cifar-{kind}")
    if kind in ("bin", "py") and result is not None:
        x, y = result
        assert x.dtype == np.uint8 and x.shape[1:] == (3, 32, 32) and len(x) == len(y)
        assert y.dtype == np.int64 and (y.size == 0 or 0 <= y.min() <= y.max() < 10)
    assert not marker.exists()


# -- model files and checkpoints ----------------------------------------------------------------

def tiny_model():
    return snn.models.build("mlp", (1, 4, 4), 3, rng=np.random.default_rng(0),
                            hidden_sizes=(5,))


MODEL_META = {"model": "mlp", "model_options": {"hidden_sizes": [5]}, "input_size": 16,
              "output_size": 3, "input_shape": [1, 4, 4], "classes": ["a", "b", "c"],
              "dataset": "fuzz", "preprocess": {"mean": [0.5], "std": [0.25]}, "test": {}}


@pytest.fixture(scope="module")
def model_file(workdir) -> bytes:
    save_model(workdir / "model.npz", tiny_model(), MODEL_META)
    load_model(workdir / "model.npz")                         # the undamaged file loads
    return (workdir / "model.npz").read_bytes()


@fuzz(350)
@given(data=st.data())
def test_model_loader_gives_only_data_errors(workdir, model_file, data):
    path = workdir / "fuzzed-model.npz"
    path.write_bytes(data.draw(random_or_damaged(model_file)))
    loaded = read_cleanly(load_model, path, "model")
    if loaded is not None:                                    # the damage hit unchecked bytes
        model, meta = loaded
        original = tiny_model()
        original.load_state_dict(load_model(workdir / "model.npz")[0].state_dict())
        assert all(np.array_equal(v, original.state_dict()[k])
                   for k, v in model.state_dict().items())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=8)


@fuzz(150)
@given(data=st.data())
def test_hand_made_metadata_with_a_valid_checksum_gives_only_data_errors(workdir, data):
    """A file assembled by hand passes the checksum; its metadata must still not crash the
    loader or make it build something huge."""
    meta = {k: data.draw(st.one_of(st.just(v), json_values)) for k, v in MODEL_META.items()}
    if data.draw(st.booleans()):
        meta["model_options"] = data.draw(st.dictionaries(
            st.sampled_from(["hidden_sizes", "dropout", "batchnorm", "activation",
                             "weight_init", "channels", "bogus"]), json_values, max_size=3))
    meta = {**meta, "format": "scratchnn-model", "version": data.draw(st.sampled_from([1, 2]))}
    state = tiny_model().state_dict()
    meta = json.loads(json.dumps(meta))
    meta["sha256"] = checksum(state) if meta["version"] == 1 else checksum(state, meta)
    buffer = io.BytesIO()
    np.savez(buffer, **state, **{META_KEY: np.array(json.dumps(meta))})
    path = workdir / "hand-made.npz"
    path.write_bytes(buffer.getvalue())
    read_cleanly(load_model, path, "model-meta")


@pytest.fixture(scope="module")
def checkpoint_file(workdir) -> bytes:
    model = tiny_model()
    trainer = snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                          snn.optim.Adam(model.parameters()), batch_size=4)
    rng = np.random.default_rng(0)
    trainer.fit(rng.integers(0, 256, (8, 1, 4, 4), dtype=np.uint8), np.arange(8) % 3, 1)
    return trainer.save_checkpoint(workdir / "checkpoint").read_bytes()


@fuzz(200)
@given(data=st.data())
def test_checkpoint_loader_gives_only_data_errors(workdir, checkpoint_file, data):
    path = workdir / "fuzzed-checkpoint.npz"
    path.write_bytes(data.draw(random_or_damaged(checkpoint_file)))
    found = read_cleanly(load_checkpoint, path, "checkpoint")
    if found is not None:
        original = load_checkpoint(workdir / "checkpoint")
        assert found.meta == original.meta
        assert all(np.array_equal(v, original.arrays[k]) for k, v in found.arrays.items())


# -- layers -------------------------------------------------------------------------------------

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_,
          np.complex64]


def layer_strategy():
    small = st.integers(1, 4)
    pairs = st.one_of(small, st.tuples(small, small))
    return st.one_of(
        st.builds(lambda i, o, b: L.Linear(i, o, bias=b), small, small, st.booleans()),
        st.sampled_from([L.ReLU, L.Sigmoid, L.Tanh, L.Flatten]).map(lambda cls: cls()),
        st.builds(L.LeakyReLU, st.floats(0, 1)),
        st.builds(lambda p: L.Dropout(p, rng=np.random.default_rng(0)),
                  st.sampled_from([0.0, 0.3, 1.0])),
        st.builds(L.BatchNorm1d, small), st.builds(L.BatchNorm2d, small),
        st.builds(lambda i, o, k, s, p: L.Conv2d(i, o, k, s, p), small, small, pairs,
                  st.integers(1, 2), st.integers(0, 1)),
        st.builds(L.MaxPool2d, pairs, st.none() | st.integers(1, 2)),
        st.builds(L.AvgPool2d, pairs, st.none() | st.integers(1, 2)),
        st.just(None).map(lambda _: L.GlobalAvgPool2d()),
    )


def fitting_shape(layer) -> tuple[int, ...]:
    """A shape the layer accepts, to reach its success path often."""
    channels = getattr(layer, "in_features", None) or getattr(layer, "num_features", None) \
        or getattr(layer, "in_channels", None) or 2
    if isinstance(layer, L.Linear | L.BatchNorm1d):
        return (3, channels)
    return (3, channels, 5, 4)


@fuzz(400)
@given(layer=layer_strategy(), data=st.data())
def test_layers_work_or_raise_the_documented_error(layer, data):
    shape = data.draw(st.one_of(
        st.just(fitting_shape(layer)),
        st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)))
    dtype = data.draw(st.sampled_from(DTYPES))
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    if data.draw(st.integers(0, 20)) == 0:
        x = x.tolist()                                     # not an ndarray at all
    training = data.draw(st.booleans())
    layer.train(training)
    with alarm():
        try:
            out = layer.forward(x)
        except ShapeError as error:
            assert "\n" not in str(error)
            return
        if np.ndim(x) == 0:          # elementwise layers take any shape, 0-d included
            assert np.shape(out) == () and isinstance(out, np.ndarray | np.generic)
            return
        assert isinstance(out, np.ndarray) and len(out) == len(x)
        # computed in the input's float dtype; Flatten, a reshape, keeps any dtype
        assert out.dtype.kind == "f" or isinstance(layer, L.Flatten) and out.dtype == x.dtype
        dout = np.ones_like(out)
        if not training:
            with pytest.raises(RuntimeError, match="without a preceding forward"):
                layer.backward(dout)
            return
        dx = layer.backward(dout)
        assert dx.shape == np.shape(x) and dx.dtype == dout.dtype


@fuzz(150)
@given(cls=st.sampled_from([L.Linear, L.BatchNorm1d, L.Conv2d]),
       sizes=st.lists(st.integers(-2, 3), min_size=3, max_size=3))
def test_layer_settings_work_or_raise_config_error(cls, sizes):
    arguments = {L.Linear: sizes[:2], L.BatchNorm1d: sizes[:1], L.Conv2d: sizes}[cls]
    try:
        layer = cls(*arguments)
    except ConfigError:
        return
    assert min(arguments) >= 1 and layer.parameters()


def test_more_than_1000_files_were_tried():
    """Runs last in this file: the file readers above saw more than 1000 files in all."""
    wanted = {"idx", "model", "model-meta", "checkpoint"} | (
        {"cifar-bin", "cifar-py", "cifar-meta", "cifar-txt"} if cifar is not None else set())
    if not wanted <= FILES.keys():
        pytest.skip("run the whole file to count the files tried")
    assert sum(FILES.values()) > 1000, FILES
