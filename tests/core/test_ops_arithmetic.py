"""The primitive ops ``divide`` and ``cast`` (graphir/ops/arithmetic.py) without a framework:
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
