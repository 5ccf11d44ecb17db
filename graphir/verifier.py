"""``verify_graph``: the checker of every IR invariant.

It checks, in this order, and raises one :class:`~graphir.errors.GraphInvariantError`
at the first violation, naming the node and showing the IR around it:

1. ``names``: the graph, every value and every node have a non-empty name without
   line breaks; value names (inputs, weights, node outputs) are unique; node
   names are unique.
2. ``known-op``: every node's op is in the op set.
3. ``arity``: input count matches the op schema; output count matches it.
4. ``attributes``: attributes match the op's attribute schema (names, kinds,
   lengths, choices).
5. ``defined-before-use``: every node input names a graph input, a weight or the
   output of an *earlier* node (this also makes the graph acyclic).
6. ``weight-inputs``: inputs the schema marks as weights (kernels, statistics)
   name weights.
7. ``types``: each node's declared output types are compatible with the types its
   op's type rule infers from the declared input types (equal dtype and rank;
   equal static dims; symbolic/unknown dims match anything).
8. ``outputs``: there is at least one graph output; each names a defined value;
   no value is returned twice.
9. ``unused-weights``: every weight is read by some node.

Style after ``jax.core.check_jaxpr``: the docstring lists the invariants, the error
prints the IR around the offending node.
"""

from __future__ import annotations

from graphir import ops as _ops
from graphir.errors import GraphInvariantError
from graphir.ir import Graph, weight_type
from graphir.printer import excerpt

__all__ = ["verify_graph"]


def _bad_name(name: object) -> bool:
    return not isinstance(name, str) or not name or "\n" in name or "\r" in name


def verify_graph(graph: Graph, *, types: bool = True) -> Graph:
    """Check every invariant listed in the module docstring.

    Args:
        graph: the graph to check.
        types: check invariant 7 (``types``).  ``graphir.passes.check`` turns it off to
            collect *all* shape problems as diagnostics instead of stopping at the first.

    Returns:
        ``graph`` itself, so calls can be chained.

    Raises:
        GraphInvariantError: the first violated invariant, with ``node`` (the node's
            name, or None for graph-level problems), ``invariant`` (its id above) and
            ``excerpt`` (up to five lines of IR around the node).
    """
    def fail(msg: str, invariant: str, idx: int | None = None) -> None:
        node = graph.nodes[idx].name if idx is not None else None
        raise GraphInvariantError(msg, node=node, invariant=invariant,
                                  excerpt=excerpt(graph, idx),
                                  where=f"graph {graph.name!r}" + (f", node {node!r}" if node else ""))

    if _bad_name(graph.name):
        fail(f"graph name {graph.name!r} is empty or has a line break", "names")
    check_types = types
    types = {}
    for v in graph.inputs:
        if _bad_name(v.name):
            fail(f"graph input name {v.name!r} is empty or has a line break", "names")
        if v.name in types:
            fail(f"graph input {v.name!r} is defined twice", "names")
        types[v.name] = v.type
    for wname, arr in graph.weights.items():
        if _bad_name(wname):
            fail(f"weight name {wname!r} is empty or has a line break", "names")
        if wname in types:
            fail(f"weight {wname!r} has the name of a graph input", "names")
        types[wname] = weight_type(arr)

    node_names: set[str] = set()
    used: set[str] = set()
    for idx, node in enumerate(graph.nodes):
        if _bad_name(node.name):
            fail(f"node name {node.name!r} is empty or has a line break", "names", idx)
        if node.name in node_names:
            fail(f"node name {node.name!r} is used by two nodes", "names", idx)
        node_names.add(node.name)
        schema = _ops.get_schema(node.op)
        if schema is None:
            fail(f"op {node.op!r} is not in the op set", "known-op", idx)
        problem = schema.check_arity(len(node.inputs))
        if problem:
            fail(f"{node.op} {problem}", "arity", idx)
        if len(node.outputs) != schema.num_outputs:
            fail(f"{node.op} defines {schema.num_outputs} output(s), node has "
                 f"{len(node.outputs)}", "arity", idx)
        problem = schema.check_attrs(node.attrs)
        if problem:
            fail(f"{node.op}: {problem}", "attributes", idx)
        in_types = []
        for i, name in enumerate(node.inputs):
            if not name:
                role = schema.inputs[min(i, len(schema.inputs) - 1)]
                if schema.variadic or not role.endswith("?"):
                    fail(f"input {i} ({role.rstrip('?')}) is required but omitted", "arity", idx)
                in_types.append(None)
                continue
            if name not in types:
                fail(f"input {i} reads {name!r}, which is not defined before this node",
                     "defined-before-use", idx)
            if i in schema.weight_inputs and name not in graph.weights:
                fail(f"input {i} ({schema.inputs[i].rstrip('?')}) must be a weight, but "
                     f"{name!r} is computed", "weight-inputs", idx)
            used.add(name)
            in_types.append(types[name])
        inferred = node.outputs and [v.type for v in node.outputs]
        if check_types:
            try:
                inferred = schema.infer(in_types, node.attrs)
            except _ops.TypeRuleError as e:
                fail(f"{node.op}: {e}", "types", idx)
        for i, (v, t) in enumerate(zip(node.outputs, inferred)):
            if _bad_name(v.name):
                fail(f"output name {v.name!r} is empty or has a line break", "names", idx)
            if v.name in types:
                fail(f"output {v.name!r} is already defined", "names", idx)
            if not v.type.compatible_with(t):
                fail(f"output {i} {v.name!r} is declared {v.type} but {node.op} gives {t}",
                     "types", idx)
            types[v.name] = v.type

    if not graph.outputs:
        fail("the graph has no outputs", "outputs")
    seen: set[str] = set()
    for o in graph.outputs:
        if o not in types:
            fail(f"graph output {o!r} is not defined", "outputs")
        if o in seen:
            fail(f"graph output {o!r} is returned twice", "outputs")
        seen.add(o)
    unused = [w for w in graph.weights if w not in used]
    if unused:
        more = f" (and {len(unused) - 3} more)" if len(unused) > 3 else ""
        fail(f"weights not read by any node: {', '.join(map(repr, unused[:3]))}{more}",
             "unused-weights")
    return graph
