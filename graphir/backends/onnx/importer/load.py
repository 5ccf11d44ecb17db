"""Reading an ONNX model for import: files, bytes or a ``ModelProto``; external data read
safely; the opset brought into the importer's range with ``onnx.version_converter``.

External data (``onnx/onnx.proto``, ``TensorProto.external_data``): each tensor names a
``location`` relative to the model's folder.  Before anything is read, every location
must be a relative path that, with every symlink resolved, stays inside that folder
(``os.path.realpath``); an absolute path, a ``..`` that leaves the folder, or a symlink
that points out of it is refused.  The bytes are then read with
``onnx.external_data_helper.load_external_data_for_tensor``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnx
import onnx.external_data_helper as edh

from .errors import OnnxImportError

__all__ = ["MIN_IMPORT_OPSET", "default_opset", "load_model"]

#: the oldest default-domain opset imported as is; older models are converted up to it
MIN_IMPORT_OPSET = 13


def default_opset(model: onnx.ModelProto) -> int | None:
    """The model's default-domain (``""`` / ``ai.onnx``) opset version, or None."""
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            return int(op.version)
    return None


def _check_location(tensor: onnx.TensorProto, base: Path) -> None:
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    where = f"initializer {tensor.name!r}"
    if not location:
        raise OnnxImportError("external data without a location", where=where)
    if os.path.isabs(location) or location.startswith(("/", "\\")):
        raise OnnxImportError(f"external data location {location!r} is an absolute path",
                              where=where)
    root = os.path.realpath(base)
    target = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, target]) != root:
        raise OnnxImportError(f"external data location {location!r} leaves the model's "
                              f"folder {str(base)!r} (after resolving symlinks)", where=where)
    if not os.path.isfile(target):
        raise OnnxImportError(f"external data file {location!r} is missing", where=where)
    size = os.path.getsize(target)
    offset, length = int(info.get("offset", 0) or 0), info.get("length")
    end = offset + (int(length) if length not in (None, "") else 0)
    if offset < 0 or end > size:
        raise OnnxImportError(f"external data range [{offset}, {end}) is outside "
                              f"{location!r} ({size} bytes)", where=where)


def _load_external(model: onnx.ModelProto, base: Path | None) -> None:
    tensors = [t for t in edh._get_all_tensors(model) if edh.uses_external_data(t)]
    if not tensors:
        return
    if base is None:
        raise OnnxImportError("the model refers to external data but was given without a "
                              "path: pass the .onnx file's path instead")
    for t in tensors:
        _check_location(t, base)
    for t in tensors:
        edh.load_external_data_for_tensor(t, str(base))
        # the bytes are in raw_data now: drop the reference
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


def load_model(model_or_path: Any) -> tuple[onnx.ModelProto, str]:
    """The ``ModelProto`` to import and a label for messages (its path or ``"<model>"``).

    Args:
        model_or_path: an ``onnx.ModelProto`` (not modified), a path (str or
            ``os.PathLike``) to a ``.onnx`` file, or the serialized bytes.

    Returns:
        A model whose external data is loaded and whose default-domain opset is at least
        :data:`MIN_IMPORT_OPSET` and at most ``onnx.defs.onnx_opset_version()`` (converted
        with ``onnx.version_converter`` when outside that range).

    Raises:
        OnnxImportError: unreadable or malformed file, unsafe external data, no default
            opset, or an opset the version converter cannot bring into range.
    """
    base: Path | None = None
    label = "<model>"
    if isinstance(model_or_path, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
    elif isinstance(model_or_path, (bytes, bytearray)):
        model = _parse(bytes(model_or_path), label)
    elif isinstance(model_or_path, (str, os.PathLike)):
        path = Path(model_or_path)
        label = str(path)
        if not path.is_file():
            raise OnnxImportError("no such file", where=f"file {path}")
        base = path.resolve().parent
        model = _parse(path.read_bytes(), label)
    else:
        raise OnnxImportError(f"expected an onnx.ModelProto, bytes or a path, got "
                              f"{type(model_or_path).__name__}")
    _load_external(model, base)
    opset = default_opset(model)
    if opset is None:
        raise OnnxImportError("the model imports no default-domain (ai.onnx) opset",
                              where=f"file {label}")
    newest = onnx.defs.onnx_opset_version()
    target = MIN_IMPORT_OPSET if opset < MIN_IMPORT_OPSET else newest if opset > newest else None
    if target is not None:
        try:
            model = onnx.version_converter.convert_version(model, target)
        except Exception as e:  # noqa: BLE001 - the converter raises bare RuntimeErrors
            raise OnnxImportError(f"opset {opset} is outside {MIN_IMPORT_OPSET}..{newest} and "
                                  f"onnx.version_converter could not convert it to {target}: "
                                  f"{str(e).splitlines()[0] if str(e) else type(e).__name__}",
                                  where=f"file {label}", opset=opset) from None
    return model, label


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError is not exported stably
        raise OnnxImportError(f"not an ONNX model: {type(e).__name__}: {e}",
                              where=f"file {label}") from None
    if not model.HasField("graph"):
        raise OnnxImportError("not an ONNX model (no graph)", where=f"file {label}")
    return model
