"""Folds on the emitted ONNX graph that make it cheaper to run (and never change what
it computes beyond float rounding).

They run on the emitted ONNX nodes, before the initializers are written
(:func:`graphir.backends.onnx.emit.to_onnx`), so they apply whatever IR op produced
the nodes.  :func:`fold` runs them in this order:

1. :func:`fold_pads_into_convs`: a zero ``Pad`` of the spatial axes whose only reader
   is a ``Conv`` (a Keras ``ZeroPadding2D`` before a strided convolution) becomes the
   Conv's own ``pads``; before a ``MaxPool`` too, where that provably changes nothing
   (non-negative input).  onnxruntime's PadFusion would fuse some of these, but not a
   Pad with an ``axes`` input, which the emitter gives every Pad so that a Pad before a
   MaxPool is never fused blindly (MaxPool pads with -inf).  Left as a Pad, it costs a
   copy of the activation and, on CPU, two layout conversions around it (NCHWc).
2. :func:`fold_batch_norms` (below).
3. :func:`global_pools`: ``ReduceMean`` over axes 2 and 3 of a rank-4 tensor (a global
   average pooling computed in NCHW) becomes ``GlobalAveragePool`` (then ``Flatten``
   when the pooled axes are dropped), which onnxruntime runs in its blocked NCHWc
   layout instead of converting the feature map back first.

Batch-norm folding: ``Conv -> BatchNormalization`` becomes one ``Conv``, when all of
these hold:

* a ``Conv`` (default domain) with a constant kernel ``W`` and optional constant bias
  ``B``, feeding an inference-mode ``BatchNormalization`` (``training_mode`` absent or 0,
  one output) whose scale, bias, mean and variance are constants;
* the BatchNormalization is the Conv output's only reader, and that output is not a
  graph output (so no one observes the unnormalized tensor);
* every constant is a float array of one dtype, the statistics have one entry per
  output channel (``W.shape[0]``) and ``B`` (when present) matches.

The folded Conv keeps the Conv's node name and attributes and writes the
BatchNormalization's output (the IR value, under its own name)::

    s  = scale / sqrt(var + epsilon)        (float64)
    W' = W * s[:, None, None, ...]          (W's dtype; applied when W is written)
    B' = (B - mean) * s + bias              (float64, then W's dtype; B = 0 when absent)

which is ONNX's ``BatchNormalization`` (``(x - mean) * scale / sqrt(var + eps) + bias``)
of the convolution, by linearity.  It differs from the unfolded computation by
float rounding only (one rounding of each kernel entry; the same fusion onnxruntime
applies when it optimizes a session, ``ConvBNFusion``).  A kernel or bias that no
other node reads is replaced in place (same initializer name); a shared one is left
for its other readers and the folded values get fresh names.  Statistics no node
reads any more are dropped.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx

from .context import Initializer, OnnxEmitContext

__all__ = ["fold", "fold_batch_norms", "fold_pads_into_convs", "global_pools"]


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def fold(ctx: OnnxEmitContext, graph_outputs: set[str]) -> dict[str, int]:
    """Run every fold of the module docstring on ``ctx``; the number of each done."""
    return {"pads": fold_pads_into_convs(ctx, graph_outputs),
            "batch_norms": fold_batch_norms(ctx, graph_outputs),
            "global_pools": global_pools(ctx)}


def _const_array(ctx: OnnxEmitContext, consts: dict[str, int], name: str) -> np.ndarray | None:
    init = ctx.initializers[consts[name]] if name in consts else None
    if init is None or init.channel_scale is not None:
        return None
    return np.asarray(init.array)


def _drop_unused(ctx: OnnxEmitContext, names: set[str], graph_outputs: set[str]) -> None:
    """Remove the initializers in ``names`` that no node reads and no output returns."""
    read = {name for n in ctx.nodes for name in n.input}
    unused = {n for n in names if n not in read and n not in graph_outputs}
    ctx.initializers[:] = [i for i in ctx.initializers
                           if not (isinstance(i, Initializer) and i.name in unused)]


def _zero_pad_per_axis(ctx: OnnxEmitContext, consts: dict[str, int], pad: onnx.NodeProto,
                       rank: int) -> list[tuple[int, int]] | None:
    """(begin, end) per axis of a constant-mode zero ``Pad`` with constant pads, or None."""
    if pad.op_type != "Pad" or pad.domain or len(pad.output) != 1 or len(pad.input) < 2:
        return None
    if _attr(pad, "mode", b"constant") not in (b"constant", "constant"):
        return None
    pads = _const_array(ctx, consts, pad.input[1])
    value = pad.input[2] if len(pad.input) > 2 else ""
    value_arr = _const_array(ctx, consts, value) if value else np.zeros(())
    axes_name = pad.input[3] if len(pad.input) > 3 else ""
    axes = _const_array(ctx, consts, axes_name) if axes_name else np.arange(rank)
    if (pads is None or value_arr is None or axes is None or value_arr.size != 1
            or float(value_arr.reshape(())) != 0.0 or pads.dtype.kind != "i"
            or axes.dtype.kind != "i" or pads.size != 2 * axes.size):
        return None
    per_axis = [(0, 0)] * rank
    for a, begin, end in zip(axes.tolist(), pads[:axes.size].tolist(), pads[axes.size:].tolist()):
        if not -rank <= a < rank:
            return None
        per_axis[a % rank] = (int(begin), int(end))
    return per_axis


def _non_negative(ctx: OnnxEmitContext, consts: dict[str, int], node: onnx.NodeProto | None) -> bool:
    """True when ``node``'s output is >= 0 everywhere (Relu; Clip with a min >= 0)."""
    if node is None or node.domain:
        return False
    if node.op_type == "Relu":
        return True
    if node.op_type == "Clip" and len(node.input) > 1 and node.input[1]:
        low = _const_array(ctx, consts, node.input[1])
        return low is not None and low.size == 1 and float(low.reshape(())) >= 0.0
    return False


