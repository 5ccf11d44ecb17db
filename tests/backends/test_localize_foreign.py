"""``graphir verify M.keras --onnx OTHER.onnx --localize`` on an ONNX graphir did not emit:
tf2onnx's own conversion of a small conv net, with faults injected into its weights.

tf2onnx fuses each BatchNormalization into the Conv before it (one ``Conv`` whose
output has no layer scope: ``Conv__14:0``), names its input transpose in the first
BatchNormalization's scope (``net_1/bn1_1/batchnorm/mul_1__6:0``) and keeps the other
layers' scopes (``net_1/relu2_1/Relu:0``).  So a fault in ``conv2``'s weights first
shows at ``relu2``'s value, and nothing in the ONNX model corresponds to ``conv2`` or
``bn2``: the honest answer is the span ``conv2, bn2, relu2``, never ``relu2`` alone
(the broken twin, which ignores the span rule, says exactly that wrong node).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
tf2onnx = pytest.importorskip("tf2onnx")

from click.testing import CliRunner  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from graphir.app.cli import cli  # noqa: E402
from graphir.backends.keras import from_keras  # noqa: E402
from graphir.backends.keras.randomize import (calibrate_statistics,  # noqa: E402
                                              randomize_statistics)
from graphir.backends.localize import localize  # noqa: E402
from graphir.inputs import make_inputs  # noqa: E402

L = keras.layers
CONV2 = "net_1/conv2_1/convolution/merged_input:0"  # conv2's kernel with bn2 folded in
LOGITS = "net_1/logits_1/Cast/ReadVariableOp:0"


def _net():
    keras.utils.set_random_seed(0)
    x = keras.Input((12, 12, 3), name="img")
    y = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    y = L.BatchNormalization(name="bn1")(y)
    y = L.ReLU(name="relu1")(y)
    y = L.Conv2D(8, 3, padding="same", name="conv2")(y)
    y = L.BatchNormalization(name="bn2")(y)
    y = L.ReLU(name="relu2")(y)
    y = L.GlobalAveragePooling2D(name="pool")(y)
    y = L.Dense(6, name="logits")(y)
    model = keras.Model(x, L.Softmax(name="probs")(y), name="net")
    randomize_statistics(model, 0)
    calibrate_statistics(model, np.random.default_rng(3).standard_normal((16, 12, 12, 3))
                         .astype(np.float32))
    return model


def _scaled(proto, initializer: str, factor: float):
    m = onnx.ModelProto.FromString(proto.SerializeToString())
    t = next(i for i in m.graph.initializer if i.name == initializer)
    t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * np.float32(factor), t.name))
    return m


def _opaque(proto):
    """Every value renamed ``v0, v1, ...`` (inputs and outputs too): no name to match."""
    m = onnx.ModelProto.FromString(proto.SerializeToString())
    names = {}
    for n in m.graph.node:
        for i, o in enumerate(n.output):
            names[o] = n.output[i] = f"v{len(names)}"
    for n in m.graph.node:
        n.input[:] = [names.get(i, i) for i in n.input]
    for o in m.graph.output:
        o.name = names[o.name]
    return m


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("foreign")
    model = _net()
    model.save(folder / "net.keras")
    spec = [tf.TensorSpec((None, 12, 12, 3), tf.float32, name="img")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    assert {i.name for i in proto.graph.initializer} >= {CONV2, LOGITS}, "tf2onnx naming"
    paths = {"keras": folder / "net.keras"}
    for name, m in {"clean": proto, "conv2": _scaled(proto, CONV2, 1.05),
                    "logits": _scaled(proto, LOGITS, 1.05), "opaque": _opaque(proto)}.items():
        paths[name] = folder / f"{name}.onnx"
        onnx.save(m, str(paths[name]))
    return paths


def _localization(files, which: str):
    r = CliRunner().invoke(cli, ["verify", str(files["keras"]), "--onnx", str(files[which]),
                                 "--device", "cpu", "--json", "--localize"],
                           catch_exceptions=False)
    data = json.loads(r.stdout)
    return r.exit_code, data["localization"]


def test_clean_conversion_localizes_nothing_and_says_what_it_matched(files):
    code, loc = _localization(files, "clean")
    assert code == 0 and loc["status"] == "not-found" and loc["first_divergent_node"] is None
    assert loc["foreign"] is True and loc["compared"] == 5
    # conv1/conv2/bn2 have no value of their own (BN folded into the Conv)
    assert loc["unmatched"] == ["conv1", "conv2", "bn2"] and loc["unmatched_count"] == 3
    # the input transpose named in bn1's scope is rejected by its shape, not compared
    # (tf2onnx numbers the transpose it inserts with a process-wide counter: "__<n>")
    rejected = [dict(r, onnx_value=re.sub(r"__\d+:", "__N:", r["onnx_value"]))
                for r in loc["rejected"]]
    assert rejected == [{"node": "bn1", "onnx_value": "net_1/bn1_1/batchnorm/mul_1__N:0",
                         "shape": [2, 3, 12, 12], "expected": [2, 12, 12, 8]}]


def test_fault_in_a_fused_layer_is_reported_as_a_span_not_a_wrong_node(files):
    code, loc = _localization(files, "conv2")
    assert code == 1
    assert loc["status"] == "span" and loc["first_divergent_node"] is None
    assert loc["divergent_span"] == ["conv2", "bn2", "relu2"]
    assert loc["first_seen_at"] == "relu2" and loc["onnx_value"] == "net_1/relu2_1/Relu:0"


def test_broken_twin_without_the_span_rule_names_the_wrong_node(files):
    # the same walk treating the model as graphir's own emission (no onnx_feeds: the
    # tf2onnx input keeps the name "img") blames relu2, where the fault is not
    model = keras.saving.load_model(files["keras"])
    graph = from_keras(model)
    feeds = make_inputs(graph, batch=2, seed=0)
    loc = localize(graph, model, files["conv2"].read_bytes(), feeds)
    assert loc["foreign"] is False and loc["first_divergent_node"] == "relu2"


def test_fault_in_a_matched_layer_is_found(files):
    code, loc = _localization(files, "logits")
    assert code == 1 and loc["status"] == "found"
    assert loc["first_divergent_node"] == "logits" and loc["divergent_span"] == ["logits"]
    assert loc["inputs_agree"] is True


def test_no_matching_values_is_said_not_guessed(files):
    code, loc = _localization(files, "opaque")
    assert code == 0  # outputs matched by position (warned); localization asked anyway
    assert loc["status"] == "no-matching-values" and loc["first_divergent_node"] is None
    assert loc["compared"] == 0 and "cannot be localized" in loc["message"]


def test_console_report_says_span_and_matches(files):
    r = CliRunner().invoke(cli, ["verify", str(files["keras"]), "--onnx", str(files["conv2"]),
                                 "--device", "cpu", "--localize"], catch_exceptions=False)
    text = " ".join(r.stdout.split())
    assert r.exit_code == 1
    assert "one of 3 nodes: conv2, bn2, relu2 (first seen at relu2" in text
    assert "1 rejected (shape); no ONNX value for 3: conv1, conv2, bn2" in text
