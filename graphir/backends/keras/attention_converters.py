"""Keras converters of the attention layers, registered with
:func:`~graphir.backends.keras.registry.lowers`.

``keras.layers.Attention`` and ``keras.layers.AdditiveAttention`` lower to one
``attention`` node (:func:`_attention`).

``keras.layers.MultiHeadAttention`` lowers to one ``multi_head_attention`` node
(``specs/ops-attention.md``).  Its call arguments arrive partly as keywords
(``mha(query=q, value=v, key=k, use_causal_mask=True)``), which the walker lets
through for the names registered as its ``accepted_call_kwargs``; the converter binds positional and
keyword arguments to ``MultiHeadAttention.call``'s signature
(``keras/src/layers/attention/multi_head_attention.py``) and refuses what the op
cannot compute exactly (masks, attention scores as a second output, gating,
sliding windows, attention over several axes).
"""

from __future__ import annotations

from typing import Any

import keras

from graphir.backends.keras.context import LayerContext, Lowered, Operand, layer_refusal
from graphir.backends.keras.registry import lowers, lowers_named
from graphir.dtypes import DType

__all__ = ["MHA_CALL_ARGUMENTS"]

#: ``MultiHeadAttention.call``'s parameters, in positional order (Keras 3.15)
MHA_CALL_ARGUMENTS = ("query", "value", "key", "query_mask", "value_mask", "key_mask",
                      "attention_mask", "return_attention_scores", "training",
                      "use_causal_mask")
_MASKS = ("query_mask", "value_mask", "key_mask", "attention_mask")
#: the call keywords ``Attention`` / ``AdditiveAttention`` converters read
_ATTENTION_KWARGS = frozenset({"mask", "return_attention_scores", "use_causal_mask"})


#: keras_hub's MultiHeadAttention subclass with a key/value cache, and its call's
#: positional order (``cached_multi_head_attention.py``)
CACHED_MHA = "keras_hub.src.layers.modeling.cached_multi_head_attention.CachedMultiHeadAttention"
#: the keyword under which the walker passes the Keras mask a MultiHeadAttention's query
#: tensor carries (not a parameter of ``call``: Keras reads it from the tensor)
QUERY_KERAS_MASK = "query_keras_mask"

CACHED_MHA_CALL_ARGUMENTS = ("query", "value", "key", "attention_mask", "cache",
                             "cache_update_index", "return_attention_scores", "training")


def _bind_call(ctx: LayerContext, order: tuple[str, ...] = MHA_CALL_ARGUMENTS
               ) -> dict[str, Any]:
    """The call's arguments by parameter name: positional ones (tensors as
    :class:`Operand` s) then keywords (``ctx.call_kwargs``, tensors already Operands).

    Raises:
        UnsupportedLayerError: more positional arguments than ``call`` has, or a
            parameter given twice.
    """
    positional = ctx.operands()
    if len(positional) > len(order):
        ctx.refuse(f"called with {len(positional)} positional arguments")
    bound = dict(zip(order, positional))
    for name, value in ctx.call_kwargs.items():
        if name in bound:
            ctx.refuse(f"argument {name!r} given twice")
        bound[name] = value
    return bound


def _check_sublayer(ctx: LayerContext, sub: Any) -> None:
    """Refuse a projection (EinsumDense) whose weights alone do not give its result
    (:func:`~graphir.backends.keras.context.layer_refusal`: quantized, LoRA...) or that
    has an activation."""
    why = layer_refusal(sub)
    if why is not None:
        ctx.refuse(f"the {sub.name!r} projection: {why}")
    if sub.activation is not keras.activations.linear:
        ctx.refuse(f"the {sub.name!r} projection has an activation")


def _weights(ctx: LayerContext, sub: Any) -> tuple[str, str]:
    """IR weight names of a projection's kernel and bias (``""`` without bias), named
    ``<layer>/<projection>/kernel`` and ``.../bias`` as Keras' variable paths
    (``mha/query/kernel``), not after the bare variable names (all ``kernel``)."""
    _check_sublayer(ctx, sub)
    bias = ctx.weight(sub.bias, name=f"{sub.name}/bias") if sub.bias is not None else ""
    return ctx.weight(sub.kernel, name=f"{sub.name}/kernel"), bias


@lowers(keras.layers.MultiHeadAttention,
        accepted_call_kwargs=set(MHA_CALL_ARGUMENTS) - {"training"})
def _multi_head_attention(ctx: LayerContext) -> Lowered:
    """``keras.layers.MultiHeadAttention`` -> ``multi_head_attention``.

    Reads ``num_heads``, ``key_dim``, ``value_dim`` and the projection weights (kernels
    ``(D, H, K)``, ``(D, H, V)``, ``(H, V, *O)``; biases unless ``use_bias=False``) and
    the call's ``use_causal_mask`` and ``attention_mask`` (a tensor, input 11: Keras casts
    it to bool and masks the logits where it is False).  Dropout is the identity at
    inference, but a rate > 0 is kept (``dropout``): Keras then takes its softmax path,
    where a query row whose keys are all masked gets zero weights, not uniform ones.

    Raises:
        UnsupportedLayerError: query, value or key not rank 3 (attention over several
            axes); ``attention_axes`` other than the sequence axis; ``use_gate=True``;
            ``sliding_window`` set; an explicit ``query_mask`` (Keras ignores it); an
            ``attention_mask`` that is not a rank-2 or rank-3 tensor; ``return_attention_scores=True``; a non-bool
            ``use_causal_mask``; a quantized or LoRA projection; ``dropout > 0`` on
            float16 inputs (Keras then takes its float16-softmax path).
    """
    return _mha(ctx, _bind_call(ctx))


