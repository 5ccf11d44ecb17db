"""Converters of ``keras.ops`` arithmetic applied to symbolic tensors, registered with
:func:`~graphir.backends.keras.registry.lowers` (listed by
:func:`~graphir.backends.keras.registry.supported_operations`).

A functional model may contain ``keras.ops`` operations instead of layers: ``x + 3.0``
(``KerasTensor.__add__``), ``x * (1 / 6)``, ``inputs + branch`` (MobileNetV3's
``hard_sigmoid``, ConvNeXt's residual add).  Keras records them as
``keras.src.ops.numpy.Add`` / ``Subtract`` / ``Multiply`` / ``Divide`` /
``TrueDivide`` operations whose ``call`` is ``backend.numpy.<op>(x1, x2)``
(``keras/src/ops/numpy.py``); on TensorFlow that converts a Python or NumPy scalar to
the tensor's dtype (``dtypes.result_type``: Python scalars are weak types) and
applies ``tf.add`` / ``tf.subtract`` / ``tf.multiply`` / ``tf.math.divide`` with
NumPy broadcasting (``keras/src/backend/tensorflow/numpy.py``).

Mapping (exact in IEEE arithmetic, the constant ``c`` first rounded to the tensor's
dtype as TensorFlow does):

* tensor and tensor: ``add`` / ``subtract`` / ``multiply`` / ``divide`` (NumPy
  broadcasting, as the IR ops; ``divide`` needs float tensors);
* ``x + c``, ``c + x``: ``rescale(x, scale=1, offset=c)``;
* ``x - c``: ``rescale(x, 1, -c)``; ``c - x``: ``rescale(x, -1, c)`` (``a - b`` is
  ``a + (-b)`` exactly);
* ``x * c``, ``c * x``: ``rescale(x, c, 0)``;
* ``x / c``: ``rescale(x, 1 / c, 0)`` when ``c`` is a power of two (then
  ``x * (1 / c)`` rounds like ``x / c``, and one fused node is the best ONNX and
  Keras); otherwise ``divide(x, c)``, and ``c / x`` is ``divide(c, x)``, with ``c`` a
  rank-0 weight ``<operation>/constant`` of the tensor's dtype.

``keras.ops.cast(x, dtype)`` (the ``Cast`` operation, ``tf.cast``) lowers to
``cast(x) {to=dtype}``.

Refused: a result dtype different from the inputs' (Keras would promote; lower an
explicit ``keras.ops.cast`` instead), non-float tensors with a constant or in a
division, constants that are not real scalars (arrays, bools, tensors), a cast to a
dtype outside the IR's (``bfloat16``, ``string``...), and every other ``keras.ops``
operation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras.src.ops import core as kcore
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType

__all__: list[str] = []

_TENSOR_OPS = {knp.Add: "add", knp.Subtract: "subtract", knp.Multiply: "multiply",
               knp.Divide: "divide", knp.TrueDivide: "divide"}
_SYMBOLS = {knp.Add: "+", knp.Subtract: "-", knp.Multiply: "*", knp.Divide: "/",
            knp.TrueDivide: "/"}


def _scalar(ctx: LayerContext, value: Any, x: Operand) -> float:
    """The constant ``value`` rounded to ``x``'s dtype, as a Python float.

    Raises:
        UnsupportedLayerError: ``value`` is not a real scalar (an array, a bool, a
            tensor...).
    """
    if isinstance(value, bool) or isinstance(value, np.bool_):
        ctx.refuse(f"a bool constant operand {value!r}")
    if isinstance(value, (int, float)):
        arr = np.asarray(value)
    elif isinstance(value, (np.generic, np.ndarray)) and value.dtype.kind in "iuf":
        arr = np.asarray(value)
        if arr.ndim:
            ctx.refuse(f"a constant operand of shape {arr.shape}; only scalar constants are "
                       f"supported")
    else:
        ctx.refuse(f"a constant operand of type {type(value).__name__}; only Python or "
                   f"NumPy scalars are supported")
    return float(arr.astype(x.type.dtype.to_numpy()))


def _power_of_two_reciprocal(c: float, x: Operand) -> float | None:
    """``1 / c`` when ``c`` is a power of two whose reciprocal ``x``'s dtype holds, else None."""
    if not math.isfinite(c) or c == 0 or abs(math.frexp(c)[0]) != 0.5:
        return None
    inv = float(np.asarray(1.0 / c, dtype=x.type.dtype.to_numpy()))
    return inv if math.isfinite(inv) and inv != 0 and inv * c == 1.0 else None


@lowers(*_SYMBOLS)
def _arithmetic(ctx: LayerContext) -> Lowered:
    kind = type(ctx.layer)
    symbol = _SYMBOLS[kind]
    operands = ctx.operands()
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    a, b = operands
    out = ctx.output_type
    tensors = [v for v in (a, b) if isinstance(v, Operand)]
    for t in tensors:
        if out is not None and t.type.dtype != out.dtype:
            ctx.refuse(f"Keras computes {t.type.dtype.value} {symbol} ... in "
                       f"{out.dtype.value}; cast the operands explicitly (keras.ops.cast)")
    if len(tensors) == 2:
        if _TENSOR_OPS[kind] == "divide" and not a.type.dtype.is_float:
            ctx.refuse(f"a division of {a.type.dtype.value} tensors; only float tensors "
                       f"divide exactly (cast them to a float dtype first)")
        return ctx.lowered(_TENSOR_OPS[kind], [a.name, b.name])
    x, const_first = (a, False) if isinstance(a, Operand) else (b, True)
    if not x.type.dtype.is_float:
        ctx.refuse(f"a constant operand on a {x.type.dtype.value} tensor; only float tensors "
                   f"with a constant map to rescale")
    c = _scalar(ctx, b if not const_first else a, x)
    if kind is knp.Add:
        scale, offset = 1.0, c
    elif kind is knp.Subtract:
        scale, offset = (-1.0, c) if const_first else (1.0, -c)
    elif kind is knp.Multiply:
        scale, offset = c, 0.0
    else:
        inv = None if const_first else _power_of_two_reciprocal(c, x)
        if inv is None:  # a true division: x / c or c / x
            constant = ctx.constant("constant", np.asarray(c, x.type.dtype.to_numpy()))
            operands = [constant, x.name] if const_first else [x.name, constant]
            return ctx.lowered("divide", operands)
        scale, offset = inv, 0.0
    return ctx.lowered("rescale", [x.name], {"scale": scale, "offset": offset})


@lowers(kcore.Cast)
def _cast(ctx: LayerContext) -> Lowered:
    """``keras.ops.cast(x, dtype)`` -> ``cast(x) {to=dtype}``."""
    operands = ctx.operands()
    if len(operands) != 1 or not isinstance(operands[0], Operand):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected one tensor")
    try:
        to = DType.from_any(ctx.layer.dtype)
    except (TypeError, ValueError):
        ctx.refuse(f"a cast to {ctx.layer.dtype!r}, which is not an IR dtype")
    return ctx.lowered("cast", [operands[0].name], {"to": to.value})
