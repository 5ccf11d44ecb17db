"""TensorFlow functions on symbolic tensors, while a call is traced, as the ``keras.ops``
calls that compute exactly the same (used by :mod:`graphir.backends.keras.tracing`).

A custom layer written for TensorFlow (``tf.reshape``, ``tf.matmul``, ``tf.nn.softmax``
on its inputs: keras.io's older examples, layers ported from Keras 2) runs on
``tf.Tensor`` s when Keras builds the model (its ``compute_output_spec`` traces the call
in a TensorFlow graph), but a graphir trace runs it on ``KerasTensor`` s so that every
operation records a Keras node, and a ``tf`` function fails on those.  While a call is
traced, :func:`tf_equivalents` registers a TensorFlow global op dispatcher (what
TensorFlow consults when a function fails on an argument it cannot convert; Keras 2
recorded its ``TFOpLambda`` layers the same way) that answers the functions of
:data:`TF_EQUIVALENTS`, by their Python name, with the ``keras.ops`` call that gives the
same result, each under the conditions where that holds exactly (Keras' TensorFlow
backend implements those ``keras.ops`` with the same TensorFlow kernels):

* TensorFlow takes one dtype in binary and n-ary ops (no promotion) and converts a
  Python number to the other operand's dtype; ``keras.ops`` promotes.  An adapter here
  is used only where both agree: operands of one dtype, Python ints with a numeric
  tensor, Python floats with a float tensor (:func:`_one_dtype`).
* Where TensorFlow's integer result differs from ``keras.ops`` (``tf.divide`` of ints is
  float64, ``tf.reduce_mean`` of ints truncates), the adapter takes floats only;
  elementwise functions that TensorFlow defines for floats only take floats.
* A function with options that ``keras.ops`` lacks (``tf.matmul(adjoint_a=True)``,
  ``tf.one_hot(on_value=2)``, ``tf.nn.swish(beta=2)``, a non-default ``out_type``)
  answers None: the call stays refused, naming the line.

Compositions written out as TensorFlow computes them: ``tf.nn.moments`` (mean, then the
mean of ``squared_difference`` from it: Keras' own ``ops.moments`` uses ``E[x^2] -
E[x]^2``, which rounds differently), ``tf.math.l2_normalize`` (``x * rsqrt(max(sum(x^2),
eps))``), ``tf.norm`` (euclidean: ``sqrt(sum(x * x))``), ``tf.gather_nd`` (the leading
index axes flattened with static strides, one ``take``).  ``tf.shape`` of a symbolic
tensor is its sizes: a constant int32 vector when static, else the sizes with
stand-ins for the unknown ones (:mod:`graphir.backends.keras.dynamic_dims`), indexable
and sliceable but not usable in arithmetic as a whole.

Functions not in the table, or an adapter answering None, leave TensorFlow's error
("A KerasTensor cannot be used as input to a TensorFlow function"), and the trace is
refused with the line that raised it.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
from typing import Any, Callable, Iterator

import keras
import numpy as np

from graphir.backends.keras.dynamic_dims import (DynamicShape, DynamicSizeError, band_part,
                                                 is_stand_in)

__all__ = ["TF_EQUIVALENTS", "tf_equivalents"]



# --------------------------------------------------------------------------- moved from tracing

def _tf_gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None,
               batch_dims: int = 0, name: Any = None) -> Any:
    """``tf.gather`` on symbolic tensors as the ``keras.ops`` call that computes exactly
    the same, or None where there is none here.

    * ``batch_dims=0``: ``ops.take(params, indices, axis)`` (Keras' TensorFlow
      ``take`` is ``tf.gather``; negative indices, an error in ``tf.gather`` on CPU,
      are the only inputs where they differ).
    * ``batch_dims=b`` with ``axis`` b, ``params`` and ``indices`` both of rank b + 1
      and the same leading b sizes: ``ops.take_along_axis(params, indices,
      axis=b)`` (``out[i..., j] = params[i..., indices[i..., j]]`` in both), which is
      how keras_hub's DeBERTaV3 attention gathers its relative positions on the
      TensorFlow backend.  Leading sizes unknown while tracing (a dynamic batch) are
      taken as equal: ``tf.gather`` fails at run time where they differ.
    """
    del validate_indices, name
    if isinstance(indices, (list, tuple, int)):  # TensorFlow converts them to int32
        import numpy as np

        indices = np.asarray(indices, dtype="int32")
    p_rank, i_rank = len(params.shape), len(getattr(indices, "shape", ()))
    b = batch_dims + i_rank if batch_dims < 0 else batch_dims
    a = b if axis is None else (axis + p_rank if axis < 0 else axis)
    if b == 0:
        return keras.ops.take(params, indices, axis=a)
    lead_p, lead_i = tuple(params.shape[:b]), tuple(indices.shape[:b])
    same_lead = all(p is None or i is None or p == i for p, i in zip(lead_p, lead_i))
    if a == b and p_rank == i_rank == b + 1 and same_lead:
        return keras.ops.take_along_axis(params, indices, axis=b)
    return None


def _tf_band_part(input: Any, num_lower: Any, num_upper: Any, name: Any = None) -> Any:  # noqa: A002
    """``tf.linalg.band_part`` (``matrix_band_part``) on a symbolic tensor: see
    :func:`~graphir.backends.keras.dynamic_dims.band_part`."""
    return band_part(input, num_lower, num_upper)


def _legacy_bilinear_matrix(n_in: int, n_out: int, align_corners: bool) -> np.ndarray:
    """The ``(n_out, n_in)`` float32 matrix of TensorFlow's legacy bilinear resize along
    one axis (``ResizeBilinear`` with ``half_pixel_centers=False``: source position
    ``i * scale``, ``scale = (n_in - 1) / (n_out - 1)`` with ``align_corners`` else
    ``n_in / n_out``, weights ``1 - lerp`` at ``floor`` and ``lerp`` at ``ceil``, clamped to
    the last row; tensorflow/core/kernels/image/resize_bilinear_op.cc,
    ``compute_interpolation_weights``), positions in float32 as TensorFlow computes them."""
    scale = np.float32((n_in - 1) / (n_out - 1) if align_corners and n_out > 1
                       else n_in / n_out)
    matrix = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        pos = np.float32(i) * scale
        lower, lerp = int(np.floor(pos)), pos - np.floor(pos)
        upper = min(int(np.ceil(pos)), n_in - 1)
        matrix[i, max(lower, 0)] += np.float32(1) - lerp
        matrix[i, upper] += lerp
    return matrix


def _tf_resize_images_v1(images: Any, size: Any, method: Any = 0, align_corners: bool = False,
                         preserve_aspect_ratio: bool = False, name: Any = None) -> Any:
    """``tf.compat.v1.image.resize`` (``resize_images``) of a symbolic NHWC float32 tensor
    of static height and width, bilinear, to a static size (keras_hub's DepthAnything
    ``interpolate`` with ``align_corners=True``): bilinear resizing is linear and
    separable, so it is two ``keras.ops.einsum`` with the constant matrices of
    :func:`_legacy_bilinear_matrix` (the same weights TensorFlow applies; the sums are
    ordered differently, a float32 rounding apart).  None for anything else."""
    del name
    if method not in (0, "bilinear") or preserve_aspect_ratio or len(images.shape) != 4 \
            or keras.backend.standardize_dtype(images.dtype) != "float32":
        return None
    try:
        out_h, out_w = (int(d) for d in size)
    except (TypeError, ValueError):
        return None
    in_h, in_w = images.shape[1:3]
    if in_h is None or in_w is None or out_h < 1 or out_w < 1:
        return None
    rows = _legacy_bilinear_matrix(in_h, out_h, bool(align_corners))
    cols = _legacy_bilinear_matrix(in_w, out_w, bool(align_corners))
    x = keras.ops.einsum("oh,bhwc->bowc", rows, images)
    return keras.ops.einsum("pw,bowc->bopc", cols, x)


def _spatial(value: Any, rank: int, outer: int) -> tuple[int, ...] | None:
    """TensorFlow's ``strides`` / ``dilations`` (an int, ``rank`` ints, or ``rank + 2``
    ints whose batch and channel entries are ``outer``) as ``rank`` ints; None otherwise."""
    if value is None:
        return (1,) * rank
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    try:
        values = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(values) == 1:
        return values * rank
    if len(values) == rank:
        return values
    if len(values) == rank + 2 and values[0] == values[-1] == outer:
        return values[1:-1]
    return None


# --------------------------------------------------------------------------- operands

def _is_tensor(v: Any) -> bool:
    """A symbolic tensor, a Keras variable or an eager tensor (anything with a dtype and
    a shape that is not a NumPy value)."""
    return isinstance(v, (keras.KerasTensor, keras.Variable)) or (
        hasattr(v, "dtype") and hasattr(v, "shape") and not isinstance(v, (np.ndarray,
                                                                           np.generic)))


def _dtype(v: Any) -> str:
    return keras.backend.standardize_dtype(v.dtype)


def _is_float(v: Any) -> bool:
    return _is_tensor(v) and keras.backend.is_float_dtype(_dtype(v))


def _one_dtype(*values: Any) -> str | None:
    """The one dtype of ``values`` as TensorFlow takes them: tensors of one dtype, Python
    ints with a numeric dtype, Python floats with a float dtype, Python bools with bool,
    sizes (stand-ins) with int32; None for anything else (NumPy arrays, lists, mixed
    dtypes), where TensorFlow and ``keras.ops`` may disagree."""
    dtypes = {_dtype(v) for v in values if _is_tensor(v)}
    if any(is_stand_in(v) for v in values):
        dtypes.add("int32")
    if len(dtypes) != 1:
        return None
    (dtype,) = dtypes
    for v in values:
        if _is_tensor(v) or is_stand_in(v):
            continue
        if isinstance(v, bool):
            ok = dtype == "bool"
        elif isinstance(v, (int, np.integer)):
            ok = dtype != "bool"
        elif isinstance(v, (float, np.floating)):
            ok = keras.backend.is_float_dtype(dtype)
        else:
            ok = False
        if not ok:
            return None
    return dtype


def _first(args: tuple, kwargs: dict, names: tuple[str, ...]) -> Any:
    """The first positional argument, or the first of ``names`` given by keyword."""
    if args:
        return args[0]
    for n in names:
        if n in kwargs:
            return kwargs[n]
    raise TypeError("no operand")


def _only(kwargs: dict, allowed: tuple[str, ...]) -> bool:
    return all(k in allowed or k == "name" for k in kwargs)


# --------------------------------------------------------------------------- elementwise

#: TensorFlow elementwise functions (by Python name) -> the keras.ops function; float
#: operands only (TensorFlow defines these for floats, or its integer result differs)
_FLOAT_UNARY = {
    "exp": "exp", "log": "log", "log1p": "log1p", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "relu6": "relu6", "elu": "elu",
    "selu": "selu", "softplus": "softplus", "softsign": "softsign", "erf": "erf",
    "sin": "sin", "cos": "cos", "tan": "tan", "atan": "arctan", "asin": "arcsin",
    "acos": "arccos", "sinh": "sinh", "cosh": "cosh", "asinh": "arcsinh", "acosh": "arccosh",
    "atanh": "arctanh", "expm1": "expm1", "log_sigmoid": "log_sigmoid", "floor": "floor",
    "ceil": "ceil", "round": "round", "reciprocal": "reciprocal", "is_nan": "isnan",
    "is_inf": "isinf", "is_finite": "isfinite"}
#: the same for any numeric dtype (the result's dtype is the operand's in both)
_ANY_UNARY = {"square": "square", "abs": "abs", "sign": "sign", "neg": "negative",
              "negative": "negative"}


def _unary(tf_name: str, ops_name: str, floats_only: bool) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        x = _first(args, kwargs, ("x", "features", "input"))
        if len(args) > 1 or not _only(kwargs, ("x", "features", "input")) or \
                not _is_tensor(x) or (floats_only and not _is_float(x)) or \
                _dtype(x) == "bool":
            return None
        return getattr(keras.ops, ops_name)(x)
    fn.__name__ = f"tf_{tf_name}"
    return fn


#: TensorFlow binary functions -> keras.ops; "float" marks float operands only
_BINARY = {
    "add": ("add", False), "add_v2": ("add", False), "subtract": ("subtract", False),
    "sub": ("subtract", False), "multiply": ("multiply", False), "mul": ("multiply", False),
    "divide": ("divide", True), "truediv": ("divide", True), "real_div": ("divide", True),
    "maximum": ("maximum", False), "minimum": ("minimum", False), "pow": ("power", False),
    "floordiv": ("floor_divide", False), "floor_div": ("floor_divide", False),
    "floor_mod": ("mod", False), "floormod": ("mod", False),
    "equal": ("equal", False), "not_equal": ("not_equal", False), "less": ("less", False),
    "less_equal": ("less_equal", False), "greater": ("greater", False),
    "greater_equal": ("greater_equal", False), "logical_and": ("logical_and", False),
    "logical_or": ("logical_or", False)}


def _binary(tf_name: str, ops_name: str, floats_only: bool) -> Callable[..., Any]:
    def fn(x: Any, y: Any, name: Any = None) -> Any:
        dtype = _one_dtype(x, y)
        if dtype is None or (floats_only and not keras.backend.is_float_dtype(dtype)):
            return None
        if ops_name.startswith("logical") != (dtype == "bool"):
            return None
        return getattr(keras.ops, ops_name)(x, y)
    fn.__name__ = f"tf_{tf_name}"
    return fn


def _squared_difference(x: Any, y: Any, name: Any = None) -> Any:
    """``(x - y)^2`` (TensorFlow's ``SquaredDifference``: ``(x - y) * (x - y)``)."""
    if _one_dtype(x, y) is None:
        return None
    return keras.ops.square(keras.ops.subtract(x, y))


def _gelu(features: Any, approximate: bool = False, name: Any = None) -> Any:
    """``tf.nn.gelu``: the exact form by default (``keras.ops.gelu`` defaults to the tanh
    approximation, so the flag is passed)."""
    return keras.ops.gelu(features, approximate=bool(approximate)) if _is_float(features) \
        else None


def _swish(features: Any, beta: Any = 1.0, name: Any = None) -> Any:
    """``tf.nn.silu`` / ``swish`` with ``beta`` 1 only."""
    return keras.ops.silu(features) if _is_float(features) and beta == 1.0 else None


def _leaky_relu(features: Any, alpha: Any = 0.2, name: Any = None) -> Any:
    return keras.ops.leaky_relu(features, negative_slope=float(alpha)) \
        if _is_float(features) and isinstance(alpha, (int, float)) else None


def _softmax(ops_name: str) -> Callable[..., Any]:
    def fn(logits: Any, axis: Any = None, name: Any = None) -> Any:
        if not _is_float(logits) or not (axis is None or isinstance(axis, int)):
            return None
        return getattr(keras.ops, ops_name)(logits, axis=-1 if axis is None else axis)
    return fn


def _clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: Any = None) -> Any:
    if _one_dtype(t, clip_value_min, clip_value_max) is None:
        return None
    return keras.ops.clip(t, clip_value_min, clip_value_max)


