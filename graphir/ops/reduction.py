"""Primitive reductions and linear algebra: ``sum``, ``mean``, ``max``, ``min``,
``prod``, ``argmax``, ``argmin``, ``var``, ``std``, ``cumsum``, ``top_k``, ``matmul``,
``einsum``.

NumPy semantics, neutral to Keras and ONNX (``specs/ops-reduction.md``).  Every op
here addresses axes, so every op is of layout class ``Layout.CHANNELS_LAST``: the ONNX
emitter hands it the IR's own (NHWC) axis order.

Axes convention (the whole group): the ``axes`` attribute of a reduction lists
exactly the reduced axes, *canonical*: non-negative, strictly increasing, each below
the input's rank.  The type rule rejects anything else (negative, repeated or
unsorted axes); lowering normalizes Keras' ``axis`` (negative values, ``None`` = all
axes, written out) before building the node.  An empty ``axes`` reduces nothing (the
output is the input, as NumPy's and TensorFlow's ``axis=()``).  The same holds for
the single ``axis`` of ``argmax`` / ``argmin``: ``0 <= axis < rank``.

Dtype rules (stated per op, checked by the type rules):

* ``sum``, ``prod``: float (float16/32/64), int32 or int64; output: the input's
  dtype (integers wrap around on overflow, as TensorFlow's and ONNX's).
* ``mean``, ``var``, ``std``: float only; output: the input's dtype.  (An integer
  mean is a float computation in Keras; lowering inserts the ``cast`` explicitly.)
* ``max``, ``min``: float, int8, uint8, int32 or int64; output: the input's dtype.
* ``argmax``, ``argmin``: float, int8, uint8, int32 or int64; output: ``int32``
  (Keras' dtype), first index on ties.
* ``cumsum``: float32, float64, int32 or int64 (onnxruntime's ``CumSum`` kernels);
  output: the input's dtype (one ``axis``).
* ``top_k``: float, int32 or int64; ``values`` in the input's dtype, ``indices`` int32
  (Keras' dtype), one node per result.
* ``matmul``: two inputs of one dtype, float, int32 or int64; output: that dtype.
* ``einsum``: inputs of one float dtype; output: that dtype.
* ``cumsum``: float32, float64, int32 or int64 (onnxruntime's ``CumSum`` kernels);
  output: the input's dtype and shape.

bool and the other integer dtypes are refused by the type rules (ONNX's Reduce ops
have no kernels for them in onnxruntime, and Keras promotes them first; lowering
inserts that promotion as a ``cast`` node).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np

from graphir.dtypes import DType
from graphir.ops.registry import AttrSpec, Layout, TypeRuleError, define_op
from graphir.ops.type_rules import broadcast_shapes, fmt_shape, same_dtype, unify_dims
from graphir.tensor_types import Dim, TensorType

__all__ = ["REDUCE_OPS", "argmax", "argmin", "cumsum", "einsum", "top_k", "matmul", "max_", "mean", "min_",
           "parse_einsum", "prod", "std", "sum_", "var"]

_FLOATS = (DType.FLOAT16, DType.FLOAT32, DType.FLOAT64)
_SUM_DTYPES = _FLOATS + (DType.INT32, DType.INT64)
_ORDER_DTYPES = _FLOATS + (DType.INT8, DType.UINT8, DType.INT32, DType.INT64)

#: reduction op -> the dtypes it accepts (the type rule's table)
REDUCE_OPS: Mapping[str, tuple[DType, ...]] = {
    "sum": _SUM_DTYPES, "prod": _SUM_DTYPES, "mean": _FLOATS, "var": _FLOATS, "std": _FLOATS,
    "max": _ORDER_DTYPES, "min": _ORDER_DTYPES,
}


def _names(dtypes: Sequence[DType]) -> str:
    return ", ".join(d.value for d in dtypes)


def _require_dtype(t: TensorType, allowed: Sequence[DType], op: str, index: int = 0) -> None:
    if t.dtype not in allowed:
        raise TypeRuleError(f"{op} accepts {_names(allowed)}; got {t.dtype.value} at input "
                            f"{index}", input_index=index, expected=_names(allowed),
                            actual=t.dtype.value,
                            hint="cast the input to one of the accepted dtypes first")


def _check_axes(axes: Sequence[int], rank: int) -> None:
    """Raise a TypeRuleError unless ``axes`` is canonical for ``rank`` (see the module
    docstring)."""
    if any(a < 0 or a >= rank for a in axes) or list(axes) != sorted(set(axes)):
        raise TypeRuleError(f"axes {list(axes)} are not canonical for rank {rank}: they must "
                            f"be distinct, increasing and in 0..{rank - 1}", input_index=0,
                            expected=f"increasing axes in 0..{rank - 1}", actual=str(list(axes)),
                            hint="normalize negative axes (axis % rank) and sort them")


def _reduced_shape(shape: Sequence[Dim], axes: Sequence[int], keepdims: bool) -> tuple:
    return tuple(1 if i in axes else d for i, d in enumerate(shape)
                 if keepdims or i not in axes)


def _reduce_rule(op: str):
    allowed = REDUCE_OPS[op]

    def rule(types, attrs):
        (x,) = types
        _require_dtype(x, allowed, op)
        _check_axes(attrs["axes"], x.rank)
        return (TensorType(x.dtype, _reduced_shape(x.shape, attrs["axes"], attrs["keepdims"])),)
    rule.__doc__ = f"``{op}``: dtypes {_names(allowed)}; the reduced shape, dtype kept."
    return rule


_REDUCE_ATTRS = {
    "axes": AttrSpec("ints", doc="the reduced axes: canonical (distinct, increasing, "
                                 "non-negative); empty reduces nothing"),
    "keepdims": AttrSpec("bool", doc="keep each reduced axis with size 1"),
}


def _axes(attrs) -> tuple[int, ...]:
    return tuple(attrs["axes"])


def _int_or_float(x: np.ndarray) -> Any:
    """The accumulation dtype of the kernels: float64 for floats, the dtype itself for
    integers (so they wrap around as in TensorFlow and ONNX)."""
    return np.float64 if x.dtype.kind == "f" else x.dtype


@define_op("sum", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("sum"),
           layout=Layout.CHANNELS_LAST,
           doc="sum of x over `axes` (keras.ops.sum, ONNX ReduceSum)")
def sum_(inputs, attrs):
    """``np.sum(x, axis=axes, keepdims=keepdims)``; integers wrap around."""
    x = inputs[0]
    return np.sum(x, axis=_axes(attrs), keepdims=attrs["keepdims"], dtype=_int_or_float(x))


@define_op("prod", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("prod"),
           layout=Layout.CHANNELS_LAST,
           doc="product of x over `axes` (keras.ops.prod, ONNX ReduceProd)")
def prod(inputs, attrs):
    """``np.prod(x, axis=axes, keepdims=keepdims)``; integers wrap around."""
    x = inputs[0]
    return np.prod(x, axis=_axes(attrs), keepdims=attrs["keepdims"], dtype=_int_or_float(x))


@define_op("mean", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("mean"),
           layout=Layout.CHANNELS_LAST,
           doc="arithmetic mean of float x over `axes` (keras.ops.mean, ONNX ReduceMean)")
def mean(inputs, attrs):
    """``np.mean(x, axis=axes, keepdims=keepdims)``."""
    return np.mean(inputs[0], axis=_axes(attrs), keepdims=attrs["keepdims"])


@define_op("max", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("max"),
           layout=Layout.CHANNELS_LAST,
           doc="maximum of x over `axes` (keras.ops.max, ONNX ReduceMax)")
def max_(inputs, attrs):
    """``np.max(x, axis=axes, keepdims=keepdims)`` (a NaN propagates)."""
    return np.max(inputs[0], axis=_axes(attrs), keepdims=attrs["keepdims"])


@define_op("min", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("min"),
           layout=Layout.CHANNELS_LAST,
           doc="minimum of x over `axes` (keras.ops.min, ONNX ReduceMin)")
def min_(inputs, attrs):
    """``np.min(x, axis=axes, keepdims=keepdims)`` (a NaN propagates)."""
    return np.min(inputs[0], axis=_axes(attrs), keepdims=attrs["keepdims"])


def _variance(x: np.ndarray, attrs) -> np.ndarray:
    """Population variance, two passes as ``tf.math.reduce_variance``:
    ``mean((x - mean(x, keepdims=True)) ** 2)``."""
    axes = _axes(attrs)
    d = x - np.mean(x, axis=axes, keepdims=True)
    return np.mean(d * d, axis=axes, keepdims=attrs["keepdims"])


@define_op("var", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("var"),
           layout=Layout.CHANNELS_LAST,
           doc="population variance of float x over `axes` (keras.ops.var; ONNX "
               "ReduceMean, Sub, Mul, ReduceMean)")
def var(inputs, attrs):
    """``mean((x - mean(x)) ** 2)`` over ``axes`` (divisor: the count, not count - 1)."""
    return _variance(inputs[0], attrs)


@define_op("std", ("x",), _REDUCE_ATTRS, infer=_reduce_rule("std"),
           layout=Layout.CHANNELS_LAST,
           doc="population standard deviation of float x over `axes` (keras.ops.std; "
               "ONNX: var's nodes, then Sqrt)")
def std(inputs, attrs):
    """``sqrt(var(x))`` over ``axes``."""
    return np.sqrt(_variance(inputs[0], attrs))


# --------------------------------------------------------------------------- argmax, argmin

def _arg_rule(op: str):
    def rule(types, attrs):
        (x,) = types
        _require_dtype(x, _ORDER_DTYPES, op)
        if x.rank == 0:
            raise TypeRuleError(f"{op} needs a tensor of rank >= 1, got a scalar",
                                input_index=0, expected="rank >= 1", actual="rank 0")
        axis = attrs["axis"]
        if not 0 <= axis < x.rank:
            raise TypeRuleError(f"axis {axis} is not in 0..{x.rank - 1} (rank {x.rank}); "
                                f"axes are canonical (non-negative)", input_index=0,
                                expected=f"0..{x.rank - 1}", actual=str(axis),
                                hint="normalize a negative axis: axis % rank")
        nz = attrs["negative_zero_as"]
        if nz is not None and not x.dtype.is_float:
            raise TypeRuleError(f"negative_zero_as={nz!r} applies to float inputs only; the "
                                f"input is {x.dtype.value}", input_index=0,
                                expected="negative_zero_as=None", actual=repr(nz))
        if nz is not None and not nz <= 0:
            raise TypeRuleError(f"negative_zero_as={nz!r} must be a value <= 0",
                                expected="<= 0", actual=repr(nz))
        return (TensorType(DType.INT32,
                           _reduced_shape(x.shape, (axis,), attrs["keepdims"])),)
    rule.__doc__ = (f"``{op}``: dtypes {_names(_ORDER_DTYPES)}; the shape without (or with "
                    f"size 1 at) ``axis``; int32.")
    return rule


_ARG_ATTRS = {
    "axis": AttrSpec("int", doc="the axis searched (canonical: 0 <= axis < rank)"),
    "keepdims": AttrSpec("bool", doc="keep the searched axis with size 1"),
    "negative_zero_as": AttrSpec(
        "optional_float", doc="None: -0.0 equals +0.0; a value v <= 0: every -0.0 is compared "
                              "as v (Keras on TensorFlow: minus float32's smallest normal, "
                              "so -0.0 ranks below +0.0)"),
}


def _arg(x: np.ndarray, attrs, fn) -> np.ndarray:
    nz = attrs["negative_zero_as"]
    if nz is not None:
        x = np.where((x == 0) & np.signbit(x), nz, x)
    return fn(x, axis=attrs["axis"], keepdims=attrs["keepdims"]).astype(np.int32)


@define_op("argmax", ("x",), _ARG_ATTRS, infer=_arg_rule("argmax"),
           layout=Layout.CHANNELS_LAST,
           doc="int32 index of the first maximum of x along `axis` (keras.ops.argmax; "
               "ONNX ArgMax then Cast)")
def argmax(inputs, attrs):
    """``np.argmax(x, axis, keepdims)`` as int32 (first index on ties), after replacing
    each -0.0 by ``negative_zero_as`` when that is not None."""
    return _arg(inputs[0], attrs, np.argmax)


@define_op("argmin", ("x",), _ARG_ATTRS, infer=_arg_rule("argmin"),
           layout=Layout.CHANNELS_LAST,
           doc="int32 index of the first minimum of x along `axis` (keras.ops.argmin; "
               "ONNX ArgMin then Cast)")
def argmin(inputs, attrs):
    """``np.argmin(x, axis, keepdims)`` as int32 (first index on ties), after replacing
    each -0.0 by ``negative_zero_as`` when that is not None."""
    return _arg(inputs[0], attrs, np.argmin)


# --------------------------------------------------------------------------- cumsum

_CUMSUM_DTYPES = (DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64)


def _cumsum_rule(types, attrs):
    """``cumsum``: dtypes float32, float64, int32, int64; rank >= 1; a canonical ``axis``;
    the input's type."""
    (x,) = types
    _require_dtype(x, _CUMSUM_DTYPES, "cumsum")
    axis = attrs["axis"]
    if x.rank == 0 or not 0 <= axis < x.rank:
        raise TypeRuleError(f"axis {axis} is not in 0..{x.rank - 1} (rank {x.rank}); axes "
                            f"are canonical (non-negative)", input_index=0,
                            expected=f"0..{x.rank - 1}" if x.rank else "rank >= 1",
                            actual=str(axis), hint="normalize a negative axis: axis % rank")
    return (x,)


