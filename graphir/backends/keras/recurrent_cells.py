"""User-written recurrent cells that are a simple (Elman) RNN cell.

``keras.layers.RNN(cell)`` runs any cell with a ``call(inputs, states)``; the Keras
guide's ``MinimalRNNCell`` (``tanh(x @ W + h @ U)``) and cells that apply a ``Dense`` to
``concatenate([x, h])`` compute exactly what ``SimpleRNNCell`` computes,
``h' = act(x @ K + h @ R + b)``, with other weights.  Such a cell lowers to the
``simple_rnn`` op (any number of timesteps, masks, ``return_state``), and is emitted as a
built-in ``SimpleRNN``.

The cell's ``call`` is run once on symbolic tensors ``x`` ``(batch, input_dim)`` and
``h`` ``(batch, units)``; the recorded graph is read back from its output: an optional
activation (a ``keras.ops`` activation, an ``Activation`` layer, or a ``Dense``'s own
activation), under which every operation must be affine in ``(x, h)`` with the cell's
variables and constants fixed: ``matmul`` by a 2-D constant, ``add`` / ``subtract``,
``multiply`` by a scalar or per-unit constant, ``negative``, ``concatenate`` on the last
axis, a ``Dense`` without activation, ``Dropout`` (the identity at inference).
Composing those in float64 gives ``K``, ``R`` and ``b`` (exactly the cell's variables
when each is used once as is).  Anything else (a product of ``x`` and ``h``, a gate, two
states, an output that is not the new state) is not such a cell: the caller keeps its
refusal.  Semantics of ``RNN`` / ``SimpleRNNCell``: keras/src/layers/rnn/rnn.py and
simple_rnn.py, Keras 3.15.
"""

from __future__ import annotations

from typing import Any

import attrs
import keras
import numpy as np

from graphir.backends.keras.activations import activation_name
from graphir.backends.keras.context import _variable_array, layer_refusal
from graphir.ops.recurrent import RNN_ACTIVATIONS

__all__ = ["ElmanCell", "elman_cell"]


