"""The steps every merge mode shares: check the request, scope the graphs, share their
inputs, assemble one graph, and finish it (prune, restore names, verify and shape-check).

Each step takes and returns plain values (graphs, name maps, diagnostics); the modes in
:mod:`graphir.passes.merge._modes` add only what differs between them.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import attrs

from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.errors import BadInputError
from graphir.ir import Graph, Node, Value
from graphir.names import Namespace
from graphir.ops.type_rules import fmt_shape
from graphir.passes.check import batch_warnings, diagnostics_of
from graphir.passes.rename import rename
from graphir.verifier import verify_and_infer, verify_graph

__all__ = ["Scoped", "assemble", "boundary", "finish", "names_of", "restore_input_names", "scope",
           "share_inputs", "substitute"]


@attrs.frozen
class Scoped:
    """The graphs under their prefixes, with the maps from original to scoped names.

    Attributes:
        originals: the graphs as given.
        prefixes: one scope per graph.
        graphs: each graph renamed under its prefix (and later with inputs substituted).
        in_names: per graph, original input name -> scoped input name.
        out_names: per graph, original output name -> scoped output name.
    """

    originals: tuple[Graph, ...]
    prefixes: tuple[str, ...]
    graphs: tuple[Graph, ...]
    in_names: tuple[dict, ...]
    out_names: tuple[dict, ...]


def scope(graphs: Sequence[Graph], prefixes: Sequence[str] | None) -> Scoped:
    """Verify each graph and rename it under its prefix (default: its name made unique
    with :class:`Namespace`).

    Raises:
        BadInputError: an invalid graph (``GraphInvariantError``), a wrong number of
            prefixes, a repeated prefix, or a prefix nested in another.
    """
    for g in graphs:
        verify_graph(g)
    if prefixes is None:
        ns = Namespace()
        prefixes = [ns.unique(g.name) for g in graphs]
    prefixes = tuple(prefixes)
    if len(prefixes) != len(graphs) or len(set(prefixes)) != len(prefixes):
        raise BadInputError(f"need {len(graphs)} distinct prefixes, got {list(prefixes)}")
    nested = [(p, q) for p in prefixes for q in prefixes if q.startswith(p + "/")]
    if nested:  # "m" and "m/x" would both own "m/x/kernel": names could collide
        raise BadInputError(f"prefix {nested[0][1]!r} is nested in prefix {nested[0][0]!r}; "
                            "give prefixes that are not scopes of one another")
    scoped = tuple(rename(g, prefix=p) for g, p in zip(graphs, prefixes))
    in_names = tuple({o.name: s.name for o, s in zip(g.inputs, sg.inputs)}
                     for g, sg in zip(graphs, scoped))
    out_names = tuple(dict(zip(g.outputs, sg.outputs)) for g, sg in zip(graphs, scoped))
    return Scoped(tuple(graphs), prefixes, scoped, in_names, out_names)


def substitute(graph: Graph, old_to_new: Mapping[str, str], *, rename_inputs: bool = False
               ) -> Graph:
    """Replace reads of input values by other value names; drop those inputs, or (with
    ``rename_inputs``) keep them under their new names.  Nodes that read none of them
    are kept as they are."""
    keys = old_to_new.keys()
    nodes = [n if keys.isdisjoint(n.inputs) else
             Node(n.op, n.name, tuple(old_to_new.get(i, i) for i in n.inputs), n.outputs, n.attrs)
             for n in graph.nodes]
    outputs = [old_to_new.get(o, o) for o in graph.outputs]
    if rename_inputs:
        inputs = [Value(old_to_new[v.name], v.type) if v.name in old_to_new else v
                  for v in graph.inputs]
    else:
        inputs = [v for v in graph.inputs if v.name not in old_to_new]
    return Graph(graph.name, inputs, outputs, nodes, graph.weights, graph.output_keys)


def _axis_differs(expected: tuple, actual: tuple) -> int | None:
    for a, (e, g) in enumerate(zip(expected, actual)):
        if isinstance(e, int) and isinstance(g, int) and e != g:
            return a
    return None


def boundary(consumer: Graph, prefix: str, value: Value, producer_name: str,
             producer_type, producer_node: str | None) -> Diagnostic | None:
    """Diagnose feeding ``producer_type`` into ``consumer``'s input ``value``: None when
    compatible, else an error naming the consumer's readers, the producer, the differing
    rank, dtype or axis, and a fix."""
    expected, actual = value.type, producer_type
    if expected.compatible_with(actual):
        return None
    reader_nodes = [n for n in consumer.nodes if value.name in n.inputs]  # graph order
    readers = [n.name for n in reader_nodes]
    layer = ", ".join(readers) or "(no layer)"
    if expected.rank != actual.rank:
        what, axis = f"rank {actual.rank} instead of {expected.rank}", None
        hint = "insert a Reshape/Flatten between the models"
    elif expected.dtype != actual.dtype:
        what, axis = f"dtype {actual.dtype.value} instead of {expected.dtype.value}", None
        hint = "cast the producer's output or rebuild the consumer's Input with that dtype"
    else:
        axis = _axis_differs(expected.shape, actual.shape)
        what = f"{actual.shape[axis]} instead of {expected.shape[axis]} at axis {axis}"
        hint = (f"make {producer_name!r} produce {expected.shape[axis]} at axis {axis}, e.g. with "
                f"a Conv2D/Dense of {expected.shape[axis]} units between the models, or rebuild "
                f"{prefix!r} for input shape {fmt_shape(actual.shape[1:])}")
    return Diagnostic(
        "error", f"model {prefix!r} input {value.name!r} (read by layer {layer}) expects "
        f"{fmt_shape(expected.shape)} {expected.dtype.value} but gets {fmt_shape(actual.shape)} "
        f"{actual.dtype.value} from {producer_name!r}: {what}",
        node=readers[0] if readers else None, op=reader_nodes[0].op if reader_nodes else None,
        input_index=reader_nodes[0].inputs.index(value.name) if reader_nodes else None,
        producer=producer_name,
        producer_node=producer_node, expected=f"{fmt_shape(expected.shape)} {expected.dtype.value}",
        actual=f"{fmt_shape(actual.shape)} {actual.dtype.value}", axis=axis, hint=hint)


def share_inputs(s: Scoped) -> tuple[Scoped, list[Diagnostic]]:
    """Make graphs 1..N-1 read graph 0's (scoped) inputs, position by position.

    Returns:
        the substituted graphs and one diagnostic per input whose type is not
        compatible with graph 0's (the final shape check also re-types every reader
        from graph 0's type, so a compatible but different type is checked there).

    Raises:
        BadInputError: a graph has a different number of inputs.
    """
    first = s.graphs[0]
    graphs, diags = [first], []
    for k, sg in enumerate(s.graphs[1:], start=1):
        if len(sg.inputs) != len(first.inputs):
            raise BadInputError(f"--shared-input: model {s.prefixes[k]!r} has {len(sg.inputs)} "
                                f"inputs, model {s.prefixes[0]!r} has {len(first.inputs)}")
        for pos, (mine, shared) in enumerate(zip(sg.inputs, first.inputs)):
            d = boundary(sg, s.prefixes[k], mine, s.originals[0].inputs[pos].name,
                         shared.type, None)
            if d:
                diags.append(d)
        graphs.append(substitute(sg, {m.name: sh.name for m, sh in zip(sg.inputs, first.inputs)}))
    return attrs.evolve(s, graphs=tuple(graphs)), diags


def assemble(graphs: Sequence[Graph]) -> tuple[list[Value], list[Node], dict]:
    """The union of the graphs' inputs (each once, in order), nodes and weights."""
    inputs, nodes, weights, seen = [], [], {}, set()
    for sg in graphs:
        for v in sg.inputs:
            if v.name not in seen:
                seen.add(v.name)
                inputs.append(v)
        nodes.extend(sg.nodes)
        weights.update(sg.weights)
    return inputs, nodes, weights


