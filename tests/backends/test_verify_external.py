"""``graphir verify SRC --onnx OTHER``: a model from elsewhere against its reference.

ONNX files "from elsewhere" are made here from graphir's own emission by renaming its
inputs/outputs the way tf2onnx and Keras' export name them (``serving_default_x:0``,
``StatefulPartitionedCall/model/probs/Softmax:0``) and by making the image input
channels-first (tf2onnx's ``--inputs-as-nchw``); one test converts with tf2onnx itself.
Also: two ONNX files against each other, and ``.gir`` (the reference interpreter) on
either side.  Models are tiny, built and saved once per module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from graphir.backends.matching import match_names
from graphir.errors import BadInputError

# --- name matching (no runtime) ------------------------------------------------------


def test_match_names_rules_in_order():
    matches, warnings = match_names(
        "output", ["probs", "img", "logits", "extra"],
        ["img:0", "StatefulPartitionedCall/m/probs/Softmax:0", "logits", "zzz"], where="t")
    assert [(m.reference, m.other, m.how) for m in matches] == [
        ("probs", "StatefulPartitionedCall/m/probs/Softmax:0", "scope"),
        ("img", "img:0", "tf-suffix"), ("logits", "logits", "exact"),
        ("extra", "zzz", "position")]
    assert warnings == ["output 'extra' matched by position to 'zzz' (names differ)"]
    matches, _ = match_names("input", ["x"], ["serving_default_x:0"], where="t")
    assert matches[0].how == "tf-suffix"


def test_match_names_refuses_what_it_cannot_pair():
    with pytest.raises(BadInputError, match="cannot match the inputs"):
        match_names("input", ["a", "b"], ["c"], where="file o.onnx")


# --- runs ------------------------------------------------------------------------

keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
L = keras.layers

from onnx import helper, numpy_helper

from graphir.app.cli import cli
from graphir.backends.keras import from_keras
from graphir.backends.keras.randomize import calibrate_statistics
from graphir.backends.onnx import to_onnx
from graphir.serialization import save


def _cnn():
    keras.utils.set_random_seed(7)
    x = keras.Input((8, 8, 3), name="img")
    y = L.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    y = L.BatchNormalization(name="bn")(y)
    feat = L.Conv2D(2, 1, name="feat")(y)  # a channels-last rank-4 output
    probs = L.Dense(5, activation="softmax", name="probs")(L.Flatten(name="flat")(y))
    model = keras.Model(x, [probs, feat], name="two_heads")
    calibrate_statistics(model, np.random.default_rng(3).standard_normal((8, 8, 8, 3)))
    return model


def _as_tf2onnx_would_name(m, *, nchw: bool):
    """Rename inputs/outputs tf2onnx-style; with ``nchw`` make the input channels-first
    (a Transpose to NHWC inserted after it) and the 'feat' output channels-first."""
    m = onnx.ModelProto.FromString(m.SerializeToString())
    renames = {"img": "serving_default_img:0",
               "probs": "StatefulPartitionedCall/two_heads/probs/Softmax:0",
               "feat": "StatefulPartitionedCall/two_heads/feat/BiasAdd:0"}
    for n in m.graph.node:
        n.input[:] = [renames.get(i, i) if i != "img" else i for i in n.input]
        n.output[:] = [renames.get(o, o) for o in n.output]
    for o in m.graph.output:
        o.name = renames[o.name]
    if nchw:
        inp = m.graph.input[0]
        dims = inp.type.tensor_type.shape.dim
        h, w, c = (dims[1].dim_value, dims[2].dim_value, dims[3].dim_value)
        dims[1].dim_value, dims[2].dim_value, dims[3].dim_value = c, h, w
        inp.name = renames["img"]
        m.graph.node.insert(0, helper.make_node("Transpose", [inp.name], ["img"],
                                                perm=[0, 2, 3, 1], name="to_nhwc"))
        out = next(o for o in m.graph.output if o.name == renames["feat"])
        for n in m.graph.node:
            n.output[:] = ["feat/nhwc" if o == out.name else o for o in n.output]
        m.graph.node.append(helper.make_node("Transpose", ["feat/nhwc"], [out.name],
                                             perm=[0, 3, 1, 2], name="to_nchw"))
        out.type.tensor_type.shape.Clear()
    else:
        m.graph.input[0].name = renames["img"]
        for n in m.graph.node:
            n.input[:] = [renames["img"] if i == "img" else i for i in n.input]
    onnx.checker.check_model(m)
    return m


def _scaled_output(m, output: str, factor: float):
    m = onnx.ModelProto.FromString(m.SerializeToString())
    for n in m.graph.node:
        n.output[:] = [o + "/raw" if o == output else o for o in n.output]
    m.graph.initializer.append(numpy_helper.from_array(np.array(factor, np.float32), "k"))
    m.graph.node.append(helper.make_node("Mul", [output + "/raw", "k"], [output]))
    return m


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("external")
    model = _cnn()
    graph = from_keras(model)
    emitted = to_onnx(graph)
    nchw = _as_tf2onnx_would_name(emitted, nchw=True)
    kernel = next(i for i in nchw.graph.initializer if i.name == "conv/kernel/oihw")
    kernel.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(kernel) * np.float32(1.02),
                                            kernel.name))
    paths = {"keras": folder / "m.keras", "onnx": folder / "m.onnx",
             "nchw_faulty": folder / "nchw_faulty.onnx",
             "gir": folder / "m.gir", "renamed": folder / "renamed.onnx",
             "nchw": folder / "nchw.onnx", "faulty": folder / "faulty.onnx",
             "positional": folder / "positional.onnx"}
    model.save(paths["keras"])
    paths["onnx"].write_bytes(emitted.SerializeToString())
    save(graph, paths["gir"])
    paths["renamed"].write_bytes(_as_tf2onnx_would_name(emitted, nchw=False).SerializeToString())
    paths["nchw"].write_bytes(_as_tf2onnx_would_name(emitted, nchw=True).SerializeToString())
    paths["faulty"].write_bytes(_scaled_output(emitted, "probs", 1.01).SerializeToString())
    paths["nchw_faulty"].write_bytes(nchw.SerializeToString())
    positional = onnx.ModelProto.FromString(emitted.SerializeToString())
    for n in positional.graph.node:
        n.output[:] = ["zzz" if o == "probs" else o for o in n.output]
    positional.graph.output[0].name = "zzz"
    paths["positional"].write_bytes(positional.SerializeToString())
    return paths


def _verify(*args: str):
    r = CliRunner().invoke(cli, ["verify", *args, "--device", "cpu", "--json"],
                           catch_exceptions=False)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_keras_against_renamed_onnx_matches_by_name(files):
    r, data = _verify(str(files["keras"]), "--onnx", str(files["renamed"]))
    assert r.exit_code == 0, r.stderr
    hows = {(m["kind"], m["reference"]): m["how"] for m in data["stats"]["matches"]}
    assert hows == {("input", "img"): "tf-suffix", ("output", "probs"): "scope",
                    ("output", "feat"): "scope"}
    assert {c["candidate"] for c in data["comparisons"]} == {"onnx"}
    assert "warnings" not in data["stats"] and data["status"] == "passed"


def test_keras_against_channels_first_onnx_maps_the_layout(files):
    r, data = _verify(str(files["keras"]), "--onnx", str(files["nchw"]))
    assert r.exit_code == 0, r.stderr
    layouts = {m["reference"]: m["layout"] for m in data["stats"]["matches"]}
    assert layouts == {"img": "NCHW", "probs": "same", "feat": "NCHW"}


def test_keras_against_faulty_onnx_fails_and_is_localized(files):
    r, data = _verify(str(files["keras"]), "--onnx", str(files["faulty"]))
    assert r.exit_code == 1 and data["status"] == "failed"
    failed = {c["output"] for c in data["comparisons"] if not c["passed"]}
    assert failed == {"probs"}
    assert data["localization"]["first_divergent_node"] == "probs"
    # renamed, channels-first input, a conv weight x1.02: found through the name/layout map
    r, data = _verify(str(files["keras"]), "--onnx", str(files["nchw_faulty"]))
    assert r.exit_code == 1
    loc = data["localization"]
    assert loc["first_divergent_node"] == "conv" and loc["inputs_agree"] is True


def test_positional_match_warns(files):
    r, data = _verify(str(files["keras"]), "--onnx", str(files["positional"]))
    assert r.exit_code == 0, r.stderr
    assert data["stats"]["warnings"] == [
        "output 'probs' matched by position to 'zzz' (names differ)"]


def test_onnx_against_onnx(files):
    r, data = _verify(str(files["onnx"]), "--onnx", str(files["renamed"]))
    assert r.exit_code == 0, r.stderr
    assert data["runs"][0]["name"] == "onnx-reference"
    r, data = _verify(str(files["onnx"]), "--onnx", str(files["faulty"]))
    assert r.exit_code == 1
    # alone, an .onnx is verified against graphir's import of it (test_verify_onnx_source)
    r, data = _verify(str(files["onnx"]))
    assert r.exit_code == 0, r.stderr
    assert [x["name"] for x in data["runs"]] == ["onnx-reference", "keras-emitted", "onnx",
                                                  "interpreter"]


def test_gir_on_either_side(files):
    r, data = _verify(str(files["gir"]))  # the interpreter vs the graph's emitted ONNX
    assert r.exit_code == 0, r.stderr
    assert [x["name"] for x in data["runs"]] == ["interpreter", "onnx"]
    assert data["runs"][0]["runtime"] == "graphir-interpreter"
    r, data = _verify(str(files["keras"]), "--onnx", str(files["gir"]))  # TF vs interpreter
    assert r.exit_code == 0, r.stderr
    r, data = _verify(str(files["gir"]), "--onnx", str(files["faulty"]))
    assert r.exit_code == 1


def test_onnx_with_a_static_batch_gets_that_batch(files, tmp_path):
    m = onnx.load(str(files["onnx"]))
    for vi in list(m.graph.input) + list(m.graph.output):
        vi.type.tensor_type.shape.dim[0].dim_value = 1
    path = tmp_path / "batch1.onnx"
    onnx.save(m, str(path))
    r, data = _verify(str(files["keras"]), "--onnx", str(path))
    assert r.exit_code == 0, r.stderr
    assert {c["batch"] for c in data["cases"]} == {1}
    assert data["sensitivity"] and all(s["row_spread"] is None for s in data["sensitivity"])


def test_unsupported_other_is_exit_2(files, tmp_path):
    r = CliRunner().invoke(cli, ["verify", str(files["keras"]), "--onnx",
                                 str(tmp_path / "x.pb")])
    assert r.exit_code == 2 and "x.pb" in r.stderr


@pytest.mark.slow
def test_keras_against_tf2onnx(files):
    """The anchor: tf2onnx's own conversion of the model, verified against it."""
    tf2onnx = pytest.importorskip("tf2onnx")
    import tensorflow as tf

    model = keras.saving.load_model(files["keras"])
    spec = [tf.TensorSpec((None, 8, 8, 3), tf.float32, name="img")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    path = files["keras"].with_name("tf2onnx.onnx")
    path.write_bytes(proto.SerializeToString())
    r, data = _verify(str(files["keras"]), "--onnx", str(path), "--localize")
    assert r.exit_code == 0, r.stderr
    assert {m["reference"] for m in data["stats"]["matches"]} == {"img", "probs", "feat"}
    loc = data["localization"]  # tf2onnx's value names found by layer scope
    assert loc["first_divergent_node"] is None and loc["compared"] >= 3, loc
