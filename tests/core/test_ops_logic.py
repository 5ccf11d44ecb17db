"""The comparison and logic ops (graphir/ops/logic.py) without a framework: dtype and
shape rules with their rejections, kernels against values written by hand (NaN and
signed zeros included), and a graph through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphir.ops.logic  # noqa: F401  (registers the ops)
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.registry import Layout
from graphir.tensor_types import TensorType

COMPARISONS = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
ORDERINGS = ["less", "less_equal", "greater", "greater_equal"]
BINARY_LOGIC = ["logical_and", "logical_or", "logical_xor"]
ALL = COMPARISONS + BINARY_LOGIC + ["logical_not", "where"]


def _t(*shape, dtype="float32") -> TensorType:
    return TensorType(dtype, shape)


# ------------------------------------------------------------------ type rules

@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("x,y,want", [
    (("batch", 3), (3,), ("batch", 3)),          # row broadcast, symbolic batch kept
    (("batch", 1), (1, 4), ("batch", 4)),        # both sides broadcast
    ((2, None), (2, 5), (2, 5)),                 # an unknown dim meets a static one
    ((), ("batch", 2), ("batch", 2)),            # a scalar operand
])
def test_comparisons_broadcast_to_bool(op, x, y, want):
    (out,) = infer_types(op, [_t(*x), _t(*y)], {})
    assert out == _t(*want, dtype="bool")


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "float16", "float64"])
def test_comparisons_take_every_numeric_dtype(dtype):
    for op in COMPARISONS:
        (out,) = infer_types(op, [_t("batch", 2, dtype=dtype), _t(dtype=dtype)], {})
        assert out.dtype.value == "bool"


def test_only_equality_takes_bools():
    for op in ("equal", "not_equal"):
        (out,) = infer_types(op, [_t(3, dtype="bool"), _t(3, dtype="bool")], {})
        assert out == _t(3, dtype="bool")
    for op in ORDERINGS:
        with pytest.raises(TypeRuleError, match="ordering") as info:
            infer_types(op, [_t(3, dtype="bool"), _t(3, dtype="bool")], {})
        assert info.value.input_index == 0


@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons_refuse_mixed_dtypes_and_bad_shapes(op):
    with pytest.raises(TypeRuleError) as info:
        infer_types(op, [_t(2), _t(2, dtype="int32")], {})
    assert info.value.input_index == 1 and info.value.actual == "int32"
    with pytest.raises(TypeRuleError):
        infer_types(op, [_t(2, 3), _t(4)], {})


@pytest.mark.parametrize("op", BINARY_LOGIC)
def test_binary_logic_takes_bools_only(op):
    (out,) = infer_types(op, [_t("batch", 1, dtype="bool"), _t(4, dtype="bool")], {})
    assert out == _t("batch", 4, dtype="bool")
    with pytest.raises(TypeRuleError, match="bool") as info:
        infer_types(op, [_t(4, dtype="bool"), _t(4, dtype="int32")], {})
    assert info.value.input_index == 1


def test_logical_not_takes_a_bool():
    (out,) = infer_types("logical_not", [_t("batch", None, dtype="bool")], {})
    assert out == _t("batch", None, dtype="bool")
    with pytest.raises(TypeRuleError):
        infer_types("logical_not", [_t(3)], {})


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "int16"])
def test_where_broadcasts_three_ways_and_keeps_the_dtype(dtype):
    (out,) = infer_types("where", [_t("batch", 1, 1, dtype="bool"), _t(1, 4, 1, dtype=dtype),
                                   _t(5, dtype=dtype)], {})
    assert out == _t("batch", 4, 5, dtype=dtype)


def test_where_rejections():
    with pytest.raises(TypeRuleError, match="condition") as info:
        infer_types("where", [_t(3), _t(3), _t(3)], {})
    assert info.value.input_index == 0
    with pytest.raises(TypeRuleError) as info:
        infer_types("where", [_t(3, dtype="bool"), _t(3), _t(3, dtype="float16")], {})
    assert info.value.input_index == 2
    with pytest.raises(TypeRuleError):
        infer_types("where", [_t(2, dtype="bool"), _t(3), _t(3)], {})


def test_arity_is_checked():
    assert "expects 2 inputs" in get_schema("less").check_arity(3)
    assert get_schema("where").check_arity(3) is None
    assert get_schema("where").check_arity(1) is not None
    assert get_schema("logical_not").check_arity(1) is None


def test_all_are_elementwise_and_attribute_free():
    for op in ALL:
        schema = get_schema(op)
        assert schema.layout is Layout.ANY and not schema.attrs, op


# ------------------------------------------------------------------ kernels

NAN = np.nan


def test_comparison_kernels_by_hand():
    x = np.array([1.0, 2.0, NAN, -0.0, 3.0, NAN])
    y = np.array([2.0, 2.0, 1.0, 0.0, 1.0, NAN])
    want = {
        "equal": [False, True, False, True, False, False],        # NaN == NaN is false
        "not_equal": [True, False, True, False, True, True],      # NaN != NaN is true
        "less": [True, False, False, False, False, False],
        "less_equal": [True, True, False, True, False, False],
        "greater": [False, False, False, False, True, False],
        "greater_equal": [False, True, False, True, True, False],
    }
    for op, expected in want.items():
        got = get_schema(op).kernel([x, y], {})
        assert got.dtype == np.bool_, op
        np.testing.assert_array_equal(got, expected, err_msg=op)


def test_integer_comparison_kernel_broadcasts():
    x = np.array([[-3], [0], [7]], np.int32)
    y = np.array([0, 7], np.int32)
    got = get_schema("greater_equal").kernel([x, y], {})
    np.testing.assert_array_equal(got, [[False, False], [True, False], [True, True]])


def test_logic_kernels_by_hand():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    k = {op: get_schema(op).kernel for op in BINARY_LOGIC + ["logical_not"]}
    np.testing.assert_array_equal(k["logical_and"]([a, b], {}), [True, False, False, False])
    np.testing.assert_array_equal(k["logical_or"]([a, b], {}), [True, True, True, False])
    np.testing.assert_array_equal(k["logical_xor"]([a, b], {}), [False, True, True, False])
    np.testing.assert_array_equal(k["logical_not"]([a], {}), [False, False, True, True])


def test_where_kernel_by_hand():
    cond = np.array([[True], [False]])
    got = get_schema("where").kernel([cond, np.array([1.0, 2.0, 3.0]), np.array(-1.0)], {})
    np.testing.assert_array_equal(got, [[1.0, 2.0, 3.0], [-1.0, -1.0, -1.0]])


# ------------------------------------------------------------------ in a graph

def test_mask_fill_graph_in_the_interpreter():
    """m = (x > 0) & ~(x == t); out = where(m, x, fill): bool and float outputs."""
    x = Value("x", _t("batch", 4))

    def b(name):
        return Value(name, _t("batch", 4, dtype="bool"))

    nodes = (Node("greater", "pos", ("x", "zero"), (b("pos"),)),
             Node("equal", "hit", ("x", "t"), (b("hit"),)),
             Node("logical_not", "miss", ("hit",), (b("miss"),)),
             Node("logical_and", "m", ("pos", "miss"), (b("m"),)),
             Node("where", "out", ("m", "x", "fill"), (Value("out", _t("batch", 4)),)))
    weights = {"zero": np.array(0.0, np.float32), "t": np.array(2.0, np.float32),
               "fill": np.array([-1.0, -2.0, -3.0, -4.0], np.float32)}
    graph = Graph("g", (x,), ("m", "out"), nodes, weights)
    out = evaluate(graph, {"x": np.array([[1.0, 2.0, -1.0, 5.0],
                                          [0.0, 2.5, 2.0, -0.5]], np.float32)})
    assert out["m"].dtype == np.bool_ and out["out"].dtype == np.float32
    np.testing.assert_array_equal(out["m"], [[True, False, False, True],
                                             [False, True, False, False]])
    np.testing.assert_array_equal(out["out"], [[1.0, -2.0, -3.0, 5.0],
                                               [-1.0, 2.5, -3.0, -4.0]])
