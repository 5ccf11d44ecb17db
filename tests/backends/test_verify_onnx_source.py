"""Verification of an ONNX source through the CLI (issue 10): onnxruntime on the original
``.onnx`` against TF on the emitted Keras, onnxruntime on the re-emitted ONNX and the
reference interpreter (``graphir verify m.onnx``, ``graphir convert m.onnx out.keras
--verify``, ``... out.onnx --verify``).  The ONNX files are hand-built with
``onnx.helper`` (an NCHW CNN with a softmax head, a sequence model with a symbolic
length), written by graphir's own emitter, and converted by tf2onnx.  Broken twins: a
weight changed by 1% in the imported graph (an importer fault) or in the emitted Keras
model (an emitter fault) must fail the verification (exit 1, nothing written); an output
that ignores its input is the insensitive-reference precondition (exit 4)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from graphir.app.cli import cli

pytestmark = pytest.mark.tf

RUNS = ["onnx-reference", "keras-emitted", "onnx", "interpreter"]


def _model(graph) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model


def _cnn() -> onnx.ModelProto:
    """NCHW Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm ->
    Softmax, seeded weights, a symbolic batch."""
    rng = np.random.default_rng(0)

    def w(name, *shape, scale=0.3, loc=0.0):
        return numpy_helper.from_array(rng.normal(loc, scale, shape).astype(np.float32), name)

    inits = [w("conv.w", 6, 3, 3, 3), w("conv.b", 6), w("bn.g", 6, loc=1.0, scale=0.1),
             w("bn.b", 6, scale=0.1), w("bn.m", 6, scale=0.1),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 6).astype(np.float32), "bn.v"),
             w("fc.w", 6, 7, scale=1.0), w("fc.b", 7)]
    nodes = [helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv",
                              pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "bn.g", "bn.b", "bn.m", "bn.v"],
                              ["n"], name="bn", epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["z"], name="fc"),
             helper.make_node("Softmax", ["z"], ["probs"], name="softmax", axis=-1)]
    return _model(helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 9, 9])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 7])], inits))


def _sequence() -> onnx.ModelProto:
    """``[N, T, 4] -> MatMul -> Tanh -> ReduceMean over T``: the length T is symbolic."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.normal(0, 0.5, (4, 6)).astype(np.float32), "proj.w")
    nodes = [helper.make_node("MatMul", ["seq", "proj.w"], ["h"], name="proj"),
             helper.make_node("Tanh", ["h"], ["t"], name="tanh"),
             helper.make_node("ReduceMean", ["t"], ["pooled"], name="pool", axes=[1],
                              keepdims=0)]
    return _model(helper.make_graph(
        nodes, "seq", [helper.make_tensor_value_info("seq", TensorProto.FLOAT, ["N", "T", 4])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["N", 6])], [w]))


def _constant_output() -> onnx.ModelProto:
    """``x * 0 + b``: the output ignores the input (an insensitive reference)."""
    zero = numpy_helper.from_array(np.zeros((1, 5), np.float32), "zero")
    bias = numpy_helper.from_array(np.linspace(-1, 1, 5).astype(np.float32)[None], "bias")
    nodes = [helper.make_node("Mul", ["x", "zero"], ["m"], name="mul"),
             helper.make_node("Add", ["m", "bias"], ["y"], name="add")]
    return _model(helper.make_graph(
        nodes, "const", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], [zero, bias]))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    import keras

    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx

    d = tmp_path_factory.mktemp("onnx_source")
    paths = {k: d / f"{k}.onnx" for k in ("cnn", "seq", "const", "graphir")}
    onnx.save(_cnn(), paths["cnn"])
    onnx.save(_sequence(), paths["seq"])
    onnx.save(_constant_output(), paths["const"])
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 6, 2), name="img")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = keras.layers.Flatten(name="flat")(x)
    out = keras.layers.Dense(3, name="head")(x)
    paths["keras_model"] = d / "small.keras"
    model = keras.Model(inp, out, name="small")
    model.save(paths["keras_model"])
    onnx.save(to_onnx(from_keras(model)), paths["graphir"])
    return paths


def _invoke(*args: str):
    r = CliRunner().invoke(cli, [*args, "--device", "cpu", "--json"], catch_exceptions=False)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def _failed_candidates(data) -> set[str]:
    return {c["candidate"] for c in data["comparisons"] if not c["passed"]}


