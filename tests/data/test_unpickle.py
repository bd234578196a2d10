"""The restricted unpickler: a CIFAR batch that carries code is refused before the code runs, and
the admitted numpy names cannot be bent into anything but a plain number array."""

from __future__ import annotations

import builtins
import codecs
import os
import pickle
import subprocess

import numpy as np
import pytest

from scratchnn.data import load
from scratchnn.data.unpickle import restricted_load
from scratchnn.errors import DataError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct


class Reduce:
    """An object that pickles as a call of `func` with `args` (and `state` for BUILD)."""

    def __init__(self, func, args, state=None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args,
                                                                   self.state)


def _payloads(marker):
    """Ways a pickle can create `marker` when loaded by pickle.load: name -> pickle bytes."""
    return {
        "os.system": pickle.dumps(Reduce(os.system, (f"touch '{marker}'",)), protocol=2),
        "builtins.open": pickle.dumps(Reduce(builtins.open, (str(marker), "w")), protocol=2),
        "subprocess.call": pickle.dumps(Reduce(subprocess.call, (["touch", str(marker)],)),
                                        protocol=4),   # STACK_GLOBAL instead of GLOBAL
        "eval": pickle.dumps(Reduce(eval, (f"open({str(marker)!r}, 'w')",)), protocol=5),
        "INST opcode": f"(S'touch {marker}'\nios\nsystem\n.".encode(),        # protocol 0
        "inside a real batch": pickle.dumps(
            {b"batch_label": b"training batch 1 of 5",
             b"data": np.zeros((1, 3072), np.uint8),
             b"labels": [Reduce(builtins.open, (str(marker), "w"))],
             b"filenames": [b"x.png"]}, protocol=2),
    }


@pytest.mark.parametrize("name", list(_payloads("m")))
def test_a_payload_that_creates_a_file_is_refused_and_the_file_is_not_created(tmp_path, name):
    marker = tmp_path / "pwned"
    payload = _payloads(marker)[name]
    pickle.loads(payload)                      # the payload is live: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload)
    with pytest.raises(DataError) as caught:
        restricted_load(path)
    assert not marker.exists()
    message = str(caught.value)
    assert message.startswith(f"{path}: refused to call ") and "\n" not in message
    assert "may be malicious" in message


def test_load_refuses_a_malicious_cifar_batch(tmp_path, make_cifar):
    directory = make_cifar(tmp_path, "py")["directory"]
    marker = tmp_path / "pwned"
    (directory / "data_batch_4").write_bytes(_payloads(marker)["inside a real batch"])
    with pytest.raises(DataError, match=r"data_batch_4: refused to call io.open "):
        load("cifar10", root=tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("obj, message", [
    (Reduce(np.dtype, ("O", False, True)), r"refused numpy.dtype\('O'\)"),          # objects
    (Reduce(np.dtype, ("V8", False, True)), r"refused numpy.dtype\('V8'\)"),        # raw bytes
    (Reduce(np.dtype, ("u1", False, True), (3, "|", None, ("a",), {"a": 1}, -1, -1, 0)),
     "refused a numpy.dtype state with fields"),
    (Reduce(np.dtype, ("u1", False, True), (3, "!", None, None, None, -1, -1, 0)),
     "refused numpy.dtype byte order '!'"),
    (Reduce(_reconstruct, (np.dtype, (0,), b"b")), "refused _reconstruct of anything but"),
    (Reduce(np.ndarray, ((10**12,),)), "not a valid pickle"),                       # not callable
    (Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (10,), np.dtype("u1"), False, b"abc")),
     r"ndarray data is 3 bytes, but shape \(10,\) of uint8 needs 10"),
    (Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (-1,), np.dtype("u1"), False, b"")),
     r"refused ndarray shape \(-1,\)"),
    (Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (2,), "u1", False, b"ab")),
     "refused an ndarray whose dtype is not a plain number"),
    (Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), np.dtype("u1"), False, [1])),
     "refused ndarray data of type list"),
    (Reduce(codecs.encode, ("x", "rot13")), r"refused _codecs.encode\(..., 'rot13'\)"),
    (Reduce(bytes, (10**10,)), r"refused bytes\(\) with arguments"),
])
def test_the_admitted_names_only_build_plain_arrays_and_bytes(tmp_path, obj, message):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": obj}, protocol=2))
    with pytest.raises(DataError) as caught:
        restricted_load(path)
    assert caught.match(message) and "\n" not in str(caught.value)


def test_what_the_real_files_hold_is_admitted(tmp_path):
    """Python 3, protocol 2: bytes via _codecs.encode, b"" via bytes(), arrays of each dtype."""
    batch = {b"batch_label": b"", b"labels": [0, 9, 3], "text": "str keys too",
             b"data": np.arange(6, dtype=np.uint8).reshape(2, 3),
             b"wide": np.arange(4, dtype=">i4"), b"fortran": np.asfortranarray(np.eye(2)),
             b"nested": [b"x", (1, 2.5, None, True)]}
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    got = restricted_load(path)
    assert got.keys() == batch.keys()
    for key, value in batch.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[key], value)
            assert got[key].dtype == value.dtype.newbyteorder("=") and got[key].flags.writeable
        else:
            assert got[key] == value


def test_persistent_ids_are_refused(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(b"\x80\x02X\x01\x00\x00\x00aQ.")          # BINUNICODE "a", BINPERSID
    with pytest.raises(DataError, match="refused a persistent id"):
        restricted_load(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothing: cannot read \(No such file or directory\)"):
        restricted_load(tmp_path / "nothing")
