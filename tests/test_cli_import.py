"""``--import MODULE``: the user's module registers its Keras classes before a model loads.

The rule under test (``specs/cli.md``): each MODULE is imported with
``importlib.import_module``, in the order given, before any model file is read; it is
found on ``sys.path`` with the current working directory first (as ``python -m`` finds
modules), then ``PYTHONPATH`` and the installed packages.  The model file's own folder
is not searched.  A module that cannot be imported is a ``ModuleImportError`` (exit 2,
one line naming the module and the exception; the traceback only with ``--debug``).

The custom classes live in a temporary project folder and the model is saved by a
separate process, so this test process never registers them (Keras' registry is
global); the commands that must load the model run as real ``graphir`` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphir.app.cli import cli

GRAPHIR = str(Path(sys.executable).with_name("graphir"))

MY_LAYERS = textwrap.dedent('''
    import keras


    @keras.saving.register_keras_serializable(package="my_pkg")
    class Scale(keras.layers.Layer):
        """Multiplies the last axis by a learned vector."""

        def __init__(self, init=2.0, **kwargs):
            super().__init__(**kwargs)
            self.init = init

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                         initializer=keras.initializers.Constant(self.init))

        def call(self, x):
            return x * self.scale

        def get_config(self):
            return {**super().get_config(), "init": self.init}
''')

MY_PKG_EXTRA = textwrap.dedent('''
    import keras


    @keras.saving.register_keras_serializable(package="my_pkg")
    class Shift(keras.layers.Layer):
        """Adds a learned vector to the last axis."""

        def build(self, input_shape):
            self.offset = self.add_weight(name="offset", shape=(input_shape[-1],),
                                          initializer="ones")

        def call(self, x):
            return x + self.offset
''')

BROKEN = "raise ValueError('boom at import time')\n"

SAVE = textwrap.dedent('''
    import sys, keras
    import my_layers, my_pkg.extra
    keras.utils.set_random_seed(0)
    x = keras.Input((4,), name="x")
    y = keras.layers.Dense(4, name="dense")(x)
    y = my_layers.Scale(init=0.5, name="scale")(y)
    y = my_pkg.extra.Shift(name="shift")(y)
    keras.Model(x, y, name="custom").save(sys.argv[1])
''')

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
ENV["TF_CPP_MIN_LOG_LEVEL"] = "3"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, Path]:
    """``proj/`` holds the user's code (``my_layers.py``, ``my_pkg/extra.py``,
    ``broken.py``); ``models/model.keras`` (elsewhere) uses Scale and Shift."""
    root = tmp_path_factory.mktemp("import")
    proj = root / "proj"
    (proj / "my_pkg").mkdir(parents=True)
    (proj / "my_layers.py").write_text(MY_LAYERS)
    (proj / "my_pkg" / "__init__.py").write_text("")
    (proj / "my_pkg" / "extra.py").write_text(MY_PKG_EXTRA)
    (proj / "broken.py").write_text(BROKEN)
    models = root / "models"
    models.mkdir()
    model = models / "model.keras"
    subprocess.run([sys.executable, "-c", SAVE, str(model)], cwd=proj, env=ENV, check=True,
                   capture_output=True)
    return {"proj": proj, "models": models, "model": model}


def _graphir(*args: str, cwd: Path, pythonpath: Path | None = None):
    env = dict(ENV, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {}))
    return subprocess.run([GRAPHIR, *args], cwd=cwd, env=env, capture_output=True, text=True)


def _one_line_error(proc) -> str:
    """The stderr of a failed run: exactly one ``graphir: error:`` line, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphir: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def _loaded(proc) -> None:
    """The model loaded: it either converted (exit 0, the custom layers' scopes in the
    text IR) or was refused by name (exit 2, a one-line error naming a custom layer)."""
    if proc.returncode == 0:
        assert "scale" in proc.stdout and "shift" in proc.stdout, proc.stdout
        return
    line = _one_line_error(proc)
    assert "could not load" not in line and "unknown class" not in line, line
    assert "Scale" in line or "Shift" in line, line


def test_without_import_the_unknown_class_is_named(project):
    line = _one_line_error(_graphir("inspect", str(project["model"]), cwd=project["proj"]))
    # the first unregistered class graphir's config pre-scan meets (both are the user's)
    assert ("unknown class 'Scale'" in line or "unknown class 'Shift'" in line) \
        and "--import" in line, line
    assert str(project["model"]) in line


def test_import_from_the_current_directory(project):
    proc = _graphir("inspect", str(project["model"]), "--import", "my_layers",
                    "--import", "my_pkg.extra", cwd=project["proj"])
    _loaded(proc)


def test_import_from_pythonpath_and_not_from_the_model_folder(project):
    args = ("inspect", "model.keras", "--import", "my_layers", "--import", "my_pkg.extra")
    _loaded(_graphir(*args, cwd=project["models"], pythonpath=project["proj"]))
    # the model's folder is the cwd here, but the modules are elsewhere and not on the path
    line = _one_line_error(_graphir(*args, cwd=project["models"]))
    assert "--import my_layers" in line and "ModuleNotFoundError" in line, line


def test_each_import_counts(project):
    # given twice, both modules are imported; with only the first, Shift is still unknown
    line = _one_line_error(_graphir("inspect", str(project["model"]), "--import", "my_layers",
                                    cwd=project["proj"]))
    assert "unknown class 'Shift'" in line and "Scale" not in line, line


