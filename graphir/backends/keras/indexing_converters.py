"""Converters of the ``keras.ops`` shape and indexing operations applied to symbolic
tensors (``x[:, 0]``, ``keras.ops.transpose``, ``keras.ops.take``...), registered with
:func:`~graphir.backends.keras.registry.lowers`; they lower to the ops of
:mod:`graphir.ops.indexing` (and ``reshape`` / ``concatenate``), with exactly what
Keras 3 computes on TensorFlow (``keras/src/ops/numpy.py``, ``keras/src/ops/nn.py``,
``keras/src/backend/tensorflow/numpy.py``).

Every axis is normalized to be non-negative here, as the IR requires.

* ``Transpose`` -> ``transpose`` (no axes: reversed); ``ExpandDims`` -> ``expand_dims``;
  ``Squeeze`` -> ``squeeze`` (no axes: every static size-1 axis, refused when a dim is
  not static, since TensorFlow then squeezes whatever is 1 at run time; nothing to
  squeeze: ``identity``);
* ``GetItem`` (``x[key]``): ints, slices, ``None`` and one ``...``.  The slices become
  one ``slice``; an int on a static axis is a one-element slice then a ``squeeze``,
  an int on a symbolic or unknown axis a ``gather`` of a rank-0 int64 constant (which
  drops the axis, with the same error as TensorFlow when out of range); ``None`` an
  ``expand_dims``.  Refused: tensor indices, boolean masks, arrays and lists of
  indices (advanced indexing); a list key is a tuple, as ``GetItem.call`` makes it;
* ``Take`` -> ``gather`` (negative indices count from the end: Keras' TF ``take`` adds
  the dim to them); ``TakeAlongAxis`` -> ``take_along_axis``; a constant operand
  (NumPy array, Python ints, or a list or tuple of ints as ``take``'s indices) becomes
  a weight; ``axis=None`` (flatten first) is lowered only for a rank-1 tensor or a
  constant ``x``;
* ``Tile`` -> ``tile`` (repeats padded with leading 1s, or the input given leading
  size-1 axes first, as TensorFlow's ``tile`` does); ``Repeat`` -> ``repeat`` (one
  count; per-element counts are refused unless all equal);
* ``BroadcastTo`` -> ``broadcast_to`` (a static shape); ``Pad`` -> ``pad`` (modes
  ``constant`` and ``reflect``; ``symmetric`` is refused: ONNX has no such mode);
  ``Flip`` -> ``flip``; ``Stack`` -> ``stack``; ``OneHot`` -> ``one_hot`` (float32;
  float or bool indices are cast to int64 first, as Keras does);
* ``Reshape`` -> the layer-level ``reshape`` (which keeps the batch axis) when the new
  shape provably keeps it: first entry ``-1``/``None`` and the rest static with the
  same number of elements per sample, or the first entry equal to a static batch;
  any other new shape (merging or splitting the batch axis: a Swin window partition,
  ``reshape(x, (-1, dim))``) -> ``array_reshape``;
  ``Concatenate`` -> ``concatenate``;
* ``ZerosLike`` / ``OnesLike`` / ``FullLike`` -> ``full_like`` (dtype: the given one,
  else x's; ``full_like``'s fill value a Python or NumPy scalar exactly representable
  in it, as ``convert_to_tensor(fill_value, dtype)`` requires);
* ``CategoryEncoding`` (the layer) -> ``one_hot`` of the indices (``one_hot``: the last
  axis of size 1 squeezed first, as Keras does), then ``max`` (``multi_hot``) or
  ``sum`` (``count``) over the token axis of a rank-2 input.

Tensors of different dtypes in one ``stack`` / ``concatenate`` (Keras promotes them)
are refused; cast them explicitly.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import keras
import numpy as np
from keras import KerasTensor
from keras.src.ops import image as kimage
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.dynamic_dims import DynamicReshape
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.ops import infer_types
from graphir.ops.indexing import SLICE_BEGIN, SLICE_END
from graphir.ops.registry import TypeRuleError
from graphir.size_exprs import SizeExpr, format_size
from graphir.tensor_types import TensorType

__all__: list[str] = []


# --------------------------------------------------------------------------- helpers

def _one_tensor(ctx: LayerContext) -> Operand:
    """The single tensor argument of a one-tensor operation."""
    if len(ctx.inputs) != 1 or not ctx.call_args or not isinstance(ctx.call_args[0], KerasTensor):
        ctx.refuse(f"called on {len(ctx.inputs)} tensors; expected one tensor argument")
    return Operand(ctx.inputs[0], ctx.input_types[0])


def _int(ctx: LayerContext, v: Any, what: str) -> int:
    """``v`` as a Python int (numpy integers accepted; bools, floats, tensors refused)."""
    if isinstance(v, (bool, np.bool_)) or not hasattr(v, "__index__") or isinstance(v, KerasTensor):
        ctx.refuse(f"{what} {v!r} is not an int")
    return operator.index(v)


def _canonical(ctx: LayerContext, axis: Any, rank: int, what: str = "axis") -> int:
    """``axis`` normalized into ``[0, rank)``."""
    a = _int(ctx, axis, what)
    if not -rank <= a < rank:
        ctx.refuse(f"{what}={a} is out of range for rank {rank}")
    return a % rank


def _canonical_axes(ctx: LayerContext, axes: Any, rank: int) -> tuple[int, ...]:
    """An int or a sequence of ints, normalized, sorted, without repeats."""
    seq = axes if isinstance(axes, (list, tuple)) else (axes,)
    out = [_canonical(ctx, a, rank) for a in seq]
    if len(set(out)) != len(out):
        ctx.refuse(f"axis={axes!r} names an axis twice")
    return tuple(sorted(out))


def _ints(ctx: LayerContext, values: Any, what: str) -> tuple[int, ...]:
    """An int or a sequence of ints (no tensors) as a tuple."""
    if isinstance(values, (list, tuple)):
        return tuple(_int(ctx, v, what) for v in values)
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return tuple(_int(ctx, v, what) for v in values.tolist())
    return (_int(ctx, values, what),)


def _chain(ctx: LayerContext, x: str, steps: Sequence[tuple[str, Sequence[str], dict]]
           ) -> Lowered:
    """Apply ``(op, extra inputs, attrs)`` steps to ``x`` in order: helpers, then the
    final node (``identity`` when there is no step)."""
    if not steps:
        return ctx.lowered("identity", [x])
    for op, extra, attrs in steps[:-1]:
        x = ctx.helper(op, [x, *extra], attrs, suffix=op)
    op, extra, attrs = steps[-1]
    return ctx.lowered(op, [x, *extra], attrs)


def _tensor_list(ctx: LayerContext) -> list[Operand]:
    """The tensors of a list argument (``stack``, ``concatenate``), one dtype; a constant
    entry (a variable, or a tensor Keras computed eagerly, e.g. a class token tiled to a
    fixed batch) is a weight ``<operation>/constant_<i>`` of the tensors' dtype."""
    from keras import Variable

    from graphir.backends.keras.context import _is_concrete_tensor

    xs = ctx.call_args[0] if ctx.call_args else None
    if not isinstance(xs, (list, tuple)) or not xs:
        ctx.refuse("expected a non-empty list of tensors")
    tensors = iter(zip(ctx.inputs, ctx.input_types))
    ops: list[Operand | np.ndarray] = []
    for t in xs:
        if isinstance(t, KerasTensor):
            ops.append(Operand(*next(tensors)))
        elif isinstance(t, Variable):
            ops.append(ctx.variable_operand(t))
        elif _is_concrete_tensor(t) or isinstance(t, np.ndarray):
            ops.append(np.asarray(t))
        else:
            ctx.refuse(f"a {type(t).__name__} in the list of tensors; only tensors and "
                       f"arrays are supported")
    symbolic = [o for o in ops if isinstance(o, Operand)]
    if not symbolic:
        ctx.refuse("no symbolic tensor in the list")
    dtypes = sorted({o.type.dtype.value if isinstance(o, Operand) else str(o.dtype)
                     for o in ops})
    if len(dtypes) > 1:
        ctx.refuse(f"tensors of dtypes {', '.join(dtypes)}, which Keras promotes to one; "
                   f"cast them explicitly (keras.ops.cast)")
    return [_data_operand(ctx, o, f"constant_{i}") for i, o in enumerate(ops)]


