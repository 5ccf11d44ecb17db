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

Reference kernels: every kernel takes the node's input arrays (``None`` for an
omitted optional input; floats in float64) and its attributes, and returns one array.
Conventions follow Keras 3 on the TensorFlow backend, which the ONNX and Keras
emitters must reproduce:

* layout channels-last (NWC, NHWC, NDHWC: the spatial kernels are written once for
  any number of spatial axes); ``conv{r}d`` kernels ``(*k, cin/groups, cout)`` (HWIO
  for 2-D) with output channel ``o`` in group ``o // (cout/groups)``;
  ``depthwise_conv{r}d`` kernels ``(*k, cin, mult)`` with output channel
  ``c * mult + m`` (``tf.nn.depthwise_conv2d`` docs); ``conv{r}d_transpose`` kernels
  ``(*k, cout, cin)``, computed as the adjoint of the forward convolution
  (``tf.nn.conv_transpose``, output size from ``keras/src/backend/common/backend_utils.py``);
* ``"causal"`` padding (``conv1d``) pads ``(k - 1) * d`` zeros at the start only
  (``keras/src/layers/convolutional/conv1d.py``);
* ``"same"`` padding is TensorFlow's: ``total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)``,
  ``before = total // 2``, the rest after (``tf.nn.convolution`` docs,
  "Notes on padding");
* average pooling divides by the number of *unpadded* positions in each window;
  max pooling pads with ``-inf``;
* activations and ``relu`` as in ``keras/src/activations/activations.py`` and
  ``keras/src/backend/tensorflow/nn.py``; ``normalize`` as
  ``keras/src/layers/preprocessing/normalization.py`` (epsilon ``1e-7``, Keras'
  ``backend.epsilon()``); ``embedding`` as ``keras/src/layers/core/embedding.py``
  (non-integer indices cast to int, i.e. truncated toward zero; negative indices
  count from the end, as ``keras.ops.take``); ``layer_norm`` as
  ``_layer_normalization`` in ``keras/src/ops/nn.py`` (biased variance over the
  axes); ``separable_conv{r}d`` as ``tf.nn.separable_conv2d`` (depthwise, then the
  pointwise 1x1 kernel, then bias and activation); ``scale`` as ConvNeXt's
  ``LayerScale.call``; ``crop{r}d`` as ``Cropping{r}D.call``; ``upsample{r}d`` as
  ``UpSampling{r}D`` (``ops.repeat`` per axis; bilinear as ``tf.image.resize`` with
  half-pixel centers); ``elu`` and ``prelu`` as ``keras/src/layers/activations``."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from graphir.dtypes import DType
from graphir.ops.activations import ACTIVATIONS, apply_activation
from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import (conv_out_dim, conv_transpose_out_dim, fmt_shape, require_float,
                                require_positive, require_rank, same_dtype, scaled_dim)
from graphir.tensor_types import TensorType
from graphir.windowing import conv_transpose_size, same_padding

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
        cout = kernel.shape[r + 1]
        _check_channels(x, kernel, r, 0, op, factor=groups)
        if cout % groups:
            raise TypeRuleError(f"{cout} filters are not divisible by groups={groups}",
                                input_index=1)
        _check_bias(bias, cout, 2)
        return (TensorType(x.dtype, (x.shape[0],) + _spatial(x, kernel.shape[:r], attrs, r)
                           + (cout,)),)
    return infer


# kernels: channels-last, as Keras on the TensorFlow backend

