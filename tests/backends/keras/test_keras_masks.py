"""Keras' implicit masks (``Embedding(mask_zero=True)``, ``Masking``): the mask is an
operation Keras records in the functional graph, lowered like any value; the layers
given it as ``mask=`` with a converter that handles it (``GlobalAveragePooling1D``,
``Softmax``; the recurrent layers: ``test_keras_recurrent_masks.py``) compute the masked
result exactly (compared outside graphir with Keras, on rows with masked steps and a fully
masked row).  Layers that read their inputs' masks themselves (``Maximum``/``Minimum``, a
traced layer) are traced with them.  A MultiHeadAttention removes its tensors' masks when
it runs, so a model where another layer that reads masks itself would see the mask or not
by call order is refused by name instead of computing another result (MultiHeadAttention
on masked inputs: tests/backends/keras/test_keras_attention_masks.py); the other merges
(``Add``, ``Concatenate``, ``Average``...) pass the merged mask on."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    ids = keras.Input((None,), dtype="int32", name="ids")
    seq = keras.Input((6, 4), name="seq")
    tokens = L.Dense(8, name="proj")(L.Embedding(50, 8, mask_zero=True, name="emb")(ids))
    pooled = L.GlobalAveragePooling1D(name="pool_tokens")(tokens)
    masked = L.Masking(0.0, name="masking")(seq)
    pooled_seq = L.GlobalAveragePooling1D(name="pool_seq")(L.Dense(3, name="d3")(masked))
    return keras.Model([ids, seq], [pooled, pooled_seq, masked], name="masks")


@pytest.fixture(scope="module")
def feeds():
    rng = np.random.default_rng(4)
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 7, 8, 9], [0, 6, 0, 1, 0]], np.int32)
    seq = rng.normal(size=(3, 6, 4)).astype(np.float32)
    seq[0, 3:] = 0.0          # masked steps
    seq[1, 1] = 0.0
    seq[2, :] = 0.0           # a fully masked row: 0 / 0 in the average, as in Keras
    return {"ids": ids, "seq": seq}


@pytest.fixture(scope="module")
def expected(model, feeds):
    return model.predict(list(feeds.values()), verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def _compare(got, expected, what):
    for i, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(np.isnan(g), np.isnan(e)), (what, i)
        np.testing.assert_allclose(np.nan_to_num(g), np.nan_to_num(e), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{what} output {i}")


def test_masks_change_the_results(model, feeds, expected):
    """Not vacuous: the unmasked mean differs, and the fully masked row is NaN."""
    unmasked = np.mean(keras.Model(model.inputs, model.get_layer("proj").output).predict(
        list(feeds.values()), verbose=0), axis=1)
    assert not np.allclose(unmasked[0], expected[0][0], atol=1e-3)
    assert np.isnan(expected[1][2]).all() and not np.isnan(expected[1][:2]).any()


def test_onnx_matches_keras(graph, feeds, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _compare(session.run(None, feeds), expected, "onnx")


def test_emitted_keras_and_interpreter_match_keras(graph, feeds, expected):
    _compare(to_keras(graph).predict(list(feeds.values()), verbose=0), expected, "keras")
    values = evaluate(graph, feeds)
    _compare([values[n] for n in graph.outputs], expected, "interpreter")


def _masked_ids():
    ids = keras.Input((5,), dtype="int32", name="ids")
    return ids, L.Embedding(50, 8, mask_zero=True, name="emb")(ids)


class _Block(L.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x):
        return x * 2.0


def _attention_block(x, name):
    """The keras.io tutorials' encoder block: self-attention, residual Add, LayerNorm."""
    a = L.MultiHeadAttention(2, 4, name=name)(x, x)
    return L.LayerNormalization(name=f"{name}_norm")(L.Add(name=f"{name}_add")([x, a]))


