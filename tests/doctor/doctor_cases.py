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
        case["repair"] = {"SoftmaxDerivativeLoss.backward":
                          lambda c: {**c, "loss_fn": SoftmaxCrossEntropy()}}
    elif name == "update adds the gradient":
        case["optimizer"] = AscentSGD(case["model"].parameters(), lr=LR)
        del case["lr"]
        case["repair"] = {"AscentSGD.step": lambda c: {
            **c, "optimizer": SGD(c["model"].parameters(), lr=LR)}}
    elif name == "raw uint8 inputs":
        case["x"] = images()[0]
    elif name == "all-zero initialisation":
        for p in case["model"].parameters():
            p.data[...] = 0
    elif name == "learning rate 100x too high":
        case["lr"] = 100 * LR
    elif name == "batch iterator misaligns x and y":
        case["batches"] = misaligned_batches
        case["repair"] = {"misaligned_batches": lambda c: {**c, "batches": None}}
    elif name == "labels permuted against the inputs":
        case["aligned_y"] = case["y"]
        case["y"] = np.random.default_rng(5).permutation(case["y"])
    elif name == "ReLU before the fused loss":
        case["model"] = mlp(last=ReLU())
    elif name == "loss gradient without 1/N":
        case["loss_fn"] = SummedLoss()
        case["repair"] = {"SummedLoss.backward": lambda c: {**c, "loss_fn": SoftmaxCrossEntropy()}}
    elif name == "batch norm backward without 1/N":
        case["model"] = with_hand_batchnorm(drop=True)
        case["repair"] = {"HandBatchNorm.backward":
                          lambda c: {**c, "model": with_hand_batchnorm(drop=False)}}
    elif name == "own model's bias gradient averaged":
        case["model"] = TwoLayerNet(bias_mean=True)
        case["repair"] = {"TwoLayerNet.backward": lambda c: {**c, "model": TwoLayerNet()}}
    elif name == "dropout random in eval mode":
        case["model"] = with_dropout(layer=EvalRandomDropout())
        case["repair"] = {"EvalRandomDropout.forward": lambda c: {
            **c, "model": with_dropout(0.5)}}
    else:
        return more_planted(name)
    return case


# -- more planted bugs: activations, modes, the training plan, held-out data, convolutions -------

def with_negative_biases() -> snn.Sequential:
    """The issue's example: hidden biases initialised very negative, every ReLU of layer 2 dead."""
    model = mlp()
    model[1].bias.data[...] = -50
    model[3].bias.data[...] = -50
    return model


def deep_sigmoid(depth: int = 8, width: int = 32) -> snn.Sequential:
    """A deep sigmoid stack with Xavier-sized weights: the gradient shrinks at every layer."""
    rng = np.random.default_rng(0)
    layers, fan_in = [Flatten()], SIZE * SIZE
    for _ in range(depth):
        layers += [Linear(fan_in, width, weight_init="xavier", rng=rng), snn.layers.Sigmoid()]
        fan_in = width
    return snn.Sequential(*layers, Linear(width, CLASSES, weight_init="xavier", rng=rng))


def saturated_tanh() -> snn.Sequential:
    rng = np.random.default_rng(0)
    model = snn.Sequential(Flatten(), Linear(SIZE * SIZE, 32, rng=rng), snn.layers.Tanh(),
                           Linear(32, CLASSES, rng=rng))
    model[1].weight.data *= 30
    return model


def with_dropout(p: float = 0.3, layer: snn.Layer | None = None) -> snn.Sequential:
    parts = list(mlp())
    return snn.Sequential(*parts[:3], layer or snn.layers.Dropout(p, rng=np.random.default_rng(1)),
                          *parts[3:])


def with_batchnorm() -> snn.Sequential:
    rng = np.random.default_rng(0)
    return snn.Sequential(Flatten(), Linear(SIZE * SIZE, 32, rng=rng), snn.layers.BatchNorm1d(32),
                          ReLU(), Linear(32, CLASSES, rng=rng))


class KeepDropout(snn.Layer):
    """Course-style dropout taking the probability to KEEP a unit (inverted scaling)."""

    def __init__(self, keep_prob: float):
        super().__init__()
        self.keep_prob, self.rng = keep_prob, np.random.default_rng(2)

    def forward(self, x):
        if not self.training:
            return x
        self._cache = (self.rng.random(x.shape) < self.keep_prob) / self.keep_prob
        return x * self._cache

    def backward(self, dout):
        return dout * self._saved()