def _pads(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """``(before, after)`` padding of one spatial axis for ``padding`` (``"valid"``,
    ``"same"``: :func:`same_padding`, ``"causal"``: ``(kernel - 1) * dilation`` before,
    as Keras ``Conv1D``, ``keras/src/layers/convolutional/conv1d.py``)."""
    if padding == "same":
        return same_padding(size, kernel, stride, dilation)
    if padding == "causal":
        return (kernel - 1) * dilation, 0
    return 0, 0


def _windows(x: np.ndarray, ksize, strides, dilations, padding: str,
             pad_value: float = 0.0) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Yield ``(tap, x_tap)`` for each kernel tap of an N-d window over the spatial axes
    ``1 .. r`` of a channels-last ``x`` (``r = len(ksize)``): ``x_tap`` is the
    ``(N, *out, C)`` slice of the padded input that tap ``tap`` (a tuple of ``r``
    indices) sees at every output position.

    Raises:
        ValueError: a ``"valid"`` window is larger than the input.
    """
    r = len(ksize)
    pads = [_pads(x.shape[1 + i], ksize[i], strides[i], dilations[i], padding) for i in range(r)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=pad_value)
    out = [(x.shape[1 + i] + sum(pads[i]) - ((ksize[i] - 1) * dilations[i] + 1)) // strides[i] + 1
           for i in range(r)]
    if min(out) <= 0:
        raise ValueError(f"a {'x'.join(map(str, ksize))} window (dilations "
                         f"{'x'.join(map(str, dilations))}) does not fit an input of "
                         f"{'x'.join(map(str, x.shape[1:1 + r]))} with padding='valid'")
    for tap in np.ndindex(*ksize):
        index = (slice(None),) + tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, o, s in zip(tap, dilations, out, strides)) + (slice(None),)
        yield tap, xp[index]


def _bias_act(y, bias, attrs):
    if bias is not None:
        y = y + bias
    return apply_activation(attrs["activation"], y)


def conv(inputs, attrs):
    """Channels-last N-d grouped convolution (``conv1d``/``conv2d``/``conv3d``): kernel
    ``(*k, cin/groups, cout)``, output channel ``o`` in group ``o // (cout/groups)``;
    + bias, then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cin_g, cout = kernel.shape[r:]
    groups = attrs["groups"]
    k = kernel.reshape(kernel.shape[:r] + (cin_g, groups, cout // groups))
    acc = None
    for tap, xs in _windows(x, kernel.shape[:r], attrs["strides"], attrs["dilations"],
                            attrs["padding"]):
        xs = xs.reshape(xs.shape[:-1] + (groups, cin_g))
        term = np.einsum("...gc,cgo->...go", xs, k[tap])
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:-2] + (cout,)), bias, attrs)


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
        doc=f"{_r}-D convolution (Keras Conv{_r}D); kernel (*kernel_size, cin/groups, cout)", kernel=conv))


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


def depthwise_conv(inputs, attrs):
    """Depthwise N-d convolution, kernel ``(*k, cin, mult)``; output channel ``c * mult + m``."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cin, mult = kernel.shape[r:]
    acc = None
    for tap, xs in _windows(x, kernel.shape[:r], attrs["strides"], attrs["dilations"],
                            attrs["padding"]):
        term = xs[..., :, None] * kernel[tap]
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:-2] + (cin * mult,)), bias, attrs)


def separable_conv(inputs, attrs):
    """Depthwise convolution (no bias, no activation), then the pointwise kernel
    ``(*ones, cin * mult, filters)``, + bias, then the fused activation
    (``tf.nn.separable_conv2d``, which Keras' ``SeparableConv1D``/``SeparableConv2D``
    call: ``keras/src/backend/tensorflow/nn.py``)."""
    x, depthwise, pointwise, bias = (list(inputs) + [None])[:4]
    mid = depthwise_conv([x, depthwise, None], {**attrs, "activation": "linear"})
    pw = pointwise.reshape(pointwise.shape[-2:])
    return _bias_act(np.einsum("...c,cf->...f", mid, pw), bias, attrs)


for _r in (1, 2):
    register(OpSchema(
        f"depthwise_conv{_r}d", ("x", "kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "activation": _ACT, "data_format": _layout(_r),
        }, _depthwise_rule(_r), weight_inputs=(1, 2), layout=Layout.CHANNELS_FIRST,
        doc=f"depthwise {_r}-D convolution (Keras DepthwiseConv{_r}D); kernel "
            f"(*kernel_size, cin, multiplier)", kernel=depthwise_conv))
    register(OpSchema(
        f"separable_conv{_r}d", ("x", "depthwise_kernel", "pointwise_kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "activation": _ACT, "data_format": _layout(_r),
        }, _separable_rule(_r), weight_inputs=(1, 2, 3), layout=Layout.CHANNELS_FIRST,
        doc=f"depthwise {_r}-D convolution (no bias) then a pointwise (size-1) convolution, "
            f"plus bias, then the fused activation (Keras SeparableConv{_r}D)", kernel=separable_conv))


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


def conv_transpose(inputs, attrs):
    """Channels-last N-d transposed convolution (``tf.nn.conv_transpose``, the gradient of
    the forward convolution with respect to its input): kernel ``(*k, cout, cin)``; input
    position ``j`` and tap ``t`` add ``x[j] @ kernel[t].T`` to full position
    ``j * stride + t * dilation``; the output is positions ``before .. before + out - 1``
    of that full scatter (zeros past its end), see :func:`conv_transpose_size`; + bias,
    then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cout = kernel.shape[r]
    strides, dil = attrs["strides"], attrs["dilations"]
    n = x.shape[1:1 + r]
    full = [(n[i] - 1) * strides[i] + (kernel.shape[i] - 1) * dil[i] + 1 for i in range(r)]
    acc = np.zeros((x.shape[0],) + tuple(full) + (cout,), dtype=np.result_type(x, kernel))
    for tap in np.ndindex(*kernel.shape[:r]):
        index = (slice(None),) + tuple(
            slice(t * d, t * d + (m - 1) * s + 1, s)
            for t, d, m, s in zip(tap, dil, n, strides)) + (slice(None),)
        acc[index] += np.einsum("...i,oi->...o", x, kernel[tap])
    sizes = [conv_transpose_size(n[i], kernel.shape[i], strides[i], dil[i], attrs["padding"],
                                 attrs["output_padding"][i]) for i in range(r)]
    grow = [(0, 0)] + [(0, max(o + b - f, 0)) for (o, b), f in zip(sizes, full)] + [(0, 0)]
    acc = np.pad(acc, grow)
    index = (slice(None),) + tuple(slice(b, b + o) for o, b in sizes) + (slice(None),)
    return _bias_act(acc[index], bias, attrs)


