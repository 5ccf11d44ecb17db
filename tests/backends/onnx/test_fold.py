"""Batch-norm folding (``graphir.backends.onnx.fold``): which pairs fold, that the folded
model computes what the unfolded one and the reference interpreter compute, and that
nothing else changes."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from graphir.backends.onnx import count_ops, to_onnx

IMG = ("batch", 8, 8, 3)
RELU = dict(max_value=None, negative_slope=0.0, threshold=0.0)


def _run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def _feeds(graph, batch):
    rng = np.random.default_rng(batch)
    return {v.name: rng.normal(size=(batch,) + tuple(v.type.shape[1:])).astype(np.float32)
            for v in graph.inputs}


def _both(graph):
    """(folded, unfolded) models; asserts they agree on seeded inputs at batch 1 and 3."""
    folded, plain = to_onnx(graph), to_onnx(graph, fold=False)
    for batch in (1, 3):
        feeds = _feeds(graph, batch)
        a, b = _run(folded, feeds), _run(plain, feeds)
        for name in graph.outputs:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-5)
    return folded, plain


def _readers(model):
    return {name for n in model.graph.node for name in n.input}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("gamma,beta", [(True, True), (False, False)])
def test_conv_bn_relu_folds_into_one_conv(builder, parity, bias, gamma, beta):
    b = builder()
    c = b.conv(b.input("x", IMG), 4, bias=bias, name="conv")
    y = b.op("relu", [b.bn(c, gamma=gamma, beta=beta, name="bn")], RELU, name="relu")
    g = b.build(y)
    model = parity(g)  # against the NumPy reference interpreter (rtol = atol = 1e-5)
    folded, plain = _both(g)
    assert "BatchNormalization" not in count_ops(folded)
    assert count_ops(plain)["BatchNormalization"] == 1
    assert count_ops(folded)["Conv"] == 1 and count_ops(folded)["Transpose"] == 2
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    assert conv.name == "conv" and list(conv.output) == ["bn/nchw"] and len(conv.input) == 3
    # no initializer is left unread (the statistics are gone)
    assert {t.name for t in model.graph.initializer} <= _readers(model)
    assert not any(t.name.startswith("bn/") for t in model.graph.initializer)


def test_folded_kernel_and_bias_values(builder):
    b = builder()
    c = b.conv(b.input("x", IMG), 4, k=1, name="conv")
    g = b.build(b.bn(c, name="bn"))
    model = to_onnx(g)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    w, bias = inits[conv.input[1]], inits[conv.input[2]]
    gamma, beta, mean, var = (g.weights[f"bn/{k}"].astype(np.float64)
                              for k in ("gamma", "beta", "mean", "variance"))
    s = gamma / np.sqrt(var + 1e-3)
    want_w = g.weights["conv/kernel"].transpose(3, 2, 0, 1) * s.astype(np.float32)[:, None, None,
                                                                                    None]
    np.testing.assert_array_equal(w, want_w.astype(np.float32))
    want_b = (g.weights["conv/bias"].astype(np.float64) - mean) * s + beta
    np.testing.assert_array_equal(bias, want_b.astype(np.float32))
    assert w.dtype == bias.dtype == np.float32


def test_depthwise_conv_bn_folds(builder, parity):
    b = builder()
    x = b.input("x", IMG)
    k = b.weight("dw/kernel", (3, 3, 3, 2))
    d = b.op("depthwise_conv2d", [x, k], dict(strides=(1, 1), padding="same", dilations=(1, 1),
                                              activation="linear", data_format="channels_last"),
             name="dw")
    g = b.build(b.op("relu", [b.bn(d)], RELU))
    folded = parity(g)
    assert "BatchNormalization" not in count_ops(folded)
    _both(g)


def test_conv_output_read_elsewhere_is_not_folded(builder, parity):
    b = builder()
    c = b.conv(b.input("x", IMG), 3)
    y = b.op("add", [b.bn(c), c])  # the unnormalized conv output is needed too
    model = parity(b.build(y))
    assert count_ops(model)["BatchNormalization"] == 1


def test_conv_output_that_is_a_graph_output_is_not_folded(builder, parity):
    b = builder()
    c = b.conv(b.input("x", IMG), 3)
    model = parity(b.build([b.bn(c), c]))
    assert count_ops(model)["BatchNormalization"] == 1


def test_bn_without_a_conv_is_kept(builder, parity):
    b = builder()
    x = b.op("max_pool2d", [b.input("x", IMG)], dict(pool_size=(2, 2), strides=(2, 2),
                                                      padding="valid",
                                                      data_format="channels_last"))
    model = parity(b.build(b.bn(x)))
    assert count_ops(model)["BatchNormalization"] == 1


def test_conv_with_a_fused_activation_is_not_folded(builder, parity):
    b = builder()
    c = b.conv(b.input("x", IMG), 3, activation="relu")
    model = parity(b.build(b.bn(c)))
    assert count_ops(model)["BatchNormalization"] == 1


def test_shared_kernel_gets_one_folded_copy_per_conv(builder, parity):
    """One kernel read by two convs, each followed by its own BN: the shared initializer
    is left alone while readers remain, each conv gets its own folded kernel and bias."""
    b = builder()
    x = b.input("x", IMG)
    k = b.weight("shared/kernel", (3, 3, 3, 3))
    attrs = dict(strides=(1, 1), padding="same", dilations=(1, 1), groups=1,
                 activation="linear", data_format="channels_last")
    c1 = b.op("conv2d", [x, k], attrs, name="c1")
    c2 = b.op("conv2d", [x, k], attrs, name="c2")
    y = b.op("add", [b.bn(c1, name="bn1"), b.bn(c2, name="bn2")])
    g = b.build(y)
    model = parity(g)
    folded, _ = _both(g)
    assert "BatchNormalization" not in count_ops(model)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len({n.input[1] for n in convs}) == 2 and len({n.input[2] for n in convs}) == 2
    assert {t.name for t in model.graph.initializer} <= _readers(model)
    names = [t.name for t in model.graph.initializer]
    assert len(names) == len(set(names))


def test_folding_is_deterministic_and_keeps_names(builder):
    def make():
        b = builder(seed=3)
        c = b.conv(b.input("x", IMG), 4, name="conv")
        return b.build(b.op("relu", [b.bn(c, name="bn")], RELU, name="relu"))

    a, c = to_onnx(make()), to_onnx(make())
    assert a.SerializeToString() == c.SerializeToString()
    assert [o.name for o in a.graph.output] == ["relu"]


# --------------------------------------------------------------------------- pads, pools

def _pad(b, x, t=1, bo=1, le=1, r=1, name=None):
    return b.op("zero_pad2d", [x], dict(padding=((t, bo), (le, r)), data_format="channels_last"),
                name=name)


def _maxpool(b, x, k=3, s=2, padding="valid"):
    return b.op("max_pool2d", [x], dict(pool_size=(k, k), strides=(s, s), padding=padding,
                                         data_format="channels_last"))


def _attr(node, name):
    return next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pad_before_conv_becomes_conv_pads(builder, parity, padding):
    b = builder()
    c0 = b.conv(b.input("x", ("batch", 9, 9, 3)), 4, name="c0")  # the Pad sees NCHW data
    c = b.conv(_pad(b, c0, 1, 2, 0, 1, name="pad"), 4, strides=(2, 2), padding=padding,
               name="conv")
    g = b.build(c)
    model = parity(g)
    _both(g)
    assert "Pad" not in count_ops(model)
    conv = next(n for n in model.graph.node if n.name == "conv")
    # TF "same", k=3, s=2 on the padded 12x10: one extra row/column at the end
    base = [0, 0, 0, 0] if padding == "valid" else [0, 0, 1, 1]
    assert list(_attr(conv, "pads")) == [base[0] + 1, base[1] + 0, base[2] + 2, base[3] + 1]
    assert {t.name for t in model.graph.initializer} <= _readers(model)


def test_pad_of_the_nhwc_input_moves_behind_the_transpose(builder, parity):
    """ResNet's conv1_pad: the Pad is emitted on the NHWC input, then transposed for the
    Conv; the fold transposes the input itself, so one Transpose and no Pad remain."""
    b = builder()
    x = b.input("x", ("batch", 9, 9, 3))
    c = b.conv(_pad(b, x, 3, 3, 3, 3), 4, k=7, strides=(2, 2), padding="valid", name="conv1")
    model = parity(b.build(c))
    counts = count_ops(model)
    assert "Pad" not in counts and counts["Transpose"] == 2  # the input, the output back
    first = model.graph.node[0]
    assert first.op_type == "Transpose" and list(first.input) == ["x"]
    assert list(_attr(next(n for n in model.graph.node if n.op_type == "Conv"), "pads")) == [
        3, 3, 3, 3]


def test_pad_before_maxpool_of_relu_output_folds(builder, parity):
    b = builder()
    r = b.op("relu", [b.conv(b.input("x", IMG), 4)], RELU)
    y = _maxpool(b, _pad(b, r))
    g = b.build(y)
    model = parity(g)
    _both(g)
    assert "Pad" not in count_ops(model)
    assert list(_attr(next(n for n in model.graph.node if n.op_type == "MaxPool"), "pads")) == [
        1, 1, 1, 1]


def test_pad_before_maxpool_of_signed_values_stays(builder, parity):
    """Zero padding then max differs from MaxPool's own (-inf) padding for negative data."""
    b = builder()
    y = _maxpool(b, _pad(b, b.conv(b.input("x", IMG), 4)))
    model = parity(b.build(y))
    assert count_ops(model)["Pad"] == 1


