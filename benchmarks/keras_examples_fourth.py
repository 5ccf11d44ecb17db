"""A fourth, deliberately hard set of model definitions for ``keras_examples_probe.py``
(``--module keras_examples_fourth``): unknown sequence lengths and image sizes through
custom layers that read ``ops.shape``, masks through recurrent / attention / keras_hub
layers, subclassed models with dict or list inputs, dict outputs, shared nested models
and ``keras.ops`` preprocessing inside the model.

Each function builds one seeded-by-the-caller Keras model, modelled on public code
(keras.io examples, Keras guides, keras_hub layers as users use them) but re-written
small.  Subclassed models carry ``probe_specs``.  Nothing here is imported by graphir or
its tests.
"""

import numpy as np
import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


# --------------------------------------------------------------------------------------
# unknown-length sequences through custom layers reading ops.shape
# --------------------------------------------------------------------------------------

@model
def causal_self_attention_dynamic():
    """nlp/text_generation_with_miniature_gpt: causal_attention_mask built from
    ops.shape(x) with ops.arange comparisons, passed to MultiHeadAttention."""
    class CausalBlock(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(2, 4)
            self.ln = L.LayerNormalization()

        def call(self, x):
            b, n = ops.shape(x)[0], ops.shape(x)[1]
            i = ops.arange(n)[:, None]
            j = ops.arange(n)
            mask = ops.cast(i >= j, "int32")
            mask = ops.broadcast_to(ops.reshape(mask, (1, n, n)), (b, n, n))
            return self.ln(x + self.att(x, x, attention_mask=mask))

    i = keras.Input((None, 8))
    return keras.Model(i, L.Dense(3)(CausalBlock()(i)))


@model
def tril_causal_mask_scores():
    """Hand-written causal attention: einsum scores, ops.tril of ones built from the
    dynamic length, ops.where fill with -1e9, softmax, einsum back."""
    class Attn(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qkv = L.Dense(24)

        def call(self, x):
            n = ops.shape(x)[1]
            q, k, v = ops.split(self.qkv(x), 3, axis=-1)
            s = ops.einsum("bqd,bkd->bqk", q, k) / ops.sqrt(8.0)
            causal = ops.tril(ops.ones((n, n), "bool"))
            s = ops.where(causal[None], s, -1e9)
            return ops.einsum("bqk,bkd->bqd", ops.softmax(s, -1), v)

    i = keras.Input((None, 6))
    return keras.Model(i, Attn()(i))


@model
def multihead_split_reshape_dynamic():
    """Head split with ops.reshape(x, (b, n, h, d)) using ops.shape sizes, transpose,
    scaled dot product, merge back with a -1 reshape."""
    class MHA(L.Layer):
        def __init__(self, heads=2, dim=12, **kw):
            super().__init__(**kw)
            self.h, self.d = heads, dim // heads
            self.q, self.k, self.v = L.Dense(dim), L.Dense(dim), L.Dense(dim)
            self.o = L.Dense(dim)

        def split(self, t):
            b, n = ops.shape(t)[0], ops.shape(t)[1]
            t = ops.reshape(t, (b, n, self.h, self.d))
            return ops.transpose(t, (0, 2, 1, 3))

        def call(self, x):
            b, n = ops.shape(x)[0], ops.shape(x)[1]
            q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
            w = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / self.d ** 0.5)
            o = ops.transpose(ops.matmul(w, v), (0, 2, 1, 3))
            return self.o(ops.reshape(o, (b, n, self.h * self.d)))

    i = keras.Input((None, 12))
    return keras.Model(i, MHA()(i))


@model
def window_partition_1d():
    """Local windowed attention over an unknown length padded to a multiple of the
    window: ops.pad with a computed amount, reshape into windows, attend, unpad."""
    class LocalAttn(L.Layer):
        def __init__(self, w=4, **kw):
            super().__init__(**kw)
            self.w = w
            self.qkv = L.Dense(3 * 8)

        def call(self, x):
            b, n = ops.shape(x)[0], ops.shape(x)[1]
            pad = (self.w - n % self.w) % self.w
            xp = ops.pad(x, [[0, 0], [0, pad], [0, 0]])
            m = ops.shape(xp)[1]
            q, k, v = ops.split(self.qkv(xp), 3, -1)
            q, k, v = [ops.reshape(t, (b * (m // self.w), self.w, 8)) for t in (q, k, v)]
            a = ops.softmax(ops.einsum("bqd,bkd->bqk", q, k) * 8 ** -0.5)
            o = ops.reshape(ops.einsum("bqk,bkd->bqd", a, v), (b, m, 8))
            return o[:, :n]

    i = keras.Input((None, 5))
    return keras.Model(i, LocalAttn()(i))


@model
def token_ids_miniature_gpt():
    """nlp/text_generation_with_miniature_gpt: TokenAndPositionEmbedding (hand-written,
    positions from ops.arange(ops.shape(x)[-1])), causal MHA, logits per token."""
    class TokPos(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.tok = L.Embedding(20, 8)
            self.pos = L.Embedding(64, 8)

        def call(self, x):
            n = ops.shape(x)[-1]
            return self.tok(x) + self.pos(ops.arange(0, n, 1))

    i = keras.Input((None,), dtype="int32")
    x = TokPos()(i)
    a = L.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    x = L.LayerNormalization()(x + a)
    return keras.Model(i, L.Dense(20)(x))


@model
def cumsum_positions_from_padding():
    """HF-style RoBERTa positions: ops.cumsum over the non-pad mask, times the mask,
    plus the pad index, gathered from a position table."""
    class Pos(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.tok = L.Embedding(16, 6)
            self.pos = L.Embedding(80, 6)

        def call(self, ids):
            m = ops.cast(ops.not_equal(ids, 1), "int32")
            pos = ops.cumsum(m, axis=1) * m + 1
            return self.tok(ids) + self.pos(pos)

    i = keras.Input((None,), dtype="int32")
    return keras.Model(i, L.Dense(2)(Pos()(i)))


@model
def transformer_asr_conv_subsample():
    """audio/transformer_asr: Conv1D subsampling with strides over an unknown number of
    frames, sinusoidal positions from ops.shape, one encoder block."""
    class SinePos(L.Layer):
        def call(self, x):
            n, d = ops.shape(x)[1], x.shape[-1]
            pos = ops.cast(ops.arange(n), "float32")[:, None]
            inv = ops.exp(-ops.arange(0, d, 2, dtype="float32") * (np.log(10000.0) / d))
            ang = pos * inv[None]
            pe = ops.reshape(ops.stack([ops.sin(ang), ops.cos(ang)], -1), (n, d))
            return x + pe[None]

    i = keras.Input((None, 10))
    x = L.Conv1D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv1D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = SinePos()(x)
    a = L.MultiHeadAttention(2, 4)(x, x)
    x = L.LayerNormalization()(x + a)
    return keras.Model(i, L.Dense(5, activation="softmax")(x))


# --------------------------------------------------------------------------------------
# unknown-size images through fully-convolutional models with shape-reading layers
# --------------------------------------------------------------------------------------

@model
def pixel_shuffle_dynamic():
    """vision/super_resolution_sub_pixel with a hand-written depth_to_space: reshape
    (b, h, w, r, r, c) from ops.shape, transpose, reshape (b, h*r, w*r, c)."""
    class PixelShuffle(L.Layer):
        def __init__(self, r=2, **kw):
            super().__init__(**kw)
            self.r = r

        def call(self, x):
            b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
            c = x.shape[-1] // (self.r * self.r)
            x = ops.reshape(x, (b, h, w, self.r, self.r, c))
            x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
            return ops.reshape(x, (b, h * self.r, w * self.r, c))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = L.Conv2D(12, 3, padding="same")(x)
    return keras.Model(i, PixelShuffle()(x))


@model
def shufflenet_channel_shuffle():
    """ShuffleNet unit: grouped 1x1 conv, channel shuffle via reshape (b,h,w,g,c/g) and
    transpose using ops.shape for h, w; depthwise 3x3; concat with the shortcut."""
    class ChannelShuffle(L.Layer):
        def __init__(self, groups=2, **kw):
            super().__init__(**kw)
            self.g = groups

        def call(self, x):
            s = ops.shape(x)
            c = x.shape[-1]
            x = ops.reshape(x, (s[0], s[1], s[2], self.g, c // self.g))
            x = ops.transpose(x, (0, 1, 2, 4, 3))
            return ops.reshape(x, (s[0], s[1], s[2], c))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    y = L.Conv2D(8, 1, groups=2, activation="relu")(x)
    y = ChannelShuffle()(y)
    y = L.DepthwiseConv2D(3, padding="same")(y)
    y = L.Conv2D(8, 1, groups=2)(y)
    x = L.ReLU()(L.Concatenate()([x, y]))
    return keras.Model(i, L.Conv2D(4, 1)(x))


@model
def swin_patch_merging_dynamic():
    """Swin PatchMerging over an unknown-size map: x[:, 0::2, 0::2], x[:, 1::2, 0::2],
    ... concatenated, LayerNorm, Dense reduction."""
    class PatchMerging(L.Layer):
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.ln = L.LayerNormalization(epsilon=1e-5)
            self.red = L.Dense(2 * dim, use_bias=False)

        def call(self, x):
            x0 = x[:, 0::2, 0::2, :]
            x1 = x[:, 1::2, 0::2, :]
            x2 = x[:, 0::2, 1::2, :]
            x3 = x[:, 1::2, 1::2, :]
            return self.red(self.ln(ops.concatenate([x0, x1, x2, x3], axis=-1)))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(4, 2, strides=2)(i)
    x = PatchMerging(4)(x)
    return keras.Model(i, L.GlobalAveragePooling2D()(x))


@model
def swin_window_partition_dynamic():
    """Swin window_partition / window_reverse with an unknown number of windows: reshape
    (b, h/w, w, w/w, w, c) using ops.shape, attention inside each window, reverse."""
    class WindowAttn(L.Layer):
        def __init__(self, ws=4, **kw):
            super().__init__(**kw)
            self.ws = ws
            self.att = L.MultiHeadAttention(2, 4)

        def call(self, x):
            b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
            c, ws = x.shape[-1], self.ws
            t = ops.reshape(x, (b, h // ws, ws, w // ws, ws, c))
            t = ops.transpose(t, (0, 1, 3, 2, 4, 5))
            t = ops.reshape(t, (-1, ws * ws, c))
            t = self.att(t, t)
            t = ops.reshape(t, (b, h // ws, w // ws, ws, ws, c))
            t = ops.transpose(t, (0, 1, 3, 2, 4, 5))
            return x + ops.reshape(t, (b, h, w, c))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 1)(i)
    return keras.Model(i, L.Conv2D(2, 1)(WindowAttn()(x)))


@model
def resize_normalize_preprocess():
    """Preprocessing inside the model: ops.image.resize to a fixed size from an unknown
    size, (x - mean) / std by constants, ops.clip, then a small CNN."""
    class Prep(L.Layer):
        def call(self, x):
            x = ops.image.resize(x, (16, 16), interpolation="bilinear")
            mean = ops.convert_to_tensor([0.485, 0.456, 0.406])
            std = ops.convert_to_tensor([0.229, 0.224, 0.225])
            return ops.clip((x - mean) / std, -3.0, 3.0)

    i = keras.Input((None, None, 3))
    x = Prep()(i)
    x = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    return keras.Model(i, L.Dense(4)(L.GlobalMaxPooling2D()(x)))


@model
def unet_dynamic_skip_resize():
    """Fully-convolutional U-Net on an unknown size with a decoder that crops the
    upsampled map to the skip's ops.shape (odd sizes safe) before concatenation."""
    class ResizeLike(L.Layer):
        def call(self, x, ref):
            s = ops.shape(ref)
            return x[:, : s[1], : s[2], :]

    i = keras.Input((None, None, 3))
    e1 = L.Conv2D(4, 3, padding="same", activation="relu")(i)
    e2 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(e1)
    d = L.Conv2DTranspose(4, 2, strides=2)(e2)
    d = ResizeLike()(d, e1)
    d = L.Concatenate()([d, e1])
    return keras.Model(i, L.Conv2D(2, 1)(d))


# --------------------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------------------

@model
def masked_bilstm_gru_stack():
    """nlp/bidirectional_lstm_imdb: Embedding(mask_zero=True) -> Bidirectional LSTM
    (return_sequences) -> GRU, the mask flowing through both."""
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(12, 6, mask_zero=True)(i)
    x = L.Bidirectional(L.LSTM(5, return_sequences=True))(x)
    x = L.GRU(4)(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def masked_mha_global_pool():
    """Embedding(mask_zero=True) -> MultiHeadAttention (implicit padding mask from the
    keras mask) -> GlobalAveragePooling1D (masked mean)."""
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(12, 8, mask_zero=True)(i)
    a = L.MultiHeadAttention(2, 4)(x, x)
    x = L.LayerNormalization()(L.Add()([x, a]))
    return keras.Model(i, L.Dense(3)(L.GlobalAveragePooling1D()(x)))


@model
def custom_compute_mask_layer():
    """Keras guide 'Masking and padding': a custom layer with compute_mask that drops
    the mask of the last position, and a supports_masking layer in between, into LSTM."""
    class TemporalSoftmaxMasked(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.supports_masking = True

        def call(self, x, mask=None):
            m = ops.cast(mask, x.dtype)[..., None]
            e = ops.exp(x - ops.max(x, axis=1, keepdims=True)) * m
            return e / (ops.sum(e, axis=1, keepdims=True) + 1e-6)

    class ShiftMask(L.Layer):
        def call(self, x, mask=None):
            return x * 2.0

        def compute_mask(self, x, mask=None):
            return ops.logical_and(mask, ops.greater(ops.cumsum(ops.cast(mask, "int32"),
                                                                axis=1), 1))

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(12, 4, mask_zero=True)(i)
    x = TemporalSoftmaxMasked()(x)
    x = ShiftMask()(x)
    return keras.Model(i, L.LSTM(3)(x))


@model
def masking_layer_float_sequence():
    """timeseries: L.Masking(mask_value=0.) over a float sequence (rows zeroed by a
    where on the input first) into a GRU and a masked GlobalAveragePooling1D."""
    class ZeroSome(L.Layer):
        def call(self, x):
            keep = ops.greater(ops.sum(x, axis=-1, keepdims=True), -0.5)
            return ops.where(keep, x, 0.0)

    i = keras.Input((None, 4))
    x = L.Masking(0.0)(ZeroSome()(i))
    a = L.GRU(5, return_sequences=True)(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(a)))


@model
def hub_token_position_encoder():
    """keras_hub TokenAndPositionEmbedding(mask_zero=True) -> TransformerEncoder (mask
    picked up implicitly) -> masked GlobalAveragePooling1D, as in the keras_hub guide."""
    import keras_hub

    i = keras.Input((None,), dtype="int32")
    x = keras_hub.layers.TokenAndPositionEmbedding(20, 64, 8, mask_zero=True)(i)
    x = keras_hub.layers.TransformerEncoder(16, 2)(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def hub_encoder_decoder_translation():
    """nlp/neural_machine_translation_with_keras_hub: encoder ids and decoder ids,
    TokenAndPositionEmbedding(mask_zero=True) each, TransformerEncoder, and
    TransformerDecoder(decoder, encoder_sequence) with both padding masks implicit."""
    import keras_hub

    enc_in = keras.Input((None,), dtype="int32", name="encoder_inputs")
    dec_in = keras.Input((None,), dtype="int32", name="decoder_inputs")
    e = keras_hub.layers.TokenAndPositionEmbedding(20, 64, 8, mask_zero=True)(enc_in)
    e = keras_hub.layers.TransformerEncoder(16, 2)(e)
    d = keras_hub.layers.TokenAndPositionEmbedding(20, 64, 8, mask_zero=True)(dec_in)
    d = keras_hub.layers.TransformerDecoder(16, 2)(d, encoder_sequence=e)
    return keras.Model([enc_in, dec_in], L.Dense(20)(d))


@model
def hub_decoder_explicit_padding_mask():
    """keras_hub TransformerDecoder with explicit decoder_padding_mask from
    ops.not_equal(ids, 0), no encoder (GPT-style), SinePositionEncoding added."""
    import keras_hub

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(20, 8)(i)
    x = x + keras_hub.layers.SinePositionEncoding()(x)
    pad = ops.not_equal(i, 0)
    x = keras_hub.layers.TransformerDecoder(16, 2)(x, decoder_padding_mask=pad)
    return keras.Model(i, L.Dense(20)(x))


@model
def hub_rotary_attention():
    """keras_hub RotaryEmbedding applied to q and k of a hand-written attention over an
    unknown length (head split with ops.shape), as in Llama-style user code."""
    import keras_hub

    class RopeAttn(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.q, self.k, self.v = L.Dense(8), L.Dense(8), L.Dense(8)
            self.rope = keras_hub.layers.RotaryEmbedding()

        def call(self, x):
            b, n = ops.shape(x)[0], ops.shape(x)[1]
            q = self.rope(ops.reshape(self.q(x), (b, n, 2, 4)))
            k = self.rope(ops.reshape(self.k(x), (b, n, 2, 4)))
            v = ops.reshape(self.v(x), (b, n, 2, 4))
            s = ops.einsum("bqhd,bkhd->bhqk", q, k) * 0.5
            o = ops.einsum("bhqk,bkhd->bqhd", ops.softmax(s, -1), v)
            return ops.reshape(o, (b, n, 8))

    i = keras.Input((None, 6))
    return keras.Model(i, RopeAttn()(i))


@model
def hub_reversible_embedding_tied():
    """keras_hub ReversibleEmbedding with tied weights: embed ids, PositionEmbedding,
    one TransformerEncoder, then reverse=True logits over the vocabulary."""
    import keras_hub

    emb = keras_hub.layers.ReversibleEmbedding(20, 8, tie_weights=True)
    i = keras.Input((None,), dtype="int32")
    x = emb(i)
    x = x + keras_hub.layers.PositionEmbedding(64)(x)
    x = keras_hub.layers.TransformerEncoder(16, 2, normalize_first=True)(
        x, padding_mask=ops.not_equal(i, 0))
    return keras.Model(i, emb(x, reverse=True))


# --------------------------------------------------------------------------------------
# subclassed / multi-input / multi-output / shared
# --------------------------------------------------------------------------------------

@model
def subclassed_dict_inputs():
    """Structured data guide style: a subclassed Model called on a dict of a float
    feature block and integer category ids (one-hot with ops.one_hot)."""
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = L.Dense(8, activation="relu")
            self.emb = L.Embedding(10, 3)
            self.out = L.Dense(1, activation="sigmoid")

        def call(self, inputs):
            if isinstance(inputs, dict):
                num, cat = inputs["num"], inputs["cat"]
            else:  # a list, in keras.tree.flatten's (sorted-key) order
                cat, num = inputs
            oh = ops.one_hot(cat[:, 0], 10)
            e = ops.mean(self.emb(cat), axis=1)
            return self.out(ops.concatenate([self.d1(num), oh, e], -1))

    m = Net()
    m({"num": np.zeros((1, 5), "float32"), "cat": np.zeros((1, 3), "int32")})
    m.probe_specs = [((3,), "int32"), ((5,), "float32")]  # sorted keys: cat, num
    return m


@model
def subclassed_list_inputs_shared_encoder():
    """Siamese network (vision/siamese_network): one encoder model shared over two list
    inputs of unknown size, cosine similarity and abs difference head."""
    enc_in = keras.Input((None, None, 3))
    f = L.Conv2D(6, 3, strides=2, activation="relu")(enc_in)
    enc = keras.Model(enc_in, L.GlobalAveragePooling2D()(f))

    class Siamese(keras.Model):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc
            self.head = L.Dense(1)

        def call(self, inputs):
            a, b = inputs
            ea, eb = self.enc(a), self.enc(b)
            cos = ops.sum(ops.normalize(ea, -1) * ops.normalize(eb, -1), -1, keepdims=True)
            return self.head(ops.concatenate([ops.abs(ea - eb), cos], -1))

    m = Siamese(enc)
    m([np.zeros((1, 12, 12, 3), "float32"), np.zeros((1, 12, 12, 3), "float32")])
    m.probe_specs = [((None, None, 3), "float32"), ((None, None, 3), "float32")]
    return m


@model
def dict_outputs_multitask():
    """Functional multi-task model with dict outputs (Keras functional API guide):
    classification softmax, regression, and an attention-weighted pooling output."""
    i = keras.Input((None, 6))
    h = L.Conv1D(8, 3, padding="same", activation="relu")(i)
    w = L.Softmax(axis=1)(L.Dense(1)(h))
    pooled = ops.sum(h * w, axis=1)
    return keras.Model(i, {"cls": L.Dense(3, activation="softmax")(pooled),
                           "reg": L.Dense(1)(pooled),
                           "attn": ops.squeeze(w, -1)})


@model
def nested_model_multi_call_mixed_inputs():
    """A nested functional 'tower' called on two different inputs and a third model
    mixing int ids and float features, with a shared Dense applied twice."""
    ti = keras.Input((None, 4))
    tower = keras.Model(ti, L.GlobalMaxPooling1D()(L.Dense(6, activation="relu")(ti)))
    a = keras.Input((None, 4), name="a")
    b = keras.Input((None, 4), name="b")
    ids = keras.Input((2,), dtype="int32", name="ids")
    shared = L.Dense(6)
    ea, eb = shared(tower(a)), shared(tower(b))
    e = L.Flatten()(L.Embedding(10, 3)(ids))
    return keras.Model([a, b, ids], [L.Dense(2)(ops.concatenate([ea * eb, e], -1)),
                                     ops.sum(ea - eb, -1)])


# --------------------------------------------------------------------------------------
# ops inside the model
# --------------------------------------------------------------------------------------

@model
def topk_gather_pooling():
    """Point-cloud / token-pruning style: score each position, ops.top_k over an
    unknown length, ops.take_along_axis of the features at the top indices."""
    class TopK(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.score = L.Dense(1)

        def call(self, x):
            s = ops.squeeze(self.score(x), -1)
            v, idx = ops.top_k(s, 4)
            g = ops.take_along_axis(x, ops.expand_dims(idx, -1), axis=1)
            return g * ops.expand_dims(ops.sigmoid(v), -1)

    i = keras.Input((None, 5))
    return keras.Model(i, L.Flatten()(TopK()(i)))


@model
def einsum_attention_variants():
    """Talking-heads / multi-query einsum attention: q with heads, shared single k/v
    head, an einsum mixing heads over logits, bias via ops.where on a length mask."""
    class MQA(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.q = L.EinsumDense("bnd,dhk->bnhk", (None, 3, 4))
            self.kv = L.EinsumDense("bnd,dk->bnk", (None, 8))

        def build(self, s):
            self.mix = self.add_weight(shape=(3, 3), initializer="random_normal")

        def call(self, x, lengths):
            n = ops.shape(x)[1]
            q = self.q(x)
            k, v = ops.split(self.kv(x), 2, -1)
            s = ops.einsum("bqhk,bmk->bhqm", q, k) * 0.5
            s = ops.einsum("bhqm,hg->bgqm", s, self.mix)
            valid = ops.arange(n)[None, :] < lengths
            s = ops.where(valid[:, None, None, :], s, -1e4)
            o = ops.einsum("bhqm,bmk->bqhk", ops.softmax(s, -1), v)
            return ops.reshape(o, (ops.shape(x)[0], n, 12))

    x = keras.Input((None, 6))
    ln = keras.Input((1,), dtype="int32")
    return keras.Model([x, ln], MQA()(x, ln + 1))


@model
def conv_lstm_dynamic_time():
    """vision/conv_lstm: ConvLSTM2D over an unknown number of frames, then
    a Conv3D-free per-frame head via TimeDistributed Conv2D."""
    i = keras.Input((None, 6, 6, 1))
    x = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(i)
    x = L.TimeDistributed(L.Conv2D(1, 1, activation="sigmoid"))(x)
    return keras.Model(i, x)


@model
def subclassed_variable_length_generator_step():
    """Subclassed model with a list of (ids, float context) inputs of unknown length:
    embeds ids, GRU with initial_state from the context, returns logits and the state."""
    class Step(keras.Model):
        def __init__(self):
            super().__init__()
            self.emb = L.Embedding(12, 6, mask_zero=True)
            self.init = L.Dense(5, activation="tanh")
            self.gru = L.GRU(5, return_sequences=True, return_state=True)
            self.out = L.Dense(12)

        def call(self, inputs):
            ids, ctx = inputs
            seq, state = self.gru(self.emb(ids), initial_state=self.init(ctx))
            return self.out(seq), state

    m = Step()
    m([np.zeros((1, 5), "int32"), np.zeros((1, 3), "float32")])
    m.probe_specs = [((None,), "int32"), ((3,), "float32")]
    return m


# --------------------------------------------------------------------------------------
# harder corners: masked reversal, custom RNN cells, padding semantics, resize kernels
# --------------------------------------------------------------------------------------

@model
def masked_go_backwards_lstm():
    """Embedding(mask_zero=True) with zeros anywhere in the ids into LSTM(go_backwards=True,
    return_sequences=True) and a forward GRU on the same masked embedding, concatenated
    (a hand-built bidirectional RNN, as in older keras.io seq2seq code)."""
    i = keras.Input((None,), dtype="int32")
    e = L.Embedding(12, 6, mask_zero=True)(i)
    b = L.LSTM(4, go_backwards=True, return_sequences=True)(e)
    f = L.GRU(4, return_sequences=True)(e)
    x = L.Concatenate()([f, b])
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def custom_rnn_cell_dynamic():
    """Keras RNN guide: a user-written MinimalRNNCell wrapped in keras.layers.RNN over an
    unknown number of steps, with return_sequences and a masked input."""
    class MinimalRNNCell(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units
            self.state_size = units

        def build(self, s):
            self.kernel = self.add_weight(shape=(s[-1], self.units), initializer="glorot_uniform")
            self.rec = self.add_weight(shape=(self.units, self.units), initializer="orthogonal")

        def call(self, x, states):
            h = ops.tanh(ops.matmul(x, self.kernel) + ops.matmul(states[0], self.rec))
            return h, [h]

    i = keras.Input((None,), dtype="int32")
    e = L.Embedding(12, 5, mask_zero=True)(i)
    x = L.RNN(MinimalRNNCell(4), return_sequences=True)(e)
    return keras.Model(i, L.Dense(2)(x))


@model
def avgpool_same_unknown_size():
    """AveragePooling2D(3, strides=2, padding="same") on an unknown-size map (Keras
    excludes the padding from the mean), MaxPooling2D "same" and a strided "same"
    Conv2D with an even kernel (asymmetric padding)."""
    i = keras.Input((None, None, 3))
    a = L.AveragePooling2D(3, strides=2, padding="same")(i)
    m = L.MaxPooling2D(3, strides=2, padding="same")(i)
    c = L.Conv2D(3, 4, strides=2, padding="same")(i)
    return keras.Model(i, L.Concatenate()([a, m, c]))


@model
def resize_bicubic_antialias():
    """Preprocessing with ops.image.resize: bicubic upscale and antialiased bilinear
    downscale of an unknown-size image to fixed sizes, as in keras_cv/keras_hub image
    converters."""
    class Prep(L.Layer):
        def call(self, x):
            up = ops.image.resize(x, (40, 40), interpolation="bicubic")
            down = ops.image.resize(up, (12, 12), interpolation="bilinear", antialias=True)
            return down * (1.0 / 255.0)

    i = keras.Input((None, None, 3))
    return keras.Model(i, L.Conv2D(2, 3)(Prep()(i)))


@model
def mha_scores_2d_padding_mask():
    """MultiHeadAttention with an explicit (b, n, n) attention_mask built from a padding
    mask (logical_and of row and column masks) and return_attention_scores=True; the
    scores are a second output."""
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(12, 8)(i)
    pad = ops.not_equal(i, 0)
    mask = ops.logical_and(pad[:, :, None], pad[:, None, :])
    o, s = L.MultiHeadAttention(2, 4)(x, x, attention_mask=mask,
                                      return_attention_scores=True)
    return keras.Model(i, [L.Dense(3)(o), s])
