"""Keras builders of the comparison and logic ops (:mod:`graphir.ops.logic`),
registered with :func:`~graphir.backends.keras.registry.builds`.

Keras has no layer for these; each builder returns the ``keras.ops`` operation object
(``keras.src.ops.numpy``), which the emitter calls on the node's inputs, named
``c.name``:

* ``equal`` / ``not_equal`` / ``less`` / ``less_equal`` / ``greater`` /
  ``greater_equal`` -> ``Equal`` / ``NotEqual`` / ``Less`` / ``LessEqual`` /
  ``Greater`` / ``GreaterEqual`` (``tf.equal``... with NumPy broadcasting; both
  operands already have one dtype in the IR, so Keras' ``result_type`` promotes
  nothing);
* ``logical_and`` / ``logical_or`` / ``logical_xor`` / ``logical_not`` ->
  ``LogicalAnd`` / ``LogicalOr`` / ``LogicalXor`` / ``LogicalNot`` (bool operands, so
  Keras' cast to bool changes nothing);
* ``where`` -> ``Where`` (``tf.where(condition, x, y)``, three arguments).

An operand that is a graph weight (a constant) is passed as a NumPy array, which Keras
stores in the model's config (``constant_inputs=True``; the emitter bounds its size).
Keras writes a rank-0 array there as a plain Python number, which a reloaded model
converts again by Keras' rules; see the ``where`` entry of ``specs/ops-logic.md`` for
the one case where that changes a result's dtype (both branches rank-0 constants).

None has variables.
"""

from __future__ import annotations

from keras.src.ops import numpy as knp

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__: list[str] = []


@builds("equal", constant_inputs=True)
def _equal(c: BuildContext) -> Built:
    """``keras.ops.equal(x, y)`` as an ``Equal`` operation named ``c.name``."""
    return knp.Equal(name=c.name), []


@builds("not_equal", constant_inputs=True)
def _not_equal(c: BuildContext) -> Built:
    """``keras.ops.not_equal(x, y)`` as a ``NotEqual`` operation named ``c.name``."""
    return knp.NotEqual(name=c.name), []


@builds("less", constant_inputs=True)
def _less(c: BuildContext) -> Built:
    """``keras.ops.less(x, y)`` as a ``Less`` operation named ``c.name``."""
    return knp.Less(name=c.name), []


@builds("less_equal", constant_inputs=True)
def _less_equal(c: BuildContext) -> Built:
    """``keras.ops.less_equal(x, y)`` as a ``LessEqual`` operation named ``c.name``."""
    return knp.LessEqual(name=c.name), []


@builds("greater", constant_inputs=True)
def _greater(c: BuildContext) -> Built:
    """``keras.ops.greater(x, y)`` as a ``Greater`` operation named ``c.name``."""
    return knp.Greater(name=c.name), []


@builds("greater_equal", constant_inputs=True)
def _greater_equal(c: BuildContext) -> Built:
    """``keras.ops.greater_equal(x, y)`` as a ``GreaterEqual`` operation named ``c.name``."""
    return knp.GreaterEqual(name=c.name), []


@builds("logical_and", constant_inputs=True)
def _logical_and(c: BuildContext) -> Built:
    """``keras.ops.logical_and(x, y)`` as a ``LogicalAnd`` operation named ``c.name``."""
    return knp.LogicalAnd(name=c.name), []


@builds("logical_or", constant_inputs=True)
def _logical_or(c: BuildContext) -> Built:
    """``keras.ops.logical_or(x, y)`` as a ``LogicalOr`` operation named ``c.name``."""
    return knp.LogicalOr(name=c.name), []


@builds("logical_xor", constant_inputs=True)
def _logical_xor(c: BuildContext) -> Built:
    """``keras.ops.logical_xor(x, y)`` as a ``LogicalXor`` operation named ``c.name``."""
    return knp.LogicalXor(name=c.name), []


@builds("logical_not")
def _logical_not(c: BuildContext) -> Built:
    """``keras.ops.logical_not(x)`` as a ``LogicalNot`` operation named ``c.name``."""
    return knp.LogicalNot(name=c.name), []


@builds("where", constant_inputs=True)
def _where(c: BuildContext) -> Built:
    """``keras.ops.where(condition, x, y)`` as a ``Where`` operation named ``c.name``."""
    return knp.Where(name=c.name), []
