"""MaxPool2d, AvgPool2d, GlobalAvgPool2d: float64 numerical gradients, torch parity (float32 and
float64) including ties and negative inputs (bug 20), the naive loop kernels, the reshape fast
path equal to the general one, and mutations of the tie rule and the padding that must fail."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, tensor
from naive_conv import (
    avgpool_backward_naive,
    avgpool_forward_naive,
    maxpool_backward_naive,
    maxpool_forward_naive,
)

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional import pool as pool_module
from scratchnn.layers import AvgPool2d, GlobalAvgPool2d, MaxPool2d

# (x shape, kernel_size, stride, padding)
CASES = [
    ((2, 3, 8, 8), 2, None, 0),                  # windows tile the input: the reshape fast path
    ((2, 2, 4, 6), (2, 3), None, 0),             # non-square tiles
    ((2, 3, 7, 9), 2, None, 0),                  # sizes that do not divide: floor
    ((1, 2, 7, 7), 3, 2, 1),                     # overlapping, padded, batch of one
    ((3, 1, 5, 5), 3, 1, 0),                     # stride 1: every pixel in up to 9 windows
    ((2, 2, 6, 5), (3, 2), (1, 2), (1, 1)),      # non-square kernel, stride and padding
]
IDS = ["tiles", "tiles-nonsquare", "floor", "overlap-pad-batch1", "stride1", "nonsquare"]
POOLS = {"max": (MaxPool2d, "max_pool2d"), "avg": (AvgPool2d, "avg_pool2d")}


def make_pool(kind, case):
    _, kernel, stride, padding = case
    return POOLS[kind][0](kernel, stride, padding)


def distinct(rng, shape):
    """Values 0.01 apart in random order: no window has a tie closer than gradcheck's eps."""
    size = int(np.prod(shape))
    return 0.01 * (rng.permutation(size).reshape(shape) - size / 2)


def tied(rng, shape, dtype):
    """A ReLU output rounded to one decimal: many exact ties, all-zero windows, and (before the
    ReLU, returned second) negative windows."""
    before = np.round(rng.standard_normal(shape), 1).astype(dtype)
    return np.maximum(before, 0), before


def torch_pool(torch, kind, layer, x, dout):
    xt = tensor(torch, x, requires_grad=True)
    out = getattr(torch.nn.functional, POOLS[kind][1])(xt, layer.kernel_size, layer.stride,
                                                      layer.padding)
    out.backward(tensor(torch, dout))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_gradients_match_numerical_gradients(kind, case, rng):
    report = gradcheck.check_layer(make_pool(kind, case), distinct(rng, case[0]))
    assert report.ok and report.rows[0].kinks == 0, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_matches_torch_on_ties_zeros_and_negative_values(kind, case, dtype, rng, torch):
    for x in tied(rng, case[0], dtype):
        layer = make_pool(kind, case)
        out = layer(x)
        dout = rng.standard_normal(out.shape).astype(dtype)
        out_t, dx_t = torch_pool(torch, kind, layer, x, dout)
        assert_close(out, out_t, dtype, scale=np.abs(x).max())
        assert_close(layer.backward(dout), dx_t, dtype, scale=np.abs(dout).max())


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_agrees_with_the_naive_loop_kernels(kind, case, rng):
    x = tied(rng, case[0], np.float64)[1]
    layer = make_pool(kind, case)
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    out = layer(x)
    dout = rng.standard_normal(out.shape)
    if kind == "max":
        expected, winners = maxpool_forward_naive(x, k, s, p)
        dx = maxpool_backward_naive(dout, x.shape, winners)
    else:
        expected, dx = avgpool_forward_naive(x, k, s, p), avgpool_backward_naive(dout, x.shape,
                                                                                   k, s, p)
    assert_close(out, expected, np.float64)
    assert_close(layer.backward(dout), dx, np.float64)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", CASES[:2], ids=IDS[:2])
def test_the_reshape_fast_path_equals_the_general_path(kind, case, rng, monkeypatch):
    x = tied(rng, case[0], np.float32)[0]
    layer = make_pool(kind, case)
    out = layer(x)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    monkeypatch.setattr(pool_module, "_tiles", lambda *args: False)
    np.testing.assert_array_equal(layer(x), out)
    np.testing.assert_array_equal(layer.backward(dout), dx)


def test_max_pool_gradient_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[0.0, 0.0, 1.0, 3.0],
                    [0.0, 0.0, 3.0, 3.0],
                    [-5.0, -1.0, 2.0, 7.0],
                    [-1.0, -2.0, 7.0, 1.0]]]])
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer(x)[0, 0], [[0.0, 3.0], [-1.0, 7.0]])
    dx = layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 0, 2],
                                             [0, 0, 0, 0],
                                             [0, 3, 0, 4],
                                             [0, 0, 0, 0]])


