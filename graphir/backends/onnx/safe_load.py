"""Reading an ONNX file from outside: :func:`load_onnx_file` (``specs/security.md``).

The protobuf is parsed without its external data (``onnx.load_model(...,
load_external_data=False)``); then every tensor (initializers, ``Constant`` and other
tensor attributes, in subgraphs too) is checked before a byte of external data is read:

* its dims are non-negative and its size, ``prod(dims) * itemsize``, fits the memory
  budget together with all the others;
* inline data holds exactly that many bytes (``raw_data``) or elements;
* external data names a ``location`` relative to the model's folder, without ``..``,
  an absolute path, a drive or a backslash, that resolves inside the folder through no
  symbolic link (CVE-2024-27318, CVE-2026-27489), is a regular file, and holds
  ``offset + length`` bytes, ``length`` being the declared size.

Only then is the external data read (``onnx.external_data_helper``) and the model
checked by ``onnx.checker.check_model``.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import onnx
from onnx import external_data_helper

from graphir.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from graphir.limits import Limits, current_limits

__all__ = ["check_external_location", "load_onnx_file"]

_PROTOBUF_LIMIT = 2 ** 31 - 1  # a protobuf message cannot exceed 2 GiB


def load_onnx_file(path: str | os.PathLike, *, limits: Limits | None = None) -> onnx.ModelProto:
    """Load the ONNX model at ``path`` with its external data, within ``limits``.

    Args:
        path: the ``.onnx`` file.
        limits: the bounds to apply; default :func:`graphir.limits.current_limits`.

    Returns:
        the model, external data loaded into it, passing ``onnx.checker.check_model``.

    Raises:
        ModelFileError: missing, not an ONNX protobuf, inconsistent tensor data, or the
            checker refuses it (``where`` is ``"file PATH"``, the message one line).
        UnsafeModelError: external data outside the model's folder or through a symlink.
        ResourceLimitError: tensors above the memory budget, too many nodes or too
            deep subgraphs.
    """
    limits = limits or current_limits()
    p = Path(path)
    file = os.fspath(path)
    where = f"file {file}"
    if not p.is_file():
        raise ModelFileError("no such file" if not p.exists() else "not a regular file",
                             where=where)
    size = p.stat().st_size
    if size > min(_PROTOBUF_LIMIT, limits.memory_budget):
        raise ResourceLimitError(file, "protobuf", f"{size:,} bytes, more than "
                                 f"{min(_PROTOBUF_LIMIT, limits.memory_budget):,}",
                                 declared=size, limit=min(_PROTOBUF_LIMIT, limits.memory_budget))
    try:
        model = onnx.load_model(str(p), load_external_data=False)
    except Exception as e:  # noqa: BLE001 -- DecodeError & co.: the file is not ONNX
        raise ModelFileError(f"not an ONNX model: {type(e).__name__}: {_line(e)}",
                             where=where) from None
    tensors = _tensors(model, file, limits)
    folder = p.parent if str(p.parent) else Path(".")
    total = 0
    has_external = False
    for entry, tensor in tensors:
        nbytes = _declared_bytes(tensor, entry, file)
        total += nbytes
        if total > limits.memory_budget:
            raise ResourceLimitError(file, entry, f"the tensors reach {total:,} bytes, more than "
                                     f"the memory budget of {limits.memory_budget:,}",
                                     declared=total, limit=limits.memory_budget)
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            has_external = True
            _check_external(tensor, nbytes, folder, entry, file)
        else:
            _check_inline(tensor, nbytes, entry, file)
    try:
        if has_external:
            external_data_helper.load_external_data_for_model(model, str(folder))
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001 -- ValidationError, OSError...: one typed error
        raise ModelFileError(f"refused by the ONNX checker: {type(e).__name__}: {_line(e)}",
                             where=where) from None
    return model


def _line(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split()) or "(no message)"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _short(value, limit: int = 60) -> str:
    """``repr(value)`` clipped to ``limit`` characters (a hostile name may be megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tensors(model: onnx.ModelProto, file: str, limits: Limits) -> list[tuple[str, onnx.TensorProto]]:
    """Every tensor of the model with a name for errors, subgraphs included (bounded)."""
    found: list[tuple[str, onnx.TensorProto]] = []
    count = 0
    stack = [(model.graph, 1)]
    while stack:
        graph, depth = stack.pop()
        if depth > limits.max_depth:
            raise ResourceLimitError(file, f"graph {_short(graph.name)}", f"subgraphs nested deeper "
                                     f"than {limits.max_depth}", declared=depth,
                                     limit=limits.max_depth)
        count += len(graph.node) + len(graph.initializer)
        if count > limits.max_objects:
            raise ResourceLimitError(file, f"graph {_short(graph.name)}", f"more than "
                                     f"{limits.max_objects:,} nodes and initializers",
                                     declared=count, limit=limits.max_objects)
        found += [(f"initializer {_short(t.name)}", t) for t in graph.initializer]
        found += [(f"sparse initializer {_short(t.values.name)}", t.values)
                  for t in graph.sparse_initializer]
        for node in graph.node:
            for attr in node.attribute:
                label = f"node {_short(node.name or node.op_type)} attribute {_short(attr.name)}"
                if attr.HasField("t"):
                    found.append((label, attr.t))
                found += [(label, t) for t in attr.tensors]
                if attr.HasField("g"):
                    stack.append((attr.g, depth + 1))
                stack += [(g, depth + 1) for g in attr.graphs]
    return found


def _declared_bytes(tensor: onnx.TensorProto, entry: str, file: str) -> int:
    if any(d < 0 for d in tensor.dims):
        raise ModelFileError(f"{entry}: negative dims {list(tensor.dims)}", where=f"file {file}")
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except Exception:  # noqa: BLE001 -- an unknown data_type code
        raise ModelFileError(f"{entry}: unknown data type {tensor.data_type}",
                             where=f"file {file}") from None
    return math.prod(tensor.dims) * itemsize


def _check_inline(tensor: onnx.TensorProto, nbytes: int, entry: str, file: str) -> None:
    if tensor.HasField("raw_data"):
        if len(tensor.raw_data) != nbytes:
            raise ModelFileError(f"{entry}: dims {list(tensor.dims)} declare {nbytes:,} bytes "
                                 f"but raw_data holds {len(tensor.raw_data):,}",
                                 where=f"file {file}")
        return
    if tensor.data_type == onnx.TensorProto.STRING:
        return
    field = onnx.helper.tensor_dtype_to_field(tensor.data_type)
    stored = len(getattr(tensor, field))
    count = math.prod(tensor.dims)
    if tensor.data_type in (onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128):
        count *= 2
    if stored != count and not (stored == 0 and count == 0):
        raise ModelFileError(f"{entry}: dims {list(tensor.dims)} declare {count:,} values but "
                             f"{field} holds {stored:,}", where=f"file {file}")


def _check_external(tensor: onnx.TensorProto, nbytes: int, folder: Path, entry: str,
                    file: str) -> None:
    info = {e.key: e.value for e in tensor.external_data}
    if not all(isinstance(v, str) for kv in info.items() for v in kv):
        # protobuf hands over invalid UTF-8 in a string field as bytes
        raise ModelFileError(f"{entry}: external data keys and values are not UTF-8 text",
                             where=f"file {file}")
    location = info.get("location", "")
    data_file = check_external_location(location, folder, entry, file)
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else nbytes
    except ValueError:
        raise ModelFileError(f"{entry}: external data offset/length are not integers",
                             where=f"file {file}") from None
    if offset < 0 or length != nbytes:
        raise ModelFileError(f"{entry}: external data declares offset {offset} and length "
                             f"{length:,} for a tensor of {nbytes:,} bytes",
                             where=f"file {file}")
    available = data_file.stat().st_size
    if offset + length > available:
        raise ModelFileError(f"{entry}: external data {location!r} holds {available:,} bytes, "
                             f"fewer than offset {offset:,} + length {length:,}",
                             where=f"file {file}")


def check_external_location(location: str, folder: Path, entry: str, file: str) -> Path:
    """The data file ``location`` names, checked to lie inside ``folder`` (the model's).

    Refused: an empty name, an absolute path, a drive, a backslash, a ``..`` part, a
    symbolic link at any component below ``folder``, anything but a regular file.

    Raises:
        UnsafeModelError: naming ``entry`` and the location.
        ModelFileError: the data file is missing.
    """
    def refuse(reason: str) -> None:
        raise UnsafeModelError(file, f"{entry} external data {location[:120]!r}", reason)

    parts = location.split("/")
    if (not location or location.startswith("/") or "\\" in location or "\x00" in location
            or ".." in parts or (len(location) >= 2 and location[1] == ":")):
        refuse("the location must be a plain path inside the model's folder")
    current = folder
    for part in parts:
        if part in ("", "."):
            continue
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            raise ModelFileError(f"{entry}: external data file {location!r} does not exist",
                                 where=f"file {file}") from None
        if stat.S_ISLNK(mode):
            refuse("symbolic links are refused in external data locations")
    if not stat.S_ISREG(os.lstat(current).st_mode):
        refuse("the location is not a regular file")
    resolved = current.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        refuse("the location resolves outside the model's folder")
    return resolved
