"""NumPy reference kernels of the recurrent ops (conventions: :mod:`graphir.reference_ops`).

The ops ``lstm``, ``gru`` and ``simple_rnn`` (:mod:`graphir.ops.recurrent`) compute
Keras 3's inference result, a float64 loop over time from a zero initial state:

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
  (``(y + y_rev) / 2``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from graphir.reference_ops import apply_activation

__all__ = ["KERNELS", "run_direction"]

Kernel = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], np.ndarray]

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
                  backwards: bool) -> tuple[np.ndarray, np.ndarray]:
    """One pass of a recurrent layer over ``x`` from a zero state.

    Args:
        op: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
        x: ``(N, T, C)`` float64.
        weights: ``(kernel, recurrent_kernel, bias or None)`` in Keras layout.
        attrs: the node's attributes (activations, ``reset_after``, ``units``).
        backwards: take the steps from ``T-1`` down to 0 (Keras ``go_backwards``).

    Returns:
        ``(sequence, last)``: the outputs ``(N, T, units)`` in processing order and the
        last one ``(N, units)`` (zeros when ``T == 0``).
    """
    step, n_states = _STEPS[op]
    n, steps = x.shape[0], x.shape[1]
    units = attrs["units"]
    state = tuple(np.zeros((n, units)) for _ in range(n_states))
    outs = []
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    for t in order:
        state = step(x[:, t, :], state, weights, attrs)
        outs.append(state[0])
    seq = np.stack(outs, axis=1) if outs else np.zeros((n, 0, units))
    return seq, state[0]


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
    def kernel(inputs, attrs):
        x = inputs[0]
        inputs = list(inputs) + [None] * (7 - len(inputs))
        fwd = tuple(inputs[1:4])
        seq_key = 0 if attrs["return_sequences"] else 1
        if attrs["direction"] != "bidirectional":
            return run_direction(op, x, fwd, attrs,
                                 backwards=attrs["direction"] == "backward")[seq_key]
        y = run_direction(op, x, fwd, attrs, backwards=False)[seq_key]
        y_rev = run_direction(op, x, tuple(inputs[4:7]), attrs, backwards=True)[seq_key]
        if attrs["return_sequences"]:
            y_rev = y_rev[:, ::-1, :]
        return _merge(attrs["merge_mode"], y, y_rev)
    kernel.__doc__ = (f"The ``{op}`` op: inputs ``x (N, T, C), kernel, recurrent_kernel, "
                      f"bias?, backward_kernel?, backward_recurrent_kernel?, backward_bias?``; "
                      f"output ``(N, T, U)`` or ``(N, U)`` (see the module docstring).")
    return kernel


#: IR op name -> kernel
KERNELS: dict[str, Kernel] = {op: _kernel(op) for op in _STEPS}
