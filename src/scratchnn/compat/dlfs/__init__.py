""""Deep Learning from Scratch" (Saito; oreilly-japan/deep-learning-from-scratch) over
scratchnn: the book's layer classes, networks and optimizers with the book's protocol, each a
thin adapter over scratchnn's kernels and optimizers (docs/course-compat.md has the table).

    from scratchnn.compat.dlfs import Adam, MultiLayerNetExtend
    network = MultiLayerNetExtend(784, [100, 100], 10, use_batchnorm=True)
    grads = network.gradient(x_batch, t_batch)
    Adam().update(network.params, grads)

Where the book's conventions differ from scratchnn's (non-inverted Dropout, batch norm's
running statistics and eps, Pooling's default stride of 1) the book's are kept; each class's
docstring says which.
"""

from scratchnn.compat.dlfs.gradient import numerical_gradient
from scratchnn.compat.dlfs.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)
from scratchnn.compat.dlfs.nets import (
    MultiLayerNet,
    MultiLayerNetExtend,
    SimpleConvNet,
    TwoLayerNet,
)
from scratchnn.compat.dlfs_optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

__all__ = ["SGD", "AdaGrad", "Adam", "Affine", "BatchNormalization", "Convolution", "Dropout",
           "Momentum", "MultiLayerNet", "MultiLayerNetExtend", "Nesterov", "Pooling", "RMSprop",
           "Relu", "Sigmoid", "SimpleConvNet", "SoftmaxWithLoss", "TwoLayerNet",
           "numerical_gradient"]
