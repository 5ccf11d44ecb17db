"""More ``keras.ops`` operations lowered as compositions of existing IR ops, each
computing what Keras 3 computes on TensorFlow (the function of the same name in
``keras/src/backend/tensorflow/numpy.py``, ``nn.py`` or ``linalg.py``, cited per
converter), registered with :func:`~graphir.backends.keras.registry.lowers`.

* ``Norm`` (``keras.ops.linalg.norm``): vector norms (one axis) ``ord`` None/2
  (``sqrt(sum(x * x))``), ``inf`` / ``-inf`` (``max`` / ``min`` of ``abs``), 0 (count of
  nonzero entries), any other number ``p`` (``sum(|x| ** p) ** (1 / p)``); matrix norms
  (two axes) ``None`` / ``'fro'``, 1 / -1 (column sums then ``max`` / ``min``), ``inf``
  / ``-inf`` (row sums then ``max`` / ``min``);
* ``Normalize`` (``keras.ops.normalize``): order 2 ``x * minimum(rsqrt(sum(square(x))),
  1 / epsilon)``, other orders ``x / maximum(norm(x, order), epsilon)``;
* ``Exp2`` (``pow(2, x)``), ``Cbrt`` (``sign(x) * pow(|x|, 1/3)``), ``Deg2rad`` /
  ``Rad2deg`` (``x * (pi / 180)`` / ``x * (180 / pi)``, the quotient rounded in x's
  dtype), ``Hypot`` (``max * sqrt(1 + divide_no_nan(min, max) ** 2)``), ``Logaddexp``,
  ``Sinc``, ``Squareplus``, ``SoftShrink``, ``SparsePlus``, ``DivideNoNan``
  (``where(y == 0, 0, x / y)``), ``CountNonzero`` (``sum(cast(x != 0, int32))``);
* ``Sort`` / ``Argsort`` along a static axis (``tf.sort`` / ``tf.argsort``: ``top_k``
  of the negated values over the whole axis, moved last and back);
* ``Outer`` (both flattened by ``array_reshape``, ``multiply``; static shapes),
  ``Select`` (``where`` s in reverse order), ``SaturateCast`` (``clip`` to the shared
  range, ``cast``);
* ``Trace`` (a constant ``eye`` mask, ``where``, ``sum``) and ``Diagonal`` (the two
  axes moved last, merged with ``reshape``, a ``gather`` of constant flat indices),
  static sizes on the two axes;
* ``SegmentSum`` (``one_hot`` of the ids contracted with the data by ``einsum``; a static
  ``num_segments``).

Integer and bool inputs of the float functions (and, in the binary ones, a tensor of
another dtype than the result) are cast to the float dtype Keras records for the result,
as the backends cast them.  Refused by name: matrix norms 2 / -2 / ``'nuc'`` (singular
values), ``axis=None`` forms that flatten a tensor, non-static sizes where the composition needs
them.  ``expm1`` and ``arctan2`` are in :mod:`.more_op_converters` (within float
rounding, not bit-exact by construction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras.src.ops import core as kcore
from keras.src.ops import linalg as klinalg
from keras.src.ops import math as kmath
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.composite_converters import (_epsilon, _float32_input, _scalar,
                                                         _static)
from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.indexing_converters import (_canonical, _index_operand, _int,
                                                       _one_tensor)
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.tensor_types import TensorType

__all__: list[str] = []


def _float_tensor(ctx: LayerContext, cast_ints: bool = True) -> Operand:
    """The single tensor argument as a float tensor: an integer or bool tensor is cast
    by a helper to the float dtype Keras records for the result (the backends cast it
    before computing: to ``floatx()``, or float64 for int64 where they say so), when
    ``cast_ints``; refused otherwise."""
    x = _one_tensor(ctx)
    if x.type.dtype.is_float:
        return x
    target = ctx.output_type.dtype if ctx.output_type is not None else None
    if not cast_ints or target is None or not target.is_float:
        ctx.refuse(f"a {x.type.dtype.value} input; only float tensors are supported (cast "
                   f"it to a float dtype first)")
    name = ctx.helper("cast", [x.name], {"to": target.value}, suffix="cast")
    return Operand(name, TensorType(target, x.type.shape))


def _float_pair(ctx: LayerContext) -> tuple[str, str, DType]:
    """The two operands of a binary float operation, in the float dtype Keras records
    for the result (the backend's ``result_type(x1, x2, float)``, to which it casts both
    with ``tf.cast``): a tensor of another dtype cast by a helper, a constant a weight
    ``<operation>/constant<i>`` of that dtype."""
    operands = ctx.operands()
    if len(operands) != 2 or not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("expected two operands, at least one a tensor")
    dtype = ctx.output_type.dtype if ctx.output_type is not None else next(
        v for v in operands if isinstance(v, Operand)).type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {dtype.value} result; only float results are supported")
    names = []
    for i, v in enumerate(operands):
        if isinstance(v, Operand):
            names.append(v.name if v.type.dtype is dtype else ctx.helper(
                "cast", [v.name], {"to": dtype.value}, suffix=f"cast{i}"))
        else:
            arr = np.asarray(v)
            if arr.dtype.kind not in "biuf":
                ctx.refuse(f"a constant operand of type {type(v).__name__}")
            names.append(ctx.constant(f"constant{i}", arr.astype(dtype.to_numpy())))
    return names[0], names[1], dtype


# --------------------------------------------------------------------------- norms

def _abs(ctx: LayerContext, x: str) -> str:
    """An ``abs`` helper of ``x``."""
    return ctx.helper("abs", [x], suffix="abs")


def _vector_norm(ctx: LayerContext, x: Operand, ord_: Any, axis: int, keep: bool,
                 final: bool = True) -> Lowered | str:
    """``linalg.norm`` of one axis (``keras/src/backend/tensorflow/linalg.py``): the final
    node, or a helper's name when ``final`` is false."""
    dtype = x.type.dtype
    attrs = {"axes": (axis,), "keepdims": keep}

    def out(op: str, inputs: list[str], a: dict | None = None) -> Lowered | str:
        return ctx.lowered(op, inputs, a) if final else ctx.helper(op, inputs, a, suffix="norm")

    if ord_ is None or (not isinstance(ord_, str) and ord_ == 2):
        sq = ctx.helper("multiply", [x.name, x.name], suffix="square")
        return out("sqrt", [ctx.helper("sum", [sq], attrs, suffix="sum")])
    if isinstance(ord_, str):
        ctx.refuse(f"ord={ord_!r} for a vector norm")
    if ord_ == float("inf"):
        return out("max", [_abs(ctx, x.name)], attrs)
    if ord_ == float("-inf"):
        return out("min", [_abs(ctx, x.name)], attrs)
    if ord_ == 0:
        nonzero = ctx.helper("not_equal", [x.name, _scalar(ctx, "zero", 0, dtype)],
                             suffix="nonzero")
        count = ctx.helper("cast", [nonzero], {"to": dtype.value}, suffix="count")
        return out("sum", [count], attrs)
    p = np.asarray(ord_, dtype.to_numpy())
    powered = ctx.helper("power", [_abs(ctx, x.name), _scalar(ctx, "ord", p, dtype)],
                         suffix="pow")
    total = ctx.helper("sum", [powered], attrs, suffix="sum")
    inv = np.asarray(1.0, dtype.to_numpy()) / p
    return out("power", [total, _scalar(ctx, "inv_ord", inv, dtype)])


