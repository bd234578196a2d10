"""Layer classes: stateful wrappers around the kernels in scratchnn.functional."""

from scratchnn.layer import Layer, Sequential
from scratchnn.layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from scratchnn.layers.dense import Linear
from scratchnn.layers.dropout import Dropout
from scratchnn.layers.norm import BatchNorm1d, BatchNorm2d
from scratchnn.layers.shape import Flatten

__all__ = ["BatchNorm1d", "BatchNorm2d", "Dropout", "Flatten", "Layer", "LeakyReLU", "Linear",
           "ReLU", "Sequential", "Sigmoid", "Tanh"]
