"""Neural-network ops: convolutions (plain, depthwise, separable, transposed), dense,
pooling, global pooling, upsampling, padding, cropping, embedding.  (The
normalization and scaling ops are in :mod:`graphir.ops.normalization`.)

Layout: every spatial op carries ``data_format``; the op set currently defines
only ``"channels_last"``, which is what Keras uses on CPU and in
``keras.applications``: rank ``r + 2`` tensors ``(N, *spatial, C)`` with ``r``
spatial axes, NWC (``r = 1``), NHWC (``r = 2``) or NDHWC (``r = 3``).  The spatial
op families are registered once per rank (``conv1d``, ``conv2d``, ``conv3d``...)
from one type rule each.  Kernels keep Keras' layout: ``conv{r}d`` ``(*k, cin/groups,
cout)``, ``depthwise_conv{r}d`` ``(*k, cin, multiplier)``, ``conv{r}d_transpose``
``(*k, cout, cin)`` (``keras/src/layers/convolutional/base_conv_transpose.py``).
"""

from __future__ import annotations

from graphir.dtypes import DType
from graphir.ops.activations import ACTIVATIONS
from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import (conv_out_dim, conv_transpose_out_dim, fmt_shape, require_float,
                                require_positive, require_rank, same_dtype, scaled_dim)
from graphir.tensor_types import TensorType

__all__ = ["SPATIAL_RANKS", "LAYOUT_NAMES"]

#: spatial ranks of the N-d op families
SPATIAL_RANKS = (1, 2, 3)
#: spatial rank -> the channels-last layout's name
LAYOUT_NAMES = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
_AXES = {1: ("w",), 2: ("h", "w"), 3: ("d", "h", "w")}

_PADDING = AttrSpec("str", choices=("valid", "same"), doc="TensorFlow padding rule")
_CAUSAL_PADDING = AttrSpec("str", choices=("valid", "same", "causal"),
                           doc="TensorFlow padding rule, or causal (left padding)")
_ACT = AttrSpec("str", choices=tuple(ACTIVATIONS), doc="fused activation (see activation op)")


def _layout(r: int) -> AttrSpec:
    return AttrSpec("str", choices=("channels_last",), doc=f"tensor layout ({LAYOUT_NAMES[r]})")


def _tuple(r: int, what: str) -> AttrSpec:
    return AttrSpec("ints", length=r, doc="(" + ", ".join(f"{what[0]}{a}" for a in _AXES[r]) + ")")


def _pairs(r: int) -> AttrSpec:
    return AttrSpec("int_pairs", length=r,
                    doc="(" + ", ".join(f"({a}_before, {a}_after)" for a in _AXES[r]) + ")")


def _float_input(t: TensorType, index: int, what: str) -> None:
    if not t.dtype.is_float:
        raise TypeRuleError(f"{what} must be a float tensor, got {t.dtype.value}",
                            input_index=index, expected="float", actual=t.dtype.value)


def _check_channels(x: TensorType, weight: TensorType, w_axis: int, index: int, what: str,
                    factor: int = 1) -> None:
    c, k = x.shape[-1], weight.shape[w_axis]
    if isinstance(c, int) and isinstance(k, int) and c != k * factor:
        raise TypeRuleError(
            f"{what} expects {k * factor} input channels (last axis), the input has {c}",
            input_index=0, axis=x.rank - 1, expected=f"{k * factor} channels",
            actual=fmt_shape(x.shape),
            hint="insert a layer that maps the channels, or fix the producer's output shape")


def _check_bias(bias: TensorType | None, n: int, index: int) -> None:
    if bias is not None and bias.shape != (n,):
        raise TypeRuleError(f"bias must have shape ({n},), got {fmt_shape(bias.shape)}",
                            input_index=index, expected=f"({n},)", actual=fmt_shape(bias.shape))


def _spatial(x: TensorType, ksize, attrs, r: int, dilations=None) -> tuple:
    """The output sizes of the ``r`` spatial axes (window rule of ``conv_out_dim``)."""
    strides = attrs["strides"]
    dil = dilations if dilations is not None else attrs["dilations"]
    return tuple(conv_out_dim(x.shape[1 + i], ksize[i], strides[i], dil[i], attrs["padding"])
                 for i in range(r))