class HandConv(snn.Layer):
    """A hand-written stride-1 convolution (im2col by kernel offsets), with an optional bug:
    "transposed" uses the kernel with height and width swapped in the backward, "overwrite"
    is a col2im that assigns where it must add."""

    def __init__(self, channels: int, filters: int, k: int = 3, padding: int = 1,
                 bug: str | None = None, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((filters, channels, k, k)) * np.sqrt(2 / (channels * k * k))
        self.weight = snn.Parameter(w.astype(np.float32), "weight")
        self.bias = snn.Parameter(np.zeros(filters, np.float32), "bias")
        self.k, self.pad, self.bug = k, padding, bug

    def forward(self, x):
        p, k = self.pad, self.k
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        h, w = xp.shape[2] - k + 1, xp.shape[3] - k + 1
        cols = np.stack([np.stack([xp[:, :, i:i + h, j:j + w] for j in range(k)], 2)
                         for i in range(k)], 2)                      # (N, C, k, k, h, w)
        self._cache = (cols, x.shape)
        out = np.einsum("fcij,ncijhw->nfhw", self.weight.data, cols)
        return out + self.bias.data[None, :, None, None]

    def backward(self, dout):
        cols, shape = self._saved()
        p, k = self.pad, self.k
        self.weight.accumulate(np.einsum("nfhw,ncijhw->fcij", dout, cols))
        self.bias.accumulate(dout.sum(axis=(0, 2, 3)))
        kernel = self.weight.data.transpose(0, 1, 3, 2) if self.bug == "transposed" else \
            self.weight.data
        dcols = np.einsum("fcij,nfhw->ncijhw", kernel, dout)
        h, w = dout.shape[2:]
        dxp = np.zeros((shape[0], shape[1], shape[2] + 2 * p, shape[3] + 2 * p), dout.dtype)
        for i in range(k):
            for j in range(k):
                if self.bug == "overwrite":
                    dxp[:, :, i:i + h, j:j + w] = dcols[:, :, i, j]
                else:
                    dxp[:, :, i:i + h, j:j + w] += dcols[:, :, i, j]
        return dxp[:, :, p:p + shape[2], p:p + shape[3]]


def conv_net(padding: int = 1, kernel: int = 3, conv: snn.Layer | None = None) -> snn.Sequential:
    """conv (8 filters) - ReLU - 2x2 max-pool - affine, for the 8x8 images."""
    rng = np.random.default_rng(0)
    conv = conv or snn.layers.Conv2d(1, 8, kernel, padding=padding, rng=rng)
    size = (SIZE + 2 * padding - kernel + 1) // 2
    return snn.Sequential(conv, ReLU(), snn.layers.MaxPool2d(2), Flatten(),
                          Linear(8 * size * size, CLASSES, weight_init="xavier", rng=rng))


def with_held_out(copies: int = 0) -> dict:
    """The healthy case on 400 samples, with 200 more of the same kind held out; `copies` of
    the held-out ones replaced by copies of training samples."""
    x, y = images(N + 200)
    x = standardise(x)
    held_x, held_y = x[N:].copy(), y[N:].copy()
    held_x[:copies], held_y[:copies] = x[:copies], y[:copies]
    return {**healthy(), "x": x[:N], "y": y[:N], "held_out": (held_x, held_y)}


def schedule_case(name: str, epochs: float, **options) -> dict:
    from scratchnn.optim.schedules import make_schedule

    return {"schedule": make_schedule(name, LR, epochs=options.pop("span", epochs), **options),
            "epochs": epochs, "schedule_spec": (name, options)}


def more_planted(name: str) -> dict:
    """Bugs 13 onwards (see PLANTED in test_doctor_planted.py)."""
    case = healthy()
    if name == "hidden biases very negative":
        case["model"] = with_negative_biases()
    elif name == "deep sigmoid stack":
        case["model"] = deep_sigmoid()
    elif name == "saturated tanh":
        case["model"] = saturated_tanh()
    elif name == "dropout left in eval mode":
        case["model"] = with_dropout().eval()
    elif name == "batch norm left in eval mode":
        case["model"] = with_batchnorm()
        case["model"][2].eval()
    elif name == "keep probability passed as dropout p":
        case["model"] = with_dropout(0.9)
    elif name == "drop probability passed as keep_prob":
        case["model"] = with_dropout(layer=KeepDropout(keep_prob=0.1))
    elif name == "cosine schedule over 5 of 50 epochs":
        case.update(schedule_case("cosine", 50, span=5))
    elif name == "step decay far too steep":
        case.update(schedule_case("step", 30, decay=0.1, every=1.0))
    elif name == "weight decay 1":
        case["weight_decay"] = 1.0
    elif name == "held-out samples shared with training":
        case = with_held_out(copies=30)
    elif name == "conv padding 1 with a 5x5 kernel":
        case["model"] = conv_net(padding=1, kernel=5)
        case["rebuild"] = lambda padding: conv_net(padding=padding[0], kernel=5)
    elif name == "conv all-zero initialisation":
        case["model"] = conv_net()
        case["model"][0].weight.data[...] = 0
    elif name == "hand-written conv: transposed kernel in backward":
        case["model"] = conv_net(conv=HandConv(1, 8, bug="transposed"))
        case["repair"] = {"HandConv.backward": lambda c: {**c, "model": conv_net(
            conv=HandConv(1, 8))}}
    elif name == "hand-written conv: col2im overwrites":
        case["model"] = conv_net(conv=HandConv(1, 8, bug="overwrite"))
        case["repair"] = {"HandConv.backward": lambda c: {**c, "model": conv_net(
            conv=HandConv(1, 8))}}
    else:
        raise KeyError(name)
    return case


# -- applying the fix a finding prescribes, mechanically -----------------------------------------

def _leaf(model: snn.Layer, name: str) -> snn.Layer:
    from scratchnn.doctor.patient import leaves

    return dict(leaves(model))[name]


def apply_remedy(case: dict, remedy: dict) -> dict:
    """The case with the finding's `remedy` applied as it says; a remedy naming code to fix
    (fix_code) takes the corrected code the case declares for exactly that target."""
    import copy

    from scratchnn import init
    from scratchnn.doctor.held_out import shared_samples
    from scratchnn.optim.schedules import make_schedule

    case = {**case, "model": copy.deepcopy(case["model"])}
    if "optimizer" in case and not isinstance(case["optimizer"], str | None):
        case["optimizer"] = copy.deepcopy(case["optimizer"])
    model, action = case["model"], remedy["action"]
    rng = np.random.default_rng(7)
    if action == "fix_code":
        return case["repair"][remedy["target"]](case)
    if action == "reinit":
        layer = _leaf(model, remedy["layer"])
        for _, p in layer.named_parameters():
            if p.data.ndim >= 2:
                p.data[...] = init.initialise(p.data.shape, remedy["init"], rng, p.data.dtype)
    elif action == "zero_bias":
        _leaf(model, remedy["layer"]).bias.data[...] = 0
    elif action == "set" and "rebuild" in case:
        case["model"] = case["rebuild"](**{remedy["attribute"]: remedy["value"]})
    elif action == "set":
        setattr(_leaf(model, remedy["layer"]), remedy["attribute"], remedy["value"])
    elif action == "train_mode":
        model.train()
    elif action == "set_lr":
        case["lr"] = remedy["lr"]
    elif action == "weight_decay":
        case["weight_decay"] = remedy["value"]
    elif action == "schedule_span":
        name, options = case["schedule_spec"]
        options = dict(options)
        if "decay" in options:
            options["decay"] = max(options["decay"], 0.01 ** (options["every"] / case["epochs"]))
        case["schedule"] = make_schedule(name, LR, epochs=remedy["epochs"], **options)
    elif action == "drop_shared_held_out":
        x_val, y_val = case["held_out"]
        keep = np.setdiff1d(np.arange(len(x_val)), shared_samples(case["x"], x_val))
        case["held_out"] = (x_val[keep], y_val[keep])
    elif action == "relu_he":
        layers = [ReLU() if isinstance(layer, snn.layers.Sigmoid | snn.layers.Tanh) else layer
                  for layer in model]
        for layer in layers:
            if isinstance(layer, Linear):
                layer.weight.data[...] = init.he_normal(layer.weight.data.shape, rng)
        case["model"] = snn.Sequential(*layers)
    elif action == "scale_inputs":
        case["x"] = standardise(case["x"])
    elif action == "remove_layer":
        case["model"] = snn.Sequential(*[layer for name, layer in
                                         [(str(i), layer) for i, layer in enumerate(model)]
                                         if name != remedy["layer"]])
    elif action == "realign_labels":
        case["y"] = case["aligned_y"]
    else:
        raise KeyError(action)
    return case


def doctor_args(case: dict) -> dict:
    """The case without the test's own keys."""
    own = ("repair", "rebuild", "schedule_spec", "aligned_y")
    return {k: v for k, v in case.items() if k not in own}
