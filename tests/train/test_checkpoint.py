"""Checkpoints: round trip, exact resume (mid-epoch too), atomic writes, checksums, fallback to
the previous file, generators restored in place with their sharing, mismatches refused, Ctrl-C."""

from __future__ import annotations

import json
import signal
import zipfile

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.layers import Dropout, Linear, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.optim import SGD, Adam, make_schedule
from scratchnn.train import Callback, EarlyStopping, Trainer
from scratchnn.train import checkpoint as checkpoints
from scratchnn.train.checkpoint import (
    LATEST,
    PREVIOUS,
    load_checkpoint,
    read_checkpoint_file,
    restore_checkpoint,
)
from scratchnn.train.interrupt import TrainingInterrupted
from scratchnn.train.modelfile import save_model
from scratchnn.train.storage import META_KEY, checksum

# these tests send SIGINT to this process (the fixture is in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("ctrl_c_enabled")


def problem(n=300, seed=99):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    y = (x.reshape(n, -1)[:, :8].mean(axis=1) > 127).astype(np.int64)
    return x, y


def make_trainer(directory=None, *, every=0, callbacks=(), batch_size=32, optimizer=Adam,
                 seed=3):
    """The same model, optimizer, schedule and callbacks each time: batch norm, dropout (one
    generator shared by both Dropout layers and the initialisation), cosine, early stopping."""
    model = MultiLayerNet(16, (12, 12), 2, batchnorm=True, dropout=0.3,
                          rng=np.random.default_rng(5))
    opt = optimizer(model.parameters(), lr=1e-2) if optimizer is Adam else \
        optimizer(model.parameters(), lr=0.05, momentum=0.9)
    return Trainer(model, SoftmaxCrossEntropy(), opt, batch_size=batch_size, seed=seed,
                   schedule=make_schedule("cosine", 1e-2, 4), checkpoint_dir=directory,
                   checkpoint_every=every, callbacks=[EarlyStopping(10), *callbacks])


def fit(trainer, epochs=4, **kwargs):
    x, y = problem()
    return trainer.fit(x, y, epochs, validation=(x[:50], y[:50]), **kwargs)


def assert_same_state(a: Trainer, b: Trainer) -> None:
    for name, (sa, sb) in {"model": (a.model.state_dict(), b.model.state_dict()),
                           "optimizer": (a.optimizer.state_dict(), b.optimizer.state_dict())
                           }.items():
        assert sa.keys() == sb.keys(), name
        for key in sa:
            assert np.array_equal(sa[key], sb[key]), f"{name} {key}"
    assert a.history.steps == b.history.steps
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in a.history.epochs]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"}
                     for row in b.history.epochs]
    assert (a.epoch, a.step, a.batch_index) == (b.epoch, b.step, b.batch_index)


class InterruptAt(Callback):
    """Sends this process SIGINT (Ctrl-C) after `step` steps."""

    def __init__(self, *steps):
        self.steps = steps

    def on_batch_end(self, trainer, *args):
        if trainer.step in self.steps:
            signal.raise_signal(signal.SIGINT)


@pytest.fixture(scope="module")
def reference():
    trainer = make_trainer()
    fit(trainer)
    return trainer


# -- resume -------------------------------------------------------------------------------------

@pytest.mark.parametrize("stop_after", [13, 10, 20, 37])   # mid-epoch, and on epoch boundaries
def test_ctrl_c_then_resume_in_a_new_trainer_is_bit_identical(tmp_path, reference, stop_after):
    first = make_trainer(tmp_path, callbacks=[InterruptAt(stop_after)])
    with pytest.raises(TrainingInterrupted) as info:
        fit(first)
    assert info.value.checkpoint == tmp_path and f"after step {stop_after}" in str(info.value)
    assert first.step == stop_after                           # the step in progress finished
    assert load_checkpoint(tmp_path).meta["step"] == stop_after
    second = make_trainer()                                   # as a new process would
    fit(second, resume=tmp_path)
    assert second.checkpoint_dir == tmp_path                  # checkpoints continue there
    assert_same_state(second, reference)


