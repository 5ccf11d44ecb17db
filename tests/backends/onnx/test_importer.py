"""The ONNX frontend (``graphir.from_onnx``) on hand-built ONNX models, without TensorFlow.

The expected values come from onnxruntime running the original ONNX model (independent of
the importer); the IR result comes from the NumPy reference interpreter.
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import graphir
from graphir.backends.onnx import to_onnx
from graphir.errors import ModelFileError, UnsafeModelError
from graphir.backends.onnx.importer import OnnxImportError, from_onnx
from graphir.interpreter import evaluate

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset=18):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _ort(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def _cnn(pads=(1, 1, 1, 1)):
    """NCHW: Conv -> Relu -> MaxPool -> Conv(depthwise) -> GlobalAveragePool -> Flatten -> Gemm."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w2")
    wd = numpy_helper.from_array(rng.standard_normal((4, 5)).astype(np.float32), "wd")
    bd = numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "bd")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=list(pads), name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], group=4, pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], name="head"),
    ]
    return _model(nodes, [helper.make_tensor_value_info("x", F, ["N", 3, 8, 8])],
                  [helper.make_tensor_value_info("y", F, ["N", 5])], [w1, b1, w2, wd, bd])


@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 0, 0, 0), (2, 0, 1, 1)])
def test_nchw_cnn_matches_onnxruntime_and_keeps_names(pads):
    model = _cnn(pads)
    graph = graphir.from_onnx(model)
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    want = _ort(model, {"x": x})["y"]
    got = evaluate(graph, {"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert [v.name for v in graph.inputs] == ["x"] and graph.outputs == ("y",)
    assert "w1" not in graph.weights  # re-laid out: (O, I, kh, kw) -> (kh, kw, I, O)
    ops = [n.op for n in graph.nodes]
    assert "depthwise_conv2d" in ops and "dense" in ops
    # a CNN imported from NCHW keeps one transpose, at the input boundary
    assert ops.count("transpose") == 1, str(graph)
    # the pass is what removed them: without it every channels-first op has two
    raw = from_onnx(model)
    assert sum(n.op == "transpose" for n in raw.nodes) >= 6


def test_import_is_deterministic_and_reemits():
    model = _cnn()
    a, b = graphir.from_onnx(model), graphir.from_onnx(model.SerializeToString())
    assert str(a) == str(b)
    assert to_onnx(a).SerializeToString() == to_onnx(b).SerializeToString()
    x = np.random.default_rng(2).standard_normal((3, 3, 8, 8)).astype(np.float32)
    again = _ort(to_onnx(a), {"x": x})["y"]
    np.testing.assert_allclose(again, _ort(model, {"x": x})["y"], rtol=1e-4, atol=1e-5)


def test_static_shape_subgraph_is_folded():
    # y = Reshape(x, Concat(Shape(x)[0:1], [-1])): the batch is symbolic, the rest static
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.asarray(0, np.int64), "zero"),
             numpy_helper.from_array(np.asarray([0], np.int64), "axes"),
             numpy_helper.from_array(np.asarray([-1], np.int64), "minus1")]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["batch", 2, 3])],
                   [helper.make_tensor_value_info("y", F, ["batch", 6])], inits)
    graph = graphir.from_onnx(model)
    assert [n.op for n in graph.nodes] == ["reshape"]
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    np.testing.assert_array_equal(evaluate(graph, {"x": x})["y"], x.reshape(2, 6))


def test_constant_node_becomes_named_weight():
    c = numpy_helper.from_array(np.asarray([1.0, 2.0], np.float32), "c")
    nodes = [helper.make_node("Constant", [], ["k"], value=c),
             helper.make_node("Mul", ["x", "k"], ["y"])]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, [None, 2])],
                   [helper.make_tensor_value_info("y", F, [None, 2])])
    graph = graphir.from_onnx(model)
    assert list(graph.weights) == ["k"]


def _err(model) -> OnnxImportError:
    with pytest.raises(OnnxImportError) as info:
        from_onnx(model)
    assert isinstance(info.value, graphir.BadInputError)
    return info.value


def _one(op, attrs=None, inputs=("x",), extra_inits=(), opset=18):
    node = helper.make_node(op, list(inputs), ["y"], name="the_node", **(attrs or {}))
    return _model([node], [helper.make_tensor_value_info("x", F, [2, 3, 4, 4])],
                  [helper.make_tensor_value_info("y", F, None)], extra_inits, opset=opset)


