"""Keras layer builders of the sequence ops, registered with
:func:`~graphir.backends.keras.registry.builds`.

* ``repeat_vector`` -> ``keras.layers.RepeatVector(n)``, no weights.
* ``time_fold`` / ``time_unfold`` have no Keras layer of their own (Keras has no layer
  that folds the batch axis): :func:`graphir.backends.keras.emit.to_keras` emits a
  ``time_fold`` with its region (``time_fold -> single-input nodes -> time_unfold``)
  as ``keras.layers.TimeDistributed`` wrappers of the inner nodes' layers.  Their
  builders here only refuse; ``to_keras`` never calls them.
"""

from __future__ import annotations

import keras

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__: list[str] = []


@builds("repeat_vector")
def _repeat_vector(c: BuildContext) -> Built:
    """``keras.layers.RepeatVector(n)`` (``keras/src/layers/reshaping/repeat_vector.py``)."""
    return keras.layers.RepeatVector(**c.kw(n=c.attrs["n"])), []


@builds("time_fold", "time_unfold")
def _time_fold_or_unfold(c: BuildContext) -> Built:
    """Refuse: a fold/unfold is emitted only with its region, as TimeDistributed wrappers.

    Raises:
        UnsupportedOpError: always, naming the node.
    """
    c.refuse("Keras has no layer that folds the time axis into the batch axis; only a "
             "time_fold -> single-input nodes -> time_unfold region (a TimeDistributed) "
             "can be emitted, by to_keras")
