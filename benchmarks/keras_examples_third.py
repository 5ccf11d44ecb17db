"""A third set of model definitions in the style of public keras.io code examples (ones
that ``keras_examples.py`` / ``keras_examples_more.py`` do not cover), re-written small for
``keras_examples_probe.py`` (``--module keras_examples_third``).

Each function builds one seeded-by-the-caller Keras model; the name says which keras.io
example it follows.  Subclassed models carry ``probe_specs``.  Nothing here is imported by
graphir or its tests.
"""

import numpy as np
import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


@model
def fused_mbconv():
    """EfficientNetV2-style fused MBConv with SE and residual."""
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", activation="swish")(i)
    y = L.Conv2D(32, 3, padding="same", use_bias=False)(x)
    y = L.Activation("swish")(L.BatchNormalization()(y))
    s = L.GlobalAveragePooling2D(keepdims=True)(y)
    s = L.Conv2D(4, 1, activation="swish")(s)
    s = L.Conv2D(32, 1, activation="sigmoid")(s)
    y = L.Conv2D(8, 1, use_bias=False)(y * s)
    x = x + L.BatchNormalization()(y)
    return keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(x)))


@model
def convnext_block():
    """ConvNeXt block with hand-written LayerScale."""
    class LayerScale(L.Layer):
        def build(self, s):
            self.g = self.add_weight(shape=(s[-1],), initializer=keras.initializers.Constant(0.1))
        def call(self, x):
            return x * self.g
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 2, strides=2)(i)
    y = L.DepthwiseConv2D(7, padding="same")(x)
    y = L.LayerNormalization(epsilon=1e-6)(y)
    y = L.Dense(32, activation="gelu")(y)
    y = LayerScale()(L.Dense(8)(y))
    x = x + y
    return keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(x)))


@model
def bit_preact_ws():
    """BiT-like pre-activation block with GroupNorm + weight-standardized conv."""
    class WSConv(L.Conv2D):
        def convolution_op(self, x, k):
            m = ops.mean(k, axis=(0, 1, 2), keepdims=True)
            v = ops.var(k, axis=(0, 1, 2), keepdims=True)
            return ops.conv(x, (k - m) / ops.sqrt(v + 1e-5), strides=1, padding="same")
    i = keras.Input((8, 8, 4))
    y = L.ReLU()(L.GroupNormalization(2)(i))
    y = WSConv(4, 3, padding="same")(y)
    y = L.ReLU()(L.GroupNormalization(2)(y))
    y = WSConv(4, 3, padding="same")(y)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling2D()(i + y)))


@model
def simclr_projection():
    """SimCLR encoder + projection head with L2 normalisation."""
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, strides=2, activation="relu")(i)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(8)(x)
    return keras.Model(i, ops.normalize(x, axis=-1))


@model
def barlow_twins_head():
    """Barlow twins: projector MLP with BatchNorm and cross-correlation of two views."""
    a = keras.Input((6,)); b = keras.Input((6,))
    proj = keras.Sequential([L.Dense(8), L.BatchNormalization(), L.ReLU(), L.Dense(8)])
    za, zb = proj(a), proj(b)
    za = (za - ops.mean(za, 0)) / (ops.std(za, 0) + 1e-5)
    return keras.Model([a, b], ops.matmul(ops.transpose(za), zb))


@model
def supervised_contrastive():
    """supervised_contrastive_learning: logits = z z^T / temperature."""
    i = keras.Input((10,))
    z = ops.normalize(L.Dense(8)(L.Dense(16, activation="relu")(i)), axis=1)
    return keras.Model(i, ops.matmul(z, ops.transpose(z)) / 0.05)


@model
def distillation_student():
    """knowledge_distillation student with softmax temperature."""
    i = keras.Input((8, 8, 1))
    x = L.LeakyReLU(0.2)(L.Conv2D(4, 3, strides=2, padding="same")(i))
    x = L.MaxPooling2D(2, strides=1, padding="same")(x)
    x = L.Dense(5)(L.Flatten()(x))
    return keras.Model(i, ops.softmax(x / 3.0))


