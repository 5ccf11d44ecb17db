"""The ``merge`` pass: every mode, naming of the combined graphs, and what a bad link reports.

Checked three ways: the exact structure of the merged graph (names, inputs, outputs,
combining nodes), that merging is deterministic and leaves its inputs untouched, and
that the merged graph computes the composition of the separate graphs (each evaluated
on its own with the interpreter: ``chain`` is ``g(f(x))``, ``average`` is
``(f(x) + g(x)) / 2``, ...).
"""

import numpy as np
import pytest

from graphir import BadInputError, Graph, Node, ShapeCheckError, Value, verify_graph
from graphir.inputs import make_inputs
from graphir.interpreter import evaluate
from graphir.passes import MODES, check, merge

from ir_examples import f32, small_cnn
from pass_examples import (conv_model, dense_model, snapshot, t, two_input_model,
                           two_layer_mlp, two_output_model)

TOL = dict(rtol=1e-6, atol=1e-6)


def _fg():
    """Two models of the same interface (x: (batch, 4) -> (batch, 3)), different weights."""
    return dense_model("f", seed=1), two_layer_mlp("g", seed=2)


def _x(n=4, seed=0):
    return np.random.default_rng(seed).standard_normal((2, n)).astype(np.float32)


def _out(graph: Graph, feeds) -> np.ndarray:
    (only,) = evaluate(graph, feeds).values()
    return only


# --- combining modes ------------------------------------------------------------------------

@pytest.mark.parametrize("mode, combine", [
    ("average", lambda a, b: (a + b) / 2),
    ("sum", lambda a, b: a + b),
    ("concat", lambda a, b: np.concatenate([a, b], axis=-1)),
])
def test_combining_modes_with_separate_inputs(mode, combine):
    f, g = _fg()
    m = merge([f, g], mode=mode)
    op = {"average": "average", "sum": "add", "concat": "concatenate"}[mode]
    assert [v.name for v in m.inputs] == ["f/x", "g/x"]
    assert m.outputs == (op,)
    last = m.nodes[-1]
    assert (last.op, last.name, last.inputs) == (op, op, ("f/dense", "g/fc2"))
    assert {n.name for n in m.nodes[:-1]} == {"f/dense", "g/fc1", "g/fc2"}
    assert set(m.weights) == {f"f/{k}" for k in f.weights} | {f"g/{k}" for k in g.weights}
    assert verify_graph(m) is m and check(m) == []
    a, b = _x(seed=1), _x(seed=2)
    expected = combine(_out(f, {"x": a}), _out(g, {"x": b}))
    np.testing.assert_allclose(_out(m, {"f/x": a, "g/x": b}), expected, **TOL)


@pytest.mark.parametrize("mode, combine", [
    ("average", lambda a, b: (a + b) / 2),
    ("sum", lambda a, b: a + b),
    ("concat", lambda a, b: np.concatenate([a, b], axis=-1)),
])
def test_combining_modes_with_shared_input(mode, combine):
    f, g = _fg()
    m = merge([f, g], mode=mode, shared_input=True)
    assert [v.name for v in m.inputs] == ["x"]  # the first model's own input name
    assert m.node("f/dense").inputs[0] == "x" and m.node("g/fc1").inputs[0] == "x"
    x = _x()
    expected = combine(_out(f, {"x": x}), _out(g, {"x": x}))
    np.testing.assert_allclose(_out(m, {"x": x}), expected, **TOL)


def test_average_of_three_models():
    graphs = [dense_model("f", seed=s) for s in range(3)]
    m = merge(graphs, mode="average", shared_input=True)
    assert [n.name for n in m.nodes] == ["f/dense", "f_1/dense", "f_2/dense", "average"]
    x = _x()
    expected = sum(_out(g, {"x": x}) for g in graphs) / 3
    np.testing.assert_allclose(_out(m, {"x": x}), expected, **TOL)


