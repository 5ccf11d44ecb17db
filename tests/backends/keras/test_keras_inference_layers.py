"""Layers that are the identity or a fixed function at inference
(``graphir/backends/keras/inference_converters.py``): the regularization and random
augmentation layers lower to ``identity``/``dropout``, ``Dot`` to ``einsum`` (with an
l2-normalization chain when ``normalize``), ``UnitNormalization`` to the l2-normalization
chain.  One seeded model covers them all; the ONNX in onnxruntime and the emitted Keras
model (in process, and saved then reloaded with ``safe_mode=True``) are compared with
Keras' own ``predict`` outside graphir; the non-identity cases are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from graphir.backends.keras import from_keras, save_keras, supported_layer_classes, to_keras  # noqa: E402,E501
from graphir.backends.keras.inference_converters import AUGMENTATION_LAYERS, dot_equation  # noqa: E402,E501
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

L = keras.layers
VR = {"value_range": (0.0, 1.0)}

#: output name -> layer applied to the image input ``img`` (8, 8, 3), identity at inference
AUGMENTATIONS = {
    "flip": lambda: L.RandomFlip(), "rotation": lambda: L.RandomRotation(0.2),
    "zoom": lambda: L.RandomZoom(0.2), "translation": lambda: L.RandomTranslation(0.2, 0.2),
    "contrast": lambda: L.RandomContrast(0.3), "brightness": lambda: L.RandomBrightness(0.3, **VR),
    "crop_same": lambda: L.RandomCrop(8, 8),
    "color_degeneration": lambda: L.RandomColorDegeneration(0.5, **VR),
    "color_jitter": lambda: L.RandomColorJitter(brightness_factor=0.2, **VR),
    "elastic": lambda: L.RandomElasticTransform(**VR), "erasing": lambda: L.RandomErasing(**VR),
    "blur": lambda: L.RandomGaussianBlur(**VR), "grayscale": lambda: L.RandomGrayscale(),
    "hue": lambda: L.RandomHue(0.3, **VR), "invert": lambda: L.RandomInvert(**VR),
    "perspective": lambda: L.RandomPerspective(), "posterization": lambda: L.RandomPosterization(4, **VR),
    "saturation": lambda: L.RandomSaturation(0.5, **VR),
    "sharpness": lambda: L.RandomSharpness(0.5, **VR), "shear": lambda: L.RandomShear(0.2, 0.2),
    "aug_mix": lambda: L.AugMix(**VR), "cut_mix": lambda: L.CutMix(), "mix_up": lambda: L.MixUp(),
    "rand_augment": lambda: L.RandAugment(**VR), "solarization": lambda: L.Solarization(0.5, **VR),
    "gaussian_noise": lambda: L.GaussianNoise(0.5), "gaussian_dropout": lambda: L.GaussianDropout(0.4),
    "alpha_dropout": lambda: L.AlphaDropout(0.4), "spatial_dropout2d": lambda: L.SpatialDropout2D(0.4),
    "activity_reg": lambda: L.ActivityRegularization(0.1, 0.1),
}
#: identity outputs on other inputs: name -> (input name, layer factory)
OTHER_IDENTITIES = {"spatial_dropout1d": ("seq", lambda: L.SpatialDropout1D(0.4)),
                    "spatial_dropout3d": ("vol", lambda: L.SpatialDropout3D(0.4))}
DROPOUT_OUTPUTS = {"gaussian_dropout", "alpha_dropout", "spatial_dropout1d",
                   "spatial_dropout2d", "spatial_dropout3d"}


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    ins = {"img": keras.Input((8, 8, 3), name="img"), "seq": keras.Input((5, 4), name="seq"),
           "vol": keras.Input((2, 3, 3, 2), name="vol"), "a": keras.Input((5,), name="a"),
           "b": keras.Input((5,), name="b"), "p": keras.Input((3, 4), name="p"),
           "q": keras.Input((3, 6), name="q")}
    outputs = {name: make()(ins["img"]) for name, make in AUGMENTATIONS.items()}
    outputs.update({name: make()(ins[src]) for name, (src, make) in OTHER_IDENTITIES.items()})
    qd = L.Dense(4, name="qd")(ins["q"])
    outputs.update({
        "dot_11": L.Dot(axes=(1, 1))([ins["a"], ins["b"]]),                 # (batch, 1)
        "dot_11_norm": L.Dot(axes=1, normalize=True)([ins["a"], ins["b"]]),  # cosine
        "dot_22": L.Dot(axes=(2, 2))([ins["p"], qd]),                        # (batch, 3, 3)
        "dot_11_rank3": L.Dot(axes=(1, 1))([ins["p"], ins["q"]]),            # (batch, 4, 6)
        "dot_22_norm": L.Dot(axes=(-1, 2), normalize=True)([ins["p"], qd]),
        "dot_mixed": L.Dot(axes=(1, 2))([ins["a"], L.Dense(5)(ins["q"])]),  # rank 2 . rank 3
        "unit_last": L.UnitNormalization()(ins["p"]),
        "unit_12": L.UnitNormalization(axis=(1, 2))(ins["p"]),
    })
    return keras.Model(list(ins.values()), list(outputs.values()), name="inference"), \
        list(outputs)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(17)
    n = 3
    data = {"img": rng.uniform(0.0, 1.0, (n, 8, 8, 3)), "seq": rng.normal(size=(n, 5, 4)),
            "vol": rng.normal(size=(n, 2, 3, 3, 2)), "a": rng.normal(size=(n, 5)),
            "b": rng.normal(size=(n, 5)), "p": rng.normal(size=(n, 3, 4)),
            "q": rng.normal(size=(n, 3, 6))}
    data = {k: v.astype(np.float32) for k, v in data.items()}
    data["p"][1, 2] = 0.0   # a zero row: the norm's 1/epsilon bound decides (0 * bound = 0)
    data["a"][2] = 0.0
    return data


@pytest.fixture(scope="module")
def expected(model, inputs):
    m, names = model
    return dict(zip(names, m.predict(inputs, verbose=0)))


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model[0])


def _source(name):
    return OTHER_IDENTITIES[name][0] if name in OTHER_IDENTITIES else "img"


def _compare(got, expected):
    for name, want in expected.items():
        assert got[name].shape == want.shape, name
        assert got[name].dtype == want.dtype, name
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_the_keras_reference_is_the_identity_at_inference(model, inputs, expected):
    for name in [*AUGMENTATIONS, *OTHER_IDENTITIES]:
        np.testing.assert_array_equal(expected[name], inputs[_source(name)], err_msg=name)
    # and the layers really are random in training: not the identity there
    keras.utils.set_random_seed(1)
    noisy = np.asarray(L.GaussianNoise(0.5)(inputs["img"], training=True))
    assert not np.allclose(noisy, inputs["img"])


def test_the_dot_and_norm_references_are_not_vacuous(expected, inputs):
    cos = expected["dot_11_norm"]
    assert cos.shape == (3, 1) and np.all(np.abs(cos) <= 1.0 + 1e-6) and cos[2, 0] == 0.0
    a, b = inputs["a"], inputs["b"]
    np.testing.assert_allclose(expected["dot_11"][:, 0], np.sum(a * b, axis=1), rtol=1e-5)
    assert expected["dot_11_rank3"].shape == (3, 4, 6) and expected["dot_22"].shape == (3, 3, 3)
    unit = expected["unit_last"]
    norms = np.linalg.norm(unit, axis=-1)
    np.testing.assert_allclose(norms[norms > 0], 1.0, rtol=1e-5)
    assert np.all(unit[1, 2] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(expected["unit_12"].reshape(3, -1), axis=1), 1.0,
                               rtol=1e-5)


def test_lowering_uses_identity_dropout_einsum_and_the_norm_chain(model, graph):
    producers = graph.producers()
    by_name = {key: producers[out][0] for key, out in zip(model[1], graph.outputs)}
    for name in [*AUGMENTATIONS, *OTHER_IDENTITIES]:
        want = "dropout" if name in DROPOUT_OUTPUTS else "identity"
        assert by_name[name].op == want, name
    assert by_name["gaussian_dropout"].attrs["rate"] == pytest.approx(0.4)
    assert by_name["dot_11"].op == "expand_dims"
    assert by_name["dot_22"].op == "einsum" and by_name["dot_22"].attrs["equation"] == "abz,adz->abd"
    assert by_name["dot_11_rank3"].attrs["equation"] == "azc,aze->ace"
    assert by_name["unit_last"].op == "multiply"
    ops_ = [n.op for n in graph.nodes]
    # 2 normalized Dots x 2 inputs + 2 UnitNormalizations: one chain each
    for op in ("square", "sum", "rsqrt", "clip"):
        assert ops_.count(op) == 6, op
    bounds = sorted({n.attrs["max"] for n in graph.nodes if n.op == "clip"})
    assert bounds == [float(np.float32(1e7)), float(np.float32(1e12))]   # epsilon 1e-7, 1e-12
    axes = sorted(n.attrs["axes"] for n in graph.nodes if n.op == "sum")
    # Dot normalize: a=(1,), b=(1,), p=(2,), qd=(2,); UnitNormalization: (2,) and (1, 2)
    assert axes == [(1,), (1,), (1, 2), (2,), (2,), (2,)]


def test_onnx_matches_keras(model, graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    _compare(dict(zip(model[1], session.run(names, inputs))), expected)


def test_emitted_keras_matches_keras_and_reloads_safely(model, graph, inputs, expected, tmp_path):
    emitted = to_keras(graph)
    _compare(dict(zip(model[1], emitted.predict(inputs, verbose=0))), expected)
    path = tmp_path / "inference.keras"
    save_keras(emitted, path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    _compare(dict(zip(model[1], reloaded.predict(inputs, verbose=0))), expected)
    classes = {type(layer).__name__ for layer in reloaded.layers}
    assert not classes & {"RandomFlip", "GaussianNoise", "Dot", "UnitNormalization"}


def test_dot_equation_follows_batch_dot():
    assert dot_equation(2, 2, 1, 1) == ("az,az->a", 1)
    assert dot_equation(3, 3, 2, 2) == ("abz,adz->abd", 3)
    assert dot_equation(3, 2, 1, 1) == ("azc,az->ac", 2)
    assert dot_equation(2, 3, 1, 2) == ("az,acz->ac", 2)


def _one_layer(layer, shape, dtype="float32"):
    x = keras.Input(shape, dtype=dtype)
    return keras.Model(x, layer(x))


def test_random_crop_of_another_size_is_refused_by_name():
    # Keras 3.15 returns the input uncropped at inference while its symbolic output is
    # (6, 6): neither an identity nor a crop would match both, so it is refused
    with pytest.raises(UnsupportedLayerError, match=r"RandomCrop.*\(8, 8\).*\(6, 6\)"):
        from_keras(_one_layer(L.RandomCrop(6, 6, name="crop"), (8, 8, 3)))


def test_augmentation_of_another_dtype_is_refused_by_name():
    with pytest.raises(UnsupportedLayerError, match=r"RandomFlip.*int32"):
        from_keras(_one_layer(L.RandomFlip(name="flip"), (8, 8, 3), "int32"))


def test_an_int_dot_is_traced_as_keras_computes_it():
    """The converter refuses int inputs (einsum needs floats); Keras' own call traces:
    ``batch_dot`` through ``keras.ops.matmul``, which on TensorFlow multiplies in float32
    and casts back, so the IR does exactly that (an int32 result, float32 inside)."""
    a, b = keras.Input((5,), dtype="int32"), keras.Input((5,), dtype="int32")
    model = keras.Model([a, b], L.Dot(1, name="idot")([a, b]))
    graph = from_keras(model)
    assert [n.op for n in graph.nodes if n.op in ("matmul", "cast")] == [
        "cast", "cast", "matmul", "cast"]
    x = np.arange(10, dtype="int32").reshape(2, 5)
    y = np.arange(10, 20, dtype="int32").reshape(2, 5)
    want = np.asarray(model([x, y]))
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {graph.inputs[0].name: x, graph.inputs[1].name: y})[0]
    assert want.dtype == got.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.asarray(to_keras(graph)([x, y])), want)


def test_supported_layer_classes_lists_them():
    names = set(supported_layer_classes())
    assert {c.__name__ for c in AUGMENTATION_LAYERS} <= names
    assert {"RandomCrop", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
            "SpatialDropout2D", "SpatialDropout3D", "ActivityRegularization", "Dot",
            "UnitNormalization"} <= names
    assert "GroupNormalization" not in names
