"""ONNX emitters of the attention ops (:mod:`graphir.ops.attention`), registered with
:func:`~graphir.backends.onnx.registry.emits`.

``multi_head_attention`` has no single ONNX operator at the default opset 18 (the
``Attention`` operator arrives in opset 23, with a different weight layout), so it is
written out as MatMul / Reshape / Transpose / Softmax nodes that compute what Keras
computes (``keras/src/layers/attention/multi_head_attention.py`` and
``_dot_product_attention_xla`` in ``keras/src/backend/tensorflow/nn.py``): logits
``q k^T`` scaled by ``1/sqrt(key_dim)``, masked positions replaced by Keras' large
negative constant, softmax in at least float32.  Operator semantics: the ONNX
operator specs (https://onnx.ai/onnx/operators/).  Rank-3 values have one layout
(the IR's), so the op reads and writes the NHWC (native) form.  ``attention``
(Keras ``Attention``/``AdditiveAttention``) is MatMul or Unsqueeze/Add/Tanh/ReduceSum
scores, the same causal mask, Softmax and MatMul.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from graphir.dtypes import DType
from graphir.ir import Node
from graphir.ops.attention import ATTENTION_MASK_OFFSET, MASK_VALUE

from .context import NHWC, OnnxEmitContext
from .registry import emits

__all__ = ["attention", "multi_head_attention"]

#: the dtype float16 logits are scaled, masked and softmaxed in (Keras casts them to
#: ``result_type(float16, float32)`` in ``_dot_product_attention_xla``)
_F16_SOFTMAX = DType.FLOAT32


def _input(node: Node, index: int) -> str:
    """The node's input name at ``index``, or "" when omitted."""
    return node.inputs[index] if index < len(node.inputs) else ""


def _project(ctx: OnnxEmitContext, node: Node, x: str, kernel: str, bias: str, heads: int,
             size: int, what: str, perm: list[int]) -> str:
    """``Transpose(Reshape(x @ kernel + bias, (0, 0, heads, size)), perm)``.

    The kernel ``(D, heads, size)`` is the initializer ``<kernel>/matrix`` reshaped to
    ``(D, heads * size)`` (row-major, so column ``h * size + j`` is ``kernel[:, h, j]``),
    the bias ``(heads, size)`` the initializer ``<bias>/flat`` of ``heads * size``.
    """
    w = ctx.derived_weight(kernel, "matrix", lambda a: a.reshape(a.shape[0], -1))
    y = ctx.add("MatMul", [ctx.get(x), w])
    if bias:
        y = ctx.add("Add", [y, ctx.derived_weight(bias, "flat", lambda a: a.reshape(-1))])
    shape = ctx.constant(np.asarray([0, 0, heads, size], np.int64), f"{what}_shape")
    y = ctx.add("Reshape", [y, shape])
    return ctx.add("Transpose", [y], perm=perm)


def _causal_mask(ctx: OnnxEmitContext, node: Node, logits: str) -> str:
    """A bool ``(T, S)`` tensor, True where ``s <= t`` (``band_part(ones, -1, 0)``): an
    initializer when T and S are static, else ``Trilu(ConstantOfShape(Shape(logits)[-2:]))``
    (Trilu, opset 14, ``upper=0`` keeps the lower triangle and the diagonal).  ``T`` and
    ``S`` are axis 1 of the node's inputs 0 (query) and 1 (value)."""
    t = ctx.types[node.inputs[0]].shape[1]
    s = ctx.types[node.inputs[1]].shape[1]
    if isinstance(t, int) and isinstance(s, int):
        return ctx.constant(np.tril(np.ones((t, s), dtype=bool)), "causal_mask")
    ts = ctx.add("Shape", [logits], start=-2)
    ones = ctx.add("ConstantOfShape", [ts],
                   value=helper.make_tensor("value", TensorProto.BOOL, [1], [True]))
    return ctx.add("Trilu", [ones], upper=0)


