"""Primitive shape and indexing ops (``specs/ops-indexing.md``): ``transpose``,
``expand_dims``, ``squeeze``, ``slice``, ``gather``, ``take_along_axis``,
``scatter_nd_update``, ``tile``,
``repeat``, ``broadcast_to``, ``pad``, ``flip``, ``stack``, ``one_hot``,
``full_like`` and ``array_reshape``, with NumPy
semantics and no Keras or ONNX shape to them.

Unlike the layer-level shape ops (``reshape``, ``flatten``, ``permute``), which keep
the batch axis out of reach, these address every axis, the batch axis included.
They are of layout class ``Layout.CHANNELS_LAST``: their axes are IR (NHWC) axes, so
an ONNX emitter hands them NHWC data.

Conventions of the group (checked by the type rules):

* **Axes are canonical**: every axis attribute is non-negative (``0 <= axis < rank``,
  for ``expand_dims``/``stack``/``one_hot`` counted in the output rank), and an axes
  tuple is strictly increasing.  Negative axes are normalized by whoever builds the
  node (the Keras lowering does); a type rule refuses a negative axis.
* **Dtypes**: every op takes data of any dtype (float, integer, bool) and keeps it,
  except ``gather``/``take_along_axis``/``scatter_nd_update`` whose indices are
  ``int32``/``int64`` (and whose updates have the data's dtype),
  ``one_hot``, which reads integer indices and writes ``float32``, and ``pad``, whose
  constant must be exactly representable in the data's dtype.
* **Symbolic dims** (``"batch"``) and unknown dims (``None``) are kept where the op
  leaves the axis alone; an axis whose size the op changes becomes the static result
  when the input dim is static, else unknown.
* ``slice`` takes Python slice bounds; "to the end" is spelled with the int64
  extremes ``SLICE_END`` (forward) and ``SLICE_BEGIN`` (backward), as ONNX ``Slice``
  recommends.  Dims are assumed below ``2**62``: a bound at or past ``±2**62`` means
  "past the end" (it clamps like ``SLICE_END`` / ``SLICE_BEGIN``).
"""

from __future__ import annotations

import math

import numpy as np

from graphir.dtypes import DType
from graphir.ops.registry import AttrSpec, Layout, TypeRuleError, define_op
from graphir.ops.type_rules import fmt_shape, same_dtype
from graphir.size_exprs import exact_quotient
from graphir.tensor_types import Dim, TensorType

__all__ = ["SLICE_BEGIN", "SLICE_END", "transpose", "expand_dims", "squeeze", "slice_",
           "gather", "take_along_axis", "scatter_nd_update", "tile", "repeat", "broadcast_to",
           "pad", "flip", "stack", "one_hot", "full_like", "array_reshape", "slice_is_full"]

#: the ``ends`` bound of a forward slice that runs to the end (``x[a:]``), int64 max
SLICE_END = 2 ** 63 - 1
#: the ``ends`` bound of a backward slice that runs to the beginning (``x[a::-1]``),
#: int64 min
SLICE_BEGIN = -(2 ** 63)
#: a bound at least this large (in magnitude) is past the end of every dim
_HUGE = 2 ** 62
#: the integer dtypes an index tensor may have
INDEX_DTYPES = (DType.INT32, DType.INT64)


def _axes(axes, rank: int, name: str = "axes") -> tuple[int, ...]:
    """``axes`` checked to be canonical for a tensor of ``rank``: each in
    ``[0, rank)``, strictly increasing.

    Raises:
        TypeRuleError: an axis is negative, out of range, repeated or out of order.
    """
    for a in axes:
        if not 0 <= a < rank:
            raise TypeRuleError(
                f"{name}={axes}: axis {a} is not in [0, {rank})", expected=f"[0, {rank})",
                actual=str(a), hint="normalize negative axes (axis % rank) when building the node")
    if list(axes) != sorted(set(axes)):
        raise TypeRuleError(f"{name}={axes} must be strictly increasing (sorted, no repeats)",
                            expected="strictly increasing", actual=str(axes))
    return tuple(axes)


