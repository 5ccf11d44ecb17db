"""Still more ``keras.ops`` operations lowered as compositions of existing IR ops, each
computing what Keras 3 computes on TensorFlow (the function of the same name in
``keras/src/backend/tensorflow/numpy.py`` or ``core.py``, cited per converter),
registered with :func:`~graphir.backends.keras.registry.lowers`:

* shape: ``Ravel`` (``array_reshape`` to ``(-1,)``), ``Rot90`` (``flip`` and
  ``transpose`` steps as ``rot90`` takes them), ``SliceUpdate`` (constant start indices:
  ``pad`` of the update and ``where`` with a constant mask);
* running and reducing: ``Cumprod`` (a static axis: running products in TensorFlow's
  order), ``Ptp``, ``Average`` (weights), ``Median`` (one static axis: the sort of
  :mod:`.math_composite_converters` and the two middle entries), ``Nansum``,
  ``Nanmean``, ``Nanmax``, ``Nanmin``, ``Inner`` (``einsum``);
* scatters: ``ScatterUpdate`` / ``Scatter`` with constant indices (``gather`` of the
  update rows by constant position maps, ``where`` / ``add``), ``ScatterUpdate`` with
  tensor indices or run-time indexed sizes (``scatter_nd_update``), ``SegmentMax`` /
  ``SegmentMin``
  (TensorFlow's fold, entry by entry, from the finite bound);
* elementwise: ``Expm1`` (Kahan's ``(u - 1) * x / log(u)``, as Eigen computes it),
  ``Arctan2`` (``arctan`` of ``|y| / |x|`` with the quadrant, zero and infinity cases
  of ``atan2``), ``Logaddexp2``, ``Fmod``, ``Heaviside``, ``Isclose``, ``Digitize``
  (constant bins);
* the ``Discretization`` layer: the same bucketing (``Digitize``'s nodes), encoded as
  ``CategoryEncoding`` encodes for modes other than ``int``.

``keras.ops.swish`` / ``hard_swish`` are the ``silu`` / ``hard_silu`` operations
(already lowered).  Not lowered: ``erfc`` (``1 - erf(x)`` loses every digit for x
beyond ~4 where TensorFlow's erfc keeps ~1e-8 and smaller; no accurate composition of
the existing ops is known), ``signbit`` (the sign bit of a NaN is not observable
without a bitcast), ``multi_hot`` (Keras 3.15 records the input's integer dtype for its
float output), ``diag`` (not yet).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import KerasTensor
from keras.src.backend.common import dtypes as kdtypes
from keras.src.ops import core as kcore
from keras.src.ops import math as kmath
from keras.src.ops import numpy as knp

from graphir.backends.keras.composite_converters import _scalar, _static
from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.indexing_converters import (_canonical, _chain, _int,
                                                       _one_tensor, encoding_steps)
from graphir.backends.keras.math_composite_converters import (_axis_last, _float_pair,
                                                              _float_tensor)
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.tensor_types import TensorType
from graphir.ops.indexing import SLICE_END

__all__: list[str] = []


# --------------------------------------------------------------------------- helpers

def _cast(ctx: LayerContext, name: str, src: DType, to: DType, suffix: str) -> str:
    """``name`` cast to ``to`` by a helper (itself when it already has that dtype)."""
    if src is to:
        return name
    return ctx.helper("cast", [name], {"to": to.value}, suffix=suffix)


def _pair_values(ctx: LayerContext, dtype: DType) -> list[tuple[str, np.ndarray | None]]:
    """The two positional operands of a binary operation in ``dtype``, each ``(name,
    array)``: a tensor (``array`` None; cast when of another dtype), or a number or
    array as a constant ``<operation>/constant<i>`` and its value (elementwise functions
    of a constant are computed here: the emitted Keras model applies no layer to a
    weight)."""
    operands = ctx.operands()[:2]
    if len(operands) != 2 or not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("expected two operands, at least one a tensor")
    out: list[tuple[str, np.ndarray | None]] = []
    for i, v in enumerate(operands):
        if isinstance(v, Operand):
            out.append((_cast(ctx, v.name, v.type.dtype, dtype, f"cast{i}"), None))
        else:
            arr = np.asarray(v)
            if arr.dtype.kind not in "biuf":
                ctx.refuse(f"a constant operand of type {type(v).__name__}")
            arr = arr.astype(dtype.to_numpy())
            out.append((ctx.constant(f"constant{i}", arr), arr))
    return out


def _pair(ctx: LayerContext, dtype: DType) -> tuple[str, str]:
    """The names of :func:`_pair_values`."""
    (a, _), (b, _) = _pair_values(ctx, dtype)
    return a, b


def _unary(ctx: LayerContext, op: str, value: tuple[str, np.ndarray | None], fn: Any,
           suffix: str) -> str:
    """``op`` of a tensor by a helper, or ``fn`` of a constant as a constant."""
    name, const = value
    if const is None:
        return ctx.helper(op, [name], suffix=suffix)
    with np.errstate(all="ignore"):
        return ctx.constant(suffix, np.asarray(fn(const)).astype(const.dtype))


def _result_type(ctx: LayerContext, *values: Any) -> DType:
    """Keras' ``dtypes.result_type`` of the call's operands (tensors by dtype, Python
    numbers weakly typed)."""
    args = []
    for v in values:
        if isinstance(v, Operand):
            args.append(v.type.dtype.value)
        elif isinstance(v, (np.ndarray, np.generic)):
            args.append(str(v.dtype))
        else:
            args.append(type(v))
    try:
        return DType.from_any(kdtypes.result_type(*args))
    except (TypeError, ValueError):
        ctx.refuse(f"operands of types {args!r}")


def _is_nan(ctx: LayerContext, x: str) -> str:
    """``x != x`` (``tf.math.is_nan``)."""
    return ctx.helper("not_equal", [x, x], suffix="is_nan")


def _negative_sign(ctx: LayerContext, value: tuple[str, np.ndarray | None], dtype: DType,
                   suffix: str) -> str:
    """``x < 0 or 1 / x < 0``: the sign bit of a number that is not NaN (``-0.0``
    included); a constant's, a constant."""
    x, const = value
    if const is not None:
        return ctx.constant(f"{suffix}_negative", np.signbit(const) & ~np.isnan(const))
    zero = _scalar(ctx, "zero", 0, dtype)
    below = ctx.helper("less", [x, zero], suffix=f"{suffix}_below_zero")
    inv = ctx.helper("reciprocal", [x], suffix=f"{suffix}_reciprocal")
    neg_zero = ctx.helper("less", [inv, zero], suffix=f"{suffix}_reciprocal_below_zero")
    return ctx.helper("logical_or", [below, neg_zero], suffix=f"{suffix}_negative")


# --------------------------------------------------------------------------- shape

@lowers(knp.Ravel)
def _ravel(ctx: LayerContext) -> Lowered:
    """``keras.ops.ravel(x)`` (``tf.reshape(x, [-1])``) -> ``array_reshape`` to
    ``(-1,)`` (a dynamic batch axis is flattened with the others)."""
    x = _one_tensor(ctx)
    return ctx.lowered("array_reshape", [x.name], {"shape": (-1,)})


