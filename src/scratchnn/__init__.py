"""scratchnn: deep learning from scratch on NumPy, with every gradient verified.

    import scratchnn as snn
    model = snn.Sequential(snn.layers.Linear(784, 100), snn.layers.ReLU(),
                           snn.layers.Linear(100, 10))
    loss_fn = snn.losses.SoftmaxCrossEntropy()

`import scratchnn` loads nothing heavy: the core (layers, losses, optim, models, data, train,
gradcheck) and the tools (doctor, experiments, compat, sweep, onnx, serve) load on first use:
`snn.layers.Linear`, `snn.doctor(...)` and `import scratchnn.doctor` all work.
"""

import importlib

from scratchnn import _startup  # noqa: F401  (first: Ctrl-C while the command starts)
from scratchnn._blas_wait import set_default as _set_blas_wait
from scratchnn.errors import (
    ConfigError,
    DataError,
    DivergenceError,
    ScratchnnError,
    ShapeError,
)

__version__ = "0.1.0"

_set_blas_wait()   # before anything loads NumPy and with it OpenBLAS

# The core and the tools are imported on first attribute access (PEP 562): `import scratchnn`
# itself loads nothing heavy, so `scratchnn --help` answers at once.
CORE = ("data", "functional", "gradcheck", "init", "layers", "losses", "models", "optim", "train")
TOOLS = ("compat", "doctor", "experiments", "onnx", "serve", "sweep")
NAMES = {"Layer": "layer", "Sequential": "layer", "Parameter": "parameter", "History": "train",
         "Trainer": "train"}


def __getattr__(name: str):
    if name in NAMES:
        value = getattr(importlib.import_module(f"scratchnn.{NAMES[name]}"), name)
        globals()[name] = value
        return value
    if name in CORE:
        return importlib.import_module(f"scratchnn.{name}")
    if name in TOOLS:
        try:
            return importlib.import_module(f"scratchnn.{name}")   # also sets it here
        except ModuleNotFoundError as error:
            if error.name != f"scratchnn.{name}":               # a tool's own dependency
                raise
    raise AttributeError(f"module 'scratchnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(CORE) | set(NAMES) | set(TOOLS))


__all__ = [
    "ConfigError", "DataError", "DivergenceError", "History", "Layer", "Parameter",
    "ScratchnnError", "Sequential",
    "ShapeError", "Trainer", "compat", "data", "doctor", "functional", "gradcheck", "init",
    "layers", "losses", "models", "optim", "train",
]
