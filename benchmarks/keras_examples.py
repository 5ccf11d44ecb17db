"""Model definitions in the style of the public keras.io code examples, re-written
small (a few units per layer) for ``keras_examples_probe.py``: what a new user converts.

Each function builds one seeded-by-the-caller Keras model; the name says which
keras.io example it follows.  Subclassed models carry ``probe_specs`` (per input: the
shape without the batch, and the dtype), since Keras records no input signature for
them.  Nothing here is imported by graphir or its tests.
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
def mnist_convnet():
    i = keras.Input((28, 28, 1))
    x = L.Conv2D(8, 3, activation="relu")(i)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(8, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.5)(x)
    return keras.Model(i, L.Dense(10, activation="softmax")(x))


@model
def text_cnn():
    i = keras.Input((None,), dtype="int64")
    x = L.Embedding(100, 16)(i)
    x = L.Dropout(0.5)(x)
    x = L.Conv1D(16, 7, padding="valid", activation="relu", strides=3)(x)
    x = L.Conv1D(16, 7, padding="valid", activation="relu", strides=3)(x)
    x = L.GlobalMaxPooling1D()(x)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


@model
def bilstm_imdb():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(100, 8)(i)
    x = L.Bidirectional(L.LSTM(8, return_sequences=True))(x)
    x = L.Bidirectional(L.LSTM(8))(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


class TransformerBlock(L.Layer):
    def __init__(self, d, heads, ff, rate=0.1, **kw):
        super().__init__(**kw)
        self.att = L.MultiHeadAttention(num_heads=heads, key_dim=d)
        self.ffn = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
        self.n1 = L.LayerNormalization(epsilon=1e-6)
        self.n2 = L.LayerNormalization(epsilon=1e-6)
        self.d1 = L.Dropout(rate)
        self.d2 = L.Dropout(rate)

    def call(self, x):
        a = self.d1(self.att(x, x))
        o = self.n1(x + a)
        return self.n2(o + self.d2(self.ffn(o)))


class TokenAndPositionEmbedding(L.Layer):
    def __init__(self, maxlen, vocab, d, **kw):
        super().__init__(**kw)
        self.tok = L.Embedding(vocab, d)
        self.pos = L.Embedding(maxlen, d)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(0, maxlen, 1)
        return self.tok(x) + self.pos(positions)


@model
def text_transformer():
    i = keras.Input((20,), dtype="int32")
    x = TokenAndPositionEmbedding(20, 100, 16)(i)
    x = TransformerBlock(16, 2, 16)(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dropout(0.1)(x)
    x = L.Dense(8, activation="relu")(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@model
def timeseries_fcn():
    i = keras.Input((50, 1))
    x = i
    for _ in range(3):
        x = L.Conv1D(8, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@model
def timeseries_transformer():
    i = keras.Input((50, 1))
    x = i
    for _ in range(2):
        y = L.MultiHeadAttention(key_dim=8, num_heads=2, dropout=0.25)(x, x)
        y = L.Dropout(0.25)(y)
        y = L.LayerNormalization(epsilon=1e-6)(y)
        res = y + x
        y = L.Conv1D(filters=4, kernel_size=1, activation="relu")(res)
        y = L.Dropout(0.25)(y)
        y = L.Conv1D(filters=1, kernel_size=1)(y)
        y = L.LayerNormalization(epsilon=1e-6)(y)
        x = y + res
    x = L.GlobalAveragePooling1D(data_format="channels_first")(x)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@model
def xception_small():
    i = keras.Input((32, 32, 3))
    x = L.RandomFlip("horizontal")(i)
    x = L.RandomRotation(0.1)(x)
    x = L.Rescaling(1.0 / 255)(x)
    x = L.Conv2D(16, 3, strides=2, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    prev = x
    for size in [16, 32]:
        x = L.Activation("relu")(x)
        x = L.SeparableConv2D(size, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        x = L.SeparableConv2D(size, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        r = L.Conv2D(size, 1, strides=2, padding="same")(prev)
        x = L.add([x, r])
        prev = x
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.25)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def unet_xception():
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same")(i)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    prev = x
    for f in [16]:
        x = L.Activation("relu")(x)
        x = L.SeparableConv2D(f, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        r = L.Conv2D(f, 1, strides=2, padding="same")(prev)
        x = L.add([x, r])
        prev = x
    for f in [16, 8]:
        x = L.Activation("relu")(x)
        x = L.Conv2DTranspose(f, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.UpSampling2D(2)(x)
        r = L.UpSampling2D(2)(prev)
        r = L.Conv2D(f, 1, padding="same")(r)
        x = L.add([x, r])
        prev = x
    return keras.Model(i, L.Conv2D(3, 3, activation="softmax", padding="same")(x))


@model
def siamese_lambda():
    def euclidean(v):
        a, b = v
        s = ops.sum(ops.square(a - b), axis=1, keepdims=True)
        return ops.sqrt(ops.maximum(s, keras.backend.epsilon()))

    inp = keras.Input((28, 28, 1))
    x = L.BatchNormalization()(inp)
    x = L.Conv2D(4, 5, activation="tanh")(x)
    x = L.AveragePooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.BatchNormalization()(x)
    x = L.Dense(10, activation="tanh")(x)
    tower = keras.Model(inp, x)
    a = keras.Input((28, 28, 1))
    b = keras.Input((28, 28, 1))
    d = L.Lambda(euclidean)([tower(a), tower(b)])
    d = L.BatchNormalization()(d)
    return keras.Model([a, b], L.Dense(1, activation="sigmoid")(d))


@model
def seq2seq_char():
    ei = keras.Input((None, 10))
    e = L.LSTM(8, return_state=True)
    _, h, c = e(ei)
    di = keras.Input((None, 12))
    d, _, _ = L.LSTM(8, return_sequences=True, return_state=True)(di, initial_state=[h, c])
    return keras.Model([ei, di], L.Dense(12, activation="softmax")(d))


@model
def vit_patches():
    class Patches(L.Layer):
        def __init__(self, p, **kw):
            super().__init__(**kw)
            self.p = p

        def call(self, images):
            s = ops.shape(images)
            patches = keras.ops.image.extract_patches(images, size=self.p)
            return ops.reshape(
                patches, (s[0], (s[1] // self.p) * (s[2] // self.p), self.p * self.p * s[3])
            )

    class PatchEncoder(L.Layer):
        def __init__(self, n, d, **kw):
            super().__init__(**kw)
            self.n = n
            self.proj = L.Dense(d)
            self.pos = L.Embedding(n, d)

        def call(self, patch):
            positions = ops.expand_dims(ops.arange(start=0, stop=self.n, step=1), axis=0)
            return self.proj(patch) + self.pos(positions)

    i = keras.Input((16, 16, 3))
    x = Patches(4)(i)
    x = PatchEncoder(16, 8)(x)
    for _ in range(2):
        y = L.LayerNormalization(epsilon=1e-6)(x)
        y = L.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(y, y)
        x2 = L.Add()([y, x])
        y = L.LayerNormalization(epsilon=1e-6)(x2)
        y = L.Dense(16, activation=keras.activations.gelu)(y)
        y = L.Dropout(0.1)(y)
        y = L.Dense(8, activation=keras.activations.gelu)(y)
        x = L.Add()([y, x2])
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.Flatten()(x)
    return keras.Model(i, L.Dense(5)(x))


@model
def convmixer():
    i = keras.Input((32, 32, 3))
    x = L.Rescaling(1 / 255)(i)
    x = L.Conv2D(16, 2, strides=2)(x)
    x = L.Activation("gelu")(x)
    x = L.BatchNormalization()(x)
    for _ in range(2):
        r = x
        x = L.DepthwiseConv2D(5, padding="same")(x)
        x = L.Activation("gelu")(x)
        x = L.BatchNormalization()(x)
        x = L.Add()([x, r])
        x = L.Conv2D(16, 1)(x)
        x = L.Activation("gelu")(x)
        x = L.BatchNormalization()(x)
    x = L.GlobalAvgPool2D()(x)
    return keras.Model(i, L.Dense(10, activation="softmax")(x))


@model
def mlp_mixer():
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=4)(i)  # patches
    x = L.Reshape((16, 8))(x)
    for _ in range(2):
        y = L.LayerNormalization(epsilon=1e-6)(x)
        y = L.Permute((2, 1))(y)
        y = L.Dense(16, activation="gelu")(y)
        y = L.Dense(16)(y)
        y = L.Permute((2, 1))(y)
        x = L.Add()([x, y])
        y = L.LayerNormalization(epsilon=1e-6)(x)
        y = L.Dense(8, activation="gelu")(y)
        y = L.Dense(8)(y)
        x = L.Add()([x, y])
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(4, activation="softmax")(x))


@model
def fnet():
    class FNetLayer(L.Layer):
        def __init__(self, d, **kw):
            super().__init__(**kw)
            self.ffn = keras.Sequential([L.Dense(d, activation="gelu"), L.Dense(d)])
            self.n1 = L.LayerNormalization(epsilon=1e-6)
            self.n2 = L.LayerNormalization(epsilon=1e-6)

        def call(self, x):
            y = ops.fft2((x, ops.zeros_like(x)))[0]
            x = self.n1(x + y)
            return self.n2(x + self.ffn(x))

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=4)(i)
    x = L.Reshape((16, 8))(x)
    x = FNetLayer(8)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(4)(x))


@model
def dcgan_generator():
    i = keras.Input((16,))
    x = L.Dense(4 * 4 * 16)(i)
    x = L.Reshape((4, 4, 16))(x)
    x = L.Conv2DTranspose(16, 4, strides=2, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.Conv2DTranspose(8, 4, strides=2, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    return keras.Model(i, L.Conv2D(3, 5, padding="same", activation="sigmoid")(x))


@model
def dcgan_discriminator():
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=2, padding="same")(i)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.Conv2D(16, 4, strides=2, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.2)(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


@model
def pointnet():
    class OrthogonalRegularizer(keras.regularizers.Regularizer):
        def __init__(self, n, l2=0.001):
            self.n = n
            self.l2 = l2
            self.eye = ops.eye(n)

        def __call__(self, x):
            x = ops.reshape(x, (-1, self.n, self.n))
            xxt = ops.tensordot(x, x, axes=(2, 2))
            xxt = ops.reshape(xxt, (-1, self.n, self.n))
            return ops.sum(self.l2 * ops.square(xxt - self.eye))

    def conv_bn(x, f):
        x = L.Conv1D(f, 1, padding="valid")(x)
        x = L.BatchNormalization(momentum=0.0)(x)
        return L.Activation("relu")(x)

    def dense_bn(x, f):
        x = L.Dense(f)(x)
        x = L.BatchNormalization(momentum=0.0)(x)
        return L.Activation("relu")(x)

    def tnet(inputs, n):
        bias = keras.initializers.Constant(np.eye(n).flatten())
        x = conv_bn(inputs, 8)
        x = L.GlobalMaxPooling1D()(x)
        x = dense_bn(x, 8)
        x = L.Dense(
            n * n,
            kernel_initializer="zeros",
            bias_initializer=bias,
            activity_regularizer=OrthogonalRegularizer(n),
        )(x)
        feat_T = L.Reshape((n, n))(x)
        return L.Dot(axes=(2, 1))([inputs, feat_T])

    i = keras.Input((32, 3))
    x = tnet(i, 3)
    x = conv_bn(x, 8)
    x = tnet(x, 8)
    x = conv_bn(x, 16)
    x = L.GlobalMaxPooling1D()(x)
    x = dense_bn(x, 8)
    x = L.Dropout(0.3)(x)
    return keras.Model(i, L.Dense(4, activation="softmax")(x))


@model
def conv3d_ct():
    i = keras.Input((16, 16, 8, 1))
    x = L.Conv3D(4, 3, activation="relu")(i)
    x = L.MaxPool3D(2)(x)
    x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling3D()(x)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dropout(0.3)(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


@model
def timeseries_anomaly_ae():
    i = keras.Input((32, 1))
    x = L.Conv1D(8, 7, padding="same", strides=2, activation="relu")(i)
    x = L.Dropout(0.2)(x)
    x = L.Conv1D(4, 7, padding="same", strides=2, activation="relu")(x)
    x = L.Conv1DTranspose(4, 7, padding="same", strides=2, activation="relu")(x)
    x = L.Dropout(0.2)(x)
    x = L.Conv1DTranspose(8, 7, padding="same", strides=2, activation="relu")(x)
    return keras.Model(i, L.Conv1DTranspose(1, 7, padding="same")(x))


@model
def tcn_causal():
    i = keras.Input((None, 3))
    x = i
    for d in [1, 2, 4]:
        y = L.Conv1D(8, 2, padding="causal", dilation_rate=d, activation="relu")(x)
        x = L.Add()([y, L.Conv1D(8, 1)(x)]) if x.shape[-1] != 8 else L.Add()([x, y])
    return keras.Model(i, L.Dense(1)(x[:, -1, :]))


@model
def recommender_subclass():
    class RecommenderNet(keras.Model):
        def __init__(self, nu, nm, e, **kw):
            super().__init__(**kw)
            self.ue = L.Embedding(nu, e, embeddings_initializer="he_normal")
            self.ub = L.Embedding(nu, 1)
            self.me = L.Embedding(nm, e, embeddings_initializer="he_normal")
            self.mb = L.Embedding(nm, 1)

        def call(self, inputs):
            u = self.ue(inputs[:, 0])
            ub = self.ub(inputs[:, 0])
            m = self.me(inputs[:, 1])
            mb = self.mb(inputs[:, 1])
            dot = ops.tensordot(u, m, 2)
            x = dot + ub + mb
            return ops.nn.sigmoid(x)

    m = RecommenderNet(20, 30, 4)
    m(np.zeros((2, 2), "int32"))
    m.probe_specs = [((2,), "float32")]  # Keras builds subclasses in float32
    return m


@model
def weather_lstm():
    i = keras.Input((12, 7))
    x = L.LSTM(8)(i)
    return keras.Model(i, L.Dense(1)(x))


@model
def video_gru_masked():
    fi = keras.Input((6, 16))
    mi = keras.Input((6,), dtype="bool")
    x = L.GRU(8, return_sequences=True)(fi, mask=mi)
    x = L.GRU(4)(x)
    x = L.Dropout(0.4)(x)
    x = L.Dense(4, activation="relu")(x)
    return keras.Model([fi, mi], L.Dense(3, activation="softmax")(x))


@model
def mil_attention():
    class MILAttentionLayer(L.Layer):
        def __init__(self, w, **kw):
            super().__init__(**kw)
            self.w = w

        def build(self, input_shape):
            d = input_shape[0][1]
            self.v = self.add_weight(shape=(d, self.w), initializer="glorot_uniform", name="v")
            self.wt = self.add_weight(shape=(d, self.w), initializer="glorot_uniform", name="w")
            self.u = self.add_weight(shape=(self.w, 1), initializer="glorot_uniform", name="u")

        def call(self, inputs):
            scores = [self.score(x) for x in inputs]
            scores = ops.softmax(ops.stack(scores, axis=0), axis=0)
            return [scores[i] for i in range(len(inputs))]

        def score(self, x):
            o = ops.tanh(ops.tensordot(x, self.v, axes=1))
            g = ops.sigmoid(ops.tensordot(x, self.wt, axes=1))
            return ops.tensordot(o * g, self.u, axes=1)

    ins = [keras.Input((8,)) for _ in range(3)]
    emb = [L.Dense(4, activation="relu")(L.Dense(8, activation="relu")(x)) for x in ins]
    alpha = MILAttentionLayer(4, name="alpha")(emb)
    mult = [L.multiply([a, e]) for a, e in zip(alpha, emb)]
    c = L.concatenate(mult, axis=1)
    c = L.Dropout(0.2)(c)
    return keras.Model(ins, L.Dense(2, activation="softmax")(c))


@model
def involution_model():
    class Involution(L.Layer):
        def __init__(self, channel, group, k, stride, ratio, **kw):
            super().__init__(**kw)
            self.channel, self.group, self.k, self.stride, self.ratio = (
                channel,
                group,
                k,
                stride,
                ratio,
            )

        def build(self, shape):
            _, h, w, c = shape
            self.h, self.w = h // self.stride, w // self.stride
            self.pool = (
                L.AveragePooling2D(self.stride, self.stride, padding="same")
                if self.stride > 1
                else (lambda x: x)
            )
            self.kgen = keras.Sequential(
                [
                    L.Conv2D(self.channel // self.ratio, 1),
                    L.BatchNormalization(),
                    L.ReLU(),
                    L.Conv2D(self.k * self.k * self.group, 1),
                ]
            )
            self.kres = L.Reshape((self.h, self.w, self.k * self.k, 1, self.group))
            self.ires = L.Reshape((self.h, self.w, self.k * self.k, c // self.group, self.group))
            self.ores = L.Reshape((self.h, self.w, c))

        def call(self, x):
            kin = self.pool(x)
            kern = self.kres(self.kgen(kin))
            patches = ops.image.extract_patches(x, size=self.k, strides=self.stride, padding="same")
            patches = self.ires(patches)
            out = ops.sum(kern * patches, axis=3)
            return self.ores(out)

    i = keras.Input((16, 16, 3))
    x = Involution(3, 1, 3, 1, 1)(i)
    x = L.ReLU()(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    return keras.Model(i, L.Dense(4)(x))


@model
def wide_deep():
    a = keras.Input((1,), dtype="int32", name="cat")
    b = keras.Input((5,), name="num")
    e = L.Flatten()(L.Embedding(10, 4)(a))
    deep = L.concatenate([e, b])
    deep = L.Dense(8, activation="relu")(deep)
    deep = L.BatchNormalization()(deep)
    wide = L.CategoryEncoding(num_tokens=10, output_mode="one_hot")(a)
    wide = L.concatenate([wide, b])
    both = L.concatenate([wide, deep])
    return keras.Model([a, b], L.Dense(1, activation="sigmoid")(both))


@model
def normalization_mlp():
    i = keras.Input((6,))
    norm = L.Normalization()
    norm.adapt(np.random.default_rng(0).normal(size=(50, 6)).astype("float32"))
    x = norm(i)
    x = L.Dense(8, activation="relu")(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def deeplab_small():
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(i)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    dims = x.shape
    p = L.AveragePooling2D(pool_size=(dims[-3], dims[-2]))(x)
    p = L.Conv2D(8, 1)(p)
    p = L.UpSampling2D(
        size=(dims[-3] // p.shape[1], dims[-2] // p.shape[2]), interpolation="bilinear"
    )(p)
    o1 = L.Conv2D(8, 1, dilation_rate=1, padding="same")(x)
    o6 = L.Conv2D(8, 3, dilation_rate=6, padding="same")(x)
    x = L.Concatenate(axis=-1)([p, o1, o6])
    x = L.Conv2D(8, 1)(x)
    x = L.UpSampling2D(size=(2, 2), interpolation="bilinear")(x)
    return keras.Model(i, L.Conv2D(5, 1, padding="same")(x))


@model
def cct_stochastic_depth():
    class StochasticDepth(L.Layer):
        def __init__(self, p, **kw):
            super().__init__(**kw)
            self.p = p
            self.seed = keras.random.SeedGenerator(1)

        def call(self, x, training=None):
            if training:
                keep = 1 - self.p
                shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
                r = keep + keras.random.uniform(shape, 0, 1, seed=self.seed)
                return (x / keep) * ops.floor(r)
            return x

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = L.Reshape((64, 8))(x)
    y = L.LayerNormalization(epsilon=1e-5)(x)
    y = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(y, y)
    y = StochasticDepth(0.1)(y)
    x = L.Add()([y, x])
    y = L.LayerNormalization(epsilon=1e-5)(x)
    att = ops.softmax(L.Dense(1)(y), axis=1)
    w = (
        ops.matmul(att, y, transpose_a=True)
        if False
        else ops.matmul(ops.transpose(att, (0, 2, 1)), y)
    )
    w = ops.reshape(w, (-1, 8))
    return keras.Model(i, L.Dense(4)(w))


@model
def vae_encoder():
    class Sampling(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.seed = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            m, lv = inputs
            eps = keras.random.normal(shape=ops.shape(m), seed=self.seed)
            return m + ops.exp(0.5 * lv) * eps

    i = keras.Input((28, 28, 1))
    x = L.Conv2D(8, 3, activation="relu", strides=2, padding="same")(i)
    x = L.Flatten()(x)
    x = L.Dense(8, activation="relu")(x)
    m = L.Dense(2)(x)
    lv = L.Dense(2)(x)
    return keras.Model(i, [m, lv, Sampling()([m, lv])])


@model
def switch_router():
    i = keras.Input((8, 6))
    logits = L.Dense(4)(i)
    probs = ops.softmax(logits, axis=-1)
    gate, idx = ops.top_k(probs, k=1)
    mask = ops.one_hot(ops.squeeze(idx, -1), 4)
    pos = ops.cumsum(mask, axis=1) * mask
    return keras.Model(i, [gate, pos])


@model
def token_learner():
    i = keras.Input((8, 8, 4))
    x = L.LayerNormalization(epsilon=1e-6)(i)
    att = keras.Sequential(
        [
            L.Conv2D(3, 3, padding="same", activation="gelu", use_bias=False),
            L.Conv2D(3, 3, padding="same", activation="sigmoid", use_bias=False),
            L.Reshape((-1, 3)),
            L.Permute((2, 1)),
        ]
    )(x)
    att = ops.expand_dims(att, -1)
    f = L.Reshape((1, -1, 4))(i)
    out = ops.mean(att * f, axis=2)
    return keras.Model(i, out)


@model
def gru_stack_seq():
    i = keras.Input((10, 4))
    x = L.GRU(8, return_sequences=True)(i)
    x = L.SimpleRNN(6, return_sequences=True)(x)
    return keras.Model(i, L.TimeDistributed(L.Dense(2))(x))


@model
def conv_lstm_next_frame():
    i = keras.Input((None, 8, 8, 1))
    x = L.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(i)
    x = L.BatchNormalization()(x)
    return keras.Model(i, L.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x))


@model
def masked_lstm_text():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(50, 8, mask_zero=True)(i)
    x = L.LSTM(8)(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


@model
def nmt_transformer_encoder():
    class PositionalEmbedding(L.Layer):
        def __init__(self, seq, vocab, d, **kw):
            super().__init__(**kw)
            self.tok = L.Embedding(vocab, d, mask_zero=True)
            self.pos = L.Embedding(seq, d)

        def call(self, x):
            positions = ops.arange(0, ops.shape(x)[-1], 1)
            return self.tok(x) + self.pos(positions)

        def compute_mask(self, inputs, mask=None):
            return ops.not_equal(inputs, 0)

    class TransformerEncoder(L.Layer):
        def __init__(self, d, ff, heads, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(num_heads=heads, key_dim=d)
            self.proj = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
            self.n1 = L.LayerNormalization()
            self.n2 = L.LayerNormalization()
            self.supports_masking = True

        def call(self, x, mask=None):
            if mask is not None:
                pm = ops.cast(mask[:, None, :], dtype="int32")
            else:
                pm = None
            a = self.att(query=x, value=x, key=x, attention_mask=pm)
            p = self.n1(x + a)
            return self.n2(p + self.proj(p))

    i = keras.Input((10,), dtype="int64")
    x = PositionalEmbedding(10, 50, 8)(i)
    x = TransformerEncoder(8, 16, 2)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def resnet_block_functional_subclass():
    class Net(keras.Model):
        def __init__(self, **kw):
            i = keras.Input((16, 16, 3))
            x = L.Conv2D(4, 3, padding="same")(i)
            y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
            x = L.add([x, y])
            x = L.GlobalMaxPooling2D()(x)
            super().__init__(inputs=i, outputs=L.Dense(3)(x), **kw)

    return Net()


@model
def attention_layer_seq():
    q = keras.Input((None,), dtype="int32")
    v = keras.Input((None,), dtype="int32")
    emb = L.Embedding(50, 8)
    qe, ve = emb(q), emb(v)
    cnn = L.Conv1D(8, 3, padding="same")
    qc, vc = cnn(qe), cnn(ve)
    att = L.Attention()([qc, vc])
    a = L.GlobalAveragePooling1D()(qc)
    b = L.GlobalAveragePooling1D()(att)
    return keras.Model([q, v], L.Concatenate()([a, b]))


@model
def subclass_call_mlp():
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = L.Dense(8, activation="relu")
            self.d2 = L.Dense(3)
            self.bn = L.BatchNormalization()

        def call(self, x, training=False):
            return ops.softmax(self.d2(self.bn(self.d1(x), training=training)))

    m = MLP()
    m(np.zeros((2, 5), "float32"))
    m.probe_specs = [((5,), "float32")]
    return m


@model
def gmlp_spatial_gating():
    class SpatialGating(L.Layer):
        def __init__(self, n, **kw):
            super().__init__(**kw)
            self.norm = L.LayerNormalization(epsilon=1e-6)
            self.proj = L.Dense(n, bias_initializer="Ones")

        def call(self, x):
            u, v = ops.split(x, indices_or_sections=2, axis=2)
            v = self.norm(v)
            v = ops.transpose(v, (0, 2, 1))
            v = self.proj(v)
            v = ops.transpose(v, (0, 2, 1))
            return u * v

    i = keras.Input((16, 8))
    y = L.LayerNormalization(epsilon=1e-6)(i)
    y = L.Dense(16, activation="gelu")(y)
    y = SpatialGating(16)(y)
    y = L.Dense(8)(y)
    x = L.Add()([i, y])
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(3)(x))


@model
def perceiver_cross_attention():
    i = keras.Input((16, 6))

    class Latent(L.Layer):
        def build(self, s):
            self.latent = self.add_weight(shape=(4, 6), initializer="random_normal", name="latent")

        def call(self, x):
            return ops.broadcast_to(ops.expand_dims(self.latent, 0), (ops.shape(x)[0], 4, 6))

    lat = Latent()(i)
    q = L.LayerNormalization(epsilon=1e-6)(lat)
    k = L.LayerNormalization(epsilon=1e-6)(i)
    a = L.Attention(use_scale=True, dropout=0.1)([q, k, k])
    a = L.Add()([a, lat])
    x = L.GlobalAveragePooling1D()(a)
    return keras.Model(i, L.Dense(2)(x))


@model
def eanet_external_attention():
    def ext_att(x, dim, heads, k=4):
        _, n, c = x.shape
        x = L.Dense(dim * 2)(x)
        x = ops.reshape(x, (-1, n, heads, dim * 2 // heads))
        x = ops.transpose(x, axes=[0, 2, 1, 3])
        attn = L.Dense(k // heads)(x)
        attn = ops.softmax(attn, axis=2)
        attn = ops.divide(attn, ops.convert_to_tensor(1e-9) + ops.sum(attn, axis=-1, keepdims=True))
        x = L.Dense(dim * 2 // heads)(attn)
        x = ops.transpose(x, axes=[0, 2, 1, 3])
        x = ops.reshape(x, [-1, n, dim * 2])
        return L.Dense(dim)(x)

    i = keras.Input((16, 8))
    x = ext_att(i, 8, 2)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(3)(x))


@model
def ddim_unet_lite():
    """keras.io DDIM: a sinusoidal noise embedding in a live Lambda, residual blocks."""

    def sinusoidal_embedding(x):
        frequencies = ops.exp(ops.linspace(ops.log(1.0), ops.log(1000.0), 4))
        angular_speeds = ops.cast(2.0 * np.pi * frequencies, "float32")
        return ops.concatenate(
            [ops.sin(angular_speeds * x), ops.cos(angular_speeds * x)], axis=3
        )

    def residual_block(x, width):
        residual = x if x.shape[3] == width else L.Conv2D(width, 1)(x)
        x = L.BatchNormalization(center=False, scale=False)(x)
        x = L.Conv2D(width, 3, padding="same", activation="swish")(x)
        x = L.Conv2D(width, 3, padding="same")(x)
        return L.Add()([x, residual])

    images = keras.Input((16, 16, 3))
    variances = keras.Input((1, 1, 1))
    e = L.Lambda(sinusoidal_embedding, output_shape=(1, 1, 8))(variances)
    e = L.UpSampling2D(size=16, interpolation="nearest")(e)
    x = L.Conv2D(8, 1)(images)
    x = L.Concatenate()([x, e])
    skip = residual_block(x, 8)
    x = L.AveragePooling2D(2)(skip)
    x = residual_block(x, 16)
    x = L.UpSampling2D(2, interpolation="bilinear")(x)
    x = L.Concatenate()([x, skip])
    x = residual_block(x, 8)
    return keras.Model([images, variances], L.Conv2D(3, 1, kernel_initializer="zeros")(x))


@model
def vq_vae_quantizer():
    """keras.io VQ-VAE: nearest codebook vector by argmin of distances, one_hot, matmul."""

    class VectorQuantizer(L.Layer):
        def __init__(self, num, dim, **kw):
            super().__init__(**kw)
            self.dim = dim
            self.num = num
            self.embeddings = self.add_weight(
                shape=(dim, num), initializer="random_uniform", name="embeddings"
            )

        def call(self, x):
            shape = ops.shape(x)
            flat = ops.reshape(x, [-1, self.dim])
            idx = self.get_code_indices(flat)
            enc = ops.one_hot(idx, self.num)
            q = ops.matmul(enc, ops.transpose(self.embeddings))
            q = ops.reshape(q, (-1, shape[1], shape[2], self.dim))
            return x + ops.stop_gradient(q - x)

        def get_code_indices(self, flat):
            sim = ops.matmul(flat, self.embeddings)
            d = (
                ops.sum(flat**2, axis=1, keepdims=True)
                + ops.sum(self.embeddings**2, axis=0)
                - 2 * sim
            )
            return ops.argmin(d, axis=1)

    i = keras.Input((8, 8, 1))
    x = L.Conv2D(4, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2D(4, 1)(x)
    q = VectorQuantizer(6, 4, name="vq")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(q)
    return keras.Model(i, L.Conv2DTranspose(1, 3, padding="same")(x))


@model
def adain_style():
    """keras.io AdaIN neural style transfer: moments of content and style features."""

    def adain(content, style, eps=1e-5):
        cm, cv = ops.moments(content, axes=[1, 2], keepdims=True)
        sm, sv = ops.moments(style, axes=[1, 2], keepdims=True)
        return ops.sqrt(sv + eps) * (content - cm) / ops.sqrt(cv + eps) + sm

    c = keras.Input((16, 16, 3))
    s = keras.Input((16, 16, 3))
    enc = keras.Sequential([L.Conv2D(8, 3, padding="same", activation="relu"),
                            L.MaxPooling2D(2)])
    t = adain(enc(c), enc(s))
    x = L.UpSampling2D(2)(t)
    return keras.Model([c, s], L.Conv2D(3, 3, padding="same")(x))


@model
def pixelcnn():
    """keras.io PixelCNN: a convolution whose kernel is masked in call()."""

    class PixelConvLayer(L.Layer):
        def __init__(self, mask_type, **kwargs):
            super().__init__()
            self.mask_type = mask_type
            self.conv = L.Conv2D(**kwargs)

        def build(self, input_shape):
            self.conv.build(input_shape)
            kernel_shape = ops.shape(self.conv.kernel)
            self.mask = np.zeros(shape=kernel_shape)
            self.mask[: kernel_shape[0] // 2, ...] = 1.0
            self.mask[kernel_shape[0] // 2, : kernel_shape[1] // 2, ...] = 1.0
            if self.mask_type == "B":
                self.mask[kernel_shape[0] // 2, kernel_shape[1] // 2, ...] = 1.0

        def call(self, inputs):
            self.conv.kernel.assign(self.conv.kernel * self.mask)
            return self.conv(inputs)

    i = keras.Input((8, 8, 1))
    x = PixelConvLayer("A", filters=8, kernel_size=5, activation="relu", padding="same")(i)
    x = PixelConvLayer("B", filters=8, kernel_size=1, activation="relu", padding="valid")(x)
    return keras.Model(i, L.Conv2D(1, 1, activation="sigmoid")(x))


@model
def swin_window_attention():
    """keras.io Swin Transformer: shifted windows (roll), window partition by reshape and
    transpose, a relative position bias gathered from a table."""
    win, heads, dim = 2, 2, 8

    class WindowAttention(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qkv = L.Dense(dim * 3)
            self.proj = L.Dense(dim)
            self.table = self.add_weight(shape=((2 * win - 1) ** 2, heads),
                                         initializer="random_normal", name="table")
            coords = np.stack(np.meshgrid(np.arange(win), np.arange(win), indexing="ij"))
            flat = coords.reshape(2, -1)
            rel = (flat[:, :, None] - flat[:, None, :]).transpose(1, 2, 0) + (win - 1)
            self.index = (rel[..., 0] * (2 * win - 1) + rel[..., 1]).reshape(-1)

        def call(self, x):
            _, n, c = x.shape
            qkv = ops.transpose(ops.reshape(self.qkv(x), (-1, n, 3, heads, c // heads)),
                                (2, 0, 3, 1, 4))
            q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
            attn = q @ ops.transpose(k, (0, 1, 3, 2))
            bias = ops.reshape(ops.take(self.table, self.index, axis=0), (n, n, -1))
            attn = attn + ops.expand_dims(ops.transpose(bias, (2, 0, 1)), 0)
            attn = ops.softmax(attn, axis=-1)
            y = ops.reshape(ops.transpose(attn @ v, (0, 2, 1, 3)), (-1, n, c))
            return self.proj(y)

    i = keras.Input((4, 4, dim))
    x = ops.roll(i, shift=(-1, -1), axis=(1, 2))
    x = ops.reshape(x, (-1, 2, win, 2, win, dim))
    x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, win * win, dim))
    x = WindowAttention(name="window_attention")(x)
    x = ops.reshape(x, (-1, 2, 2, win, win, dim))
    x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, 4, 4, dim))
    x = ops.roll(x, shift=(1, 1), axis=(1, 2))
    return keras.Model(i, L.GlobalAveragePooling2D()(x))


@model
def ctc_speech():
    """keras.io CTC speech recognition (DeepSpeech-like): 2-D convolutions over a
    spectrogram, reshape, bidirectional GRU, per-frame softmax."""
    i = keras.Input((None, 16))
    x = L.Reshape((-1, 16, 1))(i)
    x = L.Conv2D(4, (11, 5), strides=(2, 2), padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Reshape((-1, x.shape[-2] * x.shape[-1]))(x)
    x = L.Bidirectional(L.GRU(8, return_sequences=True, reset_after=True))(x)
    x = L.Dropout(0.5)(x)
    return keras.Model(i, L.Dense(12, activation="softmax")(x))


@model
def cait_layer_scale():
    """keras.io CaiT: LayerScale (a learned per-channel gamma) in a custom layer."""

    class LayerScale(L.Layer):
        def __init__(self, init_values, projection_dim, **kw):
            super().__init__(**kw)
            self.gamma = self.add_weight(shape=(projection_dim,),
                                         initializer=keras.initializers.Constant(init_values))

        def call(self, x, training=False):
            return x * self.gamma

    i = keras.Input((5, 8))
    y = L.LayerNormalization(epsilon=1e-6)(i)
    y = L.MultiHeadAttention(2, 4)(y, y)
    x = L.Add()([i, LayerScale(0.1, 8)(y)])
    y = L.Dense(8, activation="gelu")(L.LayerNormalization(epsilon=1e-6)(x))
    x = L.Add()([x, LayerScale(0.1, 8)(y)])
    return keras.Model(i, L.Dense(3)(x[:, 0]))


@model
def mobilevit_lite():
    """keras.io MobileViT: local convolutions, unfolding into patches by reshape, a
    transformer over patches, folding back, fusion."""
    i = keras.Input((8, 8, 4))
    local = L.Conv2D(4, 3, padding="same", activation="swish")(i)
    local = L.Conv2D(8, 1, padding="same", activation="swish")(local)
    patches = L.Reshape((16, 4, 8))(local)
    y = L.LayerNormalization(epsilon=1e-6)(patches)
    y = L.Dense(8, activation="swish")(y)
    patches = L.Add()([patches, y])
    folded = L.Reshape((8, 8, 8))(patches)
    folded = L.Conv2D(4, 1, padding="same", activation="swish")(folded)
    x = L.Concatenate(axis=-1)([i, folded])
    x = L.Conv2D(4, 3, padding="same", activation="swish")(x)
    return keras.Model(i, L.GlobalAveragePooling2D()(x))


@model
def vivit_tubelets():
    """keras.io ViViT: tubelet embedding (Conv3D), position embedding, attention."""

    class PositionalEncoder(L.Layer):
        def __init__(self, embed_dim, **kw):
            super().__init__(**kw)
            self.embed_dim = embed_dim

        def build(self, input_shape):
            _, num_tokens, _ = input_shape
            self.position_embedding = L.Embedding(input_dim=num_tokens,
                                                  output_dim=self.embed_dim)
            self.positions = ops.arange(0, num_tokens, 1)

        def call(self, encoded_tokens):
            return encoded_tokens + self.position_embedding(self.positions)

    i = keras.Input((4, 8, 8, 1))
    x = L.Conv3D(8, kernel_size=(2, 4, 4), strides=(2, 4, 4), padding="valid")(i)
    x = L.Reshape((-1, 8))(x)
    x = PositionalEncoder(8)(x)
    y = L.LayerNormalization(epsilon=1e-6)(x)
    y = L.MultiHeadAttention(2, 4, dropout=0.1)(y, y)
    x = L.Add()([y, x])
    x = L.GlobalAvgPool1D()(L.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(i, L.Dense(5, activation="softmax")(x))


@model
def captioning_decoder_causal():
    """keras.io image captioning: a decoder whose causal mask is built from the batch
    size (ops.shape(inputs)[0]) and tiled to it."""

    class Decoder(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(2, 4)
            self.norm = L.LayerNormalization()

        def get_causal_attention_mask(self, inputs):
            input_shape = ops.shape(inputs)
            batch_size, sequence_length = input_shape[0], input_shape[1]
            i = ops.arange(sequence_length)[:, None]
            j = ops.arange(sequence_length)
            mask = ops.cast(i >= j, dtype="int32")
            mask = ops.reshape(mask, (1, input_shape[1], input_shape[1]))
            mult = ops.concatenate(
                [ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], axis=0
            )
            return ops.tile(mask, mult)

        def call(self, x):
            mask = self.get_causal_attention_mask(x)
            return self.norm(x + self.att(x, x, attention_mask=mask))

    i = keras.Input((6, 8))
    return keras.Model(i, L.Dense(10)(Decoder(name="decoder")(i)))


@model
def text_transformer_any_length():
    """keras.io "Text classification with Transformer" with sequences of any length
    (Input((None,))): TokenAndPositionEmbedding embeds ops.arange(ops.shape(x)[-1])."""

    class TokenAndPositionEmbedding(L.Layer):
        def __init__(self, maxlen, vocab, d, **kw):
            super().__init__(**kw)
            self.token_emb = L.Embedding(vocab, d)
            self.pos_emb = L.Embedding(maxlen, d)

        def call(self, x):
            maxlen = ops.shape(x)[-1]
            positions = ops.arange(start=0, stop=maxlen, step=1)
            return self.token_emb(x) + self.pos_emb(positions)

    i = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(40, 10, 8)(i)
    x = TransformerBlock(8, 2, 16)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@model
def deit_tokens():
    """DeiT-style (keras.io "Distilling Vision Transformers"): patches by a strided
    Conv2D reshaped to (ops.shape(images)[0], -1, d), a class token broadcast and a
    distillation token tiled to the batch size."""

    class PatchesAndTokens(L.Layer):
        def __init__(self, d, **kw):
            super().__init__(**kw)
            self.proj = L.Conv2D(d, 4, strides=4)
            self.d = d

        def build(self, s):
            self.cls = self.add_weight(shape=(1, 1, self.d), initializer="random_normal",
                                       name="cls")
            self.dist = self.add_weight(shape=(1, 1, self.d), initializer="random_normal",
                                        name="dist")

        def call(self, images):
            batch = ops.shape(images)[0]
            patches = ops.reshape(self.proj(images), (batch, -1, self.d))
            cls = ops.broadcast_to(self.cls, (batch, 1, self.d))
            dist = ops.tile(self.dist, (batch, 1, 1))
            return ops.concatenate([cls, dist, patches], axis=1)

    i = keras.Input((16, 16, 3))
    x = PatchesAndTokens(8)(i)
    x = TransformerBlock(8, 2, 16)(x)
    return keras.Model(i, [L.Dense(3)(x[:, 0]), L.Dense(3)(x[:, 1])])