def test_a_missing_module_is_named(project):
    line = _one_line_error(_graphir("inspect", str(project["model"]), "--import",
                                    "no_such_module_xyz", cwd=project["proj"]))
    assert "--import no_such_module_xyz" in line
    assert "ModuleNotFoundError: No module named 'no_such_module_xyz'" in line


def test_a_module_that_raises_is_named_with_its_error(project):
    args = ("inspect", str(project["model"]), "--import", "broken")
    line = _one_line_error(_graphir(*args, cwd=project["proj"]))
    assert "--import broken" in line and "ValueError: boom at import time" in line, line
    debug = _graphir("--debug", *args, cwd=project["proj"])
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert "boom at import time" in debug.stderr


# -- in-process checks (nothing here imports the user's code successfully) ------------

READERS = {  # every verb that reads model files, with arguments that would otherwise work
    "inspect": ["{src}"],
    "convert": ["{src}", "{out}.onnx"],
    "verify": ["{src}"],
    "check": ["{src}"],
    "merge": ["{src}", "{src}", "-o", "{out}.gir", "--mode", "outputs"],
    "rename": ["{src}", "-o", "{out}.gir", "--prefix", "p"],
    "extract": ["{src}", "-o", "{out}.gir", "--outputs", "dense"],
    "dedupe": ["{src}", "-o", "{out}.gir"],
}


@pytest.fixture
def path_restored(monkeypatch):
    """--import puts the current directory on sys.path; undo it after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.mark.parametrize("verb", sorted(READERS))
def test_every_reading_verb_imports_first(verb, project, tmp_path, path_restored):
    out = tmp_path / "out"
    args = [a.format(src=project["model"], out=out) for a in READERS[verb]]
    r = CliRunner().invoke(cli, [verb, *args, "--import", "no_such_module_xyz"],
                           catch_exceptions=False)
    assert r.exit_code == 2, r.stderr
    assert "--import no_such_module_xyz" in r.stderr and "ModuleNotFoundError" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_json_report_names_the_module(project, path_restored):
    r = CliRunner().invoke(cli, ["check", str(project["model"]), "--json",
                                 "--import", "no_such_module_xyz"], catch_exceptions=False)
    assert r.exit_code == 2
    report = json.loads(r.stdout)
    assert report["passed"] is False and "no_such_module_xyz" in report["error"]


@pytest.mark.parametrize("name,needle", [("my_layers.py", "not a file"),
                                         ("./my_layers", "not a file"),
                                         ("1bad", "not a Python module name")])
def test_a_file_path_is_not_a_module_name(name, needle, project, monkeypatch, path_restored):
    monkeypatch.chdir(project["proj"])  # where my_layers.py would be found
    r = CliRunner().invoke(cli, ["inspect", str(project["model"]), "--import", name],
                           catch_exceptions=False)
    assert r.exit_code == 2 and needle in r.stderr and f"--import {name}" in r.stderr, r.stderr
    assert "my_layers" not in sys.modules  # refused before anything was imported


def test_the_current_directory_goes_first_only_with_import(project, monkeypatch, path_restored):
    monkeypatch.chdir(project["proj"])
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    CliRunner().invoke(cli, ["inspect", "missing.gir"], catch_exceptions=False)
    assert os.getcwd() not in sys.path
    CliRunner().invoke(cli, ["inspect", "missing.gir", "--import", "no_such_module_xyz"],
                       catch_exceptions=False)
    assert sys.path[0] == os.getcwd()


def test_every_reading_verb_documents_import():
    for verb in READERS:
        r = CliRunner().invoke(cli, [verb, "--help"])
        assert r.exit_code == 0 and "--import MODULE" in r.output, verb
    assert "--import" not in CliRunner().invoke(cli, ["demo", "--help"]).output


# -- the Python API imports nothing ---------------------------------------------------

API = textwrap.dedent('''
    import sys, graphir
    from graphir.errors import ModelFileError
    try:
        graphir.from_keras(sys.argv[1])
    except ModelFileError as e:
        print("refused:", e)
    import my_layers, my_pkg.extra  # the user imports their own module
    try:
        graph = graphir.from_keras(sys.argv[1])
        print("converted:", len(graph.nodes))
    except graphir.UnsupportedLayerError as e:
        print("unsupported:", e.layer_class)
    print("keras_hub" in sys.modules)
''')


def test_api_needs_the_user_to_import_their_module(project):
    proc = subprocess.run([sys.executable, "-c", API, str(project["model"])], cwd=project["proj"],
                          env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("refused:") and ("unknown class 'Scale'" in lines[0] or
                                                "unknown class 'Shift'" in lines[0]), lines
    assert lines[1].startswith(("converted:", "unsupported: Scale", "unsupported: Shift")), lines
    assert lines[2] == "False"  # keras_hub is a test dependency only


def test_no_graphir_module_imports_keras_hub():
    code = ("import importlib, pkgutil, sys, graphir\n"
            "for m in pkgutil.walk_packages(graphir.__path__, 'graphir.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('graphir.')).__len__(),"
            " 'keras_hub' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    count, imported = proc.stdout.split()
    assert int(count) > 30 and imported == "False"