@model
def retinanet_heads():
    """RetinaNet FPN (upsample + add) with shared class/box heads."""
    i = keras.Input((16, 16, 3))
    c3 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    c4 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(c3)
    p4 = L.Conv2D(8, 1)(c4)
    p3 = L.Conv2D(8, 1)(c3) + L.UpSampling2D(2)(p4)
    p5 = L.Conv2D(8, 3, strides=2, padding="same")(c4)
    c1, c2 = L.Conv2D(8, 3, padding="same", activation="relu"), L.Conv2D(9 * 2, 3, padding="same")
    b1, b2 = L.Conv2D(8, 3, padding="same", activation="relu"), L.Conv2D(9 * 4, 3, padding="same")
    cls = lambda t: c2(c1(t))
    box = lambda t: b2(b1(t))
    outs = []
    for p in (p3, p4, p5):
        outs.append(ops.concatenate([ops.reshape(box(p), (-1, p.shape[1] * p.shape[2] * 9, 4)),
                                     ops.reshape(cls(p), (-1, p.shape[1] * p.shape[2] * 9, 2))], -1))
    return keras.Model(i, ops.concatenate(outs, axis=1))


@model
def speaker_residual_1d():
    """speaker_recognition_using_cnn: 1-D residual blocks."""
    i = keras.Input((32, 1))
    x = i
    for f in (4, 8):
        s = L.Conv1D(f, 1, padding="same")(x)
        y = L.Conv1D(f, 3, padding="same", activation="relu")(x)
        y = L.Conv1D(f, 3, padding="same")(y)
        x = L.MaxPool1D(2)(L.Activation("relu")(y + s))
    x = L.AveragePooling1D(3, 3)(x)
    return keras.Model(i, L.Dense(3, activation="softmax")(L.Dense(8, activation="relu")(L.Flatten()(x))))


@model
def eng_spa_transformer():
    """neural_machine_translation_with_transformer: PositionalEmbedding(mask_zero) and a
    decoder with causal mask + padding mask."""
    class PositionalEmbedding(L.Layer):
        def __init__(self, n, v, d, **kw):
            super().__init__(**kw)
            self.t = L.Embedding(v, d); self.p = L.Embedding(n, d)
        def call(self, x):
            return self.t(x) + self.p(ops.arange(ops.shape(x)[-1]))
        def compute_mask(self, x, mask=None):
            return ops.not_equal(x, 0)

    class Decoder(L.Layer):
        def __init__(self, d, **kw):
            super().__init__(**kw)
            self.a1 = L.MultiHeadAttention(2, d); self.a2 = L.MultiHeadAttention(2, d)
            self.ff = keras.Sequential([L.Dense(16, activation="relu"), L.Dense(d)])
            self.n1, self.n2, self.n3 = L.LayerNormalization(), L.LayerNormalization(), L.LayerNormalization()
        def call(self, x, enc, mask=None):
            n = ops.shape(x)[1]
            causal = ops.cast(ops.arange(n)[:, None] >= ops.arange(n)[None, :], "int32")
            causal = ops.expand_dims(causal, 0)
            if mask is not None:
                causal = ops.minimum(ops.cast(mask[:, None, :], "int32"), causal)
            y = self.n1(x + self.a1(x, x, attention_mask=causal))
            y = self.n2(y + self.a2(y, enc))
            return self.n3(y + self.ff(y))

    src = keras.Input((8,), dtype="int32"); tgt = keras.Input((8,), dtype="int32")
    e = PositionalEmbedding(8, 20, 8)(src)
    e = L.LayerNormalization()(e + L.MultiHeadAttention(2, 8)(e, e))
    d = PositionalEmbedding(8, 20, 8)(tgt)
    d = Decoder(8)(d, e)
    return keras.Model([src, tgt], L.Dense(20, activation="softmax")(d))


