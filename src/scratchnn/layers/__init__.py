"""Layer classes: stateful wrappers around the kernels in scratchnn.functional."""

from scratchnn.layer import Layer, Sequential
from scratchnn.layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from scratchnn.layers.conv import Conv2d
from scratchnn.layers.dense import Linear
from scratchnn.layers.dropout import Dropout
from scratchnn.layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from scratchnn.layers.pool import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from scratchnn.layers.shape import Flatten

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten",
           "GlobalAvgPool2d", "GroupNorm", "Layer", "LayerNorm", "LeakyReLU", "Linear",
           "MaxPool2d", "ReLU", "Sequential", "Sigmoid", "Tanh"]
