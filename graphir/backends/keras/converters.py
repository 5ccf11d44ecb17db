"""Converters of the built-in ``keras.layers`` classes (convolution, dense,
normalization, activations, pooling, padding, shapes, merges), registered with
:func:`~graphir.backends.keras.registry.lowers`.

Each converter is a few lines that read one layer's configuration and weights
(semantics checked against the Keras 3 sources in ``keras/src/layers``) and
return a :class:`~graphir.backends.keras.context.Lowered`.  Anything the op set
cannot express exactly is refused with a detail naming the option
(``data_format='channels_first'``, ``mask_zero=True``, a non-default activation...).

Lookup is by *exact* class (:func:`~graphir.backends.keras.registry.converter_for`):
a subclass may override ``call``, so it is refused rather than converted as its base
class.  The other groups: the custom layers of ``keras.applications``
(:mod:`.app_converters`), ``keras.ops`` arithmetic on symbolic tensors
(:mod:`.op_converters`), :mod:`.recurrent_converters`, :mod:`.attention_converters`,
:mod:`.sequence_converters`.

The merge layers, ``Concatenate`` and ``Dropout`` are registered with
``keeps_input_dtype=True``: their symbolic output dtype (``compute_output_spec``) is
the layer's compute dtype although ``call`` keeps the input dtype (on int32 inputs
Keras 3.15 reports float32 but computes int32), so the op's type rule decides it.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras.src.activations import activations as _activation_ops

from graphir.backends.keras.activations import activation_name
from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.backends.keras.registry import Converter, lowers
from graphir.dtypes import DType
from graphir.resampling import RESIZE_INTERPOLATIONS
from graphir.tensor_types import TensorType

__all__ = ["channels_first_aware"]


# --------------------------------------------------------------------------- helpers

def _data_format(ctx: LayerContext) -> str:
    """The layer's ``data_format`` (``"channels_last"`` when it has none), refused unless
    one of Keras' two values."""
    fmt = getattr(ctx.layer, "data_format", "channels_last")
    if fmt not in ("channels_last", "channels_first"):
        ctx.refuse(f"data_format={fmt!r}")
    return fmt


def _channels_last(ctx: LayerContext) -> str:
    """The ``data_format`` attribute of the op (always ``"channels_last"``: a
    channels-first layer is lowered around the op by :func:`channels_first_aware`)."""
    _data_format(ctx)
    return "channels_last"