def _attention_mask(ctx: OnnxEmitContext, node: Node) -> str | None:
    """The node's ``attention_mask`` (input 11) as a bool tensor broadcasting against the
    ``(N, H, T, S)`` logits, or None: ``Cast`` to BOOL (nonzero -> True, as Keras'
    ``ops.cast(mask, "bool")``) unless already bool, then ``Unsqueeze`` of the head axis
    (axis 1 of an ``(N, T, S)`` mask; a ``(T, S)`` mask broadcasts as it is)."""
    name = _input(node, 11)
    if not name:
        return None
    mtype = ctx.types[name]
    mask = name if mtype.dtype == DType.BOOL else ctx.add("Cast", [name], to=TensorProto.BOOL)
    if mtype.rank == 3:
        mask = ctx.add("Unsqueeze", [mask, ctx.constant(np.asarray([1], np.int64), "head_axis")])
    return mask


@emits("multi_head_attention")
def multi_head_attention(ctx: OnnxEmitContext, node: Node) -> None:
    """Keras MultiHeadAttention (see specs/ops-attention.md, "ONNX").

    Nodes: per projection ``MatMul`` (+ ``Add``), ``Reshape`` to ``(N, L, H, size)`` and
    ``Transpose`` to ``(N, H, L, size)`` (the key to ``(N, H, K, S)``); ``MatMul`` of
    query and key, ``Mul`` by ``1/sqrt(key_dim)``; with an ``attention_mask`` and/or
    ``causal``, ``Where(mask, logits, -0.7 * 3.38953e38)`` (the two masks combined by
    ``And``); ``Softmax(axis=-1)`` (then ``Where(mask, probs, 0)`` when ``dropout > 0``:
    Keras' softmax path zeroes a row whose keys are all masked); ``MatMul`` with the value,
    ``Transpose`` back to ``(N, T, H, V)``, ``Reshape`` to ``(N, T, H * V)``, ``MatMul``
    with the output kernel as ``(H * V, prod(O))`` (+ ``Add`` of the bias), and a final
    ``Reshape`` to ``(N, T, *O)`` when ``O`` has more than one dim.  Float16 logits are
    ``Cast`` to float32 for the scale, the mask and the softmax and back (as Keras).
    """
    a = node.attrs
    heads, kdim, vdim = a["num_heads"], a["key_dim"], a["value_dim"]
    query, value = node.inputs[0], node.inputs[1]
    key = _input(node, 2) or value
    dtype = node.output.type.dtype
    q = _project(ctx, node, query, node.inputs[3], _input(node, 4), heads, kdim, "query",
                 [0, 2, 1, 3])
    k = _project(ctx, node, key, node.inputs[5], _input(node, 6), heads, kdim, "key",
                 [0, 2, 3, 1])
    v = _project(ctx, node, value, node.inputs[7], _input(node, 8), heads, vdim, "value",
                 [0, 2, 1, 3])
    logits = ctx.add("MatMul", [q, k])  # (N, H, T, S)
    soft_dtype = dtype
    if dtype == DType.FLOAT16:
        soft_dtype = _F16_SOFTMAX
        logits = ctx.add("Cast", [logits], to=TensorProto.FLOAT)
    logits = ctx.add("Mul", [logits, ctx.scalar(1.0 / np.sqrt(float(kdim)), soft_dtype, "scale")])
    mask = _attention_mask(ctx, node)
    if a["causal"]:
        causal = _causal_mask(ctx, node, logits)
        mask = causal if mask is None else ctx.add("And", [mask, causal])
    if mask is not None:
        logits = ctx.add("Where", [mask, logits, ctx.scalar(MASK_VALUE, soft_dtype, "mask_value")])
    probs = ctx.add("Softmax", [logits], axis=-1)
    if mask is not None and a.get("dropout", 0.0) > 0:  # Keras' softmax path: zero rows
        probs = ctx.add("Where", [mask, probs, ctx.scalar(0.0, soft_dtype, "zero")])
    if dtype == DType.FLOAT16:
        probs = ctx.add("Cast", [probs], to=TensorProto.FLOAT16)
    o = ctx.add("MatMul", [probs, v])  # (N, H, T, V)
    o = ctx.add("Transpose", [o], perm=[0, 2, 1, 3])
    o = ctx.add("Reshape", [o, ctx.constant(np.asarray([0, 0, heads * vdim], np.int64),
                                            "heads_shape")])
    out_kernel, out_bias = node.inputs[9], _input(node, 10)
    out_dims = ctx.types[out_kernel].shape[2:]
    w = ctx.derived_weight(out_kernel, "matrix", lambda arr: arr.reshape(
        arr.shape[0] * arr.shape[1], int(np.prod(arr.shape[2:]))))
    out = ctx.define(node.output.name, NHWC)
    last = len(out_dims) == 1
    y = ctx.add("MatMul", [o, w], out if last and not out_bias else None)
    if out_bias:
        b = ctx.derived_weight(out_bias, "flat", lambda arr: arr.reshape(-1))
        y = ctx.add("Add", [y, b], out if last else None)
    if not last:
        shape = ctx.constant(np.asarray([0, 0, *out_dims], np.int64), "output_shape")
        ctx.add("Reshape", [y, shape], out)


