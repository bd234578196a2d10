"""Fuzzing the ONNX loader, as tests/test_fuzz.py fuzzes the other readers: random bytes,
randomly damaged exports and hand-made graphs of random operators, attributes and tensors give
a Sequential or a one-line DataError (UnsupportedModelError included); never another exception,
never a hang, never code run. The counts of files tried are checked by the last test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_export import architectures

import scratchnn as snn
from scratchnn import layers as L
from scratchnn.data.transforms import Standardize
from test_fuzz import evil_pickles, fuzz, random_or_damaged, read_cleanly

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TRIED: dict[str, int] = {}          # kind of file -> how many were loaded
LOADED: dict[str, int] = {}         # kind of file -> how many gave a model


def load_cleanly(path, kind: str):
    TRIED[kind] = TRIED.get(kind, 0) + 1
    model = read_cleanly(snn.onnx.load, path, f"onnx-{kind}")
    if model is not None:
        assert isinstance(model, snn.Sequential)
        LOADED[kind] = LOADED.get(kind, 0) + 1
    return model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-fuzz")


@pytest.fixture(scope="module")
def exported(workdir) -> bytes:
    rng = np.random.default_rng(0)
    model = snn.Sequential(L.Conv2d(1, 2, 3, padding=1, rng=rng), L.BatchNorm2d(2), L.ReLU(),
                           L.MaxPool2d(2), L.Flatten(), L.Dropout(0.2), L.Linear(8, 3, rng=rng))
    path = snn.onnx.export(model, workdir / "small.onnx", input_shape=(1, 4, 4),
                           preprocess=Standardize((0.5,), (0.25,)), classes=["a", "b", "c"])
    return path.read_bytes()


@fuzz(400)
@given(data=st.data())
def test_damaged_exports_give_only_data_errors(workdir, exported, data):
    path = workdir / "fuzzed.onnx"
    path.write_bytes(data.draw(random_or_damaged(exported)))
    model = load_cleanly(path, "damaged")
    if model is not None:                   # the damage hit bytes the loader does not need
        assert len(model) >= 1


# -- hand-made graphs ---------------------------------------------------------------------------

OPS = ["Gemm", "MatMul", "Add", "Conv", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "MaxPool",
       "AveragePool", "GlobalAveragePool", "BatchNormalization", "LayerNormalization",
       "Flatten", "Reshape", "Dropout", "Softmax", "Identity", "Constant", "Cast", "LSTM"]
ATTRIBUTES = ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "axis",
              "alpha", "beta", "transA", "transB", "epsilon", "momentum", "training_mode",
              "ceil_mode", "count_include_pad", "allowzero", "ratio", "value", "value_ints"]
values = st.one_of(
    st.integers(-3, 4), st.sampled_from([2**40, -(2**40)]), st.floats(allow_nan=True),
    st.lists(st.integers(-2, 5), max_size=5), st.sampled_from(["VALID", "SAME_UPPER", "x"]),
    st.lists(st.integers(0, 2**20), min_size=2, max_size=4))
dims = st.lists(st.one_of(st.integers(0, 6), st.sampled_from([2**31, 2**62])), max_size=4)


@st.composite
def tensors(draw, name: str):
    """A float32 (sometimes int64 or odd) initializer, perhaps with data of the wrong size."""
    shape = draw(dims)
    kind = draw(st.sampled_from(["float", "float", "int64", "double", "wrong-size", "typed"]))
    size = math.prod(shape) if math.prod(shape) < 5000 else 3
    if kind == "typed":             # values in float_data, perhaps not as many as the dims say
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
        tensor.float_data.extend([0.5] * draw(st.integers(0, 8)))
        return tensor
    dtype = {"int64": np.int64, "double": np.float64}.get(kind, np.float32)
    tensor = numpy_helper.from_array(np.linspace(-1, 1, size).astype(dtype), name)
    del tensor.dims[:]
    tensor.dims.extend(shape if kind != "wrong-size" else [size + 1])
    return tensor


@st.composite
def graphs(draw) -> bytes:
    names = ["x"]
    initializers = [draw(tensors(f"w{i}")) for i in range(draw(st.integers(0, 4)))]
    constants = [t.name for t in initializers]
    nodes = []
    for i in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(OPS))
        inputs = [names[-1] if draw(st.booleans()) else draw(st.sampled_from(names))]
        inputs += draw(st.lists(st.sampled_from(constants + names + [""]), max_size=3))
        attributes = {key: draw(values) for key in draw(st.lists(st.sampled_from(ATTRIBUTES),
                                                                max_size=3, unique=True))}
        if op == "Constant" and draw(st.booleans()):
            attributes = {"value": draw(tensors(f"c{i}"))}
            inputs = []
        try:
            node = helper.make_node(op, inputs, [f"t{i}"], name=f"n{i}", **attributes)
        except (ValueError, TypeError):
            node = helper.make_node(op, inputs, [f"t{i}"], name=f"n{i}")
        nodes.append(node)
        names.append(f"t{i}")
    shape = draw(st.one_of(st.just(["N", 1, 4, 4]), st.just(["N", 16]), dims))
    outputs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    graph = helper.make_graph(
        nodes, "fuzz", [helper.make_tensor_value_info(
            "x", draw(st.sampled_from([TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT64])),
            shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=initializers)
    opset = helper.make_opsetid(draw(st.sampled_from(["", "", "com.example"])), 17)
    return helper.make_model(graph, opset_imports=[opset]).SerializeToString()


@fuzz(400)
@given(blob=graphs())
def test_hand_made_graphs_give_a_working_model_or_data_errors(workdir, blob):
    path = workdir / "hand-made.onnx"
    path.write_bytes(blob)
    model = load_cleanly(path, "hand-made")
    if model is None:
        return
    proto = onnx.load_model_from_string(blob)
    sample = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]]
    if math.prod(sample) <= 4096:           # what loaded also runs, forward and backward
        x = np.zeros((2, *sample), np.float32)
        out = model.train().forward(x)
        assert model.backward(np.ones_like(out)).shape == x.shape


@fuzz(300)
@given(architecture=architectures(), data=st.data())
def test_exports_with_one_structural_change_give_a_working_model_or_data_errors(
        workdir, architecture, data):
    """A valid export of a random architecture, then one change the byte-level damage above
    rarely makes: an attribute, an operator, a tensor's dims or a node's input."""
    model, shape = architecture
    snn.onnx.export(model, workdir / "valid.onnx", input_shape=shape)
    proto = onnx.load_model_from_string((workdir / "valid.onnx").read_bytes())
    nodes, inits = proto.graph.node, proto.graph.initializer
    node = nodes[data.draw(st.integers(0, len(nodes) - 1))]
    change = data.draw(st.sampled_from(["attribute", "op", "dims", "input", "remove", "none"]))
    if change == "attribute":
        key, value = data.draw(st.sampled_from(ATTRIBUTES)), data.draw(values)
        try:
            attribute = helper.make_attribute(key, value)
        except (ValueError, TypeError):
            attribute = None
        if attribute is not None:
            for i in reversed(range(len(node.attribute))):
                if node.attribute[i].name == key:
                    del node.attribute[i]
            node.attribute.append(attribute)
    elif change == "op":
        node.op_type = data.draw(st.sampled_from(OPS))
    elif change == "dims" and len(inits):
        tensor = inits[data.draw(st.integers(0, len(inits) - 1))]
        del tensor.dims[:]
        tensor.dims.extend(data.draw(dims))
    elif change == "input" and len(node.input):
        tensors = ["x", "input", ""] + [t.name for t in inits] + [n.output[0] for n in nodes]
        node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(
            st.sampled_from(tensors))
    elif change == "remove":
        nodes.remove(node)
    path = workdir / "changed.onnx"
    path.write_bytes(proto.SerializeToString())
    loaded = load_cleanly(path, "changed")
    if loaded is not None:
        x = np.random.default_rng(0).standard_normal((2, *shape), np.float32)
        if change == "none":
            np.testing.assert_array_equal(loaded.eval().forward(x), model.eval().forward(x))
        out = loaded.train().forward(x)
        assert loaded.backward(np.ones_like(out)).shape == x.shape


def test_no_code_runs_from_a_pickle_given_as_onnx(workdir):
    marker = workdir / "code-was-run"
    path = workdir / "evil.onnx"
    for blob in evil_pickles(marker):
        path.write_bytes(blob)
        assert load_cleanly(path, "pickle") is None
    assert not marker.exists(), "the ONNX loader ran code from a file"


def test_hundreds_of_onnx_files_were_tried():
    """Runs last in this file: the counts of the fuzzing above."""
    if TRIED.keys() != {"damaged", "hand-made", "changed", "pickle"}:
        pytest.skip("run the whole file to count the files tried")
    print(f"ONNX files tried: {TRIED} ({sum(TRIED.values())} in all); loaded: {LOADED}")
    assert TRIED["damaged"] >= 400 and TRIED["hand-made"] >= 400, TRIED
    assert TRIED["changed"] >= 300 and LOADED["changed"] >= 50, LOADED
