"""Keras emission of ``dynamic_reshape`` (``specs/ops-indexing.md``): rewritten, before
the layers are built, into primitive ops that Keras has.

A Keras functional model can reshape only to sizes fixed in its config: ``keras.ops.
reshape`` and ``keras.layers.Reshape`` store the new shape, and may leave one entry to
infer (``-1``).  Sizes known only at run time must therefore come from tensors, as
graphir's tracing reads them (:mod:`graphir.backends.keras.dynamic_dims`):

* a ``dynamic_reshape`` whose output type has at most one size that is not a static
  int is an ``array_reshape`` with ``-1`` there (``keras.ops.reshape``); one whose first
  size is x's own axis 0 (``in0[0]``) and that has at most one other such size is a
  ``reshape`` (``keras.layers.Reshape``, which keeps the batch axis);
* otherwise the output is gathered from the flattened input: for each output axis of
  run-time size ``L``, a *ruler* of ``L`` int32 zeros is cut from the inputs it is read
  from (``slice`` to one element on every other axis, flattened, ``full_like`` 0;
  products of sizes are the flattened sum of rulers broadcast against each other, a
  coefficient ``k`` a ``tile`` by ``k``, a divisor ``q`` the slice ``[q-1::q]``, whose
  length is ``floor(L / q)``), its positions ``0..L-1`` are ``cumsum(ones) - 1`` and its
  size ``sum(ones)``; static axes use constant positions.  The C-order linear index
  ``((i0 * L1 + i1) * L2 + i2) ...`` broadcast over the axes is the index of a
  ``gather`` from ``array_reshape(x, (-1,))``: the reshape, element for element, with
  the output's static sizes static in Keras (so later layers build).  Indices are int32
  (TensorFlow's shape dtype): a tensor of 2**31 or more elements is out of reach.

A ``-1`` beside another size known only at run time is first resolved by symbolic
shape inference (:func:`~graphir.type_inference.named_types`: ``(b, s, -1)`` of an
attention output whose sequence axis the type rules trace back to ``s`` is ``(b, s,
8)``; a ``-1`` named like an input's axis is that axis' run-time size); one that stays a
quotient of run-time sizes has no such form and is refused (the ONNX emitter computes
it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphir.errors import UnsupportedOpError
from graphir.ir import Graph, Node, Value
from graphir.names import Namespace
from graphir.ops import infer_types
from graphir.ops.indexing import SLICE_END
from graphir.size_exprs import SizeExpr, parse_size
from graphir.tensor_types import TensorType, weight_type
from graphir.type_inference import named_types

__all__ = ["expand_dynamic_reshapes"]


def expand_dynamic_reshapes(graph: Graph) -> Graph:
    """``graph`` with every ``dynamic_reshape`` node written as ops Keras can emit (see
    the module docstring); the same object when there is none.  The replacement's last
    node keeps the reshape's name and output value.

    Raises:
        UnsupportedOpError: a ``-1`` entry beside another size known only at run time
            (naming the node).
    """
    if not any(n.op == "dynamic_reshape" for n in graph.nodes):
        return graph
    writer = _Writer(graph)
    for node in graph.nodes:
        if node.op != "dynamic_reshape":
            writer.nodes.append(node)
            continue
        writer.expand(node)
    return Graph(graph.name, graph.inputs, graph.outputs, writer.nodes, writer.weights,
                 graph.output_keys)


class _Writer:
    """The rewritten node list and weights, with fresh names and types for new values."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.types = graph.value_types()
        self.weights: dict[str, np.ndarray] = dict(graph.weights)
        self.nodes: list[Node] = []
        self.names = Namespace()
        for name in [*self.types, *(n.name for n in graph.nodes)]:
            self.names.unique(name)
        self.scope = ""
        self.named: dict[str, TensorType] | None = None

    def op(self, op: str, inputs: list[str], attrs: dict[str, Any], suffix: str,
           name: str | None = None, out: TensorType | None = None) -> str:
        """Append ``op(inputs)``; returns its value name (``name`` and type ``out`` when
        given: the node replacing the reshape)."""
        name = name or self.names.unique(f"{self.scope}/{suffix}")
        if out is None:
            out = infer_types(op, [self.types[i] for i in inputs], attrs)[0]
        self.nodes.append(Node(op, name, tuple(inputs), (Value(name, out),), attrs))
        self.types[name] = out
        return name

    def const(self, array: np.ndarray, suffix: str) -> str:
        name = self.names.unique(f"{self.scope}/{suffix}")
        self.weights[name] = array
        self.types[name] = weight_type(array)
        return name

    def expand(self, node: Node) -> None:
        self.scope = node.name
        out = node.output.type
        exprs = [parse_size(s) for s in node.attrs["shape"]]
        if None in exprs and not isinstance(out.shape[exprs.index(None)], int):
            out, exprs = self.resolved(node, exprs)
        dynamic = [k for k, d in enumerate(out.shape) if not isinstance(d, int)]
        x = node.inputs[0]
        if len(dynamic) <= 1:
            shape = tuple(-1 if not isinstance(d, int) else d for d in out.shape)
            self.op("array_reshape", [x], {"shape": shape}, "", name=node.name, out=out)
            return
        rest = [k for k in dynamic if k > 0]
        if exprs and exprs[0] == SizeExpr(1, ((0, 0),)) and len(rest) <= 1:
            # x's own batch axis kept: keras.layers.Reshape, one -1 among the others
            target = tuple(-1 if not isinstance(d, int) else d for d in out.shape[1:])
            self.op("reshape", [x], {"target_shape": target}, "", name=node.name, out=out)
            return
        if any(exprs[k] is None for k in dynamic):
            raise UnsupportedOpError(
                f"op 'dynamic_reshape' cannot be emitted as Keras layers: the -1 in "
                f"{node.attrs['shape']} sits beside other sizes known only at run time, and "
                f"a Keras model reshapes only to sizes fixed in its config or cut from "
                f"tensors (the ONNX emitter computes it)", where=f"node {node.name!r}")
        rank = out.rank
        index = None
        for k, d in enumerate(out.shape):
            if isinstance(d, int):
                axis_shape = tuple(d if j == k else 1 for j in range(rank))
                positions = self.const(np.arange(d, dtype=np.int32).reshape(axis_shape),
                                       f"positions{k}")
                size = self.const(np.asarray(d, np.int32), f"size{k}")
            else:
                ruler = self.ruler(node, exprs[k], k)
                ones = self.op("full_like", [ruler], {"value": 1.0, "dtype": "int32"},
                               f"ones{k}")
                counts = self.op("cumsum", [ones], {"axis": 0}, f"counts{k}")
                positions = self.op("subtract", [counts, self.const(np.asarray(1, np.int32),
                                                                    f"one{k}")], {},
                                    f"positions{k}")
                others = tuple(j for j in range(rank) if j != k)
                if others:
                    positions = self.op("expand_dims", [positions], {"axes": others},
                                        f"positions{k}")
                size = self.op("sum", [ones], {"axes": (0,), "keepdims": False}, f"size{k}")
            if index is None:
                index = positions
            else:
                scaled = self.op("multiply", [index, size], {}, f"index{k}")
                index = self.op("add", [scaled, positions], {}, f"index{k}")
        flat = self.op("array_reshape", [x], {"shape": (-1,)}, "flat")
        self.op("gather", [flat, index], {"axis": 0}, "", name=node.name, out=out)

    def resolved(self, node: Node, exprs: list[SizeExpr | None]
                 ) -> tuple[TensorType, list[SizeExpr | None]]:
        """The output type and size expressions of ``node`` with its ``-1`` entry
        resolved where :func:`~graphir.type_inference.named_types` proves what it is: an
        int (``(b, s, -1)`` of an attention output ``(b, s', 2, 4)`` whose ``s'`` the
        rules trace back to the ``s`` read from another input gives ``8``: the type's
        size there), or the run-time size of an input's axis (XLNet's relative shift
        reshapes ``x`` sliced to ``k - 1`` rows by ``(q, -1, b, h)``: the ``-1`` is x's
        own axis 0, named alike, which becomes the expression ``in0[0]``).  Otherwise
        both unchanged."""
        if self.named is None:
            self.named = named_types(self.graph)
        out, k = node.output.type, exprs.index(None)
        d = self.named[node.output.name].shape[k]
        if isinstance(d, int):
            return TensorType(out.dtype, out.shape[:k] + (d,) + out.shape[k + 1:]), exprs
        for i, name in enumerate(node.inputs):
            for axis, dim in enumerate(self.named[name].shape):
                if isinstance(d, str) and dim == d:
                    return out, [*exprs[:k], SizeExpr(1, ((i, axis),)), *exprs[k + 1:]]
        return out, exprs

    def ruler(self, node: Node, expr: SizeExpr, k: int) -> str:
        """A 1-D int32 tensor of zeros whose length is ``expr`` at run time."""
        parts = []
        for i, axis in expr.factors:
            src = node.inputs[i]
            rank = self.types[src].rank
            r = src
            if rank > 1:
                ends = tuple(SLICE_END if j == axis else 1 for j in range(rank))
                r = self.op("slice", [r], {"starts": (0,) * rank, "ends": ends,
                                           "steps": (1,) * rank}, f"ruler{k}")
                r = self.op("array_reshape", [r], {"shape": (-1,)}, f"ruler{k}")
            parts.append(self.op("full_like", [r], {"value": 0.0, "dtype": "int32"},
                                 f"ruler{k}"))
        ruler = parts[0]
        for p in parts[1:]:  # a product of sizes: (n, 1) + (1, m), flattened
            left = self.op("expand_dims", [ruler], {"axes": (1,)}, f"ruler{k}")
            right = self.op("expand_dims", [p], {"axes": (0,)}, f"ruler{k}")
            grid = self.op("add", [left, right], {}, f"ruler{k}")
            ruler = self.op("array_reshape", [grid], {"shape": (-1,)}, f"ruler{k}")
        if expr.coef != 1:
            ruler = self.op("tile", [ruler], {"repeats": (expr.coef,)}, f"ruler{k}")
        if expr.divisor != 1:
            ruler = self.op("slice", [ruler], {"starts": (expr.divisor - 1,),
                                               "ends": (SLICE_END,),
                                               "steps": (expr.divisor,)}, f"ruler{k}")
        return ruler
