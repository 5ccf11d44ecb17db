"""Keras converters of the recurrent layers, registered with
:func:`~graphir.backends.keras.registry.lowers`.

``keras.layers.LSTM``, ``GRU`` and ``SimpleRNN``, and the generic ``keras.layers.RNN``
of exactly one ``LSTMCell``, ``GRUCell`` or ``SimpleRNNCell`` (the same computation:
those layers are that ``RNN`` with that cell), lower to one ``lstm`` / ``gru`` /
``simple_rnn`` node (:mod:`graphir.ops.recurrent`), ``go_backwards=True`` to
``direction="backward"``; ``keras.layers.Bidirectional`` wrapping one of them lowers
to one node with ``direction="bidirectional"``, the forward layer's weights as
``kernel, recurrent_kernel, bias`` and the backward layer's as
``backward_kernel, backward_recurrent_kernel, backward_bias`` (Keras layout and gate
order, as stored).  Semantics checked against ``keras/src/layers/rnn/`` (``rnn.py``,
``lstm.py``, ``gru.py``, ``simple_rnn.py``, ``bidirectional.py``) and
``keras/src/backend/tensorflow/rnn.py`` of Keras 3.15.

The call's ``mask`` (Keras' implicit mask from ``Embedding(mask_zero=True)`` or
``Masking``, or an explicit ``mask=``) becomes the node's ``mask`` input, with
``zero_output_for_mask`` (which ``Bidirectional`` forces to ``return_sequences``);
its ``initial_state`` (keyword or second positional argument; for ``Bidirectional``
the forward states then the backward ones) the ``initial_*`` inputs.
``return_state=True`` makes one node per output of the call (``<layer>``,
``<layer>_1``, ...), in Keras' order (output, ``h``, ``c``; ``Bidirectional``: output,
forward states, backward states), each with ``return_state=true`` and its ``result``.
``Bidirectional(merge_mode=None)`` (two outputs) is two one-direction nodes, the
backward one's sequence flipped back to input order (:func:`_unmerged`).

Inference-irrelevant options are ignored: ``dropout`` and ``recurrent_dropout`` (no-ops
at ``training=False``), ``use_cudnn``, ``unroll``, ``implementation``, ``seed``,
``unit_forget_bias`` (an initializer), regularizers, constraints and initializers,
``zero_output_for_mask`` without a mask.

Refused, with the option named: ``stateful=True`` (state carried across calls), an
``activation`` or ``recurrent_activation`` outside
:data:`graphir.ops.recurrent.RNN_ACTIVATIONS`; a mask that is not a bool ``(N, T)``
tensor; an initial state of another dtype than the input or a wrong number of them;
a generic ``RNN`` of another cell (a custom or subclassed cell) or with
``constants``, unless the cell computes a simple RNN step (a user's ``MinimalRNNCell``:
:mod:`~graphir.backends.keras.recurrent_cells`), which lowers to ``simple_rnn`` with
its weights composed; ``return_state`` or ``initial_state`` of a ``StackedRNNCells`` (whose
cells lower to one node each, chained: :func:`_stacked`); ``Bidirectional`` wrapping a
layer other than those above, a forward layer with ``go_backwards=True`` (a custom
``backward_layer`` with ``go_backwards=False``), or a ``backward_layer`` whose class,
cell class, ``units``, activations, ``use_bias`` or ``reset_after`` differ from the
forward layer's, or a wrapped layer whose dtype policy is mixed or differs from the
input's dtype (Keras would cast).
"""

from __future__ import annotations

from typing import Any

import keras

from graphir.backends.keras.activations import activation_name
from graphir.backends.keras.context import LayerContext, Lowered, Operand, layer_refusal
from graphir.backends.keras.recurrent_cells import ElmanCell, elman_cell
from graphir.backends.keras.registry import lowers
from graphir.ops.recurrent import MASK, RNN_ACTIVATIONS, STATES, keras_results, state_inputs

__all__: list[str] = []

