"""CIFAR-10 in both published forms, written by the tests in the real formats: loaded back exactly,
found through the search order, and every damaged file named in a one-line error."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from scratchnn.data import CIFAR10_CLASSES, cifar, known_datasets, load, registry
from scratchnn.errors import DataError


def _assert_loaded(data, arrays):
    assert data.name == "cifar10" and data.classes == CIFAR10_CLASSES
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.x_train.shape == (len(arrays["x_train"]), 3, 32, 32)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(data, key), arrays[key], err_msg=key)


@pytest.mark.parametrize("layout", ["bin", "py", "py2"])
def test_each_form_loads_back_exactly(tmp_path, make_cifar, layout):
    arrays = make_cifar(tmp_path, layout)
    _assert_loaded(load("cifar10", root=tmp_path), arrays)


def test_pixel_order_is_red_then_green_then_blue_rows(tmp_path, make_cifar):
    """One record's 3072 bytes: 1024 red (row-major 32x32), 1024 green, 1024 blue."""
    make_cifar(tmp_path, "bin")
    path = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    record = np.zeros(3073, np.uint8)
    record[0] = 7
    record[1 + 0 * 1024 + 0 * 32 + 5] = 11        # red, row 0, column 5
    record[1 + 1 * 1024 + 2 * 32 + 0] = 22        # green, row 2, column 0
    record[1 + 2 * 1024 + 31 * 32 + 31] = 33      # blue, bottom-right
    path.write_bytes(record.tobytes())
    x, y = cifar.read_bin_batch(path)
    assert y.tolist() == [7] and x.shape == (1, 3, 32, 32)
    assert x[0, 0, 0, 5] == 11 and x[0, 1, 2, 0] == 22 and x[0, 2, 31, 31] == 33
    assert np.count_nonzero(x) == 3


def test_python2_files_load_like_pickle_does(tmp_path, make_cifar):
    """The restricted unpickler rebuilds what an unrestricted pickle.load would (on our own,
    trusted file), including the numpy.core.multiarray name of numpy 1 pickles."""
    make_cifar(tmp_path, "py2")
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    raw = path.read_bytes()
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw and b"U\x04data" in raw
    expected = pickle.loads(raw, encoding="bytes")
    from scratchnn.data.unpickle import restricted_load

    got = restricted_load(path)
    assert got.keys() == expected.keys()
    np.testing.assert_array_equal(got[b"data"], expected[b"data"])
    assert got[b"data"].dtype == np.uint8 and got[b"data"].shape == (7, 3072)
    assert got[b"labels"] == expected[b"labels"] and got[b"filenames"] == expected[b"filenames"]


def test_binary_is_preferred_and_either_folder_or_its_files_are_found(tmp_path, make_cifar):
    arrays_py = make_cifar(tmp_path / "both", "py", seed=1)
    arrays_bin = make_cifar(tmp_path / "both", "bin", seed=2)
    _assert_loaded(load("cifar10", root=tmp_path / "both"), arrays_bin)
    assert registry.find("cifar10", tmp_path / "both") == tmp_path / "both" / "cifar-10-batches-bin"
    os.remove(tmp_path / "both" / "cifar-10-batches-bin" / "data_batch_2.bin")  # incomplete
    _assert_loaded(load("cifar10", root=tmp_path / "both"), arrays_py)
    flat = make_cifar(tmp_path, "bin", seed=3, folder="flat")        # files directly in root
    _assert_loaded(load("cifar10", root=tmp_path / "flat"), flat)


def test_search_order(tmp_path, home, monkeypatch, make_cifar):
    """Like the IDX datasets: root, root/cifar10, $SCRATCHNN_DATA/cifar10, the cache."""
    env, cache = tmp_path / "env", home / ".cache" / "scratchnn" / "cifar10"
    in_cache = make_cifar(cache, "py", seed=4)
    in_env = make_cifar(env / "cifar10", "bin", seed=5)
    in_root = make_cifar(tmp_path / "root" / "cifar10", "bin", seed=6)
    _assert_loaded(load("cifar10"), in_cache)
    monkeypatch.setenv("SCRATCHNN_DATA", str(env))
    _assert_loaded(load("cifar10"), in_env)
    _assert_loaded(load("cifar10", root=tmp_path / "root"), in_root)


def test_a_cifar_folder_given_as_a_path(tmp_path, make_cifar):
    arrays = make_cifar(tmp_path, "py2")
    _assert_loaded(load(tmp_path / "cifar-10-batches-py"), arrays)
    _assert_loaded(load(str(tmp_path)), arrays)


