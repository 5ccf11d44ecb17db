"""Shape ops: reshape, flatten, permute, concatenate."""

from __future__ import annotations

import math

import numpy as np

from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import fmt_shape, norm_axis, same_dtype
from graphir.size_exprs import exact_quotient
from graphir.tensor_types import TensorType


def _prod(dims):
    return math.prod(dims) if all(isinstance(d, int) for d in dims) else None


def _infer_reshape(types, attrs):
    x = types[0]
    if x.rank < 1:
        raise TypeRuleError("reshape needs a batch axis (rank >= 1)", input_index=0)
    target = attrs["target_shape"]
    if sum(1 for d in target if d == -1) > 1:
        raise TypeRuleError(f"target_shape {target} has more than one -1")
    if any(d < -1 for d in target):
        raise TypeRuleError(f"target_shape {target} has a negative size")
    total = _prod(x.shape[1:])
    known = _prod([d for d in target if d != -1])
    out = list(target)
    if -1 in target:
        if total is not None and known:
            if total % known:
                raise TypeRuleError(f"cannot reshape {fmt_shape(x.shape)} to (batch, "
                                    f"{', '.join(map(str, target))})", input_index=0,
                                    expected=f"a multiple of {known} elements per sample",
                                    actual=f"{total}")
            out[target.index(-1)] = total // known
        else:  # named where exact: (batch, s, 8) to (-1, 2, 4) gives (batch, s, 2, 4)
            out[target.index(-1)] = exact_quotient(x.shape[1:], (known,)) if known else None
    elif total is not None and total != known:
        raise TypeRuleError(
            f"cannot reshape {fmt_shape(x.shape)} ({total} elements per sample) to "
            f"(batch, {', '.join(map(str, target))}) ({known} elements)", input_index=0,
            expected=f"{known} elements per sample", actual=f"{total}")
    return (TensorType(x.dtype, (x.shape[0],) + tuple(out)),)


def _reshape(inputs, attrs):
    x = inputs[0]
    return x.reshape((x.shape[0],) + tuple(attrs["target_shape"]))


register(OpSchema("reshape", ("x",), {
    "target_shape": AttrSpec("ints", doc="the shape without the batch axis; one -1 allowed")},
    _infer_reshape, doc="reshape keeping the batch axis (Keras Reshape)", kernel=_reshape))


def _infer_flatten(types, attrs):
    x = types[0]
    if x.rank < 1:
        raise TypeRuleError("flatten needs a batch axis", input_index=0)
    return (TensorType(x.dtype, (x.shape[0], _prod(x.shape[1:]) if x.rank > 1 else 1)),)


def _flatten(inputs, attrs):
    x = inputs[0]
    return x.reshape(x.shape[0], -1)


register(OpSchema("flatten", ("x",), {}, _infer_flatten,
                  doc="(batch, ...) -> (batch, prod(...)), row-major (Keras Flatten)", kernel=_flatten))


def _infer_permute(types, attrs):
    x = types[0]
    if x.rank < 1:
        raise TypeRuleError("permute needs a batch axis (rank >= 1)", input_index=0)
    dims = attrs["dims"]
    if sorted(dims) != list(range(1, x.rank)):
        raise TypeRuleError(f"dims {dims} is not a permutation of 1..{x.rank - 1}",
                            input_index=0, expected=f"a permutation of 1..{x.rank - 1}",
                            actual=str(dims))
    return (TensorType(x.dtype, (x.shape[0],) + tuple(x.shape[d] for d in dims)),)


def _permute(inputs, attrs):
    return np.transpose(inputs[0], (0,) + tuple(attrs["dims"]))


register(OpSchema("permute", ("x",), {
    "dims": AttrSpec("ints", doc="1-based permutation of the non-batch axes")},
    _infer_permute, doc="transpose of the non-batch axes (Keras Permute)", layout=Layout.EITHER, kernel=_permute))


def _infer_concat(types, attrs):
    same_dtype(types)
    rank = types[0].rank
    axis = norm_axis(attrs["axis"], rank)
    out = list(types[0].shape)
    total = 0
    for i, t in enumerate(types):
        if t.rank != rank:
            raise TypeRuleError(f"input {i} has rank {t.rank}, input 0 has rank {rank}",
                                input_index=i, expected=f"rank {rank}", actual=f"rank {t.rank}")
        for ax in range(rank):
            if ax == axis:
                continue
            a, b = out[ax], t.shape[ax]
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise TypeRuleError(
                    f"input {i} shape {fmt_shape(t.shape)} differs from input 0 "
                    f"{fmt_shape(types[0].shape)} at axis {ax} (only axis {axis} may differ)",
                    input_index=i, axis=ax, expected=str(a), actual=str(b))
            if a is None or (isinstance(a, str) and isinstance(b, int)):
                out[ax] = b
        d = t.shape[axis]
        total = total + d if isinstance(total, int) and isinstance(d, int) else None
    out[axis] = total
    return (TensorType(types[0].dtype, tuple(out)),)


def _concatenate(inputs, attrs):
    """``np.concatenate`` along ``axis``."""
    return np.concatenate(inputs, axis=attrs["axis"])


register(OpSchema("concatenate", ("x",), {"axis": AttrSpec("int")}, _infer_concat,
                  variadic=True, min_inputs=1, doc="concatenation along one axis (Keras Concatenate)", layout=Layout.ANY, kernel=_concatenate))
