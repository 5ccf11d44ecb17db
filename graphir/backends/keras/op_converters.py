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

Mapping (exact in IEEE arithmetic, the constant ``c`` first rounded to the result
dtype as TensorFlow does):

* tensor and tensor, or a tensor and a constant that is an array, or of another dtype
  than the tensor (``int32 + 1``, ``float32 * np.float64(2)``): ``add`` / ``subtract`` /
  ``multiply`` / ``divide`` in Keras' result dtype (NumPy broadcasting, as the IR ops;
  a tensor of another dtype gets a ``cast`` helper, a constant is a weight
  ``<operation>/constant``; ``divide`` computes in a float dtype);
* a float tensor and a real scalar constant of its dtype:
  ``x + c``, ``c + x``: ``rescale(x, scale=1, offset=c)``;
  ``x - c``: ``rescale(x, 1, -c)``; ``c - x``: ``rescale(x, -1, c)`` (``a - b`` is
  ``a + (-b)`` exactly); ``x * c``, ``c * x``: ``rescale(x, c, 0)``;
  ``x / c``: ``rescale(x, 1 / c, 0)`` when ``c`` is a power of two (then
  ``x * (1 / c)`` rounds like ``x / c``, and one fused node is the best ONNX and
  Keras); otherwise ``divide(x, c)``, and ``c / x`` is ``divide(c, x)``, with ``c`` a
  rank-0 weight ``<operation>/constant`` of the tensor's dtype.

``keras.ops.cast(x, dtype)`` (the ``Cast`` operation, ``tf.cast``) lowers to
``cast(x) {to=dtype}``.

Elementwise math (``keras/src/ops/numpy.py``, ``math.py``, ``nn.py`` and their
TensorFlow backends):

* ``negative``, ``abs``/``absolute``, ``sign``, ``square``, ``rsqrt``, ``erf``,
  ``reciprocal``, ``round`` (``decimals=0``) -> the op of that name on the tensor's
  dtype; ``sqrt``, ``exp``, ``log``, ``log1p``, ``sin``, ``cos``, the inverse and hyperbolic trigonometric functions, ``floor``, ``ceil``
  -> the op after a ``cast`` helper to Keras' float result dtype when the input is an
  integer or bool tensor (Keras casts it the same way);
* ``floor_divide`` (``x // y``), ``mod`` (``x % y``), ``power`` (``x ** y``) -> the op in
  Keras' result dtype (``dtypes.result_type``; a tensor of another dtype gets a
  ``cast`` helper, a constant becomes a weight ``<operation>/constant`` of that dtype);
  ``mod`` is refused where TensorFlow computes in another dtype than Keras records;
* ``clip(x, a, b)`` with numbers -> ``clip(x) {min=a, max=b}``; ``maximum`` /
  ``minimum`` of two tensors -> the ``maximum`` / ``minimum`` ops, of a tensor and a
  number ``c`` -> ``clip`` with the one bound ``c``;
* the activation operations with exactly the formula of an ``activation`` function
  (``relu``, ``relu6``, ``sigmoid``, ``tanh``, ``softplus``, ``softsign``, ``silu``,
  ``hard_sigmoid``, ``hard_silu``, ``selu``, ``log_sigmoid``, ``hard_tanh``,
  ``tanh_shrink``, ``gelu`` (``approximate=True``: ``gelu_approximate``), ``celu(alpha=1)``,
  ``log_softmax`` over the last axis) -> ``activation``; ``elu`` / ``leaky_relu`` ->
  the ops of those names; ``softmax(x, axis)`` -> ``softmax`` (axis normalized to
  non-negative).  Refused: ``celu`` with another alpha, ``softmax``/``log_softmax`` with
  ``axis=None`` or several axes, ``log_softmax`` on another axis.

Every dtype an op's type rule refuses (``graphir.ops.arithmetic``: e.g. ``sqrt`` of
an integer tensor after no cast, ``power`` of int8, anything of bool) is refused by
name at lowering.

