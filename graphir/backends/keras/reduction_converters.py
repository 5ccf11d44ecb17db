"""Converters of ``keras.ops`` reductions and linear algebra on symbolic tensors,
registered with :func:`~graphir.backends.keras.registry.lowers` (listed by
:func:`~graphir.backends.keras.registry.supported_operations`).

Keras records ``keras.ops.sum(x, axis=1)`` and the like as operations of
``keras/src/ops/numpy.py`` (``Sum``, ``Mean``, ``Max``, ``Min``, ``Prod``, ``Argmax``,
``Argmin``, ``Var``, ``Std``, ``Matmul``, ``Einsum``) whose ``call`` is the TensorFlow
backend's function of the same name (``keras/src/backend/tensorflow/numpy.py``).  Each
lowers to the primitive op of :mod:`graphir.ops.reduction` with exactly what that
function computes, dtype promotions made explicit as ``cast`` helper nodes:

* ``axis``: an int, a list, or None (all axes, written out); negative axes are
  normalized and sorted (the IR's axes are canonical); a repeated axis is refused.
* ``Sum`` / ``Prod``: TensorFlow first casts bool, int8 and int16 to int32 (a ``cast``
  helper); uint8/uint16 (Keras: uint32, not an IR dtype) and ``Prod(dtype=...)`` are
  refused.
* ``Mean`` / ``Var``: a non-float input is cast to float32 first (``result_type(x,
  float32)``), and a float16 input is computed in float32 and cast back (Keras does
  exactly this); ``Std``: a non-float input is cast to ``keras.config.floatx()``, a float
  one is computed in its own dtype.
* ``Max`` / ``Min``: a bool input is ``reduce_any`` / ``reduce_all`` in TensorFlow,
  lowered as ``cast`` to int32, ``max`` / ``min``, ``cast`` back to bool; ``initial`` is
  refused.
* ``Argmax`` / ``Argmin``: ``axis=None`` (flatten) only for rank-1 inputs (then axis 0);
  a float input compares each -0.0 as minus the smallest normal float
  (``negative_zero_as``), as Keras does; int16 and bool inputs are refused.
* ``Matmul``: two tensors, or a tensor and a NumPy constant (a weight
  ``<operation>/constant``), of one dtype (Keras would promote mixed dtypes: cast
  explicitly); int32/int64 are computed in float32 by Keras and cast back, lowered as
  ``cast`` -> float32 ``matmul`` -> ``cast``.
* ``Einsum``: float operands of one dtype (tensors or NumPy constants); the equation is
  made canonical (spaces removed, an implicit output written out in NumPy's order);
  ellipsis, repeated letters in a term and einsum keyword arguments are refused.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.reduction_builders import keras_negative_zero
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.ops import TypeRuleError
from graphir.ops.reduction import parse_einsum

__all__: list[str] = []

_OPS = {knp.Sum: "sum", knp.Mean: "mean", knp.Max: "max", knp.Min: "min", knp.Prod: "prod",
        knp.Var: "var", knp.Std: "std"}
_PROMOTED_TO_INT32 = (DType.BOOL, DType.INT8, DType.INT16)


def _one_tensor(ctx: LayerContext) -> Operand:
    operands = ctx.operands()
    if len(operands) != 1 or not isinstance(operands[0], Operand):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected one tensor")
    return operands[0]


def _axes(ctx: LayerContext, axis: Any, rank: int) -> tuple[int, ...]:
    """Keras' ``axis`` (None, an int or a sequence) as canonical IR axes."""
    if axis is None:
        return tuple(range(rank))
    raw = [axis] if isinstance(axis, int) else list(axis)
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in raw):
        ctx.refuse(f"axis={axis!r} is not an int or a list of ints")
    if any(not -rank <= a < rank for a in raw):
        ctx.refuse(f"axis={axis!r} is out of range for a rank-{rank} input")
    axes = sorted(a % rank for a in raw)
    if len(set(axes)) != len(axes):
        ctx.refuse(f"axis={axis!r} names an axis twice")
    return tuple(axes)


def _cast(ctx: LayerContext, name: str, to: DType, suffix: str) -> str:
    return ctx.helper("cast", [name], {"to": to.value}, suffix=suffix)


