"""The reductions and linear algebra (graphir/ops/reduction.py): onnxruntime matches the
NumPy reference at batch sizes 1 and 3, from a graph input (NHWC) and after a
convolution (an NCHW producer: these ops are channels-last, so the emitter transposes
back); ties, -0.0, integer dtypes and the einsum equations used by attention; expected
output dtypes are written here."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.backends.onnx import count_ops

F32_NZ = -float(np.finfo(np.float32).tiny)
IN = ("batch", 4, 5, 3)
AFTER_CONV = pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
AXES = pytest.mark.parametrize("axes,keepdims", [
    ((1,), False), ((1, 2), True), ((3,), True), ((0, 1, 2, 3), False), ((), False)],
    ids=["1", "12-keep", "3-keep", "all", "none"])


def _x(b, after_conv, dtype="float32"):
    x = b.input("x", IN, dtype=dtype)
    return b.conv(x, 3, k=1) if after_conv else x


@AFTER_CONV
@AXES
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod", "var", "std"])
def test_float_reductions(builder, parity, after_conv, axes, keepdims, op):
    b = builder()
    y = b.op(op, [_x(b, after_conv)], dict(axes=axes, keepdims=keepdims))
    model = parity(b.build(y))
    want = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
            "prod": "ReduceProd", "var": "ReduceMean", "std": "ReduceMean"}[op]
    counts = count_ops(model)
    if axes:
        assert counts[want] == (2 if op in ("var", "std") else 1)
    else:
        assert want not in counts  # nothing reduced: no Reduce node at all
    if after_conv:
        assert counts["Transpose"] >= 1  # NCHW conv output back to the IR's axis order


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_integer_reductions(builder, parity, dtype, op):
    b = builder()
    y = b.op(op, [b.input("x", ("batch", 4, 5), dtype=dtype)], dict(axes=(1,), keepdims=False))
    parity(b.build(y), dtype=dtype)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "float16", "float64"])
def test_max_of_narrow_and_wide_dtypes(builder, parity, dtype):
    b = builder()
    y = b.op("max", [b.input("x", ("batch", 4, 5), dtype=dtype)], dict(axes=(2,), keepdims=True))
    parity(b.build(y), dtype=dtype)


@AFTER_CONV
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("axis,keepdims", [(1, False), (3, True)])
def test_arg_extremum(builder, parity, after_conv, op, axis, keepdims):
    b = builder()
    y = b.op(op, [_x(b, after_conv)], dict(axis=axis, keepdims=keepdims, negative_zero_as=None))
    model = parity(b.build(y), dtype="int32")
    assert count_ops(model)["Cast"] == 1


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_ties_and_negative_zero(builder, parity, op, dtype):
    """Rows with ties (first index wins) and -0.0 next to +0.0, compared as Keras does."""
    nz = -float(np.finfo(np.float64).tiny) if dtype == "float64" else F32_NZ
    b = builder()
    plain = b.op(op, [b.input("x", ("batch", 4), dtype=dtype)],
                 dict(axis=1, keepdims=False, negative_zero_as=None), name="plain")
    signed = b.op(op, ["x"], dict(axis=1, keepdims=False, negative_zero_as=nz), name="signed")
    rows = np.array([[1.0, 3.0, 3.0, 2.0], [-0.0, 0.0, -1.0, -2.0], [0.0, -0.0, 1.0, 2.0],
                     [-1.0, -1.0, -3.0, -3.0], [-0.0, -0.0, 0.0, 0.0]], dtype)

    def feeds(batch):
        return {"x": np.resize(rows, (batch * 5, 4)).astype(dtype)}

    parity(b.build([plain, signed]), batches=(1, 2), feeds=feeds, dtype="int32")
    # the reference itself says the two differ on these rows
    from graphir.interpreter import evaluate
    out = evaluate(b.build([plain, signed]), feeds(1))
    assert (out["plain"] != out["signed"]).any()


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_arg_extremum_of_integers(builder, parity, dtype):
    b = builder()
    y = b.op("argmax", [b.input("x", ("batch", 6), dtype=dtype)],
             dict(axis=1, keepdims=False, negative_zero_as=None))
    parity(b.build(y), dtype="int32")


@pytest.mark.parametrize("a,w", [
    (("batch", 4, 5), (5, 3)),                  # a kernel
    (("batch", 5), (5,)),                       # a vector: the axis dropped
    (("batch", 2, 4, 5), (2, 5, 3)),            # batch axes broadcast
], ids=["kernel", "vector", "broadcast"])
def test_matmul_with_a_weight(builder, parity, a, w):
    b = builder()
    y = b.op("matmul", [b.input("x", a), b.weight("w", w)])
    assert count_ops(parity(b.build(y)))["MatMul"] == 1


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_matmul_of_two_computed_tensors(builder, parity, dtype):
    b = builder()
    x = b.input("x", ("batch", 3, 4), dtype=dtype)
    y = b.input("y", ("batch", 4, 2), dtype=dtype)
    parity(b.build(b.op("matmul", [x, y])), dtype=dtype)


@pytest.mark.parametrize("equation,shapes", [
    ("bij,bjk->bik", [("batch", 3, 4), ("batch", 4, 5)]),
    ("bhqd,bhkd->bhqk", [("batch", 2, 3, 4), ("batch", 2, 5, 4)]),
    ("bqk,bkd->bqd", [("batch", 3, 5), ("batch", 5, 4)]),
    ("btd->bdt", [("batch", 3, 4)]),
    ("bij,bij->b", [("batch", 3, 4), ("batch", 3, 4)]),
])
def test_einsum(builder, parity, equation, shapes):
    b = builder()
    ins = [b.input(f"x{i}", s) for i, s in enumerate(shapes)]
    model = parity(b.build(b.op("einsum", ins, dict(equation=equation))))
    assert count_ops(model)["Einsum"] == 1


def test_einsum_with_a_weight_after_a_convolution(builder, parity):
    b = builder()
    x = b.conv(b.input("x", ("batch", 4, 4, 3)), 6, k=1)
    w = b.weight("w", (6, 2))
    parity(b.build(b.op("einsum", [x, w], dict(equation="bhwc,cd->bhwd"))))
