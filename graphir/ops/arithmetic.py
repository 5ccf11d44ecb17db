"""Primitive arithmetic ops: the elementwise math of the primitive tier, with NumPy
semantics and no Keras or ONNX shape to them.

The primitive tier sits under the layer-level ops: it is what ``keras.ops`` calls
lower to and what a traced custom layer or an imported ONNX graph becomes.  Each op
is defined once here (schema, dtype rule, type rule, reference kernel, layout class)
and reached by name from every backend (``@emits`` in ``graphir.backends.onnx``,
``@builds``/``@lowers`` in ``graphir.backends.keras``).  Template for a new op: the
README's contributor section.  Every op here is elementwise: layout class ``ANY``.

Dtype rules (stated per op, checked by the type rule; "float" is float16/32/64,
"int" is int8/16/32/64 and uint8, "signed" leaves out uint8; bool is never accepted):

* ``divide``: two inputs of the same float dtype (an integer quotient is
  ``floor_divide``); the output has that dtype; shapes broadcast as NumPy.
* ``cast``: any dtype to any dtype (``to``).  Float to integer truncates toward zero
  (C semantics, as ``tf.cast``, ONNX ``Cast`` and NumPy ``astype``); to ``bool``,
  nonzero is true; float to a narrower float rounds to nearest even.
* float only (Keras casts integer inputs to float first; the lowering inserts that
  ``cast``): ``reciprocal``, ``sqrt``, ``rsqrt``, ``exp``, ``log``, ``log1p``,
  ``erf``, ``sin``, ``cos``, ``floor``, ``ceil``.
* float or signed: ``negative``.  Float or int: ``abs``, ``sign``, ``square``,
  ``round`` (the identity on integers).  Integer results wrap on overflow in
  TensorFlow, ONNX and NumPy alike.
* binary, two inputs of one dtype, NumPy broadcasting: ``floor_divide`` and ``mod``
  (float or int; an integer divisor of zero is an error in TensorFlow and in the
  reference kernel, undefined in ONNX), ``power`` (float, int32, int64; a negative
  integer exponent is an error in TensorFlow and NumPy).
* ``clip``: float or int, bounds as attributes (None: unbounded), integral for ints.
"""

from __future__ import annotations

import math

import numpy as np

from graphir.dtypes import DType
from graphir.ops.registry import AttrSpec, Layout, TypeRuleError, define_op
from graphir.ops.type_rules import broadcast_shapes, same_dtype
from graphir.tensor_types import TensorType

__all__ = ["divide", "cast", "floor_divide", "mod", "power", "clip"]


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


# --------------------------------------------------------------------------- dtype sets

_FLOATS = frozenset({DType.FLOAT16, DType.FLOAT32, DType.FLOAT64})
_SIGNED = frozenset({DType.INT8, DType.INT16, DType.INT32, DType.INT64})
_INTS = _SIGNED | {DType.UINT8}
#: dtype names in a fixed order, for messages
_ORDER = tuple(d for d in DType)


def _names(allowed: frozenset) -> str:
    return ", ".join(d.value for d in _ORDER if d in allowed)


def _require_dtypes(types, allowed: frozenset, hint: str | None = None) -> None:
    """Raise a TypeRuleError naming the first input whose dtype is not in ``allowed``."""
    for i, t in enumerate(types):
        if t is not None and t.dtype not in allowed:
            raise TypeRuleError(f"expects {_names(allowed)}, got {t.dtype.value} at input {i}",
                                input_index=i, expected=_names(allowed), actual=t.dtype.value,
                                hint=hint)


def _unary_rule(allowed: frozenset, hint: str | None = None):
    """A type rule: one input of a dtype in ``allowed``; the output has its type."""
    def rule(types, attrs):
        _require_dtypes(types, allowed, hint)
        return (types[0],)
    rule.__doc__ = f"One input of dtype {_names(allowed)}; the output has its type."
    return rule


def _binary_rule(allowed: frozenset, hint: str | None = None):
    """A type rule: two inputs of one dtype in ``allowed``; the broadcast shape."""
    def rule(types, attrs):
        same_dtype(types)
        _require_dtypes(types, allowed, hint)
        return (TensorType(types[0].dtype, broadcast_shapes([t.shape for t in types])),)
    rule.__doc__ = (f"Two inputs of one dtype of {_names(allowed)}, NumPy broadcasting; the "
                    f"output has that dtype.")
    return rule


_FLOAT_HINT = "cast the input to a float dtype first"


def _no_integer_zero_divisor(x, y, what: str) -> None:
    """Raise ValueError when ``y`` is an integer array holding a zero (TensorFlow's
    integer ``floordiv`` / ``floormod`` raise an error there)."""
    if not np.issubdtype(np.asarray(y).dtype, np.floating) and np.any(np.asarray(y) == 0):
        raise ValueError(f"integer {what} by zero (an error in TensorFlow)")


# --------------------------------------------------------------------------- unary

