"""Converters of ``keras.ops`` reductions and linear algebra on symbolic tensors,
registered with :func:`~graphir.backends.keras.registry.lowers` (listed by
:func:`~graphir.backends.keras.registry.supported_operations`).

Keras records ``keras.ops.sum(x, axis=1)`` and the like as operations of
``keras/src/ops/numpy.py`` (``Sum``, ``Mean``, ``Max``, ``Min``, ``Prod``, ``Argmax``,
``Argmin``, ``Var``, ``Std``, ``Matmul``, ``Einsum``) whose ``call`` is the TensorFlow
backend's function of the same name (``keras/src/backend/tensorflow/numpy.py``).  Each
lowers to the primitive op of :mod:`graphir.ops.reduction` with exactly what that
function computes, dtype promotions made explicit as ``cast`` helper nodes:

* ``axis``: an int, a list, or None (all axes, written out); negative axes are
  normalized and sorted (the IR's axes are canonical); a repeated axis is refused.
* ``Sum`` / ``Prod``: TensorFlow first casts bool, int8 and int16 to int32 (a ``cast``
  helper); uint8/uint16 (Keras: uint32, not an IR dtype) and ``Prod(dtype=...)`` are
  refused.
* ``Mean`` / ``Var``: a non-float input is cast to float32 first (``result_type(x,
  float32)``), and a float16 input is computed in float32 and cast back (Keras does
  exactly this); ``Std``: a non-float input is cast to ``keras.config.floatx()``, a float
  one is computed in its own dtype.
* ``Max`` / ``Min``: a bool input is ``reduce_any`` / ``reduce_all`` in TensorFlow,
  lowered as ``cast`` to int32, ``max`` / ``min``, ``cast`` back to bool; ``initial`` is
  refused.
* ``Argmax`` / ``Argmin``: ``axis=None`` (flatten) only for rank-1 inputs (then axis 0);
  a float input compares each -0.0 as minus the smallest normal float
  (``negative_zero_as``), as Keras does; int16 and bool inputs are refused.
* ``Matmul``: two tensors, or a tensor and a NumPy constant (a weight
  ``<operation>/constant``), of one dtype (Keras would promote mixed dtypes: cast
  explicitly); int32/int64 are computed in float32 by Keras and cast back, lowered as
  ``cast`` -> float32 ``matmul`` -> ``cast``.
* ``Einsum``: float operands of one dtype (tensors or NumPy constants); the equation is
  made canonical (spaces removed, an implicit output written out in NumPy's order);
  ellipsis, repeated letters in a term and einsum keyword arguments are refused.
* ``Tensordot``: float operands of one dtype -> ``einsum`` with the equation that
  ``tf.tensordot``'s ``axes`` describe; ``Dot`` (NumPy's dot) the same way.
* ``Cumsum``: ``tf.math.cumsum`` after the ``dtype`` cast; bool as int32; ``axis=None``
  only on rank 1.
* ``TopK`` (``tf.math.top_k``, ``sorted=True``) -> a ``top_k`` node per output
  (``values``, ``indices``);
* ``FFT`` / ``FFT2`` (``keras.ops.fft((real, imag))``, ``fft2``): the discrete Fourier
  transform over the last one / two axes, as products with the cosine and
  sine matrices of the DFT (``matmul`` with weights, ``add`` / ``subtract``): for
  ``W = C - iS``, ``C[k, m] = cos(2 pi k m / N)``, ``S[k, m] = sin(2 pi k m / N)``, the
  transform of ``X + iY`` along the last axis is ``(XC + YS) + i(YC - XS)`` (C and S are
  symmetric), along the axis before it ``(CX + SY) + i(CY - SX)``.  The same numbers as
  ``tf.signal.fft`` up to float rounding (an O(N) sum per element instead of the FFT's
  O(log N)), float32/float64 parts of one dtype.  A static axis gets constant matrices;
  an axis known only at run time gets matrices computed at run time.
* ``RFFT`` (``keras.ops.rfft(x, fft_length)``, ``tf.signal.rfft``): a real input's last
  axis truncated or zero-padded to ``fft_length``, the ``fft_length // 2 + 1``
  non-negative frequencies as ``x C`` and ``x (-S)`` (rectangular DFT matrices).
* ``STFT`` (``keras.ops.stft``, ``tf.signal.stft`` of a ``(batch, samples)`` signal):
  reflect padding when centred, then framing, window and real DFT as one strided
  ``conv1d`` per part.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras.src.ops import math as kmath
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.reduction_builders import keras_negative_zero
from graphir.backends.keras.registry import lowers
from graphir.dtypes import DType
from graphir.ops import TypeRuleError
from graphir.ops.indexing import SLICE_END
from graphir.ops.reduction import parse_einsum
from graphir.tensor_types import TensorType

__all__: list[str] = []

_OPS = {knp.Sum: "sum", knp.Mean: "mean", knp.Max: "max", knp.Min: "min", knp.Prod: "prod",
        knp.Var: "var", knp.Std: "std", knp.Amax: "max", knp.Amin: "min"}
_PROMOTED_TO_INT32 = (DType.BOOL, DType.INT8, DType.INT16)


def _one_tensor(ctx: LayerContext) -> Operand:
    operands = ctx.operands()
    if len(operands) != 1 or not isinstance(operands[0], Operand):
        ctx.refuse(f"called with {len(operands)} positional arguments; expected one tensor")
    return operands[0]


def _axes(ctx: LayerContext, axis: Any, rank: int) -> tuple[int, ...]:
    """Keras' ``axis`` (None, an int or a sequence) as canonical IR axes."""
    if axis is None:
        return tuple(range(rank))
    raw = [axis] if isinstance(axis, int) else list(axis)
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in raw):
        ctx.refuse(f"axis={axis!r} is not an int or a list of ints")
    if any(not -rank <= a < rank for a in raw):
        ctx.refuse(f"axis={axis!r} is out of range for a rank-{rank} input")
    axes = sorted(a % rank for a in raw)
    if len(set(axes)) != len(axes):
        ctx.refuse(f"axis={axis!r} names an axis twice")
    return tuple(axes)