Refused: bool or non-numeric constants, a division Keras computes in an integer dtype,
a cast to a dtype outside the IR's (``bfloat16``, ``string``...), and every other
``keras.ops`` operation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras.src.ops import core as kcore
from keras.src.ops import math as kmath
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir import ops
from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.tensor_types import TensorType

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
    """``x + y``, ``-``, ``*``, ``/`` in the dtype Keras records for the result
    (``dtypes.result_type``: ``backend.numpy.add`` and friends cast both operands to it
    first, true division to a float dtype).

    A float tensor and a real scalar constant of its dtype fuse into ``rescale`` (``x / c``
    only for a power-of-two ``c``, whose reciprocal is exact); everything else is the
    tensor op of that name, a tensor of another dtype cast by a helper and a constant
    (a number or an array) a weight ``<operation>/constant`` of the result dtype.
    """
    kind = type(ctx.layer)
    operands = ctx.operands()
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    a, b = operands
    tensors = [v for v in (a, b) if isinstance(v, Operand)]
    if not tensors:
        ctx.refuse("no tensor operand")
    dtype = ctx.output_type.dtype if ctx.output_type is not None else tensors[0].type.dtype
    if _TENSOR_OPS[kind] == "divide" and not dtype.is_float:
        ctx.refuse(f"a division computed in {dtype.value}; only float division is exact")
    fused = _rescale(ctx, kind, a, b, dtype) if len(tensors) == 1 else None
    if fused is not None:
        return fused
    if kind is knp.Add and bias_add_axis(ctx, _shape_of(a), _shape_of(b)) is not None:
        # a functional graph's add runs keras.ops.add (tf.nn.bias_add on that axis), but
        # a traced call's `x + y` runs tf.add on eager tensors: the graph cannot tell
        ctx.refuse(f"adding an operand of shape {_shape_of(b)} to a tensor of shape "
                   f"{_shape_of(a)}: Keras' TensorFlow ops.add adds it with tf.nn.bias_add "
                   f"along another axis than NumPy broadcasting (and `+` on eager tensors "
                   f"in a layer's call does not); reshape the operand to the full rank")
    return ctx.lowered(_TENSOR_OPS[kind], _binary_operands(ctx, dtype))


def _shape_of(v: Any) -> tuple:
    """The shape of an operand (an :class:`Operand` or a constant), unknown dims None."""
    if isinstance(v, Operand):
        return tuple(None if not isinstance(d, int) else d for d in v.type.shape)
    return tuple(np.shape(v))


def bias_add_axis(ctx: LayerContext, s1: tuple, s2: tuple) -> int | None:
    """Where Keras' TensorFlow ``add(x1, x2)`` adds ``x2`` when it is not NumPy's
    broadcasting: the axis of ``x1``, or None when it computes ``tf.add`` (or the same).

    ``add`` in ``keras/src/backend/tensorflow/numpy.py`` turns ``x1 + x2`` into
    ``tf.nn.bias_add`` when ``x2`` squeezes to one static size ``n`` (one dim that is
    unknown or above 1), ``x1`` has rank >= 2 and ``n`` is ``x1``'s axis 1 or last size:
    along the last axis (``"NHWC"``) when the last size is ``n``, else along axis 1
    (``"NCHW"``), keeping ``x1``'s shape, whatever NumPy's broadcasting would align.  The
    decision reads the sizes at run time: where an unknown size of ``x1`` could change
    the outcome, the call is refused.

    Raises:
        UnsupportedLayerError: the outcome depends on a size unknown here, or the bias
            would grow ``x1``'s rank.
    """
    big = [(i, d) for i, d in enumerate(s2) if d is None or d > 1]
    if len(big) != 1 or len(s1) < 2 or big[0][1] is None:
        return None
    n, rank = big[0][1], len(s1)
    numpy_axis = rank - (len(s2) - big[0][0])

    def outcome(d1: int | None, dl: int | None) -> int | None:
        axis = rank - 1 if dl == n else 1 if d1 == n else None
        return None if axis == numpy_axis else axis

    choices = [s1[1]] if s1[1] is not None else [n, -1]
    lasts = [s1[-1]] if s1[-1] is not None else [n, -1]
    outcomes = {outcome(d1, dl) for d1 in choices for dl in lasts
                if rank > 2 or d1 == dl}
    if len(outcomes) > 1:
        ctx.refuse(f"adding a bias-like operand of shape {s2} to a tensor of shape {s1}: "
                   f"Keras' TensorFlow add uses tf.nn.bias_add on axis 1 or the last axis "
                   f"depending on sizes unknown here")
    (axis,) = outcomes
    if axis is not None and numpy_axis < 0:
        ctx.refuse(f"adding an operand of shape {s2} to a tensor of lower rank {s1}")
    return axis


