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


# ================================================================== elementwise math

#: op -> the ONNX operator types its float emission uses
UNARY_ONNX = {"negative": {"Neg"}, "reciprocal": {"Reciprocal"}, "abs": {"Abs"},
              "sign": {"Sign"}, "square": {"Mul"}, "sqrt": {"Sqrt"},
              "rsqrt": {"Sqrt", "Reciprocal"}, "exp": {"Exp"}, "log": {"Log"},
              "log1p": {"Log", "Where", "IsInf"}, "erf": {"Erf"}, "sin": {"Sin"},
              "cos": {"Cos"}, "floor": {"Floor"}, "ceil": {"Ceil"}, "round": {"Round"}}
POSITIVE_ONLY = {"sqrt", "rsqrt", "log", "log1p", "reciprocal"}


@AFTER_CONV
@pytest.mark.parametrize("op", sorted(UNARY_ONNX))
def test_unary_float_ops(builder, parity, after_conv, op):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4, k=1)
        if op in POSITIVE_ONLY:  # a positive input: exp of the convolution
            x = b.op("exp", [x])
    y = b.op(op, [x])

    def feeds(batch):
        rng = np.random.default_rng(batch)
        shape = (batch, 7, 6, 4)
        if op in POSITIVE_ONLY:
            return {"x": rng.uniform(0.05, 4.0, size=shape).astype(np.float32)}
        # halves for round (ties to even), spread values for the rest
        vals = np.round(rng.normal(scale=3.0, size=shape) * 2) / 2 if op == "round" \
            else rng.normal(scale=2.0, size=shape)
        return {"x": vals.astype(np.float32)}

    model = parity(b.build(y), feeds=feeds)
    counts = count_ops(model)
    assert UNARY_ONNX[op] <= set(counts), counts
    # into the conv and back out at the graph output, none around the op itself
    assert counts.get("Transpose", 0) == (2 if after_conv else 0)


def test_log1p_is_accurate_near_zero_and_at_the_edges(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 8))
    vals = np.array([1e-10, -3e-9, 0.0, -1.0, -2.0, np.inf, 2.5, 1e6], np.float32)
    model = parity(b.build(b.op("log1p", [x])), feeds=lambda n: {"x": np.tile(vals, (n, 1))})
    from tests.backends.onnx.conftest import run_onnx
    got = run_onnx(model, {"x": vals[None]})[b.nodes[-1].name][0]
    assert got[0] == np.float32(1e-10) and got[1] == np.float32(-3e-9)   # not log(1 + x) == 0
    assert got[3] == -np.inf and np.isnan(got[4]) and got[5] == np.inf


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
@pytest.mark.parametrize("op", ["negative", "abs", "sign", "square", "round"])
def test_unary_integer_ops(builder, parity, op, dtype):
    b = builder()
    x = b.input("x", ("batch", 9), dtype=dtype)

    def feeds(batch):
        vals = np.array([-11, -5, -1, 0, 1, 2, 7, 9, 11], dtype)
        return {"x": np.stack([np.roll(vals, k) for k in range(batch)])}

    model = parity(b.build(b.op(op, [x])), feeds=feeds, dtype=dtype)
    if op == "round":
        assert count_ops(model) == {"Identity": 1}


NUM = np.array([7, -7, 7, -7, 6, -6, 0, 1, -1, 11], np.float64)
DEN = np.array([2, 2, -2, -2, 3, -3, 5, -4, 4, 3], np.float64)


@AFTER_CONV
@pytest.mark.parametrize("op", ["floor_divide", "mod"])
def test_floor_divide_and_mod_on_floats(builder, parity, after_conv, op):
    """Negative dividends and divisors; the divisor a weight broadcast over the rows."""
    b = builder()
    x = b.input("x", ("batch", 7, 6, 10))
    if after_conv:
        x = b.op("identity", [b.conv(x, 10, k=1)])
    y = b.const("y", DEN.astype(np.float32))
    g = b.build(b.op(op, [x, y]))

    def feeds(batch):
        rng = np.random.default_rng(batch)
        whole = np.broadcast_to(NUM, (batch, 7, 6, 10))            # exact quotients
        noisy = whole + rng.uniform(-0.99, 0.99, size=whole.shape)
        return {"x": np.where(rng.random(whole.shape) < 0.5, whole, noisy).astype(np.float32)}

    if not after_conv:
        parity(g, feeds=feeds)
    else:  # the conv scrambles the exact values; still negative and positive ones
        parity(g)


