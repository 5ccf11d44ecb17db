"""ONNX emitters of the primitive shape and indexing ops (:mod:`graphir.ops.indexing`).

All of them are of layout class ``Layout.CHANNELS_LAST``: their axes are IR (NHWC)
axes, so each reads its inputs in NHWC (``ctx.get(name)``) and writes NHWC.  Operator
semantics: the ONNX operator specs (https://onnx.ai/onnx/operators/) at ``ctx.opset``
(>= 18):

* ``transpose`` -> ``Transpose``; ``expand_dims`` -> ``Unsqueeze`` (axes input);
  ``squeeze`` -> ``Squeeze`` (axes input);
* ``slice`` -> ``Slice`` over the axes that are not a full ``::`` (its clamping is
  Python's); ``flip`` -> ``Slice`` with ``starts=-1, ends=INT64_MIN, steps=-1``;
  an op that changes nothing is an ``Identity``;
* ``gather`` -> ``Gather`` (negative indices count from the end, as in the IR);
* ``take_along_axis`` -> ``GatherElements``, after an ``Expand`` of both inputs to
  their broadcast shape when their non-axis dims are not the same (GatherElements does
  not broadcast);
* ``scatter_nd_update`` -> ``ScatterND`` (no reduction) with int64 indices;
* ``tile`` -> ``Tile``; ``repeat`` -> ``Unsqueeze`` + ``Tile`` + ``Reshape`` (the
  target shape computed from ``Shape``, so symbolic dims work);
* ``broadcast_to`` -> ``Expand`` (a ``-1`` entry becomes 1: Expand's bidirectional
  broadcast keeps the input's dim there);
* ``pad`` -> ``Pad`` (mode ``constant`` with the value in the data's dtype, or
  ``reflect``);
* ``stack`` -> ``Unsqueeze`` of each input + ``Concat``;
* ``full_like`` -> ``ConstantOfShape`` of ``Shape(x)`` (symbolic dims work);
* ``array_reshape`` -> ``Reshape`` with the int64 shape (``allowzero=0``; the shape has
  no zeros);
* ``dynamic_reshape`` -> ``Reshape`` of a shape computed with ``Shape`` / ``Mul`` /
  ``Div`` / ``Concat`` from its inputs' shapes (a constant when at most one size is
  not static);
* ``one_hot`` -> ``OneHot`` with values ``[0, 1]`` (float32) after the indices are
  made int64 and negative ones replaced by ``depth`` (``tf.one_hot`` writes zeros for
  them; ONNX would count them from the end).

Emitters never import a reference kernel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from onnx import numpy_helper

from graphir.dtypes import DType
from graphir.ir import Node
from graphir.ops.indexing import SLICE_BEGIN, SLICE_END
from graphir.size_exprs import parse_size

from .context import MIN_CHANNELS_FIRST_RANK, NCHW, NHWC, OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["transpose", "expand_dims", "squeeze", "slice_", "gather", "take_along_axis",
           "scatter_nd_update", "tile", "repeat", "broadcast_to", "pad", "flip", "stack", "one_hot",
           "full_like", "array_reshape", "dynamic_reshape"]


def _ints(ctx: OnnxEmitContext, values: Sequence[int], suffix: str) -> str:
    """A 1-D int64 initializer of ``values``."""
    return ctx.constant(np.asarray(list(values), np.int64), suffix)


def _out(ctx: OnnxEmitContext, node: Node) -> str:
    return ctx.define(node.output.name, NHWC)


@emits("transpose")
def transpose(ctx: OnnxEmitContext, node: Node) -> None:
    """Transpose with ``perm``; no node at all for a change of layout (rank >= 3).

    The IR of a channels-first Keras layer is ``transpose(x, (0, 2, .., r-1, 1)) -> op ->
    transpose(y, (0, r-1, 1, .., r-2))``: the first result's NCHW form (the layout map of
    :mod:`.context`) *is* ``x``, and the second's native form *is* ``y``'s NCHW form, which
    the channels-first ONNX op (Conv, MaxPool...) wrote anyway.  Those forms are recorded
    as aliases (:meth:`~.context.OnnxEmitContext.alias`), so a channels-first CNN computes
    in NCHW with no Transpose at all.  (At rank 3 both permutations are ``(0, 2, 1)``:
    the second reading is used when the input already exists as NCHW.)  A graph output
    keeps its IR name: an ``Identity`` of the aliased tensor then."""
    x, out_name = node.inputs[0], node.output.name
    perm = tuple(node.attrs["perm"])
    rank = len(perm)
    to_last = (0,) + tuple(range(2, rank)) + (1,)
    to_first = (0, rank - 1) + tuple(range(1, rank - 1))
    if rank >= MIN_CHANNELS_FIRST_RANK and perm == to_first and (
            perm != to_last or ctx.has(x, NCHW)):
        source = ctx.get(x, NCHW)  # materialized once (cached) when x had no NCHW form
        if out_name in ctx.graph.outputs:
            ctx.add("Identity", [source], _out(ctx, node))
        else:
            ctx.alias(out_name, NHWC, source)
        return
    if rank >= MIN_CHANNELS_FIRST_RANK and perm == to_last:
        ctx.alias(out_name, NCHW, ctx.get(x))
        if out_name in ctx.graph.outputs:
            ctx.get(out_name, NHWC)
        return
    ctx.add("Transpose", [ctx.get(x)], _out(ctx, node), perm=list(perm))


@emits("expand_dims")
def expand_dims(ctx: OnnxEmitContext, node: Node) -> None:
    """Unsqueeze (opset 13: axes as an input)."""
    ctx.add("Unsqueeze", [ctx.get(node.inputs[0]), _ints(ctx, node.attrs["axes"], "axes")],
            _out(ctx, node))


@emits("squeeze")
def squeeze(ctx: OnnxEmitContext, node: Node) -> None:
    """Squeeze (opset 13: axes as an input; never empty, which would squeeze every 1)."""
    ctx.add("Squeeze", [ctx.get(node.inputs[0]), _ints(ctx, node.attrs["axes"], "axes")],
            _out(ctx, node))


def _slice(ctx: OnnxEmitContext, node: Node, x: str, bounds: Sequence[tuple[int, int, int, int]]
           ) -> None:
    """Slice of ``x`` over ``(axis, start, end, step)`` entries (Identity when none)."""
    if not bounds:
        ctx.add("Identity", [x], _out(ctx, node))
        return
    axes, starts, ends, steps = zip(*bounds)
    ctx.add("Slice", [x, _ints(ctx, starts, "starts"), _ints(ctx, ends, "ends"),
                      _ints(ctx, axes, "axes"), _ints(ctx, steps, "steps")], _out(ctx, node))


@emits("slice")
def slice_(ctx: OnnxEmitContext, node: Node) -> None:
    """Slice (opset 13) over the axes that are not a full ``::``; its start/end clamping
    is Python's for both step signs."""
    a = node.attrs
    # an axis sliced 0:END:1 (a bound past 2**62 is past every dim) is left out
    bounds = [(i, s, e, k) for i, (s, e, k) in enumerate(zip(a["starts"], a["ends"], a["steps"]))
              if not (k == 1 and s == 0 and e >= (SLICE_END >> 1))]
    _slice(ctx, node, ctx.get(node.inputs[0]), bounds)