def _matrix_norm(ctx: LayerContext, x: Operand, ord_: Any, row: int, col: int, keep: bool
                 ) -> Lowered:
    """``linalg.norm`` of two axes (``row``, ``col``, canonical)."""
    if ord_ is None or ord_ == "fro":
        sq = ctx.helper("multiply", [x.name, x.name], suffix="square")
        total = ctx.helper("sum", [sq], {"axes": tuple(sorted((row, col))), "keepdims": keep},
                           suffix="sum")
        return ctx.lowered("sqrt", [total])
    if isinstance(ord_, str) or ord_ not in (1, -1, float("inf"), float("-inf")):
        ctx.refuse(f"ord={ord_!r} for a matrix norm (2, -2 and 'nuc' need singular values); "
                   f"supported: None, 'fro', 1, -1, inf, -inf")
    if ord_ in (1, -1):   # sum over the rows, then the extreme over the columns
        first, second = row, col
    else:
        first, second = col, row
    if not keep and second > first:
        second -= 1
    summed = ctx.helper("sum", [_abs(ctx, x.name)], {"axes": (first,), "keepdims": keep},
                        suffix="sum")
    op = "max" if ord_ in (1, float("inf")) else "min"
    return ctx.lowered(op, [summed], {"axes": (second,), "keepdims": keep})


def _norm_axes(ctx: LayerContext, axis: Any, rank: int) -> list[int]:
    """``axis`` of a norm: None is every axis; an int or a sequence, canonical, in the
    given order (it decides rows and columns of a matrix norm)."""
    if axis is None:
        raw = list(range(rank))
    elif isinstance(axis, (list, tuple)):
        raw = list(axis)
    else:
        raw = [axis]
    axes = [_canonical(ctx, a, rank) for a in raw]
    if len(set(axes)) != len(axes):
        ctx.refuse(f"axis={axis!r} names an axis twice")
    if len(axes) not in (1, 2):
        ctx.refuse(f"a norm over {len(axes)} axes; Keras takes one (vector) or two (matrix)")
    return axes


