"""The ``dedupe`` pass: byte-identical weights stored once, common subexpressions computed once.

Checked three ways: exactly what is merged (text IR, weight sets, the
:class:`~graphir.passes.DedupeReport`), that a second run merges nothing (the same object
comes back), and that the deduplicated graph computes the same outputs (interpreter).
"""

import numpy as np
import pytest
from hypothesis import given, settings

from graphir import Graph, Node, Value, verify_graph
from graphir.passes import DedupeReport, dedupe, dedupe_with_report

from ir_examples import f32, small_cnn
from pass_examples import (assert_same_numerics, dense_node, random_dags, run, snapshot, t,
                           twin_branches)


def _weights_graph() -> Graph:
    """Weights with equal bytes: one mergeable pair, one pair of different shape, one of
    different dtype.

    * ``d1/kernel`` (4x2) and ``d3/kernel`` (4x2, same data): merged.
    * ``d2/kernel`` (2x4): the same bytes as ``d1/kernel`` but another shape: kept.
    * ``emb_f/table`` (f32) and ``emb_i/table`` (int32, the same bytes): kept.
    ``d1`` and ``d3`` differ in activation, so no subexpression is shared.
    """
    rng = np.random.default_rng(7)
    k = rng.standard_normal((4, 2)).astype(np.float32)
    table = rng.standard_normal((5, 3)).astype(np.float32)
    weights = {"d1/kernel": k, "d2/kernel": k.reshape(2, 4).copy(), "d3/kernel": k.copy(),
               "emb_f/table": table, "emb_i/table": table.view(np.int32).copy()}
    nodes = [
        dense_node("d1", "x", 2, ("batch", 2), bias=False),
        dense_node("d2", "d1", 4, ("batch", 4), bias=False),
        dense_node("d3", "x", 2, ("batch", 2), activation="relu", bias=False),
        Node("embedding", "emb_f", ["ids", "emb_f/table"],
             [Value("emb_f", t("float32", "batch", 2, 3))]),
        Node("embedding", "emb_i", ["ids", "emb_i/table"],
             [Value("emb_i", t("int32", "batch", 2, 3))]),
    ]
    inputs = [Value("x", f32("batch", 4)), Value("ids", t("int32", "batch", 2))]
    return verify_graph(Graph("wts", inputs, ["d2", "d3", "emb_f", "emb_i"], nodes, weights))


def _cse_graph(outputs=("out",)) -> Graph:
    """``a = tanh(x)``, ``b = tanh(x)`` (same as a), ``r = relu(x)`` (different attrs),
    ``out = add(a, b)``, ``out2 = add(b, r)``."""
    def act(name, fn, src="x"):
        return Node("activation", name, [src], [Value(name, f32("batch", 3))], {"function": fn})

    nodes = [act("a", "tanh"), act("b", "tanh"), act("r", "relu"),
             Node("add", "out", ["a", "b"], [Value("out", f32("batch", 3))]),
             Node("add", "out2", ["b", "r"], [Value("out2", f32("batch", 3))])]
    return Graph("cse", [Value("x", f32("batch", 3))], list(outputs), nodes)


# --- weights -----------------------------------------------------------------------------

def test_identical_weights_merged_only_with_same_dtype_and_shape():
    g = _weights_graph()
    r, report = dedupe_with_report(g)
    assert list(r.weights) == ["d1/kernel", "d2/kernel", "emb_f/table", "emb_i/table"]
    assert r.node("d3").inputs == ("x", "d1/kernel")
    assert r.node("d2").inputs == ("d1", "d2/kernel")
    assert r.node("emb_i").inputs == ("ids", "emb_i/table")
    assert report.weights == (("d1/kernel", "d3/kernel"),)
    assert report.nodes == ()
    assert report.bytes_saved == g.weights["d3/kernel"].nbytes
    verify_graph(r)
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert dedupe(r) is r


def test_weight_merge_can_be_turned_off():
    g = _weights_graph()
    assert dedupe(g, weights=False) is g
    r = dedupe(g, expressions=False)
    assert "d3/kernel" not in r.weights


def test_equal_bytes_of_different_dtype_or_shape_alone_change_nothing():
    g = _weights_graph()
    nodes = [n for n in g.nodes if n.name != "d3"]
    weights = {k: v for k, v in g.weights.items() if k != "d3/kernel"}
    g2 = verify_graph(Graph("wts2", g.inputs, ["d2", "emb_f", "emb_i"], nodes, weights))
    r, report = dedupe_with_report(g2)
    assert r is g2
    assert report == DedupeReport()


def test_a_weight_returned_as_a_graph_output_is_kept():
    k = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    nodes = [dense_node("a", "x", 4, ("batch", 4), bias=False),
             dense_node("b", "x", 4, ("batch", 4), activation="relu", bias=False),
             dense_node("c", "x", 4, ("batch", 4), activation="tanh", bias=False)]
    g = verify_graph(Graph("g", [Value("x", f32("batch", 4))], ["a", "b", "c", "b/kernel"], nodes,
                           {"a/kernel": k, "b/kernel": k.copy(), "c/kernel": k.copy()}))
    r, report = dedupe_with_report(g)
    assert verify_graph(r) is r
    assert report.weights == (("a/kernel", "c/kernel"),)  # b/kernel is part of the interface
    assert list(r.weights) == ["a/kernel", "b/kernel"]
    assert r.outputs == g.outputs
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert dedupe(r) is r


# --- common subexpressions -----------------------------------------------------------------

