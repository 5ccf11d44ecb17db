"""Seeded input generation for verification runs.

Rules (``specs/verification.md``):

* the symbolic batch dimension (``"batch"``) and a static batch take ``batch``
  rows (a static batch keeps its own size); other symbolic or unknown dims take
  ``default_dim``, by default the size :func:`fit_dim` chooses: 8 when the graph's
  type rules accept it, else the smallest larger size they accept (a text CNN's
  unknown sequence length must cover its convolution and pooling windows);
* float inputs: standard normal (but whole numbers in the valid index range when an
  ``embedding`` reads them), ``numpy.random.default_rng(seed)``, cast to the dtype;
* integer inputs: uniform in ``[0, high)`` where ``high`` is the smallest
  ``input_dim`` of the ``embedding`` nodes that read the input (so every index is
  valid), or ``int_high`` when no embedding reads it;
* bool inputs: fair coin flips;
* ``ranges`` (the CLI's ``--input-range NAME=LO,HI``) replace an input's
  distribution: uniform in ``[LO, HI)`` for floats, integers in ``[LO, HI)`` for
  integer inputs;
* inputs are drawn in graph-input order from one generator, so the same graph,
  batch and seed always give the same arrays.
"""

from __future__ import annotations

import attrs
import numpy as np

from graphir.dtypes import DType
from graphir.ir import Graph, Value
from graphir.tensor_types import TensorType

__all__ = ["make_inputs", "concrete_shape", "fit_dim", "second_dim", "smaller_dim",
           "has_free_dims",
           "plan_cases", "InputCase", "DEFAULT_DIM"]

#: the size of unknown non-batch input dims when the graph accepts it
DEFAULT_DIM = 8
#: :func:`fit_dim` tries sizes up to this one
MAX_FIT_DIM = 1 << 16


def concrete_shape(shape, *, batch: int, default_dim: int = DEFAULT_DIM) -> tuple[int, ...]:
    """Replace the symbolic/unknown dims of ``shape``: axis 0 by ``batch``, the others by
    ``default_dim`` (static dims are kept), e.g. ``("batch", None, 4)`` -> ``(2, 8, 4)``."""
    out = []
    for axis, d in enumerate(shape):
        if isinstance(d, int):
            out.append(d)
        else:
            out.append(batch if axis == 0 else default_dim)
    return tuple(out)


def has_free_dims(graph: Graph) -> bool:
    """True when some graph input has a symbolic or unknown dim after axis 0 (the
    dims that ``default_dim`` fills)."""
    return any(not isinstance(d, int) for v in graph.inputs for d in v.type.shape[1:])


def _with_free_dims(graph: Graph, size: int) -> Graph:
    """``graph`` with every symbolic/unknown input dim after axis 0 set to ``size``."""
    inputs = tuple(Value(v.name, TensorType(v.type.dtype, v.type.shape[:1] + tuple(
        d if isinstance(d, int) else size for d in v.type.shape[1:]))) for v in graph.inputs)
    return attrs.evolve(graph, inputs=inputs)


def _type_errors(graph: Graph) -> int:
    """How many errors the shape check (:func:`graphir.passes.check`) finds in ``graph``."""
    from graphir.passes import check

    return sum(d.severity == "error" for d in check(graph))


def fit_dim(graph: Graph, *, start: int = DEFAULT_DIM, limit: int = MAX_FIT_DIM) -> int:
    """The size for the symbolic/unknown input dims after axis 0 that the graph's type
    rules accept: one size for all of them (inputs that must agree then agree).

    Returns ``start`` when there is no such dim, when the graph accepts ``start``, or
    when no size fixes it (the shape check fails even with the dims unknown, or no
    size up to ``limit`` is accepted: the reference run then reports).  Otherwise
    the smallest accepted size above ``start``: sizes double from ``start`` until
    one is accepted, then the gap is bisected (windows fit once they fit: a
    convolution's or pooling's output grows with its input); the size returned is
    always one the shape check accepted.  Deterministic: a pure function of the graph.

    Example: ``Embedding -> Conv1D(7, strides=3) -> Conv1D(7, strides=3)`` on a
    ``(batch, None)`` input gives 25 (8 is too short: the second window would not fit).

    Raises:
        ValueError: ``start`` < 1 or ``limit`` < ``start``.
    """
    if start < 1 or limit < start:
        raise ValueError(f"need 1 <= start <= limit, got start={start}, limit={limit}")
    if not has_free_dims(graph) or _type_errors(graph):
        return start

    def accepted(size: int) -> bool:
        return not _type_errors(_with_free_dims(graph, size))

    if accepted(start):
        return start
    low, high = start, start * 2
    while not accepted(high):
        if high >= limit:
            return start
        low, high = high, min(high * 2, limit)
    while high - low > 1:  # invariant: low refused, high accepted
        mid = (low + high) // 2
        low, high = (low, mid) if accepted(mid) else (mid, high)
    return high


def _has_free_dims_checked(graph: Graph, first: int) -> bool:
    """:func:`has_free_dims`, after checking the first case's size ``first`` >= 1.

    Raises:
        ValueError: ``first`` < 1.
    """
    if first < 1:
        raise ValueError(f"need first >= 1, got {first}")
    return has_free_dims(graph)


