"""Random erasing: one noise rectangle per chosen image, drawn in the documented order, checked
against a per-sample loop; its rectangles span the documented ranges; the setting is checked."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.data import Augment, augment_rng
from scratchnn.data.transforms import crop_padded, erase_rectangles, flip_horizontal
from scratchnn.errors import ConfigError
from scratchnn.train.config import TrainConfig


def _reference_erase(x, probability, rng):
    """The same draws as erase_rectangles, applied one image at a time."""
    n, _, h, w = x.shape
    chosen = rng.random(n) < probability
    area = rng.uniform(0.02, 0.33, n) * h * w
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3), n))
    top_fraction, left_fraction = rng.random(n), rng.random(n)
    noise = rng.integers(0, 256, size=x.shape, dtype=np.uint8)
    out = x.copy()
    for i in range(n):
        rect_h = int(min(max(round(float(np.sqrt(area[i] * aspect[i]))), 1), h))
        rect_w = int(min(max(round(float(np.sqrt(area[i] / aspect[i]))), 1), w))
        top = int(top_fraction[i] * (h - rect_h + 1))
        left = int(left_fraction[i] * (w - rect_w + 1))
        if chosen[i]:
            out[i, :, top:top + rect_h, left:left + rect_w] = \
                noise[i, :, top:top + rect_h, left:left + rect_w]
    return out


def test_erasing_equals_a_per_sample_reference(rng):
    x = rng.integers(0, 256, (64, 3, 12, 10), dtype=np.uint8)
    before = x.copy()
    out = erase_rectangles(x, 0.5, augment_rng(1, 2, 3))
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, _reference_erase(x, 0.5, augment_rng(1, 2, 3)))
    np.testing.assert_array_equal(x, before)                      # the batch is not modified
    assert (out != x).reshape(64, -1).any(axis=1).sum() > 20      # about half the images


def test_rectangles_span_the_documented_areas_and_cover_every_position():
    x = np.zeros((4000, 1, 28, 28), np.uint8)
    erased = erase_rectangles(x, 1.0, augment_rng(0, 0, 0)) != 0   # noise 0 is rare (1/256)
    area = erased.reshape(4000, -1).mean(axis=1)
    assert 0.01 < area.min() < 0.03 and 0.28 < area.max() < 0.36
    assert erased.any(axis=0).all()                                # corners and edges too
    assert not erase_rectangles(x, 0.0, augment_rng(0, 0, 0)).any()


def test_float_images_get_noise_in_their_own_range(rng):
    x = rng.uniform(-2.0, 3.0, (32, 1, 8, 8)).astype(np.float32)
    out = erase_rectangles(x, 1.0, augment_rng(0, 0, 0))
    assert out.dtype == np.float32 and not np.array_equal(out, x)
    assert x.min() <= out.min() and out.max() <= x.max()


def test_augment_erases_after_crop_and_flip(rng):
    x = rng.integers(1, 256, (9, 1, 8, 8), dtype=np.uint8)
    out = Augment(crop_padding=2, flip=True, erase=0.5)(x, augment_rng(3, 1, 7))
    draws = augment_rng(3, 1, 7)
    top, left = draws.integers(0, 5, size=(2, len(x)))
    mask = draws.random(len(x)) < 0.5
    expected = erase_rectangles(flip_horizontal(crop_padded(x, 2, top, left), mask), 0.5, draws)
    np.testing.assert_array_equal(out, expected)
    assert Augment.for_dataset("fashion-mnist", (1, 28, 28), erase=0.25).erase == 0.25


@pytest.mark.parametrize("erase", [-0.1, 1.5, True, "half"])
def test_a_probability_outside_0_1_is_refused(erase):
    with pytest.raises(ConfigError, match="erase must be a probability in"):
        Augment(erase=erase)


def test_the_train_setting_is_checked_where_augment_checks_it():
    assert TrainConfig(erase=0.5).erase == 0.5
    with pytest.raises(ConfigError, match=r"erase must be a probability in \[0, 1\], got 2.0"):
        TrainConfig(erase=2.0)
