"""The converter of ONNX's ``Resize`` (opsets 13, 18, 19).

Two forms, both exact:

* *upsampling layers*: integer factors >= 1 on the spatial axes only (1 on N and on the
  channel axis, axis 1 or the last), ``keep_aspect_ratio_policy="stretch"``, no
  ``tf_crop_and_resize`` and ``exclude_outside=0``: ``nearest`` with ``asymmetric`` +
  ``floor``, or ``half_pixel`` / ``pytorch_half_pixel`` + ``round_prefer_floor`` /
  ``round_prefer_ceil``, is a repeat (output index ``i = s*k + j`` maps to
  ``k + (j + 0.5)/s - 0.5``, strictly within 0.5 of ``k``, or to ``k + j/s``, which floor
  maps to ``k``); ``linear`` + ``half_pixel`` on 2 spatial axes is TensorFlow's bilinear
  resize.  These become ``upsample{r}d`` (a Keras ``UpSampling`` layer).
* *tf.image.resize*: a Resize of the two spatial axes of a rank-4 tensor (NHWC or
  NCHW) whose per-axis matrices (below) equal those of one ``tf.image.resize`` method
  (:func:`graphir.resampling.resize_matrix`: what tf2onnx writes for a Keras
  ``Resizing``, e.g. ``linear`` + ``half_pixel``) becomes the ``resize`` op.
* *separable operators*: any other mode, coordinate transformation, rounding, cubic
  coefficient, ``exclude_outside``, ``antialias`` or ``extrapolation_value``, with static
  sizes on the resized axes.  ONNX's Resize is separable (the onnx reference
  implementation, ``onnx.reference.ops.op_resize``, resizes one axis at a time) and, per
  axis, affine in the data: ``y = M x + c`` along that axis, ``c`` non-zero only where
  ``tf_crop_and_resize`` extrapolates.  ``M`` and ``c`` are computed at import time by
  running the onnx reference implementation (``onnx.reference.ReferenceEvaluator``) on the
  identity matrix and on zeros, in float64; the IR applies them with ``matmul`` (and
  ``add``).  A nearest-neighbour ``M`` is a selection: it becomes ``gather`` with constant
  indices, which is bit-exact and works for every dtype.

Refused: a run-time ``roi``/``scales``/``sizes`` (the error's ``static_operand``), a
non-static size on a resized axis, ``keep_aspect_ratio_policy`` whose rounded size
differs from the floor of its scale, linear/cubic modes on integer tensors.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .context import ImportContext
from .layout import nchw, nhwc
from .registry import imports

__all__: list[str] = []

_ATTRS = ("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
          "exclude_outside", "extrapolation_value", "antialias", "axes",
          "keep_aspect_ratio_policy")


@imports("Resize", attrs=_ATTRS)
def resize(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``upsample{r}d`` or per-axis ``gather`` / ``matmul`` (module docstring)."""
    x = ctx.input(0)
    tx = ctx.type(x)
    rank = tx.rank
    if rank < 1:
        raise ctx.error("Resize of a scalar")
    axes = ctx.attr("axes")
    axes = tuple(int(a) % rank for a in axes) if axes is not None else tuple(range(rank))
    coord = ctx.attr("coordinate_transformation_mode", "half_pixel")
    for i in (1, 2, 3):
        if ctx.input(i) and ctx.const(i) is None and (i != 1 or coord == "tf_crop_and_resize"):
            raise ctx.error(f"Resize input {i} ({('roi', 'scales', 'sizes')[i - 1]}) must be "
                            f"known at import time", operand=i)
    scales, sizes = ctx.const(2), ctx.const(3)
    policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
    # per resized axis: the scale ONNX uses and the output size (None: not static)
    scale = [1.0] * rank
    out: list = list(tx.shape)
    if scales is not None and scales.size:
        if scales.size != len(axes):
            raise ctx.error(f"{scales.size} scales for {len(axes)} axes")
        for a, s in zip(axes, scales.tolist()):
            scale[a] = float(s)
            out[a] = int(tx.shape[a] * float(s)) if isinstance(tx.shape[a], int) else None
        given = "scales"
    elif sizes is not None and sizes.size:
        if sizes.size != len(axes):
            raise ctx.error(f"{sizes.size} sizes for {len(axes)} axes")
        if not all(isinstance(tx.shape[a], int) for a in axes):
            raise ctx.error("Resize with sizes needs static input dims on the resized axes")
        ratios = [int(s) / tx.shape[a] for a, s in zip(axes, sizes.tolist())]
        if policy == "stretch":
            for a, s, f in zip(axes, sizes.tolist(), ratios):
                scale[a], out[a] = f, int(s)
            given = "sizes"
        elif policy in ("not_larger", "not_smaller"):
            common = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                scale[a], out[a] = common, int(common * tx.shape[a] + 0.5)
                if int(tx.shape[a] * common) != out[a]:
                    raise ctx.error(f"keep_aspect_ratio_policy={policy!r} rounds axis {a} to "
                                    f"{out[a]}, not the floor of its scale: not supported")
            given = "scales"
        else:
            raise ctx.error(f"keep_aspect_ratio_policy={policy!r} is not supported")
    else:
        raise ctx.error("Resize needs scales or sizes")
    if _upsample(ctx, x, scale, policy, coord):
        return
    _separable(ctx, x, scale, out, given)


