"""User-written recurrent cells that compute a simple RNN step
(``graphir/backends/keras/recurrent_cells.py``): ``RNN(cell)`` over any number of
timesteps lowers to one ``simple_rnn`` node with the cell's weights composed, masks and
``return_state`` included; the ONNX (onnxruntime) and the emitted Keras model (reloaded
in a fresh process that never imports graphir) match Keras on sequences with masked
steps.  Cells of another form keep the refusal, by name."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import assert_close, outputs, predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402


class MinimalRNNCell(L.Layer):
    """The Keras RNN guide's cell: ``tanh(x @ W + h @ U)``, no bias."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = self.state_size = units

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent",
                                         initializer="orthogonal")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent))
        return h, [h]


class ConcatDenseCell(L.Layer):
    """A Dense on ``concatenate([x, h])`` with a bias, a scaled and shifted
    pre-activation, Dropout (identity at inference) and an Activation layer."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units, self.state_size = units, [units]
        self.dense = L.Dense(units, bias_initializer="random_normal")
        self.drop = L.Dropout(0.5)
        self.act = L.Activation("relu")

    def build(self, shape):
        self.shift = self.add_weight(shape=(self.units,), name="shift",
                                     initializer="random_normal")

    def call(self, inputs, states, training=None):
        z = self.dense(ops.concatenate([self.drop(inputs, training=training), states[0]], -1))
        h = self.act(0.5 * z - self.shift)
        return h, [h]


class GatedCell(L.Layer):
    """Not a simple RNN cell: the state is gated by a function of the input."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = self.state_size = units
        self.gate = L.Dense(units, activation="sigmoid")
        self.proj = L.Dense(units)

    def call(self, inputs, states):
        h = ops.tanh(self.proj(inputs) + self.gate(inputs) * states[0])
        return h, [h]


class PreActivationStateCell(MinimalRNNCell):
    """Not a simple RNN cell: the new state is the pre-activation, not the output."""

    def call(self, inputs, states):
        z = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent)
        return ops.tanh(z), [z]


def _ids_model(cell, **rnn):
    ids = keras.Input((None,), dtype="int32", name="ids")
    e = L.Embedding(12, 5, mask_zero=True, name="emb")(ids)
    outs = L.RNN(cell, name="rnn", **rnn)(e)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    return keras.Model(ids, [L.Dense(2, name="head")(outs[0])] + outs[1:], name="cells")


@pytest.fixture(scope="module")
def feeds():
    # masked steps inside and at the end of rows; lengths 6 and 3
    return [np.array([[3, 4, 0, 5, 0, 0], [1, 2, 3, 4, 5, 6]], np.int32),
            np.array([[7, 0, 2], [0, 0, 0], [4, 4, 4]], np.int32)]


@pytest.mark.parametrize("make,rnn,activation", [
    (lambda: MinimalRNNCell(4, name="minimal"), {"return_sequences": True}, "tanh"),
    (lambda: ConcatDenseCell(3, name="concat_dense"),
     {"return_state": True, "go_backwards": True}, "relu"),
], ids=["minimal", "concat_dense"])
def test_simple_rnn_cells_lower_to_simple_rnn(make, rnn, activation, feeds, tmp_path):
    keras.utils.set_random_seed(21)
    model = _ids_model(make(), **rnn)
    graph = from_keras(model)
    nodes = [n for n in graph.nodes if n.op == "simple_rnn"]   # one per output
    assert len(nodes) == 1 + rnn.get("return_state", False)
    assert {n.attrs["activation"] for n in nodes} == {activation}
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    path = tmp_path / "cells.keras"
    emitted = to_keras(graph)
    assert any(isinstance(layer, L.SimpleRNN) for layer in emitted.layers)
    save_keras(emitted, path)
    for ids in feeds:
        want = outputs(model, [ids])
        assert_close(session.run(None, {"ids": ids}), want, f"onnx {ids.shape}")
        assert_close(predict_in_fresh_process(path, [ids]), want, f"keras {ids.shape}")


def test_a_subtracted_state_term_keeps_its_sign(feeds):
    class Subtracting(MinimalRNNCell):
        def call(self, inputs, states):
            h = ops.tanh(ops.matmul(inputs, self.kernel) - ops.matmul(states[0], self.recurrent))
            return h, [h]

    keras.utils.set_random_seed(22)
    model = _ids_model(Subtracting(4, name="subtracting"), return_sequences=True)
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for ids in feeds:
        assert_close(session.run(None, {"ids": ids}), outputs(model, [ids]), "onnx")


@pytest.mark.parametrize("make", [lambda: GatedCell(4, name="gated"),
                                  lambda: PreActivationStateCell(4, name="pre_activation_state")],
                         ids=["gated", "pre_activation_state"])
def test_cells_of_another_form_are_refused_over_unknown_steps(make):
    keras.utils.set_random_seed(23)
    with pytest.raises(UnsupportedLayerError, match=r"generic RNN of a") as info:
        from_keras(_ids_model(make()))
    assert info.value.layer_name == "rnn"
