"""Converters of Keras' image resizing: the ``Resizing`` and ``CenterCrop`` layers and the
``keras.ops.image.resize`` operation, both ``tf.image.resize`` behind Keras' own
cropping/padding to the target aspect ratio
(``keras/src/layers/preprocessing/image_preprocessing/resizing.py`` and
``keras/src/backend/tensorflow/image.py``, ``resize``).

A call lowers to, in order:

1. with ``data_format="channels_first"``: a ``transpose`` to NHWC (Keras' TF backend
   does the same, ``tf.transpose(images, (0, 2, 3, 1))``);
2. with ``crop_to_aspect_ratio=True``: a ``crop2d`` of the centred window
   ``crop_h = max(min(H, int(float32(W * th) / tw)), 1)`` (and ``crop_w`` alike), starting
   at ``int(float32(H - crop_h) / 2)``: Keras' arithmetic, float32 then truncation;
3. with ``pad_to_aspect_ratio=True``: ``pad_h = max(H, int(float32(W * th) / tw))``, then
   ``int(float32(pad_h - H) / 2)`` rows of ``fill_value`` on *both* sides (Keras' concat,
   so an odd difference pads one row less than ``pad_h``), the same for the width;
   a ``zero_pad2d`` when ``fill_value`` is 0, else a constant ``pad``;
4. the ``resize`` op (:mod:`graphir.ops.resize`);
5. with ``channels_first``: the ``transpose`` back.

The aspect-ratio options need a static input height and width.  Refused, with the
layer and the option named: an input that is not a batch of images (rank 4), an
interpolation outside ``tf.image.resize``'s, ``fill_mode`` other than ``"constant"``,
and integer images with any interpolation but ``nearest`` (TensorFlow resizes them in
float32 and ``Resizing`` rounds and saturates back to the integer dtype; the op set keeps
the input dtype).  ``Resizing`` is deterministic: the ``training=True`` Keras records for
its calls (``BaseImagePreprocessingLayer.call``) changes nothing and is accepted.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras.src.ops import image as kimage

from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.registry import lowers
from graphir.resampling import RESIZE_INTERPOLATIONS

__all__: list[str] = []

_F = np.float32
_TO_NHWC = (0, 2, 3, 1)
_TO_NCHW = (0, 3, 1, 2)


def _aspect_sizes(h: int, w: int, th: int, tw: int) -> tuple[int, int]:
    """Keras' ``int(float32(w * th) / tw)`` and ``int(float32(h * tw) / th)``."""
    return (int(_F(w * th) / _F(tw)), int(_F(h * tw) / _F(th)))


def lower_resize(ctx: LayerContext, *, size: tuple[int, int], interpolation: str,
                 antialias: bool, crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool,
                 fill_mode: str, fill_value: float, data_format: str) -> Lowered:
    """The nodes of one ``tf.image.resize`` call as Keras makes it (module docstring).

    Raises:
        UnsupportedLayerError: an option or input the op set cannot compute exactly
            (module docstring), naming the layer and the option.
    """
    xt = ctx.x_type
    if xt.rank != 4:
        ctx.refuse(f"an input of rank {xt.rank}; only batches of images (rank 4) are "
                   f"supported")
    if interpolation not in RESIZE_INTERPOLATIONS:
        ctx.refuse(f"interpolation={interpolation!r}; supported: "
                   + ", ".join(repr(m) for m in RESIZE_INTERPOLATIONS))
    if fill_mode != "constant":
        ctx.refuse(f"fill_mode={fill_mode!r}; Keras supports only 'constant'")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        ctx.refuse("both crop_to_aspect_ratio and pad_to_aspect_ratio")
    if not xt.dtype.is_float and interpolation != "nearest":
        ctx.refuse(f"{xt.dtype.value} images with interpolation={interpolation!r}: "
                   f"TensorFlow resizes them in float32 and rounds back; only 'nearest' "
                   f"keeps integer images exact")
    if data_format not in ("channels_last", "channels_first"):
        ctx.refuse(f"data_format={data_format!r}")
    x = ctx.x
    first = data_format == "channels_first"
    shape = tuple(xt.shape[a] for a in _TO_NHWC) if first else xt.shape
    if first:
        x = ctx.helper("transpose", [x], {"perm": _TO_NHWC}, suffix="to_channels_last")
    th, tw = (int(s) for s in size)
    h, w = shape[1], shape[2]
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        if not (isinstance(h, int) and isinstance(w, int)):
            option = "crop_to_aspect_ratio" if crop_to_aspect_ratio else "pad_to_aspect_ratio"
            ctx.refuse(f"{option}=True on images of non-static size ({h}, {w})")
        ah, aw = _aspect_sizes(h, w, th, tw)
    if crop_to_aspect_ratio:
        ch, cw = max(min(h, ah), 1), max(min(w, aw), 1)
        hs, ws = int(_F(h - ch) / _F(2)), int(_F(w - cw) / _F(2))
        if (ch, cw) != (h, w):
            cropping = ((hs, h - hs - ch), (ws, w - ws - cw))
            x = ctx.helper("crop2d", [x], {"cropping": cropping,
                                           "data_format": "channels_last"}, suffix="crop")
    elif pad_to_aspect_ratio:
        ph, pw = max(h, ah), max(w, aw)
        hs, ws = int(_F(ph - h) / _F(2)), int(_F(pw - w) / _F(2))
        if hs > 0 or ws > 0:
            pads = ((hs, hs), (ws, ws))
            if float(fill_value) == 0.0:
                x = ctx.helper("zero_pad2d", [x], {"padding": pads,
                                                   "data_format": "channels_last"},
                               suffix="pad")
            else:
                x = ctx.helper("pad", [x], {"pads": ((0, 0),) + pads + ((0, 0),),
                                            "mode": "constant", "value": float(fill_value)},
                               suffix="pad")
    attrs = {"size": (th, tw), "interpolation": interpolation, "antialias": bool(antialias),
             "data_format": "channels_last"}
    if not first:
        return ctx.lowered("resize", [x], attrs)
    y = ctx.helper("resize", [x], attrs, suffix="resize")
    return ctx.lowered("transpose", [y], {"perm": _TO_NCHW})


