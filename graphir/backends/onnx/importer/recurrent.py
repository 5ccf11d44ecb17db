"""Converters of ONNX's ``LSTM``, ``GRU`` and ``RNN``: one IR ``lstm`` / ``gru`` /
``simple_rnn`` node per direction (Keras layout and gate order), with the layout
nodes that give ONNX's outputs.

* ``X`` ``(T, N, C)`` (``layout=0``) is transposed to the IR's ``(N, T, C)``;
* ``W`` ``(D, G*H, C)`` / ``R`` ``(D, G*H, H)`` -> Keras ``(C, G*H)`` / ``(H, G*H)``,
  ONNX gate blocks reordered to Keras' (LSTM ``i, o, f, c`` -> ``i, f, c, o``; GRU
  ``z, r, h`` and RNN unchanged, as :func:`graphir.backends.onnx.recurrent_ops.gate_order`);
* ``B`` ``(D, 2*G*H)`` = ``[Wb, Rb]``: their sum as the Keras bias, except a GRU with
  ``linear_before_reset=1`` (Keras ``reset_after=True``), whose bias is ``(2, 3H)`` =
  ``[Wb, Rb]`` (the ONNX GRU equations);
* ``reverse`` is the IR's ``backward``, whose sequence is in processing order: flipped
  back to ONNX's input order; ``bidirectional`` is a forward and a backward node
  stacked on ONNX's direction axis.
* ``Y`` ``(T, D, N, H)`` and ``Y_h`` ``(D, N, H)`` (``layout=1``: ``(N, T, D, H)`` and
  ``(N, D, H)``) come from the sequence output (``Y_h`` alone:
  ``return_sequences=False``); ``Y_c`` from a node of the same call with
  ``return_state=true, result="c"`` (the emitters fuse them again);
* ``initial_h`` / ``initial_c`` ``(D, N, H)`` (``layout=1``: ``(N, D, H)``) that are
  not constant zeros are sliced per direction into the node's ``initial_h`` /
  ``initial_c`` inputs.

Refused: an LSTM with only one of ``initial_h``/``initial_c`` non-zero (the IR takes
both or neither), peepholes ``P``, ``sequence_lens`` other than the full length,
``clip``, ``input_forget``, activations the IR's recurrent ops lack (or an LSTM whose
``g`` and ``h`` differ, Keras uses one ``activation``).
"""

from __future__ import annotations

import numpy as np
import onnx

from graphir.ops.indexing import SLICE_END

from ..recurrent_ops import ONNX_ACTIVATIONS, gate_order
from .context import ImportContext
from .registry import imports

__all__: list[str] = []

_IR_OP = {"LSTM": "lstm", "GRU": "gru", "RNN": "simple_rnn"}
_DEFAULTS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}
_ATTRS = ("activation_alpha", "activation_beta", "activations", "clip", "direction",
          "hidden_size", "input_forget", "layout")


def _to_keras_gates(a: np.ndarray, op: str, axis: int) -> np.ndarray:
    order = gate_order(op)
    blocks = np.split(a, len(order), axis=axis)
    keras = [None] * len(order)
    for j, k in enumerate(order):
        keras[k] = blocks[j]
    return np.concatenate(keras, axis=axis)


def _activations(ctx: ImportContext, op_type: str, n_dir: int) -> list[list[str]]:
    """IR activation names per direction."""
    funcs = ctx.attr("activations")
    per = len(_DEFAULTS[op_type])
    funcs = list(funcs) if funcs is not None else list(_DEFAULTS[op_type]) * n_dir
    if len(funcs) != per * n_dir:
        raise ctx.error(f"activations {funcs} must list {per * n_dir} functions")
    alphas = list(ctx.attr("activation_alpha", ()))
    betas = list(ctx.attr("activation_beta", ()))
    out = []
    for fn in funcs:
        match = None
        for ir, (name, alpha, beta) in ONNX_ACTIVATIONS.items():
            if name.lower() != fn.lower():
                continue
            got_a = alphas.pop(0) if alpha is not None and alphas else alpha
            got_b = betas.pop(0) if beta is not None and betas else beta
            if (alpha is None or np.float32(got_a) == np.float32(alpha)) and (
                    beta is None or np.float32(got_b) == np.float32(beta)):
                match = ir
            break
        if match is None:
            raise ctx.error(f"recurrent activation {fn!r} (with its alpha/beta) is not "
                            f"supported")
        out.append(match)
    return [out[i * per:(i + 1) * per] for i in range(n_dir)]


