"""Small synthetic data, a healthy model, and each classic bug planted in it (for the doctor's
tests; pytest puts tests/doctor on sys.path).

The data: 8x8 one-channel "images" of 4 classes, uint8 like real pixels: a random template per
class plus uniform noise. The healthy model: Flatten - Linear(64, 32) - ReLU - Linear(32, 32) -
ReLU - Linear(32, 4), He-initialised, trained with SGD at lr 0.1 on standardised inputs.
"""

from __future__ import annotations

import numpy as np

import scratchnn as snn
from scratchnn.layers import Flatten, Linear, ReLU
from scratchnn.losses import SoftmaxCrossEntropy
from scratchnn.optim import SGD

CLASSES, SIZE, N = 4, 8, 400
LR = 0.1


def images(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, 1, 8, 8) and int64 labels (n,)."""
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0, 1, (CLASSES, 1, SIZE, SIZE))
    y = rng.integers(0, CLASSES, n)
    x = templates[y] * 180 + rng.uniform(0, 75, (n, 1, SIZE, SIZE))
    return x.astype(np.uint8), y


def standardise(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32) / 255
    return (x - x.mean()) / x.std()


def mlp(seed: int = 0, last: snn.Layer | None = None) -> snn.Sequential:
    rng = np.random.default_rng(seed)
    layers = [Flatten(), Linear(SIZE * SIZE, 32, rng=rng), ReLU(), Linear(32, 32, rng=rng), ReLU(),
              Linear(32, CLASSES, rng=rng)]
    return snn.Sequential(*layers, *([last] if last is not None else []))


def healthy() -> dict:
    x, y = images()
    return dict(model=mlp(), loss_fn=SoftmaxCrossEntropy(), x=standardise(x), y=y, lr=LR)


# -- the planted bugs ---------------------------------------------------------------------------

class SoftmaxDerivativeLoss(SoftmaxCrossEntropy):
    """Bug 1: the correct gradient multiplied by the softmax "derivative" s (1 - s)."""

    def backward(self):
        s = np.exp(self._saved()[0])
        return super().backward() * s * (1 - s)


class SummedLoss(SoftmaxCrossEntropy):
    """Bug 3: the loss is a batch mean, its gradient a batch sum (no 1/N)."""

    def backward(self):
        dscores = super().backward()
        return dscores * len(dscores)


class AscentSGD(SGD):
    """Bug 2: the update adds the gradient."""

    def update(self, param, grad, state):
        param.data += self.lr * grad


def misaligned_batches(x, y, batch_size, *, shuffle=True, rng=None):
    """Bug 9: x from the unshuffled array, y from the shuffled one."""
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size], y[order[start:start + batch_size]]


class HandBatchNorm(snn.Layer):
    """A user's own batch norm, whose backward can drop the 1/N of the batch mean:
    dx = gamma / std * (N dout - sum dout - xhat sum(dout xhat)) / N."""

    buffers = ("running_mean", "running_var")

    def __init__(self, features: int, drop_one_over_n: bool = False):
        super().__init__()
        self.weight = snn.Parameter(np.ones(features, np.float32), "weight")
        self.bias = snn.Parameter(np.zeros(features, np.float32), "bias")
        self.running_mean = np.zeros(features, np.float32)
        self.running_var = np.ones(features, np.float32)
        self.drop = drop_one_over_n

    def forward(self, x):
        if not self.training:
            xhat = (x - self.running_mean) / np.sqrt(self.running_var + 1e-5)
            return self.weight.data * xhat + self.bias.data
        mean, var = x.mean(axis=0), x.var(axis=0)
        self.running_mean = 0.9 * self.running_mean + 0.1 * mean
        self.running_var = 0.9 * self.running_var + 0.1 * var
        std = np.sqrt(var + 1e-5)
        xhat = (x - mean) / std
        self._cache = (xhat, std)
        return self.weight.data * xhat + self.bias.data

    def backward(self, dout):
        xhat, std = self._saved()
        n = 1 if self.drop else len(dout)
        self.weight.accumulate((dout * xhat).sum(axis=0))
        self.bias.accumulate(dout.sum(axis=0))
        return (self.weight.data / std / n * (len(dout) * dout - dout.sum(axis=0)
                                               - xhat * (dout * xhat).sum(axis=0)))


def with_hand_batchnorm(drop: bool) -> snn.Sequential:
    rng = np.random.default_rng(0)
    return snn.Sequential(Flatten(), Linear(SIZE * SIZE, 32, rng=rng), HandBatchNorm(32, drop),
                          ReLU(), Linear(32, CLASSES, rng=rng))


class TwoLayerNet(snn.Layer):
    """CS231n's TwoLayerNet as one Layer of its own (not a Sequential): affine - relu - affine.
    bias_mean=True plants a bias gradient averaged over the batch instead of summed."""

    def __init__(self, seed: int = 0, bias_mean: bool = False):
        super().__init__()
        rng = np.random.default_rng(seed)
        d, h = SIZE * SIZE, 32
        self.W1 = snn.Parameter((rng.standard_normal((d, h)) * np.sqrt(2 / d)).astype(np.float32))
        self.b1 = snn.Parameter(np.zeros(h, np.float32))
        self.W2 = snn.Parameter((rng.standard_normal((h, CLASSES)) * np.sqrt(2 / h))
                                .astype(np.float32))
        self.b2 = snn.Parameter(np.zeros(CLASSES, np.float32))
        self.bias_mean = bias_mean

    def forward(self, x):
        x = x.reshape(len(x), -1)
        hidden = np.maximum(x @ self.W1.data + self.b1.data, 0)
        self._cache = (x, hidden)
        return hidden @ self.W2.data + self.b2.data

    def backward(self, dout):
        x, hidden = self._saved()
        reduce = np.mean if self.bias_mean else np.sum
        self.W2.accumulate(hidden.T @ dout)
        self.b2.accumulate(reduce(dout, axis=0))
        dhidden = (dout @ self.W2.data.T) * (hidden > 0)
        self.W1.accumulate(x.T @ dhidden)
        self.b1.accumulate(reduce(dhidden, axis=0))
        return (dhidden @ self.W1.data.T).reshape(len(x), 1, SIZE, SIZE)


class EvalRandomDropout(snn.Layer):
    """Dropout that ignores eval(): still random at evaluation."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p, self.rng = p, np.random.default_rng(0)

    def forward(self, x):
        mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        self._cache = mask.astype(x.dtype)
        return x * self._cache

    def backward(self, dout):
        return dout * self._saved()


