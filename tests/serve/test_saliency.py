"""The saliency map is the gradient of the winning class score with respect to the raw pixels:
checked against centred differences of the eval-mode model in float64, through batch norm and
dropout (which the eval-mode twin must turn into what they are in eval mode)."""

from __future__ import annotations

import numpy as np

from scratchnn import Sequential
from scratchnn.data.transforms import Scale, Standardize, SubtractMeanImage
from scratchnn.gradcheck import numerical_gradient, rel_error
from scratchnn.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    Tanh,
)
from scratchnn.serve.saliency import eval_twin, pixel_slope, saliency

SHAPE = (2, 6, 6)


def tiny_model(rng) -> Sequential:
    """Conv - BN2d - Tanh - pool - Linear - BN1d - Tanh - Dropout - Linear, float64, eval mode,
    with running statistics far from 0 and 1."""
    model = Sequential(Conv2d(2, 3, 3, padding=1, rng=rng), BatchNorm2d(3), Tanh(),
                       AvgPool2d(2), Flatten(), Linear(27, 8, rng=rng), BatchNorm1d(8), Tanh(),
                       Dropout(0.5, rng=rng), Linear(8, 4, rng=rng)).to_dtype(np.float64)
    for norm in (model[1], model[6]):
        c = norm.num_features
        norm.running_mean = rng.normal(0, 0.5, c)
        norm.running_var = rng.uniform(0.3, 3, c)
        norm.weight.data = rng.uniform(0.5, 2, c)
        norm.bias.data = rng.normal(0, 0.5, c)
    return model.eval()


def prepare64(x: np.ndarray) -> np.ndarray:
    """Standardize with mean 0.3, std 0.2, written out in float64."""
    return (x / 255 - 0.3) / 0.2


def test_eval_twin_computes_the_eval_forward_in_train_mode_and_leaves_the_model_alone():
    rng = np.random.default_rng(0)
    model = tiny_model(rng)
    x = rng.normal(size=(5, *SHAPE))
    twin = eval_twin(model)
    assert twin.training and not model.training
    np.testing.assert_allclose(twin.forward(x), model.forward(x), rtol=1e-12, atol=1e-12)
    assert isinstance(model[1], BatchNorm2d) and isinstance(model[6], BatchNorm1d)
    assert model[8].p == 0.5


def test_saliency_equals_the_numerical_gradient_of_the_winning_score():
    rng = np.random.default_rng(1)
    model = tiny_model(rng)
    x = rng.uniform(0, 255, (1, *SHAPE))
    winner = int(model.forward(prepare64(x)).argmax())
    gradient = saliency(eval_twin(model), prepare64, x, winner)
    assert gradient.shape == SHAPE

    def winning_score():
        return model.forward(prepare64(x))[0, winner]

    numeric = numerical_gradient(winning_score, x, eps=1e-3)[0]
    assert rel_error(gradient, numeric) < 1e-6       # the project's gradcheck bar
    other = (winner + 1) % 4                 # the gradient of another class is another map
    assert rel_error(saliency(eval_twin(model), prepare64, x, other), numeric) > 1e-2


def test_pixel_slope_of_every_preprocessing():
    shape = (3, 4, 4)
    standardize = Standardize(mean=(0.5, 0.4, 0.3), std=(0.25, 0.2, 0.1))
    expected = 1 / (255 * np.array([0.25, 0.2, 0.1]))[:, None, None] * np.ones(shape)
    np.testing.assert_allclose(pixel_slope(standardize, shape)[0], expected, rtol=1e-6)
    np.testing.assert_allclose(pixel_slope(Scale(), shape), 1 / 255, rtol=1e-6)
    mean_image = SubtractMeanImage(np.random.default_rng(2).uniform(0, 255, shape)
                                   .astype(np.float32))
    np.testing.assert_allclose(pixel_slope(mean_image, shape), 1, rtol=1e-6)
