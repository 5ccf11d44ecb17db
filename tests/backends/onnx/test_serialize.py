"""``to_onnx_bytes`` (the serialized model, written directly), initializer writing, and the
ONNX checker run on a weight-stripped stub (``graphir.backends.onnx.validate``)."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest

from graphir.backends.onnx import check_onnx, to_onnx, to_onnx_bytes
from graphir.backends.onnx import emit as onnx_emit
from graphir.backends.onnx import registry as onnx_registry
from graphir.backends.onnx.validate import stub_of
from graphir.backends.onnx.context import Initializer
from graphir.backends.onnx.tensors import STUB_MIN_BYTES, tensor_nbytes, write_tensor
from graphir.errors import EmissionError

IMG = ("batch", 8, 8, 3)


def _graphs(builder):
    """A few graphs covering transposed, depthwise, folded, int and small initializers."""
    b = builder(seed=1)
    x = b.input("x", IMG)
    c = b.conv(x, 8, name="conv")
    y = b.op("relu", [b.bn(c)], dict(max_value=6.0, negative_slope=0.0, threshold=0.0))
    k = b.weight("dw", (3, 3, 8, 2))
    y = b.op("depthwise_conv2d", [y, k], dict(strides=(2, 2), padding="same", dilations=(1, 1),
                                              activation="linear", data_format="channels_last"))
    p = b.op("global_avg_pool2d", [y], dict(keepdims=False, data_format="channels_last"))
    d = b.op("dense", [p, b.weight("fc", (16, 300)), b.weight("fc_b", (300,))],
             dict(units=300, activation="softmax"))
    one = b.build(d)

    b = builder(seed=2, name="tokens")
    t = b.input("ids", ("batch", 5), dtype="int32")
    e = b.op("embedding", [t, b.weight("table", (40, 16))])
    r = b.op("reshape", [e], dict(target_shape=(80,)))
    two = b.build([r, e])
    return [one, two]


@pytest.mark.parametrize("fold", [True, False])
def test_bytes_equal_the_serialized_model(builder, fold):
    for g in _graphs(builder):
        want = to_onnx(g, fold=fold).SerializeToString()
        assert to_onnx_bytes(g, fold=fold) == want
        assert to_onnx_bytes(g, fold=fold, check=False) == want
        assert onnx.load_from_string(want).graph.initializer  # really has weights


def test_bytes_over_the_protobuf_limit_are_refused(builder, monkeypatch):
    monkeypatch.setattr(onnx_emit, "_PROTOBUF_LIMIT", 100)
    with pytest.raises(EmissionError, match="2 GiB"):
        to_onnx_bytes(_graphs(builder)[0])


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1),  # a view
    np.arange(6, dtype=np.int64),
    np.array(2.5, dtype=np.float16),
    np.array([True, False]),
    np.linspace(0, 1, 7),
    np.arange(3 * 3 * 64 * 128, dtype=np.float32).reshape(3, 3, 64, 128).transpose(3, 2, 0, 1),
    np.zeros((0, 3), np.float32),
])
def test_write_tensor_matches_from_array(array):
    t = onnx.TensorProto()
    write_tensor(t, Initializer("w", array))
    assert t == onnx.numpy_helper.from_array(array.copy(), "w")
    assert tensor_nbytes(t) == array.nbytes


def test_channel_scale_is_applied_when_written():
    w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(4, 5, 3, 2).transpose(3, 2, 0, 1)
    s = np.array([0.5, 2.0], np.float32)
    t = onnx.TensorProto()
    write_tensor(t, Initializer("w", w, s))
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), w * s[:, None, None, None])


def test_stub_keeps_small_constants_and_drops_large_data(builder):
    model = to_onnx(_graphs(builder)[1])
    stub = stub_of(model)
    assert [t.name for t in stub.graph.initializer] == [t.name for t in model.graph.initializer]
    for full, s in zip(model.graph.initializer, stub.graph.initializer):
        assert list(s.dims) == list(full.dims) and s.data_type == full.data_type
        if tensor_nbytes(full) < STUB_MIN_BYTES:
            assert s == full  # the Reshape target keeps its data: shape inference reads it
        else:
            assert s.data_location == onnx.TensorProto.EXTERNAL and not s.raw_data
    assert stub.graph.node == model.graph.node and stub.opset_import == model.opset_import
    check_onnx(model)  # passes, and leaves the model as it was
    assert to_onnx(_graphs(builder)[1]) == model


def _wrong_dense(ctx, node):
    """A dense emitter whose kernel initializer (>= 1 KiB) has the wrong shape."""
    x = ctx.get(node.inputs[0])
    k = ctx.constant(np.zeros((17, 300), np.float32), "bad_kernel")
    ctx.add("MatMul", [x, k], ctx.define(node.output.name, "nhwc"))


def test_stubbed_weights_shapes_are_still_checked(builder, monkeypatch):
    monkeypatch.setitem(onnx_registry._EMITTERS, "dense", _wrong_dense)
    g = _graphs(builder)[0]
    with pytest.raises(EmissionError, match="MatMul"):
        to_onnx(g)
    with pytest.raises(EmissionError, match="MatMul"):
        to_onnx_bytes(g)
    model = to_onnx(g, check=False)
    with pytest.raises(onnx.shape_inference.InferenceError):  # the full checker agrees
        onnx.checker.check_model(model, full_check=True)
    with pytest.raises(EmissionError, match="MatMul"):
        check_onnx(model)


def test_check_onnx_applies_the_checkers_data_size_rule(builder):
    model = to_onnx(_graphs(builder)[0])
    big = next(t for t in model.graph.initializer if tensor_nbytes(t) >= STUB_MIN_BYTES)
    big.raw_data = big.raw_data[:-4]
    with pytest.raises(onnx.checker.ValidationError, match="too small"):
        onnx.checker.check_model(model, full_check=True)
    with pytest.raises(EmissionError, match="too small"):
        check_onnx(model)


@pytest.mark.skipif(sys.byteorder != "little", reason="raw_data is little-endian")
def test_tensor_nbytes_needs_no_serialization(builder):
    model = to_onnx(_graphs(builder)[0])
    for t in model.graph.initializer:
        assert tensor_nbytes(t) == len(t.raw_data)
