"""Conv2d: float64 numerical gradients, torch parity (float32 and float64), agreement with the
naive loop kernels, im2col/col2im as adjoints (bug 19), and mutations that must be caught."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import DTYPES, assert_close, parity_error, randomise, tensor
from naive_conv import conv_backward_naive, conv_forward_naive

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional import conv as conv_module
from scratchnn.layers import Conv2d

# (x shape, out_channels, kernel_size, stride, padding, bias)
CASES = [
    ((2, 3, 7, 9), 4, 3, 1, 1, True),                # odd sizes, "same" padding
    ((2, 2, 8, 8), 3, 3, 2, 2, True),                # stride 2, padding 2
    ((1, 3, 6, 7), 2, (3, 2), (2, 1), (1, 0), True),  # batch of one, non-square everything
    ((1, 2, 7, 7), 3, (2, 3), 3, 2, False),          # stride that does not divide: floor
    ((3, 1, 5, 5), 2, 5, 1, 0, True),                # kernel as large as the input: 1x1 out
    ((2, 4, 5, 6), 3, 1, 1, 0, True),                # 1x1 convolution
]
IDS = ["odd-pad1", "stride2-pad2", "batch1-nonsquare", "floor-nobias", "full-kernel", "1x1"]


def make_conv(case, rng, dtype=np.float64):
    shape, out_channels, kernel, stride, padding, bias = case
    layer = Conv2d(shape[1], out_channels, kernel, stride, padding, bias=bias, rng=rng,
                   dtype=dtype)
    randomise(layer, rng)
    return layer


def torch_conv(torch, layer, x, dout):
    """torch's conv2d on the layer's parameters -> (out, dx, dweight, dbias or None)."""
    xt = tensor(torch, x, requires_grad=True)
    wt = tensor(torch, layer.weight.data, requires_grad=True)
    bt = tensor(torch, layer.bias.data, requires_grad=True) if layer.bias is not None else None
    out = torch.nn.functional.conv2d(xt, wt, bt, stride=layer.stride, padding=layer.padding)
    out.backward(tensor(torch, dout))
    return (out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
            None if bt is None else bt.grad.numpy())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_gradients_match_numerical_gradients(case, rng):
    layer = make_conv(case, rng)
    x = rng.standard_normal(case[0])
    report = gradcheck.check_layer(layer, x)
    assert [row.name for row in report.rows] == ["input", "weight"] + ["bias"] * case[5]
    assert report.ok, report.table()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_output_and_gradients_match_torch(case, dtype, rng, torch):
    layer = make_conv(case, rng, dtype)
    x = rng.standard_normal(case[0]).astype(dtype)
    out = layer(x)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out_t, dx_t, dweight_t, dbias_t = torch_conv(torch, layer, x, dout)
    # the scale of each sum: the same sums over absolute values (float64, naive loops)
    ax, aw, adout = (np.abs(a.astype(np.float64)) for a in (x, layer.weight.data, dout))
    abias = None if layer.bias is None else np.abs(layer.bias.data.astype(np.float64))
    s, p = layer.stride, layer.padding
    out_size = conv_forward_naive(ax, aw, abias, s, p)
    dx_size, dweight_size, dbias_size = conv_backward_naive(adout, ax, aw, s, p)
    assert_close(out, out_t, dtype, scale=out_size)
    assert_close(layer.backward(dout), dx_t, dtype, scale=dx_size)
    assert_close(layer.weight.grad, dweight_t, dtype, scale=dweight_size)
    if layer.bias is not None:
        assert_close(layer.bias.grad, dbias_t, dtype, scale=dbias_size)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_agrees_with_the_naive_loop_kernels(case, rng):
    layer = make_conv(case, rng)
    x = rng.standard_normal(case[0])
    bias = None if layer.bias is None else layer.bias.data
    expected = conv_forward_naive(x, layer.weight.data, bias, layer.stride, layer.padding)
    out = layer(x)
    assert_close(out, expected, np.float64)
    dout = rng.standard_normal(out.shape)
    dx, dweight, dbias = conv_backward_naive(dout, x, layer.weight.data, layer.stride,
                                             layer.padding)
    assert_close(layer.backward(dout), dx, np.float64)
    assert_close(layer.weight.grad, dweight, np.float64)
    if layer.bias is not None:
        assert_close(layer.bias.grad, dbias, np.float64)


def im2col_case(case):
    shape, _, kernel, stride, padding, _ = case
    return shape, conv_module.pair(kernel), conv_module.pair(stride), conv_module.pair(padding)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_col2im_is_the_adjoint_of_im2col(case, rng):
    """Bug 19: <im2col(x), y> == <x, col2im(y)> for every x and y, which pins col2im's index
    layout, its output size and its handling of padding to im2col's."""
    shape, kernel, stride, padding = im2col_case(case)
    x = rng.standard_normal(shape)
    cols = F.im2col(x, kernel, stride, padding)
    y = rng.standard_normal(cols.shape)
    back = F.col2im(y, shape, kernel, stride, padding)
    assert back.shape == shape
    lhs, rhs = np.vdot(cols, y), np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-12 * (np.abs(cols) * np.abs(y)).sum()


def test_im2col_lays_out_receptive_fields_as_columns():
    x = np.arange(2 * 1 * 3 * 4, dtype=np.float64).reshape(2, 1, 3, 4)
    cols = F.im2col(x, (2, 2), (1, 2), (0, 0))          # out 2x2 per sample
    assert cols.shape == (4, 2 * 2 * 2)
    np.testing.assert_array_equal(cols[:, 0], [0, 1, 4, 5])        # sample 0, output (0, 0)
    np.testing.assert_array_equal(cols[:, 1], [2, 3, 6, 7])        # sample 0, output (0, 1)
    np.testing.assert_array_equal(cols[:, 4], [12, 13, 16, 17])    # sample 1, output (0, 0)


