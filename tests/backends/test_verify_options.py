"""``graphir verify`` / ``convert --verify``: the sensitivity precondition on real models,
the input options (``--inputs``, ``--input-range``, ``--seed``, ``--batch``), per-output
tolerances (``--tol``), ``--save``, option validation (usage errors, exit 2, before any
work), and the shipped example models' references passing the sensitivity check.

Models are tiny, seeded, built and saved once per module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
L = keras.layers

from graphir.app.cli import EXIT_INSENSITIVE, cli
from graphir.backends.keras import from_keras
from graphir.backends.verification import verify


def _two_outputs():
    keras.utils.set_random_seed(3)
    x = keras.Input((6,), name="x")
    h = L.Dense(8, activation="tanh", name="hidden")(x)
    return keras.Model(x, [L.Dense(3, name="scores")(h),
                           L.Dense(4, activation="softmax", name="probs")(h)], name="two")


def _insensitive():
    """A head whose kernel is zero: the output is its bias whatever the input."""
    keras.utils.set_random_seed(4)
    x = keras.Input((6,), name="x")
    h = L.Dense(8, activation="relu", name="hidden")(x)
    model = keras.Model(x, L.Dense(3, name="stuck")(h), name="stuck_model")
    stuck = model.get_layer("stuck")
    stuck.kernel.assign(np.zeros(stuck.kernel.shape, np.float32))
    stuck.bias.assign(np.array([0.5, -1.0, 2.0], np.float32))
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify_options")
    out = {}
    for name, build in (("two", _two_outputs), ("stuck", _insensitive)):
        out[name] = folder / f"{name}.keras"
        build().save(out[name])
    return out


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- sensitivity -------------------------------------------------------------------

def test_insensitive_reference_is_a_failed_precondition(files):
    report = verify(files["stuck"], device="cpu")
    assert report.compared_ok  # every candidate matches the constant...
    assert report.status == "insensitive" and not report.passed  # ...which proves nothing
    assert report.insensitive == ("stuck",)
    r = _run("verify", str(files["stuck"]), "--device", "cpu", "--json")
    assert r.exit_code == EXIT_INSENSITIVE == 4
    data = json.loads(r.stdout)
    assert data["status"] == "insensitive" and data["insensitive_outputs"] == ["stuck"]
    assert data["sensitivity"][0]["output"] == "stuck" and not data["sensitivity"][0]["sensitive"]
    line = r.stderr.strip()
    assert line.startswith("graphir: error:") and "insensitive" in line and "stuck" in line
    assert "\n" not in line


def test_skipping_the_check_passes_the_insensitive_model(files):
    """The broken twin: without the precondition the same run is reported as a pass."""
    r = _run("verify", str(files["stuck"]), "--device", "cpu", "--no-sensitivity-check")
    assert r.exit_code == 0, r.stderr


def test_convert_verify_refuses_an_insensitive_reference(files, tmp_path):
    out = tmp_path / "stuck.onnx"
    r = _run("convert", str(files["stuck"]), str(out), "--verify", "--device", "cpu", "--json")
    assert r.exit_code == EXIT_INSENSITIVE and not out.exists()
    data = json.loads(r.stdout)
    assert data["status"] == "insensitive" and data["written"] is False


def test_every_example_model_reference_is_sensitive():
    """The example models graphir ships react to their seeded inputs (rows and draws)."""
    from graphir.backends.keras.zoo import example_models
    from graphir.inputs import make_inputs, plan_cases
    from graphir.sensitivity import check_sensitivity
    from graphir.tolerance import tolerance_for

    insensitive = []
    for name, build in example_models().items():
        model = build()
        graph = from_keras(model)
        outs = []
        for case in plan_cases(graph, batch=2, seed=0, several_shapes=False):
            feeds = make_inputs(graph, batch=case.batch, seed=case.seed,
                                default_dim=case.unknown_dim)
            ordered = [feeds[v.name] for v in graph.inputs]
            y = model(ordered if len(ordered) > 1 else ordered[0], training=False)
            outs.append([np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])])
        for i, out in enumerate(graph.outputs):
            s = check_sensitivity(out, outs[0][i], outs[1][i], batch=2,
                                  tolerance=tolerance_for(outs[0][i].dtype))
            if not s.sensitive:
                insensitive.append((name, out, s.reason))
    assert insensitive == []


# --- inputs, tolerances, save ------------------------------------------------------

def test_report_lists_every_shape_and_seed(files):
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json", "--seed", "7",
             "--batch", "3")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    cases = data["cases"]
    assert [(c["name"], c["seed"], c["batch"]) for c in cases] == [
        ("primary", 7, 3), ("second-draw", 8, 3), ("shape-1", 9, 1)]
    assert [i["shape"] for c in cases for i in c["inputs"]] == [[3, 6], [3, 6], [1, 6]]
    assert data["seed"] == 7 and data["batch"] == 3
    stats = data["comparisons"][0]
    for key in ("mean_abs_err", "median_abs_err", "p99_abs_err", "mean_rel_err",
                "median_rel_err", "p99_rel_err", "worst_index", "min_rtol", "min_atol",
                "mismatches", "scale"):
        assert key in stats


def test_inputs_file_and_save(files, tmp_path):
    x = np.random.default_rng(9).standard_normal((5, 6)).astype(np.float64)  # cast to f32
    npz = tmp_path / "in.npz"
    np.savez(npz, x=x)
    save = tmp_path / "saved"
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json", "--inputs", str(npz),
             "--save", str(save))
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    primary = data["cases"][0]
    assert primary["source"] == str(npz) and primary["seed"] is None
    assert primary["inputs"] == [{"name": "x", "dtype": "float32", "shape": [5, 6]}]
    assert data["cases"][1]["inputs"][0]["shape"] == [5, 6]  # second draw: same shapes
    with np.load(save / "inputs-primary.npz") as saved:
        np.testing.assert_array_equal(saved["x"], x.astype(np.float32))
    with np.load(save / "outputs-onnx-primary.npz") as o, \
            np.load(save / "outputs-keras-primary.npz") as k:
        assert set(o.files) == {"scores", "probs"}
        np.testing.assert_allclose(o["probs"], k["probs"], rtol=1e-3, atol=1e-6)
    report = json.loads((save / "report.json").read_text())
    assert report["status"] == "passed" and report["cases"][0]["source"] == str(npz)


@pytest.mark.parametrize("arrays, message", [
    ({"y": np.zeros((2, 6), np.float32)}, "not inputs"),
    ({"x": np.zeros((2, 5), np.float32)}, "does not fit"),
    ({"x": np.zeros((2, 6), np.int32)}, "kind"),
])
def test_bad_inputs_file_is_exit_2(files, tmp_path, arrays, message):
    npz = tmp_path / "bad.npz"
    np.savez(npz, **arrays)
    r = _run("verify", str(files["two"]), "--device", "cpu", "--inputs", str(npz))
    assert r.exit_code == 2 and message in r.stderr and str(npz) in r.stderr


def test_input_range(files, tmp_path):
    save = tmp_path / "ranged"
    r = _run("verify", str(files["two"]), "--device", "cpu", "--input-range", "x=3,4",
             "--save", str(save))
    assert r.exit_code == 0, r.stderr
    for case in ("primary", "second-draw", "shape-1"):
        with np.load(save / f"inputs-{case}.npz") as saved:
            assert saved["x"].min() >= 3 and saved["x"].max() < 4
    r = _run("verify", str(files["two"]), "--device", "cpu", "--input-range", "nope=0,1")
    assert r.exit_code == 2 and "nope" in r.stderr


def test_per_output_tolerance(files):
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json",
             "--tol", "probs=0.002,1e-6")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"probs:logits"} < {c["output"] for c in data["comparisons"]}  # softmax head
    for c in data["comparisons"]:
        if c["output"] in ("probs", "probs:logits"):
            assert (c["rtol"], c["atol"], c["atol_scale"]) == (0.002, 1e-6, 0.0)
        else:
            assert (c["rtol"], c["atol_scale"]) == (1e-3, 1e-4)
    assert data["tolerances"] == {"probs": {"rtol": 0.002, "atol": 1e-6}}
    # a tolerance so loose that another input's output would pass proves nothing
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json", "--tol", "probs=0.5,0.25")
    assert r.exit_code == EXIT_INSENSITIVE
    assert json.loads(r.stdout)["insensitive_outputs"] == ["probs"]
    r = _run("verify", str(files["two"]), "--device", "cpu", "--tol", "missing=0.1,0.1")
    assert r.exit_code == 2 and "missing" in r.stderr and "probs" in r.stderr


@pytest.mark.parametrize("args, option", [
    (["--seed", "-1"], "--seed"), (["--rtol", "-1"], "--rtol"), (["--atol", "nan"], "--atol"),
    (["--batch", "1000000000"], "--batch"), (["--batch", "0"], "--batch"),
    (["--tol", "probs=1"], "--tol"), (["--tol", "probs=-1,0"], "--tol"),
    (["--input-range", "x=1,0"], "--input-range"),
])
def test_option_validation_is_a_usage_error_before_any_work(tmp_path, args, option):
    missing = tmp_path / "never_read.keras"  # the option is refused before the file is looked at
    for verb in (["verify", str(missing)], ["convert", str(missing), str(tmp_path / "o.onnx"),
                                            "--verify"]):
        r = _run(*verb, *args)
        assert r.exit_code == 2 and option in r.output + r.stderr
        assert "no such file" not in r.stderr


@pytest.mark.slow
def test_uncalibrated_mobilenet_v2_is_insensitive_and_the_demo_model_is_not():
    """The issue's demo model: random weights and made-up batch-norm statistics give
    an output that ignores the input; calibration (what the demo now does) fixes it."""
    from graphir.backends.demo import calibration_inputs
    from graphir.backends.keras.randomize import calibrate_statistics
    from graphir.backends.keras.zoo import build_application
    from graphir.sensitivity import check_sensitivity
    from graphir.tolerance import tolerance_for

    model = build_application("MobileNetV2", input_shape=(96, 96, 3), seed=0)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2, 96, 96, 3)).astype(np.float32) for _ in range(2))

    def sens():
        ya, yb = np.asarray(model(a)), np.asarray(model(b))
        return check_sensitivity("predictions", ya, yb, batch=2,
                                 tolerance=tolerance_for(np.float32))

    assert not sens().sensitive
    calibrate_statistics(model, calibration_inputs(model, seed=0))
    assert sens().sensitive


# --- localization through the CLI ----------------------------------------------------

def test_localize_json_on_a_clean_and_a_faulty_emission(files, monkeypatch):
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json", "--localize")
    assert r.exit_code == 0, r.stderr
    loc = json.loads(r.stdout)["localization"]
    assert loc["first_divergent_node"] is None and loc["compared"] >= 3
    assert loc["seconds"] >= 0 and loc["case"] == "primary"
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json")
    assert json.loads(r.stdout)["localization"] is None  # not searched when all passed

    from onnx import numpy_helper

    import graphir.backends.onnx as onnx_backend

    real = onnx_backend.to_onnx

    def hidden_kernel_scaled(graph, **kw):  # the emitter scales the hidden kernel by 1.02
        model = real(graph, **kw)
        init = next(i for i in model.graph.initializer if i.name == "hidden/kernel")
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.02),
                                              init.name))
        return model

    monkeypatch.setattr(onnx_backend, "to_onnx", hidden_kernel_scaled)
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json")
    assert r.exit_code == 1
    loc = json.loads(r.stdout)["localization"]  # automatic on the failure
    assert loc["first_divergent_node"] == "hidden" and loc["inputs_agree"] is True
    r = _run("verify", str(files["two"]), "--device", "cpu")
    assert r.exit_code == 1 and "first divergence" in r.stdout and "hidden (dense)" in r.stdout
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json", "--no-localize")
    assert r.exit_code == 1 and json.loads(r.stdout)["localization"] is None
    r = _run("verify", str(files["two"]), "--device", "cpu", "--json",
             "--localize-budget", "0")
    assert json.loads(r.stdout)["localization"]["status"] == "budget-exceeded"
