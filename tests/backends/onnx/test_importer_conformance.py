"""The conformance runner (graphir.backends.onnx_conformance): specialization of static
operands fed by graph inputs, the importer's newer converters on the onnx package's own
node tests (Resize in every mode, Pad edge/wrap, LayerNormalization statistics, RNN
layout 1, scalar constants), the Keras mode, and broken twins for each check."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from graphir.backends import onnx_conformance as conformance
from graphir.backends.onnx.importer import OnnxImportError, from_onnx
from graphir.backends.onnx_conformance import (
    GraphirBackend,
    bind_inputs,
    graph_inputs_feeding,
    run_one,
)

#: node tests the first importer pass refused or crashed on, one or two per new converter
NEWLY_PASSING = [
    "test_flexattention_relative_positional_expanded_ver26",  # 0-d constants (was a crash)
    "test_reshape_reordered_all_dims",                  # shape fed as a graph input
    "test_slice_neg_steps",                             # starts/ends/axes/steps as inputs
    "test_conv_with_strides_padding",                   # W as a graph input
    "test_lstm_batchwise", "test_gru_batchwise",        # layout=1
    "test_resize_upsample_sizes_nearest_ceil_half_pixel",
    "test_resize_downsample_scales_cubic_antialias",
    "test_resize_tf_crop_and_resize",
    "test_resize_upsample_scales_linear_align_corners",
    "test_resize_downsample_sizes_nearest_not_larger",
    "test_edge_pad", "test_wrap_pad",
    "test_layer_normalization_4d_axis0",
    "test_layer_normalization_3d_axis1_epsilon",        # with Mean / InvStdDev outputs
    "test_maxpool_2d_dilations", "test_averagepool_3d_dilations_small",  # window taps
    "test_averagepool_2d_pads", "test_averagepool_2d_ceil",
    "test_clip_min_greater_than_max", "test_dropout_default_mask",
    "test_convtranspose_output_shape",                  # a negative pad: zeros
    "test_convtranspose_group_2",                       # one per group
    "test_instancenorm_example", "test_instancenorm_epsilon",
    "test_lrn", "test_lrn_default",
    "test_maxpool_with_argmax_2d_precomputed_pads",     # Indices (row-major)
    "test_maxpool_with_argmax_2d_precomputed_strides",  # Indices (storage_order=1)
]


@pytest.mark.parametrize("name", NEWLY_PASSING)
def test_newly_passing_node_tests(name):
    status, detail = run_one(name)
    assert status == "passed", detail


def _reshape_model():
    """``Y = Reshape(X * 2, shape)`` with ``shape`` a graph input (as the node tests do)."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    g = helper.make_graph(
        [helper.make_node("Mul", ["X", "two"], ["X2"]),
         helper.make_node("Reshape", ["X2", "shape"], ["Y"])], "reshape_input",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3, 4]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], [two])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)


def test_a_shape_input_is_refused_naming_the_static_operand():
    with pytest.raises(OnnxImportError) as info:
        from_onnx(_reshape_model())
    assert info.value.static_operand == "shape"
    assert info.value.node == "Y" and info.value.op_type == "Reshape"


def test_graph_inputs_feeding_walks_producers():
    model = _reshape_model()
    assert graph_inputs_feeding(model, "shape") == {"shape"}
    assert graph_inputs_feeding(model, "X2") == {"X"}
    assert graph_inputs_feeding(model, "two") == set()


def test_specialized_run_matches_onnxruntime():
    model = _reshape_model()
    rep = GraphirBackend.prepare(model)
    assert rep.graph is None  # deferred: the shape is only known at run time
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    shape = np.asarray([4, 6], np.int64)
    (got,) = rep.run([x, shape])
    assert rep.bound == ("shape",)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {"X": x, "shape": shape})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # the specialized model keeps X as its input and holds the shape as an initializer
    bound = bind_inputs(model, {"shape": shape})
    assert [v.name for v in bound.graph.input] == ["X"]
    assert "shape" in {t.name for t in bound.graph.initializer}


def test_specialization_with_wrong_values_is_caught(monkeypatch):
    """Broken twin: a binder that binds the wrong values must fail the conformance check."""
    real = conformance.bind_inputs

    def wrong(model, values):
        return real(model, {k: np.asarray(v)[::-1].copy() for k, v in values.items()})

    assert run_one("test_reshape_reordered_all_dims")[0] == "passed"
    monkeypatch.setattr(conformance, "bind_inputs", wrong)
    assert run_one("test_reshape_reordered_all_dims")[0] == "failed"


def test_a_dtype_mismatch_is_caught(monkeypatch):
    """Broken twin of the shape/dtype check: outputs cast to float64 are a failure, as in
    onnx's BackendTest."""
    real = conformance.GraphirBackendRep.run

    def as_float64(self, inputs, **kwargs):
        return tuple(np.asarray(a, np.float64) for a in real(self, inputs, **kwargs))

    monkeypatch.setattr(conformance.GraphirBackendRep, "run", as_float64)
    status, detail = run_one("test_add")
    assert status == "failed" and "dtype" in detail


def test_a_wrong_resize_operator_is_caught(monkeypatch):
    """Broken twin of the Resize operator: a reference that rounds the other way."""
    from graphir.backends.onnx.importer import resize

    real = resize._reference_1d

    def shifted(ctx, data, scale, size, given, roi):
        return np.roll(real(ctx, data, scale, size, given, roi), 1, axis=0)

    monkeypatch.setattr(resize, "_reference_1d", shifted)
    assert run_one("test_resize_downsample_scales_cubic_antialias")[0] == "failed"


