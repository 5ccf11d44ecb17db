"""ONNX emitters of the sequence ops (:mod:`graphir.ops.sequence`); merged into
:data:`graphir.backends.onnx.ops.EMITTERS`."""

from __future__ import annotations

__all__ = ["EMITTERS"]

#: IR op name -> emitter ``(ctx, node) -> None``
EMITTERS: dict = {}
