"""Sizes read with ``keras.ops.shape`` that are unknown while a call is traced.

A traced ``call()`` (:mod:`graphir.backends.keras.tracing`) runs on symbolic tensors
whose batch axis (and any axis the model leaves unknown, such as a text model's
sequence length) is ``None``.  Code that reads such a size and builds something of
it, ``ops.broadcast_to(class_token, (ops.shape(x)[0], 1, d))`` (ViT, DeiT, CLIP,
DINOv2, a Perceiver's latents), ``ops.arange(ops.shape(x)[1])`` (keras_hub's causal
masks), ``ops.slice(table, (0, 0), (ops.shape(x)[1], d))`` (keras_hub's
``PositionEmbedding``), ``ops.repeat(t, ops.shape(x)[0], axis=0)``, would fail on
``None`` in Keras' own symbolic shape inference.

While a call is traced, :func:`dynamic_dims` makes ``keras.ops.shape`` return a
:class:`DynamicDim` for each unknown size of a symbolic tensor, and rewrites the
``keras.ops`` functions that take sizes, when they are given one, into ``keras.ops``
calls on symbolic tensors that compute exactly the same at run time, reading the
size from the tensor it came from (as ONNX reads it with ``Shape``, and as
``tf.shape`` does in TensorFlow):

* a *ruler* of a dynamic size ``n`` (the size of axis ``k`` of tensor ``t``) is
  ``zeros_like(take(t, 0) on every other axis)``: a 1-D tensor of ``n`` zeros;
* ``broadcast_to(x, shape)`` is ``x - zeros(shape)`` (``logical_or`` for bool), the
  zeros being the rulers, each expanded to its axis, and a constant holding the
  static sizes, broadcast together by subtraction (``x - 0`` is ``x`` in every dtype,
  ``-0.0`` included; a subtraction, unlike Keras' ``add``, never becomes TensorFlow's
  ``bias_add``);
* ``tile`` / ``repeat`` by a dynamic count along an axis of static size 1 is that
  broadcast; ``zeros`` / ``ones`` / ``full`` / ``empty`` of a shape are
  ``full_like`` of those zeros;
* ``arange(n)`` is ``cumsum(ones_like(ruler)) - 1``; ``arange(start, stop)`` whose
  count is such a size plus an int (``arange(1 - n, 1)``: keras_hub's ALiBi) adds
  ``start`` (a size tensor when dynamic); with a static start and a positive step it is
  ``arange(stop)[start::step]``;
* ``slice(x, starts, sizes)`` with a dynamic size is ``take`` of such an arange plus
  the static start, and so is ``x[:, :n]`` (a tensor's or a variable's slice whose
  stop is a dynamic size: ``take`` of ``arange(start, n, step)``);
* ``reshape(x, newshape)`` is recorded as :class:`DynamicReshape` with the tensors the
  sizes came from (products of sizes and ints, floor-divided at most once, are kept
  as such; a ``-1`` beside such sizes is resolved to the product of sizes it is, where
  x's size divided by the others is one, each size traced back through transposes,
  earlier reshapes and batch-keeping layers: :func:`_inferred_size`); the walker keeps
  the batch axis when the first size is provably
  ``x``'s own (:func:`_same_batch` while tracing, or both tensors' IR types name that
  axis ``batch``), reads sizes static in the IR, and turns a single
  other unknown entry into ``-1`` (what ``tf.reshape`` infers is that entry's value
  whenever the call is valid); several sizes known only at run time become the
  ``dynamic_reshape`` op, which reads them from the source tensors' shapes.

* ``pad(x, widths)`` by amounts that are such sizes (``(w - n % w) % w``, padding to a
  multiple of a window: Swin, ViTDet, local attention) pads by the largest each amount
  can be, then takes the positions the run-time size has: a ruler of a size written
  with ``+``, ``-``, ``*``, ``//`` and ``%`` by ints is built from the size's own
  ruler by static slicing and repeating (:func:`_periodic`, :func:`_sized_ruler`).

``segment_sum`` into a number of segments that is such a size is the one-hot of the ids
against the positions ``0 .. n - 1``, contracted with the data.  ``ops.meshgrid`` of
symbolic tensors is reshapes and broadcasting subtractions of zeros
(:func:`_meshgrid`).

``ops.size`` of a symbolic tensor is the product of its sizes (a constant when static),
``ops.ndim`` its rank (a Python int); ``ops.tril`` / ``ops.triu`` of a tensor whose last
two sizes are unknown compare two aranges of them (``where`` with zeros); vectors of sizes
built TensorFlow-style (``concatenate`` / ``stack`` / ``expand_dims`` /
``convert_to_tensor`` of sizes) stay :class:`DynamicShape` s for the size-taking
functions.

Used as a number anywhere else, in another ``keras.ops`` function or with a symbolic
tensor (``ops.sum(x, 1) / ops.cast(ops.shape(x)[1], "float32")``), the size becomes a
scalar int32 tensor, the sum of a ruler of ones: what ``tf.shape`` gives in a
TensorFlow graph, which is how Keras itself runs such code when it builds the model.
Python arithmetic with ints keeps a size (:class:`DynamicExpr`); a comparison of a size
with an int or another size is a :class:`DynamicComparison`, the scalar bool tensor of
the comparison at run time in ``keras.ops`` calls (``ops.where(seq_len > n, long,
short)``: keras_hub Phi3's long-RoPE factors).  What needs the number itself fails
loudly (``int()``, ``bool()`` of a size or of a comparison: a Python branch on a
run-time size, NumPy), and so do the size
arguments graphir cannot keep dynamic (a broadcast of a computed size, a reshape
whose sizes are computed from a tensor's values), so the trace is refused by name
rather than computing with a wrong constant.  Sizes that are static while tracing stay
Python ints, exactly as before.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
from typing import Any, Callable, Iterator, Sequence

import keras
import numpy as np

__all__ = ["DynamicComparison", "DynamicDim", "DynamicReshape", "DynamicShape",
           "DynamicSizeError", "band_part", "dynamic_dims", "is_stand_in", "ops_namespaces"]


class DynamicSizeError(TypeError):
    """A size unknown while tracing was used where graphir cannot keep it dynamic (a
    ``TypeError``, so the trace is refused like any other untraceable call)."""


class _Unknown:
    """Base of the stand-ins for sizes unknown while tracing.  Python arithmetic with
    ints gives a :class:`DynamicExpr`; with a float, a symbolic tensor, or in any
    ``keras.ops`` function other than the size-taking ones, the size becomes a scalar
    int32 symbolic tensor (:meth:`size_tensor`: what ``tf.shape`` gives in a TensorFlow
    graph).  Every use that needs the number itself (``int()``, ``bool()``, comparisons,
    NumPy) raises :class:`DynamicSizeError`."""

    def _fail(self, what: str) -> Any:
        raise DynamicSizeError(
            f"{self.describe()} is unknown while tracing and is used as {what}; graphir "
            f"keeps such a size dynamic in keras.ops calls and tensor arithmetic only (or "
            f"give the model's inputs static sizes: from_keras(..., input_shapes={{name: "
            f"shape}}), the CLI's --input-shape)")

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def size_tensor(self) -> Any:  # pragma: no cover - overridden
        """The size as a scalar int32 symbolic tensor."""
        raise NotImplementedError

    def __index__(self) -> int:
        return self._fail("a Python int")

    def __int__(self) -> int:
        return self._fail("a Python int")

    def __float__(self) -> float:
        return self._fail("a Python float")

    def __bool__(self) -> bool:
        return self._fail("a truth value")

    def _compare(self, symbol: str, other: Any) -> Any:
        if isinstance(other, keras.KerasTensor):
            return NotImplemented  # the tensor's own (reflected) comparison
        if isinstance(other, (int, _Unknown)) and not isinstance(other, bool):
            return DynamicComparison(symbol, self, other)
        return self._fail(f"an operand of {symbol} ({other!r})")

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> Any:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Any:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Any:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Any:
        return self._compare(">=", other)

    __hash__ = object.__hash__

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail("an array value")

    def _arith(self, symbol: str, other: Any, reflected: bool = False) -> Any:
        if isinstance(other, keras.KerasTensor):
            return NotImplemented  # the tensor's own operator, with this size as a tensor
        left, right = (other, self) if reflected else (self, other)
        if isinstance(other, (int, _Unknown)) and not isinstance(other, bool) \
                and symbol in _INT_OPS:
            return DynamicExpr(symbol, left, right)
        if isinstance(other, (int, float, _Unknown)) and not isinstance(other, bool):
            return _OPS[symbol](_value(left), _value(right))
        return self._fail(f"an operand of {symbol} with {type(other).__name__}")

    def __add__(self, o: Any) -> Any:
        return self._arith("+", o)

    def __radd__(self, o: Any) -> Any:
        return self._arith("+", o, True)

    def __sub__(self, o: Any) -> Any:
        return self._arith("-", o)

    def __rsub__(self, o: Any) -> Any:
        return self._arith("-", o, True)

    def __mul__(self, o: Any) -> Any:
        return self._arith("*", o)

    def __rmul__(self, o: Any) -> Any:
        return self._arith("*", o, True)

    def __floordiv__(self, o: Any) -> Any:
        return self._arith("//", o)

    def __rfloordiv__(self, o: Any) -> Any:
        return self._arith("//", o, True)

    def __truediv__(self, o: Any) -> Any:
        return self._arith("/", o)

    def __mod__(self, o: Any) -> Any:
        return self._arith("%", o)

    def __rmod__(self, o: Any) -> Any:
        return self._arith("%", o, True)

    def __neg__(self) -> Any:
        return DynamicExpr("-", 0, self)

    def __rtruediv__(self, o: Any) -> Any:
        return self._arith("/", o, True)

    def __repr__(self) -> str:
        return self.describe()


#: the Python operators on sizes that give sizes (ints) again
_INT_OPS = ("+", "-", "*", "//", "%")


def _text(v: Any) -> str:
    return v.describe() if isinstance(v, _Unknown) else repr(v)


def _formula(v: Any) -> str:
    """A size as the formula it is (``(ops.shape(x)[1] % 4)``), an int as itself."""
    if isinstance(v, DynamicExpr):
        return f"({_formula(v.left)} {v.symbol} {_formula(v.right)})"
    return _text(v)


def _value(v: Any) -> Any:
    """A size as a tensor (``int32``), anything else as it is."""
    return v.size_tensor() if isinstance(v, _Unknown) else v


class DynamicExpr(_Unknown):
    """A size computed from dynamic sizes and ints (``ops.shape(x)[0] * heads``): the
    one unknown entry of a ``reshape``, or a tensor (:meth:`size_tensor`) elsewhere.

    Attributes:
        symbol: ``+``, ``-``, ``*``, ``//`` or ``%`` (Python's floor division and modulo).
        left, right: the operands (ints or stand-ins).
    """

    def __init__(self, symbol: str, left: Any, right: Any):
        self.symbol, self.left, self.right = symbol, left, right

    def describe(self) -> str:
        return f"the size {_formula(self)}"

    def size_tensor(self) -> Any:
        """The expression on int32 scalar tensors (Python's ``//`` and ``%`` floor as
        ``floor_divide`` and ``mod`` do)."""
        return _OPS[self.symbol](_value(self.left), _value(self.right))


class DynamicComparison:
    """A comparison of a size unknown while tracing with an int or another such size
    (``start_index + ops.shape(x)[1] > n``: keras_hub Phi3's long-RoPE factor choice,
    ``ops.where(seq_len > n, long, short)``).  In a ``keras.ops`` call or tensor
    arithmetic it is the comparison computed at run time, a scalar bool tensor
    (:meth:`size_tensor`, what TensorFlow computes from ``tf.shape``); as a Python truth
    value (``if pad_size > 0:``, a branch on a run-time size) it raises
    :class:`DynamicSizeError`, so a trace never takes one branch for every size.

    Attributes:
        symbol: ``==``, ``!=``, ``<``, ``<=``, ``>`` or ``>=``.
        left, right: the operands (a stand-in and an int or another stand-in).
    """

    def __init__(self, symbol: str, left: Any, right: Any):
        self.symbol, self.left, self.right = symbol, left, right

    def describe(self) -> str:
        return f"the comparison {_formula(self.left)} {self.symbol} {_formula(self.right)}"

    def size_tensor(self) -> Any:
        """The comparison as a scalar bool symbolic tensor of the operands' int32 size
        tensors."""
        return _COMPARISONS[self.symbol](_value(self.left), _value(self.right))

    def __bool__(self) -> bool:
        raise DynamicSizeError(
            f"{self.describe()} of a size unknown while tracing is used as a truth value (a "
            f"Python branch on a run-time size); graphir keeps such a comparison as a bool "
            f"tensor in keras.ops calls only, as in ops.where (or give the model's inputs "
            f"static sizes: from_keras(..., input_shapes={{name: shape}}), the CLI's "
            f"--input-shape)")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return self.describe()


class DynamicDim(_Unknown):
    """``keras.ops.shape(tensor)[axis]`` of a symbolic tensor whose size there is unknown
    (``None``) while tracing.

    Attributes:
        tensor: the ``KerasTensor`` the size was read from.
        axis: the axis, ``0 <= axis < rank``.
    """

    def __init__(self, tensor: Any, axis: int):
        self.tensor = tensor
        self.axis = axis

    def describe(self) -> str:
        return f"ops.shape({self.tensor.name})[{self.axis}]"

    def size_tensor(self) -> Any:
        """The size as a scalar int32 symbolic tensor: the sum of a ruler of ones."""
        ruler = self.ruler("int32")
        return _ORIGINAL["sum"](_ORIGINAL["ones_like"](ruler, dtype="int32"))

    def ruler(self, dtype: str) -> Any:
        """A rank-1 symbolic tensor of this many zeros of ``dtype``, read from
        :attr:`tensor` (``take`` of index 0 on every other axis)."""
        t = self.tensor
        for j in reversed(range(len(t.shape))):
            if j != self.axis:
                t = _ORIGINAL["take"](t, 0, axis=j)
        return _ORIGINAL["zeros_like"](t, dtype=dtype)


def _is_dynamic(v: Any) -> bool:
    return isinstance(v, _Unknown)


def _has_dynamic(v: Any, kinds: Any = _Unknown) -> bool:
    """Whether ``v`` is a stand-in (an instance of ``kinds``) or holds one (in lists,
    tuples, dicts, slices)."""
    if isinstance(v, (list, tuple)):
        return any(_has_dynamic(e, kinds) for e in v)
    if isinstance(v, dict):
        return any(_has_dynamic(e, kinds) for e in v.values())
    if isinstance(v, slice):
        return _has_dynamic((v.start, v.stop, v.step), kinds)
    return isinstance(v, kinds)


#: what a keras.ops call or a tensor operator takes as its run-time tensor
_STAND_INS = (_Unknown, DynamicComparison)


def is_stand_in(v: Any) -> bool:
    """Whether ``v`` stands in, while tracing, for a size, a comparison of sizes or a
    vector of sizes unknown while tracing."""
    return isinstance(v, (*_STAND_INS, DynamicShape))


def _plain(v: Any, what: str) -> DynamicDim:
    if isinstance(v, DynamicDim):
        return v
    return v._fail(what)


def _dtype_of(x: Any) -> str:
    return keras.backend.standardize_dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)


def _zeros(shape: Sequence[Any], dtype: str) -> Any:
    """A symbolic tensor of zeros (False) of ``shape`` (ints, :class:`DynamicDim` s and
    expressions of one size, :func:`_sized_ruler`: XLNet's ``ones((2n, 1 * b, d))``);
    bool zeros are int32 zeros cast (the subtraction needs numbers)."""
    if dtype == "bool":
        return _ORIGINAL["cast"](_zeros(shape, "int32"), "bool")
    rank = len(shape)
    parts: list[Any] = []
    for i, d in enumerate(shape):
        if _is_dynamic(d):
            ruler = d.ruler(dtype) if isinstance(d, DynamicDim) else _sized_ruler(
                d, dtype, "a size of a broadcast or of a new tensor")
            axes = tuple(a for a in range(rank) if a != i)
            parts.append(_ORIGINAL["expand_dims"](ruler, axes) if axes else ruler)
    if not parts:  # pragma: no cover - the callers rewrite only dynamic shapes
        raise AssertionError("no dynamic size")
    static = tuple(1 if _is_dynamic(d) else int(d) for d in shape)
    out = parts[0]
    for p in parts[1:]:
        out = _ORIGINAL["subtract"](out, p)
    if any(d != 1 for d in static):
        out = _ORIGINAL["subtract"](out, np.zeros(static, dtype=dtype))
    return out


def _as_rank(x: Any, rank: int) -> Any:
    """``x`` with leading size-1 axes up to ``rank`` (a constant stays a constant)."""
    have = len(x.shape)
    if have == rank:
        return x
    lead = tuple(range(rank - have))
    if isinstance(x, keras.KerasTensor):
        return _ORIGINAL["expand_dims"](x, lead)
    return np.asarray(x).reshape((1,) * len(lead) + tuple(np.shape(x)))


def _operand(x: Any) -> Any:
    """A non-symbolic operand as an array of its own dtype (a ``keras.Variable`` stays
    itself, so that it keeps its weight path)."""
    if isinstance(x, (keras.KerasTensor, keras.Variable)):
        return x
    return np.asarray(x)


def _broadcast_to(x: Any, shape: Sequence[Any]) -> Any:
    x = _operand(x)
    shape = tuple(shape)
    if len(shape) < len(x.shape):
        raise ValueError(f"broadcast_to: shape {shape} has fewer axes than x {x.shape}")
    dtype = _dtype_of(x)
    x = _as_rank(x, len(shape))
    # the static sizes x already has need no constant in the zeros
    need = tuple(d if _is_dynamic(d) or x.shape[i] != d else 1 for i, d in enumerate(shape))
    if dtype == "bool":
        return _ORIGINAL["logical_or"](x, _zeros(need, "bool"))
    return _ORIGINAL["subtract"](x, _zeros(need, dtype))


def _tile(x: Any, repeats: Any) -> Any:
    x = _operand(x)
    reps = list(repeats) if isinstance(repeats, (list, tuple)) else [repeats]
    rank = max(len(x.shape), len(reps))
    x = _as_rank(x, rank)
    reps = [1] * (rank - len(reps)) + reps
    target: list[Any] = []
    for i, r in enumerate(reps):
        if _is_dynamic(r):
            r = _plain(r, "a tile count")
            if x.shape[i] != 1:
                raise DynamicSizeError(
                    f"tile by {r.describe()} along axis {i} of size {x.shape[i]}: graphir "
                    f"keeps a dynamic count only along an axis of size 1 (a broadcast)")
            target.append(r)
        else:
            target.append(x.shape[i])
    y = _broadcast_to(x, target)
    static = [1 if _is_dynamic(r) else int(r) for r in reps]
    return _ORIGINAL["tile"](y, static) if any(r != 1 for r in static) else y


def _repeat(x: Any, repeats: Any, axis: Any = None) -> Any:
    x = _operand(x)
    if axis is None or not _is_dynamic(repeats):
        raise DynamicSizeError(f"repeat by {_text(repeats)} without an axis, or with "
                               f"per-element counts: not kept dynamic")
    axis = int(axis) % len(x.shape)
    if x.shape[axis] != 1:
        raise DynamicSizeError(
            f"repeat by {_text(repeats)} along axis {axis} of size {x.shape[axis]}: graphir "
            f"keeps a dynamic count only along an axis of size 1 (a broadcast)")
    target = list(x.shape)
    target[axis] = _plain(repeats, "a repeat count")
    return _broadcast_to(x, [d if d is not None else DynamicDim(x, i) if
                             isinstance(x, keras.KerasTensor) else d
                             for i, d in enumerate(target)])


def _filled(shape: Any, value: Any, dtype: Any) -> Any:
    shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    dtype = keras.backend.standardize_dtype(dtype or keras.backend.floatx())
    zeros = _zeros(shape, dtype)
    if value == 0:
        return zeros
    return _ORIGINAL["full_like"](zeros, value, dtype=dtype)


def _zeros_fn(shape: Any, dtype: Any = None) -> Any:
    return _filled(shape, 0, dtype)


def _ones_fn(shape: Any, dtype: Any = None) -> Any:
    return _filled(shape, 1, dtype)


def _full_fn(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    if isinstance(fill_value, (keras.KerasTensor, _Unknown)) or np.ndim(fill_value):
        raise DynamicSizeError("full() of a dynamic shape with a tensor fill value")
    return _filled(shape, fill_value, dtype)


_CUMSUM_DTYPES = ("int32", "int64", "float32", "float64")


def _affine(v: Any) -> tuple[Any, int, int] | None:
    """``v`` (an int or a stand-in) as ``(dim, a, c)`` meaning ``a * dim + c`` with ``dim``
    one :class:`DynamicDim` (None for an int); None when it is not affine in one size."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return (None, 0, v)
    if isinstance(v, DynamicDim):
        return (v, 1, 0)
    if not isinstance(v, DynamicExpr) or v.symbol not in ("+", "-", "*"):
        return None
    left, right = _affine(v.left), _affine(v.right)
    if left is None or right is None:
        return None
    if v.symbol == "*":
        if left[0] is not None and right[0] is not None:
            return None
        (d, a, c), k = (right, left[2]) if left[0] is None else (left, right[2])
        return (d, a * k, c * k)
    dims = {(id(d.tensor), d.axis): d for d in (left[0], right[0]) if d is not None}
    if len(dims) > 1:
        return None  # two different sizes
    sign = 1 if v.symbol == "+" else -1
    return (next(iter(dims.values()), None), left[1] + sign * right[1],
            left[2] + sign * right[2])


def _counting(length: tuple[Any, int, int], work: str) -> Any:
    """``0, 1, ..., L - 1`` in dtype ``work`` for the length ``L = a * dim + c``
    (:func:`_affine`) with ``a`` 0 (a constant) or 1 (``cumsum`` of ones over a ruler of
    ``dim``, shortened or lengthened by ``c``)."""
    dim, a, c = length
    if a == 0:
        return np.arange(c, dtype=work)
    ruler = dim.ruler(work)
    if c < 0:
        ruler = ruler[(slice(-c, None),)]
    elif c > 0:
        ruler = _ORIGINAL["concatenate"]([ruler, np.zeros((c,), work)], axis=0)
    return _positions(ruler, work)


def _positions(ruler: Any, work: str) -> Any:
    """``0, 1, ..., L - 1`` in dtype ``work`` for a ruler of ``L`` zeros: ``cumsum`` of
    ones, minus one."""
    ones = _ORIGINAL["ones_like"](ruler, dtype=work)
    return _ORIGINAL["subtract"](_ORIGINAL["cumsum"](ones, axis=0), np.ones((), work))


#: the largest period :func:`_periodic` works with (a table of that many ints)
_MAX_PERIOD = 4096

#: ``f(n) = slope * (n // period) + table[n % period]`` of one size ``n`` (None for
#: a constant): ``(n, period, slope, table)``
Periodic = tuple[Any, int, int, tuple[int, ...]]


def _lift(f: Periodic, period: int) -> Periodic:
    """``f`` written with ``period``, a multiple of its own:
    ``n // p = k * (n // (k p)) + (n % (k p)) // p``."""
    dim, p, slope, table = f
    k = period // p
    return (dim, period, slope * k,
            tuple(slope * (r // p) + table[r % p] for r in range(period)))


def _periodic(v: Any) -> Periodic | None:
    """``v`` (an int or a stand-in) as a function of one size ``n`` unknown while
    tracing, ``f(n) = slope * (n // period) + table[n % period]``: every expression of
    one size and ints with ``+``, ``-``, ``*`` by an int, and ``//`` or ``%`` by a
    positive int is one (Python's floor semantics; ``(w - n % w) % w``, the padding of
    ``n`` to a multiple of ``w``, is ``slope`` 0, ``table`` ``(0, w-1, ..., 1)``).  None
    for anything else (two sizes, a product of sizes, a period over
    :data:`_MAX_PERIOD`)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return (None, 1, 0, (int(v),))
    if isinstance(v, DynamicDim):
        return (v, 1, 1, (0,))
    if not isinstance(v, DynamicExpr):
        return None
    left, right = _periodic(v.left), _periodic(v.right)
    if left is None or right is None:
        return None
    dims = {(id(d.tensor), d.axis): d for d in (left[0], right[0]) if d is not None}
    if len(dims) > 1:
        return None
    dim = next(iter(dims.values()), None)
    left, right = (dim, *left[1:]), (dim, *right[1:])
    if v.symbol in ("+", "-"):
        period = left[1] * right[1] // math.gcd(left[1], right[1])
        if period > _MAX_PERIOD:
            return None
        (_, _, a, f), (_, _, b, g) = _lift(left, period), _lift(right, period)
        sign = 1 if v.symbol == "+" else -1
        return (dim, period, a + sign * b, tuple(x + sign * y for x, y in zip(f, g)))
    constant = [side[3][0] for side in (left, right) if side[1] == 1 and side[2] == 0]
    if v.symbol == "*" and constant:
        k, other = constant[-1], left if right[1] == 1 and right[2] == 0 else right
        return (dim, other[1], other[2] * k, tuple(x * k for x in other[3]))
    if v.symbol not in ("//", "%") or not (right[1] == 1 and right[2] == 0) or \
            right[3][0] <= 0 or left[1] * right[3][0] > _MAX_PERIOD:
        return None
    c = right[3][0]
    _, period, slope, table = _lift(left, left[1] * c)   # slope is a multiple of c
    if v.symbol == "//":
        return (dim, period, slope // c, tuple(x // c for x in table))
    return (dim, period, 0, tuple(x % c for x in table))


def _sized_ruler(v: Any, dtype: str, what: str) -> Any:
    """A ruler (rank-1 zeros of ``dtype``) of the size ``v`` (:func:`_periodic`),
    built of the ruler of its one unknown size ``n`` with static slicing and
    repeating only: ``f(n) = table[0] + sum_j c_j * ((n + j) // period)``, each term
    ``(n + j) // period`` the ruler of ``n`` lengthened by ``j`` zeros and cut with
    step ``period`` from ``period - 1`` (``range(p - 1, n + j, p)`` has
    ``(n + j) // p`` entries), repeated ``c_j`` times.

    Raises:
        DynamicSizeError: ``v`` is not such an expression, or some ``c_j`` or
            ``table[0]`` is negative (a size that shrinks as ``n`` grows).
    """
    f = _periodic(v)
    if f is None:
        raise DynamicSizeError(f"{_text(v)} as {what}: kept when it is one size unknown "
                               f"while tracing with +, -, * by ints and // or % by "
                               f"positive ints")
    dim, period, slope, table = f
    if dim is None:
        return np.zeros((max(table[0], 0),), dtype)
    steps = [table[r] - table[r - 1] for r in range(1, period)]
    counts = [slope - sum(steps)] + [steps[period - j - 1] for j in range(1, period)]
    if table[0] < 0 or any(c < 0 for c in counts):
        raise DynamicSizeError(f"{_text(v)} as {what}: a size that is not a sum of "
                               f"non-negative multiples of (n + j) // {period}")
    base = dim.ruler(dtype)
    parts = []
    for j, count in enumerate(counts):
        if count == 0:
            continue
        part = base if j == 0 else _ORIGINAL["concatenate"](
            [base, np.zeros((j,), dtype)], axis=0)
        if period > 1:
            part = part[(slice(period - 1, None, period),)]
        parts.append(part if count == 1 else _ORIGINAL["repeat"](part, count, axis=0))
    if table[0] > 0:
        parts.append(np.zeros((table[0],), dtype))
    if not parts:
        return np.zeros((0,), dtype)
    return parts[0] if len(parts) == 1 else _ORIGINAL["concatenate"](parts, axis=0)


def _linear(v: Any) -> tuple[dict[tuple[int, int], tuple[Any, int]], int] | None:
    """``v`` (an int or a stand-in) as ``sum(coef * size) + const`` over sizes unknown
    while tracing, ``({(id(tensor), axis): (DynamicDim, coef)}, const)`` (zero
    coefficients dropped); None when it uses ``//``, ``%`` or a product of sizes."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return {}, int(v)
    if isinstance(v, DynamicDim):
        return {(id(v.tensor), v.axis): (v, 1)}, 0
    if not isinstance(v, DynamicExpr) or v.symbol not in ("+", "-", "*"):
        return None
    left, right = _linear(v.left), _linear(v.right)
    if left is None or right is None:
        return None
    if v.symbol == "*":
        if left[0] and right[0]:
            return None
        (terms, const), k = (right, left[1]) if not left[0] else (left, right[1])
        return {key: (d, c * k) for key, (d, c) in terms.items() if c * k}, const * k
    sign = 1 if v.symbol == "+" else -1
    terms = dict(left[0])
    for key, (d, c) in right[0].items():
        total = terms.get(key, (d, 0))[1] + sign * c
        if total:
            terms[key] = (d, total)
        else:
            terms.pop(key, None)
    return terms, left[1] + sign * right[1]


def _pad_by_gather(x: Any, widths: list[list[Any]], constant_values: Any) -> Any | None:
    """:func:`_pad` where an amount is not bounded but each padded size is one size of
    some tensor plus an int (PaliGemma pads a mask by ``n - m`` to ``n``): the input
    with one fill element appended on each such axis, gathered at ``i - before`` where
    that is inside the input and at the fill element elsewhere.  None when a padded
    size is not of that form."""
    y = x
    for axis, (before, after) in enumerate(widths):
        if not (_is_dynamic(before) or _is_dynamic(after)):
            continue
        n = DynamicDim(x, axis) if x.shape[axis] is None else int(x.shape[axis])
        form = _linear(n + before + after)
        if form is None or len(form[0]) != 1 or form[1] < 0:
            return None
        ((dim, coef),) = form[0].values()
        if coef != 1:
            return None
        positions = _positions(_sized_ruler(dim + form[1], "int32", "a padded size"), "int32")
        source = _ORIGINAL["subtract"](positions, _ORIGINAL["cast"](_value(before), "int32"))
        size = _ORIGINAL["cast"](_value(n), "int32")
        inside = _ORIGINAL["logical_and"](_ORIGINAL["greater_equal"](source, 0),
                                          _ORIGINAL["less"](source, size))
        index = _ORIGINAL["where"](inside, source, size)   # size: the fill element
        fill = [[0, 1] if a == axis else [0, 0] for a in range(len(x.shape))]
        y = _ORIGINAL["take"](_ORIGINAL["pad"](y, fill, mode="constant",
                                               constant_values=constant_values),
                              index, axis=axis)
    return y


def _pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Any:
    """``keras.ops.pad`` by amounts that are sizes unknown while tracing: padded by the
    largest amount each can be (it must be bounded: :func:`_periodic` with slope 0,
    ``(w - n % w) % w``), then cut to the size each axis has at run time with ``take``
    of positions shifted by what the before-amount falls short of its bound; an
    unbounded amount whose padded size is a run-time size plus an int by
    :func:`_pad_by_gather`."""
    x = _operand(x)
    widths = [list(p) for p in pad_width]
    if not isinstance(x, keras.KerasTensor) or len(widths) != len(x.shape) or \
            any(len(p) != 2 for p in widths) or mode != "constant":
        raise DynamicSizeError(f"pad of {_text(x)} by {pad_width!r} (mode {mode!r}): a "
                               f"dynamic amount is kept for a symbolic tensor, one "
                               f"(before, after) pair per axis, mode 'constant'")
    forms = [(amount, _periodic(amount)) for pair in widths for amount in pair]
    if any(_is_dynamic(a) and (f is None or f[2] != 0) for a, f in forms):
        gathered = _pad_by_gather(x, widths, constant_values)
        if gathered is not None:
            return gathered
    bounds = []
    for amount, f in forms:
        if f is None or f[2] != 0 or min(f[3]) < 0:
            raise DynamicSizeError(f"pad by {_text(amount)}: a dynamic amount is kept when "
                                   f"it is bounded and never negative ((w - n % w) % w)")
        bounds.append(max(f[3]))
    bounds = [bounds[i:i + 2] for i in range(0, len(bounds), 2)]
    y = _ORIGINAL["pad"](x, bounds, mode="constant", constant_values=constant_values)
    for axis, ((before, after), (most_before, _)) in enumerate(zip(widths, bounds)):
        if not (_is_dynamic(before) or _is_dynamic(after)):
            continue
        n = DynamicDim(x, axis) if x.shape[axis] is None else int(x.shape[axis])
        index = _positions(_sized_ruler(n + before + after, "int32", "a padded size"),
                           "int32")
        if _is_dynamic(before):   # + (most_before - before), as a subtraction
            index = _ORIGINAL["subtract"](index, _ORIGINAL["subtract"](
                before.size_tensor(), np.asarray(most_before, "int32")))
        y = _ORIGINAL["take"](y, index, axis=axis)
    return y


def _arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    first, last = _affine(start), _affine(stop)
    same = first is not None and last is not None and (
        first[0] is None or last[0] is None or
        (first[0].tensor is last[0].tensor and first[0].axis == last[0].axis))
    dim = None if not same else last[0] if last[0] is not None else first[0]
    count = (dim, last[1] - first[1], last[2] - first[2]) if same else None
    dtype = keras.backend.standardize_dtype(dtype or "int32")
    work = dtype if dtype in _CUMSUM_DTYPES else "int64"
    if step == 1 and count is not None and count[1] in (0, 1) and \
            (count[1] == 1 or count[2] >= 0):
        # start + (0 .. stop - start - 1); the start added as a subtraction (broadcast_to)
        values = _counting(count, work)
        if isinstance(start, int) and not isinstance(start, bool):
            shift: Any = np.asarray(-start, work)
        else:
            shift = _ORIGINAL["subtract"](np.zeros((), work),
                                          _ORIGINAL["cast"](_value(start), work))
        if not (isinstance(start, int) and start == 0):
            values = _ORIGINAL["subtract"](values, shift)
    elif isinstance(start, int) and not isinstance(start, bool) and start >= 0 and \
            last is not None and last[1] == 1 and isinstance(step, int) and step > 0:
        values = _counting(last, work)[(slice(start, None, step),)]  # (0 .. stop - 1)[start::step]
    else:
        values = _stepped_arange(start, stop, step, work)
    return values if work == dtype else _ORIGINAL["cast"](values, dtype)


def _stepped_arange(start: Any, stop: Any, step: Any, work: str) -> Any:
    """``arange(start, stop, step)`` in dtype ``work`` for an int-valued ``step`` (a
    float such as ``-1.0`` too) and ``start``, ``stop`` expressions of one size
    (:func:`_periodic`): ``start + step * (0 .. count - 1)`` with ``count = ceil((stop -
    start) / step)`` (NumPy's and TensorFlow's length), the positions counted over a
    ruler of ``count`` (:func:`_sized_ruler`).  keras_hub's XLNet counts relative
    positions down from the key length, ``arange(k, -q, -1.0)``.

    Raises:
        DynamicSizeError: another step, start or stop, or a count that is not a sum of
            non-negative multiples of one size (it could be negative).
    """
    k = step if isinstance(step, (int, np.integer)) and not isinstance(step, bool) else \
        int(step) if isinstance(step, float) and step.is_integer() else None
    if not k or _periodic(start) is None or _periodic(stop) is None:
        raise DynamicSizeError(f"arange({_text(start)}, {_text(stop)}, {_text(step)}): kept "
                               f"when the start and stop are one size unknown while tracing "
                               f"with ints, and the step an int")
    span = stop - start if k > 0 else start - stop
    count = (span + (abs(k) - 1)) // abs(k)
    positions = _positions(_sized_ruler(count, work, "the length of an arange"), work)
    values = _ORIGINAL["multiply"](positions, np.asarray(k, work)) if k != 1 else positions
    if isinstance(start, (int, np.integer)):
        return _ORIGINAL["add"](values, np.asarray(int(start), work)) if start else values
    return _ORIGINAL["add"](values, _ORIGINAL["cast"](_value(start), work))


def _slice(inputs: Any, start_indices: Any, shape: Any) -> Any:
    x = _operand(inputs)
    starts, sizes = list(start_indices), list(shape)
    if len(starts) != len(x.shape) or len(sizes) != len(x.shape):
        raise ValueError(f"slice: {len(starts)} starts and {len(sizes)} sizes for rank "
                         f"{len(x.shape)}")
    for i, (s, n) in enumerate(zip(starts, sizes)):
        if _is_dynamic(s) or not isinstance(s, (int, np.integer)):
            raise DynamicSizeError(f"slice start {_text(s)} with a dynamic size: only "
                                   f"static int starts are kept")
        if _is_dynamic(n):
            index = _arange(n)
            if s:  # index + start, as a subtraction (see broadcast_to)
                index = _ORIGINAL["subtract"](index, np.asarray(-int(s), "int32"))
            x = _ORIGINAL["take"](x, index, axis=i)
        elif not (s == 0 and n in (-1, x.shape[i])):
            stop = None if n == -1 else int(s) + int(n)
            key = tuple(slice(int(s), stop) if a == i else slice(None)
                        for a in range(len(x.shape)))
            x = x[key] if isinstance(x, keras.KerasTensor) else np.asarray(x)[key]
    return x


class DynamicReshape(keras.Operation):
    """``keras.ops.reshape(x, newshape)`` where ``newshape`` holds sizes unknown while
    tracing, recorded as an operation on ``x`` and the tensors those sizes were read
    from (the walker lowers it: ``indexing_converters._dynamic_reshape``).

    Attributes:
        template: per output axis, an int (a static size), ``"batch"`` (the size of
            ``x``'s own axis 0, proved by :func:`_same_batch`), ``("dim", i, axis)``
            (the size of ``axis`` of the ``i``-th source tensor), ``("expr", coef,
            ((i, axis), ...), divisor)`` (``coef`` times those sizes, floor-divided by
            ``divisor``: :func:`_product`) or ``"?"`` (unknown: ``-1``, ``None`` or
            another size computed from dynamic sizes).
    """

    def __init__(self, template: Sequence[Any], name: str | None = None):
        super().__init__(name=name)
        self.template = tuple(template)

    def compute_output_spec(self, x: Any, *sources: Any) -> Any:
        shape = [d if isinstance(d, int) else sources[d[1]].shape[d[2]]
                 if isinstance(d, tuple) and d[0] == "dim" else None for d in self.template]
        return keras.KerasTensor(tuple(shape), dtype=x.dtype)

    def call(self, x: Any, *sources: Any) -> Any:  # pragma: no cover - never run eagerly
        raise NotImplementedError("DynamicReshape exists only in traced graphs")


def _keeps_batch(op: Any, rank: int) -> bool:
    """Whether Keras operation ``op``, whose output has ``rank`` axes, maps its first
    tensor argument's axis 0 to its output's: a built-in Keras layer does (a ``Lambda``
    runs user code; a ``Concatenate`` along axis 0 adds sizes), and so do the
    convolution operations."""
    from keras.src.layers import Lambda
    from keras.src.ops import nn as knn

    if any(isinstance(op, getattr(knn, n)) for n in _BATCH_KEEPING_OPS):
        return True
    if isinstance(op, keras.layers.Concatenate) and rank and op.axis % rank == 0:
        return False
    return (isinstance(op, keras.layers.Layer) and not isinstance(op, Lambda)
            and type(op).__module__.startswith("keras.src.layers."))


def _same_batch(x: Any, source: Any, depth: int = 64) -> bool:
    """Whether axis 0 of symbolic tensor ``x`` provably has the size of axis 0 of
    ``source``: ``x`` is ``source``, or was computed from it by a chain of built-in
    Keras layers (:func:`_keeps_batch`), each on its first tensor argument."""
    for _ in range(depth):
        if x is source:
            return True
        history = getattr(x, "_keras_history", None)
        if history is None:
            return False
        op = history.operation
        if not isinstance(op, keras.layers.Layer) or not _keeps_batch(op, len(x.shape)):
            return False
        args = op._inbound_nodes[history.node_index].arguments.keras_tensors
        if not args:
            return False
        x = args[0]
    return False


def _product(v: Any) -> tuple[int, list[DynamicDim], int] | None:
    """``v`` (a stand-in or an int) as ``(coef, dims, divisor)`` meaning ``coef *
    prod(dims) // divisor``: products of sizes and positive ints, floor-divided at most
    once, at the end (``h * r``, ``b * n``, ``w // p``); None for anything else."""
    if isinstance(v, DynamicDim):
        return (1, [v], 1)
    if isinstance(v, int) and not isinstance(v, bool):
        return (v, [], 1) if v > 0 else None
    if not isinstance(v, DynamicExpr) or v.symbol not in ("*", "//"):
        return None
    left = _product(v.left)
    if left is None or left[2] != 1:
        return None
    if v.symbol == "//":
        right = v.right
        ok = isinstance(right, int) and not isinstance(right, bool) and right > 0
        return (left[0], left[1], right) if ok else None
    right = _product(v.right)
    if right is None or right[2] != 1:
        return None
    return (left[0] * right[0], left[1] + right[1], 1)


#: keras.ops operations whose output axis 0 is their first argument's axis 0
_BATCH_KEEPING_OPS: tuple[str, ...] = ("Conv", "DepthwiseConv", "SeparableConv",
                                       "ConvTranspose")


def _origin(t: Any, axis: int, depth: int = 64) -> tuple[Any, int]:
    """The earliest ``(tensor, axis)`` provably of the same size as ``axis`` of symbolic
    tensor ``t``, following ``transpose`` (its permutation), :class:`DynamicReshape`
    (an entry that is a source's size, or ``"batch"``), and for axis 0 the built-in
    Keras layers and the convolution operations (:func:`_keeps_batch`)."""
    from keras.src.ops import numpy as knp

    for _ in range(depth):
        history = getattr(t, "_keras_history", None)
        if history is None:
            break
        op = history.operation
        args = op._inbound_nodes[history.node_index].arguments.keras_tensors
        if not args:
            break
        if isinstance(op, knp.Transpose):
            axes = op.axes if op.axes is not None else tuple(reversed(range(len(t.shape))))
            t, axis = args[0], int(axes[axis]) % len(args[0].shape)
        elif isinstance(op, DynamicReshape):
            entry = op.template[axis]
            if entry == "batch":
                t, axis = args[0], 0
            elif isinstance(entry, tuple) and entry[0] == "dim":
                t, axis = args[1 + entry[1]], entry[2]
            else:
                break
        elif axis == 0 and _keeps_batch(op, len(t.shape)):
            t = args[0]
        else:
            break
    return t, axis


def _inferred_size(x: Any, new: Sequence[Any], k: int) -> tuple[int, list[tuple[Any, int]]] | None:
    """The ``-1`` at ``new[k]`` as ``(coef, [(tensor, axis), ...])`` when x's size divided
    by the other entries is exactly such a product of sizes (each size traced back by
    :func:`_origin`): ``(b, 1, t)`` reshaped to ``(-1, t, 1)`` gives ``b``.  None when
    an entry or an unknown axis of x is not a product of such sizes, or the quotient
    is not exact."""
    def key(t: Any, axis: int) -> tuple[int, int]:
        t, axis = _origin(t, axis)
        owners[(id(t), axis)] = (t, axis)
        return (id(t), axis)

    owners: dict[tuple[int, int], tuple[Any, int]] = {}
    coef, keys = 1, []
    for axis, d in enumerate(x.shape):
        if d is None:
            keys.append(key(x, axis))
        else:
            coef *= int(d)
    divisor, known = 1, []
    for j, d in enumerate(new):
        if j == k:
            continue
        product = _product(d)
        if product is None or product[2] != 1:
            return None
        divisor *= product[0]
        known += [key(f.tensor, f.axis) for f in product[1]]
    if divisor == 0 or coef % divisor:
        return None
    for entry in known:
        if entry not in keys:
            return None
        keys.remove(entry)
    return coef // divisor, [owners[e] for e in keys]


def _reshape(x: Any, newshape: Any) -> Any:
    if not isinstance(x, keras.KerasTensor):
        raise DynamicSizeError("reshape of a constant to a dynamic shape")
    new = list(newshape) if isinstance(newshape, (list, tuple)) else [newshape]
    sources: list[Any] = []
    template: list[Any] = []

    def source(tensor: Any) -> int:
        index = next((k for k, t in enumerate(sources) if t is tensor), len(sources))
        if index == len(sources):
            sources.append(tensor)
        return index

    minus = [i for i, d in enumerate(new) if d is None or (
        not _is_dynamic(d) and isinstance(d, (int, np.integer)) and int(d) == -1)]
    if len(minus) == 1 and any(_is_dynamic(d) for d in new):
        inferred = _inferred_size(x, new, minus[0])
        if inferred is not None:  # the -1 as the product of sizes it is
            coef, dims = inferred
            new[minus[0]] = coef if not dims else functools.reduce(
                lambda a, b: DynamicExpr("*", a, b), [DynamicDim(t, a) for t, a in dims]
                + ([coef] if coef != 1 else []))
    for i, d in enumerate(new):
        product = _product(d) if isinstance(d, DynamicExpr) else None
        if isinstance(d, DynamicDim) and i == 0 and d.axis == 0 and _same_batch(x, d.tensor):
            template.append("batch")
        elif isinstance(d, DynamicDim):
            template.append(("dim", source(d.tensor), d.axis))
        elif product is not None:
            template.append(("expr", product[0],
                             tuple((source(f.tensor), f.axis) for f in product[1]), product[2]))
        elif _is_dynamic(d) or d is None or int(d) == -1:
            template.append("?")
        else:
            template.append(int(d))
    return DynamicReshape(template)(x, *sources)


def _dynamic_getitem(x: Any, key: Any, original: Callable[[Any, Any], Any]) -> Any:
    """``x[key]`` (a symbolic tensor, a variable or an eager TensorFlow tensor) where
    slice bounds are sizes unknown while tracing (``pos_embed[:, :ops.shape(x)[1]]``):
    the other slices applied first
    (they keep every axis), then along each such axis a ``take`` of ``arange(start,
    stop, step)``.  Only a tuple of slices (or one slice) with a dynamic stop and a
    static int start >= 0 and step > 0 is kept; an index past the end, which Python
    clamps, is an error at run time, never another value.  The stop may be a size plus
    an int (``x[:, :n - 1]``)."""
    items = key if isinstance(key, tuple) else (key,)
    if not all(isinstance(k, slice) for k in items):
        raise DynamicSizeError(f"indexing with {key!r}: a size unknown while tracing is "
                               f"kept only in the stop of a slice (x[:, :n])")
    static, takes = [], []
    for axis, k in enumerate(items):
        if not _has_dynamic(k):
            static.append(k)
            continue
        start, step = k.start or 0, 1 if k.step is None else k.step
        if _is_dynamic(start) or _is_dynamic(step) or not isinstance(start, int) or \
                start < 0 or not isinstance(step, int) or step <= 0:
            raise DynamicSizeError(f"the slice {k!r}: a size unknown while tracing is kept "
                                   f"only as the stop, with a static start >= 0 and step > 0")
        static.append(slice(None))
        takes.append((axis, _arange(start, k.stop, step)))
    y = original(x, tuple(static)) if any(k != slice(None) for k in static) else x
    for axis, index in takes:
        y = _ORIGINAL["take"](y, index, axis=axis)
    return y


def _getitem_patch(cls: type) -> Callable[[Any, Any], Any]:
    original = cls.__dict__["__getitem__"]

    def getitem(self: Any, key: Any) -> Any:
        if _has_dynamic(key):
            return _dynamic_getitem(self, key, original)
        if key is None and isinstance(self, keras.KerasTensor):
            # x[None] (a new leading axis), which Keras' symbolic indexing refuses
            return _ORIGINAL["expand_dims"](self, 0)
        return original(self, key)
    return getitem


class DynamicShape(tuple):
    """A 1-D vector of sizes built from stand-ins while tracing, kept as the sizes it
    holds (ints and stand-ins) rather than a tensor: TensorFlow-style code builds the
    shape of a ``tile`` or ``reshape`` as a tensor, ``ops.concatenate([ops.expand_dims(
    batch, -1), ops.convert_to_tensor([1, 1])], 0)`` (keras.io's causal attention masks,
    Transformer ASR), and the size-taking rewrites read it as the sequence of sizes it
    is.  Made by ``expand_dims`` of a size, ``stack`` of sizes, ``convert_to_tensor`` /
    ``array`` of a list of sizes, ``concatenate`` of such vectors and constant 1-D int
    vectors, ``cast`` to an int dtype (unchanged); anywhere else it is materialized as a
    1-D int32 tensor (``stack`` of its size tensors)."""

    def size_tensor(self) -> Any:
        """The vector as a 1-D int32 symbolic tensor."""
        return _ORIGINAL["stack"]([_value(d) if _is_dynamic(d) else np.asarray(d, "int32")
                                   for d in self])


def _sizes(v: Any) -> list[Any] | None:
    """``v`` as a list of sizes (ints and stand-ins) when it is a vector of sizes: a
    :class:`DynamicShape`, a list or tuple of scalars, or a constant 1-D int array; else
    None."""
    if isinstance(v, DynamicShape):
        return list(v)
    if isinstance(v, (list, tuple)):
        out = []
        for e in v:
            if _is_dynamic(e):
                out.append(e)
            elif isinstance(e, (int, np.integer)) and not isinstance(e, bool):
                out.append(int(e))
            else:
                return None
        return out
    if isinstance(v, (keras.KerasTensor, keras.Variable)):
        return None
    try:
        arr = np.asarray(v)
    except Exception:  # noqa: BLE001 - not a constant vector
        return None
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        return [int(e) for e in arr]
    return None


def _vector(sizes: Sequence[Any]) -> Any:
    return DynamicShape(sizes)


def _expand_dims(x: Any, axis: Any) -> Any:
    if _is_dynamic(x) and axis in (0, -1, (0,), (-1,), [0], [-1]):
        return _vector([x])
    return _ORIGINAL["expand_dims"](_materialized(x), _materialized(axis))


def _stack(x: Any, axis: int = 0) -> Any:
    entries = list(x) if isinstance(x, (list, tuple)) else None
    if entries is not None and axis in (0, -1):
        sizes = _sizes(entries)
        if sizes is not None:
            return _vector(sizes)
    return _ORIGINAL["stack"](_materialized(x), axis=axis)


def _concatenate(xs: Any, axis: int = 0) -> Any:
    if isinstance(xs, (list, tuple)) and axis in (0, -1):
        parts = [_sizes(v) for v in xs]
        if all(p is not None for p in parts):
            return _vector([d for p in parts for d in p])
    return _ORIGINAL["concatenate"](_materialized(xs), axis=axis)


def _size_list(name: str) -> Callable[..., Any]:
    """``convert_to_tensor`` / ``array`` of a list of sizes (ints and stand-ins) with no
    dtype or an int one: that vector; anything else as Keras converts it."""
    def convert(x: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        sizes = _sizes(x) if isinstance(x, (list, tuple)) else None
        if sizes is not None and (dtype is None or "int" in str(dtype)):
            return _vector(sizes)
        return _ORIGINAL[name](_materialized(x), dtype, *args, **kwargs)
    convert.__name__ = convert.__qualname__ = name
    return convert


def _cast(x: Any, dtype: Any) -> Any:
    if isinstance(x, DynamicShape) and "int" in str(keras.backend.standardize_dtype(dtype)):
        return x
    return _ORIGINAL["cast"](_materialized(x), dtype)


def _size(x: Any) -> Any:
    """``ops.size(x)`` of a symbolic tensor: its element count as an int32 scalar, a
    constant when every size is static, else the product of its sizes as a size tensor
    (what ``tf.size`` gives at run time); anything else as Keras computes it."""
    if not isinstance(x, keras.KerasTensor):
        return _ORIGINAL["size"](x)
    count: Any = 1
    for d in _shape(x):
        count = count * d
    return np.asarray(count, "int32") if isinstance(count, int) else count.size_tensor()


def _offsets(x: Any) -> Any:
    """``col - row`` (int32, ``(rows, cols)``) over the last two axes of symbolic ``x``,
    from aranges of its sizes (stand-ins for the unknown ones)."""
    dims = _shape(x)

    def positions(d: Any) -> Any:
        return _arange(d) if _is_dynamic(d) else np.arange(d, dtype="int32")

    rows = _ORIGINAL["expand_dims"](positions(dims[-2]), -1)
    cols = _ORIGINAL["expand_dims"](positions(dims[-1]), 0)
    return _ORIGINAL["subtract"](cols, rows)


def band_part(x: Any, num_lower: Any, num_upper: Any) -> Any:
    """``tf.linalg.band_part(x, num_lower, num_upper)`` of a symbolic tensor (rank >= 2,
    band sizes ints or scalar integer tensors; a negative one keeps the whole triangle):
    ``where`` of the band
    ``-num_lower <= col - row <= num_upper`` with zeros, as TensorFlow keeps it (keras_hub's
    Qwen3 sliding-window mask); None for anything else (the call stays refused)."""
    def size(k: Any) -> Any:  # an int, or a scalar integer tensor (ops.minimum of sizes)
        if isinstance(k, (_Unknown, DynamicShape)):
            return k.size_tensor()
        if isinstance(k, keras.KerasTensor):
            return k if k.shape == () and "int" in str(k.dtype) else None
        return int(k) if isinstance(k, (int, np.integer)) and not isinstance(k, bool) else None

    lower, upper = size(num_lower), size(num_upper)
    if not (isinstance(x, keras.KerasTensor) and len(x.shape) >= 2) or lower is None or \
            upper is None:
        return None
    offset = _offsets(x)
    keep = []
    for bound, within in ((lower, lambda b: keras.ops.greater_equal(offset, -b)),
                          (upper, lambda b: keras.ops.less_equal(offset, b))):
        if isinstance(bound, int):
            keep += [within(bound)] if bound >= 0 else []
        else:  # a negative size tensor keeps the whole triangle, as TensorFlow
            keep.append(keras.ops.logical_or(keras.ops.less(bound, 0),
                                             within(keras.ops.cast(bound, "int32"))))
    if not keep:
        return x
    mask = keep[0] if len(keep) == 1 else keras.ops.logical_and(*keep)
    return keras.ops.where(mask, x, _ORIGINAL["zeros_like"](x))


def _band(name: str, lower: bool) -> Callable[..., Any]:
    """``ops.tril`` / ``ops.triu`` of a symbolic tensor whose last two sizes are not both
    known while tracing (a causal mask ``tril(ones((t, t)))`` of a dynamic length): the
    keep-mask ``col - row <= k`` (``>= k``) of two aranges of its sizes, then ``where``
    with zeros, as TensorFlow's ``tril`` / ``triu`` compute it; anything else as Keras
    computes it."""
    def band(x: Any, k: Any = 0) -> Any:
        if not (isinstance(x, keras.KerasTensor) and len(x.shape) >= 2 and
                None in x.shape[-2:] and isinstance(k, int) and not isinstance(k, bool)):
            return _ORIGINAL[name](x, k)
        offset = _offsets(x)
        keep = keras.ops.less_equal(offset, k) if lower else keras.ops.greater_equal(offset, k)
        return keras.ops.where(keep, x, _ORIGINAL["zeros_like"](x))
    band.__name__ = band.__qualname__ = name
    return band


def _ndim(x: Any) -> Any:
    """``ops.ndim(x)`` of a symbolic tensor: its rank, a Python int (always static; Keras'
    symbolic ``ndim`` gives a tensor that ``float()`` or ``range()`` cannot read)."""
    if isinstance(x, keras.KerasTensor):
        return len(x.shape)
    return _ORIGINAL["ndim"](x)


def _segment_sum(data: Any, segment_ids: Any, num_segments: Any = None,
                 sorted: bool = False) -> Any:  # noqa: A002 - keras.ops' own name
    """``keras.ops.segment_sum`` with ``num_segments`` a size unknown while tracing
    (``batch * k``: per-example segments): the one-hot of the ids against the positions
    ``0 .. num_segments - 1`` (:func:`_sized_ruler`) contracted with the data over its
    first axis, as the converter of a static count computes it (an id outside the range
    adds nothing, as in ``tf.math.unsorted_segment_sum``)."""
    data, ids = _operand(data), _operand(segment_ids)
    dtype = _dtype_of(data)
    if sorted or len(ids.shape) != 1 or not keras.backend.is_float_dtype(dtype):
        raise DynamicSizeError(f"segment_sum with {_text(num_segments)} segments: kept "
                               f"for 1-D ids, sorted=False and float data")
    positions = _positions(_sized_ruler(num_segments, "int32", "a number of segments"),
                           "int32")
    hot = _ORIGINAL["equal"](_ORIGINAL["expand_dims"](_ORIGINAL["cast"](ids, "int32"), 1),
                             _ORIGINAL["expand_dims"](positions, 0))
    rest = "abcdefgh"[:len(data.shape) - 1]
    return _ORIGINAL["einsum"](f"ns,n{rest}->s{rest}", _ORIGINAL["cast"](hot, dtype), data)


def _meshgrid(*xs: Any, indexing: str = "xy") -> Any:
    """``keras.ops.meshgrid`` of 1-D tensors, at least one symbolic (NumPy's semantics:
    output ``k`` holds ``xs[k]`` along axis ``k``, axes 0 and 1 swapped for ``"xy"``),
    written as reshapes and broadcasting subtractions of zeros, so no op of its own is
    needed (YOLO's grid offsets over ``arange`` of run-time sizes)."""
    if not any(isinstance(x, keras.KerasTensor) for x in xs):
        return _ORIGINAL["meshgrid"](*xs, indexing=indexing)
    xs = [_operand(x) for x in xs]
    if indexing not in ("xy", "ij") or any(len(x.shape) != 1 for x in xs):
        raise ValueError(f"meshgrid: 1-D inputs and indexing 'xy' or 'ij' (got ranks "
                         f"{[len(x.shape) for x in xs]}, indexing={indexing!r})")
    axes = list(range(len(xs)))
    if indexing == "xy" and len(xs) > 1:
        axes[0], axes[1] = 1, 0
    shaped = []
    for x, axis in zip(xs, axes):
        shape = [1] * len(xs)
        shape[axis] = -1
        shaped.append(_ORIGINAL["reshape"](x, shape) if isinstance(x, keras.KerasTensor)
                      else np.asarray(x).reshape(shape))
    grids = []
    for k, grid in enumerate(shaped):
        dtype = _dtype_of(grid)
        for j, other in enumerate(shaped):
            if j != k:
                grid = _ORIGINAL["subtract"](grid, _ORIGINAL["zeros_like"](other, dtype=dtype))
        grids.append(grid)
    return grids


def _shape(x: Any) -> Any:
    if isinstance(x, keras.KerasTensor) and any(d is None for d in x.shape):
        return tuple(DynamicDim(x, i) if d is None else d for i, d in enumerate(x.shape))
    return _ORIGINAL["shape"](x)


def _only_when_dynamic(name: str, rewrite: Callable[..., Any]) -> Callable[..., Any]:
    original = _ORIGINAL[name]
    signature = inspect.signature(original)

    def fn(*args: Any, **kwargs: Any) -> Any:
        if _has_dynamic(args, DynamicComparison) or _has_dynamic(kwargs, DynamicComparison):
            args = _materialized(args, DynamicComparison)
            kwargs = _materialized(kwargs, DynamicComparison)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)
        if not any(_has_dynamic(v) for v in bound.arguments.values()):
            return original(*args, **kwargs)
        return rewrite(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = original.__doc__
    return fn


#: keras.ops functions rewritten when a size argument is dynamic
_REWRITES: dict[str, Callable[..., Any]] = {
    "broadcast_to": _broadcast_to, "tile": _tile, "repeat": _repeat, "reshape": _reshape,
    "zeros": _zeros_fn, "ones": _ones_fn, "full": _full_fn, "empty": _zeros_fn,
    "arange": _arange, "slice": _slice, "pad": _pad, "segment_sum": _segment_sum,
    # vectors of sizes (DynamicShape)
    "expand_dims": _expand_dims, "stack": _stack, "concatenate": _concatenate,
    "convert_to_tensor": _size_list("convert_to_tensor"), "array": _size_list("array"),
    "cast": _cast,
}
#: the originals used by the rewrites (looked up once, never the patched ones)
_ORIGINAL: dict[str, Callable[..., Any]] = {
    name: getattr(keras.ops, name) for name in (
        *_REWRITES, "shape", "size", "ndim", "tril", "triu", "take", "zeros_like", "ones_like", "full_like",
        "add", "subtract", "multiply", "floor_divide", "true_divide", "sum", "logical_or",
        "cumsum", "cast", "mod", "pad", "repeat", "meshgrid", "equal", "einsum",
        "logical_and", "greater_equal", "less", "where", "not_equal", "less_equal",
        "greater")}
#: Python operator -> the keras.ops function computing it on tensors
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _ORIGINAL["add"], "-": _ORIGINAL["subtract"], "*": _ORIGINAL["multiply"],
    "//": _ORIGINAL["floor_divide"], "/": _ORIGINAL["true_divide"], "%": _ORIGINAL["mod"]}
#: Python comparison -> the keras.ops function computing it on tensors
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": _ORIGINAL["equal"], "!=": _ORIGINAL["not_equal"], "<": _ORIGINAL["less"],
    "<=": _ORIGINAL["less_equal"], ">": _ORIGINAL["greater"], ">=": _ORIGINAL["greater_equal"]}


def ops_namespaces() -> list[Any]:
    """The modules whose ``keras.ops`` functions a trace patches."""
    import keras.src.ops as src_ops

    spaces = [keras.ops, src_ops]
    for sub in ("numpy", "nn", "math", "core", "image", "linalg"):
        for parent in (keras.ops, src_ops):
            mod = getattr(parent, sub, None)
            if mod is not None and mod not in spaces:
                spaces.append(mod)
    return spaces


def _materialized(v: Any, kinds: Any = (*_STAND_INS, DynamicShape)) -> Any:
    """``v`` with every stand-in of ``kinds`` in it (in lists, tuples and dicts) replaced
    by its tensor."""
    if isinstance(v, kinds):
        return v.size_tensor()
    if isinstance(v, (list, tuple)) and not isinstance(v, DynamicShape):
        return type(v)(_materialized(e, kinds) for e in v)
    if isinstance(v, dict):
        return {k: _materialized(e, kinds) for k, e in v.items()}
    return v


_MATERIALIZING: dict[Any, Callable[..., Any]] = {}


def _materializing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a ``keras.ops`` function that does not take sizes) with every stand-in
    among its arguments replaced by its size tensor (one wrapper per function)."""
    wrapped = _MATERIALIZING.get(fn)
    if wrapped is None:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if _has_dynamic(args, _STAND_INS) or _has_dynamic(kwargs, _STAND_INS):
                args, kwargs = _materialized(args), _materialized(kwargs)
            return fn(*args, **kwargs)

        wrapped._graphir_original = fn  # type: ignore[attr-defined]
        _MATERIALIZING[fn] = wrapped
    return wrapped


#: KerasTensor operators whose other operand may be a stand-in (materialized first)
_TENSOR_OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                     "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__",
                     "__mod__", "__rmod__", "__pow__", "__rpow__", "__lt__", "__le__",
                     "__gt__", "__ge__", "__eq__", "__ne__")


def _operator(method: Callable[..., Any]) -> Callable[..., Any]:
    def op(self: Any, other: Any) -> Any:
        if isinstance(other, (*_STAND_INS, DynamicShape)):
            other = other.size_tensor()
        elif isinstance(other, (np.generic, np.ndarray)) and other.dtype.kind == "f" and \
                keras.backend.is_float_dtype(self.dtype):
            # at run time the operand is a tf.Tensor, whose operators convert a NumPy
            # operand to the tensor's dtype (``x * np.sqrt(2.0)`` stays float32), while
            # Keras' symbolic operators promote it (float64)
            other = np.asarray(other, dtype=keras.backend.standardize_dtype(self.dtype))
        return method(self, other)
    return op


#: marks a class attribute a trace adds (deleted afterwards)
_ABSENT = object()


def _tensor_eq(self: Any, other: Any) -> Any:
    """``x == c`` of a symbolic tensor and a number, array or size: ``ops.equal`` (at run
    time ``x`` is a ``tf.Tensor``, whose ``==`` compares elementwise; Keras'
    ``KerasTensor`` has no ``__eq__``, so the trace would see Python's identity test,
    ``False``: keras.io's ``inputs["sex"] == 1``).  With another symbolic tensor: the
    same ``ops.equal`` when the comparison is written in the traced user code (keras_hub
    XLNet's ``ops.where(n == m, 1, 0)`` of two aranges, an identity matrix at run time,
    was the constant 0 in the trace), Python's identity comparison when Keras' or
    graphir's own code compares (``tensor in list``).  Anything else: identity."""
    if isinstance(other, (*_STAND_INS, DynamicShape)):
        other = other.size_tensor()
    elif isinstance(other, keras.KerasTensor):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.split(".")[0] in ("keras", "graphir"):
            return NotImplemented
    elif not (isinstance(other, (int, float, np.generic, np.ndarray))):
        return NotImplemented
    return keras.ops.equal(self, other)


def _resizing_call(self: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """``keras.layers.Resizing.__call__`` while tracing: a Resizing built in the call
    with sizes read by ``ops.shape`` (keras_hub DeepLabV3's image-pooling branch,
    ``Resizing(height, width)`` of the input's run-time size) resizes a 1x1 image,
    which every interpolation Keras offers maps to that one pixel everywhere (the
    weights of each output pixel sum to 1): ``broadcast_to`` the run-time size.
    Static sizes: Keras' own call.

    Raises:
        DynamicSizeError: run-time sizes with an input larger than 1x1, a crop or pad
            to the aspect ratio, or a non-float input.
    """
    if not (_is_dynamic(self.height) or _is_dynamic(self.width)):
        return keras.layers.Layer.__call__(self, inputs, *args, **kwargs)
    first = self.data_format == "channels_first"
    x = inputs
    spatial = tuple(x.shape[2:4] if first else x.shape[1:3]) if len(x.shape) == 4 else ()
    if spatial != (1, 1) or self.crop_to_aspect_ratio or self.pad_to_aspect_ratio or \
            not keras.backend.is_float_dtype(_dtype_of(x)):
        raise DynamicSizeError(f"Resizing to ({_text(self.height)}, {_text(self.width)}) "
                               f"of a {_dtype_of(x)} input of shape {tuple(x.shape)}: kept "
                               f"for a float 1x1 image (a broadcast) only")
    b = _shape(x)[0]
    c = x.shape[1] if first else x.shape[3]
    shape = (b, c, self.height, self.width) if first else (b, self.height, self.width, c)
    return _ORIGINAL["cast"](_broadcast_to(x, shape), self.compute_dtype)


@contextlib.contextmanager
def dynamic_dims() -> Iterator[None]:
    """While the block runs (a trace), ``keras.ops.shape`` of a symbolic tensor returns
    :class:`DynamicDim` s for its unknown sizes, the size-taking ``keras.ops`` functions
    rewrite dynamic sizes as the module docstring says, and the other ``keras.ops``
    functions and the ``KerasTensor`` operators take a stand-in as its size tensor.
    ``KerasTensor == number`` compares elementwise (:func:`_tensor_eq`).
    The functions are patched in ``keras.ops``, ``keras.ops.numpy`` / ``nn`` / ``math`` /
    ``core`` / ``image`` / ``linalg`` and their ``keras.src`` modules (code that imported
    a function by name before keeps the original, which fails on ``None`` as before).
    Nested uses (a traced layer inside a traced call) patch nothing more."""
    patched = {"shape": _shape, "size": _size, "ndim": _ndim, "meshgrid": _meshgrid,
               "tril": _band("tril", True), "triu": _band("triu", False)}
    patched.update({name: _only_when_dynamic(name, fn) for name, fn in _REWRITES.items()})
    saved: list[tuple[Any, str, Any]] = []
    for space in ops_namespaces():
        for name, value in list(vars(space).items()):
            if name in patched:
                if value is _ORIGINAL[name]:
                    saved.append((space, name, value))
                    setattr(space, name, patched[name])
            elif inspect.isfunction(value) and not hasattr(value, "_graphir_original") \
                    and not name.startswith("_") \
                    and getattr(value, "__module__", "").startswith("keras.src.ops"):
                saved.append((space, name, value))
                setattr(space, name, _materializing(value))
    tensor_class = keras.KerasTensor
    if not getattr(tensor_class, "_graphir_dynamic", False):
        for name in _TENSOR_OPERATORS:
            method = tensor_class.__dict__.get(name)
            if method is not None:
                saved.append((tensor_class, name, method))
                setattr(tensor_class, name, _operator(method))
        from keras.src.backend.common.variables import Variable

        indexed: list[type] = [tensor_class, Variable]
        try:  # an eager TensorFlow constant sliced to a size (BLIP2's position ids)
            from tensorflow.python.framework.tensor import Tensor
        except ImportError:  # pragma: no cover - another Keras backend
            pass
        else:
            indexed.append(Tensor)
        for cls in indexed:
            saved.append((cls, "__getitem__", cls.__dict__["__getitem__"]))
            cls.__getitem__ = _getitem_patch(cls)
        if "__eq__" not in tensor_class.__dict__:
            saved.append((tensor_class, "__eq__", _ABSENT))
            tensor_class.__eq__ = _tensor_eq
        saved.append((tensor_class, "_graphir_dynamic", False))
        tensor_class._graphir_dynamic = True
        resizing = keras.layers.Resizing
        saved.append((resizing, "__call__", resizing.__dict__.get("__call__", _ABSENT)))
        resizing.__call__ = _resizing_call
    try:
        yield
    finally:
        for space, name, fn in reversed(saved):
            if fn is _ABSENT:
                delattr(space, name)
            else:
                setattr(space, name, fn)