def test_periodic_checkpoints_resume_exactly_from_each_one(tmp_path, reference):
    trainer = make_trainer(tmp_path / "run", every=7)
    saved = []

    class Keep(Callback):     # a copy of every checkpoint file as it is written
        def on_batch_end(self, t, *args):
            if t.last_checkpoint and t.last_checkpoint[0] not in [s for s, _ in saved]:
                copy = tmp_path / f"at-{t.last_checkpoint[0]}.npz"
                copy.write_bytes(t.last_checkpoint[1].read_bytes())
                saved.append((t.last_checkpoint[0], copy))

    trainer.callbacks.append(Keep())
    fit(trainer)
    assert_same_state(trainer, reference)
    assert [s for s, _ in saved][:3] == [7, 10, 14]          # every 7 steps and after epoch 1
    for step, path in saved[::3]:
        resumed = make_trainer(tmp_path / f"again-{step}")
        fit(resumed, resume=path)
        assert_same_state(resumed, reference)


def test_resume_restores_early_stopping_and_best_weights(tmp_path):
    def trainer_with(directory=None, callbacks=()):
        t = make_trainer(directory, callbacks=callbacks)
        t.callbacks[0] = EarlyStopping(patience=1)
        return t

    plain = trainer_with()
    fit(plain, epochs=12)
    stopped = len(plain.history)
    assert stopped < 12                                       # early stopping did stop it
    first = trainer_with(tmp_path, [InterruptAt(10 * (stopped - 1) + 3)])
    with pytest.raises(TrainingInterrupted):
        fit(first, epochs=12)
    second = trainer_with()
    fit(second, epochs=12, resume=tmp_path)
    assert len(second.history) == stopped
    assert_same_state(second, plain)                          # incl. the restored best weights


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path):
    class Twice(Callback):
        def on_batch_end(self, trainer, *args):
            if trainer.step == 12:
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)

    trainer = make_trainer(tmp_path, every=5, callbacks=[Twice()])
    with pytest.raises(KeyboardInterrupt) as info:
        fit(trainer)
    assert not isinstance(info.value, TrainingInterrupted)
    assert load_checkpoint(tmp_path).meta["step"] == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handler restored


def test_without_a_checkpoint_dir_ctrl_c_stops_cleanly_and_fit_continues(reference):
    trainer = make_trainer(callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted) as info:
        fit(trainer)
    assert info.value.checkpoint is None
    trainer.callbacks.pop()
    fit(trainer)                                  # the same trainer carries on from step 13
    assert_same_state(trainer, reference)


# -- the file -----------------------------------------------------------------------------------

def test_round_trip_of_everything_saved(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    found = load_checkpoint(tmp_path)
    assert found.path == tmp_path / LATEST and found.note == ""
    state = trainer.model.state_dict()
    assert found.section("model").keys() == state.keys()
    assert all(np.array_equal(found.section("model")[k], v) for k, v in state.items())
    assert found.section("optimizer").keys() == trainer.optimizer.state_dict().keys()
    assert found.arrays["history/steps"].tolist() == trainer.history.steps
    meta = found.meta
    assert (meta["epoch"], meta["step"], meta["batch_index"]) == (1, 13, 3)
    assert meta["totals"] == trainer.totals and meta["history"]["epochs"][0]["epoch"] == 1
    assert meta["callbacks"][0] == ["EarlyStopping", trainer.callbacks[0].state_dict()]
    assert meta["preprocess"]["type"] == "Standardize"
    assert meta["data"]["samples"] == 300 and len(meta["data"]["sha256"]) == 64
    with np.load(found.path, allow_pickle=False) as archive:       # no pickle anywhere
        assert all(archive[k].dtype != object for k in archive.files)
    assert json.loads(str(np.load(found.path)[META_KEY]))["format"] == "scratchnn-checkpoint"


def test_generators_are_restored_in_place_keeping_their_sharing(tmp_path):
    shared, own = np.random.default_rng(1), np.random.default_rng(2)
    model = snn.Sequential(Linear(4, 4, rng=shared), Dropout(0.5, rng=shared), ReLU(),
                           Dropout(0.5, rng=own), Dropout(0.5, rng=shared), Linear(4, 2))
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1))
    trainer.save_checkpoint(tmp_path)
    expected = [shared.random(3), own.random(3)]               # what comes next
    shared.random(100), own.random(7)                          # move both on
    restore_checkpoint(trainer, load_checkpoint(tmp_path))
    assert model[1].rng is shared and model[4].rng is shared and model[3].rng is own
    np.testing.assert_array_equal(shared.random(3), expected[0])
    np.testing.assert_array_equal(own.random(3), expected[1])
    saved = load_checkpoint(tmp_path).meta["generators"]
    assert saved["owners"] == [["1", "rng", 0], ["3", "rng", 1], ["4", "rng", 0]]
    assert len(saved["states"]) == 2                           # each distinct generator once


