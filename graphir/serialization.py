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
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from graphir.atomic import atomic_write
from graphir.dtypes import DType
from graphir.errors import (
    GraphInvariantError,
    GraphIRError,
    IRFormatError,
    ModelFileError,
    ResourceLimitError,
)
from graphir.ir import Graph, Node, Value
from graphir.limits import Limits, current_limits
from graphir.safe_json import load_json
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

__all__ = ["FORMAT_VERSION", "METADATA_KEY", "graph_from_json", "graph_to_json", "load", "save"]

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
        **({"output_keys": list(graph.output_keys)} if graph.output_keys else {}),
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
        output_keys = data.get("output_keys", [])
        if not isinstance(output_keys, list) or not all(isinstance(k, str) for k in output_keys):
            raise IRFormatError(f"output_keys is {output_keys!r}, not a list of strings",
                                where=where)
        return Graph(data["name"], [_value(v, where) for v in data["inputs"]], data["outputs"],
                     nodes, {w: weights[w] for w in order}, output_keys)
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
    """Write ``graph`` to ``path`` (``.gir``) atomically (:func:`graphir.atomic.atomic_write`:
    nothing visible before the file is complete), after verifying it.

    Returns:
        the path written.

    Raises:
        GraphInvariantError: the graph is invalid (nothing is written).
    """
    from safetensors.numpy import save as safetensors_bytes

    verify_graph(graph)
    meta = {METADATA_KEY: json.dumps(graph_to_json(graph), separators=(",", ":"),
                                     sort_keys=True)}
    # np.ascontiguousarray returns at least 1-D: a rank-0 weight would come back as (1,)
    tensors = {k: np.ascontiguousarray(v).reshape(v.shape) for k, v in graph.weights.items()}
    data = safetensors_bytes(tensors, metadata=meta)
    return atomic_write(path, lambda f: f.write(data))


def load(path: str | os.PathLike, *, limits: Limits | None = None) -> Graph:
    """Read a ``.gir`` file written by :func:`save`; never executes code.

    Before any tensor is read, the safetensors header is parsed by graphir itself and
    checked against ``limits`` (default :func:`graphir.limits.current_limits`): the
    header size, the JSON nesting depth, every tensor's dtype (those of
    :class:`~graphir.dtypes.DType` only: BF16, U32, C64, F8... are refused), shape,
    byte range (within the file, ``prod(shape) * itemsize`` bytes) and the total
    against the memory budget.  The graph JSON is then checked field by field for
    its JSON types before the graph is built.

    Raises:
        ModelFileError: the file is missing or unreadable.
        IRFormatError: it is not a graphir file, of another format version, or malformed
            (the message names the tensor or field).
        ResourceLimitError: a size, depth or count exceeds ``limits``.
        GraphInvariantError: the stored graph breaks an IR invariant.
    """
    limits = limits or current_limits()
    path = Path(path)
    where = f"file {path}"
    if not path.is_file():
        raise ModelFileError("no such file", where=where)
    try:
        with open(path, "rb") as f:  # one handle: the bytes checked are the bytes read
            header, start = _read_header(f, path, limits)
            data = _read_graph_json(header, path, limits)
            weights = _read_tensors(f, header, start, path)
    except OSError as e:
        raise ModelFileError(f"unreadable: {e.strerror or e}", where=where) from None
    try:
        graph = graph_from_json(data, weights, where=where)
        verify_graph(graph)
    except GraphInvariantError as e:  # say which file the broken graph came from
        raise GraphInvariantError(e.message.split("] ", 1)[-1], node=e.node,
                                  invariant=e.invariant, excerpt=e.excerpt,
                                  where=f"{where}, {e.where}" if e.where else where) from None
    except GraphIRError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as e:
        # the field checks leave only values an op's attribute schema rejects in a way
        # it did not foresee: still a malformed file, never an internal error
        raise IRFormatError(f"malformed graph: {type(e).__name__}: {e}", where=where) from None
    return graph