def _initial_states(ctx: ImportContext, op_type: str) -> list[str]:
    """The IR values of ``initial_h`` (and ``initial_c``), ``[]`` when all are omitted or
    constant zeros (the IR's default)."""
    given = []
    for index in ((5, 6) if op_type == "LSTM" else (5,)):
        c = ctx.const(index) if ctx.input(index) else None
        given.append("" if not ctx.input(index) or (c is not None and not np.any(c != 0))
                     else ctx.input(index))
    if not any(given):
        return []
    if not all(given):
        raise ctx.error("only one of initial_h and initial_c is given and non-zero; the IR's "
                        "lstm takes both or neither")
    return given


def _direction_state(ctx: ImportContext, state: str, d: int, layout: int) -> str:
    """Direction ``d`` of an ONNX state ``(D, N, H)`` (``layout=1``: ``(N, D, H)``) as
    ``(N, H)``."""
    axis = 1 if layout else 0
    starts, ends = [0, 0, 0], [SLICE_END] * 3
    starts[axis], ends[axis] = d, d + 1
    sliced = ctx.emit("slice", [state], {"starts": tuple(starts), "ends": tuple(ends),
                                         "steps": (1, 1, 1)})
    return ctx.emit("squeeze", [sliced], {"axes": (axis,)})


def _zero_or_absent(ctx: ImportContext, index: int, what: str) -> None:
    if not ctx.input(index):
        return
    c = ctx.const(index)
    if c is None or np.any(c != 0):
        raise ctx.error(f"a non-zero {what} is not supported (the IR's recurrent ops start "
                        f"from zeros)")


