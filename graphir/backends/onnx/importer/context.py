"""The import context: the IR graph under construction while an ONNX graph is read.

It maps every ONNX tensor name to an IR value name, records the IR nodes the op
converters (:mod:`.registry`) append, and keeps what is known at import time:

* *constants*: initializers, ``Constant`` nodes and every node whose inputs are all
  constants (folded here by running the IR op's NumPy reference kernel, so static
  shape subgraphs such as ``Shape -> Gather -> Concat -> Reshape`` on static dims
  disappear); a constant becomes a weight only if some IR node reads it;
* *shape values*: 1-D integer tensors whose entries are known dims, possibly symbolic
  (``Shape`` of a tensor with a ``"batch"`` dim and what ``Gather``/``Slice``/``Concat``
  /``Unsqueeze``/``Cast`` make of it), so that a ``Reshape`` or ``Expand`` whose target
  depends only on dims can be resolved.

Names: the IR value of an ONNX tensor is named like it; helper values and nodes get
fresh names scoped under the ONNX node (``graphir.names.Namespace``, seeded with every
ONNX name, so the result is deterministic and never collides).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.ir import Node, Value
from graphir.names import Namespace
from graphir.ops import get_schema
from graphir.ops.registry import TypeRuleError
from graphir.tensor_types import Dim, TensorType

from .errors import OnnxImportError

__all__ = ["ImportContext", "dims_of", "onnx_dtype"]

_DTYPES: dict[int, DType] = {
    onnx.TensorProto.FLOAT16: DType.FLOAT16,
    onnx.TensorProto.FLOAT: DType.FLOAT32,
    onnx.TensorProto.DOUBLE: DType.FLOAT64,
    onnx.TensorProto.INT8: DType.INT8,
    onnx.TensorProto.INT16: DType.INT16,
    onnx.TensorProto.INT32: DType.INT32,
    onnx.TensorProto.INT64: DType.INT64,
    onnx.TensorProto.UINT8: DType.UINT8,
    onnx.TensorProto.BOOL: DType.BOOL,
}


def onnx_dtype(code: int) -> DType | None:
    """The IR dtype of an ONNX ``TensorProto.DataType`` code, None when the IR has none
    (strings, complex, bfloat16, the float8 and 4-bit types, uint16/32/64)."""
    return _DTYPES.get(code)


def dims_of(type_proto: onnx.TypeProto) -> tuple[Dim, ...] | None:
    """The dims of a tensor ``TypeProto``: ``dim_value`` -> int, ``dim_param`` -> the
    symbol (str), neither -> None (unknown); None when the rank itself is unknown."""
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return None
    out: list[Dim] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return tuple(out)


def _compute_form(array: np.ndarray) -> np.ndarray:
    """As the reference interpreter holds values: floats in float64."""
    return array.astype(np.float64) if array.dtype.kind == "f" else array


class ImportContext:
    """State of one import (see the module docstring).

    Attributes:
        opset: the model's default-domain opset.
        nodes: the IR nodes appended so far, in order.
        types: IR value name -> :class:`TensorType` (inputs, constants, node outputs).
        consts: IR value name -> constant array (in its IR dtype), for every value known
            at import time.
        shape_values: IR value name -> the dims a 1-D integer value holds, where known.
        shape_of: a non-static shape value that is the whole shape of an IR value -> the
            name of that value.
        node: the ONNX node being converted (names helpers and errors), or None.
    """

    def __init__(self, opset: int, reserved_values: Iterable[str], reserved_nodes: Iterable[str]):
        self.opset = opset
        self.nodes: list[Node] = []
        self.types: dict[str, TensorType] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.shape_values: dict[str, tuple[Dim, ...]] = {}
        #: a non-static shape value that is the whole shape of an IR value -> that value
        #: (``ConstantOfShape(Shape(x))`` is ``full_like(x)``)
        self.shape_of: dict[str, str] = {}
        self.node: onnx.NodeProto | None = None
        self._names: dict[str, str] = {}  # ONNX tensor -> IR value
        self._values = Namespace(reserved_values)
        reserved_nodes = set(reserved_nodes)
        self._node_names = Namespace(reserved_nodes)
        #: ONNX node names not yet given to an IR node (each goes to its node's main op)
        self._unclaimed = reserved_nodes
        self._scope = "graph"
        self._symbolic: set[str] = set()
        #: inputs of the ``time_fold`` nodes made so far (see ``shape.reshape``)
        self.fold_sources: list[str] = []
        self._primary_name: str | None = None

    # ------------------------------------------------------------------ errors

    def error(self, detail: str, *, operand: int | None = None) -> OnnxImportError:
        """An :class:`OnnxImportError` naming the current node, its op type and the opset;
        ``operand``: the index of the node's input that must be known at import time but
        is not (recorded as the error's ``static_operand``, the ONNX tensor name)."""
        node = self.node
        if node is None:
            return OnnxImportError(detail, opset=self.opset,
                                   where=f"opset {self.opset}")
        static = (node.input[operand] if operand is not None and operand < len(node.input)
                  and node.input[operand] else None)
        return OnnxImportError(detail, node=node.name or next((o for o in node.output if o), "?"),
                               op_type=node.op_type, opset=self.opset, static_operand=static)

    # ------------------------------------------------------------------ the current node

    def begin(self, node: onnx.NodeProto) -> None:
        """Start converting ``node`` (helpers are scoped under its first output's name)."""
        self.node = node
        self._scope = (node.output[0] if node.output and node.output[0] else
                       node.name or node.op_type)
        if node.name and node.name in self._unclaimed:
            self._unclaimed.discard(node.name)
            self._primary_name: str | None = node.name
        else:
            self._primary_name = self._node_names.unique(node.name or self._scope)

    def attr(self, name: str, default: Any = None) -> Any:
        """The value of attribute ``name`` of the current node (bytes decoded to str,
        repeated fields as tuples), or ``default``."""
        for a in self.node.attribute:
            if a.name == name:
                if a.ref_attr_name:
                    raise self.error(f"attribute {name!r} refers to a function attribute")
                v = onnx.helper.get_attribute_value(a)
                if isinstance(v, bytes):
                    return v.decode("utf-8")
                if isinstance(v, list):
                    return tuple(x.decode("utf-8") if isinstance(x, bytes) else x for x in v)
                return v
        return default

    def n_inputs(self) -> int:
        """The number of inputs of the current node, trailing omitted ones dropped."""
        names = list(self.node.input)
        while names and not names[-1]:
            names.pop()
        return len(names)

    def input(self, index: int) -> str:
        """The IR value of the current node's input ``index`` (``""`` when omitted)."""
        names = self.node.input
        if index >= len(names) or not names[index]:
            return ""
        return self.lookup(names[index])

    def lookup(self, onnx_name: str) -> str:
        """The IR value of ONNX tensor ``onnx_name``.

        Raises:
            OnnxImportError: the tensor is not defined (yet).
        """
        try:
            return self._names[onnx_name]
        except KeyError:
            raise self.error(f"input {onnx_name!r} is not defined before this node "
                             f"(graph inputs, initializers and earlier nodes only)") from None

    def const(self, index: int) -> np.ndarray | None:
        """The constant value of input ``index``, or None when it is not known at import time
        (or omitted)."""
        name = self.input(index)
        return self.consts.get(name) if name else None

    def require_const(self, index: int, what: str) -> np.ndarray:
        """The constant value of input ``index``.

        Raises:
            OnnxImportError: the input is omitted or only known at run time.
        """
        value = self.const(index)
        if value is None:
            raise self.error(f"input {index} ({what}) must be known at import time (an "
                             f"initializer, a Constant or a static shape computation)",
                             operand=index)
        return value

    def type(self, name: str) -> TensorType:
        """The IR type of IR value ``name``."""
        return self.types[name]

    def shape_value(self, index: int) -> tuple[Dim, ...] | None:
        """The dims held by 1-D integer input ``index`` (constant or a ``Shape`` result),
        or None when unknown."""
        name = self.input(index)
        if not name:
            return None
        if name in self.shape_values:
            return self.shape_values[name]
        c = self.consts.get(name)
        if c is not None and c.ndim <= 1 and c.dtype.kind in "iu":
            return tuple(int(v) for v in np.atleast_1d(c))
        return None

    # ------------------------------------------------------------------ defining values

    def out(self, index: int = 0) -> str:
        """The IR name reserved for the current node's output ``index`` (the ONNX name)."""
        return self.node.output[index]

    def fresh(self, suffix: str) -> str:
        """A new unique IR value name ``<node output>/<suffix>``."""
        return self._values.unique(f"{self._scope}/{suffix}")

    def bind(self, onnx_name: str, ir_name: str) -> None:
        """Record that ONNX tensor ``onnx_name`` is IR value ``ir_name``."""
        self._names[onnx_name] = ir_name

    def alias(self, index: int, ir_name: str) -> None:
        """The current node's output ``index`` is IR value ``ir_name`` (Identity,
        Dropout in inference, a no-op Reshape...)."""
        self.bind(self.node.output[index], ir_name)

    def define_input(self, name: str, ttype: TensorType) -> None:
        """Declare graph input ``name`` (IR name = ONNX name)."""
        self.types[name] = ttype
        self.bind(name, name)

    def constant(self, array: Any, name: str | None = None, *, dtype: DType | None = None,
                 shape_value: Sequence[Dim] | None = None) -> str:
        """Define a constant (a weight if a node reads it) holding ``array``; returns its
        IR name (``name``, else fresh).

        Raises:
            OnnxImportError: the array's dtype has no IR equivalent.
        """
        arr = np.asarray(array)
        try:
            dt = dtype or DType.from_any(arr.dtype)
        except ValueError as e:
            raise self.error(str(e)) from None
        # (np.ascontiguousarray would turn a 0-d array into shape (1,))
        arr = np.asarray(arr.astype(dt.to_numpy(), copy=False), order="C")
        arr.flags.writeable = False
        ir = name or self.fresh("const")
        self._values.reserve(ir)
        self.consts[ir] = arr
        self.types[ir] = TensorType(dt, arr.shape)
        if shape_value is not None:
            self.shape_values[ir] = tuple(shape_value)
        return ir

    def derived(self, index: int, array: Any, suffix: str) -> str:
        """A constant computed from the current node's constant input ``index`` (a kernel
        in the IR's layout, a scaled bias...): the input's own IR value when ``array``
        equals it (same dtype, shape and bits), else a new weight named
        ``<input's ONNX name>/<suffix>`` (made unique), so imported weights stay
        recognisable by their initializer's name."""
        src = self.input(index)
        arr = np.asarray(array)
        orig = self.consts.get(src) if src else None
        if orig is not None and orig.dtype == arr.dtype and orig.shape == arr.shape \
                and np.array_equal(orig, arr):
            return src
        base = self.node.input[index] if src else self._scope
        return self.constant(arr, self._values.unique(f"{base}/{suffix}"))

    def symbolic(self, name: str, dims: Sequence[Dim], *, scalar: bool = False) -> str:
        """Define ``name`` as a shape value holding ``dims`` (some symbolic): known to the
        import only, never an IR value (a node reading it is refused)."""
        dims = tuple(dims)
        if scalar and len(dims) != 1:
            raise self.error(f"a scalar shape value needs one dim, got {list(dims)}")
        self._values.reserve(name)
        self.types[name] = TensorType(DType.INT64, () if scalar else (len(dims),))
        self.shape_values[name] = dims
        self._symbolic.add(name)
        return name

    def emit(self, op: str, inputs: Sequence[str], attrs: Mapping[str, Any] | None = None, *,
             out: str | None = None, fold: bool = True) -> str:
        """Append the IR node ``op(inputs) {attrs}``; returns its output's IR name (``out``,
        else fresh).  Its type comes from the op's type rule; when every input is a
        constant (and ``fold``), the node is evaluated now with the op's reference kernel
        and its result becomes a constant instead.

        Raises:
            OnnxImportError: the type rule rejects the inputs or attributes, or folding
                fails (the message says which IR op).
        """
        schema = get_schema(op)
        attrs = dict(attrs or {})
        for i in inputs:
            if i in self._symbolic:
                raise self.error(f"the shape value {i!r} holds symbolic dims "
                                 f"{list(self.shape_values[i])}: it cannot be computed with "
                                 f"at run time in the IR (only Reshape/Expand targets and "
                                 f"Gather/Slice/Concat/Unsqueeze/Squeeze of them are resolved)")
        problem = schema.check_attrs(attrs) or schema.check_arity(len(inputs))
        if problem:
            raise self.error(f"IR op {op}: {problem}")
        try:
            (ttype,) = schema.infer([self.types[i] if i else None for i in inputs], attrs)
        except TypeRuleError as e:
            raise self.error(f"IR op {op} rejects its inputs: {e}") from None
        name = out or self.fresh(op)
        if fold and all(i in self.consts for i in inputs if i) and any(inputs):
            try:
                with np.errstate(all="ignore"):
                    value = np.asarray(schema.kernel(
                        [_compute_form(self.consts[i]) if i else None for i in inputs], attrs))
            except (ValueError, IndexError, TypeError) as e:
                raise self.error(f"folding IR op {op} failed: {e}") from None
            self.constant(value, name, dtype=ttype.dtype)
            self._bind_output(name)
            return name
        self._values.reserve(name)
        primary = (out is not None and self.node is not None and out in self.node.output
                   and self._primary_name is not None)
        if primary:  # the node writing the ONNX node's output carries its name
            node_name, self._primary_name = self._primary_name, None
        else:
            node_name = self._node_names.unique(f"{self._scope}/{op}")
        self.nodes.append(Node(op, node_name, tuple(inputs),
                               (_value(name, ttype),), attrs))
        self.types[name] = ttype
        self._bind_output(name)
        return name

    def claim_name(self, value: str) -> None:
        """Give the current ONNX node's name to the IR node computing ``value`` (its main op,
        e.g. the ``conv2d`` between layout transposes) instead of the node that will write
        the ONNX output; no-op when ``value`` is not the last node's output or the name is
        taken already."""
        if self._primary_name is None or not self.nodes or self.nodes[-1].output.name != value:
            return
        self.nodes[-1] = attrs.evolve(self.nodes[-1], name=self._primary_name)
        self._primary_name = None

    def _bind_output(self, name: str) -> None:
        if self.node is not None and name in self.node.output:
            self.bind(name, name)

def _value(name: str, ttype: TensorType) -> Value:
    return Value(name, ttype)
