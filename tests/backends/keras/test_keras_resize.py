"""``keras.layers.Resizing``, ``keras.layers.CenterCrop``, ``UpSampling2D``'s other
interpolations and ``keras.ops.image.resize`` -> the ``resize`` op: each
interpolation of ``tf.image.resize``, up and down, odd sizes, antialiasing, the aspect
ratio options, channels-first data and integer images.  Each tiny seeded model is built
once per module; Keras' own output is compared with the NumPy interpreter, with the
emitted ONNX in onnxruntime (CPU) and with the emitted Keras model saved and reloaded
with ``safe_mode=True`` (rtol 1e-4, atol 1e-4 times the output's magnitude).  What
cannot be matched is refused naming the layer and the option."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import assert_close_scaled, reloaded_emissions  # noqa: E402
from graphir.backends.keras import from_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError, UnsupportedOpError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")

#: name -> (input shape without the batch, the function of the input tensor)
MODELS = {
    **{f"{m}_up": ((5, 7, 3), lambda x, m=m: L.Resizing(8, 11, interpolation=m)(x))
       for m in METHODS},
    **{f"{m}_down": ((9, 13, 2), lambda x, m=m: L.Resizing(4, 6, interpolation=m)(x))
       for m in METHODS},
    **{f"{m}_antialias_down": ((11, 10, 2), lambda x, m=m: L.Resizing(
        4, 3, interpolation=m, antialias=True)(x))
       for m in ("bilinear", "bicubic", "lanczos3")},
    "bilinear_mixed": ((6, 9, 2), lambda x: L.Resizing(13, 4)(x)),
    "nearest_ratio_two_thirds": ((6, 4, 2), lambda x: L.Resizing(9, 6, "nearest")(x)),
    "crop_to_aspect_ratio": ((7, 12, 2), lambda x: L.Resizing(
        5, 4, crop_to_aspect_ratio=True)(x)),
    "pad_to_aspect_ratio": ((7, 5, 2), lambda x: L.Resizing(
        6, 9, pad_to_aspect_ratio=True)(x)),
    "pad_to_aspect_ratio_fill": ((5, 9, 2), lambda x: L.Resizing(
        8, 6, interpolation="bicubic", pad_to_aspect_ratio=True, fill_value=0.5)(x)),
    "channels_first": ((3, 5, 7), lambda x: L.Resizing(
        9, 4, data_format="channels_first")(x)),
    "ops_image_resize": ((6, 5, 3), lambda x: ops.image.resize(
        x, (3, 8), interpolation="bicubic")),
    "ops_image_resize_lanczos_antialias": ((10, 12, 1), lambda x: ops.image.resize(
        x, (4, 5), interpolation="lanczos5", antialias=True)),
    "after_conv": ((6, 6, 2), lambda x: L.Resizing(9, 4, "bilinear")(L.Conv2D(3, 1)(x))),
    "bicubic_half_after_conv": ((8, 6, 2), lambda x: L.Resizing(4, 3, "bicubic")(
        L.Conv2D(3, 1)(x))),
    "dynamic_bilinear": ((None, None, 3), lambda x: L.Resizing(6, 5)(x)),
    "center_crop": ((7, 6, 2), lambda x: L.CenterCrop(4, 3)(x)),
    "center_crop_smart_resize": ((5, 6, 2), lambda x: L.CenterCrop(7, 4)(x)),
    "center_crop_channels_first": ((2, 5, 6), lambda x: L.CenterCrop(
        8, 9, data_format="channels_first")(x)),
    "upsampling2d_lanczos3": ((4, 5, 2), lambda x: L.UpSampling2D(
        (2, 3), interpolation="lanczos3")(x)),
}
NAMES = sorted(MODELS)
_DYNAMIC_SIZE = (7, 9)


def _data(shape, rng):
    concrete = tuple(d if d is not None else s for d, s in zip(shape, _DYNAMIC_SIZE + (0,)))
    return rng.normal(size=(2,) + concrete).astype("float32")


@pytest.fixture(scope="module")
def cases():
    """name -> (model, input batch, Keras' output, lowered graph)."""
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    out = {}
    for name in NAMES:
        shape, make = MODELS[name]
        x = keras.Input(shape, name="x")
        model = keras.Model(x, make(x), name=name)
        data = _data(shape, rng)
        want = np.asarray(model(data, training=False))
        out[name] = (model, data, want, from_keras(model))
    return out


@pytest.fixture(scope="module")
def reloaded(cases, tmp_path_factory):
    return reloaded_emissions({n: c[3] for n, c in cases.items()},
                              tmp_path_factory.mktemp("resize"))


_close = assert_close_scaled


@pytest.mark.parametrize("name", NAMES)
def test_lowers_to_resize(name, cases):
    graph = verify_graph(cases[name][3])
    want = "crop2d" if name == "center_crop" else "resize"
    assert want in [n.op for n in graph.nodes]


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    _close(evaluate(graph, {"x": data})[graph.outputs[0]], want)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras(name, cases):
    _, data, want, graph = cases[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    _close(sess.run(None, {"x": data})[0], want)


@pytest.mark.parametrize("name", NAMES)
def test_reloaded_keras_model_matches_keras(name, cases, reloaded):
    _, data, want, _ = cases[name]
    _close(np.asarray(reloaded[name](data, training=False)), want)


@pytest.mark.parametrize("name, onnx_op", [
    ("bilinear_up", "Resize"), ("bilinear_down", "Resize"), ("nearest_up", "Resize"),
    # 2x down: the cubic offsets (0.5) land exactly on TF's table; NCHW after the Conv
    ("bicubic_half_after_conv", "Resize"),
    ("bicubic_down", "Einsum"),  # NHWC: onnxruntime's cubic Resize needs NCHW
    ("area_down", "Einsum"), ("lanczos3_up", "Einsum"),
    ("bicubic_up", "Einsum"),  # TF quantizes the cubic offsets to 1/1024
])
def test_onnx_uses_resize_where_it_is_exact(name, onnx_op, cases):
    counts = count_ops(to_onnx(cases[name][3]))
    assert counts.get(onnx_op, 0) == 1, counts


def test_channels_first_needs_no_transpose_in_onnx(cases):
    # NCHW input: the Resize runs on it directly (no Transpose at all)
    counts = count_ops(to_onnx(cases["channels_first"][3]))
    assert counts.get("Transpose", 0) == 0 and counts.get("Resize", 0) == 1, counts


def test_integer_images_resize_nearest():
    x = keras.Input((5, 4, 1), dtype="int32", name="x")
    model = keras.Model(x, L.Resizing(7, 3, "nearest")(x))
    data = np.arange(40, dtype="int32").reshape(2, 5, 4, 1)
    graph = from_keras(model)
    want = np.asarray(model(data))
    np.testing.assert_array_equal(evaluate(graph, {"x": data})[graph.outputs[0]], want)
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(sess.run(None, {"x": data})[0], want)


def _one_layer(layer, shape, dtype="float32"):
    x = keras.Input(shape, dtype=dtype, name="x")
    return keras.Model(x, layer(x), name="m")


@pytest.mark.parametrize("make, detail", [
    (lambda: _one_layer(L.Resizing(3, 3, name="l"), (5, 5, 1), dtype="int32"),
     "interpolation='bilinear'"),
    (lambda: _one_layer(L.Resizing(3, 4, crop_to_aspect_ratio=True, name="l"),
                        (None, None, 1)), "crop_to_aspect_ratio"),
])
def test_unsupported_options_are_refused(make, detail):
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(make())
    assert info.value.layer_class == "Resizing" and info.value.layer_name == "l"
    assert detail in str(info.value)


def test_dynamic_nearest_gives_tf_pixels_at_every_input_size():
    """Nearest resize of an input whose height and width are unknown: the ONNX computes
    TF's float32 index formula at run time; bit-equal to Keras for every input size
    from 1 to 24 (ties and non-power-of-two ratios included)."""
    model = _one_layer(L.Resizing(7, 5, "nearest", name="l"), (None, None, 1))
    sess = ort.InferenceSession(to_onnx(from_keras(model)).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for n in range(1, 25):
        x = rng.normal(size=(1, n, 25 - n, 1)).astype("float32")
        np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.asarray(model(x)),
                                      err_msg=f"input {n}x{25 - n}")


def test_dynamic_size_is_refused_by_onnx_for_non_bilinear():
    graph = from_keras(_one_layer(L.Resizing(3, 4, "area", name="l"), (None, None, 1)))
    with pytest.raises(UnsupportedOpError, match="non-static height or width"):
        to_onnx(graph)
