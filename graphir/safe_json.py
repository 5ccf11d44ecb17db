"""JSON from untrusted files, parsed within bounds: :func:`load_json`.

``json.loads`` recurses once per nesting level and raises ``RecursionError`` on a
document nested 100,000 deep; the depth is therefore counted on the text first
(brackets outside strings) and a document deeper than the bound is refused with a
typed error before it is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from graphir.errors import ModelFileError, ResourceLimitError

__all__ = ["json_depth_exceeded", "load_json"]


def load_json(raw: bytes | str, *, file: str, entry: str, max_depth: int,
              error: type[ModelFileError] = ModelFileError) -> Any:
    """``json.loads(raw)`` with the nesting depth bounded by ``max_depth``.

    Args:
        raw: the document (bytes are decoded as UTF-8).
        file: the file it came from, for the error's ``where``.
        entry: where in the file (e.g. ``"zip member 'config.json'"``).
        max_depth: the deepest nesting of objects and lists allowed.
        error: the error type raised for text that is not UTF-8 JSON (a subclass of
            :class:`ModelFileError` or another ``BadInputError`` taking ``where``).

    Raises:
        error: not UTF-8, or not JSON; the message names ``entry``.
        ResourceLimitError: nested deeper than ``max_depth``.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise error(f"{entry} is not UTF-8: {e}", where=f"file {file}") from None
    depth = json_depth_exceeded(raw, max_depth)
    if depth is not None:
        raise ResourceLimitError(file, entry, f"JSON nested deeper than {max_depth}",
                                 declared=depth, limit=max_depth)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise error(f"{entry} is not valid JSON: {e}", where=f"file {file}") from None


def json_depth_exceeded(text: str, max_depth: int) -> int | None:
    """None when no bracket nesting in the JSON ``text`` exceeds ``max_depth``, else the
    depth reached when the bound was crossed.  Brackets inside strings are skipped.
    Cost: one pass over the text, skipped when it holds at most ``max_depth`` brackets."""
    if text.count("[") + text.count("{") <= max_depth:
        return None
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return depth
        elif ch in "]}":
            depth -= 1
    return None
