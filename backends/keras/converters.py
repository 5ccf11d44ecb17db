"""The converter table: Keras layer class -> IR op application.

Each converter is a few lines that read one layer's configuration and weights
(semantics checked against the Keras 3 sources in ``keras/src/layers``) and
return a :class:`~graphir.backends.keras.context.Lowered`.  Anything the op set
cannot express exactly is refused with a detail naming the option
(``data_format='channels_first'``, ``mask_zero=True``, a non-default activation...).

Lookup is by *exact* class (:func:`converter_for`): a subclass may override
``call``, so it is refused rather than converted as its base class.  Besides the
``keras.layers`` classes here, the table holds the custom layers of
``keras.applications`` (:mod:`.app_converters`); ``keras.ops`` arithmetic on
symbolic tensors has its own table (:mod:`.op_converters`).
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

from graphir.backends.keras.activations import activation_name
from graphir.backends.keras import attention_converters, recurrent_converters, sequence_converters
from graphir.backends.keras.app_converters import APPLICATION_CONVERTERS
from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.op_converters import OP_CONVERTERS, supported_operations

__all__ = ["CALL_KWARGS", "CONVERTERS", "KEEPS_INPUT_DTYPE", "OP_CONVERTERS", "converter_for",
           "supported_layer_classes", "supported_operations"]

Converter = Callable[[LayerContext], Lowered]

#: Keras layer class -> converter.
CONVERTERS: dict[type, Converter] = {}
#: Keras layer class -> the call keyword arguments its converter reads from
#: ``ctx.call_kwargs`` (any other keyword, ``training=False`` and ``None`` aside, is
#: refused by the walker).
CALL_KWARGS: dict[type, frozenset[str]] = {}


def _converts(*classes: type) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return register


def converter_for(layer: Any) -> Converter | None:
    """The converter of ``type(layer)`` (exact class match; layers and ``keras.ops``
    operations), or None."""
    return CONVERTERS.get(type(layer)) or OP_CONVERTERS.get(type(layer))


def supported_layer_classes() -> tuple[str, ...]:
    """Names of the Keras layer classes with a converter, sorted."""
    return tuple(sorted(cls.__name__ for cls in CONVERTERS))


# --------------------------------------------------------------------------- helpers

def _channels_last(ctx: LayerContext) -> str:
    fmt = getattr(ctx.layer, "data_format", "channels_last")
    if fmt != "channels_last":
        ctx.refuse(f"data_format={fmt!r}; the op set supports only 'channels_last'")
    return "channels_last"


def _activation(ctx: LayerContext) -> str:
    name, reason = activation_name(ctx.layer.activation)
    if name is None:
        ctx.refuse(reason)
    return name


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _padding(ctx: LayerContext) -> str:
    padding = str(ctx.layer.padding).lower()
    if padding not in ("valid", "same"):
        ctx.refuse(f"padding={ctx.layer.padding!r}; supported: 'valid', 'same'")
    return padding


def _bias(ctx: LayerContext) -> str:
    return ctx.weight(ctx.layer.bias) if ctx.layer.use_bias else ""


# --------------------------------------------------------------------------- convolution, dense

@_converts(keras.layers.Conv2D)
def _conv2d(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    return ctx.lowered("conv2d", [ctx.x, ctx.weight(layer.kernel), _bias(ctx)], {
        "strides": _ints(layer.strides), "padding": _padding(ctx),
        "dilations": _ints(layer.dilation_rate), "groups": int(layer.groups),
        "activation": _activation(ctx), "data_format": _channels_last(ctx)})


@_converts(keras.layers.DepthwiseConv2D)
def _depthwise_conv2d(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    return ctx.lowered("depthwise_conv2d", [ctx.x, ctx.weight(layer.kernel), _bias(ctx)], {
        "strides": _ints(layer.strides), "padding": _padding(ctx),
        "dilations": _ints(layer.dilation_rate), "activation": _activation(ctx),
        "data_format": _channels_last(ctx)})


@_converts(keras.layers.SeparableConv2D)
def _separable_conv2d(ctx: LayerContext) -> Lowered:
    # SeparableConv2D.call (keras/src/layers/convolutional/base_separable_conv.py):
    # ops.separable_conv (tf.nn.separable_conv2d: depthwise, then the 1x1 pointwise
    # kernel), + bias, then the activation.
    layer = ctx.layer
    return ctx.lowered("separable_conv2d", [
        ctx.x, ctx.weight(layer.depthwise_kernel), ctx.weight(layer.pointwise_kernel),
        _bias(ctx)], {
        "strides": _ints(layer.strides), "padding": _padding(ctx),
        "dilations": _ints(layer.dilation_rate), "activation": _activation(ctx),
        "data_format": _channels_last(ctx)})


@_converts(keras.layers.Dense)
def _dense(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    return ctx.lowered("dense", [ctx.x, ctx.weight(layer.kernel), _bias(ctx)],
                       {"units": int(layer.units), "activation": _activation(ctx)})


@_converts(keras.layers.Embedding)
def _embedding(ctx: LayerContext) -> Lowered:
    if ctx.layer.mask_zero:
        ctx.refuse("mask_zero=True produces a mask, which the IR does not carry")
    return ctx.lowered("embedding", [ctx.x, ctx.weight(ctx.layer.embeddings)])


# --------------------------------------------------------------------------- normalization

@_converts(keras.layers.BatchNormalization)
def _batch_norm(ctx: LayerContext) -> Lowered:
    # Inference path of BatchNormalization.call: moving statistics; renorm and
    # synchronized only change training, so they do not matter here.
    layer = ctx.layer
    rank = ctx.x_type.rank
    if not -rank <= layer.axis < rank:
        ctx.refuse(f"axis={layer.axis} is out of range for rank {rank}")
    gamma = ctx.weight(layer.gamma) if layer.scale else ""
    beta = ctx.weight(layer.beta) if layer.center else ""
    return ctx.lowered("batch_norm", [ctx.x, gamma, beta, ctx.weight(layer.moving_mean),
                                      ctx.weight(layer.moving_variance)],
                       {"axis": int(layer.axis) % rank, "epsilon": float(layer.epsilon)})


@_converts(keras.layers.LayerNormalization)
def _layer_normalization(ctx: LayerContext) -> Lowered:
    # LayerNormalization.call -> ops.layer_normalization (keras/src/ops/nn.py,
    # _layer_normalization): mean and biased variance over `axis` (moments), then
    # x * rsqrt(var + epsilon) * gamma + (beta - mean * ...).  build() sorts the raw
    # `axis` list and gives gamma/beta the sizes of those axes in that order; call
    # reshapes them (a plain reshape) to the broadcast shape, whose axes are in
    # increasing order.  Storing the weights reshaped to the sizes of the normalized
    # axes in increasing order reproduces that reshape exactly.
    layer, rank = ctx.layer, ctx.x_type.rank
    if layer.rms_scaling:
        ctx.refuse("rms_scaling=True (deprecated in Keras; it divides by the variance "
                   "without centering)")
    raw = list(layer.axis) if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if not all(-rank <= int(a) < rank for a in raw):
        ctx.refuse(f"axis={layer.axis} is out of range for rank {rank}")
    axes = tuple(sorted({int(a) % rank for a in raw}))
    if len(axes) != len(raw):
        ctx.refuse(f"axis={layer.axis} names an axis twice")
    if 0 in axes:
        ctx.refuse("normalizing over the batch axis 0 mixes samples")
    sizes = [ctx.x_type.shape[a] for a in axes]
    gamma = ctx.weight(layer.gamma, reshape=sizes) if layer.gamma is not None else ""
    beta = ctx.weight(layer.beta, reshape=sizes) if layer.beta is not None else ""
    epsilon = keras.config.epsilon() if layer.epsilon is None else layer.epsilon
    inputs = [ctx.x, gamma, beta]
    while inputs[-1] == "":
        inputs.pop()
    return ctx.lowered("layer_norm", inputs, {"axis": axes, "epsilon": float(epsilon)})


@_converts(keras.layers.Normalization)
def _normalization(ctx: LayerContext) -> Lowered:
    # Keras 3 Normalization.call: (x - mean) / maximum(sqrt(var), backend.epsilon()),
    # or mean + x * maximum(sqrt(var), epsilon) when invert; mean/var broadcast as
    # `_broadcast_shape` = input dims on the kept axes, 1 elsewhere.
    layer, xt = ctx.layer, ctx.x_type
    if keras.config.epsilon() != 1e-7:
        ctx.refuse(f"keras.config.epsilon() is {keras.config.epsilon()}; the normalize op "
                   f"uses Keras' default 1e-07")
    if not all(-xt.rank <= a < xt.rank for a in layer.axis):
        ctx.refuse(f"axis={layer.axis} is out of range for rank {xt.rank}")
    keep = tuple(sorted({int(a) % xt.rank for a in layer.axis}))
    if 0 in keep:
        ctx.refuse("statistics along the batch axis (axis 0) depend on the batch size")
    broadcast = [xt.shape[d] if d in keep else 1 for d in range(xt.rank)]
    if not all(isinstance(d, int) for d in broadcast):
        ctx.refuse(f"the kept axes {keep} of input {xt} are not static")
    if layer.input_mean is None:  # adapt() statistics, stored as variables
        mean = ctx.weight(layer.adapt_mean, reshape=broadcast)
        variance = ctx.weight(layer.adapt_variance, reshape=broadcast)
    else:  # constants passed to the constructor, already in the broadcast shape
        mean = ctx.constant("mean", np.reshape(keras.ops.convert_to_numpy(layer.mean), broadcast))
        variance = ctx.constant("variance",
                                np.reshape(keras.ops.convert_to_numpy(layer.variance), broadcast))
    return ctx.lowered("normalize", [ctx.x, mean, variance],
                       {"axis": keep, "invert": bool(layer.invert)})


@_converts(keras.layers.Rescaling)
def _rescaling(ctx: LayerContext) -> Lowered:
    # Rescaling.call: cast(x) * scale + offset, plain NumPy broadcasting (channels_last).
    def value(key: str) -> float | tuple[float, ...]:
        arr = np.asarray(getattr(ctx.layer, key), dtype=np.float64)
        if arr.ndim == 0:
            return float(arr)
        if arr.ndim != 1:
            ctx.refuse(f"{key} has shape {arr.shape}; only a scalar or one value per channel")
        if keras.config.image_data_format() != "channels_first":
            return tuple(float(v) for v in arr)
        ctx.refuse(f"a per-channel {key} with image_data_format 'channels_first'")

    return ctx.lowered("rescale", [ctx.x], {"scale": value("scale"), "offset": value("offset")})


# --------------------------------------------------------------------------- activations

@_converts(keras.layers.Activation)
def _activation_layer(ctx: LayerContext) -> Lowered:
    return ctx.lowered("activation", [ctx.x], {"function": _activation(ctx)})


@_converts(keras.layers.ReLU)
def _relu(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    max_value = None if layer.max_value is None else float(layer.max_value)
    return ctx.lowered("relu", [ctx.x], {"max_value": max_value,
                                         "negative_slope": float(layer.negative_slope),
                                         "threshold": float(layer.threshold)})


@_converts(keras.layers.LeakyReLU)
def _leaky_relu(ctx: LayerContext) -> Lowered:
    return ctx.lowered("leaky_relu", [ctx.x], {"negative_slope": float(ctx.layer.negative_slope)})


@_converts(keras.layers.Softmax)
def _softmax(ctx: LayerContext) -> Lowered:
    axis = ctx.layer.axis
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            ctx.refuse(f"axis={axis!r}; only a single axis is supported")
        axis = axis[0]
    return ctx.lowered("softmax", [ctx.x], {"axis": int(axis)})


# --------------------------------------------------------------------------- pooling, padding

def _pool(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        layer = ctx.layer
        return ctx.lowered(op, [ctx.x], {"pool_size": _ints(layer.pool_size),
                                         "strides": _ints(layer.strides),
                                         "padding": _padding(ctx),
                                         "data_format": _channels_last(ctx)})
    return convert


CONVERTERS[keras.layers.MaxPooling2D] = _pool("max_pool2d")
CONVERTERS[keras.layers.AveragePooling2D] = _pool("avg_pool2d")


@_converts(keras.layers.GlobalAveragePooling2D)
def _global_avg_pool(ctx: LayerContext) -> Lowered:
    return ctx.lowered("global_avg_pool2d", [ctx.x], {"keepdims": bool(ctx.layer.keepdims),
                                                      "data_format": _channels_last(ctx)})


@_converts(keras.layers.ZeroPadding2D)
def _zero_pad(ctx: LayerContext) -> Lowered:
    padding = tuple(_ints(pair) for pair in ctx.layer.padding)
    return ctx.lowered("zero_pad2d", [ctx.x], {"padding": padding,
                                               "data_format": _channels_last(ctx)})


@_converts(keras.layers.Cropping2D)
def _cropping(ctx: LayerContext) -> Lowered:
    # Cropping2D.call: inputs[:, top:H-bottom, left:W-right, :] (channels_last).
    cropping = tuple(_ints(pair) for pair in ctx.layer.cropping)
    return ctx.lowered("crop2d", [ctx.x], {"cropping": cropping,
                                           "data_format": _channels_last(ctx)})


# --------------------------------------------------------------------------- shapes

@_converts(keras.layers.Reshape)
def _reshape(ctx: LayerContext) -> Lowered:
    return ctx.lowered("reshape", [ctx.x], {"target_shape": _ints(ctx.layer.target_shape)})


@_converts(keras.layers.Flatten)
def _flatten(ctx: LayerContext) -> Lowered:
    if ctx.x_type.rank > 2:  # Flatten transposes channels_first inputs of rank > 2
        _channels_last(ctx)
    return ctx.lowered("flatten", [ctx.x])


@_converts(keras.layers.Permute)
def _permute(ctx: LayerContext) -> Lowered:
    return ctx.lowered("permute", [ctx.x], {"dims": _ints(ctx.layer.dims)})


@_converts(keras.layers.Concatenate)
def _concatenate(ctx: LayerContext) -> Lowered:
    return ctx.lowered("concatenate", ctx.inputs, {"axis": int(ctx.layer.axis)})


def _merge(op: str) -> Converter:
    # keras/src/layers/merging/base_merge.py: inputs of different ranks are expanded
    # at axis 1 (not NumPy's left padding), so only equal ranks map to the IR ops.
    def convert(ctx: LayerContext) -> Lowered:
        ranks = sorted({t.rank for t in ctx.input_types})
        if len(ranks) > 1:
            ctx.refuse(f"inputs of ranks {ranks}; Keras expands lower ranks at axis 1, "
                       f"the IR broadcasts like NumPy, so only equal ranks are supported")
        if len(ctx.inputs) == 1:  # a one-input merge returns its input unchanged
            return ctx.lowered("identity", ctx.inputs)
        return ctx.lowered(op, ctx.inputs)
    return convert


for _cls, _op in ((keras.layers.Add, "add"), (keras.layers.Subtract, "subtract"),
                  (keras.layers.Multiply, "multiply"), (keras.layers.Average, "average"),
                  (keras.layers.Maximum, "maximum"), (keras.layers.Minimum, "minimum")):
    CONVERTERS[_cls] = _merge(_op)


@_converts(keras.layers.Dropout)
def _dropout(ctx: LayerContext) -> Lowered:
    return ctx.lowered("dropout", [ctx.x], {"rate": float(ctx.layer.rate)})


@_converts(keras.layers.Identity)
def _identity(ctx: LayerContext) -> Lowered:
    return ctx.lowered("identity", [ctx.x])


CONVERTERS.update(APPLICATION_CONVERTERS)
for _group in (recurrent_converters, attention_converters, sequence_converters):
    CONVERTERS.update(_group.CONVERTERS)
    CALL_KWARGS.update(getattr(_group, "CALL_KWARGS", {}))

#: Layers whose symbolic output dtype (``compute_output_spec``) is the layer's compute
#: dtype although ``call`` keeps the input dtype: on int32 inputs Keras 3.15 reports
#: float32 but computes int32.  For these the op's type rule decides the dtype.
KEEPS_INPUT_DTYPE = frozenset({keras.layers.Concatenate, keras.layers.Add, keras.layers.Subtract,
                               keras.layers.Multiply, keras.layers.Average,
                               keras.layers.Maximum, keras.layers.Minimum, keras.layers.Dropout})
