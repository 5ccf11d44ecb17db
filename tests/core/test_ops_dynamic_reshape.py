"""The ``dynamic_reshape`` op (``specs/ops-indexing.md``): size expressions, the type
rule (symbolic products, the -1 resolved by division of products), the reference
kernel, and JSON round trip.  No TensorFlow or onnx here."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.serialization import graph_from_json, graph_to_json
from graphir.size_exprs import (SizeExpr, format_size, monomial, monomial_dim, over,
                                parse_size, size_value)
from graphir.tensor_types import TensorType

F32 = "float32"


def _t(*shape):
    return TensorType(F32, shape)


def _infer(shapes, sizes):
    return infer_types("dynamic_reshape", [_t(*s) for s in shapes], {"shape": tuple(sizes)})[0]


@pytest.mark.parametrize("text,expr", [
    ("-1", None),
    ("3", SizeExpr(3, ())),
    ("in1[0]", SizeExpr(1, ((1, 0),))),
    ("3*in1[1]", SizeExpr(3, ((1, 1),))),
    ("in0[1]*in2[3]//2", SizeExpr(1, ((0, 1), (2, 3)), 2)),
    ("2*3*in0[2]", SizeExpr(6, ((0, 2),))),
])
def test_size_expressions_parse_and_print(text, expr):
    assert parse_size(text) == expr
    assert parse_size(format_size(expr)) == expr


@pytest.mark.parametrize("bad", ["", "x", "in1", "in1[a]", "3*", "in1[0]//0", "0", "-2",
                                 "in1[0]//b"])
def test_bad_size_expressions_are_refused(bad):
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


def test_size_values_floor_divide():
    shapes = [(2, 7, 5), (4,)]
    assert size_value(parse_size("in0[1]*in0[2]//2"), shapes) == 17
    assert size_value(parse_size("3*in1[0]"), shapes) == 12


def test_monomials():
    assert monomial("4*batch") == (4, ("batch",))
    assert monomial(7) == (7, ())
    assert monomial(None) is None
    assert monomial_dim((2, ("t", "batch"))) == "2*batch*t"
    assert monomial_dim((3, ())) == 3
    assert monomial_dim((0, ("batch",))) == 0                   # an empty axis
    assert over((12, ("batch",)), (4, ("batch",))) == (3, ())
    assert over((12, ("batch",)), (5, ("batch",))) is None     # not divisible
    assert over((12, ("batch",)), (4, ("t",))) is None          # t is not a factor


def test_type_rule_keeps_named_and_static_sizes():
    pixel = ("batch", None, None, 9)
    assert _infer([pixel, pixel], ["in0[0]", "in1[1]", "in1[2]", "3", "3", "1"]).shape == (
        "batch", None, None, 3, 3, 1)
    g = (4, "batch", 6, 8)
    assert _infer([g, g], ["4*in1[1]", "in1[2]*in1[3]"]).shape == ("4*batch", 48)
    assert _infer([g, g], ["in1[2]//4", "-1"]).shape == (1, "192*batch")
    # the -1 resolved: ("4*batch", 3) -> (4, batch, -1) holds 3
    assert _infer([("4*batch", 3), g], ["4", "in1[1]", "-1"]).shape == (4, "batch", 3)
    # unknown when the division is not exact or a dim is unknown
    assert _infer([("batch", 3), g], ["4", "in1[1]", "-1"]).shape == (4, "batch", None)
    assert _infer([(None, 3), g], ["in1[1]", "-1"]).shape == ("batch", None)


@pytest.mark.parametrize("shapes,sizes,match", [
    ([(2, 6)], ["-1", "-1"], "more than one -1"),
    ([(2, 6)], ["in0[2]", "3"], "names no axis"),
    ([(2, 6)], ["in1[0]", "3"], "names no axis"),
    ([(2, 6)], ["5", "3"], "cannot be reshaped"),
    ([(2, 6)], ["4x"], "neither an int"),
])
def test_type_rule_refusals(shapes, sizes, match):
    with pytest.raises(TypeRuleError, match=match):
        _infer(shapes, sizes)


def test_kernel_reads_sizes_from_the_inputs():
    x = np.arange(2 * 3 * 4 * 8, dtype=np.float64).reshape(2, 3, 4, 8)
    ref = np.zeros((5, 2))   # only its shape is read
    kernel = get_schema("dynamic_reshape").kernel
    out = kernel([x, ref], {"shape": ("in0[0]", "in0[1]*in0[2]//2", "-1", "in1[1]")})
    np.testing.assert_array_equal(out, x.reshape(2, 6, 8, 2))


def test_graph_evaluates_and_round_trips():
    x = Value("x", _t("batch", None, None, 4))
    node = Node("dynamic_reshape", "y", ("x", "x"), (Value("y", _t("batch", None, None, 1)),),
                {"shape": ("in0[0]", "2*in1[1]", "2*in1[2]", "1")})
    graph = Graph("g", [x], ["y"], [node])
    data = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(F32)
    np.testing.assert_array_equal(evaluate(graph, {"x": data})["y"], data.reshape(2, 6, 10, 1))
    import json

    again = graph_from_json(json.loads(json.dumps(graph_to_json(graph))), {})
    assert str(again) == str(graph)
    assert again.nodes[0].attrs["shape"] == node.attrs["shape"]


def test_exact_floor_divisions_of_named_products():
    """ViTDet's window partition undone: (4*batch, 2, 2, 8) -> (in1[0] // 4, 2, 2, 2, 2,
    -1) is (batch, 2, 2, 2, 2, 8); a division that is not exact for every batch stays
    unknown (a broken twin that divided anyway would name 6 // 4 as 1.5 * batch)."""
    windows = ("4*batch", 2, 2, 8)
    out = _infer([windows, windows], ["in1[0]//4", "2", "2", "2", "2", "-1"])
    assert out.shape == ("batch", 2, 2, 2, 2, 8)
    assert _infer([("6*batch", 8), ("6*batch", 8)], ["in1[0]//4", "-1"]).shape == (None, None)
