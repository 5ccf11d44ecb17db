"""Keras layer builders of the recurrent ops, registered with
:func:`~graphir.backends.keras.registry.builds`.

The inverse of :mod:`.recurrent_converters`: ``lstm`` / ``gru`` / ``simple_rnn`` nodes
become ``keras.layers.LSTM`` / ``GRU`` / ``SimpleRNN`` (``go_backwards=True`` for
``direction="backward"``), and ``direction="bidirectional"`` becomes
``keras.layers.Bidirectional(<layer>, merge_mode=...)``, whose default backward layer
is the same configuration with ``go_backwards=True``
(``keras/src/layers/rnn/bidirectional.py``).  Weights are listed in the order of the
layer's ``weights``: ``kernel, recurrent_kernel, bias`` (``bias`` only with
``use_bias``), forward layer then backward layer for ``Bidirectional``.
"""

from __future__ import annotations

from typing import Any

import keras

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__: list[str] = []

_CLASSES = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
            "simple_rnn": keras.layers.SimpleRNN}


def _rnn_layer(c: BuildContext, *, go_backwards: bool, name: str) -> Any:
    a = c.attrs
    kw: dict[str, Any] = dict(units=a["units"], activation=a["activation"],
                              use_bias=c.w(3) is not None,
                              return_sequences=a["return_sequences"], go_backwards=go_backwards,
                              name=name)
    if c.node.op in ("lstm", "gru"):
        kw["recurrent_activation"] = a["recurrent_activation"]
    if c.node.op == "gru":
        kw["reset_after"] = a["reset_after"]
    if c.dtype is not None:
        kw["dtype"] = c.dtype
    return _CLASSES[c.node.op](**kw)


def _present(*arrays):
    return [a for a in arrays if a is not None]


@builds("lstm", "gru", "simple_rnn")
def _build(c: BuildContext) -> Built:
    """The layer of an ``lstm`` / ``gru`` / ``simple_rnn`` node and its weight arrays.

    Returns:
        ``(layer, [kernel, recurrent_kernel, bias?] (+ the backward ones))``.
    """
    direction = c.attrs["direction"]
    forward = _present(c.w(1), c.w(2), c.w(3))
    if direction != "bidirectional":
        return _rnn_layer(c, go_backwards=direction == "backward", name=c.name), forward
    inner = _rnn_layer(c, go_backwards=False, name=c.name)
    layer = keras.layers.Bidirectional(inner, **c.kw(merge_mode=c.attrs["merge_mode"]))
    return layer, forward + _present(c.w(4), c.w(5), c.w(6))
