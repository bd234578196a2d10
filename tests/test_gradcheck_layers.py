"""gradcheck.check_layers: every layer of a model at its own input, ties in a max-pool handled as
the kinks they are (no special input for pools), and a wrong backward named by its layer."""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.layer import Sequential
from scratchnn.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU


def tied_convnet(rng) -> Sequential:
    """conv - ReLU - max-pool - affine, the conv's bias pushed down so that most ReLU outputs
    are 0 and many pool windows tie."""
    conv = Conv2d(1, 2, 3, padding=1, rng=rng)
    conv.bias.data[:] = -1.0
    return Sequential(conv, ReLU(), MaxPool2d(2), Flatten(), Linear(2 * 3 * 3, 4, rng=rng))


def test_every_layer_agrees_and_pool_ties_are_skipped_as_kinks(rng):
    model = tied_convnet(rng)
    x = rng.standard_normal((3, 1, 6, 6))
    reports = gradcheck.check_layers(model, x, max_checks=None, rng=rng)
    assert [name for name, _, _ in reports] == ["0", "1", "2", "3", "4"]
    assert [type(layer) for _, layer, _ in reports] == [type(m) for m in model]
    for name, _, report in reports:
        assert report.ok, f"layer {name}\n{report.table()}"
    pool_input = next(row for row in reports[2][2].rows if row.name == "input")
    assert pool_input.kinks > 0 and pool_input.checked > 0


def test_a_wrong_pool_backward_fails_at_the_pool(monkeypatch, rng):
    original = F.maxpool2d_backward
    monkeypatch.setattr(F, "maxpool2d_backward", lambda dout, cache: original(dout, cache) * 1.001)
    model = tied_convnet(rng)
    reports = gradcheck.check_layers(model, rng.standard_normal((3, 1, 6, 6)), rng=rng)
    assert [name for name, _, report in reports if not report.ok] == ["2"]


def test_the_callers_model_is_left_unchanged(rng):
    model = tied_convnet(rng)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    gradcheck.check_layers(model, rng.standard_normal((2, 1, 6, 6)), rng=rng)
    assert all(v.dtype == np.float32 for v in model.state_dict().values())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
