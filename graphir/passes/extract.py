"""The ``extract`` pass: the subgraph between given input and output values.

A name denotes a value; a layer's name denotes that layer's output (lowering names a
layer's output after the layer).  The result keeps exactly the nodes on a path from the
new inputs (or the original graph inputs) to the requested outputs, and exactly the
weights those nodes read.

Preconditions: ``graph`` is valid.  Guarantees: a valid graph whose outputs equal the
original's values of the same names for the same inputs; the *same object* when the
extraction keeps everything as it is.
"""

from __future__ import annotations

import difflib
from typing import Sequence

from graphir.errors import BadInputError
from graphir.ir import Graph, Value

__all__ = ["extract"]


def _unknown(graph: Graph, name: str, known: set[str], role: str) -> BadInputError:
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return BadInputError(f"{role} {name!r} is not a value or layer of graph {graph.name!r}{hint}")


def extract(graph: Graph, *, outputs: Sequence[str], inputs: Sequence[str] | None = None) -> Graph:
    """Cut the subgraph that computes ``outputs`` from ``inputs``.

    Args:
        graph: a valid graph.
        outputs: value (or layer) names that become the graph outputs, in this order.
        inputs: value names where the graph is cut: they become graph inputs with their
            declared types, in this order, followed by the original graph inputs the
            outputs still need.  None: only the original inputs.

    Returns:
        the subgraph (the same object when it equals ``graph``).

    Example::

        >>> features = extract(graph, outputs=["global_average_pooling2d"])
        >>> block = extract(graph, inputs=["conv2_block1_out"], outputs=["conv3_block1_out"])

    Raises:
        BadInputError: an unknown name (with suggestions); an output repeated or equal
            to an input; an input or output that is a weight; no outputs.
    """
    outputs = list(outputs)
    inputs = list(inputs or [])
    if not outputs:
        raise BadInputError("extract needs at least one output")
    types = graph.value_types()
    known = set(types)
    for o in outputs:
        if o not in known:
            raise _unknown(graph, o, known, "output")
        if o in graph.weights:  # no node would read it: the result would be invalid
            raise BadInputError(f"output {o!r} is a weight, not a computed value")
    for i in inputs:
        if i not in known:
            raise _unknown(graph, i, known, "input")
        if i in graph.weights:
            raise BadInputError(f"input {i!r} is a weight, not a computed value")
    for name in set(outputs) & set(inputs):
        raise BadInputError(f"{name!r} is both an input and an output")
    if len(set(outputs)) != len(outputs) or len(set(inputs)) != len(inputs):
        raise BadInputError("extract: a name is listed twice")

    producer = {v.name: n for n in graph.nodes for v in n.outputs}
    cut = set(inputs)
    needed: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in cut:
            continue
        node = producer.get(name)
        if node is not None:
            stack.extend([i for i in node.inputs if i])
    nodes = []
    for n in graph.nodes:
        outs = n.outputs
        if len(outs) == 1:  # the common case of the test below
            if outs[0].name in needed and outs[0].name not in cut:
                nodes.append(n)
        elif any(v.name in needed for v in outs) and not all(v.name in cut for v in outs):
            nodes.append(n)
    new_inputs = [Value(i, types[i]) for i in inputs]
    new_inputs += [v for v in graph.inputs if v.name in needed and v.name not in cut]
    weights = {k: w for k, w in graph.weights.items() if k in needed}
    if (len(nodes) == len(graph.nodes) and tuple(new_inputs) == graph.inputs
            and tuple(outputs) == graph.outputs):
        return graph
    return Graph(graph.name, new_inputs, outputs, nodes, weights)