def _rescale(ctx: LayerContext, kind: type, a: Any, b: Any, dtype: DType) -> Lowered | None:
    """``rescale(x) {scale, offset}`` for a float tensor ``x`` of the result dtype and a
    real scalar constant (``x + c``, ``c - x``, ``x * c``, ``x / 2**k``), else None."""
    x, const_first = (a, False) if isinstance(a, Operand) else (b, True)
    value = a if const_first else b
    scalar = isinstance(value, (int, float, np.generic)) and not isinstance(
        value, (bool, np.bool_)) and np.asarray(value).dtype.kind in "iuf"
    if not (scalar and x.type.dtype == dtype and dtype.is_float):
        return None
    c = _scalar(ctx, value, x)
    if kind is knp.Add:
        scale, offset = 1.0, c
    elif kind is knp.Subtract:
        scale, offset = (-1.0, c) if const_first else (1.0, -c)
    elif kind is knp.Multiply:
        scale, offset = c, 0.0
    else:
        inv = None if const_first else _power_of_two_reciprocal(c, x)
        if inv is None:  # a true division: the divide op with a constant weight
            return None
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


# --------------------------------------------------------------------------- elementwise math

def _check(ctx: LayerContext, op: str, types: list[TensorType],
           attrs: dict[str, Any] | None = None) -> None:
    """Refuse, naming the IR op and the reason, when ``op``'s type rule rejects ``types``."""
    try:
        ops.infer_types(op, types, attrs or {})
    except ops.TypeRuleError as e:
        ctx.refuse(f"{op} of {', '.join(t.dtype.value for t in types)}: {e}")


def _tensor(ctx: LayerContext) -> Operand:
    """The single positional tensor argument of a one-input operation."""
    operands = ctx.operands()
    if len(operands) != 1 or not isinstance(operands[0], Operand):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected one tensor")
    return operands[0]


def _result_dtype(ctx: LayerContext) -> DType:
    """Keras' symbolic output dtype (the dtype TensorFlow computes in)."""
    if ctx.output_type is None:
        ctx.refuse("Keras records no output dtype")
    return ctx.output_type.dtype


def _as(ctx: LayerContext, x: Operand, dtype: DType) -> Operand:
    """``x`` converted to ``dtype`` by a ``cast`` helper node (``tf.cast``, as Keras does
    before computing), or ``x`` itself when it already has that dtype."""
    if x.type.dtype == dtype:
        return x
    name = ctx.helper("cast", [x.name], {"to": dtype.value}, suffix="cast")
    return Operand(name, TensorType(dtype, x.type.shape))


#: keras.ops operation class -> IR op, for one-input operations that keep the dtype
_KEEP_DTYPE = {knp.Negative: "negative", knp.Absolute: "abs", knp.Abs: "abs",
               knp.Sign: "sign", knp.Square: "square", kmath.Rsqrt: "rsqrt",
               kmath.Erf: "erf"}
