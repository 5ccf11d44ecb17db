"""The ``.gir`` file format: one safetensors file whose metadata holds the graph as JSON.

Layout (see ``specs/file-format.md``):

* the tensors are the graph's weights, keyed by value name (safetensors: a JSON
  header with dtype/shape/offsets, then raw little-endian bytes, no code);
* ``__metadata__["graphir"]`` = the graph as compact, key-sorted JSON: ``{"format": 1,
  "name", "inputs", "outputs", "nodes", "weights"}`` (weights: names in order).  One
  metadata key only: safetensors stores metadata in a hash map, so several keys
  would come out in a different order each time and break byte-determinism.

Loading reads JSON and raw bytes only (no pickle, no code execution) and checks
the graph with :func:`graphir.verifier.verify_graph`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from graphir.atomic import atomic_output
from graphir.dtypes import DType
from graphir.errors import IRFormatError, ModelFileError
from graphir.ir import Graph, Node, Value
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

__all__ = ["save", "load", "graph_to_json", "graph_from_json", "FORMAT_VERSION", "METADATA_KEY"]

FORMAT_VERSION = 1
METADATA_KEY = "graphir"


def _type_json(t: TensorType) -> dict[str, Any]:
    return {"dtype": t.dtype.value, "shape": list(t.shape)}


def _value_json(v: Value) -> dict[str, Any]:
    return {"name": v.name, **_type_json(v.type)}


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """The graph's structure as a JSON-ready dict (weights by name and order only)."""
    return {
        "format": FORMAT_VERSION,
        "name": graph.name,
        "inputs": [_value_json(v) for v in graph.inputs],
        "outputs": list(graph.outputs),
        "nodes": [{"op": n.op, "name": n.name, "inputs": list(n.inputs),
                   "outputs": [_value_json(v) for v in n.outputs],
                   "attrs": {k: v for k, v in n.attrs.items()}} for n in graph.nodes],
        "weights": list(graph.weights),
    }


def _value(obj: Any, where: str) -> Value:
    try:
        return Value(obj["name"], TensorType(DType(obj["dtype"]), obj["shape"]))
    except (KeyError, TypeError, ValueError) as e:
        raise IRFormatError(f"malformed value {obj!r}: {e}", where=where) from None


def graph_from_json(data: dict[str, Any], weights: dict[str, np.ndarray], *,
                    where: str = "graph") -> Graph:
    """Rebuild a :class:`Graph` from :func:`graph_to_json`'s dict and the weight arrays.

    Raises:
        IRFormatError: a field is missing or malformed, or the weight list and the
            arrays disagree (the message names the stored tensors the graph does not
            list, the listed weights that are not stored, and names listed twice).
    """
    try:
        order = list(data["weights"])
        problem = _weight_mismatch(order, weights)
        if problem:
            raise IRFormatError(f"weights listed in the graph and stored tensors differ: "
                                f"{problem}", where=where)
        nodes = [Node(n["op"], n["name"], n["inputs"],
                      [_value(v, where) for v in n["outputs"]], n.get("attrs", {}))
                 for n in data["nodes"]]
        return Graph(data["name"], [_value(v, where) for v in data["inputs"]], data["outputs"],
                     nodes, {w: weights[w] for w in order})
    except IRFormatError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise IRFormatError(f"malformed graph JSON: {type(e).__name__}: {e}", where=where) from None


def _listing(what: str, names: list[str], describe=repr, limit: int = 3) -> str:
    """``"what (2): 'a', 'b'"``: how many, and the first ``limit`` names."""
    more = f", and {len(names) - limit} more" if len(names) > limit else ""
    return f"{what} ({len(names)}): {', '.join(describe(n) for n in names[:limit])}{more}"


def _weight_mismatch(order: list, weights: dict[str, np.ndarray]) -> str:
    """What differs between the graph's weight list and the stored tensors ("" if nothing).

    Names the stored tensors the graph does not list (with their element counts), the
    listed weights that are not stored, and names listed more than once; each sorted,
    so the message is deterministic.
    """
    listed = set(order)
    extra = sorted(k for k in weights if k not in listed)
    missing = sorted(w for w in listed if w not in weights)
    twice = sorted(w for w, n in Counter(order).items() if n > 1)
    parts = []
    if extra:
        parts.append(_listing("extra tensors not listed in the graph", extra,
                              lambda k: f"{k!r} ({weights[k].size} elements)"))
    if missing:
        parts.append(_listing("weights listed in the graph but not stored", missing))
    if twice:
        parts.append(_listing("weights listed twice", twice))
    return "; ".join(parts)


def save(graph: Graph, path: str | os.PathLike) -> Path:
    """Write ``graph`` to ``path`` (``.gir``) atomically, after verifying it.

    Returns:
        the path written.

    Raises:
        GraphInvariantError: the graph is invalid (nothing is written).
    """
    from safetensors.numpy import save_file

    verify_graph(graph)
    meta = {METADATA_KEY: json.dumps(graph_to_json(graph), separators=(",", ":"),
                                     sort_keys=True)}
    # np.ascontiguousarray returns at least 1-D: a rank-0 weight would come back as (1,)
    tensors = {k: np.ascontiguousarray(v).reshape(v.shape) for k, v in graph.weights.items()}
    path = Path(path)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load(path: str | os.PathLike) -> Graph:
    """Read a ``.gir`` file written by :func:`save`; never executes code.

    Raises:
        ModelFileError: the file is missing or unreadable.
        IRFormatError: it is not a graphir file, of another format version, or malformed.
        GraphInvariantError: the stored graph breaks an IR invariant.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    where = f"file {path}"
    if not path.is_file():
        raise ModelFileError("no such file", where=where)
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            weights = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise IRFormatError(f"not a readable .gir (safetensors) file: {e}", where=where) from None
    if METADATA_KEY not in meta:
        raise IRFormatError("not a graphir file (no 'graphir' metadata in the safetensors "
                            "header)", where=where)
    try:
        data = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError as e:
        raise IRFormatError(f"graph JSON is malformed: {e}", where=where) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        found = data.get("format") if isinstance(data, dict) else None
        raise IRFormatError(f"unsupported .gir format version {found!r} (this graphir reads "
                            f"version {FORMAT_VERSION})", where=where)
    graph = graph_from_json(data, weights, where=where)
    verify_graph(graph)
    return graph
