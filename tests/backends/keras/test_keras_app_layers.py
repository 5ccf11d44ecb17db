"""The layers and keras.ops arithmetic of keras.applications beyond the first op set
(LayerNormalization, SeparableConv2D, Cropping2D, ConvNeXt's LayerScale,
InceptionResNetV2's CustomScaleLayer, ``x + 3.0`` and friends): the seeded example
models of ``examples_applications`` lower, emit to Keras with identical outputs, emit to
ONNX within 1e-4, and save/reload with ``safe_mode=True``; refusals name the class."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras.src.applications.convnext import LayerScale  # noqa: E402
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer  # noqa: E402

from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.keras import lower as lower_module  # noqa: E402
from graphir.backends.keras.examples_applications import application_examples  # noqa: E402
from graphir.backends.keras.randomize import randomize_statistics  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

NAMES = sorted(application_examples())
#: the IR ops each example must produce (beyond the common ones)
EXPECTED_OPS = {
    "convnext_style": {"layer_norm", "scale", "add", "dense", "normalize", "conv2d"},
    "mobilenet_v3_style": {"rescale", "relu", "multiply", "subtract", "add"},
    "inception_resnet_style": {"rescale", "add", "concatenate"},
    "xception_nasnet_style": {"separable_conv2d", "crop2d", "zero_pad2d"},
}


@pytest.mark.parametrize("name", NAMES)
def test_example_lowers_to_the_expected_ops(name, lowered):
    graph = verify_graph(lowered[name])
    assert EXPECTED_OPS[name] <= {n.op for n in graph.nodes}


@pytest.mark.parametrize("name", NAMES)
def test_emitted_keras_model_computes_identical_outputs(name, emitted, example_inputs_by_name,
                                                        reference_outputs, run_model):
    got = run_model(emitted[name], example_inputs_by_name[name])
    want = reference_outputs[name]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.std(w) > 1e-2
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name", NAMES)
def test_emitted_keras_model_uses_only_builtin_layers(name, emitted):
    for layer in emitted[name].layers:
        assert type(layer).__module__.startswith("keras.src.layers."), type(layer)
        assert type(layer) is getattr(keras.layers, type(layer).__name__)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras_and_the_interpreter(name, lowered, example_inputs_by_name,
                                                reference_outputs):
    graph, xs = lowered[name], example_inputs_by_name[name]
    model = to_onnx(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    feeds = {v.name: x for v, x in zip(graph.inputs, xs)}
    got = sess.run(list(graph.outputs), feeds)
    reference = evaluate(graph, feeds)
    for name_out, g, w in zip(graph.outputs, got, reference_outputs[name]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(g, reference[name_out], rtol=1e-4, atol=1e-4)
    assert count_ops(model).get("Transpose", 0) <= 2


def test_names_of_helper_nodes_and_unnamed_weights(lowered, examples):
    graph = lowered["inception_resnet_style"]
    helper = graph.node("block0_scale/scale")
    assert helper.op == "rescale"
    assert helper.attrs["scale"] == float(np.float32(0.17)) and helper.attrs["offset"] == 0.0
    final = graph.node("block0_scale")
    assert final.op == "add" and final.inputs == ("inp", "block0_scale/scale")
    convnext = lowered["convnext_style"]
    assert convnext.node("block0_layer_scale").inputs[1] == "block0_layer_scale/gamma"
    gamma = examples["convnext_style"].get_layer("block0_layer_scale").gamma.numpy()
    np.testing.assert_array_equal(convnext.weights["block0_layer_scale/gamma"], gamma)


def test_layer_norm_weights_follow_keras_reshape_of_raw_axes(lowered, examples):
    layer = examples["convnext_style"].get_layer("ln_raw_axes")
    assert layer.axis == [-1, 1] and tuple(layer.gamma.shape) == (4, 2)
    node = lowered["convnext_style"].node("ln_raw_axes")
    assert node.attrs["axis"] == (1, 2)
    np.testing.assert_array_equal(lowered["convnext_style"].weights["ln_raw_axes/gamma"],
                                  layer.gamma.numpy().reshape(2, 4))
    assert lowered["convnext_style"].node("ln_all_axes").inputs[1:] == ("ln_all_axes/gamma",)
    assert lowered["convnext_style"].node("head_ln").inputs == ("gap", "", "head_ln/beta")


def test_keras_ops_scalars_are_rounded_to_the_tensor_dtype(lowered):
    graph = lowered["mobilenet_v3_style"]
    rescales = {tuple(sorted(n.attrs.items())) for n in graph.nodes if n.op == "rescale"}
    assert (("offset", 0.0), ("scale", float(np.float32(1.0 / 6.0)))) in rescales
    assert (("offset", 2.0), ("scale", -1.0)) in rescales  # 2.0 - x
    assert (("offset", -0.5), ("scale", 1.0)) in rescales  # x - 0.5
    assert (("offset", 0.0), ("scale", 0.25)) in rescales  # x / 4.0


_RELOAD = textwrap.dedent("""
    import sys, numpy as np, keras
    data = np.load(sys.argv[1])
    for name in sys.argv[2:]:
        model = keras.saving.load_model(f"{name}.keras", safe_mode=True, compile=False)
        out = model(data[name + "/x"], training=False)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for i, o in enumerate(outs):
            np.testing.assert_array_equal(np.asarray(o), data[f"{name}/y{i}"])
    print("ok")