@define_op("cumsum", ("x",), {"axis": AttrSpec("int", doc="the axis summed along "
                                                        "(canonical: 0 <= axis < rank)")},
           infer=_cumsum_rule, layout=Layout.CHANNELS_LAST,
           doc="running (inclusive) sum of x along `axis` (keras.ops.cumsum; ONNX CumSum)")
def cumsum(inputs, attrs):
    """``np.cumsum(x, axis)`` in the input's dtype (integers wrap around on overflow)."""
    x = inputs[0]
    return np.cumsum(x, axis=attrs["axis"], dtype=x.dtype)


# --------------------------------------------------------------------------- matmul

_MATMUL_DTYPES = _FLOATS + (DType.INT32, DType.INT64)


def _matmul_rule(types, attrs):
    """``matmul``: one dtype of float, int32, int64; NumPy's matmul shape rule."""
    a, b = types
    same_dtype(types)
    _require_dtype(a, _MATMUL_DTYPES, "matmul")
    for i, t in enumerate(types):
        if t.rank == 0:
            raise TypeRuleError(f"matmul input {i} is a scalar; each input needs rank >= 1",
                                input_index=i, expected="rank >= 1", actual="rank 0")
    sa = (1,) + tuple(a.shape) if a.rank == 1 else tuple(a.shape)
    sb = tuple(b.shape) + (1,) if b.rank == 1 else tuple(b.shape)
    try:
        unify_dims(sa[-1], sb[-2])
    except ValueError:
        raise TypeRuleError(f"matmul contracts the last axis of input 0 {fmt_shape(a.shape)} "
                            f"with the {'only' if b.rank == 1 else 'second-to-last'} axis of "
                            f"input 1 {fmt_shape(b.shape)}: {sa[-1]} vs {sb[-2]}",
                            input_index=1, expected=f"{sa[-1]} on the contracted axis",
                            actual=fmt_shape(b.shape)) from None
    batch = broadcast_shapes([sa[:-2], sb[:-2]])
    out = batch + ((sa[-2],) if a.rank > 1 else ()) + ((sb[-1],) if b.rank > 1 else ())
    return (TensorType(a.dtype, out),)


