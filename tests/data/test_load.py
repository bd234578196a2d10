"""load(): named IDX datasets through the search order, directories, digits, and the messages
a user sees when something is missing or misspelt."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from scratchnn.data import FASHION_MNIST_CLASSES, MNIST_CLASSES, known_datasets, load, registry
from scratchnn.errors import DataError


def _assert_loaded(data, arrays, name, classes):
    assert data.name == name and data.classes == classes
    assert data.x_train.shape == (len(arrays["x_train"]), 1, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    for key in ("x_train", "x_test"):
        np.testing.assert_array_equal(getattr(data, key)[:, 0], arrays[key])
    for key in ("y_train", "y_test"):
        np.testing.assert_array_equal(getattr(data, key), arrays[key])


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_from_root(tmp_path, make_idx_dataset, gz):
    arrays = make_idx_dataset(tmp_path / "data", gz=gz)
    data = load("fashion-mnist", root=tmp_path / "data")
    _assert_loaded(data, arrays, "fashion-mnist", FASHION_MNIST_CLASSES)


def test_raw_and_gz_files_can_be_mixed(tmp_path, make_idx_dataset):
    arrays = make_idx_dataset(tmp_path)
    gz = tmp_path / "t10k-labels-idx1-ubyte.gz"
    os.rename(gz, gz.with_suffix(""))  # still compressed: read_idx goes by content, not name
    _assert_loaded(load("mnist", root=tmp_path), arrays, "mnist", MNIST_CLASSES)


def test_search_order(tmp_path, home, monkeypatch, make_idx_dataset):
    """root, root/NAME, $SCRATCHNN_DATA/NAME, ~/.cache/scratchnn/NAME, system; never the top of
    $SCRATCHNN_DATA (files lying there could be any dataset)."""
    places = [tmp_path / "root", tmp_path / "root2" / "fashion-mnist", tmp_path / "env",
              tmp_path / "env2" / "fashion-mnist", home / ".cache" / "scratchnn" / "fashion-mnist",
              tmp_path / "system"]
    written = [make_idx_dataset(place, seed) for seed, place in enumerate(places)]
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {"fashion-mnist": (places[5],)})
    cases = [({"root": places[0]}, places[2], 0),        # root beats everything below
             ({"root": places[1].parent}, places[2], 1),  # root/NAME
             ({}, places[3].parent, 3),                   # $SCRATCHNN_DATA/NAME
             ({}, places[2], 4),                          # not $SCRATCHNN_DATA itself: the cache
             ({}, None, 4)]                               # the cache
    for kwargs, env, expected in cases:
        if env is None:
            monkeypatch.delenv("SCRATCHNN_DATA")
        else:
            monkeypatch.setenv("SCRATCHNN_DATA", str(env))
        _assert_loaded(load("fashion-mnist", **kwargs), written[expected], "fashion-mnist",
                       FASHION_MNIST_CLASSES)
    os.remove(places[4] / "train-images-idx3-ubyte.gz")
    _assert_loaded(load("fashion-mnist"), written[5], "fashion-mnist", FASHION_MNIST_CLASSES)
    os.remove(places[5] / "train-images-idx3-ubyte.gz")
    make_idx_dataset(places[4].parent / "mnist", 9)  # another dataset's cache is never used
    with pytest.raises(DataError, match="fashion-mnist: not found"):
        load("fashion-mnist")


def test_system_dir_is_searched_last(tmp_path, monkeypatch, make_idx_dataset):
    arrays = make_idx_dataset(tmp_path / "usr-share")
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {"fashion-mnist": (tmp_path / "usr-share",)})
    _assert_loaded(load("fashion-mnist"), arrays, "fashion-mnist", FASHION_MNIST_CLASSES)
    assert registry.search_dirs("fashion-mnist")[-1] == tmp_path / "usr-share"


def test_names_ignore_case_and_underscores(tmp_path, make_idx_dataset):
    make_idx_dataset(tmp_path)
    assert load("Fashion_MNIST", root=tmp_path).name == "fashion-mnist"


def test_a_directory_path_loads_with_digit_classes(tmp_path, make_idx_dataset):
    arrays = make_idx_dataset(tmp_path / "my-digits", size=(5, 7))
    data = load(str(tmp_path / "my-digits"))
    assert data.name == "my-digits" and data.classes == MNIST_CLASSES
    assert data.input_shape == (1, 5, 7)
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    many = make_idx_dataset(tmp_path / "many", num_classes=30)
    top = max(many["y_train"].max(), many["y_test"].max())
    assert top >= 10 and load(tmp_path / "many").classes == tuple(str(k) for k in range(top + 1))


def test_a_directory_named_after_a_known_dataset_gets_its_classes(tmp_path, make_idx_dataset):
    make_idx_dataset(tmp_path / "fashion-mnist")
    assert load(tmp_path / "fashion-mnist").classes == FASHION_MNIST_CLASSES


@pytest.mark.parametrize("name, message", [
    ("fashon-mnist", "unknown dataset 'fashon-mnist' (did you mean 'fashion-mnist'?); "
                     "valid: cifar10, digits, fashion-mnist, mnist"),
    ("mnsit", "unknown dataset 'mnsit' (did you mean 'mnist'?)"),
    ("imagenet", "unknown dataset 'imagenet'; valid: cifar10, digits, fashion-mnist, mnist"),
    ("", "no dataset name given"),
])
def test_unknown_name(name, message):
    with pytest.raises(DataError) as caught:
        load(name)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_bad_paths(tmp_path, make_idx_dataset):
    with pytest.raises(DataError, match="nowhere: no such file or directory$"):
        load(str(tmp_path / "nowhere"))
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DataError, match="file: not a dataset file; a dataset path is an .npz"):
        load(str(tmp_path / "file"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no dataset found; expected MNIST-style IDX"):
        load(tmp_path / "empty")
    make_idx_dataset(tmp_path / "partial")
    os.remove(tmp_path / "partial" / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match=r"partial: missing t10k-images-idx3-ubyte\[\.gz\]$"):
        load(tmp_path / "partial")


def test_missing_fashion_mnist_says_where_it_looked_and_how_to_get_it(tmp_path, home,
                                                                        monkeypatch,
                                                                        make_idx_dataset):
    monkeypatch.setenv("SCRATCHNN_DATA", str(tmp_path / "env"))
    make_idx_dataset(tmp_path / "root")
    os.remove(tmp_path / "root" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError) as caught:
        load("fashion-mnist", root=tmp_path / "root")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("fashion-mnist: not found; looked in ")
    for place in [f"{tmp_path / 'root'} (has 3 of 4 files)", str(tmp_path / "env"),
                  str(home / ".cache" / "scratchnn" / "fashion-mnist")]:
        assert place in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "python -m scratchnn.data.download fashion-mnist" in message


def test_missing_mnist_says_how_to_download_it():
    with pytest.raises(DataError) as caught:
        load("mnist")
    assert "python -m scratchnn.data.download mnist" in str(caught.value)
    assert "apt-get" not in str(caught.value)


def test_a_corrupt_file_is_named(tmp_path, make_idx_dataset):
    make_idx_dataset(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: corrupt gzip data"):
        load("fashion-mnist", root=tmp_path)


def test_files_that_disagree_are_named(tmp_path, make_idx_dataset):
    make_idx_dataset(tmp_path)
    make_idx_dataset(tmp_path / "other", n_test=4)
    os.replace(tmp_path / "other" / "t10k-labels-idx1-ubyte.gz",
               tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="x_test has 5 samples but y_test has 4"):
        load("fashion-mnist", root=tmp_path)


def test_known_datasets(tmp_path, make_idx_dataset):
    infos = {info.name: info for info in known_datasets()}
    assert list(infos) == ["cifar10", "digits", "fashion-mnist", "mnist"]
    assert infos["fashion-mnist"].location is None and infos["mnist"].location is None
    assert "apt-get install dataset-fashion-mnist" in infos["fashion-mnist"].how_to_get
    assert infos["digits"].location == "scikit-learn"
    make_idx_dataset(tmp_path / "mnist")
    infos = {info.name: info for info in known_datasets(root=tmp_path)}
    assert infos["mnist"].location == str(tmp_path / "mnist")


def test_digits():
    data = load("digits")
    assert data.x_train.shape == (1438, 1, 8, 8) and data.x_test.shape == (359, 1, 8, 8)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.x_train.max() == 16 and data.classes == MNIST_CLASSES
    assert set(np.unique(data.y_test)) == set(range(10))
    again = load("digits")
    np.testing.assert_array_equal(again.x_test, data.x_test)
    np.testing.assert_array_equal(again.y_train, data.y_train)


def test_digits_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn...` fail
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match="pip install scikit-learn"):
        load("digits")


def test_load_options(tmp_path, make_idx_dataset):
    arrays = make_idx_dataset(tmp_path / "fashion-mnist", n_train=12, n_test=5)
    data = load("fashion-mnist", root=tmp_path, n_train=6, n_val=4, n_test=2,
                channels_last=True)
    assert data.x_train.shape == (6, 28, 28, 1) and data.x_val.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(data.x_val[..., 0], arrays["x_train"][6:10])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"][:2])
    with pytest.raises(DataError, match="fashion-mnist: test_fraction applies only to data "
                                        "without a test split"):
        load("fashion-mnist", root=tmp_path, test_fraction=0.1)
