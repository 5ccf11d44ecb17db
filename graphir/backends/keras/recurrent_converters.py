"""Keras converters of the recurrent layers, registered with
:func:`~graphir.backends.keras.registry.lowers`.

``keras.layers.LSTM``, ``GRU`` and ``SimpleRNN`` lower to one ``lstm`` / ``gru`` /
``simple_rnn`` node (:mod:`graphir.ops.recurrent`), ``go_backwards=True`` to
``direction="backward"``; ``keras.layers.Bidirectional`` wrapping one of them lowers
to one node with ``direction="bidirectional"``, the forward layer's weights as
``kernel, recurrent_kernel, bias`` and the backward layer's as
``backward_kernel, backward_recurrent_kernel, backward_bias`` (Keras layout and gate
order, as stored).  Semantics checked against ``keras/src/layers/rnn/`` (``rnn.py``,
``lstm.py``, ``gru.py``, ``simple_rnn.py``, ``bidirectional.py``) of Keras 3.15.

Inference-irrelevant options are ignored: ``dropout`` and ``recurrent_dropout`` (no-ops
at ``training=False``), ``use_cudnn``, ``unroll``, ``implementation``, ``seed``,
``unit_forget_bias`` (an initializer), regularizers, constraints and initializers,
``zero_output_for_mask`` (only acts with a mask, which is refused).

Refused, with the option named: ``return_state=True`` (several outputs),
``stateful=True`` (state carried across calls), an ``activation`` or
``recurrent_activation`` outside :data:`graphir.ops.recurrent.RNN_ACTIVATIONS`; a call
with a ``mask`` or an ``initial_state`` (the walker refuses the keywords, and an
``initial_state`` passed positionally makes several input tensors);
``Bidirectional`` with ``merge_mode=None`` (two outputs), wrapping a layer other than
exactly ``LSTM``/``GRU``/``SimpleRNN``, a forward layer with ``go_backwards=True`` (a
custom ``backward_layer`` with ``go_backwards=False``), or a ``backward_layer`` whose
class, ``units``, activations, ``use_bias`` or ``reset_after`` differ from the forward
layer's, or a wrapped layer whose dtype policy is mixed or differs from the
input's dtype (Keras would cast).
"""

from __future__ import annotations

from typing import Any

import keras

from graphir.backends.keras.activations import activation_name
from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.registry import lowers
from graphir.ops.recurrent import RNN_ACTIVATIONS

__all__: list[str] = []

_OPS = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru", keras.layers.SimpleRNN: "simple_rnn"}


def _act(ctx: LayerContext, layer: Any, attr: str) -> str:
    name, reason = activation_name(getattr(layer, attr))
    if name is None:
        ctx.refuse(f"{attr}: {reason}")
    if name not in RNN_ACTIVATIONS:
        ctx.refuse(f"{attr}={name!r}; recurrent layers support {', '.join(RNN_ACTIVATIONS)} "
                   f"(the activations ONNX's LSTM/GRU/RNN express)")
    return name


def _check_rnn(ctx: LayerContext, layer: Any, who: str = "") -> None:
    """Refuse the options of an RNN layer ``layer`` that change what one call computes."""
    if getattr(layer, "return_state", False):
        ctx.refuse(f"{who}return_state=True; the op set returns one tensor per layer")
    if getattr(layer, "stateful", False):
        ctx.refuse(f"{who}stateful=True; the op set has no state carried across calls")


def _config(ctx: LayerContext, layer: Any, op: str) -> dict[str, Any]:
    """The attributes shared by both directions (activations, units, reset_after)."""
    attrs: dict[str, Any] = {"units": int(layer.units),
                             "activation": _act(ctx, layer, "activation")}
    if op in ("lstm", "gru"):
        attrs["recurrent_activation"] = _act(ctx, layer, "recurrent_activation")
    if op == "gru":
        attrs["reset_after"] = bool(layer.reset_after)
    return attrs


def _weights(ctx: LayerContext, layer: Any, prefix: str = "") -> list[str]:
    cell = layer.cell
    names = [ctx.weight(cell.kernel, name=f"{prefix}kernel"),
             ctx.weight(cell.recurrent_kernel, name=f"{prefix}recurrent_kernel")]
    names.append(ctx.weight(cell.bias, name=f"{prefix}bias") if cell.use_bias else "")
    return names


@lowers(*_OPS)
def _rnn(ctx: LayerContext) -> Lowered:
    """``LSTM`` / ``GRU`` / ``SimpleRNN`` -> one node; ``go_backwards`` -> ``backward``."""
    layer = ctx.layer
    op = _OPS[type(layer)]
    _check_rnn(ctx, layer)
    x = ctx.x
    attrs = _config(ctx, layer, op)
    attrs.update(return_sequences=bool(layer.return_sequences),
                 direction="backward" if layer.go_backwards else "forward", merge_mode="none")
    return ctx.lowered(op, [x] + _weights(ctx, layer), attrs)


@lowers(keras.layers.Bidirectional)
def _bidirectional(ctx: LayerContext) -> Lowered:
    """``Bidirectional(LSTM | GRU | SimpleRNN)`` -> one node with ``direction="bidirectional"``."""
    layer = ctx.layer
    fwd, bwd = layer.forward_layer, layer.backward_layer
    op = _OPS.get(type(fwd))
    if op is None:
        ctx.refuse(f"wraps a {type(fwd).__name__}; supported: LSTM, GRU, SimpleRNN")
    if type(bwd) is not type(fwd):
        ctx.refuse(f"backward_layer is a {type(bwd).__name__}, the forward layer a "
                   f"{type(fwd).__name__}")
    if layer.merge_mode is None:
        ctx.refuse("merge_mode=None; it returns two tensors, the op set one")
    _check_rnn(ctx, layer)
    _check_rnn(ctx, fwd, "forward layer: ")
    _check_rnn(ctx, bwd, "backward layer: ")
    for who, sub in (("forward", fwd), ("backward", bwd)):
        policy = sub.dtype_policy
        if (policy.compute_dtype != policy.variable_dtype
                or policy.compute_dtype != ctx.x_type.dtype.value):
            ctx.refuse(f"{who} layer dtype policy {policy.name!r} on a "
                       f"{ctx.x_type.dtype.value} input; Keras would cast, the op set has "
                       f"no cast")
    if fwd.go_backwards or not bwd.go_backwards:
        ctx.refuse("forward layer go_backwards=True (a backward_layer with "
                   "go_backwards=False); the op set processes the forward layer forwards")
    x = ctx.x
    attrs = _config(ctx, fwd, op)
    battrs = _config(ctx, bwd, op)
    for key in attrs:
        if attrs[key] != battrs[key]:
            ctx.refuse(f"backward_layer {key}={battrs[key]!r} differs from the forward "
                       f"layer's {attrs[key]!r}")
    if fwd.cell.use_bias != bwd.cell.use_bias:
        ctx.refuse(f"backward_layer use_bias={bwd.cell.use_bias} differs from the forward "
                   f"layer's {fwd.cell.use_bias}")
    attrs.update(return_sequences=bool(fwd.return_sequences), direction="bidirectional",
                 merge_mode=str(layer.merge_mode))
    inputs = ([x] + _weights(ctx, fwd, "forward/") + _weights(ctx, bwd, "backward/"))
    return ctx.lowered(op, inputs, attrs)
