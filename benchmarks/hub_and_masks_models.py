"""More held-out-style model definitions for ``keras_examples_probe.py --module
hub_and_masks_models``: keras_hub *task* models (classifiers, causal / masked LMs,
seq2seq, image classifiers) built from small backbones without preprocessors, keras_hub
backbones at other settings (computed padding masks with padding at the start, in the
middle or everywhere, int64 ids, shared backbones, extra heads and inputs), masks through
user code (Masking on floats, compute_mask custom layers, merges into RNNs / pooling /
attention), subclassed models (int and several call arguments, training flags, nested
custom layers) and functional subclasses with extra attributes.  None duplicates
``heldout_style_models.py`` or ``keras_examples.py``.

The probe feeds integers in [0, 10) and every unknown dim as 32: text backbones here use
``max_sequence_length=32`` and enough segments where a task model is probed directly
(its dict inputs are flattened in sorted-key order, the order the probe feeds).
Subclassed models carry ``probe_specs``.  Nothing here is imported by graphir or its tests.
"""

import numpy as np
import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


def _hub():
    import keras_hub

    return keras_hub


def _subclass(m, specs):
    """Call subclassed ``m`` once on ones of ``specs`` and attach them as probe_specs."""
    data = [np.ones((2, *[4 if d is None else d for d in s]), dt) for s, dt in specs]
    m(data[0] if len(data) == 1 else data)
    m.probe_specs = specs
    return m


def _as_list_inputs(task):
    """A functional model with one keras.Input per input of the dict-input ``task`` (same
    names, shapes and dtypes, in ``task.inputs`` order), calling ``task`` on the dict:
    the probe feeds a list, which a dict-structured task model refuses."""
    ins = [keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in task.inputs]
    return keras.Model(ins, task({t.name: t for t in ins}))


TXT = dict(vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)


# --------------------------------------------------------------------------------------
# keras_hub task models, probed directly (dict inputs; no preprocessor)
# --------------------------------------------------------------------------------------


@model
def task_bert_text_classifier():
    kh = _hub()
    b = kh.models.BertBackbone(**TXT, max_sequence_length=32, num_segments=10)
    return _as_list_inputs(kh.models.BertTextClassifier(b, num_classes=3, preprocessor=None))


@model
def task_distilbert_text_classifier():
    kh = _hub()
    b = kh.models.DistilBertBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.DistilBertTextClassifier(b, num_classes=2, preprocessor=None,
                                              hidden_dim=8))


@model
def task_roberta_text_classifier():
    kh = _hub()
    b = kh.models.RobertaBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.RobertaTextClassifier(b, num_classes=4, preprocessor=None,
                                           activation="softmax"))


@model
def task_xlm_roberta_text_classifier():
    kh = _hub()
    b = kh.models.XLMRobertaBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.XLMRobertaTextClassifier(b, num_classes=2, preprocessor=None))


@model
def task_albert_text_classifier():
    kh = _hub()
    b = kh.models.AlbertBackbone(30, 1, 2, 6, 8, 16, max_sequence_length=32, num_segments=10)
    return _as_list_inputs(kh.models.AlbertTextClassifier(b, num_classes=2, preprocessor=None))


@model
def task_deberta_v3_text_classifier():
    kh = _hub()
    b = kh.models.DebertaV3Backbone(**TXT, max_sequence_length=32, bucket_size=4)
    return _as_list_inputs(kh.models.DebertaV3TextClassifier(b, num_classes=2, preprocessor=None))


@model
def task_fnet_text_classifier():
    kh = _hub()
    b = kh.models.FNetBackbone(30, 1, 8, 16, max_sequence_length=32, num_segments=10)
    return _as_list_inputs(kh.models.FNetTextClassifier(b, num_classes=2, preprocessor=None))


@model
def task_bert_masked_lm():
    kh = _hub()
    b = kh.models.BertBackbone(**TXT, max_sequence_length=32, num_segments=10)
    return _as_list_inputs(kh.models.BertMaskedLM(b, preprocessor=None))


@model
def task_roberta_masked_lm():
    kh = _hub()
    b = kh.models.RobertaBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.RobertaMaskedLM(b, preprocessor=None))


@model
def task_distilbert_masked_lm():
    kh = _hub()
    b = kh.models.DistilBertBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.DistilBertMaskedLM(b, preprocessor=None))


