"""Every activation function, standalone (NHWC and NCHW layouts) and fused into
conv2d/depthwise_conv2d/dense, matches the reference interpreter."""

from __future__ import annotations

import pytest

from graphir.ops import ACTIVATIONS
from graphir.backends.onnx.activations import ACTIVATION_EMITTERS

NAMES = sorted(ACTIVATIONS)


def test_every_activation_has_an_emitter():
    assert set(ACTIVATION_EMITTERS) == set(ACTIVATIONS)


@pytest.mark.parametrize("shape", [("batch", 6), ("batch", 3, 4, 5)], ids=["rank2", "rank4"])
@pytest.mark.parametrize("name", NAMES)
def test_activation_op(builder, parity, name, shape):
    b = builder()
    parity(b.build(b.op("activation", [b.input("x", shape)], dict(function=name))))


@pytest.mark.parametrize("name", NAMES)
def test_activation_op_on_nchw_data(builder, parity, name):
    b = builder()
    x = b.conv(b.input("x", ("batch", 5, 4, 3)), 6)
    parity(b.build(b.op("activation", [x], dict(function=name))))


@pytest.mark.parametrize("name", NAMES)
def test_fused_activation(builder, parity, name):
    b = builder()
    x = b.input("x", ("batch", 5, 4, 3))
    c = b.conv(x, 6, activation=name)
    k = b.weight("dw/kernel", (3, 3, 3, 2))
    d = b.op("depthwise_conv2d", [x, k], dict(strides=(1, 1), padding="same", dilations=(1, 1),
                                               activation=name, data_format="channels_last"))
    y = b.op("dense", [b.op("flatten", [x]), b.weight("fc/kernel", (60, 4), scale=0.1)],
             dict(units=4, activation=name))
    z = b.op("dense", [x, b.weight("fc3/kernel", (3, 4))], dict(units=4, activation=name))
    parity(b.build([c, d, y, z]))


@pytest.mark.parametrize("name", ["gelu", "mish", "celu", "selu", "hard_silu", "softmax"])
@pytest.mark.parametrize("opset", [18, 19, 20, 21])
def test_activation_opsets(builder, parity, name, opset):
    b = builder()
    parity(b.build(b.op("activation", [b.input("x", ("batch", 6))], dict(function=name))),
           opset=opset)


@pytest.mark.parametrize("opset", [18, 20])
@pytest.mark.parametrize("name", ["celu", "sigmoid", "tanh_shrink", "relu6", "softmax"])
def test_activation_float64(builder, parity, name, opset):
    """float64 graphs (Celu is float32-only in ONNX, so celu is expanded).  onnxruntime's
    CPU provider has no float64 Erf/Gelu/Softplus kernels, so those are not run here."""
    b = builder()
    x = b.input("x", ("batch", 6), dtype="float64")
    parity(b.build(b.op("activation", [x], dict(function=name))), opset=opset, dtype="float64")