def test_common_subexpression_merged_text():
    g = _cse_graph()
    r, report = dedupe_with_report(g)
    assert str(r) == """\
graph cse(%x: f32[batch,3]) -> (%out) {
  %a: f32[batch,3] = activation(%x) {function="tanh"}
  %r: f32[batch,3] = activation(%x) {function="relu"}
  %out: f32[batch,3] = add(%a, %a)
  %out2: f32[batch,3] = add(%a, %r)
  return %out
}"""
    assert report.nodes == (("a", "b"),)
    assert report.weights == () and report.bytes_saved == 0
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert dedupe(r) is r


def test_expression_merge_can_be_turned_off():
    g = _cse_graph()
    assert dedupe(g, expressions=False) is g


def test_nodes_producing_graph_outputs_are_kept():
    g = _cse_graph(outputs=("a", "b"))
    assert dedupe(g) is g  # b duplicates a but is part of the interface
    # b is an output, a is not: b is still kept (its name is the interface)
    g2 = _cse_graph(outputs=("b", "out"))
    r = dedupe(g2)
    assert {n.name for n in r.nodes} == {n.name for n in g2.nodes}
    assert r is g2


def test_duplicate_of_an_output_node_reads_the_output():
    g = _cse_graph(outputs=("a", "out", "out2"))
    r = dedupe(g)
    assert [n.name for n in r.nodes] == ["a", "r", "out", "out2"]
    assert r.node("out").inputs == ("a", "a")
    assert r.outputs == ("a", "out", "out2")
    assert_same_numerics(g, r, rtol=0, atol=0)


def test_twin_branches_of_depth_3_collapse_to_one():
    g = twin_branches(depth=3)
    r, report = dedupe_with_report(g)
    assert [n.name for n in r.nodes] == ["a/fc0", "a/fc1", "a/fc2", "sum"]
    assert r.node("sum").inputs == ("a/fc2", "a/fc2")
    assert set(r.weights) == {k for k in g.weights if k.startswith("a/")}
    assert report.nodes == (("a/fc0", "b/fc0"), ("a/fc1", "b/fc1"), ("a/fc2", "b/fc2"))
    assert report.weights == tuple((k, "b/" + k[2:]) for k in g.weights if k.startswith("a/"))
    assert report.bytes_saved == sum(w.nbytes for k, w in g.weights.items() if k.startswith("b/"))
    assert report.to_json() == {"weights": [list(p) for p in report.weights],
                                "nodes": [list(p) for p in report.nodes],
                                "bytes_saved": report.bytes_saved}
    assert r.parameter_count() == g.parameter_count() // 2
    verify_graph(r)
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert dedupe(r) is r


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_twin_branches_collapse_at_any_depth(depth):
    g = twin_branches(depth=depth)
    r = dedupe(g)
    assert len(r.nodes) == depth + 1
    assert_same_numerics(g, r, rtol=0, atol=0)


def test_branches_with_different_weights_are_not_merged():
    g = twin_branches(depth=3)
    weights = dict(g.weights)
    weights["b/fc1/bias"] = weights["b/fc1/bias"] + np.float32(1)
    g2 = verify_graph(Graph(g.name, g.inputs, g.outputs, g.nodes, weights))
    r, report = dedupe_with_report(g2)
    # fc0 still merges; from fc1 on the branches differ
    assert report.nodes == (("a/fc0", "b/fc0"),)
    assert [n.name for n in r.nodes] == ["a/fc0", "a/fc1", "a/fc2", "b/fc1", "b/fc2", "sum"]
    assert r.node("b/fc1").inputs == ("a/fc0", "a/fc1/kernel", "b/fc1/bias")
    assert_same_numerics(g2, r, rtol=0, atol=0)
    assert dedupe(r) is r


# --- nothing to do / purity ---------------------------------------------------------------

def test_clean_graph_returns_the_same_object_and_an_empty_report():
    g = small_cnn()
    r, report = dedupe_with_report(g)
    assert r is g
    assert report == DedupeReport() and report.to_json() == {"weights": [], "nodes": [],
                                                             "bytes_saved": 0}


def test_input_graph_is_not_mutated():
    g = twin_branches(depth=3)
    before = snapshot(g)
    expected = run(g)
    dedupe(g)
    assert snapshot(g) == before
    np.testing.assert_array_equal(run(g)["sum"], expected["sum"])


def test_weight_dedupe_alone_preserves_numerics_and_the_interface():
    g = twin_branches(depth=2)
    r = dedupe(g, expressions=False)
    assert len(r.nodes) == len(g.nodes)
    assert r.outputs == g.outputs and r.inputs == g.inputs
    assert len(r.weights) == len(g.weights) // 2
    assert_same_numerics(g, r, rtol=0, atol=0)


# --- properties over random DAGs ------------------------------------------------------------

@settings(derandomize=True, max_examples=50, deadline=None)
@given(random_dags())
def test_property_dedupe_preserves_numerics_and_is_idempotent(g):
    before = snapshot(g)
    r, report = dedupe_with_report(g)
    verify_graph(r)
    assert dedupe(r) is r
    assert (r is g) == (report == DedupeReport())
    assert len(r.nodes) == len(g.nodes) - len(report.nodes)
    assert len(r.weights) == len(g.weights) - len(report.weights)
    assert report.bytes_saved == sum(g.weights[removed].nbytes for _, removed in report.weights)
    assert r.inputs == g.inputs and r.outputs == g.outputs
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert snapshot(g) == before
