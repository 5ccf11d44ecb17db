"""Keras converters of the sequence layers, registered with
:func:`~graphir.backends.keras.registry.lowers`.

* ``keras.layers.RepeatVector(n)`` -> ``repeat_vector {n}``
  (``keras/src/layers/reshaping/repeat_vector.py``).
* ``keras.layers.TimeDistributed(inner)`` -> ``<td>/fold = time_fold(x)``, then the
  node(s) of ``inner``'s own converter applied to the folded value (named
  ``<td>/<inner>``, its helpers ``<td>/<inner>/<suffix>``), then
  ``<td> = time_unfold(<td>/<inner>, x)``.

``TimeDistributed.call`` (``keras/src/layers/rnn/time_distributed.py``) transposes the
input to ``(T, N, ...)`` and calls ``inner.call`` on every ``x[:, t]`` (a Python loop
when ``T`` is static, ``vectorized_map`` otherwise), passing ``training`` (None when
not given) and a mask.  Every op of the op set treats axis 0 as a batch of
independent samples at inference, so the inner layer applied to the ``N * T`` folded
rows computes exactly the same values.  Its weights are named under the wrapper's
scope, ``<scope>/<td>/<inner>/<variable>`` (Keras' own variable path).
"""

from __future__ import annotations

import inspect

from typing import Any

import keras

from graphir import ops
from graphir.backends.keras.context import LayerContext, Lowered, layer_refusal
from graphir.backends.keras.registry import converter_for, lowers
from graphir.tensor_types import TensorType

__all__: list[str] = []


@lowers(keras.layers.RepeatVector, keeps_input_dtype=True)
def _repeat_vector(ctx: LayerContext) -> Lowered:
    """``RepeatVector(n)``: ``(N, D) -> (N, n, D)``; nothing to refuse (Keras checks
    ``n >= 1`` and the input rank)."""
    return ctx.lowered("repeat_vector", [ctx.x], {"n": int(ctx.layer.n)})


def _check_inner(ctx: LayerContext, inner: Any, in_type: TensorType) -> None:
    """Refuse what the walker refuses for a call (``lower.py``: ``check_call``), for the
    wrapped layer, which TimeDistributed calls directly (``inner.call``, no casting)."""
    what = f"the wrapped layer {inner.name!r} ({type(inner).__name__})"
    why = layer_refusal(inner)
    if why is not None:
        ctx.refuse(f"{what}: {why}")
    compute = getattr(inner, "compute_dtype", None)
    if in_type.dtype.is_float and compute and in_type.dtype.value != compute:
        ctx.refuse(f"{what} computes in {compute} but gets {in_type.dtype.value} time steps; "
                   f"the op set has no cast")


@lowers(keras.layers.TimeDistributed, keeps_input_dtype=True, accepted_call_kwargs={"mask"})
def _time_distributed(ctx: LayerContext) -> Lowered:
    """``TimeDistributed(inner)`` as ``time_fold``, ``inner``'s lowering, ``time_unfold``.
    A mask (given, or carried by the input: keras.io's masked LSTM -> TimeDistributed(Dense))
    changes nothing when ``inner``'s ``call`` takes none: ``TimeDistributed.call`` passes
    ``mask[i]`` only to a layer that has a ``mask`` argument (keras/src/layers/rnn/
    time_distributed.py); the output's mask is what Keras recorded.

    Raises:
        UnsupportedLayerError: (naming TimeDistributed) a mask reaches a wrapped layer
            that reads it; the wrapped layer is a model, a TimeDistributed, or a class without a
            converter, or is quantized / LoRA / mixed precision / of another float
            dtype than the input; (naming the inner layer, "wrapped in TimeDistributed
            ...") anything the inner layer's converter refuses.
    """
    td, inner = ctx.layer, ctx.layer.layer
    masked = ctx.call_kwargs.get("mask") is not None or any(
        getattr(a, "_keras_mask", None) is not None for a in ctx.call_args)
    if masked and ctx.call_kwargs.get("mask") is not None and len(ctx.inputs) == 2:
        x, xt = ctx.inputs[0], ctx.input_types[0]  # the recorded mask is the other tensor
    else:
        x, xt = ctx.x, ctx.x_type
    if masked and (not isinstance(inner, keras.layers.Layer) or
                   "mask" in inspect.signature(inner.call).parameters):
        ctx.refuse("a Keras mask reaches it, and the wrapped layer's call reads masks")
    if isinstance(inner, keras.Model):
        ctx.refuse(f"the wrapped layer {inner.name!r} is a model ({type(inner).__name__}); "
                   f"only single layers can be wrapped")
    if type(inner) is keras.layers.TimeDistributed:
        ctx.refuse(f"the wrapped layer {inner.name!r} is itself a TimeDistributed")
    convert = converter_for(inner) if isinstance(inner, keras.layers.Layer) else None
    if convert is None:
        ctx.refuse(f"the wrapped layer {inner.name!r} of class {type(inner).__name__} has no "
                   f"converter")
    if xt.rank < 3:
        ctx.refuse(f"input of rank {xt.rank}; TimeDistributed needs (batch, time, ...)")
    _check_inner(ctx, inner, xt)
    folded = ctx.helper("time_fold", [x], suffix="fold")
    (folded_type,) = ops.infer_types("time_fold", [xt], {})
    inner_ctx = ctx.nested(inner, [folded], [folded_type], name=f"{ctx.name}/{inner.name}",
                           refusal_context=f"wrapped in TimeDistributed {td.name!r}")
    lowered = convert(inner_ctx)
    ctx.helpers.extend(inner_ctx.helpers)
    inner_out = ctx.helper(lowered.op, lowered.inputs, lowered.attrs, suffix=inner.name)
    return ctx.lowered("time_unfold", [inner_out, x])
