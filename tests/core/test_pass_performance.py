"""The performance devices of the passes and the verifier keep behaviour identical:
the collector pause is the caller's opt-in (no pass changes it) and is undone, the
verifier's memory of verified graphs only answers for the very object that passed
(with types) and can be bypassed, rename's fast path gives the namespace's names, and
merge verifies its result in full when inference refined a declared type.  (Timings are in ``benchmarks/passes_scaling.py``, never asserted.)"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import attrs
import pytest

from graphir import BadInputError, Graph, GraphInvariantError, Node, Value, verify_graph
from graphir.passes import check, dedupe, extract, gc_paused, merge, rename
from graphir.tensor_types import TensorType

from ir_examples import f32, small_cnn
from pass_examples import dense_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from passes_scaling import synthetic_graph  # noqa: E402


PASSES = {
    "rename": lambda g: rename(g, prefix="p"), "dedupe": lambda g: dedupe(g),
    "check": lambda g: check(g), "extract": lambda g: extract(g, outputs=[g.outputs[0]]),
    "merge": lambda g: merge([g, g], mode="average", shared_input=True),
    "verify_graph": lambda g: verify_graph(g, use_cache=False)}


def _collector_states_during(fn) -> set[bool]:
    """``gc.isenabled()`` at every Python call and return inside ``fn()``."""
    states: set[bool] = set()
    sys.setprofile(lambda frame, event, arg: states.add(gc.isenabled()))
    try:
        fn()
    finally:
        sys.setprofile(None)
    return states


@pytest.mark.parametrize("name", sorted(PASSES))
def test_a_plain_pass_call_leaves_the_collector_alone(name):
    """No pass pauses the collector by itself: seen from inside, it stays enabled."""
    g = small_cnn()
    assert gc.isenabled()
    assert _collector_states_during(lambda: PASSES[name](g)) == {True}
    assert gc.isenabled()


@pytest.mark.parametrize("name", sorted(PASSES))
def test_gc_paused_pauses_the_collector_for_the_block(name):
    g = small_cnn()
    with gc_paused():
        assert _collector_states_during(lambda: PASSES[name](g)) == {False}
    assert gc.isenabled()


def test_gc_paused_restores_the_state_on_an_exception_and_nests():
    with pytest.raises(BadInputError):
        with gc_paused():
            rename(small_cnn(), prefix="/bad")
    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not enable what the outer paused
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # never enables what the caller disabled
    finally:
        gc.enable()


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



def _defeat_immutability(g: Graph) -> None:
    """Break a graph in place, as the soundness rule of the memory assumes nobody does."""
    object.__setattr__(g, "outputs", ("nope",))


def test_use_cache_false_checks_in_full_and_remembers_nothing():
    g = small_cnn()
    assert verify_graph(g) is g
    _defeat_immutability(g)
    assert verify_graph(g) is g  # answered from the memory (the rule was broken on purpose)
    with pytest.raises(GraphInvariantError, match="nope"):
        verify_graph(g, use_cache=False)  # the memory bypassed: checked in full
    h = small_cnn()
    assert verify_graph(h, use_cache=False) is h
    _defeat_immutability(h)
    with pytest.raises(GraphInvariantError, match="nope"):
        verify_graph(h)  # the earlier call did not remember h

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
