"""The performance devices of the passes and the verifier keep behaviour identical:
the collector pause is undone, the verifier's memory of verified graphs only answers
for the very object that passed (with types), rename's fast path gives the
namespace's names, and merge's skipped final verification is only skipped when it
could not fail.  (Timings are in ``benchmarks/passes_scaling.py``, never asserted.)"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import attrs
import pytest

from graphir import BadInputError, Graph, GraphInvariantError, Node, Value, verify_graph
from graphir.passes import check, dedupe, extract, merge, rename
from graphir.tensor_types import TensorType

from ir_examples import f32, small_cnn
from pass_examples import dense_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from passes_scaling import synthetic_graph  # noqa: E402


@pytest.mark.parametrize("run", [
    lambda g: rename(g, prefix="p"), lambda g: dedupe(g), lambda g: check(g),
    lambda g: extract(g, outputs=[g.outputs[0]]),
    lambda g: merge([g, g], mode="average", shared_input=True)])
def test_the_collector_state_is_restored(run):
    g = small_cnn()
    assert gc.isenabled()
    run(g)
    assert gc.isenabled()
    gc.disable()
    try:
        run(g)
        assert not gc.isenabled()  # a pause never enables what the caller disabled
    finally:
        gc.enable()


def test_the_collector_is_restored_after_an_error():
    with pytest.raises(BadInputError):
        rename(small_cnn(), prefix="/bad")
    assert gc.isenabled()


def test_verifier_memory_is_per_object_and_needs_types():
    g = small_cnn()
    assert verify_graph(g) is g and verify_graph(g) is g
    # an equal-looking but broken graph is a new object: checked in full
    broken = attrs.evolve(g, outputs=("nope",))
    with pytest.raises(GraphInvariantError):
        verify_graph(broken)
    # a graph that passed only the structural check is not remembered as verified
    wrong = dense_model()
    node = wrong.nodes[0]
    bad = attrs.evolve(node, outputs=(Value(node.output.name, f32("batch", 7)),))
    wrong = attrs.evolve(wrong, nodes=(bad,))
    assert verify_graph(wrong, types=False) is wrong
    with pytest.raises(GraphInvariantError, match="declared"):
        verify_graph(wrong)


def test_rename_collisions_still_get_suffixes():
    """Two names mapped onto one: the namespace path (not the fast path) numbers them."""
    t = f32("batch", 2)
    g = Graph("g", [Value("a", t)], ["y"],
              [Node("identity", "x", ["a"], [Value("x", t)]),
               Node("identity", "y", ["x"], [Value("y", t)])])
    out = rename(g, mapping={"x": "y"})
    assert [n.name for n in out.nodes] == ["y", "y_1"]
    assert [v.name for n in out.nodes for v in n.outputs] == ["y", "y_1"]
    assert out.outputs == ("y_1",)
    verify_graph(out)


def test_rename_keeps_untouched_nodes_and_renames_the_rest():
    g = synthetic_graph(60)
    out = rename(g, mapping={"block1": "first"})
    kept = [a is b for a, b in zip(g.nodes, out.nodes)]
    assert not all(kept) and sum(kept) >= len(g.nodes) - 6
    assert all(n.name.startswith("first/") for n in out.nodes if n.name.startswith("first"))
    verify_graph(out)


def test_merge_result_is_verified_also_when_declared_types_are_vaguer():
    """Declared output dims left unknown (None) while the rules infer them: merge's
    inferred types differ from the declared ones, so it verifies the result in full."""
    g = dense_model()
    node = g.nodes[0]
    vague = attrs.evolve(node, outputs=(Value(node.output.name, TensorType("float32",
                                                                          ("batch", None))),))
    g = attrs.evolve(g, nodes=(vague,))
    merged = merge([g, dense_model(seed=1)], mode="outputs")
    assert verify_graph(merged) is merged


def test_the_benchmark_graphs_are_valid_and_give_dedupe_work():
    g = synthetic_graph(400)
    assert verify_graph(g) is g and 400 <= len(g.nodes) < 410
    d = dedupe(g)
    assert len(d.nodes) < len(g.nodes) and len(d.weights) < len(g.weights)
    assert not [x for x in check(g) if x.severity == "error"]