""")


def test_emitted_models_reload_in_a_fresh_process_with_safe_mode(tmp_path, emitted,
                                                                example_inputs_by_name,
                                                                reference_outputs):
    arrays = {}
    for name in NAMES:
        save_keras(emitted[name], tmp_path / f"{name}.keras")
        (x,) = example_inputs_by_name[name]
        arrays[f"{name}/x"] = x
        for i, y in enumerate(reference_outputs[name]):
            arrays[f"{name}/y{i}"] = y
    np.savez(tmp_path / "data.npz", **arrays)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _RELOAD, str(tmp_path / "data.npz"), *NAMES],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_randomize_statistics_covers_layer_normalization():
    x = keras.Input((3, 4), name="x")
    model = keras.Model(x, L.LayerNormalization(name="ln")(x))
    layer = randomize_statistics(model, seed=3).get_layer("ln")
    assert np.all((layer.gamma.numpy() >= 0.5) & (layer.gamma.numpy() <= 1.5))
    assert not np.allclose(layer.gamma.numpy(), 1.0) and not np.allclose(layer.beta.numpy(), 0)


# ---------------------------------------------------------------------- refusals

def _refusal(build, match: str, layer_class: str):
    with pytest.raises(UnsupportedLayerError, match=match) as info:
        from_keras(build())
    assert info.value.layer_class == layer_class
    return info.value


def _ops_model(fn, shape=(4, 3), dtype="float32"):
    x = keras.Input(shape, dtype=dtype, name="x")
    return keras.Model(x, fn(x), name="m")


@pytest.mark.parametrize("fn, match, cls", [
    (lambda x: keras.ops.signbit(x), "keras.ops operation", "Signbit"),
])
def test_unsupported_keras_ops_arithmetic_is_refused(fn, match, cls):
    _refusal(lambda: _ops_model(fn), match, cls)


def test_tensor_tensor_integer_arithmetic_lowers():
    graph = from_keras(_ops_model(lambda x: (x + x) * x - x, dtype="int32"))
    assert [n.op for n in graph.nodes] == ["add", "multiply", "subtract"]
    assert str(graph.output_types()[0]) == "i32[batch,4,3]"


def test_unsupported_options_of_the_new_layers_are_refused():
    """SeparableConv2D channels-first with a bias: the converter refuses, and tracing
    Keras' own call (the fallback) refuses too, so the converter's reason stands."""
    def build():
        x = keras.Input((6, 6, 6), name="x")
        # (6, 6, 6) channels-first -> (4, 4, 4): Keras adds the bias along the last axis
        layer = L.SeparableConv2D(4, 3, data_format="channels_first", name="bad")
        return keras.Model(x, layer(x), name="m")

    err = _refusal(build, "channels_first", "SeparableConv2D")
    assert err.layer_name == "bad"


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_options_the_converters_refuse_trace_keras_own_call(monkeypatch):
    """An option a layer's converter refuses (LayerNormalization's deprecated
    rms_scaling) is lowered by tracing Keras' own call instead: primitive nodes under
    the layer's scope; ONNX and the emitted Keras model compute what Keras computes."""
    keras.utils.set_random_seed(2)
    x = keras.Input((6, 6, 6), name="x")
    model = keras.Model(x, L.LayerNormalization(rms_scaling=True, name="bad")(x), name="m")
    model.get_layer("bad").set_weights([np.linspace(0.5, 1.5, 6, dtype="float32")])
    graph = from_keras(model)
    assert "bad" in graph.outputs
    assert all(n.op != "layer_norm" for n in graph.nodes)
    data = np.random.default_rng(1).normal(size=(2, 6, 6, 6)).astype(np.float32) + 0.5
    want = np.asarray(model(data))
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"x": data})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(data)), want, rtol=1e-5, atol=1e-5)
    # without the fallback the converter's refusal stands
    monkeypatch.setattr(lower_module, "_keras_call_traceable", lambda op: False)
    with pytest.raises(UnsupportedLayerError, match="rms_scaling"):
        from_keras(model)


def test_subclasses_of_the_application_layers_are_traced():
    """A subclass has no converter (converters match exact classes): its inherited
    call is traced, with whatever it overrides."""
    class MyScale(CustomScaleLayer):
        pass

    x = keras.Input((4,), name="x")
    model = keras.Model(x, MyScale(0.5, name="mine")([x, x]), name="m")
    graph = from_keras(model)
    assert "mine" in graph.outputs
    data = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"x": data})[0]
    np.testing.assert_allclose(got, np.asarray(model(data)), rtol=1e-6, atol=1e-6)


def test_layer_scale_on_a_rank2_tensor_lowers_and_emits():
    from graphir.backends.keras import to_keras

    x = keras.Input((5,), name="x")
    scale = LayerScale(0.5, 5, name="ls")
    model = keras.Model(x, scale(x), name="m")
    scale.gamma.assign(np.arange(1, 6, dtype="float32"))
    data = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    emitted = to_keras(from_keras(model))
    np.testing.assert_array_equal(np.asarray(emitted(data)), np.asarray(model(data)))
