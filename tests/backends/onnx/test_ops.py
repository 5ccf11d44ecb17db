"""Every IR op and its attribute variants: onnxruntime matches the NumPy reference
interpreter (rtol = atol = 1e-5) at batch sizes 1 and 3 (the batch stays symbolic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graphir.ops import op_names
from graphir.backends.onnx.registry import EMITTERS, emitter_for

NHWC_IN = ("batch", 7, 6, 4)
DYN_IN = ("batch", None, None, 4)


def test_every_op_has_an_emitter():
    """Completeness: the emitter table covers the op set exactly."""
    assert [op for op in op_names() if emitter_for(op) is None] == []
    assert set(EMITTERS) == set(op_names())


# --------------------------------------------------------------------------- convolutions

CONV = [
    dict(strides=(1, 1), padding="same"),
    dict(strides=(1, 1), padding="valid"),
    dict(strides=(2, 2), padding="same"),
    dict(strides=(2, 1), padding="valid"),
    dict(strides=(2, 2), padding="same", k=4),
    dict(dilations=(2, 2), padding="same"),
    dict(dilations=(1, 2), padding="valid"),
    dict(groups=2, padding="same"),
    dict(groups=4, strides=(2, 2), padding="valid", k=1),
    dict(bias=False, activation="relu"),
    dict(activation="softmax", strides=(2, 2)),
]


@pytest.mark.parametrize("shape", [NHWC_IN, DYN_IN], ids=["static", "dynamic"])
@pytest.mark.parametrize("kw", CONV, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv2d(builder, parity, kw, shape):
    b = builder()
    x = b.input("x", shape)
    y = b.conv(x, 8, **kw)
    parity(b.build(y), dims=9)


@pytest.mark.parametrize("shape", [NHWC_IN, DYN_IN], ids=["static", "dynamic"])
@pytest.mark.parametrize("mult,strides,padding,dil,bias", [
    (1, (1, 1), "same", (1, 1), True), (2, (2, 2), "same", (1, 1), True),
    (3, (1, 1), "valid", (2, 2), False), (2, (2, 1), "valid", (1, 1), True),
])
def test_depthwise_conv2d(builder, parity, shape, mult, strides, padding, dil, bias):
    b = builder()
    x = b.input("x", shape)
    k = b.weight("dw/kernel", (3, 3, 4, mult))
    ins = [x, k] + ([b.weight("dw/bias", (4 * mult,))] if bias else [])
    y = b.op("depthwise_conv2d", ins, dict(strides=strides, padding=padding, dilations=dil,
                                            activation="relu6", data_format="channels_last"))
    parity(b.build(y), dims=8)


@pytest.mark.parametrize("shape,bias", [
    (("batch", 6), True), (("batch", 6), False), (("batch", 3, 6), True),
    (("batch", 2, 3, 6), False), (("batch", None, 6), True),
])
def test_dense(builder, parity, shape, bias):
    b = builder()
    x = b.input("x", shape)
    ins = [x, b.weight("d/kernel", (6, 5))] + ([b.weight("d/bias", (5,))] if bias else [])
    parity(b.build(b.op("dense", ins, dict(units=5, activation="tanh"))))


def test_dense_on_a_conv_output_goes_back_to_nhwc(builder, parity):
    b = builder()
    y = b.conv(b.input("x", NHWC_IN), 6)
    z = b.op("dense", [y, b.weight("d/kernel", (6, 3))], dict(units=3, activation="softmax"))
    parity(b.build(z))


# --------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("axis,gamma,beta", [(-1, True, True), (3, False, True),
                                             (1, True, False), (2, False, False)])
def test_batch_norm_rank4(builder, parity, after_conv, axis, gamma, beta):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.bn(x, axis, gamma=gamma, beta=beta)))


@pytest.mark.parametrize("shape,axis", [(("batch", 5), 1), (("batch", 5), -1),
                                        (("batch", 3, 5), 1), (("batch", 3, 5), -1)])
def test_batch_norm_other_ranks(builder, parity, shape, axis):
    b = builder()
    parity(b.build(b.bn(b.input("x", shape), axis)))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("stat_shape", [(4,), (1, 1, 1, 4), (1, 1, 6, 4), ()])
def test_normalize_rank4(builder, parity, after_conv, invert, stat_shape):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    mean = b.weight("n/mean", stat_shape)
    var = b.weight("n/var", stat_shape, low=0.5, high=2.0)
    parity(b.build(b.op("normalize", [x, mean, var], dict(axis=(-1,), invert=invert))))


def test_normalize_zero_variance_uses_keras_epsilon(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 3))
    mean = b.const("n/mean", np.array([[0.0, 1.0, 2.0]], np.float32))
    var = b.const("n/var", np.array([[1.0, 4.0, 0.0]], np.float32))
    g = b.build(b.op("normalize", [x, mean, var], dict(axis=(-1,), invert=True)))
    parity(g)


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (2.0, -1.0), (1.0, 0.0),
                                          ((0.5, 1.0, 2.0, 4.0), (0.0, 1.0, 2.0, 3.0)),
                                          (1.0, (1.0, 2.0, 3.0, 4.0))])
def test_rescale(builder, parity, after_conv, scale, offset):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("rescale", [x], dict(scale=scale, offset=offset))))


# --------------------------------------------------------------------------- pooling, padding

@pytest.mark.parametrize("shape", [NHWC_IN, DYN_IN], ids=["static", "dynamic"])
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("pool,strides,padding", [
    ((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 1), "same"),
    ((3, 3), (1, 2), "valid"), ((2, 2), (2, 2), "same"),
])
def test_pooling(builder, parity, shape, op, pool, strides, padding):
    b = builder()
    y = b.op(op, [b.input("x", shape)], dict(pool_size=pool, strides=strides, padding=padding,
                                              data_format="channels_last"))
    parity(b.build(y), dims=7)


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_avg_pool(builder, parity, after_conv, keepdims):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("global_avg_pool2d", [x], dict(keepdims=keepdims,
                                                         data_format="channels_last"))))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("padding", [((1, 1), (1, 1)), ((0, 2), (3, 0))])
def test_zero_pad2d(builder, parity, after_conv, padding):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("zero_pad2d", [x], dict(padding=padding, data_format="channels_last"))))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("padding", [((1, 0), (0, 2)), ((1, 1), (1, 1)), ((2, 2), (0, 0))])
def test_zero_pad2d_then_max_pool_keeps_the_zeros(builder, parity, after_conv, padding):
    """Explicit zeros then MaxPool: the zeros take part in the max (an onnxruntime
    optimization that folds such a Pad into MaxPool's -inf padding must not fire)."""
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    x = b.op("rescale", [x], dict(scale=1.0, offset=-10.0))  # all negative
    p = b.op("zero_pad2d", [x], dict(padding=padding, data_format="channels_last"))
    y = b.op("max_pool2d", [p], dict(pool_size=(2, 2), strides=(2, 2), padding="valid",
                                      data_format="channels_last"))
    parity(b.build(y))


# --------------------------------------------------------------------------- elementwise

RELU = [
    dict(max_value=None, negative_slope=0.0, threshold=0.0),
    dict(max_value=6.0, negative_slope=0.0, threshold=0.0),
    dict(max_value=None, negative_slope=0.3, threshold=0.0),
    dict(max_value=None, negative_slope=0.0, threshold=0.5),
    dict(max_value=1.0, negative_slope=0.0, threshold=0.5),
    dict(max_value=None, negative_slope=0.2, threshold=0.5),
    dict(max_value=1.5, negative_slope=0.1, threshold=0.0),
    dict(max_value=1.2, negative_slope=0.1, threshold=0.4),
]


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("attrs", RELU, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_relu(builder, parity, after_conv, attrs):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("relu", [x], attrs)))