def _cast(ctx: LayerContext, name: str, to: DType, suffix: str) -> str:
    return ctx.helper("cast", [name], {"to": to.value}, suffix=suffix)


@lowers(*_OPS)
def _reduction(ctx: LayerContext) -> Lowered:
    """``keras.ops.<reduction>(x, axis, keepdims)`` -> the IR reduction (casts explicit)."""
    op = _OPS[type(ctx.layer)]
    x = _one_tensor(ctx)
    dtype = x.type.dtype
    attrs = {"axes": _axes(ctx, ctx.layer.axis, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    if getattr(ctx.layer, "initial", None) is not None:
        ctx.refuse(f"initial={ctx.layer.initial!r} (only initial=None is supported)")
    name = x.name
    if op in ("sum", "prod"):
        if op == "prod" and ctx.layer.dtype is not None:
            ctx.refuse(f"dtype={ctx.layer.dtype!r} (TensorFlow then skips the input cast; "
                       f"cast the input explicitly instead)")
        if dtype in _PROMOTED_TO_INT32:
            name = _cast(ctx, name, DType.INT32, "cast")
        elif dtype is DType.UINT8:
            ctx.refuse(f"a {op} of uint8, which Keras computes in uint32 (not an IR dtype)")
        return ctx.lowered(op, [name], attrs)
    if op in ("mean", "var"):
        if not dtype.is_float:  # computed in float32; var's result is result_type(x, float)
            wide = _cast(ctx, name, DType.FLOAT32, "cast")
            floatx = DType.from_any(keras.config.floatx())
            if op == "mean" or floatx is DType.FLOAT32:
                return ctx.lowered(op, [wide], attrs)
            result = ctx.helper(op, [wide], attrs, suffix=op)
            return ctx.lowered("cast", [result], {"to": floatx.value})
        if dtype is DType.FLOAT16:  # Keras computes in float32 and rounds back once
            wide = _cast(ctx, name, DType.FLOAT32, "cast")
            result = ctx.helper(op, [wide], attrs, suffix=op)
            return ctx.lowered("cast", [result], {"to": "float16"})
        return ctx.lowered(op, [name], attrs)
    if op == "std":
        if not dtype.is_float:
            name = _cast(ctx, name, DType.from_any(keras.config.floatx()), "cast")
        return ctx.lowered(op, [name], attrs)
    # max, min
    if dtype is DType.BOOL:  # reduce_any / reduce_all: max / min of 0/1
        wide = _cast(ctx, name, DType.INT32, "cast")
        result = ctx.helper(op, [wide], attrs, suffix=op)
        return ctx.lowered("cast", [result], {"to": "bool"})
    return ctx.lowered(op, [name], attrs)


@lowers(knp.Any, knp.All)
def _any_all(ctx: LayerContext) -> Lowered:
    """``keras.ops.any`` / ``all(x, axis, keepdims)`` (``tf.reduce_any`` / ``reduce_all``
    of ``x`` cast to bool: nonzero is True) -> ``max`` / ``min`` of the bools as int32
    0 / 1, cast back to bool (the ``max`` / ``min`` of bools above)."""
    op = "max" if isinstance(ctx.layer, knp.Any) else "min"
    x = _one_tensor(ctx)
    name = x.name
    if x.type.dtype is not DType.BOOL:
        name = _cast(ctx, name, DType.BOOL, "bool")
    attrs = {"axes": _axes(ctx, ctx.layer.axis, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    wide = _cast(ctx, name, DType.INT32, "cast")
    result = ctx.helper(op, [wide], attrs, suffix=op)
    return ctx.lowered("cast", [result], {"to": "bool"})


@lowers(knn.Moments, multiple_outputs=True)
def _moments(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.moments(x, axes, keepdims)`` -> ``[mean, var]`` over the axes
    (``tf.nn.moments``: the mean, then the mean squared difference from it: the ``var``
    op's formula).  Refused: float16 and bfloat16 (Keras computes in float32 and clips
    to float16's range before casting back, which the ops do not reproduce), integers."""
    x = _one_tensor(ctx)
    if ctx.layer.synchronized:
        ctx.refuse("synchronized=True (a cross-replica reduction)")
    dtype = x.type.dtype
    if dtype not in (DType.FLOAT32, DType.FLOAT64):
        ctx.refuse(f"moments of a {dtype.value} tensor; only float32 and float64 are "
                   f"supported")
    attrs = {"axes": _axes(ctx, ctx.layer.axes, x.type.rank),
             "keepdims": bool(ctx.layer.keepdims)}
    return [ctx.lowered("mean", [x.name], attrs), ctx.lowered("var", [x.name], attrs)]


@lowers(knp.Argmax, knp.Argmin)
def _arg(ctx: LayerContext) -> Lowered:
    """``keras.ops.argmax`` / ``argmin(x, axis, keepdims)`` -> ``argmax`` / ``argmin``."""
    op = "argmax" if isinstance(ctx.layer, knp.Argmax) else "argmin"
    x = _one_tensor(ctx)
    rank = x.type.rank
    axis = ctx.layer.axis
    if axis is None:
        if rank != 1:
            ctx.refuse(f"axis=None on a rank-{rank} input (the flattened index needs a "
                       f"reshape); give an axis")
        axis = 0
    if not isinstance(axis, int) or isinstance(axis, bool):
        ctx.refuse(f"axis={axis!r} is not an int")
    if not -rank <= axis < rank:
        ctx.refuse(f"axis={axis} is out of range for a rank-{rank} input")
    dtype = x.type.dtype
    nz = keras_negative_zero(dtype.value) if dtype.is_float else None
    return ctx.lowered(op, [x.name], {"axis": axis % rank, "keepdims": bool(ctx.layer.keepdims),
                                      "negative_zero_as": nz})


def _operands(ctx: LayerContext) -> list[Operand | np.ndarray]:
    """The call's operands: tensors, or NumPy arrays of the tensors' dtype (constants)."""
    operands = list(ctx.operands())
    tensors = [o for o in operands if isinstance(o, Operand)]
    if not tensors:
        ctx.refuse("no tensor operand")
    dtype = tensors[0].type.dtype
    for i, o in enumerate(operands):
        if isinstance(o, Operand):
            if o.type.dtype != dtype:
                ctx.refuse(f"operands of dtypes {dtype.value} and {o.type.dtype.value}; Keras "
                           f"would promote them: cast explicitly (keras.ops.cast)")
        elif not (isinstance(o, np.ndarray) and o.dtype == dtype.to_numpy()):
            ctx.refuse(f"operand {i} is a {type(o).__name__}"
                       f"{' of dtype ' + str(o.dtype) if isinstance(o, np.ndarray) else ''}; "
                       f"constants must be NumPy arrays of the tensors' dtype ({dtype.value})")
    return operands


def _names(ctx: LayerContext, operands, suffix: str = "constant") -> list[str]:
    """IR names of the operands, each constant registered as a weight."""
    names = []
    for i, o in enumerate(operands):
        if isinstance(o, Operand):
            names.append(o.name)
        else:
            const = sum(not isinstance(p, Operand) for p in operands) > 1
            names.append(ctx.constant(f"{suffix}_{i}" if const else suffix, o))
    return names


@lowers(knp.Matmul)
def _matmul(ctx: LayerContext) -> Lowered:
    """``keras.ops.matmul(x, y)`` (``x @ y``) -> ``matmul`` (int: through float32)."""
    operands = _operands(ctx)
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} positional arguments; expected 2")
    names = _names(ctx, operands)
    dtype = next(o for o in operands if isinstance(o, Operand)).type.dtype
    if dtype.is_float:
        return ctx.lowered("matmul", names)
    if dtype not in (DType.INT32, DType.INT64):
        ctx.refuse(f"a matmul of {dtype.value} tensors (Keras promotes them); cast explicitly")
    # keras.ops.matmul on TensorFlow: cast to result_type(x, y, float) = float32, multiply,
    # cast the product back
    wide = [_cast(ctx, n, DType.FLOAT32, f"cast_{i}") for i, n in enumerate(names)]
    product = ctx.helper("matmul", wide, suffix="matmul")
    return ctx.lowered("cast", [product], {"to": dtype.value})


def _without_ellipsis(ctx: LayerContext, eq: str, shapes: list[tuple]) -> str:
    """``eq`` with each ``...`` written out as letters the equation does not use, for
    operands of ``shapes``: an operand's ellipsis covers its axes not named by letters,
    aligned on the right across operands as NumPy broadcasts them; the output's covers
    them all.  Refused when two operands' ellipsis axes would broadcast a size against
    another (the IR einsum does not broadcast), the term does not fit the operand's
    rank, or the output is implicit (``tf.einsum`` refuses an ellipsis then)."""
    inputs, arrow, output = eq.partition("->")
    if not arrow:
        ctx.refuse(f"einsum subscripts {eq!r} use an ellipsis with an implicit output "
                   f"(TensorFlow's einsum refuses it); write the output out")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        ctx.refuse(f"einsum subscripts {eq!r} name {len(terms)} operands for {len(shapes)}")
    counts = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if term.count("...") > 1 or ("..." in term and named > len(shape)) or \
                ("..." not in term and "." in term):
            ctx.refuse(f"einsum term {term!r} does not fit an operand of rank {len(shape)}")
        counts.append(len(shape) - named if "..." in term else 0)
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
    width = max(counts)
    if width > len(free):
        ctx.refuse(f"einsum subscripts {eq!r}: too many axes under the ellipsis")
    letters = free[:width]
    sizes: dict[str, Any] = {}
    for term, shape, n in zip(terms, shapes, counts):
        if "..." not in term:
            continue
        start = term.index("...")
        for letter, size in zip(letters[width - n:], shape[start:start + n]):
            if letter in sizes and sizes[letter] != size:
                ctx.refuse(f"einsum subscripts {eq!r}: the ellipsis axes broadcast "
                           f"{sizes[letter]} against {size}; write the axes out")
            sizes[letter] = size
    expanded = [t.replace("...", "".join(letters[width - n:])) for t, n in zip(terms, counts)]
    return ",".join(expanded) + "->" + output.replace("...", "".join(letters))


def _canonical_equation(ctx: LayerContext, subscripts: Any,
                        shapes: list[tuple] | None = None) -> str:
    """Keras' einsum subscripts as a canonical IR equation (implicit output written out
    as NumPy does: the letters used once, in alphabetical order; an ellipsis written
    out as letters for operands of ``shapes``: :func:`_without_ellipsis`)."""
    if not isinstance(subscripts, str):
        ctx.refuse(f"subscripts {subscripts!r} are not a string")
    eq = subscripts.replace(" ", "")
    if "." in eq:
        if shapes is None:
            ctx.refuse(f"einsum subscripts {subscripts!r} use an ellipsis ('...'); write "
                       f"the axes out")
        eq = _without_ellipsis(ctx, eq, shapes)
    if "->" not in eq:
        letters = eq.replace(",", "")
        eq += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    try:
        parse_einsum(eq)
    except TypeRuleError as e:
        ctx.refuse(str(e))
    return eq


@lowers(knp.Einsum)
def _einsum(ctx: LayerContext) -> Lowered:
    """``keras.ops.einsum(subscripts, *operands)`` -> ``einsum`` (float operands)."""
    operands = _operands(ctx)
    eq = _canonical_equation(ctx, ctx.layer.subscripts, [
        tuple(o.type.shape) if isinstance(o, Operand) else np.shape(o) for o in operands])
    dtype = next(o for o in operands if isinstance(o, Operand)).type.dtype
    if not dtype.is_float:
        ctx.refuse(f"an einsum of {dtype.value} tensors (Keras computes it in floatx and casts "
                   f"back); cast the operands to a float dtype explicitly")
    return ctx.lowered("einsum", _names(ctx, operands), {"equation": eq})


@lowers(knp.Cumsum)
def _cumsum(ctx: LayerContext) -> Lowered:
    """``keras.ops.cumsum(x, axis, dtype)`` -> ``cumsum`` (``tf.math.cumsum`` after
    ``convert_to_tensor(x, dtype)``; bool summed as int32; ``axis=None`` on a rank-1
    tensor only: the flattening reshape of higher ranks is refused)."""
    x = _one_tensor(ctx)
    name, dtype, rank = x.name, x.type.dtype, x.type.rank
    if ctx.layer.dtype is not None:
        target = DType.from_any(ctx.layer.dtype)
        if target is not dtype:
            name, dtype = _cast(ctx, name, target, "cast"), target
    if dtype is DType.BOOL:
        name, dtype = _cast(ctx, name, DType.INT32, "cast_bool"), DType.INT32
    if dtype not in (DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64):
        ctx.refuse(f"a cumsum of a {dtype.value} tensor (float32, float64, int32 and int64 "
                   f"are lowered: onnxruntime's CumSum kernels)")
    axis = ctx.layer.axis
    if axis is None:
        if rank != 1:
            ctx.refuse(f"axis=None on a rank-{rank} input (a flattened cumsum); give an axis")
        axis = 0
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        ctx.refuse(f"axis={axis!r} is not an axis of a rank-{rank} tensor")
    return ctx.lowered("cumsum", [name], {"axis": axis % rank})


@lowers(knp.Tensordot)
def _tensordot(ctx: LayerContext) -> Lowered:
    """``keras.ops.tensordot(x1, x2, axes)`` -> ``einsum`` (``tf.tensordot``: ``axes=n``
    pairs the last n axes of x1 with the first n of x2; ``axes=(a, b)`` pairs the listed
    axes; the output is x1's free axes then x2's).  Float operands of one dtype."""
    operands, ranks = _float_pair(ctx, "tensordot")
    axes = ctx.layer.axes
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if not 0 <= n <= min(ranks):
            ctx.refuse(f"axes={n} for operands of ranks {ranks}")
        pairs = (list(range(ranks[0] - n, ranks[0])), list(range(n)))
    elif isinstance(axes, (list, tuple)) and len(axes) == 2:
        pairs = tuple([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
        if len(pairs[0]) != len(pairs[1]):
            ctx.refuse(f"axes={axes!r}: the two axis lists differ in length")
        try:
            pairs = tuple([range(r)[a] for a in p] for p, r in zip(pairs, ranks))
        except (IndexError, TypeError):
            ctx.refuse(f"axes={axes!r} is out of range for operands of ranks {ranks}")
    else:
        ctx.refuse(f"axes={axes!r} is neither an int nor a pair of axis lists")
    eq = _contraction(ctx, ranks, pairs, f"axes={axes!r}")
    return ctx.lowered("einsum", _names(ctx, operands), {"equation": eq})


def _float_pair(ctx: LayerContext, what: str) -> tuple[list, list[int]]:
    """The two operands of a contraction (tensors or NumPy constants of one float dtype,
    refused otherwise) and their ranks."""
    operands = _operands(ctx)
    if len(operands) != 2:
        ctx.refuse(f"called with {len(operands)} operands; expected 2")
    dtype = next(o for o in operands if isinstance(o, Operand)).type.dtype
    if not dtype.is_float:
        ctx.refuse(f"a {what} of {dtype.value} tensors; cast the operands to a float dtype")
    return operands, [o.type.rank if isinstance(o, Operand) else o.ndim for o in operands]


def _contraction(ctx: LayerContext, ranks: list[int], pairs: tuple, what: str) -> str:
    """The einsum equation contracting axes ``pairs[0]`` of the first operand with
    ``pairs[1]`` of the second (``tf.tensordot``: the output holds the first operand's
    free axes, then the second's)."""
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    a = [next(letters) for _ in range(ranks[0])]
    b = [next(letters) for _ in range(ranks[1])]
    for i, j in zip(*pairs):
        b[j] = a[i]
    contracted = {a[i] for i in pairs[0]}
    if len(contracted) != len(pairs[0]) or len(set(b)) != len(b):
        ctx.refuse(f"{what} repeat an axis")
    out = [c for c in a if c not in contracted] + [c for c in b if c not in contracted]
    return f"{''.join(a)},{''.join(b)}->{''.join(out)}"


@lowers(knp.Dot)
def _dot(ctx: LayerContext) -> Lowered:
    """``keras.ops.dot(x1, x2)`` (NumPy's dot, as Keras' TensorFlow ``dot``: the last
    axis of x1 contracted with the last axis of a rank-1 x2, else its second-to-last)
    -> ``einsum`` (float operands of one dtype; rank-0 operands are refused: use ``*``)."""
    operands, ranks = _float_pair(ctx, "dot")
    if 0 in ranks:
        ctx.refuse("a rank-0 operand (a product, not a dot): use keras.ops.multiply")
    pairs = ([ranks[0] - 1], [0 if ranks[1] == 1 else ranks[1] - 2])
    eq = _contraction(ctx, ranks, pairs, "the axes")
    return ctx.lowered("einsum", _names(ctx, operands), {"equation": eq})


def _dft_matrices(n: int, dtype: DType) -> tuple[np.ndarray, np.ndarray]:
    """The cosine and sine matrices of the length-``n`` DFT, computed in float64 from the
    exact integer products ``k * m mod n`` and cast to ``dtype``."""
    km = np.outer(np.arange(n), np.arange(n)) % n
    angle = 2.0 * np.pi * km / n
    return np.cos(angle).astype(dtype.to_numpy()), np.sin(angle).astype(dtype.to_numpy())


def _run_time_dft_matrices(ctx: LayerContext, x: str, x_type: TensorType, axis: int
                           ) -> tuple[str, str]:
    """Helper nodes computing the cosine and sine matrices of the DFT over ``axis`` of
    ``x``, whose size ``n`` is known only at run time: ``k`` = ``0..n-1`` counted along
    a one-element slice of the other axes (``cumsum`` of ones), the exact int32
    products ``k * m mod n`` (``n < 46341``, as int32 holds ``(n-1)**2``), times ``2 pi /
    n`` in ``x``'s dtype, then ``cos`` / ``sin``: the angles of :func:`_dft_matrices`,
    rounded once more (to ``x``'s dtype before the cosine)."""
    rank = x_type.rank
    ends = tuple(SLICE_END if j == axis else 1 for j in range(rank))
    ruler = ctx.helper("slice", [x], {"starts": (0,) * rank, "ends": ends,
                                      "steps": (1,) * rank}, suffix="dft_ruler")
    ruler = ctx.helper("array_reshape", [ruler], {"shape": (-1,)}, suffix="dft_ruler")
    ones = ctx.helper("full_like", [ruler], {"value": 1.0, "dtype": "int32"},
                      suffix="dft_ones")
    k = ctx.helper("subtract", [ctx.helper("cumsum", [ones], {"axis": 0}, suffix="dft_count"),
                                ctx.constant("dft_one", np.asarray(1, np.int32))], suffix="dft_k")
    n = ctx.helper("sum", [ones], {"axes": (0,), "keepdims": False}, suffix="dft_n")
    km = ctx.helper("multiply", [ctx.helper("expand_dims", [k], {"axes": (1,)}, suffix="dft_k"),
                                 ctx.helper("expand_dims", [k], {"axes": (0,)}, suffix="dft_m")],
                    suffix="dft_km")
    km = ctx.helper("mod", [km, n], suffix="dft_km_mod")
    dtype = x_type.dtype.value
    two_pi = ctx.constant("dft_two_pi", np.asarray(2.0 * np.pi, x_type.dtype.to_numpy()))
    step = ctx.helper("divide", [two_pi,
                                 ctx.helper("cast", [n], {"to": dtype}, suffix="dft_n")],
                      suffix="dft_step")
    angle = ctx.helper("multiply", [ctx.helper("cast", [km], {"to": dtype}, suffix="dft_km"),
                                    step], suffix="dft_angle")
    return (ctx.helper("cos", [angle], suffix="dft_cos"),
            ctx.helper("sin", [angle], suffix="dft_sin"))


@lowers(kmath.FFT, kmath.FFT2, multiple_outputs=True)
def _fft(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.fft((real, imag))`` / ``fft2`` -> ``[real, imag]`` of the DFT over the
    last one / two axes (``tf.signal.fft`` / ``fft2d``), as DFT-matrix products; an axis
    of a size known only at run time (FNet over text of any length) gets its matrices
    computed at run time (:func:`_run_time_dft_matrices`)."""
    pair = ctx.call_args[0] if ctx.call_args else None
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or len(ctx.inputs) != 2:
        ctx.refuse("expected a (real, imag) pair of tensors")
    (re, im), (tr, ti) = ctx.inputs, ctx.input_types
    if tr != ti or tr.dtype not in (DType.FLOAT32, DType.FLOAT64):
        ctx.refuse(f"real and imag parts of types {tr} and {ti}; expected one float32 or "
                   f"float64 type")
    n_axes = 2 if isinstance(ctx.layer, kmath.FFT2) else 1
    if tr.rank < n_axes:
        ctx.refuse(f"a rank-{tr.rank} input; the transform needs {n_axes} axes")
    sizes = tr.shape[-n_axes:]
    a, b = re, im
    for step, n in enumerate(reversed(sizes)):
        if isinstance(n, int):
            cos, sin = _dft_matrices(n, tr.dtype)
            c, s_ = ctx.constant(f"dft{n}_cos", cos), ctx.constant(f"dft{n}_sin", sin)
        else:
            c, s_ = _run_time_dft_matrices(ctx, re, tr, tr.rank - 1 - step)

        def mul(x: str, w: str, tag: str) -> str:
            # the last axis: x @ W; the one before it: W @ x
            args = [x, w] if step == 0 else [w, x]
            return ctx.helper("matmul", args, suffix=f"{tag}{step}")
        ac, bs, bc, as_ = mul(a, c, "ac"), mul(b, s_, "bs"), mul(b, c, "bc"), mul(a, s_, "as")
        if step == len(sizes) - 1:
            return [ctx.lowered("add", [ac, bs]), ctx.lowered("subtract", [bc, as_])]
        a = ctx.helper("add", [ac, bs], suffix=f"real{step}")
        b = ctx.helper("subtract", [bc, as_], suffix=f"imag{step}")
    raise AssertionError("unreachable")


def _stft_window(window: Any, length: int) -> np.ndarray:
    """The window of ``keras.ops.stft`` (float64): None -> ones; ``"hann"`` /
    ``"hamming"`` -> TensorFlow's periodic windows (``tf.signal.hann_window(length,
    periodic=True)``: ``a - (1 - a) cos(2 pi n / length)``, ``a`` 0.5 / 0.54); an array
    as given.

    Raises:
        ValueError: another window string, or an array that is not ``(length,)``.
    """
    if window is None:
        return np.ones(length)
    if isinstance(window, str):
        a = {"hann": 0.5, "hamming": 0.54}.get(window)
        if a is None:
            raise ValueError(f"window={window!r}")
        return a - (1.0 - a) * np.cos(2.0 * np.pi * np.arange(length) / length)
    w = np.asarray(window, np.float64)
    if w.shape != (length,):
        raise ValueError(f"a window of shape {w.shape}, not ({length},)")
    return w


@lowers(kmath.STFT, multiple_outputs=True)
def _stft(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.stft(x, sequence_length, sequence_stride, fft_length, window, center)``
    of a ``(batch, samples)`` signal -> ``[real, imag]`` of ``tf.signal.stft`` (Keras'
    TensorFlow ``stft``): with ``center`` x reflect-padded by ``fft_length // 2`` on both
    sides; frames of ``fft_length`` samples every ``sequence_stride``, times the window
    (``sequence_length`` long, zero-padded to ``fft_length`` in the middle; without a
    window the whole frame counts); the real
    DFT of each frame.  The framing, window and DFT are one strided ``conv1d`` per part,
    kernels ``w[j] cos(2 pi j k / L)`` and ``-w[j] sin(2 pi j k / L)`` (as Keras'
    ``STFTSpectrogram`` layer computes it), exact up to float rounding; any length of
    samples.

    Raises:
        UnsupportedLayerError: an input that is not rank 2 float32/float64, a window
            Keras does not accept.
    """
    layer = ctx.layer
    x = ctx.inputs[0] if len(ctx.inputs) == 1 else None
    if x is None:
        ctx.refuse("expected one real tensor")
    xtype = ctx.input_types[0]
    if xtype.dtype not in (DType.FLOAT32, DType.FLOAT64) or xtype.rank != 2:
        ctx.refuse(f"a {xtype.dtype.value} input of rank {xtype.rank}; graphir lowers the "
                   f"stft of a float32/float64 (batch, samples) signal")
    length, frame, step = int(layer.fft_length), int(layer.sequence_length), \
        int(layer.sequence_stride)
    if not (0 < frame <= length) or step < 1:
        ctx.refuse(f"sequence_length={frame}, fft_length={length}, sequence_stride={step}")
    try:
        window = _stft_window(layer.window, frame)
    except ValueError as err:
        ctx.refuse(str(err))
    left = (length - frame) // 2
    padded = np.zeros(length)
    padded[left:left + frame] = window
    if layer.window is None:  # no window: TensorFlow's frames are fft_length samples
        padded = np.ones(length)
    if layer.center:
        half = length // 2
        x = ctx.helper("pad", [x], {"pads": ((0, 0), (half, half)), "mode": "reflect",
                                     "value": 0.0}, suffix="centered")
    x = ctx.helper("expand_dims", [x], {"axes": (2,)}, suffix="samples")
    km = np.outer(np.arange(length), np.arange(length // 2 + 1)) % length
    angle = 2.0 * np.pi * km / length
    dtype = xtype.dtype.to_numpy()
    attrs = {"strides": (step,), "padding": "valid", "dilations": (1,), "groups": 1,
             "activation": "linear", "data_format": "channels_last"}
    parts = []
    for tag, table in (("cos", np.cos(angle)), ("sin", -np.sin(angle))):
        kernel = ctx.constant(f"stft{length}_{tag}",
                              (padded[:, None] * table)[:, None, :].astype(dtype))
        parts.append(ctx.lowered("conv1d", [x, kernel], attrs))
    return parts


@lowers(kmath.RFFT, multiple_outputs=True)
def _rfft(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.rfft(x, fft_length)`` -> ``[real, imag]`` of ``tf.signal.rfft``: the
    real input's last axis (static, ``n``) truncated or zero-padded to ``L =
    fft_length`` (default ``n``), then the ``L // 2 + 1`` non-negative frequencies,
    ``real = x C``, ``imag = x (-S)`` with ``C[j, k] = cos(2 pi j k / L)``, ``S`` the sines
    (only the rows of the kept samples: padding adds zeros).  Up to float rounding, as
    :func:`_fft`.

    Raises:
        UnsupportedLayerError: a non-float32/float64 input, or a last axis that is not
            static.
    """
    x = ctx.inputs[0] if len(ctx.inputs) == 1 else None
    if x is None:
        ctx.refuse("expected one real tensor")
    xtype = ctx.input_types[0]
    if xtype.dtype not in (DType.FLOAT32, DType.FLOAT64) or xtype.rank < 1:
        ctx.refuse(f"a {xtype.dtype.value} input of rank {xtype.rank}; tf.signal.rfft takes "
                   f"float32 or float64 of rank >= 1")
    n = xtype.shape[-1]
    if not isinstance(n, int):
        ctx.refuse("the transformed (last) axis must be static")
    length = int(ctx.layer.fft_length) if ctx.layer.fft_length is not None else n
    if length < 1:
        ctx.refuse(f"fft_length={length}")
    if n > length:  # tf.signal.rfft reads the first fft_length samples
        starts, ends = [0] * xtype.rank, [SLICE_END] * xtype.rank
        ends[-1] = length
        x = ctx.helper("slice", [x], {"starts": tuple(starts), "ends": tuple(ends),
                                      "steps": (1,) * xtype.rank}, suffix="frame")
    kept = min(n, length)
    km = np.outer(np.arange(kept), np.arange(length // 2 + 1)) % length
    angle = 2.0 * np.pi * km / length
    dtype = xtype.dtype.to_numpy()
    cos = ctx.constant(f"rdft{length}_cos", np.cos(angle).astype(dtype))
    sin = ctx.constant(f"rdft{length}_sin", (-np.sin(angle)).astype(dtype))
    return [ctx.lowered("matmul", [x, cos]), ctx.lowered("matmul", [x, sin])]


@lowers(kmath.TopK, multiple_outputs=True)
def _top_k(ctx: LayerContext) -> list[Lowered]:
    """``keras.ops.top_k(x, k, sorted=True)`` -> ``[top_k {result=values},
    top_k {result=indices}]``; ``sorted=False`` (an unspecified order in TensorFlow) and
    bool or small-integer inputs are refused."""
    x = _one_tensor(ctx)
    if not ctx.layer.sorted:
        ctx.refuse("sorted=False (TensorFlow leaves the order unspecified)")
    k = ctx.layer.k
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        ctx.refuse(f"k={k!r} is not an int")
    if x.type.dtype not in (DType.FLOAT16, DType.FLOAT32, DType.FLOAT64, DType.INT32,
                            DType.INT64):
        ctx.refuse(f"top_k of a {x.type.dtype.value} tensor")
    return [ctx.lowered("top_k", [x.name], {"k": int(k), "result": r})
            for r in ("values", "indices")]
