"""graphir: lower Keras models into a typed graph IR, transform it, emit Keras or ONNX,
and verify TensorFlow against onnxruntime.

Layers: the core (``graphir.ir``, ``graphir.ops``, ``graphir.passes``, the verifier,
printer, serializer...) imports neither TensorFlow nor onnx and never imports
``graphir.backends`` or ``graphir.app``; ``graphir.backends`` (Keras, ONNX, runtimes)
builds on the core; ``graphir.app`` (this facade's backend-facing functions, the CLI)
sits on top and imports backends on first call (``tests/core/test_core_isolation.py``).

Typical use::

    import graphir
    graph = graphir.from_keras("model.keras")      # lowering
    print(graph)                                    # the text IR
    onnx_model = graphir.to_onnx(graph)             # emission
    report = graphir.verify("model.keras")          # TF vs onnxruntime
"""

from __future__ import annotations

from graphir.dtypes import DType
from graphir.errors import (BadInputError, DeviceUnavailableError, EmissionError,
                            GraphInvariantError, GraphIRError, IRFormatError, ModelFileError,
                            OutputPathError, ReferenceRunError, ResourceLimitError,
                            UnsafeModelError, UnsupportedLayerError, UnsupportedOpError,
                            VerificationFailed)
from graphir.ir import Graph, Node, Value
from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.names import Namespace
from graphir.passes import (DedupeReport, PassError, cancel_transposes, check, dedupe,
                            dedupe_with_report, extract, merge, rename, run_pass)
from graphir.printer import format_graph
from graphir.serialization import load, save
from graphir.tensor_types import Dim, TensorType
from graphir.verifier import verify_graph
from graphir.version import __version__
from graphir.app.api import from_keras, from_onnx, to_keras, to_onnx, verify


__all__ = [
    "BadInputError", "DType", "cancel_transposes", "DedupeReport", "DeviceUnavailableError", "Diagnostic", "Dim",
    "EmissionError", "Graph", "GraphIRError", "GraphInvariantError", "IRFormatError",
    "ModelFileError", "Namespace", "Node", "OutputPathError", "PassError", "ReferenceRunError",
    "ResourceLimitError", "ShapeCheckError", "TensorType", "UnsafeModelError",
    "UnsupportedLayerError", "UnsupportedOpError", "Value", "VerificationFailed", "check",
    "dedupe", "dedupe_with_report", "extract", "format_graph", "from_keras", "from_onnx", "load",
    "merge",
    "rename", "run_pass", "save", "to_keras", "to_onnx", "verify", "verify_graph",
    "__version__",
]
