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

import weakref

from graphir import ops as _ops
from graphir.errors import GraphInvariantError
from graphir.ir import Graph, weight_type
from graphir.printer import excerpt

__all__ = ["verify_graph"]


#: graphs that passed ``verify_graph(graph)`` (types included).  A Graph is immutable
#: (frozen, tuples, read-only weights) and compares by identity, so verifying the same
#: object again would give the same answer: it is answered from here.  Weak references:
#: remembering a graph never keeps it alive.
_VERIFIED: "weakref.WeakSet[Graph]" = weakref.WeakSet()


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

    Cost: linear in the graph's size, and nothing for a graph object that already passed
    (with ``types=True``; graphs are immutable).  Within one call, results that depend only on an
    op and its attributes (arity, attribute schema) or on an op, its attributes and its
    input types (the type rule, which is a pure function) are computed once per distinct
    key; repeated layers are checked by a dictionary lookup.
    """
    if graph in _VERIFIED:
        return graph

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
    weights = graph.weights
    weight_types: dict[tuple, object] = {}
    for wname, arr in weights.items():
        if _bad_name(wname):
            fail(f"weight name {wname!r} is empty or has a line break", "names")
        if wname in types:
            fail(f"weight {wname!r} has the name of a graph input", "names")
        key = (arr.dtype, arr.shape)
        wt = weight_types.get(key)
        if wt is None:
            wt = weight_types[key] = weight_type(arr)
        types[wname] = wt

    node_names: set[str] = set()
    used: set[str] = set()
    # per-call memos: (op, #inputs) -> arity problem; (op, attrs) -> attribute problem;
    # (op, attrs, input types) -> inferred output types
    arity_memo: dict[tuple, str | None] = {}
    attrs_memo: dict[tuple, str | None] = {}
    infer_memo: dict[tuple, object] = {}
    for idx, node in enumerate(graph.nodes):
        name = node.name
        if _bad_name(name):
            fail(f"node name {name!r} is empty or has a line break", "names", idx)
        if name in node_names:
            fail(f"node name {name!r} is used by two nodes", "names", idx)
        node_names.add(name)
        op = node.op
        schema = _ops.get_schema(op)
        if schema is None:
            fail(f"op {op!r} is not in the op set", "known-op", idx)
        inputs = node.inputs
        key = (op, len(inputs))
        if key in arity_memo:
            problem = arity_memo[key]
        else:
            problem = arity_memo[key] = schema.check_arity(len(inputs))
        if problem:
            fail(f"{op} {problem}", "arity", idx)
        outputs = node.outputs
        if len(outputs) != schema.num_outputs:
            fail(f"{op} defines {schema.num_outputs} output(s), node has "
                 f"{len(outputs)}", "arity", idx)
        key = (op, node.attrs)
        if key in attrs_memo:
            problem = attrs_memo[key]
        else:
            problem = attrs_memo[key] = schema.check_attrs(node.attrs)
        if problem:
            fail(f"{op}: {problem}", "attributes", idx)
        in_types = []
        for i, name in enumerate(inputs):
            if not name:
                role = schema.inputs[min(i, len(schema.inputs) - 1)]
                if schema.variadic or not role.endswith("?"):
                    fail(f"input {i} ({role.rstrip('?')}) is required but omitted", "arity", idx)
                in_types.append(None)
                continue
            t = types.get(name)
            if t is None:
                fail(f"input {i} reads {name!r}, which is not defined before this node",
                     "defined-before-use", idx)
            if i in schema.weight_inputs and name not in weights:
                fail(f"input {i} ({schema.inputs[i].rstrip('?')}) must be a weight, but "
                     f"{name!r} is computed", "weight-inputs", idx)
            used.add(name)
            in_types.append(t)
        inferred = outputs and [v.type for v in outputs]
        if check_types:
            key = (op, node.attrs, tuple(in_types))
            inferred = infer_memo.get(key)
            if inferred is None:
                try:
                    inferred = schema.infer(in_types, node.attrs)
                except _ops.TypeRuleError as e:
                    fail(f"{op}: {e}", "types", idx)
                infer_memo[key] = inferred
        for i, (v, t) in enumerate(zip(outputs, inferred)):
            vname = v.name
            if _bad_name(vname):
                fail(f"output name {vname!r} is empty or has a line break", "names", idx)
            if vname in types:
                fail(f"output {vname!r} is already defined", "names", idx)
            vt = v.type
            if vt is not t and vt != t and not vt.compatible_with(t):
                fail(f"output {i} {vname!r} is declared {vt} but {op} gives {t}",
                     "types", idx)
            types[vname] = vt

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
    if check_types:
        _VERIFIED.add(graph)
    return graph
