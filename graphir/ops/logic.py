"""Primitive comparison and logic ops: ``equal``, ``not_equal``, ``less``,
``less_equal``, ``greater``, ``greater_equal``, ``logical_and``, ``logical_or``,
``logical_xor``, ``logical_not`` and ``where``, with NumPy semantics.

Like the arithmetic primitives (:mod:`graphir.ops.arithmetic`, the template), each op
is defined once here and reached by name from every backend (``@emits`` in
``graphir.backends.onnx.logic_ops``, ``@builds`` in
``graphir.backends.keras.logic_builders``, ``@lowers`` in
``graphir.backends.keras.logic_converters``).  All are elementwise with NumPy
broadcasting, so all are of layout class ``Layout.ANY``.  Spec: ``specs/ops-logic.md``.

Dtype rules (stated per op, checked by the type rules):

* ``equal``, ``not_equal``: two inputs of one dtype, any dtype (bool included); the
  output is ``bool``.  Floats compare exactly in IEEE arithmetic: ``NaN`` equals
  nothing, itself included, and ``-0.0 == 0.0`` (as ``tf.equal`` and ONNX ``Equal``).
* ``less``, ``less_equal``, ``greater``, ``greater_equal``: two inputs of one numeric
  dtype (float or integer; ``bool`` is refused: neither TensorFlow nor ONNX orders
  bools); the output is ``bool``; any comparison with ``NaN`` is false.
* ``logical_and``, ``logical_or``, ``logical_xor``: two ``bool`` inputs;
  ``logical_not``: one ``bool`` input; the output is ``bool`` (a number is made a
  truth value by an explicit ``cast`` to ``bool`` first).
* ``where``: ``condition`` of dtype ``bool``, ``x`` and ``y`` of one dtype (any); the
  output has that dtype; the shape broadcasts all three.

Mixed dtypes are never promoted implicitly: a frontend that promotes (Keras'
``dtypes.result_type``) inserts explicit ``cast`` nodes.
"""

from __future__ import annotations

import numpy as np

from graphir.dtypes import DType
from graphir.ops.registry import Layout, TypeRuleError, define_op
from graphir.ops.type_rules import broadcast_shapes, same_dtype
from graphir.tensor_types import TensorType

__all__ = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_and", "logical_or", "logical_xor", "logical_not", "where"]


def _bool_of(types) -> tuple[TensorType, ...]:
    """A bool tensor of the NumPy-broadcast shape of ``types``."""
    return (TensorType(DType.BOOL, broadcast_shapes([t.shape for t in types])),)


def _equality_rule(types, attrs):
    """Two inputs of one dtype (any); bool of the broadcast shape."""
    same_dtype(types)
    return _bool_of(types)


def _ordering_rule(types, attrs):
    """Two inputs of one numeric dtype; bool of the broadcast shape."""
    same_dtype(types)
    for i, t in enumerate(types):
        if t.dtype is DType.BOOL:
            raise TypeRuleError(f"input {i} is bool; an ordering comparison needs numbers",
                                input_index=i, expected="a numeric dtype", actual="bool",
                                hint="cast the inputs to an integer dtype first")
    return _bool_of(types)


def _logical_rule(types, attrs):
    """Bool inputs only; bool of the broadcast shape."""
    for i, t in enumerate(types):
        if t.dtype is not DType.BOOL:
            raise TypeRuleError(f"input {i} has dtype {t.dtype.value}; logic ops take bool",
                                input_index=i, expected="bool", actual=t.dtype.value,
                                hint="cast the input to bool first (nonzero is true)")
    return _bool_of(types)


def _where_rule(types, attrs):
    """``condition`` bool, ``x`` and ``y`` of one dtype; that dtype, all three broadcast."""
    cond, x, y = types
    if cond.dtype is not DType.BOOL:
        raise TypeRuleError(f"condition has dtype {cond.dtype.value}; it must be bool",
                            input_index=0, expected="bool", actual=cond.dtype.value,
                            hint="cast the condition to bool first (nonzero is true)")
    if x.dtype != y.dtype:
        raise TypeRuleError(f"input 2 (y) has dtype {y.dtype.value}, input 1 (x) has "
                            f"{x.dtype.value}", input_index=2, expected=x.dtype.value,
                            actual=y.dtype.value,
                            hint="cast one side so both have the same dtype")
    return (TensorType(x.dtype, broadcast_shapes([t.shape for t in types])),)


