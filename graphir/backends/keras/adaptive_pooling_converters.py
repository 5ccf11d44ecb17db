"""Converters of Keras' adaptive pooling layers (``AdaptiveAveragePooling1D/2D/3D``,
``AdaptiveMaxPooling1D/2D/3D``), lowered exactly as Keras' TensorFlow backend computes
them (``_adaptive_average_pool2d`` and siblings in ``keras/src/backend/tensorflow/nn.py``,
the "two-pool gather"): one spatial axis after the other,

1. output bin ``o`` covers ``[start, end)`` with ``start = floor(float32(o) * in / out)``
   and ``end = min(ceil(float32(o + 1) * in / out), in)`` (float32 arithmetic, as
   ``_compute_static_gather_indices``);
2. a stride-1 "valid" pooling of that axis with the *small* window
   ``ceil(in / out)`` and one with the *big* window ``small + 1``
   (``compute_adaptive_pooling_window_sizes``), the other axes untouched (window 1),
   concatenated along the axis;
3. a ``gather`` of the bins' starts along the axis (a big bin reads the big pooling).

The IR is those ops (``avg_pool{r}d`` / ``max_pool{r}d``, ``concatenate``, ``gather``
with constant indices); a pooling no bin reads is left out.  Channels-first data is
transposed around them (:func:`~graphir.backends.keras.converters.channels_first_aware`).
Refused: a non-static spatial size (Keras needs static sizes too).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.converters import channels_first_aware
from graphir.backends.keras.registry import lowers

__all__ = ["adaptive_bins"]


def adaptive_bins(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, sizes)`` of the ``n_out`` bins over ``n_in`` positions, in TensorFlow's
    float32 arithmetic (module docstring, step 1)."""
    f = np.float32
    o = np.arange(n_out, dtype=f)
    starts = np.floor(o * f(n_in) / f(n_out)).astype(np.int64)
    ends = np.ceil((o + f(1)) * f(n_in) / f(n_out)).astype(np.int64)
    ends = np.minimum(ends, n_in)
    starts = np.minimum(starts, n_in - 1)
    return starts, ends - starts


def _adaptive(kind: str, r: int):
    pool_op = f"{kind}_pool{r}d"

    def convert(ctx: LayerContext) -> Lowered:
        layer, xt = ctx.layer, ctx.x_type
        size = layer.output_size
        sizes = (size,) * r if isinstance(size, int) else tuple(int(s) for s in size)
        if len(sizes) != r:
            ctx.refuse(f"output_size={size!r}; expected {r} sizes")
        x = ctx.x
        steps = []
        for i, n_out in enumerate(sizes):
            n_in = xt.shape[1 + i]
            if not isinstance(n_in, int):
                ctx.refuse(f"a non-static spatial size ({xt.shape[1:1 + r]})")
            small = math.ceil(n_in / n_out)
            big = small + 1
            starts, lengths = adaptive_bins(n_in, n_out)
            is_big = lengths == big
            steps.append((i, small, big, starts, is_big, n_in))
        for k, (i, small, big, starts, is_big, n_in) in enumerate(steps):
            pools = []
            for window, used in ((small, bool((~is_big).any())), (big, bool(is_big.any()))):
                if not used:
                    pools.append(None)
                    continue
                if window > n_in:
                    ctx.refuse(f"a pooling window of {window} over an axis of {n_in}")
                pool_size = tuple(window if j == i else 1 for j in range(r))
                pools.append(ctx.helper(pool_op, [x], {
                    "pool_size": pool_size, "strides": (1,) * r, "padding": "valid",
                    "data_format": "channels_last"}, suffix=f"{kind}_pool_{window}"))
            small_pool, big_pool = pools
            if small_pool is not None and big_pool is not None:
                combined = ctx.helper("concatenate", [small_pool, big_pool], {"axis": 1 + i},
                                      suffix=f"combined_{i}")
                indices = np.where(is_big, starts + max(1, n_in - small + 1), starts)
            else:
                combined = small_pool if small_pool is not None else big_pool
                indices = starts
            index = ctx.constant(f"indices_{i}", indices.astype(np.int64))
            if k == len(steps) - 1:
                return ctx.lowered("gather", [combined, index], {"axis": 1 + i})
            x = ctx.helper("gather", [combined, index], {"axis": 1 + i}, suffix=f"gather_{i}")
        raise AssertionError("unreachable")  # pragma: no cover
    convert.__doc__ = (f"``{kind}`` adaptive pooling of {r} spatial axes (module docstring).")
    return convert


for _r in (1, 2, 3):
    lowers(getattr(keras.layers, f"AdaptiveAveragePooling{_r}D"))(
        channels_first_aware(_adaptive("avg", _r)))
    lowers(getattr(keras.layers, f"AdaptiveMaxPooling{_r}D"))(
        channels_first_aware(_adaptive("max", _r)))