def test_refusal_without_graph_input_is_not_deferred():
    """A run-time operand computed from no graph input (impossible to bind) stays a typed
    refusal at prepare time."""
    g = helper.make_graph(
        [helper.make_node("Pad", ["X"], ["Y"], mode="reflect")], "no_pads",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)
    with pytest.raises(OnnxImportError):
        GraphirBackend.prepare(model)


def test_backend_test_suite_runs_in_unittest():
    import unittest

    suite = conformance.backend_test_suite(["test_reshape_reordered_all_dims", "test_edge_pad"])
    result = unittest.TextTestRunner(verbosity=0, stream=io.StringIO()).run(suite)
    assert result.testsRun >= 2 and result.wasSuccessful(), result.failures + result.errors


def test_main_prints_counts_per_mode(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("test_add  # a comment\n\ntest_wrap_pad\ntest_lstm_with_peepholes\n")
    assert conformance.main([str(names), "--mode", "interpreter"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == ("mode interpreter: 2 passed (1 of them with shape/axes/weight inputs "
                       "bound), 0 failed, 1 xfail (refused) of 3")
    assert conformance.main([str(names), "--mode", "nope"]) == 2


@pytest.mark.tf
def test_keras_mode_subset():
    """The Keras mode: import, emit Keras, run TensorFlow; also specialized models."""
    for name in ("test_add_bcast", "test_conv_with_strides_padding", "test_edge_pad",
                 "test_resize_upsample_scales_nearest", "test_lstm_defaults"):
        status, detail = run_one(name, "keras")
        assert status == "passed", (name, detail)


@pytest.mark.tf
def test_keras_mode_catches_a_wrong_result(monkeypatch):
    """Broken twin in the Keras mode: an importer that maps Sub to add."""
    from graphir.backends.onnx.importer import elementwise, registry

    monkeypatch.setitem(registry._CONVERTERS, "Sub",
                        registry.Converter(elementwise._binary("add"), frozenset()))
    assert run_one("test_sub", "keras")[0] == "failed"


def test_onnx_keeps_flexattention_scalars_0d():
    """The importer's constants keep their rank: a 0-d ONNX Constant is a 0-d weight
    (np.ascontiguousarray would make it 1-d and Range then failed)."""
    c = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", TensorProto.INT64,
                                                                          [], [3]))
    g = helper.make_graph(
        [c, helper.make_node("Range", ["zero", "c", "one"], ["r"]),
         helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
         helper.make_node("Add", ["X", "rf"], ["Y"])], "range",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [helper.make_tensor("zero", TensorProto.INT64, [], [0]),
         helper.make_tensor("one", TensorProto.INT64, [], [1])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)
    graph = from_onnx(model)
    x = np.ones((2, 3), np.float32)
    from graphir.interpreter import evaluate

    np.testing.assert_array_equal(evaluate(graph, {"X": x})["Y"], x + np.arange(3))


def test_a_wrong_pooling_divisor_is_caught(monkeypatch):
    """Broken twin of the window-tap pooling: counting the padding in the divisor when
    ONNX says not to (count_include_pad=0)."""
    from graphir.backends.onnx.importer import nn

    real = nn._pool_by_slices
    monkeypatch.setattr(nn, "_pool_by_slices",
                        lambda ctx, x, kind, k, s, d, include: real(ctx, x, kind, k, s, d, 1))
    assert run_one("test_averagepool_2d_pads")[0] == "failed"


#: torch.onnx-exported models the importer refuses (typed): PReLU slopes of shape (C,) on
#: an NCHW tensor (legacy channel-wise broadcast, not NumPy's)
TORCH_REFUSED = {"test_PReLU_1d_multiparam", "test_PReLU_2d_multiparam",
                 "test_PReLU_3d_multiparam"}


def test_torch_exported_models():
    """The onnx package's ``pytorch-converted`` and ``pytorch-operator`` model tests
    (models exported by torch.onnx, with their stored inputs and outputs): every one
    imports and matches, except the known typed refusals."""
    from graphir.backends.onnx_conformance import disk_cases, run_case

    results = {}
    for kind in ("pytorch-converted", "pytorch-operator"):
        for name, (model, sets, rtol, atol) in disk_cases(kind).items():
            results[name] = run_case(model, sets, rtol, atol)
    assert len(results) >= 110
    failed = {n: d for n, (s, d) in results.items() if s == "failed"}
    refused = {n for n, (s, _) in results.items() if s == "xfail"}
    assert not failed, failed
    assert refused == TORCH_REFUSED


def test_wrong_maxpool_indices_are_caught(monkeypatch):
    """Broken twin of the Indices: a cascade that keeps the last of equal maxima (>=)
    instead of the first."""
    from graphir.backends.onnx.importer import context

    real = context.ImportContext.emit

    def last_wins(self, op, inputs, attrs=None, **kw):
        return real(self, "greater_equal" if op == "greater" else op, inputs, attrs, **kw)

    monkeypatch.setattr(context.ImportContext, "emit", last_wins)
    x = np.zeros((1, 1, 4, 4), np.float32)  # every window ties
    g = helper.make_graph(
        [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2])],
        "ties", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("i", TensorProto.INT64, None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})[1]
    rep = GraphirBackend.prepare(model)
    got = rep.run([x])[1]
    assert not np.array_equal(got, want)
    monkeypatch.undo()
    np.testing.assert_array_equal(GraphirBackend.prepare(model).run([x])[1], want)
