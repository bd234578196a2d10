"""Sequential and the Layer base: shape errors that name the layer, parameters in order,
state_dict keys and round trips, train/eval propagation, zero_grad, and one SGD step that
lowers a convex loss (bug 2)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import ConfigError, ShapeError
from scratchnn.layer import Sequential
from scratchnn.layers import BatchNorm1d, Dropout, Flatten, Linear, ReLU, Sigmoid
from scratchnn.losses import MSE


def model_with_state(seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(4, 5, rng=rng), ReLU(), BatchNorm1d(5), Dropout(0.2, rng=rng),
                       Linear(5, 2, rng=rng))
    for p in model.parameters():
        p.data = rng.standard_normal(p.data.shape).astype(np.float32)
    model[2].running_mean = rng.standard_normal(5).astype(np.float32)
    model[2].running_var = rng.uniform(0.5, 2, 5).astype(np.float32)
    return model


# -- Sequential ---------------------------------------------------------------------------------

def test_shape_mismatch_inside_sequential_names_the_layer_index_class_and_both_shapes(rng):
    model = Sequential(Linear(4, 5, rng=rng), ReLU(), Linear(3, 2, rng=rng))
    with pytest.raises(ShapeError) as error:
        model(rng.standard_normal((6, 4)).astype(np.float32))
    message = str(error.value)
    assert "layer 2" in message and "Linear" in message
    assert "(N, 3)" in message and "(6, 5)" in message          # expected and received


def test_shape_mismatch_in_a_nested_sequential_names_both_levels(rng):
    model = Sequential(Flatten(), Sequential(Linear(12, 3, rng=rng), BatchNorm1d(4)))
    with pytest.raises(ShapeError, match=r"layer 1 \(Sequential\): layer 1 \(BatchNorm1d\)"):
        model(rng.standard_normal((2, 3, 4)).astype(np.float32))


def test_sequential_refuses_something_that_is_not_a_layer():
    with pytest.raises(TypeError, match="at 1"):
        Sequential(ReLU(), lambda x: x)


def test_sequential_refuses_one_layer_object_in_two_places(rng):
    """Its second forward would overwrite the first one's cache: silently wrong gradients."""
    relu = ReLU()
    with pytest.raises(ConfigError, match=r"layer 2 \(ReLU\) is the same object"):
        Sequential(Linear(3, 3, rng=rng), relu, relu)


def test_sequential_lists_parameters_in_layer_order_with_dotted_names():
    model = model_with_state()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert len(model) == 5 and model[-1] is model[4]


def test_sequential_forward_and_backward_chain_the_layers_in_order_and_reverse(rng):
    model = Sequential(Linear(3, 4, rng=rng), Sigmoid(), Linear(4, 2, rng=rng))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    dout = rng.standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_array_equal(model(x), model[2](model[1](model[0](x))))
    dx = model[0].backward(model[1].backward(model[2].backward(dout)))
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    np.testing.assert_array_equal(model.backward(dout), dx)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)


def test_sequential_backward_before_forward_raises_a_runtime_error(rng):
    model = Sequential(Linear(3, 2, rng=rng), ReLU())
    with pytest.raises(RuntimeError, match="ReLU"):
        model.backward(np.ones((1, 2), np.float32))


# -- modes --------------------------------------------------------------------------------------

def test_train_and_eval_propagate_through_nested_sequentials():
    model = Sequential(model_with_state(), Sequential(Dropout(0.5), BatchNorm1d(2)))
    assert all(layer.training for layer in model.modules())   # new layers start in train mode
    assert model.eval() is model
    assert not any(layer.training for layer in model.modules())
    model.train()
    assert all(layer.training for layer in model.modules())
    model.train(False)
    assert not any(layer.training for layer in model.modules())


def test_eval_mode_gives_the_same_output_on_every_call(rng):
    """Bug 23: dropout and batch norm must be deterministic at inference."""
    model = model_with_state().eval()
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(model(x), model(x))


def test_zero_grad_sets_every_grad_of_a_model_to_none(rng):
    model = model_with_state()
    model(rng.standard_normal((6, 4)).astype(np.float32))
    model.backward(np.ones((6, 2), np.float32))
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# -- state_dict ---------------------------------------------------------------------------------

def test_state_dict_has_dotted_keys_for_parameters_and_buffers():
    state = model_with_state().state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean",
                           "2.running_var", "4.weight", "4.bias"]
    assert state["0.weight"].shape == (4, 5) and state["2.running_var"].shape == (5,)


