"""Per-op ONNX emitters: the table :data:`EMITTERS` (IR op name -> emitter), and the
emitters of the elementwise and shape ops.  The neural-network ops (convolutions,
dense, pooling, padding, cropping) are in :mod:`.nn_ops`, the normalization and
scaling ops in :mod:`.norm_ops`.

Each emitter ``(ctx, node) -> None`` reads its inputs with ``ctx.get(name, layout)``
and writes its output under ``ctx.define(output, layout)`` (see
:mod:`graphir.backends.onnx.context`).  Layout-agnostic ops (activations, relu,
softmax, merges, concatenate, identity) compute in the layout their inputs already
have, with axes remapped.  Operator semantics: the ONNX operator specs
(https://onnx.ai/onnx/operators/) at ``ctx.opset`` (>= 18).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import TensorProto

from graphir.dtypes import DType
from graphir.ir import Node

from . import attention_ops, nn_ops, norm_ops, recurrent_ops, sequence_ops
from .activations import emit_activation
from .context import MIN_CHANNELS_FIRST_RANK, NCHW, NHWC, EmitContext, layout_perm
from .nn_ops import onnx_axis, unsupported

__all__ = ["EMITTERS", "NCHW_OPS", "AGNOSTIC_OPS", "NEUTRAL_OPS"]

OpEmitter = Callable[[EmitContext, Node], None]


# --------------------------------------------------------------------------- elementwise

def _unary(build: Callable[[EmitContext, Node, str, str, str], None]) -> OpEmitter:
    """A layout-agnostic one-input op: computed in the input's current layout."""
    def emit(ctx: EmitContext, node: Node) -> None:
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


def _merge(op_type: str, variadic: bool) -> OpEmitter:
    def emit(ctx: EmitContext, node: Node) -> None:
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


def _add(ctx: EmitContext, node: Node) -> None:
    """Add for two inputs; Sum (opset 13, floats only) for more float inputs, a chain of
    Adds for more integer inputs."""
    variadic = len(node.inputs) > 2 and node.output.type.dtype.is_float
    (_merge("Sum", True) if variadic else _merge("Add", False))(ctx, node)


# --------------------------------------------------------------------------- shapes

def reshape(ctx: EmitContext, node: Node) -> None:
    """Reshape (opset 14) on NHWC data to ``[0, *target_shape]`` (0 keeps the batch)."""
    target = node.attrs["target_shape"]
    if 0 in target:
        raise unsupported(node, f"target_shape {target} has a zero-sized dim")
    shape = ctx.constant(np.asarray((0,) + tuple(target), np.int64), "shape")
    ctx.add("Reshape", [ctx.get(node.inputs[0]), shape], ctx.define(node.output.name, NHWC))


def flatten(ctx: EmitContext, node: Node) -> None:
    """Flatten (opset 13, axis=1) on NHWC data: row-major like Keras Flatten."""
    ctx.add("Flatten", [ctx.get(node.inputs[0])], ctx.define(node.output.name, NHWC), axis=1)


def permute(ctx: EmitContext, node: Node) -> None:
    """One Transpose from whichever layout the input has (Identity when that layout
    already is the permuted order, e.g. ``Permute((3, 1, 2))`` of an NCHW value)."""
    x_name = node.inputs[0]
    rank = ctx.rank(x_name)
    src = NHWC if ctx.has(x_name, NHWC) or rank < MIN_CHANNELS_FIRST_RANK else NCHW
    src_perm = layout_perm(src, rank)
    q = [src_perm.index(a) for a in (0,) + tuple(node.attrs["dims"])]
    x, out = ctx.get(x_name, src), ctx.define(node.output.name, NHWC)
    if q == list(range(rank)):
        ctx.add("Identity", [x], out)
    else:
        ctx.add("Transpose", [x], out, perm=q)


def concatenate(ctx: EmitContext, node: Node) -> None:
    """Concat (opset 13) on the ONNX axis of the IR axis, in the inputs' common layout."""
    layout = ctx.layout_for(node.inputs)
    axis = onnx_axis(node, ctx, node.attrs["axis"], layout)
    ctx.add("Concat", [ctx.get(n, layout) for n in node.inputs],
            ctx.define(node.output.name, layout), axis=axis)


