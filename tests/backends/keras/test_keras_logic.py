"""The comparison and logic ops end to end (specs/ops-logic.md): ``keras.ops``
comparisons (tensor/tensor, tensor/constant, int32, int32 against a float constant),
logic chaining (``&``, ``|``, ``^``, ``~``, ``logical_and`` of an int tensor) and
``where`` on floats and ints in a functional model lower to the IR ops with Keras'
dtype promotion made explicit; the emitted ONNX in onnxruntime and the emitted Keras
model (in process, and saved and reloaded with ``safe_mode=True`` in a fresh process)
match the Keras model, bool outputs included, checked outside graphir; refusals name
the operation."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from application_checks import predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.ir import Graph, Node, Value  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402

INPUTS = ("a", "b", "i", "j")


@pytest.fixture(scope="module")
def model():
    """Dense, then comparisons, logic chaining and two wheres; bool, float and int outputs."""
    keras.utils.set_random_seed(7)
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    i = keras.Input((6,), dtype="int32", name="i")
    j = keras.Input((6,), dtype="int32", name="j")
    h = keras.layers.Dense(6, name="dense")(a)
    above = keras.ops.greater(h, b)                      # float tensor / tensor
    low = h < 0.25                                       # float tensor / constant
    not_two = keras.ops.not_equal(i, 2)                  # int32 / int constant
    half = keras.ops.greater_equal(i, 1.5)               # int32 / float: compared in f32
    le = keras.ops.less_equal(i, j)                      # int32 / int32
    logic = (above & ~low) | (not_two ^ half)
    both = keras.ops.logical_and(i, le)                  # an int tensor cast to bool
    picked = keras.ops.where(logic, h, -1.0)             # float where, weak constant
    ints = keras.ops.where(both, i, j)                   # int32 where
    eq = keras.ops.equal(keras.ops.where(above, 1, 0), 1.0)  # int where, then int vs float
    return keras.Model([a, b, i, j], [logic, picked, ints, eq], name="logic")


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(11)
    return [rng.normal(size=(4, 6)).astype(np.float32),
            rng.normal(size=(4, 6)).astype(np.float32),
            rng.integers(0, 4, size=(4, 6)).astype(np.int32),
            rng.integers(0, 4, size=(4, 6)).astype(np.int32)]


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model.predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def _check(got, expected):
    """Bool and int outputs exactly, floats within 1e-6; outputs are not constant."""
    assert [g.dtype for g in got] == [np.bool_, np.float32, np.int32, np.bool_]
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype
        if g.dtype == np.float32:
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(g, e)
    for e in (expected[0], expected[3]):
        assert e.any() and not e.all()
    assert len(np.unique(expected[2])) > 2 and (expected[1] == -1.0).any()


def test_lowering_makes_promotion_explicit(graph):
    ops = [n.op for n in graph.nodes]
    for op in ("greater", "less", "not_equal", "greater_equal", "less_equal", "equal",
               "logical_and", "logical_or", "logical_xor", "logical_not"):
        assert op in ops, op
    assert ops.count("where") == 3 and ops.count("logical_and") == 2
    by_op = {n.op: n for n in graph.nodes}
    casts = {n.attrs["to"] for n in graph.nodes if n.op == "cast"}
    assert casts == {"float32", "bool"}  # int32 vs 1.5, int32 & bool, int where vs 1.0
    ge = by_op["greater_equal"]
    assert ge.inputs[0].endswith("/cast_x1")
    const = graph.weights[ge.inputs[1]]
    assert const.shape == () and const.dtype == np.float32 and float(const) == 1.5
    ne = graph.weights[by_op["not_equal"].inputs[1]]
    assert ne.dtype == np.int32 and int(ne) == 2
    lt = graph.weights[by_op["less"].inputs[1]]
    assert lt.dtype == np.float32 and float(lt) == np.float32(0.25)
    dtypes = {graph.weights[n].dtype.name for node in graph.nodes if node.op == "where"
              for n in node.inputs if n in graph.weights}
    assert dtypes == {"float32", "int32"}  # -1.0 (weak: the tensor's dtype), 1 and 0


def test_onnx_matches_keras(graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(session.run(None, dict(zip(INPUTS, inputs))), expected)


def test_emitted_keras_reloads_without_graphir_and_matches(graph, inputs, expected,
                                                             tmp_path_factory):
    emitted = to_keras(graph)
    _check(emitted.predict(inputs, verbose=0), expected)
    path = tmp_path_factory.mktemp("logic") / "logic.keras"
    save_keras(emitted, path)
    _check(predict_in_fresh_process(path, inputs), expected)


def test_float16_against_a_python_float_is_compared_in_float32():
    """TensorFlow converts 0.1 to float32 and casts the float16 tensor up: float16(0.1)
    < float32(0.1) is true, though float16(0.1) < float16(0.1) would be false."""
    x = keras.Input((3,), dtype="float16", name="x")
    m = keras.Model(x, keras.ops.less(x, 0.1), name="f16")
    graph = from_keras(m)
    assert [n.op for n in graph.nodes] == ["cast", "less"]
    assert graph.nodes[0].attrs["to"] == "float32"
    data = np.array([[0.1, 0.2, 0.0]], np.float16)
    want = m.predict(data, verbose=0)
    np.testing.assert_array_equal(want, [[True, False, True]])
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": data})[0], want)
    np.testing.assert_array_equal(to_keras(graph).predict(data, verbose=0), want)


def test_one_argument_where_is_refused_by_name():
    x = keras.Input((3,), name="x")
    m = keras.Model(x, keras.ops.where(x > 0), name="nonzero")
    with pytest.raises(UnsupportedLayerError, match="data-dependent") as info:
        from_keras(m)
    assert "Where" in str(info.value)


def test_ordering_bools_is_refused_by_name():
    x = keras.Input((3,), dtype="bool", name="x")
    y = keras.Input((3,), dtype="bool", name="y")
    m = keras.Model([x, y], keras.ops.less(x, y), name="bool_less")
    with pytest.raises(UnsupportedLayerError, match="less of bool"):
        from_keras(m)


def test_constant_operands_are_emitted_in_their_dtype():
    """A graph (not from Keras) comparing int8 with an int8 weight and selecting between
    a tensor and a weight: the in-process emitted Keras model computes in the IR's dtypes."""
    x = Value("x", TensorType("int8", ("batch", 3)))
    m = Value("m", TensorType("bool", ("batch", 3)))
    y = Value("y", TensorType("int8", ("batch", 3)))
    graph = Graph("g", (x,), ("m", "y"),
                  (Node("greater", "m", ("x", "c"), (m,)),
                   Node("where", "y", ("m", "x", "fill"), (y,))),
                  {"c": np.array(-2, np.int8), "fill": np.array([-7, 0, 7], np.int8)})
    got = to_keras(graph).predict(np.array([[-3, 5, -1], [120, -128, 0]], np.int8), verbose=0)
    assert got[1].dtype == np.int8
    np.testing.assert_array_equal(got[0], [[False, True, True], [True, False, True]])
    np.testing.assert_array_equal(got[1], [[-7, 5, -1], [120, 0, 0]])