def test_pad_reaching_the_window_size_stays(builder, parity):
    b = builder()
    r = b.op("relu", [b.conv(b.input("x", IMG), 4)], RELU)
    y = _maxpool(b, _pad(b, r, 2, 2, 2, 2), k=2, s=2)
    assert count_ops(parity(b.build(y)))["Pad"] == 1


def test_pad_read_twice_stays(builder, parity):
    b = builder()
    p = _pad(b, b.conv(b.input("x", IMG), 4))
    y = b.op("add", [b.conv(p, 4, padding="valid"), b.conv(p, 4, padding="valid", name="c2")])
    assert count_ops(parity(b.build(y)))["Pad"] == 1


@pytest.mark.parametrize("keepdims", [False, True])
def test_spatial_mean_of_nchw_data_is_a_global_average_pool(builder, parity, keepdims):
    b = builder()
    c = b.conv(b.input("x", IMG), 4)
    p = b.op("global_avg_pool2d", [c], dict(keepdims=keepdims, data_format="channels_last"))
    g = b.build(p)
    model = parity(g)
    _both(g)
    counts = count_ops(model)
    assert counts["GlobalAveragePool"] == 1 and "ReduceMean" not in counts
    assert counts.get("Flatten", 0) == (0 if keepdims else 1)
    assert model.graph.output[0].name == p


