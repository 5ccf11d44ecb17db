"""Normalization and scaling ops: ``batch_norm``, ``layer_norm``, ``normalize``,
``rescale`` and ``scale``.

Parameters keep Keras' layout: ``batch_norm`` statistics are ``(C,)`` on one
feature axis; ``layer_norm`` ``gamma``/``beta`` have the sizes of the normalized
axes, in axis order (``LayerNormalization.build``); ``normalize`` statistics are
stored in their broadcast shape against the input; ``scale`` multiplies the last
axis by a ``(C,)`` weight.
"""

from __future__ import annotations

import numpy as np

from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import (broadcast_shapes, fmt_shape, norm_axis, require_float,
                                same_dtype)
from graphir.tensor_types import TensorType


def _infer_batch_norm(types, attrs):
    x = types[0]
    require_float(x, 0, "batch_norm input")
    axis = norm_axis(attrs["axis"], x.rank)
    c = x.shape[axis]
    for i, t in enumerate(types[1:], start=1):
        if t is None:
            continue
        if t.rank != 1 or (isinstance(c, int) and t.shape[0] != c):
            raise TypeRuleError(f"batch_norm parameter {i} must have shape ({c},), got "
                                f"{fmt_shape(t.shape)}", input_index=i, axis=axis,
                                expected=f"({c},)", actual=fmt_shape(t.shape))
    same_dtype(types)
    return (x,)


def batch_norm(inputs, attrs):
    """``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` along ``axis``."""
    x, gamma, beta, mean, var = inputs
    shape = [1] * x.ndim
    shape[attrs["axis"] % x.ndim] = -1

    def b(v, default):
        return default if v is None else v.reshape(shape)

    y = (x - b(mean, 0.0)) / np.sqrt(b(var, 0.0) + attrs["epsilon"])
    return y * b(gamma, 1.0) + b(beta, 0.0)


register(OpSchema(
    "batch_norm", ("x", "gamma?", "beta?", "mean", "variance"), {
        "axis": AttrSpec("int", doc="the feature axis"),
        "epsilon": AttrSpec("float"),
    }, _infer_batch_norm, weight_inputs=(1, 2, 3, 4),
    doc="inference batch normalization: gamma * (x - mean) / sqrt(variance + epsilon) + beta", layout=Layout.ANY, kernel=batch_norm))