@model
def task_gpt2_causal_lm():
    kh = _hub()
    b = kh.models.GPT2Backbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.GPT2CausalLM(b, preprocessor=None))


@model
def task_opt_causal_lm():
    kh = _hub()
    b = kh.models.OPTBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.OPTCausalLM(b, preprocessor=None))


@model
def task_llama_causal_lm():
    kh = _hub()
    b = kh.models.LlamaBackbone(30, 1, 2, 8, 16, 1)
    return _as_list_inputs(kh.models.LlamaCausalLM(b, preprocessor=None))


@model
def task_gemma_causal_lm():
    kh = _hub()
    b = kh.models.GemmaBackbone(30, 1, 2, 1, 8, 16, 4)
    return _as_list_inputs(kh.models.GemmaCausalLM(b, preprocessor=None))


@model
def task_mistral_causal_lm_window():
    kh = _hub()
    b = kh.models.MistralBackbone(30, 1, 2, 8, 16, 1, sliding_window=5)
    return _as_list_inputs(kh.models.MistralCausalLM(b, preprocessor=None))


@model
def task_bloom_causal_lm():
    kh = _hub()
    b = kh.models.BloomBackbone(**TXT)
    return _as_list_inputs(kh.models.BloomCausalLM(b, preprocessor=None))


@model
def task_falcon_causal_lm():
    kh = _hub()
    b = kh.models.FalconBackbone(30, 1, 2, 8, 16)
    return _as_list_inputs(kh.models.FalconCausalLM(b, preprocessor=None))


@model
def task_gpt_neox_causal_lm():
    kh = _hub()
    b = kh.models.GPTNeoXBackbone(30, 1, 2, 16, 16, max_sequence_length=32)
    return _as_list_inputs(kh.models.GPTNeoXCausalLM(b, preprocessor=None))


@model
def task_qwen3_causal_lm():
    kh = _hub()
    b = kh.models.Qwen3Backbone(30, 1, 2, 1, 4, 8, 16)
    return _as_list_inputs(kh.models.Qwen3CausalLM(b, preprocessor=None))


@model
def task_bart_seq2seq_lm():
    kh = _hub()
    b = kh.models.BartBackbone(**TXT, max_sequence_length=32)
    return _as_list_inputs(kh.models.BartSeq2SeqLM(b, preprocessor=None))


@model
def task_t5_seq2seq_lm():
    kh = _hub()
    b = kh.models.T5Backbone(30, 1, 2, 8, 16, key_value_dim=4)
    return _as_list_inputs(kh.models.T5Seq2SeqLM(b, preprocessor=None))


@model
def task_resnet_image_classifier():
    kh = _hub()
    b = kh.models.ResNetBackbone([64], [3], [64, 16], [1, 1], [1, 2], "basic_block",
                                 use_pre_activation=False, image_shape=(16, 16, 3))
    return kh.models.ResNetImageClassifier(b, num_classes=3, preprocessor=None)


@model
def task_resnet_v2_image_classifier_max_pool():
    kh = _hub()
    b = kh.models.ResNetBackbone([64], [3], [64, 16], [1, 1], [1, 2], "bottleneck_block",
                                 use_pre_activation=True, image_shape=(16, 16, 3))
    return kh.models.ResNetImageClassifier(b, num_classes=3, preprocessor=None,
                                           pooling="max", activation="softmax")


@model
def task_vit_image_classifier():
    kh = _hub()
    b = kh.models.ViTBackbone((16, 16, 3), 4, 1, 2, 8, 16)
    return kh.models.ViTImageClassifier(b, num_classes=3, preprocessor=None,
                                        intermediate_dim=8)


@model
def task_efficientnet_image_classifier():
    kh = _hub()
    b = kh.models.EfficientNetBackbone(
        stackwise_kernel_sizes=[3], stackwise_num_repeats=[1], stackwise_input_filters=[8],
        stackwise_output_filters=[8], stackwise_expansion_ratios=[1],
        stackwise_squeeze_and_excite_ratios=[0.25], stackwise_strides=[1],
        stackwise_block_types=["v1"], width_coefficient=1.0, depth_coefficient=1.0,
        image_shape=(16, 16, 3))
    return kh.models.EfficientNetImageClassifier(b, num_classes=2, preprocessor=None)