@lowers(knp.Rot90)
def _rot90(ctx: LayerContext) -> Lowered:
    """``keras.ops.rot90(x, k, axes)`` as the TensorFlow backend's ``rot90``: ``k % 4``
    steps, each ``reverse`` of the second axis then a swap of the two (``transpose``);
    exact.  Refused: fewer than two axes, a repeated axis, an even ``k`` on axes of
    unequal or non-static sizes (Keras 3.15 records the sizes swapped there)."""
    x = _one_tensor(ctx)
    rank = x.type.rank
    if rank < 2:
        ctx.refuse(f"a rank-{rank} input; rot90 needs two axes")
    axes = ctx.layer.axes
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        ctx.refuse(f"axes={axes!r}; expected two axes")
    a0, a1 = (_canonical(ctx, a, rank, "axes") for a in axes)
    if a0 == a1:
        ctx.refuse(f"axes={axes!r} names one axis twice")
    k = _int(ctx, ctx.layer.k, "k") % 4
    if k in (0, 2) and not (isinstance(x.type.shape[a0], int)
                            and x.type.shape[a0] == x.type.shape[a1]):
        # Rot90.compute_output_spec always swaps the two sizes
        ctx.refuse(f"k={ctx.layer.k} of unequal sizes {x.type.shape[a0]} and "
                   f"{x.type.shape[a1]}: Keras records the sizes swapped, the output keeps "
                   f"them")
    if k == 0:
        return ctx.lowered("identity", [x.name])
    swap = tuple(a1 if i == a0 else a0 if i == a1 else i for i in range(rank))
    name = x.name
    for step in range(k):
        name = ctx.helper("flip", [name], {"axes": (a1,)}, suffix=f"reversed{step}")
        if step == k - 1:
            return ctx.lowered("transpose", [name], {"perm": swap})
        name = ctx.helper("transpose", [name], {"perm": swap}, suffix=f"swapped{step}")
    raise AssertionError("unreachable")


@lowers(kcore.SliceUpdate)
def _slice_update(ctx: LayerContext) -> Lowered:
    """``keras.ops.slice_update(inputs, start_indices, updates)`` (TensorFlow's
    ``dynamic_update_slice``: each start clamped to ``[0, dim - update_dim]``) with
    constant start indices -> ``pad`` of the update with zeros to the input's extent and
    ``where`` with a constant mask of the updated region; exact.  An axis may have a
    non-static size only where the update covers all of it.  Refused: start indices
    given as a tensor, an update of another dtype or rank, non-static sizes elsewhere."""
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 3 or not isinstance(operands[0], Operand):
        ctx.refuse("expected inputs, start_indices and updates")
    x, starts, upd = operands
    if isinstance(starts, Operand):
        ctx.refuse("start_indices given as a tensor; only constant start indices")
    starts = [_int(ctx, s, "start index") for s in np.asarray(starts).reshape(-1).tolist()]
    rank = x.type.rank
    if len(starts) != rank:
        ctx.refuse(f"{len(starts)} start indices for a rank-{rank} input")
    if isinstance(upd, Operand):
        if upd.type.dtype is not x.type.dtype or upd.type.rank != rank:
            ctx.refuse(f"updates of type {upd.type} for inputs of type {x.type}")
        upd_name, upd_shape = upd.name, upd.type.shape
    else:
        arr = np.asarray(upd).astype(x.type.dtype.to_numpy())
        if arr.ndim != rank:
            ctx.refuse(f"updates of rank {arr.ndim} for a rank-{rank} input")
        upd_name, upd_shape = ctx.constant("updates", arr), arr.shape
    pads, mask_shape, region = [], [], []
    for axis, (d, u, s) in enumerate(zip(x.type.shape, upd_shape, starts)):
        if isinstance(d, int) and isinstance(u, int):
            if u > d:
                ctx.refuse(f"an update of size {u} along axis {axis} of size {d}")
            s = min(max(s, 0), d - u)
            pads.append((s, d - s - u))
            mask_shape.append(d)
            region.append(slice(s, s + u))
        elif d == u:   # the same (dynamic) size: the update covers the axis
            pads.append((0, 0))
            mask_shape.append(1)
            region.append(slice(None))
        else:
            ctx.refuse(f"axis {axis}: sizes {d} (inputs) and {u} (updates) are not static")
    mask = np.zeros(mask_shape, bool)
    mask[tuple(region)] = True
    padded = ctx.helper("pad", [upd_name], {"pads": tuple(pads), "mode": "constant",
                                            "value": 0.0}, suffix="padded")
    return ctx.lowered("where", [ctx.constant("mask", mask), padded, x.name])


# --------------------------------------------------------------------------- running products