# --------------------------------------------------------------------------- convolutions

def _check_window_inputs(op: str, r: int, x: TensorType,
                         kernels: list[tuple[TensorType, str]], bias: TensorType | None) -> None:
    """The checks every convolution rule starts with: ``x`` and each kernel (inputs 1, 2...,
    ``(type, description)``) of rank ``r + 2``, a float ``x``, one dtype for ``x``, the
    kernels and ``bias``."""
    require_rank(x, (r + 2,), input_index=0, what=f"{op} input ({LAYOUT_NAMES[r]})")
    for index, (kernel, what) in enumerate(kernels, start=1):
        require_rank(kernel, (r + 2,), input_index=index, what=f"{op} {what}")
    _float_input(x, 0, f"{op} input")
    same_dtype([x, *(k for k, _ in kernels), bias])


def _conv_rule(r: int):
    op = f"conv{r}d"

    def infer(types, attrs):
        x, kernel, bias = (list(types) + [None])[:3]
        _check_window_inputs(op, r, x, [(kernel, "kernel (*kernel_size, cin/groups, cout)")],
                             bias)
        require_positive(attrs, "strides", "dilations", "groups")
        groups = attrs["groups"]
        cin, cout = kernel.shape[r], kernel.shape[r + 1]
        _check_channels(x, kernel, r, 0, op, factor=groups)
        if cout % groups:
            raise TypeRuleError(f"{cout} filters are not divisible by groups={groups}",
                                input_index=1)
        _check_bias(bias, cout, 2)
        return (TensorType(x.dtype, (x.shape[0],) + _spatial(x, kernel.shape[:r], attrs, r)
                           + (cout,)),)
    return infer


for _r in SPATIAL_RANKS:
    register(OpSchema(
        f"conv{_r}d", ("x", "kernel", "bias?"), {
            "strides": _tuple(_r, "s"),
            "padding": _CAUSAL_PADDING if _r == 1 else _PADDING,
            "dilations": _tuple(_r, "d"),
            "groups": AttrSpec("int", doc="channel groups"),
            "activation": _ACT,
            "data_format": _layout(_r),
        }, _conv_rule(_r), weight_inputs=(1, 2), layout=Layout.CHANNELS_FIRST,
        doc=f"{_r}-D convolution (Keras Conv{_r}D); kernel (*kernel_size, cin/groups, cout)"))


def _depthwise_rule(r: int):
    op = f"depthwise_conv{r}d"

    def infer(types, attrs):
        x, kernel, bias = (list(types) + [None])[:3]
        _check_window_inputs(op, r, x, [(kernel, "kernel (*kernel_size, cin, multiplier)")],
                             bias)
        require_positive(attrs, "strides", "dilations")
        cin, mult = kernel.shape[r], kernel.shape[r + 1]
        _check_channels(x, kernel, r, 0, op)
        _check_bias(bias, cin * mult, 2)
        return (TensorType(x.dtype, (x.shape[0],) + _spatial(x, kernel.shape[:r], attrs, r)
                           + (cin * mult,)),)
    return infer


def _separable_rule(r: int):
    op = f"separable_conv{r}d"

    def infer(types, attrs):
        x, dw, pw, bias = (list(types) + [None])[:4]
        _check_window_inputs(op, r, x, [
            (dw, "depthwise kernel (*kernel_size, cin, multiplier)"),
            (pw, "pointwise kernel (*ones, cin * multiplier, filters)")], bias)
        require_positive(attrs, "strides", "dilations")
        cin, mult = dw.shape[r], dw.shape[r + 1]
        _check_channels(x, dw, r, 0, op)
        want = (1,) * r + (cin * mult,)
        if pw.shape[:r + 1] != want:
            text = "(" + ", ".join(str(d) for d in want) + ", filters)"
            raise TypeRuleError(f"pointwise kernel must have shape {text}, "
                                f"got {fmt_shape(pw.shape)}", input_index=2,
                                expected=text, actual=fmt_shape(pw.shape))
        filters = pw.shape[r + 1]
        _check_bias(bias, filters, 3)
        return (TensorType(x.dtype, (x.shape[0],) + _spatial(x, dw.shape[:r], attrs, r)
                           + (filters,)),)
    return infer


