"""Trainer behaviour: one visit per sample per epoch with (x, y) kept together, determinism,
history, the L2 option, early stopping, keep-best and divergence."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.layers import Linear, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.models import MultiLayerNet
from scratchnn.optim import SGD, Adam
from scratchnn.train import Callback, EarlyStopping, Trainer


class Recorder(Linear):
    """A Linear layer that records every training batch it sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.copy())
        return super().forward(x)


def labelled_points(n: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """x[i] = (i, label) so a batch shows which samples it holds and whether labels match."""
    y = np.arange(n) % classes
    return np.stack([np.arange(n), y], axis=1).astype(np.float32), y


@pytest.mark.parametrize("n, batch_size", [(103, 10), (64, 16), (5, 128)])
def test_every_sample_once_per_epoch_with_its_own_label(n, batch_size, rng):
    x, y = labelled_points(n, 3)
    recorder = Recorder(2, 3, rng=rng)
    trainer = Trainer(snn.Sequential(recorder), SoftmaxCrossEntropy(),
                      SGD(recorder.parameters(), lr=0.0), batch_size=batch_size, seed=7)
    trainer.fit(x, y, epochs=3)
    per_epoch = int(np.ceil(n / batch_size))
    assert len(recorder.seen) == 3 * per_epoch
    orders = []
    for epoch in range(3):
        batches = recorder.seen[epoch * per_epoch:(epoch + 1) * per_epoch]
        ids = np.concatenate([b[:, 0] for b in batches]).astype(int)
        assert sorted(ids) == list(range(n))                    # each sample exactly once
        orders.append(ids)
    for batch in recorder.seen:                                  # labels travel with inputs
        np.testing.assert_array_equal(batch[:, 1], batch[:, 0] % 3)
    if n > 5:
        assert not np.array_equal(orders[0], orders[1])          # a fresh order each epoch


def tiny_problem(rng, n=200):
    x = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    y = (x.reshape(n, -1)[:, :8].mean(axis=1) > 127).astype(np.int64)
    return x, y


def train_once(seed: int, epochs: int = 2) -> snn.Sequential:
    rng = np.random.default_rng(seed)
    x, y = tiny_problem(np.random.default_rng(99))
    model = MultiLayerNet(16, (12, 12), 2, batchnorm=True, dropout=0.3, rng=rng)
    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-2),
                      batch_size=32, seed=seed)
    trainer.fit(x, y, epochs=epochs, validation=(x[:50], y[:50]))
    return model


def test_same_seed_gives_bit_identical_weights():
    a, b = train_once(3).state_dict(), train_once(3).state_dict()
    c = train_once(4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_history_on_a_model_that_memorises_its_training_set(rng):
    x, y = tiny_problem(rng, n=64)
    model = MultiLayerNet(16, (64,), 2, rng=rng)
    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-2),
                      batch_size=16, keep_best=False)
    history = trainer.fit(x, y, epochs=30, validation=(x, y))
    assert len(history) == 30 and len(history.steps) == 30 * 4
    assert history[-1]["val_acc"] == 1.0 and history[-1]["train_acc"] > 0.95
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    # the recorded step losses are the ones of the batches in that epoch, before their update
    assert np.isclose(np.mean(history.steps[-4:]), history[-1]["train_loss"])


def test_l2_reg_adds_the_course_term_to_weight_matrices_only(rng):
    x, y = rng.standard_normal((8, 5)).astype(np.float32), rng.integers(0, 3, 8)
    plain = snn.Sequential(Linear(5, 4, rng=rng), ReLU(), Linear(4, 3, rng=rng))
    decayed = snn.Sequential(Linear(5, 4), ReLU(), Linear(4, 3))
    decayed.load_state_dict(plain.state_dict())
    losses = []
    for model, reg in ((plain, 0.0), (decayed, 0.1)):
        trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0),
                          l2_reg=reg)
        losses.append(trainer.train_step(x, y)[0])
    weights = [plain.state_dict()[k] for k in ("0.weight", "2.weight")]
    expected = 0.05 * sum(float(np.sum(w.astype(np.float64) ** 2)) for w in weights)
    assert losses[1] - losses[0] == pytest.approx(expected, rel=1e-5)
    for name in ("0.weight", "2.weight"):
        p_plain = dict(plain.named_parameters())[name]
        p_decayed = dict(decayed.named_parameters())[name]
        np.testing.assert_allclose(p_decayed.grad, p_plain.grad + 0.1 * p_plain.data, rtol=1e-6)
    np.testing.assert_array_equal(dict(decayed.named_parameters())["0.bias"].grad,
                                  dict(plain.named_parameters())["0.bias"].grad)


