"""compat.cs231n's models against the notebooks: assignment 2's TwoLayerNet and
FullyConnectedNet (FullyConnectedNets, Dropout and BatchNormalization notebooks),
ThreeLayerConvNet (ConvolutionalNetworks) and assignment 1's TwoLayerNet (two_layer_net);
trained by compat.Solver; convention mutations caught."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import compat
from scratchnn.compat import cs231n, dict_l2
from scratchnn.compat.cs231n import fc_net, layers, neural_net
from scratchnn.compat.cs231n.gradient_check import eval_numerical_gradient, rel_error


@pytest.fixture(autouse=True)
def _keep_global_numpy_state():
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def gradient_errors(model, X, y, h=1e-5):
    """The notebooks' loop: rel_error of the numerical and analytic gradient of each param."""
    _, grads = model.loss(X, y)
    errors = {}
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]  # noqa: E731
        grad_num = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        errors[name] = rel_error(grad_num, grads[name])
    return errors


def test_two_layer_net_notebook_values():
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    std = 1e-3
    model = cs231n.TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)
    assert abs(model.params["W1"].std() - std) < std / 10
    assert abs(model.params["W2"].std() - std) < std / 10
    assert not model.params["b1"].any() and not model.params["b2"].any()
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    correct_scores = np.asarray(
        [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
          16.09215096],
         [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
          16.18839143],
         [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
          16.2846319]])
    assert np.abs(model.loss(X) - correct_scores).sum() < 1e-6
    y = np.asarray([0, 5, 1])
    assert abs(model.loss(X, y)[0] - 3.4702243556) < 1e-10
    model.reg = 1.0
    assert abs(model.loss(X, y)[0] - 26.5948426952) < 1e-10
    for reg in [0.0, 0.7]:
        model.reg = reg
        errors = gradient_errors(model, X, y)
        assert max(errors.values()) < 1e-6, errors      # "Errors should be around e-7 or less"


def fc_cell(configs):
    """The notebooks' FullyConnectedNet cells: one seed, then one model per config, in order
    (each model's weights continue the global generator's sequence) -> [(loss, errors)]."""
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))
    results = []
    for config in configs:
        model = cs231n.FullyConnectedNet([H1, H2], input_dim=D, num_classes=C,
                                         weight_scale=5e-2, dtype=np.float64, **config)
        results.append((model.loss(X, y)[0], gradient_errors(model, X, y)))
    return results


def test_fully_connected_net_notebook_values():
    (loss0, errors0), (loss1, errors1) = fc_cell([{"reg": 0}, {"reg": 3.14}])
    assert loss0 == pytest.approx(2.3004790897684924, abs=1e-12)   # printed "Initial loss"
    assert loss1 == pytest.approx(7.052114776533016, abs=1e-12)
    # "expect to see errors around 1e-6 or less"; the notebook itself prints W2 2.21e-05 at
    # reg = 0 (a ReLU kink), and so do we
    assert errors0.pop("W2") < 3e-5
    assert max(errors0.values()) < 1e-6 and max(errors1.values()) < 1e-6


def check_dropout_net_losses():
    """The Dropout notebook's cell (dropout = KEEP probability, seed 123): its printed losses."""
    (loss1, _), (loss75, errors75) = fc_cell([{"dropout": 1, "seed": 123},
                                              {"dropout": 0.75, "seed": 123}])
    assert loss1 == pytest.approx(2.3004790897684924, abs=1e-12)
    assert loss75 == pytest.approx(2.302371489704412, abs=1e-12)
    assert max(errors75.values()) < 1e-5                 # "around e-6 or less"


def test_dropout_net_notebook_values():
    check_dropout_net_losses()


def test_swapped_keep_probability_in_the_net_is_caught(monkeypatch):
    original = layers.dropout_forward
    monkeypatch.setattr(fc_net, "dropout_forward",
                        lambda x, param: original(x, {**param, "p": 1 - param["p"]}))
    with pytest.raises(AssertionError):
        check_dropout_net_losses()


