"""ONNX emitter of the ``resize`` op (``tf.image.resize``, :mod:`graphir.ops.resize`).

The op is linear and separable: per spatial axis an ``(out, in)`` interpolation matrix
(:func:`graphir.resampling.resize_matrix`).  The emitter writes, in whichever layout
the input already has (NHWC or NCHW, the op is ``Layout.ANY``):

* one ``Resize`` (full-rank ``sizes``: :func:`_sizes`) when ONNX's Resize
  computes TensorFlow's matrices: the candidate attributes for the method (below) are
  run through the ONNX reference implementation (``onnx.reference``) on the identity
  matrix of each axis, and the result must equal TF's matrix within ``1e-6`` per entry
  (exactly, for ``nearest``).  Candidates: ``nearest`` ->
  ``coordinate_transformation_mode="half_pixel"``, ``nearest_mode="round_prefer_ceil"``
  (``floor((o + 0.5) * in / out)``; refused for a ratio that is not a power of two when
  an output lands exactly on a tie, where float32 rounding in TF and in the runtime may
  pick different pixels); ``bilinear`` -> ``mode="linear"``, half-pixel; ``bicubic`` ->
  ``mode="cubic"``, half-pixel, ``cubic_coeff_a=-0.5`` (Keys, as TF; ONNX's default is
  -0.75), ``exclude_outside=1`` (TF renormalizes the in-image taps); with
  ``antialias=True`` the same plus ``antialias=1``.  ``area`` and the Lanczos kernels
  have no ONNX mode.  onnxruntime's cubic Resize scales only the two innermost axes, so
  ``bicubic`` uses Resize only on an input that is already NCHW (after a Conv).
* otherwise the exact matrices: two ``Gather`` s with constant indices for ``nearest``
  (bit-exact, any dtype), else one ``Einsum`` ``"oh,nhwc,pw->nopc"`` (the axes letters
  in the input's layout) with TF's two matrices as initializers in the input's dtype.
  This covers bicubic (TF quantizes the cubic offset to 1/1024), area, lanczos3/5 and
  every antialiased case ONNX does not reproduce.

A dynamic input height or width is emitted for ``bilinear`` without antialiasing,
whose ONNX form is the same formula for every size (``Resize`` linear half-pixel, as
``upsample2d``), and for ``nearest`` without antialiasing, as two ``Gather`` s whose
indices TF's float32 formula computes at run time from the input's ``Shape``
(:func:`_nearest_gather`); any other method needs static spatial sizes (an
:class:`~graphir.errors.UnsupportedOpError` naming the node otherwise).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from onnx import TensorProto, helper

from graphir.ir import Node
from graphir.resampling import nearest_indices, resize_matrix

from .context import NCHW, NHWC, OnnxEmitContext, layout_perm
from .nn_ops import unsupported
from .registry import emits

__all__ = ["resize", "onnx_resize_attrs"]


def onnx_resize_attrs(interpolation: str, antialias: bool) -> dict | None:
    """The candidate ``Resize`` attributes for a ``tf.image.resize`` method (module
    docstring), or None when ONNX has no mode for it."""
    if interpolation == "nearest":
        return dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                    nearest_mode="round_prefer_ceil")
    extra = {"antialias": 1} if antialias else {}
    if interpolation == "bilinear":
        return dict(mode="linear", coordinate_transformation_mode="half_pixel", **extra)
    if interpolation == "bicubic":
        return dict(mode="cubic", coordinate_transformation_mode="half_pixel",
                    cubic_coeff_a=-0.5, exclude_outside=1, **extra)
    return None


@lru_cache(maxsize=256)
def _reference_matrix(n_in: int, n_out: int, attrs: tuple) -> np.ndarray | None:
    """ONNX's Resize of axis 0 of ``eye(n_in)`` to ``n_out`` rows with ``attrs`` (a
    sorted item tuple), by the onnx reference implementation; None when it fails."""
    from onnx.reference import ReferenceEvaluator

    graph = helper.make_graph(
        [helper.make_node("Resize", ["X", "", "", "sizes"], ["Y"], axes=[0], **dict(attrs))],
        "resize_axis",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [n_in, n_in])],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None)],
        [helper.make_tensor("sizes", TensorProto.INT64, [1], [n_out])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    try:
        (y,) = ReferenceEvaluator(model).run(None, {"X": np.eye(n_in)})
    except Exception:  # noqa: BLE001 - the reference raises plain exceptions; no Resize then
        return None
    return np.asarray(y, np.float64)


def _has_risky_tie(n_in: int, n_out: int) -> bool:
    """Some output of a half-pixel nearest resize lands exactly on a rounding tie
    (``(o + 0.5) * in / out`` an integer) and the ratio is not a power of two (so
    float32 rounding may move it to either side)."""
    ratio = n_in / n_out
    if ratio > 0 and float(np.log2(ratio)).is_integer():
        return False
    return any((2 * o + 1) * n_in % (2 * n_out) == 0 for o in range(n_out))


def _resize_matches(n_in: int, n_out: int, interpolation: str, antialias: bool,
                    attrs: dict) -> bool:
    """ONNX's Resize with ``attrs`` computes TF's matrix along an axis of ``n_in`` -> ``n_out``."""
    if n_in == n_out and not antialias:
        return np.array_equal(resize_matrix(n_in, n_out, interpolation), np.eye(n_in))
    got = _reference_matrix(n_in, n_out, tuple(sorted(attrs.items())))
    want = resize_matrix(n_in, n_out, interpolation, antialias)
    if got is None or got.shape != want.shape:
        return False
    if interpolation == "nearest":
        return np.array_equal(got, want) and not _has_risky_tie(n_in, n_out)
    return float(np.max(np.abs(got - want))) <= 1e-6


def _sizes(ctx: OnnxEmitContext, x: str, layout: str, h: int, w: int) -> str:
    """The full-rank ``sizes`` input of a Resize of ONNX tensor ``x`` (an IR value in
    ``layout``) to ``(h, w)``: a constant when the batch and channel dims are static, else
    ``Concat`` of ``Shape`` slices and ``(h, w)``.  (Not the opset-18 ``axes`` attribute:
    onnxruntime's transpose optimizer, pushing a Transpose through such a Resize, leaves
    it an empty ``sizes``.)"""
    dims = ctx.onnx_type(x).shape
    if layout == NHWC:
        n, c = dims[0], dims[3]
        if isinstance(n, int) and isinstance(c, int):
            return ctx.constant(np.asarray([n, h, w, c], np.int64), "sizes")
        hw = ctx.constant(np.asarray([h, w], np.int64), "sizes")
        return ctx.add("Concat", [ctx.add("Shape", [x], end=1), hw,
                                  ctx.add("Shape", [x], start=3)], axis=0)
    n, c = dims[0], dims[1]
    if isinstance(n, int) and isinstance(c, int):
        return ctx.constant(np.asarray([n, c, h, w], np.int64), "sizes")
    hw = ctx.constant(np.asarray([h, w], np.int64), "sizes")
    return ctx.add("Concat", [ctx.add("Shape", [x], end=2), hw], axis=0)


def _nearest_gather(ctx: OnnxEmitContext, x: str, axis: int, n_in: int | str | None,
                    n_out: int, out: str | None = None) -> str:
    """``Gather`` of TF's half-pixel nearest-neighbour rows of ``x`` along ``axis`` to
    ``n_out``: constant indices (:func:`~graphir.resampling.nearest_indices`) for a
    static input size, else the same float32 formula at run time (``min(floor(float32(o
    + 0.5) * (float32(in) / float32(out))), in - 1)``, each step one correctly rounded
    float32 ONNX op, as TF's kernel computes it), so any input size gives TF's pixels."""
    if isinstance(n_in, int):
        return ctx.add("Gather", [x, ctx.constant(nearest_indices(n_in, n_out), "rows")],
                       out, axis=axis)
    size = ctx.add("Shape", [x], start=axis, end=axis + 1)                  # int64 (1,)
    scale = ctx.add("Div", [ctx.add("Cast", [size], to=TensorProto.FLOAT),
                            ctx.constant(np.asarray([n_out], np.float32), "out_size")])
    centres = ctx.constant(np.arange(n_out, dtype=np.float32) + np.float32(0.5), "centres")
    index = ctx.add("Cast", [ctx.add("Floor", [ctx.add("Mul", [centres, scale])])],
                    to=TensorProto.INT64)
    last = ctx.add("Sub", [size, ctx.constant(np.asarray([1], np.int64), "one")])
    return ctx.add("Gather", [x, ctx.add("Min", [index, last])], out, axis=axis)


@emits("resize")
def resize(ctx: OnnxEmitContext, node: Node) -> None:
    """``Resize``, two ``Gather`` s or one ``Einsum`` (module docstring), in the input's layout.

    Raises:
        UnsupportedOpError: a non-static input height or width, except for
            ``bilinear`` and ``nearest`` without antialiasing.
    """
    x_name = node.inputs[0]
    a = node.attrs
    method, antialias = a["interpolation"], bool(a["antialias"])
    layout = ctx.layout_for([x_name])
    perm = layout_perm(layout, 4)
    h_axis, w_axis = perm.index(1), perm.index(2)
    x = ctx.get(x_name, layout)
    out = ctx.define(node.output.name, layout)
    shape = ctx.types[x_name].shape
    (h, w), (hi, wi) = a["size"], shape[1:3]
    candidate = onnx_resize_attrs(method, antialias)
    static = isinstance(hi, int) and isinstance(wi, int)
    if not static:
        if method == "bilinear" and not antialias:
            ctx.add("Resize", [x, "", "", _sizes(ctx, x, layout, h, w)], out, **candidate)
            return
        if method == "nearest" and not antialias:
            mid = _nearest_gather(ctx, x, h_axis, hi, h)
            _nearest_gather(ctx, mid, w_axis, wi, w, out)
            return
        raise unsupported(node, f"{method} resize (antialias={antialias}) of an input with "
                                f"a non-static height or width {tuple(shape[1:3])}: only "
                                f"bilinear and nearest without antialiasing are emitted for "
                                f"dynamic sizes")
    # onnxruntime's cubic Resize scales only the two innermost (or outermost) axes: NCHW
    usable = candidate is not None and (method != "bicubic" or layout == NCHW)
    if usable and all(_resize_matches(n_in, n_out, method, antialias, candidate)
                      for n_in, n_out in ((hi, h), (wi, w))):
        ctx.add("Resize", [x, "", "", _sizes(ctx, x, layout, h, w)], out, **candidate)
        return
    if method == "nearest":
        mid = ctx.add("Gather", [x, ctx.constant(nearest_indices(hi, h), "rows")],
                      axis=h_axis)
        ctx.add("Gather", [mid, ctx.constant(nearest_indices(wi, w), "columns")], out,
                axis=w_axis)
        return
    dt = ctx.dtype(x_name).to_numpy()
    mh = ctx.constant(resize_matrix(hi, h, method, antialias).astype(dt), "rows")
    mw = ctx.constant(resize_matrix(wi, w, method, antialias).astype(dt), "columns")
    letters = ["n", "h", "w", "c"]
    src = "".join(letters[p] for p in perm)
    dst = src.replace("h", "o").replace("w", "p")
    ctx.add("Einsum", [mh, x, mw], out, equation=f"oh,{src},pw->{dst}")
