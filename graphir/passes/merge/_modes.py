"""The five merge modes as small strategies over the shared steps.

A mode is two functions: ``link`` (how graphs feed one another before they are
assembled; only ``chain`` links) and ``outputs`` (which values the merged graph returns,
adding combining nodes where the mode combines).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import attrs

from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.errors import BadInputError
from graphir.ir import Node, Value
from graphir.names import Namespace
from graphir.ops import TypeRuleError, infer_types
from graphir.passes.merge._steps import Scoped, boundary, names_of, substitute

__all__ = ["Mode", "MODES_BY_NAME"]


@attrs.frozen
class Mode:
    """A merge mode.

    Attributes:
        name: the mode's name (``--mode``).
        min_graphs: how many graphs it needs.
        link: ``(scoped, connections) -> (scoped, diagnostics)``: substitute links
            between the graphs (identity for all modes but ``chain``).
        outputs: ``(scoped, inputs, nodes, weights) -> output names``; may append
            combining nodes to ``nodes``.
    """

    name: str
    min_graphs: int
    link: Callable[[Scoped, Sequence[Mapping[str, str]] | None], tuple[Scoped, list]]
    outputs: Callable[[Scoped, list, list, dict], list[str]]


def _no_links(s: Scoped, connections) -> tuple[Scoped, list]:
    return s, []


def _chain_links(s: Scoped, connections: Sequence[Mapping[str, str]] | None
                 ) -> tuple[Scoped, list[Diagnostic]]:
    """Feed graph k's outputs into graph k+1's inputs, in order or by ``connections[k]``
    (input of k+1 -> output of k, original names); diagnose each incompatible link.

    Raises:
        BadInputError: counts differ without a map, or a map names an unknown input or
            output.
    """
    graphs, diags = list(s.graphs), []
    for k in range(len(graphs) - 1):
        prev, nxt = graphs[k], graphs[k + 1]
        link = dict(connections[k]) if connections else None
        if link is None:
            if len(prev.outputs) != len(s.originals[k + 1].inputs):
                raise BadInputError(
                    f"chain: model {s.prefixes[k]!r} has {len(prev.outputs)} outputs but model "
                    f"{s.prefixes[k + 1]!r} has {len(s.originals[k + 1].inputs)} inputs; give an "
                    "explicit connection map")
            link = dict(zip((v.name for v in s.originals[k + 1].inputs), s.originals[k].outputs))
        ptypes = prev.value_types()
        pprod = prev.producers()
        sub = {}
        for inp, out in link.items():
            if inp not in s.in_names[k + 1]:
                raise BadInputError(f"chain: model {s.prefixes[k + 1]!r} has no input {inp!r} "
                                    f"(inputs: {', '.join(s.in_names[k + 1])})")
            if out not in s.out_names[k]:
                raise BadInputError(f"chain: model {s.prefixes[k]!r} has no output {out!r} "
                                    f"(outputs: {', '.join(s.out_names[k])})")
            src = s.out_names[k][out]
            value = next(v for v in nxt.inputs if v.name == s.in_names[k + 1][inp])
            d = boundary(nxt, s.prefixes[k + 1], value, src, ptypes[src],
                         pprod[src][0].name if src in pprod else None)
            if d:
                diags.append(d)
            sub[value.name] = src
        graphs[k + 1] = substitute(nxt, sub)
    return attrs.evolve(s, graphs=tuple(graphs)), diags


def _last_outputs(s: Scoped, inputs, nodes, weights) -> list[str]:
    return list(s.graphs[-1].outputs)


def _all_outputs(s: Scoped, inputs, nodes, weights) -> list[str]:
    return [o for sg in s.graphs for o in sg.outputs]


def _combining(mode: str, op: str, attrs_: dict) -> Callable:
    """``outputs`` of a combining mode: output i of every graph goes into one ``op`` node,
    named after the op and made unique."""

    def outputs(s: Scoped, inputs, nodes, weights) -> list[str]:
        counts = {len(sg.outputs) for sg in s.graphs}
        if len(counts) != 1:
            raise BadInputError(f"--mode {mode} needs the same number of outputs in every "
                                f"model, got {[len(sg.outputs) for sg in s.graphs]}")
        ns = Namespace(names_of(inputs, nodes, weights))
        types = {**{v.name: v.type for v in inputs},
                 **{v.name: v.type for n in nodes for v in n.outputs}}
        result = []
        for i in range(counts.pop()):
            operands = [sg.outputs[i] for sg in s.graphs]
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
            result.append(out_name)
        return result

    return outputs


MODES_BY_NAME: dict[str, Mode] = {
    "chain": Mode("chain", 2, _chain_links, _last_outputs),
    "concat": Mode("concat", 2, _no_links, _combining("concat", "concatenate", {"axis": -1})),
    "average": Mode("average", 2, _no_links, _combining("average", "average", {})),
    "sum": Mode("sum", 2, _no_links, _combining("sum", "add", {})),
    "outputs": Mode("outputs", 1, _no_links, _all_outputs),
}
