"""The ONNX emitter table (``graphir.backends.onnx.registry``): one decorator, one
emitter per op, filled by importing the group modules; the layout class comes from
the op schema; and the backend stays independent of the reference it is checked
against (no reference kernels, no interpreter among its imports)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest

import graphir.backends.onnx as onnx_backend
from graphir.backends.onnx import registry as onnx_registry
from graphir.backends.onnx.context import layout_class
from graphir.backends.onnx.registry import EMITTERS, emits, emitter_for
from graphir.ops import get_schema, op_names
from graphir.ops.registry import Layout

BACKEND = pathlib.Path(onnx_backend.__file__).parent
#: the op group modules: every ``*_ops.py`` of the backend
GROUP_MODULES = {f"graphir.backends.onnx.{p.stem}" for p in BACKEND.glob("*_ops.py")}


# --------------------------------------------------------------------------- the table

def test_every_op_has_an_emitter_and_every_emitter_an_op():
    assert sorted(set(op_names()) - set(EMITTERS)) == []
    assert sorted(set(EMITTERS) - set(op_names())) == []
    assert all(emitter_for(op) is EMITTERS[op] for op in op_names())


def test_emitters_live_in_the_group_modules():
    assert {"graphir.backends.onnx.nn_ops", "graphir.backends.onnx.shape_ops"} <= GROUP_MODULES
    assert {fn.__module__ for fn in EMITTERS.values()} == GROUP_MODULES


def test_the_package_imports_every_group_module_once():
    """Registration is by import: ``__init__`` has one ``from . import <group>`` line per
    op group module, so a new group cannot be forgotten."""
    tree = ast.parse((BACKEND / "__init__.py").read_text())
    imported = [f"graphir.backends.onnx.{a.name}" for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module
                for a in node.names]
    assert sorted(imported) == sorted(GROUP_MODULES)


def test_emits_registers_and_returns_the_function(monkeypatch):
    monkeypatch.setattr(onnx_registry, "_EMITTERS", {})

    def fn(ctx, node):
        """A test emitter."""

    assert emits("op_a", "op_b")(fn) is fn
    assert emitter_for("op_a") is fn and emitter_for("op_b") is fn
    assert emitter_for("op_c") is None


def test_a_second_registration_of_an_op_is_refused(monkeypatch):
    monkeypatch.setattr(onnx_registry, "_EMITTERS", {})

    @emits("op_a")
    def first(ctx, node):
        """The first emitter."""

    def second(ctx, node):
        """Another emitter of the same op."""

    with pytest.raises(ValueError, match="'op_a' already has an ONNX emitter.*first"):
        emits("op_b", "op_a")(second)
    assert emitter_for("op_a") is first and emitter_for("op_b") is None  # all or nothing
    with pytest.raises(ValueError, match="twice"):
        emits("op_c", "op_c")
    with pytest.raises(ValueError, match="at least one"):
        emits()


def test_a_real_op_cannot_get_a_second_emitter():
    with pytest.raises(ValueError, match="'conv2d' already has an ONNX emitter"):
        emits("conv2d")(lambda ctx, node: None)
    assert emitter_for("conv2d").__name__ == "conv"


def test_the_table_is_read_only():
    with pytest.raises(TypeError):
        EMITTERS["conv2d"] = None  # type: ignore[index]


def test_no_hand_merged_tables_or_layout_sets_remain():
    """One registration style: no module but the registry defines an ``EMITTERS`` table,
    and the layout sets are gone (the layout class is on the op schema)."""
    for path in sorted(BACKEND.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {t.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
                 for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(t, ast.Name)}
        assert not names & {"NCHW_OPS", "AGNOSTIC_OPS", "NEUTRAL_OPS"}, path.name
        if path.name != "registry.py":
            assert "EMITTERS" not in names, path.name


@pytest.mark.parametrize("op", op_names())
def test_layout_class_is_the_schemas(op):
    assert layout_class(op) is get_schema(op).layout


def test_layout_classes_by_hand():
    """A few ops whose ONNX form fixes their class (written here, not read from the code)."""
    assert layout_class("conv2d") is Layout.CHANNELS_FIRST
    assert layout_class("max_pool1d") is Layout.CHANNELS_FIRST
    assert layout_class("add") is Layout.ANY
    assert layout_class("batch_norm") is Layout.ANY
    assert layout_class("global_avg_pool2d") is Layout.EITHER
    assert layout_class("permute") is Layout.EITHER
    assert layout_class("reshape") is Layout.CHANNELS_LAST
    assert layout_class("lstm") is Layout.CHANNELS_LAST
    assert layout_class("no_such_op") is Layout.CHANNELS_LAST


# --------------------------------------------------------------------------- independence

def _imports(path: pathlib.Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(absolute module, imported names, line) of every import in ``path`` (relative
    imports resolved against ``graphir.backends.onnx``); ``names`` is empty for
    ``import module``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.extend((a.name, (), node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "graphir.backends.onnx".rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            out.append((module, tuple(a.name for a in node.names), node.lineno))
    return out


def _kernels() -> set[int]:
    return {id(get_schema(op).kernel) for op in op_names() if get_schema(op).kernel}


@pytest.mark.parametrize("path", sorted(BACKEND.glob("*.py")), ids=lambda p: p.name)
def test_backend_does_not_import_the_reference(path):
    """The reference (kernels, interpreter) checks the emitter, so the emitter must not
    reuse it: no ``graphir.reference_*``, no ``graphir.interpreter``, and from
    ``graphir.ops`` only constants and the registry API, never a kernel or another
    function (shared formulas live in neutral modules such as ``graphir.windowing``)."""
    kernels = _kernels()
    for module, names, line in _imports(path):
        where = f"{path.name}:{line}"
        full = [module] + [f"{module}.{n}" for n in names]
        assert not any(m == "graphir.interpreter" or m.startswith("graphir.reference")
                       for m in full), where
        if module == "graphir" and "ops" in names:
            pytest.fail(f"{where}: import names from graphir.ops explicitly")
        if module == "graphir.ops" or module.startswith("graphir.ops."):
            assert names, f"{where}: import names from {module} explicitly"
            mod = importlib.import_module(module)
            for name in names:
                obj = getattr(mod, name)
                assert id(obj) not in kernels, f"{where}: {name} is a reference kernel"
                if inspect.isfunction(obj):
                    assert obj.__module__ == "graphir.ops.registry" or module.endswith(
                        ".registry"), f"{where}: {module}.{name} is a function of the op set"


def test_the_import_scan_sees_a_forbidden_import(tmp_path):
    """The scan above is not vacuous."""
    bad = tmp_path / "bad.py"
    bad.write_text("from graphir.interpreter import evaluate\n"
                   "from ..ops import x\n"
                   "import graphir.reference_ops\n")
    assert _imports(bad) == [("graphir.interpreter", ("evaluate",), 1),
                             ("graphir.backends.ops", ("x",), 2),
                             ("graphir.reference_ops", (), 3)]
    with pytest.raises(AssertionError):
        test_backend_does_not_import_the_reference(bad)
