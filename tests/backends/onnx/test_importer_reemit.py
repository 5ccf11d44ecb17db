"""Re-emitting imported graphs: the ONNX ``Pad`` an import turns into the IR's ``pad`` op
must re-emit as ONNX that onnxruntime runs to the same result (issue 10's known bug:
onnxruntime's PadFusion folded such a zero Pad into the next MaxPool).  No TensorFlow."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphir
from graphir.backends.onnx import to_onnx
from graphir.interpreter import evaluate

PAD_THEN_POOL = [((1, 0), (0, 2)), ((1, 1), (1, 1)), ((2, 2), (0, 0))]


def _pad_then_max_pool(builder, padding):
    """NHWC conv -> ``- 10`` (all negative) -> zero ``pad`` of H, W -> 2x2 MaxPool (the
    conv makes the emitter work in NCHW, so the Pad sits between layout Transposes as
    in an imported graph)."""
    b = builder()
    x = b.conv(b.input("x", ("batch", 6, 7, 3)), 4)
    x = b.op("rescale", [x], {"scale": 1.0, "offset": -10.0})
    p = b.op("pad", [x], {"pads": ((0, 0), *padding, (0, 0)), "mode": "constant",
                          "value": 0.0})
    y = b.op("max_pool2d", [p], {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid",
                                 "data_format": "channels_last"})
    return b.build(y)


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("padding", PAD_THEN_POOL)
def test_pad_then_max_pool_keeps_the_zeros(builder, parity, padding):
    """Zeros padded before a MaxPool take part in the max: the emitted Pad carries its
    ``axes`` input, so onnxruntime's PadFusion (which would turn them into MaxPool's -inf
    padding, or refuse the model when a pad reaches the kernel) does not fire."""
    model = parity(_pad_then_max_pool(builder, padding))
    (pad,) = [n for n in model.graph.node if n.op_type == "Pad"]
    assert len(pad.input) == 4 and pad.input[3]


def test_pad_without_axes_is_caught(builder):
    """Broken twin: the same model with the Pad's ``axes`` input dropped is folded by
    onnxruntime and then either refused or wrong; the comparison catches it."""
    graph = _pad_then_max_pool(builder, ((1, 0), (0, 2)))
    model = to_onnx(graph)
    for node in model.graph.node:
        if node.op_type == "Pad":
            pads = next(i for i in model.graph.initializer if i.name == node.input[1])
            axes = next(i for i in model.graph.initializer if i.name == node.input[3])
            full = [0] * 8
            arr = onnx.numpy_helper.to_array(pads)
            for k, a in enumerate(onnx.numpy_helper.to_array(axes).tolist()):
                full[a], full[4 + a] = int(arr[k]), int(arr[len(arr) // 2 + k])
            pads.CopyFrom(onnx.numpy_helper.from_array(np.asarray(full, np.int64), pads.name))
            del node.input[3:]
    x = np.random.default_rng(0).standard_normal((2, 6, 7, 3)).astype(np.float32)
    want = evaluate(graph, {"x": x})[graph.outputs[0]]
    try:
        got = _session(model).run(None, {"x": x})[0]
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own Fail type
        assert "Pad should be smaller than kernel" in str(e)
    else:
        assert not np.allclose(got, want, atol=1e-5)


def test_imported_pad_before_max_pool_reemits(builder):
    """ONNX ``Pad`` (no ``axes``, NCHW) -> ``MaxPool``: import, cancel transposes,
    re-emit; onnxruntime runs both to the same result."""
    from onnx import TensorProto, helper

    pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 0, 0, 0, 0, 2])
    nodes = [helper.make_node("Add", ["x", "shift"], ["xs"]),
             helper.make_node("Pad", ["xs", "pads"], ["p"], mode="constant"),
             helper.make_node("MaxPool", ["p"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    shift = helper.make_tensor("shift", TensorProto.FLOAT, [], [-10.0])
    g = helper.make_graph(nodes, "pad_pool",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [pads, shift])
    original = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    imported = graphir.cancel_transposes(graphir.from_onnx(original))
    again = to_onnx(imported)
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7)).astype(np.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(original.SerializeToString(), so,
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = _session(again).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(evaluate(imported, {"x": x})["y"], want, rtol=1e-6, atol=1e-6)


def _mul_add_model(channels=1200):
    """tf2onnx's unfused batch normalization: NCHW ``x * a + b`` with ``(C, 1, 1)``
    constants (C above the Keras emitter's inline-constant limit)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    a = numpy_helper.from_array(rng.uniform(0.5, 1.5, (channels, 1, 1)).astype(np.float32), "a")
    b = numpy_helper.from_array(rng.normal(0, 1, (channels, 1, 1)).astype(np.float32), "b")
    g = helper.make_graph(
        [helper.make_node("Mul", ["x", "a"], ["xa"], name="bn/mul"),
         helper.make_node("Add", ["xa", "b"], ["y"], name="bn/add")], "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [a, b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _affine_error(model) -> float:
    graph = graphir.cancel_transposes(graphir.from_onnx(model))
    x = np.random.default_rng(4).standard_normal((2, 1200, 2, 3)).astype(np.float32)
    want = _session(model).run(None, {"x": x})[0]
    return float(np.abs(evaluate(graph, {"x": x})["y"] - want).max()), graph


def test_per_channel_mul_add_is_an_exact_batch_norm():
    err, graph = _affine_error(_mul_add_model())
    assert [n.op for n in graph.nodes] == ["batch_norm", "batch_norm"]
    assert {n.name for n in graph.nodes} == {"bn/mul", "bn/add"}
    assert "a/channel" in graph.weights and "b/channel" in graph.weights
    assert err <= 1e-6


def test_per_channel_affine_with_an_epsilon_is_caught(monkeypatch):
    """Broken twin: a batch_norm with a non-zero epsilon is not x * a + b."""
    from graphir.backends.onnx.importer import context

    real = context.ImportContext.emit

    def with_eps(self, op, inputs, attrs=None, **kw):
        if op == "batch_norm":
            attrs = {**attrs, "epsilon": 1e-3}
        return real(self, op, inputs, attrs, **kw)

    monkeypatch.setattr(context.ImportContext, "emit", with_eps)
    err, _ = _affine_error(_mul_add_model())
    assert err > 1e-6