def _axis(axis: int, rank: int, name: str = "axis") -> int:
    """``axis`` checked to be canonical (``0 <= axis < rank``)."""
    return _axes((axis,), rank, name)[0]


def _require_index(t: TensorType, index: int, what: str = "indices") -> None:
    if t.dtype not in INDEX_DTYPES:
        raise TypeRuleError(f"{what} must be int32 or int64, got {t.dtype.value}",
                            input_index=index, expected="int32 or int64", actual=t.dtype.value,
                            hint="cast the indices to int32 or int64")


def _merge_dim(a: Dim, b: Dim) -> Dim:
    """The dim two shapes agree on (static beats symbolic beats unknown); raises
    ValueError when two static dims differ."""
    if isinstance(a, int) and isinstance(b, int):
        if a != b:
            raise ValueError
        return a
    if isinstance(a, int) or b is None:
        return a
    if isinstance(b, int) or a is None:
        return b
    return a if a == b else None


def _scaled(d: Dim, factor: int) -> Dim:
    """``d * factor``: static when ``d`` is, ``d`` itself when ``factor`` is 1, else unknown."""
    if factor == 1:
        return d
    return d * factor if isinstance(d, int) else None


# ----------------------------------------------------------------------------- transpose

def _transpose_rule(types, attrs):
    x = types[0]
    perm = attrs["perm"]
    if sorted(perm) != list(range(x.rank)):
        raise TypeRuleError(f"perm {perm} is not a permutation of 0..{x.rank - 1}",
                            input_index=0, expected=f"a permutation of 0..{x.rank - 1}",
                            actual=str(perm))
    return (TensorType(x.dtype, tuple(x.shape[p] for p in perm)),)


@define_op("transpose", ("x",), {"perm": AttrSpec("ints", doc="output axis i is input axis "
                                                               "perm[i] (every axis, batch included)")},
           infer=_transpose_rule, layout=Layout.CHANNELS_LAST,
           doc="permutation of all axes, batch included (keras.ops.transpose, ONNX Transpose)")
def transpose(inputs, attrs):
    """``np.transpose(x, perm)``."""
    return np.transpose(inputs[0], attrs["perm"])


# ----------------------------------------------------------------------------- expand_dims

def _expand_dims_rule(types, attrs):
    x = types[0]
    axes = attrs["axes"]
    if not axes:
        raise TypeRuleError("axes is empty; expand_dims inserts at least one axis")
    out_rank = x.rank + len(axes)
    _axes(axes, out_rank)
    dims = iter(x.shape)
    return (TensorType(x.dtype, tuple(1 if i in axes else next(dims) for i in range(out_rank))),)


@define_op("expand_dims", ("x",), {"axes": AttrSpec("ints", doc="positions of the new size-1 "
                                                                 "axes in the output")},
           infer=_expand_dims_rule, layout=Layout.CHANNELS_LAST,
           doc="size-1 axes inserted at output positions `axes` (keras.ops.expand_dims, "
               "ONNX Unsqueeze)")
def expand_dims(inputs, attrs):
    """``np.expand_dims(x, axes)``."""
    return np.expand_dims(inputs[0], tuple(attrs["axes"]))


# ----------------------------------------------------------------------------- squeeze

def _squeeze_rule(types, attrs):
    x = types[0]
    axes = attrs["axes"]
    if not axes:
        raise TypeRuleError("axes is empty; squeeze removes at least one axis (a squeeze of "
                            "every size-1 axis depends on runtime sizes, name the axes)")
    _axes(axes, x.rank)
    for a in axes:
        if x.shape[a] != 1:
            raise TypeRuleError(f"axis {a} of {fmt_shape(x.shape)} is not statically 1",
                                input_index=0, axis=a, expected="1", actual=str(x.shape[a]))
    return (TensorType(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in axes)),)