@emits("flip")
def flip(ctx: OnnxEmitContext, node: Node) -> None:
    """Slice with step -1 from the last element to before the first on each axis."""
    _slice(ctx, node, ctx.get(node.inputs[0]),
           [(a, -1, SLICE_BEGIN, -1) for a in node.attrs["axes"]])


@emits("gather")
def gather(ctx: OnnxEmitContext, node: Node) -> None:
    """Gather (opset 13) on ``axis``: indices in ``[-dim, dim)``, negative from the end."""
    x, idx = node.inputs
    ctx.add("Gather", [ctx.get(x), ctx.get(idx)], _out(ctx, node), axis=node.attrs["axis"])


@emits("take_along_axis")
def take_along_axis(ctx: OnnxEmitContext, node: Node) -> None:
    """GatherElements (opset 13), after broadcasting both inputs (except along ``axis``)
    to a common shape when their other dims are not provably the same."""
    x_name, idx_name = node.inputs
    axis = node.attrs["axis"]
    x, idx = ctx.get(x_name), ctx.get(idx_name)
    xs, ids = ctx.types[x_name].shape, ctx.types[idx_name].shape
    same = all(i == axis or (a == b and a is not None) for i, (a, b) in enumerate(zip(xs, ids)))
    if not same:
        sx = ctx.add("Shape", [x], ctx.fresh("x_shape"))
        si = ctx.add("Shape", [idx], ctx.fresh("indices_shape"))
        both = ctx.add("Max", [sx, si], ctx.fresh("broadcast_shape"))
        at_axis = ctx.constant(np.arange(len(xs)) == axis, "axis_mask")
        tx = ctx.add("Where", [at_axis, sx, both], ctx.fresh("x_target"))
        ti = ctx.add("Where", [at_axis, si, both], ctx.fresh("indices_target"))
        x = ctx.add("Expand", [x, tx], ctx.fresh("x_broadcast"))
        idx = ctx.add("Expand", [idx, ti], ctx.fresh("indices_broadcast"))
    ctx.add("GatherElements", [x, idx], _out(ctx, node), axis=axis)


