"""Small seeded models built from the layers and operations that ``keras.applications``
uses beyond the first example set (:mod:`graphir.backends.keras.examples`).

Each mimics the block it comes from, with variants around it:

* :func:`convnext_style`: ``LayerNormalization`` (last axis, several axes, the raw
  ``axis=[-1, 1]`` ordering whose gamma Keras reshapes, ``center``/``scale`` off, on
  ranks 4, 3 and 2), ConvNeXt's ``LayerScale`` and the residual ``inputs + x``;
* :func:`mobilenet_v3_style`: ``keras.ops`` arithmetic on symbolic tensors, with a
  scalar on either side (``x + 3.0``, ``2.0 - x``, ``x / 4.0``...) and between two
  tensors (MobileNetV3's ``hard_sigmoid``: ``ReLU(6.)(x + 3.0) * (1.0 / 6.0)``);
* :func:`inception_resnet_style`: InceptionResNetV2's ``CustomScaleLayer``;
* :func:`xception_nasnet_style`: ``SeparableConv2D`` (strides, dilation, depth
  multiplier, with and without bias, fused activation) and ``Cropping2D``.

As in :mod:`~graphir.backends.keras.examples`, builders seed everything, name every
layer (``keras.ops`` operations cannot be named: they get Keras' counter-based names),
draw biases from N(0, 0.1), randomize normalization statistics and set each
``LayerScale`` gamma to U(0.5, 1.5) (ConvNeXt initializes it to 1e-6, which would hide
a dropped branch).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import layers as L
from keras.src.applications.convnext import LayerScale
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

from graphir.backends.keras.randomize import iter_layers, randomize_biases, randomize_statistics

__all__ = ["application_examples", "convnext_style", "mobilenet_v3_style",
           "inception_resnet_style", "xception_nasnet_style"]

SEED = 0


def _finish(model: keras.Model) -> keras.Model:
    rng = np.random.default_rng(SEED + 1)
    randomize_biases(model, rng)
    for layer in iter_layers(model):
        if isinstance(layer, LayerScale):
            layer.gamma.assign(rng.uniform(0.5, 1.5, tuple(layer.gamma.shape)).astype("float32"))
    return randomize_statistics(model, SEED)


def convnext_style() -> keras.Model:
    """ConvNeXt's stem and two blocks, LayerNormalization variants, a two-output head."""
    keras.utils.set_random_seed(SEED)
    img = keras.Input((16, 16, 3), name="img")
    x = L.Normalization(mean=[120.0, 115.0, 100.0], variance=[3500.0, 3300.0, 3400.0],
                        name="prestem")(img)
    x = L.Conv2D(8, 4, strides=4, name="stem_conv")(x)
    x = L.LayerNormalization(epsilon=1e-6, name="stem_ln")(x)
    for i in range(2):
        shortcut = x
        y = L.Conv2D(8, 3, padding="same", groups=8, name=f"block{i}_dwconv")(x)
        y = L.LayerNormalization(epsilon=1e-6, name=f"block{i}_ln")(y)
        y = L.Dense(32, name=f"block{i}_pw1")(y)
        y = L.Activation("gelu", name=f"block{i}_gelu")(y)
        y = L.Dense(8, name=f"block{i}_pw2")(y)
        y = LayerScale(1e-6, 8, name=f"block{i}_layer_scale")(y)
        y = L.Activation("linear", name=f"block{i}_identity")(y)
        x = shortcut + y  # keras.ops Add of two tensors, as ConvNeXtBlock
    x = L.LayerNormalization(axis=[1, 2, 3], center=False, name="ln_all_axes")(x)
    pooled = L.GlobalAveragePooling2D(name="gap")(x)
    logits = L.Dense(5, name="head")(L.LayerNormalization(epsilon=1e-6, scale=False,
                                                          name="head_ln")(pooled))
    seq = L.Reshape((2, 4), name="to_seq")(pooled)
    seq = L.LayerNormalization(axis=[-1, 1], name="ln_raw_axes")(seq)  # gamma is (4, 2)
    seq = L.LayerNormalization(center=False, scale=False, name="ln_plain")(seq)
    second = L.Flatten(name="flat_seq")(LayerScale(1e-6, 4, name="seq_layer_scale")(seq))
    return _finish(keras.Model(img, [logits, second], name="convnext_style"))