_OPS = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru", keras.layers.SimpleRNN: "simple_rnn"}
_CELLS = {keras.layers.LSTMCell: "lstm", keras.layers.GRUCell: "gru",
          keras.layers.SimpleRNNCell: "simple_rnn"}
_CALL_KWARGS = ("mask", "initial_state")


def _op_of(layer: Any) -> str | None:
    """The IR op of an ``LSTM``/``GRU``/``SimpleRNN`` or of ``RNN(<built-in cell>)``."""
    op = _OPS.get(type(layer))
    if op is None and type(layer) is keras.layers.RNN:
        op = _CELLS.get(type(layer.cell))
    return op


def _act(ctx: LayerContext, cell: Any, attr: str) -> str:
    name, reason = activation_name(getattr(cell, attr))
    if name is None:
        ctx.refuse(f"{attr}: {reason}")
    if name not in RNN_ACTIVATIONS:
        ctx.refuse(f"{attr}={name!r}; recurrent layers support {', '.join(RNN_ACTIVATIONS)} "
                   f"(the activations ONNX's LSTM/GRU/RNN express)")
    return name


def _check_rnn(ctx: LayerContext, layer: Any, who: str = "", elman: bool = False) -> None:
    """Refuse the options of an RNN layer ``layer`` that change what one call computes
    (``elman``: its cell is a user's cell found to be a simple RNN cell)."""
    if getattr(layer, "stateful", False):
        ctx.refuse(f"{who}stateful=True; the op set has no state carried across calls")
    if type(layer) is keras.layers.RNN:
        if _op_of(layer) is None and not elman:
            ctx.refuse(f"{who}a generic RNN of a {type(layer.cell).__name__}; supported cells: "
                       f"LSTMCell, GRUCell, SimpleRNNCell")
        why = layer_refusal(layer.cell)
        if why is not None:
            ctx.refuse(f"{who}its cell: {why}")


def _config(ctx: LayerContext, layer: Any, op: str) -> dict[str, Any]:
    """The attributes shared by both directions (activations, units, reset_after)."""
    return _cell_config(ctx, layer.cell, op)


def _cell_config(ctx: LayerContext, cell: Any, op: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"units": int(cell.units),
                             "activation": _act(ctx, cell, "activation")}
    if op in ("lstm", "gru"):
        attrs["recurrent_activation"] = _act(ctx, cell, "recurrent_activation")
    if op == "gru":
        attrs["reset_after"] = bool(cell.reset_after)
    return attrs


def _weights(ctx: LayerContext, layer: Any, prefix: str = "") -> list[str]:
    return _cell_weights(ctx, layer.cell, prefix)


def _cell_weights(ctx: LayerContext, cell: Any, prefix: str = "") -> list[str]:
    names = [ctx.weight(cell.kernel, name=f"{prefix}kernel"),
             ctx.weight(cell.recurrent_kernel, name=f"{prefix}recurrent_kernel")]
    names.append(ctx.weight(cell.bias, name=f"{prefix}bias") if cell.use_bias else "")
    return names


def _call_arguments(ctx: LayerContext) -> tuple[Operand, Any, Any]:
    """``(sequence, mask, initial_state)`` of the call, each tensor an :class:`Operand`
    (``initial_state`` a tuple of them, or None; ``mask`` an Operand or None), from
    ``RNN.call(sequences, initial_state=None, mask=None)``'s positional or keyword
    arguments."""
    names = iter(zip(ctx.inputs, ctx.input_types))

    def operand(v: Any) -> Any:
        if isinstance(v, keras.KerasTensor):
            return Operand(*next(names))
        if isinstance(v, (list, tuple)):
            return tuple(operand(a) for a in v)
        if isinstance(v, dict):
            ctx.refuse("a dict of tensors as an argument")
        return v

    args = [operand(a) for a in ctx.call_args]
    if not args or not isinstance(args[0], Operand):
        ctx.refuse("the sequence is not one tensor")
    if len(args) > 3:
        ctx.refuse(f"{len(args)} positional arguments (constants are not supported)")
    kw = ctx.call_kwargs
    state = kw.get("initial_state", args[1] if len(args) > 1 else None)
    mask = kw.get("mask", args[2] if len(args) > 2 else None)
    if isinstance(mask, (list, tuple)):  # RNN.inner_loop: a nested mask -> its first entry
        mask = mask[0] if mask else None
    if isinstance(state, Operand):
        state = (state,)
    if state is not None and not all(isinstance(s, Operand) for s in state):
        ctx.refuse("an initial_state that is not a list of tensors")
    if mask is not None and not isinstance(mask, Operand):
        ctx.refuse(f"a mask of type {type(mask).__name__}, not a tensor")
    return args[0], mask, (tuple(state) if state else None)


