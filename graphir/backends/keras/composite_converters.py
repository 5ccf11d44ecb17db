"""Converters of ``keras.ops`` operations that have no op of their own: each lowers to a
short composition of existing IR ops that computes exactly what Keras 3 computes on
TensorFlow (the function of the same name in ``keras/src/backend/tensorflow/``, cited
per converter), registered with :func:`~graphir.backends.keras.registry.lowers`.

* ``Roll`` (``tf.roll`` along given axes, static sizes) -> per axis, the two ``slice``
  parts in swapped order, ``concatenate``d;
* ``Swapaxes`` -> ``transpose``;
* ``Log2`` / ``Log10`` (``log(x) / log(base)`` in the float result dtype, as Keras
  writes it) -> ``log``, ``divide`` by the constant;
* ``Hstack`` / ``Vstack`` -> ``concatenate`` along axis 1 (0 for rank 1) / axis 0;
* ``Unstack`` (``tf.unstack``) -> one ``slice`` + ``squeeze`` per output;
* ``Slice`` (``keras.ops.slice``: ``tf.slice`` with static start indices and sizes,
  ``-1`` = to the end) -> ``slice``;
* ``StopGradient`` -> ``identity`` (inference);
* ``DepthToSpace`` / ``SpaceToDepth`` (``tf.nn.depth_to_space`` / ``space_to_depth``,
  NHWC, static C; H and W static or read at run time by ``dynamic_reshape``) ->
  ``reshape``, ``transpose``, ``reshape``: depth-to-space puts
  channel ``(i * b + j) * C' + c`` of pixel ``(h, w)`` at ``(h * b + i, w * b + j, c)``;
* ``Logsumexp`` (``tf.math.reduce_logsumexp``: the max over the axes, replaced by 0
  where it is not finite, subtracted before ``exp``, added back after ``log``) ->
  ``max``, ``subtract``/``equal``/``where`` (the finite test ``m - m == 0``), ``exp``,
  ``sum``, ``log``, ``add``;
* ``Glu`` (``x1 * sigmoid(x2)`` of the two halves of an axis) -> two ``slice`` s, the
  ``sigmoid`` activation, ``multiply``;
* ``HardShrink`` (``where(|x| > t, x, 0)``), ``Threshold`` (``where(x > t, x, v)``) ->
  ``abs``, ``greater``, ``where`` with constants;
* ``Isnan`` (``x != x``), ``Isinf`` / ``Isposinf`` / ``Isneginf`` (``|x| == inf`` ...),
  ``Isfinite`` (``x - x == 0``), integers a constant ``full_like``; ``NanToNum`` (three
  ``where`` s), ``Trunc`` (``where(x < 0, ceil, floor)``);
* ``Tril`` / ``Triu`` (``where`` with a constant band mask), ``Diff`` (``slice`` s and
  ``subtract``), ``Fliplr`` / ``Flipud`` (``flip``), ``Copy`` (``identity``);
* ``RMSNorm`` / ``LayerNorm`` (``keras.ops.rms_normalization``,
  ``layer_normalization``: Keras' own formulas in keras/src/ops/nn.py,
  float32) -> ``square``/``mean``/``var``/``sum``, ``rsqrt``, ``multiply``, ``add``;
* ``DotProductAttention`` (``_dot_product_attention_xla``, float32) -> ``repeat`` of the
  key/value heads for grouped queries, ``einsum``, ``multiply`` by the scale, ``add``
  of the bias, ``where`` of the mask / causal mask, ``softmax``, ``einsum``.

Refused by name: tensor-valued shifts, axes, starts or sizes; sizes that are not static
where the composition needs them; ``axis=None`` forms that flatten the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras.src.ops import core as kcore
from keras.src.ops import math as kmath
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.indexing_converters import (_canonical, _int,
                                                        _ints, _one_tensor, _tensor_list)
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.ops.indexing import SLICE_END

__all__: list[str] = []


def _slice(ctx: LayerContext, x: str, rank: int, axis: int, lo: int, hi: int, suffix: str,
           final: bool = False) -> Any:
    """``x[..., lo:hi, ...]`` along ``axis`` (a helper, or the final node)."""
    starts, ends = [0] * rank, [SLICE_END] * rank
    starts[axis], ends[axis] = lo, hi
    attrs = {"starts": tuple(starts), "ends": tuple(ends), "steps": (1,) * rank}
    if final:
        return ctx.lowered("slice", [x], attrs)
    return ctx.helper("slice", [x], attrs, suffix=suffix)


def _static(ctx: LayerContext, x: Operand, axis: int, what: str) -> int:
    size = x.type.shape[axis]
    if not isinstance(size, int):
        ctx.refuse(f"{what} along axis {axis}, whose size is not static")
    return size


def _scalar(ctx: LayerContext, name: str, value: Any, dtype: DType) -> str:
    """A rank-0 weight ``<operation>/<name>`` of ``dtype`` holding ``value``."""
    return ctx.constant(name, np.asarray(value, dtype.to_numpy()))


# --------------------------------------------------------------------------- data movement

@lowers(knp.Roll)
def _roll(ctx: LayerContext) -> Lowered:
    """``keras.ops.roll(x, shift, axis)`` -> per axis ``concatenate([x[n-s:], x[:n-s]])``
    with ``s = shift mod n`` (``tf.roll``: element ``i`` moves to ``(i + shift) mod n``;
    shifts of a repeated axis add up)."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    if ctx.layer.axis is None:
        ctx.refuse("axis=None (a roll of the flattened tensor); give the axes")
    axes = [_canonical(ctx, a, rank) for a in _ints(ctx, ctx.layer.axis, "axis")]
    shifts = _ints(ctx, ctx.layer.shift, "shift")
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        ctx.refuse(f"{len(shifts)} shifts for {len(axes)} axes")
    total: dict[int, int] = {}
    for a, s in zip(axes, shifts):
        total[a] = total.get(a, 0) + s
    steps = []
    for a, s in sorted(total.items()):
        n = _static(ctx, x, a, "a roll")
        if n and s % n:
            steps.append((a, n, s % n))
    name = x.name
    if not steps:
        return ctx.lowered("identity", [name])
    for k, (a, n, s) in enumerate(steps):
        tail = _slice(ctx, name, rank, a, n - s, SLICE_END, f"tail{k}")
        head = _slice(ctx, name, rank, a, 0, n - s, f"head{k}")
        if k == len(steps) - 1:
            return ctx.lowered("concatenate", [tail, head], {"axis": a})
        name = ctx.helper("concatenate", [tail, head], {"axis": a}, suffix=f"roll{k}")
    raise AssertionError("unreachable")


