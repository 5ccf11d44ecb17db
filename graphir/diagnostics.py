"""Shape and type diagnostics: what ``graphir check`` reports.

A :class:`Diagnostic` says where (node, its op, the input index, the producer of that
input), what (expected vs actual shape or dtype, the axis that differs) and how to fix
it (a hint).  Format (``specs/passes.md``)::

    error: model_2/conv2d (conv2d) input 0 from 'model_1/conv_out' (produced by model_1/conv_out): expected (batch, 28, 28, 1), got (batch, 28, 28, 3), axis 3 differs. Hint: ...
"""

from __future__ import annotations

from typing import Any, Sequence

import attrs

from graphir.errors import GraphIRError

__all__ = ["Diagnostic", "ShapeCheckError"]


@attrs.frozen
class Diagnostic:
    """One problem found by the shape/type check.

    Attributes:
        severity: ``"error"`` (the graph cannot run) or ``"warning"`` (it may not run
            for some inputs, e.g. a hard-coded batch size).
        message: what is wrong, one sentence.
        node: the consuming node's name (None for graph-level findings).
        op: that node's op.
        input_index: which input of the node, when one is at fault.
        producer: the value read at that input (a node output, graph input or weight).
        producer_node: the node that defines ``producer`` (None for inputs and weights).
        expected, actual: shapes/dtypes as text, when known.
        axis: the differing axis, when one is known.
        hint: a suggested fix.
    """

    severity: str
    message: str
    node: str | None = None
    op: str | None = None
    input_index: int | None = None
    producer: str | None = None
    producer_node: str | None = None
    expected: str | None = None
    actual: str | None = None
    axis: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.node:
            where = f"{self.node} ({self.op})" if self.op else self.node
            if self.input_index is not None:
                where += f" input {self.input_index}"
            if self.producer:
                src = f" (produced by {self.producer_node})" if self.producer_node else ""
                where += f" from {self.producer!r}{src}"
            where += ": "
        text = f"{self.severity}: {where}{self.message}"
        if self.expected is not None and self.actual is not None and self.expected not in self.message:
            text += f"; expected {self.expected}, got {self.actual}"
        if self.axis is not None and f"axis {self.axis}" not in text:
            text += f"; axis {self.axis} differs"
        if self.hint:
            text += f". Hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class ShapeCheckError(GraphIRError):
    """The shape/type check found errors (CLI exit 1).

    Attributes:
        diagnostics: every diagnostic found (errors and warnings), in graph order.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], *, where: str | None = None):
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = str(errors[0]) if errors else "no errors"
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        super().__init__(f"shape check failed: {first}{more}", where=where)