@lowers(klinalg.Norm)
def _norm(ctx: LayerContext) -> Lowered:
    """``keras.ops.linalg.norm(x, ord, axis, keepdims)`` on a float tensor, as
    ``norm`` in ``keras/src/backend/tensorflow/linalg.py``: one axis -> ord None/2
    ``sqrt(sum(x * x))``, inf/-inf ``max``/``min`` of ``|x|``, 0 the count of nonzero
    entries (in x's dtype), another number ``p`` ``pow(sum(pow(|x|, p)), 1 / p)`` (``p``
    and ``1 / p`` rounded to x's dtype); two axes ``(row, col)`` -> None/'fro' ``sqrt``
    of the sum of squares, 1/-1 ``max``/``min`` over ``col`` of the sums of ``|x|`` over
    ``row``, inf/-inf the same with the axes swapped; integers cast to the float result
    dtype first.  Refused: ord 2/-2/'nuc' of a matrix (singular values), more than two
    axes."""
    x = _float_tensor(ctx)
    axes = _norm_axes(ctx, ctx.layer.axis, x.type.rank)
    keep = bool(ctx.layer.keepdims)
    if len(axes) == 1:
        return _vector_norm(ctx, x, ctx.layer.ord, axes[0], keep)
    return _matrix_norm(ctx, x, ctx.layer.ord, axes[0], axes[1], keep)


@lowers(knn.Normalize)
def _normalize(ctx: LayerContext) -> Lowered:
    """``keras.ops.normalize(x, axis, order, epsilon)`` (``_normalize`` in
    ``keras/src/ops/nn.py``) on float32: order 2 is ``x * minimum(rsqrt(sum(square(x),
    axis, keepdims)), 1 / epsilon)``; any other order ``x / maximum(norm(x, order, axis,
    keepdims=True), epsilon)`` with the vector or matrix norm of :func:`_norm`.
    Refused: other dtypes (Keras computes them in float32 and casts back), an order
    that is not an int >= 1."""
    from graphir.backends.keras.reduction_converters import _axes

    x = _float32_input(ctx)
    order = ctx.layer.order
    if order == 2 and not isinstance(order, bool):
        axes = _axes(ctx, ctx.layer.axis, x.type.rank)
        total = ctx.helper("sum", [ctx.helper("square", [x.name], suffix="square")],
                           {"axes": axes, "keepdims": True}, suffix="sum")
        inv = ctx.helper("rsqrt", [total], suffix="inv_norm")
        cap = _scalar(ctx, "inv_epsilon", 1.0 / _epsilon(ctx.layer.epsilon), DType.FLOAT32)
        inv = ctx.helper("minimum", [inv, cap], suffix="capped")
        return ctx.lowered("multiply", [x.name, inv])
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        ctx.refuse(f"order={order!r}; Keras takes an int >= 1")
    axes = _norm_axes(ctx, ctx.layer.axis, x.type.rank)
    if len(axes) == 1:
        norm = _vector_norm(ctx, x, order, axes[0], True, final=False)
    else:
        norm = ctx.helper(**_as_helper(_matrix_norm(ctx, x, order, axes[0], axes[1], True)),
                          suffix="norm")
    eps = _scalar(ctx, "epsilon", _epsilon(ctx.layer.epsilon), x.type.dtype)
    denom = ctx.helper("maximum", [norm, eps], suffix="denominator")
    return ctx.lowered("divide", [x.name, denom])


def _as_helper(lowered: Lowered) -> dict[str, Any]:
    """A final :class:`Lowered` as keyword arguments of :meth:`LayerContext.helper`."""
    return {"op": lowered.op, "inputs": list(lowered.inputs), "attrs": dict(lowered.attrs)}


# --------------------------------------------------------------------------- elementwise

@lowers(knp.Exp2)
def _exp2(ctx: LayerContext) -> Lowered:
    """``keras.ops.exp2(x)`` (``tf.math.pow(2.0, x)``, an integer x cast to ``floatx()``
    first) -> ``power`` of the constant 2 in the float dtype."""
    x = _float_tensor(ctx)
    return ctx.lowered("power", [_scalar(ctx, "two", 2, x.type.dtype), x.name])


@lowers(knp.Cbrt)
def _cbrt(ctx: LayerContext) -> Lowered:
    """``keras.ops.cbrt(x)`` (``tf.sign(x) * tf.pow(tf.abs(x), 1.0 / 3.0)``, the exponent
    rounded to the float dtype; integers cast first: int64 to float64, others to
    ``floatx()``)."""
    x = _float_tensor(ctx)
    dtype = x.type.dtype
    third = np.asarray(1.0 / 3.0, dtype.to_numpy())
    root = ctx.helper("power", [_abs(ctx, x.name), _scalar(ctx, "third", third, dtype)],
                      suffix="root")
    return ctx.lowered("multiply", [ctx.helper("sign", [x.name], suffix="sign"), root])


@lowers(knp.Deg2rad, knp.Rad2deg)
def _angle(ctx: LayerContext) -> Lowered:
    """``keras.ops.deg2rad(x)`` (``x * (pi / 180)``) / ``rad2deg(x)`` (``x * (180 /
    pi)``), pi and the quotient rounded to x's float dtype as TensorFlow computes them ->
    ``multiply`` by that constant."""
    x = _float_tensor(ctx)
    np_dtype = x.type.dtype.to_numpy()
    pi, d180 = np.asarray(np.pi, np_dtype), np.asarray(180.0, np_dtype)
    factor = pi / d180 if isinstance(ctx.layer, knp.Deg2rad) else d180 / pi
    return ctx.lowered("multiply", [x.name, _scalar(ctx, "factor", factor, x.type.dtype)])


