"""Seeded input generation for verification runs.

Rules (``specs/verification.md``):

* the symbolic batch dimension (``"batch"``) and a static batch take ``batch``
  rows (a static batch keeps its own size); other symbolic or unknown dims take
  ``default_dim``;
* float inputs: standard normal (but whole numbers in the valid index range when an
  ``embedding`` reads them), ``numpy.random.default_rng(seed)``, cast to the dtype;
* integer inputs: uniform in ``[0, high)`` where ``high`` is the smallest
  ``input_dim`` of the ``embedding`` nodes that read the input (so every index is
  valid), or ``int_high`` when no embedding reads it;
* bool inputs: fair coin flips;
* inputs are drawn in graph-input order from one generator, so the same graph,
  batch and seed always give the same arrays.
"""

from __future__ import annotations

import numpy as np

from graphir.dtypes import DType
from graphir.ir import Graph

__all__ = ["make_inputs", "concrete_shape"]


def concrete_shape(shape, *, batch: int, default_dim: int = 8) -> tuple[int, ...]:
    """Replace the symbolic/unknown dims of ``shape`` (axis 0 by ``batch``)."""
    out = []
    for axis, d in enumerate(shape):
        if isinstance(d, int):
            out.append(d)
        else:
            out.append(batch if axis == 0 else default_dim)
    return tuple(out)


def make_inputs(graph: Graph, *, batch: int = 2, seed: int = 0, default_dim: int = 8,
                int_high: int = 10) -> dict[str, np.ndarray]:
    """Seeded arrays for every graph input, keyed by input name (rules in the module docstring).

    Raises:
        ValueError: ``batch`` < 1.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    rng = np.random.default_rng(seed)
    highs: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "embedding" and node.inputs[0]:
            rows = int(graph.weights[node.inputs[1]].shape[0])
            highs[node.inputs[0]] = min(highs.get(node.inputs[0], rows), rows)
    out: dict[str, np.ndarray] = {}
    for v in graph.inputs:
        shape = concrete_shape(v.type.shape, batch=batch, default_dim=default_dim)
        dt = v.type.dtype
        if dt.is_float and v.name in highs:  # float indices into an embedding
            arr = rng.integers(0, max(1, highs[v.name]), size=shape).astype(dt.to_numpy())
        elif dt.is_float:
            arr = rng.standard_normal(shape).astype(dt.to_numpy())
        elif dt == DType.BOOL:
            arr = rng.integers(0, 2, size=shape).astype(bool)
        else:
            arr = rng.integers(0, max(1, highs.get(v.name, int_high)), size=shape).astype(dt.to_numpy())
        out[v.name] = arr
    return out