# ------------------------------------------------------------------ comparisons

@define_op("equal", ("x", "y"), infer=_equality_rule, layout=Layout.ANY,
           doc="x == y elementwise, any dtype, bool output, NumPy broadcasting "
               "(keras.ops.equal, ONNX Equal)")
def equal(inputs, attrs):
    """``x == y`` (IEEE: NaN equals nothing)."""
    return np.equal(inputs[0], inputs[1])


@define_op("not_equal", ("x", "y"), infer=_equality_rule, layout=Layout.ANY,
           doc="x != y elementwise, any dtype, bool output, NumPy broadcasting "
               "(keras.ops.not_equal, ONNX Not(Equal))")
def not_equal(inputs, attrs):
    """``x != y`` (IEEE: NaN differs from everything)."""
    return np.not_equal(inputs[0], inputs[1])


@define_op("less", ("x", "y"), infer=_ordering_rule, layout=Layout.ANY,
           doc="x < y elementwise, numeric dtypes, bool output, NumPy broadcasting "
               "(keras.ops.less, ONNX Less)")
def less(inputs, attrs):
    """``x < y`` (false when either is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.less(inputs[0], inputs[1])


@define_op("less_equal", ("x", "y"), infer=_ordering_rule, layout=Layout.ANY,
           doc="x <= y elementwise, numeric dtypes, bool output, NumPy broadcasting "
               "(keras.ops.less_equal, ONNX LessOrEqual)")
def less_equal(inputs, attrs):
    """``x <= y`` (false when either is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.less_equal(inputs[0], inputs[1])


@define_op("greater", ("x", "y"), infer=_ordering_rule, layout=Layout.ANY,
           doc="x > y elementwise, numeric dtypes, bool output, NumPy broadcasting "
               "(keras.ops.greater, ONNX Greater)")
def greater(inputs, attrs):
    """``x > y`` (false when either is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.greater(inputs[0], inputs[1])


@define_op("greater_equal", ("x", "y"), infer=_ordering_rule, layout=Layout.ANY,
           doc="x >= y elementwise, numeric dtypes, bool output, NumPy broadcasting "
               "(keras.ops.greater_equal, ONNX GreaterOrEqual)")
def greater_equal(inputs, attrs):
    """``x >= y`` (false when either is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.greater_equal(inputs[0], inputs[1])


# ------------------------------------------------------------------ logic

@define_op("logical_and", ("x", "y"), infer=_logical_rule, layout=Layout.ANY,
           doc="x AND y of two bool tensors, NumPy broadcasting "
               "(keras.ops.logical_and, ONNX And)")
def logical_and(inputs, attrs):
    """``x & y`` of bool arrays."""
    return np.logical_and(inputs[0], inputs[1])


@define_op("logical_or", ("x", "y"), infer=_logical_rule, layout=Layout.ANY,
           doc="x OR y of two bool tensors, NumPy broadcasting "
               "(keras.ops.logical_or, ONNX Or)")
def logical_or(inputs, attrs):
    """``x | y`` of bool arrays."""
    return np.logical_or(inputs[0], inputs[1])


@define_op("logical_xor", ("x", "y"), infer=_logical_rule, layout=Layout.ANY,
           doc="x XOR y of two bool tensors, NumPy broadcasting "
               "(keras.ops.logical_xor, ONNX Xor)")
def logical_xor(inputs, attrs):
    """``x ^ y`` of bool arrays."""
    return np.logical_xor(inputs[0], inputs[1])


@define_op("logical_not", ("x",), infer=_logical_rule, layout=Layout.ANY,
           doc="NOT x of a bool tensor (keras.ops.logical_not, ONNX Not)")
def logical_not(inputs, attrs):
    """``~x`` of a bool array."""
    return np.logical_not(inputs[0])


# ------------------------------------------------------------------ selection

@define_op("where", ("condition", "x", "y"), infer=_where_rule, layout=Layout.ANY,
           doc="x where condition is true, else y; condition bool, x and y of one dtype, "
               "all three broadcast (keras.ops.where with three arguments, ONNX Where)")
def where(inputs, attrs):
    """``np.where(condition, x, y)``."""
    return np.where(inputs[0], inputs[1], inputs[2])
