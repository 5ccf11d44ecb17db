"""The five classic model-combination failures, end to end through the CLI.

Each source model is built and saved by its own Python process, so default names
collide exactly as they do for users (``input_layer``, ``dense``, ``functional``).
Each test first shows plain Keras failing (or, for the shape mismatch, silently
accepting a broken model), then runs graphir, then checks the result *outside*
graphir: the written ``.keras`` reloaded with ``safe_mode=True`` and the written
``.onnx`` in onnxruntime must match outputs recomputed from the source models.
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

pytestmark = pytest.mark.tf

BUILD = textwrap.dedent("""
    import sys, keras
    path, seed, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    keras.utils.set_random_seed(seed)
    L = keras.layers
    if kind == "dense":                      # input_layer -> dense, model name 'functional'
        x = keras.Input((8,)); m = keras.Model(x, L.Dense(4)(x))
    elif kind == "extractor":                # both named MyModel
        x = keras.Input((8,)); m = keras.Model(x, L.Dense(6, activation="relu")(x), name="MyModel")
    elif kind == "classifier":
        x = keras.Input((6,)); m = keras.Model(x, L.Dense(3, activation="softmax")(x), name="MyModel")
    elif kind == "cnn":                      # same architecture, weights from the seed
        x = keras.Input((10, 10, 3))
        y = L.Conv2D(4, 3, activation="relu")(x)
        y = L.BatchNormalization()(y)
        y = L.GlobalAveragePooling2D()(y)
        m = keras.Model(x, L.Dense(5)(L.Dense(7, activation="tanh")(y)))
    elif kind == "rgb_out":                  # outputs (28, 28, 3)
        x = keras.Input((28, 28, 3)); m = keras.Model(x, L.Conv2D(3, 3, padding="same")(x), name="model_1")
    elif kind == "gray_in":                  # expects (28, 28, 1)
        x = keras.Input((28, 28, 1)); y = L.Conv2D(2, 3, name="conv_gray")(x)
        m = keras.Model(x, L.Dense(2)(L.Flatten()(y)), name="model_2")
    elif kind == "broken_chain":             # Keras builds and saves this; it fails only when called
        inner_in = keras.Input((28, 28, 1))
        inner = keras.Model(inner_in, L.Conv2D(2, 3, name="conv_gray")(inner_in), name="model_2")
        x = keras.Input((28, 28, 3))
        m = keras.Model(x, inner(L.Conv2D(3, 3, padding="same", name="rgb")(x)), name="combined")
    m.save(path)
