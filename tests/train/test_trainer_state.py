"""The one snapshot (scratchnn.snapshot.ModelState) and the Trainer's own state: state_dict() /
load_state_dict() round trip, refusals change nothing, and any stored preprocessing comes back."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.data.transforms import Scale, Standardize, SubtractMeanImage, from_dict
from scratchnn.errors import ConfigError
from scratchnn.layers import BatchNorm1d, Dropout, Flatten, Linear, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.optim import Adam
from scratchnn.snapshot import ModelState, freeze, generators
from scratchnn.train import Trainer
from scratchnn.train.checkpoint import load_checkpoint


def model(seed=0, shared=None):
    rng = np.random.default_rng(seed)
    shared = shared or np.random.default_rng(seed + 1)
    return snn.Sequential(Flatten(), Linear(16, 8, rng=rng), BatchNorm1d(8), ReLU(),
                          Dropout(0.3, rng=shared), Dropout(0.2, rng=shared), Linear(8, 3, rng=rng))


def data(n=64):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    return x, (x.reshape(n, -1)[:, :3].sum(axis=1) % 3).astype(np.int64)


def trainer_for(net, **kwargs):
    return Trainer(net, SoftmaxCrossEntropy(), Adam(net.parameters(), lr=1e-2), batch_size=16,
                   seed=2, **kwargs)


# -- snapshot -----------------------------------------------------------------------------------

def test_model_state_restores_parameters_buffers_and_shared_generators_in_place():
    net = model()
    state = ModelState(net, parameters=True)
    assert state.owners == [["4", "rng", 0], ["5", "rng", 0]]          # one generator, twice
    saved = state.save()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    x = np.random.default_rng(3).standard_normal((5, 1, 4, 4)).astype(np.float32)
    first = net.forward(x)                                               # BN stats, dropout
    for p in net.parameters():
        p.data += 1
    state.restore(saved)
    assert all(np.array_equal(net.state_dict()[k], v) for k, v in before.items())
    assert net[4].rng is net[5].rng                                      # rewound, not replaced
    np.testing.assert_array_equal(net.forward(x), first)                 # the same masks again


def test_freeze_leaves_parameters_alone_and_a_model_without_children_works():
    net = model()
    restore = freeze(net)
    net[1].weight.data[0, 0] = 42.0
    net.forward(np.ones((4, 1, 4, 4), np.float32))
    restore()
    assert net[1].weight.data[0, 0] == 42.0                              # parameters not frozen
    assert np.array_equal(net[2].running_mean, np.zeros(8))
    layer = Dropout(0.5, rng=np.random.default_rng(1))
    assert [(p, a) for p, a, _ in generators(layer)] == [("", "rng")]


def test_generator_states_of_another_sharing_or_kind_are_refused():
    state = ModelState(model())
    saved = state.generator_states()
    with pytest.raises(ValueError, match="do not match"):
        state.check_generator_states(saved, [["4", "rng", 0], ["5", "rng", 1]])
    other = np.random.Generator(np.random.MT19937(1)).bit_generator.state
    with pytest.raises(ValueError, match="not a PCG64"):
        state.check_generator_states([other], state.owners)
    state.check_generator_states(saved, state.owners)                    # its own: fine


# -- Trainer.state_dict / load_state_dict -------------------------------------------------------

def test_a_new_trainer_loaded_with_the_state_continues_bit_identically():
    x, y = data()
    straight = trainer_for(model())
    straight.fit(x, y, 4)
    first = trainer_for(model())
    first.fit(x, y, 2)
    second = trainer_for(model(seed=5))                   # other initial weights: overwritten
    second.data_fingerprint = first.data_fingerprint
    second.steps_per_epoch = first.steps_per_epoch
    second.load_state_dict(first.state_dict())
    assert second.preprocess == first.preprocess and isinstance(second.preprocess, Standardize)
    second.fit(x, y, 4)
    for key, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[key], value)
    assert second.history.steps == straight.history.steps and second.step == straight.step
    assert len(first.history) == 2 and first.step == 8                  # nothing shared


@pytest.mark.parametrize("change, message", [
    (dict(seed=3), "seed 3, this trainer has 2"),
    (dict(optimizer_class="SGD"), "written by SGD"),
    (dict(model={"1.weight": np.zeros((16, 8))}), "does not fit this model"),
    (dict(generators={"states": [], "owners": []}), "random generators"),
])
def test_a_state_that_does_not_fit_is_refused_and_nothing_changes(change, message):
    x, y = data()
    source = trainer_for(model())
    source.fit(x, y, 1)
    target = trainer_for(model(seed=9))
    target.steps_per_epoch = source.steps_per_epoch
    before = {k: v.copy() for k, v in target.model.state_dict().items()}
    with pytest.raises(ConfigError, match=message):
        target.load_state_dict({**source.state_dict(), **change})
    assert all(np.array_equal(target.model.state_dict()[k], v) for k, v in before.items())
    assert target.step == 0 and target.optimizer.state_dict() == Adam(
        target.model.parameters(), lr=1e-2).state_dict()


@pytest.mark.parametrize("preprocess", [
    Scale(), Standardize((0.25,), (0.5,)),
    SubtractMeanImage(np.arange(16, dtype=np.float32).reshape(1, 4, 4))])
def test_every_kind_of_preprocessing_comes_back_from_a_checkpoint(tmp_path, preprocess):
    x, y = data()
    trainer = trainer_for(model(), preprocess=preprocess, checkpoint_dir=tmp_path)
    trainer.fit(x, y, 1)
    fresh = trainer_for(model())                          # no preprocessing given
    fresh.fit(x, y, 1, resume=tmp_path)                   # nothing left to train: restores
    assert type(fresh.preprocess) is type(preprocess)
    np.testing.assert_array_equal(fresh.preprocess(x[:3]), preprocess(x[:3]))
    assert load_checkpoint(tmp_path).meta["preprocess"]["type"] == type(preprocess).__name__


def test_a_stored_preprocessing_of_unknown_kind_or_without_its_state_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown preprocessing 'whiten'; known: standardize"):
        from_dict({"kind": "whiten"})
    with pytest.raises(ConfigError, match="malformed mean_image preprocessing state"):
        from_dict({"kind": "mean_image"})
    with pytest.raises(ConfigError, match="malformed standardize preprocessing state"):
        from_dict({"mean": [0.5]})


def test_the_snapshot_and_gradcheck_depend_on_numpy_only():
    import ast
    import sys

    import scratchnn.gradcheck
    import scratchnn.snapshot

    for module in (scratchnn.snapshot, scratchnn.gradcheck):
        tree = ast.parse(open(module.__file__).read())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        outside = {n for n in names if n.split(".")[0] not in sys.stdlib_module_names}
        assert outside <= {"numpy", "scratchnn.snapshot"}, (module.__name__, outside)
