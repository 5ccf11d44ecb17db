"""``keras.ops.add`` as Keras' TensorFlow backend computes it: ``add`` in
``keras/src/backend/tensorflow/numpy.py`` turns ``x1 + x2`` into ``tf.nn.bias_add``
when ``x2`` squeezes to one size ``n`` equal to ``x1``'s axis 1 or last size, adding
along the *last* axis when that size is ``n`` (NumPy would align ``x2``'s own axis);
``x + y`` on eager tensors inside a layer's ``call`` is plain ``tf.add``.  A lowered add
cannot tell the two apart, so graphir refuses where they differ (or where an unknown
size decides) and lowers the add where they agree."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

from graphir.backends.keras import from_keras  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402


def _check(shape, fn):
    x = keras.Input(shape, name="x")
    model = keras.Model(x, fn(x))
    data = np.random.default_rng(0).normal(size=(2,) + shape).astype("float32")
    graph = from_keras(model)
    got = evaluate(graph, {"x": data})[graph.outputs[0]]
    np.testing.assert_allclose(got, np.asarray(model(data)), rtol=1e-6, atol=1e-6)


B3 = np.array([1.0, 2.0, 3.0], np.float32)


@pytest.mark.parametrize("shape, bias", [
    ((3, 5), B3.reshape(1, 3, 1)),  # only axis 1 matches: the same either way
    ((4, 3), B3),  # last axis: the same either way
    ((4, 3), B3.reshape(1, 1, 3)),
])
def test_bias_adds_where_tensorflow_and_numpy_agree_lower(shape, bias):
    _check(shape, lambda x: ops.add(x, bias))


@pytest.mark.parametrize("shape, bias", [
    ((3, 3), B3.reshape(1, 3, 1)),  # square: TF adds along the last axis, NumPy along 1
    ((3, 4, 3), B3.reshape(3, 1, 1)),  # NumPy: axis 1; TF: the last axis (size 3)
])
def test_bias_adds_where_tensorflow_differs_from_numpy_are_refused(shape, bias):
    x = keras.Input(shape, name="x")
    model = keras.Model(x, ops.add(x, bias))
    assert not np.allclose(np.asarray(model(np.zeros((1,) + shape, "float32"))),
                           np.zeros((1,) + shape) + bias)  # Keras really differs
    with pytest.raises(UnsupportedLayerError, match="bias_add"):
        from_keras(model)


def test_an_unknown_last_size_that_decides_the_axis_is_refused():
    x = keras.Input((3, None), name="x")
    model = keras.Model(x, ops.add(x, B3.reshape(1, 3, 1)))
    with pytest.raises(UnsupportedLayerError, match="bias_add"):
        from_keras(model)


class _ChannelsFirstBias(keras.layers.Layer):
    """A custom layer adding its bias reshaped to (1, C, 1), as Keras' own convolutions
    do for channels-first data (traced by graphir)."""

    def build(self, input_shape):
        self.b = self.add_weight(shape=(input_shape[1],), initializer="random_normal")

    def call(self, x):
        return x + ops.reshape(self.b, (1, -1, 1))


def test_a_traced_tensor_bias_lowers_where_unambiguous():
    keras.utils.set_random_seed(0)
    _check((3, 5), _ChannelsFirstBias())


def test_a_traced_tensor_bias_on_a_square_tensor_is_refused():
    # Keras runs `x + b` in call() as tf.add (NumPy broadcasting) but the same recorded
    # add at the top of a functional model as tf.nn.bias_add on the last axis
    x = keras.Input((3, 3), name="x")
    with pytest.raises(UnsupportedLayerError, match="bias_add"):
        from_keras(keras.Model(x, _ChannelsFirstBias()(x)))


def test_emitted_adds_of_different_shapes_do_not_become_bias_adds():
    """The other direction: an IR add of (N, 4, 4) and a (1, 4, 1) constant (what the
    ONNX importer makes of a channels-first bias) and of (N, 4, 4) and (N, 4, 1) at
    batch 1, emitted as Keras, must still broadcast NumPy-style (Keras' add would add
    along the last axis): the emitter writes them as ``x - (-y)``."""
    import onnx.helper as oh
    from onnx import TensorProto, numpy_helper

    from graphir import from_onnx
    from graphir.backends.keras import to_keras

    bias = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4, 1), "b")
    g = oh.make_graph([oh.make_node("Add", ["x", "b"], ["s"]),
                       oh.make_node("Add", ["s", "y"], ["z"])], "g",
                      [oh.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 4]),
                       oh.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 1])],
                      [oh.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4, 4])],
                      initializer=[bias])
    model = oh.make_model(g, opset_imports=[oh.make_opsetid("", 18)])
    graph = from_onnx(model)
    assert "add" in [n.op for n in graph.nodes]  # the constant one may become a batch_norm
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        x = rng.normal(size=(batch, 4, 4)).astype(np.float32)
        y = rng.normal(size=(batch, 4, 1)).astype(np.float32)
        want = x + np.arange(4, dtype=np.float32).reshape(1, 4, 1) + y
        np.testing.assert_allclose(evaluate(graph, {"x": x, "y": y})["z"], want, rtol=1e-6)
        emitted = to_keras(graph)
        got = np.asarray(emitted([x, y]))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # the broken twin: Keras' own add of these shapes is the bias_add
    wrong = np.asarray(ops.add(x[:1], np.arange(4, dtype=np.float32).reshape(1, 4, 1)))
    assert not np.allclose(wrong, x[:1] + np.arange(4, dtype=np.float32).reshape(1, 4, 1))


@pytest.mark.parametrize("x1, x2, risky", [
    (("batch", 4, 6), ("batch", 1, 6), False),   # bias_add along the last axis = NumPy
    ((3, 4, 4), (1, 4, 1), True),                # along the last axis, NumPy: axis 1
    (("batch", 4, 4), ("batch", 4, 1), True),    # at batch 1
    (("batch", 4, 5), (4, 1), False),            # not found on x1's last: axis 1, = NumPy
    ((2, 5, 4), (4,), False),
    ((5,), (5,), False),                         # rank-1 x1: never bias_add
    (("batch", 3, 3), (1, 3), False),            # the last axis either way
    (("batch", 3, 3), (3, 1), True),
    (("batch", None), (None, 1), True),          # unknown sizes may match
])
def test_the_emitters_bias_add_rule(x1, x2, risky):
    from graphir.backends.keras.emit import _bias_add_may_differ

    assert _bias_add_may_differ(x1, x2) is risky
