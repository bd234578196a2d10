"""Models trained in PyTorch, exported with torch.onnx.export and read by snn.onnx.load: the
forward and the input gradient equal torch's (float32, to 1e-5), and our Trainer improves them.

torch.onnx.export runs offline with the TorchScript exporter (dynamo=False), kept in its
training-mode-preserving form so batch norm stays a BatchNormalization node (in eval mode both
exporters fold it into the convolution); the MLP also goes through the dynamo exporter
(onnxscript), which writes a Reshape instead of Flatten.
Data: the first 2000 training and 1000 test images of Fashion-MNIST.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import layers as L
from scratchnn.data.transforms import Standardize

pytest.importorskip("onnx")
TOL = {"rtol": 1e-5, "atol": 1e-5}
N_TRAIN, N_TEST = 2000, 1000


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread(torch):
    """Tiny models: one thread is many times faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fashion():
    data = snn.data.load("fashion-mnist")
    x, y = data.x_train[:N_TRAIN], data.y_train[:N_TRAIN]
    return x, y, data.x_test[:N_TEST], data.y_test[:N_TEST], Standardize.fit(x)


def torch_mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def torch_cnn(torch):
    nn = torch.nn

    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, 8), *block(8, 16), nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


def train_in_torch(torch, model, fashion, steps: int = 30):
    """A few Adam steps on the Fashion-MNIST slice, as a PyTorch user would."""
    x, y, _, _, standardize = fashion
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(0).permutation(len(x))
    model.train()
    for step in range(steps):
        batch = order[step * 64:(step + 1) * 64]
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(standardize(x[batch]))),
                                                 torch.from_numpy(y[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def export_from_torch(torch, model, path, dynamo: bool = False):
    example = (torch.zeros(2, 1, 28, 28),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(model, example, str(path), dynamo=True, input_names=["x"],
                              external_data=False,
                              output_names=["scores"], verbose=False,
                              dynamic_shapes=({0: torch.export.Dim("batch")},))
        else:
            torch.onnx.export(model, example, str(path), dynamo=False, input_names=["x"],
                              output_names=["scores"], dynamic_axes={"x": {0: "batch"}},
                              training=torch.onnx.TrainingMode.PRESERVE)
    return snn.onnx.load(path)


def assert_same_as_torch(torch, ours, theirs, x: np.ndarray, rng):
    """Eval forward; train-mode forward and input gradient (batch norm on batch statistics)."""
    ours, theirs = copy.deepcopy(ours), copy.deepcopy(theirs)  # train mode updates running stats
    with torch.no_grad():
        np.testing.assert_allclose(ours.eval().forward(x), theirs.eval()(torch.from_numpy(x)),
                                   **TOL)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    scores = theirs.train()(xt)
    dout = rng.standard_normal(scores.shape).astype(np.float32)
    (scores * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(ours.train().forward(x), scores.detach().numpy(), **TOL)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), **TOL)


def improves_in_two_epochs(model, fashion) -> tuple[dict, dict]:
    x, y, x_test, y_test, standardize = fashion
    trainer = snn.Trainer(model, snn.losses.SoftmaxCrossEntropy(),
                          snn.optim.Adam(model.parameters(), lr=1e-3), batch_size=64,
                          preprocess=standardize, seed=0)
    before = trainer.evaluate(x_test, y_test)
    trainer.fit(x, y, 2)
    return before, trainer.evaluate(x_test, y_test)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_torch_mlp_imports_and_trains(dynamo, torch, fashion, tmp_path, rng):
    theirs = train_in_torch(torch, torch_mlp(torch), fashion)
    ours = export_from_torch(torch, theirs, tmp_path / "mlp.onnx", dynamo)
    assert [type(layer) for layer in ours] == [L.Flatten, L.Linear, L.ReLU, L.Linear]
    for n in (1, 37):
        x = fashion[4](fashion[2][:n])
        assert_same_as_torch(torch, ours, theirs, x, rng)
    before, after = improves_in_two_epochs(ours, fashion)
    assert after["loss"] < before["loss"] and after["accuracy"] > before["accuracy"]


def test_torch_cnn_with_batch_norm_imports_and_trains(torch, fashion, tmp_path, rng):
    theirs = train_in_torch(torch, torch_cnn(torch), fashion)
    ours = export_from_torch(torch, theirs, tmp_path / "cnn.onnx")
    assert [type(layer) for layer in ours] == 2 * [L.Conv2d, L.BatchNorm2d, L.ReLU,
                                                   L.MaxPool2d] + [L.Flatten, L.Linear]
    bn = theirs[1]
    np.testing.assert_array_equal(ours[1].running_var, bn.running_var.numpy())
    assert ours[1].momentum == bn.momentum and ours[1].eps == bn.eps
    for n in (2, 37):                          # batch norm in train mode needs 2 samples
        # Flat backgrounds give exact ties in max-pool windows, which our convolution and
        # torch's may break differently in the last bit; a little noise leaves no ties.
        x = fashion[4](fashion[2][:n]) + rng.normal(0, 0.01, (n, 1, 28, 28)).astype(np.float32)
        assert_same_as_torch(torch, ours, theirs, x, rng)
    before, after = improves_in_two_epochs(ours, fashion)
    assert after["loss"] < before["loss"] and after["accuracy"] > before["accuracy"]