@model
def task_densenet_image_classifier():
    kh = _hub()
    b = kh.models.DenseNetBackbone(stackwise_num_repeats=[1, 1], image_shape=(16, 16, 3))
    return kh.models.DenseNetImageClassifier(b, num_classes=2, preprocessor=None)


@model
def task_generic_image_classifier_on_vgg():
    kh = _hub()
    b = kh.models.VGGBackbone(stackwise_num_repeats=[1, 1], stackwise_num_filters=[4, 8],
                              image_shape=(16, 16, 3))
    return kh.models.ImageClassifier(b, num_classes=2, preprocessor=None, pooling="avg")


# --------------------------------------------------------------------------------------
# keras_hub backbones / tasks inside user functional models, other settings
# --------------------------------------------------------------------------------------


@model
def hub_task_inside_functional_explicit_inputs():
    """A task model called on a dict built from an explicit keras.Input list."""
    kh = _hub()
    b = kh.models.BertBackbone(**TXT, max_sequence_length=16)
    clf = kh.models.BertTextClassifier(b, num_classes=2, preprocessor=None)
    tok = keras.Input((12,), dtype="int32")
    logits = clf({"token_ids": tok, "segment_ids": ops.zeros_like(tok),
                  "padding_mask": ops.not_equal(tok, 0)})
    return keras.Model(tok, L.Softmax()(logits))


@model
def hub_gpt2_left_padding_from_cumsum():
    """Padding at the START: positions before the first non-zero token are masked."""
    b = _hub().models.GPT2Backbone(**TXT, max_sequence_length=16)
    tok = keras.Input((12,), dtype="int32")
    forced = ops.where(ops.arange(12)[None, :] < 3, 0, tok)  # 3 leading pad tokens
    pad = ops.cumsum(ops.cast(ops.not_equal(forced, 0), "int32"), axis=1) > 0
    x = b({"token_ids": forced, "padding_mask": pad})
    return keras.Model(tok, L.Dense(2)(x[:, -1, :]))


@model
def hub_llama_middle_padding_zero_ids():
    """Padding in the middle: every token id 0 (random positions) is masked."""
    b = _hub().models.LlamaBackbone(30, 1, 2, 8, 16, 1)
    tok = keras.Input((12,), dtype="int32")
    x = b({"token_ids": tok, "padding_mask": ops.not_equal(tok, 0)})
    return keras.Model(tok, L.Dense(2)(ops.mean(x, axis=1)))


@model
def hub_bert_fully_masked_rows():
    """Every position masked (ids are < 10): softmax over all-masked keys."""
    b = _hub().models.BertBackbone(**TXT, max_sequence_length=16)
    tok = keras.Input((10,), dtype="int32")
    x = b({"token_ids": tok, "segment_ids": ops.zeros_like(tok),
           "padding_mask": ops.greater(tok, 20)})
    return keras.Model(tok, [L.Dense(2)(x["pooled_output"]), x["sequence_output"]])


@model
def hub_gemma_fully_masked_rows():
    b = _hub().models.GemmaBackbone(30, 1, 2, 1, 8, 16, 4)
    tok = keras.Input((8,), dtype="int32")
    x = b({"token_ids": tok, "padding_mask": ops.zeros_like(tok)})
    return keras.Model(tok, L.Dense(2)(x))


@model
def hub_mostly_masked_distilbert():
    """Only ids 9 kept (about 1 in 10): some rows may be fully masked."""
    b = _hub().models.DistilBertBackbone(**TXT, max_sequence_length=16)
    tok = keras.Input((8,), dtype="int32")
    x = b({"token_ids": tok, "padding_mask": ops.equal(tok, 9)})
    return keras.Model(tok, L.Dense(2)(x))


@model
def hub_backbone_int64_ids_dynamic_seq():
    """int64 ids of unknown length (fed at 32) into a backbone built for 32 positions."""
    b = _hub().models.RobertaBackbone(**TXT, max_sequence_length=32)
    tok = keras.Input((None,), dtype="int64")
    pad = keras.Input((None,), dtype="int64")
    x = b({"token_ids": tok, "padding_mask": ops.cast(pad > 2, "int64")})
    return keras.Model([tok, pad], L.Dense(2)(x[:, 0]))


@model
def hub_backbone_shorter_seq_than_max():
    """A backbone with 64 positions used at length 7."""
    b = _hub().models.BertBackbone(**TXT, max_sequence_length=64)
    tok = keras.Input((7,), dtype="int32")
    seg = keras.Input((7,), dtype="int32")
    x = b({"token_ids": tok, "segment_ids": ops.mod(seg, 2),
           "padding_mask": ops.ones_like(tok)})
    return keras.Model([tok, seg], x["pooled_output"])


