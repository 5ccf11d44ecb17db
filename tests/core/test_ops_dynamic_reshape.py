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


def _typed_graph(inputs, steps, weights):
    """A graph of ``steps`` ``(op, name, inputs, attrs)``, each output declared with the
    type its rule infers from the declared inputs (unknown dims stay ``None``, as a Keras
    lowering records them)."""
    types = {name: _t(*shape) for name, shape in inputs.items()}
    types.update({name: TensorType(F32, w.shape) for name, w in weights.items()})
    nodes = []
    for op, name, ins, attrs in steps:
        out = infer_types(op, [types[i] for i in ins], attrs)[0]
        types[name] = out
        nodes.append(Node(op, name, tuple(ins), (Value(name, out),), attrs))
    return Graph("g", [Value(n, types[n]) for n in inputs], [steps[-1][1]], nodes, weights)


def _heads_merged(mask: bool, projected: bool):
    """(b, ?, 8) + (b, ?, 8) through a Dense, split into heads (b, s, 2, 4), optionally
    multiplied by a (b, ?, 1, 1) mask of another input, merged by (in0[0], in1[1], -1)
    (the Dense's output giving b and s), optionally read by a Dense."""
    rng = np.random.default_rng(0)
    weights = {"w": rng.normal(size=(8, 8)).astype(F32), "w2": rng.normal(size=(8, 3)).astype(F32)}
    steps = [("add", "a", ("x", "y"), {}),
             ("dense", "q", ("a", "w"), {"units": 8, "activation": "linear"}),
             ("reshape", "h", ("q",), {"target_shape": (-1, 2, 4)})]
    if mask:
        steps += [("reshape", "m4", ("m",), {"target_shape": (-1, 1, 1)}),
                  ("multiply", "hm", ("h", "m4"), {})]
    steps.append(("dynamic_reshape", "o", ("hm" if mask else "h", "q"),
                  {"shape": ("in0[0]", "in1[1]", "-1")}))
    if projected:
        steps.append(("dense", "p", ("o", "w2"), {"units": 3, "activation": "linear"}))
    inputs = {"x": ("batch", None, 8), "y": ("batch", None, 8)}
    if mask:
        inputs["m"] = ("batch", None)
    return _typed_graph(inputs, steps, {k: v for k, v in weights.items()
                                        if projected or k != "w2"})


def test_reshape_rule_names_the_minus_one():
    out = infer_types("reshape", [_t("batch", "s", 8)], {"target_shape": (-1, 2, 4)})[0]
    assert out.shape == ("batch", "s", 2, 4)
    out = infer_types("reshape", [_t("batch", "s", 6)], {"target_shape": (-1, 4)})[0]
    assert out.shape == ("batch", None, 4)          # 6s / 4 is not a product for every s


def test_named_types_prove_a_minus_one_beside_run_time_sizes():
    """Symbolic shape inference (``named_types``): the sequence axis of the sum of two
    inputs of unknown length gets one name, which the Dense, the head split and the
    merge keep, so the merge's -1 is 8; a reshape that mixes two unknown lengths (a
    concatenation) leaves it a name, and the declared types never change."""
    from graphir.type_inference import named_types

    graph = _heads_merged(mask=False, projected=False)
    o = graph.nodes[-1].output
    assert o.type.shape == ("batch", None, None)    # what a plain type walk proves
    named = named_types(graph)
    assert named["o"].shape[2] == 8 and named["o"].shape[1] == named["a"].shape[1]
    assert isinstance(named["x"].shape[1], str) and named["x"].shape[1] != named["y"].shape[1]
    assert graph.nodes[-1].output.type.shape == ("batch", None, None)
    twin = _typed_graph({"x": ("batch", None, 4)},
                        [("concatenate", "c", ("x", "x"), {"axis": 1}),
                         ("dynamic_reshape", "o", ("c", "x"),
                          {"shape": ("in0[0]", "in1[1]", "-1")})], {})
    assert not isinstance(named_types(twin)["o"].shape[2], int)


def test_named_types_take_the_size_a_dense_demands():
    """A mask of another input's length broadcast into the heads leaves their sequence
    axis unproven; the Dense reading the merge demands 8 features, so the -1 is 8 (on
    every input the graph runs on).  Without that Dense it stays a name."""
    from graphir.type_inference import named_types

    assert named_types(_heads_merged(mask=True, projected=True))["o"].shape[2] == 8
    assert not isinstance(named_types(_heads_merged(mask=True, projected=False))["o"].shape[2],
                          int)