def test_a_residual_add_beside_attention_on_a_masked_tensor_matches_keras():
    """MultiHeadAttention removes its tensors' masks when it runs (Keras 3.15), so the
    residual ``Add`` sees the embedding without its mask and its output carries none at
    run time; the masked pooling downstream was given the recorded mask (``mask=``), so
    the result does not depend on that: converted, and it matches Keras."""
    keras.utils.set_random_seed(11)
    ids, e = _masked_ids()  # ids drawn with seed 2: [[4 1 0 1 2] [4 2 0 1 3]]
    pooled = L.GlobalAveragePooling1D(name="pool")(_attention_block(e, "mha"))
    assert_converts_like_keras(keras.Model(ids, L.Dense(3)(pooled), name="m"), seed=2)


def test_a_mask_removed_before_another_attention_reads_it_is_refused():
    """In two such blocks the second attention reads the first block's output, whose
    mask is gone at run time (the residual ``Add`` saw the embedding without it): the
    recorded masks say otherwise, so the model is refused, naming the observer."""
    ids, e = _masked_ids()
    model = keras.Model(ids, L.GlobalAveragePooling1D()(
        _attention_block(_attention_block(e, "mha"), "mha2")), name="m")
    with pytest.raises(UnsupportedLayerError, match="also read by mha2, which reads") as info:
        from_keras(model)
    assert info.value.layer_class == "MultiHeadAttention"


@pytest.mark.parametrize("consumer", [
    # Maximum reads its inputs' masks: Keras' own call is traced with them
    lambda e: L.Maximum(name="mx")([e, L.Dense(8)(e)]),
    # a traced layer without attention on a masked tensor that another layer reads too
    lambda e: L.Add()([_Block(name="block")(e), L.Dense(8)(e)]),
], ids=["Maximum", "_Block"])
def test_layers_that_read_a_mask_match_keras(consumer):
    keras.utils.set_random_seed(3)
    ids, e = _masked_ids()
    assert_converts_like_keras(keras.Model(ids, consumer(e), name="m"))


