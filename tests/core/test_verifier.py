"""verify_graph: each invariant is detected, named, and shown in context."""

import attrs
import numpy as np
import pytest

from graphir import Graph, GraphInvariantError, Value, verify_graph

from ir_examples import f32, small_cnn


def _replace_node(g: Graph, target: str, **changes) -> Graph:
    nodes = [attrs.evolve(n, **changes) if n.name == target else n for n in g.nodes]
    return attrs.evolve(g, nodes=nodes)


def _fails(g: Graph, invariant: str, node: str | None = None) -> GraphInvariantError:
    with pytest.raises(GraphInvariantError) as info:
        verify_graph(g)
    assert info.value.invariant == invariant, str(info.value)
    assert info.value.node == node
    return info.value


def test_valid_graph_passes_and_is_returned():
    g = small_cnn()
    assert verify_graph(g) is g


def test_unknown_op():
    err = _fails(_replace_node(small_cnn(), "relu", op="gelu_magic"), "known-op", "relu")
    assert "gelu_magic" in str(err)
    assert ">> %relu" in err.excerpt


def test_duplicate_value_and_node_names():
    g = small_cnn()
    _fails(_replace_node(g, "relu", outputs=[Value("bn", f32("batch", 8, 8, 3))]), "names", "relu")
    _fails(_replace_node(g, "relu", name="bn"), "names", "bn")


def test_use_before_definition():
    g = small_cnn()
    nodes = list(g.nodes)
    nodes[1], nodes[2] = nodes[2], nodes[1]  # relu now reads bn before bn exists
    err = _fails(attrs.evolve(g, nodes=nodes), "defined-before-use", "relu")
    assert "'bn'" in str(err)


def test_self_loop_is_a_use_before_definition():
    _fails(_replace_node(small_cnn(), "relu", inputs=["relu"]), "defined-before-use", "relu")


def test_arity_and_attributes():
    g = small_cnn()
    _fails(_replace_node(g, "add", inputs=["relu"]), "arity", "add")
    _fails(_replace_node(g, "relu", attrs={"max_value": 6.0}), "attributes", "relu")
    _fails(_replace_node(g, "conv", attrs={**g.node("conv").attrs, "padding": "causal"}),
           "attributes", "conv")
    _fails(_replace_node(g, "conv", attrs={**g.node("conv").attrs, "bogus": 1}), "attributes", "conv")
    _fails(_replace_node(g, "bn", inputs=["conv", "", "", "", "bn/moving_variance"]), "arity", "bn")


def test_weight_inputs_must_be_weights():
    g = small_cnn()
    _fails(_replace_node(g, "fc", inputs=["pool", "pool", "fc/bias"]), "weight-inputs", "fc")


def test_declared_type_must_match_the_type_rule():
    g = small_cnn()
    err = _fails(_replace_node(g, "pool", outputs=[Value("pool", f32("batch", 5))]), "types", "pool")
    assert "f32[batch,5]" in str(err) and "f32[batch,3]" in str(err)
    # a type-rule failure (channels) is reported on the consuming node
    w = dict(g.weights)
    w["fc/kernel"] = np.zeros((5, 4), np.float32)
    err = _fails(attrs.evolve(g, weights=w), "types", "fc")
    assert "5 input channels" in str(err)


def test_outputs_and_unused_weights():
    g = small_cnn()
    _fails(attrs.evolve(g, outputs=()), "outputs")
    _fails(attrs.evolve(g, outputs=("nope",)), "outputs")
    _fails(attrs.evolve(g, outputs=("fc", "fc")), "outputs")
    w = dict(g.weights)
    w["stray"] = np.zeros(1, np.float32)
    err = _fails(attrs.evolve(g, weights=w), "unused-weights")
    assert "stray" in str(err)


def test_input_weight_name_clash_and_bad_names():
    g = small_cnn()
    w = dict(g.weights)
    w["image"] = np.zeros(1, np.float32)
    _fails(attrs.evolve(g, weights=w), "names")
    _fails(attrs.evolve(g, name=""), "names")
    _fails(_replace_node(g, "relu", name="re\nlu"), "names", "re\nlu")


def test_error_message_is_one_line_plus_excerpt():
    g = _replace_node(small_cnn(), "relu", op="nope")
    with pytest.raises(GraphInvariantError) as info:
        verify_graph(g)
    first, *rest = str(info.value).splitlines()
    assert first.startswith("graph 'small_cnn', node 'relu': [known-op]")
    assert 1 <= len(rest) <= 5


# --- the shared engine -------------------------------------------------------------------

def test_verify_and_check_report_from_one_engine():
    """A type rule's refusal: verify_graph raises the first Problem of the walk on
    declared types; check turns the walk's problems (on inferred types) into diagnostics."""
    from graphir.passes import check
    from graphir.type_inference import TypeWalk

    g = small_cnn()
    w = dict(g.weights)
    w["fc/kernel"] = np.zeros((5, 4), np.float32)
    bad = attrs.evolve(g, weights=w)
    (problem,) = list(TypeWalk(bad))
    assert (problem.invariant, problem.name) == ("types", "fc")
    err = _fails(bad, "types", "fc")
    assert problem.message in str(err)
    (d,) = check(bad)
    assert (d.node, d.input_index) == ("fc", 0) and str(problem.rule_error) in d.message


def test_refine_walk_reports_what_it_sharpened_and_verify_and_infer_raises_structure():
    from graphir.type_inference import TypeWalk
    from graphir.verifier import verify_and_infer

    g = small_cnn()
    walk = TypeWalk(g, refine=True)
    assert list(walk) == [] and walk.refined is False
    vague = attrs.evolve(g, nodes=[attrs.evolve(n, outputs=[
        Value(v.name, f32(*([None] * v.type.rank))) for v in n.outputs]) for n in g.nodes])
    walk = TypeWalk(vague, refine=True)
    assert list(walk) == [] and walk.refined is True
    assert walk.types["fc"] == f32("batch", 4)
    walk, problems = verify_and_infer(small_cnn())
    assert problems == [] and not walk.refined
    with pytest.raises(GraphInvariantError) as info:
        verify_and_infer(_replace_node(g, "relu", op="nope"))
    assert info.value.invariant == "known-op"