def _data_inputs(ctx: LayerContext, op: str, bidirectional: bool) -> tuple[str, list[str]]:
    """The sequence's name and the node's inputs after the weights (``mask``, initial
    states), ``""`` for the omitted ones, trailing ones dropped."""
    x, mask, states = _call_arguments(ctx)
    extra = [""] * (1 + len(state_inputs(op)))
    extra[0] = _mask_name(ctx, mask)
    if states is not None:
        want = len(STATES[op]) * (2 if bidirectional else 1)
        if len(states) != want:
            ctx.refuse(f"{len(states)} initial state tensors; the layer takes {want}")
        for s in states:
            if s.type.dtype != x.type.dtype or s.type.rank != 2:
                ctx.refuse(f"an initial state of type {s.type} for a {x.type.dtype.value} "
                           f"input; Keras would cast it, the op set has no cast here")
        for name, s in zip(state_inputs(op), states):
            extra[state_inputs(op)[name] - MASK] = s.name
    while extra and not extra[-1]:
        extra.pop()
    return x.name, extra


def _mask_name(ctx: LayerContext, mask: Operand | None) -> str:
    """The IR name of the call's mask (``""`` without one).

    Raises:
        UnsupportedLayerError: a mask that is not a bool ``(batch, time)`` tensor.
    """
    if mask is None:
        return ""
    t = mask.type
    if t.dtype.value != "bool" or t.rank != 2:
        ctx.refuse(f"a mask of type {t}; only a bool (batch, time) mask (what Embedding("
                   f"mask_zero=True) and Masking make) is lowered")
    return mask.name


def _stacked(ctx: LayerContext) -> Lowered:
    """``RNN(StackedRNNCells([...]))`` (or ``RNN([cells])``) -> one node per cell, chained:
    each step runs the cells in order (``StackedRNNCells.call``), which is the layers of
    those cells stacked, every one but the last returning sequences.  With
    ``go_backwards`` the first node runs backwards and the others forwards over its
    output (already in processing order), with the mask flipped in time; a mask skips
    the same steps in every cell (``backend.rnn`` freezes all states at once).

    Refused: a cell other than ``LSTMCell``, ``GRUCell``, ``SimpleRNNCell``;
    ``return_state=True`` and ``initial_state`` (nested states).
    """
    layer = ctx.layer
    cells = list(layer.cell.cells)
    ops = [_CELLS.get(type(c)) for c in cells]
    if None in ops:
        bad = type(cells[ops.index(None)]).__name__
        ctx.refuse(f"a StackedRNNCells holding a {bad}; supported cells: LSTMCell, GRUCell, "
                   f"SimpleRNNCell")
    if layer.return_state:
        ctx.refuse("return_state=True of a StackedRNNCells (nested states)")
    for cell in cells:
        why = layer_refusal(cell)
        if why is not None:
            ctx.refuse(f"its cell {cell.name!r}: {why}")
    x, mask, states = _call_arguments(ctx)
    if states is not None:
        ctx.refuse("an initial_state of a StackedRNNCells (nested states)")
    mask_name = _mask_name(ctx, mask)
    value = x.name
    backwards = bool(layer.go_backwards)
    for i, (cell, op) in enumerate(zip(cells, ops)):
        last = i == len(cells) - 1
        if i == 1 and backwards and mask_name:  # the later cells read processing order
            mask_name = ctx.helper("flip", [mask_name], {"axes": (1,)}, suffix="mask_flipped")
        attrs = _cell_config(ctx, cell, op)
        attrs.update(return_sequences=bool(layer.return_sequences) if last else True,
                     direction="backward" if backwards and i == 0 else "forward",
                     merge_mode="none")
        if last and mask_name and getattr(layer, "zero_output_for_mask", False):
            attrs["zero_output_for_mask"] = True
        inputs = [value] + _cell_weights(ctx, cell, f"{cell.name}/")
        if mask_name:
            inputs += ["", "", "", mask_name]
        if last:
            return ctx.lowered(op, inputs, attrs)
        value = ctx.helper(op, inputs, attrs, suffix=cell.name)
    raise AssertionError("unreachable")  # a StackedRNNCells has at least one cell


