"""Keras layer builders of the attention ops; merged into the emitter's table
(:data:`graphir.backends.keras.emit.ALL_BUILDERS`)."""

from __future__ import annotations

__all__ = ["BUILDERS"]

#: IR op name -> builder ``(c: EmitContext) -> (layer, arrays)``
BUILDERS: dict = {}
