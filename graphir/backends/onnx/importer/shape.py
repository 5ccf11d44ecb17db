"""Converters of the shape and tensor ONNX ops: Shape, Reshape, Flatten, Transpose,
Squeeze, Unsqueeze, Concat, Split, Slice, Gather, GatherElements, ScatterND, Expand,
ConstantOfShape, Range, Tile, Pad, the reductions, ArgMax/ArgMin, CumSum, Einsum, OneHot.

Shape computations are resolved at import time: ``Shape`` of static dims is a constant,
of symbolic dims a *shape value* (see :mod:`.context`) that ``Gather``, ``Slice``,
``Concat``, ``Unsqueeze``, ``Squeeze`` and ``Cast`` carry on, and that ``Reshape``,
``Expand`` read.  A shape that depends on run-time sizes in any other way is refused.

The IR's ``reshape`` keeps axis 0 (the batch); an ONNX Reshape that keeps it maps to
it directly, one that changes it (static sizes only) to ``expand_dims(0)``, a
``reshape`` of the new size-1 axis' sample, then ``squeeze(0)``: exact for any
static shape.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.ops.indexing import SLICE_BEGIN, SLICE_END

from .context import ImportContext, onnx_dtype
from .registry import imports

__all__: list[str] = []


def _axes_input_or_attr(ctx: ImportContext, index: int) -> tuple[int, ...] | None:
    """Axes given as input ``index`` (opset >= 13/18) or as the ``axes`` attribute."""
    if ctx.input(index):
        return tuple(int(a) for a in np.atleast_1d(ctx.require_const(index, "axes")))
    a = ctx.attr("axes")
    return tuple(int(v) for v in a) if a is not None else None


def _norm(axes, rank: int, ctx: ImportContext) -> tuple[int, ...]:
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ctx.error(f"axis {a} is out of range for rank {rank}")
        out.append(a % rank)
    return tuple(out)


def _shape_or_const_result(ctx: ImportContext, dims) -> None:
    """Bind the current node's output to a shape value ``dims`` (a constant when all
    static)."""
    dims = tuple(dims)
    if all(isinstance(d, int) for d in dims):
        ctx.bind(ctx.out(), ctx.constant(np.asarray(dims, np.int64), ctx.out()))
    else:
        ctx.bind(ctx.out(), ctx.symbolic(ctx.out(), dims))


@imports("Shape", attrs=("start", "end"))
def shape(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """The dims of the input, ``[start:end]``: a constant when static, else a shape value
    (unknown dims are refused)."""
    dims = ctx.type(ctx.input(0)).shape
    start, end = int(ctx.attr("start", 0)), ctx.attr("end")
    sel = dims[slice(start, None if end is None else int(end))]
    if any(d is None for d in sel):
        raise ctx.error(f"Shape of an input with unknown dims {list(dims)} cannot be resolved")
    _shape_or_const_result(ctx, sel)
    if len(sel) == len(dims) and not all(isinstance(d, int) for d in dims):
        ctx.shape_of[ctx.lookup(ctx.out())] = ctx.input(0)


@imports("Size")
def size(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """The element count, when static."""
    dims = ctx.type(ctx.input(0)).shape
    if not all(isinstance(d, int) for d in dims):
        raise ctx.error(f"Size of a tensor of non-static shape {list(dims)} cannot be resolved")
    ctx.bind(ctx.out(), ctx.constant(np.asarray(math.prod(dims), np.int64), ctx.out()))


def _reshape_to(ctx: ImportContext, x: str, target: list, out: str) -> None:
    """Reshape ``x`` to ``target`` (ints with at most one -1, or the input's own symbolic
    dims at axis 0): the layer-level ``reshape`` when axis 0 stays, else on static
    shapes ``expand_dims``/``reshape``/``squeeze``, else ``array_reshape``."""
    tx = ctx.type(x)
    if x in ctx.consts:
        ctx.bind(out, ctx.constant(ctx.consts[x].reshape([int(t) for t in target]), out))
        return
    rest = tx.shape[1:] if tx.rank else ()
    keeps_batch = tx.rank >= 1 and len(target) >= 1 and (
        target[0] == tx.shape[0] and all(isinstance(t, int) for t in target[1:]) or (
            target[0] == -1 and all(isinstance(t, int) and t >= 0 for t in target[1:])
            and all(isinstance(d, int) for d in rest)
            and math.prod(rest) == math.prod(target[1:])))
    if keeps_batch:
        ctx.emit("reshape", [x], {"target_shape": tuple(int(t) for t in target[1:])}, out=out)
        return
    if not all(isinstance(d, int) for d in tx.shape):
        if all(isinstance(t, int) and (t > 0 or t == -1) for t in target) \
                and sum(t == -1 for t in target) <= 1:
            # a batch merged with or split from other axes: NumPy's reshape of the array
            ctx.emit("array_reshape", [x], {"shape": tuple(int(t) for t in target)}, out=out)
            return
        raise ctx.error(f"Reshape of {list(tx.shape)} to {list(target)} changes axis 0 and "
                        f"depends on non-static dims: it cannot be resolved at import time")
    if not all(isinstance(t, int) for t in target):
        raise ctx.error(f"Reshape of {list(tx.shape)} to {list(target)} changes axis 0 and "
                        f"depends on non-static dims: it cannot be resolved at import time")
    total = math.prod(tx.shape)
    if -1 in target:
        known = math.prod(t for t in target if t != -1)
        target = [total // known if t == -1 and known else t for t in target]
    if math.prod(target) != total:
        raise ctx.error(f"cannot reshape {list(tx.shape)} to {list(target)}")
    if tx.rank == 0 or not target:
        raise ctx.error("Reshape from or to a scalar of a run-time value is not supported")
    y = ctx.emit("expand_dims", [x], {"axes": (0,)})
    y = ctx.emit("reshape", [y], {"target_shape": tuple(target)})
    ctx.emit("squeeze", [y], {"axes": (0,)}, out=out)


@imports("Reshape", attrs=("allowzero",))
def reshape(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``reshape`` (see the module docstring); ``0`` copies the input's dim (unless
    ``allowzero``)."""
    x = ctx.input(0)
    dims = ctx.shape_value(1)
    if dims is None:
        raise ctx.error("the target shape must be known at import time", operand=1)
    tx = ctx.type(x)
    allowzero = int(ctx.attr("allowzero", 0))
    target = []
    for i, d in enumerate(dims):
        if d == 0 and not allowzero:
            if i >= tx.rank:
                raise ctx.error(f"target shape {list(dims)} copies axis {i} of a rank-"
                                f"{tx.rank} input")
            d = tx.shape[i]
        target.append(d)
    if target == list(tx.shape) and all(d is not None for d in target):
        ctx.emit("identity", [x], out=ctx.out())
        return
    if _time_fold(ctx, x, target):
        return
    # one non-static dim besides a kept axis 0 is the -1 of the target
    loose = [i for i, d in enumerate(target) if not isinstance(d, int)
             and not (i == 0 and tx.rank and d == tx.shape[0] and d is not None)]
    if len(loose) == 1 and -1 not in target:
        target[loose[0]] = -1
    elif loose:
        raise ctx.error(f"Reshape of {list(tx.shape)} to {target} has more than one dim that "
                        f"is not known at import time")
    _reshape_to(ctx, x, target, ctx.out())