#: ... and those Keras computes in a float dtype, casting an integer or bool input
#: first (``backend.numpy.sqrt``: ``tf.cast(x, result_type(x.dtype, float))``)
_TO_FLOAT = {knp.Sqrt: "sqrt", knp.Exp: "exp", knp.Log: "log", knp.Log1p: "log1p",
             knp.Sin: "sin", knp.Cos: "cos", knp.Floor: "floor", knp.Ceil: "ceil",
             knp.Tan: "tan", knp.Arcsin: "arcsin", knp.Arccos: "arccos", knp.Arctan: "arctan",
             knp.Sinh: "sinh", knp.Cosh: "cosh", knp.Arcsinh: "arcsinh",
             knp.Arccosh: "arccosh", knp.Arctanh: "arctanh"}


@lowers(*_KEEP_DTYPE, *_TO_FLOAT)
def _elementwise(ctx: LayerContext) -> Lowered:
    """``keras.ops.<f>(x)`` -> ``<f>(x)``, after a ``cast`` to Keras' float output dtype
    where Keras converts an integer input (sqrt, exp, log, log1p, sin, cos, floor,
    ceil), and to int32 for ``square`` of a bool tensor (``backend.numpy.square``); the
    dtypes the op refuses (``graphir.ops.arithmetic``) are refused by name."""
    kind = type(ctx.layer)
    x = _tensor(ctx)
    if kind in _TO_FLOAT:
        op = _TO_FLOAT[kind]
        out = _result_dtype(ctx)
        if out.is_float and not x.type.dtype.is_float:
            x = _as(ctx, x, out)
    else:
        op = _KEEP_DTYPE[kind]
        if kind is knp.Square and x.type.dtype == DType.BOOL:  # Keras squares it as int32
            x = _as(ctx, x, DType.INT32)
    _check(ctx, op, [x.type])
    return ctx.lowered(op, [x.name])


@lowers(knp.Reciprocal, keeps_input_dtype=True)
def _reciprocal(ctx: LayerContext) -> Lowered:
    """``keras.ops.reciprocal(x)`` -> ``reciprocal(x)`` on a float tensor (Keras records a
    float32 result whatever the input; ``tf.math.reciprocal`` keeps the input dtype)."""
    x = _tensor(ctx)
    _check(ctx, "reciprocal", [x.type])
    return ctx.lowered("reciprocal", [x.name])


@lowers(knp.Round)
def _round(ctx: LayerContext) -> Lowered:
    """``keras.ops.round(x)`` (``decimals=0``: ``tf.round``, half to even) -> ``round(x)``."""
    x = _tensor(ctx)
    if ctx.layer.decimals != 0:
        ctx.refuse(f"decimals={ctx.layer.decimals!r}; only decimals=0 is supported")
    _check(ctx, "round", [x.type])
    return ctx.lowered("round", [x.name])


def _constant_array(ctx: LayerContext, value: Any, dtype: DType) -> np.ndarray:
    """A constant operand converted to ``dtype`` as TensorFlow converts it (a Python or
    NumPy number or a numeric NumPy array; ``astype`` rounds to nearest and wraps
    integers like ``tf.convert_to_tensor`` / ``tf.cast``).

    A bool converts to 0 / 1 (``tf.cast``) and a number to bool as ``!= 0``.

    Raises:
        UnsupportedLayerError: a string, a complex number or any other object.
    """
    if isinstance(value, (bool, int, float)):
        arr = np.asarray(value)
    elif isinstance(value, (np.generic, np.ndarray)) and value.dtype.kind in "biuf":
        arr = np.asarray(value)
    else:
        ctx.refuse(f"a constant operand of type {type(value).__name__}; only numbers and "
                   f"numeric NumPy arrays are supported")
    with np.errstate(all="ignore"):
        return arr.astype(dtype.to_numpy())


def _binary_operands(ctx: LayerContext, dtype: DType) -> list[str]:
    """The two operands of a binary operation, each in ``dtype`` (the dtype Keras
    computes in): tensors cast by a helper where they differ, a constant as a weight
    ``<operation>/constant``."""
    operands = ctx.operands()
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    if not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("no tensor operand")
    names = []
    for v in operands:
        if isinstance(v, Operand):
            names.append(_as(ctx, v, dtype).name)
        else:
            names.append(ctx.constant("constant", _constant_array(ctx, v, dtype)))
    return names


