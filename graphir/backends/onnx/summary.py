"""Small inspection helpers for emitted ONNX models."""

from __future__ import annotations

from collections import Counter

import onnx

__all__ = ["count_ops"]


def count_ops(model: onnx.ModelProto) -> dict[str, int]:
    """Number of nodes per ``op_type`` in ``model``'s main graph, sorted by op type.

    Example: ``count_ops(to_onnx(graph)).get("Transpose", 0)`` is the number of layout
    changes the emitter needed.
    """
    counts = Counter(n.op_type for n in model.graph.node)
    return dict(sorted(counts.items()))
