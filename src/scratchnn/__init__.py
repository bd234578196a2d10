"""scratchnn: deep learning from scratch on NumPy, with every gradient verified.

    import scratchnn as snn
    model = snn.Sequential(snn.layers.Linear(784, 100), snn.layers.ReLU(),
                           snn.layers.Linear(100, 10))
    loss_fn = snn.losses.SoftmaxCrossEntropy()

`import scratchnn` loads the core (layers, losses, optimizers, models, data, train, gradcheck);
the tools (doctor, experiments, compat, sweep, onnx, serve) load on first use: `snn.doctor(...)`
and `import scratchnn.doctor` both work.
"""

import importlib

from scratchnn import (
    data,
    functional,
    gradcheck,
    init,
    layers,
    losses,
    models,
    optim,
    train,
)
from scratchnn.errors import (
    ConfigError,
    DataError,
    DivergenceError,
    ScratchnnError,
    ShapeError,
)
from scratchnn.layer import Layer, Sequential
from scratchnn.parameter import Parameter
from scratchnn.train import History, Trainer

__version__ = "0.1.0"

# Tools imported on first attribute access (PEP 562): they pull in matplotlib, http and more.
TOOLS = ("compat", "doctor", "experiments", "onnx", "serve", "sweep")


def __getattr__(name: str):
    if name in TOOLS:
        try:
            return importlib.import_module(f"scratchnn.{name}")   # also sets it here
        except ModuleNotFoundError as error:
            if error.name != f"scratchnn.{name}":               # a tool's own dependency
                raise
    raise AttributeError(f"module 'scratchnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(TOOLS))


__all__ = [
    "ConfigError", "DataError", "DivergenceError", "History", "Layer", "Parameter",
    "ScratchnnError", "Sequential",
    "ShapeError", "Trainer", "compat", "data", "doctor", "functional", "gradcheck", "init",
    "layers", "losses", "models", "optim", "train",
]
