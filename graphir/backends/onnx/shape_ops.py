"""ONNX emitters of the shape ops: ``reshape``, ``flatten``, ``permute`` and
``concatenate``.

Each emitter ``(ctx, node) -> None`` is registered with
:func:`~graphir.backends.onnx.registry.emits`; see :mod:`graphir.backends.onnx.context`
for the layout map.  ``reshape`` and ``flatten`` read and write NHWC (row-major order
is the IR's); ``permute`` is one Transpose from whichever layout its input has;
``concatenate`` computes in its inputs' common layout.  Operator semantics: the ONNX
operator specs (https://onnx.ai/onnx/operators/) at ``ctx.opset`` (>= 18).
"""

from __future__ import annotations

import numpy as np

from graphir.ir import Node

from .context import MIN_CHANNELS_FIRST_RANK, NCHW, NHWC, OnnxEmitContext, layout_perm
from .nn_ops import onnx_axis, unsupported
from .registry import emits

__all__ = ["reshape", "flatten", "permute", "concatenate"]


@emits("reshape")
def reshape(ctx: OnnxEmitContext, node: Node) -> None:
    """Reshape (opset 14) on NHWC data to ``[0, *target_shape]`` (0 keeps the batch)."""
    target = node.attrs["target_shape"]
    if 0 in target:
        raise unsupported(node, f"target_shape {target} has a zero-sized dim")
    shape = ctx.constant(np.asarray((0,) + tuple(target), np.int64), "shape")
    ctx.add("Reshape", [ctx.get(node.inputs[0]), shape], ctx.define(node.output.name, NHWC))


@emits("flatten")
def flatten(ctx: OnnxEmitContext, node: Node) -> None:
    """Flatten (opset 13, axis=1) on NHWC data: row-major like Keras Flatten."""
    ctx.add("Flatten", [ctx.get(node.inputs[0])], ctx.define(node.output.name, NHWC), axis=1)


@emits("permute")
def permute(ctx: OnnxEmitContext, node: Node) -> None:
    """One Transpose from whichever layout the input has (Identity when that layout
    already is the permuted order, e.g. ``Permute((3, 1, 2))`` of an NCHW value)."""
    x_name = node.inputs[0]
    rank = ctx.rank(x_name)
    src = NHWC if ctx.has(x_name, NHWC) or rank < MIN_CHANNELS_FIRST_RANK else NCHW
    src_perm = layout_perm(src, rank)
    q = [src_perm.index(a) for a in (0,) + tuple(node.attrs["dims"])]
    x, out = ctx.get(x_name, src), ctx.define(node.output.name, NHWC)
    if q == list(range(rank)):
        ctx.add("Identity", [x], out)
    else:
        ctx.add("Transpose", [x], out, perm=q)


@emits("concatenate")
def concatenate(ctx: OnnxEmitContext, node: Node) -> None:
    """Concat (opset 13) on the ONNX axis of the IR axis, in the inputs' common layout."""
    layout = ctx.layout_for(node.inputs)
    axis = onnx_axis(node, ctx, node.attrs["axis"], layout)
    ctx.add("Concat", [ctx.get(n, layout) for n in node.inputs],
            ctx.define(node.output.name, layout), axis=axis)