@attrs.frozen
class ElmanCell:
    """A cell computing ``h' = activation(x @ kernel + h @ recurrent_kernel + bias)``.

    Attributes:
        kernel: float32 ``(input_dim, units)``.
        recurrent_kernel: float32 ``(units, units)``.
        bias: float32 ``(units,)``, or None when it is zero.
        activation: an :data:`~graphir.ops.recurrent.RNN_ACTIVATIONS` name.
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None
    activation: str


#: an affine form ``x @ a + h @ b + c`` (float64) of the cell's inputs
_Affine = tuple[np.ndarray, np.ndarray, np.ndarray]


def _constant(v: Any) -> np.ndarray | None:
    """A float64 array of a variable, number or array argument; None for a tensor."""
    if isinstance(v, keras.KerasTensor):
        return None
    if isinstance(v, keras.Variable):
        return _variable_array(v).astype(np.float64)
    if isinstance(v, (bool, str)) or v is None:
        return None
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _per_unit(k: np.ndarray, units: int) -> np.ndarray | None:
    """``k`` as a vector broadcast over ``units`` columns (a scalar, ``(n,)`` or ``(1, n)``)."""
    if k.size == 1 and k.ndim <= 2:
        return np.full((units,), float(k.reshape(())))
    if k.shape in ((units,), (1, units)):
        return k.reshape(units)
    return None


class _Reader:
    """Reads the recorded graph of one cell call back to ``x`` and ``h`` as affine forms."""

    def __init__(self, x: Any, h: Any, input_dim: int, units: int):
        self.x, self.h, self.input_dim, self.units = x, h, input_dim, units

    def affine(self, t: Any) -> _Affine | None:
        if t is self.x:
            return (np.eye(self.input_dim), np.zeros((self.units, self.input_dim)),
                    np.zeros(self.input_dim))
        if t is self.h:
            return (np.zeros((self.input_dim, self.units)), np.eye(self.units),
                    np.zeros(self.units))
        history = getattr(t, "_keras_history", None)
        if not isinstance(t, keras.KerasTensor) or history is None:
            return None
        op = history.operation
        node = op._inbound_nodes[history.node_index]
        args = list(node.arguments.args)
        from keras.src.ops import numpy as knp

        if isinstance(op, keras.layers.Dropout):
            return self.affine(args[0]) if args else None
        if isinstance(op, keras.layers.Dense):
            if activation_name(op.activation)[0] != "linear" or not args or \
                    layer_refusal(op) is not None:
                return None
            return self.dense(op, args[0])
        if isinstance(op, knp.Matmul) and len(args) == 2:
            inner, w = self.affine(args[0]), _constant(args[1])
            return None if inner is None or w is None or w.ndim != 2 else self.matmul(inner, w)
        if isinstance(op, knp.Negative) and len(args) == 1:
            inner = self.affine(args[0])
            return None if inner is None else tuple(-p for p in inner)
        if isinstance(op, (knp.Add, knp.Subtract)) and len(args) == 2:
            return self.combine(args[0], args[1], -1.0 if isinstance(op, knp.Subtract) else 1.0)
        if isinstance(op, knp.Multiply) and len(args) == 2:
            return self.scale(args)
        if isinstance(op, knp.Concatenate) and len(args) == 1 and \
                isinstance(args[0], (list, tuple)):
            if op.axis not in (-1, 1):
                return None
            parts = [self.affine(a) for a in args[0]]
            if any(p is None for p in parts):
                return None
            return tuple(np.concatenate([p[i] for p in parts], axis=-1) for i in range(3))
        return None

    def dense(self, layer: Any, t: Any) -> _Affine | None:
        """``t @ kernel + bias`` of a ``Dense`` ``layer`` (its activation aside)."""
        inner = self.affine(t)
        bias = _variable_array(layer.bias).astype(np.float64) if layer.use_bias else 0.0
        return None if inner is None else self.matmul(
            inner, _variable_array(layer.kernel).astype(np.float64), bias)

    @staticmethod
    def matmul(f: _Affine, w: np.ndarray, bias: Any = 0.0) -> _Affine | None:
        if f[0].shape[1] != w.shape[0]:
            return None
        return (f[0] @ w, f[1] @ w, f[2] @ w + bias)

    def combine(self, a: Any, b: Any, sign: float) -> _Affine | None:
        fa, fb = self.affine(a), self.affine(b)
        if fa is not None and fb is not None:
            if fa[2].shape != fb[2].shape:
                return None
            return (fa[0] + sign * fb[0], fa[1] + sign * fb[1], fa[2] + sign * fb[2])
        f, k = (fa, _constant(b)) if fa is not None else (fb, _constant(a))
        if f is None or k is None:
            return None
        k = _per_unit(k, f[2].shape[0])
        if k is None:
            return None
        if fa is None:  # constant - form
            return (sign * f[0], sign * f[1], k + sign * f[2])
        return (f[0], f[1], f[2] + sign * k)

    def scale(self, args: list[Any]) -> _Affine | None:
        fa, fb = self.affine(args[0]), self.affine(args[1])
        if (fa is None) == (fb is None):
            return None  # two forms (a product) or none
        f, k = (fa, _constant(args[1])) if fa is not None else (fb, _constant(args[0]))
        k = None if k is None else _per_unit(k, f[2].shape[0])
        return None if k is None else (f[0] * k, f[1] * k, f[2] * k)


#: keras.ops activation operations -> the IR activation name
def _op_activations() -> dict[type, str]:
    from keras.src.ops import nn as knn
    from keras.src.ops import numpy as knp

    return {knp.Tanh: "tanh", knn.Sigmoid: "sigmoid", knn.Relu: "relu"}


def _split_activation(out: Any) -> tuple[str, Any, Any] | None:
    """``(activation, pre-activation tensor or None, Dense whose activation it is or
    None)`` of the cell's output tensor."""
    history = getattr(out, "_keras_history", None)
    if history is None:
        return ("linear", out, None)
    op = history.operation
    args = list(op._inbound_nodes[history.node_index].arguments.args)
    name = _op_activations().get(type(op))
    if name is not None and len(args) == 1:
        return (name, args[0], None)
    if isinstance(op, keras.layers.Activation) and args:
        name = activation_name(op.activation)[0]
        return None if name is None else (name, args[0], None)
    if isinstance(op, keras.layers.Dense):
        name = activation_name(op.activation)[0]
        return None if name is None or layer_refusal(op) is not None else (name, None, op)
    return ("linear", out, None)


def elman_cell(cell: Any, input_dim: int) -> ElmanCell | None:
    """``cell`` as an :class:`ElmanCell` when its ``call`` computes one (module
    docstring), else None.  Runs ``cell.call`` on symbolic tensors (float32); any error
    there means "not one" (the caller keeps its refusal)."""
    units = getattr(cell, "state_size", None)
    if isinstance(units, (list, tuple)) and len(units) == 1:
        units = units[0]
    if not isinstance(units, int) or isinstance(units, bool) or \
            getattr(cell, "compute_dtype", "float32") != "float32" or \
            getattr(getattr(cell, "dtype_policy", None), "variable_dtype", "float32") != "float32":
        return None
    x = keras.KerasTensor((None, input_dim), dtype="float32", name="cell_inputs")
    h = keras.KerasTensor((None, units), dtype="float32", name="cell_state")
    kwargs = {"training": False} if getattr(cell, "_call_has_training_arg", False) else {}
    try:
        out, states = cell.call(x, [h], **kwargs)
    except Exception:  # noqa: BLE001 - any failure means "not an Elman cell"
        return None
    states = states if isinstance(states, (list, tuple)) else [states]
    if len(states) != 1 or states[0] is not out or not isinstance(out, keras.KerasTensor):
        return None
    split = _split_activation(out)
    if split is None or split[0] not in RNN_ACTIVATIONS:
        return None
    name, pre, dense = split
    reader = _Reader(x, h, input_dim, units)
    if dense is not None:
        node = dense._inbound_nodes[out._keras_history.node_index]
        form = reader.dense(dense, node.arguments.args[0])
    else:
        form = reader.affine(pre)
    if form is None or form[0].shape != (input_dim, units) or form[1].shape != (units, units):
        return None
    kernel, recurrent, bias = (np.ascontiguousarray(p.astype(np.float32)) for p in form)
    return ElmanCell(kernel, recurrent, bias if np.any(bias) else None, name)
