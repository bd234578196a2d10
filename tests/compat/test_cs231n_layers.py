"""compat.cs231n.layers / layer_utils against the assignment notebooks' own expected values and
checks (FullyConnectedNets, BatchNormalization, Dropout, ConvolutionalNetworks), at the
tolerances the notebooks state; convention mutations (keep/drop, momentum) must be caught.

Values transcribed from the notebooks' cells and printed outputs; the notebooks seed NumPy's
global generator (np.random.seed(231)) and so do these tests, to draw the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import gradcheck
from scratchnn.compat import cs231n
from scratchnn.compat.cs231n import layers as course_layers
from scratchnn.compat.cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)


@pytest.fixture(autouse=True)
def _keep_global_numpy_state():
    """The notebooks reseed NumPy's global generator; give it back as it was."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def test_affine_forward_notebook_value():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = cs231n.affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-9           # "The error should be around e-9"


def test_affine_backward_notebook_check():
    np.random.seed(231)
    x = np.random.randn(10, 2, 3)
    w = np.random.randn(6, 5)
    b = np.random.randn(5)
    dout = np.random.randn(10, 5)
    dx_num = eval_numerical_gradient_array(lambda x: cs231n.affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: cs231n.affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: cs231n.affine_forward(x, w, b)[0], b, dout)
    _, cache = cs231n.affine_forward(x, w, b)
    dx, dw, db = cs231n.affine_backward(dout, cache)
    assert dx.shape == x.shape                           # (N, d1, d2) back, as the course
    for got, want in [(dx, dx_num), (dw, dw_num), (db, db_num)]:
        assert rel_error(want, got) < 1e-9               # "around e-10 or less"


def test_relu_forward_notebook_value_and_backward():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = cs231n.relu_forward(x)
    correct_out = np.array([[0., 0., 0., 0.],
                            [0., 0., 0.04545455, 0.13636364],
                            [0.22727273, 0.31818182, 0.40909091, 0.5]])
    assert rel_error(out, correct_out) < 5e-8            # "around 5e-8"
    np.random.seed(231)
    x = np.random.randn(10, 10)
    dout = np.random.randn(*x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: cs231n.relu_forward(x)[0], x, dout)
    _, cache = cs231n.relu_forward(x)
    assert rel_error(dx_num, cs231n.relu_backward(dout, cache)) < 1e-10   # "around 3e-12"


@pytest.mark.parametrize("forward, backward", [
    (cs231n.affine_relu_forward, cs231n.affine_relu_backward),
])
def test_affine_relu_sandwich_notebook_check(forward, backward):
    np.random.seed(231)
    x = np.random.randn(2, 3, 4)
    w = np.random.randn(12, 10)
    b = np.random.randn(10)
    dout = np.random.randn(2, 10)
    out, cache = forward(x, w, b)
    dx, dw, db = backward(dout, cache)
    nums = [eval_numerical_gradient_array(lambda v: forward(x, w, b)[0], v, dout)
            for v in (x, w, b)]
    for got, want in zip((dx, dw, db), nums, strict=True):
        assert rel_error(want, got) < 1e-8               # "around e-10 or less"


def test_svm_and_softmax_loss_notebook_checks():
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)
    loss, dx = cs231n.svm_loss(x, y)
    dx_num = eval_numerical_gradient(lambda x: cs231n.svm_loss(x, y)[0], x, verbose=False)
    assert abs(loss - 9) < 0.01                          # "loss should be around 9"
    assert rel_error(dx_num, dx) < 1e-8                  # "dx error should be around 1e-9"
    loss, dx = cs231n.softmax_loss(x, y)
    dx_num = eval_numerical_gradient(lambda x: cs231n.softmax_loss(x, y)[0], x, verbose=False)
    assert abs(loss - 2.3) < 0.01                        # "loss should be close to 2.3"
    assert rel_error(dx_num, dx) < 1e-7                  # "around the order of e-8"


# -- batch norm, layer norm ---------------------------------------------------------------------

def two_layer_activations(n, d1=50, d2=60, d3=3):
    """The BatchNormalization notebook's 'simulated two-layer network'."""
    X = np.random.randn(n, d1)
    W1 = np.random.randn(d1, d2)
    W2 = np.random.randn(d2, d3)
    return np.maximum(0, X.dot(W1)).dot(W2)


