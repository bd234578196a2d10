"""The book's networks: TwoLayerNet (ch05), MultiLayerNet and MultiLayerNetExtend (common/),
SimpleConvNet (ch07), with the book's protocol: `params` (dict of arrays, shared with the
layers), `layers` (OrderedDict), `lastLayer` / `last_layer`, `predict`, `loss`, `accuracy`,
`numerical_gradient`, `gradient` (backprop). Weights are drawn with np.random.randn like the
book's. The L2 term (`weight_decay_lambda`) is 1/2 lambda sum ||W||^2 over the Affine weights,
through scratchnn.losses.l2_penalty.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from scratchnn.compat.dict_l2 import dict_l2_penalty
from scratchnn.compat.dlfs.gradient import numerical_gradient
from scratchnn.compat.dlfs.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)
from scratchnn.errors import ConfigError
from scratchnn.labels import class_labels


class _BookNet:
    """predict / loss / accuracy / gradient shared by the book's networks."""

    params: dict
    layers: OrderedDict
    last_layer: SoftmaxWithLoss
    weight_decay_lambda: float = 0.0
    grad_names: tuple[tuple[str, str, str], ...]      # (param key, layer name, attribute)

    @property
    def lastLayer(self) -> SoftmaxWithLoss:  # noqa: N802 - the book's ch05 name
        return self.last_layer

    def _weight_keys(self) -> list[str]:
        return [key for key, _, attr in self.grad_names if attr == "dW" and key.startswith("W")]

    def predict(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        for layer in self.layers.values():
            if isinstance(layer, Dropout | BatchNormalization):
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, t: np.ndarray, train_flg: bool = False) -> float:
        y = self.predict(x, train_flg)
        loss = self.last_layer.forward(y, t)
        if self.weight_decay_lambda:
            loss += dict_l2_penalty(self.params, self._weight_keys(), self.weight_decay_lambda)
        return loss

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        y = np.argmax(self.predict(x, train_flg=False), axis=1)
        return float(np.sum(y == class_labels(t)) / float(x.shape[0]))

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Every parameter's gradient by centred differences (h = 1e-4), as the book's."""
        loss_w = lambda _: self.loss(x, t, train_flg=True)  # noqa: E731
        return {key: numerical_gradient(loss_w, self.params[key]) for key in self.params}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Every parameter's gradient by backprop (forward in training mode first)."""
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {key: getattr(self.layers[name], attr) for key, name, attr in self.grad_names}
        if self.weight_decay_lambda:
            dict_l2_penalty(self.params, self._weight_keys(), self.weight_decay_lambda, grads)
        return grads


