"""A NumPy reference interpreter for the IR: :func:`evaluate`.

Style after JAX's ``eval_jaxpr``: an environment of values with ``read``/``write``
closures and the reference kernel each op carries in its schema
(``graphir.ops.get_schema(op).kernel``, defined beside the op's type rule).
Floats are computed in ``float64`` so the result is a trustworthy reference for
TensorFlow and onnxruntime; each graph output is cast to its declared dtype at
the end.  This module imports NumPy only (never TensorFlow or onnx).

Example::

    >>> out = evaluate(graph, {"x": np.ones((2, 4), np.float32)})
    >>> out["dense"].shape, out["dense"].dtype
    ((2, 2), dtype('float32'))
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from graphir.dtypes import DType
from graphir.ir import Graph, Value
from graphir.ops import get_schema
from graphir.tensor_types import Dim, TensorType, format_dim
from graphir.verifier import verify_graph

__all__ = ["evaluate"]


def _compute_form(array: np.ndarray, dtype: DType) -> np.ndarray:
    """The array as the interpreter holds it: floats in float64, others in their dtype."""
    return array.astype(np.float64) if dtype.is_float else array.astype(dtype.to_numpy())


def _shape_text(shape) -> str:
    return "(" + ", ".join(format_dim(d) for d in shape) + ")"


def _check_shape(what: str, actual: tuple[int, ...], declared: tuple[Dim, ...],
                 symbols: dict[str, tuple[int, str]]) -> None:
    """Raise ValueError when ``actual`` does not fit ``declared``; bind symbolic dims."""
    if len(actual) != len(declared):
        raise ValueError(f"{what} has shape {actual} (rank {len(actual)}) but the graph "
                         f"declares {_shape_text(declared)} (rank {len(declared)})")
    for axis, (a, d) in enumerate(zip(actual, declared)):
        if isinstance(d, int) and a != d:
            raise ValueError(f"{what} has shape {actual} but the graph declares "
                             f"{_shape_text(declared)}: axis {axis} must be {d}, got {a}")
        if isinstance(d, str):
            bound = symbols.setdefault(d, (a, what))
            if bound[0] != a:
                raise ValueError(f"{what} has {d}={a} at axis {axis}, but {bound[1]} has "
                                 f"{d}={bound[0]}")


def _bind_input(value: Value, data, symbols: dict) -> np.ndarray:
    arr = np.asarray(data)
    want = value.type.dtype.to_numpy()
    if arr.dtype != want and not np.can_cast(arr.dtype, want, casting="same_kind"):
        raise ValueError(f"input {value.name!r} has dtype {arr.dtype}, which cannot be cast "
                         f"safely to its declared dtype {want}")
    _check_shape(f"input {value.name!r}", arr.shape, value.type.shape, symbols)
    return _compute_form(arr.astype(want), value.type.dtype)


def evaluate(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``graph`` on ``inputs`` in NumPy and return its outputs.

    Args:
        graph: a graph; it is checked with :func:`~graphir.verifier.verify_graph` first.
        inputs: one array (or array-like) per graph input, keyed by input name.
            Each is cast to the input's declared dtype (only ``same_kind`` casts,
            e.g. float64 -> float32, are accepted), then floats are upcast to
            float64 for the computation.  Shapes must match the declared ones:
            equal rank, equal static dims, and one size per symbolic dim name
            across all inputs (e.g. every ``"batch"`` axis the same).

    Returns:
        ``{output name: array}`` in graph-output order, each array of the output's
        declared dtype and of the actual (concrete) shape.

    Raises:
        GraphInvariantError: ``graph`` breaks an IR invariant.
        KeyError: an input is missing, or ``inputs`` names a value that is not a
            graph input.
        ValueError: an input has the wrong rank, a wrong static dim, inconsistent
            symbolic dims or an incompatible dtype; or a kernel rejects the data
            (e.g. an embedding index out of range, a ``valid`` window larger than a
            dynamically sized input).

    Semantics of every op are those of Keras 3 / TensorFlow; see
    :mod:`graphir.ops.nn` for the conventions (NHWC, TF "same" padding...).
    """
    verify_graph(graph)
    names = [v.name for v in graph.inputs]
    missing = [n for n in names if n not in inputs]
    if missing:
        raise KeyError(f"missing graph input(s) {missing}; graph {graph.name!r} takes {names}")
    unknown = sorted(k for k in inputs if k not in names)
    if unknown:
        raise KeyError(f"unknown input name(s) {unknown}; graph {graph.name!r} takes {names}")

    env: dict[str, np.ndarray] = {}

    def read(name: str) -> np.ndarray | None:
        return env[name] if name else None

    def write(name: str, array: np.ndarray) -> None:
        env[name] = array

    symbols: dict[str, tuple[int, str]] = {}
    for value in graph.inputs:
        write(value.name, _bind_input(value, inputs[value.name], symbols))
    for name, array in graph.weights.items():
        write(name, _compute_form(array, DType.from_any(array.dtype)))

    for node in graph.nodes:
        kernel = get_schema(node.op).kernel  # verify_graph checked the op is known
        result = np.asarray(kernel([read(i) for i in node.inputs], node.attrs))
        out = node.output
        _check_shape(f"the output of node {node.name!r} ({node.op})", result.shape,
                     out.type.shape, symbols)
        write(out.name, result)

    types: dict[str, TensorType] = graph.value_types()
    return {name: np.asarray(read(name)).astype(types[name].dtype.to_numpy())
            for name in graph.outputs}