def _index_constant(ctx: LayerContext, value: Any, name: str) -> str:
    """A constant index operand (Python ints or an integer array) as an int32/int64
    weight: Python ints become int32 as TensorFlow converts them (int64 when too big),
    integer arrays keep int32/int64 and other integer dtypes become int64."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or isinstance(value, (bool, np.bool_)):
        ctx.refuse(f"indices of dtype {arr.dtype} ({type(value).__name__}); only integer "
                   f"indices are supported")
    if not isinstance(value, np.ndarray) and not isinstance(value, np.generic):
        small = arr.size == 0 or (arr.min() >= -2 ** 31 and arr.max() < 2 ** 31)
        arr = arr.astype(np.int32 if small else np.int64)
    elif arr.dtype not in (np.int32, np.int64):
        arr = arr.astype(np.int64)
    return ctx.constant(name, arr)


def _data_operand(ctx: LayerContext, value: Any, name: str) -> Operand:
    """A data operand: the tensor, or a constant array registered as a weight."""
    if isinstance(value, Operand):
        return value
    arr = np.asarray(value)
    try:
        dtype = DType.from_any(arr.dtype)
    except (TypeError, ValueError):
        ctx.refuse(f"a constant operand of dtype {arr.dtype}, which is not an IR dtype")
    return Operand(ctx.constant(name, arr), TensorType(dtype, arr.shape))


# --------------------------------------------------------------------------- transpose etc.

@lowers(knp.Transpose)
def _transpose(ctx: LayerContext) -> Lowered:
    """``keras.ops.transpose(x, axes)`` -> ``transpose {perm}``."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    axes = ctx.layer.axes
    if axes is None:
        perm = tuple(reversed(range(rank)))
    else:
        perm = tuple(_canonical(ctx, a, rank) for a in axes)
        if sorted(perm) != list(range(rank)):
            ctx.refuse(f"axes={tuple(axes)} is not a permutation of the {rank} axes")
    return ctx.lowered("transpose", [x.name], {"perm": perm})