def test_unsupported_op_names_node_op_and_opset():
    e = _err(_one("Det"))
    assert (e.node, e.op_type, e.opset) == ("the_node", "Det", 18)
    assert "the_node" in str(e) and "Det" in str(e) and "18" in str(e)


def test_control_flow_is_refused():
    body = helper.make_graph([], "body", [], [])
    node = helper.make_node("If", ["c"], ["y"], name="branch", then_branch=body, else_branch=body)
    model = _model([node], [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                   [helper.make_tensor_value_info("y", F, None)])
    e = _err(model)
    assert e.op_type == "If" and "control flow" in str(e)


def test_unsupported_attribute_value_is_refused():
    e = _err(_one("ArgMax", {"axis": 1, "select_last_index": 1}))
    assert e.op_type == "ArgMax" and "select_last_index" in str(e)


def test_unknown_attribute_is_refused():
    e = _err(_one("Relu", {"bogus": 1}))
    assert "bogus" in str(e)


def test_runtime_shape_is_refused():
    node = helper.make_node("Reshape", ["x", "s"], ["y"], name="dyn")
    model = _model([node], [helper.make_tensor_value_info("x", F, [2, 3]),
                            helper.make_tensor_value_info("s", TensorProto.INT64, [2])],
                   [helper.make_tensor_value_info("y", F, None)])
    e = _err(model)
    assert e.node == "dyn" and "import time" in str(e)


def test_old_opset_is_converted():
    # opset 11: Squeeze takes axes as an attribute; the version converter brings it to 13
    node = helper.make_node("Squeeze", ["x"], ["y"], axes=[0])
    model = _model([node], [helper.make_tensor_value_info("x", F, [1, 3])],
                   [helper.make_tensor_value_info("y", F, [3])], opset=11)
    graph = from_onnx(model)
    np.testing.assert_array_equal(evaluate(graph, {"x": np.ones((1, 3), np.float32)})["y"],
                                  np.ones(3))


def _external_model(folder, location):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = numpy_helper.from_array(arr, "w")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(arr.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    node = helper.make_node("Add", ["x", "w"], ["y"])
    model = _model([node], [helper.make_tensor_value_info("x", F, [2, 3])],
                   [helper.make_tensor_value_info("y", F, [2, 3])], [t])
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path, arr


def test_external_data_inside_the_folder_is_read(tmp_path):
    path, arr = _external_model(tmp_path, "w.bin")
    (tmp_path / "w.bin").write_bytes(arr.tobytes())
    graph = from_onnx(path)
    np.testing.assert_array_equal(graph.weights["w"], arr)


def test_external_data_outside_the_folder_is_refused(tmp_path):
    inner = tmp_path / "model"
    inner.mkdir()
    (tmp_path / "secret.bin").write_bytes(np.zeros(6, np.float32).tobytes())
    path, _ = _external_model(inner, "../secret.bin")
    # the safe loader (graphir.backends.onnx.safe_load) refuses before reading a byte
    with pytest.raises(UnsafeModelError, match="inside the model.s folder"):
        from_onnx(path)
    # a symlink inside the folder that points out of it is refused too
    os.symlink(tmp_path / "secret.bin", inner / "link.bin")
    path, _ = _external_model(inner, "link.bin")
    with pytest.raises(UnsafeModelError, match="symbolic links"):
        from_onnx(path)


def test_not_a_model_is_a_typed_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf \xff\xff")
    with pytest.raises(ModelFileError, match="bad.onnx"):
        from_onnx(bad)
    with pytest.raises(OnnxImportError):
        from_onnx(bad.read_bytes())


CONFORMANCE_SUBSET = ["test_add_bcast", "test_averagepool_2d_pads_count_include_pad",
                      "test_maxpool_2d_same_lower", "test_maxpool_2d_ceil",
                      "test_gemm_all_attributes", "test_matmul_4d", "test_softmax_axis_1",
                      "test_flatten_negative_axis1", "test_split_2d_uneven_split_opset18",
                      "test_transpose_all_permutations_3", "test_gelu_tanh_2",
                      "test_div_int32_trunc", "test_shape_start_1_end_negative_1",
                      "test_spacetodepth_example_expanded"]


def test_conformance_subset_passes():
    from graphir.backends.onnx_conformance import run_conformance

    result = run_conformance(CONFORMANCE_SUBSET)
    assert [n for n, _ in result["passed"]] == CONFORMANCE_SUBSET, result


def test_conformance_catches_a_wrong_result(monkeypatch):
    # the broken twin: an importer that maps Sub to add must be reported as failed
    from graphir.backends.onnx.importer import elementwise, registry
    from graphir.backends.onnx_conformance import run_one

    broken = registry.Converter(elementwise._binary("add"), frozenset())
    monkeypatch.setitem(registry._CONVERTERS, "Sub", broken)
    assert run_one("test_sub")[0] == "failed"
    assert run_one("test_sub_bcast")[0] == "failed"


@pytest.mark.parametrize("reverse", [0, 1])
def test_cumsum_and_constant_of_a_symbolic_shape(reverse):
    """CumSum (both directions) -> cumsum; ConstantOfShape(Shape(x)) with a symbolic
    batch -> full_like (not a refusal); numbers as onnxruntime's."""
    nodes = [
        helper.make_node("CumSum", ["x", "axis"], ["c"], reverse=reverse),
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("ConstantOfShape", ["s"], ["k"],
                         value=numpy_helper.from_array(np.asarray([1.5], np.float32))),
        helper.make_node("Mul", ["c", "k"], ["y"]),
    ]
    axis = numpy_helper.from_array(np.asarray(1, np.int64), "axis")
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["N", 5])],
                   [helper.make_tensor_value_info("y", F, ["N", 5])], [axis])
    graph = from_onnx(model)
    assert {"cumsum", "full_like"} <= {n.op for n in graph.nodes}
    x = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    want = _ort(model, {"x": x})["y"]
    np.testing.assert_allclose(evaluate(graph, {"x": x})["y"], want, rtol=1e-6, atol=1e-6)
    back = _ort(to_onnx(graph), {"x": x})
    np.testing.assert_allclose(back["y"], want, rtol=1e-6, atol=1e-6)


