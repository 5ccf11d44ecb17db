"""MultiHeadAttention with masks beyond an explicit ``attention_mask``: explicit
``value_mask`` / ``key_mask`` keywords and the Keras masks its query, value and key
tensors carry (``Embedding(mask_zero=True)``), combined as Keras'
``_compute_attention_mask`` does, with an ``attention_mask`` and the causal mask.  The ONNX (onnxruntime) and the
emitted Keras model reloaded in a fresh process match Keras, checked outside graphir,
on inputs whose masks mask something; an explicit ``query_mask`` (which Keras 3.15
ignores) and a masked tensor another layer reads too (MultiHeadAttention removes the
mask when it runs) are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import assert_converts_like_keras, predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

FEED_NAMES = ["q", "v", "qpad", "vpad"]


@pytest.fixture(scope="module")
def explicit_model():
    keras.utils.set_random_seed(31)
    q = keras.Input((4, 8), name="q")
    v = keras.Input((6, 8), name="v")
    qpad = keras.Input((4,), dtype="int32", name="qpad")
    vpad = keras.Input((6,), dtype="int32", name="vpad")
    vm = vpad > 0
    outs = [
        L.MultiHeadAttention(2, 4, name="value_masked")(q, v, value_mask=vm),
        L.MultiHeadAttention(2, 4, name="key_masked")(q, v, key=v, key_mask=vm),
        L.MultiHeadAttention(2, 4, name="both")(
            q, v, value_mask=vm, attention_mask=ops.expand_dims(qpad, -1) * ops.ones((1, 6),
                                                                                     "int32")),
        L.MultiHeadAttention(2, 4, name="causal")(q, q, value_mask=qpad > 0,
                                                  use_causal_mask=True),
    ]
    return keras.Model([q, v, qpad, vpad], outs, name="explicit_masks")


@pytest.fixture(scope="module")
def feeds():
    rng = np.random.default_rng(8)
    return [rng.normal(size=(3, 4, 8)).astype(np.float32),
            rng.normal(size=(3, 6, 8)).astype(np.float32),
            np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 0]], np.int32),
            np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0], [1, 1, 1, 1, 1, 0]], np.int32)]


def _check(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_explicit_value_and_key_masks_match(explicit_model, feeds, tmp_path_factory):
    want = explicit_model.predict(feeds, verbose=0)
    # the masks matter: the same attention without them computes another result
    bare = L.MultiHeadAttention(2, 4)
    bare(feeds[0], feeds[1])
    bare.set_weights(explicit_model.get_layer("value_masked").get_weights())
    assert not np.allclose(np.asarray(bare(feeds[0], feeds[1])), want[0], atol=1e-3)
    graph = from_keras(explicit_model)
    assert sum(n.op == "logical_and" for n in graph.nodes) >= 1
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(session.run(None, dict(zip(FEED_NAMES, feeds))), want)
    path = tmp_path_factory.mktemp("attention_masks") / "explicit.keras"
    save_keras(to_keras(graph), path)
    _check(predict_in_fresh_process(path, feeds), want)


def test_an_explicit_query_mask_is_ignored_as_keras_ignores_it():
    """Keras 3.15's MultiHeadAttention ignores query_mask=: the converter refuses it and
    the traced Keras call computes what Keras computes, the unmasked attention."""
    keras.utils.set_random_seed(2)
    x = keras.Input((5, 8), name="x")
    m = keras.Input((5,), dtype="bool", name="m")
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")
    model = keras.Model([x, m], mha(x, x, query_mask=m))
    assert_converts_like_keras(model)
    data = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    mask = np.array([[True, False, True, True, False]] * 2)
    np.testing.assert_allclose(np.asarray(model([data, mask])), np.asarray(mha(data, data)),
                               rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def carried_model():
    """Embedding(mask_zero=True) -> self-attention (query and value carry the mask) and
    cross-attention onto a second masked sequence, then a masked average."""
    keras.utils.set_random_seed(32)
    ids = keras.Input((6,), dtype="int32", name="ids")
    other = keras.Input((4,), dtype="int32", name="other")
    e = L.Embedding(20, 8, mask_zero=True, name="emb")(ids)
    f = L.Embedding(20, 8, mask_zero=True, name="emb_other")(other)
    a = L.MultiHeadAttention(2, 4, name="self_attention")(e, e)
    c = L.MultiHeadAttention(2, 4, name="cross_attention")(a, f)   # a carries e's mask
    pooled = L.GlobalAveragePooling1D(name="pool")(c)              # reads c's mask
    return keras.Model([ids, other], [a, c, pooled], name="carried_masks")


def test_masks_carried_by_the_tensors_match(carried_model, tmp_path_factory):
    feeds = [np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [0, 0, 7, 8, 0, 9]], np.int32),
             np.array([[5, 0, 0, 0], [1, 2, 3, 0], [0, 4, 4, 4]], np.int32)]
    want = carried_model.predict(feeds, verbose=0)
    graph = from_keras(carried_model)
    ands = [n for n in graph.nodes if n.op == "logical_and"]
    assert {n.name.split("/")[0] for n in ands} == {"self_attention", "cross_attention"}
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(session.run(None, {"ids": feeds[0], "other": feeds[1]}), want)
    path = tmp_path_factory.mktemp("attention_masks") / "carried.keras"
    save_keras(to_keras(graph), path)
    _check(predict_in_fresh_process(path, feeds), want)
    # broken twin: the same weights without the masks compute another self-attention
    unmasked = keras.Model(carried_model.inputs, carried_model.get_layer("self_attention")(
        carried_model.get_layer("emb")(carried_model.inputs[0]) * 1.0, carried_model.get_layer(
            "emb")(carried_model.inputs[0]) * 1.0))
    assert not np.allclose(unmasked.predict(feeds, verbose=0), want[0], atol=1e-3)


def test_a_masked_tensor_read_by_attention_and_by_a_layer_ignoring_masks_matches_keras():
    """The Dense reading the embedding beside the attention computes the same whether
    the attention removed the mask before it ran or not."""
    keras.utils.set_random_seed(31)
    ids = keras.Input((6,), dtype="int32", name="ids")
    e = L.Embedding(20, 8, mask_zero=True, name="emb")(ids)
    a = L.MultiHeadAttention(2, 4, name="mha")(e, e)
    assert_converts_like_keras(keras.Model(ids, L.Dense(3, name="reader")(e) + L.Dense(3)(a)))


def test_a_masked_tensor_read_by_two_attentions_is_refused():
    """Each attention removes the mask the other reads, so what the second sees depends
    on the call order."""
    ids = keras.Input((6,), dtype="int32", name="ids")
    e = L.Embedding(20, 8, mask_zero=True, name="emb")(ids)
    a = L.MultiHeadAttention(2, 4, name="mha")(e, e)
    b = L.MultiHeadAttention(2, 4, name="mha_b")(e, e)
    with pytest.raises(UnsupportedLayerError, match="also read by mha.*call order"):
        from_keras(keras.Model(ids, L.Add()([a, b])))


class _Offsets(L.Layer):
    """A traced layer without attention (keras_hub's SinePositionEncoding pattern): its
    output depends on the input's shape only; it passes its input's mask on."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.supports_masking = True

    def call(self, x):
        return ops.cast(ops.arange(ops.shape(x)[1]), x.dtype)[None, :, None] * 0.1 + x * 0.0


def test_a_masked_tensor_read_by_a_traced_layer_without_attention_and_another_layer():
    """``e + Offsets()(e)`` on a masked embedding (keras.io's position-encoding pattern):
    only a MultiHeadAttention removes its tensors' masks, so a traced layer without one
    is no call-order hazard; the masked average pooling sees Keras' mask."""
    keras.utils.set_random_seed(5)
    ids = keras.Input((6,), dtype="int32", name="ids")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(ids)
    x = L.Add(name="add")([e, _Offsets(name="offsets")(e)])
    model = keras.Model(ids, L.GlobalAveragePooling1D(name="pool")(x))
    feeds = np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]], np.int32)
    want = np.asarray(model(feeds))
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"ids": feeds})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(feeds)), want, rtol=1e-5, atol=1e-6)
    # broken twin: the pooling without the mask averages the padded steps too
    unmasked = keras.Model(ids, L.GlobalAveragePooling1D()(ops.multiply(x, 1.0)))
    assert not np.allclose(np.asarray(unmasked(feeds))[0], want[0], atol=1e-3)


