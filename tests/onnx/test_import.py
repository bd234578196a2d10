"""load: supported ONNX operators -> our layers; export then load gives the same weights bit
for bit; unsupported graphs give one clear error naming the node, the operator and what is
supported."""

from __future__ import annotations

import numpy as np
import pytest
from test_export import SHAPES, assert_same_weights, every_layer, randomise

import scratchnn as snn
from scratchnn import layers as L
from scratchnn.cli import main
from scratchnn.data.transforms import Standardize
from scratchnn.errors import DataError
from scratchnn.onnx import UnsupportedModelError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_export_then_load_gives_the_same_preset(name, tmp_path, rng):
    model = randomise(snn.models.build(name, SHAPES[name], 10, rng=rng), rng)
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=SHAPES[name],
                           preprocess=Standardize((0.3,) * SHAPES[name][0],
                                                  (0.4,) * SHAPES[name][0]))
    loaded = snn.onnx.load(path)                  # the uint8 front is left out
    assert [type(a) for a in loaded] == [type(b) for b in model]
    assert [repr(a) for a in loaded] == [repr(b) for b in model]    # settings too
    assert_same_weights(model, loaded)
    assert loaded.training                        # like any new model


def test_export_then_load_every_layer_but_group_norm(tmp_path, rng):
    model = snn.Sequential(*[layer for layer in randomise(every_layer(rng), rng)
                             if not isinstance(layer, L.GroupNorm)])
    loaded = snn.onnx.load(snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(2, 6, 8)))
    assert [repr(a) for a in loaded] == [repr(b) for b in model]
    assert_same_weights(model, loaded)


# -- hand-made graphs (the operators other exporters write) -----------------------------------

def graph_file(path, nodes, initializers, input_shape, output="y", opset=17, outputs=None):
    """A model file of `nodes` from input "x" (batch, *input_shape) to `output`."""
    inits = [numpy_helper.from_array(np.asarray(v), name) for name, v in initializers.items()]
    graph = helper.make_graph(
        nodes, "hand-made",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
         for o in (outputs or [output])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def test_matmul_add_reshape_dropout_and_a_final_softmax(tmp_path, rng, run_onnx):
    w1 = rng.standard_normal((12, 5), np.float32)
    w2 = rng.standard_normal((5, 3), np.float32)
    b1 = rng.standard_normal(5, np.float32)
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(
            np.array([-1, 12], np.int64))),
        helper.make_node("Reshape", ["x", "shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "w1"], ["h"], name="fc1"),
        helper.make_node("Add", ["b1", "h"], ["hb"], name="fc1_bias"),
        helper.make_node("Tanh", ["hb"], ["t"]),
        helper.make_node("Dropout", ["t", "ratio"], ["d"], name="drop"),
        helper.make_node("MatMul", ["d", "w2"], ["s"], name="fc2"),
        helper.make_node("Softmax", ["s"], ["y"], axis=-1)]
    path = graph_file(tmp_path / "m.onnx", nodes, {"w1": w1, "b1": b1, "w2": w2,
                                                   "ratio": np.float32(0.2)}, (3, 2, 2))
    model = snn.onnx.load(path)
    assert [type(layer) for layer in model] == [L.Flatten, L.Linear, L.Tanh, L.Dropout,
                                                L.Linear]
    assert model[3].p == 0.2 and model[4].bias is None
    x = rng.standard_normal((37, 3, 2, 2), np.float32)
    probabilities = run_onnx(path, x)["y"]
    scores = model.eval().forward(x)
    np.testing.assert_allclose(snn.functional.losses.softmax(scores), probabilities, **TOL)


def test_gemm_with_torch_layout_and_global_average_pool(tmp_path, rng, run_onnx):
    conv = rng.standard_normal((4, 2, 3, 3), np.float32)
    fc = rng.standard_normal((3, 4), np.float32)           # torch's (out, in)
    nodes = [
        helper.make_node("Conv", ["x", "k"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["a"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1)]
    path = graph_file(tmp_path / "m.onnx", nodes, {"k": conv, "fc": fc, "fcb": np.ones(3,
                      np.float32)}, (2, 9, 9))
    model = snn.onnx.load(path)
    assert [type(layer) for layer in model] == [L.Conv2d, L.ReLU, L.AvgPool2d,
                                                L.GlobalAvgPool2d, L.Linear]
    x = rng.standard_normal((5, 2, 9, 9), np.float32)
    np.testing.assert_allclose(model.eval().forward(x), run_onnx(path, x)["y"], **TOL)


@pytest.mark.parametrize("node, message", [
    (helper.make_node("LSTM", ["x"], ["y"], name="rnn"),
     r"node 'rnn' \(LSTM\): operator LSTM is not supported; supported: Gemm, MatMul"),
    (helper.make_node("Conv", ["x", "k"], ["y"], name="c", dilations=[2, 2]),
     r"node 'c' \(Conv\): attribute dilations=\(2, 2\) is not supported \(only "
     r"dilations=\(1, 1\)\)"),
    (helper.make_node("Conv", ["x", "k"], ["y"], name="c", pads=[0, 0, 1, 1]),
     r"node 'c' \(Conv\): attribute pads=\[0, 0, 1, 1\] is not supported"),
    (helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2], ceil_mode=1),
     r"node 'p' \(MaxPool\): attribute ceil_mode=1 is not supported"),
    (helper.make_node("Relu", ["x"], ["y"], name="r", beta=2.0),
     r"node 'r' \(Relu\): attribute 'beta' is not supported \(supported: none\)"),
    (helper.make_node("Conv", ["x", "x"], ["y"], name="c"),
     r"node 'c' \(Conv\): input 1 \(W\) must be a constant"),
])
def test_unsupported_operators_and_attributes_give_one_clear_error(node, message, tmp_path):
    path = graph_file(tmp_path / "bad.onnx", [node],
                      {"k": np.ones((2, 2, 3, 3), np.float32)}, (2, 4, 4))
    with pytest.raises(UnsupportedModelError, match=message) as error:
        snn.onnx.load(path)
    assert "\n" not in str(error.value) and str(error.value).startswith(str(path))
    assert isinstance(error.value, DataError)         # the CLI's exit 2


def test_a_graph_that_is_not_a_chain_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="left"),
             helper.make_node("Sigmoid", ["x"], ["b"], name="right"),
             helper.make_node("Add", ["a", "b"], ["y"], name="join")]
    with pytest.raises(UnsupportedModelError, match="feeds 2 nodes"):
        snn.onnx.load(graph_file(tmp_path / "m.onnx", nodes, {}, (3,)))
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r"),
             helper.make_node("Softmax", ["x2"], ["z"], name="stray")]
    with pytest.raises(UnsupportedModelError, match="'stray'.*not on the chain"):
        snn.onnx.load(graph_file(tmp_path / "m.onnx", nodes, {}, (3,)))