@define_op("squeeze", ("x",), {"axes": AttrSpec("ints", doc="the axes to remove, each of "
                                                             "static size 1")},
           infer=_squeeze_rule, layout=Layout.CHANNELS_LAST,
           doc="size-1 axes removed (keras.ops.squeeze with axes, ONNX Squeeze)")
def squeeze(inputs, attrs):
    """``np.squeeze(x, axes)``."""
    return np.squeeze(inputs[0], tuple(attrs["axes"]))


# ----------------------------------------------------------------------------- slice

def slice_is_full(start: int, end: int, step: int) -> bool:
    """True when ``start:end:step`` keeps every element of any dim in order (``::``) or
    reversed (``::-1``)."""
    if step == 1:
        return start == 0 and end >= _HUGE
    if step == -1:
        return (start == -1 or start >= _HUGE) and end <= -_HUGE
    return False


def _slice_dim(d: Dim, start: int, end: int, step: int) -> Dim:
    if isinstance(d, int):
        return len(range(*slice(start, end, step).indices(d)))
    return d if slice_is_full(start, end, step) else None


def _slice_rule(types, attrs):
    x = types[0]
    starts, ends, steps = attrs["starts"], attrs["ends"], attrs["steps"]
    for name in ("starts", "ends", "steps"):
        v = attrs[name]
        if len(v) != x.rank:
            raise TypeRuleError(f"{name} has {len(v)} entries; x has rank {x.rank}",
                                input_index=0, expected=f"{x.rank} entries", actual=str(v))
        if any(not SLICE_BEGIN <= b <= SLICE_END for b in v):
            raise TypeRuleError(f"{name}={v} leaves the int64 range", actual=str(v))
    if 0 in steps:
        raise TypeRuleError(f"steps={steps} has a zero step", expected="nonzero steps",
                            actual=str(steps))
    return (TensorType(x.dtype, tuple(_slice_dim(d, *b) for d, b in
                                      zip(x.shape, zip(starts, ends, steps)))),)


@define_op("slice", ("x",), {
    "starts": AttrSpec("ints", doc="per axis, the Python slice start"),
    "ends": AttrSpec("ints", doc="per axis, the Python slice stop (SLICE_END / SLICE_BEGIN: "
                                 "to the end)"),
    "steps": AttrSpec("ints", doc="per axis, the Python slice step (nonzero, may be negative)")},
    infer=_slice_rule, layout=Layout.CHANNELS_LAST,
    doc="x[s0:e0:k0, s1:e1:k1, ...] with Python's clamping (the slices of x[...], "
        "ONNX Slice)")
def slice_(inputs, attrs):
    """``x[tuple(slice(s, e, k) ...)]``: NumPy basic slicing, bounds clamped as Python does."""
    key = tuple(slice(s, e, k) for s, e, k in zip(attrs["starts"], attrs["ends"], attrs["steps"]))
    return np.asarray(inputs[0])[key]


# ----------------------------------------------------------------------------- gather

def _gather_rule(types, attrs):
    x, idx = types
    if x.rank < 1:
        raise TypeRuleError("x is a scalar; gather needs an axis to index", input_index=0)
    axis = _axis(attrs["axis"], x.rank)
    _require_index(idx, 1)
    return (TensorType(x.dtype, x.shape[:axis] + idx.shape + x.shape[axis + 1:]),)


@define_op("gather", ("x", "indices"), {"axis": AttrSpec("int", doc="the axis of x indexed")},
           infer=_gather_rule, layout=Layout.CHANNELS_LAST, index_inputs=(1,),
           doc="entries of x along `axis` at `indices` (negative indices count from the end; "
               "keras.ops.take, ONNX Gather)")
def gather(inputs, attrs):
    """``np.take(x, indices, axis)``: an index ``i < 0`` reads ``i + dim`` (Keras' TF
    ``take`` adds the dim to negative indices); outside ``[-dim, dim)`` is an error."""
    x, idx = inputs
    return np.take(x, np.asarray(idx, np.int64), axis=attrs["axis"], mode="raise")


