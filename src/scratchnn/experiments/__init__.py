"""Reproducible experiments from the books, each one function that writes PNG plots and CSV data
into a directory and returns what it found (`scratchnn experiment NAME` runs them).

    from scratchnn.experiments import optimizers
    result = optimizers.run("runs/experiments/optimizers", iterations=500)
    print(result.summary())

optimizers  six update rules from identical weights on identical batches
init        std 0.01 vs Xavier vs He, ReLU and sigmoid: activations and loss
batchnorm   with and without batch norm across 16 weight scales
overfitting 300 training images, with and without dropout and weight decay
gradients   TwoLayerNet: numerical gradient vs backprop, agreement and time
"""

from scratchnn.experiments import batchnorm, gradients, optimizers, overfitting, weight_init
from scratchnn.experiments.common import ExperimentResult

EXPERIMENTS = {
    "optimizers": optimizers.run,
    "init": weight_init.run,
    "batchnorm": batchnorm.run,
    "overfitting": overfitting.run,
    "gradients": gradients.run,
}

__all__ = ["EXPERIMENTS", "ExperimentResult", "batchnorm", "gradients", "optimizers",
           "overfitting", "weight_init"]
