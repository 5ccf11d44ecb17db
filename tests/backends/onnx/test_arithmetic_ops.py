"""The primitive arithmetic ops (``divide``, ``cast``): onnxruntime matches the NumPy
reference at batch sizes 1 and 3, in NHWC (from a graph input) and in NCHW (after a
convolution); expected output dtypes are written here."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.backends.onnx import count_ops

NHWC_IN = ("batch", 7, 6, 4)
AFTER_CONV = pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])


@AFTER_CONV
@pytest.mark.parametrize("y_shape", [NHWC_IN, ("batch", 1, 1, 4)], ids=["same", "broadcast"])
def test_divide(builder, parity, after_conv, y_shape):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    y = b.input("y", y_shape)

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"x": rng.normal(size=(batch, 7, 6, 4)).astype(np.float32),
                "y": rng.uniform(0.5, 2.0, size=(batch,) + tuple(y_shape[1:])).astype(np.float32)}

    model = parity(b.build(b.op("divide", [x, y])), feeds=feeds)
    assert count_ops(model)["Div"] == 1


def test_divide_by_a_weight_in_float64(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 5), dtype="float64")
    w = b.weight("w", (5,), low=0.5, high=2.0, dtype="float64")
    parity(b.build(b.op("divide", [x, w])), dtype="float64")


@AFTER_CONV
@pytest.mark.parametrize("to", ["int32", "int64", "float16", "float64", "bool"])
def test_cast_from_float32(builder, parity, after_conv, to):
    """Fractional and negative values: float -> int truncates toward zero."""
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4, k=1)
    g = b.build(b.op("cast", [x], dict(to=to)))

    def feeds(batch):
        vals = np.array([0.0, 1.7, -0.5, 2.99, -1.2, -3.9], np.float32)
        return {"x": np.resize(vals, (batch, 7, 6, 4)).astype(np.float32)}

    parity(g, feeds=feeds, dtype=to)


@pytest.mark.parametrize("src,to", [("int32", "float32"), ("int64", "int32"),
                                    ("bool", "float32")])
def test_cast_other_sources(builder, parity, src, to):
    b = builder()
    x = b.input("x", ("batch", 6), dtype=src)
    parity(b.build(b.op("cast", [x], dict(to=to))), dtype=to)