@lowers(knp.Cumprod)
def _cumprod(ctx: LayerContext) -> Lowered:
    """``keras.ops.cumprod(x, axis, dtype)`` (``tf.math.cumprod``; bool computed in
    int32, ``dtype`` a cast first) along a static axis of at most 512 entries -> the
    running products ``p[i] = p[i - 1] * x[i]`` (``slice``, ``multiply``) in order, as
    TensorFlow's sequential scan computes them, joined by ``concatenate``.  Refused:
    ``axis=None`` of a tensor of rank > 1 (it flattens), a non-static axis."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    name = x.name
    if ctx.layer.dtype is not None:
        target = DType.from_any(ctx.layer.dtype)
        name, dtype = _cast(ctx, name, dtype, target, "cast"), target
    if dtype is DType.BOOL:
        name, dtype = _cast(ctx, name, dtype, DType.INT32, "cast_int32"), DType.INT32
    rank = x.type.rank
    if ctx.layer.axis is None:
        if rank != 1:
            ctx.refuse("axis=None (a cumprod of the flattened tensor); give an axis")
        axis = 0
    else:
        axis = _canonical(ctx, ctx.layer.axis, rank)
    n = _static(ctx, x, axis, "a cumprod")
    if n > 512:
        ctx.refuse(f"an axis of {n} entries (at most 512 running products)")
    if n == 1:
        return ctx.lowered("identity", [name])

    def piece(i: int) -> str:
        starts = [0] * rank
        ends = [SLICE_END] * rank
        starts[axis], ends[axis] = i, i + 1
        return ctx.helper("slice", [name], {"starts": tuple(starts), "ends": tuple(ends),
                                            "steps": (1,) * rank}, suffix=f"entry{i}")

    running = [piece(0)]
    for i in range(1, n):
        running.append(ctx.helper("multiply", [running[-1], piece(i)], suffix=f"product{i}"))
    return ctx.lowered("concatenate", running, {"axis": axis})


# --------------------------------------------------------------------------- elementwise

@lowers(knp.Expm1)
def _expm1(ctx: LayerContext) -> Lowered:
    """``keras.ops.expm1(x)`` (``tf.math.expm1``; integers cast to ``floatx()``) by
    Kahan's formula (Higham, *Accuracy and Stability of Numerical Algorithms*, 1.14.1):
    ``u = exp(x)``; ``x`` where ``u == 1``, ``-1`` where ``u - 1 == -1``, ``inf`` where
    ``u`` is ``inf``, else ``(u - 1) * (x / log(u))`` (Eigen's ``generic_expm1``, which
    TensorFlow's CPU kernel runs, is this formula).  Accuracy: as exact as ``exp`` and
    ``log`` are; measured on 1e6 float32 values from 1e-6 to 100 in magnitude, the
    emitted Keras model equals TensorFlow and onnxruntime is within 4.2e-7 relative of
    it (TensorFlow itself is within 3e-7 of the float64 result); tiny values keep their
    sign, where ``exp(x) - 1`` would give 0."""
    x = _float_tensor(ctx)
    dtype = x.type.dtype
    one = _scalar(ctx, "one", 1, dtype)
    u = ctx.helper("exp", [x.name], suffix="exp")
    um1 = ctx.helper("subtract", [u, one], suffix="exp_minus_one")
    ratio = ctx.helper("divide", [x.name, ctx.helper("log", [u], suffix="log")], suffix="ratio")
    out = ctx.helper("multiply", [um1, ratio], suffix="kahan")
    inf = _scalar(ctx, "inf", np.inf, dtype)
    out = ctx.helper("where", [ctx.helper("equal", [u, inf], suffix="overflow"), inf, out],
                     suffix="large")
    minus_one = _scalar(ctx, "minus_one", -1, dtype)
    out = ctx.helper("where", [ctx.helper("equal", [um1, minus_one], suffix="underflow"),
                               minus_one, out], suffix="small")
    return ctx.lowered("where", [ctx.helper("equal", [u, one], suffix="tiny"), x.name, out])


@lowers(knp.Arctan2)
def _arctan2(ctx: LayerContext) -> Lowered:
    """``keras.ops.arctan2(x1, x2)`` (``tf.math.atan2(y=x1, x=x2)``, both cast to the
    float result dtype): ``t = arctan(|y| / |x|)`` in ``[0, pi/2]`` (0 where both are
    zero, ``pi/4`` where both are infinite), ``pi - t`` where ``x`` is negative (``-0.0``
    included, seen as ``1 / x < 0``; ``3pi/4`` for two infinities), negated where ``y`` is
    negative (``-0.0`` too): the quadrants, signed zeros (``atan2(+-0, -0) = +-pi``,
    ``atan2(-0, +0) = -0``) and infinities of C's ``atan2``; NaN in, NaN out.
    Accuracy: within float32 rounding, not bit-exact by construction: measured on 1e6
    pairs from 1e-6 to 100 in magnitude, the emitted Keras model equals TensorFlow and
    onnxruntime is within 3.1e-7 relative of it (onnxruntime's ``Where`` returns +0.0
    for a selected -0.0, so there a -0.0 result comes out +0.0)."""
    dtype = ctx.output_type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {dtype.value} result")
    yv, xv = _pair_values(ctx, dtype)
    ay = _unary(ctx, "abs", yv, np.abs, "abs_y")
    ax = _unary(ctx, "abs", xv, np.abs, "abs_x")
    t = ctx.helper("arctan", [ctx.helper("divide", [ay, ax], suffix="ratio")], suffix="atan")
    zero = _scalar(ctx, "zero", 0, dtype)
    inf = _scalar(ctx, "inf", np.inf, dtype)
    both_zero = ctx.helper("logical_and", [ctx.helper("equal", [ax, zero], suffix="x_zero"),
                                           ctx.helper("equal", [ay, zero], suffix="y_zero")],
                           suffix="both_zero")
    both_inf = ctx.helper("logical_and", [ctx.helper("equal", [ax, inf], suffix="x_inf"),
                                          ctx.helper("equal", [ay, inf], suffix="y_inf")],
                          suffix="both_inf")
    np_dtype = dtype.to_numpy()
    t = ctx.helper("where", [both_zero, zero, t], suffix="zeros")
    t = ctx.helper("where", [both_inf, _scalar(ctx, "quarter_pi", np.pi / 4, dtype), t],
                   suffix="infinities")
    x_neg = _negative_sign(ctx, xv, dtype, "x")
    pi = _scalar(ctx, "pi", np.asarray(np.pi, np_dtype), dtype)
    left = ctx.helper("subtract", [pi, t], suffix="pi_minus")
    t = ctx.helper("where", [x_neg, left, t], suffix="left_half")
    corner = ctx.helper("logical_and", [both_inf, x_neg], suffix="inf_left")
    t = ctx.helper("where", [corner, _scalar(ctx, "three_quarter_pi", 3 * np.pi / 4, dtype), t],
                   suffix="left_infinities")
    y_neg = _negative_sign(ctx, yv, dtype, "y")
    return ctx.lowered("where", [y_neg, ctx.helper("negative", [t], suffix="negated"), t])


@lowers(knp.Logaddexp2)
def _logaddexp2(ctx: LayerContext) -> Lowered:
    """``keras.ops.logaddexp2(x1, x2)`` as the TensorFlow backend writes it:
    ``where(isnan(x1 - x2), x1 + x2, maximum(x1, x2) + log1p(exp(-|x1 - x2| * log2)) /
    log2)`` with ``log2`` float32's ``log(2.0)`` cast to the float result dtype (both
    operands cast to it); the same ops in the same order."""
    a, b, dtype = _float_pair(ctx)
    log2 = np.asarray(np.log(np.float32(2.0)), np.float32).astype(dtype.to_numpy())
    log2 = _scalar(ctx, "log2", log2, dtype)
    delta = ctx.helper("subtract", [a, b], suffix="delta")
    nan = _is_nan(ctx, delta)
    total = ctx.helper("add", [a, b], suffix="sum")
    neg = ctx.helper("negative", [ctx.helper("abs", [delta], suffix="abs")], suffix="neg_abs")
    scaled = ctx.helper("multiply", [neg, log2], suffix="scaled")
    soft = ctx.helper("log1p", [ctx.helper("exp", [scaled], suffix="exp")], suffix="log1p")
    soft = ctx.helper("divide", [soft, log2], suffix="base2")
    hi = ctx.helper("maximum", [a, b], suffix="max")
    return ctx.lowered("where", [nan, total, ctx.helper("add", [hi, soft], suffix="stable")])


@lowers(knp.Fmod)
def _fmod(ctx: LayerContext) -> Lowered:
    """``keras.ops.fmod(x1, x2)`` as the TensorFlow backend computes it: ``sign(x1) *
    floormod(|x1|, |x2|)`` in the result dtype (bool computed as int32; uint8 computed in
    int32 and cast back) -> ``sign``, ``abs``, ``mod``, ``multiply``; exact (C's fmod:
    the sign of ``x1``; a float divisor of 0 gives NaN; an integer divisor of 0 is an
    error in TensorFlow)."""
    dtype = _result_type(ctx, *ctx.operands()[:2])
    if dtype is DType.BOOL:
        dtype = DType.INT32
    compute = DType.INT32 if dtype is DType.UINT8 else dtype
    av, bv = _pair_values(ctx, compute)
    sign = _unary(ctx, "sign", av, np.sign, "sign")
    r = ctx.helper("mod", [_unary(ctx, "abs", av, np.abs, "abs1"),
                           _unary(ctx, "abs", bv, np.abs, "abs2")], suffix="floormod")
    if compute is dtype:
        return ctx.lowered("multiply", [sign, r])
    return ctx.lowered("cast", [ctx.helper("multiply", [sign, r], suffix="product")],
                       {"to": dtype.value})


@lowers(knp.Heaviside)
def _heaviside(ctx: LayerContext) -> Lowered:
    """``keras.ops.heaviside(x1, x2)`` (``where(x1 < 0, 0, where(x1 > 0, 1, x2))``, both
    cast to the result dtype: integers to ``floatx()``, int64 to float64) -> ``less``,
    ``greater``, ``where``; exact (a NaN ``x1`` gives ``x2``)."""
    dtype = ctx.output_type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {dtype.value} result; only float results")
    (a, a_const), (b, _) = _pair_values(ctx, dtype)
    if a_const is not None:
        ctx.refuse("a constant x1; only a tensor x1")
    zero, one = _scalar(ctx, "zero", 0, dtype), _scalar(ctx, "one", 1, dtype)
    inner = ctx.helper("where", [ctx.helper("greater", [a, zero], suffix="positive"), one, b],
                       suffix="inner")
    return ctx.lowered("where", [ctx.helper("less", [a, zero], suffix="negative"), zero, inner])


@lowers(knp.Isclose)
def _isclose(ctx: LayerContext) -> Lowered:
    """``keras.ops.isclose(x1, x2, rtol, atol, equal_nan)``: floats ``|x1 - x2| <= atol +
    rtol * |x2|`` (rtol and atol rounded to the dtype, as TensorFlow converts them;
    ``equal_nan``: or both NaN), other dtypes ``x1 == x2``, both cast to
    ``result_type(x1, x2)``; exact.  Refused: rtol or atol given as tensors."""
    operands = ctx.operands()
    if len(operands) < 2:
        ctx.refuse("expected two operands")
    rtol = operands[2] if len(operands) > 2 else ctx.call_kwargs.get("rtol", 1e-5)
    atol = operands[3] if len(operands) > 3 else ctx.call_kwargs.get("atol", 1e-8)
    for what, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, (Operand, KerasTensor)) or np.ndim(v) != 0:
            ctx.refuse(f"{what} given as a tensor or array; only a number")
    dtype = _result_type(ctx, *operands[:2])
    av, bv = _pair_values(ctx, dtype)
    (a, _), (b, _) = av, bv
    if not dtype.is_float:
        return ctx.lowered("equal", [a, b])
    diff = ctx.helper("abs", [ctx.helper("subtract", [a, b], suffix="difference")],
                      suffix="distance")
    scaled = ctx.helper("multiply", [_scalar(ctx, "rtol", rtol, dtype),
                                     _unary(ctx, "abs", bv, np.abs, "abs2")],
                        suffix="relative")
    bound = ctx.helper("add", [_scalar(ctx, "atol", atol, dtype), scaled], suffix="bound")
    if not ctx.layer.equal_nan:
        return ctx.lowered("less_equal", [diff, bound])
    close = ctx.helper("less_equal", [diff, bound], suffix="close")
    nans = [ctx.constant(f"is_nan{i}", np.isnan(v[1])) if v[1] is not None
            else _is_nan(ctx, v[0]) for i, v in enumerate((av, bv))]
    both = ctx.helper("logical_and", nans, suffix="both_nan")
    return ctx.lowered("logical_or", [close, both])


@lowers(knp.Digitize)
def _digitize(ctx: LayerContext) -> Lowered:
    """``keras.ops.digitize(x, bins)`` with constant non-decreasing bins
    (``tf.raw_ops.Bucketize``: ``std::upper_bound``, the number of bins ``b`` with ``not
    x < b``, so a NaN lands past the last bin; the bins as float32, an integer ``x``
    compared as float32, a float64 ``x`` with the bins widened) -> ``expand_dims``,
    ``less`` against the constant bins, ``cast`` to int32, ``sum``, subtracted from the
    number of bins; exact.  Refused: bins given as a tensor, decreasing or empty bins."""
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 2 or not isinstance(operands[0], Operand):
        ctx.refuse("expected a tensor x and constant bins")
    x, bins = operands
    if isinstance(bins, Operand):
        ctx.refuse("bins given as a tensor; only constant bins")
    return ctx.lowered("subtract", bucketize(ctx, x, bins))


def bucketize(ctx: LayerContext, x: Operand, bins: Any) -> list[str]:
    """Helper nodes computing ``tf.raw_ops.Bucketize(x, bins)`` (see :func:`_digitize`),
    the int32 index of the bucket of each element, but for the last node: returns the
    operands of the ``subtract`` that gives it (the number of bins, and per element
    the number of bins above it).

    Raises:
        UnsupportedLayerError: empty, NaN or decreasing bins.
    """
    bins = np.asarray(bins, np.float64).reshape(-1).astype(np.float32)
    if bins.size == 0 or np.any(np.isnan(bins)) or np.any(np.diff(bins) < 0):
        ctx.refuse("bins that are empty, NaN or decreasing; only non-decreasing bins")
    cmp = DType.FLOAT64 if x.type.dtype is DType.FLOAT64 else DType.FLOAT32
    name = _cast(ctx, x.name, x.type.dtype, cmp, "cast")
    expanded = ctx.helper("expand_dims", [name], {"axes": (x.type.rank,)}, suffix="expanded")
    below = ctx.helper("less", [expanded, ctx.constant("bins", bins.astype(cmp.to_numpy()))],
                       suffix="below")
    # bins - (number of bins b with x < b); not logical_not(less): TensorFlow's grappler
    # rewrites that into greater_equal, which is false for NaN, in the emitted model
    below = ctx.helper("sum", [ctx.helper("cast", [below], {"to": "int32"}, suffix="ones")],
                       {"axes": (x.type.rank,), "keepdims": False}, suffix="count_below")
    return [_scalar(ctx, "bin_count", bins.size, DType.INT32), below]


@lowers(keras.layers.Discretization)
def _discretization(ctx: LayerContext) -> Lowered:
    """``keras.layers.Discretization(bin_boundaries, output_mode)`` (given or adapted
    boundaries): ``tf.raw_ops.Bucketize`` of the input (:func:`bucketize`), int32 for
    ``output_mode="int"``, else encoded as ``CategoryEncoding`` encodes (depth: the
    number of boundaries + 1, the layer's compute dtype;
    :func:`~graphir.backends.keras.indexing_converters.encoding_steps`).  Refused: no
    boundaries yet, ``sparse=True``."""
    layer = ctx.layer
    x = _one_tensor(ctx)
    if layer.bin_boundaries is None:
        ctx.refuse("no bin_boundaries (neither given nor adapted)")
    if layer.sparse:
        ctx.refuse("sparse=True; only dense outputs are supported")
    if layer.output_mode == "int":
        return ctx.lowered("subtract", bucketize(ctx, x, layer.bin_boundaries))
    bucket = ctx.helper("subtract", bucketize(ctx, x, layer.bin_boundaries), suffix="bucket")
    steps = encoding_steps(ctx, TensorType(DType.INT32, x.type.shape), layer.output_mode,
                           len(layer.bin_boundaries) + 1, DType.from_any(layer.output_dtype))
    return _chain(ctx, bucket, steps)


# --------------------------------------------------------------------------- reductions

def _reduce_axes(ctx: LayerContext, rank: int) -> tuple[int, ...]:
    from graphir.backends.keras.reduction_converters import _axes

    return _axes(ctx, ctx.layer.axis, rank)


def _reduce_attrs(ctx: LayerContext, rank: int) -> tuple[dict, tuple[int, ...]]:
    """The reduction attributes of the operation and the axes to ``squeeze`` at the
    end: a reduction to a scalar is computed with ``keepdims`` and squeezed last (the
    emitted Keras model's merge layers take no rank-0 tensors)."""
    axes = _reduce_axes(ctx, rank)
    keep = bool(ctx.layer.keepdims)
    if not keep and rank and len(axes) == rank:
        return {"axes": axes, "keepdims": True}, axes
    return {"axes": axes, "keepdims": keep}, ()


def _finish(ctx: LayerContext, op: str, inputs: list[str], squeeze: tuple[int, ...]
            ) -> Lowered:
    """``op(inputs)`` as the final node, or as a helper then ``squeeze`` of ``squeeze``."""
    if not squeeze:
        return ctx.lowered(op, inputs)
    return ctx.lowered("squeeze", [ctx.helper(op, inputs, suffix="kept")], {"axes": squeeze})


@lowers(knp.Ptp)
def _ptp(ctx: LayerContext) -> Lowered:
    """``keras.ops.ptp(x, axis, keepdims)`` (``reduce_max - reduce_min``) -> ``max``,
    ``min``, ``subtract``; exact.  Refused: bool inputs."""
    x = _one_tensor(ctx)
    if x.type.dtype is DType.BOOL:
        ctx.refuse("a bool input")
    attrs, squeeze = _reduce_attrs(ctx, x.type.rank)
    hi = ctx.helper("max", [x.name], attrs, suffix="max")
    lo = ctx.helper("min", [x.name], attrs, suffix="min")
    return _finish(ctx, "subtract", [hi, lo], squeeze)


def _not_nan_count(ctx: LayerContext, x: str, attrs: dict, dtype: DType) -> str:
    """The number of entries that are not NaN per reduced position, in ``dtype``."""
    kept = ctx.helper("logical_not", [_is_nan(ctx, x)], suffix="not_nan")
    return ctx.helper("sum", [ctx.helper("cast", [kept], {"to": dtype.value}, suffix="ones")],
                      attrs, suffix="count")


@lowers(knp.Nansum)
def _nansum(ctx: LayerContext) -> Lowered:
    """``keras.ops.nansum(x, axis, keepdims)``: floats ``reduce_sum(where(isnan(x), 0,
    x))``; integers summed as ``reduce_sum`` (bool, int8 and int16 in int32); exact.
    Refused: uint8 (summed in uint32, which the IR lacks)."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    attrs = {"axes": _reduce_axes(ctx, x.type.rank), "keepdims": bool(ctx.layer.keepdims)}
    name = x.name
    if dtype.is_float:
        name = ctx.helper("where", [_is_nan(ctx, name), _scalar(ctx, "zero", 0, dtype), name],
                          suffix="cleaned")
    elif dtype in (DType.BOOL, DType.INT8, DType.INT16):
        name = _cast(ctx, name, dtype, DType.INT32, "cast")
    elif dtype is DType.UINT8:
        ctx.refuse("a uint8 input (Keras sums it in uint32)")
    return ctx.lowered("sum", [name], attrs)


@lowers(knp.Nanmean)
def _nanmean(ctx: LayerContext) -> Lowered:
    """``keras.ops.nanmean(x, axis, keepdims)``: floats ``nansum / count of non-NaN``
    (NaN where every entry is NaN); other dtypes ``reduce_mean`` of x cast to float32;
    ``axis=()`` the identity; exact up to the order of the sum."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    if ctx.layer.axis in ((), []):
        return ctx.lowered("identity", [x.name])
    attrs, squeeze = _reduce_attrs(ctx, x.type.rank)
    if not dtype.is_float:
        attrs = {"axes": attrs["axes"], "keepdims": bool(ctx.layer.keepdims)}
        return ctx.lowered("mean", [_cast(ctx, x.name, dtype, DType.FLOAT32, "cast")], attrs)
    cleaned = ctx.helper("where", [_is_nan(ctx, x.name), _scalar(ctx, "zero", 0, dtype),
                                   x.name], suffix="cleaned")
    total = ctx.helper("sum", [cleaned], attrs, suffix="sum")
    return _finish(ctx, "divide", [total, _not_nan_count(ctx, x.name, attrs, dtype)], squeeze)


@lowers(knp.Nanmax, knp.Nanmin)
def _nanmax(ctx: LayerContext) -> Lowered:
    """``keras.ops.nanmax`` / ``nanmin(x, axis, keepdims)``: floats ``where(all NaN, NaN,
    reduce_max(where(isnan(x), -inf, x)))`` (``+inf`` and ``reduce_min`` for nanmin);
    integers ``reduce_max`` / ``reduce_min``; exact.  Refused: bool inputs."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    is_max = isinstance(ctx.layer, knp.Nanmax)
    op = "max" if is_max else "min"
    attrs, squeeze = _reduce_attrs(ctx, x.type.rank)
    if dtype is DType.BOOL:
        ctx.refuse("a bool input")
    if not dtype.is_float:
        return ctx.lowered(op, [x.name], {"axes": attrs["axes"],
                                          "keepdims": bool(ctx.layer.keepdims)})
    fill = _scalar(ctx, "fill", -np.inf if is_max else np.inf, dtype)
    cleaned = ctx.helper("where", [_is_nan(ctx, x.name), fill, x.name], suffix="cleaned")
    reduced = ctx.helper(op, [cleaned], attrs, suffix=op)
    count = _not_nan_count(ctx, x.name, attrs, DType.INT32)
    all_nan = ctx.helper("equal", [count, _scalar(ctx, "zero_count", 0, DType.INT32)],
                         suffix="all_nan")
    return _finish(ctx, "where", [all_nan, _scalar(ctx, "nan", np.nan, dtype), reduced],
                   squeeze)


@lowers(knp.Average, accepted_call_kwargs=("weights",))
def _average(ctx: LayerContext) -> Lowered:
    """``keras.ops.average(x, axis, weights)`` as the TensorFlow backend: without
    weights ``reduce_mean`` of x in the float result dtype; with weights of x's rank (or
    ``axis=None``) ``reduce_sum(x * w, axis) / reduce_sum(w, axis)``, with 1-D weights
    along ``axis`` ``tensordot(x, w, [[axis], [0]]) / reduce_sum(w)`` (an ``einsum``:
    within float rounding of TensorFlow's matmul, the order of the sum aside)."""
    operands = ctx.operands()
    if not operands or not isinstance(operands[0], Operand):
        ctx.refuse("expected the input tensor as the first argument")
    x = operands[0]
    weights = operands[1] if len(operands) > 1 else ctx.call_kwargs.get("weights")
    dtype = ctx.output_type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {dtype.value} result")
    rank = x.type.rank
    axis = ctx.layer.axis
    xs = _cast(ctx, x.name, x.type.dtype, dtype, "cast")
    axes = _reduce_axes(ctx, rank)
    if weights is None:
        return ctx.lowered("mean", [xs], {"axes": axes, "keepdims": False})
    const = None
    if isinstance(weights, Operand):
        w, w_rank = _cast(ctx, weights.name, weights.type.dtype, dtype, "weights_cast"), \
            weights.type.rank
    else:
        arr = np.asarray(weights)
        if arr.dtype.kind not in "biuf":
            ctx.refuse(f"weights of type {type(weights).__name__}")
        const = arr.astype(dtype.to_numpy())
        w, w_rank = ctx.constant("weights", const), arr.ndim

    def weight_sum(w_axes: tuple[int, ...]) -> str:
        # a constant's sum is a constant (the emitted Keras model sums no weights)
        if const is not None:
            return ctx.constant("weight_sum", np.sum(const, axis=w_axes, dtype=const.dtype))
        return ctx.helper("sum", [w], {"axes": w_axes, "keepdims": False},
                          suffix="weight_sum")

    if axis is None or w_rank == rank:
        attrs = {"axes": axes if axis is not None else tuple(range(max(rank, w_rank))),
                 "keepdims": False}
        num = ctx.helper("sum", [ctx.helper("multiply", [xs, w], suffix="weighted")], attrs,
                         suffix="weighted_sum")
        den = weight_sum(axes if axis is not None else tuple(range(w_rank)))
        return ctx.lowered("divide", [num, den])
    if w_rank != 1 or len(axes) != 1:
        ctx.refuse(f"weights of rank {w_rank} for axis={axis!r}; Keras takes weights of x's "
                   f"rank or 1-D weights along one axis")
    letters = "abcdefghijklmnop"[:rank]
    out = letters.replace(letters[axes[0]], "")
    dot = ctx.helper("einsum", [xs, w], {"equation": f"{letters},{letters[axes[0]]}->{out}"},
                     suffix="tensordot")
    den = weight_sum((0,))
    return ctx.lowered("divide", [dot, den])


@lowers(knp.Inner)
def _inner(ctx: LayerContext) -> Lowered:
    """``keras.ops.inner(x1, x2)`` (``tensordot(x1, x2, [[-1], [-1]])`` in
    ``result_type(result, float)``, cast back to the result dtype) -> ``einsum`` over
    the last axes (within float rounding of TensorFlow's matmul: the order of the sum
    may differ), ``cast``; a constant operand is a weight in the compute dtype.
    Refused: a scalar operand (Keras' ``tf.cond`` traces ``tensordot`` of the scalar,
    which fails)."""
    operands = ctx.operands()
    if len(operands) != 2 or not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("expected two operands, at least one a tensor")
    dtype = ctx.output_type.dtype
    compute = DType.from_any(kdtypes.result_type(dtype.value, float))
    a, b = _pair(ctx, compute)
    ranks = [v.type.rank if isinstance(v, Operand) else np.ndim(v) for v in operands]
    if 0 in ranks:
        # tf.cond traces both branches, and tensordot of a scalar fails in Keras 3.15
        ctx.refuse("a scalar operand (Keras' TensorFlow inner fails there)")
    letters = iter("abcdefghijklmnopqrstuvwxy")
    left = "".join(next(letters) for _ in range(ranks[0] - 1))
    right = "".join(next(letters) for _ in range(ranks[1] - 1))
    out = ctx.helper("einsum", [a, b], {"equation": f"{left}z,{right}z->{left}{right}"},
                     suffix="tensordot")
    if compute is dtype:
        return ctx.lowered("identity", [out])
    return ctx.lowered("cast", [out], {"to": dtype.value})


@lowers(knp.Median)
def _median(ctx: LayerContext) -> Lowered:
    """``keras.ops.median(x, axis, keepdims)`` (``quantile(x, 0.5, method='linear')`` of
    the TensorFlow backend: sort ascending, ``sorted[hi] * (1 - f) + sorted[lo] * f``
    with ``lo``, ``hi``, ``f`` from ``(d - 1) * 0.5`` as it computes them in float64,
    NaN where the reduced entries hold a NaN; integers cast to the float result dtype)
    over one static axis: ``top_k`` of ``-x`` negated (the ascending sort), ``gather`` of
    the two constant positions, ``multiply``, ``add``, ``where``; exact.  Refused:
    ``axis=None`` or several axes, a non-static axis."""
    x = _float_tensor(ctx)
    axis = ctx.layer.axis
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if axis is None or isinstance(axis, (list, tuple)):
        ctx.refuse(f"axis={axis!r}; only one axis")
    dtype = x.type.dtype
    rank = x.type.rank
    a = _canonical(ctx, axis, rank)

    name, d, _ = _axis_last(_AxisContext(ctx, a), x)
    exact = (np.float64(d) - 1) * np.float64(0.5)
    hi = min(max(int(np.ceil(exact)), 0), d - 1)
    lo = max(hi - 1, 0)
    hi = min(lo + 1, d - 1)
    frac = np.asarray(np.float64(hi) - exact).astype(dtype.to_numpy())
    one_minus = np.asarray(np.asarray(1, dtype.to_numpy()) - frac)
    ascending = ctx.helper("negative", [ctx.helper(
        "top_k", [ctx.helper("negative", [name], suffix="negated")],
        {"k": d, "result": "values"}, suffix="top_k")], suffix="sorted")
    last = rank - 1
    upper = ctx.helper("gather", [ascending, ctx.constant("upper", np.asarray(hi, np.int32))],
                       {"axis": last}, suffix="upper")
    lower = ctx.helper("gather", [ascending, ctx.constant("lower", np.asarray(lo, np.int32))],
                       {"axis": last}, suffix="lower")
    mid = ctx.helper("add", [
        ctx.helper("multiply", [upper, _scalar(ctx, "one_minus_fraction", one_minus, dtype)],
                   suffix="upper_part"),
        ctx.helper("multiply", [lower, _scalar(ctx, "fraction", frac, dtype)],
                   suffix="lower_part")], suffix="interpolated")
    count = ctx.helper("sum", [ctx.helper("cast", [_is_nan(ctx, x.name)], {"to": "int32"},
                                          suffix="nan_ones")],
                       {"axes": (a,), "keepdims": False}, suffix="nan_count")
    has_nan = ctx.helper("greater", [count, _scalar(ctx, "zero_count", 0, DType.INT32)],
                         suffix="has_nan")
    nan = _scalar(ctx, "nan", np.nan, dtype)
    if not ctx.layer.keepdims:
        return ctx.lowered("where", [has_nan, nan, mid])
    out = ctx.helper("where", [has_nan, nan, mid], suffix="median")
    return ctx.lowered("expand_dims", [out], {"axes": (a,)})


class _AxisContext:
    """A view of ``ctx`` whose ``layer.axis`` is ``axis`` (for :func:`_axis_last`)."""

    def __init__(self, ctx: LayerContext, axis: int):
        self._ctx = ctx
        self.layer = type("_Layer", (), {"axis": axis})()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)



