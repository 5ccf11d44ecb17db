"""``run_pass`` / ``run_pipeline``: verify before and after, name the pass that failed.

Failures of the graph or the pass become a :class:`~graphir.passes.PassError` naming the
pass and the stage (on its input, while running, on its output) with the original error
as its cause; the user's own errors (``BadInputError``, ``ShapeCheckError``) pass through
unwrapped so the CLI maps them to the right exit code.
"""

import attrs
import pytest

from graphir import (BadInputError, Graph, GraphInvariantError, GraphIRError, ShapeCheckError,
                     verify_graph)
from graphir.passes import PassError, dedupe, extract, merge, rename, run_pass, run_pipeline

from ir_examples import small_cnn
from pass_examples import assert_same_numerics, conv_model, snapshot, twin_branches


def _broken() -> Graph:
    g = small_cnn()
    return attrs.evolve(g, outputs=("nowhere",))


def test_run_pass_returns_the_pass_result():
    g = small_cnn()
    r = run_pass(rename, g, prefix="p")
    assert str(r) == str(rename(g, prefix="p"))
    assert run_pass(rename, g) is g  # nothing changes: the same object, through the pipeline too
    assert run_pass(dedupe, g) is g


def test_invalid_input_graph_is_a_pass_error_on_its_input():
    with pytest.raises(PassError) as info:
        run_pass(dedupe, _broken())
    err = info.value
    assert err.pass_name == "dedupe"
    assert isinstance(err.cause, GraphInvariantError) and err.__cause__ is err.cause
    assert str(err).startswith("pass 'dedupe' failed on its input: ")
    assert "nowhere" in str(err)


def test_graphir_error_inside_the_pass_is_wrapped_while_running():
    def exploding(graph, *, why):
        raise GraphIRError(f"boom: {why}")

    with pytest.raises(PassError) as info:
        run_pass(exploding, small_cnn(), why="testing")
    err = info.value
    assert err.pass_name == "exploding"
    assert str(err) == "pass 'exploding' failed while running: boom: testing"
    assert type(err.cause) is GraphIRError and err.__cause__ is err.cause


def test_invalid_result_is_a_pass_error_on_its_output():
    def breaks_outputs(graph):
        return attrs.evolve(graph, outputs=())

    with pytest.raises(PassError) as info:
        run_pass(breaks_outputs, small_cnn())
    err = info.value
    assert err.pass_name == "breaks_outputs"
    assert str(err).startswith("pass 'breaks_outputs' failed on its output: ")
    assert isinstance(err.cause, GraphInvariantError) and err.cause.invariant == "outputs"


def test_bad_input_error_passes_through_unwrapped():
    with pytest.raises(BadInputError) as info:
        run_pass(rename, small_cnn(), mapping={"cnov": "stem"})
    assert not isinstance(info.value, PassError)
    assert "did you mean 'conv'" in str(info.value)
    with pytest.raises(BadInputError) as info:
        run_pass(extract, small_cnn(), outputs=["nope"])
    assert not isinstance(info.value, PassError)


def test_shape_check_error_passes_through_unwrapped():
    def chain_into(graph, *, consumer):
        return merge([graph, consumer], mode="chain")

    producer = conv_model("enc", cin=1, cout=3)
    consumer = conv_model("cls", cin=1, cout=2)
    with pytest.raises(ShapeCheckError) as info:
        run_pass(chain_into, producer, consumer=consumer)
    assert not isinstance(info.value, PassError)
    assert info.value.diagnostics[0].axis == 3


def test_pipeline_applies_passes_in_order():
    g = twin_branches(depth=3)
    before = snapshot(g)
    steps = [(dedupe, {}), (rename, {"prefix": "m"}), (extract, {"outputs": ["m/a/fc1"]})]
    r = run_pipeline(g, steps)
    assert [n.name for n in r.nodes] == ["m/a/fc0", "m/a/fc1"]
    assert r.outputs == ("m/a/fc1",)
    verify_graph(r)
    assert snapshot(g) == before
    # the same result as applying the passes by hand
    by_hand = extract(rename(dedupe(g), prefix="m"), outputs=["m/a/fc1"])
    assert snapshot(r) == snapshot(by_hand)
    assert_same_numerics(extract(g, outputs=["a/fc1"]), r, rtol=0, atol=0)


def test_pipeline_names_the_failing_pass():
    def spoil(graph):
        return attrs.evolve(graph, nodes=graph.nodes[1:])  # drops a producer

    with pytest.raises(PassError) as info:
        run_pipeline(small_cnn(), [(rename, {"prefix": "p"}), (spoil, {}), (dedupe, {})])
    assert info.value.pass_name == "spoil"
    assert "failed on its output" in str(info.value)
    assert info.value.cause.invariant == "defined-before-use"


def test_empty_pipeline_is_the_identity():
    g = small_cnn()
    assert run_pipeline(g, []) is g