@lowers(*_OPS)
def _reduction(ctx: LayerContext) -> Lowered:
    """``keras.ops.<reduction>(x, axis, keepdims)`` -> the IR reduction (casts explicit)."""
    op = _OPS[type(ctx.layer)]
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    attrs = {"axes": _axes(ctx, ctx.layer.axis, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    if getattr(ctx.layer, "initial", None) is not None:
        ctx.refuse(f"initial={ctx.layer.initial!r} (only initial=None is supported)")
    name = x.name
    if op in ("sum", "prod"):
        if op == "prod" and ctx.layer.dtype is not None:
            ctx.refuse(f"dtype={ctx.layer.dtype!r} (TensorFlow then skips the input cast; "
                       f"cast the input explicitly instead)")
        if dtype in _PROMOTED_TO_INT32:
            name = _cast(ctx, name, DType.INT32, "cast")
        elif dtype is DType.UINT8:
            ctx.refuse(f"a {op} of uint8, which Keras computes in uint32 (not an IR dtype)")
        return ctx.lowered(op, [name], attrs)
    if op in ("mean", "var"):
        if not dtype.is_float:  # computed in float32; var's result is result_type(x, float)
            wide = _cast(ctx, name, DType.FLOAT32, "cast")
            floatx = DType.from_any(keras.config.floatx())
            if op == "mean" or floatx is DType.FLOAT32:
                return ctx.lowered(op, [wide], attrs)
            result = ctx.helper(op, [wide], attrs, suffix=op)
            return ctx.lowered("cast", [result], {"to": floatx.value})
        if dtype is DType.FLOAT16:  # Keras computes in float32 and rounds back once
            wide = _cast(ctx, name, DType.FLOAT32, "cast")
            result = ctx.helper(op, [wide], attrs, suffix=op)
            return ctx.lowered("cast", [result], {"to": "float16"})
        return ctx.lowered(op, [name], attrs)
    if op == "std":
        if not dtype.is_float:
            name = _cast(ctx, name, DType.from_any(keras.config.floatx()), "cast")
        return ctx.lowered(op, [name], attrs)
    # max, min
    if dtype is DType.BOOL:  # reduce_any / reduce_all: max / min of 0/1
        wide = _cast(ctx, name, DType.INT32, "cast")
        result = ctx.helper(op, [wide], attrs, suffix=op)
        return ctx.lowered("cast", [result], {"to": "bool"})
    return ctx.lowered(op, [name], attrs)


@lowers(knp.Any, knp.All)
def _any_all(ctx: LayerContext) -> Lowered:
    """``keras.ops.any`` / ``all(x, axis, keepdims)`` (``tf.reduce_any`` / ``reduce_all``
    of ``x`` cast to bool: nonzero is True) -> ``max`` / ``min`` of the bools as int32
    0 / 1, cast back to bool (the ``max`` / ``min`` of bools above)."""
    op = "max" if isinstance(ctx.layer, knp.Any) else "min"
    x = _one_tensor(ctx)
    name = x.name
    if x.type.dtype is not DType.BOOL:
        name = _cast(ctx, name, DType.BOOL, "bool")
    attrs = {"axes": _axes(ctx, ctx.layer.axis, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    wide = _cast(ctx, name, DType.INT32, "cast")
    result = ctx.helper(op, [wide], attrs, suffix=op)
    return ctx.lowered("cast", [result], {"to": "bool"})


@lowers(knn.Moments, multiple_outputs=True)
def _moments(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.moments(x, axes, keepdims)`` -> ``[mean, var]`` over the axes
    (``tf.nn.moments``: the mean, then the mean squared difference from it: the ``var``
    op's formula).  Refused: float16 and bfloat16 (Keras computes in float32 and clips
    to float16's range before casting back, which the ops do not reproduce), integers."""
    x = _one_tensor(ctx)
    if ctx.layer.synchronized:
        ctx.refuse("synchronized=True (a cross-replica reduction)")
    dtype = x.type.dtype
    if dtype not in (DType.FLOAT32, DType.FLOAT64):
        ctx.refuse(f"moments of a {dtype.value} tensor; only float32 and float64 are "
                   f"supported")
    attrs = {"axes": _axes(ctx, ctx.layer.axes, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    return [ctx.lowered("mean", [x.name], attrs), ctx.lowered("var", [x.name], attrs)]


@lowers(knp.Argmax, knp.Argmin)
def _arg(ctx: LayerContext) -> Lowered:
    """``keras.ops.argmax`` / ``argmin(x, axis, keepdims)`` -> ``argmax`` / ``argmin``."""
    op = "argmax" if isinstance(ctx.layer, knp.Argmax) else "argmin"
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = ctx.layer.axis
    if axis is None:
        if rank != 1:
            ctx.refuse(f"axis=None on a rank-{rank} input (the flattened index needs a "
                       f"reshape); give an axis")
        axis = 0
    if not isinstance(axis, int) or isinstance(axis, bool):
        ctx.refuse(f"axis={axis!r} is not an int")
    if not -rank <= axis < rank:
        ctx.refuse(f"axis={axis} is out of range for a rank-{rank} input")
    dtype = x.type.dtype
    nz = keras_negative_zero(dtype.value) if dtype.is_float else None
    return ctx.lowered(op, [x.name], {"axis": axis % rank, "keepdims": bool(ctx.layer.keepdims),
                                      "negative_zero_as": nz})


def _operands(ctx: LayerContext) -> list[Operand | np.ndarray]:
    """The call's operands: tensors, or NumPy arrays of the tensors' dtype (constants)."""
    operands = list(ctx.operands())
    tensors = [o for o in operands if isinstance(o, Operand)]
    if not tensors:
        ctx.refuse("no tensor operand")
    dtype = tensors[0].type.dtype
    for i, o in enumerate(operands):
        if isinstance(o, Operand):
            if o.type.dtype != dtype:
                ctx.refuse(f"operands of dtypes {dtype.value} and {o.type.dtype.value}; Keras "
                           f"would promote them: cast explicitly (keras.ops.cast)")
        elif not (isinstance(o, np.ndarray) and o.dtype == dtype.to_numpy()):
            ctx.refuse(f"operand {i} is a {type(o).__name__}"
                       f"{' of dtype ' + str(o.dtype) if isinstance(o, np.ndarray) else ''}; "
                       f"constants must be NumPy arrays of the tensors' dtype ({dtype.value})")
    return operands


def _names(ctx: LayerContext, operands, suffix: str = "constant") -> list[str]:
    """IR names of the operands, each constant registered as a weight."""
    names = []
    for i, o in enumerate(operands):
        if isinstance(o, Operand):
            names.append(o.name)
        else:
            const = sum(not isinstance(p, Operand) for p in operands) > 1
            names.append(ctx.constant(f"{suffix}_{i}" if const else suffix, o))
    return names


@lowers(knp.Matmul)
def _matmul(ctx: LayerContext) -> Lowered:
    """``keras.ops.matmul(x, y)`` (``x @ y``) -> ``matmul`` (int: through float32)."""
    operands = _operands(ctx)
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    names = _names(ctx, operands)
    dtype = next(o for o in operands if isinstance(o, Operand)).type.dtype
    if dtype.is_float:
        return ctx.lowered("matmul", names)
    if dtype not in (DType.INT32, DType.INT64):
        ctx.refuse(f"a matmul of {dtype.value} tensors (Keras promotes them); cast explicitly")
    # keras.ops.matmul on TensorFlow: cast to result_type(x, y, float) = float32, multiply,
    # cast the product back
    wide = [_cast(ctx, n, DType.FLOAT32, f"cast_{i}") for i, n in enumerate(names)]
    product = ctx.helper("matmul", wide, suffix="matmul")
    return ctx.lowered("cast", [product], {"to": dtype.value})


def _canonical_equation(ctx: LayerContext, subscripts: Any) -> str:
    """Keras' einsum subscripts as a canonical IR equation (implicit output written out
    as NumPy does: the letters used once, in alphabetical order)."""
    if not isinstance(subscripts, str):
        ctx.refuse(f"subscripts {subscripts!r} are not a string")
    eq = subscripts.replace(" ", "")
    if "." in eq:
        ctx.refuse(f"einsum subscripts {subscripts!r} use an ellipsis ('...'); write the "
                   f"axes out")
    if "->" not in eq:
        letters = eq.replace(",", "")
        eq += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    try:
        parse_einsum(eq)
    except TypeRuleError as e:
        ctx.refuse(str(e))
    return eq


@lowers(knp.Cumsum)
def _cumsum(ctx: LayerContext) -> Lowered:
    """``keras.ops.cumsum(x, axis)`` -> ``cumsum {axis}`` (TensorFlow: ``tf.math.cumsum``
    after converting ``x`` to ``dtype``, a bool ``x`` to int32; ``axis=None`` sums the
    flattened tensor: accepted for rank-1 inputs only, as axis 0).  float32, float64,
    int32 and int64 only (onnxruntime's ``CumSum``); a bool input gets a ``cast``."""
    (x,) = _operands(ctx)
    if not isinstance(x, Operand):
        ctx.refuse("a constant input")
    layer = ctx.layer
    if layer.dtype is not None and DType.from_any(layer.dtype) != x.type.dtype:
        ctx.refuse(f"dtype={layer.dtype!r} (a conversion before the sum); cast explicitly")
    axis = layer.axis
    if axis is None:
        if x.type.rank != 1:
            ctx.refuse("axis=None (the flattened tensor) on a tensor of rank "
                       f"{x.type.rank}; only rank-1 inputs are accepted without an axis")
        axis = 0
    if not isinstance(axis, int) or not -x.type.rank <= axis < x.type.rank:
        ctx.refuse(f"axis={axis!r} for a tensor of rank {x.type.rank}")
    name = x.name
    if x.type.dtype == DType.BOOL:
        name = _cast(ctx, name, DType.INT32, "cast")
    elif x.type.dtype not in (DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64):
        ctx.refuse(f"a cumsum of {x.type.dtype.value} (float32, float64, int32 and int64 "
                   f"are lowered)")
    return ctx.lowered("cumsum", [name], {"axis": axis % x.type.rank})


@lowers(knp.Einsum)
def _einsum(ctx: LayerContext) -> Lowered:
    """``keras.ops.einsum(subscripts, *operands)`` -> ``einsum`` (float operands)."""
    eq = _canonical_equation(ctx, ctx.layer.subscripts)
    operands = _operands(ctx)
    dtype = next(o for o in operands if isinstance(o, Operand)).type.dtype
    if not dtype.is_float:
        ctx.refuse(f"an einsum of {dtype.value} tensors (Keras computes it in floatx and casts "
                   f"back); cast the operands to a float dtype explicitly")
    return ctx.lowered("einsum", _names(ctx, operands), {"equation": eq})