# --------------------------------------------------------------------------- segments

@lowers(kmath.SegmentMax, kmath.SegmentMin)
def _segment_extreme(ctx: LayerContext) -> Lowered:
    """``keras.ops.segment_max`` / ``segment_min(data, segment_ids, num_segments)`` with
    constant 1-D ids over data's first axis (TensorFlow's
    ``tf.math.unsorted_segment_max`` / ``_min``; ``num_segments`` None: ``max(ids) +
    1``; a negative id drops its entry): each output starts at the dtype's lowest
    (highest) finite value and folds its entries in order, ``out = out if v < out else
    v`` (``v > out`` for min), so ``-inf`` alone gives the lowest finite value, a NaN is
    taken and forgotten at the next entry, an empty segment keeps the bound -> per row a
    ``gather`` and that step as ``less`` / ``greater`` and ``where``, ``concatenate``,
    ``where`` with a constant mask of the empty segments; exact.  Refused: ids given as a
    tensor, ids not below ``num_segments``, ``sorted=True`` (``tf.math.segment_max``:
    zeros for empty segments, another reducer), bool and uint8 data."""
    layer = ctx.layer
    is_max = isinstance(layer, kmath.SegmentMax)
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 2 or not isinstance(operands[0], Operand):
        ctx.refuse("expected a data tensor and segment ids")
    data, ids = operands
    if isinstance(ids, Operand):
        ctx.refuse("segment ids given as a tensor; only constant ids")
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or ids.size == 0:
        ctx.refuse(f"segment ids of shape {ids.shape} and dtype {ids.dtype}; only 1-D "
                   f"integer ids over data's first axis")
    dtype = data.type.dtype
    if dtype is DType.BOOL or dtype is DType.UINT8:
        ctx.refuse(f"data of dtype {dtype.value}")
    if layer.sorted:
        ctx.refuse("sorted=True (tf.math.segment_max: other empty-segment and NaN rules)")
    segments = (int(ids.max()) + 1 if layer.num_segments is None
                else _int(ctx, layer.num_segments, "num_segments"))
    if segments < 1 or np.any(ids >= segments):
        ctx.refuse(f"segment ids {ids.tolist()} for {segments} segments")
    size = data.type.shape[0]
    if isinstance(size, int) and size != ids.size:
        ctx.refuse(f"{ids.size} segment ids for data of {size} rows")
    np_dtype = dtype.to_numpy()
    info = np.finfo(np_dtype) if dtype.is_float else np.iinfo(np_dtype)
    bound = _scalar(ctx, "bound", info.min if is_max else info.max, dtype)
    keep = "less" if is_max else "greater"
    parts = []
    for s in range(segments):
        rows = np.flatnonzero(ids == s)
        out = bound
        for r in (rows if rows.size else [0]):
            v = ctx.helper("gather", [data.name, ctx.constant(f"row{r}", np.array([r], np.int32))],
                           {"axis": 0}, suffix=f"segment{s}_row{r}")
            if not rows.size:   # an empty segment: only the row's shape is used
                out = v
                break
            # TensorFlow's fold: out = v unless v < out (v > out for min); a NaN v is
            # taken, and forgotten at the next entry
            out = ctx.helper("where", [ctx.helper(keep, [v, out], suffix=f"segment{s}_keeps"),
                                       out, v], suffix=f"segment{s}_after{r}")
        parts.append(out)
    joined = parts[0] if segments == 1 else ctx.helper("concatenate", parts, {"axis": 0},
                                                         suffix="joined")
    empty = np.array([not np.any(ids == s) for s in range(segments)], bool)
    if not empty.any():
        return ctx.lowered("identity", [joined])
    mask = ctx.constant("empty", empty.reshape((segments,) + (1,) * (data.type.rank - 1)))
    return ctx.lowered("where", [mask, bound, joined])


