"""Neural-network ops: convolutions, dense, pooling, padding, cropping, embedding.
(The normalization and scaling ops are in :mod:`graphir.ops.normalization`.)

Layout: every spatial op carries ``data_format``; the op set currently defines
only ``"channels_last"`` (NHWC), which is what Keras uses on CPU and in
``keras.applications``.  Kernels keep Keras' layout (``conv2d``: HWIO).
"""

from __future__ import annotations

from graphir.dtypes import DType
from graphir.ops.activations import ACTIVATIONS
from graphir.ops.registry import AttrSpec, OpSchema, TypeRuleError, register
from graphir.ops.shapes import (conv_out_dim, fmt_shape, require_float,
                                require_positive, require_rank, same_dtype)
from graphir.types import TensorType

_LAYOUT = AttrSpec("str", choices=("channels_last",), doc="tensor layout (NHWC)")
_PADDING = AttrSpec("str", choices=("valid", "same"), doc="TensorFlow padding rule")
_ACT = AttrSpec("str", choices=tuple(ACTIVATIONS), doc="fused activation (see activation op)")
_PAIR = dict(kind="ints", length=2)


def _float_input(t: TensorType, index: int, what: str) -> None:
    if not t.dtype.is_float:
        raise TypeRuleError(f"{what} must be a float tensor, got {t.dtype.value}",
                            input_index=index, expected="float", actual=t.dtype.value)


def _check_channels(x: TensorType, weight: TensorType, w_axis: int, index: int, what: str) -> None:
    c, k = x.shape[-1], weight.shape[w_axis]
    if isinstance(c, int) and isinstance(k, int) and c != k:
        raise TypeRuleError(
            f"{what} expects {k} input channels (last axis), the input has {c}",
            input_index=0, axis=x.rank - 1, expected=f"{k} channels", actual=fmt_shape(x.shape),
            hint="insert a layer that maps the channels, or fix the producer's output shape")


def _check_bias(bias: TensorType | None, n: int, index: int) -> None:
    if bias is not None and bias.shape != (n,):
        raise TypeRuleError(f"bias must have shape ({n},), got {fmt_shape(bias.shape)}",
                            input_index=index, expected=f"({n},)", actual=fmt_shape(bias.shape))


def _spatial(x, kernel_hw, attrs) -> tuple:
    strides, dil = attrs["strides"], attrs.get("dilations", (1, 1))
    return tuple(conv_out_dim(x.shape[1 + i], kernel_hw[i], strides[i], dil[i], attrs["padding"])
                 for i in range(2))


def _infer_conv2d(types, attrs):
    x, kernel, bias = (list(types) + [None])[:3]
    require_rank(x, (4,), input_index=0, what="conv2d input (NHWC)")
    require_rank(kernel, (4,), input_index=1, what="conv2d kernel (HWIO)")
    _float_input(x, 0, "conv2d input")
    same_dtype([x, kernel, bias])
    require_positive(attrs, "strides", "dilations", "groups")
    groups = attrs.get("groups", 1)
    kh, kw, cin, cout = kernel.shape
    c = x.shape[3]
    if isinstance(c, int) and c != cin * groups:
        raise TypeRuleError(
            f"conv2d expects {cin * groups} input channels (last axis), the input has {c}",
            input_index=0, axis=3, expected=f"{cin * groups} channels",
            actual=fmt_shape(x.shape),
            hint="insert a layer that maps the channels, or fix the producer's output shape")
    if cout % groups:
        raise TypeRuleError(f"{cout} filters are not divisible by groups={groups}", input_index=1)
    _check_bias(bias, cout, 2)
    h, w = _spatial(x, (kh, kw), attrs)
    return (TensorType(x.dtype, (x.shape[0], h, w, cout)),)


register(OpSchema(
    "conv2d", ("x", "kernel", "bias?"), {
        "strides": AttrSpec(**_PAIR, doc="(sh, sw)"),
        "padding": _PADDING,
        "dilations": AttrSpec(**_PAIR, doc="(dh, dw)"),
        "groups": AttrSpec("int", doc="channel groups"),
        "activation": _ACT,
        "data_format": _LAYOUT,
    }, _infer_conv2d, weight_inputs=(1, 2),
    doc="2-D convolution (Keras Conv2D); kernel HWIO (kh, kw, cin/groups, cout)"))


