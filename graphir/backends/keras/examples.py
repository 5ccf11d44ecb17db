"""Small seeded functional models that together use every layer the lowering supports.

Each builder sets ``keras.utils.set_random_seed``, names every layer explicitly
(Keras' default names depend on a process-wide counter), and afterwards draws
biases from N(0, 0.1) and normalization statistics with
:func:`~graphir.backends.keras.randomize.randomize_statistics`, so that a dropped
bias or a swapped statistic changes the outputs.

Coverage (asserted by the tests): convolutions and depthwise convolutions with
strides, both paddings, dilation and groups; BatchNormalization on NHWC, on
axis 1 of a rank-3 tensor and on a rank-2 tensor; every activation function of
the op set, its aliases and fused activations; ReLU(6.), ReLU with negative slope
and threshold, LeakyReLU; pooling with both paddings; Rescaling with a per-channel
scale; Normalization (adapted, constant, inverted, global and multi-axis);
Reshape with -1, Flatten, Permute, Concatenate on several axes; every merge layer
with broadcasting; Dropout; Dense on rank 3; Embedding on an int32 input; nested
functional and Sequential models; a shared layer and a sub-model each called
twice; several inputs and outputs; an output that is directly an input; and a
top-level Sequential model.  The layers and ``keras.ops`` arithmetic that
``keras.applications`` adds (LayerNormalization, SeparableConv2D, Cropping2D,
LayerScale, CustomScaleLayer) are covered by
:mod:`~graphir.backends.keras.examples_applications`, and the everyday layer families
beyond them (1-D/3-D convolutions, recurrent layers, attention, wrappers...) by
:mod:`~graphir.backends.keras.examples_layers`; :func:`example_models` includes both.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import layers as L

from graphir.backends.keras.examples_applications import application_examples
from graphir.backends.keras.examples_layers import layer_family_examples
from graphir.backends.keras.examples_primitives import primitive_examples
from graphir.backends.keras.randomize import (
    calibrate_statistics,
    randomize_biases,
    randomize_statistics,
)
from graphir.ops import ACTIVATIONS

__all__ = ["example_models"]

SEED = 0


def _finish(model: keras.Model) -> keras.Model:
    randomize_biases(model, np.random.default_rng(SEED + 1))
    return randomize_statistics(model, SEED)


def convnet() -> keras.Model:
    """Image model: conv/depthwise/pooling variants, BN, ReLU6, SE-style broadcast multiply."""
    keras.utils.set_random_seed(SEED)
    img = keras.Input((32, 32, 3), name="img")
    x = L.Rescaling([1 / 64, 1 / 32, 1 / 16], offset=-0.25, name="rescale")(img)
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv_s2_same")(x)
    x = L.Conv2D(8, 3, dilation_rate=2, use_bias=False, name="conv_dilated_valid")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU(6.0, name="relu6")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                          activation="hard_silu", name="dw_s2_same")(x)
    x = L.DepthwiseConv2D(3, padding="same", dilation_rate=2, name="dw_dilated_same")(x)
    x = L.DepthwiseConv2D(3, use_bias=False, name="dw_valid")(x)
    x = L.ZeroPadding2D(((1, 0), (0, 2)), name="pad")(x)
    x = L.MaxPooling2D(2, name="max_valid")(x)
    x = L.AveragePooling2D(3, strides=1, padding="same", name="avg_same")(x)
    x = L.MaxPooling2D(2, strides=1, padding="same", name="max_same")(x)
    x = L.AveragePooling2D(2, strides=1, name="avg_valid")(x)
    s = L.GlobalAveragePooling2D(keepdims=True, name="se_pool")(x)
    s = L.Conv2D(16, 1, activation="sigmoid", name="se_conv")(s)
    x = L.Multiply(name="se_scale")([x, s])
    x = L.Conv2D(8, 1, groups=4, activation="silu", name="conv_grouped")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(5, activation="softmax", name="classifier")(x)
    model = _finish(keras.Model(img, out, name="convnet"))
    # Without calibration the pooling stack averages the image away and the classifier
    # gives ~0.2 for every image (rows differ by 1e-5): a reference insensitive to its
    # input.  Calibrated BN statistics and a head whose logits have unit spread over a
    # standard-normal batch make every row differ clearly.
    calibration = np.random.default_rng(SEED + 2).standard_normal((8, 32, 32, 3))
    calibration = calibration.astype(np.float32)
    calibrate_statistics(model, calibration)
    return _standardize_head(model, "classifier", calibration)


def _standardize_head(model: keras.Model, name: str, calibration: np.ndarray) -> keras.Model:
    """Redraw the kernel of the Dense layer ``name`` as N(0, 1) divided by the spread of
    its input features over ``calibration`` (and center them with the bias), so its
    logits vary by ~1 between inputs; seeded."""
    head = model.get_layer(name)
    features = np.asarray(keras.Model(model.inputs[0], head.input)(calibration), np.float64)
    std = np.maximum(features.std(axis=0), 1e-6)
    rng = np.random.default_rng(SEED + 3)
    kernel = rng.normal(0.0, 1.0, tuple(head.kernel.shape)) / std[:, None]
    head.kernel.assign(kernel.astype(np.float32))
    head.bias.assign((-(features.mean(axis=0) @ kernel)).astype(np.float32))
    return model


def activations() -> keras.Model:
    """Every op-set activation as a layer, aliases, fused activations, ReLU variants."""
    keras.utils.set_random_seed(SEED)
    features = keras.Input((6,), name="features")
    h = L.Dense(8, name="proj")(features)
    # gelu_approximate has no Keras activation name (keras.ops.gelu's default computes
    # it: tests/backends/keras/test_keras_transformer_ops.py)
    branches = [L.Activation(fn, name=f"act_{fn}")(h) for fn in sorted(ACTIVATIONS)
                if fn != "gelu_approximate"]
    branches += [L.Activation(alias, name=f"act_alias_{alias}")(h)
                 for alias in ("swish", "hard_swish")]
    branches += [L.Dense(4, activation=fn, name=f"dense_{fn}")(h)
                 for fn in ("gelu", "tanh", "elu", "softmax", "leaky_relu")]
    branches += [
        L.ReLU(name="relu_plain")(h),
        L.ReLU(max_value=6.0, name="relu_max6")(h),
        L.ReLU(negative_slope=0.1, threshold=0.5, name="relu_slope_threshold")(h),
        L.ReLU(max_value=1.5, negative_slope=0.2, name="relu_max_slope")(h),
        L.LeakyReLU(name="leaky_default")(h),
        L.LeakyReLU(negative_slope=0.05, name="leaky_005")(h),
        L.Softmax(name="softmax_layer")(h),
    ]
    out = L.Concatenate(name="concat_all")(branches)
    return _finish(keras.Model(features, out, name="activations"))


def shapes() -> keras.Model:
    """Rank-3 Dense, Reshape(-1), Permute, Softmax/BN on axis 1, Concatenate on several
    axes, every merge layer with (N,1,C) x (N,T,C) broadcasting, BN on rank 2, Dropout."""
    keras.utils.set_random_seed(SEED)
    seq = keras.Input((4, 6), name="seq")
    h = L.Dense(6, activation="relu", name="dense_rank3")(seq)
    r = L.Reshape((-1, 3), name="reshape_infer")(h)
    p = L.Permute((2, 1), name="permute")(r)
    sm = L.Softmax(axis=1, name="softmax_axis1")(p)
    bn3 = L.BatchNormalization(axis=1, name="bn_axis1")(sm)
    c1 = L.Concatenate(axis=1, name="concat_axis1")([p, bn3])
    c2 = L.Concatenate(axis=-1, name="concat_last")([c1, c1])
    grid = L.Reshape((6, 4, 4), name="reshape_grid")(c2)
    c3 = L.Concatenate(axis=2, name="concat_axis2")([grid, grid])
    flat = L.Flatten(name="flatten")(c3)
    d = L.Dense(16, name="dense_flat")(flat)
    bn2 = L.BatchNormalization(name="bn_rank2")(d)
    first = L.Dropout(0.3, name="dropout")(bn2)

    row = L.Dense(6, name="row_proj")(L.Flatten(name="flat_seq")(seq))
    row = L.Reshape((1, 6), name="row")(row)
    add = L.Add(name="add")([h, row])
    sub = L.Subtract(name="subtract")([h, row])
    mul = L.Multiply(name="multiply")([row, h])
    avg = L.Average(name="average")([h, row, add])
    mx = L.Maximum(name="maximum")([h, row])
    mn = L.Minimum(name="minimum")([sub, mul, row])
    merged = L.Concatenate(axis=1, name="concat_merges")([add, sub, mul, avg, mx, mn])
    merged = L.Identity(name="identity")(merged)
    second = L.Dense(3, name="merge_head")(L.Flatten(name="flat_merges")(merged))
    return _finish(keras.Model(seq, [first, second], name="shapes"))


def normalization() -> keras.Model:
    """Normalization adapted per feature, global (axis=None), on two axes, and from
    constructor constants with invert=True; two inputs."""
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    tabular = keras.Input((5,), name="tabular")
    grid = keras.Input((3, 4), name="grid")
    per_feature = L.Normalization(axis=-1, name="norm_adapted")
    per_feature.adapt(rng.normal(1.0, 3.0, (64, 5)).astype("float32"))
    global_norm = L.Normalization(axis=None, name="norm_global")
    global_norm.adapt(rng.normal(-2.0, 0.5, (64, 5)).astype("float32"))
    grid_norm = L.Normalization(axis=(1, 2), name="norm_grid")
    grid_norm.adapt(rng.normal(0.5, 2.0, (32, 3, 4)).astype("float32"))
    denorm = L.Normalization(mean=[0.5, -1.0, 2.0, 0.0, 1.0], variance=[4.0, 0.25, 1.0, 9.0, 2.0],
                             invert=True, name="denorm_const")
    a = per_feature(tabular)
    b = global_norm(tabular)
    c = denorm(a)
    tab = L.Concatenate(name="concat_tab")([a, b, c])
    g = L.Flatten(name="flat_grid")(grid_norm(grid))
    out = L.Dense(3, name="head")(L.Concatenate(name="concat_all")([tab, g]))
    return _finish(keras.Model([tabular, grid], out, name="normalization"))


def embedding_multi_io() -> keras.Model:
    """Embedding on an int32 input, Dense on its rank-3 output, two inputs, three outputs,
    one of which is directly an input."""
    keras.utils.set_random_seed(SEED)
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    dense_features = keras.Input((3,), name="dense_features")
    e = L.Embedding(20, 4, name="embed")(tokens)
    d = L.Dense(4, activation="relu", name="dense_on_embed")(e)
    f = L.Flatten(name="flat_tokens")(d)
    g = L.Dense(4, name="dense_features_proj")(dense_features)
    c = L.Concatenate(name="concat")([f, g])
    head_a = L.Dense(2, name="head_a")(c)
    head_b = L.Dense(1, activation="sigmoid", name="head_b")(c)
    return _finish(keras.Model([tokens, dense_features], [head_a, head_b, dense_features],
                               name="embedding_multi_io"))


def nested() -> keras.Model:
    """A nested functional model, a nested Sequential, a shared layer called twice and
    a sub-model (itself holding a Sequential) called twice."""
    keras.utils.set_random_seed(SEED)
    inner_in = keras.Input((10, 10, 3), name="inner_in")
    t = L.Conv2D(4, 3, padding="same", name="conv1")(inner_in)
    t = L.BatchNormalization(name="bn1")(t)
    t = L.Activation("relu", name="act1")(t)
    inner = keras.Model(inner_in, t, name="inner_model")
    head = keras.Sequential([keras.Input((10, 10, 4), name="head_in"),
                             L.Conv2D(4, 1, name="pointwise"),
                             L.GlobalAveragePooling2D(name="gap")], name="head_seq")
    tower_in = keras.Input((4,), name="tower_in")
    block = keras.Sequential([L.Dense(4, activation="tanh", name="fc")], name="block")
    tower = keras.Model(tower_in, block(tower_in), name="tower")

    image = keras.Input((10, 10, 3), name="image")
    pooled = head(inner(image))
    shared = L.Dense(4, name="shared_dense")
    s1 = shared(pooled)
    s2 = shared(s1)
    out = L.Add(name="sum")([tower(s1), tower(s2)])
    return _finish(keras.Model(image, out, name="nested"))


def sequential() -> keras.Model:
    """A top-level Sequential model."""
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input((12,), name="mlp_in"),
        L.Dense(8, activation="relu", name="fc1"),
        L.Dropout(0.1, name="drop"),
        L.Dense(8, name="fc2"),
        L.LeakyReLU(name="leaky"),
        L.Dense(3, activation="softmax", name="probs"),
    ], name="mlp")
    return _finish(model)


def example_models() -> dict[str, Callable[[], keras.Model]]:
    """Name -> zero-argument builder of each example model (each call builds a fresh,
    identically seeded model): this module's, then the keras.applications-style ones of
    :mod:`graphir.backends.keras.examples_applications`, then one per everyday layer
    family of :mod:`graphir.backends.keras.examples_layers`, then one per primitive op
    group of :mod:`graphir.backends.keras.examples_primitives`."""
    return {"convnet": convnet, "activations": activations, "shapes": shapes,
            "normalization": normalization, "embedding_multi_io": embedding_multi_io,
            "nested": nested, "sequential": sequential, **application_examples(),
            **layer_family_examples(), **primitive_examples()}