def mobilenet_v3_style() -> keras.Model:
    """MobileNetV3's hard_sigmoid / hard_swish written with keras.ops arithmetic, and
    the other scalar and tensor-tensor forms."""
    keras.utils.set_random_seed(SEED)
    img = keras.Input((8, 8, 4), name="img")
    x = L.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(img)
    x = L.Conv2D(8, 3, padding="same", name="conv")(x)
    gate = L.ReLU(6.0, name="hard_sigmoid_relu6")(x + 3.0) * (1.0 / 6.0)
    x = L.Multiply(name="hard_swish")([x, gate])
    y = 2.0 - x
    y = y - 0.5
    y = 1.5 * y
    y = y / 4.0
    y = 0.25 + y
    z = (y * x) - x  # two tensors
    z = z + L.Conv2D(8, 1, name="branch")(img)
    out = L.GlobalAveragePooling2D(name="gap")(z)
    return _finish(keras.Model(img, out, name="mobilenet_v3_style"))


def inception_resnet_style() -> keras.Model:
    """Two InceptionResNetV2 residual blocks: ``x + up * scale`` via CustomScaleLayer."""
    keras.utils.set_random_seed(SEED)
    inp = keras.Input((9, 9, 6), name="inp")
    x = inp
    for i, scale in enumerate((0.17, 1.0)):
        a = L.Conv2D(4, 1, activation="relu", name=f"block{i}_branch_0")(x)
        b = L.Conv2D(4, 3, padding="same", activation="relu", name=f"block{i}_branch_1")(x)
        mixed = L.Concatenate(name=f"block{i}_mixed")([a, b])
        up = L.Conv2D(6, 1, name=f"block{i}_conv")(mixed)
        x = CustomScaleLayer(scale, name=f"block{i}_scale")([x, up])
        x = L.Activation("relu", name=f"block{i}_ac")(x)
    out = L.Dense(3, name="head")(L.GlobalAveragePooling2D(name="gap")(x))
    return _finish(keras.Model(inp, out, name="inception_resnet_style"))


def xception_nasnet_style() -> keras.Model:
    """SeparableConv2D variants (Xception, NASNet) and NASNet's pad-then-crop."""
    keras.utils.set_random_seed(SEED)
    inp = keras.Input((15, 15, 3), name="inp")
    x = L.SeparableConv2D(8, 3, strides=2, padding="same", use_bias=False,
                          name="sep_s2_same")(inp)
    x = L.BatchNormalization(name="sep_bn")(x)
    x = L.Activation("relu", name="sep_relu")(x)
    y = L.SeparableConv2D(6, 3, dilation_rate=2, depth_multiplier=2, activation="relu",
                          name="sep_dilated_valid")(x)
    y = L.SeparableConv2D(6, 5, padding="same", activation="tanh", name="sep_5x5_same")(y)
    padded = L.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    cropped = L.Cropping2D(((1, 0), (1, 0)), name="crop_top_left")(padded)
    cropped = L.Cropping2D(1, name="crop_symmetric")(cropped)
    cropped = L.Cropping2D(((0, 2), (1, 1)), name="crop_bottom")(cropped)
    pooled = L.MaxPooling2D(2, name="pool")(cropped)
    merged = L.Concatenate(name="merge")([L.GlobalAveragePooling2D(name="gap_sep")(y),
                                          L.Flatten(name="flat_crop")(pooled)])
    out = L.Dense(4, name="head")(merged)
    return _finish(keras.Model(inp, out, name="xception_nasnet_style"))


def application_examples() -> dict[str, Callable[[], keras.Model]]:
    """Name -> zero-argument builder of each model of this set."""
    return {"convnext_style": convnext_style, "mobilenet_v3_style": mobilenet_v3_style,
            "inception_resnet_style": inception_resnet_style,
            "xception_nasnet_style": xception_nasnet_style}
