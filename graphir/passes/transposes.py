"""The ``cancel_transposes`` pass: sink ``transpose`` nodes through layout-neutral ops and
cancel the ones that meet their inverse.

An ONNX model imported into the IR computes channels-first: every ``Conv`` becomes
``transpose -> conv2d -> transpose`` (:mod:`graphir.backends.onnx.importer`).  This
pass moves each transpose forward (toward the consumers) as long as the ops it passes
commute with it, composes consecutive transposes, and drops the identities, so a CNN
imported from NCHW keeps transposes only at its boundary.

Soundness rule.  Write ``T_p(x) = transpose(x, p)`` (output axis ``i`` is input axis
``p[i]``).  The pass only uses these identities, each exact (no rounding changes):

1. ``T_q(T_p(u)) = T_r(u)`` with ``r[i] = p[q[i]]``, and ``T_id(u) = u``.
2. Elementwise ops (the unary ones, and the n-ary ones with NumPy broadcasting):
   ``f(T_p(u1), ..., T_p(un), c) = T_p(f(u1, ..., un, c'))`` where every operand that is
   not transposed is a weight ``c`` of rank <= rank(u), and ``c'`` is ``c`` aligned to
   the full rank (leading 1s, NumPy's broadcast rule) then transposed by ``p``'s inverse,
   so that ``T_p(c') = c`` broadcast-wise.
3. Ops along axes: ``softmax``, ``batch_norm``, ``concatenate`` (all operands
   transposed alike), ``pad`` and the ``keepdims`` reductions compute on ``T_p(u)``
   along axis ``a`` what they compute on ``u`` along axis ``p[a]``:
   ``g_a(T_p(u)) = T_p(g_{p[a]}(u))`` (pads move with their axes).
4. ``reshape``/``flatten`` (which keep axis 0) of ``T_p(u)`` equal those of ``u`` when
   ``p[0] = 0`` and ``p`` moves only axes of static size 1: the row-major order of the
   elements is the same.
5. For the same reason, under the same condition ``T_p(u) = reshape(u, shape(T_p(u)))``:
   such a transpose is materialized as a ``reshape`` (e.g. the ``(N, 1, 1, C) ->
   (N, C, 1, 1)`` of a global pooling with ``keepdims``), which the Keras emitter writes
   as a ``Reshape`` layer, not a transpose.

A transpose that reaches any other op is materialized once (one node per source value
and permutation) just before its first consumer.  Graph outputs keep their names and
types.  Preconditions: ``graph`` is valid.  Guarantees: a valid graph computing the
same outputs, with no more transposes than before; the same object when nothing changes.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from graphir.ir import Graph, Node, Value
from graphir.names import Namespace
from graphir.tensor_types import TensorType

__all__ = ["AXIS_OPS", "NARY_OPS", "UNARY_OPS", "cancel_transposes"]

#: one-input elementwise ops (identity 2, no operand to realign)
UNARY_OPS = frozenset({
    "relu", "leaky_relu", "elu", "clip", "cast", "identity", "dropout", "negative",
    "reciprocal", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "erf",
    "sin", "cos", "floor", "ceil", "round", "logical_not"})
#: n-ary elementwise ops with NumPy broadcasting (identity 2)
NARY_OPS = frozenset({
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "average", "power",
    "floor_divide", "mod", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "where"})
#: ops along one axis attribute (identity 3)
AXIS_OPS = {"softmax": "axis", "batch_norm": "axis", "concatenate": "axis"}
_REDUCTIONS = frozenset({"mean", "sum", "max", "min", "prod"})
#: activation functions that act along the last axis (not elementwise)
_AXIS_ACTIVATIONS = frozenset({"softmax", "log_softmax"})


def _inverse(p: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(p)
    for i, a in enumerate(p):
        inv[a] = i
    return tuple(inv)


def _permuted(t: TensorType, p: tuple[int, ...]) -> TensorType:
    """The type of ``T_p`` of a value of type ``t``."""
    return TensorType(t.dtype, tuple(t.shape[a] for a in p))


def _moves_only_ones(shape, p: tuple[int, ...]) -> bool:
    """Identity 4's condition on ``T_p(u)`` with ``u`` of ``shape``."""
    if p[0] != 0 or any(not isinstance(d, int) for i, d in enumerate(shape) if i):
        return False
    return [a for a in p if shape[a] != 1] == [a for a in range(len(p)) if shape[a] != 1]