def test_batchnorm_train_forward_notebook_check():
    np.random.seed(231)
    a = two_layer_activations(200)
    gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
    a_norm, _ = cs231n.batchnorm_forward(a, gamma, beta, {"mode": "train"})
    # printed: means [11. 12. 13.], stds [0.99999999 1.99999999 2.99999999]
    np.testing.assert_allclose(a_norm.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(a_norm.std(axis=0), [0.99999999, 1.99999999, 2.99999999],
                               atol=1e-8)


def batchnorm_test_time_stats():
    """The notebook's cell: 50 training forwards warm up the running averages, then one
    test-time forward -> the per-feature (means, stds) it prints."""
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(D3), np.zeros(D3)
    for _ in range(50):
        X = np.random.randn(N, D1)
        a = np.maximum(0, X.dot(W1)).dot(W2)
        cs231n.batchnorm_forward(a, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    X = np.random.randn(N, D1)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    a_norm, _ = cs231n.batchnorm_forward(a, gamma, beta, bn_param)
    return a_norm.mean(axis=0), a_norm.std(axis=0)


def check_batchnorm_test_time_matches_notebook():
    means, stds = batchnorm_test_time_stats()
    # printed by the notebook (8 decimals)
    np.testing.assert_allclose(means, [-0.03927354, -0.04349152, -0.10452688], atol=1e-8)
    np.testing.assert_allclose(stds, [1.01531428, 1.01238373, 0.97819988], atol=1e-8)


def test_batchnorm_test_time_notebook_values():
    check_batchnorm_test_time_matches_notebook()


def test_torch_momentum_convention_is_caught(monkeypatch):
    """Mutation: the adapter passing the course's momentum (0.9) straight on as torch's."""
    original = F.running_average
    monkeypatch.setattr(F, "running_average", lambda r, b, m: original(r, b, 1 - m))
    with pytest.raises(AssertionError):
        check_batchnorm_test_time_matches_notebook()


def test_unbiased_running_variance_is_caught(monkeypatch):
    """Mutation: torch's unbiased running variance instead of the course's biased one."""
    original = F.batchnorm_forward

    def unbiased(x, gamma, beta, eps, axes=(0,)):
        out, mean, var, cache = original(x, gamma, beta, eps, axes)
        m = x.size // gamma.size
        return out, mean, var * m / (m - 1), cache

    monkeypatch.setattr(F, "batchnorm_forward", unbiased)
    with pytest.raises(AssertionError):
        check_batchnorm_test_time_matches_notebook()


def test_running_statistics_start_at_zero_and_live_in_the_dict():
    x = np.arange(12.0).reshape(4, 3)
    bn_param = {"mode": "train"}
    cs231n.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.var(axis=0))   # biased


@pytest.mark.parametrize("forward, backward, param", [
    (cs231n.batchnorm_forward, cs231n.batchnorm_backward, {"mode": "train"}),
    (cs231n.batchnorm_forward, cs231n.batchnorm_backward_alt, {"mode": "train"}),
    (cs231n.layernorm_forward, cs231n.layernorm_backward, {}),
])
def test_norm_backward_notebook_check(forward, backward, param):
    np.random.seed(231)
    N, D = 4, 5
    x = 5 * np.random.randn(N, D) + 12
    gamma = np.random.randn(D)
    beta = np.random.randn(D)
    dout = np.random.randn(N, D)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, gamma, beta, param)[0], x, dout)
    da_num = eval_numerical_gradient_array(lambda a: forward(x, a, beta, param)[0],
                                           gamma.copy(), dout)
    db_num = eval_numerical_gradient_array(lambda b: forward(x, gamma, b, param)[0],
                                           beta.copy(), dout)
    _, cache = forward(x, gamma, beta, param)
    dx, dgamma, dbeta = backward(dout, cache)
    # "You should expect to see relative errors between 1e-13 and 1e-8"
    for got, want in [(dx, dx_num), (dgamma, da_num), (dbeta, db_num)]:
        assert rel_error(want, got) < 1e-8