def _recurrent(ctx: ImportContext, node: onnx.NodeProto) -> None:
    op_type = node.op_type
    op = _IR_OP[op_type]
    x = ctx.input(0)
    w = ctx.require_const(1, "W")
    rk = ctx.require_const(2, "R")
    b = ctx.const(3) if ctx.input(3) else None
    if ctx.input(3) and b is None:
        raise ctx.error("B must be known at import time", operand=3)
    if ctx.attr("clip") is not None:
        raise ctx.error("clip is not supported")
    if int(ctx.attr("input_forget", 0)):
        raise ctx.error("input_forget=1 is not supported")
    tx = ctx.type(x)
    layout = int(ctx.attr("layout", 0))
    steps = tx.shape[1 if layout else 0]
    if ctx.input(4):
        lens = ctx.const(4)
        if lens is None or not isinstance(steps, int) or np.any(lens != steps):
            raise ctx.error("sequence_lens shorter than the sequence are not supported")
    initial = _initial_states(ctx, op_type)
    want_c = op_type == "LSTM" and len(node.output) > 2 and bool(node.output[2])
    if op_type == "LSTM":
        _zero_or_absent(ctx, 7, "P (peepholes)")
    direction = ctx.attr("direction", "forward")
    n_dir = 2 if direction == "bidirectional" else 1
    units = int(ctx.attr("hidden_size", rk.shape[-1]))
    acts = _activations(ctx, op_type, n_dir)
    lbr = int(ctx.attr("linear_before_reset", 0)) if op_type == "GRU" else 0
    xs = x if layout else ctx.emit("transpose", [x], {"perm": (1, 0, 2)})  # (N, T, C)
    want_y = len(node.output) > 0 and bool(node.output[0])
    want_h = len(node.output) > 1 and bool(node.output[1])
    dirs = ["forward", "backward"] if n_dir == 2 else [
        {"forward": "forward", "reverse": "backward"}.get(direction)]
    if dirs[0] is None:
        raise ctx.error(f"direction={direction!r} is not supported")
    seqs, lasts, cells = [], [], []
    for d, ir_dir in enumerate(dirs):
        kernel = ctx.constant(np.ascontiguousarray(_to_keras_gates(w[d], op, 0).T))
        recurrent = ctx.constant(np.ascontiguousarray(_to_keras_gates(rk[d], op, 0).T))
        inputs = [xs, kernel, recurrent]
        if b is not None:
            gh = b.shape[-1] // 2
            wb, rb = _to_keras_gates(b[d][:gh], op, 0), _to_keras_gates(b[d][gh:], op, 0)
            bias = np.stack([wb, rb]) if lbr else (wb.astype(np.float64) + rb).astype(wb.dtype)
            inputs.append(ctx.constant(bias))
        elif lbr:
            inputs.append(ctx.constant(np.zeros((2, 3 * units), w.dtype)))
        attrs = {"units": units, "direction": ir_dir, "merge_mode": "none"}
        if op == "lstm":
            f, g, h = acts[d]
            if g != h:
                raise ctx.error(f"LSTM activations g={g} and h={h} differ (Keras uses one)")
            attrs.update(recurrent_activation=f, activation=g)
        elif op == "gru":
            attrs.update(recurrent_activation=acts[d][0], activation=acts[d][1],
                         reset_after=bool(lbr))
        else:
            attrs.update(activation=acts[d][0])
        if initial:
            inputs = (inputs + [""] * 7)[:7] + [""] + [
                _direction_state(ctx, t, d, layout) for t in initial]
        if want_c:  # one call returning its states: the nodes differ only in ``result``
            attrs["return_state"] = True
            cells.append(ctx.emit(op, inputs, {**attrs, "return_sequences": want_y,
                                               "result": "c"}))
        if want_y:
            seq = ctx.emit(op, inputs, {**attrs, "return_sequences": True})  # (N, T, H)
            if ir_dir == "backward":  # processing order -> input order
                seq = ctx.emit("flip", [seq], {"axes": (1,)})
            seqs.append(seq)
            if want_h:
                time_axis_last = -1 if ir_dir == "forward" else 0
                last = ctx.emit("slice", [seq], {
                    "starts": (0, time_axis_last, 0),
                    "ends": (SLICE_END, SLICE_END if time_axis_last == -1 else 1, SLICE_END),
                    "steps": (1, 1, 1)})
                lasts.append(ctx.emit("squeeze", [last], {"axes": (1,)}))
        elif want_h:
            lasts.append(ctx.emit(op, inputs, {**attrs, "return_sequences": False}))
    # layout 0: Y (T, D, N, H), Y_h (D, N, H); layout 1: Y (N, T, D, H), Y_h (N, D, H)
    if want_y:
        tm = seqs if layout else [ctx.emit("transpose", [s], {"perm": (1, 0, 2)})
                                  for s in seqs]  # (T, N, H) for layout 0
        dir_axis = 2 if layout else 1
        if len(tm) == 1:
            ctx.emit("expand_dims", tm, {"axes": (dir_axis,)}, out=ctx.out(0))
        else:
            ctx.emit("stack", tm, {"axis": dir_axis}, out=ctx.out(0))
    for index, states in ((1, lasts if want_h else []), (2, cells)):
        if not states:
            continue
        dir_axis = 1 if layout else 0
        if len(states) == 1:
            ctx.emit("expand_dims", states, {"axes": (dir_axis,)}, out=ctx.out(index))
        else:
            ctx.emit("stack", states, {"axis": dir_axis}, out=ctx.out(index))


imports("LSTM", attrs=_ATTRS)(_recurrent)
imports("GRU", attrs=_ATTRS + ("linear_before_reset",))(_recurrent)
imports("RNN", attrs=_ATTRS)(_recurrent)
_recurrent.__doc__ = "LSTM / GRU / RNN -> one IR recurrent node per direction (module docstring)."