def _where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Any:
    """``tf.where(condition, x, y)`` with both branches (the one-argument form returns
    the indices of true entries: a size known only at run time)."""
    if x is None or y is None or _one_dtype(x, y) is None or not _is_tensor(condition) or \
            _dtype(condition) != "bool":
        return None
    return keras.ops.where(condition, x, y)


def _cast(x: Any, dtype: Any, name: Any = None) -> Any:
    try:
        target = keras.backend.standardize_dtype(getattr(dtype, "name", dtype))
    except ValueError:
        return None
    return keras.ops.cast(x, target)


def _bias_add(value: Any, bias: Any, data_format: Any = None, name: Any = None) -> Any:
    """``tf.nn.bias_add`` over the last axis (NHWC): a broadcast addition."""
    if data_format not in (None, "NHWC", "N...C") or _one_dtype(value, bias) is None or \
            len(bias.shape) != 1:
        return None
    return keras.ops.add(value, bias)


def _identity(input: Any, name: Any = None) -> Any:  # noqa: A002
    """``tf.identity`` / ``tf.stop_gradient``: the tensor itself (inference)."""
    return input if _is_tensor(input) else None


def _like(ops_name: str) -> Callable[..., Any]:
    def fn(input: Any, dtype: Any = None, name: Any = None) -> Any:  # noqa: A002
        if not _is_tensor(input):
            return None
        target = None if dtype is None else keras.backend.standardize_dtype(
            getattr(dtype, "name", dtype))
        return getattr(keras.ops, ops_name)(input, dtype=target)
    return fn