def test_l2_reg_matches_torch_with_the_penalty_written_out(rng):
    """Three SGD steps with l2_reg against torch with reg/2 * sum ||W||^2 added to its loss."""
    torch = pytest.importorskip("torch")
    x, y = rng.standard_normal((16, 6)), rng.integers(0, 3, 16)
    model = snn.Sequential(Linear(6, 5, rng=rng), ReLU(), Linear(5, 3, rng=rng))
    model.to_dtype(np.float64)
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for i in (0, 2):                               # torch stores (out, in): transpose
            ref[i].weight.copy_(torch.from_numpy(model[i].weight.data.T))
            ref[i].bias.copy_(torch.from_numpy(model[i].bias.data))
    ref.double()
    reg, lr = 0.3, 0.1
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr), l2_reg=reg)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(3):
        loss, _ = trainer.train_step(x, y)
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref(xt), yt)
        ref_loss = ref_loss + reg / 2 * sum((ref[i].weight ** 2).sum() for i in (0, 2))
        ref_loss.backward()
        ref_opt.step()
        assert loss == pytest.approx(ref_loss.item(), rel=1e-12)
        for i in (0, 2):
            np.testing.assert_allclose(model[i].weight.data, ref[i].weight.detach().numpy().T,
                                       rtol=1e-12)
            np.testing.assert_allclose(model[i].bias.data, ref[i].bias.detach().numpy(),
                                       rtol=1e-12)


def test_the_model_attribute_weight_decay_is_ignored(rng):
    """The L2 term is an explicit Trainer option; a `weight_decay` on the model does nothing."""
    x, y = rng.standard_normal((8, 5)).astype(np.float32), rng.integers(0, 3, 8)
    model = snn.Sequential(Linear(5, 3, rng=rng))
    plain_loss = SoftmaxCrossEntropy().forward(model.forward(x), y)
    model.weight_decay = 10.0
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0))
    assert trainer.train_step(x, y)[0] == pytest.approx(plain_loss, rel=1e-6)
    with pytest.raises(snn.ConfigError, match="l2_reg"):
        Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0), l2_reg=-1.0)


def test_early_stopping_ends_training(rng):
    x, y = tiny_problem(rng, n=64)
    model = MultiLayerNet(16, (8,), 2, rng=rng)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0),
                      callbacks=[EarlyStopping(patience=2)])
    history = trainer.fit(x, y, epochs=50, validation=(x, y))
    assert len(history) == 3          # epoch 1 sets the best; 2 and 3 do not improve on it


def test_keep_best_restores_the_best_validation_weights(rng):
    x, y = tiny_problem(rng, n=64)
    model = MultiLayerNet(16, (16,), 2, rng=rng)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, metrics):
            snapshots.append({k: v.copy() for k, v in trainer.model.state_dict().items()})

    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                      callbacks=[Snapshot()], batch_size=8)
    history = trainer.fit(x, y, epochs=8, validation=(x[:20], y[:20]))
    best = int(np.argmax(history.column("val_acc")))       # the first epoch with the best value
    final = model.state_dict()
    assert all(np.array_equal(final[k], snapshots[best][k]) for k in final)


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_divergence_stops_with_a_message(rng):
    x, y = tiny_problem(rng, n=64)
    model = MultiLayerNet(16, (16,), 2, rng=rng)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=1e30))
    with pytest.raises(snn.ScratchnnError, match="diverged"):
        trainer.fit(x, y, epochs=3)