class TwoLayerNet(_BookNet):
    """ch05: Affine1 - Relu1 - Affine2 - SoftmaxWithLoss. params W1, b1, W2, b2."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 weight_init_std: float = 0.01) -> None:
        self.params = {
            "W1": weight_init_std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.last_layer = SoftmaxWithLoss()
        self.grad_names = (("W1", "Affine1", "dW"), ("b1", "Affine1", "db"),
                           ("W2", "Affine2", "dW"), ("b2", "Affine2", "db"))


def _scale(weight_init_std, previous: int) -> float:
    """The book's init: "relu"/"he" -> sqrt(2 / n), "sigmoid"/"xavier" -> sqrt(1 / n), or a
    number."""
    if str(weight_init_std).lower() in ("relu", "he"):
        return np.sqrt(2.0 / previous)
    if str(weight_init_std).lower() in ("sigmoid", "xavier"):
        return np.sqrt(1.0 / previous)
    return float(weight_init_std)


class MultiLayerNetExtend(_BookNet):
    """common/multi_layer_net_extend.py: {Affine - [BatchNorm] - Activation - [Dropout]} x n -
    Affine - SoftmaxWithLoss. params W1.., b1.., gamma1.., beta1.. (with use_batchnorm).
    `dropout_ration` (the book's spelling) is the DROP ratio of the book's non-inverted Dropout."""

    def __init__(self, input_size: int, hidden_size_list: list[int], output_size: int,
                 activation: str = "relu", weight_init_std="relu",
                 weight_decay_lambda: float = 0, use_dropout: bool = False,
                 dropout_ration: float = 0.5, use_batchnorm: bool = False) -> None:
        activations = {"sigmoid": Sigmoid, "relu": Relu}
        if activation not in activations:
            raise ConfigError(f"activation must be 'relu' or 'sigmoid', got {activation!r}")
        self.input_size, self.output_size = input_size, output_size
        self.hidden_size_list = list(hidden_size_list)
        self.hidden_layer_num = len(hidden_size_list)
        self.weight_decay_lambda = weight_decay_lambda
        self.use_dropout, self.use_batchnorm = use_dropout, use_batchnorm
        sizes = [input_size, *hidden_size_list, output_size]
        self.params = {}
        for i in range(1, len(sizes)):
            scale = _scale(weight_init_std, sizes[i - 1])
            self.params[f"W{i}"] = scale * np.random.randn(sizes[i - 1], sizes[i])
            self.params[f"b{i}"] = np.zeros(sizes[i])
        self.layers = OrderedDict()
        names = []
        for i in range(1, self.hidden_layer_num + 1):
            self.layers[f"Affine{i}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"])
            names += [(f"W{i}", f"Affine{i}", "dW"), (f"b{i}", f"Affine{i}", "db")]
            if use_batchnorm:
                self.params[f"gamma{i}"] = np.ones(sizes[i])
                self.params[f"beta{i}"] = np.zeros(sizes[i])
                self.layers[f"BatchNorm{i}"] = BatchNormalization(self.params[f"gamma{i}"],
                                                                  self.params[f"beta{i}"])
                names += [(f"gamma{i}", f"BatchNorm{i}", "dgamma"),
                          (f"beta{i}", f"BatchNorm{i}", "dbeta")]
            self.layers[f"Activation_function{i}"] = activations[activation]()
            if use_dropout:
                self.layers[f"Dropout{i}"] = Dropout(dropout_ration)
        last = self.hidden_layer_num + 1
        self.layers[f"Affine{last}"] = Affine(self.params[f"W{last}"], self.params[f"b{last}"])
        names += [(f"W{last}", f"Affine{last}", "dW"), (f"b{last}", f"Affine{last}", "db")]
        self.last_layer = SoftmaxWithLoss()
        self.grad_names = tuple(names)


class MultiLayerNet(MultiLayerNetExtend):
    """common/multi_layer_net.py: {Affine - Activation} x n - Affine - SoftmaxWithLoss."""

    def __init__(self, input_size: int, hidden_size_list: list[int], output_size: int,
                 activation: str = "relu", weight_init_std="relu",
                 weight_decay_lambda: float = 0) -> None:
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std,
                         weight_decay_lambda)


class SimpleConvNet(_BookNet):
    """ch07: Conv1 - Relu1 - Pool1 (2x2, stride 2) - Affine1 - Relu2 - Affine2 -
    SoftmaxWithLoss. conv_param: filter_num, filter_size, pad, stride."""

    def __init__(self, input_dim: tuple[int, int, int] = (1, 28, 28),
                 conv_param: dict | None = None, hidden_size: int = 100,
                 output_size: int = 10, weight_init_std: float = 0.01) -> None:
        conv_param = conv_param or {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        filters, size = conv_param["filter_num"], conv_param["filter_size"]
        pad, stride = conv_param["pad"], conv_param["stride"]
        channels, height = input_dim[0], input_dim[1]
        conv_out = (height - size + 2 * pad) // stride + 1
        pool_out = filters * (conv_out // 2) * (conv_out // 2)
        self.params = {
            "W1": weight_init_std * np.random.randn(filters, channels, size, size),
            "b1": np.zeros(filters),
            "W2": weight_init_std * np.random.randn(pool_out, hidden_size),
            "b2": np.zeros(hidden_size),
            "W3": weight_init_std * np.random.randn(hidden_size, output_size),
            "b3": np.zeros(output_size),
        }
        self.layers = OrderedDict()
        self.layers["Conv1"] = Convolution(self.params["W1"], self.params["b1"], stride, pad)
        self.layers["Relu1"] = Relu()
        self.layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = Affine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W3"], self.params["b3"])
        self.last_layer = SoftmaxWithLoss()
        self.grad_names = (("W1", "Conv1", "dW"), ("b1", "Conv1", "db"),
                           ("W2", "Affine1", "dW"), ("b2", "Affine1", "db"),
                           ("W3", "Affine2", "dW"), ("b3", "Affine2", "db"))

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
        """Accuracy computed batch_size samples at a time, as the book's."""
        t = class_labels(t)
        correct = sum(int(np.sum(np.argmax(self.predict(x[i:i + batch_size]), axis=1)
                                 == t[i:i + batch_size]))
                      for i in range(0, x.shape[0], batch_size))
        return correct / x.shape[0]
