"""CS231n's assignment code over scratchnn: the course's names, signatures and conventions,
each a thin adapter over scratchnn's kernels (see docs/course-compat.md for the table).

    from scratchnn.compat.cs231n import FullyConnectedNet, affine_forward, get_CIFAR10_data
    from scratchnn.compat import Solver

The modules mirror the course's files: `layers`, `layer_utils`, `fc_net`, `cnn`,
`neural_net` (assignment 1's TwoLayerNet), `gradient_check`, `data_utils`, `vis_utils`.
Where the course's convention differs from scratchnn's native one (dropout's keep probability,
batch norm's running statistics, affine_forward's flattening), the course's is kept and the
docstring says so.
"""

from scratchnn.compat.cs231n.cnn import ThreeLayerConvNet
from scratchnn.compat.cs231n.data_utils import get_CIFAR10_data, load_CIFAR10, load_tiny_imagenet
from scratchnn.compat.cs231n.fc_net import FullyConnectedNet, TwoLayerNet
from scratchnn.compat.cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from scratchnn.compat.cs231n.layer_utils import (
    affine_bn_relu_backward,
    affine_bn_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    conv_bn_relu_backward,
    conv_bn_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from scratchnn.compat.cs231n.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
    relu_backward,
    relu_forward,
    softmax_loss,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
    svm_loss,
)
from scratchnn.compat.cs231n.vis_utils import visualize_grid

__all__ = [
    "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet",
    "affine_backward", "affine_bn_relu_backward", "affine_bn_relu_forward", "affine_forward",
    "affine_relu_backward", "affine_relu_forward",
    "batchnorm_backward", "batchnorm_backward_alt", "batchnorm_forward",
    "conv_backward_fast", "conv_backward_naive", "conv_bn_relu_backward", "conv_bn_relu_forward",
    "conv_forward_fast", "conv_forward_naive", "conv_relu_backward", "conv_relu_forward",
    "conv_relu_pool_backward", "conv_relu_pool_forward",
    "dropout_backward", "dropout_forward",
    "eval_numerical_gradient", "eval_numerical_gradient_array",
    "get_CIFAR10_data", "layernorm_backward", "layernorm_forward", "load_CIFAR10",
    "load_tiny_imagenet",
    "max_pool_backward_fast", "max_pool_backward_naive", "max_pool_forward_fast",
    "max_pool_forward_naive", "rel_error", "relu_backward", "relu_forward", "softmax_loss",
    "spatial_batchnorm_backward", "spatial_batchnorm_forward", "spatial_groupnorm_backward",
    "spatial_groupnorm_forward", "svm_loss", "visualize_grid",
]
