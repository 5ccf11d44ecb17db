"""The comparison and logic ops (``equal`` ... ``where``): onnxruntime matches the NumPy
reference at batch sizes 1 and 3, in NHWC (from graph inputs) and in NCHW (after
convolutions), with NaN, signed zeros and ties in the data; bool graph outputs;
integer, float16/float64 and bool operands; the expected output dtypes are written
here, and each test checks that its outputs are not constant (some true, some false)."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.backends.onnx import count_ops



def run_onnx(model, feeds):
    """The shared onnxruntime runner of this folder's conftest (imported on use, so that
    this module also loads outside pytest, as test_emit's import check does)."""
    from tests.backends.onnx.conftest import run_onnx as run

    return run(model, feeds)

NHWC_IN = ("batch", 7, 6, 4)
COMPARISONS = {"equal": "Equal", "not_equal": "Equal", "less": "Less",
               "less_equal": "LessOrEqual", "greater": "Greater",
               "greater_equal": "GreaterOrEqual"}
AFTER_CONV = pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])


def _ties(rng, shape, dtype=np.float32):
    """Values on a coarse grid (so equal values occur), with -0.0 and 0.0 among them."""
    vals = rng.integers(-2, 3, size=shape).astype(dtype) * 0.5
    vals[vals == 0] = np.where(rng.random(np.count_nonzero(vals == 0)) < 0.5, -0.0, 0.0)
    return vals


def _assert_mixed(model, feeds):
    """Every bool output of ``model`` on ``feeds`` has true and false elements."""
    for name, arr in run_onnx(model, feeds).items():
        if arr.dtype == np.bool_:
            assert arr.any() and not arr.all(), name


def _compare_feeds(y_shape, *, nan=True):
    def feeds(batch):
        rng = np.random.default_rng(batch)
        x = _ties(rng, (batch, 7, 6, 4))
        y = _ties(rng, (batch,) + tuple(y_shape[1:]))
        # whole pixels equal too (a conv maps them to equal values)
        if y.shape == x.shape:
            y[:, ::2] = x[:, ::2]
        else:
            y[:, 0, 0] = x[:, 0, 0]
        if nan:
            x.flat[::7] = np.nan
            y.flat[::5] = np.nan
        return {"x": x, "y": y}
    return feeds


@AFTER_CONV
@pytest.mark.parametrize("op", list(COMPARISONS))
@pytest.mark.parametrize("y_shape", [NHWC_IN, ("batch", 1, 1, 4)], ids=["same", "broadcast"])
def test_comparison(builder, parity, op, after_conv, y_shape):
    b = builder()
    x = b.input("x", NHWC_IN)
    y = b.input("y", y_shape)
    if after_conv:  # both through one 1x1 kernel: equal inputs give equal outputs
        x = b.conv(x, 4, k=1, bias=False, name="cx")
        y = b.op("conv2d", [y, "cx/kernel"], dict(strides=(1, 1), padding="same",
                                                   dilations=(1, 1), groups=1,
                                                   activation="linear",
                                                   data_format="channels_last"), name="cy")
    feeds = _compare_feeds(y_shape, nan=not after_conv)  # a 1x1 conv spreads NaN
    model = parity(b.build(b.op(op, [x, y])), feeds=feeds, dtype="bool")
    counts = count_ops(model)
    assert counts[COMPARISONS[op]] == 1
    assert counts.get("Not", 0) == (op == "not_equal")
    _assert_mixed(model, feeds(3))


def test_nan_compares_as_in_ieee(builder, parity):
    """NaN == NaN is false and NaN != NaN true, in onnxruntime as in the reference."""
    b = builder()
    x = b.input("x", ("batch", 3))
    y = b.input("y", ("batch", 3))
    model = parity(b.build([b.op("equal", [x, y], name="eq"), b.op("not_equal", [x, y],
                                                                   name="ne")]),
                   feeds=lambda n: {"x": np.resize(np.float32([np.nan, 1.0, -0.0]), (n, 3)),
                                    "y": np.resize(np.float32([np.nan, 1.0, 0.0]), (n, 3))},
                   dtype="bool")
    got = run_onnx(model, {"x": np.float32([[np.nan, 1.0, -0.0]]),
                           "y": np.float32([[np.nan, 1.0, 0.0]])})
    np.testing.assert_array_equal(got["eq"], [[False, True, True]])
    np.testing.assert_array_equal(got["ne"], [[True, False, False]])


@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8", "int16", "float16",
                                   "float64"])
def test_comparisons_of_other_dtypes(builder, parity, dtype):
    b = builder()
    x = b.input("x", ("batch", 6), dtype=dtype)
    w = b.const("w", np.array([0, 1, 2, 3, 1, 2], dtype))
    outs = [b.op(op, [x, w], name=op) for op in COMPARISONS]

    def feeds(batch):
        rng = np.random.default_rng(batch + 10)
        return {"x": rng.integers(0, 4, size=(batch, 6)).astype(dtype)}

    model = parity(b.build(outs), feeds=feeds, dtype="bool")
    _assert_mixed(model, feeds(3))