def _time_fold(ctx: ImportContext, x: str, target: list) -> bool:
    """Reshapes between ``(N, T, *S)`` and ``(N*T, *S)`` with a non-static ``N`` (as Keras'
    TimeDistributed and graphir's emitter write them): ``time_fold``, and ``time_unfold``
    against the folded tensor whose ``(N, T)`` the target names."""
    tx = ctx.type(x)
    rest = list(tx.shape[2:])
    if (tx.rank >= 3 and not isinstance(tx.shape[0], int) and len(target) == tx.rank - 1
            and target[1:] == rest and all(isinstance(d, int) for d in rest)
            and (target[0] == -1 or target[0] is None)):
        ctx.emit("time_fold", [x], out=ctx.out())
        ctx.fold_sources.append(x)
        return True
    if len(target) >= 2 and isinstance(target[0], str) and tx.rank >= 1 \
            and target[2:] == list(tx.shape[1:]) and tx.shape[0] != target[0]:
        for src in reversed(ctx.fold_sources):
            if list(ctx.type(src).shape[:2]) == target[:2]:
                ctx.emit("time_unfold", [x, src], out=ctx.out())
                return True
    return False


@imports("Flatten", attrs=("axis",))
def flatten(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``flatten`` for ``axis=1``; else a reshape to ``(prod(d[:axis]), prod(d[axis:]))``."""
    x = ctx.input(0)
    tx = ctx.type(x)
    axis = int(ctx.attr("axis", 1))
    axis = axis + tx.rank if axis < 0 else axis  # ONNX: axis in [-rank, rank]
    if axis == 1 and tx.rank >= 1:
        ctx.emit("flatten", [x], out=ctx.out())
        return
    head, tail = tx.shape[:axis], tx.shape[axis:]
    if not all(isinstance(d, int) for d in tail):
        raise ctx.error(f"Flatten(axis={axis}) of {list(tx.shape)} needs static trailing dims")
    lead = math.prod(head) if all(isinstance(d, int) for d in head) else -1
    _reshape_to(ctx, x, [lead, math.prod(tail)], ctx.out())


@imports("Transpose", attrs=("perm",))
def transpose(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``transpose(perm)`` (default: the axes reversed)."""
    x = ctx.input(0)
    rank = ctx.type(x).rank
    perm = tuple(int(p) for p in ctx.attr("perm", tuple(reversed(range(rank)))))
    if perm == tuple(range(rank)):
        ctx.emit("identity", [x], out=ctx.out())
        return
    ctx.emit("transpose", [x], {"perm": perm}, out=ctx.out())


@imports("Squeeze", attrs=("axes",))
def squeeze(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``squeeze`` of the given axes, or of every static size-1 axis."""
    x = ctx.input(0)
    tx = ctx.type(x)
    axes = _axes_input_or_attr(ctx, 1)
    if axes is None:
        if any(not isinstance(d, int) for d in tx.shape):
            raise ctx.error("Squeeze without axes of a tensor with non-static dims")
        axes = tuple(i for i, d in enumerate(tx.shape) if d == 1)
    axes = tuple(sorted(_norm(axes, tx.rank, ctx)))
    if not axes:
        ctx.emit("identity", [x], out=ctx.out())
        return
    if x in ctx.shape_values:
        ctx.bind(ctx.out(), ctx.symbolic(ctx.out(), ctx.shape_values[x], scalar=True))
        return
    ctx.emit("squeeze", [x], {"axes": axes}, out=ctx.out())


@imports("Unsqueeze", attrs=("axes",))
def unsqueeze(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``expand_dims`` at the given output positions."""
    x = ctx.input(0)
    axes = _axes_input_or_attr(ctx, 1)
    if not axes:
        raise ctx.error("Unsqueeze needs axes")
    rank = ctx.type(x).rank + len(axes)
    axes = tuple(sorted(_norm(axes, rank, ctx)))
    if x in ctx.shape_values:
        ctx.bind(ctx.out(), ctx.symbolic(ctx.out(), ctx.shape_values[x]))
        return
    ctx.emit("expand_dims", [x], {"axes": axes}, out=ctx.out())


@imports("Concat", attrs=("axis",))
def concat(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``concatenate(axis)``; shape values are concatenated at import time."""
    names = [ctx.input(i) for i in range(ctx.n_inputs())]
    names = [n for n in names if n]
    if any(n in ctx.shape_values for n in names):
        dims: list = []
        for i, n in enumerate(names):
            v = ctx.shape_value(node_index(node, n, ctx))
            if v is None:
                raise ctx.error("a shape is concatenated with a run-time tensor")
            dims.extend(v)
        _shape_or_const_result(ctx, dims)
        return
    rank = ctx.type(names[0]).rank
    axis = _norm([int(ctx.attr("axis"))], rank, ctx)[0]
    names = [n for n in names if ctx.type(n).shape[axis] != 0] or names[:1]
    if len(names) == 1:
        ctx.emit("identity", names, out=ctx.out())
        return
    ctx.emit("concatenate", names, {"axis": axis}, out=ctx.out())


def node_index(node: onnx.NodeProto, ir_name: str, ctx: ImportContext) -> int:
    """The first input index of the current node whose IR value is ``ir_name``."""
    for i in range(len(node.input)):
        if ctx.input(i) == ir_name:
            return i
    raise ctx.error(f"{ir_name!r} is not an input")  # pragma: no cover


def _slice_to(ctx: ImportContext, x: str, axis: int, start: int, end: int, step: int = 1,
              out: str | None = None) -> str:
    rank = ctx.type(x).rank
    starts, ends, steps = [0] * rank, [SLICE_END] * rank, [1] * rank
    starts[axis], ends[axis], steps[axis] = start, end, step
    return ctx.emit("slice", [x], {"starts": tuple(starts), "ends": tuple(ends),
                                   "steps": tuple(steps)}, out=out)


@imports("Split", attrs=("axis", "num_outputs", "split"))
def split(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """One ``slice`` per output, sizes from ``split`` (input or attribute) or equal parts
    (the last one smaller, opset 18's ``num_outputs``)."""
    x = ctx.input(0)
    tx = ctx.type(x)
    axis = _norm([int(ctx.attr("axis", 0))], tx.rank, ctx)[0]
    n = len(node.output)
    if ctx.input(1):
        sizes = [int(v) for v in ctx.require_const(1, "split")]
    elif ctx.attr("split") is not None:
        sizes = [int(v) for v in ctx.attr("split")]
    else:
        d = tx.shape[axis]
        if not isinstance(d, int):
            raise ctx.error("Split of a non-static axis into equal parts")
        part = -(-d // n)
        sizes = [min(part, max(d - part * i, 0)) for i in range(n)]
    if len(sizes) != n:
        raise ctx.error(f"split sizes {sizes} do not match {n} outputs")
    start = 0
    for i, s in enumerate(sizes):
        if node.output[i]:
            _slice_to(ctx, x, axis, start, start + s, out=node.output[i])
        start += s


def _clamp(v: int) -> int:
    return max(SLICE_BEGIN, min(SLICE_END, int(v)))


@imports("Slice")
def slice_(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``slice`` with constant starts, ends, axes and steps (ONNX's clamping is Python's)."""
    x = ctx.input(0)
    tx = ctx.type(x)
    starts = [int(v) for v in ctx.require_const(1, "starts")]
    ends = [int(v) for v in ctx.require_const(2, "ends")]
    axes = (_norm([int(a) for a in ctx.require_const(3, "axes")], tx.rank, ctx)
            if ctx.input(3) else tuple(range(len(starts))))
    steps = [int(v) for v in ctx.require_const(4, "steps")] if ctx.input(4) else [1] * len(starts)
    if x in ctx.shape_values:
        dims = list(ctx.shape_values[x])
        key = slice(starts[0], ends[0], steps[0])
        _shape_or_const_result(ctx, dims[key])
        return
    s, e, k = [0] * tx.rank, [SLICE_END] * tx.rank, [1] * tx.rank
    for a, b, c, d in zip(axes, starts, ends, steps):
        if d == 0:
            raise ctx.error("a Slice step is 0")
        s[a], e[a], k[a] = _clamp(b), _clamp(c), d
    ctx.emit("slice", [x], {"starts": tuple(s), "ends": tuple(e), "steps": tuple(k)},
             out=ctx.out())


@imports("Gather", attrs=("axis",))
def gather(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``gather(axis)``; a constant index into a shape value picks its dims."""
    x, idx = ctx.input(0), ctx.input(1)
    tx = ctx.type(x)
    axis = _norm([int(ctx.attr("axis", 0))], tx.rank, ctx)[0]
    if x in ctx.shape_values:
        c = ctx.const(1)
        if c is None:
            raise ctx.error("a shape is indexed by a run-time tensor")
        dims = ctx.shape_values[x]
        picked = [dims[int(i)] for i in np.atleast_1d(c)]
        if c.ndim == 0:
            d = picked[0]
            if isinstance(d, int):
                ctx.bind(ctx.out(), ctx.constant(np.asarray(d, np.int64), ctx.out()))
            else:
                ctx.bind(ctx.out(), ctx.symbolic(ctx.out(), picked, scalar=True))
            return
        _shape_or_const_result(ctx, picked)
        return
    ctx.emit("gather", [x, idx], {"axis": axis}, out=ctx.out())


@imports("GatherElements", attrs=("axis",))
def gather_elements(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``take_along_axis(axis)``."""
    x = ctx.input(0)
    axis = _norm([int(ctx.attr("axis", 0))], ctx.type(x).rank, ctx)[0]
    ctx.emit("take_along_axis", [x, ctx.input(1)], {"axis": axis}, out=ctx.out())


@imports("ScatterND", attrs=("reduction",))
def scatter_nd(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``scatter_nd_update`` (``reduction`` ``none`` only).  Constant indices must be
    non-negative (the IR's indices count from 0; ONNX reads a negative one from the
    end); indices computed at run time are taken as the IR takes them."""
    reduction = ctx.attr("reduction", "none")
    if reduction != "none":
        raise ctx.error(f"ScatterND with reduction={reduction!r}; only 'none'")
    indices = ctx.const(1)
    if indices is not None and np.any(np.asarray(indices) < 0):
        raise ctx.error("ScatterND with negative constant indices")
    ctx.emit("scatter_nd_update", [ctx.input(0), ctx.input(1), ctx.input(2)], {},
             out=ctx.out())


@imports("Expand")
def expand(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``broadcast_to``: ONNX's bidirectional broadcast of ``x``'s shape with the target;
    a target 1 (or the same symbol) where ``x`` has a dim keeps ``x``'s dim (-1)."""
    x = ctx.input(0)
    tx = ctx.type(x)
    dims = ctx.shape_value(1)
    if dims is None:
        raise ctx.error("the target shape must be known at import time", operand=1)
    rank = max(len(dims), tx.rank)
    dims = (1,) * (rank - len(dims)) + tuple(dims)
    xs = (None,) * (rank - tx.rank) + tuple(tx.shape)
    out = []
    for i, (t, d) in enumerate(zip(dims, xs)):
        has = i >= rank - tx.rank
        if has and (t == 1 or t == d):
            out.append(-1)
        elif isinstance(t, int):
            out.append(t)
        else:
            raise ctx.error(f"Expand to {list(dims)} has a dim that is not static at axis {i}")
    if all(v == -1 for v in out):
        ctx.emit("identity", [x], out=ctx.out())
        return
    ctx.emit("broadcast_to", [x], {"shape": tuple(out)}, out=ctx.out())


@imports("ConstantOfShape", attrs=("value",))
def constant_of_shape(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """A constant filled with ``value`` (default float32 0) when the shape is static;
    ``full_like(x)`` when it is the whole (symbolic) ``Shape`` of an IR value ``x``."""
    dims = ctx.shape_value(0)
    v = ctx.attr("value")
    fill = onnx.numpy_helper.to_array(v) if v is not None else np.zeros(1, np.float32)
    dtype = onnx_dtype(onnx.helper.np_dtype_to_tensor_dtype(fill.dtype))
    if dtype is None:
        raise ctx.error(f"ConstantOfShape of dtype {fill.dtype} is not supported")
    source = ctx.shape_of.get(ctx.input(0))
    if dims is not None and source is not None and not all(isinstance(d, int) for d in dims):
        ctx.emit("full_like", [source], {"value": float(fill.reshape(-1)[0]),
                                         "dtype": dtype.value}, out=ctx.out())
        return
    if dims is None or not all(isinstance(d, int) for d in dims):
        raise ctx.error("ConstantOfShape needs a static shape or the whole shape of a "
                        "tensor", operand=0)
    ctx.bind(ctx.out(), ctx.constant(np.full(tuple(dims), fill.reshape(-1)[0], fill.dtype),
                                     ctx.out()))


@imports("Range")
def range_(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """A constant ``arange(start, limit, delta)`` (all three known at import time)."""
    start, limit, delta = (ctx.require_const(i, w) for i, w in
                           enumerate(("start", "limit", "delta")))
    if delta == 0:
        raise ctx.error("Range delta is 0")
    n = max(math.ceil((float(limit) - float(start)) / float(delta)), 0)
    arr = (start + np.arange(n) * delta).astype(start.dtype)
    ctx.bind(ctx.out(), ctx.constant(arr, ctx.out()))


@imports("Tile")
def tile(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``tile(repeats)`` with constant repeats."""
    reps = tuple(int(v) for v in ctx.require_const(1, "repeats"))
    ctx.emit("tile", [ctx.input(0)], {"repeats": reps}, out=ctx.out())


@imports("Pad", attrs=("mode",))
def pad(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``pad`` (``constant`` or ``reflect``) with constant pads, value and axes; negative
    pads are a ``slice`` after it.  ``edge`` and ``wrap`` (static sizes on the padded
    axes) are one ``gather`` per padded axis with the constant indices
    ``clip(arange(-begin, n + end), 0, n - 1)`` resp. ``arange(-begin, n + end) mod n``
    (ONNX: edge repeats the border value, wrap continues periodically)."""
    x = ctx.input(0)
    tx = ctx.type(x)
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise ctx.error(f"Pad mode={mode!r} is not supported (constant, reflect, edge, wrap)")
    pads = [int(v) for v in ctx.require_const(1, "pads")]
    value = ctx.const(2)
    if ctx.input(2) and value is None:
        raise ctx.error("the pad value must be known at import time", operand=2)
    axes = (_norm([int(a) for a in ctx.require_const(3, "axes")], tx.rank, ctx)
            if ctx.input(3) else tuple(range(tx.rank)))
    if len(pads) != 2 * len(axes):
        raise ctx.error(f"pads {pads} do not match {len(axes)} axes")
    pairs = [[0, 0] for _ in range(tx.rank)]
    for i, a in enumerate(axes):
        pairs[a] = [pads[i], pads[len(axes) + i]]
    if mode in ("edge", "wrap"):
        _pad_by_gather(ctx, x, pairs, mode)
        return
    grow = tuple((max(b, 0), max(e, 0)) for b, e in pairs)
    v = float(np.asarray(value).reshape(-1)[0]) if value is not None and value.size else 0.0
    y = x
    if any(p != (0, 0) for p in grow):
        y = ctx.emit("pad", [x], {"pads": grow, "mode": mode, "value": v},
                     out=None if any(b < 0 or e < 0 for b, e in pairs) else ctx.out())
    if any(b < 0 or e < 0 for b, e in pairs):
        starts = tuple(-min(b, 0) for b, _ in pairs)
        ends = tuple(min(e, 0) if e < 0 else SLICE_END for _, e in pairs)
        ctx.emit("slice", [y], {"starts": starts, "ends": ends, "steps": (1,) * tx.rank},
                 out=ctx.out())
    elif y == x:
        ctx.emit("identity", [x], out=ctx.out())


def _pad_by_gather(ctx: ImportContext, x: str, pairs, mode: str) -> None:
    """Pad ``edge`` / ``wrap`` as gathers (see :func:`pad`)."""
    tx = ctx.type(x)
    work = [a for a, p in enumerate(pairs) if p != [0, 0]]
    if not work:
        ctx.emit("identity", [x], out=ctx.out())
        return
    y = x
    for k, a in enumerate(work):
        n = tx.shape[a]
        if not isinstance(n, int) or n == 0:
            raise ctx.error(f"Pad mode={mode!r} needs a static, non-empty axis {a}, got {n}")
        b, e = pairs[a]
        pos = np.arange(-b, n + e)
        idx = np.clip(pos, 0, n - 1) if mode == "edge" else np.mod(pos, n)
        y = ctx.emit("gather", [y, ctx.constant(idx.astype(np.int64))], {"axis": a},
                     out=ctx.out() if k == len(work) - 1 else None)


_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min",
           "ReduceProd": "prod"}


def _reduce(op: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        x = ctx.input(0)
        rank = ctx.type(x).rank
        axes = _axes_input_or_attr(ctx, 1)
        keep = bool(int(ctx.attr("keepdims", 1)))
        if not axes:
            if int(ctx.attr("noop_with_empty_axes", 0)):
                ctx.emit("identity", [x], out=ctx.out())
                return
            axes = tuple(range(rank))
        axes = tuple(sorted(set(_norm(axes, rank, ctx))))
        ctx.emit(op, [x], {"axes": axes, "keepdims": keep}, out=ctx.out())
    convert.__doc__ = f"``{op}(axes, keepdims)`` (empty axes: all, or none with noop)."
    return convert


for _onnx, _ir in _REDUCE.items():
    imports(_onnx, attrs=("axes", "keepdims", "noop_with_empty_axes"))(_reduce(_ir))


def _arg(op: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        if int(ctx.attr("select_last_index", 0)):
            raise ctx.error("select_last_index=1 is not supported")
        x = ctx.input(0)
        axis = _norm([int(ctx.attr("axis", 0))], ctx.type(x).rank, ctx)[0]
        y = ctx.emit(op, [x], {"axis": axis, "keepdims": bool(int(ctx.attr("keepdims", 1))),
                               "negative_zero_as": None})
        ctx.emit("cast", [y], {"to": "int64"}, out=ctx.out())
    convert.__doc__ = f"``{op}`` (int32), then ``cast`` to ONNX's int64."
    return convert


imports("ArgMax", attrs=("axis", "keepdims", "select_last_index"))(_arg("argmax"))
imports("ArgMin", attrs=("axis", "keepdims", "select_last_index"))(_arg("argmin"))


@imports("CumSum", attrs=("exclusive", "reverse"))
def cumsum(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``cumsum`` along the constant axis input; ``reverse=1`` as ``flip``, ``cumsum``,
    ``flip``.  ``exclusive=1`` is refused (``cumsum - x`` would round differently)."""
    if int(ctx.attr("exclusive", 0)):
        raise ctx.error("exclusive=1 is not supported")
    x = ctx.input(0)
    rank = ctx.type(x).rank
    axis = _norm([int(np.asarray(ctx.require_const(1, "axis")).reshape(-1)[0])], rank, ctx)
    if not int(ctx.attr("reverse", 0)):
        ctx.emit("cumsum", [x], {"axis": axis[0]}, out=ctx.out())
        return
    flipped = ctx.emit("flip", [x], {"axes": axis})
    summed = ctx.emit("cumsum", [flipped], {"axis": axis[0]})
    ctx.emit("flip", [summed], {"axes": axis}, out=ctx.out())


@imports("Einsum", attrs=("equation",))
def einsum(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``einsum`` with the equation made canonical: spaces removed, the implicit output
    (letters used once, sorted) written out.  Ellipses are refused."""
    eq = ctx.attr("equation").replace(" ", "")
    if "." in eq:
        raise ctx.error(f"einsum equation {eq!r} with an ellipsis is not supported")
    if "->" not in eq:
        letters = eq.replace(",", "")
        eq += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    names = [ctx.input(i) for i in range(ctx.n_inputs())]
    ctx.emit("einsum", names, {"equation": eq}, out=ctx.out())


@imports("OneHot", attrs=("axis",))
def one_hot(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``one_hot(depth, axis)`` (negative indices count from the end, as ONNX), scaled to
    ``values = [off, on]``: ``off + (on - off) * one_hot``."""
    x = ctx.input(0)
    depth = int(np.asarray(ctx.require_const(1, "depth")).reshape(-1)[0])
    values = ctx.require_const(2, "values")
    rank = ctx.type(x).rank + 1
    axis = _norm([int(ctx.attr("axis", -1))], rank, ctx)[0]
    if not ctx.type(x).dtype.is_int:
        x = ctx.emit("cast", [x], {"to": "int64"})
    hot = ctx.emit("one_hot", [x], {"depth": depth, "axis": axis})
    dt = DType.from_any(values.dtype)
    off, on = values.reshape(-1)[:2]
    hot = ctx.emit("cast", [hot], {"to": dt.value})
    scaled = ctx.emit("multiply", [hot, ctx.constant(np.asarray(on - off, values.dtype))])
    ctx.emit("add", [scaled, ctx.constant(np.asarray(off, values.dtype))], out=ctx.out())