def _outputs(ctx: LayerContext, op: str, inputs: list[str], attrs: dict[str, Any],
             return_state: bool, zero_output: bool) -> Lowered | list[Lowered]:
    """One Lowered, or one per output of a ``return_state=True`` call."""
    if len(inputs) > MASK and inputs[MASK] and zero_output:
        attrs["zero_output_for_mask"] = True
    if not return_state:
        return ctx.lowered(op, inputs, attrs)
    results = keras_results(op, attrs["direction"] == "bidirectional")
    return [ctx.lowered(op, inputs, {**attrs, "return_state": True, "result": r})
            for r in results]


@lowers(*_OPS, keras.layers.RNN, accepted_call_kwargs=_CALL_KWARGS, multiple_outputs=True)
def _rnn(ctx: LayerContext) -> Lowered | list[Lowered]:
    """``LSTM`` / ``GRU`` / ``SimpleRNN`` / ``RNN(<cell>)`` -> one node per output;
    ``go_backwards`` -> ``backward``."""
    layer = ctx.layer
    if type(layer) is keras.layers.RNN and type(layer.cell) is keras.layers.StackedRNNCells:
        if layer.stateful:
            ctx.refuse("stateful=True; the op set has no state carried across calls")
        return _stacked(ctx)
    elman = _elman(ctx, layer)
    _check_rnn(ctx, layer, elman=elman is not None)
    op = _op_of(layer) or "simple_rnn"
    x, extra = _data_inputs(ctx, op, bidirectional=False)
    if elman is None:
        attrs, weights = _config(ctx, layer, op), _weights(ctx, layer)
    else:
        cell = layer.cell.name
        attrs = {"units": int(elman.recurrent_kernel.shape[0]), "activation": elman.activation}
        weights = [ctx.constant(f"{cell}/kernel", elman.kernel),
                   ctx.constant(f"{cell}/recurrent_kernel", elman.recurrent_kernel),
                   "" if elman.bias is None else ctx.constant(f"{cell}/bias", elman.bias)]
    attrs.update(return_sequences=bool(layer.return_sequences),
                 direction="backward" if layer.go_backwards else "forward", merge_mode="none")
    inputs = [x] + weights + ([""] * 3 if extra else []) + extra
    return _outputs(ctx, op, inputs, attrs, bool(layer.return_state),
                    bool(getattr(layer, "zero_output_for_mask", False)))


def _elman(ctx: LayerContext, layer: Any) -> ElmanCell | None:
    """The simple-RNN form of a generic ``RNN``'s user-written cell
    (:func:`~graphir.backends.keras.recurrent_cells.elman_cell`), or None (a built-in
    cell, another layer, or a cell of another form)."""
    if type(layer) is not keras.layers.RNN or _op_of(layer) is not None or \
            not ctx.input_types or not isinstance(ctx.input_types[0].shape[-1], int) or \
            ctx.input_types[0].dtype.value != "float32":
        return None
    return elman_cell(layer.cell, ctx.input_types[0].shape[-1])


