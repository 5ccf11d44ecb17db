"""Verification on models the seeded inputs used to break, through the API and the CLI.

* a multi-input functional model called inside another one (Keras records
  ``mask=[None, None]`` on the call: no mask);
* the text CNNs of the Keras examples "text classification from scratch" and
  "pretrained word embeddings" (unknown sequence length, valid conv/pool windows that
  need more than the default 8 steps): the verifier picks the smallest length the
  type rules accept and reports it;
* a model whose reference run fails on the seeded inputs: a typed error naming the
  model and the input shapes (exit 2), never an internal error (exit 3).

The models are small (vocabulary 50, embeddings of 4, 6 filters), seeded, built and
saved once per module.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
layers = keras.layers

from graphir.app.cli import cli  # noqa: E402
from graphir.backends.keras import from_keras  # noqa: E402
from graphir.backends.verification import verify  # noqa: E402
from graphir.errors import ReferenceRunError  # noqa: E402


def _nested_two_inputs():
    """The 5-line reproduction: an inner model adding two inputs, called by an outer one."""
    a, b = keras.Input((4,)), keras.Input((4,))
    inner = keras.Model([a, b], layers.Add()([a, b]), name="inner")
    x, y = keras.Input((4,)), keras.Input((4,))
    return keras.Model([x, y], inner([x, y]), name="outer")


def _text_from_scratch():
    """keras.io "Text classification from scratch": Embedding -> 2 x Conv1D(7, strides=3)."""
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(50, 4)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(6, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(6, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(8, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    return keras.Model(inputs, out, name="text_from_scratch")


def _pretrained_embeddings():
    """keras.io "Using pre-trained word embeddings": 3 x Conv1D(5) with MaxPooling1D(5)."""
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(50, 4, trainable=False)(inputs)
    x = layers.Conv1D(6, 5, activation="relu")(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(6, 5, activation="relu")(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(6, 5, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(8, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(3)(x), name="pretrained_embeddings")


def _index_sum_embedding():
    """Two index inputs added before an Embedding(10): the seeded indices (each < 10)
    sum past the table, so the original model fails in TF (on the CPU)."""
    a, b = keras.Input((4,), dtype="int32"), keras.Input((4,), dtype="int32")
    y = layers.Flatten()(layers.Embedding(10, 2)(layers.Add()([a, b])))
    return keras.Model([a, b], y, name="index_sum")


#: name -> (builder, smallest sequence length the model accepts, or None)
MODELS = {
    "nested": (_nested_two_inputs, None),
    # (L - 7) // 3 + 1 >= 7  <=>  L >= 25
    "text_from_scratch": (_text_from_scratch, 25),
    # conv 5, pool 5, conv 5, pool 5, conv 5: ((L - 4) // 5 - 4) // 5 >= 5  <=>  L >= 149
    "pretrained_embeddings": (_pretrained_embeddings, 149),
    "index_sum": (_index_sum_embedding, None),
}


def _randomized(model, seed: int):
    """``model`` with every weight drawn from N(0, 0.5) (seeded): Keras' small initial
    embeddings and zero biases leave these text CNNs' outputs all zero, which any
    candidate would match."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def built():
    keras.utils.set_random_seed(0)
    return {name: _randomized(build(), seed)
            for seed, (name, (build, _)) in enumerate(MODELS.items())}


