"""compat.dlfs: the book's chapter 5 gradient check and chapter 6/7 training loops, transcribed
as the book writes them, run against the adapters; the same loops with scratchnn's native
layers give the same numbers; the book's conventions (non-inverted Dropout, batch norm's running
statistics, Pooling's stride) hold and mutations of them are caught.

The book loads MNIST with load_mnist(normalize=True, one_hot_label=True); these tests use
scikit-learn's 8x8 digits in the same form (64 inputs, pixels in [0, 1], one-hot labels)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import gradcheck, losses, optim
from scratchnn.compat import dlfs
from scratchnn.compat.dlfs import layers as book_layers
from scratchnn.data import load
from scratchnn.layers import BatchNorm1d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential


@pytest.fixture(autouse=True)
def _keep_global_numpy_state():
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture(scope="module")
def digits():
    """(x_train, t_train), (x_test, t_test) as the book's load_mnist(normalize=True,
    one_hot_label=True) returns them: float pixels in [0, 1], one-hot float labels."""
    data = load("digits")
    def prepare(x, y):
        return x.reshape(len(x), -1).astype(np.float64) / 16.0, np.eye(10)[y]
    return prepare(data.x_train, data.y_train), prepare(data.x_test, data.y_test)


def test_chapter5_gradient_check(digits):
    """ch05/gradient_check.py, unchanged but for the data."""
    (x_train, t_train), _ = digits
    np.random.seed(0)
    network = dlfs.TwoLayerNet(input_size=64, hidden_size=50, output_size=10)
    x_batch = x_train[:3]
    t_batch = t_train[:3]
    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)
    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        assert diff < 1e-9, (key, diff)                  # the book prints ~1e-10 .. 1e-13


def native_mlp(network: dlfs.MultiLayerNetExtend) -> Sequential:
    """The same network from scratchnn's own layers, sharing nothing but copied weights."""
    layers = []
    n = network.hidden_layer_num + 1
    for i in range(1, n + 1):
        linear = Linear(*network.params[f"W{i}"].shape)
        linear.weight.data = network.params[f"W{i}"].copy()
        linear.bias.data = network.params[f"b{i}"].copy()
        layers.append(linear)
        if i < n:
            if network.use_batchnorm:
                norm = BatchNorm1d(network.params[f"W{i}"].shape[1], eps=10e-7, momentum=0.1,
                                   dtype=np.float64)
                layers.append(norm)
            layers.append(ReLU())
    return Sequential(*layers)


@pytest.mark.parametrize("optimizer_name, native", [
    ("SGD", lambda ps: optim.SGD(ps, 0.01)),
    ("Momentum", lambda ps: optim.SGD(ps, 0.01, momentum=0.9)),
    ("AdaGrad", lambda ps: optim.AdaGrad(ps, 0.01, eps=1e-7)),
    ("Adam", lambda ps: optim.Adam(ps, 0.001, eps=1e-7)),
])
def test_chapter6_loop_matches_native_layers(digits, optimizer_name, native):
    """ch06/optimizer_compare_mnist.py's loop (MultiLayerNet, weight decay as in
    weight_decay.py), beside the same steps on a native Sequential with the Trainer's pieces."""
    (x_train, t_train), _ = digits
    train_size, batch_size, max_iterations = x_train.shape[0], 32, 40
    np.random.seed(1)
    network = dlfs.MultiLayerNet(input_size=64, hidden_size_list=[30, 30], output_size=10,
                                 weight_decay_lambda=0.1)
    optimizer = getattr(dlfs, optimizer_name)()
    model = native_mlp(network)
    loss_fn = losses.SoftmaxCrossEntropy()
    native_optimizer = native(model.parameters())
    book_losses = []
    for _ in range(max_iterations):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grads = network.gradient(x_batch, t_batch)
        optimizer.update(network.params, grads)
        book_losses.append(network.loss(x_batch, t_batch))
        # the same step, natively
        loss_fn(model(x_batch), t_batch.argmax(axis=1))
        native_optimizer.zero_grad()
        model.backward(loss_fn.backward())
        losses.l2_penalty(losses.weight_matrices(model), 0.1)
        native_optimizer.step()
    linears = [layer for layer in model if isinstance(layer, Linear)]
    for i, linear in enumerate(linears, start=1):
        np.testing.assert_allclose(network.params[f"W{i}"], linear.weight.data, atol=1e-12)
        np.testing.assert_allclose(network.params[f"b{i}"], linear.bias.data, atol=1e-12)
    assert np.mean(book_losses[-5:]) < np.mean(book_losses[:5])