def _infer_depthwise(types, attrs):
    x, kernel, bias = (list(types) + [None])[:3]
    require_rank(x, (4,), input_index=0, what="depthwise_conv2d input (NHWC)")
    require_rank(kernel, (4,), input_index=1, what="depthwise kernel (kh, kw, cin, multiplier)")
    _float_input(x, 0, "depthwise_conv2d input")
    same_dtype([x, kernel, bias])
    require_positive(attrs, "strides", "dilations")
    kh, kw, cin, mult = kernel.shape
    _check_channels(x, kernel, 2, 0, "depthwise_conv2d")
    _check_bias(bias, cin * mult, 2)
    h, w = _spatial(x, (kh, kw), attrs)
    return (TensorType(x.dtype, (x.shape[0], h, w, cin * mult)),)


register(OpSchema(
    "depthwise_conv2d", ("x", "kernel", "bias?"), {
        "strides": AttrSpec(**_PAIR), "padding": _PADDING,
        "dilations": AttrSpec(**_PAIR), "activation": _ACT, "data_format": _LAYOUT,
    }, _infer_depthwise, weight_inputs=(1, 2),
    doc="depthwise 2-D convolution (Keras DepthwiseConv2D); kernel (kh, kw, cin, multiplier)"))


def _infer_separable(types, attrs):
    x, dw, pw, bias = (list(types) + [None])[:4]
    require_rank(x, (4,), input_index=0, what="separable_conv2d input (NHWC)")
    require_rank(dw, (4,), input_index=1,
                 what="separable_conv2d depthwise kernel (kh, kw, cin, multiplier)")
    require_rank(pw, (4,), input_index=2,
                 what="separable_conv2d pointwise kernel (1, 1, cin * multiplier, filters)")
    _float_input(x, 0, "separable_conv2d input")
    same_dtype([x, dw, pw, bias])
    require_positive(attrs, "strides", "dilations")
    kh, kw, cin, mult = dw.shape
    _check_channels(x, dw, 2, 0, "separable_conv2d")
    if pw.shape[:3] != (1, 1, cin * mult):
        raise TypeRuleError(f"pointwise kernel must have shape (1, 1, {cin * mult}, filters), "
                            f"got {fmt_shape(pw.shape)}", input_index=2,
                            expected=f"(1, 1, {cin * mult}, filters)", actual=fmt_shape(pw.shape))
    filters = pw.shape[3]
    _check_bias(bias, filters, 3)
    h, w = _spatial(x, (kh, kw), attrs)
    return (TensorType(x.dtype, (x.shape[0], h, w, filters)),)


register(OpSchema(
    "separable_conv2d", ("x", "depthwise_kernel", "pointwise_kernel", "bias?"), {
        "strides": AttrSpec(**_PAIR), "padding": _PADDING,
        "dilations": AttrSpec(**_PAIR), "activation": _ACT, "data_format": _LAYOUT,
    }, _infer_separable, weight_inputs=(1, 2, 3),
    doc="depthwise 2-D convolution (no bias) then a 1x1 convolution, plus bias, then the "
        "fused activation (Keras SeparableConv2D)"))


def _infer_dense(types, attrs):
    x, kernel, bias = (list(types) + [None])[:3]
    if x.rank < 1:
        raise TypeRuleError("dense input must have rank >= 1", input_index=0)
    require_rank(kernel, (2,), input_index=1, what="dense kernel (in, units)")
    _float_input(x, 0, "dense input")
    same_dtype([x, kernel, bias])
    _check_channels(x, kernel, 0, 0, "dense")
    units = kernel.shape[1]
    if attrs["units"] != units:
        raise TypeRuleError(f"units={attrs['units']} but the kernel has {units} columns",
                            input_index=1)
    _check_bias(bias, units, 2)
    return (TensorType(x.dtype, x.shape[:-1] + (units,)),)


register(OpSchema(
    "dense", ("x", "kernel", "bias?"), {
        "units": AttrSpec("int"), "activation": _ACT,
    }, _infer_dense, weight_inputs=(1, 2),
    doc="x @ kernel + bias on the last axis, any rank >= 1 (Keras Dense)"))