def _divide_no_nan(ctx: LayerContext, a: str, b: str, dtype: DType, final: bool
                   ) -> Lowered | str:
    """``tf.math.divide_no_nan(a, b)``: 0 where ``b == 0`` (whatever ``a``), else ``a / b``."""
    zero = _scalar(ctx, "zero", 0, dtype)
    is_zero = ctx.helper("equal", [b, zero], suffix="denominator_is_zero")
    quotient = ctx.helper("divide", [a, b], suffix="quotient")
    if final:
        return ctx.lowered("where", [is_zero, zero, quotient])
    return ctx.helper("where", [is_zero, zero, quotient], suffix="divide_no_nan")


@lowers(knp.DivideNoNan)
def _divide_no_nan_op(ctx: LayerContext) -> Lowered:
    """``keras.ops.divide_no_nan(x1, x2)`` (``tf.math.divide_no_nan``: 0 where ``x2`` is 0,
    even for a NaN ``x1``), both cast to the float result dtype -> ``equal``, ``divide``,
    ``where``."""
    a, b, dtype = _float_pair(ctx)
    return _divide_no_nan(ctx, a, b, dtype, final=True)


@lowers(knp.Hypot)
def _hypot(ctx: LayerContext) -> Lowered:
    """``keras.ops.hypot(x1, x2)`` as ``hypot`` in ``keras/src/backend/tensorflow/numpy.py``:
    ``max * sqrt(1 + square(divide_no_nan(min, max)))`` of ``|x1|``, ``|x2|``, both cast
    to the float result dtype."""
    a, b, dtype = _float_pair(ctx)
    a_abs = ctx.helper("abs", [a], suffix="abs1")
    b_abs = ctx.helper("abs", [b], suffix="abs2")
    hi = ctx.helper("maximum", [a_abs, b_abs], suffix="max")
    lo = ctx.helper("minimum", [a_abs, b_abs], suffix="min")
    ratio = _divide_no_nan(ctx, lo, hi, dtype, final=False)
    sq = ctx.helper("square", [ratio], suffix="ratio_squared")
    grown = ctx.helper("add", [_scalar(ctx, "one", 1, dtype), sq], suffix="plus_one")
    return ctx.lowered("multiply", [hi, ctx.helper("sqrt", [grown], suffix="sqrt")])


@lowers(knp.Logaddexp)
def _logaddexp(ctx: LayerContext) -> Lowered:
    """``keras.ops.logaddexp(x1, x2)`` as the TensorFlow backend writes it:
    ``where(isnan(x1 - x2), x1 + x2, maximum(x1, x2) + log1p(exp(-|x1 - x2|)))``, both
    cast to the float result dtype."""
    a, b, dtype = _float_pair(ctx)
    delta = ctx.helper("subtract", [a, b], suffix="delta")
    nan = ctx.helper("not_equal", [delta, delta], suffix="delta_is_nan")
    total = ctx.helper("add", [a, b], suffix="sum")
    neg = ctx.helper("negative", [ctx.helper("abs", [delta], suffix="abs")], suffix="neg_abs")
    soft = ctx.helper("log1p", [ctx.helper("exp", [neg], suffix="exp")], suffix="log1p")
    hi = ctx.helper("maximum", [a, b], suffix="max")
    return ctx.lowered("where", [nan, total, ctx.helper("add", [hi, soft], suffix="stable")])


@lowers(knp.Sinc)
def _sinc(ctx: LayerContext) -> Lowered:
    """``keras.ops.sinc(x)``: ``where(x == 0, 1, sin(pi * x) / (pi * x))`` with pi in the
    float dtype (integers cast first)."""
    x = _float_tensor(ctx)
    dtype = x.type.dtype
    pix = ctx.helper("multiply", [x.name, _scalar(ctx, "pi", np.pi, dtype)], suffix="pi_x")
    ratio = ctx.helper("divide", [ctx.helper("sin", [pix], suffix="sin"), pix], suffix="ratio")
    is_zero = ctx.helper("equal", [x.name, _scalar(ctx, "zero", 0, dtype)], suffix="is_zero")
    return ctx.lowered("where", [is_zero, _scalar(ctx, "one", 1, dtype), ratio])


@lowers(knn.Squareplus)
def _squareplus(ctx: LayerContext) -> Lowered:
    """``keras.ops.squareplus(x, b)`` (``(x + sqrt(square(x) + b)) / 2``, ``b`` in x's
    dtype) on a float tensor."""
    x = _float_tensor(ctx, cast_ints=False)
    dtype = x.type.dtype
    b = ctx.layer.b
    if isinstance(b, bool) or not isinstance(b, (int, float, np.integer, np.floating)):
        ctx.refuse(f"b={b!r}; only a number is supported")
    sq = ctx.helper("square", [x.name], suffix="square")
    root = ctx.helper("sqrt", [ctx.helper("add", [sq, _scalar(ctx, "b", b, dtype)],
                                          suffix="plus_b")], suffix="sqrt")
    y = ctx.helper("add", [x.name, root], suffix="y")
    return ctx.lowered("divide", [y, _scalar(ctx, "two", 2, dtype)])


