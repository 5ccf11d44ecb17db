"""The ``rename`` pass: prefix scoping, mappings of layers and scopes, collisions, errors.

Each behaviour is checked three ways (the project's rule): the exact names it produces
(often as the printed text IR), that a second run with the same options changes nothing
(the very same object comes back), and that the renamed graph computes the same outputs
as the original (interpreter, inputs and outputs matched by position).
"""

import numpy as np
import pytest
from hypothesis import given, settings

from graphir import BadInputError, Graph, Node, Value, verify_graph
from graphir.passes import rename

from ir_examples import f32, small_cnn
from pass_examples import (assert_same_numerics, dense_model, dense_node, dense_weights,
                           random_dags, run, snapshot)


def _deep() -> Graph:
    """Names four scopes deep: ``outer/inner/block/fc`` with its weights."""
    name = "outer/inner/block/fc"
    return verify_graph(Graph("deep", [Value("x", f32("batch", 4))], [name],
                              [dense_node(name, "x", 2, ("batch", 2))],
                              dense_weights(name, 4, 2, seed=3)))


def _all_names(g: Graph) -> set[str]:
    return ({v.name for v in g.inputs} | set(g.weights) | {n.name for n in g.nodes}
            | {v.name for n in g.nodes for v in n.outputs})


# --- prefix ------------------------------------------------------------------------------

def test_prefix_scopes_inputs_weights_nodes_and_outputs_text():
    g = dense_model("mlp")
    r = rename(g, prefix="teacher")
    assert str(r) == """\
graph mlp(%teacher/x: f32[batch,4]) -> (%teacher/dense) {
  weight %teacher/dense/kernel: f32[4,3]
  weight %teacher/dense/bias: f32[3]
  %teacher/dense: f32[batch,3] = dense(%teacher/x, %teacher/dense/kernel, %teacher/dense/bias) {activation="tanh", units=3}
  return %teacher/dense
}"""
    assert verify_graph(r) is r


def test_prefix_on_small_cnn_renames_every_name_and_keeps_the_graph_name():
    g = small_cnn()
    r = rename(g, prefix="p")
    assert r.name == g.name
    assert _all_names(r) == {f"p/{n}" for n in _all_names(g)}
    assert [n.name for n in r.nodes] == [f"p/{n.name}" for n in g.nodes]
    assert [v.name for v in r.inputs] == ["p/image"]
    assert r.outputs == ("p/fc",)
    assert r.node("p/add").inputs == ("p/relu", "p/image")
    for k, w in g.weights.items():  # weights travel with their names, unchanged
        np.testing.assert_array_equal(r.weights[f"p/{k}"], w)
    verify_graph(r)


def test_prefix_is_idempotent_and_all_or_nothing():
    g = small_cnn()
    r = rename(g, prefix="p")
    assert rename(r, prefix="p") is r
    # a nested prefix applies once more on top: p -> q/p
    q = rename(r, prefix="q")
    assert q.outputs == ("q/p/fc",)
    # a graph mixing scoped and unscoped names: every name moves, including the ones
    # that merely start with "p/" (no half-scoped result)
    mixed = rename(g, mapping={"conv": "p/conv"})
    assert "p/conv/kernel" in mixed.weights
    r2 = rename(mixed, prefix="p")
    assert r2.node("p/p/conv").inputs == ("p/image", "p/p/conv/kernel", "p/p/conv/bias")
    assert all(n.startswith("p/") for n in _all_names(r2))
    assert rename(r2, prefix="p") is r2


def test_prefix_preserves_numerics():
    g = small_cnn()
    assert_same_numerics(g, rename(g, prefix="student"), rtol=0, atol=0)


def test_prefix_scopes_names_that_already_start_with_it():
    # "p/x" exists beside "x": both are scoped, so no two names can meet
    w = dense_weights("p/x", 4, 4, seed=0)
    nodes = [dense_node("x", "in", 4, ("batch", 4), bias=False),
             Node("identity", "p/x", ["x"], [Value("p/x", f32("batch", 4))])]
    g = verify_graph(Graph("g", [Value("in", f32("batch", 4))], ["p/x"],
                           nodes, {"x/kernel": w["p/x/kernel"]}))
    r = rename(g, prefix="p")
    assert [v.name for n in r.nodes for v in n.outputs] == ["p/x", "p/p/x"]
    assert [n.name for n in r.nodes] == ["p/x", "p/p/x"]
    assert r.outputs == ("p/p/x",)
    assert r.node("p/p/x").inputs == ("p/x",)
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert rename(r, prefix="p") is r


