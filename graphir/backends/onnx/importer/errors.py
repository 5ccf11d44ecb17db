"""The importer's error: :class:`OnnxImportError`."""

from __future__ import annotations

from graphir.errors import BadInputError

__all__ = ["OnnxImportError"]


class OnnxImportError(BadInputError):
    """An ONNX model cannot be imported into the IR exactly (CLI exit 2): an unsupported op
    type, attribute value, control-flow op (If/Loop/Scan), a dimension or shape input that
    is not known at import time, or a malformed or unsafe model file.  Nothing is ever
    approximated instead.

    Attributes:
        node: the ONNX node's name (or its first output when it has none), None for
            model-level problems.
        op_type: the ONNX op type, e.g. ``"Loop"``, or None.
        opset: the model's default-domain opset, or None when not known yet.
        detail: what is wrong, one line.
        static_operand: the ONNX tensor that must be known at import time (a shape, axes,
            pads, scales or weight operand the IR keeps static) but is not, else None.
            :mod:`graphir.backends.onnx_conformance` binds the graph inputs it depends on.
    """

    def __init__(self, detail: str, *, node: str | None = None, op_type: str | None = None,
                 opset: int | None = None, where: str | None = None,
                 static_operand: str | None = None):
        self.static_operand = static_operand
        self.node = node
        self.op_type = op_type
        self.opset = opset
        self.detail = detail
        if where is None and node is not None:
            where = f"node {node!r} ({op_type}, opset {opset})"
        super().__init__(detail, where=where)
