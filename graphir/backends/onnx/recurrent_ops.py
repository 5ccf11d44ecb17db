"""ONNX emitters of the recurrent ops (:mod:`graphir.ops.recurrent`), registered with
:func:`~graphir.backends.onnx.registry.emits`.

``lstm``, ``gru`` and ``simple_rnn`` become one ONNX ``LSTM`` / ``GRU`` / ``RNN`` node
(the opset-14 definitions at opsets 18 to 21, the opset-22 ones, which only add
types, from 22 on) with ``direction`` ``forward``,
``reverse`` or ``bidirectional``, between layout nodes:

* the input ``(N, T, C)`` is transposed to ONNX's time-major ``(T, N, C)`` (the
  ``layout=1`` attribute is not used);
* the weights are re-laid out on copies: ONNX ``W`` is ``(D, G*H, C)``, the Keras
  kernel transposed, ``R`` ``(D, G*H, H)``, ``B`` ``(D, 2*G*H)`` = input bias then
  recurrent bias (zeros where Keras has none).  Gate order: Keras LSTM ``i, f, c, o``
  becomes ONNX ``i, o, f, c``; GRU ``z, r, h`` is the same in both;
* GRU ``reset_after=True`` is ``linear_before_reset=1`` (ONNX:
  ``h_t = g(X W_h^T + r (H R_h^T + Rb_h) + Wb_h)``, Keras ``GRUCell.call``);
* activations go in the ``activations`` attribute (LSTM ``f, g, h`` = Keras
  recurrent_activation, activation, activation; GRU ``f, g``; RNN ``f``), with the
  ``activation_alpha``/``activation_beta`` values of the functions that take them,
  in order (how onnxruntime reads them);
* the result: ``Y_h (D, N, H)`` for ``return_sequences=False``, ``Y (T, D, N, H)``
  for ``True``, brought back to Keras' ``(N, U)`` / ``(N, T, U)``.  A ``backward``
  sequence is flipped (``Slice`` with step -1) because Keras returns it in processing
  order while ONNX ``reverse`` returns it in input order; a ``bidirectional`` one is
  not (Keras ``Bidirectional`` flips its backward sequence back to input order).
  Merge modes: ``concat`` is a ``Transpose`` + ``Reshape`` of the direction axis into
  the feature axis (forward first), ``sum`` ``ReduceSum``, ``mul`` ``ReduceProd``,
  ``ave`` ``ReduceSum`` then ``Div`` by 2 (Keras' ``(y + y_rev) / 2``);
* initial states become ``initial_h`` / ``initial_c`` ``(D, N, H)``; the state results
  of a ``return_state`` call (``result`` ``h``, ``c``, ``backward_h``, ``backward_c``)
  come from ``Y_h`` / ``Y_c``.  The nodes of one call (same op, inputs and attributes
  but ``result``) share one emission of the ONNX node;
* a ``mask`` is exact for any mask: a masked step changes nothing, so each direction
  runs over its unmasked steps only, moved to the front in order by
  ``ScatterElements`` (unmasked step ``t`` to ``cumsum(mask)[t] - 1``), with
  ``sequence_lens`` their count, and the outputs are gathered back to every step
  (``GatherElements``) and zeroed or replaced by the initial state where Keras
  writes zeros or keeps it (``specs/ops-recurrent.md``, "ONNX emission", step 5).
  ``sequence_lens`` alone would express right padding only.

``conv_lstm{1,2,3}d`` (no ONNX operator): one ``Conv`` of every step's input, then a
``Scan`` over time whose body is the recurrent ``Conv`` and the gates (:func:`conv_lstm`).
"""

from __future__ import annotations

import weakref

import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.errors import UnsupportedOpError
from graphir.ir import Node
from graphir.ops.recurrent import MASK, STATE_INPUTS

from graphir.windowing import same_padding

from .context import NHWC, OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["ONNX_ACTIVATIONS", "conv_lstm", "gate_order", "recurrent"]

