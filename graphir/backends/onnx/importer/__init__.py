"""The ONNX frontend: :func:`from_onnx` imports an ONNX model into the IR.

Package layout: :mod:`.load` (files, safe external data, opset conversion),
:mod:`.context` (the graph under construction, constants and shape values),
:mod:`.registry` (ONNX op type -> converter), the converters by group
(:mod:`.elementwise`, :mod:`.shape`, :mod:`.nn`, :mod:`.resize`, :mod:`.recurrent`),
:mod:`.core` (the driver).  Importing this package registers every converter.
"""

from . import composite, elementwise, nn, recurrent, resize, shape  # noqa: F401  (registration)
from .core import CONTROL_FLOW, from_onnx
from .errors import OnnxImportError
from .load import MIN_IMPORT_OPSET
from .registry import CONVERTERS

__all__ = ["CONTROL_FLOW", "MIN_IMPORT_OPSET", "OnnxImportError", "from_onnx",
           "supported_onnx_ops"]


def supported_onnx_ops() -> tuple[str, ...]:
    """The ONNX op types (default domain) the importer converts, sorted."""
    return tuple(sorted(CONVERTERS))