@model
def ner_transformer():
    """ner_with_transformers: TokenAndPositionEmbedding + TransformerBlock, per-token logits."""
    class TokPos(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.t = L.Embedding(30, 8); self.p = L.Embedding(10, 8)
        def call(self, x):
            return self.t(x) + self.p(ops.arange(0, ops.shape(x)[-1], 1))
    class Block(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(2, 4)
            self.ffn = keras.Sequential([L.Dense(16, activation="relu"), L.Dense(8)])
            self.n1, self.n2 = L.LayerNormalization(epsilon=1e-6), L.LayerNormalization(epsilon=1e-6)
            self.d = L.Dropout(0.1)
        def call(self, x, training=False):
            y = self.n1(x + self.d(self.att(x, x), training=training))
            return self.n2(y + self.d(self.ffn(y), training=training))
    i = keras.Input((10,), dtype="int32")
    x = Block()(TokPos()(i))
    x = L.Dense(8, activation="relu")(L.Dropout(0.1)(x))
    return keras.Model(i, L.Dense(5, activation="softmax")(x))


@model
def qa_start_end():
    """text_extraction_with_bert: start/end logits with masking of padded tokens."""
    ids = keras.Input((10,), dtype="int32"); msk = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 8)(ids)
    x = L.LayerNormalization()(x + L.MultiHeadAttention(2, 4)(x, x, attention_mask=msk[:, None, :]))
    start = ops.squeeze(L.Dense(1, use_bias=False)(x), -1)
    end = ops.squeeze(L.Dense(1, use_bias=False)(x), -1)
    neg = (1.0 - ops.cast(msk, "float32")) * -1e9
    return keras.Model([ids, msk], [ops.softmax(start + neg), ops.softmax(end + neg)])


@model
def char_lstm_textgen():
    """lstm_character_level_text_generation: one-hot char windows -> LSTM -> softmax."""
    i = keras.Input((8, 12))
    return keras.Model(i, L.Dense(12, activation="softmax")(L.LSTM(16)(i)))


@model
def timeseries_conv_lstm():
    """timeseries_weather_forecasting with Conv1D front end then LSTM."""
    i = keras.Input((12, 3))
    x = L.Conv1D(8, 3, padding="causal", activation="relu")(i)
    x = L.LSTM(8, return_sequences=True)(x)
    x = L.LSTM(4)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def cross_deep_numeric():
    """structured data Deep & Cross on numeric inputs with explicit CrossNet layer."""
    class Cross(L.Layer):
        def build(self, s):
            self.w = self.add_weight(shape=(s[0][-1], 1), initializer="glorot_uniform")
            self.b = self.add_weight(shape=(s[0][-1],), initializer="zeros")
        def call(self, inputs):
            x0, x = inputs
            return x0 * ops.matmul(x, self.w) + self.b + x
    i = keras.Input((6,))
    x0 = L.BatchNormalization()(i)
    c = x0
    for _ in range(2):
        c = Cross()([x0, c])
    d = L.Dense(8, activation="relu")(L.Dense(8, activation="relu")(x0))
    return keras.Model(i, L.Dense(1, activation="sigmoid")(L.concatenate([c, d])))


@model
def recommender_net():
    """collaborative_filtering_movielens RecommenderNet (subclassed, tensordot)."""
    class RecommenderNet(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.ue = L.Embedding(10, 4, embeddings_regularizer=keras.regularizers.l2(1e-6))
            self.ub = L.Embedding(10, 1)
            self.me = L.Embedding(12, 4)
            self.mb = L.Embedding(12, 1)
        def call(self, inputs):
            u = self.ue(inputs[:, 0]); m = self.me(inputs[:, 1])
            dot = ops.tensordot(u, m, 2)
            x = dot + self.ub(inputs[:, 0]) + self.mb(inputs[:, 1])
            return ops.sigmoid(x)
    m = RecommenderNet()
    m.probe_specs = [((2,), "int32")]
    return m


@model
def gat_segment_sum():
    """gnn graph attention with ops.segment_sum over a fixed edge list."""
    edges = np.array([[0, 1], [1, 2], [2, 0], [3, 1], [4, 3], [1, 4]], "int32")
    class GAT(L.Layer):
        def build(self, s):
            self.k = self.add_weight(shape=(s[-1], 4), initializer="glorot_uniform")
            self.a = self.add_weight(shape=(8, 1), initializer="glorot_uniform")
        def call(self, x):
            h = ops.matmul(x, self.k)
            src, dst = edges[:, 1], edges[:, 0]
            hs = ops.take(h, src, axis=1); hd = ops.take(h, dst, axis=1)
            sc = ops.leaky_relu(ops.matmul(ops.concatenate([hd, hs], -1), self.a), 0.2)
            sc = ops.exp(ops.clip(sc, -2, 2))
            sc_t = ops.transpose(sc, (1, 0, 2))
            den = ops.segment_sum(sc_t, dst, num_segments=5)
            den = ops.take(den, dst, axis=0)
            att = sc_t / den
            out = ops.segment_sum(att * ops.transpose(hs, (1, 0, 2)), dst, num_segments=5)
            return ops.transpose(out, (1, 0, 2))
    i = keras.Input((5, 3))
    return keras.Model(i, L.Dense(2)(ops.elu(GAT()(i))))


@model
def pixel_shuffle_sr():
    """super_resolution_sub_pixel: conv stack + tf.nn.depth_to_space (ops.depth_to_space-like)."""
    class DepthToSpace(L.Layer):
        def call(self, x):
            b, h, w, c = ops.shape(x)
            x = ops.reshape(x, (-1, h, w, 2, 2, c // 4))
            x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
            return ops.reshape(x, (-1, h * 2, w * 2, c // 4))
    i = keras.Input((8, 8, 1))
    x = L.Conv2D(8, 5, padding="same", activation="relu")(i)
    x = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(4, 3, padding="same")(x)
    return keras.Model(i, DepthToSpace()(x))


@model
def cnn_rnn_video():
    """video_classification: TimeDistributed CNN features -> GRU with frame mask."""
    i = keras.Input((6, 8, 8, 3)); m = keras.Input((6,), dtype="bool")
    f = L.TimeDistributed(L.Conv2D(4, 3, strides=2, activation="relu"))(i)
    f = L.TimeDistributed(L.GlobalAveragePooling2D())(f)
    x = L.GRU(8, return_sequences=True)(f, mask=m)
    x = L.GRU(4)(x)
    return keras.Model([i, m], L.Dense(3, activation="softmax")(L.Dropout(0.4)(x)))


@model
def dcgan_generator_t():
    """dcgan_overriding_train_step generator: Dense -> reshape -> Conv2DTranspose."""
    i = keras.Input((8,))
    x = L.Reshape((2, 2, 8))(L.Dense(32)(i))
    x = L.LeakyReLU(0.2)(L.Conv2DTranspose(8, 4, strides=2, padding="same")(x))
    x = L.LeakyReLU(0.2)(L.Conv2DTranspose(8, 4, strides=2, padding="same")(x))
    return keras.Model(i, L.Conv2D(3, 5, padding="same", activation="sigmoid")(x))


@model
def ticket_multi_io():
    """Functional API guide: ticket classifier with title/body/tags, two outputs."""
    t = keras.Input((6,), dtype="int32"); b = keras.Input((10,), dtype="int32"); g = keras.Input((4,))
    emb = L.Embedding(50, 8)
    tf_ = L.LSTM(8)(emb(t)); bf = L.LSTM(4)(emb(b))
    x = L.concatenate([tf_, bf, g])
    return keras.Model([t, b, g], [L.Dense(1)(x), L.Dense(3)(x)])


@model
def custom_linear_build():
    """making_new_layers_and_models_via_subclassing: Linear with build(), MLPBlock."""
    class Linear(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw); self.units = units
        def build(self, s):
            self.w = self.add_weight(shape=(s[-1], self.units), initializer="random_normal")
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal")
        def call(self, x):
            return ops.matmul(x, self.w) + self.b
    class MLP(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.l1, self.l2, self.l3 = Linear(8), Linear(8), Linear(2)
        def call(self, x, training=False):
            x = ops.relu(self.l1(x))
            if training:
                x = x * 0.5
            return self.l3(ops.relu(self.l2(x)))
    m = MLP()
    m.probe_specs = [((5,), "float32")]
    return m


@model
def masking_guide_compute_mask():
    """understanding_masking_and_padding: TemporalSplit/custom layer with compute_mask and
    a mask-consuming TemporalSoftmax."""
    class TemporalSoftmax(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw); self.supports_masking = True
        def call(self, x, mask=None):
            m = ops.expand_dims(ops.cast(mask, "float32"), -1)
            e = ops.exp(x - ops.max(x, axis=1, keepdims=True)) * m
            return e / (ops.sum(e, axis=1, keepdims=True) + 1e-7)
    i = keras.Input((8,), dtype="int32")
    x = L.Embedding(20, 4, mask_zero=True)(i)
    x = L.Dense(1)(x)
    return keras.Model(i, TemporalSoftmax()(x))


@model
def rnn_nested_cell():
    """working_with_rnns: custom cell with nested states/outputs (two streams packed in one
    input; Keras 3 RNN does not take nested inputs) and static timesteps."""
    class NestedCell(L.Layer):
        def __init__(self, u1, u2, **kw):
            super().__init__(**kw)
            self.u1, self.u2 = u1, u2
            self.state_size = [u1, u2]
            self.output_size = u1 + u2
        def build(self, s):
            self.k1 = self.add_weight(shape=(3, self.u1), initializer="uniform")
            self.k2 = self.add_weight(shape=(2, self.u2), initializer="uniform")
        def call(self, inputs, states):
            a, b = inputs[:, :3], inputs[:, 3:]; s1, s2 = states
            o1 = ops.tanh(ops.matmul(a, self.k1) + s1)
            o2 = ops.tanh(ops.matmul(b, self.k2) + s2)
            return ops.concatenate([o1, o2], -1), [o1, o2]
    a = keras.Input((6, 3)); b = keras.Input((6, 2))
    out, s1, s2 = L.RNN(NestedCell(4, 3), return_sequences=True, return_state=True)(
        L.concatenate([a, b]))
    return keras.Model([a, b], [out, s1, s2])


@model
def bidirectional_text():
    """pretrained_word_embeddings / bidirectional classification: frozen Embedding + BiLSTM."""
    i = keras.Input((10,), dtype="int32")
    e = L.Embedding(40, 8, trainable=False, mask_zero=True)(i)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(e)
    x = L.Bidirectional(L.GRU(4))(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@model
def semantic_clustering_head():
    """semantic_image_clustering: encoder + clustering softmax head; neighbour similarity."""
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, activation="relu")(L.Rescaling(1 / 255.0)(i))
    x = L.BatchNormalization()(x)
    x = L.GlobalMaxPooling2D()(x)
    f = ops.normalize(L.Dense(8)(x), axis=1)
    sim = ops.matmul(f, ops.transpose(f))
    _, idx = ops.top_k(sim, k=2)
    c = L.Dense(4, activation="softmax")(f)
    return keras.Model(i, [c, idx])


@model
def ocr_attention_head():
    """OCR: CNN -> reshape to sequence -> BiLSTM -> additive attention over steps -> softmax."""
    i = keras.Input((16, 8, 1))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(i)
    x = L.MaxPooling2D((2, 2))(x)
    x = L.Reshape((8, 4 * 4))(x)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    q = L.Dense(8)(x)
    a = L.AdditiveAttention()([q, x])
    return keras.Model(i, L.Dense(11, activation="softmax")(L.concatenate([x, a])))


@model
def switch_text_classifier():
    """text_classification_with_switch_transformer: top-1 router with ops.one_hot dispatch."""
    class Switch(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.router = L.Dense(3)
            self.experts = [L.Dense(8, activation="relu") for _ in range(3)]
        def call(self, x):
            p = ops.softmax(self.router(x))
            top = ops.argmax(p, -1)
            disp = ops.one_hot(top, 3) * p
            outs = ops.stack([e(x) for e in self.experts], axis=-2)
            return ops.sum(outs * ops.expand_dims(disp, -1), axis=-2)
    i = keras.Input((8,), dtype="int32")
    x = L.Embedding(30, 8)(i) + L.Embedding(8, 8)(ops.arange(8))
    x = L.LayerNormalization()(x + L.MultiHeadAttention(2, 4)(x, x))
    x = L.LayerNormalization()(x + Switch()(x))
    return keras.Model(i, L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(x)))


@model
def timeseries_transformer_cls():
    """timeseries_classification_transformer: Conv1D FF in encoder, channels_first GAP."""
    i = keras.Input((10, 1))
    x = L.LayerNormalization(epsilon=1e-6)(i)
    x = L.MultiHeadAttention(2, 4, dropout=0.1)(x, x)
    res = x + i
    x = L.LayerNormalization(epsilon=1e-6)(res)
    x = L.Conv1D(4, 1, activation="relu")(x)
    x = L.Conv1D(1, 1)(x) + res
    x = L.GlobalAveragePooling1D(data_format="channels_first")(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(L.Dense(8, activation="relu")(x)))


@model
def consistency_training():
    """consistency_training_with_supervision: subclassed model, training branch adds noise."""
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.c = L.Conv2D(4, 3, activation="relu")
            self.n = L.GaussianNoise(0.1)
            self.d = L.Dense(3)
        def call(self, x, training=False):
            x = self.n(x, training=training)
            return ops.softmax(self.d(ops.mean(self.c(x), axis=(1, 2))) / 2.0)
    m = Net()
    m.probe_specs = [((8, 8, 3), "float32")]
    return m


@model
def byol_predictor():
    """BYOL-style online network: encoder -> projector -> predictor, cosine to target."""
    a = keras.Input((8, 8, 3)); b = keras.Input((8, 8, 3))
    enc = keras.Sequential([L.Conv2D(4, 3, activation="relu"), L.GlobalAveragePooling2D(), L.Dense(8)])
    pred = keras.Sequential([L.Dense(8), L.BatchNormalization(), L.ReLU(), L.Dense(8)])
    p = ops.normalize(pred(enc(a)), axis=-1); z = ops.normalize(enc(b), axis=-1)
    return keras.Model([a, b], 2 - 2 * ops.sum(p * z, axis=-1))


@model
def captioning_encoder():
    """image_captioning: CNN features reshaped to sequence + TransformerEncoderBlock."""
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Reshape((-1, 8))(x)
    x = L.LayerNormalization()(x)
    x = L.Dense(8, activation="relu")(x)
    x = L.LayerNormalization()(x + L.MultiHeadAttention(1, 8, dropout=0.0)(x, x, x))
    return keras.Model(i, x)


@model
def layer_with_loss_metric():
    """Custom layer guide: ActivityRegularization-like add_loss layer in a functional model."""
    class ActReg(L.Layer):
        def call(self, x):
            self.add_loss(1e-2 * ops.sum(x))
            return x
    i = keras.Input((6,))
    x = ActReg()(L.Dense(8, activation="relu")(i))
    return keras.Model(i, L.Dense(1)(x))
