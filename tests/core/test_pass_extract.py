"""The ``extract`` pass: the subgraph up to named layers, or between a cut and outputs.

Checked three ways: exactly which nodes, inputs and weights are kept, that extracting
the same outputs again returns the same object, and that the extracted graph computes
the original graph's intermediate values (obtained independently by evaluating the
original with those values added to its outputs).
"""

import numpy as np
import pytest
from hypothesis import given, settings

from graphir import BadInputError, Value, verify_graph
from graphir.inputs import make_inputs
from graphir.interpreter import evaluate
from graphir.passes import extract

from ir_examples import f32, small_cnn
from pass_examples import (random_dags, run, snapshot, twin_branches, two_output_model,
                           with_outputs)


def _intermediates(graph, names, seed=0):
    """The original graph's values ``names`` on seeded inputs (no extract involved)."""
    feeds = make_inputs(graph, seed=seed)
    return feeds, evaluate(with_outputs(graph, names), feeds)


def test_up_to_a_named_layer_text():
    g = small_cnn()
    e = extract(g, outputs=["relu"])
    assert str(e) == """\
graph small_cnn(%image: f32[batch,8,8,3]) -> (%relu) {
  weight %conv/kernel: f32[3,3,3,3]
  weight %conv/bias: f32[3]
  weight %bn/gamma: f32[3]
  weight %bn/beta: f32[3]
  weight %bn/moving_mean: f32[3]
  weight %bn/moving_variance: f32[3]
  %conv: f32[batch,8,8,3] = conv2d(%image, %conv/kernel, %conv/bias) {activation="linear", data_format="channels_last", dilations=[1, 1], groups=1, padding="same", strides=[1, 1]}
  %bn: f32[batch,8,8,3] = batch_norm(%conv, %bn/gamma, %bn/beta, %bn/moving_mean, %bn/moving_variance) {axis=-1, epsilon=0.001}
  %relu: f32[batch,8,8,3] = relu(%bn) {max_value=6.0, negative_slope=0.0, threshold=0.0}
  return %relu
}"""
    assert verify_graph(e) is e
    feeds, ref = _intermediates(g, ["relu"])
    np.testing.assert_allclose(evaluate(e, feeds)["relu"], ref["relu"], rtol=0, atol=0)
    assert extract(e, outputs=["relu"]) is e


def test_cut_between_inputs_and_outputs():
    g = small_cnn()
    e = extract(g, inputs=["bn"], outputs=["pool"])
    assert [n.name for n in e.nodes] == ["relu", "add", "pool"]
    # the cut value first, then the original inputs still needed (the skip reads image)
    assert e.inputs == (Value("bn", f32("batch", 8, 8, 3)), Value("image", f32("batch", 8, 8, 3)))
    assert e.outputs == ("pool",)
    assert dict(e.weights) == {}
    verify_graph(e)
    feeds, ref = _intermediates(g, ["bn", "pool"])
    got = evaluate(e, {"bn": ref["bn"], "image": feeds["image"]})
    np.testing.assert_allclose(got["pool"], ref["pool"], rtol=1e-6, atol=1e-6)
    assert extract(e, inputs=["bn"], outputs=["pool"]) is e


