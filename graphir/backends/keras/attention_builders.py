"""Keras layer builders of the attention ops, registered with
:func:`~graphir.backends.keras.registry.builds`.

``multi_head_attention`` becomes ``keras.layers.MultiHeadAttention``, called as
``mha(query, value)`` or ``mha(query, value, key)`` (the node's data inputs in
order, which is ``MultiHeadAttention.call``'s positional order), with
``attention_mask=`` the node's input 11 when it has one.  A causal node
must be *called* with ``use_causal_mask=True`` (Keras keeps call arguments out of
the layer config, but the functional model's config records them, so the flag
survives saving): the emitter adds the keywords of :func:`call_kwargs` (registered as
the ops' ``call_kwargs``) to the call.  ``attention`` becomes ``keras.layers.Attention``
or ``AdditiveAttention``, called on the list ``[query, value(, key)]``
(``list_input=True``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds
from graphir.ir import Node

__all__ = ["call_kwargs"]


def call_kwargs(node: Node) -> dict[str, Any]:
    """The keyword arguments a Keras call of ``node``'s layer needs beyond its data
    inputs: ``{"use_causal_mask": True}`` for a causal ``multi_head_attention`` or
    ``attention``, else ``{}``."""
    if node.op in ("multi_head_attention", "attention") and node.attrs["causal"]:
        return {"use_causal_mask": True}
    return {}


@builds("multi_head_attention", call_kwargs=call_kwargs, keyword_inputs={11: "attention_mask"})
def _multi_head_attention(c: BuildContext) -> Built:
    """``keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim, use_bias,
    output_shape=output_kernel.shape[2:])``, weights in ``layer.weights`` order: query
    kernel and bias, key kernel and bias, value kernel and bias, output kernel and
    bias.  Keras has one ``use_bias`` for all four projections: when only some biases
    are present, the others are written as zeros (adding 0 is exact).  Dropout is the
    node's ``dropout`` (0 when absent): the identity at inference, but a rate > 0 keeps
    Keras on the softmax path the original layer took (zero rows where every key is
    masked)."""
    a = c.attrs
    kernels = [c.w(i) for i in (3, 5, 7, 9)]
    biases = [c.w(i) for i in (4, 6, 8, 10)]
    bias_shapes = [k.shape[1:] if i < 3 else k.shape[2:] for i, k in enumerate(kernels)]
    use_bias = any(b is not None for b in biases)
    arrays: list[np.ndarray] = []
    for kernel, bias, shape in zip(kernels, biases, bias_shapes):
        arrays.append(kernel)
        if use_bias:
            arrays.append(bias if bias is not None else np.zeros(shape, kernel.dtype))
    layer = keras.layers.MultiHeadAttention(**c.kw(
        num_heads=a["num_heads"], key_dim=a["key_dim"], value_dim=a["value_dim"],
        use_bias=use_bias, output_shape=tuple(int(d) for d in kernels[3].shape[2:]),
        dropout=float(a.get("dropout", 0.0))))
    return layer, arrays


@builds("attention", call_kwargs=call_kwargs, list_input=True)
def _attention(c: BuildContext) -> Built:
    """``keras.layers.Attention(use_scale, score_mode)`` (dot, concat) or
    ``keras.layers.AdditiveAttention(use_scale)`` (additive), called on the list
    ``[query, value(, key)]``; weights ``[scale,
    concat_score_weight]`` (those present, Keras' ``build`` order).  Dropout is 0."""
    mode = c.attrs["score_mode"]
    scale, csw = c.w(3), c.w(4)
    if mode == "additive":
        layer = keras.layers.AdditiveAttention(**c.kw(use_scale=scale is not None))
    else:
        layer = keras.layers.Attention(**c.kw(use_scale=scale is not None, score_mode=mode))
    arrays = [a for a in (scale, csw) if a is not None]
    return layer, arrays
