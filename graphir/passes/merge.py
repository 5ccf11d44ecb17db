"""The ``merge`` pass: combine N graphs into one.

Modes:

* ``chain`` — graph k's outputs feed graph k+1's inputs, in order, or by an explicit
  map per link (``connections[k] = {input of graph k+1: output of graph k}``); inputs
  left unconnected become inputs of the result; the result returns the last graph's
  outputs.
* ``concat`` / ``average`` / ``sum`` — output i of every graph is combined with
  ``concatenate`` (last axis) / ``average`` / ``add``; all graphs need the same number of
  outputs.
* ``outputs`` — all outputs of all graphs are kept, in order.

``shared_input=True`` makes all graphs read one set of inputs (the first graph's input
names; every graph needs the same number of inputs with compatible types); it does not
apply to ``chain``.

Naming: every graph is scoped under its own prefix (default: its name, made unique with
``Namespace``: two graphs called ``functional`` become ``functional`` and
``functional_1``), so layer and input names never collide.  The combining nodes are
named after their op (``concatenate``, ``average``, ``add``) made unique.

The result is verified and shape-checked before it is returned: an incompatible link
or combination raises :class:`~graphir.diagnostics.ShapeCheckError` with every
diagnostic (consumer model and layer, producer, expected/actual shape, axis, hint).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.errors import BadInputError
from graphir.ir import Graph, Node, Value
from graphir.names import Namespace
from graphir.ops import TypeRuleError, infer_types
from graphir.ops.type_rules import fmt_shape
from graphir.passes.check import check_with_types
from graphir.passes.extract import extract
from graphir.passes.rename import rename
from graphir.verifier import verify_graph

__all__ = ["merge", "MODES"]

MODES = ("chain", "concat", "average", "sum", "outputs")
_COMBINE = {"concat": ("concatenate", {"axis": -1}), "average": ("average", {}), "sum": ("add", {})}


def _substitute(graph: Graph, old_to_new: Mapping[str, str], *, rename_inputs: bool = False
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
    return Graph(graph.name, inputs, outputs, nodes, graph.weights)


def _axis_differs(expected: tuple, actual: tuple) -> int | None:
    for a, (e, g) in enumerate(zip(expected, actual)):
        if isinstance(e, int) and isinstance(g, int) and e != g:
            return a
    return None


def _boundary(consumer: Graph, prefix: str, value: Value, producer_name: str,
              producer_type, producer_node: str | None) -> Diagnostic | None:
    """Diagnose feeding ``producer_type`` into ``consumer``'s input ``value``."""
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


