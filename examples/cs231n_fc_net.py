"""The CS231n FullyConnectedNets workflow on Fashion-MNIST, run on scratchnn.compat.cs231n:
build the course's FullyConnectedNet, gradient-check it, train it with Solver, plot.

    python examples/cs231n_fc_net.py [--epochs 5] [--out cs231n-fc-net] [--dataset fashion-mnist]

Writes OUT/training.png (loss and accuracies, as the notebook plots them) and OUT/weights.png
(the first layer's weights as images, through visualize_grid).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from scratchnn.compat import Solver
from scratchnn.compat.cs231n import (
    FullyConnectedNet,
    eval_numerical_gradient,
    rel_error,
    visualize_grid,
)
from scratchnn.data import load


def notebook_data(name: str, n_train: int | None) -> dict[str, np.ndarray]:
    """The notebooks' dict (get_CIFAR10_data's form): float images minus the training mean."""
    data = load(name, n_train=n_train, n_val=1000)
    scale = float(data.x_train.max()) or 1.0
    as_float = lambda x: x.astype(np.float64) / scale  # noqa: E731
    mean = as_float(data.x_train).mean(axis=0)
    return {"X_train": as_float(data.x_train) - mean, "y_train": data.y_train,
            "X_val": as_float(data.x_val) - mean, "y_val": data.y_val,
            "X_test": as_float(data.x_test) - mean, "y_test": data.y_test}


def gradient_check(input_dim: int) -> None:
    """The notebook's "initial loss and gradient check" cell, on a small random problem."""
    np.random.seed(231)
    N, H1, H2, C = 2, 20, 30, 10
    X = np.random.randn(N, input_dim)
    y = np.random.randint(C, size=(N,))
    for reg in [0, 3.14]:
        model = FullyConnectedNet([H1, H2], input_dim=input_dim, num_classes=C, reg=reg,
                                  weight_scale=5e-2, dtype=np.float64)
        loss, grads = model.loss(X, y)
        f = lambda _, model=model: model.loss(X, y)[0]  # noqa: E731
        worst = max(rel_error(eval_numerical_gradient(f, model.params[name], verbose=False),
                              grads[name]) for name in sorted(grads))
        print(f"reg = {reg}: initial loss {loss:.4f}, worst relative error {worst:.1e}")


def plot(solver: Solver, weights: np.ndarray, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8))
    top.plot(solver.loss_history, "o", markersize=2)
    top.set(xlabel="Iteration", ylabel="Training loss")
    bottom.plot(solver.train_acc_history, "-o", label="train")
    bottom.plot(solver.val_acc_history, "-o", label="val")
    bottom.set(xlabel="Epoch", ylabel="Accuracy")
    bottom.legend(loc="lower right")
    fig.savefig(out / "training.png", dpi=100)
    plt.close(fig)
    fig = plt.figure(figsize=(6, 6))
    plt.imshow(visualize_grid(weights).astype("uint8").squeeze(), cmap="gray")
    plt.axis("off")
    fig.savefig(out / "weights.png", dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train", type=int, default=None, help="training images (default all)")
    parser.add_argument("--out", type=Path, default=Path("cs231n-fc-net"))
    args = parser.parse_args()
    data = notebook_data(args.dataset, args.train)
    image_shape = data["X_train"].shape[1:]                   # (C, H, W)
    input_dim = int(np.prod(image_shape))
    gradient_check(input_dim)

    np.random.seed(0)
    model = FullyConnectedNet([100, 100], input_dim=input_dim, num_classes=10,
                              weight_scale=5e-2, normalization="batchnorm",
                              dropout_keep_ratio=0.5)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=args.epochs, batch_size=100, print_every=100)
    solver.train()
    test_accuracy = solver.check_accuracy(data["X_test"], data["y_test"])
    print(f"best validation accuracy {solver.best_val_acc:.4f}, test accuracy "
          f"{test_accuracy:.4f}")

    args.out.mkdir(parents=True, exist_ok=True)
    weights = model.params["W1"].T.reshape(-1, *image_shape).transpose(0, 2, 3, 1)  # NHWC
    plot(solver, weights, args.out)
    print(f"plots in {args.out}/training.png and {args.out}/weights.png")


if __name__ == "__main__":
    main()