def _read_graph_json(header: dict, path: Path, limits: Limits) -> dict:
    """The graph JSON of the header's metadata, its version and field types checked."""
    where = f"file {path}"
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or METADATA_KEY not in meta:
        raise IRFormatError("not a graphir file (no 'graphir' metadata in the safetensors "
                            "header)", where=where)
    if not isinstance(meta[METADATA_KEY], str):
        raise IRFormatError("the 'graphir' metadata is not a string", where=where)
    data = load_json(meta[METADATA_KEY], file=str(path), entry="graph JSON",
                     max_depth=limits.max_depth, error=IRFormatError)
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        found = data.get("format") if isinstance(data, dict) else None
        raise IRFormatError(f"unsupported .gir format version {_clip(found)} (this graphir reads "
                            f"version {FORMAT_VERSION})", where=where)
    _check_json_types(data, where, limits)
    return data


def _read_tensors(f: BinaryIO, header: dict, start: int, path: Path) -> dict[str, np.ndarray]:
    """Each tensor of the (checked) header, read from ``f`` as a little-endian array."""
    weights = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        f.seek(start + begin)
        raw = f.read(end - begin)
        if len(raw) != end - begin:  # the file shrank since its size was taken
            raise IRFormatError(f"tensor {_clip(name)}: the file ends inside its bytes",
                                where=f"file {path}")
        dtype = _SAFETENSORS_DTYPES[info["dtype"]].to_numpy().newbyteorder("<")
        weights[name] = np.frombuffer(raw, dtype=dtype).reshape(info["shape"]).astype(
            dtype.newbyteorder("="), copy=False)
    return weights


#: safetensors dtype codes -> graphir dtypes (https://github.com/huggingface/safetensors,
#: "Format"); any other code (BF16, U16, U32, U64, C64, F8_*...) is refused
_SAFETENSORS_DTYPES = {"F16": DType.FLOAT16, "F32": DType.FLOAT32, "F64": DType.FLOAT64,
                       "I8": DType.INT8, "I16": DType.INT16, "I32": DType.INT32,
                       "I64": DType.INT64, "U8": DType.UINT8, "BOOL": DType.BOOL}


def _read_header(f: BinaryIO, path: Path, limits: Limits) -> tuple[dict, int]:
    """Parse and check the safetensors header of the open file ``f`` (see :func:`load`);
    return it and the offset where the tensor data starts."""
    where = f"file {path}"
    size = os.fstat(f.fileno()).st_size
    head = f.read(8)
    if len(head) < 8:
        raise IRFormatError("not a .gir (safetensors) file: shorter than its 8-byte "
                            "header length", where=where)
    n = int.from_bytes(head, "little")
    if n > limits.max_config_bytes:
        raise ResourceLimitError(str(path), "safetensors header", f"declares {n:,} "
                                 f"bytes, more than the limit of "
                                 f"{limits.max_config_bytes:,}", declared=n,
                                 limit=limits.max_config_bytes)
    if n > size - 8:
        raise IRFormatError(f"not a .gir (safetensors) file: the header declares {n:,} "
                            f"bytes but the file holds {size - 8:,} after the length",
                            where=where)
    raw = f.read(n)
    header = load_json(raw, file=str(path), entry="safetensors header",
                       max_depth=limits.max_depth, error=IRFormatError)
    if not isinstance(header, dict):
        raise IRFormatError("the safetensors header is not a JSON object", where=where)
    if len(header) > limits.max_objects:
        raise ResourceLimitError(str(path), "safetensors header", f"{len(header):,} tensors",
                                 declared=len(header), limit=limits.max_objects)
    data_size = size - 8 - n
    total = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        entry = f"tensor {_clip(name)}"
        if not isinstance(info, dict):
            raise IRFormatError(f"{entry}: header entry is not an object", where=where)
        code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if code not in _SAFETENSORS_DTYPES:
            raise IRFormatError(f"{entry}: dtype {_clip(code)} is not supported by graphir "
                                f"(supported: {', '.join(_SAFETENSORS_DTYPES)})", where=where)
        if (not isinstance(shape, list)
                or not all(type(d) is int and d >= 0 for d in shape)):
            raise IRFormatError(f"{entry}: shape {shape!r} is not a list of non-negative "
                                "integers", where=where)
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int and o >= 0 for o in offsets)
                or offsets[0] > offsets[1]):
            raise IRFormatError(f"{entry}: data_offsets {offsets!r} are not [begin, end]",
                                where=where)
        nbytes = _SAFETENSORS_DTYPES[code].to_numpy().itemsize * math.prod(shape)
        if nbytes != offsets[1] - offsets[0] or offsets[1] > data_size:
            raise IRFormatError(f"{entry}: declares shape {shape} of {code} ({nbytes:,} bytes) "
                                f"but the bytes {offsets} (file data: {data_size:,} bytes) "
                                "do not match", where=where)
        total += nbytes
        if total > limits.memory_budget:
            raise ResourceLimitError(str(path), entry, f"the tensors reach {total:,} bytes, "
                                     f"more than the memory budget of "
                                     f"{limits.memory_budget:,}", declared=total,
                                     limit=limits.memory_budget)
    return header, 8 + n


