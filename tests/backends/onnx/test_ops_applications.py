"""The ops keras.applications needed beyond the first op set (``layer_norm``, ``scale``,
``separable_conv2d``, ``crop2d``) and ``dense`` as a 1x1 Conv on NCHW data: onnxruntime
matches the NumPy reference interpreter (rtol = atol = 1e-5) at batch sizes 1 and 3,
in NHWC (straight from a graph input) and in NCHW (after a convolution)."""

from __future__ import annotations

import attrs
import numpy as np
import onnxruntime as ort
import pytest

from graphir.backends.onnx import count_ops, to_onnx
from graphir.errors import GraphInvariantError
from graphir.interpreter import evaluate
from graphir.ops import TypeRuleError, infer_types
from graphir.tensor_types import TensorType

NHWC_IN = ("batch", 7, 6, 4)
DYN_IN = ("batch", None, None, 4)
SHAPES = pytest.mark.parametrize("shape", [NHWC_IN, DYN_IN], ids=["static", "dynamic"])
AFTER_CONV = pytest.mark.parametrize("after_conv", [False, True], ids=["nhwc", "nchw"])


def _source(b, shape, after_conv: bool) -> str:
    """The graph input, or a conv of it (whose result exists only as NCHW)."""
    x = b.input("x", shape)
    return b.conv(x, 4, 3, name="pre") if after_conv else x


def _layer_norm(b, x, axis, *, gamma=True, beta=True, epsilon=1e-3, name="ln"):
    shape = b.types[x].shape
    sizes = tuple(shape[a] for a in sorted(a % len(shape) for a in axis))
    ins = [x, b.weight(f"{name}/gamma", sizes, low=0.5, high=1.5) if gamma else "",
           b.weight(f"{name}/beta", sizes) if beta else ""]
    while ins[-1] == "":
        ins.pop()
    return b.op("layer_norm", ins, dict(axis=tuple(axis), epsilon=epsilon), name=name)


# --------------------------------------------------------------------------- layer_norm

@SHAPES
@AFTER_CONV
@pytest.mark.parametrize("gamma,beta", [(True, True), (False, True), (True, False),
                                        (False, False)])
def test_layer_norm_last_axis(builder, parity, shape, after_conv, gamma, beta):
    b = builder()
    x = _source(b, shape, after_conv)
    y = _layer_norm(b, x, (3,), gamma=gamma, beta=beta)
    model = parity(b.build(y), dims=9)
    ops = count_ops(model)
    if after_conv:  # the channel axis of NCHW is not trailing: ReduceMean decomposition
        assert ops.get("LayerNormalization", 0) == 0 and ops["ReduceMean"] == 2
    elif shape == NHWC_IN or gamma or beta:
        assert ops["LayerNormalization"] == 1
    assert ops.get("Transpose", 0) == (2 if after_conv else 0)


@pytest.mark.parametrize("axis", [(1, 2, 3), (2, 3), (1,), (1, 3), (-2, -1)])
@AFTER_CONV
def test_layer_norm_several_axes(builder, parity, axis, after_conv):
    b = builder()
    x = _source(b, NHWC_IN, after_conv)
    parity(b.build(_layer_norm(b, x, axis)))


@pytest.mark.parametrize("shape,axis", [(("batch", 6), (1,)), (("batch", 5, 6), (2,)),
                                        (("batch", 5, 6), (1, 2)), (("batch", None, 6), (2,))])
def test_layer_norm_other_ranks(builder, parity, shape, axis):
    b = builder()
    parity(b.build(_layer_norm(b, b.input("x", shape), axis, epsilon=1e-6)))


@pytest.mark.parametrize("axis", [(3,), (1,)], ids=["trailing", "not-trailing"])
def test_layer_norm_float64_uses_the_decomposition(builder, parity, axis):
    b = builder()
    x = b.input("x", NHWC_IN, dtype="float64")
    g = b.weight("ln/gamma", (NHWC_IN[axis[0]],), dtype="float64")
    y = b.op("layer_norm", [x, g], dict(axis=axis, epsilon=1e-3), name="ln")
    assert count_ops(parity(b.build(y), dtype="float64")).get("LayerNormalization", 0) == 0


@pytest.mark.parametrize("axis", [(3,), (1,)], ids=["trailing", "not-trailing"])
def test_layer_norm_float16_computes_in_float32(builder, axis):
    b = builder()
    x = b.input("x", NHWC_IN, dtype="float16")
    size = NHWC_IN[axis[0]]
    g = b.weight("ln/gamma", (size,), low=0.5, high=1.5, dtype="float16")
    be = b.weight("ln/beta", (size,), dtype="float16")
    graph = b.build(b.op("layer_norm", [x, g, be], dict(axis=axis, epsilon=1e-3), name="ln"))
    model = to_onnx(graph)
    ops = count_ops(model)
    assert ops.get("LayerNormalization", 0) == (1 if axis == (3,) else 0)
    assert ops.get("Cast", 0) == (0 if axis == (3,) else 2)
    feeds = {"x": np.random.default_rng(0).normal(size=(3, 7, 6, 4)).astype(np.float16)}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["ln"], feeds)
    want = evaluate(graph, feeds)["ln"]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=4e-3,
                               atol=4e-3)