def test_layernorm_forward_notebook_values():
    np.random.seed(231)
    a = two_layer_activations(4)
    a_norm, _ = cs231n.layernorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(a_norm.mean(axis=1), 0, atol=1e-15)
    # printed: stds [0.99999995 0.99999999 1. 0.99999969]
    np.testing.assert_allclose(a_norm.std(axis=1), [0.99999995, 0.99999999, 1.0, 0.99999969],
                               atol=1e-8)
    gamma, beta = np.asarray([3.0, 3.0, 3.0]), np.asarray([5.0, 5.0, 5.0])
    a_norm, _ = cs231n.layernorm_forward(a, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(a_norm.mean(axis=1), 5, atol=1e-14)
    np.testing.assert_allclose(a_norm.std(axis=1), [2.99999985, 2.99999998, 2.99999999,
                                                    2.99999907], atol=1e-8)


# -- convolution, pooling, spatial norms ----------------------------------------------------------

def test_conv_forward_notebook_value():
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = cs231n.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
    assert rel_error(out, correct_out) < 1e-7           # "difference should be around e-8"


def test_max_pool_forward_notebook_value():
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    out, _ = cs231n.max_pool_forward_naive(x, {"pool_width": 2, "pool_height": 2, "stride": 2})
    correct_out = np.array([[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263], [0.38526316, 0.4]]]])
    assert rel_error(out, correct_out) < 1e-7           # "on the order of e-8"


def test_conv_and_pool_backward_notebook_checks():
    np.random.seed(231)
    x = np.random.randn(4, 3, 5, 5)
    w = np.random.randn(2, 3, 3, 3)
    b = np.random.randn(2)
    dout = np.random.randn(4, 2, 5, 5)
    conv_param = {"stride": 1, "pad": 1}
    nums = [eval_numerical_gradient_array(
        lambda v: cs231n.conv_forward_naive(x, w, b, conv_param)[0], v, dout) for v in (x, w, b)]
    _, cache = cs231n.conv_forward_naive(x, w, b, conv_param)
    for got, want in zip(cs231n.conv_backward_naive(dout, cache), nums, strict=True):
        assert rel_error(want, got) < 1e-8               # "around e-8 or less"
    np.random.seed(231)
    x = np.random.randn(3, 2, 8, 8)
    dout = np.random.randn(3, 2, 4, 4)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dx_num = eval_numerical_gradient_array(
        lambda x: cs231n.max_pool_forward_naive(x, pool_param)[0], x, dout)
    _, cache = cs231n.max_pool_forward_naive(x, pool_param)
    # "on the order of e-12" (the notebook prints 3.3e-12; our centred differences, summed
    # element by element, land at 1.3e-11 on the same arrays)
    assert rel_error(cs231n.max_pool_backward_naive(dout, cache), dx_num) < 5e-11


# conv_relu and conv_relu_pool as the ConvolutionalNetworks notebook checks them ("around e-8
# or less"); conv_bn_relu (no notebook cell) puts many ReLU inputs near the kink at 0, where
# centred differences blur: 3e-7 there; and its conv bias has an exactly-zero gradient (batch
# norm removes it), compared absolutely through gradcheck's floor.
@pytest.mark.parametrize("name, size, tolerance", [
    ("conv_relu", 8, 1e-7), ("conv_relu_pool", 16, 1e-7), ("conv_bn_relu", 8, 1e-6)])
def test_conv_sandwich_notebook_checks(name, size, tolerance):
    forward = getattr(cs231n, f"{name}_forward")
    backward = getattr(cs231n, f"{name}_backward")
    np.random.seed(231)
    x = np.random.randn(2, 3, size, size)
    w = np.random.randn(3, 3, 3, 3)
    b = np.random.randn(3)
    conv_param = {"stride": 1, "pad": 1}
    extra = [{"pool_height": 2, "pool_width": 2, "stride": 2}] if name == "conv_relu_pool" else []
    if name == "conv_bn_relu":
        gamma, beta = np.random.randn(3), np.random.randn(3)
        args = lambda v: (x, w, b, gamma, beta, conv_param, {"mode": "train"})  # noqa: E731
        inputs = (x, w, b, gamma, beta)
    else:
        args = lambda v: (x, w, b, conv_param, *extra)  # noqa: E731
        inputs = (x, w, b)
    out, cache = forward(*args(None))
    dout = np.random.randn(*out.shape)
    grads = backward(dout, cache)
    for got, v in zip(grads, inputs, strict=True):
        want = eval_numerical_gradient_array(lambda _: forward(*args(None))[0], v, dout)
        floor = gradcheck.FLOOR if name == "conv_bn_relu" else 1e-8
        assert gradcheck.rel_error(want, got, floor) < tolerance