@define_op("matmul", ("x", "y"), infer=_matmul_rule,
           layout=Layout.CHANNELS_LAST,
           doc="NumPy matmul of two tensors of one dtype (keras.ops.matmul, ONNX MatMul)")
def matmul(inputs, attrs):
    """``np.matmul(x, y)``: rank-1 operands promoted and the added axis dropped, batch
    axes broadcast; integers wrap around."""
    return np.matmul(inputs[0], inputs[1])


# --------------------------------------------------------------------------- einsum

_TERM = re.compile(r"[A-Za-z]*")


def parse_einsum(equation: str) -> tuple[tuple[str, ...], str]:
    """The input terms and the output term of a canonical einsum equation
    ``"bij,bjk->bik"``: terms of ASCII letters, explicit ``->``, no spaces, no
    ellipsis, no letter twice in one term, every output letter in some input.

    Raises:
        TypeRuleError: the equation is not canonical (the message says why).
    """
    def bad(why: str):
        raise TypeRuleError(f"einsum equation {equation!r}: {why}", actual=repr(equation),
                            expected="letters, ',' and one '->' (e.g. 'bij,bjk->bik')")
    if equation.count("->") != 1:
        bad("needs exactly one '->' (the output written out)")
    lhs, out = equation.split("->")
    terms = tuple(lhs.split(","))
    for term in terms + (out,):
        if not _TERM.fullmatch(term):
            bad(f"term {term!r} is not ASCII letters only (no spaces, no '...')")
        if len(set(term)) != len(term):
            bad(f"term {term!r} repeats a letter (diagonals are not supported)")
    missing = sorted(set(out) - set(lhs))
    if missing:
        bad(f"output letters {missing} appear in no input")
    return terms, out


