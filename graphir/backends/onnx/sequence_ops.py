"""ONNX emitters of the sequence ops (:mod:`graphir.ops.sequence`), registered with
:func:`~graphir.backends.onnx.registry.emits`.

All three compute on the NHWC (native, IR-order) form of their data input and write
the NHWC form (layout class ``Layout.CHANNELS_LAST``).  The
folded tensor of ``time_fold`` is channels-last like the IR, so an NCHW op inside a
``TimeDistributed`` (a Conv2D on ``(N*T, H, W, C)``) transposes as anywhere else.

Operator semantics: the ONNX operator specs (https://onnx.ai/onnx/operators/):
``Unsqueeze``-13 and ``Expand``-13 (bidirectional broadcast), ``Reshape``-14
(``-1`` infers a dim; ``0`` copies the input dim unless ``allowzero=1``), ``Shape``-15
(``start``/``end`` slice the shape), ``ReduceProd``-18 (no ``axes``: all axes),
``Concat``-13, ``Gather``-13.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from graphir.ir import Node

from .context import MIN_CHANNELS_FIRST_RANK, NCHW, NHWC, OnnxEmitContext, layout_perm
from .registry import emits

__all__ = ["repeat_vector", "time_fold", "time_unfold"]


@emits("repeat_vector")
def repeat_vector(ctx: OnnxEmitContext, node: Node) -> None:
    """``(N, D) -> (N, n, D)``: ``Unsqueeze(x, [1])`` to ``(N, 1, D)`` then ``Expand`` to
    the shape ``[1, n, 1]`` (broadcasting copies the size-1 axis ``n`` times)."""
    x = ctx.get(node.inputs[0])
    axes = ctx.constant(np.asarray([1], np.int64), "axes")
    unsqueezed = ctx.add("Unsqueeze", [x, axes])
    shape = ctx.constant(np.asarray([1, node.attrs["n"], 1], np.int64), "shape")
    ctx.add("Expand", [unsqueezed, shape], ctx.define(node.output.name, NHWC))


def _static(dims: Sequence) -> bool:
    return all(isinstance(d, int) for d in dims)


def _reshape(ctx: OnnxEmitContext, node: Node, data: str, parts: Sequence[str | list[int]]) -> None:
    """``Reshape(data, concat(parts))`` into the node's NHWC output.

    Each part is a list of static sizes or the name of a 1-D int64 tensor computed at
    run time.  The shape has no ``-1``; ``allowzero=1`` (a ``0`` is a size, not "copy
    the input dim") is set whenever a size may be zero: a run-time part, or a static 0.
    """
    out = ctx.define(node.output.name, NHWC)
    if all(isinstance(p, list) for p in parts):
        static = [d for p in parts for d in p]
        shape = ctx.constant(np.asarray(static, np.int64), "shape")
        ctx.add("Reshape", [data, shape], out, **({"allowzero": 1} if 0 in static else {}))
        return
    names = [p if isinstance(p, str) else ctx.constant(np.asarray(p, np.int64), "dims")
             for p in parts if not (isinstance(p, list) and not p)]
    shape = names[0] if len(names) == 1 else ctx.add("Concat", names, axis=0)
    ctx.add("Reshape", [data, shape], out, allowzero=1)


@emits("time_fold")
def time_fold(ctx: OnnxEmitContext, node: Node) -> None:
    """``(N, T, *S) -> (N * T, *S)``: one ``Reshape`` of the NHWC form (row-major, as the
    IR).  The shape is a constant when ``S`` is static and has no zero: ``[N*T, *S]``
    when ``N`` and ``T`` are static too, else ``[-1, *S]``.  Otherwise it is computed:
    ``Concat(ReduceProd(Shape(x, end=2)), Shape(x, start=2))`` (static parts as
    constants), with ``allowzero=1``."""
    x_name = node.inputs[0]
    shape = ctx.types[x_name].shape
    x = ctx.get(x_name)
    n, t, rest = shape[0], shape[1], list(shape[2:])
    out = ctx.define(node.output.name, NHWC)
    if _static(rest) and 0 not in rest:
        lead = n * t if _static((n, t)) else -1
        target = ctx.constant(np.asarray([lead, *rest], np.int64), "shape")
        ctx.add("Reshape", [x, target], out, **({"allowzero": 1} if lead == 0 else {}))
        return
    if _static((n, t)):
        lead: str | list[int] = [n * t]
    else:
        lead = ctx.add("ReduceProd", [ctx.add("Shape", [x], end=2)], keepdims=1)
    tail: str | list[int] = rest if _static(rest) else ctx.add("Shape", [x], start=2)
    _reshape(ctx, node, x, [lead, tail])


def _batch_and_time(ctx: OnnxEmitContext, x_name: str) -> str:
    """A 1-D int64 tensor ``[N, T]``: IR axes 0 and 1 of ``x``, read from the shape of
    whichever form of ``x`` exists (the NHWC form when it does, so no Transpose is
    added for a value that is only a shape reference)."""
    rank = ctx.rank(x_name)
    if ctx.has(x_name, NHWC) or rank < MIN_CHANNELS_FIRST_RANK:
        return ctx.add("Shape", [ctx.get(x_name, NHWC)], start=0, end=2)
    perm = layout_perm(NCHW, rank)
    idx = ctx.constant(np.asarray([perm.index(0), perm.index(1)], np.int64), "indices")
    return ctx.add("Gather", [ctx.add("Shape", [ctx.get(x_name, NCHW)]), idx], axis=0)


@emits("time_unfold")
def time_unfold(ctx: OnnxEmitContext, node: Node) -> None:
    """``(N * T, *S') -> (N, T, *S')``: one ``Reshape`` of the NHWC form of ``y`` to
    ``[N, T, *S']``; ``[N, T]`` is a constant when static, else read from ``x``'s shape;
    ``S'`` is a constant when static, else ``Shape(y, start=1)``."""
    y_name, x_name = node.inputs
    n, t = ctx.types[x_name].shape[:2]
    rest = list(ctx.types[y_name].shape[1:])
    y = ctx.get(y_name)
    lead: str | list[int] = [n, t] if _static((n, t)) else _batch_and_time(ctx, x_name)
    tail: str | list[int] = rest if _static(rest) else ctx.add("Shape", [y], start=1)
    _reshape(ctx, node, y, [lead, tail])