def test_outputs_mode_keeps_every_output_in_order():
    f, s = dense_model("f", seed=1), two_output_model("s", seed=3)
    m = merge([f, s], mode="outputs")
    assert m.outputs == ("f/dense", "s/h1", "s/h2")
    feeds = {"f/x": _x(seed=1), "s/x": _x(seed=2)}
    got = evaluate(m, feeds)
    np.testing.assert_allclose(got["f/dense"], _out(f, {"x": feeds["f/x"]}), **TOL)
    ref = evaluate(s, {"x": feeds["s/x"]})
    np.testing.assert_allclose(got["s/h1"], ref["h1"], **TOL)
    np.testing.assert_allclose(got["s/h2"], ref["h2"], **TOL)


def test_outputs_mode_accepts_a_single_graph():
    f = dense_model("f")
    m = merge([f], mode="outputs")
    assert m.outputs == ("f/dense",) and [v.name for v in m.inputs] == ["f/x"]
    x = _x()
    np.testing.assert_allclose(_out(m, {"f/x": x}), _out(f, {"x": x}), **TOL)


# --- chain -------------------------------------------------------------------------------------

def test_chain_in_order_is_g_of_f():
    f = dense_model("f", n_in=4, units=4, seed=1)
    g = two_layer_mlp("g", n_in=4, seed=2)
    m = merge([f, g], mode="chain")
    assert str(m).splitlines()[0] == "graph merged(%f/x: f32[batch,4]) -> (%g/fc2) {"
    assert [n.name for n in m.nodes] == ["f/dense", "g/fc1", "g/fc2"]
    assert m.node("g/fc1").inputs[0] == "f/dense"
    assert "g/x" not in {v.name for v in m.inputs}
    x = _x()
    expected = _out(g, {"x": _out(f, {"x": x})})
    np.testing.assert_allclose(_out(m, {"f/x": x}), expected, **TOL)


def test_chain_of_three_in_order():
    graphs = [dense_model(f"m{i}", n_in=4, units=4, seed=i) for i in range(3)]
    m = merge(graphs, mode="chain", name="three")
    assert m.name == "three"
    assert [n.name for n in m.nodes] == ["m0/dense", "m1/dense", "m2/dense"]
    x = _x()
    expected = x
    for g in graphs:
        expected = _out(g, {"x": expected})
    np.testing.assert_allclose(_out(m, {"m0/x": x}), expected, **TOL)


def test_chain_in_order_links_output_i_to_input_i():
    s, j = two_output_model("s", seed=1, widths=(2, 3)), two_input_model("j", seed=2)
    m = merge([s, j], mode="chain")
    assert m.node("j/cat").inputs == ("s/h1", "s/h2")
    assert [v.name for v in m.inputs] == ["s/x"]
    x = _x()
    hs = evaluate(s, {"x": x})
    expected = _out(j, {"u": hs["h1"], "v": hs["h2"]})
    np.testing.assert_allclose(_out(m, {"s/x": x}), expected, **TOL)


def test_chain_with_an_explicit_connection_map():
    s, j = two_output_model("s", seed=1), two_input_model("j", seed=2)
    # in order would feed h1 (3 wide) into u (2 wide): the map swaps them
    m = merge([s, j], mode="chain", connections=[{"u": "h2", "v": "h1"}])
    assert m.node("j/cat").inputs == ("s/h2", "s/h1")
    assert [v.name for v in m.inputs] == ["s/x"]
    assert m.outputs == ("j/out",)
    x = _x()
    hs = evaluate(s, {"x": x})
    expected = _out(j, {"u": hs["h2"], "v": hs["h1"]})
    np.testing.assert_allclose(_out(m, {"s/x": x}), expected, **TOL)


def test_chain_unconnected_input_becomes_a_graph_input():
    s, j = two_output_model("s", seed=1), two_input_model("j", seed=2)
    m = merge([s, j], mode="chain", connections=[{"u": "h2"}])
    assert [v.name for v in m.inputs] == ["s/x", "j/v"]
    assert m.node("j/cat").inputs == ("s/h2", "j/v")
    assert "s/h1" not in {n.name for n in m.nodes}  # what no output needs is dropped
    assert "s/h1/kernel" not in m.weights
    x, v = _x(), np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
    expected = _out(j, {"u": evaluate(s, {"x": x})["h2"], "v": v})
    np.testing.assert_allclose(_out(m, {"s/x": x, "j/v": v}), expected, **TOL)


