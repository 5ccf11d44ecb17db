"""Sequence ops: RepeatVector, and the folding of a time axis into the batch axis that
TimeDistributed lowers to (``specs/ops-sequence.md``).

* ``repeat_vector(x) {n}``: ``(N, D) -> (N, n, D)``, each sample repeated ``n`` times
  along a new axis 1 (``keras/src/layers/reshaping/repeat_vector.py``).
* ``time_fold(x)``: ``(N, T, *S) -> (N * T, *S)``, row ``n * T + t`` of the result is
  ``x[n, t]`` (a row-major reshape).
* ``time_unfold(y, x)``: ``(N * T, *S') -> (N, T, *S')``, the inverse of ``time_fold``;
  ``x`` is the tensor that was folded and only supplies ``N`` and ``T``.

``TimeDistributed(inner)`` (``keras/src/layers/rnn/time_distributed.py``) lowers to
``time_fold``, the inner layer's own op(s) on the folded tensor, then ``time_unfold``:
the inner layer treats axis 0 as a batch axis, and no op of the op set mixes samples
at inference, so applying it to all ``N * T`` time steps at once equals applying it
to each time step.

Reference kernels (NumPy, float64):

* ``repeat_vector``: ``keras/src/layers/reshaping/repeat_vector.py`` (``RepeatVector.call``:
  reshape to ``(N, 1, D)``, then ``ops.repeat(..., n, axis=1)``);
* ``time_fold`` / ``time_unfold``: row-major reshapes between ``(N, T, *S)`` and
  ``(N * T, *S)``, so folded row ``n * T + t`` is time step ``t`` of sample ``n``; this is
  how ``TimeDistributed`` (``keras/src/layers/rnn/time_distributed.py``) applies its
  inner layer to every time step."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from graphir.ops.registry import AttrSpec, OpSchema, TypeRuleError, register
from graphir.ops.type_rules import fmt_shape, require_positive, require_rank
from graphir.tensor_types import Dim, TensorType

__all__: list[str] = []


# --------------------------------------------------------------------------- reference kernels

def repeat_vector(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]) -> np.ndarray:
    """``x: (N, D)`` -> ``(N, n, D)`` with ``y[:, i, :] == x`` for every ``i < n``; any dtype.

    Raises:
        ValueError: ``x`` is not rank 2.
    """
    (x,) = inputs
    if x.ndim != 2:
        raise ValueError(f"repeat_vector expects a rank-2 input, got shape {x.shape}")
    return np.repeat(x[:, np.newaxis, :], attrs["n"], axis=1)


def time_fold(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]) -> np.ndarray:
    """``x: (N, T, *S)`` -> ``(N * T, *S)``, row ``n * T + t`` = ``x[n, t]``; any dtype.

    Raises:
        ValueError: ``x`` has rank below 3.
    """
    (x,) = inputs
    if x.ndim < 3:
        raise ValueError(f"time_fold expects rank >= 3, got shape {x.shape}")
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


def time_unfold(inputs: Sequence[np.ndarray | None], attrs: Mapping[str, Any]) -> np.ndarray:
    """``y: (N * T, *S')`` and the folded tensor ``x: (N, T, ...)`` -> ``(N, T, *S')``, the
    inverse of :func:`time_fold`; dtype of ``y``.

    Raises:
        ValueError: ``y`` does not have ``N * T`` rows.
    """
    y, x = inputs
    n, t = x.shape[:2]
    if y.ndim < 1 or y.shape[0] != n * t:
        raise ValueError(f"time_unfold: y of shape {y.shape} does not have N*T = {n}*{t} "
                         f"rows (x has shape {x.shape})")
    return y.reshape((n, t) + y.shape[1:])


# --------------------------------------------------------------------------- ops

def _infer_repeat_vector(types, attrs):
    """``(N, D)`` -> ``(N, n, D)``, dtype of ``x`` (any dtype).

    Raises:
        TypeRuleError: ``x`` is not rank 2 (Keras' ``InputSpec(ndim=2)``); ``n < 1``.
    """
    (x,) = types
    require_rank(x, (2,), input_index=0, what="repeat_vector input x")
    require_positive(attrs, "n")
    return (TensorType(x.dtype, (x.shape[0], attrs["n"], x.shape[1])),)


register(OpSchema("repeat_vector", ("x",), {
    "n": AttrSpec("int", doc="repetitions (>= 1): the size of the new axis 1")},
    _infer_repeat_vector, doc="(N, D) -> (N, n, D), x repeated n times (Keras RepeatVector)", kernel=repeat_vector))


def _mul_dims(a: Dim, b: Dim) -> Dim:
    """``a * b`` when both are static ints, else unknown (None)."""
    return a * b if isinstance(a, int) and isinstance(b, int) else None


def _infer_time_fold(types, attrs):
    """``(N, T, *S)`` -> ``(N * T, *S)``; the merged dim is unknown unless ``N`` and ``T``
    are both static ints.  Any dtype.

    Raises:
        TypeRuleError: ``x`` has rank below 3 (Keras' TimeDistributed needs a batch, a
            time and at least one feature axis).
    """
    (x,) = types
    if x.rank < 3:
        raise TypeRuleError(f"time_fold input x must have rank >= 3 (batch, time, features), "
                            f"got rank {x.rank} {fmt_shape(x.shape)}", input_index=0,
                            expected="rank >= 3", actual=f"rank {x.rank} {fmt_shape(x.shape)}")
    return (TensorType(x.dtype, (_mul_dims(x.shape[0], x.shape[1]),) + tuple(x.shape[2:])),)


register(OpSchema("time_fold", ("x",), {}, _infer_time_fold,
                  doc="(N, T, *S) -> (N*T, *S): the time axis folded into the batch axis "
                      "(TimeDistributed lowering)", kernel=time_fold))


def _infer_time_unfold(types, attrs):
    """``y: (M, *S')`` and ``x: (N, T, ...)`` -> ``(N, T, *S')``, dtype of ``y`` (``x`` may
    have another dtype: it only supplies ``N`` and ``T``).

    Raises:
        TypeRuleError: ``y`` has rank 0; ``x`` has rank below 2; ``M`` is static and
            differs from a static ``N * T``, or is not a multiple of a static ``N`` or
            ``T``.
    """
    y, x = types
    if y.rank < 1:
        raise TypeRuleError("time_unfold input y needs a (folded) batch axis, got a scalar",
                            input_index=0, expected="rank >= 1", actual="rank 0")
    if x.rank < 2:
        raise TypeRuleError(f"time_unfold reference x must have rank >= 2 (batch, time), got "
                            f"rank {x.rank} {fmt_shape(x.shape)}", input_index=1,
                            expected="rank >= 2", actual=f"rank {x.rank} {fmt_shape(x.shape)}")
    m, n, t = y.shape[0], x.shape[0], x.shape[1]
    if isinstance(m, int):
        nt = _mul_dims(n, t)
        bad = (nt is not None and m != nt) or any(
            isinstance(d, int) and d > 0 and m % d for d in (n, t))
        if bad:
            want = nt if nt is not None else "a multiple of " + " and ".join(
                str(d) for d in (n, t) if isinstance(d, int))
            raise TypeRuleError(
                f"time_unfold: y {fmt_shape(y.shape)} has {m} rows, which cannot be "
                f"(batch, time) = ({n}, {t}) of x {fmt_shape(x.shape)}", input_index=0,
                axis=0, expected=f"{want} rows", actual=str(m))
    return (TensorType(y.dtype, (n, t) + tuple(y.shape[1:])),)


register(OpSchema("time_unfold", ("y", "x"), {}, _infer_time_unfold,
                  doc="(N*T, *S') -> (N, T, *S') with N, T from the folded tensor x "
                      "(TimeDistributed lowering)", kernel=time_unfold))