def test_batchnorm_net_notebook_values():
    (loss0, errors0), (loss1, errors1) = fc_cell([{"normalization": "batchnorm", "reg": 0},
                                                  {"normalization": "batchnorm", "reg": 3.14}])
    assert loss0 == pytest.approx(2.2611955101340957, abs=1e-12)
    assert loss1 == pytest.approx(6.996533220108303, abs=1e-12)
    for errors in (errors0, errors1):
        # "expect losses between 1e-4~1e-10 for W, 1e-08~1e-10 for b, 1e-08~1e-09 for beta
        # and gammas". b1, b2 feed batch norm, which removes them: their true gradient is 0 (the
        # notebook prints 0.00e+00; see the next test), and a relative error of centred
        # differences' 1e-14 noise against 0 means nothing, so they are not compared here.
        assert all(errors[f"W{i}"] <= 1.1e-4 for i in (1, 2, 3))
        assert errors["b3"] < 1e-8
        assert all(errors[f"{p}{i}"] < 1e-8 for p in ("gamma", "beta") for i in (1, 2))


def test_bias_before_batchnorm_has_zero_gradient():
    np.random.seed(0)
    model = cs231n.FullyConnectedNet([6], input_dim=4, num_classes=3, dtype=np.float64,
                                     normalization="batchnorm")
    _, grads = model.loss(np.random.randn(5, 4), np.array([0, 1, 2, 0, 1]))
    assert np.abs(grads["b1"]).max() < 1e-15


def test_layernorm_net_gradients():
    """The BatchNormalization notebook's layernorm variant of the same cell."""
    (loss0, errors0), (_, errors1) = fc_cell([{"normalization": "layernorm", "reg": 0},
                                              {"normalization": "layernorm", "reg": 3.14}])
    assert abs(loss0 - np.log(10)) < 0.2
    for errors in (errors0, errors1):
        assert max(errors.values()) < 1e-5


def test_nets_pass_test_mode_to_batchnorm_and_dropout():
    np.random.seed(0)
    model = cs231n.FullyConnectedNet([8], input_dim=4, num_classes=3, dtype=np.float64,
                                     normalization="batchnorm", dropout_keep_ratio=0.5)
    X = np.random.randn(6, 4)
    model.loss(X, np.zeros(6, int))
    assert model.bn_params[0]["mode"] == "train"
    np.testing.assert_array_equal(model.loss(X), model.loss(X))     # test mode: deterministic
    assert model.bn_params[0]["mode"] == "test" and model.dropout_param["mode"] == "test"


def test_three_layer_convnet_notebook_checks():
    np.random.seed(231)
    model = cs231n.ThreeLayerConvNet()
    X = np.random.randn(50, 3, 32, 32)
    y = np.random.randint(10, size=50)
    loss, _ = model.loss(X, y)
    assert abs(loss - np.log(10)) < 1e-3                 # "about log(C)"
    model.reg = 0.5
    assert model.loss(X, y)[0] > loss                    # "should go up slightly"
    np.random.seed(231)
    X = np.random.randn(2, 3, 16, 16)
    y = np.random.randint(10, size=2)
    model = cs231n.ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=(3, 16, 16),
                                     hidden_dim=7, dtype=np.float64)
    errors = gradient_errors(model, X, y, h=1e-6)
    # "correct implementations may have relative errors up to the order of e-2"; the notebook
    # prints W1 1.4e-04, W2 1.8e-02, W3 3.1e-04, b1 3.5e-05, b2 2.5e-03, b3 7.9e-10
    assert max(errors.values()) < 1e-1, errors


def test_assignment1_two_layer_net_notebook_values():
    np.random.seed(0)
    net = neural_net.TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X = 10 * np.random.randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    correct_scores = np.asarray([[-0.81233741, -1.27654624, -0.70335995],
                                 [-0.17129677, -1.18803311, -0.47310444],
                                 [-0.51590475, -1.01354314, -0.8504215],
                                 [-0.15419291, -0.48629638, -0.52901952],
                                 [-0.00618733, -0.12435261, -0.15226949]])
    assert np.sum(np.abs(net.loss(X) - correct_scores)) < 1e-7     # "We get < 1e-7"
    loss, grads = net.loss(X, y, reg=0.05)
    assert np.sum(np.abs(loss - 1.30378789133)) < 1e-12            # "we get < 1e-12"
    for name in grads:
        f = lambda _: net.loss(X, y, reg=0.05)[0]  # noqa: E731
        numeric = eval_numerical_gradient(f, net.params[name], verbose=False)
        assert rel_error(numeric, grads[name]) < 1e-8              # "less than 1e-8"
    np.testing.assert_array_equal(net.predict(X), np.argmax(net.loss(X), axis=1))


