"""ONNX emitters of the primitive reductions and linear algebra
(:mod:`graphir.ops.reduction`).

Every op of the group is of layout class ``Layout.CHANNELS_LAST``: it reads its
inputs in the IR's own axis order (``ctx.get(name)``, NHWC), so the ``axes`` /
``axis`` attributes apply unchanged.  Operator semantics: the ONNX operator specs
(https://onnx.ai/onnx/operators/):

* ``sum`` / ``mean`` / ``max`` / ``min`` / ``prod``: ``ReduceSum`` (axes an input
  from opset 13) / ``ReduceMean`` / ``ReduceMax`` / ``ReduceMin`` / ``ReduceProd``
  (axes an input from opset 18, an attribute before); ``keepdims`` as given.  Empty
  ``axes`` (reduce nothing) is an ``Identity``: an empty axes input would mean "all
  axes" to ONNX.
* ``var``: ``ReduceMean(keepdims=1)``, ``Sub``, ``Mul``, ``ReduceMean`` (TensorFlow's
  two-pass ``reduce_variance``); ``std``: the same, then ``Sqrt``.
* ``argmax`` / ``argmin``: ``ArgMax`` / ``ArgMin`` (``select_last_index=0``: the first
  index on ties), then ``Cast`` to int32.  With ``negative_zero_as`` set, each -0.0 is
  first replaced: ``Where(And(Equal(x, 0), Less(Reciprocal(x), 0)), v, x)`` (only -0.0
  is zero with a negative reciprocal); a float16 input is first cast to float32
  (exactly), where ``v`` is representable.
* ``cumsum``: ``CumSum`` (axis an input);
* ``top_k``: one ``TopK`` (``axis=-1``, ``largest=1``, ``sorted=1``: ties in index
  order, as TensorFlow) shared by the ``values`` and ``indices`` nodes of one call, the
  int64 indices cast to int32;
* ``matmul``: ``MatMul`` (NumPy semantics); ``einsum``: ``Einsum`` (opset 12) with the
  node's equation.
"""

from __future__ import annotations

import weakref

import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.ir import Node

from .context import NHWC, OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["arg_extremum", "einsum", "matmul", "reduce", "variance"]

_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
           "prod": "ReduceProd"}
#: the first opset where each Reduce op takes ``axes`` as an input
_AXES_INPUT_FROM = {"ReduceSum": 13}


def _reduce(ctx: OnnxEmitContext, op_type: str, x: str, axes, keepdims: bool,
            output: str | None = None) -> str:
    """One ``op_type`` node over ``axes`` of ONNX tensor ``x`` (an ``Identity`` when
    ``axes`` is empty); returns its output."""
    if not axes:
        return ctx.add("Identity", [x], output)
    if ctx.opset >= _AXES_INPUT_FROM.get(op_type, 18):
        axes_name = ctx.constant(np.asarray(axes, np.int64), "axes")
        return ctx.add(op_type, [x, axes_name], output, keepdims=int(keepdims))
    return ctx.add(op_type, [x], output, axes=list(axes), keepdims=int(keepdims))


@emits(*_REDUCE)
def reduce(ctx: OnnxEmitContext, node: Node) -> None:
    """``Reduce<Op>`` over the node's axes, in the IR's axis order."""
    _reduce(ctx, _REDUCE[node.op], ctx.get(node.inputs[0]), tuple(node.attrs["axes"]),
            node.attrs["keepdims"], ctx.define(node.output.name, NHWC))


@emits("var", "std")
def variance(ctx: OnnxEmitContext, node: Node) -> None:
    """``mean((x - mean(x)) ** 2)``, then ``Sqrt`` for ``std``."""
    axes, keepdims = tuple(node.attrs["axes"]), node.attrs["keepdims"]
    x = ctx.get(node.inputs[0])
    out = ctx.define(node.output.name, NHWC)
    m = _reduce(ctx, "ReduceMean", x, axes, True)
    d = ctx.add("Sub", [x, m])
    v = _reduce(ctx, "ReduceMean", ctx.add("Mul", [d, d]), axes, keepdims,
                out if node.op == "var" else None)
    if node.op == "std":
        ctx.add("Sqrt", [v], out)


