"""specs/ops.md (with its chapters specs/ops-*.md) documents exactly the op set (no
TensorFlow or onnx needed).

* every op of ``graphir.ops.op_names()`` has a ``### `name` `` entry, and no entry
  names an op that does not exist;
* the activation table lists every name of ``graphir.ops.ACTIVATIONS``, and only
  those, each with the formula the code documents;
* each entry mentions its op's inputs and attributes by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphir import ops

SPECS = Path(__file__).resolve().parents[2] / "specs"
#: the op set's spec: ops.md, then its chapters (one per op group) in name order
SPEC_FILES = [SPECS / "ops.md", *sorted(SPECS.glob("ops-*.md"))]
OP_HEADING = re.compile(r"^### `([^`]+)`[ \t]*$", re.MULTILINE)


@pytest.fixture(scope="module")
def text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SPEC_FILES)


def _op_headings(text: str) -> list[str]:
    return OP_HEADING.findall(text)


def _section(text: str, title: str) -> str:
    """The body of the level-2 section ``## title`` (up to the next level-2 heading)."""
    match = re.search(rf"^## {re.escape(title)}[ \t]*$(.*?)(?=^## |\Z)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, f"specs/ops.md has no '## {title}' section"
    return match.group(1)


def _entry(text: str, op: str) -> str:
    """The body of ``### `op` `` up to the next heading of level 1 to 3."""
    match = re.search(rf"^### `{re.escape(op)}`[ \t]*$(.*?)(?=^#{{1,3}} |\Z)", text,
                      re.MULTILINE | re.DOTALL)
    assert match, f"specs/ops.md has no entry for {op!r}"
    return match.group(1)


def _cells(row: str) -> list[str]:
    """Cells of a Markdown table row; ``\\|`` is a literal pipe inside a cell."""
    parts = re.split(r"(?<!\\)\|", row.strip())[1:-1]
    return [p.strip().replace("\\|", "|") for p in parts]


def _activation_rows(text: str) -> dict[str, str]:
    """Activation table: name -> formula (both without their backticks)."""
    rows = {}
    for line in _section(text, "Activation functions").splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        name = re.fullmatch(r"`([^`]+)`", cells[0])
        if name is None:  # the header and the |---| rule
            continue
        assert name.group(1) not in rows, f"activation {name.group(1)!r} listed twice"
        rows[name.group(1)] = cells[1].strip("`")
    return rows


def test_every_op_has_an_entry(text):
    missing = sorted(set(ops.op_names()) - set(_op_headings(text)))
    assert not missing, f"ops without a '### `name`' entry in specs/ops.md: {missing}"


def test_no_entry_names_an_unknown_op(text):
    unknown = sorted(set(_op_headings(text)) - set(ops.op_names()))
    assert not unknown, f"specs/ops.md has entries for ops not in the op set: {unknown}"


def test_each_op_has_one_entry(text):
    headings = _op_headings(text)
    twice = sorted({h for h in headings if headings.count(h) > 1})
    assert not twice, f"ops with more than one entry: {twice}"


def test_activation_table_lists_every_activation(text):
    rows = _activation_rows(text)
    missing = sorted(set(ops.ACTIVATIONS) - set(rows))
    extra = sorted(set(rows) - set(ops.ACTIVATIONS))
    assert not missing, f"activations missing from the table: {missing}"
    assert not extra, f"table rows that are not activations: {extra}"


def test_activation_formulas_match_the_code(text):
    rows = _activation_rows(text)
    wrong = {name: (rows[name], formula) for name, formula in ops.ACTIVATIONS.items()
             if name in rows and rows[name] != formula}
    assert not wrong, f"formulas differing from graphir.ops.ACTIVATIONS: {wrong}"


@pytest.mark.parametrize("op", ops.op_names())
def test_entry_names_inputs_and_attributes(text, op):
    schema = ops.get_schema(op)
    body = _entry(text, op)
    names = [i.rstrip("?") for i in schema.inputs] + list(schema.attrs)
    absent = [n for n in names if f"`{n}" not in body]
    assert not absent, f"the entry of {op!r} does not mention {absent}"
