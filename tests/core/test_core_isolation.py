"""The core imports neither TensorFlow/Keras nor onnx/onnxruntime, and its public surface is explicit."""

import subprocess
import sys

import graphir

CORE_MODULES = ["graphir", "graphir.ops", "graphir.verifier", "graphir.printer",
                "graphir.serialization", "graphir.tolerance", "graphir.inputs", "graphir.report",
                "graphir.app.cli", "graphir.app.console", "graphir.atomic",
                "graphir.conditioning", "graphir.sensitivity"]


def test_core_import_pulls_no_framework():
    code = ("import sys, importlib\n"
            f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
            "bad = [m for m in ('tensorflow', 'keras', 'onnx', 'onnxruntime') if m in sys.modules]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_is_explicit():
    assert sorted(graphir.__all__) == sorted(set(graphir.__all__))
    for name in graphir.__all__:
        assert hasattr(graphir, name), name
    public = {n for n in dir(graphir) if not n.startswith("_")}
    # everything public at top level is either in __all__ or a submodule
    import types

    extra = {n for n in public - set(graphir.__all__)
             if not isinstance(getattr(graphir, n), types.ModuleType)
             and n not in ("annotations", "TYPE_CHECKING", "Any")}
    assert extra == set()