def test_chain_channel_mismatch_raises_with_located_diagnostics():
    producer = conv_model("encoder", hw=28, cin=1, cout=3)  # outputs (batch, 28, 28, 3)
    consumer = conv_model("classifier", hw=28, cin=1, cout=2)  # its conv expects 1 channel
    before = (snapshot(producer), snapshot(consumer))
    with pytest.raises(ShapeCheckError) as info:
        merge([producer, consumer], mode="chain")
    err = info.value
    errors = [d for d in err.diagnostics if d.severity == "error"]
    assert len(errors) == 1
    (d,) = errors
    assert d.node == "classifier/conv"  # the consuming model's prefix and layer
    assert d.producer == "encoder/conv" and d.producer_node == "encoder/conv"
    assert d.input_index == 0
    assert d.axis == 3
    assert "(batch, 28, 28, 1)" in d.expected and "(batch, 28, 28, 3)" in d.actual
    assert "'classifier'" in d.message and "classifier/conv" in d.message
    assert d.hint
    text = str(err)
    for needle in ("classifier/conv", "encoder/conv", "(batch, 28, 28, 1)", "(batch, 28, 28, 3)",
                   "axis 3"):
        assert needle in text, needle
    assert (snapshot(producer), snapshot(consumer)) == before


def test_chain_dtype_and_rank_mismatches_are_diagnosed():
    f = dense_model("f", units=3)
    cnn = small_cnn()  # expects a rank-4 image
    with pytest.raises(ShapeCheckError) as info:
        merge([f, cnn], mode="chain")
    (d,) = info.value.diagnostics
    # the image is read by two layers (conv and the skip add): both are named
    assert d.node in ("small_cnn/conv", "small_cnn/add")
    assert "small_cnn/conv" in d.message and "small_cnn/add" in d.message
    assert d.producer == "f/dense" and d.axis is None
    assert "rank 2 instead of 4" in d.message
    g16 = Graph("h", [Value("x", t("float16", "batch", 3))], ["a"],
                [Node("activation", "a", ["x"], [Value("a", t("float16", "batch", 3))],
                      {"function": "relu"})])
    with pytest.raises(ShapeCheckError) as info:
        merge([f, g16], mode="chain")
    (d,) = info.value.diagnostics
    assert (d.node, d.producer, d.axis) == ("h/a", "f/dense", None)
    assert "dtype float32 instead of float16" in d.message


def test_combining_incompatible_outputs_raises_shape_check_error():
    f, c = dense_model("f", units=3), dense_model("c", units=5)
    with pytest.raises(ShapeCheckError) as info:
        merge([f, c], mode="average", shared_input=True)
    (d,) = info.value.diagnostics
    assert d.op == "average" and d.severity == "error"
    # concat along the last axis accepts them
    m = merge([f, c], mode="concat", shared_input=True)
    assert m.output_types() == (f32("batch", 8),)


def test_shared_input_with_incompatible_inputs_raises_shape_check_error():
    f, g = dense_model("f", n_in=4), dense_model("g", n_in=5)
    with pytest.raises(ShapeCheckError) as info:
        merge([f, g], mode="outputs", shared_input=True)
    (d,) = info.value.diagnostics
    assert d.node == "g/dense" and d.axis == 1


# --- naming --------------------------------------------------------------------------------------

def test_graphs_with_the_same_name_get_name_and_name_1():
    a, b = small_cnn(seed=0), small_cnn(seed=1)
    m = merge([a, b], mode="outputs")
    assert [v.name for v in m.inputs] == ["small_cnn/image", "small_cnn_1/image"]
    assert m.outputs == ("small_cnn/fc", "small_cnn_1/fc")
    assert {n.name for n in m.nodes} == ({f"small_cnn/{n.name}" for n in a.nodes}
                                         | {f"small_cnn_1/{n.name}" for n in b.nodes})
    feeds = {"small_cnn/image": make_inputs(a, seed=1)["image"],
             "small_cnn_1/image": make_inputs(b, seed=2)["image"]}
    got = evaluate(m, feeds)
    for graph, prefix in ((a, "small_cnn"), (b, "small_cnn_1")):
        expected = _out(graph, {"image": feeds[f"{prefix}/image"]})
        np.testing.assert_allclose(got[f"{prefix}/fc"], expected, **TOL)