def fold_pads_into_convs(ctx: OnnxEmitContext, graph_outputs: set[str]) -> int:
    """Fold each zero ``Pad`` of the spatial axes into the ``Conv`` (or ``MaxPool``) that
    is its only reader, also through a layout ``Transpose`` in between.

    * ``Pad -> Conv``: the Conv's explicit ``pads`` grow by the Pad's (zero padding is
      what Conv pads with);
    * ``Pad -> MaxPool``: only when the Pad's input is a ``Relu`` (or a ``Clip`` with a
      minimum >= 0) output, every pad is smaller than the window, and ``ceil_mode`` is 0:
      MaxPool's own padding never wins, and with every value >= 0 and every window
      holding a real value, neither does a padded zero, so the result is the same;
    * ``Pad -> Transpose -> consumer`` (a Pad emitted in NHWC before an NCHW op): the
      Transpose moves before the (dropped) Pad, reading the unpadded tensor (or its
      existing NCHW form, and then the Transpose goes too; when that form is written
      only after the consumer, for a later reader, its node moves up to where the
      Transpose was, so the nodes stay in topological order), its pads permuted.

    Conditions: constant mode, zero value, constant pads; the padded tensor (and the
    transposed one) has no other reader and is no graph output; the consumer has
    explicit ``pads`` (no ``auto_pad``) and 2 spatial axes; no pad on axes 0 and 1 of
    the consumer's input; no negative pad.  Returns the number folded.
    """
    consts = {init.name: i for i, init in enumerate(ctx.initializers)
              if isinstance(init, Initializer)}
    readers: Counter[str] = Counter(name for n in ctx.nodes for name in n.input if name)
    producer = {out: i for i, n in enumerate(ctx.nodes) for out in n.output}
    drop: set[int] = set()
    released: set[str] = set()
    folded = 0
    for c_idx, consumer in enumerate(ctx.nodes):
        if consumer.op_type not in ("Conv", "MaxPool") or consumer.domain or not consumer.input:
            continue
        own_pads = _attr(consumer, "pads", None)
        if (own_pads is None or len(own_pads) != 4
                or _attr(consumer, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
            continue
        if consumer.op_type == "Conv":
            kernel = (_const_array(ctx, consts, consumer.input[1])
                      if len(consumer.input) > 1 else None)
            if kernel is None or kernel.ndim != 4:
                continue
            window = None
        else:
            window = _attr(consumer, "kernel_shape", None)
            if window is None or len(window) != 2 or _attr(consumer, "ceil_mode", 0):
                continue
        x = consumer.input[0]
        t_idx, perm = None, [0, 1, 2, 3]
        p_idx = producer.get(x)
        if p_idx is not None and ctx.nodes[p_idx].op_type == "Transpose" and not (
                ctx.nodes[p_idx].domain):
            perm = list(_attr(ctx.nodes[p_idx], "perm", []))
            if sorted(perm) != [0, 1, 2, 3] or readers[x] != 1 or x in graph_outputs:
                continue
            t_idx, x = p_idx, ctx.nodes[p_idx].input[0]
            p_idx = producer.get(x)
        if p_idx is None or p_idx in drop or (t_idx is not None and t_idx in drop):
            continue
        pad = ctx.nodes[p_idx]
        padded = pad.output[0] if len(pad.output) == 1 else None
        if padded is None or readers[padded] != 1 or padded in graph_outputs:
            continue
        per_axis = _zero_pad_per_axis(ctx, consts, pad, 4)
        if per_axis is None:
            continue
        # axis i of the consumer's input is axis perm[i] of the padded tensor
        (b0, e0), (b1, e1), (pt, pb), (pl, pr) = (per_axis[perm[i]] for i in range(4))
        if (b0, e0, b1, e1) != (0, 0, 0, 0) or min(pt, pb, pl, pr) < 0:
            continue
        if window is not None:  # MaxPool: see the docstring
            if not _non_negative(ctx, consts, ctx.nodes[producer[pad.input[0]]]
                                 if pad.input[0] in producer else None):
                continue
            t, l, b, r = (int(v) for v in own_pads)
            if max(t + pt, b + pb) >= window[0] or max(l + pl, r + pr) >= window[1]:
                continue
        source = pad.input[0]
        if t_idx is not None:
            transpose = ctx.nodes[t_idx]
            existing = ctx.find_form(source, perm)
            if existing is not None:  # that layout of the unpadded tensor already exists
                e_idx = producer.get(existing)
                if e_idx is not None and e_idx > c_idx:
                    # written later, for a later reader: write it here instead
                    ctx.nodes[t_idx] = ctx.nodes[e_idx]
                    drop.add(e_idx)
                else:
                    drop.add(t_idx)
                source = existing
            else:
                moved = onnx.NodeProto()
                moved.CopyFrom(transpose)
                moved.input[0] = source
                moved.output[0] = ctx.new_form(source, perm)
                moved.name = ctx.node_name(f"{moved.output[0]}/Transpose")
                ctx.nodes[t_idx] = moved
                source = moved.output[0]
        new = onnx.NodeProto()
        new.CopyFrom(consumer)
        new.input[0] = source
        t, l, b, r = (int(v) for v in own_pads)
        for a in new.attribute:
            if a.name == "pads":
                del a.ints[:]
                a.ints.extend([t + pt, l + pl, b + pb, r + pr])
        ctx.nodes[c_idx] = new
        drop.add(p_idx)
        released.update(n for n in pad.input[1:] if n)
        folded += 1
    if drop:
        ctx.nodes[:] = [n for i, n in enumerate(ctx.nodes) if i not in drop]
        _drop_unused(ctx, released, graph_outputs)
    return folded


def global_pools(ctx: OnnxEmitContext) -> int:
    """Rewrite ``ReduceMean(x, axes=[2, 3])`` of a rank-4 ``x`` as ``GlobalAveragePool``
    (plus ``Flatten`` for ``keepdims=0``).  Returns the number rewritten."""
    consts = {init.name: i for i, init in enumerate(ctx.initializers)
              if isinstance(init, Initializer)}
    out_nodes: list[onnx.NodeProto] = []
    released: set[str] = set()
    done = 0
    for node in ctx.nodes:
        axes = (_const_array(ctx, consts, node.input[1])
                if node.op_type == "ReduceMean" and not node.domain and len(node.input) == 2
                and len(node.output) == 1 else None)
        if (axes is None or axes.dtype.kind != "i" or sorted(axes.tolist()) != [2, 3]
                or _attr(node, "noop_with_empty_axes", 0) or ctx.onnx_rank(node.input[0]) != 4):
            out_nodes.append(node)
            continue
        keep = _attr(node, "keepdims", 1)
        y = node.output[0]
        if keep:
            out_nodes.append(onnx.helper.make_node("GlobalAveragePool", [node.input[0]], [y],
                                                   name=node.name))
        else:
            pooled = ctx.fresh("pooled", scope=node.name or "graph")
            out_nodes.append(onnx.helper.make_node("GlobalAveragePool", [node.input[0]],
                                                   [pooled], name=node.name))
            out_nodes.append(onnx.helper.make_node(
                "Flatten", [pooled], [y], name=ctx.node_name(f"{node.name or 'graph'}/Flatten"),
                axis=1))
        released.add(node.input[1])
        done += 1
    if done:
        ctx.nodes[:] = out_nodes
        _drop_unused(ctx, released, set())
    return done


def fold_batch_norms(ctx: OnnxEmitContext, graph_outputs: set[str]) -> int:
    """Fold every eligible ``Conv -> BatchNormalization`` pair of ``ctx.nodes`` (see the
    module docstring), updating ``ctx.nodes`` and ``ctx.initializers`` in place.

    Returns:
        the number of pairs folded.
    """
    consts = {init.name: i for i, init in enumerate(ctx.initializers)
              if isinstance(init, Initializer)}
    readers: Counter[str] = Counter(name for n in ctx.nodes for name in n.input if name)
    producer = {out: i for i, n in enumerate(ctx.nodes) for out in n.output}
    drop: set[int] = set()
    released: set[str] = set()  # constants that lost a reader
    folded = 0
    for b_idx, bn in enumerate(ctx.nodes):
        if bn.op_type != "BatchNormalization" or bn.domain or len(bn.output) != 1:
            continue
        if len(bn.input) != 5 or _attr(bn, "training_mode", 0):
            continue
        y = bn.input[0]
        c_idx = producer.get(y)
        if c_idx is None or c_idx in drop or readers[y] != 1 or y in graph_outputs:
            continue
        conv = ctx.nodes[c_idx]
        if conv.op_type != "Conv" or conv.domain or len(conv.input) < 2 or (
                len(conv.output) != 1):
            continue
        names = list(conv.input[1:]) + list(bn.input[1:])
        if not all(n in consts for n in names):
            continue
        w = ctx.initializers[consts[conv.input[1]]]
        bias = ctx.initializers[consts[conv.input[2]]] if len(conv.input) > 2 else None
        gamma, beta, mean, var = (ctx.initializers[consts[n]] for n in bn.input[1:])
        arrays = [np.asarray(i.array) for i in (w, gamma, beta, mean, var)] + (
            [np.asarray(bias.array)] if bias is not None else [])
        dtype = arrays[0].dtype
        channels = arrays[0].shape[0] if arrays[0].ndim >= 3 else -1
        if (dtype.kind != "f" or any(a.dtype != dtype for a in arrays)
                or any(a.shape != (channels,) for a in arrays[1:])
                or any(i.channel_scale is not None for i in (gamma, beta, mean, var))
                or (bias is not None and bias.channel_scale is not None)):
            continue

        def f64(i: Initializer) -> np.ndarray:
            return np.asarray(i.array, np.float64)

        eps = float(_attr(bn, "epsilon", 1e-5))
        s = f64(gamma) / np.sqrt(f64(var) + eps)
        b0 = f64(bias) if bias is not None else np.zeros(channels)
        new_bias = ((b0 - f64(mean)) * s + f64(beta)).astype(dtype)
        scale = s if w.channel_scale is None else s * np.asarray(w.channel_scale, np.float64)

        scope = conv.name or "graph"
        w_name = conv.input[1]
        new_w = Initializer(w_name, w.array, scale.astype(dtype))
        if readers[w_name] == 1 and w_name not in graph_outputs:
            ctx.initializers[consts[w_name]] = new_w
        else:
            new_w = new_w._replace(name=ctx.fresh("kernel_bn_folded", scope))
            consts[new_w.name] = len(ctx.initializers)
            ctx.initializers.append(new_w)
        if bias is not None and readers[bias.name] == 1 and bias.name not in graph_outputs:
            b_name = bias.name
            ctx.initializers[consts[b_name]] = Initializer(b_name, new_bias)
        else:
            b_name = ctx.fresh("bias_bn_folded", scope)
            consts[b_name] = len(ctx.initializers)
            ctx.initializers.append(Initializer(b_name, new_bias))
        for n in list(conv.input[1:]) + list(bn.input[1:]):
            readers[n] -= 1
            released.add(n)
        readers[y] -= 1
        readers[new_w.name] += 1
        readers[b_name] += 1

        new_conv = onnx.NodeProto()
        new_conv.CopyFrom(conv)
        del new_conv.input[:]
        new_conv.input.extend([conv.input[0], new_w.name, b_name])
        new_conv.output[0] = bn.output[0]
        ctx.nodes[c_idx] = new_conv
        producer[bn.output[0]] = c_idx
        drop.add(b_idx)
        folded += 1
    if folded:
        ctx.nodes[:] = [n for i, n in enumerate(ctx.nodes) if i not in drop]
        unused = {n for n in released if readers[n] <= 0 and n not in graph_outputs}
        ctx.initializers[:] = [i for i in ctx.initializers
                               if not (isinstance(i, Initializer) and i.name in unused)]
    return folded
