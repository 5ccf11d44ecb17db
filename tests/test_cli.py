"""The CLI end to end: exit codes, one-line errors, JSON reports, atomic outputs.

Models are built and saved by separate Python processes (so their default layer and
input names collide, as in the field) once per session; most commands run in-process
through click's CliRunner (TensorFlow is imported once), a few as real subprocesses
to check the console script, stderr and exit codes as a shell sees them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphir.app.cli import cli

GRAPHIR = str(Path(sys.executable).with_name("graphir"))

BUILD = textwrap.dedent("""
    import sys, keras, numpy as np
    keras.utils.set_random_seed(int(sys.argv[2]))
    kind = sys.argv[3]
    if kind == "cnn":
        x = keras.Input((12, 12, 3))
        y = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
        y = keras.layers.BatchNormalization()(y)
        y = keras.layers.MaxPooling2D()(y)
        y = keras.layers.Flatten()(y)
        y = keras.layers.Dense(5, activation="softmax")(y)
        model = keras.Model(x, y)
        bn = model.layers[2]
        rng = np.random.default_rng(1)
        bn.set_weights([rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4),
                        rng.uniform(0.5, 1.5, 4)])
    elif kind == "two_io":
        a = keras.Input((6,)); b = keras.Input((4,), dtype="int32")
        e = keras.layers.Flatten()(keras.layers.Embedding(11, 3)(b))
        h = keras.layers.Concatenate()([keras.layers.Dense(8)(a), e])
        model = keras.Model([a, b], [keras.layers.Dense(2)(h), keras.layers.Dense(3, activation="tanh")(h)])
    elif kind == "unsupported":
        x = keras.Input((6,))
        # a built-in layer without a converter (built-in layers are never traced)
        model = keras.Model(x, keras.layers.Hashing(num_bins=3, name="noisy")(
            keras.layers.Dense(3)(x)))
    model.save(sys.argv[1])
""")


def _build(path: Path, seed: int, kind: str) -> Path:
    subprocess.run([sys.executable, "-c", BUILD, str(path), str(seed), kind], check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True)
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {"cnn": _build(folder / "cnn.keras", 1, "cnn"),
            "two_io": _build(folder / "two_io.keras", 2, "two_io"),
            "unsupported": _build(folder / "unsupported.keras", 3, "unsupported")}


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _keras_outputs(path: Path, feeds: list[np.ndarray]) -> list[np.ndarray]:
    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    out = model(feeds if len(feeds) > 1 else feeds[0], training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def _feeds_for(path: Path) -> list[np.ndarray]:
    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    rng = np.random.default_rng(7)
    out = []
    for t in model.inputs:
        shape = (3,) + tuple(t.shape[1:])
        out.append(rng.integers(0, 11, shape).astype(t.dtype) if "int" in str(t.dtype)
                   else rng.standard_normal(shape).astype(np.float32))
    return out


# --- usage and bad input: exit 2, one line, nothing written ----------------------------

def test_usage_errors_are_one_line_exit_2(tmp_path, models):
    out = tmp_path / "o.onnx"
    proc = subprocess.run([GRAPHIR, "convert", str(tmp_path / "missing.keras"), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    for args, needle in [((str(models["cnn"]), str(tmp_path / "o.txt")), "output suffix"),
                         ((str(models["cnn"]), str(models["cnn"])), "overwrite the source")]:
        r = _run("convert", *args)
        assert r.exit_code == 2 and needle in r.stderr
    r = _run("verify", str(models["cnn"]), "--device", "tpu")
    assert r.exit_code == 2  # click's own usage error


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    r = _run("inspect", str(bad))
    assert r.exit_code == 2 and str(bad) in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unsupported_layer_names_class_layer_and_file(tmp_path, models):
    out = tmp_path / "u.onnx"
    proc = subprocess.run([GRAPHIR, "convert", str(models["unsupported"]), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "Hashing" in line and "'noisy'" in line and "unsupported.keras" in line
    assert not out.exists()
    proc = subprocess.run([GRAPHIR, "--debug", "convert", str(models["unsupported"]), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


# --- conversions, checked outside graphir -----------------------------------------------

@pytest.mark.parametrize("kind", ["cnn", "two_io"])
def test_convert_to_onnx_matches_keras(tmp_path, models, kind):
    import onnxruntime as ort

    out = tmp_path / f"{kind}.onnx"
    r = _run("convert", str(models[kind]), str(out), "--verify", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] is True and report["device"] in ("cpu", "gpu")
    assert report["comparisons"] and all(
        {"reference", "candidate", "output", "max_abs_err", "max_rel_err", "passed"} <= set(c)
        for c in report["comparisons"])
    feeds = _feeds_for(models[kind])
    expected = _keras_outputs(models[kind], feeds)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {i.name: f for i, f in zip(sess.get_inputs(), feeds)})
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["cnn", "two_io"])
def test_convert_to_keras_reloads_in_a_fresh_process(tmp_path, models, kind):
    out = tmp_path / f"{kind}.keras"
    r = _run("convert", str(models[kind]), str(out))
    assert r.exit_code == 0, r.stderr
    feeds = _feeds_for(models[kind])
    np.savez(tmp_path / "feeds.npz", *feeds)
    code = textwrap.dedent(f"""
        import keras, numpy as np
        m = keras.saving.load_model({str(out)!r}, safe_mode=True, compile=False)
        f = np.load({str(tmp_path / 'feeds.npz')!r}); feeds = [f[k] for k in sorted(f.files)]
        out = m(feeds if len(feeds) > 1 else feeds[0], training=False)
        np.savez({str(tmp_path / 'out.npz')!r}, *[np.asarray(o) for o in keras.tree.flatten(out)])
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    got = np.load(tmp_path / "out.npz")
    expected = _keras_outputs(models[kind], feeds)
    for i, e in enumerate(expected):
        np.testing.assert_allclose(got[f"arr_{i}"], e, rtol=1e-5, atol=1e-5)


