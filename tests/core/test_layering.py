"""The module layering, drawn from the code (no import is executed):

* the core (``graphir/`` except ``graphir/backends/``, ``graphir/app/`` and the package
  facade ``graphir/__init__.py``) never imports ``graphir.backends`` or ``graphir.app``,
  not even inside a function;
* ``graphir.backends`` never imports ``graphir.app``;
* no two modules of the package import each other, directly or through others
  (imports under ``if TYPE_CHECKING:`` excepted: they never run; and the registration
  edges of :func:`_registration_edge`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "graphir"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str) -> set[str]:
    """The graphir modules that module ``name`` imports anywhere (functions included),
    except under ``if TYPE_CHECKING:``; ``from pkg import sub`` counts as ``pkg.sub``
    when ``sub`` is a module, else as ``pkg``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> str:
    if name == "graphir":
        return "facade"
    if name.startswith("graphir.app"):
        return "app"
    if name.startswith("graphir.backends"):
        return "backends"
    return "core"


def test_the_scan_sees_the_package():
    assert {"graphir.ir", "graphir.ops.registry", "graphir.backends.onnx.emit",
            "graphir.app.cli"} <= set(MODULES)
    assert "graphir.tensor_types" in GRAPH["graphir.ir"]


@pytest.mark.parametrize("layer,forbidden", [("core", ("backends", "app")),
                                             ("backends", ("app",))])
def test_lower_layers_never_import_upper_ones(layer, forbidden):
    bad = sorted(f"{m} imports {i}" for m, deps in GRAPH.items() if _layer(m) == layer
                 for i in deps if _layer(i) in forbidden)
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def _registration_edge(importer: str, imported: str) -> bool:
    """The two sanctioned back edges of registration: a package ``__init__`` importing
    its submodules, and a backend's ``registry`` loading the group modules of its own
    package (``load_groups``); in both, the group module imports the registry (or
    package) at its top and never needs the loader's names while it runs."""
    if MODULES[imported].name == "__init__.py" and importer.startswith(imported + "."):
        return True
    return (imported.endswith(".registry")
            and importer.rpartition(".")[0] == imported.rpartition(".")[0]
            and importer in GRAPH[imported])


def test_no_import_cycles():
    graph = {m: {d for d in deps if not _registration_edge(m, d)} for m, deps in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_is_listed_in_pyproject():
    # setuptools installs only the listed packages: a new subpackage missing here works
    # in the editable checkout and is absent from a wheel
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    packages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert packages == listed
