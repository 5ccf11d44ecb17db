"""Keras converters of the sequence layers; merged into
:data:`graphir.backends.keras.converters.CONVERTERS`."""

from __future__ import annotations

__all__ = ["CALL_KWARGS", "CONVERTERS"]

#: Keras layer class -> converter ``(ctx: LayerContext) -> Lowered``
CONVERTERS: dict = {}
#: Keras layer class -> call keyword arguments the converter reads from ``ctx.call_kwargs``
CALL_KWARGS: dict = {}
