"""Keras builders of the primitive arithmetic ops (:mod:`graphir.ops.arithmetic`),
registered with :func:`~graphir.backends.keras.registry.builds`.

Keras has no layer for these; a functional model records ``keras.ops`` operations as
nodes of its graph like layers (named, serialized in the model config, loaded back
with ``safe_mode=True``), so each builder returns the ``keras.ops`` operation object,
which the emitter calls on the node's data inputs:

* ``divide`` -> ``keras.src.ops.numpy.Divide`` (``keras.ops.divide``: ``tf.math.divide``,
  NumPy broadcasting, the inputs' float dtype); an operand that is a graph weight (a
  constant) is passed as a constant tensor, which Keras stores with its dtype in the config
  (``constant_inputs=True``; the emitter bounds its size, ``MAX_CONSTANT_ELEMENTS``);
* ``cast`` -> ``keras.src.ops.core.Cast(dtype=to)`` (``keras.ops.cast``: ``tf.cast``,
  float -> int truncates toward zero, nonzero -> True);
* the unary ops -> ``keras.ops.negative``, ``reciprocal``, ``absolute``, ``sign``,
  ``square``, ``sqrt``, ``rsqrt``, ``exp``, ``log``, ``log1p``, ``erf``, ``sin``,
  ``cos``, ``floor``, ``ceil``, ``round(x, 0)`` (``keras.src.ops.numpy`` and
  ``keras.src.ops.math`` operations: the same TensorFlow kernels the lowering read);
* ``floor_divide``, ``mod``, ``power`` -> ``keras.ops.floor_divide`` / ``mod`` /
  ``power`` (``constant_inputs=True``, like ``divide``);
* ``clip`` -> ``keras.ops.clip(x, min, max)`` with Python-number bounds.

None has variables.
"""

from __future__ import annotations

import math

import numpy as np
from keras.src.ops import core as kcore
from keras.src.ops import math as kmath
from keras.src.ops import numpy as knp

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__: list[str] = []


@builds("divide", constant_inputs=True)
def _divide(c: BuildContext) -> Built:
    """``keras.ops.divide(x, y)`` as a ``Divide`` operation named ``c.name``."""
    return knp.Divide(name=c.name), []


@builds("cast")
def _cast(c: BuildContext) -> Built:
    """``keras.ops.cast(x, to)`` as a ``Cast`` operation named ``c.name``."""
    return kcore.Cast(dtype=c.attrs["to"], name=c.name), []


#: IR op -> the ``keras.ops`` operation class computing it (no constructor arguments)
_PLAIN = {"negative": knp.Negative, "reciprocal": knp.Reciprocal, "abs": knp.Absolute,
          "sign": knp.Sign, "square": knp.Square, "sqrt": knp.Sqrt, "rsqrt": kmath.Rsqrt,
          "exp": knp.Exp, "log": knp.Log, "log1p": knp.Log1p, "erf": kmath.Erf,
          "sin": knp.Sin, "cos": knp.Cos, "floor": knp.Floor, "ceil": knp.Ceil,
          "tan": knp.Tan, "arcsin": knp.Arcsin, "arccos": knp.Arccos, "arctan": knp.Arctan,
          "sinh": knp.Sinh, "cosh": knp.Cosh, "arcsinh": knp.Arcsinh, "arccosh": knp.Arccosh,
          "arctanh": knp.Arctanh}


@builds(*_PLAIN)
def _unary(c: BuildContext) -> Built:
    """The ``keras.ops`` operation of the op (``keras.ops.negative``, ``keras.ops.sqrt``...)
    named ``c.name``."""
    return _PLAIN[c.node.op](name=c.name), []


@builds("round")
def _round(c: BuildContext) -> Built:
    """``keras.ops.round(x, 0)`` (``tf.round``: half to even; integers unchanged)."""
    return knp.Round(decimals=0, name=c.name), []


_BINARY = {"floor_divide": knp.FloorDivide, "mod": knp.Mod, "power": knp.Power}


@builds(*_BINARY, constant_inputs=True)
def _binary(c: BuildContext) -> Built:
    """``keras.ops.floor_divide`` / ``mod`` / ``power`` on the two operands (a weight
    operand passed as a constant tensor of its dtype)."""
    return _BINARY[c.node.op](name=c.name), []


@builds("clip")
def _clip(c: BuildContext) -> Built:
    """``keras.ops.clip(x, min, max)`` (``tf.clip_by_value``: ``max(min(x, max), min)``).

    A bound that is None becomes one that clips nothing: ``-inf`` / ``+inf`` for
    floats (``min(x, inf)`` is ``x``, NaN included), the dtype's own limit for
    integers; integer bounds are passed as Python ints (TensorFlow converts a bound to
    ``x``'s dtype and refuses a float for an integer tensor).
    """
    dtype = c.data_types[0].dtype
    lo, hi = c.attrs["min"], c.attrs["max"]
    if dtype.is_float:
        lo = -math.inf if lo is None else float(lo)
        hi = math.inf if hi is None else float(hi)
    else:
        info = np.iinfo(dtype.to_numpy())
        lo = int(info.min) if lo is None else int(lo)
        hi = int(info.max) if hi is None else int(hi)
    return knp.Clip(lo, hi, name=c.name), []
