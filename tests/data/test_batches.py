"""batches(): one permutation per pass, x and y cut with the same indices, sizes as promised."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.data import batches


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x[i] holds i in every pixel and y[i] = 1000 + i, so any misalignment shows."""
    x = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None, None], (n, 2, 3)).copy()
    return x, 1000 + np.arange(n)


@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_shuffled_pass_sees_every_sample_once_with_its_label(rng, n, batch_size):
    x, y = _data(n)
    seen = []
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
        np.testing.assert_array_equal(xb[:, 0, 0] + 1000, yb)  # pairs stay aligned
        assert (xb == xb[:, :1, :1]).all()                     # samples are whole
        seen.extend(yb - 1000)
    assert sorted(seen) == list(range(n))


def test_shuffle_changes_the_order_and_is_reproducible():
    x, y = _data(50)
    order = [np.concatenate([yb for _, yb in batches(x, y, 7, shuffle=True,
                                                      rng=np.random.default_rng(seed))])
             for seed in (3, 3, 4)]
    np.testing.assert_array_equal(order[0], order[1])
    assert not np.array_equal(order[0], order[2])
    assert not np.array_equal(order[0], y)


def test_unshuffled_pass_is_in_order_with_a_smaller_last_batch():
    x, y = _data(10)
    cut = list(batches(x, y, 4))
    assert [len(yb) for _, yb in cut] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in cut]), y)


@pytest.mark.parametrize("shuffle", [False, True])
def test_drop_last_drops_only_the_partial_batch(rng, shuffle):
    x, y = _data(10)
    cut = list(batches(x, y, 4, shuffle=shuffle, rng=rng, drop_last=True))
    assert [len(yb) for _, yb in cut] == [4, 4]
    assert len(set(np.concatenate([yb for _, yb in cut]))) == 8
    assert len(list(batches(x, y, 5, drop_last=True))) == 2  # divides: nothing dropped
    assert list(batches(x, y, 11, shuffle=shuffle, rng=rng, drop_last=True)) == []


def test_dtype_is_kept(rng):
    x = np.zeros((6, 1, 2, 2), np.uint8)
    y = np.zeros(6, np.int64)
    for xb, yb in batches(x, y, 4, shuffle=True, rng=rng):
        assert xb.dtype == np.uint8 and yb.dtype == np.int64


def test_empty_data_gives_no_batches():
    assert list(batches(np.zeros((0, 3)), np.zeros(0), 4)) == []


def test_errors(rng):
    x, y = _data(5)
    with pytest.raises(ValueError, match="differ in length"):
        next(batches(x, y[:4], 2))
    with pytest.raises(ValueError, match="batch_size must be positive"):
        next(batches(x, y, 0))
    with pytest.raises(ValueError, match="needs an rng"):
        next(batches(x, y, 2, shuffle=True))
