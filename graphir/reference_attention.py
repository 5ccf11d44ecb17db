"""NumPy reference kernels of the attention ops (conventions: :mod:`graphir.reference_ops`).

``multi_head_attention`` follows Keras 3's ``MultiHeadAttention.call``
(``keras/src/layers/attention/multi_head_attention.py``) at inference on the
TensorFlow backend, where rank-3 inputs take the ``ops.dot_product_attention`` path
(``_dot_product_attention_xla`` in ``keras/src/backend/tensorflow/nn.py``):

1. projections (``EinsumDense``): ``q = query @ Wq + bq`` ``(N, T, H, K)``,
   ``k = key @ Wk + bk`` ``(N, S, H, K)``, ``v = value @ Wv + bv`` ``(N, S, H, V)``;
2. ``logits[n, h, t, s] = sum_k q[n, t, h, k] * k[n, s, h, k] / sqrt(K)``;
3. with ``causal``, positions ``s > t`` are set to ``-0.7 * 3.38953e38``
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
computes in float64, so it always uses ``1e9``); softmax over the keys; ``@ value``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["KERNELS", "MASK_VALUE", "attention", "multi_head_attention"]

Kernel = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], np.ndarray]

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
            or None; float64 arrays.
        attrs: ``num_heads``, ``key_dim``, ``value_dim``, ``causal``.

    Returns:
        ``(N, T, *O)`` float64.
    """
    (query, value, key, qk, qb, kk, kb, vk, vb, ok, ob) = (list(inputs) + [None] * 11)[:11]
    key = value if key is None else key
    q = _project(query, qk, qb)
    k = _project(key, kk, kb)
    v = _project(value, vk, vb)
    logits = np.einsum("nthk,nshk->nhts", q, k) * (1.0 / math.sqrt(float(attrs["key_dim"])))
    if attrs["causal"]:
        t, s = logits.shape[-2:]
        logits = np.where(np.tril(np.ones((t, s), dtype=bool)), logits, MASK_VALUE)
    if logits.size:
        logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    probs = e / e.sum(axis=-1, keepdims=True)
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


#: IR op name -> kernel
KERNELS: dict[str, Kernel] = {"multi_head_attention": multi_head_attention,
                              "attention": attention}