@lowers_named(CACHED_MHA, accepted_call_kwargs=set(CACHED_MHA_CALL_ARGUMENTS) - {"training"})
def _cached_multi_head_attention(ctx: LayerContext) -> Lowered:
    """keras_hub's ``CachedMultiHeadAttention`` without a cache (a backbone's forward
    pass): its ``call`` is ``MultiHeadAttention``'s (the same projections and
    ``_compute_attention`` with the ``attention_mask``), so it lowers the same way.

    Raises:
        UnsupportedLayerError: called with a ``cache`` or ``cache_update_index`` (a
            decoding step that updates the cache), or as ``multi_head_attention``.
    """
    args = _bind_call(ctx, CACHED_MHA_CALL_ARGUMENTS)
    for name in ("cache", "cache_update_index"):
        if args.pop(name, None) is not None:
            ctx.refuse(f"called with {name}=...; only the cache-free forward pass lowers")
    return _mha(ctx, args)


def _mha(ctx: LayerContext, args: dict[str, Any]) -> Lowered:
    """The ``multi_head_attention`` node of a MultiHeadAttention call bound to ``args``."""
    layer = ctx.layer
    if args.get("query_mask") is not None:
        ctx.refuse("query_mask=<tensor>: Keras 3.15's MultiHeadAttention ignores it (its "
                   "call reads the query tensor's own Keras mask); pass attention_mask")
    mask = args.get("attention_mask")
    if mask is not None and not isinstance(mask, Operand):
        ctx.refuse(f"attention_mask={type(mask).__name__}; a tensor is expected")
    if mask is not None and mask.type.rank not in (2, 3):
        ctx.refuse(f"attention_mask of rank {mask.type.rank}; only (T, S) and (batch, T, S) "
                   f"masks are supported")
    mask_name = _combined_mask(ctx, args, mask)
    if args.get("training") not in (None, False):
        ctx.refuse(f"called with training={args['training']!r}")
    if args.get("return_attention_scores"):
        ctx.refuse("return_attention_scores=True (a second output); graphir ops have one output")
    causal = args.get("use_causal_mask", False)
    if not isinstance(causal, bool):
        ctx.refuse(f"use_causal_mask={causal!r}; only a Python bool is supported")
    operands = []
    for name in ("query", "value", "key"):
        arg = args.get(name)
        if arg is None and name != "key":
            ctx.refuse(f"no {name} tensor")
        if arg is not None and not isinstance(arg, Operand):
            ctx.refuse(f"{name}={type(arg).__name__}; a tensor is expected")
        if arg is not None and arg.type.rank != 3:
            ctx.refuse(f"{name} of rank {arg.type.rank}; only rank-3 (batch, sequence, "
                       f"features) inputs are supported")
        operands.append(arg)
    if getattr(layer, "_use_gate", False):
        ctx.refuse("use_gate=True; the gated attention branch is not in the op set")
    if getattr(layer, "_sliding_window", None) is not None:
        ctx.refuse(f"sliding_window={layer._sliding_window}; banded masks are not in the op set")
    axes = tuple(layer.attention_axes or ())
    if axes != (1,):
        ctx.refuse(f"attention_axes={layer.attention_axes!r}; only attention over the "
                   f"sequence axis (1) is supported")
    query, value, key = operands
    if float(getattr(layer, "_dropout", 0.0)) > 0 and query.type.dtype.value == "float16":
        # dropout > 0 turns Keras off its dot-product-attention path, even at inference
        # (MultiHeadAttention._compute_attention): the softmax then runs in float16,
        # while the op (as that path) computes it in float32
        ctx.refuse(f"dropout={layer._dropout} on float16 inputs: Keras then computes the "
                   f"softmax in float16, which the op does not reproduce exactly")
    qk, qb = _weights(ctx, layer.query_dense)
    kk, kb = _weights(ctx, layer.key_dense)
    vk, vb = _weights(ctx, layer.value_dense)
    ok, ob = _weights(ctx, layer.output_dense)
    inputs = [query.name, value.name, key.name if key is not None else "",
              qk, qb, kk, kb, vk, vb, ok, ob] + ([mask_name] if mask_name else [])
    attrs = {"num_heads": int(layer.num_heads), "key_dim": int(layer.key_dim),
             "value_dim": int(layer.value_dim), "causal": causal}
    dropout = float(getattr(layer, "_dropout", 0.0))
    if dropout > 0:  # Keras' softmax path (zero rows where every key is masked)
        attrs["dropout"] = dropout
    return ctx.lowered("multi_head_attention", inputs, attrs)


