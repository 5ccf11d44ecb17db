"""The ONNX emitter table: IR op name -> emitter, filled by the :func:`emits` decorator.

An emitter is a function ``(ctx, node) -> None`` that writes the ONNX nodes of one IR
node into an :class:`~graphir.backends.onnx.context.OnnxEmitContext`.  Each op group
module of this package (``elementwise_ops``, ``shape_ops``, ``nn_ops``, ``norm_ops``,
``recurrent_ops``, ``attention_ops``, ``sequence_ops``) decorates its own emitters::

    @emits("conv1d", "conv2d", "conv3d")
    def conv(ctx, node): ...

or, for a family of emitters built in a loop, calls ``emits(*names)(fn)``.  Importing
the package (its ``__init__`` imports every group module, one line per group) is what
registers them; nothing merges tables by hand.  The emitter reads the op's layout class
(NHWC/NCHW behaviour) from the op set (``graphir.ops.get_schema(op).layout``), not from
here.

Invariant: one emitter per op name; registering a name twice raises ``ValueError``.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Callable, Mapping

from graphir.ir import Node

if TYPE_CHECKING:
    from .context import OnnxEmitContext

__all__ = ["OpEmitter", "EMITTERS", "emits", "emitter_for"]

#: an emitter: writes the ONNX form of ``node`` into the context
OpEmitter = Callable[["OnnxEmitContext", Node], None]

_EMITTERS: dict[str, OpEmitter] = {}

#: IR op name -> emitter (a read-only view; filled by :func:`emits`)
EMITTERS: Mapping[str, OpEmitter] = types.MappingProxyType(_EMITTERS)


def emits(*ops: str) -> Callable[[OpEmitter], OpEmitter]:
    """Decorator: register the decorated function as the ONNX emitter of each IR op in
    ``ops``; returns the function unchanged.

    Raises:
        ValueError: no op name given, an op named twice, or an op that already has an
            emitter (the message names the op and both functions).
    """
    if not ops:
        raise ValueError("emits() needs at least one IR op name")
    if len(set(ops)) != len(ops):
        raise ValueError(f"emits() names an op twice: {ops}")

    def register(fn: OpEmitter) -> OpEmitter:
        for op in ops:
            if op in _EMITTERS:
                old = _EMITTERS[op]
                raise ValueError(f"op {op!r} already has an ONNX emitter "
                                 f"({old.__module__}.{old.__qualname__}); cannot register "
                                 f"{fn.__module__}.{fn.__qualname__}")
        for op in ops:
            _EMITTERS[op] = fn
        return fn
    return register


def emitter_for(op: str) -> OpEmitter | None:
    """The ONNX emitter of IR op ``op``, or None when it has none."""
    return _EMITTERS.get(op)