@emits("argmax", "argmin")
def arg_extremum(ctx: OnnxEmitContext, node: Node) -> None:
    """``ArgMax`` / ``ArgMin`` (first index on ties) cast to int32, after the -0.0
    replacement when ``negative_zero_as`` is set."""
    x = ctx.get(node.inputs[0])
    nz = node.attrs["negative_zero_as"]
    if nz is not None:
        dtype = ctx.dtype(node.inputs[0])
        if dtype is DType.FLOAT16:  # float32 holds every float16 and the replacement value
            dtype = DType.FLOAT32
            x = ctx.add("Cast", [x], to=onnx_elem_type(dtype))
        zero = ctx.scalar(0.0, dtype, "zero")
        is_zero = ctx.add("Equal", [x, zero])
        negative = ctx.add("Less", [ctx.add("Reciprocal", [x]), zero])
        x = ctx.add("Where", [ctx.add("And", [is_zero, negative]),
                              ctx.scalar(nz, dtype, "negative_zero"), x])
    index = ctx.add("ArgMax" if node.op == "argmax" else "ArgMin", [x],
                    axis=node.attrs["axis"], keepdims=int(node.attrs["keepdims"]),
                    select_last_index=0)
    ctx.add("Cast", [index], ctx.define(node.output.name, NHWC), to=onnx.TensorProto.INT32)


@emits("cumsum")
def cumsum(ctx: OnnxEmitContext, node: Node) -> None:
    """``CumSum(x, axis)`` (inclusive, forward), the axis an int64 scalar initializer."""
    axis = ctx.constant(np.asarray(node.attrs["axis"], np.int64), "axis")
    ctx.add("CumSum", [ctx.get(node.inputs[0]), axis], ctx.define(node.output.name, NHWC))


@emits("matmul")
def matmul(ctx: OnnxEmitContext, node: Node) -> None:
    """``MatMul`` of the two inputs (NumPy semantics)."""
    ctx.add("MatMul", [ctx.get(n) for n in node.inputs], ctx.define(node.output.name, NHWC))


@emits("einsum")
def einsum(ctx: OnnxEmitContext, node: Node) -> None:
    """``Einsum`` with the node's (canonical) equation."""
    ctx.add("Einsum", [ctx.get(n) for n in node.inputs], ctx.define(node.output.name, NHWC),
            equation=node.attrs["equation"])


#: per emission context: the ONNX ``(values, indices)`` of each ``top_k`` call, keyed by
#: the nodes' input and ``k`` (the values and indices nodes of one call share them)
_TOP_K: "weakref.WeakKeyDictionary[OnnxEmitContext, dict]" = weakref.WeakKeyDictionary()


@emits("top_k")
def top_k(ctx: OnnxEmitContext, node: Node) -> None:
    """TopK (opset 11) once per call, its output ``result`` defined as this node."""
    calls = _TOP_K.setdefault(ctx, {})
    key = (node.inputs[0], node.attrs["k"])
    if key not in calls:
        k = ctx.constant(np.asarray([node.attrs["k"]], np.int64), "k")
        values, indices = ctx.fresh("values"), ctx.fresh("indices")
        ctx.nodes.append(onnx.helper.make_node(
            "TopK", [ctx.get(node.inputs[0]), k], [values, indices],
            name=ctx.node_name(f"{node.name}/TopK"), axis=-1, largest=1, sorted=1))
        calls[key] = (values, indices)
    values, indices = calls[key]
    out = ctx.define(node.output.name, NHWC)
    if node.attrs["result"] == "values":
        ctx.add("Identity", [values], out)
    else:
        ctx.add("Cast", [indices], out, to=onnx_elem_type(DType.INT32))
