"""ONNX emitters of the elementwise ops: ``activation``, ``relu``, ``leaky_relu``,
``elu``, ``prelu``, ``softmax``, ``dropout``, ``identity`` and the merges (``add``,
``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``).

Each emitter ``(ctx, node) -> None`` is registered with
:func:`~graphir.backends.onnx.registry.emits`, reads its inputs with
``ctx.get(name, layout)`` and writes its output under ``ctx.define(output, layout)``
(see :mod:`graphir.backends.onnx.context`).  These ops are of layout class
``Layout.ANY``: they compute in the layout their inputs already have, with axes
remapped.  Operator semantics: the ONNX operator specs
(https://onnx.ai/onnx/operators/) at ``ctx.opset`` (>= 18).
"""

from __future__ import annotations

from typing import Callable

from graphir.ir import Node

from .activations import emit_activation
from .context import NHWC, OnnxEmitContext
from .nn_ops import onnx_axis, unsupported
from .registry import OpEmitter, emits

__all__ = ["add", "elu", "prelu"]


def _unary(build: Callable[[OnnxEmitContext, Node, str, str, str], None]) -> OpEmitter:
    """A layout-agnostic one-input op: computed in the input's current layout."""
    def emit(ctx: OnnxEmitContext, node: Node) -> None:
        x_name = node.inputs[0]
        layout = ctx.layout_for([x_name])
        build(ctx, node, ctx.get(x_name, layout), ctx.define(node.output.name, layout), layout)
    emit.__doc__ = build.__doc__
    return emit


def _activation(ctx, node, x, out, layout):
    """The activation function (see graphir.backends.onnx.activations)."""
    emit_activation(ctx, node.attrs["function"], x, out, axis=onnx_axis(node, ctx, -1, layout),
                    dtype=node.output.type.dtype)


def _softmax(ctx, node, x, out, layout):
    """Softmax (opset 13) on the ONNX axis of the IR axis."""
    ctx.add("Softmax", [x], out, axis=onnx_axis(node, ctx, node.attrs["axis"], layout))


def _relu(ctx, node, x, out, layout):
    """Keras ReLU: Relu / Clip / LeakyRelu for the common cases, else
    ``clip(where(x > thr, x, 0), 0, max) - slope * relu(thr - x)``."""
    thr, slope, top = (node.attrs[k] for k in ("threshold", "negative_slope", "max_value"))
    dtype = node.output.type.dtype
    if thr == 0 and slope == 0 and top is None:
        ctx.add("Relu", [x], out)
    elif thr == 0 and slope == 0:
        ctx.add("Clip", [x, ctx.scalar(0.0, dtype, "min"), ctx.scalar(top, dtype, "max")], out)
    elif thr == 0 and top is None:
        ctx.add("LeakyRelu", [x], out, alpha=float(slope))
    else:
        # here thr != 0, or (slope != 0 and max_value is set)
        t = ctx.scalar(thr, dtype, "threshold")
        if thr != 0:
            last = top is None and not slope
            pos = ctx.add("Where", [ctx.add("Greater", [x, t]), x, ctx.scalar(0.0, dtype, "zero")],
                          out if last else None)
        else:
            pos = ctx.add("Relu", [x])
        if top is not None:
            pos = ctx.add("Clip", [pos, ctx.scalar(0.0, dtype, "min"),
                                   ctx.scalar(top, dtype, "max")], None if slope else out)
        if slope:
            neg = ctx.add("Relu", [ctx.add("Sub", [t, x])])
            ctx.add("Sub", [pos, ctx.add("Mul", [neg, ctx.scalar(slope, dtype, "slope")])], out)


def _leaky_relu(ctx, node, x, out, layout):
    """LeakyRelu (opset 16)."""
    ctx.add("LeakyRelu", [x], out, alpha=float(node.attrs["negative_slope"]))


def _identity(ctx, node, x, out, layout):
    """Identity (dropout is the identity at inference)."""
    ctx.add("Identity", [x], out)


emits("activation")(_unary(_activation))
emits("relu")(_unary(_relu))
emits("leaky_relu")(_unary(_leaky_relu))
emits("softmax")(_unary(_softmax))
emits("dropout", "identity")(_unary(_identity))


@emits("elu")
def elu(ctx: OnnxEmitContext, node: Node) -> None:
    """Elu (opset 6) with ``alpha``, in whichever layout the input has."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    ctx.add("Elu", [ctx.get(x_name, layout)], ctx.define(node.output.name, layout),
            alpha=float(node.attrs["alpha"]))


@emits("prelu")
def prelu(ctx: OnnxEmitContext, node: Node) -> None:
    """PRelu (opset 16, slope broadcast unidirectionally to ``x``) in whichever layout
    the input has: the weight ``alpha`` (``x.shape[1:]``) itself for NHWC; for the
    channels-first form the initializer ``<alpha>/channels_first``, ``alpha`` with its
    last axis moved first, so it broadcasts against ``(N, C, *spatial)``."""
    x_name, alpha = node.inputs
    layout = ctx.layout_for([x_name])
    if layout == NHWC:
        slope = ctx.get(alpha)
    else:
        r = ctx.rank(alpha)
        perm = (r - 1,) + tuple(range(r - 1))
        slope = ctx.derived_weight(alpha, "channels_first", lambda a: a.transpose(perm))
    ctx.add("PRelu", [ctx.get(x_name, layout), slope], ctx.define(node.output.name, layout))


# --------------------------------------------------------------------------- merges

def _merge(op_type: str, variadic: bool) -> OpEmitter:
    """The emitter of a merge computed by ``op_type``: one node for all inputs when
    ``variadic`` (or for two inputs), else a chain of two-input nodes."""
    def emit(ctx: OnnxEmitContext, node: Node) -> None:
        if op_type == "Mean" and not node.output.type.dtype.is_float:
            raise unsupported(node, f"ONNX Mean of {node.output.type.dtype.value} tensors")
        layout = ctx.layout_for(node.inputs)
        xs = [ctx.get(n, layout) for n in node.inputs]
        out = ctx.define(node.output.name, layout)
        if variadic or len(xs) == 2:
            ctx.add(op_type, xs, out)
            return
        y = xs[0]
        for i, x in enumerate(xs[1:], start=2):
            y = ctx.add(op_type, [y, x], out if i == len(xs) else None)
    emit.__doc__ = f"{op_type} with multidirectional (NumPy) broadcasting."
    return emit


_sum, _add2 = _merge("Sum", True), _merge("Add", False)


@emits("add")
def add(ctx: OnnxEmitContext, node: Node) -> None:
    """Add for two inputs; Sum (opset 13, floats only) for more float inputs, a chain of
    Adds for more integer inputs."""
    variadic = len(node.inputs) > 2 and node.output.type.dtype.is_float
    (_sum if variadic else _add2)(ctx, node)


for _op, _onnx_op, _variadic in (("subtract", "Sub", False), ("multiply", "Mul", False),
                                 ("average", "Mean", True), ("maximum", "Max", True),
                                 ("minimum", "Min", True)):
    emits(_op)(_merge(_onnx_op, _variadic))
del _op, _onnx_op, _variadic