@lowers(knp.Moveaxis)
def _moveaxis(ctx: LayerContext) -> Lowered:
    """``keras.ops.moveaxis(x, source, destination)`` -> ``transpose {perm}`` with the
    permutation TensorFlow's Keras backend builds (``backend/tensorflow/numpy.py``
    ``moveaxis``: the unmoved axes in order, each source inserted at its destination in
    destination order); ``identity`` when nothing moves."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    source = tuple(_canonical(ctx, a, rank) for a in ctx.layer.source)
    destination = tuple(_canonical(ctx, a, rank) for a in ctx.layer.destination)
    if len(source) != len(destination) or len(set(source)) != len(source) or \
            len(set(destination)) != len(destination):
        ctx.refuse(f"source={source} and destination={destination} are not two lists of "
                   f"distinct axes of one length")
    if source == destination:
        return ctx.lowered("identity", [x.name])
    perm = [i for i in range(rank) if i not in source]
    for dest, src in sorted(zip(destination, source)):
        perm.insert(dest, src)
    return ctx.lowered("transpose", [x.name], {"perm": tuple(perm)})


@lowers(knp.Split, multiple_outputs=True)
def _split(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.split(x, indices_or_sections, axis)`` -> one ``slice`` per output
    (``tf.split``: ``n`` equal parts of a static axis that ``n`` divides, or the parts
    between the sorted split indices, as NumPy's ``split``)."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = _canonical(ctx, ctx.layer.axis, rank)
    size = x.type.shape[axis]
    if not isinstance(size, int):
        ctx.refuse(f"a split of axis {axis}, whose size is unknown")
    parts = ctx.layer.indices_or_sections
    if isinstance(parts, int) and not isinstance(parts, bool):
        if parts < 1 or size % parts:
            ctx.refuse(f"{parts} equal parts of an axis of size {size}")
        bounds = [size // parts * i for i in range(parts + 1)]
    else:
        cuts = [_int(ctx, c, "a split index") for c in parts]
        if any(c < 0 or c > size for c in cuts) or cuts != sorted(cuts):
            ctx.refuse(f"split indices {cuts} are not sorted indices of an axis of size {size}")
        bounds = [0, *cuts, size]
    outs = []
    for lo, hi in zip(bounds, bounds[1:]):
        starts, ends = [0] * rank, [SLICE_END] * rank
        starts[axis], ends[axis] = lo, hi
        outs.append(ctx.lowered("slice", [x.name], {"starts": tuple(starts),
                                                    "ends": tuple(ends), "steps": (1,) * rank}))
    return outs


@lowers(kimage.ExtractPatches)
def _extract_patches(ctx: LayerContext) -> Lowered:
    """``keras.ops.image.extract_patches(images, size, strides, dilation_rate, padding)``
    on a batch of channels-last images -> ``conv2d`` with the kernel Keras itself
    convolves with (``_extract_patches_2d`` in keras/src/ops/image.py: the identity
    ``eye(ph * pw * C)`` reshaped to ``(ph, pw, C, ph * pw * C)``, no bias), a weight
    ``<operation>/kernel``: each output channel copies one pixel of the window.

    Refused: 3-D patches, channels-first data, unbatched images, an unknown channel count.
    """
    x = _one_tensor(ctx)
    layer = ctx.layer
    if layer.is_3d or layer.data_format != "channels_last" or x.type.rank != 4:
        ctx.refuse("only 2-D patches of a channels-last batch of images (N, H, W, C) lower")
    channels = x.type.shape[-1]
    if not isinstance(channels, int):
        ctx.refuse("an image batch whose channel count is unknown")

    def pair(v: Any, what: str) -> tuple[int, int]:
        vs = (v, v) if isinstance(v, int) else tuple(v)
        if len(vs) != 2 or not all(isinstance(i, int) and i >= 1 for i in vs):
            ctx.refuse(f"{what}={v!r} is not one or two positive ints")
        return vs

    ph, pw = pair(layer.size, "size")
    padding = str(layer.padding).lower()
    if padding not in ("valid", "same"):
        ctx.refuse(f"padding={layer.padding!r}")
    depth = ph * pw * channels
    kernel = np.eye(depth, dtype=x.type.dtype.to_numpy()).reshape(ph, pw, channels, depth)
    return ctx.lowered("conv2d", [x.name, ctx.constant("kernel", kernel), ""], {
        "strides": pair(layer.strides or layer.size, "strides"), "padding": padding,
        "dilations": pair(layer.dilation_rate, "dilation_rate"), "activation": "linear",
        "data_format": "channels_last", "groups": 1})


@lowers(knp.ExpandDims)
def _expand_dims(ctx: LayerContext) -> Lowered:
    """``keras.ops.expand_dims(x, axis)`` -> ``expand_dims {axes}`` (axes counted in the
    output rank, as TensorFlow's Keras backend counts them)."""
    x = _one_tensor(ctx)
    n = len(ctx.layer.axis) if isinstance(ctx.layer.axis, (list, tuple)) else 1
    axes = _canonical_axes(ctx, ctx.layer.axis, x.type.rank + n)
    return ctx.lowered("expand_dims", [x.name], {"axes": axes})


@lowers(knp.Squeeze)
def _squeeze(ctx: LayerContext) -> Lowered:
    """``keras.ops.squeeze(x, axis)`` -> ``squeeze {axes}`` (or ``identity``)."""
    x = _one_tensor(ctx)
    shape = x.type.shape
    if ctx.layer.axis is None:
        if not all(isinstance(d, int) for d in shape):
            ctx.refuse(f"squeeze without an axis of {shape}: TensorFlow removes every dim "
                       f"that is 1 at run time, and a non-static dim may be; name the axes")
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = _canonical_axes(ctx, ctx.layer.axis, x.type.rank)
        bad = [a for a in axes if shape[a] != 1]
        if bad:
            ctx.refuse(f"axis {bad[0]} of {shape} is not statically 1")
    if not axes:
        return ctx.lowered("identity", [x.name])
    return ctx.lowered("squeeze", [x.name], {"axes": axes})


# --------------------------------------------------------------------------- x[...]

def _key_entries(ctx: LayerContext, key: Any) -> list[Any]:
    """The key as a list of ints, slices (int or None parts), ``None`` and ``...``."""
    if isinstance(key, list):  # GetItem.call: a list key is a tuple
        key = tuple(key)
    entries = list(key) if isinstance(key, tuple) else [key]
    out = []
    for k in entries:
        if k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, KerasTensor):
            ctx.refuse("a tensor index (x[t] with a symbolic tensor t: a gather or a boolean "
                       "mask); only ints, slices, None and ... are supported, use "
                       "keras.ops.take for gathers")
        elif isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.dtype == bool):
            ctx.refuse(f"a boolean index {k!r} (a mask); only ints, slices, None and ... "
                       f"are supported")
        elif isinstance(k, (list, tuple, np.ndarray)):
            ctx.refuse(f"an array index {k!r} (advanced indexing); only ints, slices, None "
                       f"and ... are supported, use keras.ops.take")
        elif isinstance(k, slice):
            for part in (k.start, k.stop, k.step):
                if part is not None:
                    _int(ctx, part, "a slice bound")
            out.append(slice(*(None if p is None else operator.index(p)
                               for p in (k.start, k.stop, k.step))))
        else:
            out.append(_int(ctx, k, "an index"))
    return out


