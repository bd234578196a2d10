"""Dataset: checked on construction, labels made int64, a repr that never prints arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scratchnn.data import Dataset
from scratchnn.errors import DataError


def _arrays(rng, n_train=20, n_test=6, shape=(1, 4, 4), num_classes=3):
    return dict(x_train=rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
                y_train=rng.integers(0, num_classes, n_train).astype(np.uint8),
                x_test=rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
                y_test=rng.integers(0, num_classes, n_test).astype(np.int32))


def test_valid_dataset(rng):
    data = Dataset("toy", **_arrays(rng), classes=["a", "b", 2])
    assert data.classes == ("a", "b", "2")
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    assert data.input_shape == (1, 4, 4) and data.num_classes == 3
    assert data.x_train.dtype == np.uint8


def test_repr_and_summary_do_not_print_arrays(rng):
    data = Dataset("toy", **_arrays(rng, n_train=5000), classes=("a", "b", "c"))
    assert repr(data) == ("Dataset('toy', train=5000, test=6, input_shape=(1, 4, 4), "
                          "dtype=uint8, classes=3)")
    summary = data.summary().splitlines()
    assert len(summary) == 4 and "5000 train and 6 test" in summary[0]
    counts = np.bincount(data.y_train, minlength=3)
    assert summary[1].split()[-2] == str(counts[0])


def test_is_frozen(rng):
    data = Dataset("toy", **_arrays(rng), classes=("a", "b", "c"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.name = "other"


@pytest.mark.parametrize("change, message", [
    (lambda a: {"y_train": a["y_train"][:-1]}, "x_train has 20 samples but y_train has 19"),
    (lambda a: {"x_test": a["x_test"][:2]}, "x_test has 2 samples but y_test has 6"),
    (lambda a: {"y_train": np.r_[a["y_train"][:-1], 3]}, "labels from 0 to 3, outside [0, 3)"),
    (lambda a: {"y_test": np.r_[a["y_test"][:-1], -1]}, "labels from -1"),
    (lambda a: {"y_train": a["y_train"].astype(np.float32)}, "must be (N,) integer labels"),
    (lambda a: {"y_test": a["y_test"][:, None]}, "must be (N,) integer labels"),
    (lambda a: {"x_test": a["x_test"][:, :, :3]}, "train samples are (1, 4, 4) but test"),
    (lambda a: {"x_train": np.zeros(20)}, "at least one feature axis"),
])
def test_inconsistent_arrays_are_one_line_data_errors(rng, change, message):
    arrays = _arrays(rng)
    arrays.update(change(arrays))
    with pytest.raises(DataError) as caught:
        Dataset("toy", **arrays, classes=("a", "b", "c"))
    assert str(caught.value).startswith("toy: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_needs_classes(rng):
    with pytest.raises(DataError, match="no classes"):
        Dataset("toy", **_arrays(rng), classes=())


def test_empty_test_split_is_allowed(rng):
    data = Dataset("toy", **_arrays(rng, n_test=0), classes=("a", "b", "c"))
    assert len(data.x_test) == 0 and data.y_test.dtype == np.int64


def test_take_first_n_and_the_next_n_as_validation(rng):
    """CS231n's get_CIFAR10_data: train = first n_train, val = the next n_val, test = first."""
    arrays = _arrays(rng)
    data = Dataset("toy", **arrays, classes="abc").take(n_train=12, n_val=5, n_test=4)
    np.testing.assert_array_equal(data.x_train, arrays["x_train"][:12])
    np.testing.assert_array_equal(data.x_val, arrays["x_train"][12:17])
    np.testing.assert_array_equal(data.y_val, arrays["y_train"][12:17])
    np.testing.assert_array_equal(data.x_test, arrays["x_test"][:4])
    assert repr(data).startswith("Dataset('toy', train=12, val=5, test=4,")
    rest = Dataset("toy", **arrays, classes="abc").take(n_val=3)
    assert len(rest.x_train) == 17 and len(rest.x_val) == 3 and len(rest.x_test) == 6
    np.testing.assert_array_equal(rest.x_val, arrays["x_train"][17:])
    assert np.shares_memory(rest.x_train, arrays["x_train"])      # views, no copies


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_train=18, n_val=3), "n_train=18 + n_val=3 is more than the 20 training samples"),
    (dict(n_test=7), "n_test=7 is more than the 6 test samples"),
    (dict(n_train=-1), "n_train must be a non-negative integer, got -1"),
    (dict(n_val=1.5), "n_val must be a non-negative integer, got 1.5"),
])
def test_take_refuses_impossible_sizes(rng, kwargs, message):
    with pytest.raises(DataError) as caught:
        Dataset("toy", **_arrays(rng), classes="abc").take(**kwargs)
    assert message in str(caught.value)


def test_channels_last(rng):
    arrays = _arrays(rng, shape=(3, 4, 5))
    data = Dataset("toy", **arrays, classes="abc").take(n_val=2).channels_last()
    assert data.input_shape == (4, 5, 3) and data.x_val.shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(data.x_test, arrays["x_test"].transpose(0, 2, 3, 1))
    assert data.x_train.flags.c_contiguous
    flat = Dataset("flat", **_arrays(rng, shape=(7,)), classes="abc")
    with pytest.raises(DataError, match=r"channels_last needs images \(N, C, H, W\)"):
        flat.channels_last()


def test_validation_split_is_checked(rng):
    arrays = _arrays(rng)
    with pytest.raises(DataError, match="x_val and y_val must be given together"):
        Dataset("toy", **arrays, classes="abc", x_val=arrays["x_test"])
    with pytest.raises(DataError, match=r"y_val has labels from"):
        Dataset("toy", **arrays, classes="abc", x_val=arrays["x_test"],
                y_val=np.full(6, 5))
