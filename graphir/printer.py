"""The deterministic text form of a graph (``str(graph)``, ``graphir inspect``).

Grammar (see ``specs/text-format.md``)::

    graph NAME(%in: TYPE, ...) -> (%out, ...) {
      weight %w: TYPE
      %v: TYPE[, %v2: TYPE] = OP(%a, %b, none) {key=value, ...}[ @NODE]
      return %out, ...
    }

Attributes are sorted by key; strings are JSON-quoted, floats printed with
``repr`` (shortest round-trip form), tuples as ``[a, b]``.  ``@NODE`` appears only
when the node's name differs from its first output's name.  Nothing depends on
object ids or dict order, so equal graphs print equal text.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from graphir.tensor_types import weight_type

if TYPE_CHECKING:  # pragma: no cover
    from graphir.ir import Graph, Node

__all__ = ["format_graph", "format_node", "format_name", "format_attr_value", "excerpt"]

_PLAIN = re.compile(r"^[A-Za-z0-9_.:/\-]+$")


def format_name(name: str) -> str:
    """A value name as printed: ``%name``, or ``%"..."`` (JSON-quoted) when it has other characters."""
    return f"%{name}" if _PLAIN.match(name) else f"%{json.dumps(name)}"


def format_attr_value(value: Any) -> str:
    """Text of one attribute value (JSON-like, deterministic)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_attr_value(v) for v in value) + "]"
    raise TypeError(f"cannot print attribute value {value!r}")


def format_node(node: Node) -> str:
    """One node as one line, without indentation."""
    outs = ", ".join(f"{format_name(v.name)}: {v.type}" for v in node.outputs)
    ins = ", ".join(format_name(i) if i else "none" for i in node.inputs)
    line = f"{outs} = {node.op}({ins})"
    if node.attrs:
        line += " {" + ", ".join(f"{k}={format_attr_value(v)}" for k, v in node.attrs.items()) + "}"
    if not node.outputs or node.outputs[0].name != node.name:
        line += f" @{json.dumps(node.name) if not _PLAIN.match(node.name) else node.name}"
    return line


def format_graph(graph: Graph) -> str:
    """The whole graph as text (see the module docstring); ends without a newline."""
    ins = ", ".join(f"{format_name(v.name)}: {v.type}" for v in graph.inputs)
    outs = ", ".join(format_name(o) for o in graph.outputs)
    name = graph.name if _PLAIN.match(graph.name or "-") else json.dumps(graph.name)
    lines = [f"graph {name}({ins}) -> ({outs}) {{"]
    for wname, arr in graph.weights.items():
        lines.append(f"  weight {format_name(wname)}: {weight_type(arr)}")
    for node in graph.nodes:
        lines.append("  " + format_node(node))
    lines.append(f"  return {outs}")
    lines.append("}")
    return "\n".join(lines)


def excerpt(graph: Graph, node_index: int | None, *, context: int = 2,
            max_line: int = 160) -> str:
    """A few lines of the text IR around ``graph.nodes[node_index]``, the node marked ``>>``.

    Lines are cut at ``max_line`` characters; at most ``2 * context + 1`` node lines.
    """
    if node_index is None or not graph.nodes:
        return ""
    lo, hi = max(0, node_index - context), min(len(graph.nodes), node_index + context + 1)
    out = []
    for i in range(lo, hi):
        text = format_node(graph.nodes[i])
        if len(text) > max_line:
            text = text[: max_line - 3] + "..."
        out.append(("  >> " if i == node_index else "     ") + text)
    return "\n".join(out)
