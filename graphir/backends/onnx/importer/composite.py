"""Converters of ONNX ops with no IR op of their own, imported as compositions of IR ops
in ONNX's own layout, each following the operator spec and the onnx package's reference
implementation (``onnx/reference/ops/op_<name>.py``):

* ``DepthToSpace`` (``DCR`` and ``CRD``) / ``SpaceToDepth``: ``reshape`` (the batch
  kept), ``transpose``, ``reshape`` (static C, H, W);
* ``IsNaN``: ``x != x``; ``Trilu``: ``where`` with a constant band mask over the two last
  (static) axes, ``k`` a constant;
* ``ReduceSumSquare`` / ``ReduceL1`` / ``ReduceL2`` / ``ReduceLogSum`` /
  ``ReduceLogSumExp``: ``square`` / ``abs`` then ``sum``, ``sqrt``, ``log``; the log-sum-exp
  with the max subtracted first (finite maxima only, as onnxruntime computes it);
* ``Shrink``, ``ThresholdedRelu``: comparisons and ``where``; ``Swish``: ``silu`` for
  ``alpha = 1``, else ``x * sigmoid(alpha x)``; ``Hardmax``: ``one_hot`` of ``argmax``;
* ``LpNormalization`` (``p = 2``): ``x / sqrt(sum(x^2))``, 0 where the norm is 0;
* ``RMSNormalization`` (opset 23, ``stash_type = 1``): ``x * reciprocal(sqrt(mean(x^2) +
  epsilon)) * scale`` over the axes from ``axis`` on;
* ``GroupNormalization`` (``num_groups``, per-channel scale and bias as in opset 21):
  ``reshape`` to ``(N, G, C/G, ...)``, mean and variance over each group, normalized,
  ``reshape`` back, ``* scale + bias`` per channel;
* ``TopK`` (largest, sorted, last axis, constant ``k``): ``top_k`` nodes, the indices
  cast to int64.

Refused by name: non-static sizes where a reshape or mask needs them, other ``p`` or
``stash_type`` values, a non-constant ``k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from .context import ImportContext
from .registry import imports
from .shape import _axes_input_or_attr, _norm

__all__: list[str] = []


def _static_dims(ctx: ImportContext, x: str, what: str) -> tuple[int, ...]:
    shape = ctx.type(x).shape
    if not all(isinstance(d, int) for d in shape[1:]):
        raise ctx.error(f"{what} needs static sizes after the batch axis, got {list(shape)}")
    return tuple(shape[1:])


def _scalar(ctx: ImportContext, x: str, value: Any) -> str:
    return ctx.constant(np.asarray(value, ctx.type(x).dtype.to_numpy()))


# --------------------------------------------------------------------------- data movement

@imports("DepthToSpace", attrs=("blocksize", "mode"))
def depth_to_space(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """NCHW: DCR reads channel ``(i * b + j) * C' + c``, CRD ``c * b * b + i * b + j``."""
    x = ctx.input(0)
    if ctx.type(x).rank != 4:
        raise ctx.error("DepthToSpace needs a rank-4 (N, C, H, W) input")
    c, h, w = _static_dims(ctx, x, "DepthToSpace")
    b = int(ctx.attr("blocksize"))
    mode = ctx.attr("mode", "DCR")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if c % (b * b):
        raise ctx.error(f"{c} channels are not a multiple of blocksize**2 = {b * b}")
    if mode == "DCR":
        first, perm = (b, b, c // (b * b), h, w), (0, 3, 4, 1, 5, 2)
    elif mode == "CRD":
        first, perm = (c // (b * b), b, b, h, w), (0, 1, 4, 2, 5, 3)
    else:
        raise ctx.error(f"mode {mode!r} is not supported")
    split = ctx.emit("reshape", [x], {"target_shape": first})
    moved = ctx.emit("transpose", [split], {"perm": perm})
    ctx.emit("reshape", [moved], {"target_shape": (c // (b * b), h * b, w * b)}, out=ctx.out())


@imports("SpaceToDepth", attrs=("blocksize",))
def space_to_depth(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """NCHW: the ``b x b`` blocks of each channel become ``b * b`` channels (DCR order)."""
    x = ctx.input(0)
    if ctx.type(x).rank != 4:
        raise ctx.error("SpaceToDepth needs a rank-4 (N, C, H, W) input")
    c, h, w = _static_dims(ctx, x, "SpaceToDepth")
    b = int(ctx.attr("blocksize"))
    if h % b or w % b:
        raise ctx.error(f"spatial size {h}x{w} is not a multiple of blocksize {b}")
    split = ctx.emit("reshape", [x], {"target_shape": (c, h // b, b, w // b, b)})
    moved = ctx.emit("transpose", [split], {"perm": (0, 3, 5, 1, 2, 4)})
    ctx.emit("reshape", [moved], {"target_shape": (c * b * b, h // b, w // b)}, out=ctx.out())


@imports("IsNaN")
def is_nan(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``x != x``."""
    x = ctx.input(0)
    ctx.emit("not_equal", [x, x], out=ctx.out())


@imports("Trilu", attrs=("upper",))
def trilu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``np.triu(x, k)`` / ``np.tril(x, k)``: ``where(mask, x, 0)``."""
    x = ctx.input(0)
    t = ctx.type(x)
    if t.rank < 2 or not all(isinstance(d, int) for d in t.shape[-2:]):
        raise ctx.error(f"Trilu needs static sizes on the two last axes, got {list(t.shape)}")
    k = int(np.asarray(ctx.require_const(1, "k")).reshape(-1)[0]) if ctx.n_inputs() > 1 \
        and ctx.input(1) else 0
    rows, cols = t.shape[-2:]
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    keep = offset >= k if int(ctx.attr("upper", 1)) else offset <= k
    ctx.emit("where", [ctx.constant(keep), x, _scalar(ctx, x, 0)], out=ctx.out())


# --------------------------------------------------------------------------- reductions

def _reduce_axes(ctx: ImportContext, x: str) -> tuple[tuple[int, ...], bool] | None:
    """The reduced axes and keepdims of a Reduce* node; None for a no-op."""
    rank = ctx.type(x).rank
    axes = _axes_input_or_attr(ctx, 1)
    keep = bool(int(ctx.attr("keepdims", 1)))
    if not axes:
        if int(ctx.attr("noop_with_empty_axes", 0)):
            return None
        axes = tuple(range(rank))
    return tuple(sorted(set(_norm(axes, rank, ctx)))), keep


_REDUCE_ATTRS = ("axes", "keepdims", "noop_with_empty_axes")


@imports("ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", attrs=_REDUCE_ATTRS)
def reduce_composite(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``sum(square(x))``, ``sum(abs(x))``, ``sqrt(sum(square(x)))``, ``log(sum(x))``."""
    x = ctx.input(0)
    op = node.op_type
    found = _reduce_axes(ctx, x)
    pre = {"ReduceSumSquare": "square", "ReduceL1": "abs", "ReduceL2": "square",
           "ReduceLogSum": None}[op]
    post = {"ReduceL2": "sqrt", "ReduceLogSum": "log"}.get(op)
    y = ctx.emit(pre, [x]) if pre else x
    if found is None:
        ctx.emit(post or "identity", [y], out=ctx.out())
        return
    axes, keep = found
    if post is None:
        ctx.emit("sum", [y], {"axes": axes, "keepdims": keep}, out=ctx.out())
        return
    total = ctx.emit("sum", [y], {"axes": axes, "keepdims": keep})
    ctx.emit(post, [total], out=ctx.out())


@imports("ReduceLogSumExp", attrs=_REDUCE_ATTRS)
def reduce_log_sum_exp(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``log(sum(exp(x - m))) + m`` with ``m`` the max over the axes (0 where it is not
    finite), the stable form of ``log(sum(exp(x)))``."""
    x = ctx.input(0)
    found = _reduce_axes(ctx, x)
    if found is None:
        ctx.emit("identity", [x], out=ctx.out())
        return
    axes, keep = found
    zero = _scalar(ctx, x, 0)
    raw = ctx.emit("max", [x], {"axes": axes, "keepdims": True})
    finite = ctx.emit("equal", [ctx.emit("subtract", [raw, raw]), zero])
    shift = ctx.emit("where", [finite, raw, zero])
    total = ctx.emit("sum", [ctx.emit("exp", [ctx.emit("subtract", [x, shift])])],
                     {"axes": axes, "keepdims": keep})
    if not keep:
        shift = ctx.emit("squeeze", [shift], {"axes": axes})
    ctx.emit("add", [ctx.emit("log", [total]), shift], out=ctx.out())


# --------------------------------------------------------------------------- activations

@imports("Shrink", attrs=("bias", "lambd"))
def shrink(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``x - bias`` above ``lambd``, ``x + bias`` below ``-lambd``, else 0."""
    x = ctx.input(0)
    bias, lambd = float(ctx.attr("bias", 0.0)), float(ctx.attr("lambd", 0.5))
    above = ctx.emit("greater", [x, _scalar(ctx, x, lambd)])
    below = ctx.emit("less", [x, _scalar(ctx, x, -lambd)])
    low = ctx.emit("where", [below, ctx.emit("add", [x, _scalar(ctx, x, bias)]),
                             _scalar(ctx, x, 0)])
    ctx.emit("where", [above, ctx.emit("subtract", [x, _scalar(ctx, x, bias)]), low],
             out=ctx.out())


@imports("ThresholdedRelu", attrs=("alpha",))
def thresholded_relu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``x`` where ``x > alpha``, else 0."""
    x = ctx.input(0)
    keep = ctx.emit("greater", [x, _scalar(ctx, x, float(ctx.attr("alpha", 1.0)))])
    ctx.emit("where", [keep, x, _scalar(ctx, x, 0)], out=ctx.out())


@imports("Swish", attrs=("alpha",))
def swish(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``x * sigmoid(alpha * x)``: the ``silu`` activation when ``alpha = 1``."""
    x = ctx.input(0)
    alpha = float(ctx.attr("alpha", 1.0))
    if alpha == 1.0:
        ctx.emit("activation", [x], {"function": "silu"}, out=ctx.out())
        return
    gate = ctx.emit("activation", [ctx.emit("multiply", [x, _scalar(ctx, x, alpha)])],
                    {"function": "sigmoid"})
    ctx.emit("multiply", [x, gate], out=ctx.out())


@imports("Hardmax", attrs=("axis",))
def hardmax(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """1 at the first maximum along ``axis`` (``np.argmax``), 0 elsewhere (float32)."""
    x = ctx.input(0)
    t = ctx.type(x)
    axis = _norm([int(ctx.attr("axis", -1))], t.rank, ctx)[0]
    depth = t.shape[axis]
    if not isinstance(depth, int):
        raise ctx.error("Hardmax along an axis of non-static size")
    if t.dtype.value != "float32":
        raise ctx.error(f"Hardmax of {t.dtype.value}; only float32 is supported")
    where = ctx.emit("argmax", [x], {"axis": axis, "keepdims": False,
                                     "negative_zero_as": None})
    ctx.emit("one_hot", [where], {"depth": depth, "axis": axis}, out=ctx.out())


# --------------------------------------------------------------------------- normalization

@imports("LpNormalization", attrs=("axis", "p"))
def lp_normalization(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``p = 2``: ``x / sqrt(sum(x^2, axis))``, 0 where the norm is 0."""
    x = ctx.input(0)
    if int(ctx.attr("p", 2)) != 2:
        raise ctx.error(f"p={ctx.attr('p')} is not supported (only the L2 norm)")
    axis = _norm([int(ctx.attr("axis", -1))], ctx.type(x).rank, ctx)[0]
    norm = ctx.emit("sqrt", [ctx.emit("sum", [ctx.emit("square", [x])],
                                      {"axes": (axis,), "keepdims": True})])
    zero = _scalar(ctx, x, 0)
    ctx.emit("where", [ctx.emit("equal", [norm, zero]), zero, ctx.emit("divide", [x, norm])],
             out=ctx.out())


@imports("RMSNormalization", attrs=("axis", "epsilon", "stash_type"))
def rms_normalization(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``x * reciprocal(sqrt(mean(x^2) + epsilon)) * scale`` over the axes ``axis..``."""
    x = ctx.input(0)
    if int(ctx.attr("stash_type", 1)) != 1:
        raise ctx.error(f"stash_type={ctx.attr('stash_type')} is not supported")
    rank = ctx.type(x).rank
    axis = _norm([int(ctx.attr("axis", -1))], rank, ctx)[0]
    mean = ctx.emit("mean", [ctx.emit("square", [x])], {"axes": tuple(range(axis, rank)),
                                                        "keepdims": True})
    eps = _scalar(ctx, x, float(ctx.attr("epsilon", 1e-5)))
    inv = ctx.emit("reciprocal", [ctx.emit("sqrt", [ctx.emit("add", [mean, eps])])])
    ctx.emit("multiply", [ctx.emit("multiply", [x, inv]), ctx.input(1)], out=ctx.out())


@imports("GroupNormalization", attrs=("epsilon", "num_groups", "stash_type"))
def group_normalization(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """Per sample and group of ``C / G`` channels: ``(x - mean) / sqrt(var + epsilon)``,
    then per channel ``* scale + bias`` (opset 21; opset 18's per-group scale and bias
    are repeated per channel, as opset 21's conversion does)."""
    x = ctx.input(0)
    t = ctx.type(x)
    dims = _static_dims(ctx, x, "GroupNormalization")
    groups = int(ctx.attr("num_groups"))
    if int(ctx.attr("stash_type", 1)) != 1:
        raise ctx.error(f"stash_type={ctx.attr('stash_type')} is not supported")
    c = dims[0]
    if c % groups:
        raise ctx.error(f"{c} channels do not split into {groups} groups")
    scale, bias = ctx.require_const(1, "scale"), ctx.require_const(2, "bias")
    if scale.shape == (groups,) and groups != c:
        scale, bias = np.repeat(scale, c // groups), np.repeat(bias, c // groups)
    if scale.shape != (c,) or bias.shape != (c,):
        raise ctx.error(f"scale/bias of shapes {scale.shape}/{bias.shape} for {c} channels")
    grouped = ctx.emit("reshape", [x], {"target_shape": (groups, c // groups, *dims[1:])})
    axes = tuple(range(2, t.rank + 1))
    mean = ctx.emit("mean", [grouped], {"axes": axes, "keepdims": True})
    var = ctx.emit("var", [grouped], {"axes": axes, "keepdims": True})
    eps = _scalar(ctx, x, float(ctx.attr("epsilon", 1e-5)))
    normed = ctx.emit("divide", [ctx.emit("subtract", [grouped, mean]),
                                 ctx.emit("sqrt", [ctx.emit("add", [var, eps])])])
    back = ctx.emit("reshape", [normed], {"target_shape": dims})
    per_channel = (c,) + (1,) * (len(dims) - 1)
    dt = t.dtype.to_numpy()
    scaled = ctx.emit("multiply", [back, ctx.constant(scale.reshape(per_channel).astype(dt))])
    ctx.emit("add", [scaled, ctx.constant(bias.reshape(per_channel).astype(dt))],
             out=ctx.out())


@imports("TopK", attrs=("axis", "largest", "sorted"))
def top_k(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``top_k`` nodes (``values``; ``indices`` cast to ONNX's int64) for the largest
    entries, sorted, along the last axis, with a constant ``k``."""
    x = ctx.input(0)
    rank = ctx.type(x).rank
    if _norm([int(ctx.attr("axis", -1))], rank, ctx)[0] != rank - 1:
        raise ctx.error("TopK along an axis other than the last is not supported")
    if not int(ctx.attr("largest", 1)) or not int(ctx.attr("sorted", 1)):
        raise ctx.error("only largest=1, sorted=1 TopK is supported")
    k = int(np.asarray(ctx.require_const(1, "k")).reshape(-1)[0])
    ctx.emit("top_k", [x], {"k": k, "result": "values"}, out=ctx.out(0))
    if len(node.output) > 1 and node.output[1]:
        idx = ctx.emit("top_k", [x], {"k": k, "result": "indices"})
        ctx.emit("cast", [idx], {"to": "int64"}, out=ctx.out(1))