def _clip64(v: int) -> int:
    return max(SLICE_BEGIN, min(SLICE_END, v))


@lowers(knp.GetItem)
def _get_item(ctx: LayerContext) -> Lowered:
    """``x[key]`` -> ``slice``, then ``gather`` / ``squeeze`` for ints, then
    ``expand_dims`` for ``None`` (only the steps needed)."""
    if len(ctx.inputs) != 1 or not isinstance(ctx.call_args[0], KerasTensor):
        ctx.refuse("a tensor index (x[t] with a symbolic tensor t: a gather or a boolean "
                   "mask); only ints, slices, None and ... are supported")
    x = Operand(ctx.inputs[0], ctx.input_types[0])
    key = ctx.call_args[1] if len(ctx.call_args) > 1 else ctx.call_kwargs.get("key")
    entries = _key_entries(ctx, key)
    if entries.count(Ellipsis) > 1:
        ctx.refuse("an index with more than one ...")
    if Ellipsis not in entries:
        entries.append(Ellipsis)
    rank, shape = x.type.rank, x.type.shape
    consumed = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if consumed > rank:
        ctx.refuse(f"{consumed} indices for a tensor of rank {rank}")
    starts, ends, steps = [0] * rank, [SLICE_END] * rank, [1] * rank
    static_ints, dynamic_ints, out_items = [], {}, []  # out_items: axis or None (new)
    axis = 0
    for e in entries:
        if e is Ellipsis:
            for _ in range(rank - consumed):
                out_items.append(axis)
                axis += 1
        elif e is None:
            out_items.append(None)
        elif isinstance(e, slice):
            step = 1 if e.step is None else e.step
            if step == 0:
                ctx.refuse("a slice step of 0")
            starts[axis] = (0 if step > 0 else SLICE_END) if e.start is None else _clip64(e.start)
            ends[axis] = ((SLICE_END if step > 0 else SLICE_BEGIN) if e.stop is None
                          else _clip64(e.stop))
            steps[axis] = step
            out_items.append(axis)
            axis += 1
        else:
            d = shape[axis]
            if isinstance(d, int):
                if not -d <= e < d:
                    ctx.refuse(f"index {e} is out of range for axis {axis} of size {d}")
                starts[axis], ends[axis] = e % d, e % d + 1
                static_ints.append(axis)
            else:
                dynamic_ints[axis] = e
            axis += 1
    plan: list[tuple[str, Sequence[str], dict]] = []
    if any((s, e, k) != (0, SLICE_END, 1) for s, e, k in zip(starts, ends, steps)):
        plan.append(("slice", [], {"starts": tuple(starts), "ends": tuple(ends),
                                   "steps": tuple(steps)}))
    current = list(range(rank))  # original axis at each position of the current tensor
    for ax in sorted(dynamic_ints, reverse=True):
        index = ctx.constant(f"index{ax}", np.asarray(dynamic_ints[ax], np.int64))
        plan.append(("gather", [index], {"axis": current.index(ax)}))
        current.remove(ax)
    if static_ints:
        plan.append(("squeeze", [], {"axes": tuple(sorted(current.index(a)
                                                          for a in static_ints))}))
    new_axes = tuple(i for i, item in enumerate(out_items) if item is None)
    if new_axes:
        plan.append(("expand_dims", [], {"axes": new_axes}))
    return _chain(ctx, x.name, plan)