#: IR activation name -> (ONNX RNN activation name, alpha or None, beta or None), as
#: listed by the ONNX LSTM/GRU/RNN specs ("Activation functions"); ``linear`` is
#: ``Affine(alpha=1, beta=0)``, ``hard_sigmoid`` is Keras 3's ``relu6(x + 3) / 6``.
ONNX_ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "linear": ("Affine", 1.0, 0.0),
    "relu": ("Relu", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "tanh": ("Tanh", None, None),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}

_ONNX_OP = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "RNN"}
_INT64_MIN = np.iinfo(np.int64).min


def gate_order(op: str) -> tuple[int, ...]:
    """For each ONNX gate block, the Keras gate block it takes: LSTM ``(0, 3, 1, 2)``
    (Keras i, f, c, o -> ONNX i, o, f, c), GRU ``(0, 1, 2)``, RNN ``(0,)``."""
    return {"lstm": (0, 3, 1, 2), "gru": (0, 1, 2), "simple_rnn": (0,)}[op]


def _regate(a: np.ndarray, op: str, axis: int) -> np.ndarray:
    blocks = np.split(a, len(gate_order(op)), axis=axis)
    return np.concatenate([blocks[i] for i in gate_order(op)], axis=axis)


def _onnx_w(kernel: np.ndarray, op: str) -> np.ndarray:
    """Keras ``(in, G*H)`` kernel -> ONNX ``(G*H, in)`` in ONNX gate order."""
    return _regate(kernel, op, 1).T


def _onnx_b(bias: np.ndarray, op: str, reset_after: bool) -> np.ndarray:
    """Keras bias -> ONNX ``(2*G*H,)``: ``[Wb, Rb]`` in ONNX gate order."""
    if op == "gru" and reset_after:
        wb, rb = bias[0], bias[1]
    else:
        wb, rb = bias, np.zeros_like(bias)
    return np.concatenate([_regate(wb, op, 0), _regate(rb, op, 0)])