# --------------------------------------------------------------------------- shapes

class _SizesOf(DynamicShape):
    """``tf.shape(x)`` of a tensor with sizes unknown while tracing: its sizes (ints and
    stand-ins) for indexing, slicing, unpacking and the size-taking ``keras.ops``; whole-
    vector arithmetic (a tuple would concatenate or repeat) raises."""

    def __getitem__(self, key: Any) -> Any:
        got = tuple.__getitem__(self, key)
        return _SizesOf(got) if isinstance(key, slice) else got

    def _fail(self, *args: Any) -> Any:
        raise DynamicSizeError(f"tf.shape(...) = {tuple(self)} of sizes unknown while "
                               f"tracing is used in arithmetic as a whole vector; graphir "
                               f"keeps its entries, not the vector, dynamic")

    __add__ = __radd__ = __mul__ = __rmul__ = __sub__ = __rsub__ = _fail
    __truediv__ = __floordiv__ = __mod__ = _fail


def _shape(input: Any, out_type: Any = None, name: Any = None) -> Any:  # noqa: A002
    """``tf.shape``: a constant vector of ``out_type`` (int32 by default) when every size
    is static; else (int32 only) the sizes with stand-ins (:class:`_SizesOf`)."""
    if not _is_tensor(input):
        return None
    dtype = "int32" if out_type is None else keras.backend.standardize_dtype(
        getattr(out_type, "name", out_type))
    sizes = keras.ops.shape(input)
    if all(isinstance(d, int) for d in sizes):
        return np.asarray(sizes, dtype)
    return _SizesOf(sizes) if dtype == "int32" else None


def _reshape(tensor: Any, shape: Any, name: Any = None) -> Any:
    if not _is_tensor(tensor):
        return None
    if isinstance(shape, np.ndarray):
        shape = [int(d) for d in shape]
    return keras.ops.reshape(tensor, shape)


def _transpose(a: Any, perm: Any = None, conjugate: bool = False, name: Any = None) -> Any:
    if conjugate or not _is_tensor(a):
        return None
    return keras.ops.transpose(a, None if perm is None else [int(p) for p in perm])