@lowers(keras.layers.Bidirectional, accepted_call_kwargs=_CALL_KWARGS, multiple_outputs=True)
def _bidirectional(ctx: LayerContext) -> Lowered | list[Lowered]:
    """``Bidirectional(LSTM | GRU | SimpleRNN | RNN(<cell>))`` -> one node per output,
    ``direction="bidirectional"``."""
    layer = ctx.layer
    fwd, bwd = layer.forward_layer, layer.backward_layer
    op = _op_of(fwd)
    if op is None:
        what = (f"a RNN of a {type(fwd.cell).__name__}" if type(fwd) is keras.layers.RNN
                else f"a {type(fwd).__name__}")
        ctx.refuse(f"wraps {what}; supported: LSTM, GRU, SimpleRNN and RNN of an "
                   f"LSTMCell, GRUCell or SimpleRNNCell")
    if type(bwd) is not type(fwd) or type(bwd.cell) is not type(fwd.cell):
        ctx.refuse(f"backward_layer is a {type(bwd).__name__} of a {type(bwd.cell).__name__}, "
                   f"the forward layer a {type(fwd).__name__} of a {type(fwd.cell).__name__}")
    _check_rnn(ctx, layer)
    _check_rnn(ctx, fwd, "forward layer: ")
    _check_rnn(ctx, bwd, "backward layer: ")
    for who, sub in (("forward", fwd), ("backward", bwd)):
        policy = sub.dtype_policy
        if (policy.compute_dtype != policy.variable_dtype
                or policy.compute_dtype != ctx.input_types[0].dtype.value):
            ctx.refuse(f"{who} layer dtype policy {policy.name!r} on a "
                       f"{ctx.input_types[0].dtype.value} input; Keras would cast, the op set "
                       f"has no cast")
    if fwd.go_backwards or not bwd.go_backwards:
        ctx.refuse("forward layer go_backwards=True (a backward_layer with "
                   "go_backwards=False); the op set processes the forward layer forwards")
    x, extra = _data_inputs(ctx, op, bidirectional=True)
    attrs = _config(ctx, fwd, op)
    battrs = _config(ctx, bwd, op)
    for key in attrs:
        if attrs[key] != battrs[key]:
            ctx.refuse(f"backward_layer {key}={battrs[key]!r} differs from the forward "
                       f"layer's {attrs[key]!r}")
    if fwd.cell.use_bias != bwd.cell.use_bias:
        ctx.refuse(f"backward_layer use_bias={bwd.cell.use_bias} differs from the forward "
                   f"layer's {fwd.cell.use_bias}")
    zero_output = bool(getattr(fwd, "zero_output_for_mask", False))
    if extra and extra[0] and zero_output != bool(getattr(bwd, "zero_output_for_mask", False)):
        ctx.refuse("the forward and backward layers differ in zero_output_for_mask")
    if layer.merge_mode is None:
        return _unmerged(ctx, op, x, extra, attrs, zero_output)
    attrs.update(return_sequences=bool(fwd.return_sequences), direction="bidirectional",
                 merge_mode=str(layer.merge_mode))
    inputs = ([x] + _weights(ctx, fwd, "forward/") + _weights(ctx, bwd, "backward/")
              + extra)
    return _outputs(ctx, op, inputs, attrs, bool(layer.return_state), zero_output)