def test_missing_says_where_it_looked_and_the_command(tmp_path, home, make_cifar):
    make_cifar(tmp_path, "bin")
    os.remove(tmp_path / "cifar-10-batches-bin" / "test_batch.bin")
    with pytest.raises(DataError) as caught:
        load("cifar10", root=tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cifar10: not found; looked in ")
    assert f"{tmp_path} (has 5 of 6 files)" in message
    assert str(home / ".cache" / "scratchnn" / "cifar10") in message
    assert "python -m scratchnn.data.download cifar10" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    with pytest.raises(DataError, match=r"incomplete CIFAR-10: missing test_batch\.bin$"):
        load(tmp_path)


def _damage_bin(directory, how):
    path = directory / "data_batch_2.bin"
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(raw[:-100])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "mislabelled":
        raw[3 * 3073] = 10                         # the label byte of record 3
        path.write_bytes(raw)
    elif how == "directory":
        path.unlink()
        path.mkdir()
    return path


@pytest.mark.parametrize("how, message", [
    ("truncated", r"truncated or not a CIFAR-10 binary batch: 21411 bytes is not a whole number "
                  r"of 3073-byte records"),
    ("empty", "empty file"),
    ("mislabelled", "label 10 of record 3 is outside 0..9"),
])
def test_damaged_binary_batches_are_named(tmp_path, make_cifar, how, message):
    directory = make_cifar(tmp_path, "bin")["directory"]
    path = _damage_bin(directory, how)
    with pytest.raises(DataError) as caught:
        load("cifar10", root=tmp_path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)
    assert caught.match(message)


def _rewrite(path, batch, protocol=2):
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


@pytest.mark.parametrize("change, message", [
    (lambda b: b.update({b"labels": b[b"labels"][:-1]}), "7 images but 6 labels"),
    (lambda b: b[b"labels"].__setitem__(4, 12), "label 12 of record 4 is outside 0..9"),
    (lambda b: b[b"labels"].__setitem__(0, -1), "label -1 of record 0 is outside 0..9"),
    (lambda b: b[b"labels"].__setitem__(0, "cat"), "'labels' must be a list of ints"),
    (lambda b: b.update({b"data": b[b"data"].astype(np.int16)}),
     r"'data' must be a uint8 array \(N, 3072\), found int16 array of shape \(7, 3072\)"),
    (lambda b: b.update({b"data": b[b"data"][:, :3000]}),
     r"'data' must be a uint8 array \(N, 3072\), found uint8 array of shape \(7, 3000\)"),
    (lambda b: b.update({b"data": b[b"data"].tolist()}), "'data' must be a uint8 array"),
    (lambda b: b.pop(b"data"), r"no 'data' entry \(has b'batch_label', b'labels', b'filenames'\)"),
])
def test_damaged_python_batches_are_named(tmp_path, make_cifar, change, message):
    directory = make_cifar(tmp_path, "py")["directory"]
    path = directory / "data_batch_1"
    batch = pickle.loads(path.read_bytes(), encoding="bytes")   # our own file: trusted
    change(batch)
    _rewrite(path, batch)
    with pytest.raises(DataError) as caught:
        load("cifar10", root=tmp_path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)
    assert caught.match(message)


@pytest.mark.parametrize("content, message", [
    (b"", "not a valid pickle"),
    (b"\x80\x02}q\x00(", "not a valid pickle"),
    (pickle.dumps([1, 2, 3], protocol=2), "expected a pickled dict, found list"),
    (b"PK\x03\x04 a zip file", "not a valid pickle"),
])
def test_corrupt_python_batches_are_named(tmp_path, make_cifar, content, message):
    directory = make_cifar(tmp_path, "py")["directory"]
    (directory / "data_batch_5").write_bytes(content)
    with pytest.raises(DataError) as caught:
        load("cifar10", root=tmp_path)
    assert str(caught.value).startswith(f"{directory / 'data_batch_5'}: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_truncations_of_a_batch_are_data_errors(tmp_path, make_cifar):
    """Cut at every byte of the opcodes around the pixel data, and every 97th byte within it."""
    directory = make_cifar(tmp_path, "py2", n=(2, 2, 2, 2, 2, 2))["directory"]
    raw = (directory / "test_batch").read_bytes()
    path = tmp_path / "cut"
    for end in [e for e in range(len(raw)) if e < 250 or e > len(raw) - 250 or e % 97 == 0]:
        path.write_bytes(raw[:end])
        with pytest.raises(DataError) as caught:
            cifar.read_py_batch(path)
        assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_class_names_come_from_the_meta_file(tmp_path, make_cifar):
    directory = make_cifar(tmp_path, "bin")["directory"]
    names = [f"class {k}" for k in range(10)]
    (directory / "batches.meta.txt").write_text("\n".join(names) + "\n")
    assert load("cifar10", root=tmp_path).classes == tuple(names)
    (directory / "batches.meta.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="batches.meta.txt: 2 class names, CIFAR-10 has 10"):
        load("cifar10", root=tmp_path)
    os.remove(directory / "batches.meta.txt")            # optional: the published names then
    assert load("cifar10", root=tmp_path).classes == CIFAR10_CLASSES


def test_python_meta_file(tmp_path, make_cifar):
    directory = make_cifar(tmp_path, "py2")["directory"]
    assert cifar.read_classes(directory / "batches.meta") == CIFAR10_CLASSES
    _rewrite(directory / "batches.meta", {b"label_names": "airplane"})
    with pytest.raises(DataError, match="a list of class names under 'label_names'"):
        load("cifar10", root=tmp_path)


@pytest.mark.parametrize("layout", ["bin", "py"])
def test_known_datasets_reports_location_and_size(tmp_path, make_cifar, layout):
    info = {i.name: i for i in known_datasets()}["cifar10"]
    assert info.location is None and info.commands == ("python -m scratchnn.data.download cifar10",)
    arrays = make_cifar(tmp_path / "cifar10", layout)
    info = {i.name: i for i in known_datasets(root=tmp_path)}["cifar10"]
    assert info.location == str(arrays["directory"]) and info.problem is None
    assert (info.train_samples, info.test_samples, info.input_shape) == (35, 5, (3, 32, 32))
