"""Weight decay has torch.optim's meaning end to end: `scratchnn train --optimizer adamw
--weight-decay 0.1` trains exactly as torch.optim.AdamW(weight_decay=0.1), `--optimizer adam` as
torch.optim.Adam(weight_decay=0.1); the course-style L2 term is only --l2-reg."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import models
from scratchnn.cli import _parser
from scratchnn.cli_train import _train_config
from scratchnn.errors import ConfigError
from scratchnn.train.config import TrainConfig
from scratchnn.train.run import make_trainer

torch = pytest.importorskip("torch")

STEPS = 50


def config_of(*flags: str) -> TrainConfig:
    """The settings `scratchnn train FLAGS` trains with (the real flag -> config path)."""
    return _train_config(_parser().parse_args(["train", *flags]))


def small_mlp(seed: int = 0):
    """multi_layer_net 6-8-8-3 in float64, and the same network in torch."""
    model = models.multi_layer_net(6, (8, 8), 3, rng=np.random.default_rng(seed))
    model.to_dtype(np.float64)
    linears = [layer for layer in model if hasattr(layer, "weight")]
    ref = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for ours, theirs in zip(linears, ref[::2], strict=True):
            theirs.weight.copy_(torch.from_numpy(ours.weight.data.T))   # ours: (in, out)
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    return model, ref


def batches(seed: int = 1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((16, 6)), rng.integers(0, 3, 16)) for _ in range(STEPS)]


def train_ours(config: TrainConfig) -> list[np.ndarray]:
    model, _ = small_mlp()
    trainer = make_trainer(config, model)
    for x, y in batches():
        trainer.train_step(x, y)
    return [layer.weight.data for layer in model if hasattr(layer, "weight")]


def train_torch(optimizer: str, lr: float, weight_decay: float) -> list[np.ndarray]:
    _, ref = small_mlp()
    opt = getattr(torch.optim, optimizer)(ref.parameters(), lr=lr, weight_decay=weight_decay)
    for x, y in batches():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    return [layer.weight.detach().numpy().T for layer in ref[::2]]


@pytest.mark.parametrize("name, torch_name", [("adamw", "AdamW"), ("adam", "Adam")])
def test_weight_decay_flag_trains_as_torch_optim(name, torch_name):
    config = config_of("--optimizer", name, "--weight-decay", "0.1", "--lr", "0.01",
                       "--schedule", "constant")
    ours, theirs = train_ours(config), train_torch(torch_name, 0.01, 0.1)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_the_old_double_decay_would_fail_that_comparison():
    """0.1 as an L2 term on top of AdamW's default 0.01 (what --weight-decay 0.1 used to do)."""
    old = config_of("--optimizer", "adamw", "--l2-reg", "0.1", "--lr", "0.01",
                    "--schedule", "constant")
    ours, theirs = train_ours(old), train_torch("AdamW", 0.01, 0.1)
    assert max(np.max(np.abs(a - b)) for a, b in zip(ours, theirs, strict=True)) > 1e-3


@pytest.mark.parametrize("flags, weight_decay, l2_reg", [
    (["--optimizer", "adamw"], 0.01, 0.0),              # unset: the optimizer's own default
    (["--optimizer", "adam"], 0.0, 0.0),
    (["--optimizer", "sgd", "--weight-decay", "0.05"], 0.05, 0.0),
    (["--optimizer", "adamw", "--weight-decay", "0"], 0.0, 0.0),
    (["--optimizer", "adamw", "--l2-reg", "0.2"], 0.01, 0.2),
])
def test_weight_decay_reaches_the_optimizer_and_l2_reg_the_trainer(flags, weight_decay, l2_reg):
    model, _ = small_mlp()
    trainer = make_trainer(config_of(*flags), model)
    assert trainer.optimizer.weight_decay == weight_decay
    assert trainer.l2_reg == l2_reg


def test_an_old_config_file_with_weight_decay_loads_with_the_optimizer_meaning(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('dataset = "digits"\noptimizer = "adam"\nweight_decay = 0.1\n')
    config = _train_config(_parser().parse_args(["train", "--config", str(path)]))
    model, _ = small_mlp()
    trainer = make_trainer(config, model)
    assert (trainer.optimizer.weight_decay, trainer.l2_reg) == (0.1, 0.0)


def test_no_preset_has_a_weight_decay_option():
    for name in models.PRESETS:
        assert "weight_decay" not in models.options(name)
    with pytest.raises(ConfigError, match="model 'mlp' has no option 'weight_decay'"):
        models.build("mlp", 16, 3, rng=np.random.default_rng(0), weight_decay=0.1)
    assert not hasattr(models.mlp(16, 3), "weight_decay")


def test_a_model_file_storing_the_old_weight_decay_option_still_loads(tmp_path):
    from scratchnn.train.modelfile import load_model, save_model

    model = models.build("mlp", (1, 4, 4), 3, rng=np.random.default_rng(0), hidden_sizes=(5,))
    meta = {"model": "mlp", "model_options": {"hidden_sizes": [5], "weight_decay": 0.1},
            "input_size": 16, "output_size": 3, "input_shape": [1, 4, 4],
            "classes": ["a", "b", "c"]}
    save_model(tmp_path / "model.npz", model, meta)      # as scratchnn 0.1 wrote it
    loaded, _ = load_model(tmp_path / "model.npz")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)
