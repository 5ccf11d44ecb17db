"""CLI error reporting: usage errors are one ``graphir: error:`` line (exit 2, no Usage
block), ``--memory-budget`` / ``GRAPHIR_MEMORY_BUDGET`` set the limits the readers
apply, and library warnings are captured (shown with ``--debug``)."""

from __future__ import annotations

import warnings

import click
import numpy as np
import pytest
from click.testing import CliRunner

import graphir
from graphir import Graph, Node, TensorType, Value
from graphir.app.cli import cli
from graphir.dtypes import DType
from graphir.errors import BadInputError


@pytest.fixture
def small_gir(tmp_path):
    x = Value("x", TensorType(DType.FLOAT32, ("batch", 4)))
    node = Node("dense", "fc", ("x", "fc/kernel"),
                (Value("fc", TensorType(DType.FLOAT32, ("batch", 3))),),
                {"units": 3, "activation": "linear"})
    path = tmp_path / "g.gir"
    graphir.save(Graph("g", (x,), ("fc",), (node,), {"fc/kernel": np.ones((4, 3), np.float32)}),
                 path)
    return path


def _one_line(r, needle: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("graphir: error: "), r.stderr
    assert needle in lines[0] and "Usage" not in r.output + r.stderr
    return lines[0]


@pytest.mark.parametrize("args, needle", [
    (["convert"], "convert: Missing argument 'SRC'."),
    (["convert", "a.keras"], "convert: Missing argument 'DST'."),
    (["verify", "m.keras", "--device", "tpu"], "verify: Invalid value for '--device'"),
    (["inspect", "--bogus"], "inspect: No such option '--bogus'"),
    (["nosuch"], "No such command 'nosuch'"),
    (["merge", "a.gir", "--mode", "concat"], "merge: Missing option '-o'"),
])
def test_usage_errors_are_one_line(args, needle):
    _one_line(CliRunner().invoke(cli, args), needle)


def test_a_plain_click_group_would_print_the_usage_block():
    # the broken twin: without graphir's group, click prints Usage, a hint and the error
    twin = click.Group("graphir", commands=cli.commands, params=cli.params,
                       callback=cli.callback)
    r = CliRunner().invoke(twin, ["convert"])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) >= 3
    assert "Usage:" in r.stderr


def test_help_and_version_still_work():
    assert CliRunner().invoke(cli, ["-h"]).exit_code == 0
    bare = CliRunner().invoke(cli, [])  # a bare ``graphir`` shows the help
    assert bare.exit_code == 0 and "Usage:" in bare.output and "convert" in bare.output
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and "version" in r.output


def test_memory_budget_is_applied(small_gir, monkeypatch):
    monkeypatch.delenv("GRAPHIR_MEMORY_BUDGET", raising=False)
    assert CliRunner().invoke(cli, ["inspect", str(small_gir)]).exit_code == 0
    r = CliRunner().invoke(cli, ["--memory-budget", "16", "inspect", str(small_gir)])
    line = _one_line(r, "more than the memory budget of 16")
    assert str(small_gir) in line
    monkeypatch.setenv("GRAPHIR_MEMORY_BUDGET", "16")
    _one_line(CliRunner().invoke(cli, ["inspect", str(small_gir)]), "memory budget of 16")


@pytest.mark.parametrize("value", ["12X", "-5", "0", "lots"])
def test_bad_memory_budget_is_a_usage_error(value, small_gir):
    _one_line(CliRunner().invoke(cli, ["--memory-budget", value, "inspect", str(small_gir)]),
              "Invalid value for '--memory-budget'")


def test_library_warnings_are_captured(small_gir, monkeypatch):
    from graphir.backends import convert

    def noisy(src):
        warnings.warn("Skipping variable loading for optimizer", UserWarning, stacklevel=2)
        raise BadInputError("refused", where=f"file {src}")

    monkeypatch.setattr(convert, "lower_file", noisy)
    r = CliRunner().invoke(cli, ["inspect", str(small_gir)])
    _one_line(r, "refused")
    assert "Skipping" not in r.stderr
    r = CliRunner().invoke(cli, ["--debug", "inspect", str(small_gir)])
    assert r.exit_code == 2 and "warning: UserWarning: Skipping variable loading" in r.stderr
