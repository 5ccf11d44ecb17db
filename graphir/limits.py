"""Resource limits for reading model files: :class:`Limits`, :func:`current_limits`,
:func:`using_limits`, :func:`parse_size`.

Every reader of a file from outside (``.keras``, ``.gir``, ``.onnx``) checks what the
file *declares* (member sizes, weight shapes, nesting, counts) against these limits
before it spends memory or disk on it (``specs/security.md``).  The defaults are tied
to the machine: the memory budget is a quarter of physical memory.

The limits in force are a context variable, so a caller can tighten them for one
block without a global switch::

    with using_limits(Limits.default().evolve(memory_budget=2**30)):
        graph = graphir.load("model.gir")

The CLI sets them once from ``--memory-budget`` / ``GRAPHIR_MEMORY_BUDGET``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator

import attrs

__all__ = ["Limits", "current_limits", "parse_size", "physical_memory", "using_limits"]

_GIB = 2 ** 30


def physical_memory() -> int:
    """The machine's physical memory in bytes (``sysconf(SC_PHYS_PAGES * SC_PAGE_SIZE)``),
    or 8 GiB where the platform does not report it."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * _GIB


@attrs.frozen
class Limits:
    """Bounds on what an input file may declare.  All sizes are in bytes.

    Attributes:
        memory_budget: the most bytes of weights a model may declare (the sum of its
            variables' or tensors' ``prod(shape) * itemsize``), and the most bytes an
            archive may expand to.  Default: a quarter of physical memory, at least 1 GiB.
        max_config_bytes: the largest ``config.json`` / graph JSON / safetensors header /
            ONNX graph without its tensor data (default 64 MiB).
        max_members: the most members a ``.keras`` zip may hold (default 10,000).
        max_ratio: the highest compression ratio (uncompressed / compressed size) a zip
            member above 1 MiB may have (default 100; Keras stores members uncompressed,
            DEFLATE of ordinary data rarely exceeds 10, bombs reach 1,000).
        max_depth: the deepest nesting of JSON objects and lists (default 256).
        max_objects: the most serialized objects (Keras layers and their initializers,
            dtype policies...; graph nodes; tensors; HDF5 objects) one file may hold
            (default 200,000: Keras spends kilobytes per layer it builds, so this keeps
            a config of tiny layers to about a gigabyte).
    """

    memory_budget: int = attrs.field(factory=lambda: max(_GIB, physical_memory() // 4))
    max_config_bytes: int = 64 * 2 ** 20
    max_members: int = 10_000
    max_ratio: int = 100
    max_depth: int = 256
    max_objects: int = 200_000

    @classmethod
    def default(cls) -> Limits:
        """The documented defaults (see the attributes)."""
        return cls()

    def evolve(self, **changes) -> Limits:
        """A copy with ``changes`` applied (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)


_CURRENT: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("graphir_limits",
                                                                       default=None)


def current_limits() -> Limits:
    """The limits in force: the innermost :func:`using_limits`, else :meth:`Limits.default`."""
    return _CURRENT.get() or Limits.default()


@contextlib.contextmanager
def using_limits(limits: Limits) -> Iterator[Limits]:
    """Make ``limits`` the ones in force inside the ``with`` block (this thread/task only)."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}


def parse_size(text: str) -> int:
    """``"512M"`` -> 536870912: a byte count with an optional binary unit (K, M, G, T;
    ``KiB``/``KB``/``K`` all mean 1024).

    Raises:
        ValueError: not a size, or not positive.
    """
    found = _SIZE.fullmatch(text)
    if not found:
        raise ValueError(f"not a size: {text!r} (expected e.g. 4G, 512M or 1000000)")
    value = int(float(found.group(1)) * _UNITS[found.group(2).lower()])
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value
