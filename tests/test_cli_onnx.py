"""The CLI with ``.onnx`` sources (issue 10): every verb that reads a model accepts an ONNX
file.  The ONNX models are hand-built with ``onnx.helper`` (NCHW, seeded weights, named
nodes); each written result is run in onnxruntime (or reloaded Keras / the reference
interpreter) and compared with onnxruntime on the original, the names checked; a bad
``.onnx`` is an exit-2 one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from graphir.app.cli import cli

TOL = 1e-5


def _cnn(seed: int = 0, twin: bool = False) -> onnx.ModelProto:
    """NCHW Conv -> Relu -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm; ``twin`` adds a
    second Conv whose kernel is a copy of the first (a dedupe candidate) and its sum with
    the first as a second output."""
    rng = np.random.default_rng(seed)

    def w(name, *shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    inits = [w("conv1.w", 4, 3, 3, 3), w("conv1.b", 4), w("fc.w", 4, 5), w("fc.b", 5)]
    nodes = [helper.make_node("Conv", ["x", "conv1.w", "conv1.b"], ["c1"], name="conv1",
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p1"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc")]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])]
    if twin:
        inits.append(numpy_helper.from_array(numpy_helper.to_array(inits[0]).copy(), "conv2.w"))
        nodes += [helper.make_node("Conv", ["x", "conv2.w", "conv1.b"], ["c2"], name="conv2",
                                   pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["c1", "c2"], ["s"], name="sum")]
        outputs.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 4, 8, 8]))
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["N", 3, 8, 8])], outputs, inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("onnx_cli")
    out = {"cnn": d / "cnn.onnx", "twin": d / "twin.onnx", "other": d / "other.onnx",
           "bad": d / "bad.onnx", "unsupported": d / "det.onnx"}
    onnx.save(_cnn(0), out["cnn"])
    onnx.save(_cnn(0, twin=True), out["twin"])
    onnx.save(_cnn(1), out["other"])
    out["bad"].write_bytes(b"not a protobuf at all \xff\xfe")
    det = helper.make_graph([helper.make_node("Det", ["x"], ["y"], name="the_det")], "det",
                            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(det, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), out["unsupported"])
    return out


def _x(batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, 8, 8)).astype(np.float32)


def _ort(model, feeds) -> dict[str, np.ndarray]:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def _invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphir: error: "), result.stderr
    return lines[0]


def test_inspect_prints_the_ir_with_onnx_names(files):
    result = _invoke("inspect", files["cnn"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("graph cnn(%x: f32[N,3,8,8]) -> (%logits) {")
    # ONNX node names name the IR nodes that compute them; transposes cancelled inside
    for node in ("@conv1", "@relu1", "@pool1", "@gap", "@flatten", "@fc"):
        assert node in text, node
    assert text.count("transpose(") == 1  # only at the NCHW input


def test_convert_to_onnx_matches_onnxruntime(files, tmp_path):
    dst = tmp_path / "out.onnx"
    result = _invoke("convert", files["cnn"], dst)
    assert result.exit_code == 0, result.output
    model = onnx.load(dst)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["logits"]
    x = _x()
    np.testing.assert_allclose(_ort(model, {"x": x})["logits"],
                               _ort(files["cnn"], {"x": x})["logits"], rtol=TOL, atol=TOL)


def test_convert_to_gir_matches_onnxruntime(files, tmp_path):
    from graphir.interpreter import evaluate
    from graphir.serialization import load as load_graph

    dst = tmp_path / "out.gir"
    result = _invoke("convert", files["cnn"], dst)
    assert result.exit_code == 0, result.output
    graph = load_graph(dst)
    assert [v.name for v in graph.inputs] == ["x"] and list(graph.outputs) == ["logits"]
    x = _x()
    np.testing.assert_allclose(evaluate(graph, {"x": x})["logits"],
                               _ort(files["cnn"], {"x": x})["logits"], rtol=TOL, atol=TOL)


@pytest.mark.tf
def test_convert_to_keras_matches_onnxruntime(files, tmp_path):
    import keras

    dst = tmp_path / "out.keras"
    result = _invoke("convert", files["cnn"], dst)
    assert result.exit_code == 0, result.output
    model = keras.saving.load_model(dst, safe_mode=True)
    assert [t.name for t in model.inputs] == ["x"]
    assert {layer.name for layer in model.layers} >= {"conv1", "pool1", "fc"}
    x = _x()
    got = np.asarray(model(x, training=False))
    np.testing.assert_allclose(got, _ort(files["cnn"], {"x": x})["logits"], rtol=TOL, atol=TOL)


@pytest.mark.tf
def test_merge_onnx_with_keras_matches_both(files, tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((6,), name="features")
    kmodel = keras.Model(inp, keras.layers.Dense(2, activation="tanh", name="head")(inp),
                         name="small")
    kpath = tmp_path / "small.keras"
    kmodel.save(kpath)
    dst = tmp_path / "both.onnx"
    result = _invoke("merge", files["cnn"], kpath, "-o", dst, "--mode", "outputs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["written"] is True
    merged = onnx.load(dst)
    # each model's names are scoped under its model name (the inputs would not collide
    # here, but merge scopes every model the same way)
    assert [i.name for i in merged.graph.input] == ["cnn/x", "small/features"]
    assert [o.name for o in merged.graph.output] == ["cnn/logits", "small/head"]
    x = _x()
    f = np.random.default_rng(5).standard_normal((2, 6)).astype(np.float32)
    got = _ort(merged, {"cnn/x": x, "small/features": f})
    np.testing.assert_allclose(got["cnn/logits"], _ort(files["cnn"], {"x": x})["logits"],
                               rtol=TOL, atol=TOL)
    np.testing.assert_allclose(got["small/head"], np.asarray(kmodel(f, training=False)),
                               rtol=TOL, atol=TOL)


def test_merge_two_onnx_models_scopes_colliding_names(files, tmp_path):
    dst = tmp_path / "pair.onnx"
    result = _invoke("merge", files["cnn"], files["other"], "-o", dst, "--mode", "average",
                     "--shared-input")
    assert result.exit_code == 0, result.output
    merged = onnx.load(dst)
    assert [i.name for i in merged.graph.input] == ["x"]
    names = [n.name for n in merged.graph.node]
    assert len(names) == len(set(names))
    x = _x()
    want = (_ort(files["cnn"], {"x": x})["logits"] + _ort(files["other"], {"x": x})["logits"]) / 2
    (got,) = _ort(merged, {"x": x}).values()
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_rename_prefixes_every_name(files, tmp_path):
    dst = tmp_path / "renamed.onnx"
    result = _invoke("rename", files["cnn"], "--prefix", "teacher", "-o", dst)
    assert result.exit_code == 0, result.output
    model = onnx.load(dst)
    assert [i.name for i in model.graph.input] == ["teacher/x"]
    assert [o.name for o in model.graph.output] == ["teacher/logits"]
    assert all(n.name.startswith("teacher/") for n in model.graph.node)
    assert "teacher/conv1" in {n.name for n in model.graph.node}
    x = _x()
    np.testing.assert_allclose(_ort(model, {"teacher/x": x})["teacher/logits"],
                               _ort(files["cnn"], {"x": x})["logits"], rtol=TOL, atol=TOL)


def test_rename_with_a_map(files, tmp_path):
    dst = tmp_path / "mapped.onnx"
    result = _invoke("rename", files["cnn"], "--map", "fc=classifier", "-o", dst)
    assert result.exit_code == 0, result.output
    names = {n.name for n in onnx.load(dst).graph.node}
    assert "classifier" in names and "fc" not in names


def test_extract_matches_onnx_utils_extract_model(files, tmp_path):
    dst = tmp_path / "features.onnx"
    result = _invoke("extract", files["cnn"], "--outputs", "f", "-o", dst)
    assert result.exit_code == 0, result.output
    model = onnx.load(dst)
    assert [o.name for o in model.graph.output] == ["f"]
    anchor = tmp_path / "anchor.onnx"
    onnx.utils.extract_model(str(files["cnn"]), str(anchor), ["x"], ["f"])
    x = _x()
    np.testing.assert_allclose(_ort(model, {"x": x})["f"], _ort(anchor, {"x": x})["f"],
                               rtol=TOL, atol=TOL)
    assert not any(n.op_type == "Gemm" for n in model.graph.node)


def test_dedupe_stores_the_copied_kernel_once(files, tmp_path):
    dst = tmp_path / "deduped.onnx"
    result = _invoke("dedupe", files["twin"], "-o", dst, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["dedupe"]
    assert report["weights"] == [["conv1.w/hwio", "conv2.w/hwio"]]
    assert report["nodes"] == [["conv1", "conv2"]]
    model = onnx.load(dst)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 1  # the two identical convolutions are computed once
    x = _x()
    got, want = _ort(model, {"x": x}), _ort(files["twin"], {"x": x})
    for name in ("logits", "s"):
        np.testing.assert_allclose(got[name], want[name], rtol=TOL, atol=TOL)


def test_check_accepts_onnx(files):
    result = _invoke("check", files["cnn"], files["twin"], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True


@pytest.mark.parametrize("verb", ["inspect", "check", "convert", "rename", "extract",
                                  "dedupe", "merge"])
def test_a_bad_onnx_file_is_one_line_exit_2(files, tmp_path, verb):
    args = {"inspect": [files["bad"]], "check": [files["bad"]],
            "convert": [files["bad"], tmp_path / "x.onnx"],
            "rename": [files["bad"], "--prefix", "p", "-o", tmp_path / "x.onnx"],
            "extract": [files["bad"], "--outputs", "f", "-o", tmp_path / "x.onnx"],
            "dedupe": [files["bad"], "-o", tmp_path / "x.onnx"],
            "merge": [files["cnn"], files["bad"], "-o", tmp_path / "x.onnx", "--mode",
                      "outputs"]}[verb]
    line = _one_line_error(_invoke(verb, *args))
    assert "bad.onnx" in line and "not an ONNX model" in line
    assert not (tmp_path / "x.onnx").exists()


def test_an_unsupported_op_names_node_op_and_opset(files, tmp_path):
    line = _one_line_error(_invoke("convert", files["unsupported"], tmp_path / "y.onnx"))
    assert "the_det" in line and "Det" in line and "opset 17" in line


def test_extract_of_an_unknown_name_is_one_line_exit_2(files, tmp_path):
    line = _one_line_error(_invoke("extract", files["cnn"], "--outputs", "nope", "-o",
                                   tmp_path / "z.onnx"))
    assert "nope" in line