def names_of(inputs, nodes, weights) -> list[str]:
    """Every value and node name of an assembled graph."""
    return [v.name for v in inputs] + list(weights) + [v.name for n in nodes for v in n.outputs] + [
        n.name for n in nodes]


def restore_input_names(merged: Graph, scoped_first: Graph, first: Graph) -> Graph:
    """``merged`` with the first graph's scoped inputs under their original names (a
    direct substitution; :func:`rename` resolves the rare clash of an original name
    with a name of the merged graph)."""
    live = {v.name for v in merged.inputs}
    back = {s.name: o.name for s, o in zip(scoped_first.inputs, first.inputs) if s.name in live}
    taken = set(names_of(merged.inputs, merged.nodes, merged.weights)) - back.keys()
    if not taken.isdisjoint(back.values()):
        return rename(merged, mapping=back)
    return substitute(merged, back, rename_inputs=True)


def finish(merged: Graph, where: str) -> Graph:
    """Verify ``merged`` and shape-check it in one sweep, always (every type rule is run
    on the types that now flow into it, whatever the links fed).

    Raises:
        GraphInvariantError: the merged structure is invalid (a bug of merge).
        ShapeCheckError: some node's type rule refuses what now flows into it, or a
            declared type disagrees (every diagnostic, with the inputs' batch warnings).
    """
    walk, problems = verify_and_infer(merged)
    if problems:
        raise ShapeCheckError(batch_warnings(merged) + diagnostics_of(merged, problems),
                              where=where)
    if walk.refined:
        # inference sharpened a declared type (e.g. an unknown dim now known): the sweep
        # typed nodes from the sharper types, so also check them on their declared ones
        verify_graph(merged)
    return merged