def _same_dtype_list(values: Any) -> bool:
    return isinstance(values, (list, tuple)) and len(values) > 0 and \
        all(_is_tensor(v) for v in values) and _one_dtype(*values) is not None


def _concat(values: Any, axis: Any, name: Any = None) -> Any:
    """``tf.concat`` of tensors of one dtype, or of vectors of sizes (run-time sizes and
    int32 constants) along axis 0, kept a vector of sizes."""
    if not isinstance(axis, (int, np.integer)) or not isinstance(values, (list, tuple)):
        return None
    if any(is_stand_in(v) for v in values):
        if int(axis) not in (0, -1) or any(
                not is_stand_in(v) and (not hasattr(v, "dtype") or _dtype(v) != "int32")
                for v in values):
            return None
        return keras.ops.concatenate([v if is_stand_in(v) else np.asarray(v) for v in values],
                                     axis=0)
    if not _same_dtype_list(values):
        return None
    return keras.ops.concatenate(list(values), axis=int(axis))


def _stack(values: Any, axis: int = 0, name: Any = "stack") -> Any:
    if not _same_dtype_list(values):
        return None
    return keras.ops.stack(list(values), axis=int(axis))


def _unstack(value: Any, num: Any = None, axis: int = 0, name: Any = "unstack") -> Any:
    if isinstance(value, DynamicShape) and axis in (0, -1):
        return list(value)
    if not _is_tensor(value) or value.shape[axis] is None:
        return None
    return keras.ops.unstack(value, num=num, axis=axis)


def _expand_dims(input: Any, axis: Any, name: Any = None) -> Any:  # noqa: A002
    """``tf.expand_dims`` of a tensor, or of a run-time size (a vector of sizes for the
    size-taking functions: ``tf.concat([tf.expand_dims(batch, -1), [1, 1]], 0)``, the
    keras.io causal masks' tile multiples)."""
    if not (_is_tensor(input) or is_stand_in(input)):
        return None
    return keras.ops.expand_dims(input, int(axis))


def _squeeze(input: Any, axis: Any = None, name: Any = None,  # noqa: A002
             squeeze_dims: Any = None) -> Any:
    """``tf.squeeze``; without axes only when every size is static (TensorFlow drops the
    sizes that are 1 at run time)."""
    axis = squeeze_dims if axis is None else axis
    if not _is_tensor(input) or (axis is None and None in tuple(input.shape)):
        return None
    if axis is not None and not isinstance(axis, int):
        axis = tuple(int(a) for a in axis)
    return keras.ops.squeeze(input, axis)


def _tile(input: Any, multiples: Any, name: Any = None) -> Any:  # noqa: A002
    return keras.ops.tile(input, multiples) if _is_tensor(input) else None


def _repeat(input: Any, repeats: Any, axis: Any = None, name: Any = None) -> Any:  # noqa: A002
    """``tf.repeat`` by one count (an int or a run-time size) along an axis:
    ``keras.ops.repeat`` (a run-time count along an axis of size 1 is a broadcast)."""
    if not _is_tensor(input) or axis is None or not (
            isinstance(repeats, (int, np.integer)) or is_stand_in(repeats)):
        return None
    return keras.ops.repeat(input, repeats, axis=int(axis))


def _broadcast_to(input: Any, shape: Any, name: Any = None) -> Any:  # noqa: A002
    return keras.ops.broadcast_to(input, shape) if _is_tensor(input) else None


def _reverse(tensor: Any, axis: Any, name: Any = None) -> Any:
    if not _is_tensor(tensor):
        return None
    return keras.ops.flip(tensor, axis=tuple(int(a) for a in np.atleast_1d(axis)))


def _roll(input: Any, shift: Any, axis: Any, name: Any = None) -> Any:  # noqa: A002
    """``tf.roll`` by int shifts along int axes (lists of them: one roll per axis, which
    is the same, Swin's ``tf.roll(x, [-s, -s], [1, 2])``)."""
    shifts, axes = np.atleast_1d(np.asarray(shift)), np.atleast_1d(np.asarray(axis))
    if not _is_tensor(input) or shifts.dtype.kind not in "iu" or axes.dtype.kind not in "iu" \
            or shifts.shape != axes.shape or shifts.ndim != 1:
        return None
    for k, a in zip(shifts.tolist(), axes.tolist()):
        input = keras.ops.roll(input, k, axis=a)
    return input


def _box(ops_name: str) -> Callable[..., Any]:
    """``tf.image.crop_to_bounding_box`` (a slice) / ``pad_to_bounding_box`` (zeros
    around) of 3-D or 4-D NHWC images by int offsets and sizes, the image's height and
    width static; TensorFlow's checks (a box inside the image, or the image inside the
    box) raise while tracing, as TensorFlow fails."""
    def fn(image: Any, offset_height: Any, offset_width: Any, target_height: Any,
           target_width: Any) -> Any:
        box = (offset_height, offset_width, target_height, target_width)
        if not _is_tensor(image) or len(image.shape) not in (3, 4) or \
                not all(isinstance(v, (int, np.integer)) for v in box):
            return None
        top, left, height, width = (int(v) for v in box)
        h, w = image.shape[-3], image.shape[-2]
        if h is None or w is None:
            return None
        lead = [slice(None)] * (len(image.shape) - 3)
        if ops_name == "crop":
            if top < 0 or left < 0 or top + height > h or left + width > w:
                raise ValueError(f"crop_to_bounding_box: the box {box} is not inside a "
                                 f"{h}x{w} image")
            return image[tuple(lead + [slice(top, top + height), slice(left, left + width)])]
        bottom, right = height - top - h, width - left - w
        if min(top, left, bottom, right) < 0:
            raise ValueError(f"pad_to_bounding_box: a {h}x{w} image does not fit the box "
                             f"{box}")
        widths = [[0, 0]] * len(lead) + [[top, bottom], [left, right], [0, 0]]
        return keras.ops.pad(image, widths)
    return fn


def _depth_space(ops_name: str) -> Callable[..., Any]:
    """``tf.nn.depth_to_space`` / ``space_to_depth`` (NHWC): the ``keras.ops`` function
    of the same name, which on TensorFlow is that function."""
    def fn(input: Any, block_size: Any, data_format: Any = "NHWC",  # noqa: A002
           name: Any = None) -> Any:
        if not _is_tensor(input) or data_format != "NHWC" or not isinstance(block_size, int):
            return None
        return getattr(keras.ops, ops_name)(input, block_size, data_format="channels_last")
    return fn


