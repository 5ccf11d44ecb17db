"""Attention ops: Keras ``MultiHeadAttention`` (``multi_head_attention``), ``Attention`` and
``AdditiveAttention`` (``attention``).

Like the rest of the op set the ops are layer-level: one ``multi_head_attention``
node is one ``MultiHeadAttention`` call, projections included, with the four projection
kernels and biases stored exactly as Keras' ``EinsumDense`` sub-layers hold them
(``keras/src/layers/attention/multi_head_attention.py``):

* ``query_kernel`` ``(Dq, H, K)``, ``query_bias`` ``(H, K)``;
* ``key_kernel`` ``(Dk, H, K)``, ``key_bias`` ``(H, K)``;
* ``value_kernel`` ``(Dv, H, V)``, ``value_bias`` ``(H, V)``;
* ``output_kernel`` ``(H, V, *O)``, ``output_bias`` ``O``

with ``H`` heads, ``K`` the key (and query) size per head, ``V`` the value size per
head and ``O`` the output feature shape (Keras' ``output_shape``, by default the
query's feature size).  ``attention`` is the projection-free attention of Keras'
``Attention`` (dot or concat scores) and ``AdditiveAttention`` layers
(``keras/src/layers/attention/attention.py``, ``additive_attention.py``).  See
``specs/ops-attention.md``.

Reference kernels (NumPy, float64):

``multi_head_attention`` follows Keras 3's ``MultiHeadAttention.call``
(``keras/src/layers/attention/multi_head_attention.py``) at inference on the
TensorFlow backend, where rank-3 inputs take the ``ops.dot_product_attention`` path
(``_dot_product_attention_xla`` in ``keras/src/backend/tensorflow/nn.py``):

1. projections (``EinsumDense``): ``q = query @ Wq + bq`` ``(N, T, H, K)``,
   ``k = key @ Wk + bk`` ``(N, S, H, K)``, ``v = value @ Wv + bv`` ``(N, S, H, V)``;
2. ``logits[n, h, t, s] = sum_k q[n, t, h, k] * k[n, s, h, k] / sqrt(K)``;
3. with an ``attention_mask`` ``(T, S)`` or ``(N|1, T|1, S|1)`` of any dtype (Keras casts
   it to bool, nonzero -> True, and inserts the head axis at -3 to broadcast it against
   ``(N, H, T, S)``), positions where it is False are set to ``-0.7 * 3.38953e38`` (the
   same ``tf.where`` as the causal mask below, ``_apply_masks``); a row without any
   True position therefore gets uniform probabilities, as in Keras;
   (with ``dropout > 0`` Keras takes its softmax path instead, ``_masked_softmax``: the
   same probabilities, except that the masked positions are then set to 0, so a row
   without any True position is all zeros);
   with ``causal``, positions ``s > t`` are set to ``-0.7 * 3.38953e38``
   (``_get_large_negative``; Keras' causal mask is ``tf.linalg.band_part(ones(T, S), -1, 0)``,
   i.e. lower-triangular, aligned at the top-left corner, the same as
   ``MultiHeadAttention._compute_causal_mask``), so their probability is exactly 0;
4. softmax over ``s``; ``o[n, t, h, v] = sum_s p[n, h, t, s] * v[n, s, h, v]``;
5. output projection ``out = sum_{h, v} o[n, t, h, v] * Wo[h, v, ...] + bo``.

Dropout is the identity at inference.

``attention`` follows ``Attention.call`` (``keras/src/layers/attention/attention.py``)
and ``AdditiveAttention._calculate_scores`` (``additive_attention.py``): scores
``q @ k^T`` (times ``scale``), ``csw * sum(tanh(scale * (q + k)))`` or
``sum(scale * tanh(q + k))`` over the features; with ``causal``, masked scores get
``1e9`` subtracted (Keras subtracts ``65504`` for float16, ``Attention._apply_scores``;
either gives the masked keys probability exactly 0 after the softmax, and this kernel
computes in float64, so it always uses ``1e9``); softmax over the keys; ``@ value``."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from graphir.ops.registry import AttrSpec, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import fmt_shape, require_float, require_positive, require_rank, same_dtype
from graphir.tensor_types import Dim, TensorType

__all__ = ["MHA_INPUTS", "SCORE_MODES"]

#: the input roles of ``multi_head_attention``, in order
MHA_INPUTS = ("query", "value", "key?", "query_kernel", "query_bias?", "key_kernel",
              "key_bias?", "value_kernel", "value_bias?", "output_kernel", "output_bias?",
              "attention_mask?")


# --------------------------------------------------------------------------- reference kernels

#: the logit Keras gives masked positions (``_get_large_negative`` in
#: keras/src/backend/tensorflow/nn.py, float32/float64 inputs; float16 logits are
#: computed in float32, so the same value applies)
MASK_VALUE = -0.7 * 3.38953e38


def _project(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``einsum("abc,cde->abde")`` plus the bias (EinsumDense ``"abc,cde->abde"``, bias
    ``"de"``): ``(N, L, D) x (D, H, K) -> (N, L, H, K)``."""
    y = np.einsum("nld,dhk->nlhk", x, kernel)
    return y if bias is None else y + bias