def test_custom_prefixes():
    f, g = _fg()
    m = merge([f, g], mode="sum", prefixes=["teacher", "student"], name="distill")
    assert m.name == "distill"
    assert [v.name for v in m.inputs] == ["teacher/x", "student/x"]
    assert m.node("add").inputs == ("teacher/dense", "student/fc2")
    assert all(k.split("/")[0] in ("teacher", "student") for k in m.weights)


def test_nested_prefixes_are_rejected_rather_than_colliding():
    # under "m", a's weight "x/kernel" is "m/x/kernel"; under "m/x", b's weight "kernel"
    # would be "m/x/kernel" too, and one would silently replace the other
    a = Graph("a", [Value("in", f32("batch", 4))], ["x"],
              [Node("dense", "x", ["in", "x/kernel"], [Value("x", f32("batch", 4))],
                    {"units": 4, "activation": "linear"})],
              {"x/kernel": np.full((4, 4), 2, np.float32)})
    b = Graph("b", [Value("in", f32("batch", 4))], ["out"],
              [Node("dense", "out", ["in", "kernel"], [Value("out", f32("batch", 4))],
                    {"units": 4, "activation": "linear"})],
              {"kernel": np.eye(4, dtype=np.float32)})
    with pytest.raises(BadInputError, match="nested"):
        merge([a, b], mode="outputs", prefixes=["m", "m/x"])
    m = merge([a, b], mode="outputs", prefixes=["m", "n/x"])
    feeds = {"m/in": _x(seed=1), "n/x/in": _x(seed=2)}
    got = evaluate(m, feeds)
    np.testing.assert_allclose(got["m/x"], _out(a, {"in": feeds["m/in"]}), **TOL)
    np.testing.assert_allclose(got["n/x/out"], _out(b, {"in": feeds["n/x/in"]}), **TOL)


def test_combining_node_name_is_made_unique():
    # the shared input keeps the first model's own name, here "add": the combining
    # node's value must not take it
    f, g = dense_model("f", input_name="add"), two_layer_mlp("g")
    m = merge([f, g], mode="sum", shared_input=True)
    assert [v.name for v in m.inputs] == ["add"]
    assert m.outputs != ("add",) and m.nodes[-1].op == "add"
    assert m.nodes[-1].inputs == ("f/dense", "g/fc2")
    x = _x()
    np.testing.assert_allclose(_out(m, {"add": x}), _out(f, {"add": x}) + _out(g, {"x": x}), **TOL)


def test_merge_is_deterministic_and_leaves_its_inputs_alone():
    f, g = _fg()
    before = (snapshot(f), snapshot(g))
    m1 = merge([f, g], mode="average", shared_input=True)
    m2 = merge([dense_model("f", seed=1), two_layer_mlp("g", seed=2)], mode="average",
               shared_input=True)
    assert snapshot(m1) == snapshot(m2)
    assert (snapshot(f), snapshot(g)) == before


# --- bad requests ---------------------------------------------------------------------------

def test_modes_constant():
    assert set(MODES) == {"chain", "concat", "average", "sum", "outputs"}


@pytest.mark.parametrize("kwargs, match", [
    (dict(mode="stack"), "unknown merge mode"),
    (dict(mode="chain", shared_input=True), "shared"),
    (dict(mode="sum", prefixes=["a"]), "prefixes"),
    (dict(mode="sum", prefixes=["a", "a"]), "prefixes"),
    (dict(mode="chain", connections=[{"x": "dense"}, {"x": "dense"}]), "connections"),
    (dict(mode="sum", connections=[{"x": "dense"}]), "connections"),
    (dict(mode="chain", connections=[{"nope": "dense"}]), "no input 'nope'"),
    (dict(mode="chain", connections=[{"x": "nope"}]), "no output 'nope'"),
])
def test_bad_options(kwargs, match):
    f, g = dense_model("f", units=4), dense_model("g")
    with pytest.raises(BadInputError, match=match):
        merge([f, g], **kwargs)


