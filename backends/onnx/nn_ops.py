"""ONNX emitters of the neural-network ops: convolutions, dense, pooling, padding and
cropping (plus the helpers the other emitters share).  The normalization and scaling
ops are in :mod:`.norm_ops`.

Each emitter ``(ctx, node) -> None`` reads its inputs with ``ctx.get(name, layout)``
and writes its output under ``ctx.define(output, layout)`` (see
:mod:`graphir.backends.onnx.context` for the layout map).  Operator semantics are
from the ONNX operator specs (https://onnx.ai/onnx/operators/) at the opset in
``ctx.opset`` (>= 18); IR semantics are in ``graphir/ops`` and
:mod:`graphir.reference_ops`.

Convolutions and pooling compute in NCHW; ``dense`` on a rank-4 value that exists as
NCHW is a 1x1 ``Conv`` there (so a block of convolutions and per-pixel dense layers,
as in ConvNeXt, needs no transposes).  Their ``"same"`` padding becomes
explicit ``pads`` from TensorFlow's rule where it is static, else
``auto_pad="SAME_UPPER"`` (extra padding at the end, as TF).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from graphir.errors import UnsupportedOpError
from graphir.ir import Node
from graphir.reference_ops import same_padding

from .activations import emit_activation
from .context import NCHW, NHWC, EmitContext, layout_perm

__all__ = ["conv2d", "depthwise_conv2d", "separable_conv2d", "dense", "max_pool2d",
           "avg_pool2d", "global_avg_pool2d", "zero_pad2d", "crop2d", "unsupported",
           "onnx_axis"]


def unsupported(node: Node, what: str) -> UnsupportedOpError:
    """The error for an attribute value (or dtype) of ``node`` that ONNX emission cannot express."""
    return UnsupportedOpError(f"{node.op}: {what}", where=f"node {node.name!r}")


def onnx_axis(node: Node, ctx: EmitContext, ir_axis: int, layout: str) -> int:
    """The ONNX axis holding IR axis ``ir_axis`` of the node's input 0 in ``layout``."""
    rank = ctx.rank(node.inputs[0])
    return layout_perm(layout, rank).index(ir_axis % rank)


def _finish(ctx: EmitContext, node: Node, layout: str, core: Callable[[str | None], str]) -> None:
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

def _window_attrs(node: Node, ctx: EmitContext, ksize, strides, dilations) -> dict:
    """kernel_shape/strides/dilations and pads (or auto_pad) of a spatial op.

    TF "same" padding is static when the axis size is static, or when the stride is 1
    (the total is then ``(k - 1) * d``); those become explicit ``pads``.  Otherwise
    ``auto_pad="SAME_UPPER"`` (ONNX Conv/pooling spec: the extra pad at the end, as TF),
    which onnxruntime refuses with dilations > 1.

    Raises:
        UnsupportedOpError: "same" padding, a dynamic axis with stride > 1 and a
            dilation > 1.
    """
    sizes = ctx.types[node.inputs[0]].shape[1:3]
    dil = tuple(dilations or (1, 1))
    out = dict(kernel_shape=list(ksize), strides=list(strides))
    if dilations is not None:
        out["dilations"] = list(dilations)
    if node.attrs["padding"] == "valid":
        out["pads"] = [0, 0, 0, 0]
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
        (pt, pb), (pl, pr) = pairs
        out["pads"] = [pt, pl, pb, pr]  # ONNX order: begins (H, W), then ends
        return out
    if dil != (1, 1):
        raise unsupported(node, "padding='same' with a stride > 1 on a dynamic spatial axis "
                                 "and dilations > 1 (onnxruntime has no SAME_UPPER with "
                                 "dilations)")
    out["auto_pad"] = "SAME_UPPER"
    return out