# --------------------------------------------------------------------------- scatters

def _scatter_indices(ctx: LayerContext, indices: Any, lead: tuple[Any, ...]
                     ) -> tuple[np.ndarray, tuple[int, ...]]:
    """Constant scatter indices ``(k, d)`` checked against the indexed sizes ``lead``
    (the first ``d`` sizes of the target, which must be static): the indices and the
    indexed shape."""
    if isinstance(indices, Operand):
        ctx.refuse("indices given as a tensor; only constant indices")
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu" or idx.ndim != 2 or idx.shape[0] == 0:
        ctx.refuse(f"indices of shape {idx.shape} and dtype {idx.dtype}; only a constant "
                   f"(num_updates, index_depth) integer array")
    d = idx.shape[1]
    if not 1 <= d <= len(lead):
        ctx.refuse(f"an index depth of {d} for a rank-{len(lead)} target")
    sizes = lead[:d]
    if not all(isinstance(s, int) for s in sizes):
        ctx.refuse(f"indexed sizes {sizes} that are not static")
    if np.any(idx < 0) or np.any(idx >= np.asarray(sizes)):
        ctx.refuse(f"indices outside the indexed sizes {sizes} (TensorFlow fails there)")
    return idx.astype(np.int64), tuple(sizes)


def _rows_of(ctx: LayerContext, v: Any, k: int, dtype: DType | None, what: str
             ) -> tuple[Operand | np.ndarray, tuple[Any, ...]]:
    """The update rows of a scatter: a tensor (of ``dtype`` when given) or a constant
    array, with ``k`` rows; the value and its shape."""
    if isinstance(v, Operand):
        if dtype is not None and v.type.dtype is not dtype:
            ctx.refuse(f"{what} of dtype {v.type.dtype.value} for a {dtype.value} target")
        shape = v.type.shape
    else:
        v = np.asarray(v)
        if v.dtype.kind not in "biuf":
            ctx.refuse(f"{what} of dtype {v.dtype}")
        if dtype is not None:
            v = v.astype(dtype.to_numpy())
        shape = v.shape
    if not shape or (isinstance(shape[0], int) and shape[0] != k):
        ctx.refuse(f"{what} of shape {shape} for {k} indices")
    return v, tuple(shape)