# --------------------------------------------------------------------------- gathers

def _index_operand(ctx: LayerContext, arg: Any) -> str:
    """The IR value of an indices argument: an int32/int64 tensor as it is, a constant as
    an index weight (:func:`_index_constant`).

    Raises:
        UnsupportedLayerError: a tensor of another dtype.
    """
    if isinstance(arg, Operand):
        if arg.type.dtype not in (DType.INT32, DType.INT64):
            ctx.refuse(f"indices of dtype {arg.type.dtype.value}; only int32 and int64 "
                       f"tensors index")
        return arg.name
    return _index_constant(ctx, arg, "indices")


@lowers(knp.Take)
def _take(ctx: LayerContext) -> Lowered:
    """``keras.ops.take(x, indices, axis)`` -> ``gather {axis}``; indices given as a
    Python list or tuple of ints are a constant int32 weight (int64 when one is too big),
    as TensorFlow converts them."""
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    x_arg, idx_arg = operands
    if isinstance(x_arg, (list, tuple)):
        ctx.refuse("x given as a Python list; pass a tensor or a NumPy array")
    axis = ctx.layer.axis
    if axis is None:
        if isinstance(x_arg, Operand):
            if x_arg.type.rank != 1:
                ctx.refuse(f"take without an axis flattens x {x_arg.type.shape}, batch "
                           f"axis included; give an axis")
        else:
            x_arg = np.asarray(x_arg).reshape(-1)
        axis = 0
    x = _data_operand(ctx, x_arg, "x")
    idx = _index_operand(ctx, idx_arg)
    return ctx.lowered("gather", [x.name, idx],
                       {"axis": _canonical(ctx, axis, max(x.type.rank, 1))})


@lowers(knp.TakeAlongAxis)
def _take_along_axis(ctx: LayerContext) -> Lowered:
    """``keras.ops.take_along_axis(x, indices, axis)`` -> ``take_along_axis {axis}``."""
    operands = ctx.operands()
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    x = _data_operand(ctx, operands[0], "x")
    idx_arg = operands[1]
    idx = _index_operand(ctx, idx_arg)
    axis = ctx.layer.axis
    if axis is None:
        if x.type.rank != 1:
            ctx.refuse(f"take_along_axis without an axis flattens x {x.type.shape}; give an "
                       f"axis")
        axis = 0
    return ctx.lowered("take_along_axis", [x.name, idx],
                       {"axis": _canonical(ctx, axis, x.type.rank)})


# --------------------------------------------------------------------------- tile, repeat

@lowers(knp.Tile)
def _tile(ctx: LayerContext) -> Lowered:
    """``keras.ops.tile(x, repeats)`` -> ``tile`` (after ``expand_dims`` when repeats is
    longer than the rank)."""
    x = _one_tensor(ctx)
    reps = _ints(ctx, ctx.layer.repeats, "repeats")
    if any(r < 1 for r in reps):
        ctx.refuse(f"repeats {reps}: a count below 1 (an empty result) is not supported")
    rank = x.type.rank
    plan: list[tuple[str, Sequence[str], dict]] = []
    if len(reps) > rank:
        plan.append(("expand_dims", [], {"axes": tuple(range(len(reps) - rank))}))
    reps = (1,) * (rank - len(reps)) + reps
    plan.append(("tile", [], {"repeats": reps}))
    return _chain(ctx, x.name, plan)


@lowers(knp.Repeat)
def _repeat(ctx: LayerContext) -> Lowered:
    """``keras.ops.repeat(x, repeats, axis)`` -> ``repeat`` (one count)."""
    x = _one_tensor(ctx)
    reps = _ints(ctx, ctx.layer.repeats, "repeats")
    axis = ctx.layer.axis
    if axis is None:
        if x.type.rank != 1:
            ctx.refuse(f"repeat without an axis flattens x {x.type.shape}; give an axis")
        axis = 0
    axis = _canonical(ctx, axis, x.type.rank)
    if len(set(reps)) != 1:
        ctx.refuse(f"per-element repeat counts {reps}; only one count for every element "
                   f"is supported")
    if reps[0] < 1:
        ctx.refuse(f"repeats={reps[0]}: a count below 1 is not supported")
    return ctx.lowered("repeat", [x.name], {"repeats": reps[0], "axis": axis})


# --------------------------------------------------------------------------- broadcast, pad, flip

@lowers(knp.BroadcastTo)
def _broadcast_to(ctx: LayerContext) -> Lowered:
    """``keras.ops.broadcast_to(x, shape)`` -> ``broadcast_to {shape}`` (a static shape)."""
    x = _one_tensor(ctx)
    if ctx.layer.shape is None or not isinstance(ctx.layer.shape, (list, tuple)):
        ctx.refuse(f"shape {ctx.layer.shape!r} is not a tuple of ints")
    shape = _ints(ctx, ctx.layer.shape, "a dim of shape")
    if any(d < 1 for d in shape):
        ctx.refuse(f"shape {shape}: only sizes >= 1 are supported")
    return ctx.lowered("broadcast_to", [x.name], {"shape": shape})


