"""Converters of the neural-network ONNX ops: Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, BatchNormalization, InstanceNormalization,
LayerNormalization, LRN, Gemm, MatMul (Resize: :mod:`.resize`).

Channels-first ops read ``transpose(x)`` into the IR's channels-last ops and transpose
the result back (:mod:`.layout`).  Padding: ONNX's explicit ``pads`` (or ``auto_pad``)
become the IR's ``"same"`` when they equal TensorFlow's SAME padding
(:func:`graphir.windowing.same_padding`, which is ONNX's ``SAME_UPPER``), ``"valid"``
when zero, and an explicit ``zero_pad`` / ``pad`` node before a ``"valid"`` op
otherwise: always exact, never guessed.
"""

from __future__ import annotations

import numpy as np
import onnx

from graphir.ops.indexing import SLICE_END
from graphir.windowing import conv_transpose_size, same_padding

from .context import ImportContext
from .layout import nchw, nhwc
from .registry import imports

__all__: list[str] = []

_WINDOW_ATTRS = ("auto_pad", "dilations", "kernel_shape", "pads", "strides")


def _spatial_pads(ctx: ImportContext, sizes, ksize, strides, dilations) -> list[tuple[int, int]] | str:
    """Per spatial axis ``(before, after)`` of the current node, or ``"same"`` when
    ``auto_pad`` is ``SAME_UPPER`` and a size is not static (TensorFlow's SAME then)."""
    r = len(ksize)
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = ctx.attr("pads", (0,) * (2 * r))
        if len(pads) != 2 * r:
            raise ctx.error(f"pads {list(pads)} must have {2 * r} entries")
        if any(p < 0 for p in pads):
            raise ctx.error(f"negative pads {list(pads)} are not supported")
        return [(pads[i], pads[r + i]) for i in range(r)]
    if auto == "VALID":
        return [(0, 0)] * r
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.error(f"auto_pad={auto!r} is not supported")
    if not all(isinstance(n, int) for n in sizes):
        if auto == "SAME_UPPER":
            return "same"
        raise ctx.error("auto_pad=SAME_LOWER needs static spatial sizes")
    out = []
    for n, k, s, d in zip(sizes, ksize, strides, dilations):
        before, after = same_padding(n, k, s, d)
        out.append((before, after) if auto == "SAME_UPPER" else (after, before))
    return out


def _is_same(sizes, ksize, strides, dilations, pads) -> bool:
    return all(isinstance(n, int) and same_padding(n, k, s, d) == tuple(p)
               for n, k, s, d, p in zip(sizes, ksize, strides, dilations, pads))


def _window(ctx: ImportContext, x: str, ksize):
    """``(strides, dilations, padding, pads)`` of a windowed op: ``padding`` is
    ``"same"``/``"valid"``, ``pads`` the explicit ``(before, after)`` pairs still to
    apply (all zero unless neither fits)."""
    r = len(ksize)
    strides = tuple(ctx.attr("strides", (1,) * r))
    dilations = tuple(ctx.attr("dilations", (1,) * r))
    if len(strides) != r or len(dilations) != r:
        raise ctx.error(f"strides {list(strides)} / dilations {list(dilations)} must have {r} "
                        f"entries")
    sizes = ctx.type(x).shape[2:]
    pads = _spatial_pads(ctx, sizes, ksize, strides, dilations)
    zero = [(0, 0)] * r
    if pads == "same":
        return strides, dilations, "same", zero
    if all(p == (0, 0) for p in pads):
        return strides, dilations, "valid", zero
    if _is_same(sizes, ksize, strides, dilations, pads):
        return strides, dilations, "same", zero
    return strides, dilations, "valid", pads


def _kernel_shape(ctx: ImportContext, w_shape) -> tuple[int, ...]:
    k = tuple(ctx.attr("kernel_shape", w_shape[2:]))
    if k != tuple(w_shape[2:]):
        raise ctx.error(f"kernel_shape {list(k)} differs from the weight's {list(w_shape[2:])}")
    return k


def _pad_nhwc(ctx: ImportContext, y: str, pads, value: float = 0.0) -> str:
    """An explicit pad of the spatial axes of channels-last ``y``."""
    if all(p == (0, 0) for p in pads):
        return y
    r = len(pads)
    if value == 0.0:
        return ctx.emit(f"zero_pad{r}d", [y], {"padding": tuple(tuple(p) for p in pads),
                                              "data_format": "channels_last"})
    return ctx.emit("pad", [y], {"pads": ((0, 0),) + tuple(tuple(p) for p in pads) + ((0, 0),),
                                 "mode": "constant", "value": value})