# ----------------------------------------------------------------------------- take_along_axis

def _take_along_axis_rule(types, attrs):
    x, idx = types
    if x.rank < 1 or idx.rank != x.rank:
        raise TypeRuleError(f"indices must have the rank of x ({x.rank} >= 1), got {idx.rank}",
                            input_index=1, expected=f"rank {x.rank}", actual=f"rank {idx.rank}")
    axis = _axis(attrs["axis"], x.rank)
    _require_index(idx, 1)
    out = []
    for i, (a, b) in enumerate(zip(x.shape, idx.shape)):
        if i == axis:
            out.append(b)
            continue
        if a == 1 or b == 1:
            out.append(b if a == 1 else a)
            continue
        try:
            out.append(_merge_dim(a, b))
        except ValueError:
            raise TypeRuleError(
                f"indices {fmt_shape(idx.shape)} do not broadcast with x {fmt_shape(x.shape)} "
                f"at axis {i}", input_index=1, axis=i, expected=f"{a} or 1",
                actual=str(b)) from None
    return (TensorType(x.dtype, tuple(out)),)


@define_op("take_along_axis", ("x", "indices"),
           {"axis": AttrSpec("int", doc="the axis along which indices pick")},
           infer=_take_along_axis_rule, layout=Layout.CHANNELS_LAST, index_inputs=(1,),
           doc="np.take_along_axis: out[..i..] = x[..indices[..i..]..] along `axis`, other "
               "axes broadcast (keras.ops.take_along_axis, ONNX GatherElements)")
def take_along_axis(inputs, attrs):
    """``np.take_along_axis(x, indices, axis)`` (broadcasting the other axes, negative
    indices counted from the end)."""
    x, idx = inputs
    idx = np.asarray(idx, np.int64)
    axis = attrs["axis"]
    shape = list(np.broadcast_shapes(tuple(1 if i == axis else d for i, d in enumerate(x.shape)),
                                     tuple(1 if i == axis else d for i, d in enumerate(idx.shape))))
    xs, ids = list(shape), list(shape)
    xs[axis], ids[axis] = x.shape[axis], idx.shape[axis]
    idx = np.broadcast_to(idx, ids)
    if np.any((idx < -x.shape[axis]) | (idx >= x.shape[axis])):
        raise IndexError(f"take_along_axis: an index is outside [-{x.shape[axis]}, "
                         f"{x.shape[axis]})")
    return np.take_along_axis(np.broadcast_to(x, xs), idx, axis)


# ----------------------------------------------------------------------------- scatter_nd_update

def _scatter_nd_update_rule(types, attrs):
    x, idx, upd = types
    _require_index(idx, 1)
    depth = idx.shape[-1] if idx.rank >= 1 else None
    if not isinstance(depth, int) or not 1 <= depth <= x.rank:
        raise TypeRuleError(
            f"indices {fmt_shape(idx.shape)} must end in a static index depth in [1, "
            f"{x.rank}] (the rank of x)", input_index=1, expected=f"(..., d), 1 <= d <= {x.rank}",
            actual=fmt_shape(idx.shape))
    if upd.dtype is not x.dtype:
        raise TypeRuleError(f"updates must have the dtype of x ({x.dtype.value}), got "
                            f"{upd.dtype.value}", input_index=2, expected=x.dtype.value,
                            actual=upd.dtype.value)
    want = idx.shape[:-1] + x.shape[depth:]
    try:
        if upd.rank != len(want):
            raise ValueError
        for a, b in zip(upd.shape, want):
            _merge_dim(a, b)
    except ValueError:
        raise TypeRuleError(
            f"updates {fmt_shape(upd.shape)} must be indices' leading dims + x's dims past "
            f"the index depth {fmt_shape(want)}", input_index=2, expected=fmt_shape(want),
            actual=fmt_shape(upd.shape)) from None
    return (x,)