@lowers(knn.SoftShrink)
def _soft_shrink(ctx: LayerContext) -> Lowered:
    """``keras.ops.soft_shrink(x, threshold)``: ``where(x > t, x - t, where(x < -t, x + t,
    0))``, ``t`` in x's float dtype."""
    x = _float_tensor(ctx, cast_ints=False)
    dtype = x.type.dtype
    t = _scalar(ctx, "threshold", ctx.layer.threshold, dtype)
    neg_t = _scalar(ctx, "neg_threshold", -np.asarray(ctx.layer.threshold, dtype.to_numpy()),
                    dtype)
    low = ctx.helper("less", [x.name, neg_t], suffix="below")
    inner = ctx.helper("where", [low, ctx.helper("add", [x.name, t], suffix="raised"),
                                 _scalar(ctx, "zero", 0, dtype)], suffix="inner")
    high = ctx.helper("greater", [x.name, t], suffix="above")
    return ctx.lowered("where", [high, ctx.helper("subtract", [x.name, t], suffix="lowered"),
                                 inner])


@lowers(knn.SparsePlus)
def _sparse_plus(ctx: LayerContext) -> Lowered:
    """``keras.ops.sparse_plus(x)``: ``where(x <= -1, 0, where(x < 1, 0.25 * (x + 1) ** 2,
    x))`` on a float tensor (``tf.pow(y, 2)`` is ``y * y`` exactly)."""
    x = _float_tensor(ctx, cast_ints=False)
    dtype = x.type.dtype
    one = _scalar(ctx, "one", 1, dtype)
    shifted = ctx.helper("add", [x.name, one], suffix="plus_one")
    quad = ctx.helper("multiply", [_scalar(ctx, "quarter", 0.25, dtype),
                                   ctx.helper("square", [shifted], suffix="square")],
                      suffix="quadratic")
    mid = ctx.helper("where", [ctx.helper("less", [x.name, one], suffix="below_one"), quad,
                               x.name], suffix="upper")
    low = ctx.helper("less_equal", [x.name, _scalar(ctx, "minus_one", -1, dtype)],
                     suffix="at_most_minus_one")
    return ctx.lowered("where", [low, _scalar(ctx, "zero", 0, dtype), mid])


@lowers(knp.CountNonzero)
def _count_nonzero(ctx: LayerContext) -> Lowered:
    """``keras.ops.count_nonzero(x, axis)`` (``tf.math.count_nonzero(x, axis,
    dtype="int32")``) -> ``not_equal`` to 0, ``cast`` to int32, ``sum``."""
    from graphir.backends.keras.reduction_converters import _axes

    x = _one_tensor(ctx)
    axes = _axes(ctx, ctx.layer.axis, x.type.rank)
    if x.type.dtype is DType.BOOL:
        nonzero = x.name
    else:
        nonzero = ctx.helper("not_equal", [x.name, _scalar(ctx, "zero", 0, x.type.dtype)],
                             suffix="nonzero")
    ones = ctx.helper("cast", [nonzero], {"to": "int32"}, suffix="ones")
    return ctx.lowered("sum", [ones], {"axes": axes, "keepdims": False})


# --------------------------------------------------------------------------- sorting

def _axis_last(ctx: LayerContext, x: Operand) -> tuple[str, int, tuple[int, ...] | None]:
    """``x`` with the operation's (static-size) axis moved last: the value name, the
    axis size and the permutation that moves it back (None when it already is last)."""
    axis = ctx.layer.axis
    if axis is None:
        ctx.refuse("axis=None (a sort of the flattened tensor); give an axis")
    rank = x.type.rank
    if rank == 0:
        ctx.refuse("a rank-0 input")
    a = _canonical(ctx, axis, rank)
    n = _static(ctx, x, a, "a sort")
    if a == rank - 1:
        return x.name, n, None
    perm = tuple(i for i in range(rank) if i != a) + (a,)
    back = tuple(int(i) for i in np.argsort(perm))
    return ctx.helper("transpose", [x.name], {"perm": perm}, suffix="axis_last"), n, back


