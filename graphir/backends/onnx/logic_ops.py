"""ONNX emitters of the comparison and logic ops (:mod:`graphir.ops.logic`).

All are of layout class ``Layout.ANY``: they compute in the layout their inputs
already have (:meth:`~graphir.backends.onnx.context.OnnxEmitContext.layout_for`).
Operator semantics: the ONNX operator specs (https://onnx.ai/onnx/operators/), all
with multidirectional (NumPy) broadcasting:

* ``equal`` -> ``Equal``-13 (exact IEEE comparison: NaN equals nothing, as
  ``tf.equal``); ``not_equal`` -> ``Not(Equal)`` (ONNX has no NotEqual; NaN != NaN
  is then true, as ``tf.not_equal``);
* ``less`` / ``less_equal`` / ``greater`` / ``greater_equal`` -> ``Less``-13 /
  ``LessOrEqual``-16 / ``Greater``-13 / ``GreaterOrEqual``-16;
* ``logical_and`` / ``logical_or`` / ``logical_xor`` / ``logical_not`` -> ``And`` /
  ``Or`` / ``Xor`` / ``Not`` (bool tensors);
* ``where`` -> ``Where``-16.  onnxruntime's CPU provider has no ``Where`` kernel for
  ``bool`` and ``int16`` data (the ONNX spec allows both), so those are selected as
  ``uint8`` / ``int32`` between two ``Cast`` s, which is exact.
"""

from __future__ import annotations

from graphir.dtypes import DType
from graphir.ir import Node

from .context import OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_and", "logical_or", "logical_xor", "logical_not", "where"]

#: data dtypes onnxruntime (CPU) cannot select with Where -> the dtype selected instead
_WHERE_WIDER = {DType.BOOL: DType.UINT8, DType.INT16: DType.INT32}


def _elementwise(ctx: OnnxEmitContext, node: Node, op_type: str) -> None:
    """One ``op_type`` node over all the inputs, in their common layout."""
    layout = ctx.layout_for(node.inputs)
    ctx.add(op_type, [ctx.get(n, layout) for n in node.inputs],
            ctx.define(node.output.name, layout))


@emits("equal")
def equal(ctx: OnnxEmitContext, node: Node) -> None:
    """Equal of the two inputs."""
    _elementwise(ctx, node, "Equal")


@emits("not_equal")
def not_equal(ctx: OnnxEmitContext, node: Node) -> None:
    """Not(Equal) of the two inputs."""
    layout = ctx.layout_for(node.inputs)
    eq = ctx.add("Equal", [ctx.get(n, layout) for n in node.inputs])
    ctx.add("Not", [eq], ctx.define(node.output.name, layout))


@emits("less")
def less(ctx: OnnxEmitContext, node: Node) -> None:
    """Less of the two inputs."""
    _elementwise(ctx, node, "Less")


@emits("less_equal")
def less_equal(ctx: OnnxEmitContext, node: Node) -> None:
    """LessOrEqual of the two inputs."""
    _elementwise(ctx, node, "LessOrEqual")


@emits("greater")
def greater(ctx: OnnxEmitContext, node: Node) -> None:
    """Greater of the two inputs."""
    _elementwise(ctx, node, "Greater")


@emits("greater_equal")
def greater_equal(ctx: OnnxEmitContext, node: Node) -> None:
    """GreaterOrEqual of the two inputs."""
    _elementwise(ctx, node, "GreaterOrEqual")


@emits("logical_and")
def logical_and(ctx: OnnxEmitContext, node: Node) -> None:
    """And of the two bool inputs."""
    _elementwise(ctx, node, "And")


@emits("logical_or")
def logical_or(ctx: OnnxEmitContext, node: Node) -> None:
    """Or of the two bool inputs."""
    _elementwise(ctx, node, "Or")


@emits("logical_xor")
def logical_xor(ctx: OnnxEmitContext, node: Node) -> None:
    """Xor of the two bool inputs."""
    _elementwise(ctx, node, "Xor")


@emits("logical_not")
def logical_not(ctx: OnnxEmitContext, node: Node) -> None:
    """Not of the bool input."""
    _elementwise(ctx, node, "Not")


@emits("where")
def where(ctx: OnnxEmitContext, node: Node) -> None:
    """Where(condition, x, y); bool and int16 data selected in a wider type (see the
    module docstring)."""
    dtype = node.output.type.dtype
    wider = _WHERE_WIDER.get(dtype)
    layout = ctx.layout_for(node.inputs)
    cond, x, y = (ctx.get(n, layout) for n in node.inputs)
    out = ctx.define(node.output.name, layout)
    if wider is None:
        ctx.add("Where", [cond, x, y], out)
        return
    to = onnx_elem_type(wider)
    picked = ctx.add("Where", [cond, ctx.add("Cast", [x], to=to), ctx.add("Cast", [y], to=to)])
    ctx.add("Cast", [picked], out, to=onnx_elem_type(dtype))
