"""ONNX emitters of the normalization and scaling ops: ``batch_norm``, ``layer_norm``,
``normalize``, ``rescale`` and ``scale``.

All of them are layout-agnostic: they compute in the layout their input already has
(:meth:`~graphir.backends.onnx.context.OnnxEmitContext.layout_for`), with their
parameters laid out to broadcast against that form, so they never add a Transpose.
Operator semantics are from the ONNX operator specs (https://onnx.ai/onnx/operators/)
at ``ctx.opset`` (>= 18); IR semantics are in ``graphir/ops/normalization.py`` and
the reference kernels beside them.  Each emitter is registered with
:func:`~graphir.backends.onnx.registry.emits`.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from graphir.dtypes import DType
from graphir.ir import Node
from graphir.ops.normalization import KERAS_EPSILON

from .context import NHWC, OnnxEmitContext, layout_perm
from .nn_ops import onnx_axis
from .registry import emits

__all__ = ["batch_norm", "layer_norm", "normalize", "rescale", "scale"]


@emits("batch_norm")
def batch_norm(ctx: OnnxEmitContext, node: Node) -> None:
    """BatchNormalization (opset 15, inference) when the feature axis is ONNX axis 1,
    else Mul + Add with ``scale = gamma / sqrt(var + eps)`` and
    ``shift = beta - mean * scale`` folded in float64."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    rank, dtype = ctx.rank(x_name), ctx.dtype(x_name)
    axis = onnx_axis(node, ctx, node.attrs["axis"], layout)
    gamma, beta, mean, var = node.inputs[1:]
    c = ctx.types[mean].shape[0]
    np_dtype = dtype.to_numpy()
    x = ctx.get(x_name, layout)
    out = ctx.define(node.output.name, layout)
    if axis == 1 and rank >= 2:
        scale = ctx.get(gamma) if gamma else ctx.constant(np.ones(c, np_dtype), "gamma")
        shift = ctx.get(beta) if beta else ctx.constant(np.zeros(c, np_dtype), "beta")
        ctx.add("BatchNormalization", [x, scale, shift, ctx.get(mean), ctx.get(var)], out,
                epsilon=float(node.attrs["epsilon"]))
        return

    def w64(name, default):
        return ctx.weight_array(name).astype(np.float64) if name else np.full(c, default)

    scale = w64(gamma, 1.0) / np.sqrt(w64(var, 0.0) + node.attrs["epsilon"])
    shift = w64(beta, 0.0) - w64(mean, 0.0) * scale
    shape = (c,) + (1,) * (rank - 1 - axis)
    mul = ctx.add("Mul", [x, ctx.constant(scale.reshape(shape).astype(np_dtype), "scale")])
    ctx.add("Add", [mul, ctx.constant(shift.reshape(shape).astype(np_dtype), "shift")], out)


@emits("normalize")
def normalize(ctx: OnnxEmitContext, node: Node) -> None:
    """``(x - mean) / std`` as Sub + Div, or ``x * std + mean`` as Mul + Add (invert), with
    ``std = max(sqrt(variance), 1e-7)`` precomputed in float64 (Keras Normalization)."""
    x_name, mean, var = node.inputs
    layout = ctx.layout_for([x_name])
    rank, np_dtype = ctx.rank(x_name), ctx.dtype(x_name).to_numpy()
    std = np.maximum(np.sqrt(ctx.weight_array(var).astype(np.float64)), KERAS_EPSILON)
    m = ctx.layout_constant(ctx.weight_array(mean).astype(np_dtype), rank, layout, "mean")
    s = ctx.layout_constant(std.astype(np_dtype), rank, layout, "std")
    x = ctx.get(x_name, layout)
    out = ctx.define(node.output.name, layout)
    if node.attrs["invert"]:
        ctx.add("Add", [ctx.add("Mul", [x, s]), m], out)
    else:
        ctx.add("Div", [ctx.add("Sub", [x, m]), s], out)


@emits("rescale")
def rescale(ctx: OnnxEmitContext, node: Node) -> None:
    """``x * scale + offset`` as Mul + Add (a factor 1 or offset 0 is skipped)."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    rank, np_dtype = ctx.rank(x_name), ctx.dtype(x_name).to_numpy()
    y = ctx.get(x_name, layout)
    out = ctx.define(node.output.name, layout)
    steps = [(op, np.asarray(node.attrs[key], np.float64), key)
             for op, key, neutral in (("Mul", "scale", 1.0), ("Add", "offset", 0.0))
             if np.any(np.asarray(node.attrs[key]) != neutral)]
    if not steps:
        ctx.add("Identity", [y], out)
    for i, (op, value, key) in enumerate(steps):
        c = ctx.layout_constant(value.astype(np_dtype), rank, layout, key)
        y = ctx.add(op, [y, c], out if i == len(steps) - 1 else None)


def _layer_norm_params(ctx: OnnxEmitContext, node: Node, layout: str) -> list[np.ndarray | None]:
    """``[gamma, beta]`` (None when omitted) as float64 arrays of the input's rank, the
    sizes of the normalized axes on those axes and 1 elsewhere, in ``layout``'s order."""
    rank = ctx.rank(node.inputs[0])
    axes = sorted(a % rank for a in node.attrs["axis"])
    params: list[np.ndarray | None] = []
    for name in (list(node.inputs[1:]) + ["", ""])[:2]:
        if not name:
            params.append(None)
            continue
        arr = ctx.weight_array(name).astype(np.float64)
        shape = [arr.shape[axes.index(d)] if d in axes else 1 for d in range(rank)]
        params.append(arr.reshape(shape).transpose(layout_perm(layout, rank)))
    return params