def test_merges_that_ignore_masks_pass_the_merged_mask_on():
    """``Add``/``Concatenate``/``Average`` compute their values without the masks; the
    mask of their output (Keras' ``compute_mask``, recorded as ops on the input masks)
    reaches the masked pooling and the LSTM downstream, which match Keras on rows with
    masked steps and a fully masked row."""
    keras.utils.set_random_seed(5)
    ids, e = _masked_ids()
    other = keras.Input((5,), dtype="int32", name="other")
    f = L.Embedding(50, 8, mask_zero=True, name="emb2")(other)
    summed = L.Add(name="sum")([e, L.Dense(8, name="proj")(e)])
    joined = L.Concatenate(name="join")([summed, f])
    mean = L.Average(name="avg")([e, f])
    model = keras.Model([ids, other], [L.GlobalAveragePooling1D(name="pool")(summed),
                                       L.LSTM(3, name="lstm")(joined),
                                       L.GlobalAveragePooling1D(name="pool_avg")(mean)])
    a = np.array([[3, 4, 5, 0, 0], [0, 0, 0, 0, 0], [7, 1, 2, 9, 4]], "int32")
    b = np.array([[1, 0, 6, 7, 0], [2, 3, 0, 0, 0], [5, 5, 5, 5, 0]], "int32")
    want = [np.asarray(w) for w in model([a, b])]
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"ids": a, "other": b})
    emitted = [np.asarray(o) for o in to_keras(graph)([a, b])]
    for g, k, w in zip(got, emitted, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(k, w, rtol=1e-4, atol=1e-5)
    # the masks matter: the plain mean of the summed steps differs from the masked one
    summed_values = np.asarray(keras.Model([ids, other], summed)([a, b]))
    assert not np.allclose(summed_values[0].mean(axis=0), want[0][0])


class _SetsMaskInCall(L.Layer):
    """Attaches its embedding's mask to its output inside call() (set_keras_mask), as
    keras_hub's TokenAndPositionEmbedding(mask_zero=True) does; no compute_mask, so
    Keras' symbolic graph records no mask while the model masks at run time."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.tok = L.Embedding(5, 2, mask_zero=True)

    def call(self, x):
        from keras.src.backend import get_keras_mask, set_keras_mask

        t = self.tok(x)
        out = t * 2.0
        set_keras_mask(out, get_keras_mask(t))
        return out


def test_a_mask_set_in_call_that_the_graph_does_not_record_is_applied():
    """Keras passes the run-time mask on through Dense (default compute_mask) into the
    pooling's mask=, as Layer.__call__ does; graphir emulates that: the ONNX and the
    emitted Keras model match the masked result, not the unmasked mean."""
    keras.utils.set_random_seed(2)
    i = keras.Input((None,), dtype="int32", name="ids")
    pooled = keras.Model(i, L.GlobalAveragePooling1D(name="pool")(
        L.Dense(2, name="d")(_SetsMaskInCall(name="sets_mask")(i))))
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    want = np.asarray(pooled(ids))
    # the hazard is real: Keras masks at run time what its graph does not show
    unmasked = np.asarray(keras.ops.mean(pooled.get_layer("d")(
        pooled.get_layer("sets_mask")(ids)), axis=1))
    assert not np.allclose(want, unmasked)
    assert getattr(pooled.get_layer("d").output, "_keras_mask", None) is None
    graph = from_keras(pooled)
    assert getattr(pooled.get_layer("d").output, "_keras_mask", None) is None  # restored
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(ids)), want, rtol=1e-5, atol=1e-6)
    # an LSTM skips the masked steps (its mask= filled in as Layer.__call__ does)
    rnn = keras.Model(i, L.LSTM(3, name="lstm")(_SetsMaskInCall(name="sets_mask_rnn")(i)))
    graph = from_keras(rnn)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    np.testing.assert_allclose(got, np.asarray(rnn(ids)), rtol=1e-5, atol=1e-6)


class _NarrowsMask(L.Layer):
    """Supports masking with its own compute_mask: also masks the steps whose first
    feature is negative."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.supports_masking = True

    def call(self, x):
        return x * 2.0

    def compute_mask(self, inputs, mask=None):
        if mask is None:  # the model's symbolic build: no mask
            return None
        return keras.ops.logical_and(mask, keras.ops.greater(inputs[..., 0], 0.0))


def test_a_run_time_mask_through_a_layers_own_compute_mask():
    keras.utils.set_random_seed(6)
    i = keras.Input((None,), dtype="int32", name="ids")
    narrowed = _NarrowsMask(name="narrow")(_SetsMaskInCall(name="sets_mask4")(i))
    model = keras.Model(i, L.GlobalAveragePooling1D(name="pool")(narrowed))
    ids = np.array([[1, 2, 3, 4], [3, 4, 2, 0]], "int32")
    want = np.asarray(model(ids))
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # the narrowed mask matters (some embedding's first feature is negative)
    emb = np.asarray(model.get_layer("sets_mask4").tok.embeddings)
    assert (emb[[1, 2, 3, 4], 0] < 0).any() and (emb[[1, 2, 3, 4], 0] > 0).any()
    # the model's graph is left as it was: no node added to the embedding layer
    assert len(model.get_layer("sets_mask4")._outbound_nodes) == 1


def test_run_time_masks_through_merges():
    """Concatenate of a run-time-masked sequence with an unmasked one (Keras' compute_mask
    fills ones for the unmasked input), Add of two run-time-masked sequences (their
    masks OR-ed), then masked pooling: as Keras runs it."""
    keras.utils.set_random_seed(7)
    i = keras.Input((None,), dtype="int32", name="ids")
    a = _SetsMaskInCall(name="sets_a")(i)
    b = _SetsMaskInCall(name="sets_b")(i)
    plain = L.Dense(2, name="plain")(L.Embedding(5, 2, name="emb_plain")(i))
    joined = L.Concatenate(axis=1, name="join")([a, plain])
    summed = L.Add(name="sum")([a, b])
    model = keras.Model(i, [L.GlobalAveragePooling1D(name="pool_join")(joined),
                            L.GlobalAveragePooling1D(name="pool_sum")(summed)])
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    want = [np.asarray(w) for w in model(ids)]
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"ids": ids})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # the masks matter: the plain mean of the same sum over every step differs
    both = keras.ops.add(model.get_layer("sets_a")(ids), model.get_layer("sets_b")(ids))
    assert not np.allclose(want[1], np.asarray(keras.ops.mean(both, axis=1)), atol=1e-4)