@define_op("scatter_nd_update", ("x", "indices", "updates"), {},
           infer=_scatter_nd_update_rule, layout=Layout.CHANNELS_LAST, index_inputs=(1,),
           doc="a copy of x with x[indices[j]] = updates[j] for each index tuple j (the last "
               "axis of indices: the tuple's depth d); keras.ops.scatter_update, "
               "tf.tensor_scatter_nd_update, ONNX ScatterND")
def scatter_nd_update(inputs, attrs):
    """``out = x.copy(); out[tuple(indices[j])] = updates[j]`` for each ``j`` in row-major
    order of ``indices``' leading axes (a repeated index keeps its last update here;
    TensorFlow and ONNX leave that order undefined).  An index outside ``[0, dim)``,
    negative included, is an error (TensorFlow's CPU kernel fails there)."""
    x, idx, upd = inputs
    idx = np.asarray(idx, np.int64)
    depth = idx.shape[-1]
    bound = np.asarray(x.shape[:depth])
    flat = idx.reshape(-1, depth)
    if np.any((flat < 0) | (flat >= bound)):
        raise IndexError(f"scatter_nd_update: an index is outside [0, {tuple(bound)})")
    out = np.array(x, copy=True)
    rows = np.asarray(upd).reshape((len(flat),) + x.shape[depth:])
    for key, row in zip(flat, rows):
        out[tuple(key)] = row
    return out


# ----------------------------------------------------------------------------- tile, repeat

def _tile_rule(types, attrs):
    x = types[0]
    reps = attrs["repeats"]
    if len(reps) != x.rank:
        raise TypeRuleError(f"repeats {reps} has {len(reps)} entries; x has rank {x.rank}",
                            input_index=0, expected=f"{x.rank} entries", actual=str(reps))
    if any(r < 1 for r in reps):
        raise TypeRuleError(f"repeats {reps} must be >= 1", expected=">= 1", actual=str(reps))
    return (TensorType(x.dtype, tuple(_scaled(d, r) for d, r in zip(x.shape, reps))),)


@define_op("tile", ("x",), {"repeats": AttrSpec("ints", doc="per axis, how many copies")},
           infer=_tile_rule, layout=Layout.CHANNELS_LAST,
           doc="x repeated as a whole `repeats[i]` times along each axis i (keras.ops.tile, "
               "ONNX Tile)")
def tile(inputs, attrs):
    """``np.tile(x, repeats)``."""
    return np.tile(inputs[0], attrs["repeats"])


def _repeat_rule(types, attrs):
    x = types[0]
    if x.rank < 1:
        raise TypeRuleError("x is a scalar; repeat needs an axis", input_index=0)
    axis = _axis(attrs["axis"], x.rank)
    r = attrs["repeats"]
    if r < 1:
        raise TypeRuleError(f"repeats={r} must be >= 1", expected=">= 1", actual=str(r))
    shape = list(x.shape)
    shape[axis] = _scaled(shape[axis], r)
    return (TensorType(x.dtype, tuple(shape)),)


@define_op("repeat", ("x",), {"repeats": AttrSpec("int", doc="copies of each element"),
                              "axis": AttrSpec("int", doc="the axis along which to repeat")},
           infer=_repeat_rule, layout=Layout.CHANNELS_LAST,
           doc="each element repeated `repeats` times along `axis`, copies adjacent "
               "(keras.ops.repeat with one count, np.repeat; ONNX Unsqueeze/Tile/Reshape)")
def repeat(inputs, attrs):
    """``np.repeat(x, repeats, axis)``."""
    return np.repeat(inputs[0], attrs["repeats"], axis=attrs["axis"])


# ----------------------------------------------------------------------------- broadcast_to

