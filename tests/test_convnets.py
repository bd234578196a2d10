"""The convolutional presets: their architectures, models.build from an input shape, whole-model
gradient checks, model files, the filter image, and one training run through run_training."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import gradcheck, models
from scratchnn.errors import ConfigError
from scratchnn.layers import BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.train.modelfile import load_model, save_model
from scratchnn.viz.filters import plot_filters

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONV_PRESETS = ["three-layer-convnet", "simple-convnet", "cnn"]


def layer_types(model):
    return [type(layer) for layer in model]


@pytest.mark.parametrize("name", CONV_PRESETS)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_conv_presets_build_from_an_image_shape_and_run_forward_and_backward(name, shape, rng):
    model = models.build(name, shape, 7, rng=rng)
    x = rng.standard_normal((2, *shape)).astype(np.float32)
    scores = model(x)
    assert scores.shape == (2, 7) and scores.dtype == np.float32
    dx = model.backward(np.ones_like(scores))
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert all(p.grad is not None for p in model.parameters())


def test_simple_convnet_is_dlfs_chapter_7s_network(rng):
    model = models.SimpleConvNet((1, 28, 28), rng=rng)
    assert layer_types(model) == [Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU, Linear]
    assert model[0].weight.shape == (30, 1, 5, 5)
    assert (model[4].in_features, model[4].out_features) == (30 * 12 * 12, 100)


def test_three_layer_convnet_is_cs231ns_network(rng):
    model = models.ThreeLayerConvNet((3, 32, 32), rng=rng)
    assert layer_types(model) == [Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU, Linear]
    assert model[0].weight.shape == (32, 3, 7, 7) and model[0].padding == (3, 3)
    assert (model[4].in_features, model[4].out_features) == (32 * 16 * 16, 100)


def test_cnn_is_three_batchnorm_conv_blocks_and_a_classifier_without_dropout(rng):
    model = models.build("cnn", (1, 28, 28), 10, rng=rng)
    block = [Conv2d, BatchNorm2d, ReLU, MaxPool2d]
    assert layer_types(model) == block * 3 + [Flatten, Linear, ReLU, Linear]
    assert [model[i].weight.shape for i in (0, 4, 8)] == [(24, 1, 3, 3), (64, 24, 3, 3),
                                                          (192, 64, 3, 3)]
    assert model[0].bias is None                 # batch norm's beta does its job
    assert (model[13].in_features, model[13].out_features) == (192 * 3 * 3, 256)
    assert layer_types(models.build("cnn", (1, 28, 28), 10, rng=rng, dropout=0.3))[15] is Dropout


def test_cnn_channels_are_an_option_the_previous_preset_is_one_flag_away(rng):
    from scratchnn.cli import _parser
    from scratchnn.cli_train import _train_config

    config = _train_config(_parser().parse_args(["train", "--model", "cnn",
                                                 "--channels", "32,64,128"]))
    assert config.model_options() == {"channels": (32, 64, 128)}
    model = models.build("cnn", (1, 28, 28), 10, rng=rng, **config.model_options())
    assert [model[i].weight.shape[0] for i in (0, 4, 8)] == [32, 64, 128]
    assert model[13].in_features == 128 * 3 * 3


def test_the_two_block_network_of_the_speed_benchmark(rng):
    model = models.ConvNet((1, 28, 28), rng=rng)
    block = [Conv2d, BatchNorm2d, ReLU, MaxPool2d]
    assert layer_types(model) == block * 2 + [Flatten, Linear, ReLU, Dropout, Linear]
    assert (model[9].in_features, model[9].out_features) == (64 * 7 * 7, 128)


@pytest.mark.parametrize("argv, epochs, optimizer, augment", [
    (["train", "--model", "cnn"], 21, "adamw", True),        # the preset's own defaults
    (["train", "--model", "cnn", "--epochs", "3", "--optimizer", "adam", "--no-augment"],
     3, "adam", False),                                      # flags win
    (["train", "--model", "mlp"], 20, "adam", False),        # TrainConfig's defaults
])
def test_scratchnn_train_uses_the_presets_training_defaults_unless_told_otherwise(
        argv, epochs, optimizer, augment):
    from scratchnn.cli import _parser
    from scratchnn.cli_train import _train_config

    config = _train_config(_parser().parse_args(argv))
    assert (config.epochs, config.optimizer, config.augment) == (epochs, optimizer, augment)


def test_a_config_file_setting_epochs_wins_over_the_presets_default(tmp_path):
    from scratchnn.cli import _parser
    from scratchnn.cli_train import _train_config

    for text, epochs in (('model = "cnn"\nepochs = 5\n', 5), ('model = "cnn"\n', 21)):
        (tmp_path / "c.toml").write_text(text)
        args = _parser().parse_args(["train", "--config", str(tmp_path / "c.toml")])
        assert _train_config(args).epochs == epochs


def test_build_gives_mlps_the_flattened_size_and_refuses_flat_input_for_conv_presets(rng):
    assert models.build("mlp", (1, 28, 28), 10, rng=rng)[1].in_features == 784
    assert models.build("two-layer-net", 64, 10, rng=rng)[1].in_features == 64
    with pytest.raises(ConfigError, match=r"\(C, H, W\)"):
        models.build("simple-convnet", 784, 10, rng=rng)
    with pytest.raises(ConfigError, match="unknown model"):
        models.build("convnet", (1, 28, 28), 10, rng=rng)


SMALL = [
    ("simple-convnet", (1, 10, 10), dict(filter_num=3, hidden_size=6)),
    ("three-layer-convnet", (2, 8, 7), dict(num_filters=3, filter_size=3, hidden_dim=5)),
    ("cnn", (1, 8, 8), dict(hidden_sizes=(6,))),
]


@pytest.mark.parametrize("name, shape, options", SMALL, ids=[s[0] for s in SMALL])
def test_small_conv_presets_pass_a_whole_model_gradient_check(name, shape, options, rng):
    model = models.build(name, shape, 4, rng=rng, **options)
    x, y = rng.standard_normal((3, *shape)), rng.integers(0, 4, 3)
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y, max_checks=20, rng=rng)
    assert report.ok, report.table()
    assert sum(row.checked for row in report.rows) > 0.8 * sum(
        row.checked + row.kinks for row in report.rows)          # kinks are the exception


def test_whole_model_gradcheck_of_a_convnet_catches_a_broken_conv_backward(monkeypatch, rng):
    original = F.conv2d_backward
    monkeypatch.setattr(F, "conv2d_backward", lambda dout, cache, input_grad=True: tuple(
        None if g is None else 1.001 * g for g in original(dout, cache, input_grad)))
    name, shape, options = SMALL[0]
    model = models.build(name, shape, 4, rng=rng, **options)
    x, y = rng.standard_normal((3, *shape)), rng.integers(0, 4, 3)
    report = gradcheck.check_model(model, SoftmaxCrossEntropy(), x, y, max_checks=20, rng=rng)
    assert report.ok is False and report.max_rel_error > 100 * gradcheck.TOLERANCE


def test_a_conv_model_file_round_trips(tmp_path, rng):
    model = models.build("cnn", (1, 12, 12), 3, rng=rng, hidden_sizes=(8,))
    model.eval()
    x = rng.standard_normal((4, 1, 12, 12)).astype(np.float32)
    save_model(tmp_path / "model.npz", model, {
        "model": "cnn", "model_options": models.resolved_options("cnn", {"hidden_sizes": (8,)}),
        "input_size": 144, "output_size": 3, "input_shape": [1, 12, 12]})
    loaded, meta = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded(x), model(x))


def test_plot_filters_draws_conv_filters_and_dense_templates(tmp_path, rng):
    conv = models.build("simple-convnet", (1, 28, 28), 10, rng=rng)
    assert plot_filters(conv, tmp_path / "conv.png", (1, 28, 28))
    assert (tmp_path / "conv.png").read_bytes()[:8] == PNG_SIGNATURE
    rgb = models.build("three-layer-convnet", (3, 32, 32), 10, rng=rng)
    assert plot_filters(rgb, tmp_path / "rgb.png", (3, 32, 32))
    mlp = models.build("mlp", (1, 28, 28), 10, rng=rng)
    assert plot_filters(mlp, tmp_path / "mlp.png", (1, 28, 28))
    flat = models.build("mlp", 20, 10, rng=rng)
    assert not plot_filters(flat, tmp_path / "flat.png", (20,))
    assert not (tmp_path / "flat.png").exists()


def test_training_a_convnet_writes_its_filters_and_learns_digits(tmp_path):
    from scratchnn.train.config import TrainConfig
    from scratchnn.train.run import run_training

    run = run_training(TrainConfig(dataset="digits", model="simple-convnet", epochs=2,
                                   out=str(tmp_path / "run")), progress=False)
    assert (run.directory / "plots" / "filters.png").read_bytes()[:8] == PNG_SIGNATURE
    model, meta = load_model(run.directory / "model.npz")
    assert meta["input_shape"] == [1, 8, 8] and isinstance(model[0], Conv2d)
    assert run.test["accuracy"] > 0.4           # chance is 0.1 (8 epochs reach ~0.85)


def test_a_convnet_trains_step_for_step_like_torch(rng, torch):
    """End to end in float64: the same weights, batches and Adam give the same losses and
    weights as torch for several steps (conv, batch norm, ReLU, max-pool, flatten, affine)."""
    from scratchnn import optim

    model = models.ConvNet((1, 8, 8), (3, 4), (6,), 5, dropout=0.0, rng=rng).to_dtype(np.float64)
    nn = torch.nn
    ref = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1, bias=False),
                        nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(16, 6), nn.ReLU(), nn.Linear(6, 5)).double()
    with torch.no_grad():
        for ours, theirs in zip(model, ref, strict=True):
            for p in ours.parameters():      # Linear weights are stored transposed in torch
                data = p.data.T if isinstance(ours, Linear) and p.name == "weight" else p.data
                getattr(theirs, p.name).copy_(torch.from_numpy(np.ascontiguousarray(data)))
    loss_fn, optimizer = SoftmaxCrossEntropy(), optim.Adam(model.parameters(), lr=1e-2)
    ref_optimizer = torch.optim.Adam(ref.parameters(), lr=1e-2)
    for _ in range(5):
        x, y = rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 5, 6)
        loss = loss_fn.forward(model(x), y)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        ref_optimizer.zero_grad()
        ref_loss = nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
        ref_loss.backward()
        ref_optimizer.step()
        assert loss == pytest.approx(ref_loss.item(), rel=1e-9)
    np.testing.assert_allclose(model[4].weight.data, ref[4].weight.detach().numpy(), rtol=1e-7,
                               atol=1e-9)
