"""scratchnn: deep learning from scratch on NumPy, with every gradient verified.

    import scratchnn as snn
    model = snn.Sequential(snn.layers.Linear(784, 100), snn.layers.ReLU(),
                           snn.layers.Linear(100, 10))
    loss_fn = snn.losses.SoftmaxCrossEntropy()
"""

# doctor is a callable package: snn.doctor(...) runs it, snn.doctor.report is one of its parts.
from scratchnn import (
    compat,
    data,
    doctor,
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

__all__ = [
    "ConfigError", "DataError", "DivergenceError", "History", "Layer", "Parameter",
    "ScratchnnError", "Sequential",
    "ShapeError", "Trainer", "compat", "data", "doctor", "functional", "gradcheck", "init",
    "layers", "losses", "models", "optim", "train",
]
