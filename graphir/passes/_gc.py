"""``gc_paused``: run a pass with Python's cyclic garbage collector paused.

A pass over a large graph allocates hundreds of thousands of small objects (nodes,
values, tuples) that form no reference cycles.  Each allocation burst triggers the
cyclic collector, whose older-generation runs walk every tracked object of the
process (the input graph included): on a 100k-node graph that was about 40% of a
pass's time.  Pausing it for the duration of the pass (and restoring the previous
state afterwards, also on an exception) changes no result: objects are still freed by
reference counting, and any cycle is collected by the next collection after the pass.
The same technique as Mercurial's ``util.nogc``.
"""

from __future__ import annotations

import functools
import gc
from typing import Callable, TypeVar

__all__ = ["gc_paused"]

F = TypeVar("F", bound=Callable)


def gc_paused(fn: F) -> F:
    """Decorate ``fn`` so that it runs with the cyclic collector disabled (when it was
    enabled, it is enabled again afterwards)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return wrapper  # type: ignore[return-value]
