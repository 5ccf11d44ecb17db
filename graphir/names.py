"""Hierarchical names and the one helper that makes names unique.

Scopes are joined with ``/`` (``"outer/inner/conv1"``).  Keras forbids ``/`` in
layer names, so backends map it with :func:`to_keras_name`.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["SCOPE_SEP", "KERAS_SCOPE_SEP", "Namespace", "join_scope", "model_and_layer",
           "to_keras_name"]

SCOPE_SEP = "/"
#: What ``/`` becomes in a Keras layer name (Keras 3 rejects ``/``).
KERAS_SCOPE_SEP = "."

_SUFFIX = re.compile(r"^(.*)_(\d+)$")


def join_scope(*parts: str) -> str:
    """Join non-empty scope parts with ``/``: ``join_scope("a", "", "b") == "a/b"``."""
    return SCOPE_SEP.join(p for p in parts if p)


def to_keras_name(name: str) -> str:
    """Map an IR name to a legal Keras layer name (``/`` -> ``.``)."""
    return name.replace(SCOPE_SEP, KERAS_SCOPE_SEP)


class Namespace:
    """Hands out unique names, the way ``torch.fx``'s ``_Namespace.create_name`` does.

    Invariants:

    * every name returned by :meth:`unique` is distinct from every name returned
      before and from every name passed to :meth:`reserve`;
    * a candidate that is still free is returned unchanged;
    * otherwise the result is ``base_N`` with the smallest N >= 1 that is free,
      where ``base`` is the candidate minus an existing ``_N`` suffix, so the same
      inputs always give the same names (deterministic, no counters by id).
    """

    def __init__(self, reserved: Iterable[str] = ()):
        self._used: set[str] = set(reserved)
        self._next: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        """Mark ``name`` as taken without returning it."""
        self._used.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._used

    def unique(self, candidate: str) -> str:
        """Return ``candidate`` if free, else the first free ``base_N``; mark it taken.

        Raises:
            ValueError: ``candidate`` is empty.
        """
        if not candidate:
            raise ValueError("cannot make an empty name unique")
        if candidate not in self._used:
            self._used.add(candidate)
            return candidate
        m = _SUFFIX.match(candidate)
        base = m.group(1) if m else candidate
        n = self._next.get(base, 1)
        while f"{base}_{n}" in self._used:
            n += 1
        self._next[base] = n + 1
        name = f"{base}_{n}"
        self._used.add(name)
        return name

    def state(self) -> tuple[frozenset[str], tuple[tuple[str, int], ...]]:
        """The names taken so far and the suffix counters, for :meth:`restore`."""
        return frozenset(self._used), tuple(self._next.items())

    def restore(self, state: tuple[frozenset[str], tuple[tuple[str, int], ...]]) -> None:
        """Forget every name taken since :meth:`state` gave ``state``."""
        self._used, self._next = set(state[0]), dict(state[1])


def model_and_layer(name: str) -> tuple[str | None, str]:
    """Split ``"outer/model_2/conv"`` into ``("outer/model_2", "conv")``; no scope -> ``(None, name)``."""
    if SCOPE_SEP not in name:
        return None, name
    model, layer = name.rsplit(SCOPE_SEP, 1)
    return model, layer
