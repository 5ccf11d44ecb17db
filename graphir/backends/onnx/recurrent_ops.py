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
  ``ave`` ``ReduceSum`` then ``Div`` by 2 (Keras' ``(y + y_rev) / 2``).
"""

from __future__ import annotations

import numpy as np
import onnx

from graphir.dtypes import DType
from graphir.errors import UnsupportedOpError
from graphir.ir import Node

from .context import NHWC, OnnxEmitContext
from .registry import emits

__all__ = ["ONNX_ACTIVATIONS", "gate_order", "recurrent"]

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
    op, ins = node.op, list(node.inputs) + [""] * (7 - len(node.inputs))
    reset_after = bool(node.attrs.get("reset_after", False))
    if not bidirectional:
        w = ctx.derived_weight(ins[1], f"onnx_{op}_W", lambda a: _onnx_w(a, op)[None])
        r = ctx.derived_weight(ins[2], f"onnx_{op}_R", lambda a: _onnx_w(a, op)[None])
        b = (ctx.derived_weight(ins[3], f"onnx_{op}_B" + ("_ra" if reset_after else ""),
                                lambda a: _onnx_b(a, op, reset_after)[None])
             if ins[3] else "")
        return [w, r, b]
    arr = ctx.weight_array
    w = ctx.constant(np.stack([_onnx_w(arr(ins[1]), op), _onnx_w(arr(ins[4]), op)]), "W")
    r = ctx.constant(np.stack([_onnx_w(arr(ins[2]), op), _onnx_w(arr(ins[5]), op)]), "R")
    b = (ctx.constant(np.stack([_onnx_b(arr(ins[3]), op, reset_after),
                                _onnx_b(arr(ins[6]), op, reset_after)]), "B")
         if ins[3] else "")
    return [w, r, b]


def _int64s(ctx: OnnxEmitContext, values, suffix: str) -> str:
    return ctx.constant(np.asarray(values, np.int64), suffix)


@emits("lstm", "gru", "simple_rnn")
def recurrent(ctx: OnnxEmitContext, node: Node) -> None:
    """The emitter of ``lstm``, ``gru`` and ``simple_rnn`` (see the module docstring).

    Raises:
        UnsupportedOpError: an activation without an ONNX RNN equivalent.
    """
    op, a = node.op, node.attrs
    direction = a["direction"]
    bidirectional = direction == "bidirectional"
    n_dir = 2 if bidirectional else 1
    units = a["units"]
    acts = ([a["recurrent_activation"], a["activation"], a["activation"]] if op == "lstm" else
            [a["recurrent_activation"], a["activation"]] if op == "gru" else [a["activation"]])
    attrs = dict(hidden_size=units, direction={"forward": "forward", "backward": "reverse",
                                               "bidirectional": "bidirectional"}[direction],
                 **_activation_attrs(node, acts, n_dir))
    if op == "gru":
        attrs["linear_before_reset"] = int(a["reset_after"])

    x = ctx.get(node.inputs[0], NHWC)
    x_tm = ctx.add("Transpose", [x], perm=[1, 0, 2])  # (T, N, C)
    w, r, b = _weights(ctx, node, bidirectional)
    inputs = [x_tm, w, r] + ([b] if b else [])
    out = ctx.define(node.output.name, NHWC)
    seq = a["return_sequences"]
    result = ctx.fresh("Y" if seq else "Y_h")
    outputs = [result] if seq else ["", result]
    ctx.nodes.append(onnx.helper.make_node(_ONNX_OP[op], inputs, outputs,
                                           name=ctx.node_name(f"{node.name}/{_ONNX_OP[op]}"),
                                           **attrs))
    dtype: DType = node.output.type.dtype
    merge = a["merge_mode"]
    if not seq:  # Y_h: (D, N, H)
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
            y = ctx.add("Slice", [y, _int64s(ctx, [-1], "starts"),
                                  _int64s(ctx, [_INT64_MIN], "ends"),
                                  _int64s(ctx, [0], "axes"), _int64s(ctx, [-1], "steps")])
        y = ctx.add("Squeeze", [y, _int64s(ctx, [1], "axes")])  # (T, N, H)
        ctx.add("Transpose", [y], out, perm=[1, 0, 2])
    elif merge == "concat":
        t = ctx.add("Transpose", [result], perm=[2, 0, 1, 3])  # (N, T, 2, H)
        ctx.add("Reshape", [t, _int64s(ctx, [0, 0, 2 * units], "shape")], out)
    else:
        merged = _reduce_merge(ctx, merge, result, 1, dtype, None)  # (T, N, H)
        ctx.add("Transpose", [merged], out, perm=[1, 0, 2])


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
