"""The N-d spatial layers (Conv1D/3D, transposed and 1-D depthwise/separable convs,
1-D/3-D pooling, global max/average pooling, upsampling, 1-D/3-D cropping and zero
padding) and the ELU/PReLU activation layers: one tiny seeded model per layer family
and rank lowers to the expected op, and the NumPy interpreter, the emitted Keras model
(saved and reloaded with ``safe_mode=True``) and the emitted ONNX model (onnxruntime,
CPU) all match Keras' own output; unsupported options are refused naming the class."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from application_checks import reloaded_emissions  # noqa: E402
from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

#: name -> (input shape without the batch, the IR op the last layer lowers to, layers)
MODELS = {
    "conv1d_same_strided": ((9, 3), "conv1d",
                            lambda: [L.Conv1D(4, 3, strides=2, padding="same", activation="relu")]),
    "conv1d_causal_dilated": ((9, 3), "conv1d",
                              lambda: [L.Conv1D(4, 3, dilation_rate=2, padding="causal")]),
    "conv1d_groups_valid": ((9, 4), "conv1d", lambda: [L.Conv1D(6, 2, groups=2)]),
    "conv1d_dynamic_length": ((None, 3), "conv1d",
                              lambda: [L.Conv1D(4, 3, strides=2, padding="same")]),
    "conv3d": ((5, 6, 7, 2), "conv3d",
               lambda: [L.Conv3D(3, (2, 3, 2), strides=(1, 2, 2), padding="same",
                                 activation="tanh")]),
    "depthwise_conv1d": ((9, 3), "depthwise_conv1d",
                         lambda: [L.DepthwiseConv1D(3, depth_multiplier=2, padding="same",
                                                    strides=2)]),
    "separable_conv1d": ((9, 3), "separable_conv1d",
                         lambda: [L.SeparableConv1D(5, 3, depth_multiplier=2, padding="same",
                                                    dilation_rate=2)]),
    "conv1d_transpose_same": ((5, 3), "conv1d_transpose",
                              lambda: [L.Conv1DTranspose(4, 3, strides=2, padding="same")]),
    "conv1d_transpose_output_padding": ((5, 3), "conv1d_transpose",
                                        lambda: [L.Conv1DTranspose(4, 4, strides=3, padding="same",
                                                                   output_padding=1)]),
    "conv2d_transpose_same": ((4, 5, 3), "conv2d_transpose",
                              lambda: [L.Conv2DTranspose(4, (3, 4), strides=2, padding="same")]),
    "conv2d_transpose_valid": ((4, 5, 3), "conv2d_transpose",
                               lambda: [L.Conv2DTranspose(4, (3, 2), strides=(2, 3),
                                                          output_padding=(1, 2))]),
    "conv2d_transpose_dynamic": ((None, None, 3), "conv2d_transpose",
                                 lambda: [L.Conv2DTranspose(2, 3, strides=2, padding="same",
                                                            activation="sigmoid")]),
    "conv3d_transpose": ((3, 4, 3, 2), "conv3d_transpose",
                         lambda: [L.Conv3DTranspose(3, 2, strides=2, padding="same")]),
    "max_pooling1d": ((9, 3), "max_pool1d", lambda: [L.MaxPooling1D(3, strides=2, padding="same")]),
    "average_pooling1d": ((9, 3), "avg_pool1d",
                          lambda: [L.AveragePooling1D(3, strides=2, padding="same")]),
    "max_pooling3d": ((5, 6, 7, 2), "max_pool3d", lambda: [L.MaxPooling3D((2, 3, 2),
                                                                          padding="same")]),
    "average_pooling3d": ((5, 6, 7, 2), "avg_pool3d", lambda: [L.AveragePooling3D(2)]),
    "global_average_pooling1d": ((9, 3), "global_avg_pool1d",
                                 lambda: [L.GlobalAveragePooling1D()]),
    "global_max_pooling1d_keepdims": ((9, 3), "global_max_pool1d",
                                      lambda: [L.GlobalMaxPooling1D(keepdims=True)]),
    "global_max_pooling2d": ((4, 5, 3), "global_max_pool2d", lambda: [L.GlobalMaxPooling2D()]),
    "global_average_pooling2d_keepdims": ((4, 5, 3), "global_avg_pool2d",
                                          lambda: [L.GlobalAveragePooling2D(keepdims=True)]),
    "global_average_pooling3d": ((3, 4, 5, 2), "global_avg_pool3d",
                                 lambda: [L.GlobalAveragePooling3D()]),
    "global_max_pooling3d_keepdims": ((3, 4, 5, 2), "global_max_pool3d",
                                      lambda: [L.GlobalMaxPooling3D(keepdims=True)]),
    "upsampling1d": ((5, 3), "upsample1d", lambda: [L.UpSampling1D(3)]),
    "upsampling2d_nearest": ((4, 5, 3), "upsample2d", lambda: [L.UpSampling2D((2, 3))]),
    "upsampling2d_bilinear": ((4, 5, 3), "upsample2d",
                              lambda: [L.UpSampling2D((2, 3), interpolation="bilinear")]),
    "upsampling2d_bilinear_after_conv": ((4, 5, 3), "upsample2d", lambda: [
        L.Conv2D(3, 1), L.UpSampling2D((3, 2), interpolation="bilinear")]),
    "upsampling3d": ((3, 4, 5, 2), "upsample3d", lambda: [L.UpSampling3D((2, 1, 3))]),
    "zero_padding1d": ((5, 3), "zero_pad1d", lambda: [L.ZeroPadding1D((1, 2))]),
    "zero_padding3d": ((3, 4, 5, 2), "zero_pad3d",
                       lambda: [L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)))]),
    "cropping1d": ((7, 3), "crop1d", lambda: [L.Cropping1D((1, 2))]),
    "cropping3d": ((5, 6, 7, 2), "crop3d", lambda: [L.Cropping3D(((1, 0), (0, 2), (1, 1)))]),
    "elu": ((5, 3), "elu", lambda: [L.ELU(0.7)]),
    "prelu_shared": ((4, 5, 3), "prelu", lambda: [L.PReLU(shared_axes=[1, 2])]),
    "prelu_full": ((4, 5, 3), "prelu", lambda: [L.PReLU()]),
    "prelu_dynamic_after_conv1d": ((None, 3), "prelu", lambda: [
        L.Conv1D(4, 3, padding="same"), L.PReLU(shared_axes=[1])]),
    "chain1d": ((16, 3), "global_avg_pool1d", lambda: [
        L.Conv1D(4, 3, padding="same"), L.PReLU(shared_axes=[1]), L.MaxPooling1D(2),
        L.Conv1D(4, 3), L.ELU(0.5), L.UpSampling1D(2), L.ZeroPadding1D(1), L.Cropping1D((0, 1)),
        L.GlobalAveragePooling1D()]),
    "chain3d": ((6, 6, 6, 2), "global_max_pool3d", lambda: [
        L.Conv3D(3, 3, padding="same"), L.PReLU(shared_axes=[1, 2, 3]), L.MaxPooling3D(2),
        L.Conv3DTranspose(2, 2, strides=2), L.GlobalMaxPooling3D()]),
}
NAMES = sorted(MODELS)


def _concrete(shape, length=8):
    return tuple(length if d is None else d for d in shape)


@pytest.fixture(scope="module")
def cases():
    """name -> (model, input batch, Keras' output, lowered graph); weights seeded N(0, 0.5)
    (biases and PReLU alphas included: Keras initializes them to zeros)."""
    rng = np.random.default_rng(0)
    out = {}
    for name in NAMES:
        shape, _, make = MODELS[name]
        x = keras.Input(shape, name="x")
        y = x
        for layer in make():
            y = layer(y)
        model = keras.Model(x, y, name=name)
        for layer in model.layers:
            weights = layer.get_weights()
            if weights:
                layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype(w.dtype)
                                   for w in weights])
        data = rng.normal(size=(2,) + _concrete(shape)).astype("float32")
        want = np.asarray(model(data, training=False))
        assert np.std(want) > 1e-2
        out[name] = (model, data, want, from_keras(model))
    return out


@pytest.fixture(scope="module")
def reloaded(cases, tmp_path_factory):
    """name -> the emitted Keras model, saved and loaded back with safe_mode=True."""
    return reloaded_emissions({n: c[3] for n, c in cases.items()},
                              tmp_path_factory.mktemp("spatial"))


@pytest.mark.parametrize("name", NAMES)
def test_lowers_to_the_expected_op(name, cases):
    graph = verify_graph(cases[name][3])
    assert graph.nodes[-1].op == MODELS[name][1]


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    got = evaluate(graph, {"x": data})[graph.outputs[0]]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_reloaded_keras_model_matches_keras(name, cases, reloaded):
    model, data, want, _ = cases[name]
    got = np.asarray(reloaded[name](data, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    classes = [type(layer).__name__ for layer in model.layers]
    assert [type(layer).__name__ for layer in reloaded[name].layers] == classes


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": data})[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["chain1d", "chain3d"])
def test_onnx_chain_transposes_only_at_its_entry(name, cases):
    # the chains end in a global pooling whose (N, C) output needs no Transpose
    assert count_ops(to_onnx(cases[name][3])).get("Transpose", 0) == 1


def test_conv_transpose_default_output_padding_is_resolved(cases):
    node = cases["conv2d_transpose_same"][3].nodes[-1]
    # "same", kernel (3, 4), stride 2: s - k % 2
    assert node.attrs["output_padding"] == (1, 2)
    node = cases["conv1d_transpose_output_padding"][3].nodes[-1]
    assert node.attrs["output_padding"] == (1,)


def test_causal_padding_is_kept(cases):
    node = cases["conv1d_causal_dilated"][3].nodes[-1]
    assert node.attrs["padding"] == "causal" and node.attrs["dilations"] == (2,)


def _one_layer(layer, shape):
    x = keras.Input(shape, name="x")
    return keras.Model(x, layer(x), name="m")


@pytest.mark.parametrize("make, layer_class, detail", [
    (lambda: _one_layer(L.UpSampling2D(2, interpolation="bicubic", name="l"), (None, 4, 2)),
     "UpSampling2D", "interpolation='bicubic' on images of non-static size"),
    (lambda: _one_layer(L.SeparableConv1D(2, 3, activation="threshold", name="l"), (6, 2)),
     "SeparableConv1D", "not in the op set"),
])
def test_unsupported_options_are_refused(make, layer_class, detail):
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(make())
    err = info.value
    assert err.layer_class == layer_class and err.layer_name == "l"
    assert detail in str(err)


def test_an_activation_outside_the_op_set_traces_keras_own_call():
    """Conv1DTranspose(activation="hard_shrink"): its converter refuses the activation,
    and Keras' own call (ops.conv_transpose, the bias, ops.hard_shrink) is traced."""
    keras.utils.set_random_seed(7)
    assert_converts_like_keras(_one_layer(
        L.Conv1DTranspose(2, 2, activation="hard_shrink", name="l"), (4, 2)))