def _pool_attrs():
    return {"pool_size": AttrSpec(**_PAIR), "strides": AttrSpec(**_PAIR),
            "padding": _PADDING, "data_format": _LAYOUT}


def _infer_pool(types, attrs):
    x = types[0]
    require_rank(x, (4,), input_index=0, what="pooling input (NHWC)")
    require_float(x, 0, "pooling input")
    require_positive(attrs, "pool_size", "strides")
    ph, pw = attrs["pool_size"]
    sh, sw = attrs["strides"]
    h = conv_out_dim(x.shape[1], ph, sh, 1, attrs["padding"])
    w = conv_out_dim(x.shape[2], pw, sw, 1, attrs["padding"])
    return (TensorType(x.dtype, (x.shape[0], h, w, x.shape[3])),)


register(OpSchema("max_pool2d", ("x",), _pool_attrs(), _infer_pool,
                  doc="2-D max pooling (Keras MaxPooling2D)"))
register(OpSchema("avg_pool2d", ("x",), _pool_attrs(), _infer_pool,
                  doc="2-D average pooling, padding excluded from the count (Keras AveragePooling2D)"))


def _infer_global_pool(types, attrs):
    x = types[0]
    require_rank(x, (4,), input_index=0, what="global pooling input (NHWC)")
    shape = (x.shape[0], 1, 1, x.shape[3]) if attrs["keepdims"] else (x.shape[0], x.shape[3])
    return (TensorType(x.dtype, shape),)


register(OpSchema("global_avg_pool2d", ("x",), {"keepdims": AttrSpec("bool"),
                                                  "data_format": _LAYOUT},
                  _infer_global_pool, doc="mean over H and W (Keras GlobalAveragePooling2D)"))


def _infer_pad(types, attrs):
    x = types[0]
    require_rank(x, (4,), input_index=0, what="zero_pad2d input (NHWC)")
    (t, b), (l, r) = attrs["padding"]
    h = x.shape[1] + t + b if isinstance(x.shape[1], int) else None
    w = x.shape[2] + l + r if isinstance(x.shape[2], int) else None
    return (TensorType(x.dtype, (x.shape[0], h, w, x.shape[3])),)


register(OpSchema("zero_pad2d", ("x",), {
    "padding": AttrSpec("int_pairs", length=2, doc="((top, bottom), (left, right))"),
    "data_format": _LAYOUT}, _infer_pad, doc="zero padding of H and W (Keras ZeroPadding2D)"))


def _infer_crop(types, attrs):
    x = types[0]
    require_rank(x, (4,), input_index=0, what="crop2d input (NHWC)")
    out = [x.shape[0], None, None, x.shape[3]]
    for i, (before, after) in enumerate(attrs["cropping"]):
        n = x.shape[1 + i]
        if isinstance(n, int):
            if before + after >= n:
                raise TypeRuleError(f"cropping {before} + {after} leaves nothing of axis "
                                    f"{1 + i} (size {n})", input_index=0, axis=1 + i,
                                    expected=f"a size above {before + after}", actual=str(n))
            out[1 + i] = n - before - after
    return (TensorType(x.dtype, tuple(out)),)


register(OpSchema("crop2d", ("x",), {
    "cropping": AttrSpec("int_pairs", length=2, doc="((top, bottom), (left, right))"),
    "data_format": _LAYOUT}, _infer_crop,
    doc="crops H and W (Keras Cropping2D): x[:, top:H-bottom, left:W-right, :]"))


def _infer_embedding(types, attrs):
    idx, table = types
    require_rank(table, (2,), input_index=1, what="embedding table (input_dim, output_dim)")
    if idx.dtype == DType.BOOL:
        raise TypeRuleError("embedding indices must be integers", input_index=0,
                            expected="int32/int64", actual=idx.dtype.value)
    return (TensorType(table.dtype, idx.shape + (table.shape[1],)),)


register(OpSchema("embedding", ("indices", "embeddings"), {}, _infer_embedding,
                  weight_inputs=(1,),
                  doc="row lookup embeddings[indices] (Keras Embedding); float indices are "
                      "truncated to int as Keras does"))