def test_spatial_batchnorm_notebook_checks():
    np.random.seed(231)
    N, C, H, W = 2, 3, 4, 5
    x = 4 * np.random.randn(N, C, H, W) + 10
    out, _ = cs231n.spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-14)
    # printed: Stds [0.99999962 0.99999951 0.9999996 ], then [2.99999885 3.99999804 4.99999798]
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), [0.99999962, 0.99999951, 0.9999996],
                               atol=1e-8)
    gamma, beta = np.asarray([3, 4, 5]), np.asarray([6, 7, 8])
    out, _ = cs231n.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-13)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), [2.99999885, 3.99999804, 4.99999798],
                               atol=1e-8)
    np.random.seed(231)
    x = 5 * np.random.randn(N, C, H, W) + 12
    gamma, beta, dout = np.random.randn(C), np.random.randn(C), np.random.randn(N, C, H, W)
    param = {"mode": "train"}
    fwd = cs231n.spatial_batchnorm_forward
    dx_num = eval_numerical_gradient_array(lambda x: fwd(x, gamma, beta, param)[0], x, dout)
    da_num = eval_numerical_gradient_array(lambda a: fwd(x, a, beta, param)[0], gamma, dout)
    db_num = eval_numerical_gradient_array(lambda b: fwd(x, gamma, b, param)[0], beta, dout)
    _, cache = fwd(x, gamma, beta, param)
    dx, dgamma, dbeta = cs231n.spatial_batchnorm_backward(dout, cache)
    # "You should expect errors of magnitudes between 1e-12~1e-06"
    for got, want in [(dx, dx_num), (dgamma, da_num), (dbeta, db_num)]:
        assert rel_error(want, got) < 1e-6


def check_spatial_batchnorm_test_time_matches_notebook():
    np.random.seed(231)
    N, C, H, W = 10, 4, 11, 12
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(C), np.zeros(C)
    for _ in range(50):
        x = 2.3 * np.random.randn(N, C, H, W) + 13
        cs231n.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    x = 2.3 * np.random.randn(N, C, H, W) + 13
    a_norm, _ = cs231n.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(a_norm.mean(axis=(0, 2, 3)),
                               [-0.08034406, 0.07562881, 0.05716371, 0.04378383], atol=1e-8)
    np.testing.assert_allclose(a_norm.std(axis=(0, 2, 3)),
                               [0.96718744, 1.0299714, 1.02887624, 1.00585577], atol=1e-8)


def test_spatial_batchnorm_test_time_notebook_values():
    check_spatial_batchnorm_test_time_matches_notebook()


def test_spatial_momentum_mutation_is_caught(monkeypatch):
    original = F.running_average
    monkeypatch.setattr(F, "running_average", lambda r, b, m: original(r, b, 1 - m))
    with pytest.raises(AssertionError):
        check_spatial_batchnorm_test_time_matches_notebook()


def test_spatial_groupnorm_notebook_checks():
    np.random.seed(231)
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 4 * np.random.randn(N, C, H, W) + 10
    gamma, beta = np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1))
    out, _ = cs231n.spatial_groupnorm_forward(x, gamma, beta, G, {})
    grouped = out.reshape(N * G, -1)                     # the notebook's check: per group
    np.testing.assert_allclose(grouped.mean(axis=1), 0, atol=1e-15)
    # "stds close to one". (The one solved notebook found prints 0.99999834 ... 0.99999691, which
    # no eps = 1e-5 group norm gives: torch.nn.functional.group_norm gives 0.99999963
    # 0.99999948 0.99999973 0.99999968 on this x, as we do.)
    np.testing.assert_allclose(grouped.std(axis=1),
                               [0.99999963, 0.99999948, 0.99999973, 0.99999968], atol=1e-8)
    np.random.seed(231)
    x = 5 * np.random.randn(N, C, H, W) + 12
    gamma = np.random.randn(1, C, 1, 1)
    beta = np.random.randn(1, C, 1, 1)
    dout = np.random.randn(N, C, H, W)
    fwd = cs231n.spatial_groupnorm_forward
    dx_num = eval_numerical_gradient_array(lambda x: fwd(x, gamma, beta, G, {})[0], x, dout)
    da_num = eval_numerical_gradient_array(lambda a: fwd(x, a, beta, G, {})[0], gamma, dout)
    db_num = eval_numerical_gradient_array(lambda b: fwd(x, gamma, b, G, {})[0], beta, dout)
    _, cache = fwd(x, gamma, beta, G, {})
    dx, dgamma, dbeta = cs231n.spatial_groupnorm_backward(dout, cache)
    assert dgamma.shape == dbeta.shape == (1, C, 1, 1)   # the course's shapes
    # "You should expect errors of magnitudes between 1e-12 and 1e-07"
    for got, want in [(dx, dx_num), (dgamma, da_num), (dbeta, db_num)]:
        assert rel_error(want, got) < 1e-7