def test_exclusive_cumsum_is_refused():
    nodes = [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=1)]
    axis = numpy_helper.from_array(np.asarray(0, np.int64), "axis")
    model = _model(nodes, [helper.make_tensor_value_info("x", F, [4])],
                   [helper.make_tensor_value_info("y", F, [4])], [axis])
    with pytest.raises(OnnxImportError, match="exclusive=1"):
        from_onnx(model)


def test_a_reshape_of_the_batch_axis_on_a_symbolic_batch_imports():
    """Reshape (N, 4, 6) -> (-1, 6) -> (-1, 4, 6): axis 0 merged with others then split
    again, on a symbolic N (the merge is the importer's time_fold, the split an
    array_reshape), numbers as onnxruntime's."""
    rows = numpy_helper.from_array(np.asarray([-1, 6], np.int64), "rows")
    back = numpy_helper.from_array(np.asarray([-1, 4, 6], np.int64), "back")
    nodes = [helper.make_node("Reshape", ["x", "rows"], ["r"]),
             helper.make_node("Relu", ["r"], ["a"]),
             helper.make_node("Reshape", ["a", "back"], ["y"])]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, ["N", 4, 6])],
                   [helper.make_tensor_value_info("y", F, ["N", 4, 6])], [rows, back])
    graph = from_onnx(model)
    assert [n.op for n in graph.nodes] == ["time_fold", "relu", "array_reshape"]
    x = np.random.default_rng(3).standard_normal((3, 4, 6)).astype(np.float32)
    want = _ort(model, {"x": x})["y"]
    np.testing.assert_array_equal(evaluate(graph, {"x": x})["y"], want)
    np.testing.assert_array_equal(_ort(to_onnx(graph), {"x": x})["y"], want)


@pytest.mark.parametrize("op_type,direction,layout", [
    ("LSTM", "forward", 0), ("LSTM", "bidirectional", 0), ("LSTM", "reverse", 1),
    ("GRU", "bidirectional", 1), ("RNN", "forward", 0)])