def test_collisions_from_a_mapping_get_suffixes():
    g = small_cnn()
    r = rename(g, mapping={"bn": "conv"})  # "bn" -> "conv" meets the existing "conv"
    names = [v.name for n in r.nodes for v in n.outputs]
    assert names[:2] == ["conv", "conv_1"]
    assert r.node("conv_1").op == "batch_norm"
    assert_same_numerics(g, r, rtol=0, atol=0)


# --- mapping ---------------------------------------------------------------------------

def test_mapping_a_layer_renames_its_weights_text():
    g = dense_model("mlp")
    r = rename(g, mapping={"dense": "head"})
    assert str(r) == """\
graph mlp(%x: f32[batch,4]) -> (%head) {
  weight %head/kernel: f32[4,3]
  weight %head/bias: f32[3]
  %head: f32[batch,3] = dense(%x, %head/kernel, %head/bias) {activation="tanh", units=3}
  return %head
}"""


def test_mapping_conv_to_stem_on_small_cnn():
    g = small_cnn()
    r = rename(g, mapping={"conv": "stem"})
    assert list(r.weights)[:2] == ["stem/kernel", "stem/bias"]
    assert "conv/kernel" not in r.weights and "conv" not in _all_names(r)
    assert r.node("stem").inputs == ("image", "stem/kernel", "stem/bias")
    assert r.node("bn").inputs[0] == "stem"
    # everything else is untouched
    assert _all_names(r) - {"stem", "stem/kernel", "stem/bias"} == \
        _all_names(g) - {"conv", "conv/kernel", "conv/bias"}
    assert_same_numerics(g, r, rtol=0, atol=0)
    # idempotent: the key is gone and its target is there
    assert rename(r, mapping={"conv": "stem"}) is r


def test_mapping_a_scope_renames_everything_under_it():
    g = rename(small_cnn(), prefix="model_1")
    r = rename(g, mapping={"model_1": "backbone"})
    assert _all_names(r) == {n.replace("model_1/", "backbone/", 1) for n in _all_names(g)}
    assert r.outputs == ("backbone/fc",)
    assert [v.name for v in r.inputs] == ["backbone/image"]
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert rename(r, mapping={"model_1": "backbone"}) is r


@pytest.mark.parametrize("key, expected", [
    ("outer", "renamed/inner/block/fc"),
    ("outer/inner", "renamed/block/fc"),  # an intermediate scope (not a direct parent)
    ("outer/inner/block", "renamed/fc"),
    ("outer/inner/block/fc", "renamed"),
])
def test_mapping_any_enclosing_scope_of_a_deep_name(key, expected):
    g = _deep()
    r = rename(g, mapping={key: "renamed"})
    assert r.outputs == (expected,)
    assert set(r.weights) == {f"{expected}/kernel", f"{expected}/bias"}
    assert_same_numerics(g, r, rtol=0, atol=0)


def test_longest_key_wins():
    w = {**dense_weights("enc/conv", 4, 2, seed=0, bias=False),
         **dense_weights("enc/fc", 2, 2, seed=1, bias=False)}
    nodes = [dense_node("enc/conv", "x", 2, ("batch", 2), bias=False),
             dense_node("enc/fc", "enc/conv", 2, ("batch", 2), bias=False)]
    g = verify_graph(Graph("g", [Value("x", f32("batch", 4))], ["enc/fc"], nodes, w))
    r = rename(g, mapping={"enc": "E", "enc/conv": "stem"})
    assert [n.name for n in r.nodes] == ["stem", "E/fc"]
    assert list(r.weights) == ["stem/kernel", "E/fc/kernel"]
    assert r.node("E/fc").inputs == ("stem", "E/fc/kernel")
    # the order of the keys in the mapping does not matter
    r2 = rename(g, mapping={"enc/conv": "stem", "enc": "E"})
    assert str(r2) == str(r)
    assert_same_numerics(g, r, rtol=0, atol=0)


