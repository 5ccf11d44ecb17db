"""ONNX emitters of the neural-network ops: convolutions (plain, depthwise, separable,
transposed; 1-D, 2-D, 3-D), dense, pooling, global pooling, upsampling, padding,
cropping and ``embedding`` (plus the helpers the other emitters share).  The
normalization and scaling ops are in :mod:`.norm_ops`.

Each emitter ``(ctx, node) -> None`` is registered with
:func:`~graphir.backends.onnx.registry.emits`, reads its inputs with ``ctx.get(name, layout)``
and writes its output under ``ctx.define(output, layout)`` (see
:mod:`graphir.backends.onnx.context` for the layout map).  Operator semantics are
from the ONNX operator specs (https://onnx.ai/onnx/operators/) at the opset in
``ctx.opset`` (>= 18); IR semantics are in ``graphir/ops`` and ``specs/ops.md``.

Convolutions and pooling compute channels-first (NCW, NCHW, NCDHW: the ``NCHW`` form
of :mod:`.context` for every rank >= 3); ``dense`` on a value that exists
channels-first is a size-1 ``Conv`` there (so a block of convolutions and per-pixel
dense layers, as in ConvNeXt, needs no transposes).  Their ``"same"`` padding becomes
explicit ``pads`` from TensorFlow's rule where it is static, else
``auto_pad="SAME_UPPER"`` (extra padding at the end, as TF).  Kernel initializers
are named after the ONNX layout: ``<kernel>/oiw``, ``<kernel>/oihw``, ``<kernel>/oidhw``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import TensorProto

from graphir.dtypes import DType
from graphir.errors import UnsupportedOpError
from graphir.ir import Node
from graphir.windowing import conv_transpose_size, same_padding

from .activations import emit_activation
from .context import MIN_CHANNELS_FIRST_RANK, NCHW, NHWC, OnnxEmitContext, layout_perm
from .registry import emits

__all__ = ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "dense", "max_pool",
           "avg_pool", "global_avg_pool", "global_max_pool", "upsample", "zero_pad", "crop",
           "embedding", "unsupported", "onnx_axis"]


def unsupported(node: Node, what: str) -> UnsupportedOpError:
    """The error for an attribute value (or dtype) of ``node`` that ONNX emission cannot express."""
    return UnsupportedOpError(f"{node.op}: {what}", where=f"node {node.name!r}")


def onnx_axis(node: Node, ctx: OnnxEmitContext, ir_axis: int, layout: str) -> int:
    """The ONNX axis holding IR axis ``ir_axis`` of the node's input 0 in ``layout``."""
    rank = ctx.rank(node.inputs[0])
    return layout_perm(layout, rank).index(ir_axis % rank)


def _finish(ctx: OnnxEmitContext, node: Node, layout: str,
            core: Callable[[str | None], str]) -> None:
    """Emit ``core`` then the node's fused activation (if any) into the output in ``layout``."""
    out_v = node.output
    out = ctx.define(out_v.name, layout)
    act = node.attrs.get("activation", "linear")
    if act == "linear":
        core(out)
        return
    axis = layout_perm(layout, out_v.type.rank).index(out_v.type.rank - 1)
    emit_activation(ctx, act, core(None), out, axis=axis, dtype=out_v.type.dtype)


# --------------------------------------------------------------------------- convolutions

def _rank(ctx: OnnxEmitContext, node: Node) -> int:
    """The number of spatial axes of the node's input 0."""
    return ctx.rank(node.inputs[0]) - 2


def _kernel_tag(r: int) -> str:
    """``oiw`` / ``oihw`` / ``oidhw``: the name of a kernel's ONNX layout."""
    return "oi" + "dhw"[3 - r:]


