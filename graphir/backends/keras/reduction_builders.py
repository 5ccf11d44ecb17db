"""Keras builders of the primitive reductions and linear algebra
(:mod:`graphir.ops.reduction`), registered with
:func:`~graphir.backends.keras.registry.builds`.

Each returns the ``keras.ops`` operation object (``keras.src.ops.numpy``), named
``c.name``, which the emitter calls on the node's inputs; none has variables:

* ``sum`` / ``mean`` / ``max`` / ``min`` / ``prod`` -> ``Sum`` / ``Mean`` / ``Max`` /
  ``Min`` / ``Prod(axis=list(axes), keepdims=...)`` (an empty list reduces nothing in
  TensorFlow, as in the IR).  On the IR's dtypes these keep the input dtype
  (``Sum``/``Prod`` promote only bool and 8/16-bit integers, which the IR refuses;
  ``Mean`` computes float16 in float32 and rounds back, as the IR's reference does up
  to that single rounding);
* ``var`` / ``std`` -> ``Var`` / ``Std(axis=..., keepdims=...)`` (float inputs; Keras
  computes a float16 ``var`` in float32 and rounds once);
* ``argmax`` / ``argmin`` -> ``Argmax`` / ``Argmin(axis=..., keepdims=...)`` (int32, first
  index on ties).  On float inputs Keras always compares -0.0 as minus float32's
  smallest normal (float64: float64's), so only that ``negative_zero_as`` is built;
  any other value is refused;
* ``cumsum`` -> ``Cumsum(axis)``; ``top_k`` -> one ``math.TopK(k, sorted=True)`` call
  per input and ``k``, each node taking its output (``output_group``);
* ``matmul`` -> ``Matmul()``, ``einsum`` -> ``Einsum(subscripts=equation)``; an operand
  that is a graph weight is passed as a constant tensor (``constant_inputs=True``),
  which Keras stores inline in the model config, so the emitter refuses one larger
  than ``MAX_CONSTANT_ELEMENTS``.  Integer ``matmul`` is refused: Keras computes it in
  float32 (``keras.ops.matmul`` on TensorFlow), which is not the IR's exact integer
  product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras.src.ops import math as kmath
from keras.src.ops import numpy as knp

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds
from graphir.ir import Node

__all__: list[str] = []

_REDUCTIONS = {"sum": knp.Sum, "mean": knp.Mean, "max": knp.Max, "min": knp.Min,
               "prod": knp.Prod, "var": knp.Var, "std": knp.Std}


@builds(*_REDUCTIONS)
def _reduce(c: BuildContext) -> Built:
    """``keras.ops.<op>(x, axis=axes, keepdims=keepdims)`` as an operation named ``c.name``."""
    return _REDUCTIONS[c.node.op](axis=list(c.attrs["axes"]), keepdims=c.attrs["keepdims"],
                                  name=c.name), []


def keras_negative_zero(dtype: str) -> float:
    """The value Keras' ``argmax``/``argmin`` on TensorFlow compare a -0.0 of a ``dtype``
    tensor as: minus the smallest normal of ``result_type(dtype, float32)``."""
    return -float(np.finfo(np.float64 if dtype == "float64" else np.float32).tiny)


@builds("argmax", "argmin")
def _arg(c: BuildContext) -> Built:
    """``keras.ops.argmax`` / ``argmin(x, axis, keepdims)`` named ``c.name``."""
    (x,) = c.data_types
    nz = c.attrs["negative_zero_as"]
    if x.dtype.is_float and nz != keras_negative_zero(x.dtype.value):
        c.refuse(f"negative_zero_as={nz!r}: keras.ops.{c.node.op} on {x.dtype.value} compares "
                 f"-0.0 as {keras_negative_zero(x.dtype.value)!r}")
    cls = knp.Argmax if c.node.op == "argmax" else knp.Argmin
    return cls(axis=c.attrs["axis"], keepdims=c.attrs["keepdims"], name=c.name), []


@builds("matmul", constant_inputs=True)
def _matmul(c: BuildContext) -> Built:
    """``keras.ops.matmul(x, y)`` as a ``Matmul`` operation named ``c.name``."""
    dtype = c.node.output.type.dtype
    if not dtype.is_float:
        c.refuse(f"keras.ops.matmul computes {dtype.value} products in float32, not exactly")
    return knp.Matmul(name=c.name), []


@builds("cumsum")
def _cumsum(c: BuildContext) -> Built:
    """``keras.ops.cumsum(x, axis)`` as a ``Cumsum`` operation named ``c.name`` (the
    input's dtype: ``tf.math.cumsum``)."""
    return knp.Cumsum(axis=c.attrs["axis"], name=c.name), []


@builds("einsum", constant_inputs=True)
def _einsum(c: BuildContext) -> Built:
    """``keras.ops.einsum(equation, *operands)`` as an ``Einsum`` operation named ``c.name``."""
    return knp.Einsum(c.attrs["equation"], name=c.name), []


def _top_k_group(node: Node) -> tuple[Any, int]:
    """The ``top_k`` nodes of one call (same input and k): values output 0, indices 1."""
    return ("top_k", node.inputs[0], node.attrs["k"]), 0 if node.attrs["result"] == "values" else 1


@builds("top_k", output_group=_top_k_group)
def _top_k(c: BuildContext) -> Built:
    """``keras.ops.top_k(x, k, sorted=True)``."""
    return kmath.TopK(k=c.attrs["k"], sorted=True, name=c.name), []
