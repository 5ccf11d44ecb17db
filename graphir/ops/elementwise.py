"""Elementwise ops: activations (incl. the parametric ``elu`` and ``prelu``), merges
(add, multiply, ...), dropout, identity.

Each op is defined here once: schema, type rule, NumPy reference kernel (Keras 3 /
TensorFlow semantics, floats computed in float64) and layout class (all ``ANY``:
elementwise, or along one remappable axis).
"""

from __future__ import annotations

import numpy as np

from graphir.ops.activations import ACTIVATIONS, apply_activation, softmax
from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, define_op, register
from graphir.ops.type_rules import (broadcast_shapes, fmt_shape, forbid_bool, norm_axis,
                                    require_rank, same_dtype)
from graphir.tensor_types import TensorType


def _unary(types, attrs):
    x = types[0]
    if not x.dtype.is_float:
        raise TypeRuleError(f"expects a float tensor, got {x.dtype.value}", input_index=0,
                            expected="float", actual=x.dtype.value)
    return (x,)


def _identity_rule(types, attrs):
    return (types[0],)


@define_op("activation", ("x",), {
    "function": AttrSpec("str", choices=tuple(ACTIVATIONS), doc="see graphir.ops.activations")},
    infer=_unary, layout=Layout.ANY, doc="elementwise activation function (Keras Activation)")
def activation(inputs, attrs):
    """The canonical activation ``function`` (:data:`graphir.ops.activations.ACTIVATION_KERNELS`)."""
    return apply_activation(attrs["function"], inputs[0])


@define_op("relu", ("x",), {
    "max_value": AttrSpec("optional_float", doc="upper clip, None for none"),
    "negative_slope": AttrSpec("float"),
    "threshold": AttrSpec("float"),
}, infer=_unary, layout=Layout.ANY,
    doc="Keras ReLU (keras.activations.relu): p = x if x > threshold else 0; "
        "p = clip(p, 0, max_value) when max_value is set; "
        "y = p - negative_slope * max(threshold - x, 0)")
def relu(inputs, attrs):
    """Keras ReLU (``keras.src.activations.ReLU.static_call``):
    ``pos = x if x > threshold else 0`` (``max(x, 0)`` when threshold is 0), clipped to
    ``[0, max_value]`` when given, minus ``negative_slope * max(threshold - x, 0)``."""
    x = inputs[0]
    thr, slope, top = attrs["threshold"], attrs["negative_slope"], attrs["max_value"]
    pos = np.where(x > thr, x, 0.0) if thr != 0 else np.maximum(x, 0.0)
    if top is not None:
        pos = np.clip(pos, 0.0, top)
    if slope != 0:
        pos = pos - slope * np.maximum(thr - x, 0.0)
    return pos


@define_op("leaky_relu", ("x",), {"negative_slope": AttrSpec("float")}, infer=_unary,
           layout=Layout.ANY, doc="x if x >= 0 else negative_slope * x (Keras LeakyReLU)")
def leaky_relu(inputs, attrs):
    """``x if x >= 0 else negative_slope * x``."""
    x = inputs[0]
    return np.where(x >= 0, x, attrs["negative_slope"] * x)


@define_op("elu", ("x",), {"alpha": AttrSpec("float", doc="scale of the negative part")},
           infer=_unary, layout=Layout.ANY,
           doc="x if x > 0 else alpha * (exp(x) - 1) (Keras ELU)")
def elu(inputs, attrs):
    """``x if x > 0 else alpha * (exp(x) - 1)`` (``keras.activations.elu``)."""
    x = inputs[0]
    return np.where(x > 0, x, attrs["alpha"] * np.expm1(np.minimum(x, 0.0)))


def _prelu_rule(types, attrs):
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


@define_op("prelu", ("x", "alpha"), infer=_prelu_rule, layout=Layout.ANY, weight_inputs=(1,),
           doc="x if x >= 0 else alpha * x, alpha broadcast over the batch axis and "
               "the shared axes (Keras PReLU)")
def prelu(inputs, attrs):
    """``x if x >= 0 else alpha * x`` with ``alpha`` (``x.shape[1:]``, shared axes 1)
    broadcast against ``x`` (Keras ``PReLU.call``: ``relu(x) - alpha * relu(-x)``)."""
    x, alpha = inputs
    return np.where(x >= 0, x, alpha * x)


def _softmax_rule(types, attrs):
    x = _unary(types, attrs)[0]
    norm_axis(attrs["axis"], x.rank)
    return (x,)


@define_op("softmax", ("x",), {"axis": AttrSpec("int")}, infer=_softmax_rule,
           layout=Layout.ANY, doc="softmax along one axis (Keras Softmax)")
def softmax_op(inputs, attrs):
    """Softmax along ``axis`` (max subtracted first)."""
    return softmax(inputs[0], attrs["axis"])


def _pass_through(inputs, attrs):
    """Returns input 0 unchanged."""
    return inputs[0]


register(OpSchema("dropout", ("x",), {"rate": AttrSpec("float")}, _identity_rule,
                  kernel=_pass_through, layout=Layout.ANY,
                  doc="identity at inference (Keras Dropout)"))
register(OpSchema("identity", ("x",), {}, _identity_rule, kernel=_pass_through,
                  layout=Layout.ANY, doc="returns its input"))


def _merge_rule(types, attrs):
    same_dtype(types)
    forbid_bool(types)
    shape = broadcast_shapes([t.shape for t in types])
    return (TensorType(types[0].dtype, shape),)


def _fold(fn):
    """A kernel folding a binary NumPy ufunc over the inputs left to right (NumPy
    broadcasting)."""
    def kernel(inputs, attrs):
        out = inputs[0]
        for y in inputs[1:]:
            out = fn(out, y)
        return out
    kernel.__doc__ = f"``np.{fn.__name__}`` folded over the inputs, NumPy broadcasting."
    return kernel


def _average(inputs, attrs):
    """The sum of the inputs divided by their count, NumPy broadcasting."""
    return _fold(np.add)(inputs, attrs) / len(inputs)


for _name, _kernel, _doc in (("add", _fold(np.add), "sum of the inputs (Keras Add)"),
                             ("multiply", _fold(np.multiply), "product of the inputs (Keras Multiply)"),
                             ("average", _average, "mean of the inputs (Keras Average)"),
                             ("maximum", _fold(np.maximum), "elementwise max of the inputs (Keras Maximum)"),
                             ("minimum", _fold(np.minimum), "elementwise min of the inputs (Keras Minimum)")):
    register(OpSchema(_name, ("x",), {}, _merge_rule, variadic=True, min_inputs=2,
                      kernel=_kernel, layout=Layout.ANY, doc=_doc + "; NumPy broadcasting"))


def _subtract_rule(types, attrs):
    if len(types) != 2:
        raise TypeRuleError(f"subtract takes exactly 2 inputs, got {len(types)}")
    return _merge_rule(types, attrs)


@define_op("subtract", ("x", "y"), infer=_subtract_rule, layout=Layout.ANY,
           doc="x - y (Keras Subtract); NumPy broadcasting")
def subtract(inputs, attrs):
    """``x - y``, NumPy broadcasting."""
    return np.subtract(inputs[0], inputs[1])
