"""Reproducible experiments from the books, each one function that writes PNG plots and CSV data
into a directory and returns what it found (`scratchnn experiment NAME` runs them).

    from scratchnn.experiments import optimizers
    result = optimizers.run("runs/experiments/optimizers", iterations=500)
    print(result.summary())

optimizers  six update rules from identical weights on identical batches
init        std 0.01 vs Xavier vs He, ReLU and sigmoid: activations and loss
batchnorm   with and without batch norm across 16 weight scales
overfitting 300 training images, with and without dropout and an L2 term
gradients   TwoLayerNet: numerical gradient vs backprop, agreement and time
"""

import importlib

# command-line name -> module; each module's run() is the experiment
MODULES = {"optimizers": "optimizers", "init": "weight_init", "batchnorm": "batchnorm",
           "overfitting": "overfitting", "gradients": "gradients"}


def __getattr__(name: str):
    """The experiments load on first use (PEP 562): they import matplotlib."""
    if name in MODULES.values():
        return importlib.import_module(f"scratchnn.experiments.{name}")
    if name == "EXPERIMENTS":
        return {key: __getattr__(module).run for key, module in MODULES.items()}
    if name == "ExperimentResult":
        return importlib.import_module("scratchnn.experiments.common").ExperimentResult
    raise AttributeError(f"module 'scratchnn.experiments' has no attribute {name!r}")


__all__ = ["EXPERIMENTS", "ExperimentResult", "batchnorm", "gradients", "optimizers",
           "overfitting", "weight_init"]
