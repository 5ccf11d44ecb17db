"""Converters of the ``keras.ops.nn`` and ``keras.ops.image`` operations a custom layer
calls on its own weights (``ops.conv(x, self.kernel, strides, padding)``), lowered onto
the layer-level IR ops the Keras layers use, registered with
:func:`~graphir.backends.keras.registry.lowers`.  Each computes what Keras 3 computes on
TensorFlow (``keras/src/backend/tensorflow/nn.py``, ``image.py``, cited per converter):

* ``Conv`` / ``DepthwiseConv`` / ``SeparableConv`` / ``ConvTranspose``
  (``keras.ops.conv``, ``depthwise_conv``, ``separable_conv``, ``conv_transpose``) ->
  ``conv{r}d`` (one group: Keras checks the kernel's input channels),
  ``depthwise_conv{r}d``, ``separable_conv{r}d``,
  ``conv{r}d_transpose`` without a bias and with the ``linear`` activation; a kernel
  that is a ``keras.Variable`` is the weight named by the variable, a NumPy kernel a
  constant weight ``<operation>/kernel``;
* ``MaxPool`` / ``AveragePool`` (``keras.ops.max_pool``, ``average_pool``) ->
  ``max_pool{r}d`` / ``avg_pool{r}d`` (``strides=None``: the pool size; channels-first
  between two ``transpose`` s, as the backend computes it);
* ``BatchNorm`` (``keras.ops.batch_normalization``: ``tf.nn.batch_normalization``,
  ``inv = rsqrt(variance + epsilon) * scale``, ``x * inv + (offset - mean * inv)``) ->
  ``add``, ``rsqrt``, ``multiply``, ``negative``, ``subtract`` (the statistics may be
  tensors, variables or constants);
* ``RGBToGrayscale`` (``tensordot`` with ``[0.2989, 0.5870, 0.1140]`` over the channel
  axis, expanded back) -> ``einsum`` with the constant weights, ``expand_dims``;
* ``CropImages`` / ``PadImages`` (``keras.ops.image.crop_images`` / ``pad_images`` with
  static sizes: ``_crop_images``' ``slice`` and ``_pad_images``' zero ``pad``) ->
  ``slice`` / ``zero_pad2d`` (channels-first: ``pad``).

The image operations take either data format.  Refused by name:
``data_format="channels_first"`` for the convolutions (TensorFlow has no channels-first
convolution on CPU to compare with), a kernel computed by the graph (the
convolution ops take their kernels as weights), inputs without a batch axis (rank 3
images), integer images, sizes that are not static where Keras' arithmetic reads them.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import KerasTensor
from keras.src.ops import image as kimage
from keras.src.ops import nn as knn

from graphir.backends.keras.context import LayerContext, Lowered, Operand
from graphir.dtypes import DType
from graphir.backends.keras.registry import lowers
from graphir.ops.indexing import SLICE_END

__all__: list[str] = []


def _channels_last(ctx: LayerContext) -> None:
    """Refuse unless the operation's data format (None: Keras' image data format) is
    channels-last."""
    fmt = getattr(ctx.layer, "data_format", None) or keras.config.image_data_format()
    if fmt != "channels_last":
        ctx.refuse(f"data_format={fmt!r}; only 'channels_last' is supported")


def _tuple(ctx: LayerContext, value: Any, r: int, what: str) -> tuple[int, ...]:
    """An int or a sequence of ``r`` ints (``standardize_tuple``) as a tuple of ``r``."""
    seq = list(value) if isinstance(value, (list, tuple)) else [value] * r
    if len(seq) != r or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in seq):
        ctx.refuse(f"{what}={value!r}; expected an int or {r} ints")
    if any(v < 1 for v in seq):
        ctx.refuse(f"{what}={value!r}; every entry must be positive")
    return tuple(int(v) for v in seq)


def _data(ctx: LayerContext, r_allowed: tuple[int, ...], channels_first: bool = False
          ) -> tuple[Operand, int]:
    """The input tensor (first argument) of a channels-last window operation and its
    number of spatial axes; with ``channels_first``, a channels-first input is accepted
    too (the caller transposes it)."""
    if not channels_first:
        _channels_last(ctx)
    args = ctx.operands()
    if not args or not isinstance(args[0], Operand) or not isinstance(ctx.call_args[0],
                                                                        KerasTensor):
        ctx.refuse("expected the input tensor as the first argument")
    x = args[0]
    r = x.type.rank - 2
    if r not in r_allowed:
        ctx.refuse(f"a rank-{x.type.rank} input; supported: "
                   + ", ".join(str(k + 2) for k in r_allowed) + " (batch, spatial, channels)")
    if not x.type.dtype.is_float:
        ctx.refuse(f"a {x.type.dtype.value} input; only float tensors are supported")
    return x, r


def _kernel(ctx: LayerContext, index: int, x: Operand, what: str) -> tuple[str, tuple]:
    """The IR weight of kernel argument ``index`` and its shape: a variable's weight (or
    a tensor Keras computed eagerly, a weight of the graph), or a NumPy constant in x's
    dtype (TensorFlow refuses a kernel of another dtype); a tensor computed by the
    graph is refused."""
    args = ctx.operands()
    if index >= len(args):
        ctx.refuse(f"the {what} is not given positionally")
    arg, raw = args[index], ctx.call_args[index]
    if isinstance(raw, KerasTensor) and arg.name not in ctx.constant_inputs:
        ctx.refuse(f"the {what} is computed by the graph; only a keras.Variable or a "
                   f"constant kernel is supported")
    if isinstance(arg, Operand):
        name, dtype, shape = arg.name, arg.type.dtype, tuple(arg.type.shape)
    else:
        arr = np.asarray(arg)
        if arr.dtype.kind != "f":
            ctx.refuse(f"a {what} of dtype {arr.dtype}")
        arr = arr.astype(x.type.dtype.to_numpy())
        name, dtype, shape = ctx.constant(what.replace(" ", "_"), arr), x.type.dtype, arr.shape
    if dtype is not x.type.dtype:
        ctx.refuse(f"a {what} of dtype {dtype.value} for a {x.type.dtype.value} input")
    if len(shape) != x.type.rank or not all(isinstance(d, int) for d in shape):
        ctx.refuse(f"a {what} of shape {shape} for an input of shape {x.type.shape}")
    return name, shape


def _window(ctx: LayerContext, r: int) -> dict[str, Any]:
    """``strides``, ``padding``, ``dilations`` (from ``dilation_rate``) of a convolution
    operation, and the channels-last format."""
    padding = ctx.layer.padding
    if padding not in ("valid", "same"):
        ctx.refuse(f"padding={padding!r}; supported: 'valid', 'same'")
    return {"strides": _tuple(ctx, ctx.layer.strides, r, "strides"), "padding": padding,
            "dilations": _tuple(ctx, ctx.layer.dilation_rate, r, "dilation_rate"),
            "activation": "linear", "data_format": "channels_last"}


@lowers(knn.Conv)
def _conv(ctx: LayerContext) -> Lowered:
    """``keras.ops.conv(inputs, kernel, strides, padding, data_format, dilation_rate)``
    (``tf.nn.convolution``, channels-last, kernel ``(*k, cin, cout)``; Keras checks that
    the kernel's input channels are the input's) -> ``conv{r}d``, one group, no bias,
    ``linear``."""
    x, r = _data(ctx, (1, 2, 3))
    kernel, shape = _kernel(ctx, 1, x, "kernel")
    if x.type.shape[-1] != shape[r]:
        # Keras 3.15 checks this itself (check_conv_input_channels): no grouped ops.conv
        ctx.refuse(f"a kernel of shape {shape} for an input of shape {x.type.shape}")
    return ctx.lowered(f"conv{r}d", [x.name, kernel, ""], {**_window(ctx, r), "groups": 1})


@lowers(knn.DepthwiseConv)
def _depthwise_conv(ctx: LayerContext) -> Lowered:
    """``keras.ops.depthwise_conv(inputs, kernel, ...)`` (``tf.nn.depthwise_conv2d``, 1-D
    through an expanded axis; kernel ``(*k, cin, multiplier)``) ->
    ``depthwise_conv{r}d`` without a bias."""
    x, r = _data(ctx, (1, 2))
    kernel, _ = _kernel(ctx, 1, x, "kernel")
    return ctx.lowered(f"depthwise_conv{r}d", [x.name, kernel, ""], _window(ctx, r))


@lowers(knn.SeparableConv)
def _separable_conv(ctx: LayerContext) -> Lowered:
    """``keras.ops.separable_conv(inputs, depthwise_kernel, pointwise_kernel, ...)``
    (``tf.nn.separable_conv2d``: depthwise, then the pointwise kernel ``(*ones,
    cin * multiplier, filters)``) -> ``separable_conv{r}d`` without a bias."""
    x, r = _data(ctx, (1, 2))
    dw, _ = _kernel(ctx, 1, x, "depthwise kernel")
    pw, _ = _kernel(ctx, 2, x, "pointwise kernel")
    return ctx.lowered(f"separable_conv{r}d", [x.name, dw, pw, ""], _window(ctx, r))


@lowers(knn.ConvTranspose)
def _conv_transpose(ctx: LayerContext) -> Lowered:
    """``keras.ops.conv_transpose(inputs, kernel, strides, padding, output_padding, ...)``
    (``tf.nn.conv_transpose`` with the size of ``compute_conv_transpose_output_shape``;
    kernel ``(*k, cout, cin)``) -> ``conv{r}d_transpose`` without a bias; an
    ``output_padding`` of None is the explicit value giving the same size
    (``_get_output_shape_given_tf_padding``: ``"valid"``: ``max(k, s) - k``, ``"same"``:
    ``s - k % 2``, ``k`` the dilated kernel size)."""
    x, r = _data(ctx, (1, 2, 3))
    kernel, shape = _kernel(ctx, 1, x, "kernel")
    attrs = _window(ctx, r)
    if ctx.layer.output_padding is None:
        eff = [(k - 1) * d + 1 for k, d in zip(shape[:r], attrs["dilations"])]
        if attrs["padding"] == "valid":
            out_pad = tuple(max(e, s) - e for e, s in zip(eff, attrs["strides"]))
        else:
            out_pad = tuple(s - e % 2 for e, s in zip(eff, attrs["strides"]))
    else:
        seq = ctx.layer.output_padding
        seq = list(seq) if isinstance(seq, (list, tuple)) else [seq] * r
        if len(seq) != r or not all(isinstance(v, (int, np.integer)) for v in seq):
            ctx.refuse(f"output_padding={ctx.layer.output_padding!r}")
        out_pad = tuple(int(v) for v in seq)
    return ctx.lowered(f"conv{r}d_transpose", [x.name, kernel, ""],
                       {**attrs, "output_padding": out_pad})


def _is_channels_first(ctx: LayerContext) -> bool:
    """Whether the operation's data format (None: Keras' image data format) is
    channels-first."""
    fmt = getattr(ctx.layer, "data_format", None) or keras.config.image_data_format()
    return fmt == "channels_first"


@lowers(knn.MaxPool, knn.AveragePool)
def _pool(ctx: LayerContext) -> Lowered:
    """``keras.ops.max_pool`` / ``average_pool(inputs, pool_size, strides, padding,
    data_format)`` (``tf.nn.max_pool`` / ``tf.nn.avg_pool`` on channels-last data, a
    channels-first input transposed there and back as the backend does; ``strides=None``
    is the pool size; the average excludes padding) -> ``max_pool{r}d`` /
    ``avg_pool{r}d`` (between two ``transpose`` s for channels-first)."""
    x, r = _data(ctx, (1, 2, 3), channels_first=True)
    layer = ctx.layer
    pool = _tuple(ctx, layer.pool_size, r, "pool_size")
    strides = pool if layer.strides is None else _tuple(ctx, layer.strides, r, "strides")
    if layer.padding not in ("valid", "same"):
        ctx.refuse(f"padding={layer.padding!r}; supported: 'valid', 'same'")
    op = "max_pool" if isinstance(layer, knn.MaxPool) else "avg_pool"
    attrs = {"pool_size": pool, "strides": strides, "padding": layer.padding,
             "data_format": "channels_last"}
    if not _is_channels_first(ctx):
        return ctx.lowered(f"{op}{r}d", [x.name], attrs)
    rank = r + 2
    to_last = (0,) + tuple(range(2, rank)) + (1,)
    to_first = (0, rank - 1) + tuple(range(1, rank - 1))
    moved = ctx.helper("transpose", [x.name], {"perm": to_last}, suffix="to_channels_last")
    pooled = ctx.helper(f"{op}{r}d", [moved], attrs, suffix=op)
    return ctx.lowered("transpose", [pooled], {"perm": to_first})


# --------------------------------------------------------------------------- batch norm

@lowers(knn.BatchNorm, accepted_call_kwargs=("offset", "scale"))
def _batch_normalization(ctx: LayerContext) -> Lowered:
    """``keras.ops.batch_normalization(x, mean, variance, axis, offset, scale, epsilon)``
    on float32, as ``batch_normalization`` in ``keras/src/backend/tensorflow/nn.py``:
    the statistics reshaped to broadcast along ``axis`` (1-D of x's size there), then
    ``tf.nn.batch_normalization``: ``inv = rsqrt(variance + epsilon)``, times ``scale``
    when given, ``x * inv + (offset - mean * inv)`` (``-mean * inv`` without an offset).
    Each statistic may be a tensor, a ``keras.Variable`` (its weight; along another axis
    than the last, its value reshaped as a constant of its own) or a constant.
    Refused: statistics that are not 1-D along a non-last axis, other dtypes."""
    from graphir.backends.keras.composite_converters import _float32_input, _scalar

    x = _float32_input(ctx)
    rank = x.type.rank
    args = ctx.operands()
    names = ["mean", "variance", "offset", "scale"]
    raw = ctx.call_args
    given = {k: (raw[i + 1] if i + 1 < len(raw) and isinstance(raw[i + 1], keras.Variable)
                 else args[i + 1] if i + 1 < len(args) else ctx.call_kwargs.get(k))
             for i, k in enumerate(names)}
    if given["mean"] is None or given["variance"] is None:
        ctx.refuse("mean and variance must be given")
    axis = ctx.layer.axis
    if not isinstance(axis, int) or not -rank <= axis < rank:
        ctx.refuse(f"axis={axis!r} for a rank-{rank} input")
    last = axis == -1   # Keras reshapes the statistics for any other axis value

    def operand(v: Any, what: str) -> str | None:
        if v is None:
            return None
        full = None
        if not last:
            size = np.shape(v)[0] if not isinstance(v, Operand) and np.ndim(v) == 1 else (
                v.type.shape[0] if isinstance(v, Operand) and v.type.rank == 1 else None)
            if not isinstance(size, int):
                ctx.refuse(f"{what} that is not a static 1-D vector with axis={axis}; Keras "
                           f"reshapes it to broadcast along the axis")
            full = tuple(size if a == axis % rank else 1 for a in range(rank))
        if isinstance(v, Operand):
            if v.type.dtype is not DType.FLOAT32:
                ctx.refuse(f"{what} of dtype {v.type.dtype.value}; expected float32")
            if full is None:
                return v.name
            if v.name in ctx.constant_inputs:
                ctx.refuse(f"a constant tensor {what} with axis={axis}")
            return ctx.helper("array_reshape", [v.name], {"shape": full},
                              suffix=f"{what}_broadcast")
        if isinstance(v, keras.Variable):
            if full is None:
                return ctx.variable_operand(v).name
            v = keras.ops.convert_to_numpy(v)
        arr = np.asarray(v, np.float32)
        return ctx.constant(what, arr if full is None else arr.reshape(full))

    mean, var, offset, scale = (operand(given[k], k) for k in names)
    eps = _scalar(ctx, "epsilon", ctx.layer.epsilon, DType.FLOAT32)
    inv = ctx.helper("rsqrt", [ctx.helper("add", [var, eps], suffix="plus_eps")], suffix="inv")
    if scale is not None:
        inv = ctx.helper("multiply", [inv, scale], suffix="inv_scale")
    shift = ctx.helper("multiply", [mean, inv], suffix="mean_inv")
    if offset is not None:
        shift = ctx.helper("subtract", [offset, shift], suffix="shift")
    else:
        shift = ctx.helper("negative", [shift], suffix="shift")
    return ctx.lowered("add", [ctx.helper("multiply", [x.name, inv], suffix="scaled"), shift])


# --------------------------------------------------------------------------- images

def _image(ctx: LayerContext) -> tuple[Operand, int]:
    """The single batch of images ``(N, H, W, C)`` (channels-last) or ``(N, C, H, W)``
    (channels-first), and the index of its height axis (1 or 2)."""
    from graphir.backends.keras.indexing_converters import _one_tensor

    x = _one_tensor(ctx)
    if x.type.rank != 4:
        ctx.refuse(f"an input of rank {x.type.rank}; only a batch of images (N, H, W, C) or "
                   f"(N, C, H, W) is supported")
    return x, 2 if _is_channels_first(ctx) else 1


#: ``rgb_weights`` of ``rgb_to_grayscale`` in ``keras/src/backend/tensorflow/image.py``
_RGB_WEIGHTS = (0.2989, 0.5870, 0.1140)


@lowers(kimage.RGBToGrayscale)
def _rgb_to_grayscale(ctx: LayerContext) -> Lowered:
    """``keras.ops.image.rgb_to_grayscale(images)`` (``keras/src/backend/tensorflow/
    image.py``: one channel is returned as it is; three channels ``tensordot`` with the
    weights ``[0.2989, 0.5870, 0.1140]`` in the images' float dtype, then
    ``expand_dims``; the channel axis is the last one or, channels-first, axis 1) ->
    ``identity`` / ``einsum`` and ``expand_dims``.  Refused: integer images (Keras
    rounds back to the integer dtype)."""
    x, height = _image(ctx)
    axis = 3 if height == 1 else 1
    channels = x.type.shape[axis]
    if channels == 1:
        return ctx.lowered("identity", [x.name])
    if channels != 3:
        ctx.refuse(f"{channels} channels; Keras takes 1 or 3")
    if not x.type.dtype.is_float:
        ctx.refuse(f"{x.type.dtype.value} images; only float images are supported")
    weights = ctx.constant("rgb_weights", np.asarray(_RGB_WEIGHTS, x.type.dtype.to_numpy()))
    equation = "nhwc,c->nhw" if axis == 3 else "nchw,c->nhw"
    gray = ctx.helper("einsum", [x.name, weights], {"equation": equation}, suffix="gray")
    return ctx.lowered("expand_dims", [gray], {"axes": (axis,)})


def _fill(ctx: LayerContext, size: Any, a: Any, b: Any, total: Any, names: tuple[str, ...],
          pad: bool) -> tuple[int, int, int]:
    """``(before, after-or-target, ...)`` of one image axis as Keras infers them:
    padding ``(top, bottom)`` from ``target = top + size + bottom``; cropping ``(top,
    target)`` from ``size = top + target + bottom``.  A value Keras would read but which
    is None, or a size that is not static, is refused."""
    if not isinstance(size, int):
        ctx.refuse(f"the image {names[0]} is not static")

    def need(v: Any, what: str) -> int:
        if v is None:
            ctx.refuse(f"{what} is None and cannot be inferred")
        return int(v)

    if pad:
        if a is None:
            a = need(total, names[3]) - need(b, names[2]) - size
        if b is None:
            b = need(total, names[3]) - need(a, names[1]) - size
        a, b = int(a), int(b)
        if a < 0 or b < 0:
            ctx.refuse(f"a negative padding ({a}, {b})")
        return a, b, size + a + b
    if a is None:
        a = size - need(total, names[3]) - need(b, names[2])
    if total is None:
        total = size - need(b, names[2]) - need(a, names[1])
    a, total = int(a), int(total)
    if a < 0 or total < 0 or a + total > size:
        ctx.refuse(f"a crop of {total} from {a} on an axis of size {size}")
    return a, total, size


@lowers(kimage.PadImages)
def _pad_images(ctx: LayerContext) -> Lowered:
    """``keras.ops.image.pad_images(images, top, left, bottom, right, target_height,
    target_width)`` (``_pad_images`` in ``keras/src/ops/image.py``: the missing paddings
    inferred from the target sizes, then ``numpy.pad`` with zeros) -> ``zero_pad2d``
    (channels-first: ``pad`` with zeros)."""
    x, height = _image(ctx)
    layer = ctx.layer
    h, w = x.type.shape[height:height + 2]
    top, bottom, _ = _fill(ctx, h, layer.top_padding, layer.bottom_padding,
                           layer.target_height,
                           ("height", "top_padding", "bottom_padding", "target_height"), True)
    left, right, _ = _fill(ctx, w, layer.left_padding, layer.right_padding,
                           layer.target_width,
                           ("width", "left_padding", "right_padding", "target_width"), True)
    if height == 1:
        return ctx.lowered("zero_pad2d", [x.name], {"padding": ((top, bottom), (left, right)),
                                                    "data_format": "channels_last"})
    return ctx.lowered("pad", [x.name], {"pads": ((0, 0), (0, 0), (top, bottom), (left, right)),
                                         "mode": "constant", "value": 0.0})


@lowers(kimage.CropImages)
def _crop_images(ctx: LayerContext) -> Lowered:
    """``keras.ops.image.crop_images(images, top, left, bottom, right, target_height,
    target_width)`` (``_crop_images`` in ``keras/src/ops/image.py``: the missing start or
    size inferred, then ``slice`` from ``(top, left)`` of ``(target_height,
    target_width)``) -> ``slice``."""
    x, axis = _image(ctx)
    layer = ctx.layer
    h, w = x.type.shape[axis:axis + 2]
    top, height, _ = _fill(ctx, h, layer.top_cropping, layer.bottom_cropping,
                           layer.target_height,
                           ("height", "top_cropping", "bottom_cropping", "target_height"), False)
    left, width, _ = _fill(ctx, w, layer.left_cropping, layer.right_cropping,
                           layer.target_width,
                           ("width", "left_cropping", "right_cropping", "target_width"), False)
    starts, ends = [0] * 4, [SLICE_END] * 4
    starts[axis:axis + 2] = top, left
    ends[axis:axis + 2] = top + height, left + width
    return ctx.lowered("slice", [x.name], {"starts": tuple(starts), "ends": tuple(ends),
                                           "steps": (1, 1, 1, 1)})