def test_layer_norm_type_rule_rejections():
    x = TensorType("float32", ("batch", 4, 5))
    g = TensorType("float32", (5,))
    with pytest.raises(TypeRuleError, match="batch axis"):
        infer_types("layer_norm", [x, None, None], dict(axis=(0,), epsilon=1e-3))
    with pytest.raises(TypeRuleError, match="strictly increasing"):
        infer_types("layer_norm", [x, None, None], dict(axis=(2, 1), epsilon=1e-3))
    with pytest.raises(TypeRuleError, match="at least one axis"):
        infer_types("layer_norm", [x, None, None], dict(axis=(), epsilon=1e-3))
    with pytest.raises(TypeRuleError, match="parameter 1"):
        infer_types("layer_norm", [x, g, None], dict(axis=(1,), epsilon=1e-3))
    with pytest.raises(TypeRuleError, match="float"):
        infer_types("layer_norm", [TensorType("int32", (2, 5)), None, None],
                    dict(axis=(1,), epsilon=1e-3))


# --------------------------------------------------------------------------- scale

@pytest.mark.parametrize("shape,after_conv", [
    (NHWC_IN, False), (DYN_IN, False), (("batch", 5, 4), False), (("batch", 4), False),
    (NHWC_IN, True), (DYN_IN, True)],
    ids=["static", "dynamic", "rank3", "rank2", "static-nchw", "dynamic-nchw"])
def test_scale(builder, parity, shape, after_conv):
    b = builder()
    x = _source(b, shape, after_conv)
    y = b.op("scale", [x, b.weight("ls/gamma", (4,))], name="ls")
    model = parity(b.build(y), dims=8)
    assert count_ops(model)["Mul"] == 1
    assert count_ops(model).get("Transpose", 0) == (2 if after_conv else 0)


def test_scale_type_rule_rejections():
    with pytest.raises(TypeRuleError, match=r"shape \(4,\)"):
        infer_types("scale", [TensorType("float32", ("batch", 4)), TensorType("float32", (3,))],
                    {})
    with pytest.raises(TypeRuleError, match="rank >= 2"):
        infer_types("scale", [TensorType("float32", ("batch",)), TensorType("float32", (3,))],
                    {})


# --------------------------------------------------------------------------- separable_conv2d

SEPARABLE = [
    dict(mult=1, strides=(1, 1), padding="same", dilations=(1, 1), bias=True),
    dict(mult=2, strides=(2, 2), padding="same", dilations=(1, 1), bias=False),
    dict(mult=3, strides=(1, 1), padding="valid", dilations=(2, 2), bias=True),
    dict(mult=1, strides=(2, 1), padding="valid", dilations=(1, 1), bias=True,
         activation="relu"),
]


def _separable(b, x, *, mult, strides, padding, dilations, bias, activation="linear",
               filters=5, name="sep"):
    cin = b.types[x].shape[-1]
    ins = [x, b.weight(f"{name}/depthwise_kernel", (3, 3, cin, mult)),
           b.weight(f"{name}/pointwise_kernel", (1, 1, cin * mult, filters))]
    if bias:
        ins.append(b.weight(f"{name}/bias", (filters,)))
    return b.op("separable_conv2d", ins, dict(strides=strides, padding=padding,
                                              dilations=dilations, activation=activation,
                                              data_format="channels_last"), name=name)