def _conv(ctx: EmitContext, node: Node, weight: str, group: int, ksize) -> None:
    x = ctx.get(node.inputs[0], NCHW)
    bias = [ctx.get(node.inputs[2])] if len(node.inputs) > 2 and node.inputs[2] else []
    attrs = _window_attrs(node, ctx, ksize, node.attrs["strides"], node.attrs["dilations"])
    _finish(ctx, node, NCHW, lambda out: ctx.add("Conv", [x, weight] + bias, out, group=group,
                                                 **attrs))


def conv2d(ctx: EmitContext, node: Node) -> None:
    """Conv (opset 11) on NCHW; HWIO kernel -> OIHW initializer; ``groups`` -> ``group``."""
    kh, kw = ctx.types[node.inputs[1]].shape[:2]
    w = ctx.derived_weight(node.inputs[1], "oihw", lambda a: a.transpose(3, 2, 0, 1))
    _conv(ctx, node, w, node.attrs["groups"], (kh, kw))


def _grouped_kernel(ctx: EmitContext, kernel: str) -> str:
    """The depthwise kernel (kh, kw, cin, mult) as the grouped-Conv initializer
    ``<kernel>/grouped_oihw`` of shape (cin*mult, 1, kh, kw)."""
    kh, kw, cin, mult = ctx.types[kernel].shape
    return ctx.derived_weight(kernel, "grouped_oihw",
                              lambda a: a.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw))


def depthwise_conv2d(ctx: EmitContext, node: Node) -> None:
    """Grouped Conv with ``group=cin``; kernel (kh, kw, cin, mult) -> (cin*mult, 1, kh, kw),
    so ONNX output channel ``c*mult + m`` is Keras' channel ``c*mult + m``."""
    kh, kw, cin, _ = ctx.types[node.inputs[1]].shape
    _conv(ctx, node, _grouped_kernel(ctx, node.inputs[1]), cin, (kh, kw))


def separable_conv2d(ctx: EmitContext, node: Node) -> None:
    """Two Convs on NCHW, as ``tf.nn.separable_conv2d``: the depthwise one (``group=cin``,
    the strides, dilations and padding, no bias) into ``<node>/Conv``, then the 1x1
    pointwise one (kernel ``(1, 1, cin*mult, filters)`` -> ``<kernel>/oihw``) with the
    bias, then the fused activation."""
    x_name, depthwise, pointwise = node.inputs[:3]
    kh, kw, cin, _ = ctx.types[depthwise].shape
    bias = [ctx.get(node.inputs[3])] if len(node.inputs) > 3 and node.inputs[3] else []
    attrs = _window_attrs(node, ctx, (kh, kw), node.attrs["strides"], node.attrs["dilations"])
    mid = ctx.add("Conv", [ctx.get(x_name, NCHW), _grouped_kernel(ctx, depthwise)],
                  group=cin, **attrs)
    w = ctx.derived_weight(pointwise, "oihw", lambda a: a.transpose(3, 2, 0, 1))
    _finish(ctx, node, NCHW, lambda out: ctx.add(
        "Conv", [mid, w] + bias, out, kernel_shape=[1, 1], strides=[1, 1], pads=[0, 0, 0, 0]))


def dense(ctx: EmitContext, node: Node) -> None:
    """Gemm (opset 13) for rank-2 input, else MatMul (+ Add for the bias); a rank-4 input
    that exists only as NCHW (or prefers it) is a 1x1 Conv on NCHW instead, with the
    kernel as the initializer ``<kernel>/oi11`` of shape (units, in, 1, 1)."""
    x_name = node.inputs[0]
    b = ctx.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if ctx.rank(x_name) == 4 and ctx.layout_for([x_name]) == NCHW:
        x = ctx.get(x_name, NCHW)
        w = ctx.derived_weight(node.inputs[1], "oi11",
                               lambda a: a.T.reshape(a.shape[1], a.shape[0], 1, 1))
        _finish(ctx, node, NCHW, lambda out: ctx.add(
            "Conv", [x, w] + ([b] if b else []), out, kernel_shape=[1, 1], strides=[1, 1],
            pads=[0, 0, 0, 0]))
        return
    x = ctx.get(x_name)
    k = ctx.get(node.inputs[1])

    def core(out):
        if ctx.rank(x_name) == 2:
            return ctx.add("Gemm", [x, k] + ([b] if b else []), out)
        if b is None:
            return ctx.add("MatMul", [x, k], out)
        return ctx.add("Add", [ctx.add("MatMul", [x, k]), b], out)

    _finish(ctx, node, NHWC, core)