def embedding(ctx: EmitContext, node: Node) -> None:
    """Gather (opset 13) of table rows; float indices are Cast to int64 first (Cast
    truncates toward zero, as Keras' cast to int32); negative indices count from the end
    in both."""
    idx_name, table = node.inputs
    idx = ctx.get(idx_name)
    if ctx.dtype(idx_name) not in (DType.INT32, DType.INT64):  # Gather takes int32/int64
        idx = ctx.add("Cast", [idx], to=TensorProto.INT64)
    ctx.add("Gather", [ctx.get(table), idx], ctx.define(node.output.name, NHWC), axis=0)


#: IR op name -> emitter
EMITTERS: dict[str, OpEmitter] = {
    "dense": nn_ops.dense,
    "batch_norm": norm_ops.batch_norm,
    "layer_norm": norm_ops.layer_norm,
    "normalize": norm_ops.normalize,
    "rescale": norm_ops.rescale,
    "scale": norm_ops.scale,
    "elu": nn_ops.elu,
    "prelu": nn_ops.prelu,
    "activation": _unary(_activation),
    "relu": _unary(_relu),
    "leaky_relu": _unary(_leaky_relu),
    "softmax": _unary(_softmax),
    "dropout": _unary(_identity),
    "identity": _unary(_identity),
    "add": _add,
    "subtract": _merge("Sub", False),
    "multiply": _merge("Mul", False),
    "average": _merge("Mean", True),
    "maximum": _merge("Max", True),
    "minimum": _merge("Min", True),
    "reshape": reshape,
    "flatten": flatten,
    "permute": permute,
    "concatenate": concatenate,
    "embedding": embedding,
    **{f"{family}{r}d{suffix}": emitter
       for r in (1, 2, 3)
       for family, suffix, emitter in (
           ("conv", "", nn_ops.conv), ("conv", "_transpose", nn_ops.conv_transpose),
           ("max_pool", "", nn_ops.max_pool), ("avg_pool", "", nn_ops.avg_pool),
           ("global_avg_pool", "", nn_ops.global_avg_pool),
           ("global_max_pool", "", nn_ops.global_max_pool),
           ("upsample", "", nn_ops.upsample), ("zero_pad", "", nn_ops.zero_pad),
           ("crop", "", nn_ops.crop))},
    **{f"{family}{r}d": emitter
       for r in (1, 2)
       for family, emitter in (("depthwise_conv", nn_ops.depthwise_conv),
                               ("separable_conv", nn_ops.separable_conv))},
    **recurrent_ops.EMITTERS,
    **attention_ops.EMITTERS,
    **sequence_ops.EMITTERS,
}

#: ops whose input 0 is read channels-first (Conv, ConvTranspose, MaxPool, AveragePool)
NCHW_OPS = ({f"conv{r}d" for r in (1, 2, 3)} | {f"conv{r}d_transpose" for r in (1, 2, 3)}
            | {f"{p}_pool{r}d" for p in ("max", "avg") for r in (1, 2, 3)}
            | {f"{f}_conv{r}d" for f in ("depthwise", "separable") for r in (1, 2)})
#: ops that compute in whichever layout their inputs have (see ``EmitContext.layout_for``);
#: ``dense`` does so for inputs of rank >= 3 (a size-1 Conv channels-first) and is NHWC
#: otherwise
AGNOSTIC_OPS = ({"activation", "relu", "leaky_relu", "elu", "prelu", "softmax", "dropout",
                 "identity", "add", "subtract", "multiply", "average", "maximum", "minimum",
                 "concatenate", "batch_norm", "layer_norm", "normalize", "rescale", "scale",
                 "dense"}
                | {f"{f}{r}d" for f in ("zero_pad", "crop", "upsample") for r in (1, 2, 3)})
#: ops that read either layout at the same cost (global pooling: a Reduce over the right
#: axes; permute: one Transpose from either)
NEUTRAL_OPS = ({f"global_{p}_pool{r}d" for p in ("avg", "max") for r in (1, 2, 3)}
               | {"permute"})