def _unmerged(ctx: LayerContext, op: str, x: str, extra: list[str], attrs: dict[str, Any],
              zero_output: bool) -> list[Lowered]:
    """``Bidirectional(merge_mode=None)``: its outputs ``[y, y_rev]`` (then, with
    ``return_state``, the forward states and the backward ones) are two one-direction
    nodes, the forward layer's and the backward layer's (``direction="backward"``), whose
    sequence Keras flips back to input order (a ``flip`` node)."""
    layer = ctx.layer
    fwd, bwd = layer.forward_layer, layer.backward_layer
    n = len(STATES[op])
    mask = extra[0] if extra else ""
    states = (extra[1:] + [""] * (2 * n))[:2 * n]
    seq, return_state = bool(fwd.return_sequences), bool(layer.return_state)

    def inputs_of(sub: Any, prefix: str, initial: list[str]) -> list[str]:
        ins = [x] + _weights(ctx, sub, prefix) + ["", "", "", mask] + initial
        while ins and not ins[-1]:
            ins.pop()
        return ins

    base = {**attrs, "return_sequences": seq, "merge_mode": "none"}
    if mask and zero_output:
        base["zero_output_for_mask"] = True
    if return_state:
        base["return_state"] = True

    def node(ins: list[str], direction: str, result: str) -> Lowered:
        a = {**base, "direction": direction}
        if return_state:
            a["result"] = result
        return ctx.lowered(op, ins, a)

    fwd_in = inputs_of(fwd, "forward/", states[:n])
    bwd_in = inputs_of(bwd, "backward/", states[n:])
    y_rev = node(bwd_in, "backward", "output")
    if seq:
        flipped = ctx.helper(y_rev.op, y_rev.inputs, y_rev.attrs, suffix="backward")
        y_rev = ctx.lowered("flip", [flipped], {"axes": (1,)})
    outs = [node(fwd_in, "forward", "output"), y_rev]
    if return_state:
        outs += [node(fwd_in, "forward", s) for s in STATES[op]]
        outs += [node(bwd_in, "backward", s) for s in STATES[op]]
    return outs


_CONV_LSTMS = {keras.layers.ConvLSTM1D: 1, keras.layers.ConvLSTM2D: 2, keras.layers.ConvLSTM3D: 3}


@lowers(*_CONV_LSTMS, accepted_call_kwargs=("initial_state",), multiple_outputs=True)
def _conv_lstm(ctx: LayerContext) -> Lowered | list[Lowered]:
    """``ConvLSTM1D/2D/3D`` -> one ``conv_lstm{r}d`` node per output (channels-last); the
    call's ``initial_state=[h, c]`` -> its ``initial_h``, ``initial_c`` inputs;
    ``return_state=True`` -> nodes ``result`` ``output``, ``h``, ``c``.

    Refused: ``data_format="channels_first"``, ``stateful=True``, a call with a ``mask``
    (the walker refuses the keyword), initial states of another dtype, and activations
    outside :data:`graphir.ops.recurrent.RNN_ACTIVATIONS`.
    """
    layer = ctx.layer
    cell = layer.cell
    r = _CONV_LSTMS[type(layer)]
    if cell.data_format != "channels_last":
        ctx.refuse(f"data_format={cell.data_format!r}; only channels_last is lowered")
    _check_rnn(ctx, layer)
    x, mask, states = _call_arguments(ctx)
    if mask is not None:
        ctx.refuse("a mask; the conv_lstm ops take none")
    attrs = {"filters": int(cell.filters), "strides": tuple(int(s) for s in cell.strides),
             "dilations": tuple(int(d) for d in cell.dilation_rate),
             "padding": str(cell.padding).lower(),
             "activation": _act(ctx, cell, "activation"),
             "recurrent_activation": _act(ctx, cell, "recurrent_activation"),
             "return_sequences": bool(layer.return_sequences),
             "direction": "backward" if layer.go_backwards else "forward"}
    inputs = [x.name] + _weights(ctx, layer)
    if states is not None:
        if len(states) != 2:
            ctx.refuse(f"{len(states)} initial state tensors; the layer takes 2 (h, c)")
        for st in states:
            if st.type.dtype != x.type.dtype:
                ctx.refuse(f"an initial state of type {st.type} for a "
                           f"{x.type.dtype.value} input; Keras would cast it")
        inputs += [st.name for st in states]
    op = f"conv_lstm{r}d"
    if not layer.return_state:
        return ctx.lowered(op, inputs, attrs)
    return [ctx.lowered(op, inputs, {**attrs, "return_state": True, "result": res})
            for res in ("output", "h", "c")]