def _upsample(ctx: ImportContext, x: str, scale: list[float], policy: str, coord: str) -> bool:
    """The upsampling-layer form, when it applies (module docstring); True if emitted."""
    tx = ctx.type(x)
    rank = tx.rank
    r = rank - 2
    if (r not in (1, 2, 3) or policy != "stretch" or coord == "tf_crop_and_resize"
            or int(ctx.attr("exclude_outside", 0))):
        return False
    if any(f != int(f) or f < 1 for f in scale) or scale[0] != 1.0 or (
            scale[1] != 1.0 and scale[-1] != 1.0):
        return False
    channels_first = scale[1] == 1.0
    factors = tuple(int(f) for f in (scale[2:] if channels_first else scale[1:-1]))
    mode = ctx.attr("mode", "nearest")
    nearest = ctx.attr("nearest_mode", "round_prefer_floor")
    if mode == "nearest" and (
            (coord in ("half_pixel", "pytorch_half_pixel")
             and nearest in ("round_prefer_floor", "round_prefer_ceil"))
            or (coord == "asymmetric" and nearest == "floor")):
        interp = "nearest"
    elif mode == "linear" and coord in ("half_pixel", "pytorch_half_pixel") and r == 2:
        interp = "bilinear"
    else:
        return False
    if all(f == 1 for f in factors):
        ctx.emit("identity", [x], out=ctx.out())
        return True
    attrs = {"size": factors, "interpolation": interp, "data_format": "channels_last"}
    if not channels_first:  # already channels-last (graphir writes Resize in either layout)
        ctx.emit(f"upsample{r}d", [x], attrs, out=ctx.out())
    else:
        nchw(ctx, ctx.emit(f"upsample{r}d", [nhwc(ctx, x)], attrs), out=ctx.out())
    return True