@lowers(kcore.ScatterUpdate)
def _scatter_update(ctx: LayerContext) -> Lowered:
    """``keras.ops.scatter_update(inputs, indices, updates)``
    (``tf.tensor_scatter_nd_update``: ``inputs[indices[j]] = updates[j]``).

    Constant, distinct indices over static indexed sizes -> a ``gather`` of the update
    rows by a constant map of the indexed positions, ``where`` with a constant mask of
    them (exact, and the indices are checked here).  Indices given as a tensor (keras_hub
    Gemma3's image tokens placed at run-time positions), or constant ones over indexed
    sizes known only at run time (a row of the batch) -> ``scatter_nd_update``.
    Refused: ``reduction`` other than None, repeated constant indices (TensorFlow leaves
    the order of their updates undefined), constant indices out of range or of another
    form, updates of another dtype or shape."""
    if ctx.layer.reduction is not None:
        ctx.refuse(f"reduction={ctx.layer.reduction!r}; only None")
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 3 or not isinstance(operands[0], Operand):
        ctx.refuse("expected inputs, indices and updates")
    x, indices, updates = operands
    static = all(isinstance(s, int) for s in x.type.shape[:_index_depth(indices)])
    if isinstance(indices, Operand) or not static:
        return _scatter_nd_update(ctx, x, indices, updates)
    idx, sizes = _scatter_indices(ctx, indices, x.type.shape)
    keys = _distinct_rows(ctx, idx)
    upd, shape = _rows_of(ctx, updates, len(keys), x.type.dtype, "updates")
    trailing = x.type.rank - len(sizes)
    if len(shape) != 1 + trailing:
        ctx.refuse(f"updates of shape {shape} for inputs of shape {x.type.shape}")
    pos = np.zeros(sizes, np.int32)
    mask = np.zeros(sizes, bool)
    for j, key in enumerate(keys):
        pos[key], mask[key] = j, True
    if isinstance(upd, Operand):
        picked = ctx.helper("gather", [upd.name, ctx.constant("positions", pos)], {"axis": 0},
                            suffix="picked")
    else:
        picked = ctx.constant("picked", np.take(upd, pos, axis=0))
    mask = ctx.constant("mask", mask.reshape(sizes + (1,) * trailing))
    return ctx.lowered("where", [mask, picked, x.name])


