"""Layout helpers of the importer: ONNX's channels-first tensors and the IR's
channels-last ops, related by explicit ``transpose`` nodes.

An ONNX tensor of rank ``r + 2`` read by a channels-first op (Conv, pools, Resize...)
is ``NCHW``; the IR op reads ``transpose(x, to_channels_last(rank))`` and its result is
put back with ``transpose(y, to_channels_first(rank))``, so every imported value keeps
ONNX's own axis order.  The pairs that meet are removed afterwards by
:func:`graphir.passes.cancel_transposes`.
"""

from __future__ import annotations

from .context import ImportContext

__all__ = ["nchw", "nhwc", "to_channels_first", "to_channels_last"]


def to_channels_last(rank: int) -> tuple[int, ...]:
    """``perm`` of NCHW -> NHWC for ``rank``: ``(0, 2, ..., rank-1, 1)``."""
    return (0,) + tuple(range(2, rank)) + (1,)


def to_channels_first(rank: int) -> tuple[int, ...]:
    """``perm`` of NHWC -> NCHW for ``rank``: ``(0, rank-1, 1, ..., rank-2)``."""
    return (0, rank - 1) + tuple(range(1, rank - 1))


def nhwc(ctx: ImportContext, x: str) -> str:
    """``transpose(x)`` from ONNX's channels-first to the IR's channels-last layout."""
    return ctx.emit("transpose", [x], {"perm": to_channels_last(ctx.type(x).rank)})


def nchw(ctx: ImportContext, y: str, out: str | None = None) -> str:
    """``transpose(y)`` from channels-last back to ONNX's channels-first layout; the node
    computing ``y`` takes the ONNX node's name (:meth:`ImportContext.claim_name`)."""
    ctx.claim_name(y)
    return ctx.emit("transpose", [y], {"perm": to_channels_first(ctx.type(y).rank)}, out=out)