for _r in (1, 2):
    register(OpSchema(
        f"depthwise_conv{_r}d", ("x", "kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "activation": _ACT, "data_format": _layout(_r),
        }, _depthwise_rule(_r), weight_inputs=(1, 2), layout=Layout.CHANNELS_FIRST,
        doc=f"depthwise {_r}-D convolution (Keras DepthwiseConv{_r}D); kernel "
            f"(*kernel_size, cin, multiplier)"))
    register(OpSchema(
        f"separable_conv{_r}d", ("x", "depthwise_kernel", "pointwise_kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "activation": _ACT, "data_format": _layout(_r),
        }, _separable_rule(_r), weight_inputs=(1, 2, 3), layout=Layout.CHANNELS_FIRST,
        doc=f"depthwise {_r}-D convolution (no bias) then a pointwise (size-1) convolution, "
            f"plus bias, then the fused activation (Keras SeparableConv{_r}D)"))


def _transpose_rule(r: int):
    op = f"conv{r}d_transpose"

    def infer(types, attrs):
        x, kernel, bias = (list(types) + [None])[:3]
        _check_window_inputs(op, r, x, [(kernel, "kernel (*kernel_size, cout, cin)")], bias)
        require_positive(attrs, "strides", "dilations")
        cout = kernel.shape[r]
        _check_channels(x, kernel, r + 1, 0, op)
        _check_bias(bias, cout, 2)
        if any(p < 0 for p in attrs["output_padding"]):
            raise TypeRuleError(f"output_padding={attrs['output_padding']} has a negative "
                                f"entry", expected=">= 0", actual=str(attrs["output_padding"]))
        dims = tuple(conv_transpose_out_dim(x.shape[1 + i], kernel.shape[i],
                                            attrs["strides"][i], attrs["dilations"][i],
                                            attrs["padding"], attrs["output_padding"][i])
                     for i in range(r))
        return (TensorType(x.dtype, (x.shape[0],) + dims + (cout,)),)
    return infer


for _r in SPATIAL_RANKS:
    register(OpSchema(
        f"conv{_r}d_transpose", ("x", "kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "output_padding": _tuple(_r, "o"), "activation": _ACT, "data_format": _layout(_r),
        }, _transpose_rule(_r), weight_inputs=(1, 2), layout=Layout.CHANNELS_FIRST,
        doc=f"{_r}-D transposed convolution (Keras Conv{_r}DTranspose): the adjoint of the "
            f"{_r}-D convolution; kernel (*kernel_size, cout, cin)"))


# --------------------------------------------------------------------------- dense

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
    }, _infer_dense, weight_inputs=(1, 2), layout=Layout.ANY,
    doc="x @ kernel + bias on the last axis, any rank >= 1 (Keras Dense)"))


# --------------------------------------------------------------------------- pooling

def _pool_rule(r: int):
    def infer(types, attrs):
        x = types[0]
        require_rank(x, (r + 2,), input_index=0, what=f"pooling input ({LAYOUT_NAMES[r]})")
        require_float(x, 0, "pooling input")
        require_positive(attrs, "pool_size", "strides")
        dims = _spatial(x, attrs["pool_size"], attrs, r, dilations=(1,) * r)
        return (TensorType(x.dtype, (x.shape[0],) + dims + (x.shape[-1],)),)
    return infer


for _r in SPATIAL_RANKS:
    _attrs = {"pool_size": _tuple(_r, "p"), "strides": _tuple(_r, "s"), "padding": _PADDING,
              "data_format": _layout(_r)}
    register(OpSchema(f"max_pool{_r}d", ("x",), dict(_attrs), _pool_rule(_r), layout=Layout.CHANNELS_FIRST,
                      doc=f"{_r}-D max pooling (Keras MaxPooling{_r}D)"))
    register(OpSchema(f"avg_pool{_r}d", ("x",), dict(_attrs), _pool_rule(_r), layout=Layout.CHANNELS_FIRST,
                      doc=f"{_r}-D average pooling, padding excluded from the count "
                          f"(Keras AveragePooling{_r}D)"))