def test_a_run_time_mask_into_a_nested_model_is_refused():
    i = keras.Input((None,), dtype="int32", name="ids")
    inner_in = keras.Input((None, 2))
    inner = keras.Model(inner_in, L.GlobalAveragePooling1D()(inner_in), name="inner")
    model = keras.Model(i, inner(_SetsMaskInCall(name="sets_mask3")(i)))
    with pytest.raises(UnsupportedLayerError, match="exists only at run time"):
        from_keras(model)


def test_keras_hub_token_and_position_embedding_masks_reach_the_transformers():
    """keras.io's NMT with keras_hub: TokenAndPositionEmbedding(mask_zero=True), whose
    ReversibleEmbedding sets the mask in call() (no compute_mask), feeding a
    TransformerEncoder and a TransformerDecoder (cross-attention to the encoder's
    masked output).  The masks exist only at run time; graphir applies them as Keras
    does, and the result differs from the unmasked one."""
    keras_hub = pytest.importorskip("keras_hub")
    H = keras_hub.layers
    keras.utils.set_random_seed(4)
    enc_in = keras.Input((None,), dtype="int64", name="enc")
    dec_in = keras.Input((None,), dtype="int64", name="dec")
    x = H.TokenAndPositionEmbedding(20, 16, 8, mask_zero=True, name="enc_emb")(enc_in)
    enc = H.TransformerEncoder(16, 2, name="encoder")(x)
    y = H.TokenAndPositionEmbedding(20, 16, 8, mask_zero=True, name="dec_emb")(dec_in)
    y = H.TransformerDecoder(16, 2, name="decoder")(decoder_sequence=y, encoder_sequence=enc)
    model = keras.Model([enc_in, dec_in], L.Dense(5, name="head")(y))
    a = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]], "int64")
    b = np.array([[3, 2, 0, 0], [4, 5, 6, 7]], "int64")
    want = np.asarray(model([a, b]))
    # the masks matter: the same layers on mask-free copies of the embeddings differ
    plain = keras.ops.add  # an op's output carries no Keras mask
    enc_plain = model.get_layer("encoder")(plain(model.get_layer("enc_emb")(a), 0.0))
    unmasked = model.get_layer("head")(model.get_layer("decoder")(
        decoder_sequence=plain(model.get_layer("dec_emb")(b), 0.0),
        encoder_sequence=plain(enc_plain, 0.0)))
    assert not np.allclose(want, np.asarray(unmasked), atol=1e-3)
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"enc": a, "dec": b})
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(to_keras(graph)([a, b])), want, rtol=1e-4,
                               atol=1e-5)