@SHAPES
@pytest.mark.parametrize("kw", SEPARABLE,
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_separable_conv2d(builder, parity, shape, kw):
    b = builder()
    y = _separable(b, b.input("x", shape), **kw)
    model = parity(b.build(y), dims=9)
    ops = count_ops(model)
    assert ops["Conv"] == 2 and ops["Transpose"] == 2


def test_separable_conv2d_chain_keeps_nchw(builder, parity):
    b = builder()
    x = b.input("x", NHWC_IN)
    y = _separable(b, x, mult=1, strides=(1, 1), padding="same", dilations=(1, 1), bias=True,
                   activation="relu", name="sep1")
    y = b.op("relu", [y], dict(max_value=None, negative_slope=0.0, threshold=0.0))
    y = _separable(b, y, mult=2, strides=(2, 2), padding="same", dilations=(1, 1), bias=False,
                   name="sep2")
    assert count_ops(parity(b.build(y))).get("Transpose", 0) == 2


def test_separable_conv2d_type_rule_rejections():
    x = TensorType("float32", ("batch", 8, 8, 4))
    dw = TensorType("float32", (3, 3, 4, 2))
    attrs = dict(strides=(1, 1), padding="same", dilations=(1, 1), activation="linear",
                 data_format="channels_last")
    with pytest.raises(TypeRuleError, match=r"\(1, 1, 8, filters\)"):
        infer_types("separable_conv2d", [x, dw, TensorType("float32", (1, 1, 4, 5))], attrs)
    with pytest.raises(TypeRuleError, match="input channels"):
        infer_types("separable_conv2d", [TensorType("float32", ("batch", 8, 8, 3)), dw,
                                         TensorType("float32", (1, 1, 8, 5))], attrs)
    with pytest.raises(TypeRuleError, match="bias"):
        infer_types("separable_conv2d", [x, dw, TensorType("float32", (1, 1, 8, 5)),
                                         TensorType("float32", (4,))], attrs)


# --------------------------------------------------------------------------- crop2d

@SHAPES
@AFTER_CONV
@pytest.mark.parametrize("cropping", [((1, 0), (1, 0)), ((0, 2), (1, 1)), ((0, 0), (0, 0)),
                                      ((2, 1), (0, 3))])
def test_crop2d(builder, parity, shape, after_conv, cropping):
    b = builder()
    x = _source(b, shape, after_conv)
    y = b.op("crop2d", [x], dict(cropping=cropping, data_format="channels_last"), name="crop")
    model = parity(b.build(y), dims=9)
    assert count_ops(model)["Slice"] == 1
    assert count_ops(model).get("Transpose", 0) == (2 if after_conv else 0)


def test_crop2d_type_rule():
    x = TensorType("float32", ("batch", 7, None, 4))
    attrs = dict(cropping=((1, 2), (3, 0)), data_format="channels_last")
    assert infer_types("crop2d", [x], attrs)[0] == TensorType("float32", ("batch", 4, None, 4))
    with pytest.raises(TypeRuleError, match="leaves nothing"):
        infer_types("crop2d", [x], dict(attrs, cropping=((4, 3), (0, 0))))
    with pytest.raises(TypeRuleError, match="rank 4"):
        infer_types("crop2d", [TensorType("float32", ("batch", 7, 4))], attrs)


# --------------------------------------------------------------------------- dense on NCHW

@SHAPES
@pytest.mark.parametrize("bias,activation", [(True, "linear"), (False, "softmax"),
                                             (True, "gelu")])
def test_dense_on_a_conv_output_is_a_1x1_conv(builder, parity, shape, bias, activation):
    b = builder()
    x = b.conv(b.input("x", shape), 4, name="pre")
    ins = [x, b.weight("d/kernel", (4, 6))] + ([b.weight("d/bias", (6,))] if bias else [])
    y = b.op("dense", ins, dict(units=6, activation=activation), name="d")
    y = b.conv(y, 3, name="post")
    model = parity(b.build(y), dims=9)
    ops = count_ops(model)
    assert ops["Conv"] == 3 and ops.get("MatMul", 0) == 0 and ops["Transpose"] == 2


def test_dense_on_an_nhwc_rank4_value_stays_a_matmul(builder, parity):
    b = builder()
    x = b.input("x", NHWC_IN)
    y = b.op("dense", [x, b.weight("d/kernel", (4, 6))], dict(units=6, activation="linear"))
    ops = count_ops(parity(b.build(y)))
    assert ops["MatMul"] == 1 and ops.get("Transpose", 0) == 0


def test_convnext_style_block_needs_no_transpose_inside(builder, parity):
    """conv -> layer_norm -> dense -> gelu -> dense -> scale -> add(residual), twice:
    everything stays NCHW between the first conv and the graph output."""
    b = builder()
    x = b.conv(b.input("x", NHWC_IN), 4, 2, strides=(2, 2), padding="valid", name="stem")
    for i in range(2):
        kern = b.weight(f"b{i}/dw", (3, 3, 1, 4))
        y = b.op("conv2d", [x, kern], dict(strides=(1, 1), padding="same", dilations=(1, 1),
                                            groups=4, activation="linear",
                                            data_format="channels_last"), name=f"b{i}/dwconv")
        y = _layer_norm(b, y, (3,), epsilon=1e-6, name=f"b{i}/ln")
        y = b.op("dense", [y, b.weight(f"b{i}/k1", (4, 16)), b.weight(f"b{i}/b1", (16,))],
                 dict(units=16, activation="gelu"), name=f"b{i}/pw1")
        y = b.op("dense", [y, b.weight(f"b{i}/k2", (16, 4)), b.weight(f"b{i}/b2", (4,))],
                 dict(units=4, activation="linear"), name=f"b{i}/pw2")
        y = b.op("scale", [y, b.weight(f"b{i}/gamma", (4,))], name=f"b{i}/ls")
        x = b.op("add", [x, y], name=f"b{i}/add")
    y = b.op("global_avg_pool2d", [x], dict(keepdims=False, data_format="channels_last"))
    y = _layer_norm(b, y, (1,), epsilon=1e-6, name="head_ln")
    model = parity(b.build(y), dims=9)
    assert count_ops(model)["Transpose"] == 1


def test_layer_norm_graph_with_a_bad_gamma_fails_verification(builder):
    b = builder()
    x = b.input("x", ("batch", 4))
    graph = b.build(_layer_norm(b, x, (1,)))
    bad = dict(graph.weights)
    bad["ln/gamma"] = np.ones(5, np.float32)
    with pytest.raises(GraphInvariantError, match="types"):
        to_onnx(attrs.evolve(graph, weights=bad))