@emits("scatter_nd_update")
def scatter_nd_update(ctx: OnnxEmitContext, node: Node) -> None:
    """ScatterND (opset 16, ``reduction="none"``) with int64 indices."""
    x, idx, upd = node.inputs
    indices = ctx.get(idx)
    if ctx.dtype(idx) is not DType.INT64:
        indices = ctx.add("Cast", [indices], ctx.fresh("indices"), to=onnx_elem_type(DType.INT64))
    ctx.add("ScatterND", [ctx.get(x), indices, ctx.get(upd)], _out(ctx, node))


@emits("tile")
def tile(ctx: OnnxEmitContext, node: Node) -> None:
    """Tile (opset 13) with int64 ``repeats``."""
    ctx.add("Tile", [ctx.get(node.inputs[0]), _ints(ctx, node.attrs["repeats"], "repeats")],
            _out(ctx, node))


@emits("repeat")
def repeat(ctx: OnnxEmitContext, node: Node) -> None:
    """``x`` -> Unsqueeze at ``axis + 1`` -> Tile ``repeats`` times there -> Reshape to
    ``Shape(x) * [1, .., repeats, .., 1]`` (``allowzero=1``: a zero-sized dim stays 0)."""
    x_name = node.inputs[0]
    axis, r = node.attrs["axis"], node.attrs["repeats"]
    rank = ctx.rank(x_name)
    x = ctx.get(x_name)
    grown = ctx.add("Unsqueeze", [x, _ints(ctx, [axis + 1], "axes")], ctx.fresh("unsqueezed"))
    reps = [1] * (rank + 1)
    reps[axis + 1] = r
    tiled = ctx.add("Tile", [grown, _ints(ctx, reps, "repeats")], ctx.fresh("tiled"))
    scale = [1] * rank
    scale[axis] = r
    shape = ctx.add("Mul", [ctx.add("Shape", [x], ctx.fresh("shape")),
                            _ints(ctx, scale, "scale")], ctx.fresh("target"))
    ctx.add("Reshape", [tiled, shape], _out(ctx, node), allowzero=1)


@emits("broadcast_to")
def broadcast_to(ctx: OnnxEmitContext, node: Node) -> None:
    """Expand (opset 13) to ``shape`` with each ``-1`` as 1 (Expand broadcasts both ways,
    so x's dim is kept there; elsewhere the IR's rule already requires x's dim to be 1
    or the target)."""
    shape = [1 if d == -1 else d for d in node.attrs["shape"]]
    ctx.add("Expand", [ctx.get(node.inputs[0]), _ints(ctx, shape, "shape")], _out(ctx, node))


@emits("pad")
def pad(ctx: OnnxEmitContext, node: Node) -> None:
    """Pad (opset 18) with ``pads = [begins..., ends...]``; mode constant (the value in
    x's dtype) or reflect.

    The optional ``axes`` input is always given (every axis, as ``zero_pad{r}d`` does):
    onnxruntime's PadFusion folds a zero Pad *without* ``axes`` into a following
    ``MaxPool``'s ``pads`` (also after its transpose optimizer moved a layout Transpose
    out from between them), which changes results (MaxPool pads with -inf) and fails
    to load when a pad reaches the kernel size.  This is what broke re-emitting an
    imported graph whose ONNX ``Pad`` became this op (issue 10)."""
    x_name = node.inputs[0]
    pads = node.attrs["pads"]
    inputs = [ctx.get(x_name), _ints(ctx, [p[0] for p in pads] + [p[1] for p in pads], "pads")]
    mode = node.attrs["mode"]
    if mode == "constant":
        inputs.append(ctx.constant(np.asarray(node.attrs["value"]).astype(
            ctx.dtype(x_name).to_numpy()), "value"))
    else:
        inputs.append("")
    inputs.append(_ints(ctx, range(len(pads)), "axes"))
    ctx.add("Pad", inputs, _out(ctx, node), mode=mode)


@emits("stack")
def stack(ctx: OnnxEmitContext, node: Node) -> None:
    """Unsqueeze each input at ``axis``, then Concat along it (one input: the Unsqueeze)."""
    axis = node.attrs["axis"]
    axes = _ints(ctx, [axis], "axes")
    if len(node.inputs) == 1:
        ctx.add("Unsqueeze", [ctx.get(node.inputs[0]), axes], _out(ctx, node))
        return
    parts = [ctx.add("Unsqueeze", [ctx.get(n), axes], ctx.fresh(f"part{i}"))
             for i, n in enumerate(node.inputs)]
    ctx.add("Concat", parts, _out(ctx, node), axis=axis)