def channels_first_aware(convert: Converter) -> Converter:
    """Wrap a converter of a layer with a ``data_format`` so that ``"channels_first"``
    lowers as ``transpose(x, (0, 2, .., r-1, 1))`` (to channels-last) -> the op ->
    ``transpose(y, (0, r-1, 1, .., r-2))`` back, what Keras' TensorFlow backend itself
    does for most of these layers on CPU (``keras/src/backend/tensorflow/nn.py``
    transposes channels-first convolutions and poolings to channels-last), and exactly
    ``Flatten.call``'s own transpose.  No transpose back when the op's output has a lower
    rank than its input (global pooling without ``keepdims``, ``Flatten``).

    Refused (naming the layer): a channels-first layer inside a wrapper
    (``TimeDistributed``), and a layer with a bias whose output's last axis is dynamic or
    equals the channel count: ``Base*Conv.call`` adds the bias reshaped to ``(1, C, 1..)``
    with ``ops.add``, which Keras' TensorFlow backend turns into
    ``tf.nn.bias_add(data_format="NHWC")``, along the last axis, whenever the last dim
    equals ``C`` (``add`` in ``keras/src/backend/tensorflow/numpy.py``).

    Layout is explicit in the IR: the values between the transposes are channels-last,
    the layer's output is channels-first as in Keras.  The ONNX emitter writes no
    Transpose for these pairs (the ``transpose`` emitter aliases the NCHW forms, see
    ``graphir.backends.onnx.indexing_ops``), so a channels-first CNN computes in NCHW
    throughout; the Keras emitter writes them as ``keras.ops.transpose`` around the
    channels-last layer."""
    def wrapped(ctx: LayerContext) -> Lowered:
        if _data_format(ctx) != "channels_first" or len(ctx.inputs) != 1 \
                or ctx.input_types[0].rank < 3:
            return convert(ctx)
        out = ctx.output_type
        if out is None:  # a wrapper's inner layer (TimeDistributed): no Keras output type
            ctx.refuse("data_format='channels_first' in a wrapper")
        if getattr(ctx.layer, "use_bias", False) and out is not None and out.rank >= 3 and (
                not isinstance(out.shape[-1], int) or out.shape[-1] == out.shape[1]):
            # Base*Conv.call adds the bias reshaped to (1, C, 1, ...) with ops.add, which on
            # TensorFlow becomes tf.nn.bias_add(data_format="NHWC") -- along the *last*
            # axis -- whenever the last dim equals C (keras/src/backend/tensorflow/numpy.py,
            # add): Keras' result then depends on that run-time size
            ctx.refuse(f"data_format='channels_first' with a bias and an output whose last "
                       f"axis is {out.shape[-1]} (channels: {out.shape[1]}): Keras' "
                       f"TensorFlow ops.add adds the bias along the last axis when that "
                       f"size equals the channel count, so the result depends on it")
        xt = ctx.input_types[0]
        r = xt.rank
        to_last = (0,) + tuple(range(2, r)) + (1,)
        to_first = (0, r - 1) + tuple(range(1, r - 1))
        t = ctx.helper("transpose", [ctx.inputs[0]], {"perm": to_last},
                       suffix="to_channels_last")
        inner = ctx.with_inputs([t], [TensorType(xt.dtype, tuple(xt.shape[a] for a in to_last))])
        lowered = convert(inner)
        ctx.helpers.extend(inner.helpers)
        if out.rank != r:
            return lowered
        y = ctx.helper(lowered.op, lowered.inputs, lowered.attrs, suffix=lowered.op)
        return ctx.lowered("transpose", [y], {"perm": to_first})
    wrapped.__doc__ = convert.__doc__
    return wrapped


def _activation(ctx: LayerContext) -> str:
    name, reason = activation_name(ctx.layer.activation)
    if name is None:
        ctx.refuse(reason)
    return name


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _padding(ctx: LayerContext, allowed: tuple[str, ...] = ("valid", "same")) -> str:
    padding = ctx.layer.padding
    if not isinstance(padding, str) or padding.lower() not in allowed:
        ctx.refuse(f"padding={padding!r}; supported: "
                   + ", ".join(repr(p) for p in allowed))
    return padding.lower()


def _bias(ctx: LayerContext) -> str:
    return ctx.weight(ctx.layer.bias) if ctx.layer.use_bias else ""


def _window_attrs(ctx: LayerContext, padding: tuple[str, ...] = ("valid", "same")
                  ) -> dict[str, Any]:
    """The attributes every convolution op shares (``strides``, ``padding``,
    ``dilations``, ``activation``, ``data_format``), read from a Keras conv layer
    (``keras/src/layers/convolutional/base_conv.py`` and its depthwise, separable and
    transposed siblings: tuples of the spatial rank after ``standardize_tuple``)."""
    layer = ctx.layer
    return {"strides": _ints(layer.strides), "padding": _padding(ctx, padding),
            "dilations": _ints(layer.dilation_rate), "activation": _activation(ctx),
            "data_format": _channels_last(ctx)}


# --------------------------------------------------------------------------- convolution, dense

def _conv(op: str, causal: bool = False) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # BaseConv.call (keras/src/layers/convolutional/base_conv.py): ops.conv with the
        # groups, + bias, then the activation.  Conv1D's "causal" padding first pads
        # (kernel - 1) * dilation zeros at the start (conv1d.py), then "valid".
        layer = ctx.layer
        attrs = _window_attrs(ctx, ("valid", "same", "causal") if causal else ("valid", "same"))
        return ctx.lowered(op, [ctx.x, ctx.weight(layer.kernel), _bias(ctx)],
                           {**attrs, "groups": int(layer.groups)})
    return convert