def _mod_dtype(ctx: LayerContext) -> DType:
    """The dtype ``backend.numpy.mod`` computes in: it converts a Python constant by
    itself first (an int to int32, a float to float32) and promotes the two tensors,
    which can differ from the weak-typed dtype Keras records (a float16 tensor mod
    ``2.0`` computes in float32); refused then."""
    from keras.src.backend.common import dtypes as kdtypes

    def keras_dtype(v: Any) -> str:
        if isinstance(v, Operand):
            return v.type.dtype.value
        if isinstance(v, (np.generic, np.ndarray)):  # before float: np.float64 is a float
            return str(np.asarray(v).dtype)
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int):
            return "int32"
        if isinstance(v, float):
            return "float32"
        return str(np.asarray(v).dtype)

    declared = _result_dtype(ctx)
    computed = kdtypes.result_type(*(keras_dtype(v) for v in ctx.operands()))
    if computed == "bool":
        computed = "int32"
    if computed != declared.value:
        ctx.refuse(f"Keras records a {declared.value} result but TensorFlow computes in "
                   f"{computed}; cast the operands explicitly (keras.ops.cast)")
    return declared


_BINARY = {knp.FloorDivide: "floor_divide", knp.Mod: "mod", knp.Power: "power"}


@lowers(*_BINARY)
def _binary(ctx: LayerContext) -> Lowered:
    """``x // y``, ``x % y``, ``x ** y`` (``keras.ops.floor_divide`` / ``mod`` /
    ``power``) -> ``floor_divide`` / ``mod`` / ``power`` in the dtype Keras computes in
    (``dtypes.result_type``; a promoted tensor gets a ``cast`` helper, a constant is a
    weight of that dtype)."""
    op = _BINARY[type(ctx.layer)]
    dtype = _mod_dtype(ctx) if op == "mod" else _result_dtype(ctx)
    names = _binary_operands(ctx, dtype)
    if dtype == DType.BOOL:  # tf.minimum / maximum of bools: logical and / or
        op = "logical_and" if op == "minimum" else "logical_or"
    _check(ctx, op, [TensorType(dtype, ()), TensorType(dtype, ())])
    return ctx.lowered(op, names)


def _bound(ctx: LayerContext, value: Any, dtype: DType, what: str) -> float:
    """A clip bound as ``tf.clip_by_value`` uses it: converted to ``dtype`` (a float
    rounded to it; an integer tensor needs an integer bound, TensorFlow refuses a
    float there).  A 0-d array or constant tensor (``ops.sqrt(keras.config.epsilon())``)
    is its number."""
    if not isinstance(value, (bool, int, float, np.generic)) and \
            not hasattr(value, "_keras_history"):
        try:
            arr = np.asarray(value)
        except Exception:  # noqa: BLE001 - not a constant: refused below
            arr = None
        if arr is not None and arr.ndim == 0 and arr.dtype.kind in "iuf":
            value = arr[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.generic)) \
            or (isinstance(value, np.generic) and value.dtype.kind not in "iuf"):
        ctx.refuse(f"clip {what}={value!r}; only a number is supported")
    if dtype.is_float:
        return float(np.asarray(value).astype(dtype.to_numpy()))
    if not float(value).is_integer():
        ctx.refuse(f"clip {what}={value!r} on a {dtype.value} tensor (TensorFlow refuses a "
                   f"fractional bound for an integer tensor)")
    if int(float(value)) != int(value):
        ctx.refuse(f"clip {what}={value!r} is not exactly representable")
    return float(int(value))