def test_a_model_whose_generators_are_shared_differently_is_refused(tmp_path):
    shared = np.random.default_rng(1)
    a = snn.Sequential(Dropout(0.5, rng=shared), Dropout(0.5, rng=shared), Linear(4, 2))
    Trainer(a, SoftmaxCrossEntropy(), SGD(a.parameters(), lr=0.1)).save_checkpoint(tmp_path)
    b = snn.Sequential(Dropout(0.5, rng=np.random.default_rng(1)),
                       Dropout(0.5, rng=np.random.default_rng(1)), Linear(4, 2))
    with pytest.raises(snn.ConfigError, match="generators"):
        restore_checkpoint(Trainer(b, SoftmaxCrossEntropy(), SGD(b.parameters(), lr=0.1)),
                           load_checkpoint(tmp_path))


def test_other_generator_types_round_trip(tmp_path):
    for bit_generator in (np.random.MT19937, np.random.Philox, np.random.SFC64):
        generator = np.random.Generator(bit_generator(7))
        model = snn.Sequential(Dropout(0.5, rng=generator), Linear(3, 2))
        trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1))
        trainer.save_checkpoint(tmp_path)
        expected = generator.random(4)
        restore_checkpoint(trainer, load_checkpoint(tmp_path))
        np.testing.assert_array_equal(generator.random(4), expected)


def test_a_failed_write_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path,
                                                                             monkeypatch):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    before = (tmp_path / LATEST).read_bytes()
    real_savez = np.savez

    def savez_then_fail(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="No space"):
        trainer.save_checkpoint()
    monkeypatch.setattr(np, "savez", real_savez)
    assert (tmp_path / LATEST).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [LATEST, PREVIOUS]


