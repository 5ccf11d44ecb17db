"""ONNX emitters of the primitive arithmetic ops (:mod:`graphir.ops.arithmetic`):
``divide`` and ``cast``, one ONNX node each.

Both are of layout class ``Layout.ANY``: they compute in the layout their inputs
already have (:meth:`~graphir.backends.onnx.context.OnnxEmitContext.layout_for`).
Operator semantics: the ONNX operator specs (https://onnx.ai/onnx/operators/):
``Div``-14 (multidirectional broadcasting) and ``Cast``-13 (float to integer
truncates toward zero; to ``bool``, nonzero is true).
"""

from __future__ import annotations

from graphir.dtypes import DType
from graphir.ir import Node

from .context import OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["divide", "cast"]


@emits("divide")
def divide(ctx: OnnxEmitContext, node: Node) -> None:
    """Div of the two inputs, in their common layout."""
    layout = ctx.layout_for(node.inputs)
    ctx.add("Div", [ctx.get(n, layout) for n in node.inputs],
            ctx.define(node.output.name, layout))


@emits("cast")
def cast(ctx: OnnxEmitContext, node: Node) -> None:
    """Cast to the element type of ``to``, in the input's layout."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    ctx.add("Cast", [ctx.get(x_name, layout)], ctx.define(node.output.name, layout),
            to=onnx_elem_type(DType(node.attrs["to"])))