@pytest.fixture(scope="module")
def saved(built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("verification_models")
    paths = {}
    for name, model in built.items():
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    return paths


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- 1. a nested multi-input model ---------------------------------------------------

def test_nested_multi_input_model_lowers(built):
    model = built["nested"]
    call = model.layers[-1]._inbound_nodes[0]
    assert call.arguments.kwargs.get("mask") == [None, None]  # what Keras records
    graph = from_keras(model)
    # one add in the inner model's scope (Keras numbers the op's name per process)
    assert [n.op for n in graph.nodes] == ["add"]
    assert graph.nodes[0].name.startswith("inner/add")
    assert len(graph.inputs) == 2 and graph.outputs == (graph.nodes[0].name,)


def test_nested_multi_input_model_converts_verified(saved, tmp_path):
    out = tmp_path / "nested.onnx"
    r = _run("convert", str(saved["nested"]), str(out), "--verify", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["passed"] and result["written"] and out.is_file()
    assert result["unknown_dim"] is None
    assert [i["shape"] for i in result["inputs"]] == [[2, 4], [2, 4]]


# --- 2. text CNNs with an unknown sequence length ------------------------------------

@pytest.mark.parametrize("name", ["text_from_scratch", "pretrained_embeddings"])
def test_text_cnn_convert_verify_uses_an_accepted_length(saved, tmp_path, name):
    length = MODELS[name][1]
    out = tmp_path / f"{name}.onnx"
    r = _run("convert", str(saved[name]), str(out), "--verify", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["passed"] and result["written"] and out.is_file()
    assert result["unknown_dim"] == length
    assert [i["shape"] for i in result["inputs"]] == [[2, length]]
    assert {c["candidate"] for c in result["comparisons"]} == {"onnx"}
    r = _run("convert", str(saved[name]), str(tmp_path / f"{name}.keras"), "--verify",
             "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    assert f"[2,{length}] (unknown dims set to {length})" in r.stdout


@pytest.mark.parametrize("name", ["text_from_scratch", "pretrained_embeddings"])
def test_text_cnn_verify_reports_the_length(saved, name):
    length = MODELS[name][1]
    r = _run("verify", str(saved[name]), "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] and report["unknown_dim"] == length
    assert report["inputs"][0]["shape"] == [2, length]
    assert {c["candidate"] for c in report["comparisons"]} == {"keras-emitted", "onnx"}
    r = _run("verify", str(saved[name]), "--device", "cpu", "--batch", "3")
    assert r.exit_code == 0, r.stderr
    assert f"[3,{length}] (unknown dims set to {length})" in r.stdout


@pytest.mark.parametrize("name", ["text_from_scratch", "pretrained_embeddings"])
def test_text_cnn_outputs_vary(built, name):
    # a constant output would pass any comparison: the weights make it vary with the input
    from graphir.inputs import make_inputs

    model = built[name]
    (ids,) = make_inputs(from_keras(model), batch=4).values()
    out = np.asarray(model(ids, training=False))
    assert out.shape[0] == 4 and np.ptp(out, axis=0).min() > 1e-3


def test_text_cnn_fails_in_keras_at_the_old_default_length(built):
    # what the verifier used to feed (8 steps) makes the original model itself fail
    import tensorflow as tf

    model = built["text_from_scratch"]
    assert model(np.zeros((1, 25), np.int64), training=False).shape == (1, 1)
    with pytest.raises((tf.errors.OpError, ValueError)):
        model(np.zeros((1, 8), np.int64), training=False)


# --- a reference run that fails -------------------------------------------------------

def test_failing_reference_run_is_a_typed_error(built):
    with pytest.raises(ReferenceRunError) as e:
        verify(built["index_sum"], device="cpu")
    err = e.value
    assert err.model == "index_sum"
    assert list(err.input_shapes.values()) == [(2, 4), (2, 4)]
    assert err.cause.startswith("InvalidArgumentError") and "not in [0, 10)" in err.cause
    assert "\n" not in str(err) and "[2, 4]" in str(err) and "\x1b" not in str(err)


@pytest.mark.parametrize("command", ["convert", "verify"])
def test_failing_reference_run_exits_2_and_writes_nothing(saved, tmp_path, command):
    src = saved["index_sum"]
    out = tmp_path / "index_sum.onnx"
    args = (["convert", str(src), str(out), "--verify"] if command == "convert"
            else ["verify", str(src)])
    r = _run(*args, "--device", "cpu")
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert r.stderr.count("\n") == 1 and "internal error" not in r.stderr
    assert f"model {src}" in r.stderr and "reference run" in r.stderr and "[2, 4]" in r.stderr
    assert os.listdir(tmp_path) == []
    r = _run(*args, "--device", "cpu", "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["passed"] is False
