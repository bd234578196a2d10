"""The optimizer experiment's promise, checked by watching what every Trainer is given (not by
reading the experiment's code): each optimizer starts from identical weights and is fed
identical batches in the same order; and that this check fails when the promise is broken."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from scratchnn.experiments import optimizers
from scratchnn.layer import Layer
from scratchnn.train.trainer import Trainer

TINY = {"dataset": "digits", "iterations": 6, "batch_size": 16, "hidden_sizes": (8, 8),
        "test_samples": 50}


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class Recorder:
    """Wraps Trainer.train_step: per trainer, its optimizer, its weights before the first step,
    the batches it was given, and its weights after the last step."""

    def __init__(self) -> None:
        self.calls: dict[int, dict] = {}

    def install(self, monkeypatch) -> None:
        original = Trainer.train_step
        recorder = self

        def train_step(trainer, x, y):
            seen = recorder.calls.setdefault(id(trainer), {
                "optimizer": (type(trainer.optimizer).__name__,
                              getattr(trainer.optimizer, "momentum", None),
                              getattr(trainer.optimizer, "nesterov", None)),
                "initial": digest(*(p.data for p in trainer.model.parameters())),
                "batches": []})
            seen["batches"].append(digest(x, y))
            result = original(trainer, x, y)
            seen["final"] = digest(*(p.data for p in trainer.model.parameters()))
            return result

        monkeypatch.setattr(Trainer, "train_step", train_step)


def record(monkeypatch, tmp_path) -> list[dict]:
    recorder = Recorder()
    recorder.install(monkeypatch)
    optimizers.run(tmp_path / "out", **TINY)
    return list(recorder.calls.values())


def assert_same_start_and_batches(runs: list[dict]) -> None:
    assert len({r["initial"] for r in runs}) == 1, "initial weights differ between optimizers"
    assert len({tuple(r["batches"]) for r in runs}) == 1, "batches differ between optimizers"


def test_every_optimizer_gets_the_same_weights_and_batches(monkeypatch, tmp_path):
    runs = record(monkeypatch, tmp_path)
    assert len(runs) == len(optimizers.OPTIMIZERS) == 6             # one trainer each
    assert len({r["optimizer"] for r in runs}) == 6                  # six different rules
    assert all(len(r["batches"]) == TINY["iterations"] for r in runs)
    assert_same_start_and_batches(runs)
    assert len(set(runs[0]["batches"])) == TINY["iterations"]      # not one batch repeated
    assert len({r["final"] for r in runs}) == 6                      # six separate models


def test_the_check_catches_different_initial_weights(monkeypatch, tmp_path):
    monkeypatch.setattr(Layer, "load_state_dict", lambda self, state: None)   # keep own init
    runs = record(monkeypatch, tmp_path)
    with pytest.raises(AssertionError, match="initial weights differ"):
        assert_same_start_and_batches(runs)


def test_the_check_catches_different_batches(monkeypatch, tmp_path):
    from scratchnn.experiments import common

    original = common.train_iterations

    def shuffled(trainer, data, schedule):                      # a fresh order per optimizer
        rng = np.random.default_rng(id(trainer) % 2**32)
        return original(trainer, data, [schedule[i] for i in rng.permutation(len(schedule))])

    monkeypatch.setattr(optimizers, "train_iterations", shuffled)
    runs = record(monkeypatch, tmp_path)
    with pytest.raises(AssertionError, match="batches differ"):
        assert_same_start_and_batches(runs)
