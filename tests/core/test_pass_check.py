"""The ``check`` pass and ``infer_graph_types``: every shape/type problem, each once, located.

``check`` reports rather than transforms, so its three checks are: it finds exactly the
problems built into a graph (with node, op, input index, producer, expected/actual and
axis), a second run reports the same (and the graph is untouched), and the types it
infers agree with the shapes the interpreter actually computes.

The faulty graphs are built by hand with declared types that are *inconsistent* on
purpose: they pass ``verify_graph(g, types=False)`` (the precondition of ``check``) but
not the full ``verify_graph``.
"""

import attrs
import numpy as np
import pytest

from graphir import (Diagnostic, Graph, GraphInvariantError, Node, TensorType, Value,
                     verify_graph)
from graphir.inputs import concrete_shape
from graphir.passes import check, infer_graph_types

from ir_examples import f32, small_cnn
from pass_examples import CONV_ATTRS, dense_model, run, snapshot, t, twin_branches, with_outputs

RELU = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}


def _conv_channel_mismatch() -> Graph:
    """``image (3 ch) -> stem (identity) -> conv (kernel for 1 ch) -> relu``."""
    rng = np.random.default_rng(0)
    w = {"conv/kernel": rng.standard_normal((3, 3, 1, 4)).astype(np.float32),
         "conv/bias": np.zeros(4, np.float32)}
    nodes = [Node("identity", "stem", ["image"], [Value("stem", f32("batch", 8, 8, 3))]),
             Node("conv2d", "conv", ["stem", "conv/kernel", "conv/bias"],
                  [Value("conv", f32("batch", 8, 8, 4))], CONV_ATTRS),
             Node("relu", "relu", ["conv"], [Value("relu", f32("batch", 8, 8, 4))], RELU)]
    return verify_graph(Graph("bad_conv", [Value("image", f32("batch", 8, 8, 3))], ["relu"],
                              nodes, w), types=False)


def _many_problems() -> Graph:
    """Four independent problems, each followed by a consumer that is fine given the
    declared types (so a cascade would show up as extra diagnostics):

    1. ``conv``: kernel for 1 channel, input has 3 (axis 3);
    2. ``fc``: kernel for 5 features, input has 4 (axis 1);
    3. ``mix``: float32 + float16 (dtype);
    4. ``c2``: conv2d of a rank-2 value (rank).
    """
    g = _conv_channel_mismatch()
    w = {**g.weights, "fc/kernel": np.ones((5, 2), np.float32),
         "c2/kernel": np.ones((3, 3, 3, 2), np.float32)}
    nodes = list(g.nodes) + [
        Node("dense", "fc", ["x", "fc/kernel"], [Value("fc", f32("batch", 2))],
             {"units": 2, "activation": "linear"}),
        Node("activation", "fc_act", ["fc"], [Value("fc_act", f32("batch", 2))],
             {"function": "tanh"}),
        Node("add", "mix", ["fc_act", "h"], [Value("mix", f32("batch", 2))]),
        Node("identity", "mix_id", ["mix"], [Value("mix_id", f32("batch", 2))]),
        Node("conv2d", "c2", ["x", "c2/kernel"], [Value("c2", f32("batch", 8, 8, 2))], CONV_ATTRS),
        Node("identity", "c2_id", ["c2"], [Value("c2_id", f32("batch", 8, 8, 2))]),
    ]
    inputs = list(g.inputs) + [Value("x", f32("batch", 4)), Value("h", t("float16", "batch", 2))]
    return verify_graph(Graph("many", inputs, ["relu", "mix_id", "c2_id"], nodes, w), types=False)


def _errors(diags):
    return [d for d in diags if d.severity == "error"]


# --- clean graphs ------------------------------------------------------------------------

@pytest.mark.parametrize("make", [small_cnn, dense_model, twin_branches])
def test_clean_graph_has_no_diagnostics(make):
    g = make()
    assert check(g) == []
    types, diags = infer_graph_types(g)
    assert diags == []
    assert types == g.value_types()  # inference agrees with every declared type


def test_inferred_types_match_the_shapes_the_interpreter_computes():
    g = small_cnn()
    types, _ = infer_graph_types(g)
    every = with_outputs(g, [n.name for n in g.nodes])
    got = run(every)
    assert set(got) == {n.name for n in g.nodes}
    for name, arr in got.items():
        assert arr.shape == concrete_shape(types[name].shape, batch=2), name
        assert arr.dtype == types[name].dtype.to_numpy()


# --- one error, fully located ------------------------------------------------------------

def test_channel_mismatch_is_one_located_error():
    g = _conv_channel_mismatch()
    with pytest.raises(GraphInvariantError):  # the full verifier stops at it
        verify_graph(g)
    diags = check(g)
    assert len(diags) == 1  # relu after it is not reported (no cascade)
    d = diags[0]
    assert isinstance(d, Diagnostic)
    assert (d.severity, d.node, d.op, d.input_index) == ("error", "conv", "conv2d", 0)
    assert (d.producer, d.producer_node) == ("stem", "stem")
    assert d.axis == 3
    assert "1" in d.expected and d.actual == "(batch, 8, 8, 3)"
    assert d.hint
    assert "conv" in d.message and "1 input channels" in d.message
    text = str(d)
    assert text.startswith("error: conv (conv2d) input 0 from 'stem' (produced by stem): ")
    assert "(batch, 8, 8, 3)" in text and "axis 3" in text and "Hint: " in text
    assert d.to_json()["axis"] == 3 and d.to_json()["producer_node"] == "stem"


