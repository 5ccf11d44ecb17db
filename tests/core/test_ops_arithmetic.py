"""The primitive arithmetic ops (graphir/ops/arithmetic.py) without a framework:
dtype and shape rules with their rejections, kernels against values computed by hand,
and a graph through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphir.ops.arithmetic  # noqa: F401  (registers divide and cast)
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.registry import Layout
from graphir.tensor_types import TensorType


def _t(*shape, dtype="float32") -> TensorType:
    return TensorType(dtype, shape)


# ------------------------------------------------------------------ divide

@pytest.mark.parametrize("x,y,want", [
    (("batch", 3), (3,), ("batch", 3)),          # row broadcast, symbolic batch kept
    (("batch", 1), (1, 4), ("batch", 4)),        # both sides broadcast
    ((2, None), (2, 5), (2, 5)),                 # an unknown dim meets a static one
    ((), ("batch", 2), ("batch", 2)),            # scalar divisor or dividend
])
def test_divide_broadcasts_like_numpy(x, y, want):
    (out,) = infer_types("divide", [_t(*x), _t(*y)], {})
    assert out == _t(*want)


def test_divide_refuses_integers_and_mixed_dtypes():
    with pytest.raises(TypeRuleError) as info:
        infer_types("divide", [_t(2, dtype="int32"), _t(2, dtype="int32")], {})
    assert info.value.input_index == 0 and "float" in str(info.value)
    with pytest.raises(TypeRuleError):
        infer_types("divide", [_t(2), _t(2, dtype="float16")], {})
    with pytest.raises(TypeRuleError):
        infer_types("divide", [_t(2, 3), _t(4)], {})


def test_divide_kernel_by_hand():
    got = get_schema("divide").kernel([np.array([[1.0, -3.0], [2.0, 0.0]]),
                                       np.array([4.0, 2.0])], {})
    np.testing.assert_array_equal(got, [[0.25, -1.5], [0.5, 0.0]])
    inf = get_schema("divide").kernel([np.array([1.0, -1.0, 0.0]), np.array(0.0)], {})
    assert inf[0] == np.inf and inf[1] == -np.inf and np.isnan(inf[2])


# ------------------------------------------------------------------ cast

@pytest.mark.parametrize("to", ["int32", "int64", "bool", "float16", "uint8"])
def test_cast_keeps_the_shape_and_sets_the_dtype(to):
    (out,) = infer_types("cast", [_t("batch", None, 3)], {"to": to})
    assert out == _t("batch", None, 3, dtype=to)


def test_cast_to_must_name_a_dtype():
    schema = get_schema("cast")
    assert schema.check_attrs({"to": "float32"}) is None
    assert "must be one of" in schema.check_attrs({"to": "complex64"})
    assert "missing required attribute 'to'" in schema.check_attrs({})


def test_cast_kernel_by_hand():
    kernel = get_schema("cast").kernel
    x = np.array([-1.7, -0.5, 0.5, 2.5, 3.99])
    np.testing.assert_array_equal(kernel([x], {"to": "int32"}), [-1, 0, 0, 2, 3])  # toward 0
    np.testing.assert_array_equal(kernel([x], {"to": "bool"}), [True] * 5)
    np.testing.assert_array_equal(kernel([np.array([0, 3])], {"to": "bool"}), [False, True])
    # a float target rounds through it (1 + 2**-12 is not a float16) and stays float64
    half = kernel([np.array([1.0 + 2.0 ** -12])], {"to": "float16"})
    assert half.dtype == np.float64 and half[0] == 1.0
    assert kernel([np.array([7, -2], np.int32)], {"to": "float32"}).dtype == np.float64


def test_primitive_ops_are_layout_agnostic():
    assert get_schema("divide").layout is Layout.ANY
    assert get_schema("cast").layout is Layout.ANY


# ------------------------------------------------------------------ in a graph

def test_normalize_then_cast_graph_in_the_interpreter():
    x = Value("x", _t("batch", 3))
    scale = np.array([2.0, 4.0, 0.5], np.float32)
    q = Value("q", _t("batch", 3))
    y = Value("y", _t("batch", 3, dtype="int32"))
    graph = Graph("g", (x,), ("y",), (Node("divide", "q", ("x", "scale"), (q,)),
                                       Node("cast", "y", ("q",), (y,), {"to": "int32"})),
                  {"scale": scale})
    out = evaluate(graph, {"x": np.array([[5.0, -9.0, 1.2], [1.0, 2.0, -0.3]], np.float32)})
    assert out["y"].dtype == np.int32
    np.testing.assert_array_equal(out["y"], [[2, -2, 2], [0, 0, 0]])


# ================================================================== elementwise math

FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8")
UNARY_FLOAT_ONLY = ("reciprocal", "sqrt", "rsqrt", "exp", "log", "log1p", "erf", "sin", "cos",
                    "floor", "ceil")


@pytest.mark.parametrize("op", UNARY_FLOAT_ONLY + ("negative", "abs", "sign", "square", "round"))
def test_unary_ops_keep_the_type_and_symbolic_dims(op):
    for dtype in FLOATS:
        (out,) = infer_types(op, [_t("batch", None, 3, dtype=dtype)], {})
        assert out == _t("batch", None, 3, dtype=dtype)
    with pytest.raises(TypeRuleError) as info:
        infer_types(op, [_t(2, dtype="bool")], {})
    assert info.value.input_index == 0 and info.value.actual == "bool"


@pytest.mark.parametrize("op", UNARY_FLOAT_ONLY)
def test_float_only_unary_ops_refuse_integers(op):
    with pytest.raises(TypeRuleError, match="int32") as info:
        infer_types(op, [_t(2, dtype="int32")], {})
    assert "float" in info.value.expected


def test_integer_dtypes_per_unary_op():
    for op in ("abs", "sign", "square", "round"):
        for dtype in INTS:
            assert infer_types(op, [_t(2, dtype=dtype)], {})[0].dtype.value == dtype
    for dtype in ("int8", "int16", "int32", "int64"):
        assert infer_types("negative", [_t(2, dtype=dtype)], {})[0].dtype.value == dtype
    with pytest.raises(TypeRuleError, match="uint8"):
        infer_types("negative", [_t(2, dtype="uint8")], {})


def _k(op, *arrays, **attrs):
    return get_schema(op).kernel([np.asarray(a) for a in arrays], attrs)


def test_unary_kernels_by_hand():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.5])
    np.testing.assert_array_equal(_k("negative", x), [2.0, 0.5, -0.0, -0.5, -2.5])
    np.testing.assert_array_equal(_k("abs", x), [2.0, 0.5, 0.0, 0.5, 2.5])
    np.testing.assert_array_equal(_k("sign", x), [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(_k("square", x), [4.0, 0.25, 0.0, 0.25, 6.25])
    np.testing.assert_array_equal(_k("reciprocal", np.array([4.0, -0.5])), [0.25, -2.0])
    np.testing.assert_array_equal(_k("sqrt", np.array([9.0, 0.25])), [3.0, 0.5])
    np.testing.assert_array_equal(_k("rsqrt", np.array([4.0, 0.25])), [0.5, 2.0])
    np.testing.assert_array_equal(_k("floor", x), [-2.0, -1.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(_k("ceil", x), [-2.0, -0.0, 0.0, 1.0, 3.0])
    # half to even, as tf.round and ONNX Round (NumPy's np.round; not Python 2's round)
    np.testing.assert_array_equal(_k("round", np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49])),
                                  [0.0, 2.0, 2.0, -0.0, -2.0, 0.0])
    np.testing.assert_allclose(_k("exp", np.array([0.0, 1.0])), [1.0, np.e])
    np.testing.assert_allclose(_k("log", np.array([1.0, np.e])), [0.0, 1.0])
    np.testing.assert_allclose(_k("sin", np.array([0.0, np.pi / 2])), [0.0, 1.0])
    np.testing.assert_allclose(_k("cos", np.array([0.0, np.pi])), [1.0, -1.0])
    np.testing.assert_allclose(_k("erf", np.array([0.0, 0.5, -1.0])),
                               [0.0, 0.5204998778130465, -0.8427007929497149])
    # accurate near 0: log(1 + 1e-17) would be 0 in float64
    np.testing.assert_allclose(_k("log1p", np.array([1e-17, 1e-12])), [1e-17, 1e-12], rtol=1e-12)
    # IEEE edge values, without warnings
    with np.errstate(all="raise"):
        assert np.isnan(_k("sqrt", np.array([-1.0]))[0])
        assert _k("log", np.array([0.0]))[0] == -np.inf
        assert _k("reciprocal", np.array([0.0]))[0] == np.inf
        assert np.isnan(_k("sign", np.array([np.nan]))[0])


def test_integer_unary_kernels_keep_the_dtype_and_wrap():
    i = np.array([-128, -3, 0, 5, 127], np.int8)
    assert _k("abs", i).dtype == np.int8 and _k("abs", i)[0] == -128     # wraps
    np.testing.assert_array_equal(_k("negative", i), [-128, 3, 0, -5, -127])
    np.testing.assert_array_equal(_k("sign", i), [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(_k("square", np.array([3, -4, 200], np.int16)),
                                  [9, 16, (200 * 200) - 65536])
    r = _k("round", np.array([7, -3], np.int32))
    assert r.dtype == np.int32 and list(r) == [7, -3]


# ------------------------------------------------------------------ binary

@pytest.mark.parametrize("op", ["floor_divide", "mod", "power"])
def test_binary_ops_broadcast_and_refuse_mixed_dtypes(op):
    (out,) = infer_types(op, [_t("batch", 1, 4, dtype="int32"), _t(3, 1, dtype="int32")], {})
    assert out == _t("batch", 3, 4, dtype="int32")
    (out,) = infer_types(op, [_t("batch", 4), _t()], {})
    assert out == _t("batch", 4)
    with pytest.raises(TypeRuleError) as info:
        infer_types(op, [_t(2, dtype="int32"), _t(2, dtype="int64")], {})
    assert info.value.input_index == 1
    with pytest.raises(TypeRuleError):
        infer_types(op, [_t(2, dtype="bool"), _t(2, dtype="bool")], {})
    with pytest.raises(TypeRuleError):
        infer_types(op, [_t(2, 3), _t(4)], {})


def test_power_accepts_only_the_integer_types_onnx_pow_has():
    for dtype in ("int32", "int64") + FLOATS:
        infer_types("power", [_t(2, dtype=dtype), _t(2, dtype=dtype)], {})
    for dtype in ("int8", "int16", "uint8"):
        with pytest.raises(TypeRuleError, match=dtype):
            infer_types("power", [_t(2, dtype=dtype), _t(2, dtype=dtype)], {})


NUM = np.array([7, -7, 7, -7, 6, -6, 0])
DEN = np.array([2, 2, -2, -2, 3, -3, 5])


def test_floor_divide_and_mod_have_python_signs_on_integers():
    for dtype in (np.int8, np.int32, np.int64):
        q = _k("floor_divide", NUM.astype(dtype), DEN.astype(dtype))
        m = _k("mod", NUM.astype(dtype), DEN.astype(dtype))
        assert q.dtype == dtype and m.dtype == dtype
        np.testing.assert_array_equal(q, [3, -4, -4, 3, 2, 2, 0])
        np.testing.assert_array_equal(m, [1, 1, -1, -1, 0, 0, 0])   # the divisor's sign
        np.testing.assert_array_equal(q * DEN.astype(dtype) + m, NUM)


def test_floor_divide_and_mod_on_floats():
    x, y = NUM.astype(np.float64) + 0.5, DEN.astype(np.float64)
    np.testing.assert_array_equal(_k("floor_divide", x, y), np.floor(x / y))
    np.testing.assert_array_equal(_k("mod", x, y), [1.5, 1.5, -0.5, -0.5, 0.5, -2.5, 0.5])
    # fmod, then + y where the signs differ: -1e-8 mod 1 is 1 - 1e-8 (in float64)
    assert _k("mod", np.array([-1e-8]), np.array([1.0]))[0] == 1.0 - 1e-8
    # IEEE: x mod inf is x (same signs) or inf; x mod 0 is NaN; -0 keeps its sign
    got = _k("mod", np.array([3.0, -3.0, 3.0, -0.0]), np.array([np.inf, np.inf, 0.0, 2.0]))
    assert got[0] == 3.0 and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == 0.0 and np.signbit(got[3])
    got = _k("floor_divide", np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 0.0]))
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])


def test_integer_division_by_zero_is_an_error_as_in_tensorflow():
    for op in ("floor_divide", "mod"):
        with pytest.raises(ValueError, match="by zero"):
            _k(op, np.array([1, 2], np.int32), np.array([1, 0], np.int32))


def test_power_kernel():
    np.testing.assert_array_equal(_k("power", np.array([2.0, 9.0, -8.0]), np.array(
        [3.0, 0.5, 2.0])), [8.0, 3.0, 64.0])
    assert np.isnan(_k("power", np.array([-8.0]), np.array([1 / 3]))[0])
    got = _k("power", np.array([3, -2, 5], np.int32), np.array([2, 3, 0], np.int32))
    assert got.dtype == np.int32 and list(got) == [9, -8, 1]
    with pytest.raises(ValueError):
        _k("power", np.array([2], np.int32), np.array([-1], np.int32))


# ------------------------------------------------------------------ clip

def test_clip_rule():
    schema = get_schema("clip")
    assert schema.check_attrs({"min": 0.0, "max": None}) is None
    assert "missing required attribute 'max'" in schema.check_attrs({"min": 0.0})
    (out,) = infer_types("clip", [_t("batch", 3, dtype="int8")], {"min": -3.0, "max": 4.0})
    assert out == _t("batch", 3, dtype="int8")
    bad = [({"min": None, "max": None}, "at least one"), ({"min": 2.0, "max": 1.0}, "min=2.0"),
           ({"min": float("nan"), "max": 1.0}, "NaN")]
    for attrs, match in bad:
        with pytest.raises(TypeRuleError, match=match):
            infer_types("clip", [_t(2)], attrs)
    for attrs in ({"min": 0.5, "max": None}, {"min": None, "max": 300.0}):
        with pytest.raises(TypeRuleError, match="not a int8 value"):
            infer_types("clip", [_t(2, dtype="int8")], attrs)
    with pytest.raises(TypeRuleError):
        infer_types("clip", [_t(2, dtype="bool")], {"min": 0.0, "max": 1.0})


def test_clip_kernel():
    x = np.array([-np.inf, -3.0, 0.5, 9.0, np.inf, np.nan])
    got = _k("clip", x, min=-1.0, max=6.0)
    np.testing.assert_array_equal(got[:5], [-1.0, -1.0, 0.5, 6.0, 6.0])
    assert np.isnan(got[5])
    np.testing.assert_array_equal(_k("clip", x, min=0.0, max=None)[:5],
                                  [0.0, 0.0, 0.5, 9.0, np.inf])
    np.testing.assert_array_equal(_k("clip", x, min=None, max=0.0)[:5],
                                  [-np.inf, -3.0, 0.0, 0.0, 0.0])
    i = _k("clip", np.array([-100, 5, 100], np.int8), min=-3.0, max=None)
    assert i.dtype == np.int8 and list(i) == [-3, 5, 100]


def test_elementwise_math_is_layout_agnostic():
    for op in UNARY_FLOAT_ONLY + ("negative", "abs", "sign", "square", "round", "floor_divide",
                                  "mod", "power", "clip"):
        assert get_schema(op).layout is Layout.ANY, op


def test_integer_graph_in_the_interpreter():
    """``(x // 3) * ... `` style: floor_divide and mod of an int tensor by a weight,
    then power and clip, with the dtype kept throughout."""
    x = Value("x", _t("batch", 4, dtype="int32"))
    three = np.array(3, np.int32)
    two = np.array([2, 2, 2, 2], np.int32)
    nodes = (Node("floor_divide", "q", ("x", "three"), (Value("q", _t("batch", 4, dtype="int32")),)),
             Node("mod", "r", ("x", "three"), (Value("r", _t("batch", 4, dtype="int32")),)),
             Node("power", "p", ("q", "two"), (Value("p", _t("batch", 4, dtype="int32")),)),
             Node("clip", "y", ("p",), (Value("y", _t("batch", 4, dtype="int32")),),
                  {"min": None, "max": 5.0}))
    graph = Graph("g", (x,), ("q", "r", "y"), nodes, {"three": three, "two": two})
    out = evaluate(graph, {"x": np.array([[-7, -1, 5, 10]], np.int32)})
    np.testing.assert_array_equal(out["q"], [[-3, -1, 1, 3]])
    np.testing.assert_array_equal(out["r"], [[2, 2, 2, 1]])
    np.testing.assert_array_equal(out["y"], [[5, 1, 1, 5]])
    assert out["y"].dtype == np.int32
