"""The operations transformer code (keras_hub's layers, the Keras guides) needs beyond the
primitive tier: ``keras.ops.moments`` (so ``GroupNormalization`` traces),
``moveaxis``, ``split`` (one IR node per output), the ``Softmax`` layer with a mask,
``MultiHeadAttention`` with an explicit ``attention_mask`` (int or bool, with and without
the causal mask), ``gelu(approximate=True)`` (as ``keras.ops.gelu``'s default and as
keras_hub's ``gelu_approximate`` activation) and large float constants in the Keras
emission.  One model holds them all; its ONNX (onnxruntime), its emitted Keras model and
the reference interpreter are compared with Keras outside graphir, on inputs whose
masks mask something."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(21)
    x = keras.Input((6, 6, 8), name="x")
    s = keras.Input((5, 8), name="s")
    pad = keras.Input((5,), dtype="int32", name="pad")
    full = keras.Input((5, 5), name="full")
    gn = L.GroupNormalization(groups=4, name="gn")(x)
    mean, var = ops.moments(s, axes=[1], keepdims=True)
    standardized = (s - mean) * ops.rsqrt(var + 1e-3)
    moved = ops.moveaxis(s, 1, -1)                                   # (N, 8, 5)
    a, b, c = ops.split(s, [2, 3], axis=1)                           # 2, 1, 2 steps
    halves = ops.split(s, 2, axis=-1)                                # two (N, 5, 4)
    scores = ops.einsum("ntd,nsd->nts", s, s)
    masked_softmax = L.Softmax(name="masked_softmax")(scores, ops.expand_dims(pad, 1))
    attn = L.MultiHeadAttention(2, 4, name="mha_int")(s, s, attention_mask=ops.expand_dims(
        pad, 1))
    causal = L.MultiHeadAttention(2, 4, name="mha_bool_causal")(
        s, s, attention_mask=full > 0.0, use_causal_mask=True)
    gelu = ops.gelu(s * 2.0)                                         # approximate=True
    # a constant of 1280 elements: held by a layer in the emitted Keras model
    big = ops.add(s, np.linspace(-1, 1, 40 * 32, dtype=np.float32).reshape(40, 32)[:5, :8])
    big = ops.add(ops.tile(ops.expand_dims(big, 1), (1, 8, 1, 4)),
                  np.linspace(-1, 1, 8 * 5 * 32, dtype=np.float32).reshape(8, 5, 32))
    outs = [gn, standardized, moved, a, b, c, halves[0], halves[1], masked_softmax, attn,
            causal, gelu, big]
    return keras.Model([x, s, pad, full], outs, name="transformer_ops")


@pytest.fixture(scope="module")
def feeds():
    rng = np.random.default_rng(8)
    pad = np.ones((3, 5), np.int32)
    pad[1, 3:] = 0
    pad[2, :] = 0                           # a fully masked row (softmax: zeros; MHA: uniform)
    full = rng.normal(size=(3, 5, 5)).astype(np.float32)
    return {"x": rng.normal(size=(3, 6, 6, 8)).astype(np.float32),
            "s": rng.normal(size=(3, 5, 8)).astype(np.float32), "pad": pad, "full": full}


@pytest.fixture(scope="module")
def expected(model, feeds):
    return model.predict(list(feeds.values()), verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def _compare(got, expected, what):
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert np.asarray(g).shape == e.shape, (what, i)
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"{what} output {i}")


def test_lowering_uses_the_ops(graph):
    ops_used = [n.op for n in graph.nodes]
    assert ops_used.count("mean") >= 2 and ops_used.count("var") >= 2   # gn + moments
    assert "transpose" in ops_used                                      # moveaxis
    assert ops_used.count("slice") >= 5                                 # the two splits
    assert ops_used.count("where") >= 2                                 # masked softmax
    mhas = [n for n in graph.nodes if n.op == "multi_head_attention"]
    assert len(mhas) == 2 and all(len(n.inputs) == 12 and n.inputs[11] for n in mhas)
    assert any(n.attrs.get("function") == "gelu_approximate" for n in graph.nodes)
    # the split's outputs are their own nodes: <split>, <split>_1, <split>_2
    names = {n.name for n in graph.nodes}
    split = next(n.name for n in graph.nodes if n.op == "slice")
    assert {split + "_1", split + "_2"} <= names


def test_onnx_matches_keras(graph, feeds, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _compare(session.run(None, feeds), expected, "onnx")
    # the masks mask: the masked softmax's fully masked row is zero, not uniform
    assert np.all(expected[8][2] == 0) and np.any(expected[8][1][:, 3:] == 0)


def test_emitted_keras_matches_keras(graph, feeds, expected):
    emitted = to_keras(graph)
    _compare(emitted.predict(list(feeds.values()), verbose=0), expected, "keras")
    # the 1280-element constant is an Embedding's table, not inlined in the config
    assert any(isinstance(layer, L.Embedding) and layer.embeddings.shape == (1, 1280)
               for layer in emitted.layers)


def test_reference_interpreter_matches_keras(graph, feeds, expected):
    values = evaluate(graph, feeds)
    _compare([values[n] for n in graph.outputs], expected, "interpreter")


def test_a_mask_changes_the_attention(graph, feeds, expected):
    """Broken twin: without its attention_mask input the node computes another result."""
    import attrs

    node = next(n for n in graph.nodes if n.name == "mha_int")
    unmasked = attrs.evolve(graph, nodes=tuple(
        attrs.evolve(n, inputs=n.inputs[:11]) if n is node else n for n in graph.nodes))
    values = evaluate(unmasked, feeds)
    index = graph.outputs.index("mha_int")
    assert not np.allclose(values["mha_int"], expected[index], atol=1e-3)


def test_float16_moments_are_refused():
    h = keras.Input((5, 8), dtype="float16", name="h")
    m = keras.Model(h, ops.moments(h, axes=[1])[0], name="m16")
    with pytest.raises(UnsupportedLayerError, match="float16"):
        from_keras(m)


def test_softmax_over_several_axes():
    """``Softmax(axis=(2, 3))`` (MultiHeadAttention's scores over 2-D attention axes):
    ``exp(x - logsumexp(x, axes))`` as Keras computes it, with and without a mask (a
    fully masked block is zero)."""
    import onnxruntime as ort

    x = keras.Input((3, 4, 5), name="x")
    keep = keras.Input((1, 4, 5), dtype="bool", name="keep")
    plain = L.Softmax(axis=(2, 3), name="plain")(x)
    masked = L.Softmax(axis=(-2, -1), name="masked")(x, keep)
    model = keras.Model([x, keep], [plain, masked])
    graph = from_keras(model)
    rng = np.random.default_rng(27)
    feeds = {"x": 4.0 * rng.normal(size=(2, 3, 4, 5)).astype("float32"),
             "keep": rng.random((2, 1, 4, 5)) > 0.4}
    feeds["keep"][1] = False
    want = [np.asarray(t) for t in model([feeds["x"], feeds["keep"]])]
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {v.name: feeds[v.name] for v in graph.inputs})
    emitted = [np.asarray(t) for t in to_keras(graph)([feeds["x"], feeds["keep"]])]
    for w, o, k in zip(want, got, emitted):
        np.testing.assert_allclose(o, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(k, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(want[0].sum(axis=(2, 3)), 1.0, rtol=1e-5)
    assert not want[1][1].any()