def test_assignment1_half_reg_convention_is_caught(monkeypatch):
    """Mutation: assignment 2's reg/2 ||W||^2 in assignment 1's net."""
    original = fc_net.two_layer_loss
    monkeypatch.setattr(fc_net, "two_layer_loss", lambda p, X, y, l2: original(p, X, y, l2 / 2))
    with pytest.raises(AssertionError):
        test_assignment1_two_layer_net_notebook_values()


def test_reg_goes_through_l2_penalty(monkeypatch):
    """One implementation of the course-style L2 term: scratchnn.losses.l2_penalty."""
    calls = []
    original = dict_l2.l2_penalty
    monkeypatch.setattr(dict_l2, "l2_penalty", lambda w, reg: calls.append(reg) or original(w, reg))
    np.random.seed(0)
    model = cs231n.FullyConnectedNet([5], input_dim=3, num_classes=2, reg=0.3)
    model.loss(np.random.randn(4, 3), np.array([0, 1, 0, 1]))
    assert calls == [0.3]


def test_solver_trains_a_fully_connected_net_to_overfit():
    """The notebooks' "overfit a small dataset" check, through compat.Solver."""
    rng = np.random.default_rng(0)
    centres = 3 * rng.standard_normal((3, 10))
    y = rng.integers(0, 3, 60)
    X = centres[y] + rng.standard_normal((60, 10))
    data = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}
    np.random.seed(0)
    model = cs231n.FullyConnectedNet([20, 20], input_dim=10, num_classes=3, weight_scale=0.1,
                                     normalization="batchnorm", dropout_keep_ratio=0.9, seed=1)
    solver = compat.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                           num_epochs=15, batch_size=10, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.best_val_acc >= 0.9


def test_bad_options_are_refused():
    with pytest.raises(Exception, match="KEEP probability"):
        cs231n.FullyConnectedNet([3], dropout_keep_ratio=0)
    with pytest.raises(Exception, match="normalization"):
        cs231n.FullyConnectedNet([3], normalization="groupnorm")



def test_the_courses_own_solver_and_compat_solver_train_the_net_alike():
    """FullyConnectedNet (batch norm) under the course's Solver loop (transcribed in
    test_solver.py) and under compat.Solver drawing the same batches: the same histories and
    the same weights."""
    from test_solver import original_solver

    rng = np.random.default_rng(4)
    centres = 2 * rng.standard_normal((3, 6))
    y = rng.integers(0, 3, 150)
    X = centres[y] + rng.standard_normal((150, 6))
    data = {"X_train": X[:100], "y_train": y[:100], "X_val": X[100:], "y_val": y[100:]}
    settings = {"optim_config": {"learning_rate": 1e-2}, "lr_decay": 0.9, "batch_size": 20,
                "num_epochs": 3, "num_train_samples": 50}

    def build():
        np.random.seed(5)
        return cs231n.FullyConnectedNet([16, 16], input_dim=6, num_classes=3,
                                        weight_scale=0.1, normalization="batchnorm",
                                        dtype=np.float64)

    reference = build()
    expected = original_solver(reference, data, compat.UPDATE_RULES["adam"], seed=7, **settings)
    model = build()
    solver = compat.Solver(model, data, update_rule="adam", sampling="replacement",
                           rng=np.random.RandomState(7), verbose=False, **settings)
    solver.train()
    assert solver.loss_history == expected[0]
    assert solver.val_acc_history == expected[2]
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], reference.params[name])


def test_solver_overfits_a_three_layer_convnet():
    """ConvolutionalNetworks' "overfit small data" cell, in miniature."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((20, 3, 8, 8))
    y = rng.integers(0, 4, 20)
    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}
    np.random.seed(231)
    model = cs231n.ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=6, filter_size=3,
                                     hidden_dim=30, num_classes=4, weight_scale=1e-1)
    solver = compat.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                           num_epochs=15, batch_size=10, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
