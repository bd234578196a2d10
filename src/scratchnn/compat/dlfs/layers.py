""""Deep Learning from Scratch" (Saito, O'Reilly; oreilly-japan/deep-learning-from-scratch)
`common/layers.py`: the book's layer classes over scratchnn's kernels.

Each layer keeps the book's protocol: `forward(x)` (plus `train_flg` where the book has it),
`backward(dout)` returning dx, and the parameter gradients in attributes `dW`, `db` (`dgamma`,
`dbeta`). Weights are the arrays the network's `params` dict holds, shared by reference, so an
optimizer updating `params` in place updates the layers. The book's conventions are kept where
they differ from scratchnn's native layers (each class says which).
"""

from __future__ import annotations

import numpy as np

from scratchnn import functional as F


class Relu:
    """y = max(x, 0); the gradient is 0 where x <= 0 (as the book and torch). Unlike the book's,
    backward does not write into dout."""

    def __init__(self) -> None:
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self.mask = F.relu_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.relu_backward(dout, self.mask)


class Sigmoid:
    def __init__(self) -> None:
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self.out = F.sigmoid_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.sigmoid_backward(dout, self.out)


class Affine:
    """y = x.reshape(N, -1) @ W + b: like the book, (N, d1, ...) input is flattened (scratchnn's
    Linear takes (N, D) only) and dx comes back in the input's shape."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:  # noqa: N803
        self.W, self.b = W, b
        self.original_x_shape = None
        self.dW = self.db = None
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.original_x_shape = x.shape
        out, self._cache = F.linear_forward(x.reshape(x.shape[0], -1), self.W, self.b)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, self.dW, self.db = F.linear_backward(dout, self._cache)
        return dx.reshape(self.original_x_shape)


class SoftmaxWithLoss:
    """Softmax cross-entropy, mean over the batch; t is labels (N,) or one-hot (N, C).
    Differs from the book: the loss is computed by log-sum-exp (the book adds 1e-7 inside the
    log: its losses are larger by up to ~1e-7 per sample), and backward scales by dout (the
    book ignores it)."""

    def __init__(self) -> None:
        self.loss = self.y = self.t = None
        self._cache = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        self.t = t
        # one-hot rows when t has as many entries as x, else labels in any shape (the book's
        # ch07 gradient check passes np.array([1]).reshape((1, 1)))
        target = t.reshape(x.shape) if t.size == x.size else t.reshape(-1)
        self.loss, self._cache = F.softmax_cross_entropy_forward(x, target)
        self.y = np.exp(self._cache[0])               # softmax, as the book keeps it
        return self.loss

    def backward(self, dout: float = 1) -> np.ndarray:
        return F.softmax_cross_entropy_backward(self._cache, dout)


class Dropout:
    """The book's NON-inverted dropout: in training each unit is dropped with probability
    dropout_ratio and the survivors are NOT scaled; at test time the output is
    x * (1 - dropout_ratio). (scratchnn's Dropout scales survivors by 1/(1 - p) instead and is the
    identity at test time: the two differ by that factor in both modes.) Masks come from
    np.random.rand as in the book, unless an `rng` (np.random.Generator) is given."""

    def __init__(self, dropout_ratio: float = 0.5, rng: np.random.Generator | None = None) -> None:
        self.dropout_ratio, self.rng = dropout_ratio, rng
        self.mask = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        keep = 1.0 - self.dropout_ratio
        if not train_flg:
            return x * keep
        draws = self.rng if self.rng is not None else _LegacyUniforms()
        _, scaled_mask = F.dropout_forward(x, self.dropout_ratio, draws)
        self.mask = (scaled_mask > 0).astype(x.dtype)    # 0 or 1: the book's unscaled mask
        return F.dropout_backward(x, self.mask)          # x * mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.dropout_backward(dout, self.mask)


class _LegacyUniforms:
    """np.random.rand draws for our dropout kernel: it keeps a unit where the draw >= ratio,
    the book where rand() > ratio (the same up to exact ties)."""

    def random(self, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        return np.random.rand(*shape).astype(dtype, copy=False)


class BatchNormalization:
    """Batch norm with the book's conventions: eps 1e-6 (the book's 10e-7); running statistics
    momentum * old + (1 - momentum) * new with momentum 0.9 weighting the OLD value and the
    BIASED batch variance, running_mean and running_var starting at zeros; and 4-D input
    (N, C, H, W) normalised per (C, H, W) feature after flattening to (N, C*H*W), gamma and
    beta having C*H*W entries (scratchnn's BatchNorm2d normalises per channel)."""

    eps = 10e-7

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, momentum: float = 0.9,
                 running_mean: np.ndarray | None = None,
                 running_var: np.ndarray | None = None) -> None:
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean, self.running_var = running_mean, running_var
        self.input_shape = None
        self.dgamma = self.dbeta = None
        self._cache = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        self.input_shape = x.shape
        flat = x.reshape(x.shape[0], -1)
        if self.running_mean is None:
            self.running_mean = np.zeros(flat.shape[1])
            self.running_var = np.zeros(flat.shape[1])
        if train_flg:
            out, mean, var, self._cache = F.batchnorm_forward(flat, self.gamma, self.beta,
                                                              self.eps)
            # the book's momentum weights the old value: torch's momentum is 1 - it
            self.running_mean = F.running_average(self.running_mean, mean, 1 - self.momentum)
            self.running_var = F.running_average(self.running_var, var, 1 - self.momentum)
        else:
            out = F.batchnorm_eval(flat, self.gamma, self.beta, self.running_mean,
                                   self.running_var, self.eps)
        return out.reshape(self.input_shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, self.dgamma, self.dbeta = F.batchnorm_backward(dout.reshape(dout.shape[0], -1),
                                                           self._cache)
        return dx.reshape(self.input_shape)


class Convolution:
    """Convolution (cross-correlation) of (N, C, H, W) with W (FN, C, FH, FW), b (FN,)."""

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:  # noqa: N803
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.conv2d_forward(x, self.W, self.b, (self.stride, self.stride),
                                            (self.pad, self.pad))
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, self.dW, self.db = F.conv2d_backward(dout, self._cache)
        return dx


class Pooling:
    """Max pooling over pool_h x pool_w windows. The book's default stride is 1 (not the
    window size, as in scratchnn's MaxPool2d and torch): its networks pass stride=2 for 2x2
    pooling. Padding, which the book's own forward does not support, pads with -inf here."""

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.maxpool2d_forward(x, (self.pool_h, self.pool_w),
                                               (self.stride, self.stride), (self.pad, self.pad))
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.maxpool2d_backward(dout, self._cache)
