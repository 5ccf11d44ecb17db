"""Keras builders of the primitive shape and indexing ops (:mod:`graphir.ops.indexing`),
registered with :func:`~graphir.backends.keras.registry.builds`.

Each returns the ``keras.ops`` operation object (named ``c.name``) that the emitter
calls on the node's data inputs; the operations are serialized in the functional
model's config and load back with ``safe_mode=True``.  None has variables.

* ``transpose`` -> ``numpy.Transpose(axes=perm)``; ``expand_dims`` ->
  ``numpy.ExpandDims(axis=axes)``; ``squeeze`` -> ``numpy.Squeeze(axis=axes)``;
* ``slice`` -> ``numpy.GetItem`` called with ``key=`` a tuple of Python ``slice`` s
  (Keras serializes slices); the IR's int64 "to the end" bounds become ``None``;
* ``gather`` -> ``numpy.Take(axis)``; ``take_along_axis`` ->
  ``numpy.TakeAlongAxis(axis)`` (both: an operand that is a weight is passed as a
  constant tensor, ``constant_inputs=True``);
* ``tile`` -> ``numpy.Tile(repeats)``; ``repeat`` -> ``numpy.Repeat(repeats, axis)``;
* ``broadcast_to`` -> ``numpy.BroadcastTo(shape)``; a shape with ``-1`` entries
  (x's own dim) is a ``numpy.Tile`` when every other axis is either kept or grows
  from a static 1, else refused (``UnsupportedOpError``);
* ``pad`` -> ``numpy.Pad(pad_width, mode)`` called with ``constant_values=`` the value
  in x's dtype (mode constant);
* ``flip`` -> ``numpy.Flip(axis=axes)``; ``stack`` -> ``numpy.Stack(axis)`` on the
  list of inputs;
* ``one_hot`` -> ``nn.OneHot(num_classes=depth, axis, dtype="float32")`` (the last
  axis passed as ``-1``, the only form Keras accepts there);
* ``array_reshape`` -> ``numpy.Reshape(newshape=shape)``;
* ``dynamic_reshape`` is rewritten into the ops above before layers are built
  (:mod:`graphir.backends.keras.dynamic_reshape_expansion`); its builder only refuses;
* ``full_like`` -> ``numpy.FullLike(dtype)`` called with ``fill_value=`` the value as
  a Python int, bool or float.
"""

from __future__ import annotations

from typing import Any

from keras.src.ops import core as kcore
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds
from graphir.ir import Node

__all__: list[str] = []

_INT32_MAX = 2 ** 31 - 1


@builds("transpose")
def _transpose(c: BuildContext) -> Built:
    """``keras.ops.transpose(x, perm)``."""
    return knp.Transpose(axes=tuple(c.attrs["perm"]), name=c.name), []


@builds("expand_dims")
def _expand_dims(c: BuildContext) -> Built:
    """``keras.ops.expand_dims(x, axes)``."""
    return knp.ExpandDims(axis=tuple(c.attrs["axes"]), name=c.name), []


@builds("squeeze")
def _squeeze(c: BuildContext) -> Built:
    """``keras.ops.squeeze(x, axes)``."""
    return knp.Squeeze(axis=tuple(c.attrs["axes"]), name=c.name), []


def _bound(v: int, *, forward: bool, start: bool) -> int | None:
    """A slice bound for TensorFlow's ``strided_slice``: the IR's past-the-end bounds
    become ``None`` (Python's default), other huge bounds are clamped into int32, where
    they still lie past every dim."""
    huge = 2 ** 62
    if start and ((forward and v <= -huge) or (not forward and v >= huge)):
        return None
    if not start and ((forward and v >= huge) or (not forward and v <= -huge)):
        return None
    return max(-_INT32_MAX, min(_INT32_MAX, v))


def slice_key(node: Node) -> tuple[slice, ...]:
    """The ``x[...]`` key of a ``slice`` node: one Python ``slice`` per axis."""
    a = node.attrs
    key = []
    for s, e, k in zip(a["starts"], a["ends"], a["steps"]):
        fwd = k > 0
        start, end = _bound(s, forward=fwd, start=True), _bound(e, forward=fwd, start=False)
        key.append(slice(None if start == 0 and fwd else start, end, None if k == 1 else k))
    return tuple(key)


@builds("slice", call_kwargs=lambda node: {"key": slice_key(node)})
def _slice(c: BuildContext) -> Built:
    """``x[key]`` as a ``GetItem`` operation (the key is a call keyword)."""
    return knp.GetItem(name=c.name), []


@builds("gather", constant_inputs=True)
def _gather(c: BuildContext) -> Built:
    """``keras.ops.take(x, indices, axis)``."""
    return knp.Take(axis=c.attrs["axis"], name=c.name), []