def test_graph_input_producer_has_no_producer_node():
    g = _conv_channel_mismatch()
    nodes = [attrs.evolve(n, inputs=("image",) + n.inputs[1:]) if n.name == "conv" else n
             for n in g.nodes if n.name != "stem"]
    g2 = attrs.evolve(g, nodes=nodes)
    (d,) = check(g2)
    assert (d.producer, d.producer_node, d.axis) == ("image", None, 3)
    assert "produced by" not in str(d)


# --- several problems -----------------------------------------------------------------------

def test_all_independent_problems_are_reported_in_graph_order_without_cascade():
    g = _many_problems()
    diags = check(g)
    assert [(d.severity, d.node, d.op, d.input_index) for d in diags] == [
        ("error", "conv", "conv2d", 0),
        ("error", "fc", "dense", 0),
        ("error", "mix", "add", 1),
        ("error", "c2", "conv2d", 0),
    ]
    conv, fc, mix, c2 = diags
    assert conv.axis == 3 and conv.producer == "stem"
    assert fc.axis == 1 and fc.producer == "x" and fc.producer_node is None
    assert fc.actual == "(batch, 4)" and "5" in fc.expected
    # dtype
    assert (mix.producer, mix.expected, mix.actual) == ("h", "float32", "float16")
    assert mix.axis is None and mix.hint
    # rank
    assert c2.producer == "x" and "rank 4" in c2.expected and "rank 2" in c2.actual
    # deterministic and pure
    before = snapshot(g)
    assert check(g) == diags
    assert snapshot(g) == before


def test_rank_mismatch_alone():
    g = dense_model()
    w = {**g.weights, "c/kernel": np.ones((3, 3, 3, 2), np.float32)}
    nodes = list(g.nodes) + [Node("conv2d", "c", ["dense", "c/kernel"],
                                  [Value("c", f32("batch", 8, 8, 2))], CONV_ATTRS)]
    bad = verify_graph(Graph("rank", g.inputs, ["c"], nodes, w), types=False)
    (d,) = check(bad)
    assert (d.node, d.op, d.input_index) == ("c", "conv2d", 0)
    assert (d.producer, d.producer_node) == ("dense", "dense")
    assert d.expected == "rank 4" and d.actual.startswith("rank 2")


def test_dtype_mismatch_alone():
    g = Graph("dt", [Value("a", f32("batch", 3)), Value("b", t("float64", "batch", 3))], ["s"],
              [Node("add", "s", ["a", "b"], [Value("s", f32("batch", 3))])])
    (d,) = check(verify_graph(g, types=False))
    assert (d.node, d.input_index, d.producer) == ("s", 1, "b")
    assert (d.expected, d.actual) == ("float32", "float64")


def test_declared_output_disagreeing_with_its_op_is_an_error():
    g = small_cnn()
    wrong = [Value("conv", f32("batch", 8, 8, 5))]
    nodes = [attrs.evolve(n, outputs=wrong) if n.name == "conv" else n for n in g.nodes]
    (d,) = check(attrs.evolve(g, nodes=nodes))
    assert (d.severity, d.node, d.op, d.axis) == ("error", "conv", "conv2d", 3)
    assert d.expected == "f32[batch,8,8,5]" and d.actual == "f32[batch,8,8,3]"


# --- warnings -----------------------------------------------------------------------------

def test_hard_coded_batch_is_a_warning_not_an_error():
    g = small_cnn()
    fixed = attrs.evolve(g, inputs=[Value("image", f32(2, 8, 8, 3))])
    diags = check(fixed)
    assert len(diags) == 1 and _errors(diags) == []
    (w,) = diags
    assert (w.severity, w.producer, w.axis) == ("warning", "image", 0)
    assert w.actual == "(2, 8, 8, 3)" and "batch" in w.expected
    assert str(w).startswith("warning: ")


def test_warning_and_errors_together():
    g = _many_problems()
    fixed = attrs.evolve(g, inputs=[Value("image", f32(1, 8, 8, 3))] + list(g.inputs[1:]))
    diags = check(fixed)
    assert [d.severity for d in diags] == ["warning", "error", "error", "error", "error"]


# --- inference through symbolic dims ------------------------------------------------------------

def test_infer_through_symbolic_dims_keeps_batch_and_restores_static_dims():
    g = small_cnn()
    # declare every node output with unknown dims: inference fills them in
    def unknown_dims(v):
        return Value(v.name, TensorType(v.type.dtype, (None,) * v.type.rank))

    unknown = [attrs.evolve(n, outputs=[unknown_dims(v) for v in n.outputs]) for n in g.nodes]
    g2 = verify_graph(attrs.evolve(g, nodes=unknown))
    types, diags = infer_graph_types(g2)
    assert diags == []
    assert types["conv"] == f32("batch", 8, 8, 3)
    assert types["pool"] == f32("batch", 3)
    assert types["fc"] == f32("batch", 4)
    assert types == g.value_types()


def test_infer_keeps_other_symbolic_dims():
    g = dense_model()
    seq = Graph("seq", [Value("x", f32("batch", "time", 4))], ["dense"],
                [attrs.evolve(g.nodes[0], outputs=[Value("dense", f32(None, None, 3))])], g.weights)
    types, diags = infer_graph_types(verify_graph(seq))
    assert diags == []
    assert types["dense"] == f32("batch", "time", 3)
    assert check(seq) == []
