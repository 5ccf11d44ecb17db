"""The shape and indexing ops (graphir/ops/indexing.py): onnxruntime matches the NumPy
reference at batch sizes 1 and 3 (a symbolic batch), for float, integer and bool data,
from a graph input (NHWC) and after a convolution (an NCHW value handed back as NHWC);
expected output dtypes are written here."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.backends.onnx import count_ops
from graphir.ops.indexing import SLICE_BEGIN, SLICE_END

X = ("batch", 4, 6)
AFTER_CONV = pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])


def _ints(shape, low=-3, high=9, dtype=np.int32, seed=0):
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "bool", "uint8"])
def test_layout_ops_on_every_dtype(builder, parity, dtype):
    """transpose, expand_dims, squeeze, flip, tile, repeat, stack on one dtype."""
    b = builder()
    x = b.input("x", X, dtype=dtype)
    t = b.op("transpose", [x], dict(perm=(2, 0, 1)))
    e = b.op("expand_dims", [x], dict(axes=(1, 4)))
    s = b.op("squeeze", [e], dict(axes=(1,)))
    f = b.op("flip", [x], dict(axes=(0, 2)))
    ti = b.op("tile", [x], dict(repeats=(1, 2, 3)))
    r = b.op("repeat", [x], dict(repeats=3, axis=2))
    r0 = b.op("repeat", [x], dict(repeats=2, axis=0))
    st = b.op("stack", [x, f], dict(axis=3))
    outs = [t, s, f, ti, r, r0, st]

    def feeds(batch):
        vals = _ints((batch, 4, 6), seed=batch)
        return {"x": (vals % 2).astype(bool) if dtype == "bool" else vals.astype(dtype)}

    model = parity(b.build(outs), feeds=feeds, dtype=dtype)
    assert count_ops(model)["Transpose"] == 1


@AFTER_CONV
def test_slices_with_negative_steps_and_clamping(builder, parity, after_conv):
    b = builder()
    x = b.input("x", ("batch", 7, 6, 4))
    if after_conv:
        x = b.conv(x, 4)
    a = b.op("slice", [x], dict(starts=(0, 1, -1, 0), ends=(SLICE_END, 3, SLICE_BEGIN, 100),
                                steps=(1, 1, -2, 1)))
    c = b.op("slice", [x], dict(starts=(-2, 5, 0, 3), ends=(SLICE_END, 1, 4, -100),
                                steps=(1, -2, 3, -1)))
    whole = b.op("slice", [x], dict(starts=(0,) * 4, ends=(SLICE_END,) * 4, steps=(1,) * 4))
    model = parity(b.build([a, c, whole]), batches=(1, 3))
    assert count_ops(model)["Slice"] == 2 and count_ops(model)["Identity"] == 1


@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
def test_gather_computed_and_weight_indices_wrap_negatives(builder, parity, idx_dtype):
    b = builder()
    x = b.input("x", X)
    i = b.input("i", ("batch", 3), dtype=idx_dtype)
    w = b.const("w", np.array([[5, -1], [0, -6]], idx_dtype))
    z = b.const("z", np.asarray(-2, np.int64))
    g1 = b.op("gather", [x, i], dict(axis=2))
    g2 = b.op("gather", [x, w], dict(axis=2))
    g3 = b.op("gather", [x, z], dict(axis=1))      # a rank-0 index drops the axis

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"x": rng.normal(size=(batch, 4, 6)).astype(np.float32),
                "i": rng.integers(-6, 6, size=(batch, 3)).astype(idx_dtype)}

    parity(b.build([g1, g2, g3]), feeds=feeds)


@pytest.mark.parametrize("idx_shape", [("batch", 3, 6), ("batch", 2, 1), (1, 5, 6)],
                         ids=["same", "broadcast_x", "broadcast_indices"])
def test_take_along_axis(builder, parity, idx_shape):
    b = builder()
    x = b.input("x", X)
    i = b.input("i", idx_shape, dtype="int64")
    model = parity(b.build(b.op("take_along_axis", [x, i], dict(axis=1))),
                   feeds=lambda batch: {
                       "x": np.random.default_rng(batch).normal(size=(batch, 4, 6)).astype(
                           np.float32),
                       "i": _ints(tuple(batch if d == "batch" else d for d in idx_shape),
                                  -4, 4, np.int64, batch)})
    assert count_ops(model)["GatherElements"] == 1
    assert count_ops(model).get("Expand", 0) == (0 if idx_shape[2] == 6 and idx_shape[0] ==
                                                 "batch" else 2)


@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
def test_scatter_nd_update_of_rows_and_cells(builder, parity, idx_dtype):
    """Rows of the batch at computed indices, cells at weight indices, int data."""
    b = builder()
    x = b.input("x", X)
    i = b.input("i", (2, 1), dtype=idx_dtype)
    u = b.input("u", (2, 4, 6))
    rows = b.op("scatter_nd_update", [x, i, u], {})
    n = b.input("n", ("batch", 4, 6), dtype="int32")
    cells = b.op("scatter_nd_update",
                 [n, b.const("w", np.array([[0, 3, 5], [0, 1, 0]], idx_dtype)),
                  b.const("v", np.array([-7, 9], np.int32))], {})

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"x": rng.normal(size=(batch, 4, 6)).astype(np.float32),
                "i": rng.permutation(batch)[:2].reshape(2, 1).astype(idx_dtype),
                "u": rng.normal(size=(2, 4, 6)).astype(np.float32),
                "n": _ints((batch, 4, 6), seed=batch)}

    graph = b.build([rows, cells])
    model = parity(graph, feeds=feeds, batches=(3, 5),
                   dtype=dict(zip(graph.outputs, ["float32", "int32"])))
    assert count_ops(model)["ScatterND"] == 2


def test_broadcast_to_static_and_keeping_the_batch(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 1, 6), dtype="int32")
    keep = b.op("broadcast_to", [x], dict(shape=(2, -1, 4, 6)))
    one = b.input("one", (1, 6))
    fixed = b.op("broadcast_to", [one], dict(shape=(3, 6)))
    parity(b.build([keep, fixed]), batches=(1,), dtype={keep: "int32", fixed: "float32"})
    b2 = builder()
    x2 = b2.input("x", ("batch", 1, 6), dtype="int32")
    parity(b2.build(b2.op("broadcast_to", [x2], dict(shape=(-1, 4, 6)))), dtype="int32")


@AFTER_CONV
@pytest.mark.parametrize("mode,value", [("constant", 1.5), ("constant", 0.0), ("reflect", 0.0)])
def test_pad(builder, parity, after_conv, mode, value):
    b = builder()
    x = b.input("x", ("batch", 7, 6, 4))
    if after_conv:
        x = b.conv(x, 4)
    batch_pad = (0, 1) if mode == "constant" else (0, 0)  # reflect needs dim > pad
    parity(b.build(b.op("pad", [x], dict(pads=(batch_pad, (2, 1), (0, 3), (1, 0)), mode=mode,
                                         value=value))))


@pytest.mark.parametrize("dtype,value", [("int32", -7.0), ("bool", 1.0), ("int64", 3.0)])
def test_pad_integer_and_bool(builder, parity, dtype, value):
    b = builder()
    x = b.input("x", ("batch", 5), dtype=dtype)
    parity(b.build(b.op("pad", [x], dict(pads=((1, 0), (2, 2)), mode="constant",
                                         value=value))), dtype=dtype)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int8"])
def test_one_hot_negative_and_large_indices_give_zeros(builder, parity, dtype):
    b = builder()
    i = b.input("i", ("batch", 5), dtype=dtype)
    last = b.op("one_hot", [i], dict(depth=4, axis=2))
    first = b.op("one_hot", [i], dict(depth=3, axis=0))
    low = -3 if dtype != "uint8" else 0

    def feeds(batch):
        return {"i": _ints((batch, 5), low, 6, np.dtype(dtype), batch)}

    parity(b.build([last, first]), feeds=feeds)
