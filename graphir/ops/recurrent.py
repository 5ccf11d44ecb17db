"""Recurrent ops: LSTM, GRU and SimpleRNN layers, one direction or both (Keras Bidirectional),
and the convolutional LSTMs (Keras ConvLSTM1D/2D/3D: ``conv_lstm{1,2,3}d``, at the end).

One op per cell type (``lstm``, ``gru``, ``simple_rnn``); one node is one whole Keras
layer call (a ``Bidirectional`` wrapper included), so lowering and Keras emission are
one-to-one.  Every weight is stored in Keras' layout and gate order
(``keras/src/layers/rnn/lstm.py``: ``i, f, c, o``; ``gru.py``: ``z, r, h``):

* ``kernel`` ``(C, G * units)``, ``recurrent_kernel`` ``(units, G * units)`` with
  ``G`` = 4 (lstm), 3 (gru), 1 (simple_rnn);
* ``bias`` ``(G * units,)``, except a GRU with ``reset_after=True``: ``(2, 3 * units)``
  (row 0 the input bias, row 1 the recurrent bias).

Optional data inputs after the weights: ``mask`` (bool ``(N, T)``, Keras' ``mask=``),
the initial states ``initial_h``, ``initial_c`` (lstm) and, for ``"bidirectional"``,
``backward_initial_h``, ``backward_initial_c`` (``(N, units)``, Keras' ``initial_state=``,
forward states then backward ones).  A Keras call with ``return_state=True`` has
several outputs; it lowers to one node per output, the same op on the same inputs with
the same attributes except ``result`` (``"output"``, ``"h"``, ``"c"``,
``"backward_h"``, ``"backward_c"``), so every node is complete by itself and the
emitters fuse the nodes of one call back into one ONNX node or Keras layer call.

``direction`` is ``"forward"``, ``"backward"`` (Keras ``go_backwards=True``: the
sequence is processed from the last step, and ``return_sequences`` returns the
outputs in *processing* order, i.e. reversed) or ``"bidirectional"`` (Keras
``Bidirectional``: a forward and a backward pass with their own weights, the
backward sequence flipped back to input order, then merged by ``merge_mode``).
The spec is ``specs/ops-recurrent.md``.

Reference kernels (NumPy, float64):

The ops ``lstm``, ``gru`` and ``simple_rnn`` compute
Keras 3's inference result, a float64 loop over time from the initial state (zeros
unless given):

* cells as ``LSTMCell.call`` / ``GRUCell.call`` / ``SimpleRNNCell.call`` in
  ``keras/src/layers/rnn/{lstm,gru,simple_rnn}.py`` (implementation 2, the fused
  matmuls; dropout is an inference no-op);
* ``direction="backward"`` as ``go_backwards=True`` in ``keras/src/layers/rnn/rnn.py``
  and ``keras/src/backend/tensorflow/rnn.py``: steps are taken from ``t = T-1`` down
  to 0 and the returned sequence is in that *processing* order (output ``k`` is the
  state after step ``T-1-k``);
* ``direction="bidirectional"`` as ``Bidirectional.call`` in
  ``keras/src/layers/rnn/bidirectional.py``: the forward pass, and the backward pass
  (``go_backwards=True``) whose sequence is flipped back to input order, merged by
  ``concat`` (forward first, on the last axis), ``sum``, ``mul`` or ``ave``
  (``(y + y_rev) / 2``)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from graphir.ops.activations import apply_activation
from graphir.ops.registry import AttrSpec, Kernel, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import conv_out_dim, fmt_shape, require_float, require_rank, same_dtype
from graphir.tensor_types import TensorType

__all__ = ["RNN_ACTIVATIONS", "DIRECTIONS", "MERGE_MODES", "GATES", "MASK", "RESULTS",
           "STATES", "STATE_INPUTS", "CONV_LSTM_RANKS", "conv_lstm", "keras_results",
           "run_direction", "state_inputs"]

#: activations a recurrent op may use: those ONNX's LSTM/GRU/RNN ``activations``
#: attribute expresses exactly (ONNX operator spec, "Activation functions"):
#: ``linear`` is ``Affine(alpha=1, beta=0)``, ``hard_sigmoid`` ``HardSigmoid(1/6, 0.5)``,
#: ``leaky_relu`` ``LeakyRelu(0.2)``, ``elu`` ``Elu(1.0)``.
RNN_ACTIVATIONS = ("linear", "relu", "sigmoid", "hard_sigmoid", "tanh", "softsign",
                   "softplus", "elu", "leaky_relu")
#: processing directions
DIRECTIONS = ("forward", "backward", "bidirectional")
#: ``merge_mode`` values: Keras Bidirectional's four, and ``"none"`` for one direction
MERGE_MODES = ("concat", "sum", "mul", "ave", "none")
#: op name -> number of gates ``G`` (kernel columns are ``G * units``)
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}

_WEIGHT_ROLES = ("x", "kernel", "recurrent_kernel", "bias?", "backward_kernel?",
                 "backward_recurrent_kernel?", "backward_bias?", "mask?")
#: index of the optional ``mask`` input
MASK = 7
#: op -> its state names (Keras' ``state_size`` order)
STATES = {"lstm": ("h", "c"), "gru": ("h",), "simple_rnn": ("h",)}


def state_inputs(op: str) -> dict[str, int]:
    """``{"initial_h": 8, "initial_c": 9, "backward_initial_h": 10, ...}``: the input
    index of each optional initial-state input of ``op`` (forward states, then backward
    ones, the order of Keras' ``initial_state`` list for ``Bidirectional``)."""
    names = [f"{d}initial_{s}" for d in ("", "backward_") for s in STATES[op]]
    return {name: MASK + 1 + i for i, name in enumerate(names)}


#: op -> :func:`state_inputs` (for the emitters, which import only constants of the op set)
STATE_INPUTS = {op: state_inputs(op) for op in STATES}


def keras_results(op: str, bidirectional: bool) -> tuple[str, ...]:
    """The ``result`` values in the order of a Keras ``return_state=True`` call's
    outputs: ``output``, then the states (``h, c`` for lstm), forward then backward
    (``keras/src/layers/rnn/rnn.py`` ``RNN.call``, ``bidirectional.py``)."""
    states = STATES[op]
    if bidirectional:
        return ("output",) + states + tuple(f"backward_{s}" for s in states)
    return ("output",) + states


def _roles(op: str) -> tuple[str, ...]:
    return _WEIGHT_ROLES + tuple(f"{n}?" for n in state_inputs(op))


#: every ``result`` value (``keras_results`` says which an op and direction allow)
RESULTS = ("output", "h", "c", "backward_h", "backward_c")


def _bias_shape(op: str, units: int, attrs: Mapping[str, Any]) -> tuple[int, ...]:
    if op == "gru" and attrs["reset_after"]:
        return (2, 3 * units)
    return (GATES[op] * units,)


def _check_shape(t: TensorType, want: tuple[int, ...], index: int, what: str) -> None:
    if tuple(t.shape) != want:
        raise TypeRuleError(f"{what} must have shape {fmt_shape(want)}, got {fmt_shape(t.shape)}",
                            input_index=index, expected=fmt_shape(want),
                            actual=fmt_shape(t.shape))


def _infer(op: str):
    roles = _roles(op)
    n_roles = len(roles)

    def infer(types: Sequence[TensorType | None], attrs: Mapping[str, Any]):
        types = (list(types) + [None] * n_roles)[:n_roles]
        x, kernel, rkernel, bias, bkernel, brkernel, bbias = types[:7]
        require_rank(x, (3,), input_index=0, what=f"{op} input (N, T, C)")
        require_float(x, 0, f"{op} input")
        require_rank(kernel, (2,), input_index=1, what=f"{op} kernel (C, {GATES[op]} * units)")
        same_dtype([x, kernel, rkernel, bias, bkernel, brkernel, bbias])
        units, g = attrs["units"], GATES[op]
        if units < 1:
            raise TypeRuleError(f"units={units} must be >= 1", expected=">= 1",
                                actual=str(units))
        cin = kernel.shape[0]
        _check_shape(kernel, (cin, g * units), 1, f"{op} kernel (units={units})")
        c = x.shape[2]
        if isinstance(c, int) and c != cin:
            raise TypeRuleError(
                f"{op} expects {cin} input features (last axis), the input has {c}",
                input_index=0, axis=2, expected=f"{cin} features", actual=fmt_shape(x.shape),
                hint="insert a layer that maps the features, or fix the producer's output shape")
        _check_shape(rkernel, (units, g * units), 2, f"{op} recurrent_kernel")
        bshape = _bias_shape(op, units, attrs)
        if bias is not None:
            _check_shape(bias, bshape, 3, f"{op} bias")
        direction, merge = attrs["direction"], attrs["merge_mode"]
        backward = (bkernel, brkernel, bbias)
        bidirectional = direction == "bidirectional"
        if bidirectional:
            if merge == "none":
                raise TypeRuleError("a bidirectional op needs merge_mode concat, sum, mul or ave",
                                    expected="concat, sum, mul or ave", actual="none")
            for idx, t, want in ((4, bkernel, kernel), (5, brkernel, rkernel)):
                if t is None:
                    raise TypeRuleError(f"direction='bidirectional' needs input {idx} "
                                        f"({roles[idx].rstrip('?')})", input_index=idx)
                _check_shape(t, tuple(want.shape), idx, f"{op} {roles[idx].rstrip('?')}")
            if (bias is None) != (bbias is None):
                raise TypeRuleError("bias and backward_bias must be both present or both "
                                    "omitted", input_index=3 if bias is None else 6)
            if bbias is not None:
                _check_shape(bbias, bshape, 6, f"{op} backward_bias")
        else:
            if merge != "none":
                raise TypeRuleError(f"merge_mode={merge!r} applies to direction="
                                    f"'bidirectional' only; use 'none'",
                                    expected="none", actual=merge)
            for idx, t in zip((4, 5, 6), backward):
                if t is not None:
                    raise TypeRuleError(f"direction={direction!r} takes no input {idx} "
                                        f"({roles[idx].rstrip('?')})", input_index=idx)
        n, steps = x.shape[0], x.shape[1]
        mask = types[MASK]
        if mask is not None:
            if mask.dtype.value != "bool" or mask.rank != 2:
                raise TypeRuleError(f"{op} mask must be a bool (N, T) tensor, got "
                                    f"{mask.dtype.value}{fmt_shape(mask.shape)}",
                                    input_index=MASK, expected="bool (N, T)",
                                    actual=f"{mask.dtype.value}{fmt_shape(mask.shape)}")
            for axis, (a, b) in enumerate(zip(mask.shape, (n, steps))):
                if isinstance(a, int) and isinstance(b, int) and a != b:
                    raise TypeRuleError(f"{op} mask is {fmt_shape(mask.shape)}, the input "
                                        f"{fmt_shape(x.shape)}: axis {axis} differs",
                                        input_index=MASK, axis=axis,
                                        expected=fmt_shape((n, steps)),
                                        actual=fmt_shape(mask.shape))
        present = {name: types[idx] for name, idx in state_inputs(op).items()
                   if types[idx] is not None}
        if present:
            wanted = [name for name in state_inputs(op)
                      if bidirectional or not name.startswith("backward_")]
            missing = [name for name in wanted if name not in present]
            extra = [name for name in present if name not in wanted]
            if missing or extra:
                raise TypeRuleError(
                    f"{op} initial states: give all of {', '.join(wanted)} or none"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; {', '.join(extra)} needs direction='bidirectional'" if extra else ""),
                    input_index=state_inputs(op)[(missing or extra)[0]])
            for name, t in present.items():
                idx = state_inputs(op)[name]
                if t.dtype != x.dtype or t.rank != 2 or (
                        isinstance(t.shape[1], int) and t.shape[1] != units) or (
                        isinstance(t.shape[0], int) and isinstance(n, int) and t.shape[0] != n):
                    raise TypeRuleError(f"{op} {name} must be {x.dtype.value}"
                                        f"{fmt_shape((n, units))}, got {t.dtype.value}"
                                        f"{fmt_shape(t.shape)}", input_index=idx,
                                        expected=f"{x.dtype.value}{fmt_shape((n, units))}",
                                        actual=f"{t.dtype.value}{fmt_shape(t.shape)}")
        result = attrs.get("result", "output")
        if result not in keras_results(op, bidirectional):
            raise TypeRuleError(f"{op} result={result!r} with direction={direction!r}; "
                                f"allowed: {', '.join(keras_results(op, bidirectional))}",
                                expected=", ".join(keras_results(op, bidirectional)),
                                actual=result)
        if result != "output" and not attrs.get("return_state", False):
            raise TypeRuleError(f"result={result!r} is a state: the node needs "
                                f"return_state=true", expected="return_state=true",
                                actual="return_state=false")
        if result != "output":
            return (TensorType(x.dtype, (n, units)),)
        width = 2 * units if merge == "concat" else units
        shape = (n, steps, width) if attrs["return_sequences"] else (n, width)
        return (TensorType(x.dtype, shape),)
    return infer


def _attrs(op: str) -> dict[str, AttrSpec]:
    out = {
        "units": AttrSpec("int", doc="size of the hidden state"),
        "activation": AttrSpec("str", choices=RNN_ACTIVATIONS,
                               doc="candidate/output activation (Keras activation)"),
        "return_sequences": AttrSpec("bool", doc="return every step (N, T, U), else the "
                                                 "last one (N, U)"),
        "direction": AttrSpec("str", choices=DIRECTIONS, doc="processing direction"),
        "merge_mode": AttrSpec("str", choices=MERGE_MODES,
                               doc="how bidirectional outputs combine; 'none' otherwise"),
    }
    if op in ("lstm", "gru"):
        out["recurrent_activation"] = AttrSpec("str", choices=RNN_ACTIVATIONS,
                                               doc="gate activation")
    if op == "gru":
        out["reset_after"] = AttrSpec("bool", doc="reset gate applied after the recurrent "
                                                  "matmul (Keras 3 default, cuDNN style)")
    out["zero_output_for_mask"] = AttrSpec(
        "bool", required=False, doc="a masked step outputs zeros, not the previous output "
                                    "(default false)")
    out["return_state"] = AttrSpec(
        "bool", required=False, doc="the Keras call returns its states too (one node per "
                                    "output; default false)")
    out["result"] = AttrSpec("str", required=False, choices=RESULTS,
                             doc="which output of the call this node is (default 'output')")
    return out


_DOCS = {
    "lstm": "LSTM layer (Keras LSTM, optionally in Bidirectional); gates i, f, c, o",
    "gru": "GRU layer (Keras GRU, optionally in Bidirectional); gates z, r, h",
    "simple_rnn": "fully-connected RNN layer (Keras SimpleRNN, optionally in Bidirectional)",
}

# --------------------------------------------------------------------------- reference kernels

#: cell step ``(x_t (N, C), state tuple, weights, attrs) -> new state tuple``; the
#: output is ``state[0]``
Step = Callable[[np.ndarray, tuple, tuple, Mapping[str, Any]], tuple]


def _lstm_step(x_t, state, weights, attrs):
    h, c = state
    kernel, rkernel, bias = weights
    z = x_t @ kernel + h @ rkernel
    if bias is not None:
        z = z + bias
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    act = lambda v: apply_activation(attrs["activation"], v)  # noqa: E731
    rec = lambda v: apply_activation(attrs["recurrent_activation"], v)  # noqa: E731
    c = rec(zf) * c + rec(zi) * act(zc)
    h = rec(zo) * act(c)
    return h, c


def _gru_step(x_t, state, weights, attrs):
    (h,) = state
    kernel, rkernel, bias = weights
    units = h.shape[-1]
    if bias is None:
        in_bias = rec_bias = np.zeros(3 * units)
    elif attrs["reset_after"]:
        in_bias, rec_bias = bias[0], bias[1]
    else:
        in_bias, rec_bias = bias, np.zeros(3 * units)
    xz, xr, xh = np.split(x_t @ kernel + in_bias, 3, axis=-1)
    rk_z, rk_r, rk_h = np.split(rkernel, 3, axis=-1)
    rb_z, rb_r, rb_h = np.split(rec_bias, 3)
    rec = lambda v: apply_activation(attrs["recurrent_activation"], v)  # noqa: E731
    z = rec(xz + h @ rk_z + rb_z)
    r = rec(xr + h @ rk_r + rb_r)
    if attrs["reset_after"]:
        hh = xh + r * (h @ rk_h + rb_h)
    else:
        hh = xh + (r * h) @ rk_h
    hh = apply_activation(attrs["activation"], hh)
    return (z * h + (1.0 - z) * hh,)


def _simple_step(x_t, state, weights, attrs):
    (h,) = state
    kernel, rkernel, bias = weights
    y = x_t @ kernel + h @ rkernel
    if bias is not None:
        y = y + bias
    return (apply_activation(attrs["activation"], y),)


_STEPS: dict[str, tuple[Step, int]] = {"lstm": (_lstm_step, 2), "gru": (_gru_step, 1),
                                        "simple_rnn": (_simple_step, 1)}


def run_direction(op: str, x: np.ndarray, weights: tuple, attrs: Mapping[str, Any], *,
                  backwards: bool, mask: np.ndarray | None = None,
                  initial: Sequence[np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """One pass of a recurrent layer over ``x`` (Keras ``backend.rnn`` on CPU).

    Args:
        op: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
        x: ``(N, T, C)`` float64.
        weights: ``(kernel, recurrent_kernel, bias or None)`` in Keras layout.
        attrs: the node's attributes (activations, ``reset_after``, ``units``,
            ``zero_output_for_mask``).
        backwards: take the steps from ``T-1`` down to 0 (Keras ``go_backwards``).
        mask: bool ``(N, T)`` in input order, or None: a masked step keeps the states
            and outputs the previous output (zeros before any), or zeros with
            ``zero_output_for_mask``.
        initial: the initial states (``(h, c)`` for lstm, ``(h,)`` otherwise), each
            ``(N, units)``; zeros when None.

    Returns:
        ``(sequence, last, states)``: the outputs ``(N, T, units)`` in processing order,
        the last one ``(N, units)`` (zeros when ``T == 0``) and the final states.
    """
    step, n_states = _STEPS[op]
    n, steps = x.shape[0], x.shape[1]
    units = attrs["units"]
    state = (tuple(np.asarray(s, np.float64) for s in initial) if initial is not None
             else tuple(np.zeros((n, units)) for _ in range(n_states)))
    zero_out = bool(attrs.get("zero_output_for_mask", False))
    prev = np.zeros((n, units))
    outs = []
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    for t in order:
        new = step(x[:, t, :], state, weights, attrs)
        out = new[0]
        if mask is not None:
            keep = mask[:, t].astype(bool)[:, None]
            out = np.where(keep, out, 0.0 if zero_out else prev)
            new = tuple(np.where(keep, a, b) for a, b in zip(new, state))
        state, prev = new, out
        outs.append(out)
    seq = np.stack(outs, axis=1) if outs else np.zeros((n, 0, units))
    return seq, prev, state


def _merge(mode: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if mode == "concat":
        return np.concatenate([a, b], axis=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    if mode == "ave":
        return (a + b) / 2.0
    raise ValueError(f"unknown merge_mode {mode!r}")


def _kernel(op: str) -> Kernel:
    roles = _roles(op)
    starts = state_inputs(op)
    n_states = len(STATES[op])

    def kernel(inputs, attrs):
        inputs = list(inputs) + [None] * (len(roles) - len(inputs))
        x, mask = inputs[0], inputs[MASK]
        first = starts[f"initial_{STATES[op][0]}"]
        fwd_init = inputs[first:first + n_states]
        bwd_init = inputs[first + n_states:first + 2 * n_states]
        fwd_init = None if fwd_init[0] is None else fwd_init
        bwd_init = None if not bwd_init or bwd_init[0] is None else bwd_init
        result = attrs.get("result", "output")
        direction = attrs["direction"]
        seq = attrs["return_sequences"]
        fwd = run_direction(op, x, tuple(inputs[1:4]), attrs, mask=mask, initial=fwd_init,
                            backwards=direction == "backward")
        if result != "output":
            which = fwd
            if result.startswith("backward_"):
                which = run_direction(op, x, tuple(inputs[4:7]), attrs, mask=mask,
                                      initial=bwd_init, backwards=True)
            return which[2][STATES[op].index(result.rpartition("_")[2])]
        if direction != "bidirectional":
            return fwd[0] if seq else fwd[1]
        bwd = run_direction(op, x, tuple(inputs[4:7]), attrs, mask=mask, initial=bwd_init,
                            backwards=True)
        y, y_rev = (fwd[0], bwd[0][:, ::-1, :]) if seq else (fwd[1], bwd[1])
        return _merge(attrs["merge_mode"], y, y_rev)
    kernel.__doc__ = (f"The ``{op}`` op: inputs ``{', '.join(roles)}``; output "
                      f"``(N, T, U)`` or ``(N, U)`` (``result='output'``), or one final "
                      f"state ``(N, U)`` (see the module docstring).")
    return kernel


# --------------------------------------------------------------------------- ops

for _op in GATES:
    register(OpSchema(_op, _roles(_op), _attrs(_op), _infer(_op), weight_inputs=(1, 2, 3, 4, 5, 6),
                      doc=_DOCS[_op], kernel=_kernel(_op)))


# --------------------------------------------------------------------------- conv_lstm

#: spatial ranks of the ``conv_lstm{r}d`` ops (Keras ConvLSTM1D/2D/3D)
CONV_LSTM_RANKS = (1, 2, 3)


def _conv_lstm_infer(r: int):
    op = f"conv_lstm{r}d"

    def infer(types: Sequence[TensorType | None], attrs: Mapping[str, Any]):
        x, kernel, rkernel, bias, init_h, init_c = (list(types) + [None] * 6)[:6]
        require_rank(x, (r + 3,), input_index=0, what=f"{op} input (N, T, *spatial, C)")
        require_float(x, 0, f"{op} input")
        require_rank(kernel, (r + 2,), input_index=1, what=f"{op} kernel (*k, C, 4 * filters)")
        same_dtype([x, kernel, rkernel, bias])
        filters = attrs["filters"]
        if filters < 1:
            raise TypeRuleError(f"filters={filters} must be >= 1", expected=">= 1",
                                actual=str(filters))
        ksize = tuple(kernel.shape[:r])
        cin = kernel.shape[r]
        _check_shape(kernel, ksize + (cin, 4 * filters), 1, f"{op} kernel (filters={filters})")
        c = x.shape[-1]
        if isinstance(c, int) and c != cin:
            raise TypeRuleError(f"{op} expects {cin} input channels (last axis), the input has "
                                f"{c}", input_index=0, axis=r + 2, expected=f"{cin} channels",
                                actual=fmt_shape(x.shape))
        _check_shape(rkernel, ksize + (filters, 4 * filters), 2, f"{op} recurrent_kernel")
        if bias is not None:
            _check_shape(bias, (4 * filters,), 3, f"{op} bias")
        strides, dilations = attrs["strides"], attrs["dilations"]
        if min(strides) < 1 or min(dilations) < 1:
            raise TypeRuleError(f"strides {strides} and dilations {dilations} must be >= 1")
        spatial = tuple(conv_out_dim(x.shape[2 + i], ksize[i], strides[i], dilations[i],
                                     attrs["padding"]) for i in range(r))
        n, steps = x.shape[0], x.shape[1]
        state = TensorType(x.dtype, (n,) + spatial + (filters,))
        if (init_h is None) != (init_c is None):
            raise TypeRuleError(f"{op} initial states: give initial_h and initial_c, or "
                                f"neither", input_index=4 if init_h is None else 5)
        for idx, t in ((4, init_h), (5, init_c)):
            if t is not None and not state.compatible_with(t):
                raise TypeRuleError(f"{op} {_CONV_ROLES[idx].rstrip('?')} must be {state}, "
                                    f"got {t}", input_index=idx, expected=str(state),
                                    actual=str(t))
        result = attrs.get("result", "output")
        if result != "output":
            if result not in ("h", "c"):
                raise TypeRuleError(f"{op} result={result!r}; allowed: output, h, c",
                                    expected="output, h, c", actual=result)
            if not attrs.get("return_state", False):
                raise TypeRuleError(f"result={result!r} is a state: the node needs "
                                    f"return_state=true", expected="return_state=true",
                                    actual="return_state=false")
            return (state,)
        shape = ((n, steps) if attrs["return_sequences"] else (n,)) + spatial + (filters,)
        return (TensorType(x.dtype, shape),)
    return infer


def conv_lstm(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]) -> np.ndarray:
    """The ``conv_lstm{r}d`` op: Keras ``ConvLSTM{r}D`` (``ConvLSTMCell.call`` in
    ``keras/src/layers/rnn/conv_lstm.py``), a float64 loop over time from zero states.

    Per step ``z = conv(x_t, kernel, strides, padding, dilations) + bias +
    conv(h, recurrent_kernel, stride 1, "same")``, split on the channel axis into
    ``z_i, z_f, z_c, z_o``; ``c = ra(z_f) * c + ra(z_i) * a(z_c)``, ``h = ra(z_o) * a(c)``.

    Args:
        inputs: ``x (N, T, *S, C)``, ``kernel (*k, C, 4F)``, ``recurrent_kernel
            (*k, F, 4F)``, ``bias (4F,)`` or None, ``initial_h``, ``initial_c``
            ``(N, *S', F)`` or None (zeros).
        attrs: the node's attributes.

    Returns:
        ``(N, T, *S', F)`` (``return_sequences``, processing order) or ``(N, *S', F)``;
        the final ``h`` or ``c`` ``(N, *S', F)`` for ``result`` ``"h"`` / ``"c"``.

    Raises:
        ValueError: an empty time axis (the output's spatial size is then undefined).
    """
    from graphir.ops.nn import conv

    x, kernel, rkernel, bias, init_h, init_c = (list(inputs) + [None] * 6)[:6]
    r = x.ndim - 3
    steps = x.shape[1]
    if steps == 0:
        raise ValueError("conv_lstm over an empty time axis")
    in_attrs = {"strides": tuple(attrs["strides"]), "dilations": tuple(attrs["dilations"]),
                "padding": attrs["padding"], "groups": 1, "activation": "linear"}
    rec_attrs = {"strides": (1,) * r, "dilations": (1,) * r, "padding": "same", "groups": 1,
                 "activation": "linear"}
    act = lambda v: apply_activation(attrs["activation"], v)  # noqa: E731
    rec = lambda v: apply_activation(attrs["recurrent_activation"], v)  # noqa: E731
    h, c = init_h, init_c
    outs = []
    order = range(steps - 1, -1, -1) if attrs["direction"] == "backward" else range(steps)
    for t in order:
        z = conv([x[:, t], kernel, bias], in_attrs)
        if h is None:
            h = c = np.zeros(z.shape[:-1] + (attrs["filters"],))
        z = z + conv([h, rkernel], rec_attrs)
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        outs.append(h)
    result = attrs.get("result", "output")
    if result != "output":
        return h if result == "h" else c
    return np.stack(outs, axis=1) if attrs["return_sequences"] else h


def _conv_lstm_attrs(r: int) -> dict[str, AttrSpec]:
    return {
        "filters": AttrSpec("int", doc="F, channels of the state"),
        "strides": AttrSpec("ints", length=r, doc="strides of the input convolution"),
        "dilations": AttrSpec("ints", length=r, doc="dilations of the input convolution"),
        "padding": AttrSpec("str", choices=("valid", "same"),
                            doc="TensorFlow padding of the input convolution"),
        "activation": AttrSpec("str", choices=RNN_ACTIVATIONS, doc="cell activation"),
        "recurrent_activation": AttrSpec("str", choices=RNN_ACTIVATIONS, doc="gate activation"),
        "return_sequences": AttrSpec("bool", doc="every step, or the last"),
        "direction": AttrSpec("str", choices=("forward", "backward"),
                              doc="processing direction (Keras go_backwards)"),
        "return_state": AttrSpec("bool", required=False,
                                 doc="the Keras call returns its states too (default false)"),
        "result": AttrSpec("str", required=False, choices=("output", "h", "c"),
                           doc="which output of the call this node is (default 'output')"),
    }


_CONV_ROLES = ("x", "kernel", "recurrent_kernel", "bias?", "initial_h?", "initial_c?")

for _r in CONV_LSTM_RANKS:
    register(OpSchema(f"conv_lstm{_r}d", _CONV_ROLES,
                      _conv_lstm_attrs(_r), _conv_lstm_infer(_r), weight_inputs=(1, 2, 3),
                      doc=f"convolutional LSTM layer (Keras ConvLSTM{_r}D), channels-last; "
                          f"gates i, f, c, o",
                      kernel=conv_lstm))