def test_leaky_relu(builder, parity):
    b = builder()
    parity(b.build(b.op("leaky_relu", [b.input("x", ("batch", 3, 5))], dict(negative_slope=0.3))))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("axis", [-1, 1, 2, 3])
def test_softmax_axes_rank4(builder, parity, after_conv, axis):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("softmax", [x], dict(axis=axis))))


@pytest.mark.parametrize("axis", [-1, 1, -2])
def test_softmax_axes_rank3(builder, parity, axis):
    b = builder()
    parity(b.build(b.op("softmax", [b.input("x", ("batch", 3, 5))], dict(axis=axis))))


@pytest.mark.parametrize("op,attrs", [("dropout", dict(rate=0.5)), ("identity", {})])
def test_dropout_and_identity(builder, parity, op, attrs):
    b = builder()
    x = b.conv(b.input("x", NHWC_IN), 4)
    parity(b.build(b.op(op, [x], attrs)))


MERGES = ["add", "subtract", "multiply", "average", "maximum", "minimum"]


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("op", MERGES)
def test_merges_same_shape(builder, parity, op, after_conv):
    b = builder()
    x = b.input("x", NHWC_IN)
    y = b.input("y", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    ins = [x, y] if op == "subtract" else [x, y, b.input("z", NHWC_IN)]
    parity(b.build(b.op(op, ins)))


@pytest.mark.parametrize("op", MERGES)
def test_merges_broadcast_in_nchw(builder, parity, op):
    """(N,1,1,C) against (N,H,W,C), both computed in NCHW (a squeeze-excite block)."""
    b = builder()
    x = b.conv(b.input("x", NHWC_IN), 4)
    s = b.op("global_avg_pool2d", [x], dict(keepdims=True, data_format="channels_last"))
    s = b.conv(s, 4, k=1, activation="sigmoid")
    parity(b.build(b.op(op, [x, s])))


@pytest.mark.parametrize("op", MERGES)
def test_merges_broadcast_across_ranks(builder, parity, op):
    b = builder()
    x = b.input("x", ("batch", 3, 4))
    y = b.input("y", ("batch", 1, 4))
    parity(b.build(b.op(op, [x, y])))


def test_merge_with_a_weight_operand(builder, parity):
    b = builder()
    x = b.conv(b.input("x", NHWC_IN), 4)
    w = b.weight("bias4d", (1, 7, 6, 4))
    parity(b.build(b.op("add", [x, w])))


# --------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("target", [(42, 4), (-1,), (6, -1, 2), (4, 6, 7)])
def test_reshape(builder, parity, after_conv, target):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("reshape", [x], dict(target_shape=target))))