class _Sinker:
    """One run of the pass (see the module docstring)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.types = graph.value_types()
        names = set(self.types) | {n.name for n in graph.nodes}
        self.values = Namespace(names)
        self.node_names = Namespace(names)
        self.pending: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.alias: dict[str, str] = {}
        self.made: dict[tuple[str, tuple[int, ...]], str] = {}
        self.nodes: list[Node] = []
        self.weights: dict[str, np.ndarray] = dict(graph.weights)
        self.new_types: dict[str, TensorType] = dict(self.types)

    # ------------------------------------------------------------------ helpers

    def name(self, v: str) -> str:
        return self.alias.get(v, v)

    def materialize(self, v: str, out: str | None = None) -> str:
        if v not in self.pending:
            return self.name(v)
        u, p = self.pending[v]
        key = (u, p)
        if key in self.made and out is None:
            return self.made[key]
        name = out or (v if v not in self.made.values() else self.values.unique(v))
        self.values.reserve(name)
        t = _permuted(self.new_types[u], p)
        if _moves_only_ones(self.new_types[u].shape, p):  # identity 5
            self.nodes.append(Node("reshape", self.node_names.unique(f"{v}/reshape"), (u,),
                                   (Value(name, t),), {"target_shape": tuple(t.shape[1:])}))
        else:
            self.nodes.append(Node("transpose", self.node_names.unique(f"{v}/transpose"),
                                   (u,), (Value(name, t),), {"perm": p}))
        self.new_types[name] = t
        self.made.setdefault(key, name)
        return name

    def realigned_weight(self, w: str, rank: int, p: tuple[int, ...]) -> str | None:
        arr = self.weights[w]
        if arr.ndim > rank:
            return None
        if arr.ndim == 0 or all(d == 1 for d in arr.shape):
            return w
        full = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
        moved = np.ascontiguousarray(full.transpose(_inverse(p)))
        name = self.values.unique(f"{w}/transposed")
        self.weights[name] = moved
        self.new_types[name] = TensorType(self.types[w].dtype, moved.shape)
        return name

    # ------------------------------------------------------------------ node rules

    def sink(self, node: Node) -> bool:
        """Apply identities 1-4 to ``node`` when they hold; False to copy it as it is."""
        op, out = node.op, node.output
        ins = [i for i in node.inputs]
        moving = [i for i in ins if i and i in self.pending]
        if op == "transpose" and ins[0] in self.pending:  # identity 1
            u, p = self.pending[ins[0]]
            r = tuple(p[q] for q in node.attrs["perm"])
            if r == tuple(range(len(r))):
                self.alias[out.name] = u
            else:
                self.pending[out.name] = (u, r)
            return True
        if op == "transpose":
            self.pending[out.name] = (self.name(ins[0]), tuple(node.attrs["perm"]))
            return True
        if not moving:
            return False
        perms = {self.pending[i][1] for i in moving}
        if len(perms) != 1:
            return False
        (p,) = perms
        rank = len(p)
        if op in ("reshape", "flatten") and len(ins) == 1:  # identity 4
            u = self.pending[ins[0]][0]
            if _moves_only_ones(self.new_types[u].shape, p):
                self.emit(node, [u], node.attrs, out.name, out.type)
                return True
            return False
        attrs_: dict[str, Any] = dict(node.attrs)
        if op in UNARY_OPS or op in NARY_OPS or (
                op == "activation" and attrs_["function"] not in _AXIS_ACTIVATIONS):
            pass
        elif op in AXIS_OPS:
            key = AXIS_OPS[op]
            attrs_[key] = p[attrs_[key] % rank]
        elif op in _REDUCTIONS and attrs_["keepdims"]:
            attrs_["axes"] = tuple(sorted(p[a] for a in attrs_["axes"]))
        elif op == "pad":
            pads = [None] * rank
            for i, pair in enumerate(attrs_["pads"]):
                pads[p[i]] = pair
            attrs_["pads"] = tuple(pads)
        else:
            return False
        new_ins = []
        for i in ins:
            if not i:
                new_ins.append(i)
            elif i in self.pending:
                u, _ = self.pending[i]
                if self.new_types[u].rank != rank:
                    return False
                new_ins.append(u)
            elif i in self.weights and op != "batch_norm":
                w = self.realigned_weight(i, rank, p)
                if w is None:
                    return False
                new_ins.append(w)
            elif i in self.weights:
                new_ins.append(i)
            else:
                return False  # a run-time operand in the other layout
        inner = _permuted(out.type, _inverse(p))
        name = self.values.unique(f"{out.name}/unpermuted")
        self.emit(node, new_ins, attrs_, name, inner)
        self.pending[out.name] = (name, p)
        return True

    def emit(self, node: Node, inputs, attrs_, out: str, t: TensorType) -> None:
        self.nodes.append(attrs.evolve(node, inputs=tuple(inputs), outputs=(Value(out, t),),
                                       attrs=attrs_))
        self.new_types[out] = t

    def run(self) -> Graph:
        for node in self.graph.nodes:
            if len(node.outputs) == 1 and self.sink(node):
                continue
            ins = tuple(self.materialize(i) if i else i for i in node.inputs)
            self.nodes.append(attrs.evolve(node, inputs=ins))
        outputs = []
        for o in self.graph.outputs:
            if o in self.pending:
                if self.made.get(self.pending[o]) != o:
                    self.materialize(o, out=o)
            elif self.name(o) != o:
                self.nodes.append(Node("identity", self.node_names.unique(o),
                                       (self.name(o),), (Value(o, self.types[o]),)))
            outputs.append(o)
        read = {i for n in self.nodes for i in n.inputs if i}
        weights = {k: v for k, v in self.weights.items() if k in read}
        return Graph(self.graph.name, self.graph.inputs, tuple(outputs), tuple(self.nodes),
                     weights, self.graph.output_keys)


def _count(graph: Graph) -> int:
    return sum(1 for n in graph.nodes if n.op == "transpose")


def cancel_transposes(graph: Graph) -> Graph:
    """Sink transposes through layout-neutral ops and cancel inverse pairs (see the
    module docstring for the soundness rule).

    Args:
        graph: a valid graph.

    Returns:
        A valid graph with the same inputs, outputs (names and types) and results, and no
        more ``transpose`` nodes; ``graph`` itself when that would change nothing (no
        fewer transposes).
    """
    if not any(n.op == "transpose" for n in graph.nodes):
        return graph
    out = _Sinker(graph).run()
    if _count(out) >= _count(graph) and len(out.nodes) >= len(graph.nodes):
        return graph
    return out