@lowers(knp.Swapaxes)
def _swapaxes(ctx: LayerContext) -> Lowered:
    """``keras.ops.swapaxes(x, axis1, axis2)`` -> ``transpose``."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    a, b = (_canonical(ctx, v, rank, "axis") for v in (ctx.layer.axis1, ctx.layer.axis2))
    if a == b:
        return ctx.lowered("identity", [x.name])
    perm = list(range(rank))
    perm[a], perm[b] = b, a
    return ctx.lowered("transpose", [x.name], {"perm": tuple(perm)})


@lowers(knp.Hstack, knp.Vstack)
def _stack_along(ctx: LayerContext) -> Lowered:
    """``keras.ops.hstack(xs)`` (``tf.concat`` on axis 1, axis 0 for rank-1 tensors) /
    ``vstack(xs)`` (axis 0) -> ``concatenate``."""
    xs = _tensor_list(ctx)
    rank = xs[0].type.rank
    axis = 0 if isinstance(ctx.layer, knp.Vstack) or rank == 1 else 1
    if rank == 0:
        ctx.refuse("stacking rank-0 tensors")
    return ctx.lowered("concatenate", [o.name for o in xs], {"axis": axis})


@lowers(kcore.Unstack, multiple_outputs=True)
def _unstack(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.unstack(x, num, axis)`` (``tf.unstack``) -> per index along the
    (static) axis, ``slice`` then ``squeeze``."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = _canonical(ctx, ctx.layer.axis, rank)
    n = _static(ctx, x, axis, "an unstack")
    outs = []
    for i in range(n):
        part = _slice(ctx, x.name, rank, axis, i, i + 1, f"part{i}")
        outs.append(ctx.lowered("squeeze", [part], {"axes": (axis,)}))
    return outs


@lowers(kcore.Slice, accepted_call_kwargs=("start_indices",))
def _core_slice(ctx: LayerContext) -> Lowered:
    """``keras.ops.slice(x, start_indices, shape)`` (``tf.slice``; a size of -1 runs to the
    end) -> ``slice`` (static starts and sizes)."""
    if len(ctx.inputs) != 1:
        ctx.refuse("start_indices or shape is a tensor; only static ints are supported")
    x = Operand(ctx.inputs[0], ctx.input_types[0])
    start = ctx.call_args[1] if len(ctx.call_args) > 1 else ctx.call_kwargs.get("start_indices")
    starts = _ints(ctx, start, "a start index")
    sizes = _ints(ctx, ctx.layer.shape, "a size")
    rank = x.type.rank
    if len(starts) != rank or len(sizes) != rank:
        ctx.refuse(f"start_indices {starts} and shape {sizes} for a rank-{rank} tensor")
    if any(s < 0 for s in starts) or any(z < -1 for z in sizes):
        ctx.refuse(f"start_indices {starts} / shape {sizes} out of range")
    ends = tuple(SLICE_END if z == -1 else s + z for s, z in zip(starts, sizes))
    return ctx.lowered("slice", [x.name], {"starts": starts, "ends": ends,
                                           "steps": (1,) * rank})


@lowers(kcore.StopGradient)
def _stop_gradient(ctx: LayerContext) -> Lowered:
    """``keras.ops.stop_gradient(x)`` -> ``identity`` (no gradients at inference)."""
    return ctx.lowered("identity", [_one_tensor(ctx).name])


@lowers(knn.DepthToSpace, knn.SpaceToDepth)
def _depth_space(ctx: LayerContext) -> Lowered:
    """``keras.ops.depth_to_space`` / ``space_to_depth(x, block_size)`` on NHWC data with
    static C -> ``reshape`` (keeps the batch), ``transpose``, ``reshape``; a height or
    width known only at run time (an image model of any size: keras.io's ESPCN pixel
    shuffle) makes both reshapes ``dynamic_reshape`` s reading them from the shapes."""
    x = _one_tensor(ctx)
    if ctx.layer.data_format != "channels_last":
        ctx.refuse(f"data_format={ctx.layer.data_format!r}; only 'channels_last'")
    if x.type.rank != 4 or not isinstance(x.type.shape[3], int):
        ctx.refuse(f"an input of shape {x.type.shape}; expected (N, H, W, C), static C")
    b = _int(ctx, ctx.layer.block_size, "block_size")
    _, h, w, c = x.type.shape
    if b < 2:
        ctx.refuse(f"block_size={b}; it must be at least 2")
    perm = (0, 1, 3, 2, 4, 5)
    static = isinstance(h, int) and isinstance(w, int)
    if isinstance(ctx.layer, knn.DepthToSpace):
        if c % (b * b):
            ctx.refuse(f"{c} channels; a multiple of block_size**2 = {b * b} is needed")
        if not static:
            first = ("in0[0]", "in0[1]", "in0[2]", str(b), str(b), str(c // (b * b)))
            # the moved blocks are (N, H, b, W, b, C')
            last = ("in0[0]", f"in0[1]*{b}", f"in0[3]*{b}", str(c // (b * b)))
        else:
            first, last = (h, w, b, b, c // (b * b)), (h * b, w * b, c // (b * b))
    else:
        if static and (h % b or w % b):
            ctx.refuse(f"spatial size {h}x{w} is not a multiple of block_size={b}")
        if not static:
            # TensorFlow fails on a size that is not a multiple of the block; the
            # floor division here would then fail the reshape at run time too
            first = ("in0[0]", f"in0[1]//{b}", str(b), f"in0[2]//{b}", str(b), str(c))
            last = ("in0[0]", "in0[1]", "in0[2]", str(b * b * c))
        else:
            first, last = (h // b, b, w // b, b, c), (h // b, w // b, b * b * c)
    if not static:
        split = ctx.helper("dynamic_reshape", [x.name], {"shape": first}, suffix="blocks")
        moved = ctx.helper("transpose", [split], {"perm": perm}, suffix="moved")
        return ctx.lowered("dynamic_reshape", [moved], {"shape": last})
    split = ctx.helper("reshape", [x.name], {"target_shape": first}, suffix="blocks")
    moved = ctx.helper("transpose", [split], {"perm": perm}, suffix="moved")
    return ctx.lowered("reshape", [moved], {"target_shape": last})


# --------------------------------------------------------------------------- math

@lowers(knp.Log2, knp.Log10)
def _log_base(ctx: LayerContext) -> Lowered:
    """``keras.ops.log2`` / ``log10(x)`` -> ``log(x) / log(base)`` in the float result
    dtype (Keras' TensorFlow function writes exactly that quotient)."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    target = DType.FLOAT32 if not dtype.is_float else dtype
    name = x.name
    if target is not dtype:
        name = ctx.helper("cast", [name], {"to": target.value}, suffix="cast")
    base = 2 if isinstance(ctx.layer, knp.Log2) else 10
    log_base = np.log(np.asarray(base, target.to_numpy()))
    logged = ctx.helper("log", [name], suffix="log")
    return ctx.lowered("divide", [logged, _scalar(ctx, f"log{base}", log_base, target)])


@lowers(kmath.Logsumexp)
def _logsumexp(ctx: LayerContext) -> Lowered:
    """``keras.ops.logsumexp(x, axis, keepdims)`` (``tf.math.reduce_logsumexp``) on a
    float tensor."""
    from graphir.backends.keras.reduction_converters import _axes

    x = _one_tensor(ctx)
    dtype = x.type.dtype
    if not dtype.is_float:
        ctx.refuse(f"logsumexp of a {dtype.value} tensor; cast it to a float dtype")
    axes = _axes(ctx, ctx.layer.axis, x.type.rank)
    logged, shift = logsumexp_parts(ctx, x.name, dtype, axes, bool(ctx.layer.keepdims))
    return ctx.lowered("add", [logged, shift])


def logsumexp_parts(ctx: LayerContext, x: str, dtype: DType, axes: tuple[int, ...],
                    keepdims: bool) -> tuple[str, str]:
    """``tf.math.reduce_logsumexp(x, axes, keepdims)`` of the float value ``x`` as two
    helper values whose sum it is: ``log(sum(exp(x - shift)))`` and ``shift``, the max
    over ``axes`` where it is finite and 0 elsewhere (TensorFlow's
    ``reduce_logsumexp``, math_ops.py)."""
    raw_max = ctx.helper("max", [x], {"axes": axes, "keepdims": True}, suffix="max")
    gap = ctx.helper("subtract", [raw_max, raw_max], suffix="gap")     # 0 iff finite
    zero = _scalar(ctx, "zero", 0, dtype)
    finite = ctx.helper("equal", [gap, zero], suffix="finite")
    shift = ctx.helper("where", [finite, raw_max, zero], suffix="shift")
    shifted = ctx.helper("subtract", [x, shift], suffix="shifted")
    total = ctx.helper("sum", [ctx.helper("exp", [shifted], suffix="exp")],
                       {"axes": axes, "keepdims": keepdims}, suffix="sum")
    logged = ctx.helper("log", [total], suffix="log")
    if not keepdims and axes:
        shift = ctx.helper("squeeze", [shift], {"axes": axes}, suffix="shift_squeezed")
    return logged, shift


@lowers(knn.Glu)
def _glu(ctx: LayerContext) -> Lowered:
    """``keras.ops.glu(x, axis)`` -> ``x1 * sigmoid(x2)`` for the two halves of ``axis``."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = _canonical(ctx, ctx.layer.axis, rank)
    n = _static(ctx, x, axis, "a glu")
    if n % 2:
        ctx.refuse(f"axis {axis} has odd size {n}")
    first = _slice(ctx, x.name, rank, axis, 0, n // 2, "x1")
    second = _slice(ctx, x.name, rank, axis, n // 2, n, "x2")
    gate = ctx.helper("activation", [second], {"function": "sigmoid"}, suffix="gate")
    return ctx.lowered("multiply", [first, gate])


@lowers(knn.HardShrink, knn.Threshold)
def _shrink(ctx: LayerContext) -> Lowered:
    """``keras.ops.hard_shrink(x, threshold)`` (``where(|x| > t, x, 0)``) and
    ``keras.ops.threshold(x, threshold, default_value)`` (``where(x > t, x, v)``) on a
    float tensor, with the constants in x's dtype."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {dtype.value} input; only float tensors are supported")
    t = _scalar(ctx, "threshold", ctx.layer.threshold, dtype)
    if isinstance(ctx.layer, knn.HardShrink):
        probe, other = ctx.helper("abs", [x.name], suffix="abs"), _scalar(ctx, "zero", 0, dtype)
    else:
        probe, other = x.name, _scalar(ctx, "default", ctx.layer.default_value, dtype)
    keep = ctx.helper("greater", [probe, t], suffix="keep")
    return ctx.lowered("where", [keep, x.name, other])


# --------------------------------------------------------------------------- attention

#: ``_get_large_negative`` of Keras' TensorFlow backend for float32: the logit a masked
#: position gets before the softmax
_MASKED_LOGIT = np.float32(3.38953e38 * -0.7)


@lowers(knn.DotProductAttention, accepted_call_kwargs=("bias", "mask", "scale"))
def _dot_product_attention(ctx: LayerContext) -> Lowered:
    """``keras.ops.dot_product_attention(query, key, value, bias, mask, scale, is_causal)``
    on float32 ``(B, T, N, H)`` / ``(B, S, K, H)`` tensors, as Keras' TensorFlow backend
    computes it (``_dot_product_attention_xla``): key and value heads repeated when
    ``N > K > 1`` (grouped queries), ``logits = einsum(BTNH,BSNH->BNTS) * scale`` (scale
    ``1 / sqrt(float32(H))`` when not given), ``+ bias``, masked positions (``mask``
    false, or above the diagonal with ``is_causal``) set to ``-0.7 * 3.38953e38``,
    softmax over S, ``einsum(BNTS,BSNH->BTNH)``.  ``flash_attention`` is an error on
    TensorFlow and ``attn_logits_soft_cap`` is ignored there; graphir does the same
    (the softcap) or refuses (flash).  A constant bool mask is a weight.  Refused: other
    dtypes, tensor scales, a non-bool mask, ``is_causal`` with non-static T or S."""
    layer = ctx.layer
    if layer.flash_attention:
        ctx.refuse("flash_attention=True (an error on TensorFlow)")
    args = list(ctx.operands())
    kw = ctx.call_kwargs
    names = ("query", "key", "value", "bias", "mask", "scale")
    given = {n: (args[i] if i < len(args) else kw.get(n)) for i, n in enumerate(names)}
    q, k, v = given["query"], given["key"], given["value"]
    if not all(isinstance(t, Operand) for t in (q, k, v)):
        ctx.refuse("query, key and value must be tensors")
    if {t.type.dtype for t in (q, k, v)} != {DType.FLOAT32}:
        ctx.refuse("query, key and value must be float32")
    if q.type.rank != 4 or k.type.rank != 4 or v.type.rank != 4:
        ctx.refuse("query, key and value must have rank 4 (B, T, N, H)")
    heads, kv_heads, depth = q.type.shape[2], k.type.shape[2], k.type.shape[3]
    key, value = k.name, v.name
    if heads != kv_heads:
        if not (isinstance(heads, int) and isinstance(kv_heads, int) and kv_heads > 1
                and heads % kv_heads == 0):
            ctx.refuse(f"{heads} query heads over {kv_heads} key/value heads")
        key = ctx.helper("repeat", [key], {"repeats": heads // kv_heads, "axis": 2},
                         suffix="key_heads")
        value = ctx.helper("repeat", [value], {"repeats": heads // kv_heads, "axis": 2},
                           suffix="value_heads")
    scale = given["scale"]
    if scale is None:
        if not isinstance(depth, int):
            ctx.refuse("the head size is not static (the default scale reads it)")
        scale = np.float32(1.0) / np.sqrt(np.float32(depth))
    elif isinstance(scale, Operand) or not np.ndim(scale) == 0:
        ctx.refuse("scale is a tensor; only a number is supported")
    logits = ctx.helper("einsum", [q.name, key], {"equation": "btnh,bsnh->bnts"},
                        suffix="logits")
    logits = ctx.helper("multiply", [logits, _scalar(ctx, "scale", scale, DType.FLOAT32)],
                        suffix="scaled")
    bias = given["bias"]
    if bias is not None:
        if not isinstance(bias, Operand):
            bias_name = ctx.constant("bias", np.asarray(bias, np.float32))
        elif bias.type.dtype is not DType.FLOAT32:
            bias_name = ctx.helper("cast", [bias.name], {"to": "float32"}, suffix="bias_cast")
        else:
            bias_name = bias.name
        logits = ctx.helper("add", [logits, bias_name], suffix="biased")
    masks = []
    mask = given["mask"]
    if mask is not None:
        if not isinstance(mask, Operand) and np.asarray(mask).dtype == np.bool_:
            masks.append(ctx.constant("mask", np.asarray(mask)))  # a constant pattern
        elif not isinstance(mask, Operand) or mask.type.dtype is not DType.BOOL:
            ctx.refuse("mask must be a bool tensor (TensorFlow's logical_and needs one)")
        else:
            masks.append(mask.name)
    if layer.is_causal:
        t, s = q.type.shape[1], k.type.shape[1]
        if not (isinstance(t, int) and isinstance(s, int)):
            ctx.refuse("is_causal=True with a non-static query or key length")
        masks.append(ctx.constant("causal_mask", np.tril(np.ones((t, s), bool))[None, None]))
    for i, m in enumerate(masks):
        logits = ctx.helper("where", [m, logits, _scalar(ctx, "masked_logit", _MASKED_LOGIT,
                                                         DType.FLOAT32)], suffix=f"masked{i}")
    probs = ctx.helper("softmax", [logits], {"axis": 3}, suffix="probs")
    return ctx.lowered("einsum", [probs, value], {"equation": "bnts,bsnh->btnh"})


# --------------------------------------------------------------------------- float tests

def _float_or_constant(ctx: LayerContext, fill: bool) -> tuple[Operand, Lowered | None]:
    """The operand; for an integer or bool input (never NaN or infinite), also the final
    ``full_like`` node Keras' result is (``fill`` everywhere, bool)."""
    x = _one_tensor(ctx)
    if x.type.dtype.is_float:
        return x, None
    return x, ctx.lowered("full_like", [x.name], {"value": float(fill), "dtype": "bool"})


@lowers(knp.Isnan)
def _isnan(ctx: LayerContext) -> Lowered:
    """``keras.ops.isnan(x)`` (``tf.math.is_nan``; integers: all false) -> ``x != x``."""
    x, const = _float_or_constant(ctx, False)
    return const or ctx.lowered("not_equal", [x.name, x.name])


@lowers(knp.Isinf, knp.Isposinf, knp.Isneginf)
def _isinf(ctx: LayerContext) -> Lowered:
    """``keras.ops.isinf`` / ``isposinf`` / ``isneginf(x)`` (integers: all false) ->
    ``|x| == inf`` / ``x == inf`` / ``x == -inf``."""
    x, const = _float_or_constant(ctx, False)
    if const:
        return const
    if isinstance(ctx.layer, knp.Isinf):
        probe, value = ctx.helper("abs", [x.name], suffix="abs"), np.inf
    else:
        probe, value = x.name, np.inf if isinstance(ctx.layer, knp.Isposinf) else -np.inf
    return ctx.lowered("equal", [probe, _scalar(ctx, "inf", value, x.type.dtype)])


@lowers(knp.Isfinite)
def _isfinite(ctx: LayerContext) -> Lowered:
    """``keras.ops.isfinite(x)`` (``tf.math.is_finite``; integers: all true) ->
    ``x - x == 0`` (NaN for infinities and NaN, 0 otherwise)."""
    x, const = _float_or_constant(ctx, True)
    if const:
        return const
    gap = ctx.helper("subtract", [x.name, x.name], suffix="gap")
    return ctx.lowered("equal", [gap, _scalar(ctx, "zero", 0, x.type.dtype)])


@lowers(knp.NanToNum)
def _nan_to_num(ctx: LayerContext) -> Lowered:
    """``keras.ops.nan_to_num(x, nan, posinf, neginf)`` (TensorFlow: NaN -> ``nan``, +inf ->
    ``posinf`` or the dtype's max, -inf -> ``neginf`` or its min; integers unchanged) ->
    three ``where`` s."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    if not dtype.is_float:
        return ctx.lowered("identity", [x.name])
    info = np.finfo(dtype.to_numpy())
    layer = ctx.layer
    nan = ctx.helper("not_equal", [x.name, x.name], suffix="is_nan")
    y = ctx.helper("where", [nan, _scalar(ctx, "nan", layer.nan, dtype), x.name], suffix="nan")
    pos = ctx.helper("equal", [y, _scalar(ctx, "posinf_probe", np.inf, dtype)], suffix="is_pos")
    y = ctx.helper("where", [pos, _scalar(ctx, "posinf", info.max if layer.posinf is None
                                          else layer.posinf, dtype), y], suffix="posinf")
    neg = ctx.helper("equal", [y, _scalar(ctx, "neginf_probe", -np.inf, dtype)], suffix="is_neg")
    return ctx.lowered("where", [neg, _scalar(ctx, "neginf", info.min if layer.neginf is None
                                              else layer.neginf, dtype), y])


@lowers(knp.Trunc)
def _trunc(ctx: LayerContext) -> Lowered:
    """``keras.ops.trunc(x)`` (``where(x < 0, ceil(x), floor(x))``; integers unchanged)."""
    x = _one_tensor(ctx)
    if not x.type.dtype.is_float:
        return ctx.lowered("identity", [x.name])
    neg = ctx.helper("less", [x.name, _scalar(ctx, "zero", 0, x.type.dtype)], suffix="negative")
    up = ctx.helper("ceil", [x.name], suffix="ceil")
    down = ctx.helper("floor", [x.name], suffix="floor")
    return ctx.lowered("where", [neg, up, down])


# --------------------------------------------------------------------------- matrices

@lowers(knp.Tril, knp.Triu)
def _tri(ctx: LayerContext) -> Lowered:
    """``keras.ops.tril`` / ``triu(x, k)`` (``tf.linalg.band_part`` / the meshgrid mask:
    the kept entries are ``j - i <= k`` / ``j - i >= k``, the others 0) -> ``where`` with a
    constant mask over the two last (static) axes."""
    x = _one_tensor(ctx)
    if x.type.rank < 2 or not all(isinstance(d, int) for d in x.type.shape[-2:]):
        ctx.refuse(f"an input of shape {x.type.shape}; the two last axes must be static")
    k = _int(ctx, ctx.layer.k, "k")
    rows, cols = x.type.shape[-2:]
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    keep = offset <= k if isinstance(ctx.layer, knp.Tril) else offset >= k
    zero = _scalar(ctx, "zero", 0, x.type.dtype)
    return ctx.lowered("where", [ctx.constant("mask", keep), x.name, zero])


@lowers(knp.Diff)
def _diff(ctx: LayerContext) -> Lowered:
    """``keras.ops.diff(a, n, axis)`` (``a[1:] - a[:-1]`` along ``axis``, ``n`` times) ->
    ``slice`` s and ``subtract`` (static axis)."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = _canonical(ctx, ctx.layer.axis, rank)
    n = _int(ctx, ctx.layer.n, "n")
    size = _static(ctx, x, axis, "a diff")
    if n < 0 or n >= size:
        ctx.refuse(f"n={n} for an axis of size {size}")
    if n == 0:
        return ctx.lowered("identity", [x.name])
    name = x.name
    for step in range(n):
        later = _slice(ctx, name, rank, axis, 1, SLICE_END, f"later{step}")
        earlier = _slice(ctx, name, rank, axis, 0, size - step - 1, f"earlier{step}")
        if step == n - 1:
            return ctx.lowered("subtract", [later, earlier])
        name = ctx.helper("subtract", [later, earlier], suffix=f"diff{step}")
    raise AssertionError("unreachable")


@lowers(knp.Fliplr, knp.Flipud)
def _flip_lr_ud(ctx: LayerContext) -> Lowered:
    """``keras.ops.fliplr`` (axis 1) / ``flipud`` (axis 0) -> ``flip``."""
    x = _one_tensor(ctx)
    axis = 1 if isinstance(ctx.layer, knp.Fliplr) else 0
    if x.type.rank <= axis:
        ctx.refuse(f"a rank-{x.type.rank} input")
    return ctx.lowered("flip", [x.name], {"axes": (axis,)})


@lowers(knp.Copy)
def _copy(ctx: LayerContext) -> Lowered:
    """``keras.ops.copy(x)`` (``tf.identity``) -> ``identity``."""
    return ctx.lowered("identity", [_one_tensor(ctx).name])


# --------------------------------------------------------------------------- normalization

def _named(ctx: LayerContext, value: Any, what: str, dtype: DType) -> tuple[str, tuple] | None:
    """The IR name and shape of an optional operand given as a tensor, a ``keras.Variable``
    (a weight named by its Keras path) or a NumPy constant; None for None."""
    from keras import Variable

    if value is None:
        return None
    if isinstance(value, Variable):
        value = ctx.variable_operand(value)
    if isinstance(value, Operand):
        if value.type.dtype is not dtype:
            ctx.refuse(f"{what} of dtype {value.type.dtype.value}; expected {dtype.value}")
        return value.name, tuple(value.type.shape)
    arr = np.asarray(value, dtype.to_numpy())
    return ctx.constant(what, arr), arr.shape


def _float32_input(ctx: LayerContext) -> Operand:
    """The first positional argument: a float32 tensor (refused otherwise)."""
    first = ctx.operands()[0] if ctx.call_args else None
    if not isinstance(first, Operand):
        ctx.refuse("expected the input tensor as the first argument")
    if first.type.dtype is not DType.FLOAT32:
        ctx.refuse(f"a {first.type.dtype.value} input; only float32 is supported (Keras "
                   f"computes other dtypes in float32 and casts back)")
    return first


def _epsilon(value: Any) -> float:
    import keras

    return keras.backend.epsilon() if value is None else float(value)


@lowers(knn.RMSNorm, accepted_call_kwargs=("scale",))
def _rms_normalization(ctx: LayerContext) -> Lowered:
    """``keras.ops.rms_normalization(x, scale, axis, epsilon)`` (``_rms_normalization``:
    ``x * rsqrt(mean(square(x), axis, keepdims) + epsilon) * scale``) on float32."""
    from graphir.backends.keras.reduction_converters import _axes

    x = _float32_input(ctx)
    axes = _axes(ctx, ctx.layer.axis, x.type.rank)
    scale = ctx.operands()[1] if len(ctx.call_args) > 1 else ctx.call_kwargs.get("scale")
    sq = ctx.helper("square", [x.name], suffix="square")
    mean = ctx.helper("mean", [sq], {"axes": axes, "keepdims": True}, suffix="mean")
    eps = _scalar(ctx, "epsilon", _epsilon(ctx.layer.epsilon), DType.FLOAT32)
    rrms = ctx.helper("rsqrt", [ctx.helper("add", [mean, eps], suffix="plus_eps")],
                      suffix="rrms")
    named = _named(ctx, scale, "scale", DType.FLOAT32)
    if named is None:
        return ctx.lowered("multiply", [x.name, rrms])
    out = ctx.helper("multiply", [x.name, rrms], suffix="normalized")
    return ctx.lowered("multiply", [out, named[0]])


@lowers(knn.LayerNorm, accepted_call_kwargs=("gamma", "beta"))
def _layer_normalization(ctx: LayerContext) -> Lowered:
    """``keras.ops.layer_normalization(x, gamma, beta, axis, epsilon)``
    (``_layer_normalization``: ``inv = rsqrt(var + eps) * gamma``, ``x * inv + (beta -
    mean * inv)`` with ``tf.nn.moments``' mean and variance; ``rms_scaling``: ``x *
    rsqrt(var + eps) * gamma``) on float32; gamma and beta of the normalized axes' shape,
    reshaped to broadcast when the axes are not just the last one."""
    from graphir.backends.keras.reduction_converters import _axes

    x = _float32_input(ctx)
    rank = x.type.rank
    axes = _axes(ctx, ctx.layer.axis, rank)
    ops_ = ctx.operands()
    gamma = ops_[1] if len(ops_) > 1 else ctx.call_kwargs.get("gamma")
    beta = ops_[2] if len(ops_) > 2 else ctx.call_kwargs.get("beta")

    def broadcast(v: Any, what: str) -> str | None:
        from keras import Variable

        shape = tuple(np.shape(v)) if v is not None and not isinstance(v, Operand) else None
        if shape is not None and len(shape) != rank and axes != (rank - 1,):
            # Keras reshapes it to x's rank, 1 on the axes not normalized: a weight
            # (a variable's value or a constant) reshaped here, as a weight of its own
            if shape != tuple(x.type.shape[a] for a in axes):
                ctx.refuse(f"{what} of shape {shape} for normalized axes {axes}")
            full = tuple(x.type.shape[a] if a in axes else 1 for a in range(rank))
            arr = np.asarray(v.numpy() if isinstance(v, Variable) else v, np.float32)
            return ctx.constant(f"{what}_broadcast", arr.reshape(full))
        if isinstance(v, Operand) and v.type.rank != rank and axes != (rank - 1,):
            ctx.refuse(f"a computed {what} for normalized axes {axes}")
        named = _named(ctx, v, what, DType.FLOAT32)
        return None if named is None else named[0]

    g, b = broadcast(gamma, "gamma"), broadcast(beta, "beta")
    eps = _scalar(ctx, "epsilon", _epsilon(ctx.layer.epsilon), DType.FLOAT32)
    attrs = {"axes": axes, "keepdims": True}
    var = ctx.helper("var", [x.name], attrs, suffix="variance")
    inv = ctx.helper("rsqrt", [ctx.helper("add", [var, eps], suffix="plus_eps")], suffix="inv")
    if ctx.layer.rms_scaling:
        if g is None:
            return ctx.lowered("multiply", [x.name, inv])
        return ctx.lowered("multiply", [ctx.helper("multiply", [x.name, inv], suffix="scaled"),
                                        g])
    mean = ctx.helper("mean", [x.name], attrs, suffix="mean")
    if g:
        inv = ctx.helper("multiply", [inv, g], suffix="inv_gamma")
    res = ctx.helper("multiply", [ctx.helper("negative", [mean], suffix="neg_mean"), inv],
                     suffix="res")
    if b:
        res = ctx.helper("add", [res, b], suffix="res_beta")
    return ctx.lowered("add", [ctx.helper("multiply", [x.name, inv], suffix="xinv"), res])