@lowers(knp.Sort, knp.Argsort)
def _sort(ctx: LayerContext) -> Lowered:
    """``keras.ops.sort(x, axis)`` / ``argsort(x, axis)`` (``tf.sort`` / ``tf.argsort``
    ascending, ``_ascending_sort`` in ``tensorflow/python/ops/sort_ops.py``): ``top_k``
    over the whole (static) axis of ``-x`` (floats) or ``-x - 1`` (signed integers; the
    stable order of equal entries kept), negated back for the values; the axis moved
    last and back with ``transpose``.  Refused: ``axis=None``, bool and unsigned inputs,
    a non-static axis."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    if dtype not in (DType.FLOAT16, DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64):
        ctx.refuse(f"a {dtype.value} input; supported: float, int32, int64")
    name, n, back = _axis_last(ctx, x)
    flipped = ctx.helper("negative", [name], suffix="negated")
    if not dtype.is_float:
        flipped = ctx.helper("subtract", [flipped, _scalar(ctx, "one", 1, dtype)],
                             suffix="negated_minus_one")
    values = isinstance(ctx.layer, knp.Sort)
    top = ctx.helper("top_k", [flipped], {"k": n, "result": "values" if values else "indices"},
                     suffix="top_k")
    if values:
        top = ctx.helper("negative", [top], suffix="values")
        if not dtype.is_float:
            top = ctx.helper("subtract", [top, _scalar(ctx, "one", 1, dtype)],
                             suffix="values_minus_one")
    if back is None:
        return ctx.lowered("identity", [top])
    return ctx.lowered("transpose", [top], {"perm": back})


# --------------------------------------------------------------------------- diagonals

def _two_axes_last(ctx: LayerContext, x: Operand) -> tuple[str, TensorType, bool]:
    """``x`` with ``axis1``, ``axis2`` moved to the end (``moveaxis``), its type, and
    whether axis 0 (the batch axis) stays first; the two axes must be static."""
    rank = x.type.rank
    if rank < 2:
        ctx.refuse(f"a rank-{rank} input; two axes are needed")
    a1 = _canonical(ctx, ctx.layer.axis1, rank, "axis1")
    a2 = _canonical(ctx, ctx.layer.axis2, rank, "axis2")
    if a1 == a2:
        ctx.refuse("axis1 and axis2 are the same axis")
    for a in (a1, a2):
        _static(ctx, x, a, "a diagonal")
    perm = tuple(i for i in range(rank) if i not in (a1, a2)) + (a1, a2)
    shape = tuple(x.type.shape[i] for i in perm)
    keeps_batch = 0 not in (a1, a2)
    if perm == tuple(range(rank)):
        return x.name, x.type, keeps_batch
    return (ctx.helper("transpose", [x.name], {"perm": perm}, suffix="moved"),
            TensorType(x.type.dtype, shape), keeps_batch)


def _diagonal_positions(rows: int, cols: int, offset: int) -> np.ndarray:
    """The ``(row, col)`` pairs of diagonal ``offset`` of a ``rows x cols`` matrix."""
    start_r, start_c = max(-offset, 0), max(offset, 0)
    length = max(min(rows - start_r, cols - start_c), 0)
    return np.stack([start_r + np.arange(length), start_c + np.arange(length)], axis=1)


@lowers(knp.Trace)
def _trace(ctx: LayerContext) -> Lowered:
    """``keras.ops.trace(x, offset, axis1, axis2)`` (the TensorFlow backend: ``moveaxis``
    of the two axes to the end, ``where`` with the ``eye(k=offset)`` mask, ``reduce_sum``
    over them; bool/int8/int16 summed in int32) on static axis sizes.  Refused: uint8
    inputs (summed in uint32, which the IR lacks), and the offsets of a non-square
    matrix for which Keras' ``eye(N, M, k)`` is not ``N x M`` (Keras fails there)."""
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    offset = _int(ctx, ctx.layer.offset, "offset")
    name, t, _ = _two_axes_last(ctx, x)
    if dtype in (DType.BOOL, DType.INT8, DType.INT16):
        dtype = DType.INT32
        name = ctx.helper("cast", [name], {"to": "int32"}, suffix="cast")
    elif dtype is DType.UINT8:
        ctx.refuse("a uint8 input (Keras sums it in uint32)")
    rows, cols = t.shape[-2:]
    if offset:
        # Keras' TensorFlow eye(N, M, k) pads a square eye of size min(M - k, N + k) by
        # (max(-k, 0), max(N - M + k, 0)) rows and (max(k, 0), max(M - N - k, 0))
        # columns: for some offsets of a non-square matrix that is not N x M, and trace
        # fails in Keras
        side = min(cols - offset, rows + offset)
        shape = (side + max(-offset, 0) + max(rows - cols + offset, 0),
                 side + max(offset, 0) + max(cols - rows - offset, 0))
        if side < 0 or shape != (rows, cols):
            ctx.refuse(f"offset={offset} of a {rows}x{cols} matrix: Keras' TensorFlow eye "
                       f"builds a {shape[0]}x{shape[1]} mask there, and trace fails")
    mask = np.eye(rows, cols, k=offset, dtype=bool)
    kept = ctx.helper("where", [ctx.constant("eye", mask), name, _scalar(ctx, "zero", 0, dtype)],
                      suffix="masked")
    rank = t.rank
    return ctx.lowered("sum", [kept], {"axes": (rank - 2, rank - 1), "keepdims": False})