class _PositionalEmbedding(L.Layer):
    """The keras.io English-to-Spanish translation example's embedding: token plus
    position embeddings, and a padding mask from compute_mask."""

    def __init__(self, length, vocab, dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = L.Embedding(vocab, dim)
        self.positions = L.Embedding(length, dim)

    def call(self, ids):
        return self.tokens(ids) + self.positions(ops.arange(0, ops.shape(ids)[-1], 1))

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, 0)


class _TransformerEncoder(L.Layer):
    """The same example's encoder block: its call takes the mask, passes it on as an
    attention mask, and its attention also reads the mask the input carries."""

    def __init__(self, dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.attention = L.MultiHeadAttention(num_heads=heads, key_dim=dim)
        self.dense = L.Dense(dim, activation="relu")
        self.norm1, self.norm2 = L.LayerNormalization(), L.LayerNormalization()
        self.supports_masking = True

    def call(self, x, mask=None):
        padding = ops.cast(mask[:, None, :], "int32") if mask is not None else None
        a = self.attention(query=x, value=x, key=x, attention_mask=padding)
        h = self.norm1(x + a)
        return self.norm2(h + self.dense(h))


class _NoMaskParameter(L.Layer):
    """A traced layer whose call has no mask parameter: the mask its input carries
    still reaches the attention inside."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = L.MultiHeadAttention(num_heads=2, key_dim=4)

    def call(self, x):
        return x + self.attention(x, x)


@pytest.fixture(scope="module")
def traced_model():
    keras.utils.set_random_seed(33)
    ids = keras.Input((6,), dtype="int64", name="ids")
    x = _PositionalEmbedding(6, 30, 8, name="embed")(ids)
    x = _TransformerEncoder(8, 2, name="encoder")(x)
    pooled = L.GlobalAveragePooling1D(name="pool")(x)           # reads the carried mask
    other = L.Embedding(30, 8, mask_zero=True, name="emb2")(ids)
    return keras.Model(ids, [pooled, _NoMaskParameter(name="no_mask_param")(other)],
                       name="traced_masks")


def test_traced_layers_on_masked_tensors_match(traced_model, tmp_path_factory):
    feeds = [np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 7, 8, 0, 9]], np.int64)]
    want = traced_model.predict(feeds, verbose=0)
    graph = from_keras(traced_model)
    scopes = {n.name.split("/")[0] for n in graph.nodes if n.op == "logical_and"}
    assert scopes == {"encoder", "no_mask_param"}
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(session.run(None, {"ids": feeds[0]}), want)
    path = tmp_path_factory.mktemp("attention_masks") / "traced.keras"
    save_keras(to_keras(graph), path)
    _check(predict_in_fresh_process(path, feeds, absent=("graphir", "test_keras_attention_masks")),
           want)
    # the masks matter: the same layer on the unmasked embedding computes another result
    unmasked = traced_model.get_layer("no_mask_param")(
        traced_model.get_layer("emb2")(feeds[0]) * 1.0)
    assert not np.allclose(np.asarray(unmasked), want[1], atol=1e-3)


@pytest.mark.parametrize("merge", [L.Multiply, L.Maximum])
def test_merges_reading_masks_trace_keras_own_call(merge):
    """Multiply (a masked step counts as 1) and Maximum (a masked step takes the other
    inputs') read their inputs' Keras masks: their converters refuse masked inputs and
    Keras' own call is traced, the masks filled in as at run time."""
    keras.utils.set_random_seed(6)
    ids = keras.Input((6,), dtype="int32", name="ids")
    f = keras.Input((6, 4), name="f")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(ids)
    model = keras.Model([ids, f], merge(name="merge")([e, f]))
    rng = np.random.default_rng(7)
    toks = np.array([[3, 4, 0, 0, 5, 0], [1, 2, 3, 4, 5, 6]], np.int32)
    feats = rng.normal(size=(2, 6, 4)).astype("float32")
    want = np.asarray(model([toks, feats]))
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(
        None, {"ids": toks, "f": feats})[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)([toks, feats])), want, rtol=1e-6,
                               atol=1e-6)
    # the masked steps differ from the plain merge of the values
    plain = merge()([model.get_layer("emb")(ids) * 1.0, f])
    assert not np.allclose(np.asarray(keras.Model([ids, f], plain)([toks, feats])), want)