def _distinct_rows(ctx: LayerContext, idx: np.ndarray) -> list[tuple[int, ...]]:
    """The index tuples of constant scatter indices ``(..., d)``, in order.

    Raises:
        UnsupportedLayerError: a tuple repeats (TensorFlow leaves the order of their
            updates undefined).
    """
    keys = [tuple(r) for r in idx.reshape(-1, idx.shape[-1]).tolist()]
    if len(set(keys)) != len(keys):
        ctx.refuse("repeated indices (TensorFlow leaves the order of their updates "
                   "undefined)")
    return keys


def _index_depth(indices: Any) -> int:
    """The index depth (last size) of scatter indices, a tensor or a constant."""
    if isinstance(indices, Operand):
        depth = indices.type.shape[-1] if indices.type.rank else 0
        return depth if isinstance(depth, int) else 0
    arr = np.asarray(indices)
    return int(arr.shape[-1]) if arr.ndim else 0


def _scatter_nd_update(ctx: LayerContext, x: Operand, indices: Any, updates: Any) -> Lowered:
    """``scatter_nd_update`` of ``x``: tensor indices as they are (the op's type rule
    checks their dtype, depth and the updates' shape), constant ones as an int32 weight
    after the checks of :func:`_scatter_indices` that need no static size (a constant
    index that repeats is refused; one past a run-time size fails at run time, as in
    TensorFlow); constant updates as a weight of ``x``'s dtype."""
    if isinstance(indices, Operand):
        idx_name = indices.name
    else:
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu" or idx.ndim < 1 or idx.size == 0 or np.any(idx < 0):
            ctx.refuse(f"constant indices of shape {idx.shape} and dtype {idx.dtype}; only "
                       f"non-negative integers (num_updates, index_depth)")
        _distinct_rows(ctx, idx)
        idx_name = ctx.constant("indices", idx.astype(np.int32))
    if isinstance(updates, Operand):
        upd_name = updates.name
    else:
        upd = np.asarray(updates)
        if upd.dtype.kind not in "biuf":
            ctx.refuse(f"updates of dtype {upd.dtype}")
        upd_name = ctx.constant("updates", upd.astype(x.type.dtype.to_numpy()))
    return ctx.lowered("scatter_nd_update", [x.name, idx_name, upd_name])