def _combined_mask(ctx: LayerContext, args: dict[str, Any], mask: Operand | None
                   ) -> str | None:
    """The attention mask MultiHeadAttention computes from its inputs' Keras masks
    (``_compute_attention_mask``, Keras 3.15): ``query_mask[:, :, None]``,
    ``value_mask[:, None, :]`` and ``key_mask[:, None, :]`` (each cast to bool) AND-ed,
    then AND-ed with ``attention_mask`` cast to bool; the causal mask stays the op's
    ``causal`` attribute (one more AND inside the op).  The masks arrive as keywords:
    ``value_mask`` / ``key_mask`` as given, else the Keras masks the value and key tensors
    carry (Keras' ``__call__`` fills them in), and :data:`QUERY_KERAS_MASK`, the mask the
    query tensor carries (Keras' ``call`` reads it itself); the walker
    (``graphir.backends.keras.lower``) adds the carried masks.  Returns the IR name of the mask to pass as
    the op's ``attention_mask`` input, None when there is no mask at all."""
    parts = []
    for name, axis in ((QUERY_KERAS_MASK, 2), ("value_mask", 1), ("key_mask", 1)):
        m = args.get(name)
        if m is None:
            continue
        if not isinstance(m, Operand) or m.type.rank != 2:
            ctx.refuse(f"{name} must be a (batch, sequence) tensor")
        flag = m.name if m.type.dtype is DType.BOOL else ctx.helper(
            "cast", [m.name], {"to": "bool"}, suffix=f"{name}_bool")
        parts.append(ctx.helper("expand_dims", [flag], {"axes": (axis,)},
                                suffix=name.replace("query_keras_mask", "query_mask")))
    if not parts:
        return mask.name if mask is not None else None
    if mask is not None:
        flag = mask.name if mask.type.dtype is DType.BOOL else ctx.helper(
            "cast", [mask.name], {"to": "bool"}, suffix="attention_mask_bool")
        parts.append(flag)
    combined = parts[0]
    for i, p in enumerate(parts[1:]):
        combined = ctx.helper("logical_and", [combined, p], suffix=f"mask_and{i}")
    return combined


@lowers(keras.layers.Attention, keras.layers.AdditiveAttention,
        accepted_call_kwargs=_ATTENTION_KWARGS)
def _attention(ctx: LayerContext) -> Lowered:
    """``keras.layers.Attention`` -> ``attention {score_mode="dot"|"concat"}``;
    ``keras.layers.AdditiveAttention`` -> ``attention {score_mode="additive"}``.

    The layer is called on a list ``[query, value]`` or ``[query, value, key]``
    (``Attention.call`` in keras/src/layers/attention/attention.py); its tensors are
    the first entries of ``ctx.inputs`` (Keras flattens positional arguments first).
    ``use_scale`` adds the ``scale`` weight (a scalar; ``(D,)`` for
    AdditiveAttention), ``score_mode="concat"`` the ``concat_score_weight``; the
    call's ``use_causal_mask`` gives ``causal``; dropout is ignored (inference).

    Raises:
        UnsupportedLayerError: not called on one list of 2 or 3 tensors; a tensor that
            is not rank 3; ``mask=``; ``return_attention_scores=True``; a non-bool
            ``use_causal_mask``.
    """
    layer = ctx.layer
    args = ctx.call_args
    if len(args) != 1 or not isinstance(args[0], (list, tuple)) or not 2 <= len(args[0]) <= 3 \
            or not all(isinstance(a, keras.KerasTensor) for a in args[0]):
        ctx.refuse("expected one positional list [query, value] or [query, value, key]")
    n = len(args[0])
    names, types = ctx.inputs[:n], ctx.input_types[:n]
    kwargs = ctx.call_kwargs
    mask = kwargs.get("mask")
    if mask is not None and (not isinstance(mask, (list, tuple))
                             or any(m is not None for m in mask)):
        ctx.refuse("mask=[...]: masks are not in the op set")
    if kwargs.get("return_attention_scores"):
        ctx.refuse("return_attention_scores=True (a second output); graphir ops have one output")
    causal = kwargs.get("use_causal_mask", False)
    if not isinstance(causal, bool):
        ctx.refuse(f"use_causal_mask={causal!r}; only a Python bool is supported")
    for role, t in zip(("query", "value", "key"), types):
        if t.rank != 3:
            ctx.refuse(f"{role} of rank {t.rank}; only rank-3 (batch, sequence, features) "
                       f"inputs are supported")
    if isinstance(layer, keras.layers.AdditiveAttention):
        mode, csw = "additive", ""
    else:
        mode = layer.score_mode
        if mode not in ("dot", "concat"):
            ctx.refuse(f"score_mode={mode!r}")
        csw = ctx.weight(layer.concat_score_weight) if mode == "concat" else ""
    scale = ctx.weight(layer.scale) if layer.use_scale else ""
    key = names[2] if n == 3 else ""
    return ctx.lowered("attention", [names[0], names[1], key, scale, csw],
                       {"score_mode": mode, "causal": causal})