def test_float_mod_matches_python_signs_exactly(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 10))
    y = b.input("y", ("batch", 10))
    model = parity(b.build(b.op("mod", [x, y])),
                   feeds=lambda n: {"x": np.tile(NUM + 0.5, (n, 1)).astype(np.float32),
                                    "y": np.tile(DEN, (n, 1)).astype(np.float32)})
    from tests.backends.onnx.conftest import run_onnx
    got = run_onnx(model, {"x": (NUM[None] + 0.5).astype(np.float32),
                           "y": DEN[None].astype(np.float32)})
    want = [(a + 0.5) % d for a, d in zip(NUM, DEN)]      # Python's %: the divisor's sign
    np.testing.assert_array_equal(next(iter(got.values()))[0], np.float32(want))
    assert count_ops(model)["Mod"] == 1


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
@pytest.mark.parametrize("op", ["floor_divide", "mod"])
def test_floor_divide_and_mod_on_integers(builder, parity, op, dtype):
    b = builder()
    x = b.input("x", ("batch", 10), dtype=dtype)
    y = b.input("y", ("batch", 10), dtype=dtype)

    def feeds(batch):
        return {"x": np.stack([np.roll(NUM, k) for k in range(batch)]).astype(dtype),
                "y": np.tile(DEN, (batch, 1)).astype(dtype)}

    model = parity(b.build(b.op(op, [x, y])), feeds=feeds, dtype=dtype)
    from tests.backends.onnx.conftest import run_onnx
    got = next(iter(run_onnx(model, feeds(1)).values()))[0]
    python = [int(a) // int(d) if op == "floor_divide" else int(a) % int(d)
              for a, d in zip(NUM, DEN)]
    np.testing.assert_array_equal(got, python)
    assert len(set(python)) > 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_power_on_floats(builder, parity, dtype):
    b = builder()
    x = b.input("x", ("batch", 6), dtype=dtype)
    e = b.input("e", ("batch", 6), dtype=dtype)
    two = b.const("two", np.array(2.0, dtype))
    g = b.build([b.op("power", [x, e]), b.op("power", [x, two]), b.op("power", [two, e])])

    def feeds(batch):
        rng = np.random.default_rng(batch)
        return {"x": rng.uniform(0.1, 3.0, size=(batch, 6)).astype(dtype),
                "e": rng.normal(scale=2.0, size=(batch, 6)).astype(dtype)}

    assert count_ops(parity(g, feeds=feeds, dtype=dtype))["Pow"] == 3


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_power_on_integers(builder, parity, dtype):
    b = builder()
    x = b.input("x", ("batch", 8), dtype=dtype)
    e = b.input("e", ("batch", 8), dtype=dtype)
    parity(b.build(b.op("power", [x, e])), dtype=dtype,
           feeds=lambda n: {"x": np.tile(np.array([-3, -2, -1, 0, 1, 2, 3, 5], dtype), (n, 1)),
                            "e": np.tile(np.array([3, 2, 5, 0, 7, 10, 1, 4], dtype), (n, 1))})


CLIPS = [({"min": -0.5, "max": 0.7}, "Clip"), ({"min": 0.0, "max": None}, "Max"),
         ({"min": None, "max": 1.5}, "Min")]


@AFTER_CONV
@pytest.mark.parametrize("attrs,onnx_op", CLIPS, ids=["both", "min", "max"])
def test_clip_on_floats(builder, parity, after_conv, attrs, onnx_op):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4, k=1)
    model = parity(b.build(b.op("clip", [x], attrs)))
    assert count_ops(model)[onnx_op] == 1


@pytest.mark.parametrize("attrs,onnx_op", CLIPS, ids=["both", "min", "max"])
def test_clip_keeps_inf_and_nan_as_tensorflow(builder, parity, attrs, onnx_op):
    """onnxruntime's Clip without ``max`` would clamp +inf to the largest float."""
    b = builder()
    x = b.input("x", ("batch", 6))
    vals = np.array([-np.inf, -3.0, 0.25, 9.0, np.inf, np.nan], np.float32)
    parity(b.build(b.op("clip", [x], attrs)), feeds=lambda n: {"x": np.tile(vals, (n, 1))})


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
@pytest.mark.parametrize("attrs", [{"min": -2.0, "max": 3.0}, {"min": 1.0, "max": None},
                                   {"min": None, "max": -1.0}], ids=["both", "min", "max"])
def test_clip_on_integers(builder, parity, dtype, attrs):
    b = builder()
    x = b.input("x", ("batch", 9), dtype=dtype)
    vals = np.array([-100, -5, -2, -1, 0, 1, 3, 4, 100], dtype)
    parity(b.build(b.op("clip", [x], attrs)), dtype=dtype,
           feeds=lambda n: {"x": np.tile(vals, (n, 1))})
