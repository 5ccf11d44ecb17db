"""Walking the call graph of a Keras 3 functional model (shared by lowering and by
:func:`~graphir.backends.keras.randomize.calibrate_statistics`).

Keras 3 internals (``keras/src/ops/node.py``): every ``KerasTensor`` has
``_keras_history = (operation, node_index, tensor_index)``, and
``operation._inbound_nodes[node_index]`` is the call (a Keras ``Node``) that
produced it, whose ``arguments.keras_tensors`` are its input tensors in call order.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["producer", "call_order"]


def producer(tensor: Any) -> tuple[Any, Any]:
    """``(operation, keras Node)`` that produced the ``KerasTensor`` ``tensor``."""
    op, node_index, _ = tensor._keras_history
    return op, op._inbound_nodes[node_index]


def call_order(outputs: Sequence[Any], known: set[int]) -> list[Any]:
    """The Keras nodes computing ``outputs`` from the tensors whose ids are in ``known``,
    producers first.

    An iterative post-order depth-first search from the outputs in order, inputs in
    call order, so the order is deterministic and independent of object ids (deep
    models exceed Python's recursion limit, hence no recursion).
    """
    order, done = [], set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        tensor, expanded = stack.pop()
        if id(tensor) in known:
            continue
        _, knode = producer(tensor)
        if id(knode) in done:
            continue
        if expanded:
            done.add(id(knode))
            order.append(knode)
            continue
        stack.append((tensor, True))
        stack.extend((t, False) for t in reversed(knode.arguments.keras_tensors))
    return order
