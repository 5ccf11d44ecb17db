"""``cancel_transposes``: property-tested on seeded random graphs against the reference
interpreter (outputs equal before and after), with a broken twin caught."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import infer_types
from graphir.passes import cancel_transposes
from graphir.passes import transposes as tmod
from graphir.tensor_types import TensorType

_UNARY = ("floor", "negative", "exp", "abs")


def _random_graph(seed: int) -> Graph:
    """A random DAG over a (2, 3, 4, 5) input: transposes by random perms, unary ops,
    binary ops with another value of the same shape or a broadcast weight, softmax,
    keepdims means, concatenations."""
    rng = np.random.default_rng(seed)
    x = Value("x", TensorType("float32", (2, 3, 4, 5)))
    values = [x]
    nodes, weights = [], {}

    def add(op, inputs, attrs=None):
        types = [next(v.type for v in values if v.name == i) if i not in weights else
                 TensorType("float32", weights[i].shape) for i in inputs]
        (t,) = infer_types(op, types, attrs or {})
        v = Value(f"v{len(nodes)}", t)
        nodes.append(Node(op, f"n{len(nodes)}", tuple(inputs), (v,), attrs or {}))
        values.append(v)
        return v

    for _ in range(int(rng.integers(6, 14))):
        v = values[int(rng.integers(len(values)))]
        kind = rng.integers(6)
        if kind <= 1:
            add("transpose", [v.name], {"perm": tuple(int(a) for a in rng.permutation(4))})
        elif kind == 2:
            add(_UNARY[int(rng.integers(len(_UNARY)))], [v.name])
        elif kind == 3:
            same = [u for u in values if u.type.shape == v.type.shape and u is not v]
            if same and rng.integers(2):
                add("add", [v.name, same[int(rng.integers(len(same)))].name])
            else:
                w = f"w{len(weights)}"
                shape = tuple(d if rng.integers(2) else 1 for d in v.type.shape[-2:])
                weights[w] = rng.standard_normal(shape).astype(np.float32)
                add("multiply", [v.name, w])
        elif kind == 4:
            add("softmax", [v.name], {"axis": int(rng.integers(4))})
        else:
            if rng.integers(2):
                add("mean", [v.name], {"axes": (int(rng.integers(1, 4)),), "keepdims": True})
            else:
                add("concatenate", [v.name, v.name], {"axis": int(rng.integers(4))})
    outs = tuple(dict.fromkeys(v.name for v in values[-3:] if v.name != "x")) or (values[-1].name,)
    used = {i for n in nodes for i in n.inputs}
    return Graph("g", (x,), outs, tuple(nodes), {k: a for k, a in weights.items() if k in used})


def _check(seed: int) -> tuple[int, int]:
    g = _random_graph(seed)
    out = cancel_transposes(g)
    feeds = {"x": np.random.default_rng(seed + 1000).standard_normal((2, 3, 4, 5))}
    a, b = evaluate(g, feeds), evaluate(out, feeds)
    assert out.outputs == g.outputs
    for k in g.outputs:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-6, atol=1e-6, err_msg=f"seed {seed}")
    count = (sum(n.op == "transpose" for n in g.nodes), sum(n.op == "transpose" for n in out.nodes))
    assert count[1] <= count[0]
    assert cancel_transposes(out) is out or sum(
        n.op == "transpose" for n in cancel_transposes(out).nodes) <= count[1]
    return count


def test_random_graphs_compute_the_same():
    counts = [_check(seed) for seed in range(60)]
    assert sum(b for _, b in counts) < sum(a for a, _ in counts)  # it did remove some


def test_inverse_pair_through_elementwise_ops_vanishes():
    x = Value("x", TensorType("float32", ("batch", 3, 8, 8)))
    t = lambda n, i, p, s: Node("transpose", n, (i,), (Value(n, TensorType("float32", s)),),
                                {"perm": p})
    nodes = (t("a", "x", (0, 2, 3, 1), ("batch", 8, 8, 3)),
             Node("relu", "r", ("a",), (Value("r", TensorType("float32", ("batch", 8, 8, 3))),),
                  {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
             t("b", "r", (0, 3, 1, 2), ("batch", 3, 8, 8)))
    g = Graph("g", (x,), ("b",), nodes)
    out = cancel_transposes(g)
    assert [n.op for n in out.nodes] == ["relu"] + (["identity"] if out.nodes[-1].op ==
                                                    "identity" else [])
    assert out.outputs == ("b",)
    assert cancel_transposes(Graph("h", (x,), ("x",), ())) is not None


def test_broken_twin_is_caught(monkeypatch):
    # a pass that forgets to remap the axis of softmax/concatenate is wrong on some graph
    monkeypatch.setattr(tmod, "AXIS_OPS", {"softmax": "no_such_key"})
    original = tmod._Sinker.sink

    def forgetful(self, node):
        if node.op in ("softmax", "concatenate") and any(i in self.pending for i in node.inputs):
            p = self.pending[node.inputs[0]][1] if node.inputs[0] in self.pending else None
            if p is not None and all(i in self.pending for i in node.inputs):
                ins = [self.pending[i][0] for i in node.inputs]
                inner = tmod._permuted(node.output.type, tmod._inverse(p))
                name = self.values.unique(node.output.name + "/u")
                self.emit(node, ins, dict(node.attrs), name, inner)  # axis NOT remapped
                self.pending[node.output.name] = (name, p)
                return True
        return original(self, node)

    monkeypatch.setattr(tmod._Sinker, "sink", forgetful)
    with pytest.raises(AssertionError):
        for seed in range(60):
            _check(seed)


def _gap_head(perm=(0, 3, 1, 2), spatial=(1, 1)):
    """NHWC (N, h, w, 4) -> transpose(perm) -> flatten: the head of a CNN imported from
    tf2onnx (a global pooling with keepdims, transposed back to NCHW)."""
    x = Value("x", TensorType("float32", ("batch", *spatial, 4)))
    (t,) = infer_types("transpose", [x.type], {"perm": perm})
    (f,) = infer_types("flatten", [t], {})
    nodes = (Node("transpose", "t", ("x",), (Value("t", t),), {"perm": perm}),
             Node("flatten", "f", ("t",), (Value("f", f),), {}))
    return Graph("g", (x,), ("f",), nodes)


def test_transpose_of_unit_axes_becomes_a_reshape():
    """Identity 5: a transpose that moves only size-1 axes (batch kept) is a reshape."""
    g = _gap_head()
    out = cancel_transposes(g)
    assert "transpose" not in [n.op for n in out.nodes]
    feeds = {"x": np.random.default_rng(0).standard_normal((2, 1, 1, 4))}
    np.testing.assert_array_equal(evaluate(out, feeds)["f"], evaluate(g, feeds)["f"])


def test_transpose_of_unit_axes_before_a_conv_is_a_reshape():
    x = Value("x", TensorType("float32", ("batch", 1, 1, 4)))
    perm = (0, 3, 1, 2)
    (t,) = infer_types("transpose", [x.type], {"perm": perm})
    (e,) = infer_types("exp", [t], {})
    g = Graph("g", (x,), ("e",), (
        Node("transpose", "t", ("x",), (Value("t", t),), {"perm": perm}),
        Node("exp", "e", ("t",), (Value("e", e),), {})))
    out = cancel_transposes(g)
    assert "transpose" not in [n.op for n in out.nodes]
    assert "reshape" in [n.op for n in out.nodes]
    feeds = {"x": np.random.default_rng(1).standard_normal((3, 1, 1, 4))}
    np.testing.assert_allclose(evaluate(out, feeds)["e"], evaluate(g, feeds)["e"])


def test_identity_5_broken_twin_is_caught(monkeypatch):
    """A pass that turns every batch-keeping transpose into a reshape is wrong as soon as
    a non-unit axis moves: the comparison catches it."""
    x = Value("x", TensorType("float32", ("batch", 2, 3, 4)))
    (t,) = infer_types("transpose", [x.type], {"perm": (0, 3, 1, 2)})
    (e,) = infer_types("exp", [t], {})
    g = Graph("g", (x,), ("e",), (
        Node("transpose", "t", ("x",), (Value("t", t),), {"perm": (0, 3, 1, 2)}),
        Node("exp", "e", ("t",), (Value("e", e),), {})))
    monkeypatch.setattr(tmod, "_moves_only_ones", lambda shape, p: p[0] == 0)
    out = cancel_transposes(g)
    feeds = {"x": np.random.default_rng(2).standard_normal((2, 2, 3, 4))}
    assert not np.allclose(evaluate(out, feeds)["e"], evaluate(g, feeds)["e"])
