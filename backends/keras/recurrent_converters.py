"""Keras converters of the recurrent layers; merged into
:data:`graphir.backends.keras.converters.CONVERTERS`."""

from __future__ import annotations

__all__ = ["CONVERTERS"]

#: Keras layer class -> converter ``(ctx: LayerContext) -> Lowered``
CONVERTERS: dict = {}
