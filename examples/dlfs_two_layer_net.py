""""Deep Learning from Scratch", chapter 5's train_neuralnet.py on Fashion-MNIST, run on
scratchnn.compat.dlfs: the book's TwoLayerNet, its gradient check, its training loop, its plot.

    python examples/dlfs_two_layer_net.py [--iters 10000] [--out dlfs-two-layer-net]

The loop below is the book's, as the book writes it (plain SGD on `network.params`); only
load_mnist is replaced by scratchnn.data.load. Writes OUT/accuracy.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from scratchnn.compat.dlfs import TwoLayerNet
from scratchnn.data import load


def load_mnist(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The book's load_mnist(normalize=True, one_hot_label=True): flat float pixels in [0, 1]
    and one-hot labels."""
    data = load(name)
    scale = float(data.x_train.max()) or 1.0
    def prepare(x, y):
        return x.reshape(len(x), -1).astype(np.float64) / scale, np.eye(10)[y]
    return prepare(data.x_train, data.y_train), prepare(data.x_test, data.y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("dlfs-two-layer-net"))
    args = parser.parse_args()
    (x_train, t_train), (x_test, t_test) = load_mnist(args.dataset)
    np.random.seed(0)
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=50, output_size=10)

    # ch05/gradient_check.py
    x_batch, t_batch = x_train[:3], t_train[:3]
    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)
    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        print(key + ":" + str(diff))

    # ch05/train_neuralnet.py
    iters_num = args.iters
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    iter_per_epoch = max(train_size // batch_size, 1)
    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            print(f"train acc, test acc | {train_acc:.4f}, {test_acc:.4f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    x = np.arange(len(train_acc_list))
    plt.plot(x, train_acc_list, label="train acc")
    plt.plot(x, test_acc_list, label="test acc", linestyle="--")
    plt.xlabel("epochs")
    plt.ylabel("accuracy")
    plt.ylim(0, 1.0)
    plt.legend(loc="lower right")
    plt.savefig(args.out / "accuracy.png", dpi=100)
    print(f"plot in {args.out}/accuracy.png")


if __name__ == "__main__":
    main()
