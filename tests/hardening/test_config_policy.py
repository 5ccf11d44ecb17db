"""The config.json policy of ``safe_archive`` on classes the process itself registered:
a user's class (``--import``) is allowed; a class registered under a package name Keras
trusts (``keras_nlp``...) is allowed only from the installed package, never from a
planted folder, even once something imported it."""

from __future__ import annotations

import copy
import sys
import textwrap

import pytest

keras = pytest.importorskip("keras")

from graphir.backends.keras import safe_archive
from graphir.errors import UnsafeModelError
from graphir.limits import Limits

pytestmark = pytest.mark.tf

MODEL = {"module": "keras.src.models.functional", "class_name": "Functional",
         "registered_name": "Functional",
         "config": {"name": "m", "layers": [
             {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
              "config": {"name": "d", "units": 2}}]}}


def _with(layer: dict) -> dict:
    c = copy.deepcopy(MODEL)
    c["config"]["layers"].append(layer)
    return c


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """Import ``keras_nlp`` and ``user_layers`` from ``tmp_path`` (both register a class)."""
    for package in ("keras_nlp", "user_layers"):
        (tmp_path / f"{package}.py").write_text(textwrap.dedent(f"""
            import keras
            @keras.saving.register_keras_serializable(package={package!r})
            class Scale(keras.layers.Layer):
                pass
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import keras_nlp  # noqa: F401
    import user_layers  # noqa: F401
    yield tmp_path
    for package in ("keras_nlp", "user_layers"):
        sys.modules.pop(package, None)
        keras.saving.get_custom_objects().pop(f"{package}>Scale", None)


def _check(layer: dict) -> None:
    safe_archive.check_config(_with(layer), "m.keras", Limits())


def test_a_class_the_user_registered_is_allowed(planted):
    _check({"module": "user_layers", "class_name": "Scale",
            "registered_name": "user_layers>Scale", "config": {"name": "s"}})


def test_a_trusted_package_name_from_a_planted_folder_is_refused(planted):
    layer = {"module": "keras_nlp", "class_name": "Scale", "registered_name": "keras_nlp>Scale",
             "config": {"name": "s"}}
    with pytest.raises(UnsafeModelError, match="outside the installed packages"):
        _check(layer)


def test_the_same_class_installed_would_be_allowed(planted, monkeypatch):
    # the twin: were the planted folder a site-packages folder, the class would load,
    # so the refusal above comes from where the module file lies
    monkeypatch.setattr(safe_archive, "_site_folders", lambda: [planted.resolve()])
    _check({"module": "keras_nlp", "class_name": "Scale", "registered_name": "keras_nlp>Scale",
            "config": {"name": "s"}})


def test_unregistered_trusted_package_is_never_imported(tmp_path, monkeypatch):
    (tmp_path / "keras_cv").mkdir()
    (tmp_path / "keras_cv" / "__init__.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnsafeModelError, match="never imports a module a model file names"):
        _check({"module": "keras_cv.models", "class_name": "X", "registered_name": None,
                "config": {"name": "x"}})
    assert not (tmp_path / "ran").exists() and "keras_cv" not in sys.modules
