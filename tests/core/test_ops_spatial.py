"""The N-d spatial ops (1-D/3-D convolutions, transposed convolutions, 1-D depthwise and
separable convolutions, 1-D/3-D pooling, global pooling, upsampling, padding,
cropping) and ``elu``/``prelu`` without TensorFlow: type rules (shapes and rejections)
and reference kernels checked against independent computations (the 2-D kernels on an
expanded axis, direct loops, and the adjoint identity of transposed convolutions)."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.ops import TypeRuleError, infer_types
from graphir.tensor_types import TensorType

from graphir.ops import get_schema, op_names

#: op name -> its reference kernel (from the op registry)
KERNELS = {name: get_schema(name).kernel for name in op_names()}

LAST = "channels_last"
RNG = np.random.default_rng(0)


def f32(*shape):
    return TensorType("float32", shape)


def _conv_attrs(r, padding="same", strides=1, dilations=1, groups=1, **extra):
    return dict(strides=(strides,) * r, padding=padding, dilations=(dilations,) * r,
                groups=groups, activation="linear", data_format=LAST, **extra)


def _transpose_attrs(r, padding, strides, output_padding, dilations=1):
    return dict(strides=(strides,) * r, padding=padding, dilations=(dilations,) * r,
                output_padding=(output_padding,) * r, activation="linear", data_format=LAST)


# --------------------------------------------------------------------------- type rules

@pytest.mark.parametrize("op,x,kernel,attrs,want", [
    ("conv1d", f32("batch", 9, 3), f32(3, 3, 4), _conv_attrs(1, strides=2), ("batch", 5, 4)),
    ("conv1d", f32("batch", 9, 3), f32(3, 3, 4), _conv_attrs(1, "valid"), ("batch", 7, 4)),
    ("conv1d", f32("batch", 9, 3), f32(3, 3, 4), _conv_attrs(1, "causal", dilations=2),
     ("batch", 9, 4)),
    ("conv1d", f32("batch", None, 4), f32(2, 2, 6), _conv_attrs(1, "valid", groups=2),
     ("batch", None, 6)),
    ("conv3d", f32("batch", 5, 6, 7, 2), f32(2, 3, 2, 2, 3), _conv_attrs(3, strides=2),
     ("batch", 3, 3, 4, 3)),
    ("depthwise_conv1d", f32("batch", 9, 3), f32(3, 3, 2), _conv_attrs(1, strides=2),
     ("batch", 5, 6)),
    ("conv1d_transpose", f32("batch", 5, 3), f32(3, 4, 3), _transpose_attrs(1, "same", 2, 1),
     ("batch", 10, 4)),
    ("conv1d_transpose", f32("batch", 5, 3), f32(3, 4, 3), _transpose_attrs(1, "valid", 2, 0),
     ("batch", 11, 4)),
    ("conv2d_transpose", f32("batch", 4, None, 3), f32(4, 4, 2, 3),
     _transpose_attrs(2, "same", 2, 2), ("batch", 8, None, 2)),
    ("conv3d_transpose", f32("batch", 2, 3, 4, 3), f32(2, 2, 2, 5, 3),
     _transpose_attrs(3, "valid", 3, 1), ("batch", 6, 9, 12, 5)),
])
def test_conv_type_rules(op, x, kernel, attrs, want):
    if op.startswith("depthwise"):
        attrs = {k: v for k, v in attrs.items() if k != "groups"}
    (out,) = infer_types(op, [x, kernel, None], attrs)
    assert out.shape == want and out.dtype == x.dtype


def test_separable_conv1d_type_rule():
    attrs = {k: v for k, v in _conv_attrs(1, "valid").items() if k != "groups"}
    (out,) = infer_types("separable_conv1d", [f32("batch", 9, 3), f32(3, 3, 2), f32(1, 6, 5),
                                              f32(5)], attrs)
    assert out.shape == ("batch", 7, 5)
    with pytest.raises(TypeRuleError, match="pointwise kernel") as info:
        infer_types("separable_conv1d", [f32("batch", 9, 3), f32(3, 3, 2), f32(1, 5, 5), None],
                    attrs)
    assert info.value.input_index == 2


@pytest.mark.parametrize("op,types,attrs,match,index", [
    ("conv1d", [f32("batch", 9, 3), f32(3, 2, 4)], _conv_attrs(1), "expects 2 input channels", 0),
    ("conv1d", [f32("batch", 9, 4, 3), f32(3, 3, 4)], _conv_attrs(1), "must have rank 3", 0),
    ("conv3d", [f32("batch", 5, 5, 5, 2), f32(3, 3, 2, 4)], _conv_attrs(3), "must have rank 5", 1),
    ("conv1d", [TensorType("int32", ("batch", 9, 3)), f32(3, 3, 4)], _conv_attrs(1),
     "float tensor", 0),
    ("conv1d", [f32("batch", 9, 3), f32(3, 3, 4), f32(3)], _conv_attrs(1), "bias", 2),
    ("conv1d", [f32("batch", 2, 3), f32(3, 3, 4)], _conv_attrs(1, "valid"), "does not fit", 0),
    ("conv1d_transpose", [f32("batch", 5, 3), f32(3, 3, 4)], _transpose_attrs(1, "same", 2, 1),
     "expects 4 input channels", 0),
    ("conv1d_transpose", [f32("batch", 5, 3), f32(3, 4, 3)], _transpose_attrs(1, "valid", 2, 2),
     "output_padding=2", None),
    # "same", even kernel, output_padding 0: (n-1)*s would not convolve back to n
    ("conv1d_transpose", [f32("batch", 5, 3), f32(4, 4, 3)], _transpose_attrs(1, "same", 2, 0),
     "output_padding=0", None),
    ("conv1d_transpose", [f32("batch", 5, 3), f32(3, 4, 3)], _transpose_attrs(1, "same", 2, -1),
     "negative", None),
])
def test_conv_type_rule_rejections(op, types, attrs, match, index):
    with pytest.raises(TypeRuleError, match=match) as info:
        infer_types(op, types + [None] * (3 - len(types)), attrs)
    assert info.value.input_index == index


def test_causal_padding_is_only_for_conv1d():
    from graphir.ops import get_schema

    assert get_schema("conv1d").check_attrs(_conv_attrs(1, "causal")) is None
    assert "must be one of" in get_schema("conv2d").check_attrs(_conv_attrs(2, "causal"))
    transpose = {**_transpose_attrs(1, "same", 1, 0), "padding": "causal"}
    assert "must be one of" in get_schema("conv1d_transpose").check_attrs(transpose)


@pytest.mark.parametrize("op,x,attrs,want", [
    ("max_pool1d", f32("batch", 9, 3), dict(pool_size=(3,), strides=(2,), padding="same"),
     ("batch", 5, 3)),
    ("avg_pool3d", f32("batch", 5, 6, 7, 2), dict(pool_size=(2, 2, 2), strides=(2, 2, 2),
                                                  padding="valid"), ("batch", 2, 3, 3, 2)),
    ("global_max_pool1d", f32("batch", 9, 3), dict(keepdims=True), ("batch", 1, 3)),
    ("global_avg_pool3d", f32("batch", 5, 6, 7, 2), dict(keepdims=False), ("batch", 2)),
    ("global_max_pool2d", f32("batch", None, 6, 2), dict(keepdims=True), ("batch", 1, 1, 2)),
    ("upsample1d", f32("batch", 5, 3), dict(size=(3,), interpolation="nearest"),
     ("batch", 15, 3)),
    ("upsample2d", f32("batch", None, 4, 3), dict(size=(2, 3), interpolation="bilinear"),
     ("batch", None, 12, 3)),
    ("upsample3d", f32("batch", 2, 3, 4, 3), dict(size=(2, 1, 3), interpolation="nearest"),
     ("batch", 4, 3, 12, 3)),
    ("zero_pad1d", f32("batch", 5, 3), dict(padding=((1, 2),)), ("batch", 8, 3)),
    ("zero_pad3d", f32("batch", 2, None, 4, 3), dict(padding=((1, 0), (1, 1), (0, 2))),
     ("batch", 3, None, 6, 3)),
    ("crop1d", f32("batch", 7, 3), dict(cropping=((1, 2),)), ("batch", 4, 3)),
    ("crop3d", f32("batch", 5, 6, None, 2), dict(cropping=((1, 0), (0, 2), (1, 1))),
     ("batch", 4, 4, None, 2)),
])
def test_window_and_shape_type_rules(op, x, attrs, want):
    (out,) = infer_types(op, [x], {**attrs, "data_format": LAST})
    assert out.shape == want


@pytest.mark.parametrize("op,x,attrs,match", [
    ("max_pool1d", f32("batch", 5, 6, 3), dict(pool_size=(2,), strides=(2,), padding="same"),
     "must have rank 3"),
    ("avg_pool3d", TensorType("int32", ("batch", 4, 4, 4, 2)),
     dict(pool_size=(2, 2, 2), strides=(2, 2, 2), padding="same"), "float tensor"),
    ("max_pool1d", f32("batch", 5, 3), dict(pool_size=(2,), strides=(0,), padding="same"),
     ">= 1"),
    ("global_avg_pool1d", f32("batch", 5, 6, 3), dict(keepdims=False), "must have rank 3"),
    ("global_avg_pool2d", TensorType("int32", ("batch", 4, 4, 2)), dict(keepdims=False),
     "float tensor"),
    ("upsample2d", TensorType("int32", ("batch", 4, 4, 2)),
     dict(size=(2, 2), interpolation="bilinear"), "float tensor"),
    ("crop1d", f32("batch", 3, 2), dict(cropping=((1, 2),)), "leaves nothing"),
    ("crop3d", f32("batch", 4, 4, 2), dict(cropping=((1, 1),) * 3), "must have rank 5"),
    ("zero_pad3d", f32("batch", 4, 4, 2), dict(padding=((1, 1),) * 3), "must have rank 5"),
])
def test_window_and_shape_type_rule_rejections(op, x, attrs, match):
    with pytest.raises(TypeRuleError, match=match):
        infer_types(op, [x], {**attrs, "data_format": LAST})


def test_global_max_pooling_keeps_an_int_dtype():
    (t,) = infer_types("global_max_pool3d", [TensorType("int32", ("batch", 2, 3, 4, 5))],
                       dict(keepdims=False, data_format=LAST))
    assert t == TensorType("int32", ("batch", 5))


def test_bilinear_is_only_for_upsample2d():
    from graphir.ops import get_schema

    bad = dict(size=(2,), interpolation="bilinear", data_format=LAST)
    assert "must be one of" in get_schema("upsample1d").check_attrs(bad)


def test_elu_and_prelu_type_rules():
    x = f32("batch", None, 4)
    assert infer_types("elu", [x], {"alpha": 0.5}) == (x,)
    assert infer_types("prelu", [x, f32(1, 4)], {}) == (x,)
    with pytest.raises(TypeRuleError, match="float"):
        infer_types("elu", [TensorType("int32", (2, 3))], {"alpha": 1.0})
    with pytest.raises(TypeRuleError, match="does not fit") as info:  # dynamic axis not shared
        infer_types("prelu", [x, f32(5, 4)], {})
    assert info.value.input_index == 1
    with pytest.raises(TypeRuleError, match="does not fit"):
        infer_types("prelu", [f32("batch", 5, 4), f32(5, 3)], {})
    with pytest.raises(TypeRuleError, match="rank"):
        infer_types("prelu", [f32("batch", 5, 4), f32(4)], {})


# --------------------------------------------------------------------------- kernels

def _data(*shape):
    return RNG.normal(size=shape)


@pytest.mark.parametrize("padding,strides,dilations,groups", [
    ("same", 1, 1, 1), ("valid", 2, 1, 1), ("same", 2, 1, 2), ("valid", 1, 2, 2)])
def test_conv1d_is_conv2d_on_an_expanded_axis(padding, strides, dilations, groups):
    x, k, b = _data(2, 11, 4), _data(3, 4 // groups, 6), _data(6)
    got = KERNELS["conv1d"]([x, k, b], _conv_attrs(1, padding, strides, dilations, groups))
    attrs2 = dict(strides=(1, strides), padding=padding, dilations=(1, dilations),
                  groups=groups, activation="linear", data_format=LAST)
    want = KERNELS["conv2d"]([x[:, None], k[None], b], attrs2)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv1d_causal_is_left_padding_then_valid():
    x, k = _data(2, 9, 3), _data(3, 3, 4)
    got = KERNELS["conv1d"]([x, k, None], _conv_attrs(1, "causal", strides=2, dilations=2))
    padded = np.pad(x, ((0, 0), (4, 0), (0, 0)))
    want = KERNELS["conv1d"]([padded, k, None], _conv_attrs(1, "valid", strides=2, dilations=2))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # output t sees only inputs <= t: changing the last input changes only the last output
    x2 = x.copy()
    x2[:, -1] += 1.0
    got2 = KERNELS["conv1d"]([x2, k, None], _conv_attrs(1, "causal", dilations=2))
    base = KERNELS["conv1d"]([x, k, None], _conv_attrs(1, "causal", dilations=2))
    np.testing.assert_array_equal(got2[:, :-1], base[:, :-1])


def test_conv3d_matches_a_direct_loop():
    x, k, b = _data(1, 4, 5, 3, 2), _data(2, 3, 2, 2, 3), _data(3)
    got = KERNELS["conv3d"]([x, k, b], _conv_attrs(3, "valid"))
    out = np.zeros((1, 3, 3, 2, 3))
    for d in range(3):
        for h in range(3):
            for w in range(2):
                patch = x[0, d:d + 2, h:h + 3, w:w + 2, :]
                out[0, d, h, w] = np.einsum("dhwc,dhwco->o", patch, k) + b
    np.testing.assert_allclose(got, out, rtol=1e-12)


def test_depthwise_and_separable_conv1d_are_the_2d_kernels_on_an_expanded_axis():
    x, dw, pw, b = _data(2, 10, 3), _data(3, 3, 2), _data(1, 6, 5), _data(5)
    attrs1 = dict(strides=(2,), padding="same", dilations=(1,), activation="relu",
                  data_format=LAST)
    attrs2 = dict(strides=(1, 2), padding="same", dilations=(1, 1), activation="relu",
                  data_format=LAST)
    np.testing.assert_allclose(
        KERNELS["depthwise_conv1d"]([x, dw, b[:1].repeat(6)], attrs1),
        KERNELS["depthwise_conv2d"]([x[:, None], dw[None], b[:1].repeat(6)], attrs2)[:, 0])
    np.testing.assert_allclose(
        KERNELS["separable_conv1d"]([x, dw, pw, b], attrs1),
        KERNELS["separable_conv2d"]([x[:, None], dw[None], pw[None], b], attrs2)[:, 0])


@pytest.mark.parametrize("r,n,k,padding,strides,output_padding,dilations", [
    (1, 5, 3, "same", 2, 1, 1), (1, 5, 3, "valid", 2, 1, 1), (1, 4, 4, "same", 3, 1, 1),
    (1, 6, 3, "same", 1, 0, 2), (1, 6, 2, "valid", 1, 0, 3), (2, 4, 3, "same", 2, 1, 1),
    (2, 3, 4, "same", 2, 2, 1), (3, 3, 2, "valid", 2, 0, 1), (1, 5, 1, "same", 3, 2, 1),
])
def test_conv_transpose_is_the_adjoint_of_the_convolution(r, n, k, padding, strides,
                                                          output_padding, dilations):
    """<conv(y), x> == <y, conv_transpose(x)> for every x and y: the transposed convolution
    of the same kernel (read as (*k, cout, cin)) is the adjoint of the forward one from
    the transposed output size back to the input size."""
    attrs = _transpose_attrs(r, padding, strides, output_padding, dilations)
    kernel = _data(*((k,) * r + (3, 2)))  # cout=3, cin=2
    x = _data(*((2,) + (n,) * r + (2,)))
    t = KERNELS[f"conv{r}d_transpose"]([x, kernel, None], attrs)
    (out_t,) = infer_types(f"conv{r}d_transpose",
                           [f32(*x.shape), f32(*kernel.shape), None], attrs)
    assert t.shape == out_t.shape
    y = _data(*t.shape)
    fwd = KERNELS[f"conv{r}d"]([y, kernel, None], _conv_attrs(r, padding, strides, dilations))
    assert fwd.shape == x.shape
    np.testing.assert_allclose(np.vdot(fwd, x), np.vdot(y, t), rtol=1e-10)


def test_conv_transpose_bias_and_activation():
    x, k, b = _data(1, 3, 2), _data(2, 4, 2), _data(4)
    attrs = {**_transpose_attrs(1, "valid", 2, 0), "activation": "relu"}
    plain = KERNELS["conv1d_transpose"]([x, k, None], _transpose_attrs(1, "valid", 2, 0))
    np.testing.assert_allclose(KERNELS["conv1d_transpose"]([x, k, b], attrs),
                               np.maximum(plain + b, 0.0))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_pool1d_is_pool2d_on_an_expanded_axis(kind, padding):
    x = _data(2, 11, 3)
    got = KERNELS[f"{kind}_pool1d"]([x], dict(pool_size=(3,), strides=(2,), padding=padding,
                                              data_format=LAST))
    want = KERNELS[f"{kind}_pool2d"]([x[:, None]], dict(pool_size=(1, 3), strides=(1, 2),
                                                         padding=padding, data_format=LAST))
    np.testing.assert_allclose(got, want[:, 0], rtol=1e-12)


def test_pool3d_matches_a_direct_loop():
    x = _data(1, 5, 4, 3, 2)
    attrs = dict(pool_size=(2, 2, 2), strides=(2, 2, 2), padding="same", data_format=LAST)
    got_max = KERNELS["max_pool3d"]([x], attrs)
    got_avg = KERNELS["avg_pool3d"]([x], attrs)
    # TF "same", stride 2, window 2: no padding before, the partial window at the end
    for d in range(3):
        for h in range(2):
            for w in range(2):
                window = x[0, 2 * d:2 * d + 2, 2 * h:2 * h + 2, 2 * w:2 * w + 2]
                np.testing.assert_allclose(got_max[0, d, h, w], window.max(axis=(0, 1, 2)))
                np.testing.assert_allclose(got_avg[0, d, h, w], window.mean(axis=(0, 1, 2)))


@pytest.mark.parametrize("r", [1, 2, 3])
def test_global_pools(r):
    x = _data(*((2,) + (3,) * r + (4,)))
    flat = x.reshape(2, -1, 4)
    np.testing.assert_allclose(
        KERNELS[f"global_max_pool{r}d"]([x], dict(keepdims=False, data_format=LAST)),
        flat.max(axis=1))
    kept = KERNELS[f"global_avg_pool{r}d"]([x], dict(keepdims=True, data_format=LAST))
    assert kept.shape == (2,) + (1,) * r + (4,)
    np.testing.assert_allclose(kept.reshape(2, 4), flat.mean(axis=1))


def test_upsample_nearest_repeats():
    x = np.arange(2 * 2 * 3 * 1, dtype=float).reshape(2, 2, 3, 1)
    got = KERNELS["upsample2d"]([x], dict(size=(2, 3), interpolation="nearest",
                                          data_format=LAST))
    want = np.kron(x[..., 0], np.ones((1, 2, 3)))[..., None]
    np.testing.assert_array_equal(got, want)
    x3 = _data(1, 2, 2, 2, 1)
    got3 = KERNELS["upsample3d"]([x3], dict(size=(2, 1, 3), interpolation="nearest",
                                            data_format=LAST))
    assert got3[0, 3, 1, 5, 0] == x3[0, 1, 1, 1, 0] and got3.shape == (1, 4, 2, 6, 1)


def test_upsample_bilinear_half_pixel_values():
    """[0, 1] resized to 4 samples at half-pixel centers: c = (i + 0.5) / 2 - 0.5 =
    -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]: 0, 0.25, 0.75, 1 (tf.image.resize)."""
    x = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    got = KERNELS["upsample2d"]([x], dict(size=(1, 2), interpolation="bilinear",
                                          data_format=LAST))
    np.testing.assert_allclose(got.ravel(), [0.0, 0.25, 0.75, 1.0])
    # factor 3 over H: c = (i + 0.5) / 3 - 0.5 = -1/3, 0, 1/3, 2/3, 1, 4/3
    x = np.array([2.0, 5.0]).reshape(1, 2, 1, 1)
    got = KERNELS["upsample2d"]([x], dict(size=(3, 1), interpolation="bilinear",
                                          data_format=LAST))
    np.testing.assert_allclose(got.ravel(), [2.0, 2.0, 3.0, 4.0, 5.0, 5.0])


def test_zero_pad_and_crop_are_inverse():
    x = _data(2, 3, 4, 5, 2)
    pairs = ((1, 0), (2, 1), (0, 3))
    padded = KERNELS["zero_pad3d"]([x], dict(padding=pairs, data_format=LAST))
    assert padded.shape == (2, 4, 7, 8, 2)
    assert padded[:, 0].sum() == 0 and padded[:, :, -1].sum() == 0
    np.testing.assert_array_equal(KERNELS["crop3d"]([padded], dict(cropping=pairs,
                                                                   data_format=LAST)), x)
    x1 = _data(2, 6, 3)
    np.testing.assert_array_equal(
        KERNELS["crop1d"]([x1], dict(cropping=((2, 1),), data_format=LAST)), x1[:, 2:5])
    np.testing.assert_array_equal(
        KERNELS["zero_pad1d"]([x1], dict(padding=((0, 2),), data_format=LAST))[:, 6:], 0.0)


def test_elu_and_prelu_kernels():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(KERNELS["elu"]([x], {"alpha": 0.3}),
                               [[0.3 * (np.exp(-2) - 1), 0.3 * (np.exp(-0.5) - 1), 0, 0.5, 3]])
    alpha = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    # Keras PReLU.call: relu(x) - alpha * relu(-x)
    want = np.maximum(x, 0) - alpha * np.maximum(-x, 0)
    np.testing.assert_allclose(KERNELS["prelu"]([x, alpha], {}), want)
    x3 = _data(2, 3, 4)
    a3 = _data(1, 4)
    np.testing.assert_allclose(KERNELS["prelu"]([x3, a3], {}),
                               np.maximum(x3, 0) - a3 * np.maximum(-x3, 0))
