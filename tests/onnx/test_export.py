"""export: onnxruntime's outputs equal our eval-mode forward (float32, to 1e-5) for every
preset, every layer and random architectures, at batch sizes 1 and 37."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnn as snn
from scratchnn import layers as L
from scratchnn.data.transforms import Scale, Standardize, SubtractMeanImage
from scratchnn.errors import ConfigError
from scratchnn.functional.losses import softmax

onnx = pytest.importorskip("onnx")
TOL = {"rtol": 1e-5, "atol": 1e-5}
BATCHES = (1, 37)


def randomise(model: snn.Layer, rng: np.random.Generator) -> snn.Layer:
    """Non-trivial batch-norm statistics and affine parameters (fresh ones are 0 and 1)."""
    for layer in model.modules():
        if hasattr(layer, "running_mean"):
            layer.running_mean = rng.normal(0, 0.5, layer.running_mean.shape).astype(np.float32)
            layer.running_var = rng.uniform(0.5, 2, layer.running_var.shape).astype(np.float32)
        if isinstance(layer, L.BatchNorm1d | L.BatchNorm2d | L.LayerNorm | L.GroupNorm):
            layer.weight.data = rng.uniform(0.5, 1.5, layer.weight.data.shape).astype(np.float32)
            layer.bias.data = rng.normal(0, 0.5, layer.bias.data.shape).astype(np.float32)
        if getattr(layer, "bias", None) is not None and isinstance(layer, L.Linear | L.Conv2d):
            layer.bias.data = rng.normal(0, 0.1, layer.bias.data.shape).astype(np.float32)
    return model


def assert_matches(model, path, x, run_onnx, model_input=None):
    outputs = run_onnx(path, x)
    model.eval()
    expected = model.forward(x if model_input is None else model_input)
    np.testing.assert_allclose(outputs["logits"], expected, **TOL)
    np.testing.assert_allclose(outputs["probabilities"], softmax(expected.astype(np.float64)),
                               **TOL)


SHAPES = {"mlp": (1, 28, 28), "two-layer-net": (1, 8, 8), "multi-layer-net": (3, 8, 8),
          "three-layer-convnet": (3, 16, 16), "simple-convnet": (1, 28, 28), "cnn": (1, 28, 28)}


def test_every_preset_has_a_shape_here():
    assert SHAPES.keys() == snn.models.PRESETS.keys()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_preset_matches_onnxruntime(name, tmp_path, run_onnx, rng):
    model = randomise(snn.models.build(name, SHAPES[name], 10, rng=rng), rng)
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=SHAPES[name])
    for n in BATCHES:
        assert_matches(model, path, rng.standard_normal((n, *SHAPES[name]), np.float32),
                       run_onnx)


@pytest.mark.parametrize("preprocess", [
    Standardize((0.29,), (0.35,)), Standardize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3)), Scale(),
    "mean_image", None])
def test_preprocessing_is_folded_in_so_uint8_pixels_go_in(preprocess, tmp_path, run_onnx, rng):
    shape = (3, 8, 8) if isinstance(preprocess, Standardize) and len(preprocess.mean) == 3 \
        else (1, 8, 8)
    pixels = rng.integers(0, 256, (37, *shape), dtype=np.uint8)
    if preprocess == "mean_image":
        preprocess = SubtractMeanImage.fit(pixels)
    model = randomise(snn.models.build("simple-convnet", shape, 4, rng=rng, filter_size=3), rng)
    pixel_max = 255 if preprocess is None else None
    if preprocess is None:          # a model for 0-255 inputs: weights on that scale
        model[0].weight.data /= 255
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=shape, preprocess=preprocess,
                           pixel_max=pixel_max)
    prepared = preprocess(pixels) if preprocess is not None else pixels.astype(np.float32)
    for n in BATCHES:
        assert_matches(model, path, pixels[:n], run_onnx, prepared[:n])


def test_pixel_scale_of_digits_is_applied_as_predict_does(tmp_path, run_onnx, rng):
    """Digits hold 0-16: 0-255 pixels are scaled by 16/255 before the preprocessing."""
    pixels = rng.integers(0, 256, (5, 1, 8, 8), dtype=np.uint8)
    standardize = Standardize((0.02,), (0.025,))
    model = randomise(snn.models.build("mlp", (1, 8, 8), 10, rng=rng), rng)
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(1, 8, 8),
                           preprocess=standardize, pixel_max=16)
    scaled = pixels.astype(np.float32) * np.float32(16 / 255)
    assert_matches(model, path, pixels, run_onnx, standardize(scaled))


def every_layer(rng) -> snn.Sequential:
    return snn.Sequential(
        L.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=(1, 0), rng=rng), L.BatchNorm2d(4),
        L.LeakyReLU(0.2), L.MaxPool2d(3, 1, padding=1), L.Conv2d(4, 6, 3, bias=False, rng=rng),
        L.GroupNorm(3, 6), L.Tanh(), L.AvgPool2d(2, 1, padding=1), L.LayerNorm((5, 3)),
        L.Sigmoid(), L.Dropout(0.25), L.GlobalAvgPool2d(), L.Flatten(), L.BatchNorm1d(6),
        L.Linear(6, 5, rng=rng), L.ReLU(), L.Linear(5, 3, bias=False, rng=rng))


def test_every_layer_matches_onnxruntime(tmp_path, run_onnx, rng):
    model = randomise(every_layer(rng), rng)
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(2, 6, 8))
    for n in BATCHES:
        assert_matches(model, path, rng.standard_normal((n, 2, 6, 8), np.float32), run_onnx)
    exported = {type(layer) for layer in model.modules()} - {snn.Sequential}
    assert exported == set(snn.onnx.layer_ops.EXPORTERS), "a layer type is not tested here"


def test_the_file_is_checked_named_and_carries_the_class_names(tmp_path, rng):
    model = snn.models.build("mlp", (1, 4, 4), 3, rng=rng, hidden_sizes=(5,))
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(1, 4, 4),
                           preprocess=Scale(), classes=["cat", "dog", "emu"], opset=13)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 13
    (x,) = proto.graph.input
    assert x.name == "pixels" and x.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    for value in (x, *proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["classes"]) == ["cat", "dog", "emu"]


def test_export_refuses_what_it_cannot_write(tmp_path, rng):
    class Square(L.ReLU):
        pass

    with pytest.raises(ConfigError, match="Square"):
        snn.onnx.export(snn.Sequential(Square()), tmp_path / "a.onnx", input_shape=(3,))
    with pytest.raises(ConfigError, match="opset"):
        snn.onnx.export(snn.Sequential(L.Linear(3, 2)), tmp_path / "a.onnx", input_shape=(3,),
                        opset=9)
    with pytest.raises(ConfigError, match="opset 17"):
        snn.onnx.export(snn.Sequential(L.LayerNorm(3)), tmp_path / "a.onnx", input_shape=(3,),
                        opset=16)
    with pytest.raises(ConfigError, match="2 class names for a model of 3 outputs"):
        snn.onnx.export(snn.Sequential(L.Linear(4, 3)), tmp_path / "a.onnx", input_shape=(4,),
                        classes=["a", "b"])
    with pytest.raises(ConfigError, match=r"\(N, classes\)"):
        snn.onnx.export(snn.Sequential(L.ReLU()), tmp_path / "a.onnx", input_shape=(1, 2, 2))
    assert not (tmp_path / "a.onnx").exists()


# -- random architectures --------------------------------------------------------------------

@st.composite
def architectures(draw):
    """(model, input shape (C, H, W)): 0-2 conv blocks of random settings, then a dense head."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    channels, size = draw(st.integers(1, 3)), draw(st.integers(6, 10))
    input_shape = (channels, size, size)
    layers = []
    for _ in range(draw(st.integers(0, 2))):
        out, kernel, stride = draw(st.integers(1, 4)), draw(st.integers(1, min(3, size))), \
            draw(st.integers(1, 2))
        padding = draw(st.integers(0, kernel // 2))
        layers.append(L.Conv2d(channels, out, kernel, stride, padding,
                               bias=draw(st.booleans()), rng=rng))
        channels, size = out, (size + 2 * padding - kernel) // stride + 1
        layers += [conv_extra(name, channels) for name in draw(st.lists(st.sampled_from(
            ["bn", "relu", "leaky", "tanh", "sigmoid", "group"]), max_size=2))]
        if size >= 2 and draw(st.booleans()):
            kernel, stride = draw(st.integers(1, 2)), draw(st.integers(1, 2))
            layers.append(draw(st.sampled_from([L.MaxPool2d, L.AvgPool2d]))(kernel, stride))
            size = (size - kernel) // stride + 1
    if layers and draw(st.booleans()):
        layers.append(L.GlobalAvgPool2d())
        features = channels
    else:
        layers.append(L.Flatten())
        features = channels * size * size
    for _ in range(draw(st.integers(0, 2))):
        out = draw(st.integers(1, 8))
        layers.append(L.Linear(features, out, bias=draw(st.booleans()), rng=rng))
        features = out
        layers += [dense_extra(name, features) for name in draw(st.lists(st.sampled_from(
            ["bn", "relu", "leaky", "tanh", "sigmoid", "dropout", "layer"]), max_size=2))]
    layers.append(L.Linear(features, draw(st.integers(1, 5)), rng=rng))
    return randomise(snn.Sequential(*layers), rng), input_shape


def conv_extra(name: str, channels: int) -> L.Layer:
    return {"bn": lambda: L.BatchNorm2d(channels), "relu": L.ReLU,
            "leaky": lambda: L.LeakyReLU(0.1), "tanh": L.Tanh, "sigmoid": L.Sigmoid,
            "group": lambda: L.GroupNorm(1, channels)}[name]()


def dense_extra(name: str, features: int) -> L.Layer:
    return {"bn": lambda: L.BatchNorm1d(features), "relu": L.ReLU,
            "leaky": lambda: L.LeakyReLU(0.3), "tanh": L.Tanh, "sigmoid": L.Sigmoid,
            "dropout": lambda: L.Dropout(0.5), "layer": lambda: L.LayerNorm(features)}[name]()


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(architecture=architectures())
def test_random_architectures_match_onnxruntime(architecture, tmp_path, run_onnx):
    model, shape = architecture
    path = snn.onnx.export(model, tmp_path / "random.onnx", input_shape=shape)
    rng = np.random.default_rng(0)
    for n in BATCHES:
        assert_matches(model, path, rng.standard_normal((n, *shape), np.float32), run_onnx)
    if not any(isinstance(layer, L.GroupNorm) for layer in model):
        # the file reads back bit for bit (GroupNorm is exported as 5 nodes load does not join)
        assert_same_weights(model, snn.onnx.load(path))


def assert_same_weights(model: snn.Layer, loaded: snn.Layer) -> None:
    """Export then import gives back the same layers and state, bit for bit."""
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert theirs[key].dtype == value.dtype and theirs[key].tobytes() == value.tobytes(), key