# --------------------------------------------------------------------------- pooling, padding

def _pool(ctx: EmitContext, node: Node, op_type: str, **extra) -> None:
    x = ctx.get(node.inputs[0], NCHW)
    attrs = _window_attrs(node, ctx, node.attrs["pool_size"], node.attrs["strides"], None)
    ctx.add(op_type, [x], ctx.define(node.output.name, NCHW), **attrs, **extra)


def max_pool2d(ctx: EmitContext, node: Node) -> None:
    """MaxPool (opset 12) on NCHW; its implicit padding never wins, as TF's."""
    _pool(ctx, node, "MaxPool")


def avg_pool2d(ctx: EmitContext, node: Node) -> None:
    """AveragePool (opset 19) on NCHW with ``count_include_pad=0`` (padding excluded
    from the count, as TF's "same" average pooling)."""
    _pool(ctx, node, "AveragePool", count_include_pad=0)


def global_avg_pool2d(ctx: EmitContext, node: Node) -> None:
    """ReduceMean (opset 18, axes as input) over H and W of whichever layout the input has."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    perm = layout_perm(layout, 4)
    axes = sorted([perm.index(1), perm.index(2)])
    keep = node.attrs["keepdims"]
    out = ctx.define(node.output.name, layout if keep else NHWC)  # (N, C) either way
    ctx.add("ReduceMean", [ctx.get(x_name, layout), ctx.constant(np.asarray(axes, np.int64),
                                                                  "axes")],
            out, keepdims=int(keep))


def zero_pad2d(ctx: EmitContext, node: Node) -> None:
    """Pad (opset 18, constant mode, zeros) of H and W in whichever layout the input has.

    The optional ``axes`` input is always given (the H and W axes).  Besides being
    explicit, this keeps onnxruntime's PadFusion (which accepts no ``axes`` input)
    from folding the Pad into a following MaxPool's ``pads``: MaxPool pads with -inf,
    not zeros, so that fusion changes results (and fails to load when a pad reaches
    the kernel size).
    """
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    (t, b), (l, r) = node.attrs["padding"]
    perm = layout_perm(layout, 4)
    axes = np.asarray([perm.index(1), perm.index(2)], np.int64)
    pads = np.asarray([t, l, b, r], np.int64)  # begins (H, W), then ends
    ctx.add("Pad", [ctx.get(x_name, layout), ctx.constant(pads, "pads"), "",
                    ctx.constant(axes, "axes")],
            ctx.define(node.output.name, layout), mode="constant")


def crop2d(ctx: EmitContext, node: Node) -> None:
    """Slice (opset 13) of H and W in whichever layout the input has: ``starts`` are
    ``[top, left]``, ``ends`` ``[H - bottom, W - right]`` where the size is static, else
    ``-bottom`` / ``-right`` (from the end), or the int64 maximum for a zero crop."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    perm = layout_perm(layout, 4)
    (t, b), (l, r) = node.attrs["cropping"]
    shape = ctx.types[x_name].shape
    ends = [shape[1 + i] - after if isinstance(shape[1 + i], int) else
            (-after if after else np.iinfo(np.int64).max)
            for i, after in enumerate((b, r))]
    ctx.add("Slice", [ctx.get(x_name, layout), ctx.constant(np.asarray([t, l], np.int64), "starts"),
                      ctx.constant(np.asarray(ends, np.int64), "ends"),
                      ctx.constant(np.asarray([perm.index(1), perm.index(2)], np.int64), "axes")],
            ctx.define(node.output.name, layout))
