"""Keras layer builders of the sequence ops; merged into the emitter's table
(:data:`graphir.backends.keras.emit.ALL_BUILDERS`).

* ``repeat_vector`` -> ``keras.layers.RepeatVector(n)``, no weights.
* ``time_fold`` / ``time_unfold`` have no Keras layer of their own (Keras has no layer
  that folds the batch axis): :func:`graphir.backends.keras.emit.to_keras` emits a
  ``time_fold`` with its region (``time_fold -> single-input nodes -> time_unfold``)
  as ``keras.layers.TimeDistributed`` wrappers of the inner nodes' layers.  Their
  builders here only refuse; ``to_keras`` never calls them.
"""

from __future__ import annotations

import keras

from graphir.backends.keras.layer_builders import Built, EmitContext

__all__ = ["BUILDERS"]


def _repeat_vector(c: EmitContext) -> Built:
    """``keras.layers.RepeatVector(n)`` (``keras/src/layers/reshaping/repeat_vector.py``)."""
    return keras.layers.RepeatVector(**c.kw(n=c.attrs["n"])), []


def _time_fold_or_unfold(c: EmitContext) -> Built:
    """Refuse: a fold/unfold is emitted only with its region, as TimeDistributed wrappers.

    Raises:
        UnsupportedOpError: always, naming the node.
    """
    c.refuse("Keras has no layer that folds the time axis into the batch axis; only a "
             "time_fold -> single-input nodes -> time_unfold region (a TimeDistributed) "
             "can be emitted, by to_keras")


#: IR op name -> builder ``(c: EmitContext) -> (layer, arrays)``
BUILDERS: dict = {
    "repeat_vector": _repeat_vector,
    "time_fold": _time_fold_or_unfold,
    "time_unfold": _time_fold_or_unfold,
}
