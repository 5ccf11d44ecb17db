"""Custom layers written with TensorFlow functions (``tf.reshape``, ``tf.matmul``,
``tf.nn.moments``...: keras.io's older examples, Keras 2 ports) traced through the
``keras.ops`` equivalents of graphir/backends/keras/tf_equivalents.py: ONNX
(onnxruntime) and the emitted Keras model against Keras at two run-time sizes, and the
TensorFlow calls without an exact equivalent refused naming the line."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402


class TensorFlowMixer(L.Layer):
    """TensorFlow-style token mixing: a weight applied with ``tf.matmul(transpose_b)``,
    the batch size from ``tf.shape``, reshapes and transposes, ``tf.nn.moments``
    standardization, ``tf.math.l2_normalize``, exact GELU, a softmax weighted by
    ``tf.range`` of the run-time length, ``tf.where``, ``tf.argmax`` into
    ``tf.gather_nd``, ``tf.norm``, ``tf.tile``, ``tf.concat`` and ``tf.split``."""

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], shape[-1]), initializer="glorot_uniform",
                                 name="w")

    def call(self, x):
        b = tf.shape(x)[0]
        h = tf.matmul(x, self.w, transpose_b=True)
        h = tf.nn.gelu(h) + tf.nn.relu6(x) - tf.math.rsqrt(tf.square(x) + 1.0)
        h = tf.transpose(tf.reshape(h, [b, -1, 2, 3]), [0, 2, 1, 3])
        h = tf.squeeze(tf.reduce_sum(h, axis=1, keepdims=True), 1)
        h = h / tf.cast(tf.shape(x)[1], tf.float32)
        mean, var = tf.nn.moments(x, axes=[1], keepdims=True)
        n = tf.math.l2_normalize(x, axis=-1) + (x - mean) / tf.sqrt(var + 1e-3)
        c = tf.concat([h, tf.expand_dims(tf.reduce_mean(n, -1), -1)], axis=-1)
        ruler = tf.cast(tf.range(tf.shape(x)[1])[None, :, None], tf.float32)
        s = tf.nn.softmax(c, axis=-1) * ruler
        t = tf.where(s > 0.1, s, tf.zeros_like(s))
        idx = tf.argmax(t, axis=-1, output_type=tf.int32)
        rows = tf.stack([tf.zeros_like(idx[:, 0]), idx[:, 0] % 6], -1)
        picked = tf.gather_nd(tf.reduce_mean(x, 1), rows)
        left, right = tf.split(x, [2, -1], axis=-1)
        return tf.concat([tf.tile(tf.reduce_max(t, -1, keepdims=True), [1, 1, 2]), right], -1) \
            + tf.norm(x, axis=-1, keepdims=True) + tf.reduce_sum(picked) \
            + tf.reduce_sum(left, -1, keepdims=True) + tf.nn.gelu(3.0 * x)


@pytest.fixture(scope="module")
def mixer():
    keras.utils.set_random_seed(31)
    i = keras.Input((None, 6), name="x")
    model = keras.Model(i, TensorFlowMixer(name="mixer")(i))
    return model, from_keras(model)


def test_a_tensorflow_style_layer_traces_and_matches(mixer):
    model, graph = mixer
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(31)
    for shape in [(2, 5, 6), (3, 7, 6)]:
        x = rng.normal(size=shape).astype(np.float32)
        want = np.asarray(model(x))
        assert want.shape == shape
        for got in (session.run(None, {"x": x})[0], np.asarray(emitted(x))):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    ops = {n.op for n in graph.nodes}
    assert {"matmul", "softmax", "argmax", "where", "tile"} <= ops


def test_tensorflow_image_patch_idioms_trace_and_match():
    keras.utils.set_random_seed(32)
    i = keras.Input((4, 4, 3), name="images")
    model = keras.Model(i, TensorFlowPatches(name="patches")(i))
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(32)
    for batch in (2, 3):
        x = rng.normal(size=(batch, 4, 4, 3)).astype(np.float32)
        want = np.asarray(model(x))
        assert want.shape == (batch, 4, 12)
        for got in (session.run(None, {"images": x})[0], np.asarray(emitted(x))):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


class TensorFlowPatches(L.Layer):
    """keras.io's TF-era ViT / MLP-Mixer idioms: ``tf.image.extract_patches`` reshaped
    to (batch, patches, dims) by ``tf.shape``, ``tf.linalg.matrix_transpose``, a
    depthwise convolution, ``tf.zeros`` of the run-time batch, ``tf.sequence_mask``,
    ``tf.nn.embedding_lookup``, ``tf.math.unsorted_segment_sum``, ``tf.tensordot``,
    ``tf.math.reduce_std``, ``tf.argmin``, ``tf.math.cumprod``, ``tf.size`` / ``tf.rank``."""

    def build(self, shape):
        self.table = self.add_weight(shape=(5, 12), initializer="glorot_uniform", name="table")
        self.kernel = self.add_weight(shape=(3, 3, 3, 1), initializer="glorot_uniform",
                                      name="kernel")

    def call(self, images):
        b = tf.shape(images)[0]
        d = tf.nn.depthwise_conv2d(images, self.kernel, [1, 1, 1, 1], "SAME")
        patches = tf.image.extract_patches(images=d, sizes=[1, 2, 2, 1], strides=[1, 2, 2, 1],
                                           rates=[1, 1, 1, 1], padding="VALID")
        patches = tf.reshape(patches, [b, -1, patches.shape[-1]])        # (b, 4, 12)
        mixed = tf.linalg.matrix_transpose(tf.linalg.matrix_transpose(patches) * 2.0)
        ids = tf.argmin(patches, axis=-1, output_type=tf.int32) % 5     # (b, 4)
        looked = tf.nn.embedding_lookup(self.table, ids)                  # (b, 4, 12)
        mask = tf.sequence_mask(ids, 12, dtype=tf.float32)               # (b, 4, 12)
        seg = tf.math.unsorted_segment_sum(tf.reduce_mean(patches, 0), [0, 2, 0, 1], 3)
        dot = tf.tensordot(patches, tf.ones((12, 12)), axes=1)
        spread = tf.math.reduce_std(patches, axis=1, keepdims=True)
        running = tf.math.cumprod(tf.sigmoid(patches), axis=1)
        count = tf.cast(tf.size(patches) // b + tf.rank(patches), tf.float32)
        base = tf.zeros((b, 4, 12)) + tf.math.log_sigmoid(mixed)
        return base + looked * mask + tf.reduce_sum(seg) + dot + spread + running + count


class TensorFlowWindows(L.Layer):
    """keras.io's TF-era Swin, ShiftViT, ESPCN, miniature GPT and graph-convolution
    idioms: ``tf.roll`` by lists of shifts, ``x.get_shape()``, a raw ``tf.Variable``
    operand (not a Keras weight), ``tf.image.crop_to_bounding_box`` /
    ``pad_to_bounding_box``, ``tf.nn.depth_to_space`` / ``space_to_depth`` of a run-time
    image size, a causal mask tiled by ``tf.concat([tf.expand_dims(batch, -1), [1, 1]])``,
    ``tf.repeat`` by the batch size and ``tf.math.unsorted_segment_mean``."""

    def build(self, shape):
        self.mix = tf.Variable(np.linspace(-1, 1, 16, dtype="float32").reshape(4, 4))

    def call(self, x):                                    # x (b, h, w, 4), h and w even
        b, c = tf.shape(x)[0], x.get_shape().as_list()[-1]
        mixed = tf.matmul(x, self.mix)
        shuffled = tf.nn.depth_to_space(tf.nn.space_to_depth(mixed, 2), 2)
        pooled = tf.reduce_mean(shuffled, axis=[1, 2])                  # (b, 4)
        grid = tf.reshape(tf.tile(pooled, [1, 4]) * tf.range(16, dtype=tf.float32),
                          [b, 2, 2, 4])
        grid = tf.roll(grid, shift=[-1, 1], axis=[1, 2])
        box = tf.image.pad_to_bounding_box(
            tf.image.crop_to_bounding_box(grid, 0, 1, 2, 1), 1, 1, 4, 3)
        seq = tf.reshape(box, [b, 12, c])                                # (b, 12, 4)
        i = tf.range(12)[:, None]
        j = tf.range(12)
        mask = tf.reshape(tf.cast(i >= j, seq.dtype), [1, 12, 12])
        mask = tf.tile(mask, tf.concat([tf.expand_dims(b, -1), tf.constant([1, 1])], 0))
        seq = tf.matmul(mask, seq)
        means = tf.math.unsorted_segment_mean(tf.transpose(seq, [1, 0, 2]),
                                              [0, 2, 0, 1, 1, 0, 2, 2, 0, 1, 0, 4], 5)
        token = tf.repeat(tf.ones((1, 1, c)), repeats=b, axis=0)
        return tf.concat([seq, tf.transpose(means, [1, 0, 2]), token], axis=1) \
            + pooled[:, None, :]


def test_tensorflow_window_idioms_trace_and_match_at_run_time_image_sizes():
    keras.utils.set_random_seed(33)
    i = keras.Input((None, None, 4), name="images")
    model = keras.Model(i, TensorFlowWindows(name="windows")(i))
    graph = from_keras(model)
    assert any(n.op == "dynamic_reshape" for n in graph.nodes)         # the pixel shuffle
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(33)
    for shape in [(2, 4, 6, 4), (3, 6, 4, 4)]:
        x = rng.normal(size=shape).astype(np.float32)
        want = np.asarray(model(x))
        assert want.shape == (shape[0], 18, 4)
        for got in (session.run(None, {"images": x})[0], np.asarray(emitted(x))):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


class Uses(L.Layer):
    """One TensorFlow call, given as a function of the input."""

    def __init__(self, fn, **kw):
        super().__init__(**kw)
        self.fn = fn

    def call(self, x):
        return self.fn(x)

    def compute_output_shape(self, shape):
        return shape


@pytest.mark.parametrize("fn,line", [
    (lambda x: tf.nn.swish(x, beta=2.0), "swish"),                     # an option ops lacks
    (lambda x: tf.cast(tf.divide(tf.cast(x, tf.int32), 2), tf.float32), "divide"),  # float64
    (lambda x: tf.cast(tf.where(x > 0)[:, :1], tf.float32) + x, "tf.where"),  # indices
    (lambda x: tf.reduce_sum(x) + tf.math.bessel_i0(x), "bessel_i0"),  # not in the table
])
def test_tensorflow_calls_without_an_exact_equivalent_are_refused_naming_the_line(fn, line):
    i = keras.Input((4,), name="x")
    model = keras.Model(i, Uses(fn, name="uses")(i))
    with pytest.raises(UnsupportedLayerError, match=r"uses.*TensorFlow function.*" + line):
        from_keras(model)


def test_a_run_time_shape_vector_in_arithmetic_is_refused():
    i = keras.Input((None, 4), name="x")
    model = keras.Model(i, Uses(lambda x: tf.reshape(x, tf.shape(x) * 1), name="uses")(i))
    with pytest.raises(UnsupportedLayerError, match=r"uses.*whole vector"):
        from_keras(model)