def layer_norm_axes(axes: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """Check the ``axis`` attribute of ``layer_norm`` against an input of ``rank``.

    Returns:
        The axes normalized to ``0 <= a < rank``.

    Raises:
        TypeRuleError: no axis, an axis out of range, normalized axes that are not
            strictly increasing (Keras sorts them, and ``gamma``/``beta`` follow that
            order), or the batch axis 0 (statistics across samples).
    """
    if not axes:
        raise TypeRuleError("layer_norm needs at least one axis")
    normed = tuple(norm_axis(a, rank) for a in axes)
    if any(a >= b for a, b in zip(normed, normed[1:])):
        raise TypeRuleError(f"layer_norm axis {axes} is not strictly increasing "
                            f"(normalized: {normed})", expected="sorted, distinct axes",
                            actual=str(axes))
    if 0 in normed:
        raise TypeRuleError(f"layer_norm axis {axes} includes the batch axis 0",
                            expected="axes in 1..rank-1", actual=str(axes))
    return normed


def _infer_layer_norm(types, attrs):
    x, gamma, beta = (list(types) + [None, None])[:3]
    require_float(x, 0, "layer_norm input")
    axes = layer_norm_axes(attrs["axis"], x.rank)
    want = tuple(x.shape[a] for a in axes)
    for i, t in ((1, gamma), (2, beta)):
        if t is None:
            continue
        fits = t.rank == len(want) and all(
            not isinstance(w, int) or not isinstance(d, int) or w == d
            for w, d in zip(want, t.shape))
        if not fits:
            raise TypeRuleError(f"layer_norm parameter {i} must have shape {fmt_shape(want)} "
                                f"(the sizes of axes {axes}), got {fmt_shape(t.shape)}",
                                input_index=i, expected=fmt_shape(want),
                                actual=fmt_shape(t.shape))
    same_dtype([x, gamma, beta])
    return (x,)


def layer_norm(inputs, attrs):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` with the mean and the biased
    variance over ``axis`` of each sample (``keras/src/ops/nn.py``,
    ``_layer_normalization``); ``gamma``/``beta`` hold the sizes of ``axis``."""
    x, gamma, beta = (list(inputs) + [None, None])[:3]
    axes = tuple(a % x.ndim for a in attrs["axis"])
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + attrs["epsilon"])
    if gamma is not None:
        y = y * gamma.reshape(shape)
    return y if beta is None else y + beta.reshape(shape)


register(OpSchema(
    "layer_norm", ("x", "gamma?", "beta?"), {
        "axis": AttrSpec("ints", doc="the normalized axes, increasing, never axis 0"),
        "epsilon": AttrSpec("float", doc="added to the variance"),
    }, _infer_layer_norm, weight_inputs=(1, 2),
    doc="layer normalization (Keras LayerNormalization): (x - mean) / sqrt(var + epsilon) "
        "* gamma + beta, mean and (biased) var over `axis` of each sample", layout=Layout.ANY, kernel=layer_norm))


def _infer_normalize(types, attrs):
    x, mean, var = types
    require_float(x, 0, "normalize input")
    for i, t in ((1, mean), (2, var)):
        if t.rank > x.rank:
            raise TypeRuleError(f"normalize statistic {i} has rank {t.rank} > input rank {x.rank}",
                                input_index=i)
        broadcast_shapes([x.shape, t.shape])
    return (TensorType(x.dtype, x.shape),)


#: ``keras.backend.epsilon()``, the floor of the standard deviation in Normalization.
KERAS_EPSILON = 1e-7



def normalize(inputs, attrs):
    """``(x - mean) / max(sqrt(var), 1e-7)``, or ``x * max(sqrt(var), 1e-7) + mean`` when inverted."""
    x, mean, var = inputs
    std = np.maximum(np.sqrt(var), KERAS_EPSILON)
    return x * std + mean if attrs["invert"] else (x - mean) / std


register(OpSchema(
    "normalize", ("x", "mean", "variance"), {
        "axis": AttrSpec("ints", doc="the axes that keep separate statistics (Keras axis)"),
        "invert": AttrSpec("bool"),
    }, _infer_normalize, weight_inputs=(1, 2),
    doc="(x - mean) / max(sqrt(variance), 1e-7), or its inverse (Keras Normalization); "
        "mean/variance are stored in their broadcast shape", layout=Layout.ANY, kernel=normalize))


def _infer_rescale(types, attrs):
    x = types[0]
    require_float(x, 0, "rescale input")
    for key in ("scale", "offset"):
        v = attrs[key]
        if isinstance(v, tuple) and len(v) not in (1, x.shape[-1]) and isinstance(x.shape[-1], int):
            raise TypeRuleError(f"{key} has {len(v)} values but the last axis has "
                                f"{x.shape[-1]}", input_index=0, axis=x.rank - 1)
    return (x,)


def rescale(inputs, attrs):
    """``x * scale + offset`` (per last-axis channel when the attributes are tuples)."""
    def arr(v):
        return np.asarray(v, dtype=np.float64)

    return inputs[0] * arr(attrs["scale"]) + arr(attrs["offset"])


register(OpSchema(
    "rescale", ("x",), {
        "scale": AttrSpec("float_or_floats", doc="scalar or one value per last-axis channel"),
        "offset": AttrSpec("float_or_floats"),
    }, _infer_rescale, doc="x * scale + offset (Keras Rescaling; keras.ops arithmetic with a "
                           "scalar constant)", layout=Layout.ANY, kernel=rescale))


def _infer_scale(types, attrs):
    x, gamma = types
    require_float(x, 0, "scale input")
    if x.rank < 2:
        raise TypeRuleError(f"scale needs a channel axis after the batch axis (rank >= 2), "
                            f"got rank {x.rank}", input_index=0, expected="rank >= 2",
                            actual=f"rank {x.rank}")
    c = x.shape[-1]
    if gamma.rank != 1 or (isinstance(c, int) and isinstance(gamma.shape[0], int)
                           and gamma.shape[0] != c):
        raise TypeRuleError(f"scale factor must have shape ({c},), got {fmt_shape(gamma.shape)}",
                            input_index=1, axis=x.rank - 1, expected=f"({c},)",
                            actual=fmt_shape(gamma.shape))
    same_dtype([x, gamma])
    return (x,)


def scale(inputs, attrs):
    """``x * gamma`` along the last axis (``LayerScale.call`` in
    ``keras/src/applications/convnext.py``)."""
    x, gamma = inputs
    return x * gamma


register(OpSchema(
    "scale", ("x", "gamma"), {}, _infer_scale, weight_inputs=(1,),
    doc="x * gamma, gamma a (C,) weight broadcast along the last axis (LayerScale of "
        "keras.applications.convnext)", layout=Layout.ANY, kernel=scale))