def _pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
         name: Any = None) -> Any:
    if not _is_tensor(tensor) or str(mode).upper() not in ("CONSTANT", "REFLECT",
                                                           "SYMMETRIC"):
        return None
    if _one_dtype(tensor, constant_values) is None:
        return None
    widths = [[int(a), int(b)] for a, b in np.asarray(paddings).tolist()]
    if str(mode).upper() == "CONSTANT":
        return keras.ops.pad(tensor, widths, mode="constant", constant_values=constant_values)
    return keras.ops.pad(tensor, widths, mode=str(mode).lower())


def _split(value: Any, num_or_size_splits: Any, axis: int = 0, num: Any = None,
           name: Any = "split") -> Any:
    """``tf.split`` into ``n`` equal parts or by sizes (a ``-1`` among them is the rest
    of a static size): ``keras.ops.split`` at the cumulative offsets."""
    if not _is_tensor(value) or not isinstance(axis, int):
        return None
    if isinstance(num_or_size_splits, (int, np.integer)):
        return keras.ops.split(value, int(num_or_size_splits), axis=axis)
    sizes = [int(s) for s in num_or_size_splits]
    if -1 in sizes:
        total = value.shape[axis]
        if total is None or sizes.count(-1) > 1:
            return None
        sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
    return keras.ops.split(value, [int(i) for i in np.cumsum(sizes)[:-1]], axis=axis)


def _range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
           name: Any = "range") -> Any:
    """``tf.range``: ``keras.ops.arange`` with TensorFlow's dtype (int32 for ints and
    sizes, float32 when a bound is a float) unless one is given."""
    bounds = [b for b in (start, limit, delta) if b is not None]
    if dtype is None:
        dtype = "float32" if any(isinstance(b, float) for b in bounds) else "int32"
    else:
        dtype = keras.backend.standardize_dtype(getattr(dtype, "name", dtype))
    if any(_is_tensor(b) for b in bounds):
        return None
    return keras.ops.arange(start, limit, delta, dtype=dtype)


def _einsum(equation: Any, *inputs: Any, **kwargs: Any) -> Any:
    if not _only(kwargs, ()) or _one_dtype(*inputs) is None:
        return None
    return keras.ops.einsum(equation, *inputs)


def _matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
            adjoint_a: bool = False, adjoint_b: bool = False, a_is_sparse: bool = False,
            b_is_sparse: bool = False, output_type: Any = None, grad_a: bool = False,
            grad_b: bool = False, name: Any = None) -> Any:
    """``tf.matmul`` of one float dtype, ``transpose_a`` / ``transpose_b`` as swaps of
    the last two axes (real tensors: ``adjoint`` is the same swap)."""
    if output_type is not None or a_is_sparse or b_is_sparse or \
            _one_dtype(a, b) is None or not _is_float(a if _is_tensor(a) else b):
        return None
    if transpose_a or adjoint_a:
        a = keras.ops.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = keras.ops.swapaxes(b, -1, -2)
    return keras.ops.matmul(a, b)


def _matrix_transpose(a: Any, name: Any = "matrix_transpose", conjugate: bool = False) -> Any:
    """``tf.linalg.matrix_transpose``: the last two axes swapped (real tensors)."""
    if conjugate or not _is_tensor(a) or len(a.shape) < 2:
        return None
    return keras.ops.swapaxes(a, -1, -2)


def _filled(ops_name: str) -> Callable[..., Any]:
    """``tf.zeros`` / ``tf.ones`` of a shape holding run-time sizes (float32 unless a
    dtype is given): ``keras.ops.zeros`` / ``ones``, whose sizes stay dynamic."""
    def fn(shape: Any, dtype: Any = "float32", name: Any = None, layout: Any = None) -> Any:
        if layout is not None:
            return None
        target = keras.backend.standardize_dtype(getattr(dtype, "name", dtype))
        return getattr(keras.ops, ops_name)(shape, dtype=target)
    return fn


def _fill(dims: Any, value: Any, name: Any = None, layout: Any = None) -> Any:
    """``tf.fill`` with a Python number (float32 for a float, int32 for an int, as
    TensorFlow converts it)."""
    if layout is not None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return keras.ops.full(dims, value, dtype="float32" if isinstance(value, float) else "int32")


def _size(input: Any, out_type: Any = None, name: Any = None) -> Any:  # noqa: A002
    """``tf.size`` (int32): the element count, a constant when every size is static."""
    if not _is_tensor(input) or (out_type is not None and keras.backend.standardize_dtype(
            getattr(out_type, "name", out_type)) != "int32"):
        return None
    return keras.ops.size(input)


def _rank(input: Any, name: Any = None) -> Any:  # noqa: A002
    return np.asarray(len(input.shape), "int32") if _is_tensor(input) else None


def _sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = "bool",
                   name: Any = None) -> Any:
    """``tf.sequence_mask`` with a given ``maxlen``: ``range(maxlen) < lengths[..., None]``
    (without one the length is the largest value: a size computed from data)."""
    if maxlen is None or not _is_tensor(lengths) or _dtype(lengths) not in ("int32", "int64"):
        return None
    mask = keras.ops.less(keras.ops.arange(maxlen, dtype=_dtype(lengths)),
                          keras.ops.expand_dims(lengths, -1))
    target = keras.backend.standardize_dtype(getattr(dtype, "name", dtype))
    return mask if target == "bool" else keras.ops.cast(mask, target)


def _embedding_lookup(params: Any, ids: Any, max_norm: Any = None, name: Any = None) -> Any:
    """``tf.nn.embedding_lookup`` of one table: rows of ``params`` (``tf.gather``)."""
    if max_norm is not None or not _is_tensor(params) or not _is_tensor(ids):
        return None
    return keras.ops.take(params, ids, axis=0)


def _segment_ids(segment_ids: Any) -> Any:
    """Segment ids as TensorFlow takes them: a tensor as it is, Python or NumPy integers
    as int32 (as TensorFlow converts Python ints); None for anything else."""
    if _is_tensor(segment_ids):
        return segment_ids
    ids = np.asarray(segment_ids)
    return ids.astype("int32") if ids.dtype.kind in "iu" else None


