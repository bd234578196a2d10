"""Pure NumPy kernels: `<op>_forward(x, ...) -> (out, cache)` and `<op>_backward(dout, cache)`.

Kernels never touch global state and never write into their inputs. Layers call them as
`F.<kernel>` so that a test can swap one out (a deliberately broken backward must be caught).
"""

from scratchnn.functional.activations import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from scratchnn.functional.conv import col2im, conv2d_backward, conv2d_forward, im2col
from scratchnn.functional.dense import linear_backward, linear_forward
from scratchnn.functional.dropout import dropout_backward, dropout_forward
from scratchnn.functional.losses import (
    log_softmax,
    mse_backward,
    mse_forward,
    multiclass_hinge_backward,
    multiclass_hinge_forward,
    softmax,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from scratchnn.functional.norm import (
    batchnorm_backward,
    batchnorm_eval,
    batchnorm_forward,
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
    running_average,
)
from scratchnn.functional.pool import (
    avgpool2d_backward,
    avgpool2d_forward,
    global_avgpool2d_backward,
    global_avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)

__all__ = [
    "avgpool2d_backward", "avgpool2d_forward",
    "batchnorm_backward", "batchnorm_eval", "batchnorm_forward",
    "col2im", "conv2d_backward", "conv2d_forward", "im2col",
    "dropout_backward", "dropout_forward",
    "global_avgpool2d_backward", "global_avgpool2d_forward",
    "groupnorm_backward", "groupnorm_forward", "layernorm_backward", "layernorm_forward",
    "leaky_relu_backward", "leaky_relu_forward",
    "linear_backward", "linear_forward",
    "log_softmax", "softmax",
    "maxpool2d_backward", "maxpool2d_forward",
    "mse_backward", "mse_forward",
    "multiclass_hinge_backward", "multiclass_hinge_forward",
    "relu_backward", "relu_forward", "running_average",
    "sigmoid_backward", "sigmoid_forward",
    "softmax_cross_entropy_backward", "softmax_cross_entropy_forward",
    "tanh_backward", "tanh_forward",
]
