"""ONNX Resize nodes that are a ``tf.image.resize`` import as the ``resize`` op (a Keras
``Resizing`` on re-emission); other Resize nodes keep the separable form.  Each model is
run by onnxruntime and by the imported graph's interpreter."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from graphir.backends.onnx.importer import from_onnx  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402


def _model(shape, sizes, **attrs):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("sizes", TensorProto.INT64, [len(sizes)], list(sizes))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


@pytest.mark.parametrize("shape, sizes, attrs, method", [
    ((1, 5, 7, 2), (1, 8, 4, 2), dict(mode="linear", coordinate_transformation_mode="half_pixel"),
     "bilinear"),
    ((1, 2, 6, 9), (1, 2, 4, 13), dict(mode="linear", coordinate_transformation_mode="half_pixel"),
     "bilinear"),
    ((1, 2, 6, 4), (1, 2, 9, 2), dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                                      nearest_mode="round_prefer_ceil"), "nearest"),
    ((1, 1, 8, 4), (1, 1, 4, 2), dict(mode="cubic", coordinate_transformation_mode="half_pixel",
                                      cubic_coeff_a=-0.5, exclude_outside=1), "bicubic"),
    ((1, 5, 7, 2), (1, 8, 4, 2), dict(mode="linear",
                                      coordinate_transformation_mode="align_corners"), None),
])
def test_tf_resizes_import_as_the_resize_op(shape, sizes, attrs, method):
    model = _model(shape, sizes, **attrs)
    graph = from_onnx(model)
    ops = [n.op for n in graph.nodes]
    if method is None:
        assert "resize" not in ops
    else:
        assert [n.attrs["interpolation"] for n in graph.nodes if n.op == "resize"] == [method]
    data = np.random.default_rng(0).normal(size=shape).astype("float32")
    want = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": data})[0]
    got = evaluate(graph, {"x": data})[graph.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