@lowers(knp.Pad, accepted_call_kwargs=("constant_values",))
def _pad(ctx: LayerContext) -> Lowered:
    """``keras.ops.pad(x, pad_width, mode, constant_values)`` -> ``pad``."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    mode = ctx.layer.mode
    if mode == "symmetric":
        ctx.refuse("mode 'symmetric': ONNX Pad has no symmetric mode (constant, reflect, "
                   "edge)")
    if mode not in ("constant", "reflect"):
        ctx.refuse(f"mode {mode!r}; TensorFlow computes only constant, reflect and symmetric")
    width = [tuple(_ints(ctx, p, "a pad width")) for p in ctx.layer.pad_width]
    if len(width) == 1:
        width = width * rank
    if len(width) != rank or any(len(p) != 2 or min(p) < 0 for p in width):
        ctx.refuse(f"pad_width {ctx.layer.pad_width!r} for a tensor of rank {rank}")
    value: Any = ctx.call_kwargs.get("constant_values")
    if len(ctx.call_args) > 1:
        value = ctx.call_args[1]
    if value is None:
        value = 0
    if isinstance(value, (Operand, KerasTensor)) or not isinstance(
            value, (int, float, np.integer, np.floating, bool, np.bool_)):
        ctx.refuse(f"constant_values {value!r}; only a Python or NumPy scalar is supported")
    dtype = x.type.dtype
    fill = float(value)
    if not dtype.is_float and (not math.isfinite(fill) or fill != int(fill)
                               or int(fill) != value):
        ctx.refuse(f"constant_values={value!r} on a {dtype.value} tensor; TensorFlow needs a "
                   f"value of the tensor's dtype")
    return ctx.lowered("pad", [x.name], {"pads": tuple(width), "mode": mode,
                                         "value": fill if mode == "constant" else 0.0})


@lowers(knp.Flip)
def _flip(ctx: LayerContext) -> Lowered:
    """``keras.ops.flip(x, axis)`` -> ``flip {axes}`` (no axis: every axis)."""
    x = _one_tensor(ctx)
    axis = ctx.layer.axis
    axes = (tuple(range(x.type.rank)) if axis is None
            else _canonical_axes(ctx, axis, x.type.rank))
    if not axes:
        return ctx.lowered("identity", [x.name])
    return ctx.lowered("flip", [x.name], {"axes": axes})


# --------------------------------------------------------------------------- stack, one_hot

@lowers(knp.Stack)
def _stack(ctx: LayerContext) -> Lowered:
    """``keras.ops.stack(xs, axis)`` -> ``stack {axis}``."""
    xs = _tensor_list(ctx)
    axis = _canonical(ctx, ctx.layer.axis, xs[0].type.rank + 1)
    return ctx.lowered("stack", [o.name for o in xs], {"axis": axis})


@lowers(knp.Concatenate)
def _concatenate(ctx: LayerContext) -> Lowered:
    """``keras.ops.concatenate(xs, axis)`` -> ``concatenate {axis}``."""
    xs = _tensor_list(ctx)
    axis = _canonical(ctx, ctx.layer.axis, max(xs[0].type.rank, 1))
    return ctx.lowered("concatenate", [o.name for o in xs], {"axis": axis})


@lowers(knn.OneHot)
def _one_hot(ctx: LayerContext) -> Lowered:
    """``keras.ops.one_hot(x, num_classes, axis, dtype)`` -> ``one_hot`` (float32)."""
    x = _one_tensor(ctx)
    layer = ctx.layer
    if layer.sparse:
        ctx.refuse("sparse=True; only dense one-hot tensors are supported")
    if layer.dtype not in (None, "float32"):
        ctx.refuse(f"dtype={layer.dtype!r}; only float32 one-hot tensors are supported")
    depth = _int(ctx, layer.num_classes, "num_classes")
    if depth < 1:
        ctx.refuse(f"num_classes={depth}")
    rank = x.type.rank
    axis = _int(ctx, layer.axis, "axis")
    if axis == -1:
        axis = rank
    elif not 0 <= axis < rank:
        ctx.refuse(f"axis={axis}; Keras accepts -1 or [0, {rank})")
    plan: list[tuple[str, Sequence[str], dict]] = []
    if not x.type.dtype.is_int:  # Keras converts the indices to int64 (tf.cast)
        plan.append(("cast", [], {"to": "int64"}))
    plan.append(("one_hot", [], {"depth": depth, "axis": axis}))
    return _chain(ctx, x.name, plan)


# --------------------------------------------------------------------------- reshape

@lowers(knp.Reshape)
def _reshape(ctx: LayerContext) -> Lowered:
    """``keras.ops.reshape(x, newshape)`` -> the layer-level ``reshape`` when the batch
    axis provably stays axis 0."""
    x = _one_tensor(ctx)
    new = ctx.layer.newshape
    if not isinstance(new, (list, tuple)) or not new:
        ctx.refuse(f"newshape {new!r} does not keep a batch axis")
    first, rest = new[0], new[1:]
    rest_ints = _ints(ctx, [(-1 if d is None else d) for d in rest], "a dim of newshape")
    shape = x.type.shape
    batch = shape[0] if shape else None
    if first is None or (not isinstance(first, (bool, np.bool_)) and hasattr(first, "__index__")
                         and operator.index(first) == -1):
        per_sample = [d for d in shape[1:]]
        if (any(d < 0 for d in rest_ints) or not all(isinstance(d, int) for d in per_sample)
                or math.prod(per_sample) != math.prod(rest_ints)):
            return _array_reshape(ctx, x, new)
    elif not (isinstance(batch, int) and _int(ctx, first, "a dim of newshape") == batch):
        return _array_reshape(ctx, x, new)
    return ctx.lowered("reshape", [x.name], {"target_shape": rest_ints})


def _array_reshape(ctx: LayerContext, x: Operand, new: Sequence[Any]) -> Lowered:
    """``keras.ops.reshape`` that merges or splits the batch axis -> ``array_reshape``
    (``tf.reshape``: ``None`` or ``-1`` for the one size to infer)."""
    dims = _ints(ctx, [(-1 if d is None else d) for d in new], "a dim of newshape")
    if sum(d == -1 for d in dims) > 1 or any(d < -1 or d == 0 for d in dims):
        ctx.refuse(f"newshape {tuple(new)}: only positive sizes and one -1 are supported")
    return ctx.lowered("array_reshape", [x.name], {"shape": dims})


@lowers(DynamicReshape)
def _dynamic_reshape(ctx: LayerContext) -> Lowered:
    """A traced ``keras.ops.reshape`` whose new shape holds sizes read with
    ``ops.shape`` that were unknown while tracing (:class:`DynamicReshape`), as the
    ``dynamic_reshape`` op's size expressions over x (input 0, whose own batch size is
    ``in0[0]`` when the trace proved it, ``"batch"``) and the source tensors (inputs 1..):
    a size, a product of sizes and ints floor-divided at most once, or ``-1``.

    Where the reshape needs no run-time size but one, the earlier ops stay: the
    layer-level ``reshape`` when the first size is x's batch size (proved by the trace,
    or axis 0 of a tensor whose IR type names it ``batch`` as x's does; the walker keeps
    ``batch`` only where the type rules derive it from the model's batch axis), else
    ``array_reshape``, with ``-1`` for that one size (``tf.reshape`` infers exactly it
    whenever the call is valid) -- unless ``dynamic_reshape``'s type names a size those
    would leave unknown (``"4*batch"``, which lets a later ``-1`` resolve).

    Raises:
        UnsupportedLayerError: a zero or negative size other than ``-1``; two ``-1``
            entries (or sizes computed otherwise than by products).
    """
    x, *sources = [Operand(n, t) for n, t in zip(ctx.inputs, ctx.input_types)]
    template = ctx.layer.template
    first = template[0] if template else None
    keep_batch = first == "batch" or (
        isinstance(first, tuple) and first[0] == "dim" and first[2] == 0
        and x.type.shape[0] == "batch" and sources[first[1]].type.shape[0] == "batch")
    sizes: list[str] = []
    for k, entry in enumerate(template):
        if k == 0 and keep_batch:
            sizes.append("in0[0]")
        elif entry == "?":
            sizes.append("-1")
        elif isinstance(entry, tuple) and entry[0] == "dim":
            sizes.append(f"in{entry[1] + 1}[{entry[2]}]")
        elif isinstance(entry, tuple):
            _, coef, factors, divisor = entry
            sizes.append(format_size(SizeExpr(coef, tuple((i + 1, a) for i, a in factors),
                                              divisor)))
        elif entry <= 0:
            ctx.refuse(f"reshape to {template}: only positive sizes are supported")
        else:
            sizes.append(str(entry))
    if sizes.count("-1") > 1:
        ctx.refuse(f"reshape of {x.type.shape} to {template}: more than one size unknown "
                   f"while tracing (give the model's inputs static sizes: input_shapes)")
    inputs = [x.name] + [s.name for s in sources]
    try:
        out = infer_types("dynamic_reshape", [x.type] + [s.type for s in sources],
                          {"shape": tuple(sizes)})[0]
    except TypeRuleError as err:
        ctx.refuse(f"reshape of {x.type.shape} to {template}: {err}")
    rest = out.shape[1:] if keep_batch else out.shape
    unknown = [d for d in rest if not isinstance(d, int)]
    if len(unknown) <= 1:
        target = tuple(d if isinstance(d, int) else -1 for d in rest)
        op, attrs_ = (("reshape", {"target_shape": target}) if keep_batch
                      else ("array_reshape", {"shape": target}))
        if infer_types(op, [x.type], attrs_)[0] == out:
            return ctx.lowered(op, [x.name], attrs_)
    return ctx.lowered("dynamic_reshape", inputs, {"shape": tuple(sizes)})


# --------------------------------------------------------------------------- *_like

def _like_dtype(ctx: LayerContext, x: Operand) -> DType:
    """The output dtype of a ``*_like`` operation: its ``dtype`` argument, else x's."""
    dtype = ctx.layer.dtype
    if dtype is None:
        return x.type.dtype
    try:
        return DType.from_any(dtype)
    except (TypeError, ValueError):
        ctx.refuse(f"dtype={dtype!r} is not a dtype the op set has")


