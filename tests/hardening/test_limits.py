"""``graphir.limits`` (sizes, defaults, the limits in force) and ``graphir.safe_json``
(the nesting bound counted before parsing)."""

from __future__ import annotations

import json

import pytest

from graphir.errors import ModelFileError, ResourceLimitError
from graphir.limits import (
    Limits,
    current_limits,
    parse_size,
    physical_memory,
    using_limits,
)
from graphir.safe_json import json_depth_exceeded, load_json


@pytest.mark.parametrize("text, size", [("1000", 1000), ("4K", 4096), ("4KiB", 4096),
                                        ("4kb", 4096), ("512M", 512 * 2 ** 20),
                                        ("1.5G", 3 * 2 ** 29), ("2T", 2 * 2 ** 40)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "-1G", "0", "1.5.5G", "12X", "4 GB and more"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_the_default_budget_is_a_quarter_of_memory():
    assert Limits().memory_budget == max(2 ** 30, physical_memory() // 4)
    assert physical_memory() > 2 ** 28


def test_using_limits_is_scoped():
    tight = Limits().evolve(memory_budget=10)
    assert current_limits() == Limits()
    with using_limits(tight):
        assert current_limits().memory_budget == 10
    assert current_limits() == Limits()


def test_depth_is_counted_outside_strings():
    assert json_depth_exceeded('[[["]]]]]]"]]]', 3) is None
    assert json_depth_exceeded("[" * 5 + "]" * 5, 4) == 5
    # brackets inside strings, escaped quotes included, do not count
    text = json.dumps({"a": "[" * 50 + '\\"' + "{" * 50, "b": [[1]]})
    assert json_depth_exceeded(text, 3) is None
    assert json_depth_exceeded(text, 2) == 3


def test_load_json_refuses_deep_documents_before_parsing():
    with pytest.raises(ResourceLimitError) as info:
        load_json("[" * 100_000 + "]" * 100_000, file="f", entry="e", max_depth=256)
    assert info.value.declared == 257 and info.value.limit == 256
    assert load_json(b'{"a": [1, {"b": 2}]}', file="f", entry="e", max_depth=3) == \
        {"a": [1, {"b": 2}]}
    with pytest.raises(ModelFileError, match="e is not UTF-8"):
        load_json(b"\xff", file="f", entry="e", max_depth=3)