@builds("take_along_axis", constant_inputs=True)
def _take_along_axis(c: BuildContext) -> Built:
    """``keras.ops.take_along_axis(x, indices, axis)``."""
    return knp.TakeAlongAxis(axis=c.attrs["axis"], name=c.name), []


@builds("scatter_nd_update", constant_inputs=True)
def _scatter_nd_update(c: BuildContext) -> Built:
    """``keras.ops.scatter_update(x, indices, updates)``."""
    return kcore.ScatterUpdate(name=c.name), []


@builds("tile")
def _tile(c: BuildContext) -> Built:
    """``keras.ops.tile(x, repeats)``."""
    return knp.Tile(repeats=tuple(c.attrs["repeats"]), name=c.name), []


@builds("repeat")
def _repeat(c: BuildContext) -> Built:
    """``keras.ops.repeat(x, repeats, axis)``."""
    return knp.Repeat(repeats=c.attrs["repeats"], axis=c.attrs["axis"], name=c.name), []


@builds("broadcast_to")
def _broadcast_to(c: BuildContext) -> Built:
    """``keras.ops.broadcast_to(x, shape)``; with ``-1`` entries, an equivalent
    ``keras.ops.tile`` or a refusal."""
    shape = tuple(c.attrs["shape"])
    if -1 not in shape:
        return knp.BroadcastTo(shape=shape, name=c.name), []
    x = c.data_types[0]
    if len(shape) != x.rank:
        c.refuse(f"shape {shape} adds axes and keeps x's dim (-1) elsewhere; Keras' "
                 f"broadcast_to needs a static shape")
    reps = []
    for d, t in zip(x.shape, shape):
        if t == -1 or d == t:
            reps.append(1)
        elif d == 1:
            reps.append(t)
        else:
            c.refuse(f"shape {shape} keeps x's dim (-1) and broadcasts the non-static dim "
                     f"{d!r} of {x.shape}; Keras' broadcast_to needs a static shape")
    return knp.Tile(repeats=tuple(reps), name=c.name), []


def _pad_kwargs(node: Node) -> dict[str, Any]:
    """``constant_values=`` the fill value as a Python scalar of x's kind (mode constant)."""
    if node.attrs["mode"] != "constant":
        return {}
    dtype = node.output.type.dtype
    v = node.attrs["value"]
    value: Any = bool(v) if dtype.value == "bool" else int(v) if dtype.is_int else float(v)
    return {"constant_values": value}


@builds("pad", call_kwargs=_pad_kwargs)
def _pad(c: BuildContext) -> Built:
    """``keras.ops.pad(x, pads, mode, constant_values)``."""
    pads = tuple(tuple(p) for p in c.attrs["pads"])
    return knp.Pad(pad_width=pads, mode=c.attrs["mode"], name=c.name), []


@builds("flip")
def _flip(c: BuildContext) -> Built:
    """``keras.ops.flip(x, axes)``."""
    return knp.Flip(axis=tuple(c.attrs["axes"]), name=c.name), []


@builds("stack", list_input=True)
def _stack(c: BuildContext) -> Built:
    """``keras.ops.stack(xs, axis)``."""
    return knp.Stack(axis=c.attrs["axis"], name=c.name), []


@builds("one_hot")
def _one_hot(c: BuildContext) -> Built:
    """``keras.ops.one_hot(x, depth, axis, dtype="float32")``."""
    axis = c.attrs["axis"]
    if axis == c.data_types[0].rank:
        axis = -1
    return knn.OneHot(num_classes=c.attrs["depth"], axis=axis, dtype="float32",
                      name=c.name), []


@builds("full_like", call_kwargs=lambda node: {"fill_value": _fill_value(node)})
def _full_like(c: BuildContext) -> Built:
    """``keras.ops.full_like(x, fill_value, dtype)``."""
    return knp.FullLike(dtype=c.attrs["dtype"], name=c.name), []


def _fill_value(node: Node) -> Any:
    """``full_like``'s value as the Python scalar Keras converts exactly (int, bool or
    float by the output dtype)."""
    value, dtype = node.attrs["value"], node.attrs["dtype"]
    if dtype == "bool":
        return bool(value)
    return int(value) if dtype.startswith(("int", "uint")) else float(value)


@builds("array_reshape")
def _array_reshape(c: BuildContext) -> Built:
    """``keras.ops.reshape(x, shape)`` over every axis."""
    return knp.Reshape(newshape=tuple(c.attrs["shape"]), name=c.name), []


@builds("dynamic_reshape")
def _dynamic_reshape(c: BuildContext) -> Built:
    """Never reached from :func:`~graphir.backends.keras.emit.to_keras`, which expands
    ``dynamic_reshape`` first (:func:`~graphir.backends.keras.dynamic_reshape_expansion.
    expand_dynamic_reshapes`): no single Keras operation reshapes to run-time sizes."""
    c.refuse("no single Keras operation reshapes to sizes read at run time; "
             "expand_dynamic_reshapes(graph) writes it as ops Keras has")