@lowers(knp.Diagonal)
def _diagonal(ctx: LayerContext) -> Lowered:
    """``keras.ops.diagonal(x, offset, axis1, axis2)`` (``tf.linalg.diag_part`` of x with
    the two axes moved last): the two (static) axes merged by a ``reshape`` (or
    ``array_reshape`` when the batch axis is one of them), then a ``gather`` of the
    constant flat positions ``row * cols + col`` of the diagonal.  Refused: an empty
    diagonal, other non-static sizes where the reshape needs them."""
    x = _one_tensor(ctx)
    offset = _int(ctx, ctx.layer.offset, "offset")
    name, t, keeps_batch = _two_axes_last(ctx, x)
    rows, cols = t.shape[-2:]
    pos = _diagonal_positions(rows, cols, offset)
    if not len(pos):
        ctx.refuse(f"offset={offset} leaves an empty diagonal of a {rows}x{cols} matrix")
    lead = t.shape[:-2]
    if lead and keeps_batch and all(isinstance(d, int) for d in lead[1:]):
        flat = ctx.helper("reshape", [name], {"target_shape": tuple(lead[1:]) + (rows * cols,)},
                          suffix="flat")
    elif all(isinstance(d, int) for d in lead):
        flat = ctx.helper("array_reshape", [name], {"shape": tuple(lead) + (rows * cols,)},
                          suffix="flat")
    else:
        ctx.refuse(f"the leading sizes {lead} are not static")
    index = ctx.constant("positions", (pos[:, 0] * cols + pos[:, 1]).astype(np.int32))
    return ctx.lowered("gather", [flat, index], {"axis": len(lead)})


# --------------------------------------------------------------------------- products, casts

@lowers(knp.Outer)
def _outer(ctx: LayerContext) -> Lowered:
    """``keras.ops.outer(x1, x2)`` (``tf.reshape(x1, [-1, 1]) * tf.reshape(x2, [-1])``,
    both cast to the result dtype) -> ``array_reshape`` of each (a constant reshaped
    here; a vector of any length is itself, or ``expand_dims`` for the column),
    ``multiply``.  Refused: tensors of another dtype than the result (cast them first),
    tensors of rank 2 or more with a non-static size (a dynamic batch axis would be
    flattened into the other axes)."""
    operands = ctx.operands()
    if len(operands) != 2 or not any(isinstance(v, Operand) for v in operands):
        ctx.refuse("expected two operands, at least one a tensor")
    dtype = ctx.output_type.dtype
    names = []
    for i, (v, shape) in enumerate(zip(operands, ((-1, 1), (-1,)))):
        if isinstance(v, Operand):
            if v.type.dtype is not dtype:
                ctx.refuse(f"an operand of dtype {v.type.dtype.value} for a {dtype.value} "
                           f"result; cast it first")
            if v.type.rank == 1:  # nothing to flatten: the row vector, the column
                names.append(v.name if i else ctx.helper("expand_dims", [v.name],
                                                         {"axes": (1,)}, suffix="column"))
                continue
            if not all(isinstance(d, int) for d in v.type.shape):
                ctx.refuse(f"an operand of shape {v.type.shape}: outer flattens every axis, "
                           f"the batch axis included; only static shapes or vectors are "
                           f"supported")
            names.append(ctx.helper("array_reshape", [v.name], {"shape": shape},
                                    suffix=f"flat{i}"))
        else:
            arr = np.asarray(v)
            if not isinstance(v, np.ndarray) or arr.dtype.kind not in "biuf":
                ctx.refuse(f"a constant operand of type {type(v).__name__}; pass a NumPy array")
            names.append(ctx.constant(f"constant{i}", arr.astype(dtype.to_numpy())
                                      .reshape(shape)))
    return ctx.lowered("multiply", names)


@lowers(knp.Select)
def _select(ctx: LayerContext) -> Lowered:
    """``keras.ops.select(condlist, choicelist, default)``
    (``tf.experimental.numpy.select``: starting from ``default``, for each condition
    and choice in reverse order ``where(cond, choice, output)``, so the first true
    condition wins) -> ``where`` s; the choices and default in the result dtype Keras
    records (a tensor of another dtype cast, a number or array a constant of it), a
    condition that is not bool cast to bool (nonzero).  Refused: conditions or choices
    that are not lists of the same length."""
    from keras import KerasTensor, Variable

    args = list(ctx.call_args) + [ctx.call_kwargs.get("default", 0)] * (3 - len(ctx.call_args))
    if len(args) != 3:
        ctx.refuse("expected condlist, choicelist and default")
    condlist, choicelist, default = args
    if not (isinstance(condlist, (list, tuple)) and isinstance(choicelist, (list, tuple))
            and condlist and len(condlist) == len(choicelist)):
        ctx.refuse("condlist and choicelist must be lists of one length")
    dtype = ctx.output_type.dtype
    tensors = iter(zip(ctx.inputs, ctx.input_types))
    flat = [*condlist, *choicelist, default]
    operands: list[Any] = []
    for v in flat:
        if isinstance(v, KerasTensor):
            operands.append(Operand(*next(tensors)))
        elif isinstance(v, Variable):
            operands.append(ctx.variable_operand(v))
        else:
            operands.append(v)
    n = len(condlist)

    def value(v: Any, what: str, to: DType) -> str:
        if isinstance(v, Operand):
            if v.type.dtype is to:
                return v.name
            return ctx.helper("cast", [v.name], {"to": to.value}, suffix=f"{what}_cast")
        arr = np.asarray(v)
        if arr.dtype.kind not in "biuf":
            ctx.refuse(f"{what} of type {type(v).__name__}")
        return ctx.constant(what, arr.astype(to.to_numpy()))

    out = value(operands[-1], "default", dtype)
    for k in reversed(range(n)):
        cond = value(operands[k], f"condition{k}", DType.BOOL)
        choice = value(operands[n + k], f"choice{k}", dtype)
        if k == 0:
            return ctx.lowered("where", [cond, choice, out])
        out = ctx.helper("where", [cond, choice, out], suffix=f"select{k}")
    raise AssertionError("unreachable")


