"""ONNX emitters of the attention ops (:mod:`graphir.ops.attention`); merged into
:data:`graphir.backends.onnx.ops.EMITTERS`."""

from __future__ import annotations

__all__ = ["EMITTERS"]

#: IR op name -> emitter ``(ctx, node) -> None``
EMITTERS: dict = {}