for _r in SPATIAL_RANKS:
    register(OpSchema(
        f"conv{_r}d_transpose", ("x", "kernel", "bias?"), {
            "strides": _tuple(_r, "s"), "padding": _PADDING, "dilations": _tuple(_r, "d"),
            "output_padding": _tuple(_r, "o"), "activation": _ACT, "data_format": _layout(_r),
        }, _transpose_rule(_r), weight_inputs=(1, 2), layout=Layout.CHANNELS_FIRST,
        doc=f"{_r}-D transposed convolution (Keras Conv{_r}DTranspose): the adjoint of the "
            f"{_r}-D convolution; kernel (*kernel_size, cout, cin)", kernel=conv_transpose))


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


def dense(inputs, attrs):
    """``x @ kernel + bias`` on the last axis, then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    return _bias_act(np.matmul(x, kernel), bias, attrs)


register(OpSchema(
    "dense", ("x", "kernel", "bias?"), {
        "units": AttrSpec("int"), "activation": _ACT,
    }, _infer_dense, weight_inputs=(1, 2), layout=Layout.ANY,
    doc="x @ kernel + bias on the last axis, any rank >= 1 (Keras Dense)", kernel=dense))


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


def max_pool(inputs, attrs):
    """N-d window max; ``"same"`` padding never wins (pads with ``-inf``)."""
    x = inputs[0]
    r = x.ndim - 2
    out = None
    for _, xs in _windows(x, attrs["pool_size"], attrs["strides"], (1,) * r,
                          attrs["padding"], pad_value=-np.inf):
        out = xs if out is None else np.maximum(out, xs)
    return out


def avg_pool(inputs, attrs):
    """N-d window mean over the unpadded positions only (TF/Keras AveragePooling)."""
    x = inputs[0]
    r = x.ndim - 2
    ones = np.ones((1,) + x.shape[1:1 + r] + (1,))
    args = (attrs["pool_size"], attrs["strides"], (1,) * r, attrs["padding"])
    total = sum(xs for _, xs in _windows(x, *args))
    count = sum(os_ for _, os_ in _windows(ones, *args))
    return total / count


for _r in SPATIAL_RANKS:
    _attrs = {"pool_size": _tuple(_r, "p"), "strides": _tuple(_r, "s"), "padding": _PADDING,
              "data_format": _layout(_r)}
    register(OpSchema(f"max_pool{_r}d", ("x",), dict(_attrs), _pool_rule(_r), layout=Layout.CHANNELS_FIRST,
                      doc=f"{_r}-D max pooling (Keras MaxPooling{_r}D)", kernel=max_pool))
    register(OpSchema(f"avg_pool{_r}d", ("x",), dict(_attrs), _pool_rule(_r), layout=Layout.CHANNELS_FIRST,
                      doc=f"{_r}-D average pooling, padding excluded from the count "
                          f"(Keras AveragePooling{_r}D)", kernel=avg_pool))


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


def _global_pool(reduce):
    def kernel(inputs, attrs):
        x = inputs[0]
        return reduce(x, axis=tuple(range(1, x.ndim - 1)), keepdims=attrs["keepdims"])
    kernel.__doc__ = f"``np.{reduce.__name__}`` over the spatial axes ``1 .. rank-2``."
    return kernel


global_avg_pool = _global_pool(np.mean)


global_max_pool = _global_pool(np.max)


for _r in SPATIAL_RANKS:
    for _kind, _what in (("avg", "mean"), ("max", "max")):
        _cls = "Average" if _kind == "avg" else "Max"
        register(OpSchema(f"global_{_kind}_pool{_r}d", ("x",), {
            "keepdims": AttrSpec("bool", doc="keep the spatial axes as size-1 axes"),
            "data_format": _layout(_r)},
            _global_pool_rule(_r, _kind), layout=Layout.EITHER,
            doc=f"{_what} over the {_r} spatial axes (Keras Global{_cls}Pooling{_r}D)", kernel={"avg": global_avg_pool, "max": global_max_pool}[_kind]))


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


def _bilinear_axis(x: np.ndarray, axis: int, factor: int) -> np.ndarray:
    """Linear interpolation along ``axis`` to ``size * factor`` with half-pixel centers
    (``tf.image.resize(..., "bilinear")``, ``antialias=False``): output ``i`` samples
    ``c = (i + 0.5) / factor - 0.5`` clamped to ``[0, size - 1]``, between
    ``floor(c)`` and ``floor(c) + 1`` (clamped) with weight ``c - floor(c)``."""
    size = x.shape[axis]
    c = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0.0, size - 1)
    lo = np.floor(c).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    shape = [1] * x.ndim
    shape[axis] = -1
    w = (c - lo).reshape(shape)
    return np.take(x, lo, axis=axis) * (1.0 - w) + np.take(x, hi, axis=axis) * w


def upsample(inputs, attrs):
    """Upsampling of the spatial axes by ``size``: ``"nearest"`` repeats each element
    (``ops.repeat`` in Keras' ``UpSampling1D/2D/3D``), ``"bilinear"`` interpolates
    (:func:`_bilinear_axis`, separably over H then W)."""
    x = inputs[0]
    for i, f in enumerate(attrs["size"]):
        if attrs["interpolation"] == "nearest":
            x = np.repeat(x, f, axis=1 + i)
        else:
            x = _bilinear_axis(x, 1 + i, f)
    return x


for _r in SPATIAL_RANKS:
    register(OpSchema(f"upsample{_r}d", ("x",), {
        "size": _tuple(_r, "f"),
        "interpolation": AttrSpec("str", choices=("nearest", "bilinear") if _r == 2 else
                                  ("nearest",), doc="nearest (repeat) or bilinear"),
        "data_format": _layout(_r)}, _upsample_rule(_r), layout=Layout.ANY,
        doc=f"upsampling of the {_r} spatial axes by integer factors (Keras UpSampling{_r}D)", kernel=upsample))


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


def zero_pad(inputs, attrs):
    """Zero padding of the spatial axes by ``((before, after), ...)``."""
    return np.pad(inputs[0], [(0, 0)] + [tuple(p) for p in attrs["padding"]] + [(0, 0)])


def crop(inputs, attrs):
    """``x[:, b1:n1-a1, ..., :]`` (Keras ``Cropping1D/2D/3D``)."""
    x = inputs[0]
    index = (slice(None),) + tuple(slice(b, x.shape[1 + i] - a)
                                   for i, (b, a) in enumerate(attrs["cropping"])) + (slice(None),)
    return x[index]


for _r in SPATIAL_RANKS:
    register(OpSchema(f"zero_pad{_r}d", ("x",), {"padding": _pairs(_r),
                                                 "data_format": _layout(_r)},
                      _pad_rule(_r), layout=Layout.ANY,
                      doc=f"zero padding of the {_r} spatial axes (Keras ZeroPadding{_r}D)", kernel=zero_pad))
    register(OpSchema(f"crop{_r}d", ("x",), {"cropping": _pairs(_r),
                                             "data_format": _layout(_r)},
                      _crop_rule(_r), layout=Layout.ANY,
                      doc=f"crops the {_r} spatial axes (Keras Cropping{_r}D): "
                          f"x[:, b:n-a, ..., :] per axis", kernel=crop))


# --------------------------------------------------------------------------- embedding

def _infer_embedding(types, attrs):
    idx, table = types
    require_rank(table, (2,), input_index=1, what="embedding table (input_dim, output_dim)")
    if idx.dtype == DType.BOOL:
        raise TypeRuleError("embedding indices must be integers", input_index=0,
                            expected="int32/int64", actual=idx.dtype.value)
    return (TensorType(table.dtype, idx.shape + (table.shape[1],)),)


def embedding(inputs, attrs):
    """``table[indices]``; float indices truncated toward zero, negative ones from the end.

    Raises:
        ValueError: an index is outside ``[-input_dim, input_dim)`` (TensorFlow's
            gather raises too).
    """
    idx, table = inputs
    idx = np.trunc(idx).astype(np.int64) if idx.dtype.kind == "f" else idx.astype(np.int64)
    n = table.shape[0]
    bad = (idx < -n) | (idx >= n)
    if np.any(bad):
        raise ValueError(f"embedding index {int(idx[bad].flat[0])} is out of range for a "
                         f"table of {n} rows")
    return table[np.where(idx < 0, idx + n, idx)]


register(OpSchema("embedding", ("indices", "embeddings"), {}, _infer_embedding,
                  weight_inputs=(1,), index_inputs=(0,),
                  doc="row lookup embeddings[indices] (Keras Embedding); float indices are "
                      "truncated to int as Keras does", kernel=embedding))