@emits("layer_norm")
def layer_norm(ctx: OnnxEmitContext, node: Node) -> None:
    """Layer normalization in the input's current layout.

    When the normalized axes are the trailing ONNX axes ``k..rank-1`` of that layout
    (for example the last IR axis of an NHWC value), the dtype is float32 or float16
    and the normalized shape is known: one ``LayerNormalization(axis=k, epsilon)``
    (opset 17; its float32 ``stash_type`` matches Keras, which computes float16 inputs
    in float32), with a ones initializer for an omitted ``gamma``.  Otherwise (the
    channel axis of an NCHW value, float64): ``ReduceMean`` over the ONNX axes,
    ``Sub``, ``ReduceMean`` of the squared differences (the biased variance, as
    Keras' ``moments``), ``Div`` by ``Sqrt(var + epsilon)``, then ``Mul(gamma)`` and
    ``Add(beta)``; a float16 input is computed in float32 between two ``Cast`` s.
    """
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    rank, dtype = ctx.rank(x_name), ctx.dtype(x_name)
    perm = layout_perm(layout, rank)
    axes = sorted(perm.index(a % rank) for a in node.attrs["axis"])
    x = ctx.get(x_name, layout)
    out = ctx.define(node.output.name, layout)
    gamma, beta = _layer_norm_params(ctx, node, layout)
    eps = float(node.attrs["epsilon"])
    np_dtype = dtype.to_numpy()
    k = axes[0]
    known = next((p.shape[k:] for p in (gamma, beta) if p is not None),
                 tuple(ctx.types[x_name].shape[perm[i]] for i in range(k, rank)))
    if (axes == list(range(k, rank)) and dtype in (DType.FLOAT32, DType.FLOAT16)
            and all(isinstance(d, int) for d in known)):
        def param(arr: np.ndarray | None, index: int, suffix: str) -> str:
            if layout == NHWC:  # the weight already has the normalized shape
                return ctx.get(node.inputs[index])
            return ctx.constant(arr.reshape(arr.shape[k:]).astype(np_dtype), suffix)

        scale_c = (param(gamma, 1, "gamma") if gamma is not None
                   else ctx.constant(np.ones(known, np_dtype), "gamma"))
        extra = [] if beta is None else [param(beta, 2, "beta")]
        ctx.add("LayerNormalization", [x, scale_c] + extra, out, axis=k, epsilon=eps)
        return
    compute = DType.FLOAT32 if dtype == DType.FLOAT16 else dtype
    if compute != dtype:
        x = ctx.add("Cast", [x], to=TensorProto.FLOAT)
    axes_c = ctx.constant(np.asarray(axes, np.int64), "axes")
    mean = ctx.add("ReduceMean", [x, axes_c], keepdims=1)
    centered = ctx.add("Sub", [x, mean])
    var = ctx.add("ReduceMean", [ctx.add("Mul", [centered, centered]), axes_c], keepdims=1)
    std = ctx.add("Sqrt", [ctx.add("Add", [var, ctx.scalar(eps, compute, "epsilon")])])
    steps = [("Div", std)]
    c_dtype = compute.to_numpy()
    if gamma is not None:
        steps.append(("Mul", ctx.constant(gamma.astype(c_dtype), "gamma")))
    if beta is not None:
        steps.append(("Add", ctx.constant(beta.astype(c_dtype), "beta")))
    y = centered
    for i, (op_type, operand) in enumerate(steps):
        last = i == len(steps) - 1 and compute == dtype
        y = ctx.add(op_type, [y, operand], out if last else None)
    if compute != dtype:
        ctx.add("Cast", [y], out, to=TensorProto.FLOAT16)


@emits("scale")
def scale(ctx: OnnxEmitContext, node: Node) -> None:
    """``Mul(x, gamma)`` in the input's current layout: the ``(C,)`` weight itself for
    channels-last, else the initializer ``<gamma>/c1..1`` of shape ``(C, 1, ..., 1)``
    (rank - 2 ones: ``c11`` for NCHW) that broadcasts against ``(N, C, *spatial)``."""
    x_name, gamma = node.inputs
    layout = ctx.layout_for([x_name])
    if layout == NHWC:
        g = ctx.get(gamma)
    else:
        ones = ctx.rank(x_name) - 2
        g = ctx.derived_weight(gamma, "c" + "1" * ones, lambda a: a.reshape((-1,) + (1,) * ones))
    ctx.add("Mul", [ctx.get(x_name, layout), g], ctx.define(node.output.name, layout))