def _reference_1d(ctx: ImportContext, data: np.ndarray, scale: float, size: int, given: str,
                  roi: tuple[float, float] | None) -> np.ndarray:
    """ONNX's Resize of axis 0 of the float64 matrix ``data`` with the current node's
    attributes, by the onnx reference implementation."""
    from onnx.reference import ReferenceEvaluator

    keep = ("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
            "exclude_outside", "extrapolation_value", "antialias")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ctx.node.attribute
             if a.name in keep}
    inputs = ["X", "roi" if roi is not None else "",
              "scales" if given == "scales" else "", "sizes" if given == "sizes" else ""]
    while not inputs[-1]:
        inputs.pop()
    inits = [helper.make_tensor("scales", TensorProto.FLOAT, [1], [scale]),
             helper.make_tensor("sizes", TensorProto.INT64, [1], [size]),
             helper.make_tensor("roi", TensorProto.DOUBLE, [2], list(roi or (0.0, 1.0)))]
    graph = helper.make_graph(
        [helper.make_node("Resize", inputs, ["Y"], axes=[0], **attrs)], "resize_1d",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, list(data.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None)],
        [i for i in inits if i.name in inputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    try:
        (y,) = ReferenceEvaluator(model).run(None, {"X": data})
    except Exception as e:  # noqa: BLE001 - the reference raises plain exceptions
        raise ctx.error(f"the onnx reference Resize failed on this node's attributes: "
                        f"{type(e).__name__}: {e}") from None
    return np.asarray(y, np.float64)


def _separable(ctx: ImportContext, x: str, scale: list[float], out: list, given: str) -> None:
    """One ``gather`` or ``matmul`` (+ ``add``) per resized axis (module docstring)."""
    tx = ctx.type(x)
    rank = tx.rank
    coord = ctx.attr("coordinate_transformation_mode", "half_pixel")
    roi = ctx.const(1) if coord == "tf_crop_and_resize" else None
    roi_axes = ctx.attr("axes")
    roi_axes = (tuple(int(a) % rank for a in roi_axes) if roi_axes is not None
                else tuple(range(rank)))
    y = x
    work = [a for a in range(rank) if scale[a] != 1.0 or out[a] != tx.shape[a]
            or (roi is not None and a in roi_axes)]
    if not work:
        ctx.emit("identity", [x], out=ctx.out())
        return
    per_axis = []
    for a in work:
        n = tx.shape[a]
        if not isinstance(n, int) or out[a] is None:
            raise ctx.error(f"Resize of axis {a} needs a static size, got {n}")
        axis_roi = None
        if roi is not None:
            j = roi_axes.index(a)
            axis_roi = (float(roi[j]), float(roi[len(roi_axes) + j]))
        offset = _reference_1d(ctx, np.zeros((n, 1)), scale[a], out[a], given, axis_roi)[:, 0]
        matrix = _reference_1d(ctx, np.eye(n), scale[a], out[a], given, axis_roi) - offset[:, None]
        if matrix.shape[0] != out[a]:
            raise ctx.error(f"Resize of axis {a}: the reference gives {matrix.shape[0]} "
                            f"entries, expected {out[a]}")
        per_axis.append((a, matrix, offset))
    if _tf_resize(ctx, x, per_axis):
        return
    for k, (a, matrix, offset) in enumerate(per_axis):
        last = k == len(per_axis) - 1
        name = ctx.out() if last else None
        y = _apply_axis(ctx, y, a, matrix, offset, name)


def _tf_resize(ctx: ImportContext, x: str, per_axis: list) -> bool:
    """The ``resize`` op (``tf.image.resize``, :mod:`graphir.ops.resize`) when the Resize
    scales exactly the two spatial axes of a rank-4 tensor (``(1, 2)``: NHWC, ``(2, 3)``:
    NCHW, transposed around the op) and its per-axis matrices are those of one
    ``tf.image.resize`` method (within 1e-6 per entry, exactly for ``nearest``; no
    ``tf_crop_and_resize`` offset): what tf2onnx writes for a Keras ``Resizing``.  True
    if emitted."""
    from graphir.resampling import RESIZE_INTERPOLATIONS, resize_matrix

    tx = ctx.type(x)
    axes = tuple(a for a, _, _ in per_axis)
    if tx.rank != 4 or axes not in ((1, 2), (2, 3)) or any(o.any() for _, _, o in per_axis):
        return False
    for method in RESIZE_INTERPOLATIONS:
        if method != "nearest" and not tx.dtype.is_float:
            continue
        for antialias in ((False,) if method in ("nearest", "area") else (False, True)):
            if all(_same(m, resize_matrix(m.shape[1], m.shape[0], method, antialias), method)
                   for _, m, _ in per_axis):
                attrs = {"size": tuple(m.shape[0] for _, m, _ in per_axis),
                         "interpolation": method, "antialias": antialias,
                         "data_format": "channels_last"}
                if axes == (1, 2):
                    ctx.emit("resize", [x], attrs, out=ctx.out())
                else:
                    nchw(ctx, ctx.emit("resize", [nhwc(ctx, x)], attrs), out=ctx.out())
                return True
    return False


def _same(got: np.ndarray, want: np.ndarray, method: str) -> bool:
    if got.shape != want.shape:
        return False
    if method == "nearest":
        return bool(np.array_equal(got, want))
    return float(np.max(np.abs(got - want))) <= 1e-6


def _apply_axis(ctx: ImportContext, y: str, axis: int, matrix: np.ndarray, offset: np.ndarray,
                name: str | None) -> str:
    """``y`` with axis ``axis`` replaced by ``matrix @ y + offset`` along it."""
    ty = ctx.type(y)
    rank = ty.rank
    picks = matrix.argmax(axis=1)
    selection = (not offset.any() and np.array_equal(
        matrix, np.eye(matrix.shape[1])[picks]))
    if selection:
        return ctx.emit("gather", [y, ctx.constant(picks.astype(np.int64))], {"axis": axis},
                        out=name)
    if not ty.dtype.is_float:
        raise ctx.error(f"Resize interpolating a {ty.dtype.value} tensor is not supported")
    dt = ty.dtype.to_numpy()
    has_offset = bool(offset.any())
    if axis == rank - 1:
        z = ctx.emit("matmul", [y, ctx.constant(np.ascontiguousarray(matrix.T).astype(dt))],
                     out=None if has_offset else name)
    elif axis == rank - 2:
        z = ctx.emit("matmul", [ctx.constant(matrix.astype(dt)), y],
                     out=None if has_offset else name)
    else:
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        t = ctx.emit("transpose", [y], {"perm": tuple(perm)})
        t = ctx.emit("matmul", [t, ctx.constant(np.ascontiguousarray(matrix.T).astype(dt))])
        z = ctx.emit("transpose", [t], {"perm": tuple(perm)},
                     out=None if has_offset else name)
    if has_offset:
        shape = (len(offset),) + (1,) * (rank - 1 - axis)
        z = ctx.emit("add", [z, ctx.constant(offset.reshape(shape).astype(dt))], out=name)
    return z