def _dtype_range(dtype: np.dtype) -> tuple[Any, Any]:
    """``get_dtype_min_max`` of ``_saturate_cast``: the dtype's finite range (bool: 0, 1)."""
    if dtype == np.bool_:
        return 0, 1
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    return info.min, info.max


@lowers(kcore.SaturateCast)
def _saturate_cast(ctx: LayerContext) -> Lowered:
    """``keras.ops.saturate_cast(x, dtype)`` (``_saturate_cast`` in
    ``keras/src/ops/core.py``: ``clip`` to the range both dtypes share, rounded to x's
    dtype and nudged toward 0 where the rounding left the output range, then ``cast``)
    -> ``clip``, ``cast``.  Refused: bool and int64 inputs (the bounds as float
    attributes would not be exact), a target dtype outside the IR's."""
    x = _one_tensor(ctx)
    try:
        to = DType.from_any(ctx.layer.dtype)
    except (TypeError, ValueError):
        ctx.refuse(f"a cast to {ctx.layer.dtype!r}, which is not an IR dtype")
    if x.type.dtype in (DType.BOOL, DType.INT64):
        ctx.refuse(f"a {x.type.dtype.value} input")
    in_dt, out_dt = np.dtype(x.type.dtype.to_numpy()), np.dtype(to.to_numpy())
    (in_min, in_max), (out_min, out_max) = _dtype_range(in_dt), _dtype_range(out_dt)
    lo = np.asarray(np.maximum(in_min, out_min)).astype(in_dt)
    if lo < out_min:
        lo = np.nextafter(lo, 0, dtype=in_dt)
    hi = np.asarray(np.minimum(in_max, out_max)).astype(in_dt)
    if hi > out_max:
        hi = np.nextafter(hi, 0, dtype=in_dt)
    clipped = ctx.helper("clip", [x.name], {"min": float(lo), "max": float(hi)},
                         suffix="clipped")
    return ctx.lowered("cast", [clipped], {"to": to.value})


@lowers(kmath.SegmentSum)
def _segment_sum(ctx: LayerContext) -> Lowered:
    """``keras.ops.segment_sum(data, segment_ids, num_segments)`` on TensorFlow
    (``tf.math.unsorted_segment_sum``: ``out[s] = sum of data[i] where ids[i] == s``,
    negative ids dropped) -> ``one_hot(ids, num_segments)`` (float32 ``(N, S)``, zeros
    for an id outside ``[0, S)``) contracted with ``data`` over its first axis by
    ``einsum``.  1-D ids (a tensor or constant integers) over data's axis 0, float32
    data.  Refused: ``num_segments`` None (the size is the number of distinct ids, known
    at run time only), ``sorted=True`` (TensorFlow then refuses ``num_segments``),
    multi-axis ids, other data dtypes."""
    layer = ctx.layer
    if layer.sorted:
        ctx.refuse("sorted=True (TensorFlow's segment_sum then takes no num_segments)")
    if layer.num_segments is None:
        ctx.refuse("num_segments=None: the output size is the number of distinct ids, "
                   "known at run time only")
    segments = _int(ctx, layer.num_segments, "num_segments")
    operands = ctx.operands()
    if len(operands) != 2 or not isinstance(operands[0], Operand):
        ctx.refuse("expected a data tensor and segment ids")
    data, ids = operands
    if data.type.dtype is not DType.FLOAT32:
        ctx.refuse(f"data of dtype {data.type.dtype.value}; only float32 is supported")
    rank_ids = ids.type.rank if isinstance(ids, Operand) else np.ndim(ids)
    if rank_ids != 1:
        ctx.refuse(f"segment ids of rank {rank_ids}; only 1-D ids over data's first axis")
    if isinstance(ids, Operand):
        hot = ctx.helper("one_hot", [_index_operand(ctx, ids)], {"depth": segments, "axis": 1},
                         suffix="one_hot")
    else:  # constant ids: the one-hot matrix is a constant
        flat = np.asarray(ids)
        if flat.dtype.kind not in "iu":
            ctx.refuse(f"segment ids of dtype {flat.dtype}; only integers")
        hot = ctx.constant("one_hot", (flat[:, None] == np.arange(segments)).astype(np.float32))
    rest = "abcdefghijklm"[:data.type.rank - 1]
    return ctx.lowered("einsum", [hot, data.name], {"equation": f"ns,n{rest}->s{rest}"})