def test_spatial_mean_of_nhwc_data_stays_a_reduce_mean(builder, parity):
    b = builder()
    p = b.op("global_avg_pool2d", [b.input("x", IMG)], dict(keepdims=False,
                                                            data_format="channels_last"))
    assert count_ops(parity(b.build(p)))["ReduceMean"] == 1


def test_pad_folded_onto_a_layout_form_written_later_keeps_the_order(builder, parity):
    """HGNetV2's light blocks: a value is padded for one Conv and read in NCHW by a later
    one, whose Transpose the emitter writes after the first Conv; the fold reads that
    form for the first Conv, so its Transpose moves up (the ONNX checker rejects a
    graph whose nodes are not in topological order)."""
    b = builder()
    x = b.op("relu", [b.input("x", ("batch", 9, 9, 3))], RELU, name="r")
    c1 = b.conv(_pad(b, x, 1, 1, 1, 1), 4, padding="valid", name="c1")
    c2 = b.conv(x, 4, padding="same", name="c2")
    g = b.build(b.op("add", [c1, c2], name="sum"))
    model = parity(g)   # the checker passed; against the reference interpreter
    _both(g)
    counts = count_ops(model)
    assert "Pad" not in counts and counts["Transpose"] == 2  # r's NCHW form, the sum back
    written = {model.graph.input[0].name} | {t.name for t in model.graph.initializer}
    for node in model.graph.node:   # every input written before it is read
        assert all(i in written for i in node.input if i), node.name
        written.update(node.output)


def test_a_zero_pad_read_by_a_conv_and_a_pool_runs_under_the_transpose_optimizer(
        builder, parity):
    """HGNetV2's stem: a padded feature map read by a Conv and by a MaxPool, concatenated
    (the Pad stays).  The Pad lists every axis in ``axes``: onnxruntime's transpose
    optimizer permutes ``pads`` as if it held every axis, so with only the spatial axes
    it gathered out of bounds when the session ran (parity runs onnxruntime with its
    optimizations on)."""
    b = builder()
    r = b.op("relu", [b.conv(b.input("x", IMG), 4, name="c0")], RELU)
    # HGNetV2's learnable affine block (a scalar scale and bias): computed in NHWC, so the
    # Pad sits between layout Transposes, which the optimizer moves through it
    scaled = b.op("add", [b.op("multiply", [b.weight("scale", (1,)), r]),
                          b.weight("bias", (1,))])
    p = _pad(b, scaled, 0, 1, 0, 1, name="pad")
    y = b.op("concatenate", [b.conv(p, 4, k=2, padding="valid", name="c1"),
                             _maxpool(b, p, k=2, s=1)], dict(axis=-1), name="cat")
    model = parity(b.build(y))
    (pad,) = [n for n in model.graph.node if n.op_type == "Pad"]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert inits[pad.input[3]].tolist() == [0, 1, 2, 3]