@pytest.mark.parametrize("shape", [NHWC_IN, ("batch", 3, 5), ("batch", 5), ("batch",)])
def test_flatten(builder, parity, shape):
    b = builder()
    parity(b.build(b.op("flatten", [b.input("x", shape)])))


def test_flatten_after_conv(builder, parity):
    b = builder()
    parity(b.build(b.op("flatten", [b.conv(b.input("x", NHWC_IN), 4)])))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("dims", [(3, 1, 2), (2, 1, 3), (1, 3, 2), (1, 2, 3)])
def test_permute(builder, parity, after_conv, dims):
    b = builder()
    x = b.input("x", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("permute", [x], dict(dims=dims))))


def test_permute_rank3(builder, parity):
    b = builder()
    parity(b.build(b.op("permute", [b.input("x", ("batch", 3, 5))], dict(dims=(2, 1)))))


@pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("axis", [-1, 1, 2, 3])
def test_concatenate_rank4(builder, parity, after_conv, axis):
    b = builder()
    x = b.input("x", NHWC_IN)
    y = b.input("y", NHWC_IN)
    if after_conv:
        x = b.conv(x, 4)
    parity(b.build(b.op("concatenate", [x, y, x], dict(axis=axis))))


@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate_rank2(builder, parity, axis):
    b = builder()
    x, y = b.input("x", ("batch", 3)), b.input("y", ("batch", 3))
    parity(b.build(b.op("concatenate", [x, y], dict(axis=axis))))


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_embedding(builder, parity, dtype):
    b = builder()
    idx = b.input("ids", ("batch", 6), dtype=dtype)
    table = b.weight("emb/table", (5, 3))
    g = b.build(b.op("embedding", [idx, table]))

    def feeds(batch):
        if dtype == "float32":  # fractional and negative: truncation, then wrap-around
            vals = np.array([0.0, 1.7, -0.5, 4.99, -1.0, -4.2], np.float32)
        else:
            vals = np.array([0, 1, 4, -1, -5, 2], dtype)
        return {"ids": np.tile(vals, (batch, 1))}

    parity(g, feeds=feeds)


def test_embedding_rank3_indices(builder, parity):
    b = builder()
    idx = b.input("ids", ("batch", 2, 3), dtype="int64")
    parity(b.build(b.op("embedding", [idx, b.weight("emb/table", (4, 3))])))


# --------------------------------------------------------------------------- properties

_PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@_PROPERTY
@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3),
       d=st.integers(1, 2), padding=st.sampled_from(["same", "valid"]),
       groups=st.sampled_from([1, 2]), dynamic=st.booleans(),
       op=st.sampled_from(["conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d"]))
def test_spatial_ops_property(builder, parity, h, w, k, s, d, padding, groups, dynamic, op):
    """Random windows, strides, dilations and sizes (static and dynamic spatial dims)."""
    if s > 1 or op.endswith("pool2d"):
        d = 1  # TF refuses strides > 1 with dilations > 1; pools have no dilation
    eff = (k - 1) * d + 1
    assume(padding == "same" or (h >= eff and w >= eff))
    b = builder(seed=h * 100 + w)
    x = b.input("x", ("batch", None, None, 4) if dynamic else ("batch", h, w, 4))
    if op == "conv2d":
        y = b.conv(x, 4, k, strides=(s, s), padding=padding, dilations=(d, d), groups=groups)
    elif op == "depthwise_conv2d":
        y = b.op(op, [x, b.weight("k", (k, k, 4, groups))],
                 dict(strides=(s, s), padding=padding, dilations=(d, d), activation="linear",
                      data_format="channels_last"))
    else:
        y = b.op(op, [x], dict(pool_size=(k, k), strides=(s, 1), padding=padding,
                               data_format="channels_last"))
    g = b.build(y)
    parity(g, feeds=lambda batch: {"x": np.random.default_rng(batch).normal(
        size=(batch, h, w, 4)).astype(np.float32)})


# --------------------------------------------------------------------------- N-d spatial ops

import onnxruntime as ort  # noqa: E402

from graphir.backends.onnx import count_ops  # noqa: E402

_LAST = "channels_last"
#: spatial rank -> (static input, dynamic input)
_ND_IN = {1: (("batch", 9, 4), ("batch", None, 4)),
          2: (("batch", 7, 6, 4), ("batch", None, None, 4)),
          3: (("batch", 5, 6, 4, 4), ("batch", None, None, None, 4))}