def test_recurrent_initial_states_and_cell_output(op_type, direction, layout):
    """``initial_h``/``initial_c`` graph inputs and the ``Y_c`` output (once refused) import
    into the recurrent ops' initial-state inputs and a ``result="c"`` node; onnxruntime
    on the original model is the reference, and the re-emitted ONNX fuses the nodes of
    one ONNX node back into one."""
    rng = np.random.default_rng(3)
    g = {"LSTM": 4, "GRU": 3, "RNN": 1}[op_type]
    d, h, c, t, n = (2 if direction == "bidirectional" else 1), 3, 2, 5, 2
    inits = [numpy_helper.from_array(rng.normal(0, .5, (d, g * h, c)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(0, .5, (d, g * h, h)).astype(np.float32), "R"),
             numpy_helper.from_array(rng.normal(0, .5, (d, 2 * g * h)).astype(np.float32), "B")]
    state_shape = [n, d, h] if layout else [d, n, h]
    states = ["h0", "c0"] if op_type == "LSTM" else ["h0"]
    outputs = ["Y", "Y_h", "Y_c"] if op_type == "LSTM" else ["Y", "Y_h"]
    x_shape = [n, t, c] if layout else [t, n, c]

    def build(lay):
        node = helper.make_node(op_type, ["x", "W", "R", "B", ""] + states, outputs,
                                hidden_size=h, direction=direction, layout=lay)
        xs = [n, t, c] if lay else [t, n, c]
        ss = [n, d, h] if lay else [d, n, h]
        return _model([node], [helper.make_tensor_value_info("x", F, xs)] +
                      [helper.make_tensor_value_info(s, F, ss) for s in states],
                      [helper.make_tensor_value_info(o, F, None) for o in outputs], inits)
    model = build(layout)
    feeds = {"x": rng.normal(size=x_shape).astype(np.float32)}
    feeds.update({s: rng.normal(size=state_shape).astype(np.float32) for s in states})
    if layout:  # onnxruntime runs layout 0 only: the reference is that model, transposed
        ref = _ort(build(0), {k: v.transpose(1, 0, 2) for k, v in feeds.items()})
        want = {k: v.transpose(2, 0, 1, 3) if k == "Y" else v.transpose(1, 0, 2)
                for k, v in ref.items()}
    else:
        want = _ort(model, feeds)
    graph = from_onnx(model)
    got = evaluate(graph, feeds)
    for name in outputs:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)
    if op_type == "LSTM":
        assert any(n.attrs.get("result") == "c" for n in graph.nodes)
    again = to_onnx(graph)
    assert sum(n.op_type == op_type for n in again.graph.node) == d
    re_got = _ort(again, feeds)
    for name in outputs:
        np.testing.assert_allclose(re_got[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)
    zeros = {k: (np.zeros_like(v) if k != "x" else v) for k, v in feeds.items()}
    assert not np.allclose(evaluate(graph, zeros)["Y"], want["Y"], atol=1e-3)  # states matter


def test_recurrent_refuses_only_one_lstm_state():
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array(rng.normal(size=(1, 12, 2)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(size=(1, 12, 3)).astype(np.float32), "R")]
    node = helper.make_node("LSTM", ["x", "W", "R", "", "", "h0"], ["Y"], hidden_size=3)
    model = _model([node], [helper.make_tensor_value_info("x", F, [5, 2, 2]),
                            helper.make_tensor_value_info("h0", F, [1, 2, 3])],
                   [helper.make_tensor_value_info("Y", F, None)], inits)
    with pytest.raises(OnnxImportError, match="only one of initial_h and initial_c"):
        from_onnx(model)


def _scatter_model(reduction="none", constant=None):
    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    inputs = [helper.make_tensor_value_info("x", f, ["N", 3]),
              helper.make_tensor_value_info("u", f, [2, 3])]
    inits = []
    if constant is None:
        inputs.append(helper.make_tensor_value_info("i", i64, [2, 1]))
    else:
        inits.append(numpy_helper.from_array(np.asarray(constant, np.int64), "i"))
    node = helper.make_node("ScatterND", ["x", "i", "u"], ["y"], reduction=reduction)
    return _model([node], inputs, [helper.make_tensor_value_info("y", f, ["N", 3])], inits)


def test_scatter_nd_imports_as_scatter_nd_update():
    """Rows of a run-time batch replaced at computed and at constant indices: onnxruntime
    (the reference), the interpreter on the import, and the re-emitted ONNX agree."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    u = rng.normal(size=(2, 3)).astype(np.float32)
    for model, feeds in [(_scatter_model(), {"x": x, "u": u, "i": np.array([[3], [1]])}),
                         (_scatter_model(constant=[[0], [2]]), {"x": x, "u": u})]:
        want = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        graph = from_onnx(model)
        assert [n.op for n in graph.nodes] == ["scatter_nd_update"]
        np.testing.assert_array_equal(evaluate(graph, feeds)["y"], want)
        again = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                     providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        np.testing.assert_array_equal(again, want)
    with pytest.raises(OnnxImportError, match="reduction='add'"):
        from_onnx(_scatter_model("add"))
    with pytest.raises(OnnxImportError, match="negative constant indices"):
        from_onnx(_scatter_model(constant=[[-1], [2]]))