def test_convert_to_gir_and_inspect(tmp_path, models):
    out = tmp_path / "cnn.gir"
    r = _run("convert", str(models["cnn"]), str(out), "--verify")
    assert r.exit_code == 0, r.stderr
    a, b = _run("inspect", str(out)), _run("inspect", str(models["cnn"]))
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout and a.stdout.startswith("graph ")
    assert "conv2d(" in a.stdout and "batch_norm(" in a.stdout


def test_verify_json_and_device_rules(models):
    r = _run("verify", str(models["two_io"]), "--json", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["passed"] and rep["device"] == "cpu" and rep["requested_device"] == "cpu"
    assert {c["candidate"] for c in rep["comparisons"]} == {"keras-emitted", "onnx"}
    # 3 input cases (primary, second draw, batch 1) x 2 candidates x 2 outputs
    assert len(rep["comparisons"]) == 12
    assert [c["name"] for c in rep["cases"]] == ["primary", "second-draw", "shape-1"]
    assert [c["batch"] for c in rep["cases"]] == [2, 2, 1]
    assert rep["status"] == "passed" and all(s["sensitive"] for s in rep["sensitivity"])
    assert {"tensorflow", "keras", "onnxruntime", "onnx"} <= set(rep["versions"])
    tf_run = next(x for x in rep["runs"] if x["name"] == "keras")
    assert tf_run["detail"] == "/CPU:0"  # read back from the result tensor
    onnx_run = next(x for x in rep["runs"] if x["runtime"] == "onnxruntime")
    assert onnx_run["detail"] == "CPUExecutionProvider"
    import onnxruntime as ort
    import tensorflow as tf

    has_gpu = bool(tf.config.list_physical_devices("GPU")) and \
        "CUDAExecutionProvider" in ort.get_available_providers()
    r = _run("verify", str(models["two_io"]), "--device", "gpu")
    if has_gpu:
        assert r.exit_code == 0
    else:
        assert r.exit_code == 2 and "gpu" in r.stderr.lower() and "Traceback" not in r.stderr


def test_failed_verification_exits_1_and_writes_nothing(tmp_path, models, monkeypatch):
    import onnx
    from onnx import numpy_helper

    import graphir.backends.onnx as onnx_backend

    real = onnx_backend.to_onnx
    emitted = []

    def corrupted(graph, **kw):
        model = real(graph, **kw)
        init = model.graph.initializer[0]
        arr = numpy_helper.to_array(init).copy()
        init.CopyFrom(numpy_helper.from_array(arr + 1.0, init.name))
        emitted.append(model)
        return model

    monkeypatch.setattr(onnx_backend, "to_onnx", corrupted)
    out = tmp_path / "bad.onnx"
    out_prev = tmp_path / "prev.onnx"
    out_prev.write_bytes(b"previous")
    r = _run("convert", str(models["cnn"]), str(out), "--verify")
    assert r.exit_code == 1 and "nothing was written" in r.stderr
    assert not out.exists()
    r = _run("convert", str(models["cnn"]), str(out_prev), "--verify", "--json")
    assert r.exit_code == 1 and out_prev.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["prev.onnx"]  # no temporary files left behind
    # the refusals came from comparing numbers: the corrupted emitter ran, and what it
    # produced is a well-formed ONNX model
    assert emitted
    onnx.checker.check_model(emitted[-1], full_check=True)


def test_demo_runs_the_main_job_and_keeps_its_files(tmp_path):
    r = _run("demo", "--model", "MobileNetV2", "--out", str(tmp_path), "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] is True
    (model,) = report["models"]
    assert model["model"] == "MobileNetV2" and model["stats"]["parameters"] > 3_000_000
    assert {c["candidate"] for c in model["comparisons"]} == {"keras-emitted", "onnx"}
    assert model["stats"]["onnx_transposes"] <= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "MobileNetV2.emitted.keras", "MobileNetV2.gir", "MobileNetV2.keras", "MobileNetV2.onnx"]