def planted(name: str) -> dict:
    """doctor() keyword arguments for the healthy case with one bug planted."""
    case = healthy()
    if name == "softmax derivative in the loss gradient":
        case["loss_fn"] = SoftmaxDerivativeLoss()
    elif name == "update adds the gradient":
        case["optimizer"] = AscentSGD(case["model"].parameters(), lr=LR)
        del case["lr"]
    elif name == "raw uint8 inputs":
        case["x"] = images()[0]
    elif name == "all-zero initialisation":
        for p in case["model"].parameters():
            p.data[...] = 0
    elif name == "learning rate 100x too high":
        case["lr"] = 100 * LR
    elif name == "batch iterator misaligns x and y":
        case["batches"] = misaligned_batches
    elif name == "labels permuted against the inputs":
        case["y"] = np.random.default_rng(5).permutation(case["y"])
    elif name == "ReLU before the fused loss":
        case["model"] = mlp(last=ReLU())
    elif name == "loss gradient without 1/N":
        case["loss_fn"] = SummedLoss()
    elif name == "batch norm backward without 1/N":
        case["model"] = with_hand_batchnorm(drop=True)
    elif name == "own model's bias gradient averaged":
        case["model"] = TwoLayerNet(bias_mean=True)
    elif name == "dropout random in eval mode":
        case["model"] = mlp(last=None)
        case["model"] = snn.Sequential(*list(case["model"])[:3], EvalRandomDropout(),
                                       *list(case["model"])[3:])
    else:
        raise KeyError(name)
    return case
