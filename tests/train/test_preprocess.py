"""Standardize: exact training-set statistics from uint8 data, applied per batch in float32."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.data.transforms import Standardize


@pytest.mark.parametrize("shape", [(5000, 3, 4, 4), (9000, 1, 2, 3), (300, 7)])
def test_statistics_equal_those_of_the_float_data(shape, rng):
    """Per channel for NCHW images (several histogram chunks), one channel for (N, D)."""
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    x[:, 0] //= 3                                   # channels with different statistics
    fitted = Standardize.fit(x)
    axes = (0, 2, 3) if x.ndim == 4 else None
    scaled = x / 255.0
    np.testing.assert_allclose(fitted.mean, np.ravel(scaled.mean(axis=axes)), rtol=1e-12)
    np.testing.assert_allclose(fitted.std, np.ravel(scaled.std(axis=axes)), rtol=1e-12)


def test_a_batch_becomes_float32_with_zero_mean_and_unit_std_per_channel(rng):
    x = rng.integers(0, 256, (4000, 2, 3, 3), dtype=np.uint8)
    x[:, 1] = x[:, 1] // 4 + 100
    out = Standardize.fit(x)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-5)


def test_a_constant_channel_keeps_std_one_instead_of_dividing_by_zero():
    fitted = Standardize.fit(np.full((10, 1, 2, 2), 7, np.uint8))
    assert fitted.std == (1.0,)
    np.testing.assert_allclose(fitted(np.full((2, 1, 2, 2), 7, np.uint8)), 0, atol=1e-7)
