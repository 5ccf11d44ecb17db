"""The ``resize`` op: image resizing of the two spatial axes of an NHWC tensor to a fixed
``(height, width)``, with TensorFlow's ``tf.image.resize`` semantics (what Keras 3's
``Resizing`` layer and ``keras.ops.image.resize`` compute on the TensorFlow backend,
``keras/src/backend/tensorflow/image.py``).

Every interpolation of ``tf.image.resize`` is *separable and linear*: the output is
``M_h @ x @ M_w^T`` per image and channel, with an ``(out, in)`` interpolation matrix per
axis that depends only on the two sizes, the method and ``antialias``.
:func:`graphir.resampling.resize_matrix` computes that matrix with the rule of the TensorFlow kernel that
``tf.image.resize`` (``tensorflow/python/ops/image_ops_impl.py``, ``resize_images_v2``)
dispatches to; the positions are computed in float32 as the C++ kernels do, the weights
in float64:

* ``nearest``: ``ResizeNearestNeighbor`` with ``half_pixel_centers=True``
  (``resize_nearest_neighbor_op.cc``): input index
  ``clamp(floor((o + 0.5) * in / out), 0, in - 1)``.  ``antialias`` is ignored by TF.
* ``bilinear`` (``antialias=False``): ``ResizeBilinear`` with half-pixel centers
  (``resize_bilinear_op.cc``): ``c = (o + 0.5) * in / out - 0.5``, between
  ``max(floor(c), 0)`` and ``min(ceil(c), in - 1)`` with weight ``c - floor(c)``.
* ``bicubic`` (``antialias=False``): ``ResizeBicubic`` with half-pixel centers
  (``resize_bicubic_op.cc``): Keys' cubic with ``a = -0.5`` (ONNX's default is
  ``-0.75``), taps ``floor(c) - 1 .. floor(c) + 2``, taps outside the image get weight 0
  and the rest are renormalized to sum 1; the fractional offset is *quantized* to
  1/1024 (``lrintf(delta * 1024)``, TF's coefficient table).
* ``area``: ``ResizeArea`` (``resize_area_op.cc``, no half-pixel centers): output ``o``
  averages input cells ``[o * s, (o + 1) * s)`` (``s = in / out``) weighted by their
  overlap.  ``antialias`` is ignored by TF.
* ``lanczos3``, ``lanczos5``, and ``bilinear`` / ``bicubic`` with ``antialias=True``:
  ``ScaleAndTranslate`` (``scale_and_translate_op.cc``, kernels of
  ``sampling_kernels.h``: Lanczos of radius 3 / 5, triangle, Keys cubic) with
  ``scale = out / in``, no translation: sample ``s = (o + 0.5) / scale``, taps
  ``ceil(s - r k - 0.5) .. floor(s + r k - 0.5)`` clamped to the image, weights
  ``kernel(|t + 0.5 - s| / k)`` normalized to sum 1, with ``k = max(in / out, 1)`` when
  ``antialias`` (the kernel widened when downscaling) and ``1`` otherwise.

Dtypes: ``nearest`` works on every dtype (a selection); the other methods need a float
input (``tf.image.resize`` returns float32 for integer images; the op set has no such
implicit cast, so the converters refuse integer inputs).  The output has the input's
dtype.
"""

from __future__ import annotations

import numpy as np

from graphir.ops.registry import AttrSpec, Layout, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import require_float, require_positive, require_rank
from graphir.resampling import RESIZE_INTERPOLATIONS, nearest_indices, resize_matrix
from graphir.tensor_types import TensorType

__all__ = ["RESIZE_INTERPOLATIONS"]


def _infer_resize(types, attrs):
    x = types[0]
    require_rank(x, (4,), input_index=0, what="resize input (NHWC)")
    require_positive(attrs, "size")
    if attrs["interpolation"] != "nearest":
        require_float(x, 0, f"{attrs['interpolation']} resize input")
    for axis in (1, 2):
        if x.shape[axis] == 0:
            raise TypeRuleError(f"resize of an empty axis {axis}", input_index=0, axis=axis)
    h, w = attrs["size"]
    return (TensorType(x.dtype, (x.shape[0], h, w, x.shape[3])),)


def resize(inputs, attrs):
    """``tf.image.resize(x, size, method=interpolation, antialias=antialias)`` of an NHWC
    ``x``: the per-axis matrices of :func:`resize_matrix` applied to H then W (a
    selection, exact for any dtype, for ``nearest``)."""
    x = inputs[0]
    (h, w), method = attrs["size"], attrs["interpolation"]
    if method == "nearest":
        x = np.take(x, nearest_indices(x.shape[1], h), axis=1)
        return np.take(x, nearest_indices(x.shape[2], w), axis=2)
    mh = resize_matrix(x.shape[1], h, method, attrs["antialias"])
    mw = resize_matrix(x.shape[2], w, method, attrs["antialias"])
    return np.einsum("oh,nhwc,pw->nopc", mh, x, mw)


register(OpSchema(
    "resize", ("x",), {
        "size": AttrSpec("ints", length=2, doc="(height, width) of the output"),
        "interpolation": AttrSpec("str", choices=RESIZE_INTERPOLATIONS,
                                  doc="tf.image.resize method"),
        "antialias": AttrSpec("bool", doc="tf.image.resize antialias (bilinear, bicubic, "
                                          "lanczos: widen the kernel when downscaling)"),
        "data_format": AttrSpec("str", choices=("channels_last",), doc="tensor layout (NHWC)"),
    }, _infer_resize, layout=Layout.ANY,
    doc="resize of the two spatial axes of an NHWC tensor to a fixed (height, width) as "
        "tf.image.resize (Keras Resizing, keras.ops.image.resize)", kernel=resize))