@lowers(knp.ZerosLike, knp.OnesLike)
def _zeros_ones_like(ctx: LayerContext) -> Lowered:
    """``keras.ops.zeros_like`` / ``ones_like(x, dtype)`` -> ``full_like`` (0 or 1)."""
    x = _one_tensor(ctx)
    value = 0.0 if isinstance(ctx.layer, knp.ZerosLike) else 1.0
    return ctx.lowered("full_like", [x.name], {"value": value,
                                               "dtype": _like_dtype(ctx, x).value})


@lowers(knp.FullLike, accepted_call_kwargs=("fill_value",))
def _full_like(ctx: LayerContext) -> Lowered:
    """``keras.ops.full_like(x, fill_value, dtype)`` -> ``full_like`` (a scalar fill value
    representable in the dtype; a tensor fill value is refused)."""
    if len(ctx.inputs) != 1 or not ctx.call_args or not isinstance(ctx.call_args[0], KerasTensor):
        ctx.refuse("fill_value is a tensor; only a Python or NumPy scalar is supported")
    x = Operand(ctx.inputs[0], ctx.input_types[0])
    value = ctx.call_args[1] if len(ctx.call_args) > 1 else ctx.call_kwargs.get("fill_value")
    dtype = _like_dtype(ctx, x)
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "biuf":
        ctx.refuse(f"fill_value {value!r} is not a scalar number")
    scalar = arr.item()
    if dtype is DType.BOOL:
        exact = scalar in (0, 1)
    elif not dtype.is_float:
        info = np.iinfo(dtype.to_numpy())
        exact = float(scalar).is_integer() and info.min <= scalar <= info.max
    else:
        exact = True
    if not exact:
        ctx.refuse(f"fill_value {value!r} is not representable in {dtype.value}")
    return ctx.lowered("full_like", [x.name], {"value": float(scalar), "dtype": dtype.value})


