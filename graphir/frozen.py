"""An immutable, hashable, key-sorted mapping used for node attributes."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

__all__ = ["FrozenDict", "freeze_value"]


def freeze_value(value: Any) -> Any:
    """Convert lists to tuples (recursively) so an attribute value is hashable.

    Raises:
        TypeError: the value is not None, bool, int, float, str, or a list/tuple of those.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar
        return freeze_value(value.item())
    if isinstance(value, (list, tuple)):
        return tuple(freeze_value(v) for v in value)
    raise TypeError(f"attribute value {value!r} of type {type(value).__name__} is not "
                    f"None, bool, int, float, str or a tuple of those")


class FrozenDict(Mapping[str, Any]):
    """A read-only mapping with sorted keys; equal contents hash equally.

    Values are frozen with :func:`freeze_value`, so lists become tuples.
    """

    __slots__ = ("_items", "_dict", "_hash")

    def __init__(self, items: Mapping[str, Any] | None = None, **kwargs: Any):
        merged = dict(items or {})
        merged.update(kwargs)
        for k in merged:
            if not isinstance(k, str):
                raise TypeError(f"attribute name {k!r} is not a str")
        self._items = tuple(sorted((k, freeze_value(v)) for k, v in merged.items()))
        self._dict = dict(self._items)
        self._hash = None

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._items)
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._dict == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._dict!r})"

    def set(self, **changes: Any) -> "FrozenDict":
        """A copy with ``changes`` applied."""
        return FrozenDict({**self._dict, **changes})
