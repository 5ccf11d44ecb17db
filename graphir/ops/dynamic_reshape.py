"""``dynamic_reshape``: a reshape whose new sizes are read from input shapes at run time
(``specs/ops-indexing.md``).

``keras.ops.reshape(x, (b, h, w, r, r, c))`` with ``b, h, w = ops.shape(x)[:3]`` on an
input of unknown height and width (a pixel shuffle), or ``ops.reshape(x, (b, h * r, w *
r, c))`` after a transpose, has several sizes that are unknown until the model runs:
``array_reshape`` (one ``-1``) cannot hold them.  ``dynamic_reshape`` keeps each such
size as a *size expression* over the shapes of its inputs, which every runtime reads
as ONNX does (``Shape`` -> ``Mul`` -> ``Concat`` -> ``Reshape``) and as TensorFlow's
``tf.shape`` does.

A size expression (one string per output axis, attribute ``shape``) is

* ``"-1"``: the size that makes the element count fit (at most one entry);
* a product of factors, optionally floor-divided by a positive int:
  ``FACTOR ("*" FACTOR)* ("//" INT)?``, where a factor is a positive ``INT`` or
  ``in<i>[<axis>]``, the size of ``axis`` of input ``i`` (input 0 is ``x`` itself; the
  others are read only for their shapes).  Examples: ``"3"``, ``"in1[0]"``,
  ``"in1[1]*3"``, ``"in0[1]//2"``.

Symbolic dims: an output size that is one input dim is that dim (``"batch"`` stays
``"batch"``); a product of symbolic dims and ints is named by the canonical product
(``"4*batch"``: coefficient first, names sorted, ``*``-joined), so that two reshapes
of the same sizes agree, also floor-divided where the division is exact for every
value of the names (``"4*batch" // 4`` is ``"batch"``: a window partition undone),
and a ``-1`` is resolved by dividing the input's size (a product of ints and symbolic
dims) by the other entries where that division is exact (:mod:`graphir.size_exprs`); anything else is unknown (``None``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from graphir.ops.registry import AttrSpec, Layout, TypeRuleError, define_op
from graphir.ops.type_rules import fmt_shape
from graphir.size_exprs import (Monomial, SizeExpr, exact_quotient, monomial, monomial_dim,
                                parse_size, size_value, times)
from graphir.tensor_types import Dim, TensorType

__all__ = ["dynamic_reshape"]


def _size_dim(expr: SizeExpr, types: Sequence[TensorType]) -> Dim:
    """The type-level dim of one size expression (see the module docstring)."""
    dims = [types[i].shape[a] for i, a in expr.factors]
    if all(isinstance(d, int) for d in dims):
        return expr.coef * math.prod(dims) // expr.divisor
    if expr.coef == 1 and expr.divisor == 1 and len(dims) == 1:
        return dims[0]
    if all(isinstance(d, (int, str)) for d in dims):
        m: Monomial = (expr.coef, ())
        for d in dims:
            m = times(m, monomial(d))
        if m[0] % expr.divisor == 0:  # exact: "4*batch" // 4 is batch for every batch
            return monomial_dim((m[0] // expr.divisor, m[1]))
    return None


def _rule(types, attrs_):
    x = types[0]
    try:
        exprs = [parse_size(s) for s in attrs_["shape"]]
    except ValueError as err:
        raise TypeRuleError(str(err), expected="size expressions", actual=str(attrs_["shape"]))
    if sum(e is None for e in exprs) > 1:
        raise TypeRuleError(f"shape {attrs_['shape']} has more than one -1",
                            expected="at most one -1", actual=str(attrs_["shape"]))
    for e in exprs:
        for i, a in e.factors if e is not None else ():
            if not (0 <= i < len(types)) or not (0 <= a < types[i].rank):
                raise TypeRuleError(f"size in{i}[{a}] names no axis of the {len(types)} "
                                    f"inputs", expected="an existing input axis",
                                    actual=f"in{i}[{a}]")
    out = [None if e is None else _size_dim(e, types) for e in exprs]
    if None in exprs:
        # -1: x's size divided by the other entries, where that is exact
        k = exprs.index(None)
        out[k] = exact_quotient(x.shape, [d for j, d in enumerate(out) if j != k])
    if x.is_static and all(isinstance(d, int) for d in out) and \
            math.prod(out) != math.prod(x.shape):
        raise TypeRuleError(f"{fmt_shape(x.shape)} ({math.prod(x.shape)} elements) cannot "
                            f"be reshaped to {tuple(out)}", input_index=0,
                            expected=f"{math.prod(out)} elements", actual=str(math.prod(x.shape)))
    return (TensorType(x.dtype, tuple(out)),)


@define_op("dynamic_reshape", ("tensors",),
           {"shape": AttrSpec("strs", doc="per output axis a size expression: '-1' (at most "
                                          "one), or FACTOR('*'FACTOR)*('//'INT)? with "
                                          "FACTOR an int or in<i>[<axis>]")},
           infer=_rule, variadic=True, min_inputs=1, layout=Layout.CHANNELS_LAST,
           doc="np.reshape(x, shape) with sizes read from the inputs' shapes at run time "
               "(input 0 is x; the others are read only for their shapes)")
def dynamic_reshape(inputs, attrs_):
    """``np.reshape(inputs[0], sizes)``, each size evaluated on the inputs' shapes.

    Raises:
        ValueError: the element count does not fit (NumPy's error).
    """
    shapes = [np.shape(t) for t in inputs]
    sizes = []
    for text in attrs_["shape"]:
        expr = parse_size(text)
        sizes.append(-1 if expr is None else size_value(expr, shapes))
    return np.reshape(inputs[0], sizes)