def test_verify_onnx_source_runs_every_runtime(files, tmp_path):
    r, data = _invoke("verify", str(files["cnn"]), "--save", str(tmp_path / "save"))
    assert r.exit_code == 0, r.stderr
    assert data["status"] == "passed"
    assert [x["name"] for x in data["runs"]] == RUNS
    assert [x["runtime"] for x in data["runs"]] == [
        "onnxruntime", "tensorflow", "onnxruntime", "graphir-interpreter"]
    pairs = {(c["reference"], c["candidate"], c["output"], c["case"]) for c in data["comparisons"]}
    for case in ("primary", "second-draw", "shape-1"):
        for cand in RUNS[1:]:
            assert ("onnx-reference", cand, "probs", case) in pairs
    # the softmax head is also compared on its logits (original vs re-emitted ONNX)
    assert ("onnx-reference", "onnx", "probs:logits", "primary") in pairs
    assert [c["batch"] for c in data["cases"]] == [2, 2, 1]
    assert data["sensitivity"][0]["sensitive"] is True
    saved = sorted(p.name for p in (tmp_path / "save").iterdir())
    assert "report.json" in saved and "inputs-shape-1.npz" in saved
    assert {f"outputs-{run}-primary.npz" for run in RUNS} <= set(saved)
    # the saved reference outputs are onnxruntime's on the original file
    import onnxruntime as ort

    x = np.load(tmp_path / "save" / "inputs-primary.npz")["x"]
    want = ort.InferenceSession(str(files["cnn"]), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    got = np.load(tmp_path / "save" / "outputs-onnx-reference-primary.npz")["probs"]
    np.testing.assert_array_equal(got, want)


def test_a_symbolic_length_runs_at_two_sizes(files):
    r, data = _invoke("verify", str(files["seq"]))
    assert r.exit_code == 0, r.stderr
    lengths = [c["inputs"][0]["shape"][1] for c in data["cases"]]
    assert lengths[0] == lengths[1] and lengths[2] > lengths[0] and lengths[2] % 2 == 1
    assert [c["inputs"][0]["shape"][0] for c in data["cases"]] == [2, 2, 1]


def test_graphirs_own_onnx_verifies(files):
    r, data = _invoke("verify", str(files["graphir"]))
    assert r.exit_code == 0, r.stderr
    assert {c["candidate"] for c in data["comparisons"]} == set(RUNS[1:])


@pytest.mark.parametrize("suffix", [".keras", ".onnx"])
def test_convert_onnx_source_with_verify(files, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    r, data = _invoke("convert", str(files["cnn"]), str(out), "--verify")
    assert r.exit_code == 0, r.stderr
    assert data["status"] == "passed" and data["written"] and out.is_file()
    assert [x["name"] for x in data["runs"]] == RUNS


def test_insensitive_onnx_reference_is_exit_4(files, tmp_path):
    r, data = _invoke("verify", str(files["const"]))
    assert r.exit_code == 4, r.stderr
    assert data["status"] == "insensitive" and data["insensitive_outputs"] == ["y"]
    out = tmp_path / "const.keras"
    r, data = _invoke("convert", str(files["const"]), str(out), "--verify")
    assert r.exit_code == 4 and not out.exists()


def _scale_first_kernel(graph, factor: float = 1.01):
    """``graph`` with its first float weight of rank >= 2 multiplied by ``factor``."""
    name = next(k for k, a in graph.weights.items() if a.ndim >= 2 and a.dtype.kind == "f")
    weights = dict(graph.weights)
    weights[name] = (weights[name] * np.float32(factor)).astype(weights[name].dtype)
    return attrs.evolve(graph, weights=weights)


def test_an_importer_fault_fails_every_candidate(files, tmp_path, monkeypatch):
    """Broken twin: one conv weight x1.01 in the imported graph (what a wrong importer
    would produce) shows in all three candidates; convert writes nothing."""
    from graphir.backends.onnx import importer

    real = importer.from_onnx
    monkeypatch.setattr(importer, "from_onnx", lambda m: _scale_first_kernel(real(m)))
    r, data = _invoke("verify", str(files["cnn"]))
    assert r.exit_code == 1 and data["status"] == "failed"
    assert _failed_candidates(data) == set(RUNS[1:])
    out = tmp_path / "bad.keras"
    r, data = _invoke("convert", str(files["cnn"]), str(out), "--verify")
    assert r.exit_code == 1 and not out.exists() and data["written"] is False


def test_an_emitted_keras_fault_fails_that_candidate(files, monkeypatch):
    """Broken twin: the emitted Keras model's conv kernel x1.01 (an emitter fault) fails
    only the Keras candidate."""
    import graphir.backends.keras as keras_backend

    real = keras_backend.to_keras

    def faulty(graph, *args, **kwargs):
        model = real(graph, *args, **kwargs)
        layer = next(la for la in model.layers if la.get_weights()
                     and la.get_weights()[0].ndim >= 2)
        weights = layer.get_weights()
        layer.set_weights([weights[0] * np.float32(1.01), *weights[1:]])
        return model

    monkeypatch.setattr(keras_backend, "to_keras", faulty)
    r, data = _invoke("verify", str(files["cnn"]))
    assert r.exit_code == 1 and _failed_candidates(data) == {"keras-emitted"}
    r, data = _invoke("verify", str(files["graphir"]))
    assert r.exit_code == 1 and _failed_candidates(data) == {"keras-emitted"}


@pytest.mark.slow
def test_tf2onnx_conversion_verifies(files, tmp_path):
    tf2onnx = pytest.importorskip("tf2onnx")
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(files["keras_model"])
    spec = [tf.TensorSpec((None, 6, 6, 2), tf.float32, name="img")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    path = tmp_path / "tf2onnx.onnx"
    path.write_bytes(proto.SerializeToString())
    r, data = _invoke("verify", str(path))
    assert r.exit_code == 0, r.stderr
    assert [x["name"] for x in data["runs"]] == RUNS