@lowers(kcore.Scatter)
def _scatter(ctx: LayerContext) -> Lowered:
    """``keras.ops.scatter(indices, values, shape)`` with constant indices
    (``tf.scatter_nd``: zeros, ``values[j]`` added at ``indices[j]`` in order, repeated
    indices summed) -> ``pad`` of the values with a zero row, per repetition level a
    ``gather`` by a constant map (the zero row where a position has fewer updates), and
    ``0 + g0 + g1 + ...`` with ``add``, the order TensorFlow's CPU kernel adds in;
    exact.  Refused: indices given as a tensor or out of range, a non-static shape,
    values that are not a tensor."""
    operands = ctx.operands(constant_lists=True)
    if len(operands) != 2 or not isinstance(operands[1], Operand):
        ctx.refuse("expected constant indices and a values tensor")
    indices, values = operands
    shape = ctx.layer.shape
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        ctx.refuse(f"shape={shape!r}; only static sizes")
    shape = tuple(int(s) for s in shape)
    idx, sizes = _scatter_indices(ctx, indices, shape)
    k = len(idx)
    _, vshape = _rows_of(ctx, values, k, None, "values")
    if len(vshape) != 1 + len(shape) - len(sizes):
        ctx.refuse(f"values of shape {vshape} for an output of shape {shape}")
    dtype = values.type.dtype
    if dtype is DType.BOOL:
        ctx.refuse("bool values")
    levels: list[np.ndarray] = []
    seen: dict[tuple, int] = {}
    for j, key in enumerate(tuple(r) for r in idx.tolist()):
        level = seen.get(key, 0)
        seen[key] = level + 1
        if level == len(levels):
            levels.append(np.full(sizes, k, np.int32))   # k: the zero row
        levels[level][key] = j
    rank = len(vshape)
    padded = ctx.helper("pad", [values.name], {"pads": ((0, 1),) + ((0, 0),) * (rank - 1),
                                               "mode": "constant", "value": 0.0},
                        suffix="with_zero_row")
    total = _scalar(ctx, "zero", 0, dtype)
    for i, level in enumerate(levels):
        picked = ctx.helper("gather", [padded, ctx.constant(f"positions{i}", level)],
                            {"axis": 0}, suffix=f"picked{i}")
        if i == len(levels) - 1:
            return ctx.lowered("add", [total, picked])
        total = ctx.helper("add", [total, picked], suffix=f"sum{i}")
    raise AssertionError("unreachable")