def _broadcast_to_rule(types, attrs):
    x = types[0]
    target = attrs["shape"]
    lead = len(target) - x.rank
    if lead < 0:
        raise TypeRuleError(f"shape {target} has fewer axes than x {fmt_shape(x.shape)}",
                            input_index=0, expected=f">= {x.rank} entries", actual=str(target))
    out: list[Dim] = []
    for i, t in enumerate(target):
        if t < -1 or t == 0:
            raise TypeRuleError(f"shape {target}: entry {t} must be >= 1 or -1",
                                expected=">= 1 or -1", actual=str(t))
        if i < lead:
            if t == -1:
                raise TypeRuleError(f"shape {target}: -1 at axis {i}, where x has no axis",
                                    expected="a size >= 1", actual="-1")
            out.append(t)
            continue
        d = x.shape[i - lead]
        if t == -1 or d == t:
            out.append(d)
        elif d == 1 or not isinstance(d, int):
            out.append(t)
        else:
            raise TypeRuleError(f"x {fmt_shape(x.shape)} does not broadcast to {target}: "
                                f"{d} vs {t} at axis {i}", input_index=0, axis=i,
                                expected=f"1 or {t}", actual=str(d))
    return (TensorType(x.dtype, tuple(out)),)


@define_op("broadcast_to", ("x",), {
    "shape": AttrSpec("ints", doc="the output shape; -1 keeps x's own dim at that axis "
                                  "(aligned from the right), e.g. a symbolic batch")},
    infer=_broadcast_to_rule, layout=Layout.CHANNELS_LAST,
    doc="x broadcast (NumPy rules) to `shape`, -1 meaning x's own dim "
        "(keras.ops.broadcast_to, ONNX Expand)")
def broadcast_to(inputs, attrs):
    """``np.broadcast_to(x, shape)`` with each ``-1`` replaced by x's own dim there."""
    x = np.asarray(inputs[0])
    target = attrs["shape"]
    lead = len(target) - x.ndim
    shape = tuple(x.shape[i - lead] if t == -1 else t for i, t in enumerate(target))
    return np.array(np.broadcast_to(x, shape))


# ----------------------------------------------------------------------------- pad

PAD_MODES = ("constant", "reflect")


def _pad_rule(types, attrs):
    x = types[0]
    pads, mode, value = attrs["pads"], attrs["mode"], attrs["value"]
    if len(pads) != x.rank:
        raise TypeRuleError(f"pads has {len(pads)} pairs; x has rank {x.rank}", input_index=0,
                            expected=f"{x.rank} (before, after) pairs", actual=str(pads))
    if mode == "constant":
        np_dtype = x.dtype.to_numpy()
        exact = math.isfinite(value) and float(np.asarray(value).astype(np_dtype)) == value
        if not x.dtype.is_float and not exact:
            raise TypeRuleError(f"value={value} is not a {x.dtype.value}",
                                input_index=0, expected=f"a value a {x.dtype.value} holds",
                                actual=str(value))
    out = []
    for i, (d, (a, b)) in enumerate(zip(x.shape, pads)):
        if mode == "reflect" and isinstance(d, int) and max(a, b) > d - 1:
            raise TypeRuleError(f"reflect padding ({a}, {b}) of axis {i} needs a dim > "
                                f"{max(a, b)}, got {d}", input_index=0, axis=i,
                                expected=f"> {max(a, b)}", actual=str(d))
        out.append(d + a + b if isinstance(d, int) else d if a == b == 0 else None)
    return (TensorType(x.dtype, tuple(out)),)


@define_op("pad", ("x",), {
    "pads": AttrSpec("int_pairs", doc="per axis, (before, after) counts, >= 0"),
    "mode": AttrSpec("str", choices=PAD_MODES, doc="constant, or reflect (mirror without "
                                                   "repeating the edge)"),
    "value": AttrSpec("float", doc="the fill value of mode constant (ignored by reflect)")},
    infer=_pad_rule, layout=Layout.CHANNELS_LAST,
    doc="np.pad with mode constant (fill `value`) or reflect (keras.ops.pad, ONNX Pad)")