@lowers(knp.Clip)
def _clip(ctx: LayerContext) -> Lowered:
    """``keras.ops.clip(x, a, b)`` -> ``clip(x) {min=a, max=b}``, the bounds numbers
    converted to ``x``'s dtype (a bool ``x`` cast to int32 first, as Keras does)."""
    x = _tensor(ctx)
    if x.type.dtype == DType.BOOL:  # backend.numpy.clip: tf.cast(x, "int32") first
        x = _as(ctx, x, DType.INT32)
    dtype = x.type.dtype
    attrs = {"min": _bound(ctx, ctx.layer.x_min, dtype, "min"),
             "max": _bound(ctx, ctx.layer.x_max, dtype, "max")}
    _check(ctx, "clip", [x.type], attrs)
    return ctx.lowered("clip", [x.name], attrs)


_EXTREMA = {knp.Maximum: ("maximum", "min"), knp.Minimum: ("minimum", "max")}


@lowers(*_EXTREMA)
def _extremum(ctx: LayerContext) -> Lowered:
    """``keras.ops.maximum`` / ``minimum``: of two tensors, or of a tensor and a constant
    array (a weight ``<operation>/constant``) -> ``maximum`` / ``minimum`` (in Keras'
    result dtype, a promoted tensor cast first; of bools ``logical_or`` /
    ``logical_and``, their values on {False, True}); of a tensor and a number
    ``c`` -> ``clip(x) {min=c}`` / ``{max=c}`` (``tf.maximum(x, c)`` is
    ``tf.clip_by_value(x, c, inf)``, NaN included)."""
    op, bound = _EXTREMA[type(ctx.layer)]
    operands = ctx.operands()
    dtype = _result_dtype(ctx)
    tensors = [v for v in operands if isinstance(v, Operand)]
    if len(operands) == 2 and len(tensors) == 1 and np.ndim(
            operands[1] if operands[0] is tensors[0] else operands[0]) == 0:
        x = tensors[0]
        c = operands[1] if operands[0] is x else operands[0]
        x = _as(ctx, x, dtype)
        attrs = {"min": None, "max": None}
        attrs[bound] = _bound(ctx, c, dtype, bound)
        _check(ctx, "clip", [x.type], attrs)
        return ctx.lowered("clip", [x.name], attrs)
    names = _binary_operands(ctx, dtype)
    if dtype == DType.BOOL:  # tf.minimum / maximum of bools: logical and / or
        op = "logical_and" if op == "minimum" else "logical_or"
    _check(ctx, op, [TensorType(dtype, ()), TensorType(dtype, ())])
    return ctx.lowered(op, names)


# --------------------------------------------------------------------------- activations

#: keras.ops operation class -> the ``activation`` function computing exactly what it
#: does (``keras.activations.<name>`` calls the same ``keras.ops`` function)
_ACTIVATIONS = {knn.Relu: "relu", knn.Relu6: "relu6", knn.Sigmoid: "sigmoid",
                knp.Tanh: "tanh", knn.Softplus: "softplus", knn.Softsign: "softsign",
                knn.Silu: "silu", knn.HardSigmoid: "hard_sigmoid", knn.HardSilu: "hard_silu",
                knn.Selu: "selu", knn.LogSigmoid: "log_sigmoid", knn.HardTanh: "hard_tanh",
                knn.TanhShrink: "tanh_shrink", knn.Gelu: "gelu", knn.Celu: "celu"}


