"""The IR data model: :class:`Value`, :class:`Node` and :class:`Graph`.

A graph is a flat, topologically ordered list of nodes over named values.  A value
is defined exactly once: as a graph input, as a weight, or as the output of one
node.  Node inputs are value *names*; node outputs are typed :class:`Value` s.
Weights are read-only NumPy arrays referenced by name like any other value, so
sharing or deduplicating a weight is a graph edit.

Names are hierarchical scopes joined with ``/`` (``"model_a/conv1"``) so nested
Keras models survive lowering.  Use-def maps are computed on demand
(:meth:`Graph.producers`, :meth:`Graph.consumers`), never stored.

Everything is frozen; change a graph with ``attrs.evolve``.  Printed (see
:mod:`graphir.printer`), a graph looks like::

    graph tiny(%x: f32[batch,4]) -> (%dense) {
      weight %dense/kernel: f32[4,2]
      weight %dense/bias: f32[2]
      %dense: f32[batch,2] = dense(%x, %dense/kernel, %dense/bias) {activation="relu", units=2}
      return %dense
    }
"""

from __future__ import annotations

import types
from typing import Any, Iterable, Iterator, Mapping

import attrs
import numpy as np

from graphir.frozen import FrozenDict
from graphir.printer import format_graph
from graphir.tensor_types import TensorType, weight_type

__all__ = ["Value", "Node", "Graph", "weight_type"]


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"expected a sequence of names, got the string {value!r}")
    return tuple(value)


def _value_tuple(value: Iterable["Value"]) -> tuple["Value", ...]:
    out = tuple(value)
    for v in out:
        if not isinstance(v, Value):
            raise TypeError(f"expected Value, got {type(v).__name__}: {v!r}")
    return out


def _to_attrs(value: Mapping[str, Any] | None) -> FrozenDict:
    return value if isinstance(value, FrozenDict) else FrozenDict(value or {})


def _readonly(array: Any) -> np.ndarray:
    arr = np.asarray(array)
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def _to_weights(value: Mapping[str, Any] | None) -> Mapping[str, np.ndarray]:
    return types.MappingProxyType({str(k): _readonly(v) for k, v in (value or {}).items()})


@attrs.frozen
class Value:
    """A named, typed tensor: a graph input or a node output.

    Attributes:
        name: unique within the graph (shared with weights and other values).
        type: its :class:`~graphir.tensor_types.TensorType`.
    """

    name: str
    type: TensorType


@attrs.frozen
class Node:
    """One operation application.

    Attributes:
        op: an op name from the op set (``graphir.ops``), e.g. ``"conv2d"``.
        name: unique among the graph's nodes; usually the Keras layer name (scoped).
        inputs: value names (graph inputs, weights or earlier node outputs); ``""``
            marks an omitted optional input.
        outputs: the typed values the node defines.
        attrs: the op's attributes (a key-sorted immutable mapping; lists become tuples).
    """

    op: str
    name: str
    inputs: tuple[str, ...] = attrs.field(converter=_str_tuple)
    outputs: tuple[Value, ...] = attrs.field(converter=_value_tuple)
    attrs: FrozenDict = attrs.field(factory=FrozenDict, converter=_to_attrs)

    @property
    def output(self) -> Value:
        """The single output of a one-output node.

        Raises:
            ValueError: the node has more or fewer than one output.
        """
        if len(self.outputs) != 1:
            raise ValueError(f"node {self.name!r} has {len(self.outputs)} outputs, not 1")
        return self.outputs[0]


@attrs.frozen(eq=False)
class Graph:
    """A computation graph: inputs, topologically ordered nodes, outputs, weights.

    Attributes:
        name: the graph's (model's) name.
        inputs: the typed graph inputs, in model order.
        outputs: names of the values the graph returns, in model order.
        nodes: the nodes, each after the producers of its inputs.
        weights: read-only arrays keyed by value name (insertion order is kept and
            is part of the deterministic printed and saved form).
        output_keys: when the model returned a dict of its outputs (keras_hub
            backbones, ``keras.Model(x, {"logits": ...})``), the dict key of each
            output, in ``outputs`` order (the Keras emitter returns that dict again);
            ``()`` for a model returning a tensor or a list.  Passes that keep the
            outputs keep the keys, also when they rename the values.

    Graphs compare by identity (``eq=False``) because weights are arrays; use
    :func:`graphir.printer.format_graph` plus array equality to compare contents.
    Invariants are checked by :func:`graphir.verifier.verify_graph`, not on
    construction, so passes can build intermediate graphs cheaply.
    """

    name: str
    inputs: tuple[Value, ...] = attrs.field(converter=_value_tuple)
    outputs: tuple[str, ...] = attrs.field(converter=_str_tuple)
    nodes: tuple[Node, ...] = attrs.field(converter=tuple)
    weights: Mapping[str, np.ndarray] = attrs.field(factory=dict, converter=_to_weights)
    output_keys: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def value_types(self) -> dict[str, TensorType]:
        """Map every defined value name (inputs, weights, node outputs) to its type."""
        out: dict[str, TensorType] = {v.name: v.type for v in self.inputs}
        for name, arr in self.weights.items():
            out[name] = weight_type(arr)
        for node in self.nodes:
            for v in node.outputs:
                out[v.name] = v.type
        return out

    def producers(self) -> dict[str, tuple[Node, int]]:
        """Map each node-output value name to ``(producing node, output index)``."""
        return {v.name: (n, i) for n in self.nodes for i, v in enumerate(n.outputs)}

    def consumers(self) -> dict[str, list[tuple[Node, int]]]:
        """Map each value name to the ``(node, input index)`` pairs that read it."""
        out: dict[str, list[tuple[Node, int]]] = {}
        for n in self.nodes:
            for i, name in enumerate(n.inputs):
                if name:
                    out.setdefault(name, []).append((n, i))
        return out

    def node(self, name: str) -> Node:
        """The node called ``name``.

        Raises:
            KeyError: no such node.
        """
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"graph {self.name!r} has no node named {name!r}")

    def output_types(self) -> tuple[TensorType, ...]:
        """Types of the graph outputs, in order.

        Raises:
            KeyError: an output names an undefined value.
        """
        vt = self.value_types()
        return tuple(vt[o] for o in self.outputs)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __str__(self) -> str:
        return format_graph(self)

    def parameter_count(self) -> int:
        """Total number of weight elements (Keras' "params", counting shared weights once)."""
        return int(sum(int(np.prod(a.shape, dtype=np.int64)) for a in self.weights.values()))