def _segment_sum(data: Any, segment_ids: Any, num_segments: Any, name: Any = None) -> Any:
    """``tf.math.unsorted_segment_sum``: ``keras.ops.segment_sum`` (unsorted), which on
    TensorFlow is that function."""
    ids = _segment_ids(segment_ids)
    if not _is_tensor(data) or ids is None:
        return None
    return keras.ops.segment_sum(data, ids, num_segments=num_segments)


def _segment_mean(data: Any, segment_ids: Any, num_segments: Any, name: Any = None) -> Any:
    """``tf.math.unsorted_segment_mean``: the segment sums divided by the counts (a
    segment sum of ones, at least 1, shaped to broadcast), as TensorFlow composes it
    (tensorflow/python/ops/math_ops.py, ``_unsorted_segment_N``)."""
    ids = _segment_ids(segment_ids)
    if not _is_float(data) or ids is None:
        return None
    summed = keras.ops.segment_sum(data, ids, num_segments=num_segments)
    ones = keras.ops.ones_like(ids, dtype=_dtype(data))
    count = keras.ops.segment_sum(ones, ids, num_segments=num_segments)
    extra = len(data.shape) - len(ids.shape)
    count = keras.ops.reshape(count, (-1,) + (1,) * extra) if extra else count
    return keras.ops.divide(summed, keras.ops.maximum(count, 1.0))


def _tensordot(a: Any, b: Any, axes: Any, name: Any = None) -> Any:
    if _one_dtype(a, b) is None:
        return None
    return keras.ops.tensordot(a, b, axes=axes)


def _extract_patches(images: Any, sizes: Any, strides: Any, rates: Any, padding: Any,
                     name: Any = None) -> Any:
    """``tf.image.extract_patches`` of NHWC images: ``keras.ops.image.extract_patches``
    (each patch's pixels row-major, channels innermost, in both)."""
    size, step, rate = _spatial(sizes, 2, 1), _spatial(strides, 2, 1), _spatial(rates, 2, 1)
    if not _is_tensor(images) or len(images.shape) != 4 or None in (size, step, rate) or \
            str(padding).upper() not in ("VALID", "SAME"):
        return None
    return keras.ops.image.extract_patches(images, size, strides=step, dilation_rate=rate,
                                           padding=str(padding).lower(),
                                           data_format="channels_last")


#: the channels-last ``data_format`` of TensorFlow's convolutions, by spatial rank
_CHANNELS_LAST = {1: "NWC", 2: "NHWC"}


def _conv(ops_name: str, rank: int) -> Callable[..., Any]:
    """``tf.nn.conv1d`` / ``conv2d`` / ``depthwise_conv2d`` (channels last, VALID or SAME;
    keras.io's subclassing_conv_layers recipe overrides ``convolution_op`` with
    ``tf.nn.conv2d``): ``keras.ops.conv`` / ``depthwise_conv``, which on TensorFlow run
    the same kernels (``tf.nn.convolution``) with the same operands, strides, padding and
    dilations.  None for channels-first data, explicit paddings, or strides/dilations on
    the batch or channel axis."""
    def fn(input: Any, filters: Any = None, stride: Any = None,  # noqa: A002
           padding: Any = "VALID", data_format: Any = None, dilations: Any = None,
           name: Any = None, strides: Any = None, filter: Any = None) -> Any:  # noqa: A002
        kernel = filter if filters is None else filters
        step = _spatial(stride if strides is None else strides, rank, 1)
        rate = _spatial(dilations, rank, 1)
        if not _is_tensor(input) or len(input.shape) != rank + 2 or step is None or \
                rate is None or data_format not in (None, _CHANNELS_LAST[rank]) or \
                not isinstance(padding, str) or padding.upper() not in ("VALID", "SAME"):
            return None
        return getattr(keras.ops, ops_name)(input, kernel, strides=step,
                                            padding=padding.lower(),
                                            data_format="channels_last", dilation_rate=rate)
    return fn


# --------------------------------------------------------------------------- reductions

def _axis(axis: Any) -> Any:
    if axis is None or isinstance(axis, int):
        return axis
    try:
        return tuple(int(a) for a in np.atleast_1d(axis))
    except (TypeError, ValueError):
        return None