# -- dropout --------------------------------------------------------------------------------------

def check_dropout_keeps_p():
    """The Dropout notebook's cell: p is the KEEP probability, train output mean ~ input mean,
    the share zeroed ~ 1 - p, test time the identity."""
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    for p in [0.25, 0.4, 0.7]:
        out, _ = cs231n.dropout_forward(x, {"mode": "train", "p": p})
        out_test, _ = cs231n.dropout_forward(x, {"mode": "test", "p": p})
        assert abs((out == 0).mean() - (1 - p)) < 0.01
        assert abs(out.mean() - x.mean()) < 0.05 * x.mean()
        assert (out_test == x).all()


def test_dropout_forward_notebook_checks():
    check_dropout_keeps_p()


def test_swapped_keep_probability_is_caught(monkeypatch):
    """Mutation: the adapter reading p as the DROP probability (scratchnn's native meaning)."""
    original = course_layers.dropout_forward
    monkeypatch.setattr(cs231n, "dropout_forward",
                        lambda x, param: original(x, {**param, "p": 1 - param["p"]}))
    with pytest.raises(AssertionError):
        check_dropout_keeps_p()


def test_dropout_backward_notebook_check():
    np.random.seed(231)
    x = np.random.randn(10, 10) + 10
    dout = np.random.randn(*x.shape)
    dropout_param = {"mode": "train", "p": 0.2, "seed": 123}
    out, cache = cs231n.dropout_forward(x, dropout_param)
    dx = cs231n.dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda xx: cs231n.dropout_forward(xx, dropout_param)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-10                 # "around e-10 or less"


def test_dropout_mask_is_the_courses_draw_and_leaves_global_state_alone():
    """With a seed, the mask is np.random.RandomState(seed).rand(...) < p, as the course's
    np.random.seed(seed); np.random.rand(...) < p; the global generator is not reseeded."""
    x = np.ones((30, 40))
    before = np.random.get_state()[1].copy()
    out, _ = cs231n.dropout_forward(x, {"mode": "train", "p": 0.3, "seed": 7})
    expected = (np.random.RandomState(7).rand(30, 40) < 0.3) / 0.3
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_bad_modes_and_probabilities_are_refused():
    with pytest.raises(ValueError, match="KEEP probability"):
        cs231n.dropout_forward(np.ones(3), {"mode": "train", "p": 0})
    with pytest.raises(ValueError, match="Invalid forward"):
        cs231n.dropout_forward(np.ones(3), {"mode": "eval", "p": 0.5})
    with pytest.raises(ValueError, match="Invalid forward"):
        cs231n.batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "eval"})


def test_adapters_call_the_kernels(monkeypatch):
    """No second implementation: breaking a kernel breaks the adapter."""
    monkeypatch.setattr(F, "linear_forward", lambda x, w, b: (x @ w * 0, None))
    out, _ = course_layers.affine_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    assert not out.any()


def test_dropout_without_a_seed_draws_from_the_global_generator():
    """As the course: np.random.seed(s) before a forward fixes the mask."""
    x = np.ones((20, 30))
    np.random.seed(5)
    out, _ = cs231n.dropout_forward(x, {"mode": "train", "p": 0.6})
    np.random.seed(5)
    np.testing.assert_allclose(out, (np.random.rand(20, 30) < 0.6) / 0.6, rtol=1e-15)