def _backward_to_every_tied_maximum(dout, cache):
    """Bug 20 (CS231n's fast_layers mask): every element equal to the max gets the gradient."""
    x = CAPTURED["x"]
    dx = np.zeros(cache.x_shape, dout.dtype)
    out = pool_module.maxpool2d_forward(x, cache.kernel, cache.stride, cache.padding)[0]
    (kh, kw), (sh, sw) = cache.kernel, cache.stride
    for i in range(kh):
        for j in range(kw):
            window = (slice(None), slice(None), slice(i, i + sh * out.shape[2], sh),
                      slice(j, j + sw * out.shape[3], sw))
            dx[window] += dout * (x[window] == out)
    return dx


def _backward_to_the_last_maximum(dout, cache):
    """The tie rule reversed: the last maximum in row-major order."""
    x = CAPTURED["x"]
    flipped = pool_module.maxpool2d_forward(x[:, :, ::-1, ::-1], cache.kernel, cache.stride)[1]
    dx = pool_module.maxpool2d_backward(dout[:, :, ::-1, ::-1], flipped)
    return dx[:, :, ::-1, ::-1]


CAPTURED: dict = {}


@pytest.mark.parametrize("broken", [_backward_to_every_tied_maximum, _backward_to_the_last_maximum])
def test_a_wrong_tie_rule_is_caught_by_torch_parity(broken, monkeypatch, rng, torch):
    case = CASES[0]
    x = tied(rng, case[0], np.float64)[0]
    layer = make_pool("max", case)
    dout = rng.standard_normal(layer(x).shape)
    _, dx_t = torch_pool(torch, "max", layer, x, dout)
    np.testing.assert_array_equal(layer.backward(dout), dx_t)         # the real rule: exact
    CAPTURED["x"] = x
    monkeypatch.setattr(F, "maxpool2d_backward", broken)
    assert np.abs(layer.backward(dout) - dx_t).max() > 0.1


def test_max_pool_padding_with_zeros_instead_of_minus_infinity_is_caught(monkeypatch, rng,
                                                                         torch):
    """Bug 20: on negative inputs a zero of the padding would win the border windows."""
    case = CASES[3]
    x = -np.abs(rng.standard_normal(case[0])) - 0.1
    layer = make_pool("max", case)
    out_t, _ = torch_pool(torch, "max", layer, x, np.ones_like(layer(x)))
    np.testing.assert_array_equal(layer(x), out_t)
    real_pad = pool_module.pad
    monkeypatch.setattr(pool_module, "pad", lambda x, padding, value=0.0: real_pad(x, padding))
    assert (layer(x) == 0).any() and not (out_t == 0).any()


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 2, 7, 7)])
def test_global_avg_pool_gradients_and_torch_parity(shape, rng, torch):
    layer = GlobalAvgPool2d()
    report = gradcheck.check_layer(layer, rng.standard_normal(shape))
    assert report.ok, report.table()
    for dtype in DTYPES:
        x = rng.standard_normal(shape).astype(dtype)
        dout = rng.standard_normal(shape[:2]).astype(dtype)
        xt = tensor(torch, x, requires_grad=True)
        out_t = xt.mean(dim=(2, 3))
        out_t.backward(tensor(torch, dout))
        assert_close(layer(x), out_t.detach().numpy(), dtype, scale=np.abs(x).max())
        assert_close(layer.backward(dout), xt.grad.numpy(), dtype)


def test_stride_defaults_to_the_kernel_size():
    assert MaxPool2d(3).stride == (3, 3) and AvgPool2d((2, 3)).stride == (2, 3)
    assert MaxPool2d(3, 1).stride == (1, 1)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_pool_errors_name_the_problem(cls):
    with pytest.raises(ConfigError, match="padding"):
        cls(2, padding=2)                             # torch: at most half the kernel
    with pytest.raises(ConfigError):
        cls(0)
    with pytest.raises(ShapeError, match="expects input"):
        cls(2)(np.zeros((2, 3, 4)))
    with pytest.raises(ShapeError, match="does not fit"):
        cls(3)(np.zeros((1, 1, 2, 5)))


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", [CASES[0], CASES[3]], ids=[IDS[0], IDS[3]])
def test_pool_results_do_not_depend_on_the_memory_layout_of_the_input(kind, case, rng):
    """Conv outputs are channel-major views; the pools give the same values for them, and keep
    that layout for their output and gradient where no padding copies x (so that the conv
    backward needs no copy)."""
    x = tied(rng, case[0], np.float32)[1]
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    results = []
    for inp in (x, channel_major):
        layer = make_pool(kind, case)
        out = layer(inp)
        dout = 2 * out + 1                    # upstream gradients come in the output's layout
        results.append((out, layer.backward(dout)))
    (out_c, dx_c), (out_t, dx_t) = results
    np.testing.assert_array_equal(out_t, out_c)
    np.testing.assert_array_equal(dx_t, dx_c)
    if case[3] == 0:
        assert out_t.strides[1] > out_t.strides[0] and dx_t.strides[1] > dx_t.strides[0]