def test_a_softmax_inside_the_graph_is_refused(tmp_path):
    nodes = [helper.make_node("Softmax", ["x"], ["s"], name="sm"),
             helper.make_node("Relu", ["s"], ["y"])]
    with pytest.raises(UnsupportedModelError, match="only as the last node"):
        snn.onnx.load(graph_file(tmp_path / "m.onnx", nodes, {}, (3,)))


def test_loaded_models_gradient_check_and_train(tmp_path, rng):
    model = randomise(snn.models.build("simple-convnet", (1, 8, 8), 3, rng=rng, filter_size=3,
                                       filter_num=4, hidden_size=6), rng)
    loaded = snn.onnx.load(snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(1, 8, 8)))
    loaded.to_dtype(np.float64).train()
    x = rng.standard_normal((3, 1, 8, 8))
    report = snn.gradcheck.check_model(loaded, snn.losses.SoftmaxCrossEntropy(), x,
                                       np.array([0, 1, 2]), rng=rng)
    assert report.ok, report.table()


def test_loaded_models_go_through_the_doctor(tmp_path, rng):
    model = snn.Sequential(L.Flatten(), L.Linear(64, 32, rng=rng), L.BatchNorm1d(32), L.ReLU(),
                           L.Linear(32, 10, rng=rng))
    loaded = snn.onnx.load(snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(1, 8, 8)))
    digits = snn.data.load("digits")
    report = snn.doctor(loaded, snn.losses.SoftmaxCrossEntropy(),
                        digits.x_train.astype(np.float32) / 16, digits.y_train, samples=300)
    assert [f for f in report.findings if f.severity in ("warning", "critical")] == []


def test_oversized_and_malformed_files_are_refused(tmp_path, rng):
    model = snn.Sequential(L.Linear(4, 3, rng=rng))
    path = snn.onnx.export(model, tmp_path / "m.onnx", input_shape=(4,))
    with pytest.raises(DataError, match="more than the 100 an ONNX model may have"):
        snn.onnx.load(path, max_bytes=100)
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07\x12\xff\xff")
    with pytest.raises(DataError, match="not an ONNX model"):
        snn.onnx.load(tmp_path / "junk.onnx")
    with pytest.raises(DataError, match="no such file"):
        snn.onnx.load(tmp_path / "missing.onnx")


def test_external_data_is_never_opened(tmp_path):
    """A tensor may name an external file; load refuses it instead of reading that file."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(12, np.float32).tobytes())
    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=str(secret))
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    path = graph_file(tmp_path / "m.onnx", nodes, {}, (4,))
    proto = onnx.load_model_from_string(path.read_bytes())
    proto.graph.initializer.append(weight)
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(DataError, match="external file, which is never read"):
        snn.onnx.load(path)


def test_cli_maps_a_bad_file_to_exit_2(tmp_path, capsys):
    """`scratchnn export` of something that is not a run: one line, exit 2."""
    (tmp_path / "model.npz").write_bytes(b"not a model")
    assert main(["export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scratchnn: error:" in err


def test_onnx_is_imported_only_when_export_or_load_runs():
    import subprocess
    import sys

    code = ("import sys, scratchnn as snn, scratchnn.cli; snn.onnx.export; "
            "assert 'onnx' not in sys.modules, [m for m in sys.modules if m.startswith('onnx')]")
    subprocess.run([sys.executable, "-c", code], check=True)