def test_mapping_and_prefix_together():
    r = rename(small_cnn(), mapping={"conv": "stem"}, prefix="p")
    assert list(r.weights)[:2] == ["p/stem/kernel", "p/stem/bias"]
    assert r.node("p/stem").inputs[0] == "p/image"
    assert r.outputs == ("p/fc",)


def test_collisions_resolved_with_suffixes_in_graph_order():
    g = small_cnn()
    r = rename(g, mapping={"conv": "relu", "bn": "relu"})
    # value order: inputs, weights, node outputs; so conv -> relu, bn -> relu_1, relu -> relu_2
    assert [n.name for n in r.nodes][:3] == ["relu", "relu_1", "relu_2"]
    assert [v.name for n in r.nodes for v in n.outputs][:3] == ["relu", "relu_1", "relu_2"]
    assert r.node("relu_1").inputs[0] == "relu"
    assert r.node("relu_2").inputs == ("relu_1",)
    assert r.node("add").inputs == ("relu_2", "image")
    assert list(r.weights)[:6] == ["relu/kernel", "relu/bias", "relu/gamma", "relu/beta",
                                   "relu/moving_mean", "relu/moving_variance"]
    verify_graph(r)
    assert_same_numerics(g, r, rtol=0, atol=0)
    # deterministic: an independent second call prints the same text
    assert str(rename(small_cnn(), mapping={"conv": "relu", "bn": "relu"})) == str(r)


def test_collision_with_a_single_existing_name():
    g = small_cnn()
    r = rename(g, mapping={"conv": "bn"})
    assert [n.name for n in r.nodes][:2] == ["bn", "bn_1"]
    assert r.node("bn_1").inputs[:2] == ("bn", "bn/gamma")
    assert r.node("relu").inputs == ("bn_1",)
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert rename(r, mapping={"conv": "bn"}) is r


# --- nothing to do / purity ---------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"mapping": {}}, {"mapping": {"conv": "conv"}},
                                     {"mapping": None, "prefix": None}])
def test_no_change_returns_the_same_object(options):
    g = small_cnn()
    assert rename(g, **options) is g


def test_input_graph_is_not_mutated():
    g = small_cnn()
    before = snapshot(g)
    out_before = run(g)
    rename(g, prefix="p")
    rename(g, mapping={"conv": "relu", "bn": "relu"})
    assert snapshot(g) == before
    np.testing.assert_array_equal(run(g)["fc"], out_before["fc"])


# --- errors ------------------------------------------------------------------------------

def test_unknown_mapping_key_suggests_close_names():
    with pytest.raises(BadInputError, match=r"'cnov'.*did you mean 'conv'"):
        rename(small_cnn(), mapping={"cnov": "stem"})


def test_unknown_scope_key_is_rejected():
    with pytest.raises(BadInputError, match="outer/innr"):
        rename(_deep(), mapping={"outer/innr": "renamed"})


@pytest.mark.parametrize("prefix", ["", "/p", "p/", "a\nb"])
def test_bad_prefix(prefix):
    with pytest.raises(BadInputError, match="prefix"):
        rename(small_cnn(), prefix=prefix)


@pytest.mark.parametrize("new", ["", "/stem", "stem/", "st\nem", 3])
def test_bad_new_name(new):
    with pytest.raises(BadInputError, match="new name"):
        rename(small_cnn(), mapping={"conv": new})


# --- properties over random DAGs ------------------------------------------------------------

@settings(derandomize=True, max_examples=50, deadline=None)
@given(random_dags())
def test_property_prefix_preserves_numerics_and_is_idempotent(g):
    before = snapshot(g)
    r = rename(g, prefix="p")
    verify_graph(r)
    assert all(n.startswith("p/") for n in _all_names(r))
    assert len(_all_names(r)) == len(_all_names(g))
    assert rename(r, prefix="p") is r
    assert_same_numerics(g, r, rtol=0, atol=0)
    assert snapshot(g) == before


@settings(derandomize=True, max_examples=50, deadline=None)
@given(random_dags())
def test_property_mapping_every_node_preserves_numerics_and_is_idempotent(g):
    mapping = {n.name: "L" + n.name.replace("/", "_") for n in g.nodes}
    r = rename(g, mapping=mapping)
    verify_graph(r)
    assert [n.name for n in r.nodes] == [mapping[n.name] for n in g.nodes]
    assert rename(r, mapping=mapping) is r
    assert_same_numerics(g, r, rtol=0, atol=0)
