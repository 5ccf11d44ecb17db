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

The ``mask`` input is passed as the call's ``mask=``, the initial states as
``initial_state=[...]`` (forward then backward); ``return_state=true`` builds the layer
with ``return_state=True``, and the nodes of one call (same inputs and attributes but
``result``) share that one call, each taking its output by Keras' order
(:func:`graphir.ops.recurrent.keras_results`).
"""

from __future__ import annotations

from typing import Any

import keras

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds
from graphir.ir import Node
from graphir.ops.recurrent import MASK, keras_results, state_inputs

__all__: list[str] = []

_CLASSES = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
            "simple_rnn": keras.layers.SimpleRNN}


def _rnn_layer(c: BuildContext, *, go_backwards: bool, name: str) -> Any:
    a = c.attrs
    kw: dict[str, Any] = dict(units=a["units"], activation=a["activation"],
                              use_bias=c.w(3) is not None,
                              return_sequences=a["return_sequences"], go_backwards=go_backwards,
                              return_state=bool(a.get("return_state", False)),
                              zero_output_for_mask=bool(a.get("zero_output_for_mask", False)),
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


def _keywords() -> dict[int, str]:
    out = {MASK: "mask"}
    for op in ("lstm", "gru", "simple_rnn"):
        for index in state_inputs(op).values():
            out[index] = "initial_state"
    return out


def _output_group(node: Node) -> tuple[Any, int] | None:
    """The nodes of one ``return_state=True`` call: same op, inputs and attributes but
    ``result``; the index is the result's place in Keras' output list."""
    a = node.attrs
    if not a.get("return_state", False):
        return None
    key = (node.op, node.inputs, tuple(sorted((k, v) for k, v in a.items() if k != "result")))
    results = keras_results(node.op, a["direction"] == "bidirectional")
    return key, results.index(a.get("result", "output"))


@builds("lstm", "gru", "simple_rnn", keyword_inputs=_keywords(),
        list_keywords=("initial_state",), output_group=_output_group)
def _build(c: BuildContext) -> Built:
    """The layer of an ``lstm`` / ``gru`` / ``simple_rnn`` node and its weight arrays.

    Returns:
        ``(layer, [kernel, recurrent_kernel, bias?] (+ the backward ones))``.

    Raises:
        UnsupportedOpError: a bidirectional node with a mask whose
            ``zero_output_for_mask`` differs from ``return_sequences`` (``Bidirectional``
            forces them equal).
    """
    direction = c.attrs["direction"]
    forward = _present(c.w(1), c.w(2), c.w(3))
    if direction != "bidirectional":
        return _rnn_layer(c, go_backwards=direction == "backward", name=c.name), forward
    masked = len(c.node.inputs) > MASK and bool(c.node.inputs[MASK])
    if masked and (bool(c.attrs.get("zero_output_for_mask", False))
                   != bool(c.attrs["return_sequences"])):
        c.refuse("a masked bidirectional node with zero_output_for_mask != return_sequences; "
                 "keras.layers.Bidirectional sets zero_output_for_mask = return_sequences")
    inner = _rnn_layer(c, go_backwards=False, name=c.name)
    layer = keras.layers.Bidirectional(inner, **c.kw(merge_mode=c.attrs["merge_mode"]))
    return layer, forward + _present(c.w(4), c.w(5), c.w(6))


_CONV_LSTMS = {"conv_lstm1d": keras.layers.ConvLSTM1D, "conv_lstm2d": keras.layers.ConvLSTM2D,
               "conv_lstm3d": keras.layers.ConvLSTM3D}


def _conv_output_group(node: Node) -> tuple[Any, int] | None:
    """As :func:`_output_group`, for a ``conv_lstm{r}d`` call: outputs ``output, h, c``."""
    a = node.attrs
    if not a.get("return_state", False):
        return None
    key = (node.op, node.inputs, tuple(sorted((k, v) for k, v in a.items() if k != "result")))
    return key, ("output", "h", "c").index(a.get("result", "output"))


@builds(*_CONV_LSTMS, keyword_inputs={4: "initial_state", 5: "initial_state"},
        list_keywords=("initial_state",), output_group=_conv_output_group)
def _build_conv_lstm(c: BuildContext) -> Built:
    """``keras.layers.ConvLSTM{r}D(filters, kernel_size, strides, padding, dilation_rate,
    activation, recurrent_activation, use_bias, return_sequences, go_backwards,
    return_state)``, weights ``[kernel, recurrent_kernel, bias?]``; the initial states
    as the call's ``initial_state=[h, c]``."""
    a = c.attrs
    kernel = c.w(1)
    r = kernel.ndim - 2
    layer = _CONV_LSTMS[c.node.op](**c.kw(
        filters=a["filters"], kernel_size=tuple(kernel.shape[:r]), strides=a["strides"],
        padding=a["padding"], dilation_rate=a["dilations"], activation=a["activation"],
        recurrent_activation=a["recurrent_activation"], use_bias=c.w(3) is not None,
        return_sequences=a["return_sequences"], go_backwards=a["direction"] == "backward",
        return_state=bool(a.get("return_state", False))))
    return layer, _present(c.w(1), c.w(2), c.w(3))
