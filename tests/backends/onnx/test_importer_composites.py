"""ONNX ops the importer writes as compositions of IR ops
(``graphir/backends/onnx/importer/composite.py``): each hand-built with onnx.helper, run
by onnxruntime (the reference, independent of graphir), imported and run by the
reference interpreter, and the re-emitted ONNX run by onnxruntime again."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from graphir.backends.onnx import to_onnx
from graphir.backends.onnx.importer import OnnxImportError, from_onnx
from graphir.interpreter import evaluate

F = TensorProto.FLOAT


def _model(node, shape, out_shape=None, inits=(), opset=23, extra_inputs=()):
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, shape),
                                        *extra_inputs],
                          [helper.make_tensor_value_info("y", F if node.op_type not in (
                              "IsNaN",) else TensorProto.BOOL, out_shape)],
                          initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def _run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


RNG = np.random.default_rng(0)
X4 = RNG.normal(size=(2, 8, 4, 6)).astype(np.float32)
X3 = RNG.normal(size=(2, 5, 6)).astype(np.float32)
XNAN = X3.copy()
XNAN[0, 1, 2] = np.nan
XNAN[1, 0, :] = np.inf

CASES = {
    "depth_to_space_dcr": (helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2),
                           ["N", 8, 4, 6], X4, ()),
    "depth_to_space_crd": (helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2,
                                            mode="CRD"), ["N", 8, 4, 6], X4, ()),
    "space_to_depth": (helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2),
                       ["N", 8, 4, 6], X4, ()),
    "is_nan": (helper.make_node("IsNaN", ["x"], ["y"]), ["N", 5, 6], XNAN, ()),
    "trilu_upper": (helper.make_node("Trilu", ["x", "k"], ["y"]), ["N", 5, 6], X3,
                    (_init("k", np.asarray(1, np.int64)),)),
    "trilu_lower": (helper.make_node("Trilu", ["x"], ["y"], upper=0), ["N", 5, 6], X3, ()),
    "reduce_sum_square": (helper.make_node("ReduceSumSquare", ["x", "axes"], ["y"]),
                          ["N", 5, 6], X3, (_init("axes", np.asarray([2], np.int64)),)),
    "reduce_l1": (helper.make_node("ReduceL1", ["x", "axes"], ["y"], keepdims=0),
                  ["N", 5, 6], X3, (_init("axes", np.asarray([1], np.int64)),)),
    "reduce_l2": (helper.make_node("ReduceL2", ["x"], ["y"]), ["N", 5, 6], X3, ()),
    "reduce_log_sum": (helper.make_node("ReduceLogSum", ["x", "axes"], ["y"]), ["N", 5, 6],
                       np.abs(X3) + 0.1, (_init("axes", np.asarray([2], np.int64)),)),
    "reduce_log_sum_exp": (helper.make_node("ReduceLogSumExp", ["x", "axes"], ["y"],
                                            keepdims=0), ["N", 5, 6], X3 * 30,
                           (_init("axes", np.asarray([1, 2], np.int64)),)),
    "shrink": (helper.make_node("Shrink", ["x"], ["y"], bias=0.2, lambd=0.4), ["N", 5, 6],
               X3, ()),
    "thresholded_relu": (helper.make_node("ThresholdedRelu", ["x"], ["y"], alpha=0.3),
                         ["N", 5, 6], X3, ()),
    "swish": (helper.make_node("Swish", ["x"], ["y"], alpha=1.5), ["N", 5, 6], X3, ()),
    "hardmax": (helper.make_node("Hardmax", ["x"], ["y"], axis=1), ["N", 5, 6], X3, ()),
    "lp_normalization": (helper.make_node("LpNormalization", ["x"], ["y"], axis=1),
                         ["N", 5, 6], X3, ()),
    "rms_normalization": (helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=1,
                                           epsilon=1e-3), ["N", 5, 6], X3,
                          (_init("s", np.linspace(0.5, 2, 6).astype(np.float32)),)),
    "group_normalization": (helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"],
                                             num_groups=4, epsilon=1e-3), ["N", 8, 4, 6], X4,
                            (_init("s", np.linspace(0.5, 2, 8).astype(np.float32)),
                             _init("b", np.linspace(-1, 1, 8).astype(np.float32)))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_composite_import_matches_onnxruntime(name):
    node, shape, x, inits = CASES[name]
    if name == "swish":   # opset 24, which onnxruntime 1.31 does not run: NumPy's formula
        model = _model(node, shape, None, inits, opset=24)
        want = x * (1.0 / (1.0 + np.exp(-1.5 * x.astype(np.float64))))
    else:
        model = _model(node, shape, None, inits)
        want = _run(model, {"x": x})
    graph = from_onnx(model)
    assert graph.nodes and not any(n.op == node.op_type for n in graph.nodes)
    got = evaluate(graph, {"x": x})["y"]
    again = _run(to_onnx(graph), {"x": x})
    for g in (got, again):
        assert g.shape == want.shape
        if want.dtype == bool:
            np.testing.assert_array_equal(g, want)
        else:
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)


def test_refusals_name_the_reason():
    node = helper.make_node("LpNormalization", ["x"], ["y"], p=1)
    with pytest.raises(OnnxImportError, match="p=1"):
        from_onnx(_model(node, ["N", 5, 6]))
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)
    with pytest.raises(OnnxImportError, match="static sizes"):
        from_onnx(_model(node, ["N", "C", 4, 6]))


def test_top_k_imports_both_outputs():
    k = _init("k", np.asarray([3], np.int64))
    node = helper.make_node("TopK", ["x", "k"], ["y", "i"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, ["N", 5, 6])],
                          [helper.make_tensor_value_info("y", F, None),
                           helper.make_tensor_value_info("i", TensorProto.INT64, None)],
                          initializer=[k])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    x = np.round(X3 * 2) / 2          # ties: equal entries come in index order
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})
    graph = from_onnx(model)
    got = evaluate(graph, {"x": x})
    np.testing.assert_array_equal(got["y"], want[0])
    np.testing.assert_array_equal(got["i"], want[1])
    again = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                 providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(again[1], want[1])
