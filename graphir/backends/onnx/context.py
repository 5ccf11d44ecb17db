"""The emission context: ONNX nodes and initializers under construction, and the lazy
per-value layout map.

Layouts.  The IR is channels-last everywhere (NWC, NHWC, NDHWC); ONNX's Conv,
ConvTranspose, MaxPool, AveragePool and BatchNormalization want channels-first (NCW,
NCHW, NCDHW).  Every IR value may exist as up to two ONNX tensors:

* ``NHWC`` (the *native* form, any rank): the IR value itself, named exactly like
  it (so graph inputs and outputs keep the IR's, i.e. Keras', names);
* ``NCHW`` (the *channels-first* form, rank >= 3): the last axis moved to axis 1,
  ``transpose(value, (0, rank-1, 1, ..., rank-2))`` (``(0, 3, 1, 2)`` for rank 4),
  named ``<value>/nchw`` whatever the rank.

An emitter asks :meth:`OnnxEmitContext.get` for the form it needs; a missing form is
materialized once from an existing one (a ``Transpose``, or a ``Reshape`` when the
transpose only moves size-1 dims, or a transposed initializer for weights) and
cached.  Layout-agnostic ops use :meth:`OnnxEmitContext.layout_for` to stay in the
layout their inputs already have, so transposes appear only where the layout
really changes and never go back and forth.

Names are deterministic: generated tensor and node names come from
:class:`graphir.names.Namespace` s seeded with every IR name, in emission order.

Initializers are recorded as :class:`Initializer` s: a name and a NumPy array (often
a *view*, e.g. a transposed kernel) whose bytes are copied only once, when
:func:`graphir.backends.onnx.emit.to_onnx` writes the model.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.ir import Graph, Node
from graphir.names import Namespace
from graphir.ops import get_schema
from graphir.ops.registry import Layout
from graphir.tensor_types import TensorType

__all__ = ["NHWC", "NCHW", "MIN_CHANNELS_FIRST_RANK", "OnnxEmitContext", "Initializer",
           "layout_class", "layout_perm", "layout_preferences"]

#: the native layout: the ONNX tensor has the IR value's own axis order (any rank)
NHWC = "nhwc"
#: channels-first, rank >= 3: ONNX tensor = transpose(IR value, (0, rank-1, 1, ..., rank-2))
NCHW = "nchw"
#: the lowest rank with a channels-first form
MIN_CHANNELS_FIRST_RANK = 3


class Initializer(NamedTuple):
    """An initializer to write: its ONNX name and its data.

    Attributes:
        name: the ONNX tensor name.
        array: the data, in the dtype and shape of the ONNX tensor; may be a view
            (e.g. ``kernel.transpose(3, 2, 0, 1)``), copied when the model is written.
        channel_scale: None, or a 1-D array multiplied into ``array`` along axis 0 when
            the model is written (a batch normalization folded into a Conv kernel,
            see :mod:`graphir.backends.onnx.fold`).
    """

    name: str
    array: np.ndarray
    channel_scale: np.ndarray | None = None


def layout_perm(layout: str, rank: int) -> tuple[int, ...]:
    """``perm`` such that the ONNX tensor of ``layout`` is ``transpose(ir_value, perm)``:
    ONNX axis ``i`` holds IR axis ``perm[i]``.

    Raises:
        ValueError: NCHW for a tensor of rank below 3.
    """
    if layout == NHWC:
        return tuple(range(rank))
    if layout == NCHW and rank >= MIN_CHANNELS_FIRST_RANK:
        return (0, rank - 1) + tuple(range(1, rank - 1))
    raise ValueError(f"layout {layout!r} does not apply to rank {rank}")


def _reshape_target(shape: Sequence, src: tuple[int, ...], dst: tuple[int, ...]) -> list[int] | None:
    """The ``Reshape`` target equivalent to transposing a tensor from ``src`` to ``dst``
    order, or None when no Reshape can do it.

    A Reshape works when the transpose only moves dims that are statically 1 (the
    other dims keep their relative order).  ``shape`` is the IR shape; a non-static
    dim at the same index in both orders (the batch) is copied with ``0``, at most one
    other non-static dim becomes ``-1``.  Zero-sized dims are refused (``0`` would mean
    "copy" to Reshape).
    """
    if any(d == 0 for d in shape):
        return None
    if [a for a in src if shape[a] != 1] != [a for a in dst if shape[a] != 1]:
        return None
    target: list[int] = []
    for j, a in enumerate(dst):
        d = shape[a]
        target.append(d if isinstance(d, int) else 0 if src.index(a) == j else -1)
    return target if target.count(-1) <= 1 else None


def layout_class(op: str) -> Layout:
    """The layout class of IR op ``op``: its schema's ``layout``
    (:class:`graphir.ops.registry.Layout`); ``CHANNELS_LAST`` for an op not in the op set."""
    schema = get_schema(op)
    return schema.layout if schema is not None else Layout.CHANNELS_LAST


def layout_preferences(graph: Graph) -> dict[str, str]:
    """The layout each value's consumers agree on, where they do (a backward pass).

    A consumer votes by its op's :func:`layout_class`: NCHW for its input 0 when
    ``CHANNELS_FIRST``, its own output's preference when ``ANY``, nothing when
    ``EITHER``, and NHWC when ``CHANNELS_LAST``; graph outputs vote NHWC.  A value gets
    a preference when all votes agree.  :meth:`OnnxEmitContext.layout_for` uses it only to
    break ties (inputs available in both layouts), so it never adds a transpose.
    """
    votes: dict[str, set[str]] = {o: {NHWC} for o in graph.outputs}

    def agreed(name: str) -> str | None:
        v = votes.get(name, set())
        return next(iter(v)) if len(v) == 1 else None

    for node in reversed(graph.nodes):
        layout = layout_class(node.op)
        if layout is Layout.CHANNELS_FIRST:
            cast = {node.inputs[0]: NCHW}
        elif layout is Layout.EITHER:
            cast = {}
        elif layout is Layout.ANY:
            pref = agreed(node.output.name)
            cast = {i: pref for i in node.inputs if i} if pref else {}
        else:
            cast = {i: NHWC for i in node.inputs if i}
        for name, vote in cast.items():
            votes.setdefault(name, set()).add(vote)
    return {name: layout for name in votes if (layout := agreed(name))}


class OnnxEmitContext:
    """Accumulates the ONNX graph of one IR graph (see the module docstring).

    Attributes:
        graph: the IR graph being emitted.
        opset: the ONNX default-domain opset version.
        types: IR value name -> :class:`TensorType`.
        nodes: ONNX nodes, in emission (topological) order.
        initializers: the initializers, in creation order (:class:`Initializer` s; an
            ``onnx.TensorProto`` appended here is written as it is).
        node: the IR node being emitted (names generated nodes and errors), or None.
    """

    def __init__(self, graph: Graph, opset: int, preferences: Mapping[str, str] | None = None):
        self.graph = graph
        self.opset = opset
        self.types: dict[str, TensorType] = graph.value_types()
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[Initializer | onnx.TensorProto] = []
        self.node: Node | None = None
        self._tensors = Namespace(self.types)
        self._node_names = Namespace(n.name for n in graph.nodes)
        self._forms: dict[str, dict[str, str]] = {v.name: {NHWC: v.name} for v in graph.inputs}
        self._derived: dict[tuple[str, str], str] = {}
        self._preferences = dict(preferences or {})

    # ------------------------------------------------------------------ naming and nodes

    @contextlib.contextmanager
    def emitting(self, node: Node) -> Iterator[None]:
        """Mark ``node`` as the one being emitted (generated names are scoped under it)."""
        self.node = node
        try:
            yield
        finally:
            self.node = None

    def node_name(self, candidate: str) -> str:
        """A new unique ONNX node name (avoiding every IR node name and earlier ones)."""
        return self._node_names.unique(candidate)

    def onnx_type(self, tensor: str) -> TensorType | None:
        """The type of ONNX tensor ``tensor`` when it is a layout form of an IR value (its
        IR type, axes permuted to the layout), else None."""
        if tensor in self.types:
            return self.types[tensor]
        for name, forms in self._forms.items():
            for layout, onnx_name in forms.items():
                if onnx_name == tensor:
                    t = self.types[name]
                    return TensorType(t.dtype, tuple(t.shape[a] for a in
                                                     layout_perm(layout, t.rank)))
        return None

    def onnx_rank(self, tensor: str) -> int | None:
        """The rank of ONNX tensor ``tensor`` when it is a layout form of an IR value (the
        value itself, a weight, or its NCHW form), else None (helper tensors, derived
        weights)."""
        if tensor in self.types:
            return self.types[tensor].rank
        for name, forms in self._forms.items():
            if tensor in forms.values():
                return self.types[name].rank
        return None

    def _form_after(self, tensor: str, perm: Sequence[int]) -> tuple[str, str] | None:
        """(IR value, layout) of ``Transpose(tensor, perm)`` when ``tensor`` is a layout
        form of an IR value and the result is another of its layouts, else None."""
        for name, forms in self._forms.items():
            for layout, onnx_name in forms.items():
                if onnx_name != tensor:
                    continue
                rank = self.rank(name)
                src = layout_perm(layout, rank)
                for other in (NHWC, NCHW):
                    try:
                        dst = layout_perm(other, rank)
                    except ValueError:
                        continue
                    if [src.index(a) for a in dst] == list(perm):
                        return name, other
                return None
        return None

    def find_form(self, tensor: str, perm: Sequence[int]) -> str | None:
        """The ONNX tensor already holding ``Transpose(tensor, perm)`` (another layout form
        of the same IR value), or None."""
        found = self._form_after(tensor, perm)
        return self._forms[found[0]].get(found[1]) if found else None

    def new_form(self, tensor: str, perm: Sequence[int]) -> str:
        """A name for a new tensor ``Transpose(tensor, perm)``: registered as the IR
        value's layout form when it is one (then :meth:`get` returns it), else fresh."""
        found = self._form_after(tensor, perm)
        if found:
            return self.define(*found)
        return self._tensors.unique(f"{tensor}/transposed")

    def fresh(self, suffix: str, scope: str | None = None) -> str:
        """A new unique tensor name ``<scope>/<suffix>`` (scope: the current IR node)."""
        scope = scope if scope is not None else (self.node.name if self.node else "graph")
        return self._tensors.unique(f"{scope}/{suffix}")

    def add(self, op_type: str, inputs: Sequence[str], output: str | None = None, *,
            scope: str | None = None, **attributes: Any) -> str:
        """Append one single-output ONNX node; returns its output name (fresh when not given)."""
        scope = scope if scope is not None else (self.node.name if self.node else "graph")
        output = output or self.fresh(op_type, scope)
        primary = self.node is not None and scope == self.node.name and output in (
            self._forms.get(self.node.output.name, {}).values())
        # the node that writes an IR node's output carries that node's (unique) name;
        # helper nodes get fresh names, which avoid every IR node name
        name = scope if primary else self._node_names.unique(f"{scope}/{op_type}")
        self.nodes.append(onnx.helper.make_node(op_type, list(inputs), [output], name=name,
                                                **attributes))
        return output

    # ------------------------------------------------------------------ constants and weights

    def constant(self, array: np.ndarray, suffix: str) -> str:
        """A new initializer holding ``array`` (its dtype kept), named ``<node>/<suffix>``.

        ``array`` is not copied until the model is written: do not modify it afterwards.
        """
        name = self.fresh(suffix)
        self.initializers.append(Initializer(name, np.asarray(array)))
        return name

    def scalar(self, value: float, dtype: DType, suffix: str = "const") -> str:
        """A rank-0 initializer of ``dtype`` (for Clip bounds, Sub/Mul operands...)."""
        return self.constant(np.asarray(value, dtype=dtype.to_numpy()), suffix)

    def weight_array(self, name: str) -> np.ndarray:
        """The IR weight ``name`` as a NumPy array."""
        return self.graph.weights[name]

    def derived_weight(self, name: str, tag: str, fn: Callable[[np.ndarray], np.ndarray]) -> str:
        """An initializer ``fn(weight)`` (e.g. a kernel in ONNX's layout), created once per
        ``(weight, tag)`` and named ``<weight>/<tag>``."""
        key = (name, tag)
        if key not in self._derived:
            out = self._tensors.unique(f"{name}/{tag}")
            arr = np.asarray(fn(self.graph.weights[name]))  # a view where fn allows
            self.initializers.append(Initializer(out, arr))
            self._derived[key] = out
        return self._derived[key]

    # ------------------------------------------------------------------ layouts

    def rank(self, name: str) -> int:
        """The IR rank of value ``name``."""
        return self.types[name].rank

    def dtype(self, name: str) -> DType:
        """The IR dtype of value ``name``."""
        return self.types[name].dtype

    def has(self, name: str, layout: str) -> bool:
        """True when ``name`` already exists in ``layout`` (weights: always)."""
        if name in self.graph.weights:
            return layout == NHWC or self.rank(name) >= MIN_CHANNELS_FIRST_RANK
        return layout in self._forms.get(name, {})

    def layout_for(self, names: Sequence[str]) -> str:
        """The layout a layout-agnostic op (the current node) should compute in.

        NHWC unless every input has one rank >= 3 and some computed input already
        exists as NCHW (channels-first).  Then NCHW, except when every input also
        exists as NHWC (a tie): the current node's output preference (see
        :func:`layout_preferences`) decides.
        """
        ranks = {self.rank(n) for n in names}
        if len(ranks) != 1 or min(ranks) < MIN_CHANNELS_FIRST_RANK or not any(
                NCHW in self._forms.get(n, {}) for n in names):
            return NHWC
        if all(n in self.graph.weights or NHWC in self._forms.get(n, {}) for n in names):
            out = self.node.output.name if self.node else None
            return self._preferences.get(out, NCHW)
        return NCHW

    def define(self, name: str, layout: str) -> str:
        """The ONNX name under which a producer must write IR value ``name`` in ``layout``."""
        forms = self._forms.setdefault(name, {})
        if layout not in forms:
            forms[layout] = name if layout == NHWC else self._tensors.unique(f"{name}/{layout}")
        return forms[layout]

    def alias(self, name: str, layout: str, tensor: str) -> None:
        """Record the existing ONNX tensor ``tensor`` as IR value ``name`` in ``layout``,
        without a node: for a ``transpose`` between the two layouts, whose result in one
        layout *is* its input in the other (a channels-first Keras layer's
        ``transpose -> op -> transpose``, see the ``transpose`` emitter).

        Raises:
            ValueError: ``name`` already has a form in ``layout`` (an emitter bug).
        """
        forms = self._forms.setdefault(name, {})
        if layout in forms:
            raise ValueError(f"IR value {name!r} already exists as {layout}")
        forms[layout] = tensor

    def get(self, name: str, layout: str = NHWC) -> str:
        """The ONNX tensor of IR value ``name`` in ``layout``, materialized once when missing.

        Raises:
            KeyError: ``name`` has not been emitted in any layout (an emitter bug).
        """
        if name in self.graph.weights:
            return self._weight(name, layout)
        forms = self._forms.get(name)
        if not forms:
            raise KeyError(f"IR value {name!r} has not been emitted yet")
        if layout in forms:
            return forms[layout]
        src_layout = NHWC if NHWC in forms else next(iter(sorted(forms)))
        rank = self.rank(name)
        src, dst = layout_perm(src_layout, rank), layout_perm(layout, rank)
        out = self.define(name, layout)
        target = _reshape_target(self.types[name].shape, src, dst)
        scope = f"{name}/to_{layout}"
        if target is not None:
            shape = self._tensors.unique(f"{scope}/shape")
            self.initializers.append(Initializer(shape, np.asarray(target, np.int64)))
            self.add("Reshape", [forms[src_layout], shape], out, scope=scope)
        else:
            self.add("Transpose", [forms[src_layout]], out, scope=scope,
                     perm=[src.index(a) for a in dst])
        return out

    def _weight(self, name: str, layout: str) -> str:
        if layout == NHWC:
            if (name, NHWC) not in self._derived:
                self.initializers.append(Initializer(name, self.graph.weights[name]))
                self._derived[(name, NHWC)] = name
            return name
        perm = layout_perm(layout, self.rank(name))
        return self.derived_weight(name, layout, lambda a: a.transpose(perm))

    def layout_constant(self, array: np.ndarray, rank: int, layout: str, suffix: str) -> str:
        """An initializer of ``array`` broadcast-aligned (NumPy rules, trailing axes) to an IR
        tensor of ``rank``, then put in ``layout``, so it broadcasts against that tensor's
        ONNX form."""
        arr = np.asarray(array)
        if arr.ndim and layout != NHWC:
            arr = arr.reshape((1,) * (rank - arr.ndim) + arr.shape).transpose(
                layout_perm(layout, rank))
        return self.constant(arr, suffix)