def _options(obj: Any, size: tuple[int, int]) -> dict[str, Any]:
    return dict(size=size, interpolation=obj.interpolation, antialias=bool(obj.antialias),
                crop_to_aspect_ratio=bool(obj.crop_to_aspect_ratio),
                pad_to_aspect_ratio=bool(obj.pad_to_aspect_ratio), fill_mode=obj.fill_mode,
                fill_value=float(obj.fill_value), data_format=obj.data_format)


@lowers(keras.layers.Resizing, accepted_call_kwargs={"training"}, keeps_input_dtype=True)
def _resizing(ctx: LayerContext) -> Lowered:
    """``keras.layers.Resizing(height, width, ...)`` -> ``resize`` (module docstring).

    Keras records the layer's compute dtype (float32) as the symbolic output dtype, but
    ``Resizing`` returns integer images resized with ``nearest`` in their own dtype
    (``keeps_input_dtype``); a float input of another dtype than the compute dtype is
    refused (Keras casts it first)."""
    layer = ctx.layer
    xt = ctx.x_type
    if xt.dtype.is_float and xt.dtype.value != layer.compute_dtype:
        ctx.refuse(f"a {xt.dtype.value} input to a layer computing in {layer.compute_dtype}")
    return lower_resize(ctx, **_options(layer, (int(layer.height), int(layer.width))))


@lowers(keras.layers.CenterCrop, accepted_call_kwargs={"training"})
def _center_crop(ctx: LayerContext) -> Lowered:
    """``keras.layers.CenterCrop(height, width)`` (``center_crop.py``,
    ``transform_images``): the input cast to the layer's compute dtype, then, when the
    image is at least the target size on both axes, the centred window starting at
    ``(H - height) // 2``, ``(W - width) // 2`` (a ``crop2d``, or ``identity``); otherwise
    ``keras.utils.image_utils.smart_resize``: the largest centred window of the target
    aspect ratio (static sizes: Python float arithmetic, ``int(float(W * th) / tw)``,
    start ``int(float(H - crop_h) / 2)``) resized ``bilinear`` to the target.  Channels-first
    images are transposed around it.  Needs a static input height and width.

    Raises:
        UnsupportedLayerError: an input that is not a batch of images (rank 4), a
            non-static height or width, an unknown ``data_format``.
    """
    layer, xt = ctx.layer, ctx.x_type
    if xt.rank != 4:
        ctx.refuse(f"an input of rank {xt.rank}; only batches of images (rank 4) are "
                   f"supported")
    if layer.data_format not in ("channels_last", "channels_first"):
        ctx.refuse(f"data_format={layer.data_format!r}")
    first = layer.data_format == "channels_first"
    shape = tuple(xt.shape[a] for a in _TO_NHWC) if first else xt.shape
    h, w = shape[1], shape[2]
    if not (isinstance(h, int) and isinstance(w, int)):
        ctx.refuse(f"images of non-static size ({h}, {w})")
    th, tw = int(layer.height), int(layer.width)
    x = ctx.x
    if xt.dtype.value != layer.compute_dtype:
        x = ctx.helper("cast", [x], {"to": layer.compute_dtype}, suffix="cast")
    if first:
        x = ctx.helper("transpose", [x], {"perm": _TO_NHWC}, suffix="to_channels_last")
    steps: list[tuple[str, dict]] = []
    if h >= th and w >= tw:
        hs, ws = (h - th) // 2, (w - tw) // 2
        if (th, tw) != (h, w):
            steps.append(("crop2d", {"cropping": ((hs, h - hs - th), (ws, w - ws - tw)),
                                     "data_format": "channels_last"}))
    else:  # smart_resize, static branch (keras/src/utils/image_utils.py)
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
        if (ch, cw) != (h, w):
            steps.append(("crop2d", {"cropping": ((hs, h - hs - ch), (ws, w - ws - cw)),
                                     "data_format": "channels_last"}))
        steps.append(("resize", {"size": (th, tw), "interpolation": "bilinear",
                                 "antialias": False, "data_format": "channels_last"}))
    if not steps:
        steps.append(("identity", {}))
    for op, attrs in steps[:-1]:
        x = ctx.helper(op, [x], attrs, suffix=op)
    op, attrs = steps[-1]
    if not first:
        return ctx.lowered(op, [x], attrs)
    y = ctx.helper(op, [x], attrs, suffix=op)
    return ctx.lowered("transpose", [y], {"perm": _TO_NCHW})


@lowers(kimage.Resize)
def _ops_resize(ctx: LayerContext) -> Lowered:
    """``keras.ops.image.resize(x, size, ...)`` -> ``resize`` (module docstring)."""
    op = ctx.layer
    if len(op.size) != 2:
        ctx.refuse(f"size={op.size!r}; expected (height, width)")
    return lower_resize(ctx, **_options(op, (int(op.size[0]), int(op.size[1]))))