def test_bool_equality(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 5), dtype="bool")
    y = b.input("y", ("batch", 5), dtype="bool")

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"x": rng.random((batch, 5)) < 0.5, "y": rng.random((batch, 5)) < 0.5}

    model = parity(b.build([b.op("equal", [x, y]), b.op("not_equal", [x, y])]), feeds=feeds,
                   dtype="bool")
    _assert_mixed(model, feeds(3))


def _bool_feeds(batch):
    rng = np.random.default_rng(batch)
    return {"a": rng.random((batch, 7, 6, 4)) < 0.5, "b": rng.random((batch, 1, 6, 1)) < 0.5}


def test_logic_ops_broadcast(builder, parity):
    b = builder()
    a = b.input("a", NHWC_IN, dtype="bool")
    bb = b.input("b", ("batch", 1, 6, 1), dtype="bool")
    outs = [b.op(op, [a, bb], name=op) for op in ("logical_and", "logical_or", "logical_xor")]
    outs.append(b.op("logical_not", [a], name="logical_not"))
    model = parity(b.build(outs), feeds=_bool_feeds, dtype="bool")
    counts = count_ops(model)
    assert (counts["And"], counts["Or"], counts["Xor"], counts["Not"]) == (1, 1, 1, 1)
    _assert_mixed(model, _bool_feeds(3))


def test_logic_after_a_comparison_in_nchw(builder, parity):
    """(conv > 0) & ~(conv < -0.5): the whole chain stays channels-first; one bool output."""
    b = builder()
    x = b.input("x", NHWC_IN)
    c = b.conv(x, 4)
    zero = b.const("zero", np.array(0.0, np.float32))
    lo = b.const("lo", np.array([-0.5, -0.2, 0.0, -1.0], np.float32))
    m = b.op("logical_and", [b.op("greater", [c, zero]),
                             b.op("logical_not", [b.op("less", [c, lo])])])
    model = parity(b.build(b.op("logical_or", [m, b.op("equal", [c, c])])), dtype="bool")
    assert count_ops(model).get("Transpose", 0) <= 2
    only_m = parity(b.build(m), dtype="bool")
    _assert_mixed(only_m, {"x": np.random.default_rng(1).normal(size=(2, 7, 6, 4))
                           .astype(np.float32)})


@AFTER_CONV
@pytest.mark.parametrize("shapes", [(NHWC_IN, NHWC_IN), (("batch", 1, 1, 4), ("batch", 7, 1, 1))],
                         ids=["same", "broadcast"])
def test_where_on_floats(builder, parity, after_conv, shapes):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    y = b.input("y", shapes[0])
    cond = b.op("greater", [x, b.input("t", shapes[1])])
    out = b.op("where", [cond, x, y])
    model = parity(b.build(out))
    assert count_ops(model)["Where"] == 1
    feeds = {"x": np.random.default_rng(0).normal(size=(2, 7, 6, 4)).astype(np.float32),
             "y": np.full((2,) + tuple(shapes[0][1:]), 9.0, np.float32),
             "t": np.zeros((2,) + tuple(shapes[1][1:]), np.float32)}
    got = run_onnx(model, feeds)[out]
    assert 0 < np.count_nonzero(got == 9.0) < got.size  # both branches taken


@pytest.mark.parametrize("dtype", ["int32", "int64", "int16", "uint8", "float16", "float64",
                                   "bool"])
def test_where_dtypes(builder, parity, dtype):
    """bool and int16 go through Casts (no onnxruntime kernel); the others are one Where."""
    b = builder()
    c = b.input("c", ("batch", 5), dtype="bool")
    x = b.input("x", ("batch", 5), dtype=dtype)
    y = b.const("y", np.array([1, 0, 1, 0, 1], dtype))

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"c": rng.random((batch, 5)) < 0.5,
                "x": rng.integers(0, 4, size=(batch, 5)).astype(dtype)}

    model = parity(b.build(b.op("where", [c, x, y])), feeds=feeds, dtype=dtype)
    assert count_ops(model).get("Cast", 0) == (3 if dtype in ("bool", "int16") else 0)


def test_where_of_two_constants(builder, parity):
    """The attention-mask pattern where(mask, 0, -1e9): both branches are weights."""
    b = builder()
    m = b.input("m", ("batch", 4), dtype="bool")
    zero = b.const("zero", np.array(0.0, np.float32))
    big = b.const("big", np.array(-1e9, np.float32))
    out = b.op("where", [m, zero, big])
    model = parity(b.build(out), feeds=lambda n: {"m": np.resize([True, False, False], (n, 4))})
    got = run_onnx(model, {"m": np.array([[True, False, True, False]])})[out]
    np.testing.assert_array_equal(got, [[0.0, -1e9, 0.0, -1e9]])