def _einsum_rule(types, attrs):
    """``einsum``: inputs of one float dtype; each letter's dims unified across inputs."""
    terms, out = parse_einsum(attrs["equation"])
    if len(terms) != len(types):
        raise TypeRuleError(f"einsum equation {attrs['equation']!r} has {len(terms)} input "
                            f"terms but the node has {len(types)} inputs",
                            expected=f"{len(terms)} inputs", actual=str(len(types)))
    same_dtype(types)
    for i, t in enumerate(types):
        _require_dtype(t, _FLOATS, "einsum", i)
    dims: dict[str, Dim] = {}
    for i, (term, t) in enumerate(zip(terms, types)):
        if len(term) != t.rank:
            raise TypeRuleError(f"einsum term {term!r} has {len(term)} letters but input {i} "
                                f"has rank {t.rank} {fmt_shape(t.shape)}", input_index=i,
                                expected=f"rank {len(term)}", actual=fmt_shape(t.shape))
        for ax, (letter, d) in enumerate(zip(term, t.shape)):
            if letter not in dims:
                dims[letter] = d
                continue
            try:
                dims[letter] = unify_dims(dims[letter], d)
            except ValueError:
                raise TypeRuleError(f"einsum letter {letter!r} is {dims[letter]} elsewhere "
                                    f"but {d} at axis {ax} of input {i}", input_index=i,
                                    axis=ax, expected=str(dims[letter]),
                                    actual=fmt_shape(t.shape)) from None
    return (TensorType(types[0].dtype, tuple(dims[c] for c in out)),)