def _unsupported(node: Node, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{node.op}: {what}", where=f"node {node.name!r}")


def _activation_attrs(node: Node, names: list[str], directions: int) -> dict:
    funcs, alphas, betas = [], [], []
    for name in names * directions:
        if name not in ONNX_ACTIVATIONS:
            raise _unsupported(node, f"activation {name!r} has no ONNX RNN equivalent")
        fn, alpha, beta = ONNX_ACTIVATIONS[name]
        funcs.append(fn)
        if alpha is not None:
            alphas.append(alpha)
        if beta is not None:
            betas.append(beta)
    out: dict = {"activations": funcs}
    if alphas:
        out["activation_alpha"] = alphas
    if betas:
        out["activation_beta"] = betas
    return out


def _weights(ctx: OnnxEmitContext, node: Node, bidirectional: bool) -> list[str]:
    """ONNX ``W``, ``R`` and ``B`` (``""`` when the layer has no bias) initializers."""
    op, ins = node.op, _padded_inputs(node)
    reset_after = bool(node.attrs.get("reset_after", False))
    if not bidirectional:
        return _direction_weights(ctx, node, 1)
    arr = ctx.weight_array
    w = ctx.constant(np.stack([_onnx_w(arr(ins[1]), op), _onnx_w(arr(ins[4]), op)]), "W")
    r = ctx.constant(np.stack([_onnx_w(arr(ins[2]), op), _onnx_w(arr(ins[5]), op)]), "R")
    b = (ctx.constant(np.stack([_onnx_b(arr(ins[3]), op, reset_after),
                                _onnx_b(arr(ins[6]), op, reset_after)]), "B")
         if ins[3] else "")
    return [w, r, b]


def _int64s(ctx: OnnxEmitContext, values, suffix: str) -> str:
    return ctx.constant(np.asarray(values, np.int64), suffix)


#: per emission context: the fused ONNX outputs of each group of nodes that are the
#: outputs of one call (same op, inputs and attributes but ``result``)
_FUSED: "weakref.WeakKeyDictionary[OnnxEmitContext, dict]" = weakref.WeakKeyDictionary()


def _group_key(node: Node) -> tuple:
    return (node.op, tuple(node.inputs),
            tuple(sorted((k, v) for k, v in node.attrs.items() if k != "result")))


def _padded_inputs(node: Node) -> list[str]:
    n = MASK + 1 + len(STATE_INPUTS[node.op])
    return list(node.inputs) + [""] * (n - len(node.inputs))


def _initial(ctx: OnnxEmitContext, ins: list[str], op: str, which: str,
             directions: tuple[str, ...]) -> str:
    """ONNX ``initial_h`` / ``initial_c`` ``(D, N, H)`` from the IR initial states of
    ``directions`` (``""`` when the node has none)."""
    idx = STATE_INPUTS[op]
    names = [ins[idx[f"{d}initial_{which}"]] for d in directions]
    if not all(names):
        return ""
    parts = [ctx.add("Unsqueeze", [ctx.get(n, NHWC), _int64s(ctx, [0], "axes")]) for n in names]
    return parts[0] if len(parts) == 1 else ctx.add("Concat", parts, axis=0)


def _onnx_node(ctx: OnnxEmitContext, node: Node, inputs: list[str], direction: str,
               n_dir: int, want_y: bool, want_h: bool, want_c: bool) -> tuple[str, str, str]:
    """Append one ONNX LSTM/GRU/RNN node; returns its ``(Y, Y_h, Y_c)`` (``""`` for the
    outputs not asked for)."""
    op, a = node.op, node.attrs
    acts = ([a["recurrent_activation"], a["activation"], a["activation"]] if op == "lstm" else
            [a["recurrent_activation"], a["activation"]] if op == "gru" else [a["activation"]])
    attrs = dict(hidden_size=a["units"], direction=direction,
                 **_activation_attrs(node, acts, n_dir))
    if op == "gru":
        attrs["linear_before_reset"] = int(a["reset_after"])
    while inputs and not inputs[-1]:
        inputs = inputs[:-1]
    y = ctx.fresh("Y") if want_y else ""
    y_h = ctx.fresh("Y_h") if want_h else ""
    y_c = ctx.fresh("Y_c") if want_c else ""
    outputs = [y, y_h, y_c]
    while not outputs[-1]:
        outputs.pop()
    ctx.nodes.append(onnx.helper.make_node(_ONNX_OP[op], inputs, outputs,
                                           name=ctx.node_name(f"{node.name}/{_ONNX_OP[op]}"),
                                           **attrs))
    return y, y_h, y_c


def _flip(ctx: OnnxEmitContext, t: str, axis: int) -> str:
    return ctx.add("Slice", [t, _int64s(ctx, [-1], "starts"), _int64s(ctx, [_INT64_MIN], "ends"),
                             _int64s(ctx, [axis], "axes"), _int64s(ctx, [-1], "steps")])


@emits("lstm", "gru", "simple_rnn")
def recurrent(ctx: OnnxEmitContext, node: Node) -> None:
    """The emitter of ``lstm``, ``gru`` and ``simple_rnn`` (see the module docstring).

    The nodes of one ``return_state=True`` call share one fused emission: the first of
    them emits the ONNX node(s), each writes its own ``result`` from their outputs.

    Raises:
        UnsupportedOpError: an activation without an ONNX RNN equivalent.
    """
    fused = _FUSED.setdefault(ctx, {})
    key = _group_key(node)
    if key not in fused:
        masked = bool(_padded_inputs(node)[MASK])
        fused[key] = _masked_run(ctx, node) if masked else _plain_run(ctx, node)
    raw = fused[key]
    out = ctx.define(node.output.name, NHWC)
    raw["finish"](node.attrs.get("result", "output"), out)


def _plain_run(ctx: OnnxEmitContext, node: Node) -> dict:
    """The unmasked case: one ONNX node over the whole sequence, both directions in it."""
    op, a = node.op, node.attrs
    ins = _padded_inputs(node)
    direction = a["direction"]
    bidirectional = direction == "bidirectional"
    dirs = ("", "backward_") if bidirectional else ("",)
    x = ctx.get(ins[0], NHWC)
    x_tm = ctx.add("Transpose", [x], perm=[1, 0, 2])  # (T, N, C)
    w, r, b = _weights(ctx, node, bidirectional)
    init_h = _initial(ctx, ins, op, "h", dirs)
    init_c = _initial(ctx, ins, op, "c", dirs) if op == "lstm" else ""
    seq = a["return_sequences"]
    want_c = op == "lstm" and bool(a.get("return_state", False))
    y, y_h, y_c = _onnx_node(ctx, node, [x_tm, w, r, b, "", init_h, init_c],
                             {"forward": "forward", "backward": "reverse",
                              "bidirectional": "bidirectional"}[direction],
                             len(dirs), seq, not seq or want_c or bool(a.get("return_state")),
                             want_c)

    def finish(result: str, out: str) -> None:
        if result != "output":
            state = y_c if result.endswith("c") else y_h  # (D, N, H)
            if not bidirectional:
                ctx.add("Squeeze", [state, _int64s(ctx, [0], "axes")], out)
            else:
                index = ctx.constant(np.asarray(int(result.startswith("backward_")), np.int64),
                                     "direction")
                ctx.add("Gather", [state, index], out, axis=0)
            return
        _plain_output(ctx, node, y if seq else y_h, out)
    return {"finish": finish}


def _plain_output(ctx: OnnxEmitContext, node: Node, result: str, out: str) -> None:
    """``Y`` ``(T, D, N, H)`` or ``Y_h`` ``(D, N, H)`` -> the Keras output ``out``."""
    a = node.attrs
    units, merge, direction = a["units"], a["merge_mode"], a["direction"]
    bidirectional = direction == "bidirectional"
    dtype: DType = node.output.type.dtype
    if not a["return_sequences"]:  # Y_h: (D, N, H)
        if not bidirectional:
            ctx.add("Squeeze", [result, _int64s(ctx, [0], "axes")], out)
        elif merge == "concat":
            t = ctx.add("Transpose", [result], perm=[1, 0, 2])  # (N, 2, H)
            ctx.add("Reshape", [t, _int64s(ctx, [0, 2 * units], "shape")], out)
        else:
            _reduce_merge(ctx, merge, result, 0, dtype, out)
        return
    # Y: (T, D, N, H)
    if not bidirectional:
        y = result
        if direction == "backward":  # Keras: processing order, i.e. reversed in time
            y = _flip(ctx, y, 0)
        y = ctx.add("Squeeze", [y, _int64s(ctx, [1], "axes")])  # (T, N, H)
        ctx.add("Transpose", [y], out, perm=[1, 0, 2])
    elif merge == "concat":
        t = ctx.add("Transpose", [result], perm=[2, 0, 1, 3])  # (N, T, 2, H)
        ctx.add("Reshape", [t, _int64s(ctx, [0, 0, 2 * units], "shape")], out)
    else:
        merged = _reduce_merge(ctx, merge, result, 1, dtype, None)  # (T, N, H)
        ctx.add("Transpose", [merged], out, perm=[1, 0, 2])


def _masked_run(ctx: OnnxEmitContext, node: Node) -> dict:
    """The masked case, exact for any mask (see the module docstring): per direction,
    the unmasked steps are moved to the front in order (``ScatterElements``), one
    forward ONNX node runs over them with ``sequence_lens`` = their count, and the
    outputs are gathered back to every step."""
    op, a = node.op, node.attrs
    ins = _padded_inputs(node)
    direction = a["direction"]
    bidirectional = direction == "bidirectional"
    dtype: DType = node.output.type.dtype
    zero = ctx.scalar(0.0, dtype, "zero")
    zero_out = bool(a.get("zero_output_for_mask", False))
    seq = a["return_sequences"]
    want_c = op == "lstm" and bool(a.get("return_state", False))
    x = ctx.get(ins[0], NHWC)
    mask = ctx.get(ins[MASK], NHWC)
    one = _int64s(ctx, 1, "one")
    runs = {}
    dirs = ("", "backward_") if bidirectional else ("",)
    for d in dirs:
        reverse = d == "backward_" or direction == "backward"
        x_p = _flip(ctx, x, 1) if reverse else x
        m_p = _flip(ctx, mask, 1) if reverse else mask
        mi = ctx.add("Cast", [m_p], to=onnx.TensorProto.INT64)
        cs = ctx.add("CumSum", [mi, _int64s(ctx, 1, "axis")])  # (N, T) inclusive count
        n = ctx.add("ReduceSum", [mi, _int64s(ctx, [1], "axes")], keepdims=0)  # (N,)
        shape = ctx.add("Shape", [x_p])
        steps = ctx.add("Squeeze", [ctx.add("Shape", [x_p], start=1, end=2),
                                    _int64s(ctx, [0], "axes")])
        t = ctx.add("Range", [_int64s(ctx, 0, "zero_i"), steps, one])  # (T,)
        # unmasked step t -> cs - 1; masked step t -> n + (t + 1 - cs) - 1
        masked_pos = ctx.add("Sub", [ctx.add("Add", [ctx.add(
            "Unsqueeze", [n, _int64s(ctx, [1], "axes")]), t]), cs])
        pos = ctx.add("Where", [m_p, ctx.add("Sub", [cs, one]), masked_pos])
        idx = ctx.add("Expand", [ctx.add("Unsqueeze", [pos, _int64s(ctx, [2], "axes")]), shape])
        compact = ctx.add("ScatterElements", [x_p, idx, x_p], axis=1)
        x_tm = ctx.add("Transpose", [compact], perm=[1, 0, 2])
        # a row without unmasked steps runs one step, whose results are discarded
        lens = ctx.add("Cast", [ctx.add("Max", [n, one])], to=onnx.TensorProto.INT32)
        w, r, b = _direction_weights(ctx, node, 4 if d else 1)
        init_h = _initial(ctx, ins, op, "h", (d,))
        init_c = _initial(ctx, ins, op, "c", (d,)) if op == "lstm" else ""
        y, y_h, y_c = _onnx_node(ctx, node, [x_tm, w, r, b, lens, init_h, init_c],
                                 "forward", 1, seq, True, want_c)
        runs[d] = dict(m=m_p, cs=cs, n=n, y=y, y_h=y_h, y_c=y_c)

    def state(d: str, which: str, out: str | None) -> str:
        run = runs[d]
        ran = ctx.add("Unsqueeze", [ctx.add("Greater", [run["n"], _int64s(ctx, 0, "zero_i")]),
                                    _int64s(ctx, [1], "axes")])  # (N, 1)
        h = ctx.add("Squeeze", [run["y_c" if which == "c" else "y_h"],
                                _int64s(ctx, [0], "axes")])
        init = ins[STATE_INPUTS[op][f"{d}initial_{which}"]]
        return ctx.add("Where", [ran, h, ctx.get(init, NHWC) if init else zero], out)

    def last(d: str, out: str | None) -> str:
        run = runs[d]
        if zero_out:  # zeros when the last step processed is masked
            valid = ctx.add("Gather", [run["m"], _int64s(ctx, [-1], "last")], axis=1)
        else:  # zeros when no step ran
            valid = ctx.add("Unsqueeze", [ctx.add("Greater", [run["n"], _int64s(
                ctx, 0, "zero_i")]), _int64s(ctx, [1], "axes")])
        h = ctx.add("Squeeze", [run["y_h"], _int64s(ctx, [0], "axes")])
        return ctx.add("Where", [valid, h, zero], out)

    def sequence(d: str, out: str | None) -> str:
        """Every step's output, in processing order."""
        run = runs[d]
        y = ctx.add("Transpose", [ctx.add("Squeeze", [run["y"], _int64s(ctx, [1], "axes")])],
                    perm=[1, 0, 2])  # (N, T, H), the compacted steps' outputs
        g = ctx.add("Max", [ctx.add("Sub", [run["cs"], one]), _int64s(ctx, 0, "zero_i")])
        g = ctx.add("Expand", [ctx.add("Unsqueeze", [g, _int64s(ctx, [2], "axes")]),
                               ctx.add("Shape", [y])])
        gathered = ctx.add("GatherElements", [y, g], axis=1)
        valid = run["m"] if zero_out else ctx.add("Greater", [run["cs"], _int64s(ctx, 0,
                                                                                "zero_i")])
        valid = ctx.add("Unsqueeze", [valid, _int64s(ctx, [2], "axes")])
        return ctx.add("Where", [valid, gathered, zero], out)

    def finish(result: str, out: str) -> None:
        if result != "output":
            d = "backward_" if result.startswith("backward_") else ""
            state(d, result.rpartition("_")[2], out)
            return
        if not bidirectional:
            (sequence if seq else last)("", out)
            return
        if seq:
            fwd, bwd = sequence("", None), _flip(ctx, sequence("backward_", None), 1)
        else:
            fwd, bwd = last("", None), last("backward_", None)
        merge = a["merge_mode"]
        if merge == "concat":
            ctx.add("Concat", [fwd, bwd], out, axis=-1)
        elif merge == "sum":
            ctx.add("Add", [fwd, bwd], out)
        elif merge == "mul":
            ctx.add("Mul", [fwd, bwd], out)
        else:
            ctx.add("Div", [ctx.add("Add", [fwd, bwd]), ctx.scalar(2.0, dtype, "two")], out)
    return {"finish": finish}


def _direction_weights(ctx: OnnxEmitContext, node: Node, first: int) -> list[str]:
    """ONNX ``W``, ``R``, ``B`` (``D = 1``) of the weights at inputs ``first..first+2``."""
    op, ins = node.op, _padded_inputs(node)
    reset_after = bool(node.attrs.get("reset_after", False))
    w = ctx.derived_weight(ins[first], f"onnx_{op}_W", lambda a: _onnx_w(a, op)[None])
    r = ctx.derived_weight(ins[first + 1], f"onnx_{op}_R", lambda a: _onnx_w(a, op)[None])
    b = (ctx.derived_weight(ins[first + 2], f"onnx_{op}_B" + ("_ra" if reset_after else ""),
                            lambda a: _onnx_b(a, op, reset_after)[None])
         if ins[first + 2] else "")
    return [w, r, b]


def _reduce_merge(ctx: OnnxEmitContext, merge: str, y: str, axis: int, dtype: DType,
                  out: str | None) -> str:
    """Merge the direction axis ``axis`` of ``y`` (size 2: forward, backward) by
    ``sum`` / ``mul`` / ``ave``.  A reduction of two values is one addition (or
    multiplication), rounded once, as Keras' ``y + y_rev``."""
    axes = _int64s(ctx, [axis], "axes")
    if merge == "mul":
        return ctx.add("ReduceProd", [y, axes], out, keepdims=0)
    if merge == "sum":
        return ctx.add("ReduceSum", [y, axes], out, keepdims=0)
    total = ctx.add("ReduceSum", [y, axes], keepdims=0)
    return ctx.add("Div", [total, ctx.scalar(2.0, dtype, "two")], out)


# --------------------------------------------------------------------------- conv_lstm

def _same_pads(node: Node, sizes, ksize, strides, dilations) -> list[int]:
    """ONNX ``pads`` (begins, then ends) of TensorFlow padding over ``sizes``.

    Raises:
        UnsupportedOpError: ``"same"`` on a dynamic axis with a stride > 1 (the padding
            then depends on the size).
    """
    if node.attrs["padding"] == "valid":
        return [0] * (2 * len(ksize))
    pairs = []
    for n, k, s, d in zip(sizes, ksize, strides, dilations):
        if isinstance(n, int):
            pairs.append(same_padding(n, k, s, d))
        elif s == 1:
            pairs.append(((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2))
        else:
            raise _unsupported(node, "padding='same' with a stride > 1 on a dynamic spatial "
                                     "axis")
    return [p[0] for p in pairs] + [p[1] for p in pairs]


def _body_activation(name: str, x: str, out: str) -> onnx.NodeProto:
    """One node of a Scan body computing IR activation ``name`` (:data:`ONNX_ACTIVATIONS`;
    ``linear`` is an ``Identity``: ONNX's RNN-only ``Affine`` is no operator)."""
    fn, alpha, beta = ONNX_ACTIVATIONS[name]
    if fn == "Affine":
        return onnx.helper.make_node("Identity", [x], [out])
    kw = {}
    if alpha is not None:
        kw["alpha"] = alpha
    if beta is not None:
        kw["beta"] = beta
    return onnx.helper.make_node(fn, [x], [out], **kw)


@emits("conv_lstm1d", "conv_lstm2d", "conv_lstm3d")
def conv_lstm(ctx: OnnxEmitContext, node: Node) -> None:
    """``conv_lstm{r}d`` as ONNX has no convolutional RNN operator: the input convolution
    of every step at once (one ``Conv`` over ``(T * N, C, *S)``, bias included), then a
    ``Scan`` over time (``scan_input_directions=[1]`` for ``backward``, outputs in
    processing order) whose body adds the recurrent ``Conv`` of ``h`` (stride 1, TF
    "same" pads), splits the gates ``i, f, c, o`` (Keras order) and updates
    ``c = ra(f) c + ra(i) a(g)``, ``h = ra(o) a(c)`` from zero states
    (``ConstantOfShape``) or the initial states.  Channels-first inside, transposed at
    the boundary.  The nodes of one ``return_state`` call share the Scan (its final
    ``h`` and ``c`` are the state results).

    Raises:
        UnsupportedOpError: "same" padding with a stride > 1 on a dynamic spatial axis.
    """
    fused = _FUSED.setdefault(ctx, {})
    key = _group_key(node)
    if key not in fused:
        fused[key] = _conv_lstm_run(ctx, node)
    r = ctx.rank(node.inputs[0]) - 3
    h_last, c_last, ys = fused[key]
    out = ctx.define(node.output.name, NHWC)
    result = node.attrs.get("result", "output")
    if result == "output" and node.attrs["return_sequences"]:
        # (T, N, F, *S') in processing order -> (N, T, *S', F)
        ctx.add("Transpose", [ys], out, perm=[1, 0] + list(range(3, r + 3)) + [2])
    else:
        state = c_last if result == "c" else h_last
        ctx.add("Transpose", [state], out, perm=[0] + list(range(2, r + 2)) + [1])


def _conv_lstm_run(ctx: OnnxEmitContext, node: Node) -> tuple[str, str, str]:
    """The ONNX nodes of a ``conv_lstm{r}d`` call; returns the Scan's final ``h``, final
    ``c`` ``(N, F, *S')`` and stacked ``h`` ``(T, N, F, *S')``."""
    a = node.attrs
    ins = list(node.inputs) + [""] * (6 - len(node.inputs))
    r = ctx.rank(ins[0]) - 3
    filters = a["filters"]
    kshape = ctx.weight_array(ins[1]).shape[:r]
    dtype: DType = node.output.type.dtype
    elem = onnx_elem_type(dtype)
    x = ctx.get(ins[0], NHWC)  # (N, T, *S, C)
    perm_in = [1, 0, r + 2] + list(range(2, r + 2))  # -> (T, N, C, *S)
    x_tm = ctx.add("Transpose", [x], perm=perm_in)
    shape_tm = ctx.add("Shape", [x_tm])
    flat = ctx.add("Reshape", [x_tm, ctx.add("Concat", [
        _int64s(ctx, [-1], "minus_one"), ctx.add("Slice", [shape_tm, _int64s(ctx, [2], "s"),
                                                           _int64s(ctx, [r + 3], "e")])],
        axis=0)])  # (T * N, C, *S)
    perm_k = [r + 1, r] + list(range(r))  # (*k, i, o) -> (o, i, *k)
    w = ctx.derived_weight(ins[1], "onnx_conv_lstm_W", lambda k: k.transpose(perm_k))
    rw = ctx.derived_weight(ins[2], "onnx_conv_lstm_R", lambda k: k.transpose(perm_k))
    sizes = ctx.types[ins[0]].shape[2:2 + r]
    conv_in = [flat, w] + ([ctx.get(ins[3])] if ins[3] else [])
    xz = ctx.add("Conv", conv_in, kernel_shape=list(kshape), strides=list(a["strides"]),
                 dilations=list(a["dilations"]),
                 pads=_same_pads(node, sizes, kshape, a["strides"], a["dilations"]))
    xz_shape = ctx.add("Shape", [xz])  # (T * N, 4F, *S')
    xz = ctx.add("Reshape", [xz, ctx.add("Concat", [
        ctx.add("Slice", [shape_tm, _int64s(ctx, [0], "s"), _int64s(ctx, [2], "e")]),
        ctx.add("Slice", [xz_shape, _int64s(ctx, [1], "s"), _int64s(ctx, [r + 2], "e")])],
        axis=0)])  # (T, N, 4F, *S')
    state_shape = ctx.add("Concat", [
        ctx.add("Slice", [shape_tm, _int64s(ctx, [1], "s"), _int64s(ctx, [2], "e")]),
        _int64s(ctx, [filters], "filters"),
        ctx.add("Slice", [xz_shape, _int64s(ctx, [2], "s"), _int64s(ctx, [r + 2], "e")])],
        axis=0)  # (N, F, *S')
    if ins[4]:  # the initial states, channels-first
        to_cf = [0, r + 1] + list(range(1, r + 1))
        h0 = ctx.add("Transpose", [ctx.get(ins[4], NHWC)], perm=to_cf)
        c0 = ctx.add("Transpose", [ctx.get(ins[5], NHWC)], perm=to_cf)
    else:
        h0 = c0 = ctx.add("ConstantOfShape", [state_shape],
                          value=onnx.helper.make_tensor("zero", elem, [1], [0]))
    # the Scan body: (h, c, xz_t) -> (h', c', h')
    split = ctx.constant(np.full(4, filters, np.int64), "split")
    rec_pads = [(k - 1) // 2 for k in kshape] + [(k - 1) - (k - 1) // 2 for k in kshape]
    act, ract = a["activation"], a["recurrent_activation"]
    body_nodes = [
        onnx.helper.make_node("Conv", ["h_in", rw], ["hz"], kernel_shape=list(kshape),
                              pads=rec_pads),
        onnx.helper.make_node("Add", ["xz_t", "hz"], ["z"]),
        onnx.helper.make_node("Split", ["z", split], ["z_i", "z_f", "z_c", "z_o"], axis=1),
        _body_activation(ract, "z_i", "g_i"), _body_activation(ract, "z_f", "g_f"),
        _body_activation(act, "z_c", "g_c"), _body_activation(ract, "z_o", "g_o"),
        onnx.helper.make_node("Mul", ["g_f", "c_in"], ["fc"]),
        onnx.helper.make_node("Mul", ["g_i", "g_c"], ["ig"]),
        onnx.helper.make_node("Add", ["fc", "ig"], ["c_out"]),
        _body_activation(act, "c_out", "a_c"),
        onnx.helper.make_node("Mul", ["g_o", "a_c"], ["h_out"]),
        onnx.helper.make_node("Identity", ["h_out"], ["y_out"]),
    ]
    # the body's own names, made unique against the outer graph's (one SSA namespace)
    local = {n for bn in body_nodes for n in bn.output} | {"h_in", "c_in", "xz_t"}
    prefix = ctx.fresh("scan") + "/"
    for bn in body_nodes:
        bn.input[:] = [prefix + n if n in local else n for n in bn.input]
        bn.output[:] = [prefix + n for n in bn.output]
    vi = lambda n: onnx.helper.make_tensor_value_info(prefix + n, elem, None)  # noqa: E731
    body = onnx.helper.make_graph(body_nodes, f"{node.name}/scan_body",
                                  [vi("h_in"), vi("c_in"), vi("xz_t")],
                                  [vi("h_out"), vi("c_out"), vi("y_out")])
    h_last, c_last, ys = ctx.fresh("h_last"), ctx.fresh("c_last"), ctx.fresh("ys")
    backward = a["direction"] == "backward"
    ctx.nodes.append(onnx.helper.make_node(
        "Scan", [h0, c0, xz], [h_last, c_last, ys],
        name=ctx.node_name(f"{node.name}/Scan"), num_scan_inputs=1, body=body,
        scan_input_directions=[1 if backward else 0]))
    return h_last, c_last, ys
