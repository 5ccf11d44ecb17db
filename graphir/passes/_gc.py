"""``gc_paused()``: an opt-in context that pauses Python's cyclic garbage collector.

A pass over a large graph allocates hundreds of thousands of small objects (nodes,
values, tuples) that form no reference cycles.  Each allocation burst triggers the
cyclic collector, whose older-generation runs walk every tracked object of the
process (the input graph included): on a 100k-node graph that was about 40% of a
pass's time.  Pausing it changes no result: objects are still freed by reference
counting, and any cycle is collected by the next collection after the pause.  The same
technique as Mercurial's ``util.nogc``.

The collector's state is process-wide, so no pass pauses it by itself (a library call
must not change it behind its caller's back): the caller opts in.  The ``graphir`` CLI
and the benchmarks do::

    with gc_paused():
        merged = merge(graphs, mode="average")
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block; afterwards (also on an
    exception) enable it again if, and only if, it was enabled on entry.

    Nests: an inner ``gc_paused()`` finds it disabled and leaves it so.  The state is
    process-wide: another thread's allocations in the block are not collected either.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