def _global_pool_rule(r: int, kind: str):
    def infer(types, attrs):
        x = types[0]
        require_rank(x, (r + 2,), input_index=0,
                     what=f"global pooling input ({LAYOUT_NAMES[r]})")
        if kind == "avg":  # Keras' mean of an int tensor is float32: no cast in the op set
            _float_input(x, 0, f"global_avg_pool{r}d input")
        if attrs["keepdims"]:
            shape = (x.shape[0],) + (1,) * r + (x.shape[-1],)
        else:
            shape = (x.shape[0], x.shape[-1])
        return (TensorType(x.dtype, shape),)
    return infer


for _r in SPATIAL_RANKS:
    for _kind, _what in (("avg", "mean"), ("max", "max")):
        _cls = "Average" if _kind == "avg" else "Max"
        register(OpSchema(f"global_{_kind}_pool{_r}d", ("x",), {
            "keepdims": AttrSpec("bool", doc="keep the spatial axes as size-1 axes"),
            "data_format": _layout(_r)},
            _global_pool_rule(_r, _kind), layout=Layout.EITHER,
            doc=f"{_what} over the {_r} spatial axes (Keras Global{_cls}Pooling{_r}D)"))


# --------------------------------------------------------------------------- upsampling

def _upsample_rule(r: int):
    def infer(types, attrs):
        x = types[0]
        require_rank(x, (r + 2,), input_index=0, what=f"upsample{r}d input ({LAYOUT_NAMES[r]})")
        require_positive(attrs, "size")
        if attrs["interpolation"] != "nearest":
            require_float(x, 0, f"{attrs['interpolation']} upsampling input")
        dims = tuple(scaled_dim(x.shape[1 + i], attrs["size"][i]) for i in range(r))
        return (TensorType(x.dtype, (x.shape[0],) + dims + (x.shape[-1],)),)
    return infer


for _r in SPATIAL_RANKS:
    register(OpSchema(f"upsample{_r}d", ("x",), {
        "size": _tuple(_r, "f"),
        "interpolation": AttrSpec("str", choices=("nearest", "bilinear") if _r == 2 else
                                  ("nearest",), doc="nearest (repeat) or bilinear"),
        "data_format": _layout(_r)}, _upsample_rule(_r), layout=Layout.ANY,
        doc=f"upsampling of the {_r} spatial axes by integer factors (Keras UpSampling{_r}D)"))


# --------------------------------------------------------------------------- padding, cropping

def _pad_rule(r: int):
    def infer(types, attrs):
        x = types[0]
        require_rank(x, (r + 2,), input_index=0, what=f"zero_pad{r}d input ({LAYOUT_NAMES[r]})")
        dims = tuple(x.shape[1 + i] + b + a if isinstance(x.shape[1 + i], int) else None
                     for i, (b, a) in enumerate(attrs["padding"]))
        return (TensorType(x.dtype, (x.shape[0],) + dims + (x.shape[-1],)),)
    return infer


def _crop_rule(r: int):
    def infer(types, attrs):
        x = types[0]
        require_rank(x, (r + 2,), input_index=0, what=f"crop{r}d input ({LAYOUT_NAMES[r]})")
        out = [x.shape[0]] + [None] * r + [x.shape[-1]]
        for i, (before, after) in enumerate(attrs["cropping"]):
            n = x.shape[1 + i]
            if isinstance(n, int):
                if before + after >= n:
                    raise TypeRuleError(f"cropping {before} + {after} leaves nothing of axis "
                                        f"{1 + i} (size {n})", input_index=0, axis=1 + i,
                                        expected=f"a size above {before + after}",
                                        actual=str(n))
                out[1 + i] = n - before - after
        return (TensorType(x.dtype, tuple(out)),)
    return infer


for _r in SPATIAL_RANKS:
    register(OpSchema(f"zero_pad{_r}d", ("x",), {"padding": _pairs(_r),
                                                 "data_format": _layout(_r)},
                      _pad_rule(_r), layout=Layout.ANY,
                      doc=f"zero padding of the {_r} spatial axes (Keras ZeroPadding{_r}D)"))
    register(OpSchema(f"crop{_r}d", ("x",), {"cropping": _pairs(_r),
                                             "data_format": _layout(_r)},
                      _crop_rule(_r), layout=Layout.ANY,
                      doc=f"crops the {_r} spatial axes (Keras Cropping{_r}D): "
                          f"x[:, b:n-a, ..., :] per axis"))


# --------------------------------------------------------------------------- embedding

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