def _reduce(ops_name: str, kind: str) -> Callable[..., Any]:
    """``tf.reduce_*(input_tensor, axis, keepdims)``; ``kind`` "float" (mean, logsumexp:
    TensorFlow's integer mean truncates), "numeric" or "bool" (any / all)."""
    def fn(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Any:
        if not _is_tensor(input_tensor):
            return None
        dtype = _dtype(input_tensor)
        ok = {"float": keras.backend.is_float_dtype(dtype), "bool": dtype == "bool",
              "numeric": dtype != "bool"}[kind]
        if not ok:
            return None
        ax = _axis(axis)
        if axis is not None and ax is None:
            return None
        return getattr(keras.ops, ops_name)(input_tensor, axis=ax, keepdims=bool(keepdims))
    return fn


def _variance(take_root: bool) -> Callable[..., Any]:
    """``tf.math.reduce_variance`` / ``reduce_std`` of floats: ``mean(square(x -
    mean(x, keepdims)))`` (the ``abs`` TensorFlow applies first changes no real
    square), its ``sqrt`` for the deviation (tensorflow/python/ops/math_ops.py)."""
    def fn(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Any:
        if not _is_float(input_tensor):
            return None
        ax = _axis(axis)
        if axis is not None and ax is None:
            return None
        mean = keras.ops.mean(input_tensor, axis=ax, keepdims=True)
        out = keras.ops.mean(keras.ops.square(keras.ops.subtract(input_tensor, mean)),
                             axis=ax, keepdims=bool(keepdims))
        return keras.ops.sqrt(out) if take_root else out
    return fn


def _arg(ops_name: str) -> Callable[..., Any]:
    """``tf.argmax`` / ``tf.argmin`` (axis 0 when None; int64 unless ``output_type``
    says int32)."""
    def fn(input: Any, axis: Any = None, output_type: Any = "int64",  # noqa: A002
           name: Any = None) -> Any:
        if not _is_tensor(input) or _dtype(input) == "bool":
            return None
        out = keras.backend.standardize_dtype(getattr(output_type, "name", output_type))
        picked = getattr(keras.ops, ops_name)(input, axis=0 if axis is None else int(axis))
        return keras.ops.cast(picked, out)
    return fn


def _running(ops_name: str) -> Callable[..., Any]:
    """``tf.cumsum`` / ``tf.math.cumprod``, neither exclusive nor reversed."""
    def fn(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: Any = None) -> Any:
        if exclusive or reverse or not _is_tensor(x) or _dtype(x) == "bool":
            return None
        return getattr(keras.ops, ops_name)(x, axis=int(axis))
    return fn


def _moments(x: Any, axes: Any, shift: Any = None, keepdims: bool = False,
             name: Any = None, keep_dims: Any = None) -> Any:
    """``tf.nn.moments``: ``mean = reduce_mean(x, axes, keepdims=True)``, ``variance =
    reduce_mean(squared_difference(x, mean), axes, keepdims=True)``, both squeezed
    unless ``keepdims`` (tensorflow/python/ops/nn_impl.py; float32 and float64 only)."""
    if not _is_tensor(x) or _dtype(x) not in ("float32", "float64") or shift is not None:
        return None
    keep = bool(keepdims if keep_dims is None else keep_dims)
    ax = _axis(axes)
    mean = keras.ops.mean(x, axis=ax, keepdims=True)
    variance = keras.ops.mean(keras.ops.square(keras.ops.subtract(x, mean)), axis=ax,
                              keepdims=True)
    if not keep:
        mean, variance = keras.ops.squeeze(mean, ax), keras.ops.squeeze(variance, ax)
    return mean, variance


def _l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: Any = None,
                  dim: Any = None) -> Any:
    """``x * rsqrt(maximum(reduce_sum(square(x), axis, keepdims=True), epsilon))``
    (tensorflow/python/ops/nn_impl.py, real x)."""
    if not _is_float(x):
        return None
    ax = _axis(dim if axis is None else axis)
    square_sum = keras.ops.sum(keras.ops.square(x), axis=ax, keepdims=True)
    return keras.ops.multiply(x, keras.ops.rsqrt(keras.ops.maximum(square_sum, epsilon)))


def _norm(tensor: Any, ord: Any = "euclidean", axis: Any = None,  # noqa: A002
          keepdims: Any = None, name: Any = None, keep_dims: Any = None) -> Any:
    """``tf.norm`` euclidean over one axis or all: ``sqrt(reduce_sum(x * x))``."""
    if ord not in ("euclidean", 2, 2.0) or not _is_float(tensor) or \
            not (axis is None or isinstance(axis, int)):
        return None
    keep = bool(keepdims if keep_dims is None else keep_dims)
    return keras.ops.sqrt(keras.ops.sum(keras.ops.multiply(tensor, tensor), axis=axis,
                                        keepdims=keep))


_TopK = collections.namedtuple("TopKV2", ["values", "indices"])


def _top_k(input: Any, k: int = 1, sorted: bool = True,  # noqa: A002
           index_type: Any = "int32", name: Any = None) -> Any:
    if not _is_tensor(input) or not isinstance(k, int) or str(index_type) not in (
            "int32", "<dtype: 'int32'>"):
        return None
    values, indices = keras.ops.top_k(input, k, sorted=bool(sorted))
    return _TopK(values, indices)


def _one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None,
             axis: Any = None, dtype: Any = None, name: Any = None) -> Any:
    """``tf.one_hot`` with the default values (1 and 0) in float32."""
    if on_value is not None or off_value is not None or not isinstance(depth, int) or \
            (dtype is not None and keras.backend.standardize_dtype(
                getattr(dtype, "name", dtype)) != "float32"):
        return None
    return keras.ops.one_hot(indices, depth, axis=-1 if axis is None else int(axis),
                             dtype="float32")


def _gather_nd(params: Any, indices: Any, batch_dims: int = 0, name: Any = None) -> Any:
    """``tf.gather_nd`` with ``batch_dims=0``: the index tuples (the last axis of
    ``indices``, depth ``d``) flattened to positions ``sum(i_k * stride_k)`` over the
    first ``d`` axes of ``params`` reshaped to one, and one ``take``.  The strides must
    be static (the sizes of axes 1 .. d-1); the first axis may be unknown.  Out-of-range
    index tuples, an error in TensorFlow on CPU, are the only inputs where the two
    differ."""
    if batch_dims != 0 or not _is_tensor(params) or not _is_tensor(indices) or \
            _dtype(indices) not in ("int32", "int64"):
        return None
    depth = indices.shape[-1]
    sizes = tuple(params.shape)
    if not isinstance(depth, int) or not 1 <= depth <= len(sizes) or \
            any(s is None for s in sizes[1:]):
        return None
    strides = [int(np.prod(sizes[k + 1:depth], dtype=np.int64)) for k in range(depth)]
    positions = keras.ops.sum(keras.ops.multiply(
        indices, np.asarray(strides, keras.backend.standardize_dtype(indices.dtype))), axis=-1)
    flat = keras.ops.reshape(params, (-1,) + sizes[depth:])
    return keras.ops.take(flat, positions, axis=0)


def _resize_v2(images: Any, size: Any, method: Any = "bilinear",
               preserve_aspect_ratio: bool = False, antialias: bool = False,
               name: Any = None) -> Any:
    """``tf.image.resize``: ``keras.ops.image.resize`` (TensorFlow's ``tf.image.resize``
    with the same method and antialias), static sizes, no aspect-ratio preservation."""
    method = str(getattr(method, "value", method))
    if preserve_aspect_ratio or not _is_tensor(images) or len(images.shape) != 4 or \
            method not in ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"):
        return None
    try:
        height, width = (int(d) for d in size)
    except (TypeError, ValueError):
        return None
    return keras.ops.image.resize(images, (height, width), interpolation=method,
                                  antialias=bool(antialias))


def _pool(ops_name: str) -> Callable[..., Any]:
    def fn(input: Any, ksize: Any, strides: Any, padding: Any,  # noqa: A002
           data_format: Any = None, name: Any = None) -> Any:
        rank = len(input.shape) - 2 if _is_tensor(input) else 0
        size, step = _spatial(ksize, rank, 1), _spatial(strides, rank, 1)
        if rank < 1 or data_format not in (None, "NHWC", "NWC", "NDHWC") or size is None \
                or step is None or str(padding).upper() not in ("VALID", "SAME"):
            return None
        return getattr(keras.ops, ops_name)(input, size, step, padding=str(padding).lower(),
                                            data_format="channels_last")
    return fn