def test_bad_arguments_are_clear_errors(rng):
    model = MultiLayerNet(16, (4,), 2, rng=rng)
    with pytest.raises(snn.ConfigError, match="batch size"):
        Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), batch_size=0)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1))
    x, y = tiny_problem(rng, n=10)
    with pytest.raises(snn.ConfigError, match="epochs"):
        trainer.fit(x, y, epochs=0)
    with pytest.raises(snn.ShapeError, match="empty"):
        trainer.fit(x[:0], y[:0], epochs=1)
    with pytest.raises(snn.ShapeError, match="10 vs 9"):
        trainer.fit(x, y[:9], epochs=1)


def test_training_skips_the_data_gradient_and_the_model_is_unchanged_afterwards(rng,
                                                                                  monkeypatch):
    """The first Linear after Flatten computes no dx while training (the data needs none);
    after fit its backward returns dx as always."""
    from scratchnn import functional as F

    x, y = rng.standard_normal((40, 1, 2, 2)).astype(np.float32), rng.integers(0, 3, 40)
    model = MultiLayerNet(4, (8,), 3, rng=rng)
    first = model[1]
    calls = []
    original = F.linear_backward

    def spy(dout, cache, input_grad=True):
        calls.append((cache[1] is first.weight.data, input_grad))
        return original(dout, cache, input_grad)

    monkeypatch.setattr(F, "linear_backward", spy)
    Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters()), batch_size=10).fit(x, y, 1)
    assert isinstance(first, Linear)
    assert [grad for is_first, grad in calls if is_first] == [False] * 4
    assert all(grad for is_first, grad in calls if not is_first)
    model.forward(x.reshape(40, 4)[:5].reshape(5, 1, 2, 2))
    dx = model.backward(np.ones((5, 3), np.float32))
    assert dx.shape == (5, 1, 2, 2) and np.isfinite(dx).all()


class HandWrittenAffine(snn.Layer):
    """A layer written as a user would: forward and backward, nothing else."""

    def __init__(self, w: np.ndarray) -> None:
        super().__init__()
        self.w = snn.Parameter(w, "w")

    def forward(self, x):
        self.x = x
        return x @ self.w.data

    def backward(self, dout):
        self.w.accumulate(self.x.T @ dout)
        return dout @ self.w.data.T


def test_a_hand_written_layer_trains_inside_a_sequential(rng):
    """First or in the middle, a layer with only forward/backward trains like Linear does."""
    x, y = tiny_problem(rng, n=64)
    x = x.reshape(64, -1).astype(np.float32) / 255
    w1 = rng.standard_normal((16, 8)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((8, 2)).astype(np.float32) * 0.3
    reference = snn.Sequential(Linear(16, 8, bias=False), ReLU(), Linear(8, 2, bias=False))
    reference[0].weight.data, reference[2].weight.data = w1.copy(), w2.copy()
    ours = snn.Sequential(HandWrittenAffine(w1.copy()), ReLU(), HandWrittenAffine(w2.copy()))
    for model in (reference, ours):
        Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.5), batch_size=16,
                preprocess=lambda b: b).fit(x, y, epochs=3)
    for a, b in zip(reference.parameters(), ours.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours[0].w.data, w1)          # it did train


def test_a_custom_batch_order_drives_the_same_step(rng):
    """batches=: the trainer trains on exactly the batches given, in order, with its guard."""
    x, y = labelled_points(12, 3)
    recorder = Recorder(2, 3, rng=rng)
    order = [np.array([0, 1]), np.array([5, 4, 3]), np.array([11])]
    trainer = Trainer(snn.Sequential(recorder), SoftmaxCrossEntropy(),
                      SGD(recorder.parameters(), lr=0.0),
                      batches=lambda xs, ys, epoch: [(xs[i], ys[i]) for i in order])
    history = trainer.fit(x, y, epochs=2)
    assert [b[:, 0].astype(int).tolist() for b in recorder.seen] == [[0, 1], [5, 4, 3], [11]] * 2
    assert trainer.steps_per_epoch == 3 and len(history.steps) == 6
