"""The Keras backend's registry: the lowering and building tables, their decorators and
lookups, and the completeness of the tables once every group module is loaded."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from keras.src.ops import numpy as knp  # noqa: E402

from graphir import ops  # noqa: E402
from graphir.backends.keras import registry  # noqa: E402
from graphir.backends.keras.registry import (accepted_call_kwargs, build_rule,  # noqa: E402
                                             builder_for, builds, built_ops, converter_for,
                                             keeps_input_dtype, lowering_rule, lowers,
                                             supported_layer_classes, supported_operations)

L = keras.layers

#: the layer classes that converted before the registry existed (a lost group module
#: import would drop some of them)
LAYER_CLASSES = (
    "Activation", "Add", "AdditiveAttention", "Attention", "Average", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "BatchNormalization", "Bidirectional",
    "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
    "Conv3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D", "CustomScaleLayer", "Dense",
    "DepthwiseConv1D", "DepthwiseConv2D", "Dropout", "ELU", "Embedding", "Flatten", "GRU",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "Identity", "LSTM",
    "LayerNormalization", "LayerScale", "LeakyReLU", "MaxPooling1D", "MaxPooling2D",
    "MaxPooling3D", "Maximum", "Minimum", "MultiHeadAttention", "Multiply", "Normalization",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Rescaling", "Reshape", "SeparableConv1D",
    "SeparableConv2D", "SimpleRNN", "Softmax", "Subtract", "TimeDistributed", "UpSampling1D",
    "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
#: the layers identity or fixed at inference (``inference_converters``), added to them
INFERENCE_LAYER_CLASSES = (
    "ActivityRegularization", "AlphaDropout", "AugMix", "CutMix", "Dot", "GaussianDropout",
    "GaussianNoise", "MixUp", "RandAugment", "RandomBrightness", "RandomColorDegeneration",
    "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomElasticTransform",
    "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale", "RandomHue",
    "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation",
    "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom",
    "Solarization", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "UnitNormalization")


@pytest.fixture
def scratch_tables(monkeypatch):
    """Copies of both tables, so a test's registrations vanish after it."""
    registry.load_groups()
    monkeypatch.setattr(registry, "_LOWERINGS", dict(registry._LOWERINGS))
    monkeypatch.setattr(registry, "_BUILDS", dict(registry._BUILDS))


# ---------------------------------------------------------------------- completeness

def test_every_group_is_registered():
    assert len(LAYER_CLASSES) == 66 and len(INFERENCE_LAYER_CLASSES) == 34
    assert set(LAYER_CLASSES) | set(INFERENCE_LAYER_CLASSES) <= set(supported_layer_classes())
    assert len(supported_layer_classes()) >= 66 + 34
    assert supported_layer_classes() == tuple(sorted(supported_layer_classes()))
    assert {"keras.ops.add", "keras.ops.cast", "keras.ops.divide", "keras.ops.multiply",
            "keras.ops.subtract", "keras.ops.true_divide"} <= set(supported_operations())
    assert supported_operations() == tuple(sorted(supported_operations()))
    assert all(name.startswith("keras.ops.") for name in supported_operations())
    # each name is a real keras.ops function (graphir's own trace operations are not)
    for name in supported_operations():
        *space, function = name.split(".")[2:]
        namespace = keras.ops if not space else getattr(keras.ops, space[0])
        assert callable(getattr(namespace, function, None)), name
    assert "keras.ops.image.rgb_to_grayscale" in supported_operations()


def test_every_ir_op_has_a_keras_builder():
    assert set(ops.op_names()) <= set(built_ops())


def test_every_builder_builds_a_known_op():
    assert set(built_ops()) <= set(ops.op_names())


# ---------------------------------------------------------------------- lookups

def test_converter_lookup_is_by_exact_class():
    class MyDense(L.Dense):
        pass

    assert converter_for(L.Dense(2)) is not None
    assert converter_for(MyDense(2)) is None
    assert lowering_rule(MyDense(2)) is None
    assert converter_for(knp.Add()) is converter_for(knp.TrueDivide())


def test_accepted_call_kwargs_and_keeps_input_dtype():
    mha = L.MultiHeadAttention(num_heads=1, key_dim=2)
    assert "use_causal_mask" in accepted_call_kwargs(mha)
    assert "training" not in accepted_call_kwargs(mha)
    assert accepted_call_kwargs(L.Attention()) == {"mask", "return_attention_scores",
                                                   "use_causal_mask"}
    assert accepted_call_kwargs(L.Dense(2)) == frozenset()
    assert accepted_call_kwargs(object()) == frozenset()
    assert keeps_input_dtype(L.Add()) and keeps_input_dtype(L.RepeatVector(2))
    assert not keeps_input_dtype(L.Dense(2)) and not keeps_input_dtype(object())


def test_build_rules():
    assert build_rule("concatenate").list_input and build_rule("attention").list_input
    assert not build_rule("dense").list_input
    assert build_rule("dense").call_kwargs is None
    assert builder_for("lstm") is builder_for("gru")
    assert builder_for("no_such_op") is None and build_rule("no_such_op") is None


# ---------------------------------------------------------------------- registration errors

def test_registering_a_class_twice_is_a_value_error(scratch_tables):
    with pytest.raises(ValueError, match="Dense already has a converter"):
        lowers(L.Dense)(lambda ctx: None)


def test_a_failed_registration_registers_nothing(scratch_tables):
    class Fresh(L.Layer):
        pass

    with pytest.raises(ValueError, match="already has a converter"):
        lowers(Fresh, L.Dense)(lambda ctx: None)
    assert converter_for(Fresh()) is None


def test_lowers_registers_a_rule(scratch_tables):
    class Fresh(L.Layer):
        pass

    def convert(ctx):
        return None

    assert lowers(Fresh, accepted_call_kwargs=["mask"], keeps_input_dtype=True)(convert) is convert
    assert lowering_rule(Fresh()) == registry.LoweringRule(convert, frozenset({"mask"}), True)
    assert "Fresh" in supported_layer_classes()


@pytest.mark.parametrize("args, kwargs, error", [
    ((), {}, ValueError),
    (("Dense",), {}, TypeError),
    ((object,), {"accepted_call_kwargs": "mask"}, TypeError),
    ((object,), {"accepted_call_kwargs": [1]}, TypeError),
])
def test_lowers_rejects_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        lowers(*args, **kwargs)


def test_building_an_op_twice_is_a_value_error(scratch_tables):
    with pytest.raises(ValueError, match="'dense' already has a Keras builder"):
        builds("dense")(lambda c: None)


@pytest.mark.parametrize("args, error", [((), ValueError), (("no_such_op",), ValueError),
                                         ((3,), TypeError)])
def test_builds_rejects_bad_arguments(args, error):
    with pytest.raises(error):
        builds(*args)
