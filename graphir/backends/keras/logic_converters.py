"""Converters of the ``keras.ops`` comparison, logic and selection operations applied
to symbolic tensors, registered with :func:`~graphir.backends.keras.registry.lowers`.

Keras records ``keras.ops.less(x, 0.5)``, ``x > y``, ``x != 0``, ``a & b``, ``~a``
and ``keras.ops.where(c, x, y)`` as the operations ``Equal``, ``NotEqual``, ``Less``,
``LessEqual``, ``Greater``, ``GreaterEqual``, ``LogicalAnd``, ``LogicalOr``,
``LogicalXor``, ``LogicalNot`` and ``Where`` of ``keras.src.ops.numpy``.  What
TensorFlow computes for them (``keras/src/backend/tensorflow/numpy.py``), and so what
each lowers to:

* comparisons: every operand is converted with ``convert_to_tensor`` (a Python float
  becomes ``float32``, an int ``int32`` or ``int64``, a bool ``bool``, a NumPy value
  keeps its dtype: *strong* types), both are cast to
  ``dtypes.result_type(x1.dtype, x2.dtype)`` and compared.  Lowered to the IR
  comparison on operands of that dtype: a tensor of another dtype gets a ``cast``
  helper node (``<operation>/cast_x1``; an int32 tensor against ``0.5`` is compared
  in float32, a float16 tensor against ``0.1`` in float32, exactly as TensorFlow
  does), a constant becomes a weight ``<operation>/constant`` holding the converted
  value (a Python float rounded to float32 first, then cast);
* ``logical_and`` / ``or`` / ``xor`` / ``not``: every operand is cast to ``bool``
  (nonzero is true; a Python number is converted as above first, so ``1e-50`` is a
  float32 ``0`` and false).  Lowered to the IR logic op, a non-bool tensor through a
  ``cast {to="bool"}`` helper, a constant as a bool weight;
* ``where(condition, x1, x2)``: the condition is cast to ``bool``; a Python number
  among ``x1``, ``x2`` is a *weak* type, anything else is converted as above; both
  are converted to ``dtypes.result_type`` of the two (an int32 tensor and ``0.5`` give
  float32, a float16 tensor and ``0.5`` float16) and selected.  Lowered to ``where``
  with ``cast`` helpers and constants ``<operation>/constant_x1`` / ``constant_x2``
  as above.

Constants are converted by the running Keras backend itself (``convert_to_tensor``,
``cast``: ``tf.convert_to_tensor`` and ``tf.cast``), so a weight holds exactly the number TensorFlow compares with.  A constant
may be a NumPy array (a weight of its shape) as well as a scalar.

Refused (by name): ``where`` with one argument (the indices of the true elements, a
data-dependent shape); an ordering comparison of bools (TensorFlow has no kernel);
a result dtype outside the IR's (``bfloat16``...); a constant TensorFlow cannot
convert (a float beyond float64, an int beyond int64, a string, a tensor...); nested
arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras.src import backend
from keras.src.backend.common import dtypes
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType

__all__: list[str] = []

_COMPARISONS = {knp.Equal: "equal", knp.NotEqual: "not_equal", knp.Less: "less",
                knp.LessEqual: "less_equal", knp.Greater: "greater",
                knp.GreaterEqual: "greater_equal"}
_LOGICAL = {knp.LogicalAnd: "logical_and", knp.LogicalOr: "logical_or",
            knp.LogicalXor: "logical_xor", knp.LogicalNot: "logical_not"}
_ARG_NAMES = ("x1", "x2")


def _convert(ctx: LayerContext, value: Any, dtype: str | None = None) -> np.ndarray:
    """``convert_to_tensor(value, dtype)`` by the Keras backend, as a NumPy array.

    Raises:
        UnsupportedLayerError: ``value`` is not a Python or NumPy number, bool or array,
            or the backend cannot convert it.
    """
    ok = (isinstance(value, (bool, int, float, np.bool_, np.number))
          or (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"))
    if not ok:
        ctx.refuse(f"a constant operand of type {type(value).__name__}; only Python or NumPy "
                   f"numbers, bools and arrays are supported")
    try:
        return np.asarray(backend.convert_to_numpy(backend.convert_to_tensor(value, dtype)))
    except (ValueError, TypeError, OverflowError) as e:
        ctx.refuse(f"the constant operand {value!r} cannot be converted to a tensor "
                   f"({str(e).splitlines()[0] if str(e) else type(e).__name__})")


def _cast(array: np.ndarray, dtype: DType) -> np.ndarray:
    """``cast(array, dtype)`` by the Keras backend (``tf.cast``), as a NumPy array."""
    return np.asarray(backend.convert_to_numpy(backend.cast(array, dtype.value)))


def _result_dtype(ctx: LayerContext, kinds: list[Any]) -> DType:
    """``dtypes.result_type(*kinds)`` as an IR dtype (refused when it has none)."""
    name = dtypes.result_type(*kinds)
    try:
        return DType.from_any(name)
    except ValueError:
        ctx.refuse(f"Keras computes it in {name}, which is not an IR dtype")


def _as(ctx: LayerContext, x: Operand, dtype: DType, suffix: str) -> str:
    """``x``'s value name in ``dtype``: ``x`` itself, or a ``cast`` helper's output."""
    if x.type.dtype == dtype:
        return x.name
    return ctx.helper("cast", [x.name], {"to": dtype.value}, suffix=suffix)


@lowers(*_COMPARISONS)
def _comparison(ctx: LayerContext) -> Lowered:
    """A comparison of two operands, promoted as TensorFlow promotes them."""
    op = _COMPARISONS[type(ctx.layer)]
    operands = ctx.operands()
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    if not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("no operand is a tensor")
    converted = [v if isinstance(v, Operand) else _convert(ctx, v) for v in operands]
    result = _result_dtype(ctx, [v.type.dtype.value if isinstance(v, Operand) else v.dtype.name
                                 for v in converted])
    if result is DType.BOOL and op not in ("equal", "not_equal"):
        ctx.refuse(f"{op} of bool values (TensorFlow orders numbers only)")
    names = []
    for arg, v in zip(_ARG_NAMES, converted):
        if isinstance(v, Operand):
            names.append(_as(ctx, v, result, f"cast_{arg}"))
        else:
            names.append(ctx.constant("constant", _cast(v, result)))
    return ctx.lowered(op, names)


@lowers(*_LOGICAL)
def _logical(ctx: LayerContext) -> Lowered:
    """A logic op of operands cast to bool, as TensorFlow casts them."""
    op = _LOGICAL[type(ctx.layer)]
    operands = ctx.operands()
    arity = 1 if op == "logical_not" else 2
    if len(operands) != arity:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected {arity}")
    if not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("no operand is a tensor")
    names = []
    for arg, v in zip(_ARG_NAMES, operands):
        if isinstance(v, Operand):
            names.append(_as(ctx, v, DType.BOOL, f"cast_{arg}"))
        else:
            names.append(ctx.constant(f"constant_{arg}", _cast(_convert(ctx, v), DType.BOOL)))
    return ctx.lowered(op, names)


@lowers(knp.Where)
def _where(ctx: LayerContext) -> Lowered:
    """``where(condition, x1, x2)``: both branches converted to their result type; a
    constant condition (``ops.where(True, x, 0.0)``) is a bool constant, broadcast like
    any other operand."""
    operands = ctx.operands()
    if len(operands) == 3 and operands[1] is None and operands[2] is None:
        ctx.refuse("where(condition) with one argument (the indices of the true elements) "
                   "has a data-dependent shape")
    if len(operands) != 3 or any(v is None for v in operands):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected condition, "
                   f"x1 and x2")
    cond, *branches = operands
    if not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("no operand is a tensor")
    # Python numbers are weak types here; anything else is converted to a tensor first
    kinds, values = [], []
    for v in branches:
        if isinstance(v, Operand):
            kinds.append(v.type.dtype.value)
            values.append(v)
        elif isinstance(v, (bool, int, float)):
            kinds.append(type(v))
            values.append(v)
        else:
            arr = _convert(ctx, v)
            kinds.append(arr.dtype.name)
            values.append(arr)
    result = _result_dtype(ctx, kinds)
    names = [_as(ctx, cond, DType.BOOL, "cast_condition") if isinstance(cond, Operand)
             else ctx.constant("constant_condition", _cast(_convert(ctx, cond), DType.BOOL))]
    for arg, v in zip(_ARG_NAMES, values):
        if isinstance(v, Operand):
            names.append(_as(ctx, v, result, f"cast_{arg}"))
        elif isinstance(v, np.ndarray):  # converted already: tf.cast
            names.append(ctx.constant(f"constant_{arg}", _cast(v, result)))
        else:  # a weak Python number: convert_to_tensor(v, result)
            names.append(ctx.constant(f"constant_{arg}", _convert(ctx, v, result.value)))
    return ctx.lowered("where", names)