def test_chapter6_batchnorm_loop_matches_native_batchnorm(digits):
    """ch06/batch_norm_test.py's loop: the book's BatchNormalization trains exactly as
    BatchNorm1d(eps=1e-6); its running statistics follow the book's convention (below)."""
    (x_train, t_train), _ = digits
    np.random.seed(2)
    network = dlfs.MultiLayerNetExtend(input_size=64, hidden_size_list=[20, 20], output_size=10,
                                       weight_init_std=0.1, use_batchnorm=True)
    optimizer = dlfs.SGD(lr=0.01)
    model = native_mlp(network)
    loss_fn = losses.SoftmaxCrossEntropy()
    native_optimizer = optim.SGD(model.parameters(), 0.01)
    for _ in range(20):
        batch_mask = np.random.choice(x_train.shape[0], 50)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        grads = network.gradient(x_batch, t_batch)
        optimizer.update(network.params, grads)
        loss_fn(model(x_batch), t_batch.argmax(axis=1))
        native_optimizer.zero_grad()
        model.backward(loss_fn.backward())
        native_optimizer.step()
    norms = [layer for layer in model if isinstance(layer, BatchNorm1d)]
    for i, norm in enumerate(norms, start=1):
        np.testing.assert_allclose(network.params[f"gamma{i}"], norm.weight.data, atol=1e-12)
        book = network.layers[f"BatchNorm{i}"]
        # both means start at 0 and weight the new batch by 0.1: the same running mean
        np.testing.assert_allclose(book.running_mean, norm.running_mean, atol=1e-12)


def test_chapter7_simple_convnet_gradient_check_and_loop(digits):
    """ch07/gradient_check.py (labels shaped (1, 1) as the book passes them) and
    ch07/train_convnet.py's steps, on 8x8 digits."""
    np.random.seed(3)
    network = dlfs.SimpleConvNet(input_dim=(1, 10, 10),
                                 conv_param={"filter_num": 10, "filter_size": 3, "pad": 0,
                                             "stride": 1},
                                 hidden_size=10, output_size=10, weight_init_std=0.01)
    X = np.random.rand(100).reshape((1, 1, 10, 10))
    T = np.array([1]).reshape((1, 1))
    grad_num = network.numerical_gradient(X, T)
    grad = network.gradient(X, T)
    for key, val in grad_num.items():
        # The book prints these differences. Its h = 1e-4 steps across a max-pool or ReLU kink
        # at a coordinate or two (filter 0 here: b1[0] off by 2e-5); those coordinates must
        # agree once the step no longer crosses the kink.
        off = np.abs(grad[key] - val) > 1e-8
        assert off.mean() < 0.15, key
        if off.any():
            finer = gradcheck.numerical_gradient(lambda: network.loss(X, T), network.params[key],
                                                 eps=1e-6)
            np.testing.assert_allclose(finer[off], grad[key][off], atol=1e-8)
    (x_train, t_train), (x_test, t_test) = digits
    x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    np.random.seed(0)    # the loop's weights and batches do not hang on the draws made above
    network = dlfs.SimpleConvNet(input_dim=(1, 8, 8),
                                 conv_param={"filter_num": 8, "filter_size": 3, "pad": 1,
                                             "stride": 1},
                                 hidden_size=50, output_size=10, weight_init_std=0.01)
    native = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(),
                        Linear(128, 50), ReLU(), Linear(50, 10)).to_dtype(np.float64)
    for name, key in [("0.weight", "W1"), ("0.bias", "b1"), ("4.weight", "W2"),
                      ("4.bias", "b2"), ("6.weight", "W3"), ("6.bias", "b3")]:
        native.load_state_dict({**native.state_dict(), name: network.params[key]})
    optimizer, native_optimizer = dlfs.Adam(lr=0.01), optim.Adam(native.parameters(), 0.01,
                                                                  eps=1e-7)
    loss_fn = losses.SoftmaxCrossEntropy()
    before = network.accuracy(x_test, t_test)
    for _ in range(100):
        batch_mask = np.random.choice(x_train.shape[0], 50)
        grads = network.gradient(x_train[batch_mask], t_train[batch_mask])
        optimizer.update(network.params, grads)
        loss_fn(native(x_train[batch_mask]), t_train[batch_mask].argmax(axis=1))
        native_optimizer.zero_grad()
        native.backward(loss_fn.backward())
        native_optimizer.step()
    for key in network.params:                 # assert_allclose takes NaN == NaN
        assert np.isfinite(network.params[key]).all(), key
    np.testing.assert_allclose(network.params["W1"], native.state_dict()["0.weight"], atol=1e-10)
    np.testing.assert_allclose(network.params["W3"], native.state_dict()["6.weight"], atol=1e-10)
    after = network.accuracy(x_test, t_test)
    assert after > max(0.5, before), f"test accuracy {before:.3f} before, {after:.3f} after"