@model
def hub_backbone_extra_numeric_input_head():
    b = _hub().models.DistilBertBackbone(**TXT, max_sequence_length=16)
    tok = keras.Input((12,), dtype="int32", name="tok")
    num = keras.Input((5,), name="numeric")
    seq = b({"token_ids": tok, "padding_mask": ops.not_equal(tok, 0)})
    pooled = L.GlobalAveragePooling1D()(seq)
    x = L.Concatenate()([pooled, L.Dense(4, activation="relu")(num)])
    return keras.Model([tok, num], [L.Dense(1, activation="sigmoid")(x), L.Dense(3)(x)])


@model
def hub_shared_backbone_siamese():
    b = _hub().models.BertBackbone(**TXT, max_sequence_length=16)
    a = keras.Input((10,), dtype="int32")
    c = keras.Input((10,), dtype="int32")

    def enc(t):
        return b({"token_ids": t, "segment_ids": ops.zeros_like(t),
                  "padding_mask": ops.not_equal(t, 0)})["pooled_output"]

    ea, ec = enc(a), enc(c)
    cos = ops.sum(ea * ec, axis=-1, keepdims=True) / (
        ops.norm(ea, axis=-1, keepdims=True) * ops.norm(ec, axis=-1, keepdims=True) + 1e-6)
    return keras.Model([a, c], L.Dense(1)(L.Concatenate()([ea, ec, ops.abs(ea - ec), cos])))


@model
def hub_backbone_seq_into_mha_with_padding_mask():
    b = _hub().models.GPT2Backbone(**TXT, max_sequence_length=16)
    tok = keras.Input((10,), dtype="int32")
    pad = ops.not_equal(tok, 0)
    seq = b({"token_ids": tok, "padding_mask": pad})
    att_mask = ops.logical_and(pad[:, :, None], pad[:, None, :])
    y = L.MultiHeadAttention(2, 4)(seq, seq, attention_mask=att_mask)
    return keras.Model(tok, L.Dense(2)(L.GlobalMaxPooling1D()(y)))


@model
def hub_backbone_seq_into_bilstm_masked():
    """Backbone sequence -> an Embedding-derived Keras mask on a Bidirectional LSTM."""
    b = _hub().models.OPTBackbone(**TXT, max_sequence_length=16)
    tok = keras.Input((10,), dtype="int32")
    seq = b({"token_ids": tok, "padding_mask": ops.not_equal(tok, 0)})
    seq = L.Masking(0.0)(seq * ops.cast(ops.not_equal(tok, 0), "float32")[..., None])
    y = L.Bidirectional(L.LSTM(4))(seq)
    return keras.Model(tok, L.Dense(2)(y))


@model
def hub_vit_backbone_plus_metadata():
    b = _hub().models.ViTBackbone((16, 16, 3), 4, 1, 2, 8, 16)
    img = keras.Input((16, 16, 3))
    meta = keras.Input((3,))
    x = b(img)
    x = L.Concatenate()([x[:, 0, :], ops.mean(x[:, 1:, :], axis=1), meta])
    return keras.Model([img, meta], L.Dense(2)(x))


@model
def hub_seq2seq_task_inside_functional():
    """BartSeq2SeqLM called inside a user model; both padding masks from the ids."""
    kh = _hub()
    b = kh.models.BartBackbone(**TXT, max_sequence_length=16)
    lm = kh.models.BartSeq2SeqLM(b, preprocessor=None)
    enc = keras.Input((9,), dtype="int32")
    dec = keras.Input((6,), dtype="int32")
    logits = lm({"encoder_token_ids": enc, "encoder_padding_mask": ops.not_equal(enc, 0),
                 "decoder_token_ids": dec, "decoder_padding_mask": ops.not_equal(dec, 0)})
    return keras.Model([enc, dec], ops.argmax(logits, axis=-1))


# --------------------------------------------------------------------------------------
# masks in user code
# --------------------------------------------------------------------------------------


class ZeroSomeSteps(L.Layer):
    """Zero every time step whose first feature is <= 0.3 (so Masking has work)."""

    def call(self, x):
        return ops.where(x[..., :1] > 0.3, x, 0.0)


