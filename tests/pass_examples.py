"""Hand-built graphs and helpers for the pass tests (NumPy only: no TensorFlow, Keras or onnx).

Every weight is drawn from ``numpy.random.default_rng(seed)``, so each builder returns the
same graph for the same arguments.  Builders declare consistent types unless their name
says otherwise (the ``check`` tests build inconsistent graphs on purpose).

:func:`random_dags` is a Hypothesis strategy of random valid DAGs over a small op
vocabulary (dense, activation, add, multiply, identity, concatenate).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import attrs
import numpy as np
from hypothesis import strategies as st

from graphir import Graph, Node, TensorType, Value, verify_graph
from graphir.inputs import make_inputs
from graphir.interpreter import evaluate
from graphir.printer import format_graph

from ir_examples import f32

CONV_ATTRS = {"strides": (1, 1), "padding": "same", "dilations": (1, 1), "groups": 1,
              "activation": "linear", "data_format": "channels_last"}


def t(dtype: str, *shape) -> TensorType:
    return TensorType(dtype, shape)


def dense_node(name: str, x: str, units: int, out_shape: tuple, *, activation: str = "linear",
               bias: bool = True, dtype: str = "float32") -> Node:
    inputs = [x, f"{name}/kernel"] + ([f"{name}/bias"] if bias else [])
    return Node("dense", name, inputs, [Value(name, t(dtype, *out_shape))],
                {"units": units, "activation": activation})


def dense_weights(name: str, n_in: int, units: int, seed: int, *, bias: bool = True,
                  dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = {f"{name}/kernel": rng.standard_normal((n_in, units)).astype(dtype)}
    if bias:
        w[f"{name}/bias"] = rng.standard_normal(units).astype(dtype)
    return w


def dense_model(name: str = "mlp", *, n_in: int = 4, units: int = 3, seed: int = 0,
                activation: str = "tanh", input_name: str = "x") -> Graph:
    """``x: f32[batch, n_in] -> dense(units, activation)``; the node is called ``dense``."""
    return Graph(name, [Value(input_name, f32("batch", n_in))], ["dense"],
                 [dense_node("dense", input_name, units, ("batch", units), activation=activation)],
                 dense_weights("dense", n_in, units, seed))


def two_layer_mlp(name: str = "mlp2", *, n_in: int = 4, hidden: int = 5, units: int = 3,
                  seed: int = 0) -> Graph:
    """``x -> fc1 (relu) -> fc2 (linear)``."""
    w = {**dense_weights("fc1", n_in, hidden, seed),
         **dense_weights("fc2", hidden, units, seed + 1)}
    nodes = [dense_node("fc1", "x", hidden, ("batch", hidden), activation="relu"),
             dense_node("fc2", "fc1", units, ("batch", units))]
    return Graph(name, [Value("x", f32("batch", n_in))], ["fc2"], nodes, w)


def conv_model(name: str, *, hw: int = 8, cin: int = 1, cout: int = 3, seed: int = 0) -> Graph:
    """``image: f32[batch, hw, hw, cin] -> conv2d (3x3, same, cout filters)``; node ``conv``."""
    rng = np.random.default_rng(seed)
    w = {"conv/kernel": rng.standard_normal((3, 3, cin, cout)).astype(np.float32),
         "conv/bias": rng.standard_normal(cout).astype(np.float32)}
    node = Node("conv2d", "conv", ["image", "conv/kernel", "conv/bias"],
                [Value("conv", f32("batch", hw, hw, cout))], CONV_ATTRS)
    return Graph(name, [Value("image", f32("batch", hw, hw, cin))], ["conv"], [node], w)


def two_output_model(name: str = "split", *, n_in: int = 4, seed: int = 0,
                     widths: tuple[int, int] = (3, 2)) -> Graph:
    """``x -> h1 = dense(widths[0], relu)``, ``h2 = dense(widths[1], tanh)``; returns ``(h1, h2)``."""
    w1, w2 = widths
    w = {**dense_weights("h1", n_in, w1, seed), **dense_weights("h2", n_in, w2, seed + 1)}
    nodes = [dense_node("h1", "x", w1, ("batch", w1), activation="relu"),
             dense_node("h2", "x", w2, ("batch", w2), activation="tanh")]
    return Graph(name, [Value("x", f32("batch", n_in))], ["h1", "h2"], nodes, w)


def two_input_model(name: str = "join", *, seed: int = 0) -> Graph:
    """``u: f32[batch, 2]``, ``v: f32[batch, 3]`` -> ``dense(concat(u, v))`` (node ``out``)."""
    nodes = [Node("concatenate", "cat", ["u", "v"], [Value("cat", f32("batch", 5))], {"axis": -1}),
             dense_node("out", "cat", 4, ("batch", 4), activation="sigmoid")]
    return Graph(name, [Value("u", f32("batch", 2)), Value("v", f32("batch", 3))], ["out"],
                 nodes, dense_weights("out", 5, 4, seed))


def twin_branches(depth: int = 3, *, n: int = 4, seed: int = 0) -> Graph:
    """Two identical branches of ``depth`` dense layers over ``x``, added at the end.

    Branch ``a`` and branch ``b`` use equal (byte-identical) but separately stored
    weights, so weight deduplication makes their first layers identical, which makes
    their second layers identical, and so on: the whole of branch ``b`` collapses.
    """
    weights: dict[str, np.ndarray] = {}
    nodes = []
    for branch in ("a", "b"):
        prev = "x"
        for i in range(depth):
            name = f"{branch}/fc{i}"
            weights.update(dense_weights(name, n, n, seed + i))
            nodes.append(dense_node(name, prev, n, ("batch", n), activation="tanh"))
            prev = name
    nodes.append(Node("add", "sum", [f"a/fc{depth - 1}", f"b/fc{depth - 1}"],
                      [Value("sum", f32("batch", n))]))
    return Graph("twins", [Value("x", f32("batch", n))], ["sum"], nodes, weights)


# --- comparing graphs --------------------------------------------------------------------

def snapshot(graph: Graph) -> tuple[str, dict[str, bytes]]:
    """Text plus weight bytes: equal snapshots mean an unchanged graph."""
    return format_graph(graph), {k: v.tobytes() for k, v in graph.weights.items()}


def run(graph: Graph, inputs: Mapping[str, np.ndarray] | None = None, *, seed: int = 0
        ) -> dict[str, np.ndarray]:
    """Evaluate ``graph`` with the interpreter on ``inputs`` (default: seeded inputs)."""
    return evaluate(graph, make_inputs(graph, seed=seed) if inputs is None else inputs)


def with_outputs(graph: Graph, outputs: Sequence[str]) -> Graph:
    """The same graph returning ``outputs`` (independent of the ``extract`` pass)."""
    return verify_graph(attrs.evolve(graph, outputs=tuple(outputs)))


def assert_same_numerics(before: Graph, after: Graph, *, rtol: float = 1e-6,
                         atol: float = 1e-6, seed: int = 0) -> None:
    """``after`` computes ``before``'s outputs; inputs and outputs are matched by position
    (so renamed graphs compare too)."""
    assert len(before.inputs) == len(after.inputs)
    assert len(before.outputs) == len(after.outputs)
    feeds = make_inputs(before, seed=seed)
    expected = evaluate(before, feeds)
    got = evaluate(after, {a.name: feeds[b.name] for b, a in zip(before.inputs, after.inputs)})
    for b, a in zip(before.outputs, after.outputs):
        assert got[a].shape == expected[b].shape, (a, b)
        np.testing.assert_allclose(got[a], expected[b], rtol=rtol, atol=atol, err_msg=f"{b} -> {a}")


# --- random DAGs (Hypothesis) ------------------------------------------------------------

ACTS = ("linear", "relu", "tanh", "sigmoid")


@st.composite
def random_dags(draw, max_nodes: int = 8) -> Graph:
    """A random valid DAG over ``x: f32[batch, w]`` (and maybe ``y``).

    Ops: dense (weights seeded from a small pool of seeds, so byte-identical weights
    occur), activation, add/multiply of two same-width values (possibly the same value
    twice), identity, concatenate, and copies of earlier nodes under new names (with
    copies of their weights), so deduplication has work to do.  Names are sometimes
    scoped (``blk/dense_3``).  The outputs are a non-empty subset of the node outputs that
    always includes the last node.
    """
    widths: dict[str, int] = {}
    inputs = []
    for name in ("x", "y")[: draw(st.integers(1, 2))]:
        w = draw(st.integers(1, 4))
        inputs.append(Value(name, f32("batch", w)))
        widths[name] = w
    nodes: list[Node] = []
    weights: dict[str, np.ndarray] = {}
    n_nodes = draw(st.integers(1, max_nodes))
    for i in range(n_nodes):
        pool = sorted(widths)
        scope = draw(st.sampled_from(["", "", "blk/"]))
        kinds = ["dense", "activation", "binary", "identity", "concatenate"]
        kinds += ["repeat", "repeat"] if nodes else []
        kind = draw(st.sampled_from(kinds))
        src = draw(st.sampled_from(pool))
        name = f"{scope}{kind}_{i}"
        if kind == "repeat":  # a copy of an earlier node under a new name, weights copied too
            orig = draw(st.sampled_from(nodes))
            renamed = {w: f"{name}/{w.rsplit('/', 1)[1]}" for w in orig.inputs if w in weights}
            weights.update({new: weights[old].copy() for old, new in renamed.items()})
            node = Node(orig.op, name, [renamed.get(i, i) for i in orig.inputs],
                        [Value(name, orig.output.type)], orig.attrs)
            width = widths[orig.name]
        elif kind == "dense":
            units = draw(st.integers(1, 4))
            seed = draw(st.integers(0, 2))
            bias = draw(st.booleans())
            weights.update(dense_weights(name, widths[src], units, seed, bias=bias))
            act = draw(st.sampled_from(ACTS))
            node = dense_node(name, src, units, ("batch", units), activation=act, bias=bias)
            width = units
        elif kind == "activation":
            node = Node("activation", name, [src], [Value(name, f32("batch", widths[src]))],
                        {"function": draw(st.sampled_from(ACTS))})
            width = widths[src]
        elif kind == "binary":
            same = [v for v in pool if widths[v] == widths[src]]
            other = draw(st.sampled_from(same))
            op = draw(st.sampled_from(["add", "multiply"]))
            node = Node(op, name, [src, other], [Value(name, f32("batch", widths[src]))])
            width = widths[src]
        elif kind == "identity":
            node = Node("identity", name, [src], [Value(name, f32("batch", widths[src]))])
            width = widths[src]
        else:
            parts = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            width = sum(widths[p] for p in parts)
            node = Node("concatenate", name, parts, [Value(name, f32("batch", width))],
                        {"axis": -1})
        nodes.append(node)
        widths[name] = width
    produced = [n.name for n in nodes]
    extra = draw(st.lists(st.sampled_from(produced), unique=True, max_size=3))
    outputs = [o for o in produced if o in set(extra) | {produced[-1]}]
    return verify_graph(Graph("random", inputs, outputs, nodes, weights))
