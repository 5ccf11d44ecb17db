"""Channels-first data: every layer with a ``data_format`` lowers a
``data_format="channels_first"`` call as ``transpose -> channels-last op -> transpose``
(explicit layout in the IR); the emitted ONNX computes NCHW with no Transpose around
the channels-first ONNX ops, and the emitted Keras model (saved and reloaded with
``safe_mode=True``) writes the transposes around channels-last layers.  Each tiny
seeded model is built once per module and compared with Keras on seeded inputs
(rtol 1e-4, atol 1e-4 times the output's magnitude), also for a model built under
``keras.config.set_image_data_format("channels_first")``."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from application_checks import assert_close_scaled, reloaded_emissions  # noqa: E402
from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

CF = {"data_format": "channels_first"}

#: name -> (input shape without the batch, layers)
MODELS = {
    "conv1d": ((3, 9), lambda: [L.Conv1D(4, 3, padding="same", **CF)]),
    "conv2d": ((3, 6, 7), lambda: [L.Conv2D(4, 3, strides=2, activation="relu", **CF)]),
    "conv3d": ((2, 4, 5, 4), lambda: [L.Conv3D(3, 2, padding="same", **CF)]),
    "conv1d_transpose": ((3, 5), lambda: [L.Conv1DTranspose(2, 3, strides=2, **CF)]),
    "conv2d_transpose": ((3, 4, 5), lambda: [L.Conv2DTranspose(2, 3, strides=2,
                                                                padding="same", **CF)]),
    "conv3d_transpose": ((2, 3, 3, 2), lambda: [L.Conv3DTranspose(2, 2, strides=2, **CF)]),
    "depthwise_conv1d": ((3, 9), lambda: [L.DepthwiseConv1D(3, depth_multiplier=2, **CF)]),
    "depthwise_conv2d": ((3, 6, 6), lambda: [L.DepthwiseConv2D(3, padding="same", **CF)]),
    "separable_conv1d": ((3, 8), lambda: [L.SeparableConv1D(4, 3, **CF)]),
    "separable_conv2d": ((3, 6, 7), lambda: [L.SeparableConv2D(4, 3, **CF)]),
    "pooling1d": ((3, 8), lambda: [L.MaxPooling1D(2, **CF), L.AveragePooling1D(2, **CF)]),
    "pooling2d": ((3, 7, 6), lambda: [L.MaxPooling2D(2, padding="same", **CF),
                                      L.AveragePooling2D(2, **CF)]),
    "pooling3d": ((2, 4, 4, 4), lambda: [L.MaxPooling3D(2, **CF),
                                         L.AveragePooling3D(1, **CF)]),
    "global_average_pooling1d": ((3, 8), lambda: [L.GlobalAveragePooling1D(**CF)]),
    "global_max_pooling2d_keepdims": ((3, 5, 6), lambda: [
        L.GlobalMaxPooling2D(keepdims=True, **CF)]),
    "global_average_pooling3d": ((2, 3, 4, 5), lambda: [L.GlobalAveragePooling3D(**CF)]),
    "upsampling2d_bilinear": ((3, 4, 5), lambda: [L.UpSampling2D(2, interpolation="bilinear",
                                                                 **CF)]),
    "upsampling2d_bicubic": ((3, 4, 5), lambda: [L.UpSampling2D((2, 3),
                                                                interpolation="bicubic", **CF)]),
    "upsampling3d": ((2, 3, 2, 3), lambda: [L.UpSampling3D(2, **CF)]),
    "zero_padding2d": ((3, 4, 5), lambda: [L.ZeroPadding2D(((1, 0), (2, 1)), **CF)]),
    "cropping3d": ((2, 5, 4, 6), lambda: [L.Cropping3D(((1, 0), (0, 1), (2, 1)), **CF)]),
    "flatten": ((3, 4, 5), lambda: [L.Flatten(**CF)]),
    "cnn": ((3, 12, 12), lambda: [
        L.Conv2D(4, 3, padding="same", **CF), L.BatchNormalization(axis=1), L.ReLU(),
        L.MaxPooling2D(2, **CF), L.Conv2D(5, 3, **CF), L.GlobalAveragePooling2D(**CF)]),
    "cnn_flatten_dense": ((2, 8, 8), lambda: [
        L.Conv2D(3, 3, **CF), L.ZeroPadding2D(1, **CF), L.AveragePooling2D(2, **CF),
        L.Flatten(**CF), L.Dense(4)]),
}
NAMES = sorted(MODELS)


def _build(name, rng):
    shape, make = MODELS[name]
    x = keras.Input(shape, name="x")
    y = x
    for layer in make():
        y = layer(y)
    model = keras.Model(x, y, name=name)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([np.abs(rng.normal(0.5, 0.2, w.shape)).astype(w.dtype)
                               if "variance" in v.path else
                               rng.normal(0.0, 0.5, w.shape).astype(w.dtype)
                               for w, v in zip(weights, layer.weights)])
    return model


@pytest.fixture(scope="module")
def cases():
    """name -> (model, input batch, Keras' output, lowered graph)."""
    rng = np.random.default_rng(0)
    out = {}
    for name in NAMES:
        model = _build(name, rng)
        data = rng.normal(size=(2,) + MODELS[name][0]).astype("float32")
        want = np.asarray(model(data, training=False))
        out[name] = (model, data, want, from_keras(model))
    return out


@pytest.fixture(scope="module")
def reloaded(cases, tmp_path_factory):
    return reloaded_emissions({n: c[3] for n, c in cases.items()},
                              tmp_path_factory.mktemp("channels_first"))


_close = assert_close_scaled


def _onnx_run(graph, data):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": data})[0]


@pytest.mark.parametrize("name", NAMES)
def test_layout_is_explicit_transposes(name, cases):
    graph = verify_graph(cases[name][3])
    assert graph.nodes[0].op == "transpose"
    assert graph.nodes[0].attrs["perm"][1] != 1  # channels moved last
    for node in graph.nodes:
        if "data_format" in node.attrs:
            assert node.attrs["data_format"] == "channels_last"


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    _close(evaluate(graph, {"x": data})[graph.outputs[0]], want)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    _close(_onnx_run(graph, data), want)


@pytest.mark.parametrize("name", NAMES)
def test_reloaded_keras_model_matches_keras(name, cases, reloaded):
    _, data, want, _ = cases[name]
    _close(np.asarray(reloaded[name](data, training=False)), want)


def test_channels_first_cnn_has_no_transpose_in_onnx(cases):
    # NCHW input -> Conv -> BN -> ReLU -> MaxPool -> Conv -> GlobalAveragePool: the ONNX
    # graph is channels-first throughout, its (N, C) output needs no Transpose either
    counts = count_ops(to_onnx(cases["cnn"][3]))
    assert counts.get("Transpose", 0) == 0, counts
    assert counts.get("Conv", 0) == 2 and counts.get("MaxPool", 0) == 1, counts
    assert counts.get("BatchNormalization", 0) == 0, counts  # folded into the first Conv


@pytest.mark.parametrize("name", ["conv2d", "pooling3d", "conv1d_transpose",
                                  "global_max_pooling2d_keepdims", "upsampling2d_bilinear"])
def test_single_layers_need_no_transpose_in_onnx(name, cases):
    assert count_ops(to_onnx(cases[name][3])).get("Transpose", 0) == 0


def test_flatten_keeps_keras_channels_last_order_with_one_transpose(cases):
    # Flatten(channels_first) orders the features channels-last: one Transpose
    # (from NCHW to NHWC) before the Reshape, none around the Conv or the pooling
    counts = count_ops(to_onnx(cases["cnn_flatten_dense"][3]))
    assert counts.get("Transpose", 0) == 1, counts


def test_image_data_format_channels_first_models():
    rng = np.random.default_rng(1)
    before = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        x = keras.Input((3, 8, 8), name="x")
        y = L.Conv2D(4, 3, padding="same")(x)
        y = L.MaxPooling2D()(y)
        y = L.UpSampling2D()(y)
        y = L.GlobalAveragePooling2D()(y)
        model = keras.Model(x, y)
    finally:
        keras.config.set_image_data_format(before)
    data = rng.normal(size=(2, 3, 8, 8)).astype("float32")
    want = np.asarray(model(data))
    graph = from_keras(model)
    _close(evaluate(graph, {"x": data})[graph.outputs[0]], want)
    _close(_onnx_run(graph, data), want)


@pytest.mark.parametrize("layer, shape", [
    (L.DepthwiseConv1D(3, depth_multiplier=2, name="l", **CF), (3, 8)),  # 6 steps, 6 channels
    (L.Conv2D(5, 3, name="l", **CF), (3, 6, 7)),  # (5, 4, 5)
    (L.Conv1D(4, 3, name="l", **CF), (3, None)),  # a dynamic last axis
])
def test_channels_first_bias_that_keras_adds_on_the_last_axis_is_refused(layer, shape):
    x = keras.Input(shape, name="x")
    with pytest.raises(UnsupportedLayerError, match="adds the bias along the last axis"):
        from_keras(keras.Model(x, layer(x)))


def test_masked_channels_first_average_pooling_traces_keras_own_call():
    """The converter refuses a masked channels-first average (its op is channels-last):
    Keras' own call is traced, the mask over the steps axis included."""
    x = keras.Input((4, 6), name="x")
    mask = keras.Input((6,), dtype="bool", name="m")
    layer = L.GlobalAveragePooling1D(data_format="channels_first", name="l")
    model = keras.Model([x, mask], layer(x, mask=mask))
    assert_converts_like_keras(model)