@emits("attention")
def attention(ctx: OnnxEmitContext, node: Node) -> None:
    """Keras Attention / AdditiveAttention (see specs/ops-attention.md, "ONNX").

    Scores: ``dot``: ``MatMul(query, Transpose(key, [0, 2, 1]))``, ``Mul`` by the scale;
    ``concat``/``additive``: ``Add(Unsqueeze(query, [2]), Unsqueeze(key, [1]))`` of
    shape ``(N, Tq, Tv, D)``, then ``Tanh(Mul(scale, .))`` and ``ReduceSum`` over the
    features times ``concat_score_weight`` (concat), or ``ReduceSum(Mul(scale,
    Tanh(.)))`` (additive).  With ``causal``: ``Where(mask, scores, Sub(scores,
    1e9))`` (65504 for float16, as Keras), the mask as in ``multi_head_attention``.
    Then ``Softmax(axis=-1)`` and ``MatMul`` with the value.
    """
    mode = node.attrs["score_mode"]
    q, v = ctx.get(node.inputs[0]), ctx.get(node.inputs[1])
    k = ctx.get(_input(node, 2)) if _input(node, 2) else v
    scale = ctx.get(_input(node, 3)) if _input(node, 3) else ""
    dtype = node.output.type.dtype
    if mode == "dot":
        scores = ctx.add("MatMul", [q, ctx.add("Transpose", [k], perm=[0, 2, 1])])
        if scale:
            scores = ctx.add("Mul", [scores, scale])
    else:
        inner = ctx.add("Add", [
            ctx.add("Unsqueeze", [q, ctx.constant(np.asarray([2], np.int64), "query_axes")]),
            ctx.add("Unsqueeze", [k, ctx.constant(np.asarray([1], np.int64), "key_axes")])])
        axes = ctx.constant(np.asarray([-1], np.int64), "feature_axes")
        if mode == "concat":
            if scale:
                inner = ctx.add("Mul", [scale, inner])
            total = ctx.add("ReduceSum", [ctx.add("Tanh", [inner]), axes], keepdims=0)
            scores = ctx.add("Mul", [ctx.get(node.inputs[4]), total])
        else:
            t = ctx.add("Tanh", [inner])
            if scale:
                t = ctx.add("Mul", [scale, t])
            scores = ctx.add("ReduceSum", [t, axes], keepdims=0)
    if node.attrs["causal"]:
        offset = 65504.0 if dtype == DType.FLOAT16 else ATTENTION_MASK_OFFSET
        mask = _causal_mask(ctx, node, scores)
        shifted = ctx.add("Sub", [scores, ctx.scalar(offset, dtype, "mask_offset")])
        scores = ctx.add("Where", [mask, scores, shifted])
    probs = ctx.add("Softmax", [scores], axis=-1)
    ctx.add("MatMul", [probs, v], ctx.define(node.output.name, NHWC))