def multi_head_attention(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]
                         ) -> np.ndarray:
    """Keras ``MultiHeadAttention`` at inference (the module docstring has the formula).

    Args:
        inputs: ``query (N, T, Dq)``, ``value (N, S, Dv)``, ``key (N, S, Dk)`` or None
            (then the value is the key), ``query_kernel (Dq, H, K)``, ``query_bias (H, K)``
            or None, ``key_kernel (Dk, H, K)``, ``key_bias``, ``value_kernel (Dv, H, V)``,
            ``value_bias (H, V)`` or None, ``output_kernel (H, V, *O)``, ``output_bias O``
            or None (float64 arrays), ``attention_mask`` ``(T, S)`` or
            ``(N|1, T|1, S|1)`` of any dtype or None.
        attrs: ``num_heads``, ``key_dim``, ``value_dim``, ``causal``, ``dropout``
            (optional).

    Returns:
        ``(N, T, *O)`` float64.
    """
    (query, value, key, qk, qb, kk, kb, vk, vb, ok, ob, mask) = (list(inputs) + [None] * 12)[:12]
    key = value if key is None else key
    q = _project(query, qk, qb)
    k = _project(key, kk, kb)
    v = _project(value, vk, vb)
    logits = np.einsum("nthk,nshk->nhts", q, k) * (1.0 / math.sqrt(float(attrs["key_dim"])))
    keep = None
    if mask is not None:
        keep = np.expand_dims(np.asarray(mask) != 0, axis=-3)
    if attrs["causal"]:
        t, s = logits.shape[-2:]
        causal = np.tril(np.ones((t, s), dtype=bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = np.where(keep, logits, MASK_VALUE)
    if logits.size:
        logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    probs = e / e.sum(axis=-1, keepdims=True)
    if keep is not None and attrs.get("dropout", 0.0) > 0:
        probs = np.where(keep, probs, 0.0)  # Keras' Softmax(mask): a masked row is zeros
    o = np.einsum("nhts,nshv->nthv", probs, v)
    out_dims = ok.shape[2:]
    heads, vdim = ok.shape[:2]
    y = o.reshape(o.shape[:2] + (heads * vdim,)) @ ok.reshape(heads * vdim, int(np.prod(out_dims)))
    y = y.reshape(o.shape[:2] + tuple(out_dims))
    return y if ob is None else y + ob


def _softmax_last(x: np.ndarray) -> np.ndarray:
    if x.size:
        x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


#: what Keras' ``Attention._apply_scores`` subtracts from masked scores (for float16 Keras
#: uses 65504; the result, probability 0, is the same)
ATTENTION_MASK_OFFSET = 1.0e9


def attention(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]) -> np.ndarray:
    """Keras ``Attention`` / ``AdditiveAttention`` at inference (module docstring).

    Args:
        inputs: ``query (N, Tq, D)``, ``value (N, Tv, Dv)``, ``key (N, Tv, D)`` or None
            (the value is the key), ``scale`` (``()`` for dot/concat, ``(D,)`` for
            additive) or None, ``concat_score_weight ()`` (concat only) or None; float64.
        attrs: ``score_mode`` (``"dot"``, ``"concat"``, ``"additive"``), ``causal``.

    Returns:
        ``(N, Tq, Dv)`` float64.
    """
    query, value, key, scale, csw = (list(inputs) + [None] * 5)[:5]
    key = value if key is None else key
    mode = attrs["score_mode"]
    if mode == "dot":
        scores = query @ np.swapaxes(key, -1, -2)
        if scale is not None:
            scores = scores * scale
    else:
        inner = query[:, :, None, :] + key[:, None, :, :]  # (N, Tq, Tv, D)
        if mode == "concat":
            if scale is not None:
                inner = scale * inner
            scores = csw * np.tanh(inner).sum(axis=-1)
        else:
            t = np.tanh(inner)
            scores = (t if scale is None else scale * t).sum(axis=-1)
    if attrs["causal"]:
        tq, tv = scores.shape[-2:]
        keep = np.tril(np.ones((tq, tv), dtype=bool))
        scores = np.where(keep, scores, scores - ATTENTION_MASK_OFFSET)
    return _softmax_last(scores) @ value


# --------------------------------------------------------------------------- ops

def _same_dim(a: Dim, b: Dim) -> bool:
    """False only when both dims are static and differ (symbols and unknowns may match)."""
    return not (isinstance(a, int) and isinstance(b, int) and a != b)


def _check_shape(t: TensorType | None, want: tuple[Dim, ...], index: int, what: str) -> None:
    """Raise a TypeRuleError when ``t`` (if present) is not exactly ``want`` (static dims)."""
    if t is not None and t.shape != want:
        raise TypeRuleError(f"{what} must have shape {fmt_shape(want)}, got {fmt_shape(t.shape)}",
                            input_index=index, expected=fmt_shape(want),
                            actual=fmt_shape(t.shape))


def _check_features(x: TensorType, kernel: TensorType, x_index: int, what: str) -> None:
    """The last axis of data input ``x`` must match the kernel's first axis."""
    d, k = x.shape[-1], kernel.shape[0]
    if not _same_dim(d, k):
        raise TypeRuleError(
            f"the {what} projection expects {k} features (last axis), the {what} has {d}",
            input_index=x_index, axis=x.rank - 1, expected=f"{k} features",
            actual=fmt_shape(x.shape),
            hint="fix the producer's output shape, or rebuild the attention layer for it")


def _check_batch_and_lengths(query: TensorType, value: TensorType,
                             key: TensorType | None) -> None:
    """Key and value share batch and sequence sizes; query and value share the batch
    size (static dims only; symbolic or unknown dims are not checked)."""
    if key is not None:
        for axis, what in ((0, "batch"), (1, "sequence")):
            if not _same_dim(value.shape[axis], key.shape[axis]):
                raise TypeRuleError(
                    f"value and key must have the same {what} size (axis {axis}): "
                    f"{fmt_shape(value.shape)} vs {fmt_shape(key.shape)}", input_index=2,
                    axis=axis, expected=f"{value.shape[axis]} at axis {axis}",
                    actual=fmt_shape(key.shape))
    if not _same_dim(query.shape[0], value.shape[0]):
        raise TypeRuleError(
            f"query and value must have the same batch size: {fmt_shape(query.shape)} vs "
            f"{fmt_shape(value.shape)}", input_index=1, axis=0,
            expected=f"{query.shape[0]} at axis 0", actual=fmt_shape(value.shape))


def _infer_mha(types, attrs):
    """Type rule of ``multi_head_attention`` (see specs/ops-attention.md).

    Returns ``(N, T, *O)`` with ``N``, ``T`` the query's first two dims and ``O`` the
    output kernel's trailing dims, in the query's dtype.

    Raises:
        TypeRuleError: a data input that is not rank 3 or a non-float query; a dtype
            mismatch; a kernel of the wrong rank or with head/size dims other than
            ``num_heads``/``key_dim``/``value_dim``; a feature axis that differs from
            its kernel's input size; value and key with different static batch or
            sequence dims, or a query whose static batch differs from the value's; a
            bias of the wrong shape; a non-positive ``num_heads``/``key_dim``/``value_dim``;
            an ``attention_mask`` not of rank 2 ``(T, S)`` or 3 ``(N, T, S)``, or with a
            static dim that is neither 1 nor the one it broadcasts against.
    """
    (query, value, key, qk, qb, kk, kb, vk, vb, ok, ob, mask) = (list(types) + [None] * 12)[:12]
    require_rank(query, (3,), input_index=0, what="multi_head_attention query (N, T, D)")
    require_rank(value, (3,), input_index=1, what="multi_head_attention value (N, S, D)")
    if key is not None:
        require_rank(key, (3,), input_index=2, what="multi_head_attention key (N, S, D)")
    require_float(query, 0, "multi_head_attention query")
    same_dtype([query, value, key, qk, qb, kk, kb, vk, vb, ok, ob])
    require_positive(attrs, "num_heads", "key_dim", "value_dim")
    heads, kdim, vdim = attrs["num_heads"], attrs["key_dim"], attrs["value_dim"]
    for index, kernel, what in ((3, qk, "query_kernel (Dq, heads, key_dim)"),
                                (5, kk, "key_kernel (Dk, heads, key_dim)"),
                                (7, vk, "value_kernel (Dv, heads, value_dim)")):
        require_rank(kernel, (3,), input_index=index, what=what)
    if ok.rank < 3:
        raise TypeRuleError(f"output_kernel (heads, value_dim, *output_shape) must have rank >= 3, "
                            f"got rank {ok.rank} {fmt_shape(ok.shape)}", input_index=9,
                            expected="rank >= 3", actual=f"rank {ok.rank} {fmt_shape(ok.shape)}")
    for index, kernel, size, name in ((3, qk, kdim, "key_dim"), (5, kk, kdim, "key_dim"),
                                      (7, vk, vdim, "value_dim")):
        if kernel.shape[1:] != (heads, size):
            raise TypeRuleError(
                f"input {index} must have shape (?, {heads}, {size}) for num_heads={heads}, "
                f"{name}={size}; got {fmt_shape(kernel.shape)}", input_index=index,
                expected=f"(?, {heads}, {size})", actual=fmt_shape(kernel.shape))
    if ok.shape[:2] != (heads, vdim):
        raise TypeRuleError(
            f"output_kernel must start with ({heads}, {vdim}) for num_heads={heads}, "
            f"value_dim={vdim}; got {fmt_shape(ok.shape)}", input_index=9,
            expected=f"({heads}, {vdim}, ...)", actual=fmt_shape(ok.shape))
    key_t, key_index = (key, 2) if key is not None else (value, 1)
    _check_features(query, qk, 0, "query")
    _check_features(key_t, kk, key_index, "key")
    _check_features(value, vk, 1, "value")
    _check_batch_and_lengths(query, value, key)
    _check_shape(qb, (heads, kdim), 4, "query_bias")
    _check_shape(kb, (heads, kdim), 6, "key_bias")
    _check_shape(vb, (heads, vdim), 8, "value_bias")
    _check_shape(ob, tuple(ok.shape[2:]), 10, "output_bias")
    if mask is not None:
        _check_mask(mask, (query.shape[0], query.shape[1], value.shape[1]))
    return (TensorType(query.dtype, (query.shape[0], query.shape[1]) + tuple(ok.shape[2:])),)


def _check_mask(mask: TensorType, nts: tuple[Dim, Dim, Dim]) -> None:
    """An ``attention_mask`` ``(T, S)`` or ``(N, T, S)`` whose static dims are 1 or match."""
    require_rank(mask, (2, 3), input_index=11, what="multi_head_attention attention_mask")
    for axis, (have, want) in enumerate(zip(mask.shape, nts[3 - mask.rank:])):
        if isinstance(have, int) and have != 1 and isinstance(want, int) and have != want:
            raise TypeRuleError(
                f"attention_mask {fmt_shape(mask.shape)} does not broadcast against "
                f"(N, T, S) = {fmt_shape(nts)} at axis {axis}", input_index=11, axis=axis,
                expected=f"1 or {want} at axis {axis}", actual=fmt_shape(mask.shape))


register(OpSchema(
    "multi_head_attention", MHA_INPUTS, {
        "num_heads": AttrSpec("int", doc="number of attention heads H"),
        "key_dim": AttrSpec("int", doc="query/key size per head K"),
        "value_dim": AttrSpec("int", doc="value size per head V"),
        "causal": AttrSpec("bool", doc="query t attends only to key positions s <= t"),
        "dropout": AttrSpec("float", required=False,
                            doc="Keras' dropout rate (default 0): the identity at inference, "
                                "but a rate > 0 takes Keras' softmax path, where a query row "
                                "with no allowed key gets zero weights (uniform otherwise)"),
    }, _infer_mha, weight_inputs=tuple(range(3, 11)),
    doc="Keras MultiHeadAttention on (N, T, D) query and (N, S, D') value/key: "
        "projections, scaled dot-product softmax attention per head, output projection", kernel=multi_head_attention))


#: ``attention`` score modes: Keras ``Attention(score_mode="dot"|"concat")`` and
#: ``AdditiveAttention``
SCORE_MODES = ("dot", "concat", "additive")


def _infer_attention(types, attrs):
    """Type rule of ``attention`` (see specs/ops-attention.md).

    Returns ``(N, Tq, Dv)``: the query's first two dims and the value's feature size,
    in the query's dtype.

    Raises:
        TypeRuleError: a data input that is not rank 3 or a non-float query; a dtype
            mismatch; query and key with different static feature sizes; value and
            key with different static batch or sequence sizes; query and value with
            different static batch sizes; a ``scale`` that is not a scalar (``dot``,
            ``concat``) or not ``(D,)`` (``additive``); a ``concat_score_weight``
            missing in ``concat`` mode, present in another mode, or not a scalar.
    """
    query, value, key, scale, csw = (list(types) + [None] * 5)[:5]
    require_rank(query, (3,), input_index=0, what="attention query (N, Tq, D)")
    require_rank(value, (3,), input_index=1, what="attention value (N, Tv, Dv)")
    if key is not None:
        require_rank(key, (3,), input_index=2, what="attention key (N, Tv, D)")
    require_float(query, 0, "attention query")
    same_dtype([query, value, key, scale, csw])
    key_t, key_index = (key, 2) if key is not None else (value, 1)
    if not _same_dim(query.shape[2], key_t.shape[2]):
        raise TypeRuleError(
            f"query and key must have the same feature size: {fmt_shape(query.shape)} vs "
            f"{fmt_shape(key_t.shape)}", input_index=key_index, axis=2,
            expected=f"{query.shape[2]} features", actual=fmt_shape(key_t.shape))
    _check_batch_and_lengths(query, value, key)
    mode = attrs["score_mode"]
    if mode == "additive":
        d = query.shape[2] if query.shape[2] is not None else key_t.shape[2]
        if scale is not None and (scale.rank != 1 or not _same_dim(scale.shape[0], d)):
            raise TypeRuleError(f"additive attention scale must have shape ({d},), got "
                                f"{fmt_shape(scale.shape)}", input_index=3,
                                expected=f"({d},)", actual=fmt_shape(scale.shape))
    else:
        _check_shape(scale, (), 3, "attention scale")
    if mode == "concat":
        if csw is None:
            raise TypeRuleError("score_mode='concat' needs concat_score_weight", input_index=4,
                                expected="a scalar weight", actual="omitted")
        _check_shape(csw, (), 4, "concat_score_weight")
    elif csw is not None:
        raise TypeRuleError(f"concat_score_weight is only used with score_mode='concat', "
                            f"not {mode!r}", input_index=4, expected="omitted",
                            actual=fmt_shape(csw.shape))
    return (TensorType(query.dtype, (query.shape[0], query.shape[1], value.shape[2])),)


register(OpSchema(
    "attention", ("query", "value", "key?", "scale?", "concat_score_weight?"), {
        "score_mode": AttrSpec("str", choices=SCORE_MODES,
                               doc="dot product, Luong concat, or Bahdanau additive scores"),
        "causal": AttrSpec("bool", doc="query t attends only to key positions s <= t"),
    }, _infer_attention, weight_inputs=(3, 4),
    doc="Keras Attention / AdditiveAttention (no projections): softmax(scores(query, key)) "
        "@ value", kernel=attention))
