"""Reading an ONNX model for import: files, bytes or a ``ModelProto``; external data read
safely; the opset brought into the importer's range with ``onnx.version_converter``.

A path is read with :func:`graphir.backends.onnx.safe_load.load_onnx_file`: tensor sizes
against the memory budget, inline data against its dims, and every external-data
location (a relative path inside the model's folder, no symlinked component, a byte range
within the file) checked before anything is read; a model given as bytes or a
``ModelProto`` may not refer to external data.
"""

from __future__ import annotations

import os
from typing import Any

import onnx
import onnx.external_data_helper as edh

from graphir.backends.onnx.safe_load import load_onnx_file

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


def _refuse_external(model: onnx.ModelProto) -> None:
    """A model given as bytes or a ``ModelProto`` has no folder its external data could be
    read from safely: refused (pass the ``.onnx`` path)."""
    if any(edh.uses_external_data(t) for t in edh._get_all_tensors(model)):
        raise OnnxImportError("the model refers to external data but was given without a "
                              "path: pass the .onnx file's path instead")


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
        OnnxImportError: malformed bytes, external data without a path, no default
            opset, or an opset the version converter cannot bring into range.
        ModelFileError, UnsafeModelError, ResourceLimitError: from ``load_onnx_file``
            (unreadable or invalid file, unsafe external data, sizes over the budget).
    """
    label = "<model>"
    if isinstance(model_or_path, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
    elif isinstance(model_or_path, (bytes, bytearray)):
        model = _parse(bytes(model_or_path), label)
    elif isinstance(model_or_path, (str, os.PathLike)):
        label = os.fspath(model_or_path)
        # sizes, inline data and external-data locations checked before anything is read
        # (graphir.backends.onnx.safe_load; specs/security.md)
        model = load_onnx_file(model_or_path)
    else:
        raise OnnxImportError(f"expected an onnx.ModelProto, bytes or a path, got "
                              f"{type(model_or_path).__name__}")
    _refuse_external(model)
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