lowers(keras.layers.Conv1D)(channels_first_aware(_conv("conv1d", causal=True)))
lowers(keras.layers.Conv2D)(channels_first_aware(_conv("conv2d")))
lowers(keras.layers.Conv3D)(channels_first_aware(_conv("conv3d")))


def _depthwise(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # BaseDepthwiseConv.call: ops.depthwise_conv, + bias, then the activation.
        layer = ctx.layer
        return ctx.lowered(op, [ctx.x, ctx.weight(layer.kernel), _bias(ctx)],
                           _window_attrs(ctx))
    return convert


lowers(keras.layers.DepthwiseConv1D)(channels_first_aware(_depthwise("depthwise_conv1d")))
lowers(keras.layers.DepthwiseConv2D)(channels_first_aware(_depthwise("depthwise_conv2d")))


def _separable(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # BaseSeparableConv.call (keras/src/layers/convolutional/base_separable_conv.py):
        # ops.separable_conv (tf.nn.separable_conv2d, 1-D through an expanded axis:
        # depthwise, then the pointwise kernel), + bias, then the activation.
        layer = ctx.layer
        return ctx.lowered(op, [ctx.x, ctx.weight(layer.depthwise_kernel),
                                ctx.weight(layer.pointwise_kernel), _bias(ctx)],
                           _window_attrs(ctx))
    return convert


lowers(keras.layers.SeparableConv1D)(channels_first_aware(_separable("separable_conv1d")))
lowers(keras.layers.SeparableConv2D)(channels_first_aware(_separable("separable_conv2d")))


def _conv_transpose(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # BaseConvTranspose.call: ops.conv_transpose (tf.nn.conv_transpose with the output
        # size of compute_conv_transpose_output_shape), + bias, then the activation.  An
        # output_padding of None is resolved to the explicit value that gives the same
        # size (_get_output_shape_given_tf_padding in
        # keras/src/backend/common/backend_utils.py): "valid": max(k, s) - k, "same":
        # s - k % 2, with k the dilated kernel size.
        layer = ctx.layer
        attrs = _window_attrs(ctx)
        kernel_size = _ints(layer.kernel_size)
        if layer.output_padding is None:
            eff = [(k - 1) * d + 1 for k, d in zip(kernel_size, attrs["dilations"])]
            if attrs["padding"] == "valid":
                out_pad = tuple(max(e, s) - e for e, s in zip(eff, attrs["strides"]))
            else:
                out_pad = tuple(s - e % 2 for e, s in zip(eff, attrs["strides"]))
        else:
            out_pad = _ints(layer.output_padding)
        return ctx.lowered(op, [ctx.x, ctx.weight(layer.kernel), _bias(ctx)],
                           {**attrs, "output_padding": out_pad})
    return convert


lowers(keras.layers.Conv1DTranspose)(channels_first_aware(_conv_transpose("conv1d_transpose")))
lowers(keras.layers.Conv2DTranspose)(channels_first_aware(_conv_transpose("conv2d_transpose")))
lowers(keras.layers.Conv3DTranspose)(channels_first_aware(_conv_transpose("conv3d_transpose")))


@lowers(keras.layers.Dense)
def _dense(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    return ctx.lowered("dense", [ctx.x, ctx.weight(layer.kernel), _bias(ctx)],
                       {"units": int(layer.units), "activation": _activation(ctx)})


@lowers(keras.layers.Embedding)
def _embedding(ctx: LayerContext) -> Lowered:
    """``Embedding`` -> ``embedding``.  With ``mask_zero=True`` the values are the same;
    the mask (``ids != 0``) is a separate operation Keras records in the functional graph
    for the layers that take it (``mask=``), lowered like any other (the walker refuses
    the layers that would read it implicitly, ``graphir.backends.keras.lower``)."""
    return ctx.lowered("embedding", [ctx.x, ctx.weight(ctx.layer.embeddings)])


# --------------------------------------------------------------------------- normalization

@lowers(keras.layers.BatchNormalization)
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


@lowers(keras.layers.LayerNormalization)
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


@lowers(keras.layers.Normalization)
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


@lowers(keras.layers.Rescaling)
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

@lowers(keras.layers.Activation)
def _activation_layer(ctx: LayerContext) -> Lowered:
    return ctx.lowered("activation", [ctx.x], {"function": _activation(ctx)})


@lowers(keras.layers.ReLU)
def _relu(ctx: LayerContext) -> Lowered:
    layer = ctx.layer
    max_value = None if layer.max_value is None else float(layer.max_value)
    return ctx.lowered("relu", [ctx.x], {"max_value": max_value,
                                         "negative_slope": float(layer.negative_slope),
                                         "threshold": float(layer.threshold)})


@lowers(_activation_ops.ReLU)
def _relu_operation(ctx: LayerContext) -> Lowered:
    """``keras.activations.relu(x, negative_slope, max_value, threshold)`` called on a
    symbolic tensor (the ``ReLU`` operation of keras/src/activations/activations.py, what
    ``keras.layers.ReLU`` calls): the ``relu`` op with the same three attributes."""
    op = ctx.layer
    if len(ctx.inputs) != 1:
        ctx.refuse(f"called on {len(ctx.inputs)} tensors; expected one")
    max_value = None if op.max_value is None else float(op.max_value)
    return ctx.lowered("relu", [ctx.inputs[0]], {"max_value": max_value,
                                                 "negative_slope": float(op.negative_slope),
                                                 "threshold": float(op.threshold)})


@lowers(keras.layers.LeakyReLU)
def _leaky_relu(ctx: LayerContext) -> Lowered:
    return ctx.lowered("leaky_relu", [ctx.x], {"negative_slope": float(ctx.layer.negative_slope)})


@lowers(keras.layers.ELU)
def _elu(ctx: LayerContext) -> Lowered:
    # ELU.call: activations.elu(x, alpha) (tf.nn.elu, times alpha where x <= 0).
    return ctx.lowered("elu", [ctx.x], {"alpha": float(ctx.layer.alpha)})


@lowers(keras.layers.PReLU)
def _prelu(ctx: LayerContext) -> Lowered:
    # PReLU.call: relu(x) - alpha * relu(-x), alpha of shape x.shape[1:] with the
    # shared axes set to 1 (build); that is x if x >= 0 else alpha * x.
    return ctx.lowered("prelu", [ctx.x, ctx.weight(ctx.layer.alpha)])


@lowers(keras.layers.Softmax, accepted_call_kwargs={"mask"})
def _softmax(ctx: LayerContext) -> Lowered:
    """``keras.layers.Softmax(axis)`` -> ``softmax {axis}``; called with a ``mask``
    (``Softmax.call``, keras/src/layers/activations/softmax.py): the mask made bool
    (``mask > 0.5`` in its dtype unless bool), ``where(mask, x, -1e9)`` (``-3e4`` for
    float16, ``_large_negative_number``), the softmax, then ``where(mask, y, 0)`` (a
    fully masked row is zero, not uniform).  A constant mask is a weight.  Several
    axes: ``exp(x - logsumexp(x, axes))`` as Keras computes it."""
    axis = ctx.layer.axis
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    positional = ctx.operands()
    mask = ctx.call_kwargs.get("mask", positional[1] if len(positional) > 1 else None)
    if mask is None and not isinstance(axis, (list, tuple)):
        return ctx.lowered("softmax", [ctx.inputs[0] if ctx.inputs else ctx.x],
                           {"axis": int(axis)})
    x = positional[0]
    if mask is None:
        if not isinstance(x, Operand) or not x.type.dtype.is_float:
            ctx.refuse("an input that is not a float tensor")
        return ctx.lowered("exp", [_softmax_exponent(ctx, x.name, x.type, axis)])
    if not isinstance(mask, Operand) and not isinstance(mask, keras.KerasTensor):
        # a constant mask (a traced call's fixed pattern, e.g. keras.io's locality
        # self-attention masking the diagonal): a weight
        arr = np.asarray(mask)
        if arr.dtype.kind not in "biuf":
            ctx.refuse(f"a mask of dtype {arr.dtype}")
        mask = Operand(ctx.constant("mask", arr),
                       TensorType(DType.from_any(arr.dtype), arr.shape))
    if not isinstance(x, Operand) or not isinstance(mask, Operand):
        ctx.refuse("a mask or input that is not a tensor")
    if mask.type.rank > x.type.rank:
        ctx.refuse(f"a mask of rank {mask.type.rank} on an input of rank {x.type.rank}")
    dtype = x.type.dtype
    keep = mask.name
    if mask.type.dtype != DType.BOOL:
        half = ctx.constant("mask_threshold", np.asarray(0.5).astype(mask.type.dtype.to_numpy()))
        keep = ctx.helper("greater", [mask.name, half], suffix="mask")
    low = ctx.constant("mask_value", np.asarray(-3e4 if dtype == DType.FLOAT16 else -1e9,
                                                dtype.to_numpy()))
    masked = ctx.helper("where", [keep, x.name, low], suffix="masked")
    if isinstance(axis, (list, tuple)):
        probs = ctx.helper("exp", [_softmax_exponent(ctx, masked, x.type, axis)],
                           suffix="softmax")
    else:
        probs = ctx.helper("softmax", [masked], {"axis": int(axis)}, suffix="softmax")
    zero = ctx.constant("zero", np.zeros((), dtype.to_numpy()))
    return ctx.lowered("where", [keep, probs, zero])


def _softmax_exponent(ctx: LayerContext, x: str, xt: TensorType, axis: Any) -> str:
    """``x - logsumexp(x, axis, keepdims=True)``: the exponent of Keras' softmax over
    several axes (``Softmax.call``: ``exp(inputs - logsumexp(inputs, axis))``,
    MultiHeadAttention's scores over 2-D attention axes)."""
    from graphir.backends.keras.composite_converters import logsumexp_parts

    axes = tuple(sorted({int(a) % xt.rank for a in axis}))
    if len(axes) != len(axis):
        ctx.refuse(f"axis={axis!r} repeats an axis")
    logged, shift = logsumexp_parts(ctx, x, xt.dtype, axes, True)
    total = ctx.helper("add", [logged, shift], suffix="logsumexp")
    return ctx.helper("subtract", [x, total], suffix="exponent")


# --------------------------------------------------------------------------- pooling, padding

def _pool(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # BasePooling.call: ops.max_pool / ops.average_pool (TF: padding excluded from
        # the average); pool_size and strides are tuples of the spatial rank.
        layer = ctx.layer
        return ctx.lowered(op, [ctx.x], {"pool_size": _ints(layer.pool_size),
                                         "strides": _ints(layer.strides),
                                         "padding": _padding(ctx),
                                         "data_format": _channels_last(ctx)})
    return convert


def _global_pool(op: str) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # Global*Pooling{1,2,3}D.call: ops.mean / ops.max over the spatial axes.  The
        # mask of GlobalAveragePooling1D is a call keyword, refused by the walker.
        return ctx.lowered(op, [ctx.x], {"keepdims": bool(ctx.layer.keepdims),
                                         "data_format": _channels_last(ctx)})
    return convert


for _r in (1, 2, 3):
    lowers(getattr(keras.layers, f"MaxPooling{_r}D"))(channels_first_aware(
        _pool(f"max_pool{_r}d")))
    lowers(getattr(keras.layers, f"AveragePooling{_r}D"))(channels_first_aware(
        _pool(f"avg_pool{_r}d")))
    if _r > 1:
        lowers(getattr(keras.layers, f"GlobalAveragePooling{_r}D"))(channels_first_aware(
            _global_pool(f"global_avg_pool{_r}d")))
    lowers(getattr(keras.layers, f"GlobalMaxPooling{_r}D"))(channels_first_aware(
        _global_pool(f"global_max_pool{_r}d")))


@lowers(keras.layers.GlobalAveragePooling1D, accepted_call_kwargs={"mask"})
def _global_avg_pool1d(ctx: LayerContext) -> Lowered:
    """``GlobalAveragePooling1D`` -> ``global_avg_pool1d``; with a ``mask`` (Keras'
    implicit one from ``Embedding(mask_zero=True)`` or ``Masking``, recorded as the call's
    ``mask=``) the average of the unmasked steps, as ``GlobalAveragePooling1D.call``
    computes it: ``where(mask[..., None], x, 0)`` summed over the steps, divided by the
    number of unmasked steps (a row without any is 0 / 0 = NaN, as in Keras)."""
    mask = ctx.call_kwargs.get("mask")
    attrs = {"keepdims": bool(ctx.layer.keepdims), "data_format": _channels_last(ctx)}
    if mask is None:
        return channels_first_aware(
            lambda c: c.lowered("global_avg_pool1d", [c.inputs[0]], attrs))(ctx)
    if _data_format(ctx) == "channels_first":
        ctx.refuse("a mask with data_format='channels_first'")
    if not isinstance(mask, Operand) or mask.type.rank != 2:
        ctx.refuse("a mask that is not a (batch, steps) tensor")
    x = ctx.inputs[0]
    dtype = ctx.input_types[0].dtype
    keep = mask.name if mask.type.dtype == DType.BOOL else ctx.helper(
        "cast", [mask.name], {"to": "bool"}, suffix="mask")
    keep = ctx.helper("expand_dims", [keep], {"axes": (2,)}, suffix="mask_expanded")
    zero = ctx.constant("zero", np.zeros((), dtype.to_numpy()))
    kept = ctx.helper("where", [keep, x, zero], suffix="masked")
    steps = {"axes": (1,), "keepdims": bool(ctx.layer.keepdims)}
    total = ctx.helper("sum", [kept], steps, suffix="sum")
    count = ctx.helper("sum", [ctx.helper("cast", [keep], {"to": dtype.value},
                                          suffix="float_mask")], steps, suffix="count")
    return ctx.lowered("divide", [total, count])


def _upsampling(op: str, rank: int) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # UpSampling1D/3D.call: ops.repeat per spatial axis; UpSampling2D: the same for
        # "nearest", else ops.image.resize (tf.image.resize, half-pixel centers, no
        # antialiasing) to (H * fh, W * fw).  Only "nearest" and "bilinear" map exactly.
        # The other interpolations of UpSampling2D ("bicubic", "lanczos3", "lanczos5")
        # are the resize op to the static (H * fh, W * fw).
        layer = ctx.layer
        size = (int(layer.size),) if rank == 1 else _ints(layer.size)
        interpolation = getattr(layer, "interpolation", "nearest")
        if rank == 2 and interpolation in RESIZE_INTERPOLATIONS and interpolation not in (
                "nearest", "bilinear"):
            h, w = ctx.x_type.shape[1:3]
            if not (isinstance(h, int) and isinstance(w, int)):
                ctx.refuse(f"interpolation={interpolation!r} on images of non-static size "
                           f"({h}, {w})")
            return ctx.lowered("resize", [ctx.x], {
                "size": (h * size[0], w * size[1]), "interpolation": interpolation,
                "antialias": False, "data_format": _channels_last(ctx)})
        if interpolation not in ("nearest", "bilinear"):
            ctx.refuse(f"interpolation={interpolation!r}; supported: 'nearest', 'bilinear'"
                       + (", 'bicubic', 'lanczos3', 'lanczos5'" if rank == 2 else ""))
        return ctx.lowered(op, [ctx.x], {"size": size, "interpolation": interpolation,
                                         "data_format": _channels_last(ctx)})
    return convert


def _pairs(ctx: LayerContext, value: Any, rank: int) -> tuple[tuple[int, int], ...]:
    # Cropping1D/ZeroPadding1D hold one (before, after) pair, the 2-D/3-D layers one
    # pair per spatial axis (normalized in their constructors).
    pairs = (value,) if rank == 1 else tuple(value)
    return tuple(_ints(pair) for pair in pairs)


def _zero_pad(op: str, rank: int) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # ZeroPadding{1,2,3}D.call: ops.pad of the spatial axes with zeros.
        return ctx.lowered(op, [ctx.x], {"padding": _pairs(ctx, ctx.layer.padding, rank),
                                         "data_format": _channels_last(ctx)})
    return convert


def _cropping(op: str, rank: int) -> Converter:
    def convert(ctx: LayerContext) -> Lowered:
        # Cropping{1,2,3}D.call: inputs[:, b:n-a, ..., :] (channels_last).
        return ctx.lowered(op, [ctx.x], {"cropping": _pairs(ctx, ctx.layer.cropping, rank),
                                         "data_format": _channels_last(ctx)})
    return convert


for _r in (1, 2, 3):
    lowers(getattr(keras.layers, f"UpSampling{_r}D"))(channels_first_aware(
        _upsampling(f"upsample{_r}d", _r)))
    lowers(getattr(keras.layers, f"ZeroPadding{_r}D"))(channels_first_aware(
        _zero_pad(f"zero_pad{_r}d", _r)))
    lowers(getattr(keras.layers, f"Cropping{_r}D"))(channels_first_aware(
        _cropping(f"crop{_r}d", _r)))


# --------------------------------------------------------------------------- shapes

@lowers(keras.layers.Reshape)
def _reshape(ctx: LayerContext) -> Lowered:
    return ctx.lowered("reshape", [ctx.x], {"target_shape": _ints(ctx.layer.target_shape)})


@lowers(keras.layers.Flatten)
@channels_first_aware
def _flatten(ctx: LayerContext) -> Lowered:
    # Flatten.call transposes a channels_first input of rank > 2 to channels-last first
    # (channels_first_aware), then reshapes
    return ctx.lowered("flatten", [ctx.x])


@lowers(keras.layers.Permute)
def _permute(ctx: LayerContext) -> Lowered:
    return ctx.lowered("permute", [ctx.x], {"dims": _ints(ctx.layer.dims)})


@lowers(keras.layers.Concatenate, keeps_input_dtype=True)
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
        if len(ctx.inputs) > 2 and ctx.constant_inputs and op != "average":
            # Keras' _merge_function folds left (``output = op(output, inputs[i])``):
            # binary nodes in that order, each with a keras.ops form for a constant
            acc = ctx.inputs[0]
            for i, name in enumerate(ctx.inputs[1:-1], start=1):
                acc = ctx.helper(op, [acc, name], suffix=f"{op}_{i}")
            return ctx.lowered(op, [acc, ctx.inputs[-1]])
        return ctx.lowered(op, ctx.inputs)
    return convert


for _cls, _op in ((keras.layers.Add, "add"), (keras.layers.Subtract, "subtract"),
                  (keras.layers.Multiply, "multiply"), (keras.layers.Average, "average"),
                  (keras.layers.Maximum, "maximum"), (keras.layers.Minimum, "minimum")):
    lowers(_cls, keeps_input_dtype=True)(_merge(_op))


@lowers(keras.layers.Dropout, keeps_input_dtype=True)
def _dropout(ctx: LayerContext) -> Lowered:
    return ctx.lowered("dropout", [ctx.x], {"rate": float(ctx.layer.rate)})


@lowers(keras.layers.Identity)
def _identity(ctx: LayerContext) -> Lowered:
    return ctx.lowered("identity", [ctx.x])