@lowers(*_ACTIVATIONS)
def _activation_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.relu(x)``, ``sigmoid``, ``silu``, ``gelu``... -> ``activation(x)
    {function}`` on a float tensor (``keras.ops.tanh`` casts an integer input to float
    first, as Keras does); ``gelu(approximate=True)`` (Keras' default for
    ``keras.ops.gelu``) is the function ``gelu_approximate``.  Refused: ``celu`` with
    ``alpha != 1``."""
    kind = type(ctx.layer)
    x = _tensor(ctx)
    if kind is knn.Celu and float(ctx.layer.alpha) != 1.0:
        ctx.refuse(f"celu(alpha={ctx.layer.alpha!r}); only alpha=1 is supported")
    if kind is knp.Tanh:
        out = _result_dtype(ctx)
        if out.is_float and not x.type.dtype.is_float:
            x = _as(ctx, x, out)
    attrs = {"function": _ACTIVATIONS[kind]}
    if kind is knn.Gelu and ctx.layer.approximate:
        attrs["function"] = "gelu_approximate"
    _check(ctx, "activation", [x.type], attrs)
    return ctx.lowered("activation", [x.name], attrs)


@lowers(knn.Elu)
def _elu_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.elu(x, alpha)`` -> ``elu(x) {alpha}`` (the Keras ELU layer calls it)."""
    x = _tensor(ctx)
    attrs = {"alpha": float(ctx.layer.alpha)}
    _check(ctx, "elu", [x.type], attrs)
    return ctx.lowered("elu", [x.name], attrs)


@lowers(knn.LeakyRelu)
def _leaky_relu_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.leaky_relu(x, negative_slope)`` -> ``leaky_relu(x) {negative_slope}``."""
    x = _tensor(ctx)
    attrs = {"negative_slope": float(ctx.layer.negative_slope)}
    _check(ctx, "leaky_relu", [x.type], attrs)
    return ctx.lowered("leaky_relu", [x.name], attrs)


def _one_axis(ctx: LayerContext, axis: Any, rank: int) -> int:
    """``axis`` (an int or a one-element list) normalized to ``[0, rank)``."""
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            ctx.refuse(f"axis={axis!r}; only a single axis is supported")
        axis = axis[0]
    if axis is None or isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        ctx.refuse(f"axis={axis!r}; only a single integer axis is supported")
    if not -rank <= int(axis) < rank:
        ctx.refuse(f"axis={axis} is out of range for rank {rank}")
    return int(axis) % rank


@lowers(knn.Softmax)
def _softmax_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.softmax(x, axis)`` -> ``softmax(x) {axis}`` (axis normalized to
    non-negative; ``axis=None``, a softmax over all axes, refused)."""
    x = _tensor(ctx)
    attrs = {"axis": _one_axis(ctx, ctx.layer.axis, x.type.rank)}
    _check(ctx, "softmax", [x.type], attrs)
    return ctx.lowered("softmax", [x.name], attrs)


@lowers(knn.LogSoftmax)
def _log_softmax_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.log_softmax(x, axis)`` over the last axis -> ``activation(x)
    {function="log_softmax"}``; another axis is refused (no op)."""
    x = _tensor(ctx)
    axis = _one_axis(ctx, ctx.layer.axis, x.type.rank)
    if axis != x.type.rank - 1:
        ctx.refuse(f"log_softmax over axis {ctx.layer.axis!r} of a rank-{x.type.rank} tensor; "
                   f"only the last axis is supported")
    attrs = {"function": "log_softmax"}
    _check(ctx, "activation", [x.type], attrs)
    return ctx.lowered("activation", [x.name], attrs)


@lowers(kcore.ConvertToTensor)
def _convert_to_tensor(ctx: LayerContext) -> Lowered:
    """``keras.ops.convert_to_tensor(x, dtype)`` of a symbolic tensor (what
    ``Functional.call`` records when a subclass calls it, and keras_hub layers use):
    ``identity`` when the dtype is kept, ``cast`` otherwise."""
    operands = ctx.operands()
    if len(operands) != 1 or not isinstance(operands[0], Operand):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected one tensor")
    if ctx.layer.sparse or ctx.layer.ragged:
        ctx.refuse("a conversion to a sparse or ragged tensor")
    x = operands[0]
    if ctx.layer.dtype is None:
        return ctx.lowered("identity", [x.name])
    try:
        to = DType.from_any(ctx.layer.dtype)
    except (TypeError, ValueError):
        ctx.refuse(f"a conversion to {ctx.layer.dtype!r}, which is not an IR dtype")
    if to == x.type.dtype:
        return ctx.lowered("identity", [x.name])
    return ctx.lowered("cast", [x.name], {"to": to.value})
