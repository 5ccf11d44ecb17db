"""Every ``keras.applications`` constructor, at the smallest input size it accepts:
lower, emit to Keras (same outputs as the original within 1e-4), emit to ONNX and run
it in onnxruntime (same outputs within 1e-4, at most 2 Transposes).

The list is read from ``keras.applications`` (its upper-case callables: 40 in Keras
3.15), so a new constructor is tested as soon as Keras ships it.  Each model is built
with ``weights=None`` from seed 0 and gives logits (``classifier_activation=None``).
Normalization statistics come from ``randomize_statistics`` with gains drawn from
U(0.5, 1.0) instead of its default U(0.5, 1.5): at gains around 1 the deepest random
residual networks (EfficientNetV2M/L) are chaotic, their activations reach 1e6 and
TensorFlow's own float32 result differs from a float64 reference by ~80%, so no
tolerance could hold; below 1 every model stays within ~1e-6 of that reference.
Inputs are images uniform in [0, 255) through each constructor's ``preprocess_input``
(``application_inputs``).  Outputs are compared with ``rtol=1e-4`` and
``atol=1e-4 * max|y|``: relative to the output's scale, so logits of a few hundred
(ResNet152) are held to float32 precision and tiny ones (VGG) are not compared at
an absolute 1e-4 that every value would meet.

Memory: one model at a time; the original is freed after lowering, the emitted
Keras model after its check, the IR before the ONNX model is written (with external
data) for onnxruntime to load.  The peak is about two copies of the weights plus
TensorFlow's own ~0.6 GB: under 2 GiB for every model but the ConvNeXts with
~200M (Large) and ~350M (XLarge) parameters, whose weights alone take 0.8 and 1.4 GB.
"""

from __future__ import annotations

import gc
import inspect

import pytest

import application_checks as checks

pytestmark = [pytest.mark.tf, pytest.mark.slow]

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.keras.zoo import (application_inputs, build_application,  # noqa: E402
                                        randomize_statistics)
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402

NAMES = sorted(name for name in dir(keras.applications)
               if name[:1].isupper() and callable(getattr(keras.applications, name)))
#: smallest accepted height/width (``min_size`` of ``imagenet_utils.obtain_input_shape``
#: in each constructor); 32 for the others
MIN_SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
#: the range of the BatchNormalization / LayerNormalization gains (see the docstring)
GAMMA = (0.5, 1.0)


def _size(name: str) -> int:
    return MIN_SIZE.get(name, 32)


def _options(name: str) -> dict:
    ctor = getattr(keras.applications, name)
    takes = inspect.signature(ctor).parameters
    return {"classifier_activation": None} if "classifier_activation" in takes else {}


def _free() -> None:
    keras.backend.clear_session(free_memory=True)
    gc.collect()


def test_every_constructor_is_listed():
    assert len(NAMES) >= 40
    assert {"ConvNeXtXLarge", "EfficientNetV2L", "InceptionResNetV2", "MobileNetV3Small",
            "NASNetLarge", "Xception", "VGG19"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_sizes_below_the_minimum_are_refused_by_keras(name):
    # obtain_input_shape raises before any layer is built, so this is cheap
    small = _size(name) - 1
    with pytest.raises(ValueError, match=f"at least {_size(name)}"):
        getattr(keras.applications, name)(weights=None, input_shape=(small, small, 3))


@pytest.mark.parametrize("name", NAMES)
def test_application_lowers_and_matches_in_keras_and_onnxruntime(name, tmp_path):
    _free()
    size = _size(name)
    model = build_application(name, input_shape=(size, size, 3), seed=0, **_options(name))
    randomize_statistics(model, seed=0, gamma=GAMMA)
    xs = application_inputs(name, model, batch=2, seed=0)
    want = checks.outputs(model, xs)
    graph = from_keras(model)
    del model
    _free()

    emitted = to_keras(graph)
    checks.assert_close(checks.outputs(emitted, xs), want, f"{name}: emitted Keras model",
                        require_varied=True)
    del emitted
    _free()

    onnx_model = to_onnx(graph)
    transposes = count_ops(onnx_model).get("Transpose", 0)
    feeds = {v.name: x for v, x in zip(graph.inputs, xs)}
    outputs = list(graph.outputs)
    del graph
    session = checks.onnx_session(onnx_model, tmp_path, name)
    del onnx_model
    checks.assert_close(session.run(outputs, feeds), want, f"{name}: onnxruntime",
                        require_varied=True)
    assert transposes <= 2, f"{name}: {transposes} Transpose nodes"