@pytest.mark.parametrize("mode", ["chain", "concat", "average", "sum"])
def test_too_few_graphs(mode):
    with pytest.raises(BadInputError, match="at least 2"):
        merge([dense_model("f")], mode=mode)
    with pytest.raises(BadInputError):
        merge([], mode=mode)


def test_count_mismatches():
    s, f = two_output_model("s"), dense_model("f")
    with pytest.raises(BadInputError, match="2 outputs.*1 inputs"):
        merge([s, f], mode="chain")
    with pytest.raises(BadInputError, match="same number of outputs"):
        merge([s, f], mode="concat")
    j = two_input_model("j")
    with pytest.raises(BadInputError, match="inputs"):
        merge([f, j], mode="outputs", shared_input=True)


def test_invalid_input_graph_is_rejected():
    f = dense_model("f")
    broken = Graph("broken", f.inputs, ["missing"], f.nodes, f.weights)
    with pytest.raises(BadInputError):
        merge([f, broken], mode="outputs")


# --- the type-identical fast path and the input-name restore ------------------------------

def test_shared_input_name_that_clashes_with_a_scoped_name_is_made_unique():
    # f's input is literally called "g/dense", which is also g's scoped dense output: the
    # shared input takes its name back (inputs come first, as in rename) and g's dense
    # output gets a suffix, never a clash
    f = dense_model("f", seed=1, input_name="g/dense")
    g = dense_model("g", seed=2)
    m = merge([f, g], mode="sum", shared_input=True)
    (inp,) = m.inputs
    assert inp.name == "g/dense"
    g_dense = next(n for n in m.nodes if n.name == "g/dense")
    assert g_dense.output.name.startswith("g/dense_") and g_dense.inputs[0] == "g/dense"
    assert verify_graph(m) is m
    x = _x(seed=3)
    expected = _out(f, {"g/dense": x}) + _out(g, {"x": x})
    np.testing.assert_allclose(_out(m, {inp.name: x}), expected, **TOL)


def test_link_that_refines_a_type_is_rechecked_through_the_consumer():
    # the consumer's input is (batch, ?) and its dense kernel wants 4 features: fed a
    # producer of 3 features, the link is compatible but the dense node is not
    f = dense_model("f", units=3, seed=1)
    g = dense_model("g", n_in=4, seed=2)
    loose = Graph(g.name, [Value("x", f32("batch", None))], g.outputs, g.nodes, g.weights)
    with pytest.raises(ShapeCheckError) as err:
        merge([f, loose], mode="chain")
    assert any(d.node == "g/dense" for d in err.value.diagnostics)


def test_shared_input_of_a_different_but_compatible_type_is_refused_by_merge_itself():
    """Issue 12 item 4: ``g`` declares its input ``(batch, ?)`` but its dense kernel wants
    4 features; shared with ``f``'s ``(batch, 3)`` input, the boundary check passes
    (the types are compatible) and only merge's final shape check can see that ``g/dense``
    now gets 3 features.  The test calls ``merge`` only: merge itself must refuse."""
    f = dense_model("f", n_in=3, seed=1)
    g = dense_model("g", n_in=4, seed=2)
    loose = Graph(g.name, [Value("x", f32("batch", None))], g.outputs, g.nodes, g.weights)
    for mode in ("outputs", "concat"):
        with pytest.raises(ShapeCheckError) as err:
            merge([f, loose], mode=mode, shared_input=True)
        errors = [d for d in err.value.diagnostics if d.severity == "error"]
        assert [(d.node, d.input_index, d.producer) for d in errors] == [("g/dense", 0, "x")]
        assert "(batch, 3)" in errors[0].actual


def test_shared_input_of_an_equal_type_merges_and_a_vaguer_first_input_is_kept():
    # the first model's input is the vaguer one: every reader accepts (batch, ?)
    f = dense_model("f", n_in=4, seed=1)
    loose_f = Graph(f.name, [Value("x", f32("batch", None))], f.outputs, f.nodes, f.weights)
    g = dense_model("g", n_in=4, seed=2)
    m = merge([loose_f, g], mode="sum", shared_input=True)
    assert m.inputs == (Value("x", f32("batch", None)),)
    x = _x()
    np.testing.assert_allclose(_out(m, {"x": x}), _out(f, {"x": x}) + _out(g, {"x": x}), **TOL)