def merge(graphs: Sequence[Graph], *, mode: str, shared_input: bool = False,
          connections: Sequence[Mapping[str, str]] | None = None,
          prefixes: Sequence[str] | None = None, name: str = "merged") -> Graph:
    """Combine ``graphs`` into one graph (see the module docstring).

    Args:
        graphs: two or more valid graphs (one is allowed for ``outputs``).
        mode: one of :data:`MODES`.
        shared_input: all graphs read the first graph's inputs (not with ``chain``).
        connections: for ``chain``, one map per link: input name of graph k+1 (its
            original, unscoped name) -> output name of graph k.  None: in order.
        prefixes: the scope of each graph; default: the graph names made unique.
        name: the merged graph's name.

    Returns:
        the merged, verified and shape-checked graph.

    Example::

        >>> both = merge([a, b], mode="concat")                     # inputs: a's and b's
        >>> ens = merge([m1, m2], mode="average", shared_input=True)  # (m1(x) + m2(x)) / 2
        >>> pipe = merge([extractor, classifier], mode="chain")      # classifier(extractor(x))

    Raises:
        BadInputError: unknown mode, too few graphs, mismatched input/output counts,
            unknown names in ``connections``, or duplicate prefixes.
        ShapeCheckError: a link or a combination is incompatible (all diagnostics).
    """
    if mode not in MODES:
        raise BadInputError(f"unknown merge mode {mode!r} (choose from {', '.join(MODES)})")
    graphs = list(graphs)
    if len(graphs) < (1 if mode == "outputs" else 2):
        raise BadInputError(f"merge --mode {mode} needs at least 2 models, got {len(graphs)}")
    if connections and (mode != "chain" or len(connections) != len(graphs) - 1):
        raise BadInputError(f"connections: need one map per link of --mode chain "
                            f"({len(graphs) - 1}), got {len(connections)} with --mode {mode}")
    if mode == "chain" and shared_input:
        raise BadInputError("--shared-input does not apply to --mode chain (only the first "
                            "model reads external inputs)")
    for g in graphs:
        verify_graph(g)
    if prefixes is None:
        ns = Namespace()
        prefixes = [ns.unique(g.name) for g in graphs]
    prefixes = list(prefixes)
    if len(prefixes) != len(graphs) or len(set(prefixes)) != len(prefixes):
        raise BadInputError(f"need {len(graphs)} distinct prefixes, got {prefixes}")
    nested = [(p, q) for p in prefixes for q in prefixes if q.startswith(p + "/")]
    if nested:  # "m" and "m/x" would both own "m/x/kernel": names could collide
        raise BadInputError(f"prefix {nested[0][1]!r} is nested in prefix {nested[0][0]!r}; "
                            "give prefixes that are not scopes of one another")
    scoped = [rename(g, prefix=p) for g, p in zip(graphs, prefixes)]
    # map: original name -> scoped name, per graph
    in_names = [{o.name: s.name for o, s in zip(g.inputs, sg.inputs)} for g, sg in zip(graphs, scoped)]
    out_names = [dict(zip(g.outputs, sg.outputs)) for g, sg in zip(graphs, scoped)]

    diags: list[Diagnostic] = []
    # True while every substituted input gets a value of exactly its declared type: then
    # every type rule sees the inputs it saw when the (verified) graphs were checked
    refined = False
    if shared_input:
        first = scoped[0]
        for k, (g, sg) in enumerate(zip(graphs[1:], scoped[1:]), start=1):
            if len(sg.inputs) != len(first.inputs):
                raise BadInputError(f"--shared-input: model {prefixes[k]!r} has {len(sg.inputs)} "
                                    f"inputs, model {prefixes[0]!r} has {len(first.inputs)}")
            for mine, shared in zip(sg.inputs, first.inputs):
                d = _boundary(sg, prefixes[k], mine, graphs[0].inputs[first.inputs.index(shared)].name,
                              shared.type, None)
                if d:
                    diags.append(d)
                refined |= mine.type != shared.type
            scoped[k] = _substitute(sg, {m.name: s.name for m, s in zip(sg.inputs, first.inputs)})
    if mode == "chain":
        for k in range(len(scoped) - 1):
            prev, nxt = scoped[k], scoped[k + 1]
            link = dict(connections[k]) if connections else None
            if link is None:
                if len(prev.outputs) != len(graphs[k + 1].inputs):
                    raise BadInputError(
                        f"chain: model {prefixes[k]!r} has {len(prev.outputs)} outputs but model "
                        f"{prefixes[k + 1]!r} has {len(graphs[k + 1].inputs)} inputs; give an "
                        "explicit connection map")
                link = dict(zip((v.name for v in graphs[k + 1].inputs), graphs[k].outputs))
            ptypes = prev.value_types()
            pprod = prev.producers()
            sub = {}
            for inp, out in link.items():
                if inp not in in_names[k + 1]:
                    raise BadInputError(f"chain: model {prefixes[k + 1]!r} has no input {inp!r} "
                                        f"(inputs: {', '.join(in_names[k + 1])})")
                if out not in out_names[k]:
                    raise BadInputError(f"chain: model {prefixes[k]!r} has no output {out!r} "
                                        f"(outputs: {', '.join(out_names[k])})")
                src = out_names[k][out]
                value = next(v for v in nxt.inputs if v.name == in_names[k + 1][inp])
                d = _boundary(nxt, prefixes[k + 1], value, src, ptypes[src],
                              pprod[src][0].name if src in pprod else None)
                if d:
                    diags.append(d)
                refined |= value.type != ptypes[src]
                sub[value.name] = src
            scoped[k + 1] = _substitute(nxt, sub)
    if diags:
        raise ShapeCheckError(diags, where=f"merge --mode {mode}")

    inputs, nodes, weights, seen_inputs = [], [], {}, set()
    for sg in scoped:
        for v in sg.inputs:
            if v.name not in seen_inputs:
                seen_inputs.add(v.name)
                inputs.append(v)
        nodes.extend(sg.nodes)
        weights.update(sg.weights)
    if mode == "chain":
        outputs = list(scoped[-1].outputs)
    elif mode == "outputs":
        outputs = [o for sg in scoped for o in sg.outputs]
    else:
        counts = {len(sg.outputs) for sg in scoped}
        if len(counts) != 1:
            raise BadInputError(f"--mode {mode} needs the same number of outputs in every model, "
                                f"got {[len(sg.outputs) for sg in scoped]}")
        op, attrs_ = _COMBINE[mode]
        ns = Namespace(_names_of(inputs, nodes, weights))
        types = {**{v.name: v.type for v in inputs}, **{v.name: v.type for n in nodes for v in n.outputs}}
        outputs = []
        for i in range(counts.pop()):
            operands = [sg.outputs[i] for sg in scoped]
            out_name = ns.unique(op)
            try:
                (t,) = infer_types(op, [types[o] for o in operands], attrs_)
            except TypeRuleError as e:
                idx = e.input_index if e.input_index is not None else 0
                raise ShapeCheckError([Diagnostic(
                    "error", f"cannot {mode} the models' output {i}: {e}", node=out_name, op=op,
                    input_index=idx, producer=operands[min(idx, len(operands) - 1)],
                    expected=e.expected, actual=e.actual, axis=e.axis,
                    hint="make the models' outputs the same shape (or use --mode outputs)")],
                    where=f"merge --mode {mode}") from None
            nodes.append(Node(op, out_name, operands, [Value(out_name, t)], attrs_))
            outputs.append(out_name)
    merged = Graph(name, inputs, outputs, nodes, weights)
    merged = extract(merged, outputs=outputs)  # drop what no output needs (chain leftovers)
    if shared_input:  # the shared inputs keep the first model's own (unscoped) names
        merged = _restore_input_names(merged, scoped[0], graphs[0])
    verify_graph(merged, types=False)
    if not refined:
        # every node computes what it computed in its verified graph, on inputs of the
        # same types; the combining nodes were typed by their rules above: the types hold
        return merged
    problems, inferred = check_with_types(merged)
    if any(d.severity == "error" for d in problems):
        raise ShapeCheckError(problems, where=f"merge --mode {mode}")
    if all(inferred[v.name] == v.type for n in merged.nodes for v in n.outputs):
        # verify_graph(merged) would run each type rule on the declared input types, which
        # here equal the inferred ones check_with_types ran the same rules on (graph inputs
        # and weights by definition, node outputs by this test), without an error, and
        # compare with declared outputs equal to the results: it cannot fail, so it is
        # skipped (the structural invariants were verified just above)
        return merged
    return verify_graph(merged)


def _restore_input_names(merged: Graph, scoped_first: Graph, first: Graph) -> Graph:
    """``merged`` with the first graph's scoped inputs under their original names (a
    direct substitution; :func:`rename` resolves the rare clash of an original name
    with a name of the merged graph)."""
    live = {v.name for v in merged.inputs}
    back = {s.name: o.name for s, o in zip(scoped_first.inputs, first.inputs) if s.name in live}
    taken = set(_names_of(merged.inputs, merged.nodes, merged.weights)) - back.keys()
    if not taken.isdisjoint(back.values()):
        return rename(merged, mapping=back)
    return _substitute(merged, back, rename_inputs=True)


def _names_of(inputs, nodes, weights) -> list[str]:
    return [v.name for v in inputs] + list(weights) + [v.name for n in nodes for v in n.outputs] + [
        n.name for n in nodes]
