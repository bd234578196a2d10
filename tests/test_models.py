"""models.build dispatches on the PRESETS table (not on a preset's parameter names); presets are
snake_case functions, the course's CamelCase names aliases of them."""

from __future__ import annotations

import pytest

from scratchnn import models
from scratchnn.errors import ConfigError


@pytest.mark.parametrize("flat, received", [(True, 12), (False, (3, 2, 2))])
def test_build_gives_the_input_the_table_says(monkeypatch, rng, flat, received):
    seen = []

    def preset(anything, output_size, *, width=1, rng=None):   # first parameter's name: free
        seen.append(anything)
        return models.multi_layer_net(12, (width,), output_size, rng=rng)

    monkeypatch.setitem(models.PRESETS, "mine", models.Preset(preset, flat=flat))
    model = models.build("mine", (3, 2, 2), 4, rng=rng, width=5)
    assert seen == [received] and model[1].out_features == 5
    with pytest.raises(ConfigError, match="model 'mine' has no option 'anything'"):
        models.build("mine", 12, 4, rng=rng, anything=3)


def test_unknown_models_suggest_the_nearest_and_list_the_valid_ones(rng):
    with pytest.raises(ConfigError, match=r"unknown model 'mpl' \(did you mean 'mlp'\?\); "
                                          r"valid: mlp, two-layer-net"):
        models.build("mpl", 4, 2, rng=rng)


def test_the_course_names_are_aliases_of_the_presets():
    assert models.TwoLayerNet is models.two_layer_net
    assert models.MultiLayerNet is models.multi_layer_net
    assert models.ThreeLayerConvNet is models.three_layer_convnet
    assert models.SimpleConvNet is models.simple_convnet
    assert models.ConvNet is models.convnet
    assert all(p.function.__name__.islower() for p in models.PRESETS.values())


def test_options_are_the_presets_named_arguments():
    assert models.options("mlp") == ["hidden_sizes", "activation", "weight_init", "batchnorm",
                                     "dropout"]
    assert "input_shape" not in models.options("cnn") and "rng" not in models.options("cnn")