def test_a_stale_temporary_file_is_ignored_and_replaced(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    (tmp_path / f"{LATEST}.tmp").write_bytes(b"PK\x03\x04 what a SIGKILL left")
    assert load_checkpoint(tmp_path).meta["step"] == 13
    trainer.save_checkpoint()
    assert not (tmp_path / f"{LATEST}.tmp").exists()


def rewrite(path, change):
    """Rewrite a checkpoint with change(arrays, meta) applied and its old sha256 kept."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop(META_KEY)))
    change(arrays, meta)
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{META_KEY: np.array(json.dumps(meta))})


def test_checksum_mismatch_is_detected_and_the_previous_file_used(tmp_path):
    trainer = make_trainer(tmp_path, every=5, callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)

    def nudge(arrays, meta):
        arrays["model/1.weight"] = arrays["model/1.weight"] + np.float32(1e-6)

    rewrite(tmp_path / LATEST, nudge)               # a valid zip, but not what was saved
    with pytest.raises(snn.DataError, match="checksum mismatch"):
        read_checkpoint_file(tmp_path / LATEST)
    found = load_checkpoint(tmp_path)
    assert found.path == tmp_path / PREVIOUS and found.meta["step"] == 10
    assert "checksum mismatch" in found.note and "previous.npz" in found.note

    rewrite(tmp_path / PREVIOUS, lambda arrays, meta: meta.update(step=11))   # metadata too
    with pytest.raises(snn.DataError, match="checksum mismatch") as info:
        load_checkpoint(tmp_path)
    assert "\n" not in str(info.value)


def test_flipped_bytes_and_truncation_are_caught(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    good = (tmp_path / LATEST).read_bytes()
    arrays, meta = read_checkpoint_file(tmp_path / LATEST)
    rng = np.random.default_rng(0)
    caught = 0
    for position in rng.integers(0, len(good), 40):
        damaged = bytearray(good)
        damaged[position] ^= 0x55
        (tmp_path / "bad.npz").write_bytes(bytes(damaged))
        try:
            got_arrays, got_meta = read_checkpoint_file(tmp_path / "bad.npz")
        except snn.DataError:
            caught += 1
            continue
        # a byte the zip format does not check (a timestamp): the content must be intact
        assert got_meta == meta and got_arrays.keys() == arrays.keys()
        assert all(np.array_equal(got_arrays[k], arrays[k]) for k in arrays)
    assert caught >= 30
    (tmp_path / "bad.npz").write_bytes(good[: len(good) // 3])
    with pytest.raises(snn.DataError, match="not a readable checkpoint"):
        read_checkpoint_file(tmp_path / "bad.npz")


def test_newer_versions_and_other_files_are_refused(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(3)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)

    def newer(arrays, meta):
        meta["version"] = checkpoints.VERSION + 1
        meta.pop("sha256")
        meta["sha256"] = checksum(arrays, meta)

    rewrite(tmp_path / LATEST, newer)
    with pytest.raises(snn.DataError, match="newer than this scratchnn reads"):
        read_checkpoint_file(tmp_path / LATEST)
    model_file = tmp_path / "model.npz"
    save_model(model_file, trainer.model, {"model": "mlp"})
    with pytest.raises(snn.DataError, match="a model file"):
        read_checkpoint_file(model_file)
    with pytest.raises(snn.DataError, match="no checkpoint found"):
        load_checkpoint(tmp_path / "nothing-here")


@pytest.mark.parametrize("change, message", [
    (dict(batch_size=16), "batch_size 32"),
    (dict(seed=4), "seed 3"),
    (dict(optimizer=SGD), "written by Adam"),
])
def test_a_differently_configured_trainer_is_refused(tmp_path, change, message):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(3)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    other = make_trainer(**change)
    with pytest.raises(snn.ConfigError, match=message):
        fit(other, resume=tmp_path)


def test_other_data_or_another_model_is_refused(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(3)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    x, y = problem(seed=1)
    with pytest.raises(snn.ConfigError, match="other data"):
        make_trainer().fit(x, y, 4, resume=tmp_path)
    wider = MultiLayerNet(16, (13, 12), 2, batchnorm=True, dropout=0.3,
                          rng=np.random.default_rng(5))
    other = Trainer(wider, SoftmaxCrossEntropy(), Adam(wider.parameters()), batch_size=32,
                    seed=3)
    with pytest.raises(snn.ConfigError, match="does not fit this model"):
        fit(other, resume=tmp_path)


def test_checkpoint_files_are_valid_zip_archives_of_npy_members(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[InterruptAt(3)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    with zipfile.ZipFile(tmp_path / LATEST) as archive:
        assert archive.testzip() is None
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_the_progress_bar_is_closed_when_training_stops(tmp_path):
    import io

    from scratchnn.train import ProgressBar

    progress = ProgressBar(file=io.StringIO())
    trainer = make_trainer(tmp_path, callbacks=[progress, InterruptAt(13)])
    with pytest.raises(TrainingInterrupted):
        fit(trainer)
    assert progress.bar.disable                    # closed: the message starts a clean line
