"""Walking the call graph of a Keras 3 functional model (shared by lowering and by
:func:`~graphir.backends.keras.randomize.calibrate_statistics`).

Keras 3 internals (``keras/src/ops/node.py``): every ``KerasTensor`` has
``_keras_history = (operation, node_index, tensor_index)``, and
``operation._inbound_nodes[node_index]`` is the call (a Keras ``Node``) that
produced it, whose ``arguments.keras_tensors`` are its input tensors in call order.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

__all__ = ["producer", "call_order", "carried_masks", "layer_readers"]


def producer(tensor: Any) -> tuple[Any, Any]:
    """``(operation, keras Node)`` that produced the ``KerasTensor`` ``tensor``."""
    op, node_index, _ = tensor._keras_history
    return op, op._inbound_nodes[node_index]


def call_order(outputs: Sequence[Any], known: set[int],
               implicit: Callable[[Any], Sequence[Any]] | None = None) -> list[Any]:
    """The Keras nodes computing ``outputs`` from the tensors whose ids are in ``known``,
    producers first.  A node depends on its argument tensors, the masks
    :func:`carried_masks` says it reads, and the tensors ``implicit(node)`` lists.

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
        deps = list(knode.arguments.keras_tensors) + list(carried_masks(knode).values())
        if implicit is not None:
            deps += list(implicit(knode))
        stack.extend((t, False) for t in reversed(deps))
    return order


#: ``MultiHeadAttention.call``'s parameters in positional order (Keras 3.15)
_MHA_PARAMETERS = ("query", "value", "key", "query_mask", "value_mask", "key_mask")


def carried_masks(knode: Any) -> dict[str, Any]:
    """The Keras masks a ``keras.layers.MultiHeadAttention`` call reads from its input
    tensors at run time without recording them, by the keyword the converter takes:
    ``query_keras_mask`` (``call`` reads ``get_keras_mask(query)`` itself), and
    ``value_mask`` / ``key_mask`` when not given (``Layer.__call__`` fills them in from
    the value tensor, and from the key tensor when a key is passed).  Empty for every
    other call (and for subclasses with their own ``call``)."""
    import keras

    op = knode.operation
    if not isinstance(op, keras.layers.MultiHeadAttention) or \
            type(op).call is not keras.layers.MultiHeadAttention.call:
        return {}
    bound = dict(zip(_MHA_PARAMETERS, knode.arguments.args))
    bound.update(knode.arguments.kwargs)
    found = {}
    for tensor_arg, keyword in (("query", "query_keras_mask"), ("value", "value_mask"),
                                ("key", "key_mask")):
        tensor = bound.get(tensor_arg)
        if not isinstance(tensor, keras.KerasTensor) or (
                keyword != "query_keras_mask" and bound.get(keyword) is not None):
            continue
        mask = getattr(tensor, "_keras_mask", None)
        if mask is not None:
            found[keyword] = mask
    return found


def layer_readers(tensor: Any) -> list[Any]:
    """The calls (Keras ``Node`` s) of Keras layers (not ``keras.ops`` operations, which
    never read a Keras mask) that take ``tensor`` as an argument, in every graph built
    on it."""
    import keras

    op, _ = producer(tensor)
    return [n for n in op._outbound_nodes if isinstance(n.operation, keras.layers.Layer)
            and any(t is tensor for t in n.arguments.keras_tensors)]