def _nd_conv(b, x, filters, k, r, *, op="conv", padding="same", strides=1, dilations=1,
             groups=1, activation="linear", bias=True):
    cin = b.types[x].shape[-1]
    name = f"{op}_{len(b.nodes)}"
    if op == "conv":
        shape = (k,) * r + (cin // groups, filters)
        attrs = dict(groups=groups)
    elif op == "conv_transpose":
        shape = (k,) * r + (filters, cin)
        eff = (k - 1) * dilations + 1
        attrs = dict(output_padding=(max(eff, strides) - eff if padding == "valid"
                                     else strides - eff % 2,) * r)
    else:  # depthwise: filters is the multiplier
        shape = (k,) * r + (cin, filters)
        attrs = {}
    ins = [x, b.weight(f"{name}/kernel", shape, scale=0.3)]
    out_c = shape[r + 1] if op == "conv" else shape[r] if op == "conv_transpose" else cin * filters
    if bias:
        ins.append(b.weight(f"{name}/bias", (out_c,)))
    family = {"conv": f"conv{r}d", "conv_transpose": f"conv{r}d_transpose",
              "depthwise": f"depthwise_conv{r}d"}[op]
    return b.op(family, ins, dict(strides=(strides,) * r, padding=padding,
                                  dilations=(dilations,) * r, activation=activation,
                                  data_format=_LAST, **attrs), name=name)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("kw", [
    dict(padding="same"), dict(padding="valid", strides=2), dict(padding="same", strides=2, k=2),
    dict(padding="same", dilations=2), dict(padding="valid", groups=2, activation="relu"),
    dict(bias=False, activation="softmax"),
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv_1d_3d(builder, parity, r, kw, dynamic):
    kw = dict(kw)
    k = kw.pop("k", 3)
    b = builder()
    x = b.input("x", _ND_IN[r][dynamic])
    parity(b.build(_nd_conv(b, x, 4, k, r, **kw)), dims=7)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("k,d,s", [(3, 1, 1), (2, 3, 1), (3, 2, 2)])
def test_conv1d_causal(builder, parity, dynamic, k, d, s):
    b = builder()
    x = b.input("x", _ND_IN[1][dynamic])
    kern = b.weight("c/kernel", (k, 4, 3))
    y = b.op("conv1d", [x, kern], dict(strides=(s,), padding="causal", dilations=(d,), groups=1,
                                       activation="linear", data_format=_LAST))
    parity(b.build(y), dims=8)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("k,strides,padding,dilations", [
    (3, 2, "same", 1), (3, 2, "valid", 1), (4, 3, "same", 1), (2, 3, "valid", 1),
    (1, 2, "same", 1), (3, 1, "same", 2), (3, 1, "valid", 2), (4, 1, "same", 2),
])
def test_conv_transpose(builder, parity, r, k, strides, padding, dilations, dynamic):
    """Keras' default output_padding; dilations, which TensorFlow's CPU kernels refuse,
    are checked against the reference only."""
    b = builder()
    x = b.input("x", _ND_IN[r][dynamic])
    y = _nd_conv(b, x, 3, k, r, op="conv_transpose", padding=padding, strides=strides,
                 dilations=dilations, activation="relu")
    parity(b.build(y), dims=4)


@pytest.mark.parametrize("padding,output_padding", [("same", 0), ("same", 1), ("valid", 1),
                                                    ("valid", 2)])
def test_conv_transpose_explicit_output_padding(builder, parity, padding, output_padding):
    b = builder()
    x = b.input("x", ("batch", 5, 4, 4))
    y = b.op("conv2d_transpose", [x, b.weight("t/kernel", (3, 3, 2, 4))],
             dict(strides=(3, 3), padding=padding, dilations=(1, 1),
                  output_padding=(output_padding, output_padding), activation="linear",
                  data_format=_LAST))
    parity(b.build(y))


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("op", ["depthwise", "separable"])
@pytest.mark.parametrize("strides,padding,dilations", [(1, "same", 1), (2, "same", 1),
                                                       (1, "valid", 2), (2, "valid", 1)])
def test_depthwise_and_separable_conv1d(builder, parity, op, strides, padding, dilations,
                                        dynamic):
    b = builder()
    x = b.input("x", _ND_IN[1][dynamic])
    attrs = dict(strides=(strides,), padding=padding, dilations=(dilations,),
                 activation="relu6", data_format=_LAST)
    if op == "depthwise":
        y = b.op("depthwise_conv1d", [x, b.weight("dw/kernel", (3, 4, 2)),
                                      b.weight("dw/bias", (8,))], attrs)
    else:
        y = b.op("separable_conv1d", [x, b.weight("s/dw", (3, 4, 2)), b.weight("s/pw", (1, 8, 5)),
                                      b.weight("s/bias", (5,))], attrs)
    parity(b.build(y), dims=9)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool,strides,padding", [(2, 2, "valid"), (3, 2, "same"),
                                                  (3, 1, "same"), (2, 1, "valid")])
def test_pooling_1d_3d(builder, parity, r, kind, pool, strides, padding, dynamic):
    b = builder()
    x = b.input("x", _ND_IN[r][dynamic])
    y = b.op(f"{kind}_pool{r}d", [x], dict(pool_size=(pool,) * r, strides=(strides,) * r,
                                           padding=padding, data_format=_LAST))
    parity(b.build(y), dims=7)


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(builder, parity, r, kind, keepdims, after_conv):
    b = builder()
    x = b.input("x", _ND_IN[r][0])
    if after_conv:
        x = _nd_conv(b, x, 5, 3, r)
    y = b.op(f"global_{kind}_pool{r}d", [x], dict(keepdims=keepdims, data_format=_LAST))
    parity(b.build(y))


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("r,size,interpolation", [
    (1, (3,), "nearest"), (1, (7,), "nearest"), (2, (2, 3), "nearest"), (2, (5, 1), "nearest"),
    (2, (2, 3), "bilinear"), (2, (4, 1), "bilinear"), (3, (2, 1, 3), "nearest"),
])
def test_upsample(builder, parity, r, size, interpolation, after_conv):
    b = builder()
    x = b.input("x", _ND_IN[r][1])
    if after_conv:
        x = _nd_conv(b, x, 3, 3, r)
    y = b.op(f"upsample{r}d", [x], dict(size=size, interpolation=interpolation,
                                        data_format=_LAST))
    parity(b.build(y), dims=6)


@pytest.mark.parametrize("n", [1, 5, 13, 31, 64])
@pytest.mark.parametrize("f", [3, 6, 7, 11])
def test_upsample_nearest_is_an_exact_repeat(builder, n, f):
    """Resize(nearest, asymmetric, floor) at index i reads floor(i / f): exact for the sizes
    and factors a rounding of i * (1/f) would get wrong (e.g. i = 6, f = 3)."""
    from graphir.backends.onnx import to_onnx

    b = builder()
    x = b.input("x", ("batch", None, 1))
    g = b.build(b.op("upsample1d", [x], dict(size=(f,), interpolation="nearest",
                                             data_format=_LAST)))
    data = np.arange(n, dtype=np.float32).reshape(1, n, 1)
    sess = ort.InferenceSession(to_onnx(g).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": data})[0]
    np.testing.assert_array_equal(got, np.repeat(data, f, axis=1))


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("r,pairs", [(1, ((1, 2),)), (1, ((0, 3),)),
                                     (3, ((1, 0), (0, 2), (2, 1))), (3, ((0, 0), (1, 1), (0, 0)))])
@pytest.mark.parametrize("op", ["zero_pad", "crop"])
def test_zero_pad_and_crop_1d_3d(builder, parity, r, pairs, op, after_conv):
    b = builder()
    x = b.input("x", ("batch", 9, 4) if r == 1 else ("batch", 5, 6, 4, 4))
    if after_conv:
        x = _nd_conv(b, x, 3, 1, r)
    key = "padding" if op == "zero_pad" else "cropping"
    parity(b.build(b.op(f"{op}{r}d", [x], {key: pairs, "data_format": _LAST})))


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("shape,alpha_shape", [
    (("batch", 9, 4), (9, 4)), (("batch", 9, 4), (1, 4)), (("batch", None, 4), (1, 4)),
    (("batch", 7, 6, 4), (7, 6, 4)), (("batch", 7, 6, 4), (1, 1, 4)),
    (("batch", 7, 6, 4), (7, 1, 1)), (("batch", 5, 6, 4, 4), (1, 6, 1, 4)),
])
def test_prelu(builder, parity, shape, alpha_shape, after_conv):
    b = builder()
    x = b.input("x", shape)
    if after_conv:
        x = _nd_conv(b, x, 4, 1, len(shape) - 2)
    y = b.op("prelu", [x, b.weight("p/alpha", alpha_shape)])
    parity(b.build(y), dims=9)


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_elu(builder, parity, alpha, after_conv):
    b = builder()
    x = b.input("x", _ND_IN[1][0])
    if after_conv:
        x = _nd_conv(b, x, 4, 3, 1)
    parity(b.build(b.op("elu", [x], dict(alpha=alpha))))


@pytest.mark.parametrize("r", [1, 3])
def test_nd_chain_transposes_only_at_its_ends(builder, parity, r):
    """conv, prelu, elu, pad, max pool, conv, scale, dense, add, upsample, conv transpose
    of rank-3 / rank-5 values stay channels-first: one Transpose in, one out."""
    b = builder()
    x = b.input("x", ("batch", 12, 4) if r == 1 else ("batch", 6, 6, 6, 4))
    y = _nd_conv(b, x, 4, 3, r, activation="relu")
    y = b.op("prelu", [y, b.weight("p/alpha", (1,) * r + (4,))])
    y = b.op("elu", [y], dict(alpha=0.5))
    y = b.op(f"zero_pad{r}d", [y], dict(padding=((1, 1),) * r, data_format=_LAST))
    y = b.op(f"max_pool{r}d", [y], dict(pool_size=(2,) * r, strides=(2,) * r, padding="valid",
                                        data_format=_LAST))
    z = _nd_conv(b, y, 4, 3, r)
    z = b.op("scale", [z, b.weight("s/gamma", (4,))])
    z = b.op("dense", [z, b.weight("d/kernel", (4, 4))], dict(units=4, activation="linear"))
    y = b.op("add", [y, z])
    y = b.op(f"upsample{r}d", [y], dict(size=(2,) * r, interpolation="nearest",
                                        data_format=_LAST))
    y = _nd_conv(b, y, 3, 2, r, op="conv_transpose", strides=2)
    model = parity(b.build(y))
    assert count_ops(model).get("Transpose", 0) == 2


def test_permute_of_a_channels_first_rank3_value(builder, parity):
    b = builder()
    y = _nd_conv(b, b.input("x", _ND_IN[1][0]), 5, 3, 1)
    parity(b.build(b.op("permute", [y], dict(dims=(2, 1)))))