def pad(inputs, attrs):
    """``np.pad(x, pads, mode)``; the fill value in x's dtype."""
    x = np.asarray(inputs[0])
    if attrs["mode"] == "reflect":
        return np.pad(x, attrs["pads"], mode="reflect")
    return np.pad(x, attrs["pads"], mode="constant",
                  constant_values=np.asarray(attrs["value"]).astype(x.dtype))


# ----------------------------------------------------------------------------- flip

def _flip_rule(types, attrs):
    x = types[0]
    _axes(attrs["axes"], x.rank)
    return (x,)


@define_op("flip", ("x",), {"axes": AttrSpec("ints", doc="the axes to reverse")},
           infer=_flip_rule, layout=Layout.CHANNELS_LAST,
           doc="x reversed along `axes` (keras.ops.flip, ONNX Slice with step -1)")
def flip(inputs, attrs):
    """``np.flip(x, axes)``."""
    return np.flip(inputs[0], tuple(attrs["axes"])).copy()


# ----------------------------------------------------------------------------- stack

def _stack_rule(types, attrs):
    same_dtype(types)
    shape = list(types[0].shape)
    for i, t in enumerate(types[1:], start=1):
        if t.rank != len(shape):
            raise TypeRuleError(f"input {i} has rank {t.rank}, input 0 has rank {len(shape)}",
                                input_index=i, expected=f"rank {len(shape)}",
                                actual=f"rank {t.rank}")
        for ax, d in enumerate(t.shape):
            try:
                shape[ax] = _merge_dim(shape[ax], d)
            except ValueError:
                raise TypeRuleError(f"input {i} {fmt_shape(t.shape)} differs from input 0 "
                                    f"{fmt_shape(types[0].shape)} at axis {ax}",
                                    input_index=i, axis=ax, expected=str(shape[ax]),
                                    actual=str(d)) from None
    axis = _axis(attrs["axis"], len(shape) + 1)
    shape.insert(axis, len(types))
    return (TensorType(types[0].dtype, tuple(shape)),)


@define_op("stack", ("x",), {"axis": AttrSpec("int", doc="the new axis' position in the output")},
           infer=_stack_rule, layout=Layout.CHANNELS_LAST, variadic=True, min_inputs=1,
           doc="tensors of one shape and dtype stacked along a new axis (keras.ops.stack, "
               "ONNX Unsqueeze + Concat)")
def stack(inputs, attrs):
    """``np.stack(xs, axis)``."""
    return np.stack(inputs, axis=attrs["axis"])


# ----------------------------------------------------------------------------- one_hot

def _one_hot_rule(types, attrs):
    x = types[0]
    if not x.dtype.is_int:
        raise TypeRuleError(f"one_hot reads integer indices, got {x.dtype.value}",
                            input_index=0, expected="an integer dtype", actual=x.dtype.value,
                            hint="cast the indices to int32 or int64")
    depth = attrs["depth"]
    if depth < 1:
        raise TypeRuleError(f"depth={depth} must be >= 1", expected=">= 1", actual=str(depth))
    axis = _axis(attrs["axis"], x.rank + 1)
    shape = list(x.shape)
    shape.insert(axis, depth)
    return (TensorType(DType.FLOAT32, tuple(shape)),)


@define_op("one_hot", ("x",), {"depth": AttrSpec("int", doc="the number of classes"),
                               "axis": AttrSpec("int", doc="the new axis' position in the "
                                                           "output")},
           infer=_one_hot_rule, layout=Layout.CHANNELS_LAST, index_inputs=(0,),
           doc="float32 one-hot vectors of integer indices; an index outside [0, depth) "
               "gives zeros (keras.ops.one_hot, ONNX OneHot)")
