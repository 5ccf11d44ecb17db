"""The importer's table: ONNX op type (default domain) -> converter, filled by
:func:`imports`.

A converter is a function ``(ctx, node) -> None`` that reads the ONNX node's inputs and
attributes through the :class:`~.context.ImportContext` and appends the IR nodes that
compute its outputs exactly (``ctx.emit``), binding each ONNX output to an IR value.
Each converter declares the attributes it understands; the driver refuses a node that
carries any other attribute (its meaning would be silently lost otherwise).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

import onnx

if TYPE_CHECKING:  # pragma: no cover
    from .context import ImportContext

__all__ = ["CONVERTERS", "Converter", "converter_for", "imports"]


class Converter(NamedTuple):
    """One table entry.

    Attributes:
        fn: ``fn(ctx, node)`` appends the node's IR form.
        attrs: the ONNX attribute names ``fn`` reads (any other one is refused).
    """

    fn: Callable[[ImportContext, onnx.NodeProto], None]
    attrs: frozenset[str]


_CONVERTERS: dict[str, Converter] = {}

#: ONNX op type -> converter (read-only view; filled by :func:`imports`)
CONVERTERS: Mapping[str, Converter] = types.MappingProxyType(_CONVERTERS)


def imports(*op_types: str, attrs: Iterable[str] = ()) -> Callable:
    """Decorator: register the function as the converter of each ONNX op type in
    ``op_types``, understanding the attributes ``attrs``.

    Raises:
        ValueError: an op type already has a converter.
    """
    def register(fn):
        for op in op_types:
            if op in _CONVERTERS:
                raise ValueError(f"ONNX op {op!r} already has a converter")
            _CONVERTERS[op] = Converter(fn, frozenset(attrs))
        return fn
    return register


def converter_for(op_type: str) -> Converter | None:
    """The converter of ONNX op type ``op_type`` (default domain), or None."""
    return _CONVERTERS.get(op_type)