""")


def _build(folder: Path, name: str, seed: int, kind: str) -> Path:
    path = folder / f"{name}.keras"
    subprocess.run([sys.executable, "-c", BUILD, str(path), str(seed), kind], check=True,
                   capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return path


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scenarios")
    specs = {"a": (1, "dense"), "b": (2, "dense"), "extractor": (3, "extractor"),
             "classifier": (4, "classifier"), "cnn_1": (5, "cnn"), "cnn_2": (6, "cnn"),
             "rgb_out": (7, "rgb_out"), "gray_in": (8, "gray_in"), "broken": (9, "broken_chain")}
    return {name: _build(folder, name, seed, kind) for name, (seed, kind) in specs.items()}


def _load(path: Path):
    import keras

    return keras.saving.load_model(path, safe_mode=True, compile=False)


def _call(model, feeds):
    import keras

    out = model(feeds if len(feeds) > 1 else feeds[0], training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def _onnx(path: Path, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: f for i, f in zip(sess.get_inputs(), feeds)})


def _graphir(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _assert_outputs(path_keras: Path, path_onnx: Path, feeds, expected):
    for got in (_call(_load(path_keras), feeds), _onnx(path_onnx, feeds)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_1_concatenating_two_pretrained_models(zoo, tmp_path):
    import keras

    a, b = _load(zoo["a"]), _load(zoo["b"])
    assert a.layers[0].name == b.layers[0].name == "input_layer"
    with pytest.raises(ValueError, match='"input_layer" is used 2 times'):
        keras.Model([a.input, b.input], keras.layers.concatenate([a.output, b.output]))

    for suffix in (".keras", ".onnx"):
        r = _graphir("merge", str(zoo["a"]), str(zoo["b"]), "-o", str(tmp_path / f"m{suffix}"),
                     "--mode", "concat", "--json")
        assert r.exit_code == 0, r.stderr
        report = json.loads(r.stdout)
        assert len(report["inputs"]) == 2 and len(set(report["inputs"])) == 2
    x1, x2 = _rand(3, 8, seed=1), _rand(3, 8, seed=2)
    expected = [np.concatenate([_call(a, [x1])[0], _call(b, [x2])[0]], axis=-1)]
    _assert_outputs(tmp_path / "m.keras", tmp_path / "m.onnx", [x1, x2], expected)


def test_2_two_models_with_the_same_model_name(zoo, tmp_path):
    import keras

    ext, clf = _load(zoo["extractor"]), _load(zoo["classifier"])
    assert ext.name == clf.name == "MyModel"
    with pytest.raises(ValueError, match="unique names"):
        keras.Sequential([ext, clf])
    with pytest.raises(ValueError, match="is used 2 times"):
        keras.Model([ext.input, clf.input], [ext.output, clf.output])

    x = _rand(4, 8, seed=3)
    for suffix in (".keras", ".onnx"):
        r = _graphir("merge", str(zoo["extractor"]), str(zoo["classifier"]), "--mode", "chain",
                     "-o", str(tmp_path / f"chain{suffix}"))
        assert r.exit_code == 0, r.stderr
    _assert_outputs(tmp_path / "chain.keras", tmp_path / "chain.onnx", [x],
                    [_call(clf, _call(ext, [x]))[0]])
    # side by side: both models kept, saved and reloaded without collisions
    for suffix in (".keras", ".onnx"):
        r = _graphir("merge", str(zoo["extractor"]), str(zoo["classifier"]), "--mode", "outputs",
                     "-o", str(tmp_path / f"side{suffix}"))
        assert r.exit_code == 0, r.stderr
    y = _rand(4, 6, seed=4)
    _assert_outputs(tmp_path / "side.keras", tmp_path / "side.onnx", [x, y],
                    [_call(ext, [x])[0], _call(clf, [y])[0]])
    reloaded = _load(tmp_path / "side.keras")
    names = [layer.name for layer in reloaded.layers]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("mode", ["average", "sum", "concat", "outputs"])
def test_3_ensembling_identical_architectures(zoo, tmp_path, mode):
    import graphir

    m1, m2 = _load(zoo["cnn_1"]), _load(zoo["cnn_2"])
    assert [w.shape for w in m1.weights] == [w.shape for w in m2.weights]
    assert not np.allclose(m1.weights[0].numpy(), m2.weights[0].numpy())
    out = tmp_path / f"ens_{mode}.keras"
    r = _graphir("merge", str(zoo["cnn_1"]), str(zoo["cnn_2"]), "--mode", mode, "--shared-input",
                 "-o", str(out))
    assert r.exit_code == 0, r.stderr
    r = _graphir("merge", str(zoo["cnn_1"]), str(zoo["cnn_2"]), "--mode", mode, "--shared-input",
                 "-o", str(tmp_path / f"ens_{mode}.gir"))
    assert r.exit_code == 0, r.stderr
    graph = graphir.load(tmp_path / f"ens_{mode}.gir")
    assert len(graph.inputs) == 1
    assert len(graph.weights) == 2 * len(graphir.from_keras(m1).weights)  # distinct, not shared
    x = _rand(3, 10, 10, 3, seed=5)
    y1, y2 = _call(m1, [x])[0], _call(m2, [x])[0]
    expected = {"average": [(y1 + y2) / 2], "sum": [y1 + y2],
                "concat": [np.concatenate([y1, y2], -1)], "outputs": [y1, y2]}[mode]
    r = _graphir("convert", str(tmp_path / f"ens_{mode}.gir"), str(tmp_path / f"ens_{mode}.onnx"))
    assert r.exit_code == 0, r.stderr
    _assert_outputs(out, tmp_path / f"ens_{mode}.onnx", [x], expected)


def test_4_rename_to_extend_and_extract_up_to_a_layer(zoo, tmp_path):
    import keras

    base = _load(zoo["cnn_1"])
    # plain Keras: a new head with a default name collides with the loaded model's layers
    with pytest.raises(ValueError, match='"dense" is used 2 times'):
        keras.Model(base.input, keras.layers.Dense(2, name="dense")(base.output))

    renamed = tmp_path / "teacher.keras"
    r = _graphir("rename", str(zoo["cnn_1"]), "-o", str(renamed), "--prefix", "teacher")
    assert r.exit_code == 0, r.stderr
    teacher = _load(renamed)
    assert all(layer.name.startswith("teacher") for layer in teacher.layers)
    # now the same head can be added, and the result saved and reloaded
    head = keras.layers.Dense(2, name="dense")(teacher.output)
    extended = keras.Model(teacher.input, head)
    extended.save(tmp_path / "extended.keras")
    assert _load(tmp_path / "extended.keras").get_layer("dense") is not None
    x = _rand(2, 10, 10, 3, seed=6)
    np.testing.assert_allclose(_call(teacher, [x])[0], _call(base, [x])[0], rtol=1e-5, atol=1e-6)

    r = _graphir("rename", str(zoo["cnn_1"]), "-o", str(tmp_path / "mapped.keras"),
                 "--map", "dense_1=logits", "conv2d=stem")
    assert r.exit_code == 0, r.stderr
    mapped = _load(tmp_path / "mapped.keras")
    assert {"logits", "stem"} <= {layer.name for layer in mapped.layers}

    # selective loading: extract up to the pooling layer, with exactly its weights
    pool = next(layer.name for layer in base.layers if "pooling" in layer.name)
    for suffix in (".keras", ".onnx", ".gir"):
        r = _graphir("extract", str(zoo["cnn_1"]), "-o", str(tmp_path / f"feat{suffix}"),
                     "--outputs", pool)
        assert r.exit_code == 0, r.stderr
    expected = [np.asarray(keras.Model(base.input, base.get_layer(pool).output)(x))]
    _assert_outputs(tmp_path / "feat.keras", tmp_path / "feat.onnx", [x], expected)
    import graphir

    feat = graphir.load(tmp_path / "feat.gir")
    assert not any("dense" in w for w in feat.weights)
    assert any("conv2d" in w for w in feat.weights)


def test_5_shape_mismatch_is_caught_before_anything_runs(zoo, tmp_path):
    import keras

    # Keras builds and saves the broken chain, and fails only when it is called
    broken = _load(zoo["broken"])
    assert isinstance(broken, keras.Model)
    with pytest.raises(Exception):
        broken(_rand(1, 28, 28, 3), training=False)

    out = tmp_path / "chained.keras"
    proc = subprocess.run([str(Path(sys.executable).with_name("graphir")), "merge",
                           str(zoo["rgb_out"]), str(zoo["gray_in"]), "--mode", "chain",
                           "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "model_2" in line and "conv_gray" in line
    assert "(batch, 28, 28, 1)" in line and "(batch, 28, 28, 3)" in line and "axis 3" in line
    assert not out.exists()

    proc = subprocess.run([str(Path(sys.executable).with_name("graphir")), "check",
                           str(zoo["broken"]), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["passed"] is False
    (diag,) = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert "model_2" in diag["message"] and "conv_gray" in diag["message"]
    assert diag["expected"].startswith("(batch, 28, 28, 1)") and diag["actual"].startswith("(batch, 28, 28, 3)")
    assert diag["axis"] == 3 and diag["hint"]
    r = _graphir("convert", str(zoo["broken"]), str(tmp_path / "broken.onnx"))
    assert r.exit_code == 1 and "(batch, 28, 28, 1)" in r.stderr
    assert not (tmp_path / "broken.onnx").exists()
    r = _graphir("check", str(zoo["rgb_out"]), str(zoo["gray_in"]))
    assert r.exit_code == 0, r.stdout