def _define_unary(name: str, allowed: frozenset, fn, doc: str, hint: str | None = None) -> None:
    """Register the elementwise one-input op ``name`` with kernel ``fn(x)``."""
    def kernel(inputs, attrs):
        with np.errstate(all="ignore"):
            return fn(inputs[0])
    kernel.__name__ = name
    kernel.__doc__ = f"``{name}(x)`` elementwise: {doc}."
    define_op(name, ("x",), infer=_unary_rule(allowed, hint), layout=Layout.ANY,
              doc=doc)(kernel)


def _erf(x):
    """``erf`` elementwise in float64 (``math.erf``, correctly rounded to double)."""
    return np.vectorize(math.erf, otypes=[np.float64])(x) if np.size(x) else np.asarray(
        x, np.float64)


def _round(x):
    """Round half to even (``tf.round``, ONNX ``Round``); integers unchanged."""
    return np.round(x) if np.issubdtype(np.asarray(x).dtype, np.floating) else x


_UNARY = (
    ("negative", _FLOATS | _SIGNED, np.negative,
     "-x (keras.ops.negative, ONNX Neg); signed integers wrap"),
    ("reciprocal", _FLOATS, lambda x: 1.0 / x,
     "1 / x (keras.ops.reciprocal, ONNX Reciprocal)"),
    ("abs", _FLOATS | _INTS, np.abs,
     "|x| (keras.ops.abs, ONNX Abs); abs(INT_MIN) wraps to INT_MIN"),
    ("sign", _FLOATS | _INTS, np.sign,
     "-1, 0 or 1 by the sign of x, NaN for NaN (keras.ops.sign, ONNX Sign)"),
    ("square", _FLOATS | _INTS, np.square,
     "x * x (keras.ops.square, ONNX Mul); integers wrap"),
    ("sqrt", _FLOATS, np.sqrt, "square root, NaN below 0 (keras.ops.sqrt, ONNX Sqrt)"),
    ("rsqrt", _FLOATS, lambda x: 1.0 / np.sqrt(x),
     "1 / sqrt(x) (keras.ops.rsqrt, ONNX Reciprocal of Sqrt)"),
    ("exp", _FLOATS, np.exp, "e ** x (keras.ops.exp, ONNX Exp)"),
    ("log", _FLOATS, np.log, "natural logarithm (keras.ops.log, ONNX Log)"),
    ("log1p", _FLOATS, np.log1p,
     "log(1 + x), accurate near 0 (keras.ops.log1p; ONNX: u = 1 + x, "
     "log(u) * x / (u - 1), x where u == 1 or x == +inf)"),
    ("erf", _FLOATS, _erf, "the error function (keras.ops.erf, ONNX Erf)"),
    ("sin", _FLOATS, np.sin, "sine, radians (keras.ops.sin, ONNX Sin)"),
    ("cos", _FLOATS, np.cos, "cosine, radians (keras.ops.cos, ONNX Cos)"),
    ("tan", _FLOATS, np.tan, "tangent, radians (keras.ops.tan, ONNX Tan)"),
    ("arcsin", _FLOATS, np.arcsin, "inverse sine, NaN outside [-1, 1] (keras.ops.arcsin, ONNX Asin)"),
    ("arccos", _FLOATS, np.arccos, "inverse cosine, NaN outside [-1, 1] (keras.ops.arccos, ONNX Acos)"),
    ("arctan", _FLOATS, np.arctan, "inverse tangent (keras.ops.arctan, ONNX Atan)"),
    ("sinh", _FLOATS, np.sinh, "hyperbolic sine (keras.ops.sinh, ONNX Sinh)"),
    ("cosh", _FLOATS, np.cosh, "hyperbolic cosine (keras.ops.cosh, ONNX Cosh)"),
    ("arcsinh", _FLOATS, np.arcsinh, "inverse hyperbolic sine (keras.ops.arcsinh, ONNX Asinh)"),
    ("arccosh", _FLOATS, np.arccosh, "inverse hyperbolic cosine, NaN below 1 (keras.ops.arccosh, ONNX Acosh)"),
    ("arctanh", _FLOATS, np.arctanh, "inverse hyperbolic tangent, NaN outside [-1, 1] (keras.ops.arctanh, ONNX Atanh)"),
    ("floor", _FLOATS, np.floor, "largest integer <= x, as a float (keras.ops.floor, ONNX Floor)"),
    ("ceil", _FLOATS, np.ceil, "smallest integer >= x, as a float (keras.ops.ceil, ONNX Ceil)"),
    ("round", _FLOATS | _INTS, _round,
     "nearest integer, ties to even; integers unchanged (keras.ops.round with decimals=0, "
     "ONNX Round)"),
)

for _name, _allowed, _fn, _doc in _UNARY:
    _define_unary(_name, _allowed, _fn, _doc,
                  hint=_FLOAT_HINT if _allowed == _FLOATS else None)


# --------------------------------------------------------------------------- binary