def second_dim(graph: Graph, first: int, *, limit: int = MAX_FIT_DIM) -> int | None:
    """A second size for the free input dims: odd, larger than ``first`` (at least
    ``2 * first + 1``, so sequences run longer than the default), and accepted by the
    graph's shape check; None when the graph has no free dims or no such size up to
    ``limit`` is accepted.

    Raises:
        ValueError: ``first`` < 1.
    """
    if not _has_free_dims_checked(graph, first):
        return None
    start = 2 * first + 1
    if start > limit:
        return None
    size = fit_dim(graph, start=start, limit=limit)
    if size % 2 == 0:
        size += 1
    if size > limit or (not _type_errors(graph) and _type_errors(_with_free_dims(graph, size))):
        return None
    return size


def smaller_dim(graph: Graph, first: int) -> int | None:
    """The largest size below ``first`` that the graph's shape check accepts for its free
    input dims (the shape case's fallback when the model refuses the longer size, e.g.
    a position table of ``max_sequence_length`` rows); None when there is none.

    Raises:
        ValueError: ``first`` < 1.
    """
    if not _has_free_dims_checked(graph, first):
        return None
    clean = not _type_errors(graph)
    for size in range(first - 1, 0, -1):
        if not clean or not _type_errors(_with_free_dims(graph, size)):
            return size
    return None


@attrs.frozen
class InputCase:
    """One set of input shapes and a seed that a verification runs.

    Attributes:
        name: ``"primary"``, ``"second-draw"`` (same shapes, another seed: the
            sensitivity check's second draw) or ``"shape-N"``.
        batch: rows of every input with a symbolic batch axis.
        seed: the ``numpy.random.default_rng`` seed of the arrays.
        unknown_dim: the size of the free input dims after axis 0 (None: none).
    """

    name: str
    batch: int
    seed: int
    unknown_dim: int | None


def plan_cases(graph: Graph, *, batch: int = 2, seed: int = 0,
               several_shapes: bool = True) -> tuple[InputCase, ...]:
    """The input cases a verification runs (``specs/verification.md``).

    * ``primary``: ``batch`` rows, free dims at :func:`fit_dim`'s size, ``seed``;
    * ``second-draw``: the same shapes with ``seed + 1`` (sensitivity check);
    * with ``several_shapes``: ``shape-1`` with another batch size (1, or 3 when
      ``batch`` is 1) and the free dims at :func:`second_dim`'s odd, larger size,
      ``seed + 2``.

    Raises:
        ValueError: ``batch`` < 1 or ``seed`` < 0.
    """
    if batch < 1 or seed < 0:
        raise ValueError(f"need batch >= 1 and seed >= 0, got batch={batch}, seed={seed}")
    dim = fit_dim(graph) if has_free_dims(graph) else None
    cases = [InputCase("primary", batch, seed, dim), InputCase("second-draw", batch, seed + 1, dim)]
    if several_shapes:
        other = second_dim(graph, dim) if dim is not None else None
        cases.append(InputCase("shape-1", 1 if batch > 1 else 3, seed + 2,
                               other if other is not None else dim))
    return tuple(cases)


def make_inputs(graph: Graph, *, batch: int = 2, seed: int = 0, default_dim: int | None = None,
                int_high: int = 10, ranges: dict[str, tuple[float, float]] | None = None
                ) -> dict[str, np.ndarray]:
    """Seeded arrays for every graph input, keyed by input name (rules in the module docstring).

    ``default_dim`` is the size of symbolic/unknown input dims after axis 0; None
    (the default) means :func:`fit_dim`'s choice.  The arrays' shapes are
    :func:`concrete_shape` of the input types.

    Raises:
        ValueError: ``batch`` < 1; a range names no graph input or has ``LO >= HI``.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    ranges = dict(ranges or {})
    names = [v.name for v in graph.inputs]
    for key, (lo, hi) in ranges.items():
        if key not in names:
            raise ValueError(f"input range for {key!r}: no such input (inputs: "
                             f"{', '.join(names)})")
        if not lo < hi:
            raise ValueError(f"input range for {key!r}: need LO < HI, got {lo}, {hi}")
    if default_dim is None:
        default_dim = fit_dim(graph)
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
        if v.name in ranges and dt.is_float:
            lo, hi = ranges[v.name]
            arr = rng.uniform(lo, hi, size=shape).astype(dt.to_numpy())
        elif v.name in ranges and dt != DType.BOOL:
            lo, hi = ranges[v.name]
            arr = rng.integers(int(np.ceil(lo)), max(int(np.ceil(hi)), int(np.ceil(lo)) + 1),
                               size=shape).astype(dt.to_numpy())
        elif dt.is_float and v.name in highs:  # float indices into an embedding
            arr = rng.integers(0, max(1, highs[v.name]), size=shape).astype(dt.to_numpy())
        elif dt.is_float:
            arr = rng.standard_normal(shape).astype(dt.to_numpy())
        elif dt == DType.BOOL:
            arr = rng.integers(0, 2, size=shape).astype(bool)
        else:
            arr = rng.integers(0, max(1, highs.get(v.name, int_high)), size=shape).astype(dt.to_numpy())
        out[v.name] = arr
    return out