def _col2im_without_overlap(cols, x_shape, kernel, stride, padding):
    """A broken col2im: assigns instead of adding, so overlapping windows overwrite each other."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_h = conv_module.output_size(h, kh, sh, ph)
    out_w = conv_module.output_size(w, kw, sw, pw)
    patches = cols.reshape(c, kh, kw, n, out_h, out_w)
    dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw] = patches[:, i, j]
    return dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def _col2im_cropping_the_corner(cols, x_shape, kernel, stride, padding):
    """A broken col2im: keeps the top-left H x W of the padded gradient instead of its inside
    (the padding offset forgotten)."""
    n, c, h, w = x_shape
    (ph, pw) = padding
    padded = ORIGINAL_COL2IM(cols, (n, c, h + 2 * ph, w + 2 * pw), kernel, stride, (0, 0))
    return padded[:, :, :h, :w]


ORIGINAL_COL2IM = conv_module.col2im


@pytest.mark.parametrize("broken", [_col2im_without_overlap, _col2im_cropping_the_corner])
def test_a_broken_col2im_is_caught_by_the_adjoint_test_gradcheck_and_torch(broken, monkeypatch,
                                                                          rng, torch):
    case = CASES[1]                                      # stride 2 < kernel 3, padding 2
    shape, kernel, stride, padding = im2col_case(case)
    layer = make_conv(case, rng)
    x = rng.standard_normal(shape)
    out_t, dx_t, _, _ = torch_conv(torch, layer, x, np.ones_like(layer(x)))
    monkeypatch.setattr(conv_module, "col2im", broken)
    cols = F.im2col(x, kernel, stride, padding)
    y = rng.standard_normal(cols.shape)
    assert abs(np.vdot(cols, y) - np.vdot(x, conv_module.col2im(y, shape, kernel, stride,
                                                                  padding))) > 1e-3
    assert gradcheck.check_layer(layer, x).max_rel_error > 100 * gradcheck.TOLERANCE
    layer(x)
    assert parity_error(layer.backward(np.ones_like(out_t)), dx_t) > 1e-3


def test_gradcheck_fails_when_conv_backward_is_0_1_percent_too_large(monkeypatch, rng):
    original = F.conv2d_backward
    monkeypatch.setattr(F, "conv2d_backward", lambda dout, cache, input_grad=True: tuple(
        1.001 * g for g in original(dout, cache, input_grad)))
    layer = make_conv(CASES[0], rng)
    report = gradcheck.check_layer(layer, rng.standard_normal(CASES[0][0]))
    assert report.ok is False
    assert {r.name for r in report.rows if r.max_rel_error > 100 * gradcheck.TOLERANCE} == {
        "input", "weight", "bias"}


def test_conv_backward_params_gives_the_same_parameter_gradients_without_dx(rng, monkeypatch):
    layer = make_conv(CASES[1], rng)
    x = rng.standard_normal(CASES[1][0])
    dout = rng.standard_normal(layer(x).shape)
    layer.backward(dout)
    expected = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.zero_grad()
    original = F.conv2d_backward
    monkeypatch.setattr(F, "conv2d_backward", lambda dout, cache, input_grad=True: (
        original(dout, cache, input_grad) if not input_grad else pytest.fail("dx computed")))
    assert layer.backward_params(dout) is None
    np.testing.assert_array_equal(layer.weight.grad, expected[0])
    np.testing.assert_array_equal(layer.bias.grad, expected[1])


def test_conv_output_is_a_view_of_the_product_and_dout_in_that_layout_is_not_copied(rng,
                                                                                    monkeypatch):
    """No needless copies: the output is (F, N*out_h*out_w) memory seen as NCHW, and a gradient
    in that layout reaches the products without a transpose copy."""
    layer = make_conv(CASES[0], rng, np.float32)
    out = layer(rng.standard_normal(CASES[0][0]).astype(np.float32))
    assert out.dtype == np.float32 and out.base is not None
    dout = 2 * out                                       # elementwise results keep the layout
    seen = []
    original = conv_module.col2im
    monkeypatch.setattr(conv_module, "col2im", lambda dcols, *args: seen.append(dcols) or
                        original(dcols, *args))
    layer.backward(dout)
    flat = dout.transpose(1, 0, 2, 3).reshape(dout.shape[1], -1)
    assert np.shares_memory(flat, dout) and seen[0].dtype == np.float32


def test_conv_parameters_follow_torch_shapes_and_he_initialisation():
    layer = Conv2d(3, 16, (5, 3), rng=np.random.default_rng(0))
    assert layer.weight.shape == (16, 3, 5, 3) and layer.bias.shape == (16,)
    assert layer.weight.data.dtype == np.float32
    assert layer.weight.data.std() == pytest.approx(np.sqrt(2 / (3 * 5 * 3)), rel=0.1)
    assert Conv2d(1, 2, 3, bias=False).bias is None


@pytest.mark.parametrize("x_shape, message", [
    ((2, 4, 8, 8), "expects input"),          # wrong channel count
    ((2, 3, 8), "expects input"),             # not NCHW
    ((2, 3, 2, 8), "does not fit"),           # kernel taller than the padded input
])
def test_conv_shape_errors_name_the_problem(x_shape, message):
    with pytest.raises(ShapeError, match=message):
        Conv2d(3, 2, 5, padding=1)(np.zeros(x_shape))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=0), dict(kernel_size=3, stride=0),
                                    dict(kernel_size=3, padding=-1)])
def test_conv_refuses_impossible_settings(kwargs):
    with pytest.raises(ConfigError):
        Conv2d(1, 1, **kwargs)