@emits("one_hot")
def one_hot(ctx: OnnxEmitContext, node: Node) -> None:
    """OneHot (opset 11) with int64 indices, negative ones replaced by ``depth`` (out of
    range: a row of zeros, as ``tf.one_hot``), values ``[0, 1]`` in float32."""
    x_name = node.inputs[0]
    depth = node.attrs["depth"]
    idx = ctx.get(x_name)
    if ctx.dtype(x_name) is not DType.INT64:
        idx = ctx.add("Cast", [idx], ctx.fresh("indices"), to=onnx_elem_type(DType.INT64))
    depth_c = ctx.constant(np.asarray(depth, np.int64), "depth")
    negative = ctx.add("Less", [idx, ctx.constant(np.asarray(0, np.int64), "zero")],
                       ctx.fresh("negative"))
    idx = ctx.add("Where", [negative, depth_c, idx], ctx.fresh("nonnegative"))
    values = ctx.constant(np.asarray([0.0, 1.0], np.float32), "values")
    ctx.add("OneHot", [idx, depth_c, values], _out(ctx, node), axis=node.attrs["axis"])



@emits("full_like")
def full_like(ctx: OnnxEmitContext, node: Node) -> None:
    """ConstantOfShape (opset 9) of Shape(x), in x's layout: ``value`` as a one-element
    tensor of the output's element type."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    dtype = DType(node.attrs["dtype"])
    shape = ctx.add("Shape", [ctx.get(x_name, layout)], ctx.fresh("shape"))
    value = numpy_helper.from_array(np.asarray([node.attrs["value"]], dtype.to_numpy()))
    ctx.add("ConstantOfShape", [shape], ctx.define(node.output.name, layout), value=value)


@emits("array_reshape")
def array_reshape(ctx: OnnxEmitContext, node: Node) -> None:
    """Reshape (opset 14) with the node's shape as an int64 initializer."""
    ctx.add("Reshape", [ctx.get(node.inputs[0]), _ints(ctx, node.attrs["shape"], "shape")],
            _out(ctx, node))


@emits("dynamic_reshape")
def dynamic_reshape(ctx: OnnxEmitContext, node: Node) -> None:
    """Reshape (opset 14) of input 0 to a shape computed at run time: each size
    expression is an int64 one-element vector, a constant where the output type has the
    size static (``-1`` stays ``-1``), else ``Shape(in_i, start=axis, end=axis + 1)``
    (opset 15) for each factor, multiplied (``Mul``) by each other and the coefficient,
    floor-divided by the divisor (int64 ``Div`` truncates, which is the floor for the
    non-negative sizes); the vectors joined by ``Concat``.  A shape that is static but
    for one entry is a constant with ``-1`` there."""
    exprs = [parse_size(s) for s in node.attrs["shape"]]
    out_shape = node.output.type.shape
    static = [d if isinstance(d, int) else None for d in out_shape]
    x = ctx.get(node.inputs[0])
    if sum(d is None for d in static) <= 1:
        target = [-1 if d is None else d for d in static]
        ctx.add("Reshape", [x, _ints(ctx, target, "shape")], _out(ctx, node))
        return
    parts = []
    for k, (expr, size) in enumerate(zip(exprs, static)):
        if size is not None or expr is None:
            parts.append(_ints(ctx, [-1 if size is None else size], f"size{k}"))
            continue
        value = None
        for i, axis in expr.factors:
            dim = ctx.add("Shape", [ctx.get(node.inputs[i])], ctx.fresh(f"size{k}_in{i}_{axis}"),
                          start=axis, end=axis + 1)
            value = dim if value is None else ctx.add("Mul", [value, dim], ctx.fresh(f"size{k}"))
        if expr.coef != 1:
            value = ctx.add("Mul", [value, _ints(ctx, [expr.coef], f"size{k}_coef")],
                            ctx.fresh(f"size{k}"))
        if expr.divisor != 1:
            value = ctx.add("Div", [value, _ints(ctx, [expr.divisor], f"size{k}_divisor")],
                            ctx.fresh(f"size{k}"))
        parts.append(value)
    shape = ctx.add("Concat", parts, ctx.fresh("shape"), axis=0)
    ctx.add("Reshape", [x, shape], _out(ctx, node))