def one_hot(inputs, attrs):
    """1.0 where the new axis' position equals the index, else 0.0; negative or too
    large indices give all zeros (``tf.one_hot``)."""
    x = np.asarray(inputs[0]).astype(np.int64)
    depth, axis = attrs["depth"], attrs["axis"]
    hot = (x[..., None] == np.arange(depth)).astype(np.float64)
    return np.moveaxis(hot, -1, axis)


# ----------------------------------------------------------------------------- full_like

def _full_like_rule(types, attrs):
    dtype = DType(attrs["dtype"])
    value = attrs["value"]
    if dtype is DType.BOOL:
        ok = value in (0, 1)
    elif dtype.is_int:
        info = np.iinfo(dtype.to_numpy())
        ok = float(value).is_integer() and info.min <= value <= info.max
    else:
        ok = True  # rounded to the nearest float of dtype, as Keras converts it
    if not ok:
        raise TypeRuleError(f"value {value!r} is not representable in {dtype.value}",
                            expected=f"a {dtype.value} value", actual=repr(value))
    return (TensorType(dtype, types[0].shape),)


@define_op("full_like", ("x",),
           {"value": AttrSpec("float", doc="the fill value (exactly representable in dtype)"),
            "dtype": AttrSpec("str", choices=tuple(d.value for d in DType),
                              doc="the output dtype")},
           infer=_full_like_rule, layout=Layout.ANY,
           doc="a tensor of x's shape, every element `value`, of dtype `dtype`; x's values "
               "are not read (keras.ops.full_like / zeros_like / ones_like, ONNX "
               "ConstantOfShape of Shape)")
def full_like(inputs, attrs):
    """``np.full(x.shape, value)`` in ``dtype`` (floats held in float64, as the
    interpreter holds every float)."""
    dtype = DType(attrs["dtype"])
    shape = np.shape(inputs[0])
    if dtype.is_float:
        return np.full(shape, np.asarray(attrs["value"]).astype(dtype.to_numpy()), np.float64)
    return np.full(shape, attrs["value"], dtype.to_numpy())


# ----------------------------------------------------------------------------- array_reshape

def _array_reshape_rule(types, attrs):
    x = types[0]
    target = attrs["shape"]
    if sum(d == -1 for d in target) > 1 or any(d < -1 or d == 0 for d in target):
        raise TypeRuleError(f"shape {target} must hold positive sizes and at most one -1",
                            expected="positive sizes, at most one -1", actual=str(target))
    known = math.prod(d for d in target if d != -1)
    if all(isinstance(d, int) for d in x.shape):
        total = math.prod(x.shape)
        if (-1 in target and total % known) or (-1 not in target and total != known):
            raise TypeRuleError(f"{fmt_shape(x.shape)} ({total} elements) cannot be "
                                f"reshaped to {target}", input_index=0,
                                expected=f"a multiple of {known} elements", actual=str(total))
        out = tuple(total // known if d == -1 else d for d in target)
        return (TensorType(x.dtype, out),)
    # a non-static input: the -1 entry is what the run-time size makes it: x's size
    # divided by the other entries, named when x's dims are ints and symbolic names and
    # the division is exact ("batch" itself, or a product such as "4*batch")
    inferred = exact_quotient(x.shape, (known,))
    out = tuple(inferred if d == -1 else d for d in target)
    return (TensorType(x.dtype, out),)


@define_op("array_reshape", ("x",),
           {"shape": AttrSpec("ints", doc="the new shape over every axis (batch included); "
                                          "positive sizes and at most one -1")},
           infer=_array_reshape_rule, layout=Layout.CHANNELS_LAST,
           doc="np.reshape(x, shape) over the whole array, the batch axis included "
               "(keras.ops.reshape merging or splitting the batch axis, ONNX Reshape)")
def array_reshape(inputs, attrs):
    """``np.reshape(x, shape)`` (C order; ``-1`` takes the remaining size).

    Raises:
        ValueError: the element count does not fit ``shape`` (NumPy's error).
    """
    return np.reshape(inputs[0], attrs["shape"])
