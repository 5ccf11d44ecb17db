"""The ill-conditioned-reference precondition (issue 9, ``graphir/conditioning.py``): a
failed comparison that the reference's own float32 error (its float64 twin) explains is
reported as ``ill-conditioned`` (exit 4), never as a pass; a real fault stays ``failed``
(exit 1), on a well-conditioned model and on an ill-conditioned one alike.

The ill-conditioned model computes ``x @ A - x @ B`` with ``B = A + 1e-4 N(0, 1)`` (512
inputs): the two products are ~20, their difference ~2e-3, so float32 rounding of the
products (which TF and onnxruntime sum in different orders) is a percent of the output.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from graphir.app.cli import cli
from graphir.conditioning import AMPLIFICATION, all_explained, explain_failure, reference_error

pytestmark = pytest.mark.tf


def test_explain_failure_rule():
    r32 = np.array([1.0, 2.0], np.float32)
    r64 = np.array([1.0, 2.0 + 1e-6], np.float64)
    assert reference_error(r32, r64) == pytest.approx(1e-6)
    inside = explain_failure("onnx", "y", "primary", 0.9 * AMPLIFICATION * 1e-6, r32, r64)
    outside = explain_failure("onnx", "y", "primary", 1.1 * AMPLIFICATION * 1e-6, r32, r64)
    assert inside.explained and not outside.explained
    assert inside.reference_error_rel == pytest.approx(1e-6 / (2 + 1e-6))
    unmeasured = explain_failure("onnx", "y", "primary", 1e-9, r32, None)
    nan = explain_failure("onnx", "y", "primary", float("nan"), r32, r64)
    assert not unmeasured.explained and not nan.explained
    assert unmeasured.to_json()["reference_error"] is None
    assert all_explained([inside]) and not all_explained([inside, outside])
    assert not all_explained([])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import keras

    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx

    d = tmp_path_factory.mktemp("conditioning")
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    x = keras.Input((512,), name="x")
    diff = keras.layers.Subtract(name="diff")([keras.layers.Dense(64, name="a")(x),
                                               keras.layers.Dense(64, name="b")(x)])
    ill = keras.Model(x, diff, name="ill")
    a = rng.standard_normal((512, 64)).astype(np.float32)
    b = (a + 1e-4 * rng.standard_normal((512, 64))).astype(np.float32)
    ill.get_layer("a").set_weights([a, np.zeros(64, np.float32)])
    ill.get_layer("b").set_weights([b, np.zeros(64, np.float32)])
    img = keras.Input((8, 8, 3), name="img")
    h = keras.layers.Conv2D(4, 3, activation="tanh", name="conv")(img)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    well = keras.Model(img, keras.layers.Dense(5, name="head")(h), name="well")
    paths = {}
    for name, model, layer in (("ill", ill, "a"), ("well", well, "conv")):
        paths[name] = d / f"{name}.keras"
        model.save(paths[name])
        emitted = to_onnx(from_keras(model))
        init = next(i for i in emitted.graph.initializer if i.name.startswith(f"{layer}/kernel"))
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.01),
                                              init.name))
        paths[f"{name}_faulty"] = d / f"{name}_faulty.onnx"
        onnx.save(emitted, paths[f"{name}_faulty"])
    return paths


def _verify(*args: str):
    r = CliRunner().invoke(cli, ["verify", *args, "--device", "cpu", "--json"],
                           catch_exceptions=False)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_float64_twin_computes_in_float64(files):
    import keras

    from graphir.backends.keras.float64 import float64_twin

    model = keras.saving.load_model(files["well"])
    twin = float64_twin(model)
    assert {layer.compute_dtype for layer in twin.layers
            if not isinstance(layer, keras.layers.InputLayer)} == {"float64"}
    assert twin.inputs[0].dtype == "float64"
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 3))
    y32 = np.asarray(model(x.astype(np.float32)))
    y64 = np.asarray(twin(x))
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(y32.astype(np.float64), y64)  # computed, not copied


def test_an_ill_conditioned_reference_is_exit_4(files):
    r, data = _verify(str(files["ill"]))
    assert r.exit_code == 4, r.stderr
    assert data["status"] == "ill-conditioned" and data["passed"] is False
    cond = data["conditioning"]
    assert cond["measured"] and cond["explained"] and cond["method"] == "float64-twin"
    failed = [c for c in data["comparisons"] if not c["passed"]]
    assert failed and len(cond["failures"]) == len(failed)
    for f in cond["failures"]:
        assert f["explained"] and f["max_abs_err"] <= AMPLIFICATION * f["reference_error"]
        assert f["reference_error_rel"] > 1e-4  # the reference's own error: above the scale term
    assert "ill-conditioned" in r.stderr


def test_a_fault_on_an_ill_conditioned_model_still_fails(files):
    """Broken twin of the test above: a kernel x1.01 moves the output far more than the
    reference's rounding, so the verdict is ``failed`` (exit 1), not ill-conditioned."""
    r, data = _verify(str(files["ill"]), "--onnx", str(files["ill_faulty"]))
    assert r.exit_code == 1 and data["status"] == "failed"
    assert data["conditioning"]["measured"] and not data["conditioning"]["explained"]


def test_a_fault_on_a_well_conditioned_model_fails(files):
    r, data = _verify(str(files["well"]))
    assert r.exit_code == 0 and data["conditioning"] is None
    r, data = _verify(str(files["well"]), "--onnx", str(files["well_faulty"]))
    assert r.exit_code == 1 and data["status"] == "failed"
    failures = data["conditioning"]["failures"]
    assert failures and not any(f["explained"] for f in failures)
    assert all(f["max_abs_err"] > 1e3 * f["reference_error"] for f in failures)


def test_convert_of_an_ill_conditioned_model_writes_nothing(files, tmp_path):
    out = tmp_path / "ill.onnx"
    r = CliRunner().invoke(cli, ["convert", str(files["ill"]), str(out), "--verify",
                                 "--device", "cpu", "--json"], catch_exceptions=False)
    assert r.exit_code == 4 and not out.exists()
    assert json.loads(r.stdout)["status"] == "ill-conditioned"
