"""The sequence ops (``repeat_vector``, ``time_fold``, ``time_unfold``; specs/ops-sequence.md)
without TensorFlow: type rules and their rejections, the NumPy kernels against
independent loop formulas, a fold -> dense -> unfold graph (what TimeDistributed(Dense)
lowers to) in the interpreter, and the ONNX emitters in onnxruntime against the
interpreter (static, dynamic and NCHW-only shapes)."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.dtypes import DType
from graphir.errors import GraphInvariantError
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.sequence import repeat_vector, time_fold, time_unfold
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph


def _t(*shape, dtype="float32") -> TensorType:
    return TensorType(dtype, shape)


# ------------------------------------------------------------------ type rules

@pytest.mark.parametrize("shape,n,want", [
    (("batch", 32), 3, ("batch", 3, 32)),
    ((2, None), 1, (2, 1, None)),
])
def test_repeat_vector_type(shape, n, want):
    (out,) = infer_types("repeat_vector", [_t(*shape, dtype="int32")], {"n": n})
    assert out == _t(*want, dtype="int32")


@pytest.mark.parametrize("shape", [("batch",), ("batch", 2, 3)])
def test_repeat_vector_rejects_other_ranks(shape):
    with pytest.raises(TypeRuleError) as info:
        infer_types("repeat_vector", [_t(*shape)], {"n": 2})
    assert info.value.input_index == 0 and "rank 2" in str(info.value)


def test_repeat_vector_rejects_n_below_one():
    with pytest.raises(TypeRuleError, match="n=0"):
        infer_types("repeat_vector", [_t("batch", 4)], {"n": 0})


def test_repeat_vector_n_is_a_required_int():
    schema = get_schema("repeat_vector")
    assert "missing required attribute 'n'" in schema.check_attrs({})
    assert "must be int" in schema.check_attrs({"n": 2.0})
    assert schema.check_attrs({"n": 2}) is None


@pytest.mark.parametrize("shape,want", [
    (("batch", 5, 8, 8, 3), (None, 8, 8, 3)),   # symbolic batch: merged dim unknown
    ((2, None, 7), (None, 7)),                  # dynamic time
    ((2, 5, 7), (10, 7)),                       # both static: the product
    ((2, 5, None, "h"), (10, None, "h")),       # feature dims are kept as they are
])
def test_time_fold_type(shape, want):
    (out,) = infer_types("time_fold", [_t(*shape, dtype="float16")], {})
    assert out == _t(*want, dtype="float16")


@pytest.mark.parametrize("shape", [("batch", 5), ("batch",)])
def test_time_fold_rejects_rank_below_three(shape):
    with pytest.raises(TypeRuleError) as info:
        infer_types("time_fold", [_t(*shape)], {})
    assert info.value.input_index == 0 and info.value.expected == "rank >= 3"


@pytest.mark.parametrize("y,x,want", [
    ((None, 4), ("batch", 5, 3), ("batch", 5, 4)),
    ((None,), ("batch", None, 3), ("batch", None)),
    ((10, 2, 2), (2, 5, 9), (2, 5, 2, 2)),
    ((12, 4), ("batch", 3, 1), ("batch", 3, 4)),   # 12 rows: a multiple of T=3
])
def test_time_unfold_type_takes_batch_and_time_from_x_and_dtype_from_y(y, x, want):
    (out,) = infer_types("time_unfold", [_t(*y), _t(*x, dtype="int32")], {})
    assert out == _t(*want)


@pytest.mark.parametrize("y,x,index,text", [
    ((), ("batch", 5, 3), 0, "scalar"),
    ((None, 4), ("batch",), 1, "rank >= 2"),
    ((9, 4), (2, 5, 3), 0, "9 rows"),              # 9 != 2 * 5
    ((7, 4), ("batch", 5, 3), 0, "7 rows"),        # not a multiple of T = 5
])
def test_time_unfold_rejections(y, x, index, text):
    with pytest.raises(TypeRuleError) as info:
        infer_types("time_unfold", [_t(*y), _t(*x)], {})
    assert info.value.input_index == index and text in str(info.value)


# ------------------------------------------------------------------ kernels

def test_repeat_vector_kernel_copies_each_sample_n_times():
    x = np.random.default_rng(0).normal(size=(3, 4))
    y = repeat_vector([x], {"n": 5})
    assert y.shape == (3, 5, 4)
    for b in range(3):
        for i in range(5):
            np.testing.assert_array_equal(y[b, i], x[b])


def test_time_fold_kernel_row_order_and_unfold_inverse():
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 5))
    folded = time_fold([x], {})
    assert folded.shape == (6, 4, 5)
    for n in range(2):
        for t in range(3):
            np.testing.assert_array_equal(folded[n * 3 + t], x[n, t])
    np.testing.assert_array_equal(time_unfold([folded, x], {}), x)


def test_time_unfold_kernel_checks_the_row_count():
    with pytest.raises(ValueError, match="N\\*T"):
        time_unfold([np.zeros((5, 2)), np.zeros((2, 3, 1))], {})


def test_kernels_reject_wrong_ranks():
    with pytest.raises(ValueError):
        repeat_vector([np.zeros((2, 3, 4))], {"n": 2})
    with pytest.raises(ValueError):
        time_fold([np.zeros((2, 3))], {})


# ------------------------------------------------------------------ graphs

def _td_dense_graph(x_shape, seed=0) -> Graph:
    """fold -> dense (relu) -> unfold, what TimeDistributed(Dense(3, relu)) lowers to."""
    rng = np.random.default_rng(seed)
    x = Value("x", _t(*x_shape))
    d = x_shape[-1]
    weights = {"td/dense/kernel": rng.normal(size=(d, 3)).astype(np.float32),
               "td/dense/bias": rng.normal(size=(3,)).astype(np.float32)}
    (ft,) = infer_types("time_fold", [x.type], {})
    fold = Node("time_fold", "td/fold", ("x",), (Value("td/fold", ft),), {})
    dattrs = {"units": 3, "activation": "relu"}
    (dt,) = infer_types("dense", [ft, _t(d, 3), _t(3)], dattrs)
    dense = Node("dense", "td/dense", ("td/fold", "td/dense/kernel", "td/dense/bias"),
                 (Value("td/dense", dt),), dattrs)
    (ut,) = infer_types("time_unfold", [dt, x.type], {})
    unfold = Node("time_unfold", "td", ("td/dense", "x"), (Value("td", ut),), {})
    return verify_graph(Graph("g", (x,), ("td",), (fold, dense, unfold), weights))


@pytest.mark.parametrize("x_shape", [("batch", 4, 6), ("batch", None, 6), (2, 4, 6)])
def test_folded_dense_equals_dense_on_every_time_step(x_shape):
    graph = _td_dense_graph(x_shape)
    assert graph.node("td").output.type.shape == ("batch" if x_shape[0] == "batch" else 2,
                                                 x_shape[1], 3)
    x = np.random.default_rng(2).normal(size=(2, 4, 6)).astype(np.float32)
    k, b = graph.weights["td/dense/kernel"], graph.weights["td/dense/bias"]
    want = np.stack([np.maximum(x[:, t].astype(np.float64) @ k + b, 0) for t in range(4)], 1)
    got = evaluate(graph, {"x": x})["td"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_verifier_reports_a_bad_unfold():
    graph = _td_dense_graph(("batch", 4, 6))
    bad = Node("time_unfold", "td", ("td/dense", "td/dense"),
               (Value("td", _t("batch", 4, 3)),), {})
    with pytest.raises(GraphInvariantError, match="time_unfold"):
        verify_graph(Graph("g", graph.inputs, ("td",), graph.nodes[:2] + (bad,),
                           graph.weights))


# ------------------------------------------------------------------ ONNX

def _run_onnx(graph: Graph, feeds: dict) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    from graphir.backends.onnx import to_onnx

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(list(graph.outputs), feeds)


@pytest.mark.parametrize("x_shape", [("batch", 4, 6), ("batch", None, 6), (2, 4, 6)])
def test_onnx_fold_dense_unfold_matches_the_interpreter(x_shape):
    graph = _td_dense_graph(x_shape)
    x = np.random.default_rng(3).normal(size=(2, 4, 6)).astype(np.float32)
    (got,) = _run_onnx(graph, {"x": x})
    np.testing.assert_allclose(got, evaluate(graph, {"x": x})["td"], rtol=1e-5, atol=1e-5)


def _chain(x_type: TensorType, ops_attrs) -> Graph:
    """x -> op1 -> op2 ... (each op applied to the previous value), typed by the rules."""
    nodes, types, prev = [], {"x": x_type}, "x"
    for i, (op, inputs, attrs) in enumerate(ops_attrs):
        name = f"n{i}"
        ins = tuple(prev if v == "@" else v for v in inputs)
        (t,) = infer_types(op, [types[v] for v in ins], attrs)
        nodes.append(Node(op, name, ins, (Value(name, t),), attrs))
        types[name], prev = t, name
    return verify_graph(Graph("g", (Value("x", x_type),), (prev,), tuple(nodes), {}))


@pytest.mark.parametrize("shape,feed", [
    (("batch", None, None, 3), (2, 3, 4, 3)),      # dynamic time and features
    (("batch", 3, 0, 2), (2, 3, 0, 2)),            # a zero-sized feature axis
    ((2, 3, 4, 3), (2, 3, 4, 3)),                  # fully static
])
def test_onnx_fold_then_unfold_restores_any_shape(shape, feed):
    graph = _chain(_t(*shape), [("time_fold", ("@",), {}), ("relu", ("@",), {
        "max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
        ("time_unfold", ("@", "x"), {})])
    x = np.random.default_rng(4).normal(size=feed).astype(np.float32)
    (got,) = _run_onnx(graph, {"x": x})
    np.testing.assert_array_equal(got, np.maximum(x, 0))


def test_onnx_unfold_reads_batch_and_time_of_an_nchw_only_reference():
    # x -> conv2d (exists only as NCHW in ONNX); treat its H axis as time: fold the
    # conv output, softmax, unfold against the conv output
    rng = np.random.default_rng(5)
    kernel = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)
    cattrs = {"strides": (1, 1), "padding": "same", "dilations": (1, 1), "groups": 1,
              "activation": "linear", "data_format": "channels_last"}
    x = Value("x", _t("batch", None, 5, 2))
    (ct,) = infer_types("conv2d", [x.type, _t(3, 3, 2, 4)], cattrs)
    conv = Node("conv2d", "c", ("x", "k"), (Value("c", ct),), cattrs)
    (ft,) = infer_types("time_fold", [ct], {})
    fold = Node("time_fold", "f", ("c",), (Value("f", ft),), {})
    pool = Node("max_pool2d", "p", ("c",), (Value("p", infer_types("max_pool2d", [ct], {
        "pool_size": (1, 1), "strides": (1, 1), "padding": "valid",
        "data_format": "channels_last"})[0]),), {"pool_size": (1, 1), "strides": (1, 1),
                                                  "padding": "valid",
                                                  "data_format": "channels_last"})
    (st,) = infer_types("softmax", [ft], {"axis": -1})
    soft = Node("softmax", "s", ("f",), (Value("s", st),), {"axis": -1})
    (ut,) = infer_types("time_unfold", [st, pool.output.type], {})
    # the reference is the pool output (NCHW-only in ONNX), whose dims equal c's
    unfold = Node("time_unfold", "u", ("s", "p"), (Value("u", ut),), {})
    graph = verify_graph(Graph("g", (x,), ("u",), (conv, fold, pool, soft, unfold),
                               {"k": kernel}))
    feed = {"x": rng.normal(size=(2, 6, 5, 2)).astype(np.float32)}
    (got,) = _run_onnx(graph, feed)
    np.testing.assert_allclose(got, evaluate(graph, feed)["u"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_onnx_repeat_vector(dtype):
    graph = _chain(_t("batch", 3, dtype=dtype), [("repeat_vector", ("@",), {"n": 4})])
    x = np.arange(6).reshape(2, 3).astype(dtype)
    (got,) = _run_onnx(graph, {"x": x})
    assert got.dtype == np.dtype(dtype) and got.shape == (2, 4, 3)
    np.testing.assert_array_equal(got, evaluate(graph, {"x": x})["n0"])
    np.testing.assert_array_equal(got[:, 2], x)


def test_sequence_dtypes_survive_the_interpreter():
    graph = _chain(_t("batch", 2, 3, dtype="int32"), [("time_fold", ("@",), {}),
                                                       ("time_unfold", ("@", "x"), {})])
    assert graph.node("n1").output.type.dtype == DType.INT32
    x = np.arange(12, dtype=np.int32).reshape(2, 2, 3)
    np.testing.assert_array_equal(evaluate(graph, {"x": x})["n1"], x)