class MaskAndFirstFeature(L.Layer):
    """Narrows the incoming mask: also drop steps whose feature sum is negative."""

    supports_masking = True

    def call(self, x, mask=None):
        return x * 2.0

    def compute_mask(self, x, mask=None):
        keep = ops.sum(x, axis=-1) >= 0
        return keep if mask is None else ops.logical_and(mask, keep)


class MaskedMeanPool(L.Layer):
    """Mean over unmasked steps (consumes the mask)."""

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        m = ops.cast(mask, x.dtype)[..., None]
        return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)

    def compute_mask(self, x, mask=None):
        return None


@model
def mask_float_masking_custom_compute_mask_lstm():
    i = keras.Input((9, 4))
    x = L.Masking(0.0)(ZeroSomeSteps()(i))
    x = MaskAndFirstFeature()(x)
    return keras.Model(i, L.Dense(2)(L.LSTM(5)(x)))


@model
def mask_float_masking_mha_gap():
    i = keras.Input((8, 6))
    x = L.Masking(0.0)(ZeroSomeSteps()(i))
    x = L.MultiHeadAttention(2, 3)(x, x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def mask_concat_features_two_embeddings_gru():
    a = keras.Input((10,), dtype="int32")
    b = keras.Input((10,), dtype="int32")
    x = L.Concatenate()([L.Embedding(12, 4, mask_zero=True)(a),
                         L.Embedding(12, 3, mask_zero=True)(b)])
    return keras.Model([a, b], L.Dense(2)(L.GRU(6)(x)))


@model
def mask_concat_time_axis_lstm():
    a = keras.Input((6,), dtype="int32")
    b = keras.Input((4,), dtype="int32")
    e = L.Embedding(12, 4, mask_zero=True)
    x = L.Concatenate(axis=1)([e(a), e(b)])
    return keras.Model([a, b], L.Dense(2)(L.LSTM(4)(x)))


@model
def mask_add_into_bidirectional_gru_gmp():
    i = keras.Input((10,), dtype="int32")
    x = L.Add()([L.Embedding(12, 6, mask_zero=True)(i), L.Embedding(12, 6)(i)])
    x = L.Bidirectional(L.GRU(4, return_sequences=True))(x)
    return keras.Model(i, L.Dense(2)(L.GlobalMaxPooling1D()(x)))


@model
def mask_left_padded_bidirectional_lstm():
    """Padding at the start of every row (ids forced to 0) under a Keras mask."""
    i = keras.Input((10,), dtype="int32")
    forced = ops.where(ops.arange(10)[None, :] < 4, 0, i + 1)
    x = L.Embedding(12, 4, mask_zero=True)(forced)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="ave")(x)
    return keras.Model(i, L.Dense(2)(L.LSTM(3)(x)))


@model
def mask_fully_masked_rows_lstm_gru():
    """Masking drops every step (inputs are integers < 10, so i > 50 never holds)."""
    i = keras.Input((7,), dtype="int32")
    x = L.Embedding(60, 4, mask_zero=True)(ops.where(i > 50, i, 0))
    h1 = L.LSTM(3)(x)
    h2 = L.GRU(3, return_sequences=True)(x)
    # (GlobalAveragePooling1D of all-masked steps is 0/0 = NaN in Keras: a safe pool)
    return keras.Model(i, [h1, MaskedMeanPool()(h2), L.Bidirectional(L.GRU(2))(x)])


@model
def mask_custom_masked_mean_pool_after_gru():
    i = keras.Input((9,), dtype="int32")
    x = L.Embedding(12, 4, mask_zero=True)(i)
    x = L.GRU(5, return_sequences=True, reset_after=False)(x)
    return keras.Model(i, L.Dense(2)(MaskedMeanPool()(x)))


@model
def mask_mha_causal_with_implicit_padding_then_lstm():
    i = keras.Input((8,), dtype="int32")
    x = L.Embedding(12, 8, mask_zero=True)(i)
    x = L.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    x = L.LayerNormalization()(x)
    return keras.Model(i, L.Dense(2)(L.LSTM(4)(x)))


@model
def mask_mha_cross_attention_two_masks():
    q = keras.Input((5,), dtype="int32")
    v = keras.Input((7,), dtype="int32")
    qe = L.Embedding(12, 8, mask_zero=True)(q)
    ve = L.Embedding(12, 8, mask_zero=True)(v)
    y = L.MultiHeadAttention(2, 4)(qe, ve)
    return keras.Model([q, v], L.Dense(2)(L.GlobalAveragePooling1D()(y)))


