"""``AdaptiveAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D`` lower as Keras'
TensorFlow "two-pool gather" (stride-1 poolings with the small and big windows, a
concatenation and a gather per axis); each tiny seeded model, built once per module, is
compared with Keras through the interpreter, onnxruntime and the emitted Keras model
reloaded with ``safe_mode=True``."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.keras.adaptive_pooling_converters import adaptive_bins  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402

MODELS = {
    "avg1d": ((7, 2), lambda: L.AdaptiveAveragePooling1D(3)),
    "max1d_up": ((3, 2), lambda: L.AdaptiveMaxPooling1D(5)),
    "avg2d": ((5, 7, 2), lambda: L.AdaptiveAveragePooling2D((2, 3))),
    "max2d": ((6, 9, 3), lambda: L.AdaptiveMaxPooling2D((4, 4))),
    "avg3d": ((4, 5, 3, 2), lambda: L.AdaptiveAveragePooling3D((2, 3, 2))),
    "max3d": ((4, 4, 4, 1), lambda: L.AdaptiveMaxPooling3D(3)),
    "avg2d_channels_first": ((2, 5, 7), lambda: L.AdaptiveAveragePooling2D(
        (3, 2), data_format="channels_first")),
    "avg2d_global": ((5, 6, 2), lambda: L.AdaptiveAveragePooling2D(1)),
}
NAMES = sorted(MODELS)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("adaptive")
    out = {}
    for name in NAMES:
        shape, make = MODELS[name]
        x = keras.Input(shape, name="x")
        model = keras.Model(x, make()(x))
        data = rng.normal(size=(2,) + shape).astype("float32")
        graph = from_keras(model)
        path = folder / f"{name}.keras"
        save_keras(to_keras(graph), path)
        out[name] = (data, np.asarray(model(data)), graph,
                     keras.saving.load_model(path, safe_mode=True, compile=False))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_onnx_and_reloaded_keras_match_keras(name, cases):
    data, want, graph, reloaded = cases[name]
    got = {"interpreter": evaluate(graph, {"x": data})[graph.outputs[0]],
           "onnx": ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                        providers=["CPUExecutionProvider"]).run(
                                            None, {"x": data})[0],
           "keras": np.asarray(reloaded(data))}
    for what, value in got.items():
        assert value.shape == want.shape, what
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-5, err_msg=what)


def test_bins_follow_tensorflow():
    starts, sizes = adaptive_bins(5, 3)
    assert starts.tolist() == [0, 1, 3] and sizes.tolist() == [2, 3, 2]


def test_dynamic_sizes_are_refused():
    x = keras.Input((None, 3), name="x")
    with pytest.raises(UnsupportedLayerError, match="non-static"):
        from_keras(keras.Model(x, L.AdaptiveAveragePooling1D(2, name="l")(x)))