def test_load_state_dict_round_trip_reproduces_the_model(rng, tmp_path):
    source, target = model_with_state(1), model_with_state(2)
    np.savez(tmp_path / "model.npz", **source.state_dict())
    with np.load(tmp_path / "model.npz", allow_pickle=False) as saved:
        target.load_state_dict(dict(saved))
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value)
        assert target.state_dict()[key].dtype == value.dtype
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(target.eval()(x), source.eval()(x))


def test_load_state_dict_copies_the_arrays():
    source, target = model_with_state(1), model_with_state(2)
    state = {k: v.copy() for k, v in source.state_dict().items()}
    target.load_state_dict(state)
    state["0.weight"][:] = 0
    state["2.running_mean"][:] = 0
    assert np.all(target[0].weight.data == source[0].weight.data)
    assert np.all(target[2].running_mean == source[2].running_mean)


def test_load_state_dict_with_a_missing_or_unexpected_key_names_them():
    state = model_with_state().state_dict()
    state["9.weight"] = state.pop("2.running_var")
    with pytest.raises(ShapeError, match=r"missing \['2.running_var'\].*unexpected \['9.weight'\]"):
        model_with_state().load_state_dict(state)


def test_load_state_dict_with_a_wrong_shape_names_the_key_and_both_shapes():
    state = model_with_state().state_dict()
    state["4.weight"] = np.zeros((2, 5), np.float32)
    target = model_with_state(3)
    before = target[0].weight.data.copy()
    with pytest.raises(ShapeError, match=r"'4.weight'.*\(2, 5\).*\(5, 2\)"):
        target.load_state_dict(state)
    np.testing.assert_array_equal(target[0].weight.data, before)   # nothing half-loaded


# -- one optimisation step (bug 2) ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_sgd_step_on_linear_regression_lowers_the_loss(dtype, rng):
    model = Sequential(Linear(3, 2, rng=rng, dtype=dtype))
    x = rng.standard_normal((16, 3)).astype(dtype)
    y = (x @ rng.standard_normal((3, 2)) + 0.5).astype(dtype)
    loss_fn = MSE()
    before = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    for p in model.parameters():
        p.data -= 0.05 * p.grad
    assert loss_fn(model(x), y) < before


def test_one_sgd_step_decreases_the_quadratic_loss_by_exactly_lr_g2_minus_curvature(rng):
    """The MSE of a Linear layer is quadratic: L(theta - lr g) = L - lr |g|^2 + lr^2/2 g'Hg, and
    g'Hg / |g|^2 lies between the extreme eigenvalues of H, 2 / (N M) * sigma([x 1])^2. A wrong
    sign, a missing 1/N or a gradient for the wrong parameter lands outside these bounds."""
    n, d, m, lr = 16, 3, 2, 0.01
    model = Sequential(Linear(d, m, rng=rng, dtype=np.float64))
    x = rng.standard_normal((n, d))
    y = x @ rng.standard_normal((d, m)) + 0.5
    loss_fn = MSE()
    before = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    g2 = sum(float(np.sum(p.grad**2)) for p in model.parameters())
    for p in model.parameters():
        p.data -= lr * p.grad
    after = loss_fn(model(x), y)
    sigma = np.linalg.svd(np.hstack([x, np.ones((n, 1))]), compute_uv=False)
    lambda_min, lambda_max = 2 / (n * m) * sigma.min() ** 2, 2 / (n * m) * sigma.max() ** 2
    curvature = lr * g2 - (before - after)
    rounding = 1e-12 * before
    assert after < before
    assert lr**2 / 2 * lambda_min * g2 - rounding <= curvature
    assert curvature <= lr**2 / 2 * lambda_max * g2 + rounding


def test_sequential_backward_params_skips_only_what_the_data_would_need(rng, monkeypatch):
    """Layers before the first with parameters do not run; that one gets backward_params; the
    parameter gradients are those of backward."""
    first = Linear(4, 3, rng=rng)
    model = Sequential(Flatten(), first, ReLU(), Linear(3, 2, rng=rng))
    x = rng.standard_normal((5, 2, 2)).astype(np.float32)
    model.forward(x)
    model.backward(np.ones((5, 2), np.float32))
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    monkeypatch.setattr(Flatten, "backward", lambda self, dout: pytest.fail("Flatten ran"))
    model.forward(x)
    assert model.backward_params(np.ones((5, 2), np.float32)) is None
    for p, grad in zip(model.parameters(), expected, strict=True):
        np.testing.assert_array_equal(p.grad, grad)


def test_sequential_indexes_as_lists_do(rng):
    model = Sequential(Linear(4, 3, rng=rng), ReLU())
    assert model[0] is model[-2] and isinstance(model[1], ReLU) and model[-1] is model[1]
    for index in (2, 5, -3):
        with pytest.raises(IndexError, match="out of range"):
            model[index]