# --------------------------------------------------------------------------- CategoryEncoding

@lowers(keras.layers.CategoryEncoding)
def _category_encoding(ctx: LayerContext) -> Lowered:
    """``CategoryEncoding(num_tokens, output_mode)`` (``encode_categorical_inputs`` in
    keras/src/utils/numerical_utils.py on TensorFlow; in-range indices ``[0,
    num_tokens)``: an index at or above it counts nowhere, as ``tf.math.bincount``'s
    ``maxlength`` drops it; a negative index, an error in TensorFlow, gives zeros here).
    Refused: ``sparse=True``, ``count_weights``, multi_hot/count of an input whose rank is
    not 2 (TensorFlow's bincount path)."""
    layer = ctx.layer
    x = _one_tensor(ctx)
    if layer.sparse:
        ctx.refuse("sparse=True; only dense encodings are supported")
    if ctx.call_kwargs.get("count_weights") is not None or len(ctx.call_args) > 1:
        ctx.refuse("count_weights; only unweighted counts are supported")
    return _chain(ctx, x.name, encoding_steps(ctx, x.type, layer.output_mode,
                                              int(layer.num_tokens),
                                              DType.from_any(layer.compute_dtype)))


def encoding_steps(ctx: LayerContext, x_type: TensorType, mode: str, depth: int,
                   out_dtype: DType) -> list[tuple[str, Sequence[str], dict]]:
    """The :func:`_chain` steps of ``encode_categorical_inputs(x, mode, depth, dtype)``
    (keras/src/utils/numerical_utils.py, TensorFlow) for ``one_hot`` / ``multi_hot`` /
    ``count`` (see :func:`_category_encoding`; also ``Discretization``'s encodings).

    Raises:
        UnsupportedLayerError: another mode, a scalar input, or multi_hot/count of an
            input whose rank is not 2.
    """
    rank = x_type.rank
    if mode not in ("one_hot", "multi_hot", "count"):
        ctx.refuse(f"output_mode={mode!r}")
    if mode != "one_hot" and rank != 2:
        ctx.refuse(f"output_mode={mode!r} on a rank-{rank} input; only rank 2 (batch, "
                   f"indices) is supported")
    if rank == 0:
        ctx.refuse("a scalar input")
    plan: list[tuple[str, Sequence[str], dict]] = []
    if not x_type.dtype.is_int:
        plan.append(("cast", [], {"to": "int64"}))
    if mode == "one_hot":
        if rank > 1 and x_type.shape[-1] == 1:
            plan.append(("squeeze", [], {"axes": (rank - 1,)}))
            rank -= 1
        plan.append(("one_hot", [], {"depth": depth, "axis": rank}))
    else:
        plan.append(("one_hot", [], {"depth": depth, "axis": 2}))
        plan.append(("max" if mode == "multi_hot" else "sum", [],
                     {"axes": (1,), "keepdims": False}))
    if out_dtype is not DType.FLOAT32:
        plan.append(("cast", [], {"to": out_dtype.value}))
    return plan