def _window_attrs(node: Node, ctx: OnnxEmitContext, ksize, strides, dilations) -> dict:
    """kernel_shape/strides/dilations and pads (or auto_pad) of a spatial op.

    TF "same" padding is static when the axis size is static, or when the stride is 1
    (the total is then ``(k - 1) * d``); those become explicit ``pads`` (ONNX order:
    every axis' begin, then every axis' end).  Otherwise ``auto_pad="SAME_UPPER"``
    (ONNX Conv/pooling spec: the extra pad at the end, as TF), which onnxruntime
    refuses with dilations > 1.  ``"causal"`` (``conv1d``) pads ``(k - 1) * d`` at the
    start only.

    Raises:
        UnsupportedOpError: "same" padding, a dynamic axis with stride > 1 and a
            dilation > 1.
    """
    r = len(ksize)
    sizes = ctx.types[node.inputs[0]].shape[1:1 + r]
    dil = tuple(dilations or (1,) * r)
    out = dict(kernel_shape=list(ksize), strides=list(strides))
    if dilations is not None:
        out["dilations"] = list(dilations)
    padding = node.attrs["padding"]
    if padding == "valid":
        out["pads"] = [0] * (2 * r)
        return out
    if padding == "causal":
        out["pads"] = [(k - 1) * d for k, d in zip(ksize, dil)] + [0] * r
        return out
    pairs = []
    for n, k, s, d in zip(sizes, ksize, strides, dil):
        if isinstance(n, int):
            pairs.append(same_padding(n, k, s, d))
        elif s == 1:
            pairs.append(((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2))
        else:
            break
    else:
        out["pads"] = [p[0] for p in pairs] + [p[1] for p in pairs]  # begins, then ends
        return out
    if any(d != 1 for d in dil):
        raise unsupported(node, "padding='same' with a stride > 1 on a dynamic spatial axis "
                                 "and dilations > 1 (onnxruntime has no SAME_UPPER with "
                                 "dilations)")
    out["auto_pad"] = "SAME_UPPER"
    return out


def _bias_input(ctx: OnnxEmitContext, node: Node, index: int) -> list[str]:
    return [ctx.get(node.inputs[index])] if len(node.inputs) > index and node.inputs[index] else []


def _conv(ctx: OnnxEmitContext, node: Node, weight: str, group: int, ksize) -> None:
    x = ctx.get(node.inputs[0], NCHW)
    bias = _bias_input(ctx, node, 2)
    attrs = _window_attrs(node, ctx, ksize, node.attrs["strides"], node.attrs["dilations"])
    _finish(ctx, node, NCHW, lambda out: ctx.add("Conv", [x, weight] + bias, out, group=group,
                                                 **attrs))


def _oi_kernel(ctx: OnnxEmitContext, kernel: str) -> str:
    """The kernel ``(*k, i, o)`` as the ONNX Conv initializer ``(o, i, *k)``, named
    ``<kernel>/oihw`` (``oiw``, ``oidhw`` for 1-D, 3-D), created once per kernel."""
    rank = ctx.rank(kernel)
    perm = (rank - 1, rank - 2) + tuple(range(rank - 2))
    return ctx.derived_weight(kernel, _kernel_tag(rank - 2), lambda a: a.transpose(perm))


@emits("conv1d", "conv2d", "conv3d")
def conv(ctx: OnnxEmitContext, node: Node) -> None:
    """Conv (opset 11) channels-first (``conv1d``, ``conv2d``, ``conv3d``); kernel
    ``(*k, cin/groups, cout)`` -> ``(cout, cin/groups, *k)`` initializer; ``groups`` ->
    ``group``; ``"causal"`` padding as explicit leading ``pads``."""
    r = _rank(ctx, node)
    ksize = ctx.types[node.inputs[1]].shape[:r]
    _conv(ctx, node, _oi_kernel(ctx, node.inputs[1]), node.attrs["groups"], ksize)


def _grouped_kernel(ctx: OnnxEmitContext, kernel: str) -> str:
    """The depthwise kernel (*k, cin, mult) as the grouped-Conv initializer
    ``<kernel>/grouped_oihw`` (``grouped_oiw`` for 1-D) of shape (cin*mult, 1, *k)."""
    shape = ctx.types[kernel].shape
    r = len(shape) - 2
    cin, mult = shape[r:]
    perm = (r, r + 1) + tuple(range(r))
    return ctx.derived_weight(kernel, "grouped_" + _kernel_tag(r),
                              lambda a: a.transpose(perm).reshape((cin * mult, 1) + shape[:r]))


@emits("depthwise_conv1d", "depthwise_conv2d")
def depthwise_conv(ctx: OnnxEmitContext, node: Node) -> None:
    """Grouped Conv with ``group=cin``; kernel (*k, cin, mult) -> (cin*mult, 1, *k),
    so ONNX output channel ``c*mult + m`` is Keras' channel ``c*mult + m``."""
    r = _rank(ctx, node)
    shape = ctx.types[node.inputs[1]].shape
    _conv(ctx, node, _grouped_kernel(ctx, node.inputs[1]), shape[r], shape[:r])


@emits("separable_conv1d", "separable_conv2d")
def separable_conv(ctx: OnnxEmitContext, node: Node) -> None:
    """Two Convs channels-first, as ``tf.nn.separable_conv2d``: the depthwise one
    (``group=cin``, the strides, dilations and padding, no bias) into ``<node>/Conv``,
    then the size-1 pointwise one (kernel ``(*ones, cin*mult, filters)`` ->
    ``<kernel>/oihw``) with the bias, then the fused activation."""
    x_name, depthwise, pointwise = node.inputs[:3]
    r = _rank(ctx, node)
    shape = ctx.types[depthwise].shape
    bias = _bias_input(ctx, node, 3)
    attrs = _window_attrs(node, ctx, shape[:r], node.attrs["strides"], node.attrs["dilations"])
    mid = ctx.add("Conv", [ctx.get(x_name, NCHW), _grouped_kernel(ctx, depthwise)],
                  group=shape[r], **attrs)
    w = _oi_kernel(ctx, pointwise)
    _finish(ctx, node, NCHW, lambda out: ctx.add(
        "Conv", [mid, w] + bias, out, kernel_shape=[1] * r, strides=[1] * r, pads=[0] * (2 * r)))


@emits("conv1d_transpose", "conv2d_transpose", "conv3d_transpose")
def conv_transpose(ctx: OnnxEmitContext, node: Node) -> None:
    """ConvTranspose (opset 11) channels-first (``conv{1,2,3}d_transpose``); kernel
    ``(*k, cout, cin)`` -> ``(cin, cout, *k)`` initializer ``<kernel>/iohw`` (``iow``,
    ``iodhw``), no flip (both are the adjoint of the forward convolution).

    ONNX's output size is ``s * (n - 1) + output_padding + (k - 1) * d + 1 - begin - end``
    with output position ``i`` at full position ``i + begin``; IR position ``i`` is at
    full position ``i + before`` (:func:`graphir.windowing.conv_transpose_size`).
    So ``begin = before``, and the rest of the difference between the full size and the
    IR output size is ``end`` when positive, else ``output_padding``.  The pads do not
    depend on the input size, so dynamic spatial sizes need nothing special."""
    x_name, kernel = node.inputs[:2]
    r = _rank(ctx, node)
    kshape = ctx.types[kernel].shape
    a = node.attrs
    begins, ends, extra = [], [], []
    for i in range(r):
        # the pads do not depend on the input size: compute them for size 1
        out, before = conv_transpose_size(1, kshape[i], a["strides"][i], a["dilations"][i],
                                          a["padding"], a["output_padding"][i])
        full = (kshape[i] - 1) * a["dilations"][i] + 1
        rest = full - before - out
        begins.append(before)
        ends.append(max(rest, 0))
        extra.append(max(-rest, 0))
    perm = (r + 1, r) + tuple(range(r))
    w = ctx.derived_weight(kernel, "io" + "dhw"[3 - r:], lambda arr: arr.transpose(perm))
    x = ctx.get(x_name, NCHW)
    bias = _bias_input(ctx, node, 2)
    attrs = dict(kernel_shape=list(kshape[:r]), strides=list(a["strides"]),
                 dilations=list(a["dilations"]), pads=begins + ends)
    if any(extra):
        attrs["output_padding"] = extra
    _finish(ctx, node, NCHW, lambda out: ctx.add("ConvTranspose", [x, w] + bias, out, **attrs))


@emits("dense")
def dense(ctx: OnnxEmitContext, node: Node) -> None:
    """Gemm (opset 13) for rank-2 input, else MatMul (+ Add for the bias); an input of
    rank >= 3 that exists only channels-first (or prefers it) is a size-1 Conv there
    instead, with the kernel as the initializer ``<kernel>/oi11`` of shape
    (units, in, 1, 1) (``oi1`` / ``oi111`` for ranks 3 / 5)."""
    x_name = node.inputs[0]
    rank = ctx.rank(x_name)
    b = ctx.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if rank >= MIN_CHANNELS_FIRST_RANK and ctx.layout_for([x_name]) == NCHW:
        x = ctx.get(x_name, NCHW)
        r = rank - 2
        w = ctx.derived_weight(node.inputs[1], "oi" + "1" * r,
                               lambda a: a.T.reshape((a.shape[1], a.shape[0]) + (1,) * r))
        _finish(ctx, node, NCHW, lambda out: ctx.add(
            "Conv", [x, w] + ([b] if b else []), out, kernel_shape=[1] * r, strides=[1] * r,
            pads=[0] * (2 * r)))
        return
    x = ctx.get(x_name)
    k = ctx.get(node.inputs[1])

    def core(out):
        if rank == 2:
            return ctx.add("Gemm", [x, k] + ([b] if b else []), out)
        if b is None:
            return ctx.add("MatMul", [x, k], out)
        return ctx.add("Add", [ctx.add("MatMul", [x, k]), b], out)

    _finish(ctx, node, NHWC, core)


# --------------------------------------------------------------------------- pooling, padding

def _pool(ctx: OnnxEmitContext, node: Node, op_type: str, **extra) -> None:
    x = ctx.get(node.inputs[0], NCHW)
    attrs = _window_attrs(node, ctx, node.attrs["pool_size"], node.attrs["strides"], None)
    ctx.add(op_type, [x], ctx.define(node.output.name, NCHW), **attrs, **extra)


@emits("max_pool1d", "max_pool2d", "max_pool3d")
def max_pool(ctx: OnnxEmitContext, node: Node) -> None:
    """MaxPool (opset 12) channels-first; its implicit padding never wins, as TF's."""
    _pool(ctx, node, "MaxPool")


@emits("avg_pool1d", "avg_pool2d", "avg_pool3d")
def avg_pool(ctx: OnnxEmitContext, node: Node) -> None:
    """AveragePool (opset 19) channels-first with ``count_include_pad=0`` (padding
    excluded from the count, as TF's "same" average pooling)."""
    _pool(ctx, node, "AveragePool", count_include_pad=0)


def _spatial_axes(ctx: OnnxEmitContext, x_name: str, layout: str) -> list[int]:
    """The ONNX axes holding the IR spatial axes ``1 .. rank-2`` of ``x_name`` in ``layout``."""
    rank = ctx.rank(x_name)
    perm = layout_perm(layout, rank)
    return sorted(perm.index(a) for a in range(1, rank - 1))


def _global_pool(op_type: str):
    def emit(ctx: OnnxEmitContext, node: Node) -> None:
        x_name = node.inputs[0]
        layout = ctx.layout_for([x_name])
        keep = node.attrs["keepdims"]
        axes = np.asarray(_spatial_axes(ctx, x_name, layout), np.int64)
        out = ctx.define(node.output.name, layout if keep else NHWC)  # (N, C) either way
        ctx.add(op_type, [ctx.get(x_name, layout), ctx.constant(axes, "axes")], out,
                keepdims=int(keep))
    emit.__doc__ = (f"{op_type} (opset 18, axes as input) over the spatial axes of whichever "
                    f"layout the input has; without keepdims the (N, C) result is NHWC.")
    return emit


global_avg_pool = emits("global_avg_pool1d", "global_avg_pool2d", "global_avg_pool3d")(
    _global_pool("ReduceMean"))
global_max_pool = emits("global_max_pool1d", "global_max_pool2d", "global_max_pool3d")(
    _global_pool("ReduceMax"))


@emits("upsample1d", "upsample2d", "upsample3d")
def upsample(ctx: OnnxEmitContext, node: Node) -> None:
    """Resize (opset 18) by the integer factors, in whichever layout the input has (a
    ``scales`` initializer with 1 on the batch and channel axes).

    ``"nearest"``: ``coordinate_transformation_mode="asymmetric"``,
    ``nearest_mode="floor"``: output ``i`` reads input ``floor(i / f)``, the repeat of
    Keras' ``ops.repeat``.  ``"bilinear"``: ``mode="linear"``,
    ``coordinate_transformation_mode="half_pixel"`` (``tf.image.resize`` without
    antialiasing: ``(i + 0.5) / f - 0.5``, clamped at the borders)."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    rank = ctx.rank(x_name)
    perm = layout_perm(layout, rank)
    factors = [1.0] + [float(f) for f in node.attrs["size"]] + [1.0]
    scales = np.asarray([factors[perm[i]] for i in range(rank)], np.float32)
    if node.attrs["interpolation"] == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                     nearest_mode="floor")
    else:
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    ctx.add("Resize", [ctx.get(x_name, layout), "", ctx.constant(scales, "scales")],
            ctx.define(node.output.name, layout), **attrs)


@emits("zero_pad1d", "zero_pad2d", "zero_pad3d")
def zero_pad(ctx: OnnxEmitContext, node: Node) -> None:
    """Pad (opset 18, constant mode, zeros) of the spatial axes in whichever layout the
    input has.

    The optional ``axes`` input is always given, listing every axis in order (the
    pads of the batch and channel axes are 0).  An ``axes`` input keeps onnxruntime's
    PadFusion (which accepts none) from folding the Pad into a following MaxPool's
    ``pads``: MaxPool pads with -inf, not zeros, so that fusion changes results (and
    fails to load when a pad reaches the kernel size).  Every axis, because
    onnxruntime's transpose optimizer (1.31), moving a layout Transpose through the
    Pad, permutes ``pads`` as if it held every axis and leaves ``axes`` alone: with only
    the spatial axes listed it gathered out of bounds (keras_hub HGNetV2's stem failed
    to run).
    """
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    padding = node.attrs["padding"]
    rank = ctx.rank(x_name)
    perm = layout_perm(layout, rank)
    per_axis = [(0, 0)] * rank
    for i, p in enumerate(padding):
        per_axis[perm.index(1 + i)] = (int(p[0]), int(p[1]))
    axes = np.arange(rank, dtype=np.int64)
    pads = np.asarray([p[0] for p in per_axis] + [p[1] for p in per_axis], np.int64)
    ctx.add("Pad", [ctx.get(x_name, layout), ctx.constant(pads, "pads"), "",
                    ctx.constant(axes, "axes")],
            ctx.define(node.output.name, layout), mode="constant")


@emits("crop1d", "crop2d", "crop3d")
def crop(ctx: OnnxEmitContext, node: Node) -> None:
    """Slice (opset 13) of the spatial axes in whichever layout the input has:
    ``starts`` are the leading crops, ``ends`` ``n - after`` where the size is static,
    else ``-after`` (from the end), or the int64 maximum for a zero crop."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    cropping = node.attrs["cropping"]
    perm = layout_perm(layout, ctx.rank(x_name))
    shape = ctx.types[x_name].shape
    ends = [shape[1 + i] - after if isinstance(shape[1 + i], int) else
            (-after if after else np.iinfo(np.int64).max)
            for i, (_, after) in enumerate(cropping)]
    starts = [before for before, _ in cropping]
    axes = [perm.index(1 + i) for i in range(len(cropping))]
    ctx.add("Slice", [ctx.get(x_name, layout), ctx.constant(np.asarray(starts, np.int64), "starts"),
                      ctx.constant(np.asarray(ends, np.int64), "ends"),
                      ctx.constant(np.asarray(axes, np.int64), "axes")],
            ctx.define(node.output.name, layout))


# --------------------------------------------------------------------------- embedding

@emits("embedding")
def embedding(ctx: OnnxEmitContext, node: Node) -> None:
    """Gather (opset 13) of table rows; float indices are Cast to int64 first (Cast
    truncates toward zero, as Keras' cast to int32); negative indices count from the end
    in both."""
    idx_name, table = node.inputs
    idx = ctx.get(idx_name)
    if ctx.dtype(idx_name) not in (DType.INT32, DType.INT64):  # Gather takes int32/int64
        idx = ctx.add("Cast", [idx], to=TensorProto.INT64)
    ctx.add("Gather", [ctx.get(table), idx], ctx.define(node.output.name, NHWC), axis=0)
