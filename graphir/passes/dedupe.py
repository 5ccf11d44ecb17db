"""The ``dedupe`` pass: store byte-identical weights once; compute common subexpressions once.

* Weights: two weights with the same dtype, shape and bytes are one weight; the first in
  the graph's weight order is kept and every node reading another reads it instead.
* Common subexpressions: two nodes with the same op, the same attributes and the same
  inputs (after weight deduplication) compute the same values (every op of the op set is
  deterministic at inference); the later one is dropped and its readers read the earlier
  one's outputs.  A node whose output is a graph output is kept (its name is part of the
  model's interface); so is a weight that is itself a graph output.

Preconditions: ``graph`` is valid.  Guarantees: a valid graph computing the same outputs;
the *same object* when nothing is merged; a second run merges nothing.
"""

from __future__ import annotations

import hashlib

import attrs

from graphir.ir import Graph, Node

__all__ = ["dedupe", "dedupe_with_report", "DedupeReport"]


@attrs.frozen
class DedupeReport:
    """What :func:`dedupe` merged.

    Attributes:
        weights: ``(kept, removed)`` weight-name pairs.
        nodes: ``(kept, removed)`` node-name pairs.
        bytes_saved: weight bytes no longer stored.
    """

    weights: tuple[tuple[str, str], ...] = ()
    nodes: tuple[tuple[str, str], ...] = ()
    bytes_saved: int = 0

    def to_json(self) -> dict:
        return {"weights": [list(p) for p in self.weights], "nodes": [list(p) for p in self.nodes],
                "bytes_saved": self.bytes_saved}


def dedupe_with_report(graph: Graph, *, weights: bool = True,
                       expressions: bool = True) -> tuple[Graph, DedupeReport]:
    """:func:`dedupe` that also returns a :class:`DedupeReport` of what it merged."""
    replace: dict[str, str] = {}
    merged_w: list[tuple[str, str]] = []
    saved = 0
    outputs = set(graph.outputs)
    if weights:
        seen: dict[tuple, list[str]] = {}
        for name, arr in graph.weights.items():
            data = arr.tobytes()
            key = (arr.dtype.str, arr.shape, hashlib.sha256(data).digest())
            # a weight returned as a graph output keeps its name (part of the interface)
            for kept in seen.get(key, []) if name not in outputs else []:
                if graph.weights[kept].tobytes() == data:  # guard against hash collisions
                    replace[name] = kept
                    merged_w.append((kept, name))
                    saved += arr.nbytes
                    break
            else:
                seen.setdefault(key, []).append(name)
    exprs: dict[tuple, object] = {}
    nodes = []
    merged_n: list[tuple[str, str]] = []
    get = replace.get
    for node in graph.nodes:
        inputs = tuple(map(get, node.inputs, node.inputs)) if replace else node.inputs
        if inputs != node.inputs:
            node = Node(node.op, node.name, inputs, node.outputs, node.attrs)
        if expressions:
            # output types as (dtype name, shape): equal exactly when the TensorTypes are
            key = (node.op, node.attrs, inputs,
                   tuple([(v.type.dtype.value, v.type.shape) for v in node.outputs]))
            earlier = exprs.get(key)
            if earlier is not None and not any(v.name in outputs for v in node.outputs):
                for mine, theirs in zip(node.outputs, earlier.outputs):
                    replace[mine.name] = theirs.name
                merged_n.append((earlier.name, node.name))
                continue
            exprs.setdefault(key, node)
        nodes.append(node)
    if not replace:
        return graph, DedupeReport()
    kept_weights = {k: w for k, w in graph.weights.items() if k not in replace}
    result = Graph(graph.name, graph.inputs, graph.outputs, nodes, kept_weights,
                   graph.output_keys)
    return result, DedupeReport(tuple(merged_w), tuple(merged_n), saved)


def dedupe(graph: Graph, *, weights: bool = True, expressions: bool = True) -> Graph:
    """Merge identical weights and common subexpressions (see the module docstring).

    Args:
        graph: a valid graph.
        weights: merge byte-identical weights (same dtype and shape).
        expressions: merge nodes with the same op, attributes and inputs.

    Returns:
        the deduplicated graph (the same object when nothing is merged).

    Example::

        >>> small, report = dedupe_with_report(merge([m, m], mode="average", shared_input=True))
        >>> report.bytes_saved   # the second copy of every weight
    """
    return dedupe_with_report(graph, weights=weights, expressions=expressions)[0]