def test_non_bool_operands_and_constant_forms():
    """An int condition, a float logical_not (cast to bool: nonzero is true), an int32
    where against a weak float (cast to float32), an array constant and a bool constant:
    ONNX and the emitted Keras model match Keras exactly."""
    x = keras.Input((4,), name="x")
    i = keras.Input((4,), dtype="int32", name="i")
    outs = [keras.ops.where(i, x, 0.5), keras.ops.logical_not(x),
            keras.ops.where(i > 1, i, 0.5),
            keras.ops.less(x, np.array([0.0, 0.5, -0.5, 1.0], np.float32)),
            keras.ops.logical_or(i > 2, False)]
    m = keras.Model([x, i], outs, name="forms")
    graph = from_keras(m)
    casts = sorted(n.attrs["to"] for n in graph.nodes if n.op == "cast")
    assert casts == ["bool", "bool", "float32"]
    by_op = {n.op: n for n in graph.nodes}
    assert graph.weights[by_op["less"].inputs[1]].shape == (4,)
    assert graph.weights[by_op["logical_or"].inputs[1]].dtype == np.bool_
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(5, 4)).astype(np.float32),
            rng.integers(0, 4, size=(5, 4)).astype(np.int32)]
    data[0][0, :2] = 0.0
    want = m.predict(data, verbose=0)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for got in (session.run(None, {"x": data[0], "i": data[1]}),
                to_keras(graph).predict(data, verbose=0)):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
    assert not want[1].all() and want[1].any()       # the zeros are false
    assert (want[0] == 0.5).any() and (want[2] == 0.5).any()