# -- the book's conventions ---------------------------------------------------------------------

def check_book_dropout():
    """Non-inverted: survivors unscaled in training; x * (1 - ratio) at test time."""
    np.random.seed(0)
    x = np.random.rand(200, 300) + 1.0
    layer = dlfs.Dropout(dropout_ratio=0.3)
    out = layer.forward(x, train_flg=True)
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), kept)
    np.testing.assert_allclose(layer.forward(x, train_flg=False), x * 0.7)


def test_dropout_is_the_books_non_inverted_dropout():
    check_book_dropout()


def test_inverted_dropout_mutation_is_caught(monkeypatch):
    """Mutation: the adapter handing out scratchnn's inverted dropout unchanged."""
    from scratchnn.layers import Dropout

    class Inverted:
        def __init__(self, dropout_ratio=0.5):
            self.layer = Dropout(dropout_ratio, rng=np.random.default_rng(0))

        def forward(self, x, train_flg=True):
            self.layer.train(train_flg)
            return self.layer(x)

        def backward(self, dout):
            return self.layer.backward(dout)

    monkeypatch.setattr(dlfs, "Dropout", Inverted)
    with pytest.raises(AssertionError):
        check_book_dropout()


def check_book_batchnorm_statistics():
    rng = np.random.default_rng(0)
    x = 3 * rng.standard_normal((8, 4)) + 2
    layer = dlfs.BatchNormalization(np.ones(4), np.zeros(4))
    layer.forward(x, train_flg=True)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0))    # from zeros
    np.testing.assert_allclose(layer.running_var, 0.1 * x.var(axis=0))      # biased
    out = layer.forward(x, train_flg=False)
    np.testing.assert_allclose(out, (x - layer.running_mean) / np.sqrt(layer.running_var
                                                                       + 10e-7))


def test_batchnorm_keeps_the_books_running_statistics():
    check_book_batchnorm_statistics()


def test_torch_momentum_mutation_is_caught(monkeypatch):
    from scratchnn import functional as F
    original = F.running_average
    monkeypatch.setattr(F, "running_average", lambda r, b, m: original(r, b, 1 - m))
    with pytest.raises(AssertionError):
        check_book_batchnorm_statistics()


def test_batchnorm_on_images_normalises_each_pixel_feature():
    """The book flattens (N, C, H, W) to (N, C*H*W) features (BatchNorm2d works per channel)."""
    x = np.random.default_rng(1).standard_normal((6, 2, 3, 3))
    layer = dlfs.BatchNormalization(np.ones(18), np.zeros(18))
    out = layer.forward(x)
    np.testing.assert_allclose(out.reshape(6, -1).mean(axis=0), 0, atol=1e-12)
    assert layer.backward(np.ones_like(x)).shape == x.shape


def check_book_pooling():
    """The book's Pooling(pool_h, pool_w) slides by 1 unless told otherwise."""
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    out = dlfs.Pooling(2, 2).forward(x)
    assert out.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(out[0, 0], [[5, 6, 7], [9, 10, 11], [13, 14, 15]])
    assert dlfs.Pooling(2, 2, stride=2).forward(x).shape == (1, 2, 2, 2)


def test_pooling_default_stride_is_the_books():
    check_book_pooling()


def test_window_stride_mutation_is_caught(monkeypatch):
    original = book_layers.Pooling
    monkeypatch.setattr(dlfs, "Pooling", lambda h, w, stride=None, pad=0:
                        original(h, w, h if stride is None else stride, pad))
    with pytest.raises(AssertionError):
        check_book_pooling()


def test_affine_flattens_and_restores_the_input_shape():
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    layer = dlfs.Affine(W, b)
    x = rng.standard_normal((4, 3, 2, 2))
    np.testing.assert_allclose(layer.forward(x), x.reshape(4, 12) @ W + b)
    dout = rng.standard_normal((4, 5))
    assert layer.backward(dout).shape == x.shape
    np.testing.assert_allclose(layer.dW, x.reshape(4, 12).T @ dout)


def test_relu_backward_leaves_dout_alone():
    layer = dlfs.Relu()
    layer.forward(np.array([[-1.0, 2.0]]))
    dout = np.array([[3.0, 4.0]])
    np.testing.assert_array_equal(layer.backward(dout), [[0.0, 4.0]])
    np.testing.assert_array_equal(dout, [[3.0, 4.0]])        # the book's writes into it


def test_softmax_with_loss_takes_labels_or_one_hot():
    x = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    a, b = dlfs.SoftmaxWithLoss(), dlfs.SoftmaxWithLoss()
    assert a.forward(x, np.array([1, 2])) == pytest.approx(b.forward(x, np.eye(3)[[1, 2]]))
    np.testing.assert_allclose(a.backward(), b.backward())
