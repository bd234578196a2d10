"""Transforms and augmentation: statistics from the training split only, crops and flips equal to
a plain per-sample reference, and augmentation that is a pure function of (seed, epoch, batch)."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.data import (
    Augment,
    Compose,
    Scale,
    Standardize,
    SubtractMeanImage,
    augment_rng,
    flatten,
    one_hot,
)
from scratchnn.data.transforms import crop_padded, fit_preprocess, flip_horizontal, from_dict
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.layers import Flatten, Linear, ReLU


def _images(rng, shape=(9, 3, 6, 5)):
    return rng.integers(1, 256, shape, dtype=np.uint8)   # no zeros: padding shows


# -- preprocessing ----------------------------------------------------------------------------

def test_scale(rng):
    x = _images(rng)
    out = Scale()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x / 255.0, rtol=1e-6)


def test_mean_image_comes_from_the_training_split_only(rng):
    x_train, x_test = _images(rng, (40, 2, 3, 3)), _images(rng, (7, 2, 3, 3)) // 2
    subtract = SubtractMeanImage.fit(x_train)
    np.testing.assert_allclose(subtract.mean_image, x_train.mean(axis=0), rtol=1e-6)
    out = subtract(x_test)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x_test - x_train.mean(axis=0), rtol=1e-5, atol=1e-4)
    with pytest.raises(ShapeError, match=r"fitted on samples \(2, 3, 3\), got \(2, 3, 4\)"):
        subtract(_images(rng, (1, 2, 3, 4)))


def test_preprocessings_survive_the_model_file_round_trip(rng):
    x = _images(rng, (30, 3, 4, 4))
    for kind in ("standardize", "scale", "mean_image"):
        fitted = fit_preprocess(kind, x)
        rebuilt = from_dict(fitted.to_dict())
        np.testing.assert_array_equal(rebuilt(x), fitted(x))
    assert from_dict({"mean": [0.5], "std": [0.25]}) == Standardize((0.5,), (0.25,))
    assert fit_preprocess("none", x) is None
    assert fit_preprocess("standardize", x.astype(np.float32)) is None   # float data: as given
    with pytest.raises(ConfigError, match="unknown preprocess 'whiten'"):
        fit_preprocess("whiten", x)


def test_flatten_one_hot_compose(rng):
    x = _images(rng)
    assert flatten(x).shape == (9, 90) and np.shares_memory(flatten(x), x)
    np.testing.assert_array_equal(Compose(Scale(), flatten)(x), flatten(Scale()(x)))
    y = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(one_hot(y, 3), np.eye(3, dtype=np.float32)[y])
    with pytest.raises(ShapeError, match=r"labels \(N,\) in \[0, 2\)"):
        one_hot(y, 2)


def test_training_statistics_only_in_a_run(tmp_path):
    """scratchnn train: the stored statistics are those of the training part (after the
    validation split), not of validation or test images."""
    from scratchnn.train.config import TrainConfig
    from scratchnn.train.modelfile import read_model_file
    from scratchnn.train.run import run_training

    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 100, (60, 1, 4, 4), dtype=np.uint8)
    x_test = rng.integers(150, 256, (20, 1, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x_train=x_train, y_train=np.arange(60) % 2, x_test=x_test,
             y_test=np.arange(20) % 2)
    config = TrainConfig(dataset=str(tmp_path / "d.npz"), epochs=1, n_val=20, batch_size=16,
                         out=str(tmp_path / "run"), model="two-layer-net")
    run_training(config, progress=False)
    _, meta = read_model_file(tmp_path / "run" / "model.npz")
    assert meta["preprocess"] == Standardize.fit(x_train[:40]).to_dict()


# -- augmentation kernels against a per-sample reference ---------------------------------------

def _reference_crop(x, padding, top, left):
    out = np.empty_like(x)
    h, w = x.shape[2:]
    for i in range(len(x)):
        padded = np.zeros((x.shape[1], h + 2 * padding, w + 2 * padding), x.dtype)
        padded[:, padding:padding + h, padding:padding + w] = x[i]
        out[i] = padded[:, top[i]:top[i] + h, left[i]:left[i] + w]
    return out


@pytest.mark.parametrize("padding", [1, 2, 4])
def test_crop_equals_a_per_sample_reference(rng, padding):
    x = _images(rng)
    top = rng.integers(0, 2 * padding + 1, len(x))
    left = rng.integers(0, 2 * padding + 1, len(x))
    top[:2], left[:2] = [0, 2 * padding], [2 * padding, 0]          # the extreme corners
    out = crop_padded(x, padding, top, left)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, _reference_crop(x, padding, top, left))
    centre = np.full(len(x), padding)
    np.testing.assert_array_equal(crop_padded(x, padding, centre, centre), x)


def test_flip_equals_a_per_sample_reference(rng):
    x = _images(rng)
    mask = np.array([True, False, True, True, False, False, True, False, True])
    expected = np.stack([np.fliplr(img.transpose(1, 2, 0)).transpose(2, 0, 1) if m else img
                         for img, m in zip(x, mask, strict=True)])
    np.testing.assert_array_equal(flip_horizontal(x, mask), expected)


def test_augment_draws_offsets_then_flips_in_the_documented_order(rng):
    x = _images(rng)
    before = x.copy()
    out = Augment(crop_padding=2, flip=True)(x, augment_rng(3, 1, 7))
    draws = augment_rng(3, 1, 7)
    top, left = draws.integers(0, 5, size=(2, len(x)))
    mask = draws.random(len(x)) < 0.5
    np.testing.assert_array_equal(out, flip_horizontal(_reference_crop(x, 2, top, left), mask))
    np.testing.assert_array_equal(x, before)                      # the batch is not modified
    flip_only = Augment(crop_padding=0)(x, augment_rng(3, 1, 7))
    np.testing.assert_array_equal(flip_only, flip_horizontal(x, augment_rng(3, 1, 7).random(9)
                                                                 < 0.5))
    off = Augment(crop_padding=0, flip=False)(x, augment_rng(0, 0, 0))
    np.testing.assert_array_equal(off, x)
    assert not np.shares_memory(off, x)


def test_augmentation_is_a_pure_function_of_seed_epoch_and_batch(rng):
    x = _images(rng, (64, 1, 8, 8))
    augment = Augment(crop_padding=2)
    first = augment(x, augment_rng(0, 2, 5))
    np.testing.assert_array_equal(first, augment(x, augment_rng(0, 2, 5)))
    for other in [(1, 2, 5), (0, 3, 5), (0, 2, 6)]:
        assert not np.array_equal(first, augment(x, augment_rng(*other)))
    shuffle = np.random.default_rng([0, 2])                        # the trainer's shuffle stream
    assert not np.array_equal(shuffle.integers(0, 5, 64), augment_rng(0, 2, 0).integers(0, 5, 64))


def test_every_offset_and_both_flips_happen(rng):
    draws = augment_rng(0, 0, 0)
    top, left = draws.integers(0, 9, size=(2, 4000))
    mask = draws.random(4000) < 0.5
    assert set(top) == set(left) == set(range(9)) and 0.45 < mask.mean() < 0.55


@pytest.mark.parametrize("name, shape, padding, flip", [
    ("cifar10", (3, 32, 32), 4, True),
    ("fashion-mnist", (1, 28, 28), 2, True),
    ("mnist", (1, 28, 28), 2, False),           # a mirrored digit is not a digit
    ("digits", (1, 8, 8), 1, False),
    ("my-photos", (3, 64, 64), 4, True),
])
def test_defaults_per_dataset(name, shape, padding, flip):
    assert Augment.for_dataset(name, shape) == Augment(padding, flip)
    assert Augment.for_dataset(name, shape, crop_padding=0, flip=not flip) == Augment(0, not flip)


def test_augmentation_needs_images():
    with pytest.raises(ConfigError, match=r"augmentation needs images \(C, H, W\); iris has "
                                          r"samples of shape \(4,\)"):
        Augment.for_dataset("iris", (4,))
    with pytest.raises(ConfigError, match="crop_padding must be an integer >= 0"):
        Augment(crop_padding=-1)
    with pytest.raises(ShapeError, match=r"Augment expects images \(N, C, H, W\)"):
        Augment()(np.zeros((3, 4), np.uint8), augment_rng(0, 0, 0))


# -- in the Trainer ---------------------------------------------------------------------------

class _Spy(Augment):
    """An Augment that records the generator state it was given for each batch."""

    def __call__(self, x, rng):
        self.calls.append(rng.bit_generator.state["state"]["state"])
        return super().__call__(x, rng)


def _trainer(seed=0, augment=None, **kwargs):
    rng = np.random.default_rng(seed)
    model = snn.Sequential(Flatten(), Linear(36, 12, rng=rng), ReLU(), Linear(12, 3, rng=rng))
    return snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                       snn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), batch_size=8,
                       seed=seed, augment=augment, **kwargs)


def _data():
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (40, 1, 6, 6), dtype=np.uint8), np.arange(40) % 3


def test_the_trainer_augments_training_batches_only_with_the_batch_generator():
    spy = _Spy(crop_padding=1)
    object.__setattr__(spy, "calls", [])
    trainer = _trainer(seed=4, augment=spy)
    x, y = _data()
    trainer.fit(x, y, epochs=2, validation=(x[:10], y[:10]))
    expected = [augment_rng(4, epoch, i).bit_generator.state["state"]["state"]
                for epoch in range(2) for i in range(5)]
    assert spy.calls == expected                  # 5 batches per epoch, none for validation


def test_augmented_training_is_deterministic_and_differs_from_plain():
    x, y = _data()
    weights = []
    for augment in (Augment(crop_padding=1), Augment(crop_padding=1), None):
        trainer = _trainer(augment=augment)
        trainer.fit(x, y, epochs=2)
        weights.append(trainer.model.state_dict())
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])
    assert any(not np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])


class _Crash(Exception):
    pass


class _CrashAt(snn.train.Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, trainer, *args):
        if trainer.step == self.step:
            raise _Crash


def test_resuming_mid_epoch_with_augmentation_is_bit_identical(tmp_path):
    x, y = _data()
    straight = _trainer(augment=Augment(crop_padding=1))
    straight.fit(x, y, epochs=2)
    crashed = _trainer(augment=Augment(crop_padding=1), checkpoint_dir=tmp_path / "ckpt",
                       checkpoint_every=3, callbacks=[_CrashAt(4)])
    with pytest.raises(_Crash):
        crashed.fit(x, y, epochs=2)                 # dies in epoch 1; saved after step 3
    resumed = _trainer(augment=Augment(crop_padding=1))
    resumed.fit(x, y, epochs=2, resume=tmp_path / "ckpt")
    assert resumed.resumed is not None and resumed.resumed.meta["batch_index"] == 3
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[key], value, err_msg=key)
