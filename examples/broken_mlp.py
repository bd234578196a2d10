"""The MLP from issue 7, written by hand on scratchnn's Layer API, and what the doctor says.

    python examples/broken_mlp.py            # the broken network: the doctor's report
    python examples/broken_mlp.py --fixed    # the three fixes: a clean report, then training

A 784-300-300-10 network with ReLU and softmax for Fashion-MNIST, with three bugs that are
common in hand-written backprop (../shared/BACKPROP-BUGS.md, 1, 2 and 9):

1. the output gradient is (Y - a) * softmax'(z): minus dL/dz, multiplied by the softmax
   derivative a (1 - a) once more, and without the 1/N of the batch mean;
2. the update adds the gradient (W += lr * g), which only makes sense together with bug 1's sign;
3. each batch takes X from the unshuffled array and Y from the shuffled one.

It runs without an error, and it does not learn.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import scratchnn as snn


class Dense(snn.Layer):
    """y = x W + b, He-initialised."""

    def __init__(self, fan_in: int, fan_out: int, rng: np.random.Generator):
        super().__init__()
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
        self.W = snn.Parameter(w.astype(np.float32), "W")
        self.b = snn.Parameter(np.zeros(fan_out, np.float32), "b")

    def forward(self, x):
        self._cache = x
        return x @ self.W.data + self.b.data

    def backward(self, dout):
        x = self._saved()
        self.W.accumulate(x.T @ dout)
        self.b.accumulate(dout.sum(axis=0))
        return dout @ self.W.data.T


class Relu(snn.Layer):
    def forward(self, x):
        self._cache = x > 0
        return x * self._cache

    def backward(self, dout):
        return dout * self._saved()


class SoftmaxLoss:
    """Softmax, then the mean cross-entropy over the batch; backward gives d(loss)/d(scores)."""

    def __init__(self, fixed: bool):
        self.fixed = fixed

    def forward(self, z, labels):
        z = z - z.max(axis=1, keepdims=True)                   # exp cannot overflow
        log_a = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.a = np.exp(log_a)
        self.Y = np.eye(z.shape[1], dtype=z.dtype)[labels]
        return float(-np.mean(np.sum(self.Y * log_a, axis=1)))

    def backward(self):
        if self.fixed:
            return (self.a - self.Y) / len(self.a)           # softmax and log cancel: a - Y
        return (self.Y - self.a) * self.a * (1 - self.a)     # bug 1: (Y - a) * softmax'(z)


class GradientStep(snn.optim.Optimizer):
    """Plain gradient descent, W -= lr * g (or, broken, W += lr * g)."""

    def __init__(self, params, lr: float, fixed: bool):
        super().__init__(params, lr)
        self.fixed = fixed

    def update(self, param, grad, state):
        if self.fixed:
            param.data -= self.lr * grad
        else:
            param.data += self.lr * grad                     # bug 2: adds the gradient


def broken_batches(x, y, batch_size, *, shuffle=True, rng=None):
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield x[start:start + batch_size], y[idx]           # bug 3: x unshuffled, y shuffled


def batches(x, y, batch_size, *, shuffle=True, rng=None):
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixed", action="store_true", help="apply the three fixes")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs after the report")
    args = parser.parse_args()

    data = snn.data.load("fashion-mnist")
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float32) / 255
    x_test = data.x_test.reshape(len(data.x_test), -1).astype(np.float32) / 255
    rng = np.random.default_rng(0)
    model = snn.Sequential(Dense(784, 300, rng), Relu(), Dense(300, 300, rng), Relu(),
                           Dense(300, 10, rng))
    loss_fn = SoftmaxLoss(args.fixed)
    optimizer = GradientStep(model.parameters(), lr=0.1, fixed=args.fixed)
    iterate = batches if args.fixed else broken_batches

    report = snn.doctor(model, loss_fn, x, data.y_train, optimizer=optimizer, batches=iterate,
                        held_out=(x_test, data.y_test))
    print(report)
    if not args.fixed:
        return
    for epoch in range(args.epochs):
        started = time.perf_counter()
        for xb, yb in iterate(x, data.y_train, 64, rng=np.random.default_rng(epoch)):
            loss_fn.forward(model.forward(xb), yb)
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
        accuracy = np.mean(model.forward(x_test).argmax(axis=1) == data.y_test)
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f} "
              f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