@model
def mask_timedistributed_dense_dropout_layernorm_gru():
    i = keras.Input((9, 3))
    x = L.Masking(0.0)(ZeroSomeSteps()(i))
    x = L.TimeDistributed(L.Dense(6, activation="tanh"))(x)
    x = L.Dropout(0.3)(x)
    x = L.LayerNormalization()(x)
    return keras.Model(i, L.Dense(2)(L.GRU(4)(x)))


@model
def mask_attention_layer_after_lstm_sequences():
    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(12, 6, mask_zero=True)(i)
    seq = L.LSTM(6, return_sequences=True)(x)
    att = L.Attention(use_scale=True)([seq, seq])
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(att)))


@model
def mask_stacked_bidirectional_return_state_concat():
    i = keras.Input((8,), dtype="int32")
    x = L.Embedding(12, 4, mask_zero=True)(i)
    seq, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_sequences=True,
                                                 return_state=True))(x)
    last = L.GRU(3)(seq)
    return keras.Model(i, L.Dense(2)(L.Concatenate()([last, fh, bh, fc + bc])))


@model
def mask_hub_layer_mask_zero_into_user_mha_and_gru():
    kh = _hub()
    i = keras.Input((10,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(12, 10, 8, mask_zero=True)(i)
    x = L.MultiHeadAttention(2, 4)(x, x)
    return keras.Model(i, L.Dense(2)(L.GRU(4)(x)))


@model
def mask_float_masking_into_hub_transformer_encoder():
    kh = _hub()
    i = keras.Input((8, 6))
    x = L.Masking(0.0)(ZeroSomeSteps()(i))
    x = kh.layers.TransformerEncoder(12, 2)(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def mask_mha_return_scores_implicit_mask():
    i = keras.Input((7,), dtype="int32")
    x = L.Embedding(12, 8, mask_zero=True)(i)
    y, scores = L.MultiHeadAttention(2, 4)(x, x, return_attention_scores=True)
    return keras.Model(i, [L.Dense(2)(y), scores])


# --------------------------------------------------------------------------------------
# subclassed models and functional subclasses
# --------------------------------------------------------------------------------------


class ScaledResidual(L.Layer):
    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.d = L.Dense(units, activation="relu")
        self.bn = L.BatchNormalization()
        self.drop = L.Dropout(0.5)

    def call(self, x, training=None):
        y = self.drop(self.bn(self.d(x), training=training), training=training)
        return x + y


class Tower(L.Layer):
    def __init__(self, units, depth, **kw):
        super().__init__(**kw)
        self.blocks = [ScaledResidual(units) for _ in range(depth)]
        self.norm = L.LayerNormalization()

    def call(self, x, training=None):
        for blk in self.blocks:
            x = blk(x, training=training)
        return self.norm(x)


@model
def subclass_nested_towers_training_flag():
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.inp = L.Dense(6)
            self.tower = Tower(6, 2)
            self.out = L.Dense(2)

        def call(self, x, training=None):
            return self.out(self.tower(self.inp(x), training=training))

    return _subclass(Net(), [((5,), "float32")])


@model
def subclass_int64_tokens_masked_lstm_extra_kwargs():
    class Tagger(keras.Model):
        def __init__(self, temperature=2.0, **kw):
            super().__init__(**kw)
            self.temperature = temperature
            self.emb = L.Embedding(12, 6, mask_zero=True)
            self.rnn = L.Bidirectional(L.LSTM(4, return_sequences=True))
            self.head = L.Dense(3)

        def call(self, tokens, training=False, return_probs=True):
            x = self.rnn(self.emb(tokens), training=training)
            logits = self.head(x) / self.temperature
            return ops.softmax(logits) if return_probs else logits

    return _subclass(Tagger(), [((9,), "int64")])


@model
def subclass_two_call_args_tokens_and_features():
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(12, 4)
            self.feat = L.Dense(4)
            self.mix = L.Dense(2)

        def call(self, inputs, training=None):
            tokens, feats = inputs
            t = ops.mean(self.emb(tokens), axis=1)
            f = self.feat(ops.log1p(ops.abs(feats)))
            return self.mix(ops.concatenate([t, f, t * f], axis=-1))

    return _subclass(Net(), [((6,), "int32"), ((3,), "float32")])


@model
def subclass_with_hub_backbone_computed_mask():
    kh = _hub()

    class Clf(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.backbone = kh.models.GPT2Backbone(**TXT, max_sequence_length=16)
            self.head = L.Dense(2)

        def call(self, tokens):
            pad = ops.not_equal(tokens, 0)
            seq = self.backbone({"token_ids": tokens, "padding_mask": pad})
            m = ops.cast(pad, seq.dtype)[..., None]
            return self.head(ops.sum(seq * m, 1) / ops.maximum(ops.sum(m, 1), 1.0))

    return _subclass(Clf(), [((10,), "int32")])


@model
def subclass_with_hub_task_inside():
    kh = _hub()

    class Wrapper(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            b = kh.models.DistilBertBackbone(**TXT, max_sequence_length=16)
            self.task = kh.models.DistilBertTextClassifier(b, 3, preprocessor=None)

        def call(self, tokens):
            logits = self.task({"token_ids": tokens,
                                "padding_mask": ops.ones_like(tokens)})
            return ops.softmax(logits)

    return _subclass(Wrapper(), [((8,), "int32")])


@model
def subclass_masked_embedding_custom_pool():
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(12, 5, mask_zero=True)
            self.conv = L.Dense(5, activation="gelu")
            self.pool = MaskedMeanPool()
            self.out = L.Dense(2)

        def call(self, tokens):
            x = self.emb(tokens)
            mask = self.emb.compute_mask(tokens)
            return self.out(self.pool(self.conv(x), mask=mask))

    return _subclass(Net(), [((11,), "int32")])


@model
def functional_subclass_dict_inputs_with_attrs():
    class Ranker(keras.Model):
        def __init__(self, **kw):
            inputs = {"a_tokens": keras.Input((6,), dtype="int32", name="a_tokens"),
                      "b_dense": keras.Input((4,), name="b_dense")}
            e = L.GlobalAveragePooling1D()(L.Embedding(12, 4, mask_zero=True)(
                inputs["a_tokens"]))
            x = L.Concatenate()([e, L.Dense(4)(inputs["b_dense"])])
            super().__init__(inputs=inputs, outputs=L.Dense(1)(x), **kw)
            self.num_features = 4
            self.extra_head = L.Dense(3)  # attribute not on the graph

    return Ranker()


@model
def functional_subclass_hub_backbone_head_attrs():
    kh = _hub()

    class Classifier(keras.Model):
        def __init__(self, num_classes=3, **kw):
            backbone = kh.models.BertBackbone(**TXT, max_sequence_length=16)
            tok = keras.Input((10,), dtype="int32", name="token_ids")
            out = backbone({"token_ids": tok, "segment_ids": ops.zeros_like(tok),
                            "padding_mask": ops.not_equal(tok, 0)})
            logits = L.Dense(num_classes)(L.Dropout(0.1)(out["pooled_output"]))
            super().__init__(inputs=tok, outputs=logits, **kw)
            self.backbone = backbone
            self.num_classes = num_classes

    return Classifier()


@model
def functional_subclass_masked_rnn_multi_output():
    class Seq(keras.Model):
        def __init__(self, **kw):
            tok = keras.Input((None,), dtype="int32")
            feats = keras.Input((None, 2))
            e = L.Embedding(12, 4, mask_zero=True)(tok)
            x = L.Concatenate()([e, L.Dense(4)(feats)])
            seq = L.GRU(4, return_sequences=True)(x)
            last = L.LSTM(4)(seq)
            super().__init__(inputs=[tok, feats], outputs=[L.Dense(3)(seq), L.Dense(2)(last)],
                             **kw)
            self.vocab = 12

    return Seq()


@model
def subclass_calls_layer_with_mask_kwarg():
    """A subclass passing an explicit mask= to LSTM and MHA."""
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(12, 8)
            self.att = L.MultiHeadAttention(2, 4)
            self.rnn = L.LSTM(4)
            self.out = L.Dense(2)

        def call(self, tokens):
            mask = ops.greater(tokens, 1)
            x = self.emb(tokens)
            x = self.att(x, x, attention_mask=ops.logical_and(mask[:, :, None],
                                                              mask[:, None, :]))
            return self.out(self.rnn(x, mask=mask))

    return _subclass(Net(), [((9,), "int32")])