@define_op("floor_divide", ("x", "y"), infer=_binary_rule(_FLOATS | _INTS), layout=Layout.ANY,
           doc="floor(x / y) of two tensors of one numeric dtype, NumPy broadcasting "
               "(keras.ops.floor_divide, tf.math.floordiv)")
def floor_divide(inputs, attrs):
    """``floor(x / y)``: for floats the floor of the IEEE quotient (as ``tf.math.floordiv``:
    ``x / 0`` gives ``+-inf``, ``0 / 0`` NaN); for integers Python's floor division
    (the quotient rounded toward minus infinity).

    Raises:
        ValueError: an integer divisor is zero (TensorFlow raises an error there).
    """
    x, y = inputs
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        with np.errstate(all="ignore"):
            return np.floor(np.divide(x, y))
    _no_integer_zero_divisor(x, y, "floor_divide")
    return np.floor_divide(x, y)


@define_op("mod", ("x", "y"), infer=_binary_rule(_FLOATS | _INTS), layout=Layout.ANY,
           doc="x mod y with the sign of the divisor (Python/NumPy %), NumPy broadcasting "
               "(keras.ops.mod, tf.math.floormod)")
def mod(inputs, attrs):
    """The remainder of floor division, with the sign of ``y`` (``tf.math.floormod``).

    Floats: ``r = fmod(x, y)`` (exact), then ``r + y`` where ``r != 0`` and ``r`` and
    ``y`` differ in sign (TensorFlow's ``google_floor_fmod``; ``x mod 0`` is NaN).
    Integers: ``x - floor(x / y) * y``.

    Raises:
        ValueError: an integer divisor is zero (TensorFlow raises an error there).
    """
    x, y = inputs
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        with np.errstate(all="ignore"):
            r = np.fmod(x, y)
            return np.where((r != 0) & ((y < 0) != (r < 0)), r + y, r)
    _no_integer_zero_divisor(x, y, "mod")
    return np.mod(x, y)


@define_op("power", ("x", "y"), infer=_binary_rule(_FLOATS | {DType.INT32, DType.INT64}),
           layout=Layout.ANY,
           doc="x ** y of two tensors of one dtype (float, int32, int64), NumPy broadcasting "
               "(keras.ops.power, ONNX Pow)")
def power(inputs, attrs):
    """``x ** y`` elementwise (IEEE ``pow`` for floats: a negative base with a
    non-integer exponent gives NaN).

    Raises:
        ValueError: an integer exponent is negative (NumPy and TensorFlow both refuse).
    """
    x, y = inputs
    with np.errstate(all="ignore"):
        return np.power(x, y)


# --------------------------------------------------------------------------- clip

def _clip_rule(types, attrs):
    """``x`` numeric (no bool); ``min``/``max`` None (unbounded) or a number, not NaN,
    at least one given, ``min <= max``; for an integer ``x`` both integral and inside
    the dtype's range.  The output has ``x``'s type."""
    x = types[0]
    _require_dtypes(types, _FLOATS | _INTS)
    lo, hi = attrs["min"], attrs["max"]
    if lo is None and hi is None:
        raise TypeRuleError("clip needs at least one of min and max", expected="a bound",
                            actual="min=None, max=None", hint="use identity")
    for key, v in (("min", lo), ("max", hi)):
        if v is None:
            continue
        if math.isnan(v):
            raise TypeRuleError(f"clip {key} is NaN", expected="a number", actual="nan")
        if x.dtype.is_int:
            info = np.iinfo(x.dtype.to_numpy())
            if not (math.isfinite(v) and float(v).is_integer() and info.min <= v <= info.max):
                raise TypeRuleError(
                    f"clip {key}={v!r} is not a {x.dtype.value} value", input_index=0,
                    expected=f"an integer in [{info.min}, {info.max}]", actual=repr(v))
    if lo is not None and hi is not None and lo > hi:
        raise TypeRuleError(f"clip min={lo!r} > max={hi!r}", expected="min <= max",
                            actual=f"min={lo!r}, max={hi!r}",
                            hint="TensorFlow and ONNX disagree on an empty range")
    return (x,)


@define_op("clip", ("x",), {
    "min": AttrSpec("optional_float", doc="lower bound, None for none"),
    "max": AttrSpec("optional_float", doc="upper bound, None for none"),
}, infer=_clip_rule, layout=Layout.ANY,
    doc="min(max(x, min), max) with optional bounds (keras.ops.clip, ONNX Clip / Max / Min)")
def clip(inputs, attrs):
    """``maximum(minimum(x, max), min)`` as ``tf.clip_by_value`` (NaN stays NaN), a
    bound that is None left out; the bounds are taken as given (the lowering has
    already rounded them to ``x``'s dtype)."""
    x = inputs[0]
    lo, hi = attrs["min"], attrs["max"]
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        lo = None if lo is None else np.asarray(int(lo), np.asarray(x).dtype)
        hi = None if hi is None else np.asarray(int(hi), np.asarray(x).dtype)
    if hi is not None:
        x = np.minimum(x, hi)
    if lo is not None:
        x = np.maximum(x, lo)
    return x
