"""Elementwise ops: activations (incl. the parametric ``elu`` and ``prelu``), merges
(add, multiply, ...), dropout, identity."""

from __future__ import annotations

from graphir.ops.activations import ACTIVATIONS
from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import (broadcast_shapes, fmt_shape, forbid_bool, norm_axis,
                                require_rank, same_dtype)
from graphir.tensor_types import TensorType


def _unary(types, attrs):
    x = types[0]
    if not x.dtype.is_float:
        raise TypeRuleError(f"expects a float tensor, got {x.dtype.value}", input_index=0,
                            expected="float", actual=x.dtype.value)
    return (x,)


def _identity(types, attrs):
    return (types[0],)


register(OpSchema("activation", ("x",), {
    "function": AttrSpec("str", choices=tuple(ACTIVATIONS), doc="see graphir.ops.activations")},
    _unary, doc="elementwise activation function (Keras Activation)", layout=Layout.ANY))

register(OpSchema("relu", ("x",), {
    "max_value": AttrSpec("optional_float", doc="upper clip, None for none"),
    "negative_slope": AttrSpec("float"),
    "threshold": AttrSpec("float"),
}, _unary, doc="Keras ReLU (keras.activations.relu): p = x if x > threshold else 0; "
               "p = clip(p, 0, max_value) when max_value is set; "
               "y = p - negative_slope * max(threshold - x, 0)", layout=Layout.ANY))

register(OpSchema("leaky_relu", ("x",), {"negative_slope": AttrSpec("float")}, _unary,
                  doc="x if x >= 0 else negative_slope * x (Keras LeakyReLU)", layout=Layout.ANY))

register(OpSchema("elu", ("x",), {"alpha": AttrSpec("float", doc="scale of the negative part")},
                  _unary, doc="x if x > 0 else alpha * (exp(x) - 1) (Keras ELU)", layout=Layout.ANY))


def _prelu(types, attrs):
    """``x`` float of rank >= 2; ``alpha`` of rank ``x.rank - 1`` whose dims are 1 or the
    matching static dim of ``x.shape[1:]`` (1 where that dim is not static)."""
    x, alpha = types
    _unary(types, attrs)
    require_rank(alpha, (x.rank - 1,), input_index=1, what="prelu alpha (x.shape[1:] "
                 "with shared axes 1)")
    same_dtype([x, alpha])
    for i, (a, d) in enumerate(zip(alpha.shape, x.shape[1:])):
        if a != 1 and a != d:
            want = "1" if not isinstance(d, int) else f"1 or {d}"
            raise TypeRuleError(f"prelu alpha {fmt_shape(alpha.shape)} does not fit input "
                                f"{fmt_shape(x.shape)} at axis {i + 1}", input_index=1,
                                axis=i, expected=want, actual=str(a),
                                hint="alpha holds x.shape[1:] with the shared axes set to 1")
    return (x,)


register(OpSchema("prelu", ("x", "alpha"), {}, _prelu, weight_inputs=(1,),
                  doc="x if x >= 0 else alpha * x, alpha broadcast over the batch axis and "
                      "the shared axes (Keras PReLU)", layout=Layout.ANY))


def _softmax(types, attrs):
    x = _unary(types, attrs)[0]
    norm_axis(attrs["axis"], x.rank)
    return (x,)


register(OpSchema("softmax", ("x",), {"axis": AttrSpec("int")}, _softmax,
                  doc="softmax along one axis (Keras Softmax)", layout=Layout.ANY))

register(OpSchema("dropout", ("x",), {"rate": AttrSpec("float")}, _identity,
                  doc="identity at inference (Keras Dropout)", layout=Layout.ANY))

register(OpSchema("identity", ("x",), {}, _identity, doc="returns its input", layout=Layout.ANY))


def _merge(types, attrs):
    same_dtype(types)
    forbid_bool(types)
    shape = broadcast_shapes([t.shape for t in types])
    return (TensorType(types[0].dtype, shape),)


for _name, _doc in (("add", "sum of the inputs (Keras Add)"),
                    ("multiply", "product of the inputs (Keras Multiply)"),
                    ("average", "mean of the inputs (Keras Average)"),
                    ("maximum", "elementwise max of the inputs (Keras Maximum)"),
                    ("minimum", "elementwise min of the inputs (Keras Minimum)")):
    register(OpSchema(_name, ("x",), {}, _merge, variadic=True, min_inputs=2,
                      doc=_doc + "; NumPy broadcasting", layout=Layout.ANY))


def _subtract(types, attrs):
    if len(types) != 2:
        raise TypeRuleError(f"subtract takes exactly 2 inputs, got {len(types)}")
    return _merge(types, attrs)


register(OpSchema("subtract", ("x", "y"), {}, _subtract,
                  doc="x - y (Keras Subtract); NumPy broadcasting", layout=Layout.ANY))
