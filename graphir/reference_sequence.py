"""NumPy reference kernels of the sequence ops (see :mod:`graphir.reference_ops` for the
conventions; semantics in ``specs/ops-sequence.md``).

* ``repeat_vector``: ``keras/src/layers/reshaping/repeat_vector.py`` (``RepeatVector.call``:
  reshape to ``(N, 1, D)``, then ``ops.repeat(..., n, axis=1)``);
* ``time_fold`` / ``time_unfold``: row-major reshapes between ``(N, T, *S)`` and
  ``(N * T, *S)``, so folded row ``n * T + t`` is time step ``t`` of sample ``n``; this is
  how ``TimeDistributed`` (``keras/src/layers/rnn/time_distributed.py``) applies its
  inner layer to every time step.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["KERNELS", "repeat_vector", "time_fold", "time_unfold"]

Kernel = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], np.ndarray]


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


#: IR op name -> kernel
KERNELS: dict[str, Kernel] = {
    "repeat_vector": repeat_vector,
    "time_fold": time_fold,
    "time_unfold": time_unfold,
}