class _TrainingFlagTagger(keras.Model):
    """A subclassed tagger passing training= explicitly (keras.io style): Keras 3.15
    records such a call without its input's mask, but every eager call fills it in."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.emb = L.Embedding(12, 6, mask_zero=True, name="emb")
        self.rnn = L.Bidirectional(L.LSTM(4, return_sequences=True), name="rnn")
        self.pool = L.GlobalAveragePooling1D(name="pool")

    def call(self, tokens, training=False):
        return self.pool(self.rnn(self.emb(tokens), training=training), training=training)


def test_masks_keras_does_not_record_for_calls_given_training_are_filled_in():
    keras.utils.set_random_seed(17)
    ids = np.array([[1, 2, 0, 0, 3], [4, 0, 5, 6, 0]], np.int32)
    net = _TrainingFlagTagger(name="tagger")
    net(ids)
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    functional = keras.Model(tokens, net.pool(net.rnn(net.emb(tokens), training=False),
                                              training=False))
    assert "mask" not in net.rnn._inbound_nodes[-1].arguments.kwargs  # Keras' record
    for model in (net, functional):
        want = np.asarray(model(ids))
        graph = from_keras(model)
        session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        name = graph.inputs[0].name
        np.testing.assert_allclose(session.run(None, {name: ids})[0], want, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(to_keras(graph)(ids)), want, rtol=1e-5,
                                   atol=1e-6)
    # the masks matter on these ids
    unmasked = net.pool(net.rnn(net.emb(ids) * 1.0))
    assert not np.allclose(np.asarray(unmasked), want, atol=1e-3)


def test_the_emitted_model_drops_the_masks_its_rnns_are_given(tmp_path):
    """An RNN given its mask explicitly in the emitted model attaches it to its sequence
    output, and Keras would carry it into a Softmax layer (which the original's
    ops.softmax is emitted as) at run time, where it does not fit the (b, t, 3) scores:
    the emitted model drops it (a keras.ops copy named after the node)."""
    keras.utils.set_random_seed(18)
    ids = keras.Input((6,), dtype="int32", name="ids")
    x = L.LSTM(4, return_sequences=True, name="rnn")(L.Embedding(9, 5, mask_zero=True)(ids))
    model = keras.Model(ids, ops.softmax(L.Dense(3, name="head")(x) / 2.0))
    feeds = np.array([[1, 2, 0, 0, 3, 4], [5, 0, 6, 7, 8, 1]], np.int32)
    want = np.asarray(model(feeds))
    emitted = to_keras(from_keras(model))
    assert "rnn" in [op.name for op in emitted.operations]
    path = tmp_path / "m.keras"
    emitted.save(path)
    got = np.asarray(keras.saving.load_model(path, safe_mode=True)(feeds))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_nested_model_called_on_masked_tensors_is_refused():
    """keras.io's English-to-Spanish translation: the encoder and the decoder are
    functional models, the decoder called on the encoder's masked output.  Keras sets
    that mask on the decoder's input at run time and the attention inside reads it
    although the decoder's recorded graph has none, so the result depends on it (checked
    here); lowering the nested graph without it would be a wrong number: refused."""
    keras.utils.set_random_seed(12)
    src = keras.Input((5,), dtype="int32", name="src")
    encoded = L.Embedding(20, 8, mask_zero=True, name="src_emb")(src)
    # Dense passes its input's mask on: the encoder's output carries the source mask
    encoder = keras.Model(src, L.Dense(8, name="enc")(encoded), name="encoder")
    tgt_in = keras.Input((4,), dtype="int32", name="tgt_in")
    memory_in = keras.Input((5, 8), name="memory")
    t = L.Embedding(20, 8, mask_zero=True, name="tgt_emb")(tgt_in)
    cross = L.MultiHeadAttention(2, 4, name="cross")(t, memory_in)
    pooled = L.GlobalAveragePooling1D(name="pool")(cross)
    decoder = keras.Model([tgt_in, memory_in], L.Dense(3, name="out")(pooled),
                          name="decoder")
    tgt = keras.Input((4,), dtype="int32", name="tgt")
    model = keras.Model([src, tgt], decoder([tgt, encoder(src)]), name="translator")
    s = np.array([[1, 2, 0, 0, 0]], "int32")
    g = np.array([[3, 1, 2, 0]], "int32")
    with_mask = np.asarray(model([s, g]))
    without = np.asarray(decoder([g, np.asarray(encoder(s))]))     # the mask not set
    assert not np.allclose(with_mask, without, rtol=1e-4, atol=1e-6)
    with pytest.raises(UnsupportedLayerError, match=r"decoder.*Keras mask exists only at "
                                                    r"run time"):
        from_keras(model)


def test_a_mask_carried_out_of_a_nested_model_is_read_downstream():
    """The encoder's output keeps its mask at run time (Keras records none on the call's
    symbolic output): a masked average pooling after it averages the unmasked steps."""
    keras.utils.set_random_seed(13)
    src = keras.Input((5,), dtype="int32", name="src")
    encoded = L.Embedding(20, 8, mask_zero=True, name="src_emb")(src)
    encoder = keras.Model(src, L.Dense(8, name="enc")(encoded), name="encoder")
    pooled = L.GlobalAveragePooling1D(name="pool")(encoder(src))
    model = keras.Model(src, L.Dense(3, name="out")(pooled), name="pooled")
    s = np.array([[1, 2, 0, 0, 0], [3, 0, 4, 0, 5]], "int32")
    unmasked = L.GlobalAveragePooling1D()(np.asarray(encoder(s)))   # every step averaged
    assert not np.allclose(np.asarray(model(s)), np.asarray(model.get_layer("out")(unmasked)))
    assert_converts_like_keras(model, seed=5, int_high=3)


def test_a_nested_model_called_with_a_recorded_mask_is_traced_with_it():
    """The decoder model called on a tensor whose mask Keras recorded (``mask=[None,
    m]``): ``Functional.call`` sets it on the decoder's input and the attention inside
    reads it, so the call is traced with its ``mask=`` and matches Keras where ids are 0;
    the mask changes the result (checked)."""
    keras.utils.set_random_seed(14)
    src = keras.Input((5,), dtype="int32", name="src")
    memory = L.Dense(8, name="enc")(L.Embedding(20, 8, mask_zero=True, name="src_emb")(src))
    tgt_in = keras.Input((4,), dtype="int32", name="tgt_in")
    memory_in = keras.Input((5, 8), name="memory")
    t = L.Embedding(20, 8, mask_zero=True, name="tgt_emb")(tgt_in)
    cross = L.MultiHeadAttention(2, 4, name="cross")(t, memory_in)
    decoder = keras.Model([tgt_in, memory_in],
                          L.Dense(3, name="out")(L.GlobalAveragePooling1D(name="pool")(cross)),
                          name="decoder")
    tgt = keras.Input((4,), dtype="int32", name="tgt")
    model = keras.Model([src, tgt], decoder([tgt, memory]), name="translator")
    s = np.array([[1, 2, 0, 0, 0]], "int32")
    g = np.array([[3, 1, 2, 0]], "int32")
    unmasked_memory = keras.Model(src, memory)(s)
    assert not np.allclose(np.asarray(model([s, g])),
                           np.asarray(decoder([g, np.asarray(unmasked_memory)])),
                           rtol=1e-4, atol=1e-6)
    assert_converts_like_keras(model, seed=5, int_high=3)


def test_a_mask_handed_out_through_two_nested_models_is_read_downstream():
    """The encoder nested in another model: its output's mask leaves both models at run
    time (the outer one's recorded output has none either), and the masked pooling after
    them averages the unmasked steps only."""
    keras.utils.set_random_seed(15)
    src = keras.Input((5,), dtype="int32", name="src")
    encoded = L.Embedding(20, 8, mask_zero=True, name="src_emb")(src)
    encoder = keras.Model(src, L.Dense(8, name="enc")(encoded), name="encoder")
    ids = keras.Input((5,), dtype="int32", name="ids")
    middle = keras.Model(ids, encoder(ids), name="middle")
    outer = keras.Input((5,), dtype="int32", name="outer")
    pooled = L.GlobalAveragePooling1D(name="pool")(middle(outer))
    model = keras.Model(outer, L.Dense(3, name="out")(pooled), name="twice")
    assert_converts_like_keras(model, seed=5, int_high=3)