#: TensorFlow functions a traced call may apply to symbolic tensors, by their Python
#: name (``tf.gather`` is ``gather_v2`` calling ``gather``; where TensorFlow 2's
#: function wraps a version-1 one of another signature, only the former is named, and
#: the latter's failure reaches it): each returns the exactly equivalent ``keras.ops``
#: result, or None (the call is refused as any ``tf.*`` call).
TF_EQUIVALENTS: dict[str, Callable[..., Any]] = {
    "gather_v2": _tf_gather, "gather": _tf_gather, "matrix_band_part": _tf_band_part,
    "resize_images": _tf_resize_images_v1, "conv2d_v2": _conv("conv", 2),
    **{name: _unary(name, op, True) for name, op in _FLOAT_UNARY.items()},
    **{name: _unary(name, op, False) for name, op in _ANY_UNARY.items()},
    **{name: _binary(name, op, floats) for name, (op, floats) in _BINARY.items()},
    "squared_difference": _squared_difference, "gelu": _gelu, "swish": _swish,
    "leaky_relu": _leaky_relu, "softmax_v2": _softmax("softmax"),
    "log_softmax_v2": _softmax("log_softmax"), "clip_by_value": _clip_by_value,
    "where_v2": _where, "cast": _cast, "bias_add": _bias_add, "identity": _identity,
    "stop_gradient": _identity, "ones_like_v2": _like("ones_like"),
    "zeros_like_v2": _like("zeros_like"),
    "shape_v2": _shape, "reshape": _reshape, "transpose_v2": _transpose, "concat": _concat,
    "stack": _stack, "unstack": _unstack, "expand_dims_v2": _expand_dims,
    "squeeze_v2": _squeeze, "tile": _tile, "repeat": _repeat, "broadcast_to": _broadcast_to,
    "reverse_v2": _reverse, "roll": _roll, "pad_v2": _pad, "split": _split, "range": _range,
    "einsum": _einsum, "matmul": _matmul,
    "reduce_sum": _reduce("sum", "numeric"), "reduce_prod": _reduce("prod", "numeric"),
    "reduce_max": _reduce("max", "numeric"), "reduce_min": _reduce("min", "numeric"),
    "reduce_mean": _reduce("mean", "float"), "reduce_logsumexp": _reduce("logsumexp", "float"),
    "reduce_any": _reduce("any", "bool"), "reduce_all": _reduce("all", "bool"),
    "argmax_v2": _arg("argmax"), "argmin_v2": _arg("argmin"), "cumsum": _running("cumsum"),
    "cumprod": _running("cumprod"), "moments_v2": _moments,
    "reduce_variance": _variance(False), "reduce_std": _variance(True),
    "matrix_transpose": _matrix_transpose, "zeros": _filled("zeros"), "ones": _filled("ones"),
    "fill": _fill, "size_v2": _size, "rank": _rank, "sequence_mask": _sequence_mask,
    "embedding_lookup_v2": _embedding_lookup, "unsorted_segment_sum": _segment_sum,
    "tensordot": _tensordot, "extract_image_patches_v2": _extract_patches,
    "conv1d_v2": _conv("conv", 1), "depthwise_conv2d_v2": _conv("depthwise_conv", 2),
    "unsorted_segment_mean": _segment_mean, "crop_to_bounding_box": _box("crop"),
    "pad_to_bounding_box": _box("pad"), "depth_to_space_v2": _depth_space("depth_to_space"),
    "space_to_depth_v2": _depth_space("space_to_depth"),
    "l2_normalize": _l2_normalize, "norm_v2": _norm, "top_k": _top_k, "one_hot": _one_hot,
    "gather_nd_v2": _gather_nd, "resize_images_v2": _resize_v2,
    "avg_pool2d": _pool("average_pool"), "avg_pool_v2": _pool("average_pool"),
    "max_pool2d": _pool("max_pool"), "max_pool_v2": _pool("max_pool"),
}


@contextlib.contextmanager
def tf_equivalents() -> Iterator[None]:
    """While the block runs (a trace), the TensorFlow functions of
    :data:`TF_EQUIVALENTS` accept symbolic tensors and sizes unknown while tracing: a
    TensorFlow global op dispatcher, registered for the block only; symbolic tensors
    also have ``tf.Tensor.get_shape``.  Anything else
    still fails as "A KerasTensor cannot be used as input to a TensorFlow function"."""
    try:
        from tensorflow.python.util import dispatch
    except ImportError:  # pragma: no cover - another Keras backend
        yield
        return

    class _Dispatcher(dispatch.GlobalOpDispatcher):
        def handle(self, op: Any, args: Any, kwargs: Any) -> Any:
            fn = TF_EQUIVALENTS.get(getattr(op, "__name__", ""))
            if fn is None or getattr(op, "__module__", "").split(".")[0] != "tensorflow":
                return self.NOT_SUPPORTED
            try:
                bound = inspect.signature(fn).bind(*args, **kwargs)
            except TypeError:
                return self.NOT_SUPPORTED
            values = keras.tree.flatten((args, kwargs))
            if not any(isinstance(v, keras.KerasTensor) or is_stand_in(v) for v in values):
                return self.NOT_SUPPORTED
            out = fn(*bound.args, **bound.kwargs)
            return self.NOT_SUPPORTED if out is None else out

    dispatcher = _Dispatcher()
    dispatcher.register()
    tensor_class = keras.KerasTensor
    had_get_shape = "get_shape" in tensor_class.__dict__
    if not had_get_shape:
        tensor_class.get_shape = _get_shape
    try:
        yield
    finally:
        dispatch._GLOBAL_DISPATCHERS.remove(dispatcher)
        if not had_get_shape:
            del tensor_class.get_shape


def _get_shape(self: Any) -> Any:
    """``tensor.get_shape()`` of a ``tf.Tensor`` (keras.io's Swin: ``_, _, C =
    x.get_shape().as_list()``) on a symbolic tensor: its static shape as a
    ``tf.TensorShape`` (None where unknown while tracing)."""
    import tensorflow as tf

    return tf.TensorShape(self.shape)