@define_op("einsum", ("operands",), {"equation": AttrSpec(
               "str", doc="canonical equation: letters, ',' between inputs, one '->', no "
                          "ellipsis, no letter twice in a term")},
           infer=_einsum_rule,
           layout=Layout.CHANNELS_LAST, variadic=True, min_inputs=1,
           doc="Einstein summation of float tensors (keras.ops.einsum, ONNX Einsum)")
def einsum(inputs, attrs):
    """``np.einsum(equation, *operands)`` in float64."""
    return np.einsum(attrs["equation"], *inputs)


# --------------------------------------------------------------------------- top_k

def _top_k_rule(types, attrs):
    x = types[0]
    if x.dtype not in _SUM_DTYPES:
        raise TypeRuleError(f"top_k of a {x.dtype.value} tensor; accepted: "
                            f"{_names(_SUM_DTYPES)}", input_index=0,
                            expected=_names(_SUM_DTYPES), actual=x.dtype.value)
    if x.rank < 1:
        raise TypeRuleError("top_k of a scalar", input_index=0, expected="rank >= 1")
    k, last = attrs["k"], x.shape[-1]
    if k < 1 or (isinstance(last, int) and k > last):
        raise TypeRuleError(f"k={k} for a last axis of size {last}",
                            expected=f"1 <= k <= {last}", actual=str(k))
    dtype = x.dtype if attrs["result"] == "values" else DType.INT32
    return (TensorType(dtype, tuple(x.shape[:-1]) + (k,)),)


@define_op("top_k", ("x",), {"k": AttrSpec("int", doc="how many of the largest entries"),
                             "result": AttrSpec("str", choices=("values", "indices"),
                                                doc="which output of the call this node is")},
           infer=_top_k_rule, layout=Layout.CHANNELS_LAST,
           doc="the k largest entries along the last axis, in decreasing order, the lower "
               "index first among equal entries (keras.ops.top_k, tf.math.top_k, ONNX TopK); "
               "`result` picks the values or their int32 indices")
def top_k(inputs, attrs):
    """The ``k`` largest entries of the last axis, largest first, ties in index order
    (a stable sort of the negated values); their values or int32 indices."""
    x = np.asarray(inputs[0])
    key = -x.astype(np.float64)
    order = np.argsort(key, axis=-1, kind="stable")[..., :attrs["k"]]
    if attrs["result"] == "indices":
        return order.astype(np.int32)
    return np.take_along_axis(x, order, axis=-1)