@imports("Conv", attrs=_WINDOW_ATTRS + ("group",))
def conv(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``conv{r}d`` (kernel ``(O, I/g, *k)`` -> ``(*k, I/g, O)``), or ``depthwise_conv{r}d``
    when ``group`` equals the input channels and each group has one input channel (kernel
    -> ``(*k, C, O/C)``, output channel ``c * mult + m`` as ONNX's group order)."""
    x = ctx.input(0)
    w = ctx.require_const(1, "the kernel")
    b = ctx.input(2)
    tx = ctx.type(x)
    r = tx.rank - 2
    if r not in (1, 2, 3) or w.ndim != tx.rank:
        raise ctx.error(f"Conv of a rank-{tx.rank} input with a rank-{w.ndim} kernel is not "
                        f"supported (1 to 3 spatial axes)")
    if b and ctx.const(2) is None:
        raise ctx.error("the bias must be known at import time", operand=2)
    ksize = _kernel_shape(ctx, w.shape)
    strides, dilations, padding, pads = _window(ctx, x, ksize)
    group = int(ctx.attr("group", 1))
    cin = tx.shape[1]
    y = _pad_nhwc(ctx, nhwc(ctx, x), pads)
    common = {"strides": strides, "padding": padding, "dilations": dilations,
              "activation": "linear", "data_format": "channels_last"}
    spatial = tuple(range(2, 2 + r))
    if group > 1 and group == cin and w.shape[1] == 1 and r in (1, 2):
        mult = w.shape[0] // group
        kernel = w.reshape((group, mult) + w.shape[2:]).transpose(spatial + (0, 1))
        op = f"depthwise_conv{r}d"
    else:
        kernel = w.transpose(spatial + (1, 0))
        op, common = f"conv{r}d", {**common, "groups": group}
    inputs = [y, ctx.derived(1, kernel, "hwio" if op.startswith("conv") else "hwcm")] + (
        [b] if b else [])
    nchw(ctx, ctx.emit(op, inputs, common), out=ctx.out())


@imports("ConvTranspose", attrs=_WINDOW_ATTRS + ("group", "output_padding", "output_shape"))
def conv_transpose(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``conv{r}d_transpose`` (kernel ``(I, O/g, *k)`` -> ``(*k, O/g, I)``); with ``group``
    g > 1 one per group of ``I/g`` input channels (a ``slice``), concatenated.

    ONNX's output is positions ``begin .. L + output_padding - end`` of the full scatter
    of length ``L = s * (n - 1) + (k - 1) * d + 1`` (zeros past ``L``).  The IR op with
    ``"valid"``/``"same"`` and its ``output_padding`` covers the pads that
    :func:`conv_transpose_size` produces (they do not depend on ``n``); any other pads
    are the ``"valid"`` result cropped / zero-padded (a negative pad: zeros), then the bias
    added."""
    x = ctx.input(0)
    w = ctx.require_const(1, "the kernel")
    b = ctx.input(2)
    tx = ctx.type(x)
    r = tx.rank - 2
    if r not in (1, 2, 3) or w.ndim != tx.rank:
        raise ctx.error("ConvTranspose needs 1 to 3 spatial axes")
    group = int(ctx.attr("group", 1))
    cin = tx.shape[1]
    if group < 1 or not isinstance(cin, int) or cin % group or w.shape[0] != cin:
        raise ctx.error(f"group={group} does not divide the {cin} input channels of the "
                        f"kernel {list(w.shape)}")
    if b and ctx.const(2) is None:
        raise ctx.error("the bias must be known at import time", operand=2)
    ksize = _kernel_shape(ctx, w.shape)
    strides = tuple(ctx.attr("strides", (1,) * r))
    dilations = tuple(ctx.attr("dilations", (1,) * r))
    out_pad = tuple(ctx.attr("output_padding", (0,) * r))
    sizes = tx.shape[2:]
    full = [(k - 1) * d + 1 for k, d in zip(ksize, dilations)]
    auto = ctx.attr("auto_pad", "NOTSET")
    out_shape = ctx.attr("output_shape")
    if out_shape is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
        if not all(isinstance(n, int) for n in sizes):
            raise ctx.error("output_shape / auto_pad SAME need static spatial sizes")
        want = (tuple(out_shape)[-r:] if out_shape is not None
                else tuple(n * s for n, s in zip(sizes, strides)))
        pads = []
        for n, s, f, op, o in zip(sizes, strides, full, out_pad, want):
            total = s * (n - 1) + op + f - o
            upper = auto == "SAME_UPPER"
            pads.append((total // 2, total - total // 2) if upper else
                        (total - total // 2, total // 2))
    elif auto == "VALID":
        pads = [(0, 0)] * r
    else:
        p = ctx.attr("pads", (0,) * (2 * r))
        pads = [(p[i], p[r + i]) for i in range(r)]
    common = {"strides": strides, "dilations": dilations, "activation": "linear",
              "data_format": "channels_last"}
    layout = tuple(range(2, 2 + r)) + (1, 0)
    y = nhwc(ctx, x)
    if group > 1:  # each group of I/g input channels makes O/g outputs (ONNX's order)
        per = cin // group
        parts = []
        for j in range(group):
            xj = ctx.emit("slice", [y], {"starts": (0,) * (r + 1) + (j * per,),
                                         "ends": (SLICE_END,) * (r + 1) + ((j + 1) * per,),
                                         "steps": (1,) * (r + 2)})
            kj = ctx.constant(np.ascontiguousarray(w[j * per:(j + 1) * per].transpose(layout)),
                              ctx._values.unique(f"{node.input[1]}/hwoi_group{j}"))
            parts.append(_transposed_conv(ctx, xj, kj, "", r, common, ksize, strides,
                                          dilations, full, pads, out_pad))
        y = ctx.emit("concatenate", parts, {"axis": r + 1})
        if b:
            y = ctx.emit("add", [y, b])
        nchw(ctx, y, out=ctx.out())
        return
    kernel = ctx.derived(1, w.transpose(layout), "hwoi")
    nchw(ctx, _transposed_conv(ctx, y, kernel, b, r, common, ksize, strides, dilations, full,
                               pads, out_pad), out=ctx.out())


def _transposed_conv(ctx: ImportContext, y: str, kernel: str, b: str, r: int, common, ksize,
                     strides, dilations, full, pads, out_pad) -> str:
    """The channels-last result of one ConvTranspose (see :func:`conv_transpose`): the IR
    op with its own padding when it covers ``pads``, else valid + crop / zero pad."""
    for padding in ("valid", "same"):
        choice = []
        for i in range(r):
            for op in range(strides[i]):
                try:
                    o, before = conv_transpose_size(1, ksize[i], strides[i], dilations[i],
                                                    padding, op)
                except ValueError:
                    continue
                rest = full[i] - before - o
                if (before, max(rest, 0)) == pads[i] and max(-rest, 0) == out_pad[i]:
                    choice.append(op)
                    break
        if len(choice) == r:
            inputs = [y, kernel] + ([b] if b else [])
            return ctx.emit(f"conv{r}d_transpose", inputs,
                            {**common, "padding": padding, "output_padding": tuple(choice)})
    y = ctx.emit(f"conv{r}d_transpose", [y, kernel],
                 {**common, "padding": "valid", "output_padding": (0,) * r})
    # positions begin .. L + output_padding - end of the full result, zeros outside it
    # (a negative pad, e.g. from an output_shape larger than L, reaches into them)
    crop = [(max(before, 0), max(after - op, 0)) for (before, after), op in zip(pads, out_pad)]
    grow = [(max(-before, 0), max(op - after, 0)) for (before, after), op in zip(pads, out_pad)]
    if any(c != (0, 0) for c in crop):
        y = ctx.emit(f"crop{r}d", [y], {"cropping": tuple(crop), "data_format": "channels_last"})
    y = _pad_nhwc(ctx, y, grow)
    if b:
        y = ctx.emit("add", [y, b])
    return y


def _pool(kind: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        x = ctx.input(0)
        tx = ctx.type(x)
        r = tx.rank - 2
        if r not in (1, 2, 3):
            raise ctx.error("pooling needs 1 to 3 spatial axes")
        ksize = tuple(ctx.attr("kernel_shape"))
        strides, dilations, padding, pads = _window(ctx, x, ksize)
        include = int(ctx.attr("count_include_pad", 0))
        if len(node.output) > 1 and node.output[1]:  # MaxPool's Indices
            if not all(isinstance(d, int) for d in tx.shape):
                raise ctx.error(f"MaxPool's Indices output needs a static input shape, got "
                                f"{list(tx.shape)}")
            _pool_by_slices(ctx, x, kind, ksize, strides, dilations, include, indices=True)
            return
        if _needs_window_sum(ctx, kind, tx, ksize, strides, dilations, padding, pads, include):
            _pool_by_slices(ctx, x, kind, ksize, strides, dilations, include)
            return
        if int(ctx.attr("ceil_mode", 0)):
            sizes = tx.shape[2:]
            if not all(isinstance(n, int) for n in sizes):
                raise ctx.error("ceil_mode=1 needs static spatial sizes")
            if padding == "same":
                pads = [same_padding(n, k, s) for n, k, s in zip(sizes, ksize, strides)]
                padding = "explicit"
            grown = []
            for n, k, s, (pb, pe) in zip(sizes, ksize, strides, pads):
                out = -(-(n + pb + pe - k) // s) + 1
                if (out - 1) * s >= n + pb:  # ONNX: the last window starts inside
                    out -= 1
                grown.append((pb, pe + max((out - 1) * s + k - (n + pb + pe), 0)))
            if grown != list(pads) and kind == "avg":
                raise ctx.error("AveragePool with ceil_mode=1 that changes the output size "
                                "is not supported")
            pads = grown
            if padding == "explicit" and _is_same(sizes, ksize, strides, (1,) * r, pads):
                padding, pads = "same", [(0, 0)] * r
            elif padding == "explicit" or any(p != (0, 0) for p in pads):
                padding = "valid"
        y = nhwc(ctx, x)
        if kind == "avg" and padding == "same" and include:
            pads = [same_padding(n, k, s) for n, k, s in zip(tx.shape[2:], ksize, strides)] \
                if all(isinstance(n, int) for n in tx.shape[2:]) else None
            if pads is None:
                raise ctx.error("count_include_pad=1 with SAME padding needs static sizes")
            padding = "valid"
        if any(p != (0, 0) for p in pads):
            if kind == "avg" and not include:
                raise ctx.error(f"AveragePool pads {pads} that are not TensorFlow's SAME "
                                f"padding need count_include_pad=1")
            y = _pad_nhwc(ctx, y, pads, 0.0 if kind == "avg" else -np.inf)
        y = ctx.emit(f"{kind}_pool{r}d", [y], {"pool_size": ksize, "strides": strides,
                                               "padding": padding,
                                               "data_format": "channels_last"})
        nchw(ctx, y, out=ctx.out())
    convert.__doc__ = (f"``{kind}_pool{{r}}d`` channels-last; non-SAME pads as an explicit pad "
                       f"(-inf for max, zeros for an average that counts them).")
    return convert


def _needs_window_sum(ctx: ImportContext, kind, tx, ksize, strides, dilations, padding, pads,
                      include) -> bool:
    """Whether a pooling node needs :func:`_pool_by_slices` (the IR's pooling ops have no
    dilations, pad an average with nothing counted only as TensorFlow's SAME, and have
    no ceil mode that grows an average's output); it needs static spatial sizes."""
    sizes = tx.shape[2:]
    if not all(isinstance(n, int) for n in sizes):
        return False
    if any(d != 1 for d in dilations):
        return True
    if kind != "avg":
        return False
    if any(p != (0, 0) for p in pads) and not include:
        return True
    if int(ctx.attr("ceil_mode", 0)):
        return any(_pool_out(n, k, s, 1, pb, pe, True) != _pool_out(n, k, s, 1, pb, pe, False)
                   for n, k, s, (pb, pe) in zip(
                       sizes, ksize, strides,
                       pads if padding != "same" else
                       [same_padding(n, k, s) for n, k, s in zip(sizes, ksize, strides)]))
    return False


def _pool_out(n: int, k: int, s: int, d: int, pb: int, pe: int, ceil: bool) -> int:
    """ONNX's pooled length: ``floor`` (or ``ceil``) of ``(n + pb + pe - ((k-1)d + 1)) / s``
    plus 1; with ``ceil`` the last window must start inside the input or its begin pad."""
    span = (k - 1) * d + 1
    num = n + pb + pe - span
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= n + pb:
        out -= 1
    return out


def _pool_by_slices(ctx: ImportContext, x: str, kind: str, ksize, strides, dilations,
                    include: int, indices: bool = False) -> None:
    """A pooling node as the ``maximum`` / sum of its ``prod(kernel)`` window taps: the
    input (channels-last) padded with -inf (max) or zeros (average), then one strided
    ``slice`` per kernel offset ``o`` (start ``o * dilation``), combined; an average is
    multiplied by ``1 / count`` with ``count`` the taps per output inside the input
    (``count_include_pad=0``) or inside the padded input (``=1``), which ONNX divides by,
    computed at import time.  Exact up to the order of the additions.

    With ``indices`` (MaxPool's second output, static shape): each tap also carries the
    constant flat index ``((n * C + c) * H + h) * W + w`` (row-major NCHW, ONNX's
    ``storage_order=0``; ``(n * C + c) * H * W + h + w * H`` for ``storage_order=1``) of the
    input element it reads; a later tap replaces the best
    one only when strictly greater (``greater`` + ``where``), so a tie keeps the first
    element in window order, as the onnx reference does."""
    tx = ctx.type(x)
    r = tx.rank - 2
    sizes = tx.shape[2:]
    ceil = bool(int(ctx.attr("ceil_mode", 0)))
    auto = ctx.attr("auto_pad", "NOTSET")
    pairs = []
    for i, (n, k, s, d) in enumerate(zip(sizes, ksize, strides, dilations)):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            pairs.append((small, big) if auto == "SAME_UPPER" else (big, small))
        elif auto == "VALID":
            pairs.append((0, 0))
        else:
            p = ctx.attr("pads", (0,) * (2 * r))
            pairs.append((p[i], p[r + i]))
    outs, grown, counts = [], [], []
    for n, k, s, d, (pb, pe) in zip(sizes, ksize, strides, dilations, pairs):
        out = _pool_out(n, k, s, d, pb, pe, ceil)
        need = (out - 1) * s + (k - 1) * d + 1
        extra = max(need - (n + pb + pe), 0)
        outs.append(out)
        grown.append((pb, pe + extra))
        mask = np.zeros(n + pb + pe + extra)
        mask[(0 if include else pb):(n + pb + pe if include else n + pb)] = 1.0
        counts.append(sum(mask[o * d:o * d + (out - 1) * s + 1:s] for o in range(k)))
    y = nhwc(ctx, x)
    fill = -np.inf if kind == "max" else 0.0
    if any(p != (0, 0) for p in grown):
        y = ctx.emit("pad", [y], {"pads": ((0, 0), *grown, (0, 0)), "mode": "constant",
                                  "value": fill})
    taps = []
    for offset in np.ndindex(*ksize):
        starts = (0, *(o * d for o, d in zip(offset, dilations)), 0)
        ends = (SLICE_END, *(o * d + (m - 1) * s + 1 for o, d, m, s in
                             zip(offset, dilations, outs, strides)), SLICE_END)
        taps.append(ctx.emit("slice", [y], {"starts": starts, "ends": ends,
                                            "steps": (1, *strides, 1)}))
    if indices:
        _max_with_indices(ctx, taps, tx, ksize, strides, dilations, grown, outs)
        return
    acc = taps[0]
    for t in taps[1:]:
        acc = ctx.emit("maximum" if kind == "max" else "add", [acc, t])
    if kind == "avg":
        count = counts[0]
        for c in counts[1:]:
            count = np.multiply.outer(count, c)
        inv = (1.0 / count).reshape((1, *outs, 1)).astype(tx.dtype.to_numpy())
        acc = ctx.emit("multiply", [acc, ctx.constant(inv)])
    nchw(ctx, acc, out=ctx.out())


def _max_with_indices(ctx: ImportContext, taps, tx, ksize, strides, dilations, grown,
                      outs) -> None:
    """The values and Indices outputs of a MaxPool from its channels-last window taps
    (see :func:`_pool_by_slices`)."""
    n, c, *sizes = tx.shape
    spatial = int(np.prod(sizes))
    # the flat spatial index: row-major (storage_order 0) or column-major (1)
    column = int(ctx.attr("storage_order", 0)) == 1
    step = [int(np.prod(sizes[:a] if column else sizes[a + 1:])) for a in range(len(sizes))]
    best_v, best_i = None, None
    for offset, tap in zip(np.ndindex(*ksize), taps):
        flat = np.zeros(outs, np.int64)
        for axis, (o, d, s, (pb, _)) in enumerate(zip(offset, dilations, strides, grown)):
            pos = np.arange(outs[axis]) * s + o * d - pb  # the input position read
            shape = [1] * len(outs)
            shape[axis] = outs[axis]
            flat = flat + pos.reshape(shape) * step[axis]
        idx = ctx.constant(flat.reshape((1, *outs, 1)))
        if best_v is None:
            best_v, best_i = tap, idx
            continue
        better = ctx.emit("greater", [tap, best_v])
        best_i = ctx.emit("where", [better, idx, best_i])
        best_v = ctx.emit("maximum", [best_v, tap])
    base = (np.arange(n).reshape(n, 1) * c + np.arange(c).reshape(1, c)) * spatial
    base = ctx.constant(base.reshape((n,) + (1,) * len(outs) + (c,)).astype(np.int64))
    nchw(ctx, best_v, out=ctx.out(0))
    nchw(ctx, ctx.emit("add", [best_i, base]), out=ctx.out(1))


imports("MaxPool", attrs=_WINDOW_ATTRS + ("ceil_mode", "storage_order"))(_pool("max"))
imports("AveragePool", attrs=_WINDOW_ATTRS + ("ceil_mode", "count_include_pad"))(_pool("avg"))


def _global_pool(kind: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        x = ctx.input(0)
        r = ctx.type(x).rank - 2
        if r not in (1, 2, 3):
            raise ctx.error("global pooling needs 1 to 3 spatial axes")
        y = ctx.emit(f"global_{kind}_pool{r}d", [nhwc(ctx, x)],
                     {"keepdims": True, "data_format": "channels_last"})
        nchw(ctx, y, out=ctx.out())
    convert.__doc__ = f"``global_{kind}_pool{{r}}d`` with ``keepdims``."
    return convert


imports("GlobalAveragePool")(_global_pool("avg"))
imports("GlobalMaxPool")(_global_pool("max"))


@imports("BatchNormalization", attrs=("epsilon", "momentum", "training_mode"))
def batch_norm(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``batch_norm(axis=1)`` with constant scale, bias, mean and variance (inference)."""
    if int(ctx.attr("training_mode", 0)) or any(o for o in node.output[1:]):
        raise ctx.error("BatchNormalization in training mode is not supported")
    stats = [ctx.input(i) for i in range(1, 5)]
    for i in range(1, 5):
        ctx.require_const(i, ("scale", "bias", "mean", "variance")[i - 1])
    ctx.emit("batch_norm", [ctx.input(0)] + stats,
             {"axis": 1, "epsilon": float(ctx.attr("epsilon", 1e-5))}, out=ctx.out())


@imports("LRN", attrs=("alpha", "beta", "bias", "size"))
def lrn(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """ONNX's local response normalization across channels (axis 1):
    ``x / (bias + alpha / size * square_sum) ** beta``, ``square_sum`` the sum of ``x**2``
    over channels ``c - floor((size-1)/2) .. c + ceil((size-1)/2)`` (those that exist):
    ``square``, a zero ``pad`` of axis 1, ``size`` shifted ``slice`` s added, then
    ``power`` and ``divide``."""
    x = ctx.input(0)
    tx = ctx.type(x)
    size = int(ctx.attr("size"))
    channels = tx.shape[1] if tx.rank >= 3 else None
    if not isinstance(channels, int) or size < 1 or not tx.dtype.is_float:
        raise ctx.error("LRN needs a float input with a static channel axis 1 and size >= 1")
    dt = tx.dtype.to_numpy()
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = ctx.emit("square", [x])
    padded = ctx.emit("pad", [sq], {"pads": ((0, 0), (before, after)) + ((0, 0),) *
                                    (tx.rank - 2), "mode": "constant", "value": 0.0})
    total = None
    for k in range(size):
        tap = ctx.emit("slice", [padded], {"starts": (0, k) + (0,) * (tx.rank - 2),
                                           "ends": (SLICE_END, k + channels) +
                                           (SLICE_END,) * (tx.rank - 2),
                                           "steps": (1,) * tx.rank})
        total = tap if total is None else ctx.emit("add", [total, tap])
    alpha, beta = float(ctx.attr("alpha", 1e-4)), float(ctx.attr("beta", 0.75))
    bias = float(ctx.attr("bias", 1.0))
    scaled = ctx.emit("multiply", [total, ctx.constant(np.asarray(alpha / size, dt))])
    base = ctx.emit("add", [scaled, ctx.constant(np.asarray(bias, dt))])
    denom = ctx.emit("power", [base, ctx.constant(np.asarray(beta, dt))])
    ctx.emit("divide", [x, denom], out=ctx.out())


@imports("InstanceNormalization", attrs=("epsilon",))
def instance_norm(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """ONNX's ``scale * (x - mean) / sqrt(var + epsilon) + B`` with the (biased) mean and
    variance over the spatial axes of each sample and channel: ``mean``, ``var``,
    ``rsqrt`` and the per-channel constants reshaped to ``(C, 1, ..)``."""
    x = ctx.input(0)
    tx = ctx.type(x)
    if tx.rank < 3 or not tx.dtype.is_float:
        raise ctx.error("InstanceNormalization needs a float input with spatial axes")
    scale, bias = ctx.require_const(1, "scale"), ctx.require_const(2, "B")
    channels = tx.shape[1]
    if not isinstance(channels, int) or scale.shape != (channels,) or bias.shape != (channels,):
        raise ctx.error(f"scale {list(scale.shape)} / B {list(bias.shape)} must have the "
                        f"{channels} channels of the input")
    dt = tx.dtype.to_numpy()
    axes = tuple(range(2, tx.rank))
    per_channel = (channels,) + (1,) * (tx.rank - 2)
    mean = ctx.emit("mean", [x], {"axes": axes, "keepdims": True})
    var = ctx.emit("var", [x], {"axes": axes, "keepdims": True})
    eps = ctx.constant(np.asarray(float(ctx.attr("epsilon", 1e-5)), dt))
    inv = ctx.emit("rsqrt", [ctx.emit("add", [var, eps])])
    y = ctx.emit("multiply", [ctx.emit("subtract", [x, mean]), inv])
    y = ctx.emit("multiply", [y, ctx.derived(1, scale.reshape(per_channel).astype(dt),
                                             "channel")])
    ctx.emit("add", [y, ctx.derived(2, bias.reshape(per_channel).astype(dt), "channel")],
             out=ctx.out())


@imports("LayerNormalization", attrs=("axis", "epsilon", "stash_type"))
def layer_norm(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``layer_norm`` over axes ``axis .. rank-1`` with constant scale (and bias), each
    reshaped to the normalized dims.  The optional ``Mean`` and ``InvStdDev`` outputs
    (ONNX: the statistics with the normalized axes kept as 1, in the ``stash_type``
    float32) are ``mean(x)`` and ``rsqrt(var(x) + epsilon)`` over those axes, computed
    beside the ``layer_norm`` node."""
    x = ctx.input(0)
    _layer_norm_stats(ctx, node, x)
    tx = ctx.type(x)
    axis = int(ctx.attr("axis", -1)) % tx.rank
    dims = tx.shape[axis:]
    if not all(isinstance(d, int) for d in dims):
        raise ctx.error("LayerNormalization needs static normalized dims")
    params = []
    for i, what in ((1, "scale"), (2, "bias")):
        if not ctx.input(i):
            params.append("")
            continue
        c = ctx.require_const(i, what)
        params.append(ctx.constant(np.broadcast_to(c, dims)))
    if axis == 0:  # the IR's layer_norm keeps axis 0 (the batch): the formula in primitives
        axes = tuple(range(tx.rank))
        eps = ctx.constant(np.asarray(float(ctx.attr("epsilon", 1e-5)),
                                      tx.dtype.to_numpy()))
        centred = ctx.emit("subtract", [x, ctx.emit("mean", [x], {"axes": axes,
                                                                   "keepdims": True})])
        var = ctx.emit("var", [x], {"axes": axes, "keepdims": True})
        y = ctx.emit("multiply", [centred, ctx.emit("rsqrt", [ctx.emit("add", [var, eps])])])
        if params and params[0]:
            y = ctx.emit("multiply", [y, params[0]], out=None if len(params) > 1 and params[1]
                         else ctx.out())
        if len(params) > 1 and params[1]:
            y = ctx.emit("add", [y, params[1]], out=ctx.out())
        if y != ctx.out():
            ctx.emit("identity", [y], out=ctx.out())
        return
    while params and not params[-1]:
        params.pop()
    ctx.emit("layer_norm", [x] + params, {"axis": tuple(range(axis, tx.rank)),
                                          "epsilon": float(ctx.attr("epsilon", 1e-5))},
             out=ctx.out())


def _layer_norm_stats(ctx: ImportContext, node: onnx.NodeProto, x: str) -> None:
    """The ``Mean`` / ``InvStdDev`` outputs of LayerNormalization, when asked for."""
    want = [i for i in (1, 2) if len(node.output) > i and node.output[i]]
    if not want:
        return
    if int(ctx.attr("stash_type", 1)) != 1:
        raise ctx.error("LayerNormalization's statistics with stash_type other than float32 "
                        "are not supported")
    tx = ctx.type(x)
    axis = int(ctx.attr("axis", -1)) % tx.rank
    axes = tuple(range(axis, tx.rank))
    xs = x if tx.dtype.value == "float32" else ctx.emit("cast", [x], {"to": "float32"})
    if 1 in want:
        ctx.emit("mean", [xs], {"axes": axes, "keepdims": True}, out=ctx.out(1))
    if 2 in want:
        v = ctx.emit("var", [xs], {"axes": axes, "keepdims": True})
        v = ctx.emit("add", [v, ctx.constant(np.asarray(float(ctx.attr("epsilon", 1e-5)),
                                                         np.float32))])
        ctx.emit("rsqrt", [v], out=ctx.out(2))


@imports("MatMul")
def matmul(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``dense`` (no bias) when B is a constant float matrix and A has rank >= 2, else
    ``matmul``."""
    a, b = ctx.input(0), ctx.input(1)
    cb = ctx.const(1)
    ta = ctx.type(a)
    if cb is not None and cb.ndim == 2 and ta.rank >= 2 and ta.dtype.is_float \
            and a not in ctx.consts:
        ctx.emit("dense", [a, b], {"units": int(cb.shape[1]), "activation": "linear"},
                 out=ctx.out())
        return
    ctx.emit("matmul", [a, b], out=ctx.out())


@imports("Gemm", attrs=("alpha", "beta", "transA", "transB"))
def gemm(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``alpha * A' @ B' + beta * C``: ``dense`` with kernel ``alpha * B'`` and bias
    ``beta * C`` when B (and C) are constants and C is a vector; else ``matmul`` and
    elementwise ops."""
    a = ctx.input(0)
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    if int(ctx.attr("transA", 0)):
        a = ctx.emit("transpose", [a], {"perm": (1, 0)})
    cb, c = ctx.const(1), ctx.input(2)
    cc = ctx.const(2)
    dt = ctx.type(a).dtype.to_numpy()
    if cb is not None and (not c or cc is not None) and ctx.type(a).dtype.is_float:
        kernel = cb.T if int(ctx.attr("transB", 0)) else cb
        if alpha != 1.0:
            kernel = (kernel.astype(np.float64) * alpha).astype(dt)
        units = int(kernel.shape[1])
        inputs = [a, ctx.derived(1, np.ascontiguousarray(kernel), "kernel")]
        extra = None
        if c:
            bias = cc.astype(np.float64) * beta if beta != 1.0 else cc
            if bias.ndim <= 2 and bias.size == units and (bias.ndim < 2 or bias.shape[0] == 1):
                inputs.append(ctx.derived(2, np.asarray(bias, dt).reshape(units), "bias"))
            else:
                extra = ctx.constant(np.asarray(bias, dt))
        if extra is None:
            ctx.emit("dense", inputs, {"units": units, "activation": "linear"}, out=ctx.out())
        else:
            y = ctx.emit("dense", inputs, {"units": units, "activation": "linear"})
            ctx.emit("add", [y, extra], out=ctx.out())
        return
    b = ctx.input(1)
    if int(ctx.attr("transB", 0)):
        b = ctx.emit("transpose", [b], {"perm": (1, 0)})
    y = ctx.emit("matmul", [a, b], out=None if (alpha != 1.0 or c) else ctx.out())
    if alpha != 1.0:
        y = ctx.emit("multiply", [y, ctx.constant(np.asarray(alpha, dt))],
                     out=None if c else ctx.out())
    if c:
        if beta != 1.0:
            c = ctx.emit("multiply", [c, ctx.constant(np.asarray(beta, dt))])
        ctx.emit("add", [y, c], out=ctx.out())
