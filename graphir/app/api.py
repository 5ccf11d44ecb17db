"""The backend-facing facade: :func:`from_keras`, :func:`to_keras`, :func:`to_onnx`,
:func:`verify`.  Re-exported by :mod:`graphir`.

This module is in the application layer (``graphir.app``): it may import
``graphir.backends``, and does so on first call only, so that ``import graphir``
stays free of TensorFlow and onnx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphir.ir import Graph

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import onnx

    from graphir.report import VerificationReport

__all__ = ["from_keras", "from_onnx", "to_keras", "to_onnx", "verify"]


def from_keras(model_or_path: Any, *, input_shapes: Any = None,
               input_dtypes: Any = None) -> Graph:
    """Lower a Keras 3 model (a ``keras.Model`` or a ``.keras`` path) into a verified :class:`Graph`.

    ``input_shapes`` (input name -> shape, ``None`` keeping a dim) fixes unknown input
    sizes, e.g. ``{"token_ids": (1, 128), "padding_mask": (1, 128)}`` for a keras_hub
    text backbone whose layers read ``ops.shape(x)``.  ``input_dtypes`` (input name ->
    dtype) gives a subclassed model's input dtypes, which Keras does not record, or lets
    a functional model's input take another dtype (cast to its own, as Keras does), e.g.
    ``{"token_ids": "int64"}``.  See :func:`graphir.backends.keras.lower.from_keras` for
    the details and errors (``ModelFileError``, ``UnsupportedLayerError``,
    ``InputShapeError``).
    """
    from graphir.backends.keras import from_keras as _impl

    return _impl(model_or_path, input_shapes=input_shapes, input_dtypes=input_dtypes)


def from_onnx(model_or_path: Any, *, cancel_transposes: bool = True) -> Graph:
    """Import an ONNX model (an ``onnx.ModelProto``, a ``.onnx`` path or its bytes) as a
    verified :class:`Graph`; with ``cancel_transposes`` (default) the
    :func:`graphir.passes.cancel_transposes` pass then removes the transposes that
    channels-first ops needed and that cancel.

    See :func:`graphir.backends.onnx.importer.from_onnx` for the details and errors
    (``OnnxImportError``, a ``BadInputError``: an unsupported op, attribute value,
    control flow or unresolvable dimension, naming the node, op type and opset).
    """
    from graphir.backends.onnx.importer import from_onnx as _impl
    from graphir.passes import cancel_transposes as _cancel

    graph = _impl(model_or_path)
    return _cancel(graph) if cancel_transposes else graph


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
