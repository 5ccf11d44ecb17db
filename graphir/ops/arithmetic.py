"""Primitive arithmetic ops: the first members of the primitive tier (``divide``,
``cast``), with NumPy semantics and no Keras or ONNX shape to them.

The primitive tier sits under the layer-level ops: it is what ``keras.ops`` calls
lower to and what a traced custom layer or an imported ONNX graph becomes.  Each op
is defined once here (schema, dtype rule, type rule, reference kernel, layout class)
and reached by name from every backend (``@emits`` in ``graphir.backends.onnx``,
``@builds``/``@lowers`` in ``graphir.backends.keras``).  Template for a new op: the
README's contributor section.

Dtype rules (stated per op, checked by the type rule):

* ``divide``: two inputs of the same float dtype (an integer quotient is a different
  op, ``floor_divide``); the output has that dtype; shapes broadcast as NumPy.
* ``cast``: any dtype to any dtype (``to``).  Float to integer truncates toward zero
  (C semantics, as ``tf.cast``, ONNX ``Cast`` and NumPy ``astype``); to ``bool``,
  nonzero is true; float to a narrower float rounds to nearest even.
"""

from __future__ import annotations

import numpy as np

from graphir.dtypes import DType
from graphir.ops.registry import AttrSpec, Layout, TypeRuleError, define_op
from graphir.ops.type_rules import broadcast_shapes, same_dtype
from graphir.tensor_types import TensorType

__all__ = ["divide", "cast"]


def _float_binary(types, attrs):
    """Two inputs of one float dtype; the NumPy-broadcast shape."""
    same_dtype(types)
    for i, t in enumerate(types):
        if not t.dtype.is_float:
            raise TypeRuleError(f"expects float inputs, got {t.dtype.value} at input {i}",
                                input_index=i, expected="float", actual=t.dtype.value,
                                hint="cast the inputs to a float dtype first")
    return (TensorType(types[0].dtype, broadcast_shapes([t.shape for t in types])),)


@define_op("divide", ("x", "y"), infer=_float_binary, layout=Layout.ANY,
           doc="x / y (true division) of two tensors of one float dtype, NumPy broadcasting "
               "(keras.ops.divide, ONNX Div)")
def divide(inputs, attrs):
    """``x / y`` elementwise (IEEE: ``x / 0`` is ``+-inf``, ``0 / 0`` NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(inputs[0], inputs[1])


def _cast_rule(types, attrs):
    return (TensorType(DType(attrs["to"]), types[0].shape),)


@define_op("cast", ("x",), {"to": AttrSpec("str", choices=tuple(d.value for d in DType),
                                           doc="the target dtype")},
           infer=_cast_rule, layout=Layout.ANY,
           doc="x converted to dtype `to`; float -> int truncates toward zero "
               "(keras.ops.cast, ONNX Cast)")
def cast(inputs, attrs):
    """``x.astype(to)``; a float target is rounded through ``to`` and held in float64,
    as the interpreter holds every float."""
    to = DType(attrs["to"])
    with np.errstate(invalid="ignore", over="ignore"):
        y = np.asarray(inputs[0]).astype(to.to_numpy())
    return y.astype(np.float64) if to.is_float else y
