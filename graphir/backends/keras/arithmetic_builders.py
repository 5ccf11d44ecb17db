"""Keras builders of the primitive arithmetic ops (:mod:`graphir.ops.arithmetic`),
registered with :func:`~graphir.backends.keras.registry.builds`.

Keras has no layer for these; a functional model records ``keras.ops`` operations as
nodes of its graph like layers (named, serialized in the model config, loaded back
with ``safe_mode=True``), so each builder returns the ``keras.ops`` operation object,
which the emitter calls on the node's data inputs:

* ``divide`` -> ``keras.src.ops.numpy.Divide`` (``keras.ops.divide``: ``tf.math.divide``,
  NumPy broadcasting, the inputs' float dtype); an operand that is a graph weight (a
  constant) is passed as a NumPy array, which Keras stores in the config
  (``constant_inputs=True``; the emitter bounds its size, ``MAX_CONSTANT_ELEMENTS``);
* ``cast`` -> ``keras.src.ops.core.Cast(dtype=to)`` (``keras.ops.cast``: ``tf.cast``,
  float -> int truncates toward zero, nonzero -> True).

Neither has variables.
"""

from __future__ import annotations

from keras.src.ops import core as kcore
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