@pytest.mark.parametrize("inputs, outputs, weights", [
    (None, ["conv"], {"conv/kernel", "conv/bias"}),
    (None, ["bn"], {"conv/kernel", "conv/bias", "bn/gamma", "bn/beta", "bn/moving_mean",
                    "bn/moving_variance"}),
    (["pool"], ["fc"], {"fc/kernel", "fc/bias"}),
    (["conv"], ["bn"], {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"}),
    (["conv"], ["relu", "add"], {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"}),
    (["add"], ["pool"], set()),
])
def test_exactly_the_weights_used(inputs, outputs, weights):
    g = small_cnn()
    e = extract(g, inputs=inputs, outputs=outputs)
    assert set(e.weights) == weights
    assert set(e.weights) == {i for n in e.nodes for i in n.inputs if i in g.weights}
    verify_graph(e)
    for k in weights:  # the arrays are the original ones
        np.testing.assert_array_equal(e.weights[k], g.weights[k])


def test_several_outputs_in_the_requested_order():
    g = small_cnn()
    e = extract(g, outputs=["pool", "bn"])
    assert e.outputs == ("pool", "bn")
    assert [n.name for n in e.nodes] == ["conv", "bn", "relu", "add", "pool"]
    feeds, ref = _intermediates(g, ["pool", "bn"])
    got = evaluate(e, feeds)
    for name in ("pool", "bn"):
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=0)


def test_one_branch_of_twins():
    g = twin_branches(depth=3)
    e = extract(g, outputs=["b/fc2"])
    assert [n.name for n in e.nodes] == ["b/fc0", "b/fc1", "b/fc2"]
    assert set(e.weights) == {k for k in g.weights if k.startswith("b/")}
    feeds, ref = _intermediates(g, ["b/fc2"])
    np.testing.assert_allclose(evaluate(e, feeds)["b/fc2"], ref["b/fc2"], rtol=0, atol=0)


def test_one_output_of_a_two_output_model():
    g = two_output_model()
    e = extract(g, outputs=["h2"])
    assert [n.name for n in e.nodes] == ["h2"] and set(e.weights) == {"h2/kernel", "h2/bias"}
    feeds = make_inputs(g)
    np.testing.assert_allclose(evaluate(e, feeds)["h2"], evaluate(g, feeds)["h2"], rtol=0, atol=0)


def test_a_cut_that_no_output_needs_stays_an_input():
    g = small_cnn()
    e = extract(g, inputs=["relu"], outputs=["bn"])
    assert [v.name for v in e.inputs] == ["relu", "image"]
    assert [n.name for n in e.nodes] == ["conv", "bn"]
    verify_graph(e)


# --- nothing to do / purity ---------------------------------------------------------------

def test_extracting_the_whole_graph_returns_the_same_object():
    g = small_cnn()
    assert extract(g, outputs=["fc"]) is g
    assert extract(g, outputs=list(g.outputs), inputs=[]) is g


def test_reordered_outputs_are_a_change():
    g = two_output_model()
    e = extract(g, outputs=["h2", "h1"])
    assert e is not g and e.outputs == ("h2", "h1")
    assert extract(e, outputs=["h2", "h1"]) is e


def test_input_graph_is_not_mutated():
    g = small_cnn()
    before = snapshot(g)
    expected = run(g)["fc"]
    extract(g, outputs=["relu"])
    extract(g, inputs=["bn"], outputs=["pool"])
    assert snapshot(g) == before
    np.testing.assert_array_equal(run(g)["fc"], expected)


# --- errors ------------------------------------------------------------------------------

def test_unknown_output_suggests_close_names():
    with pytest.raises(BadInputError, match=r"output 'rleu'.*did you mean 'relu'"):
        extract(small_cnn(), outputs=["rleu"])


def test_unknown_input_suggests_close_names():
    with pytest.raises(BadInputError, match=r"input 'cnv'.*did you mean 'conv'"):
        extract(small_cnn(), inputs=["cnv"], outputs=["fc"])


@pytest.mark.parametrize("inputs, outputs, match", [
    (None, [], "at least one output"),
    (["conv/kernel"], ["fc"], "weight"),
    (None, ["conv/kernel"], "weight"),
    (["relu"], ["relu"], "both an input and an output"),
    (None, ["relu", "relu"], "twice"),
    (["conv", "conv"], ["fc"], "twice"),
])
def test_bad_requests(inputs, outputs, match):
    with pytest.raises(BadInputError, match=match):
        extract(small_cnn(), inputs=inputs, outputs=outputs)


# --- properties over random DAGs ------------------------------------------------------------

@settings(derandomize=True, max_examples=50, deadline=None)
@given(random_dags())
def test_property_extract_of_every_output_preserves_numerics(g):
    before = snapshot(g)
    feeds = make_inputs(g)
    ref = evaluate(g, feeds)
    for o in g.outputs:
        e = extract(g, outputs=[o])
        verify_graph(e)
        assert e.outputs == (o,)
        assert set(e.weights) == {i for n in e.nodes for i in n.inputs if i in g.weights}
        assert extract(e, outputs=[o]) is e
        got = evaluate(e, {v.name: feeds[v.name] for v in e.inputs})
        np.testing.assert_allclose(got[o], ref[o], rtol=0, atol=0)
    whole = extract(g, outputs=list(g.outputs))
    assert extract(whole, outputs=list(g.outputs)) is whole
    got = evaluate(whole, {v.name: feeds[v.name] for v in whole.inputs})
    for o in g.outputs:
        np.testing.assert_allclose(got[o], ref[o], rtol=0, atol=0)
    assert snapshot(g) == before


@settings(derandomize=True, max_examples=50, deadline=None)
@given(random_dags())
def test_property_cut_at_a_producer_preserves_numerics(g):
    last = g.nodes[-1]
    cut = sorted({i for i in last.inputs if i and i not in g.weights
                  and i not in {v.name for v in g.inputs}})
    if not cut:
        return
    feeds = make_inputs(g)
    ref = evaluate(with_outputs(g, cut + [last.name]), feeds)
    e = extract(g, inputs=cut, outputs=[last.name])
    verify_graph(e)
    assert [v.name for v in e.inputs][: len(cut)] == cut
    assert all(n.name not in cut for n in e.nodes)
    got = evaluate(e, {v.name: ref[v.name] if v.name in cut else feeds[v.name] for v in e.inputs})
    np.testing.assert_allclose(got[last.name], ref[last.name], rtol=1e-6, atol=1e-6)