def _check_json_types(data: dict, where: str, limits: Limits) -> None:
    """Check the JSON type of every field of the graph JSON (``specs/file-format.md``).

    Raises:
        IRFormatError: naming the first field of a wrong type.
        ResourceLimitError: more nodes than ``limits.max_objects``.
    """
    def fail(field: str, expected: str, got: Any) -> None:
        raise IRFormatError(f"malformed graph JSON: field {field}: expected {expected}, got "
                            f"{type(got).__name__} "
                            f"{_clip(got)}", where=where)

    def strings(field: str, value: Any) -> None:
        if not isinstance(value, list):
            fail(field, "a list of strings", value)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                fail(f"{field}[{i}]", "a string", item)

    def values(field: str, value: Any) -> None:
        if not isinstance(value, list):
            fail(field, "a list of values", value)
        for i, v in enumerate(value):
            f = f"{field}[{i}]"
            if not isinstance(v, dict):
                fail(f, "an object with name, dtype and shape", v)
            for key in ("name", "dtype"):
                if not isinstance(v.get(key), str):
                    fail(f"{f}.{key}", "a string", v.get(key))
            shape = v.get("shape")
            if not isinstance(shape, list):
                fail(f"{f}.shape", "a list", shape)
            for j, d in enumerate(shape):
                if not (d is None or isinstance(d, str) or (type(d) is int and d >= 0)):
                    fail(f"{f}.shape[{j}]", "a non-negative integer, a symbol or null", d)

    if not isinstance(data.get("name"), str):
        fail("name", "a string", data.get("name"))
    values("inputs", data.get("inputs"))
    strings("outputs", data.get("outputs"))
    strings("weights", data.get("weights"))
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        fail("nodes", "a list of nodes", nodes)
    if len(nodes) > limits.max_objects:
        raise ResourceLimitError(where.removeprefix("file "), "graph JSON",
                                 f"{len(nodes):,} nodes", declared=len(nodes),
                                 limit=limits.max_objects)
    for i, node in enumerate(nodes):
        f = f"nodes[{i}]"
        if not isinstance(node, dict):
            fail(f, "an object", node)
        for key in ("op", "name"):
            if not isinstance(node.get(key), str):
                fail(f"{f}.{key}", "a string", node.get(key))
        strings(f"{f}.inputs", node.get("inputs"))
        values(f"{f}.outputs", node.get("outputs"))
        if not isinstance(node.get("attrs", {}), dict):
            fail(f"{f}.attrs", "an object", node.get("attrs"))


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
