"""graphir: lower Keras models into a typed graph IR, transform it, emit Keras or ONNX,
and verify TensorFlow against onnxruntime.

The core (this package, except ``graphir.backends``) imports neither TensorFlow
nor onnx; the backend-facing functions below import them on first call.

Typical use::

    import graphir
    graph = graphir.from_keras("model.keras")      # lowering
    print(graph)                                    # the text IR
    onnx_model = graphir.to_onnx(graph)             # emission
    report = graphir.verify("model.keras")          # TF vs onnxruntime
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphir.dtypes import DType
from graphir.errors import (BadInputError, DeviceUnavailableError, EmissionError,
                            GraphInvariantError, GraphIRError, IRFormatError, ModelFileError,
                            UnsupportedLayerError, UnsupportedOpError, VerificationFailed)
from graphir.ir import Graph, Node, Value
from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.names import Namespace
from graphir.passes import (DedupeReport, PassError, check, dedupe, dedupe_with_report, extract,
                            merge, rename, run_pass)
from graphir.printer import format_graph
from graphir.serialization import load, save
from graphir.types import Dim, TensorType
from graphir.verifier import verify_graph

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import onnx

    from graphir.report import VerificationReport

__version__ = "0.1.0"

__all__ = [
    "BadInputError", "DType", "DedupeReport", "DeviceUnavailableError", "Diagnostic", "Dim",
    "EmissionError", "Graph", "GraphIRError", "GraphInvariantError", "IRFormatError",
    "ModelFileError", "Namespace", "Node", "PassError", "ShapeCheckError", "TensorType",
    "UnsupportedLayerError", "UnsupportedOpError", "Value", "VerificationFailed", "check",
    "dedupe", "dedupe_with_report", "extract", "format_graph", "from_keras", "load", "merge",
    "rename", "run_pass", "save", "to_keras", "to_onnx", "verify", "verify_graph",
    "__version__",
]


def from_keras(model_or_path: Any) -> Graph:
    """Lower a Keras 3 model (a ``keras.Model`` or a ``.keras`` path) into a verified :class:`Graph`.

    See :func:`graphir.backends.keras.lower.from_keras` for the details and errors
    (``ModelFileError``, ``UnsupportedLayerError``).
    """
    from graphir.backends.keras import from_keras as _impl

    return _impl(model_or_path)


def to_keras(graph: Graph) -> "keras.Model":
    """Emit ``graph`` as a functional Keras model with real layers and its weights set.

    See :func:`graphir.backends.keras.emit.to_keras`.
    """
    from graphir.backends.keras import to_keras as _impl

    return _impl(graph)


def to_onnx(graph: Graph, **options: Any) -> "onnx.ModelProto":
    """Emit ``graph`` as an ONNX model that passes ``onnx.checker.check_model(full_check=True)``.

    See :func:`graphir.backends.onnx.emit.to_onnx` for the options (``opset``...).
    """
    from graphir.backends.onnx import to_onnx as _impl

    return _impl(graph, **options)


def verify(source: Any, **options: Any) -> "VerificationReport":
    """Run a Keras model (object or ``.keras`` path), its emitted Keras model and its
    emitted ONNX model on the same seeded inputs and compare every output.

    See :func:`graphir.backends.verification.verify` for the options (``device``,
    ``batch``, ``seed``, tolerances) and the report.  The IR invariant checker is
    :func:`verify_graph`.
    """
    from graphir.backends.verification import verify as _impl

    return _impl(source, **options)
