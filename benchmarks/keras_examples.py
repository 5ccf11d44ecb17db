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


# --- second batch: more keras.io examples (custom layers, subclassed models, ops) ---


@model
def transformer_asr():
    """keras.io audio/transformer_asr: a keras.Model subclass over [spectrogram, tokens],
    strided Conv1D features, positions from ops.shape(x)[-1], a causal mask tiled to the
    batch read from ops.shape, cross-attention to the encoder."""

    class TokenEmbedding(L.Layer):
        def __init__(self, vocab, maxlen, d, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(vocab, d)
            self.pos_emb = L.Embedding(maxlen, d)

        def call(self, x):
            length = ops.shape(x)[-1]
            return self.emb(x) + self.pos_emb(ops.arange(0, length, 1))

    class SpeechFeatureEmbedding(L.Layer):
        def __init__(self, d, **kw):
            super().__init__(**kw)
            self.convs = [L.Conv1D(d, 5, strides=2, padding="same", activation="relu")
                          for _ in range(3)]

        def call(self, x):
            for conv in self.convs:
                x = conv(x)
            return x

    class Decoder(L.Layer):
        def __init__(self, d, heads, ff, **kw):
            super().__init__(**kw)
            self.norms = [L.LayerNormalization(epsilon=1e-6) for _ in range(3)]
            self.self_att = L.MultiHeadAttention(heads, d)
            self.enc_att = L.MultiHeadAttention(heads, d)
            self.drop = L.Dropout(0.5)
            self.ffn = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])

        def causal_attention_mask(self, batch, n_dest, n_src, dtype):
            rows = ops.arange(n_dest)[:, None]
            cols = ops.arange(n_src)
            mask = ops.cast(rows >= cols - n_src + n_dest, dtype)
            mask = ops.reshape(mask, (1, n_dest, n_src))
            reps = ops.concatenate([ops.expand_dims(batch, -1),
                                    ops.convert_to_tensor([1, 1])], 0)
            return ops.tile(mask, reps)

        def call(self, enc_out, target):
            shape = ops.shape(target)
            mask = self.causal_attention_mask(shape[0], shape[1], shape[1], "bool")
            t = self.self_att(target, target, attention_mask=mask)
            t = self.norms[0](target + self.drop(t))
            e = self.norms[1](self.enc_att(t, enc_out) + t)
            return self.norms[2](e + self.ffn(e))

    class ASRTransformer(keras.Model):
        def __init__(self, d=8, vocab=12, **kw):
            super().__init__(**kw)
            self.encoder = keras.Sequential([SpeechFeatureEmbedding(d),
                                             TransformerBlock(d, 2, 16)])
            self.dec_input = TokenEmbedding(vocab, 40, d)
            self.decoder = Decoder(d, 2, 16)
            self.classifier = L.Dense(vocab)

        def call(self, inputs):
            source, target = inputs
            enc = self.encoder(source)
            return self.classifier(self.decoder(enc, self.dec_input(target)))

    m = ASRTransformer()
    m([np.zeros((2, 32, 6), "float32"), np.zeros((2, 32), "int32")])
    m.probe_specs = [((None, 6), "float32"), ((None,), "int32")]
    return m


@model
def grn_vsn():
    """keras.io structured_data/classification_with_grn_and_vsn: dict inputs of shape (),
    gated linear units, gated residual networks, a variable selection layer (ops.clip on
    indices, expand_dims, stack, softmax weights applied by a transposed matmul)."""

    class GatedLinearUnit(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.linear = L.Dense(units)
            self.gate = L.Dense(units, activation="sigmoid")

        def call(self, x):
            return self.linear(x) * self.gate(x)

    class GatedResidualNetwork(L.Layer):
        def __init__(self, units, rate, **kw):
            super().__init__(**kw)
            self.units = units
            self.elu_dense = L.Dense(units, activation="elu")
            self.linear_dense = L.Dense(units)
            self.dropout = L.Dropout(rate)
            self.glu = GatedLinearUnit(units)
            self.norm = L.LayerNormalization()
            self.project = L.Dense(units)

        def call(self, x):
            y = self.dropout(self.linear_dense(self.elu_dense(x)))
            if x.shape[-1] != self.units:
                x = self.project(x)
            return self.norm(x + self.glu(y))

    cats = {"c1": 5, "c2": 7}
    nums = ["n1", "n2", "n3"]

    class VariableSelection(L.Layer):
        def __init__(self, units, rate, **kw):
            super().__init__(**kw)
            self.embeddings = {k: L.Embedding(v, units) for k, v in cats.items()}
            self.proj = {k: L.Dense(units) for k in nums}
            self.grns = [GatedResidualNetwork(units, rate) for _ in range(len(cats) + len(nums))]
            self.grn_concat = GatedResidualNetwork(units, rate)
            self.softmax = L.Dense(len(cats) + len(nums), activation="softmax")

        def call(self, inputs):
            parts = []
            for name in list(cats) + nums:
                if name in cats:
                    idx = ops.clip(inputs[name], 0, cats[name] - 1)
                    parts.append(self.embeddings[name](idx))
                else:
                    parts.append(self.proj[name](ops.expand_dims(inputs[name], -1)))
            v = self.grn_concat(ops.concatenate(parts, axis=-1))
            v = ops.expand_dims(self.softmax(v), -1)
            x = ops.stack([g(p) for g, p in zip(self.grns, parts)], axis=1)
            return ops.squeeze(ops.matmul(ops.transpose(v, (0, 2, 1)), x), axis=1)

    inputs = {k: keras.Input((), dtype="int64", name=k) for k in cats}
    inputs.update({k: keras.Input((), dtype="float32", name=k) for k in nums})
    x = VariableSelection(6, 0.15)(inputs)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid")(x))


@model
def neural_decision_forest():
    """keras.io structured_data/deep_neural_decision_forests: keras.Model subclasses (tree,
    forest) called in a functional model; routing probabilities built from
    ops.ones([batch, 1, 1]), reshaped and tiled with the batch from ops.shape."""

    class NeuralDecisionTree(keras.Model):
        def __init__(self, depth, num_features, rate, num_classes, seed, **kw):
            super().__init__(**kw)
            self.depth = depth
            self.num_leaves = 2 ** depth
            used = int(num_features * rate)
            picked = np.random.default_rng(seed).choice(num_features, used, replace=False)
            self.used_features_mask = ops.convert_to_tensor(
                np.eye(num_features)[picked], dtype="float32")
            self.pi = self.add_weight(shape=(self.num_leaves, num_classes),
                                      initializer="random_normal", name="pi")
            self.decision_fn = L.Dense(self.num_leaves, activation="sigmoid")

        def call(self, features):
            batch = ops.shape(features)[0]
            features = ops.matmul(features, ops.transpose(self.used_features_mask))
            decisions = ops.expand_dims(self.decision_fn(features), axis=2)
            decisions = L.concatenate([decisions, 1 - decisions], axis=2)
            mu = ops.ones([batch, 1, 1])
            begin, end = 1, 2
            for level in range(self.depth):
                mu = ops.reshape(mu, [batch, -1, 1])
                mu = ops.tile(mu, (1, 1, 2))
                mu = mu * decisions[:, begin:end, :]
                begin, end = end, end + 2 ** (level + 1)
            mu = ops.reshape(mu, [batch, self.num_leaves])
            return ops.matmul(mu, keras.activations.softmax(self.pi))

    class NeuralDecisionForest(keras.Model):
        def __init__(self, trees, depth, num_features, rate, num_classes, **kw):
            super().__init__(**kw)
            self.num_classes = num_classes
            self.ensemble = [NeuralDecisionTree(depth, num_features, rate, num_classes, s)
                             for s in range(trees)]

        def call(self, x):
            out = ops.zeros([ops.shape(x)[0], self.num_classes])
            for tree in self.ensemble:
                out += tree(x)
            return out / len(self.ensemble)

    i = keras.Input((6,))
    x = L.BatchNormalization()(i)
    return keras.Model(i, NeuralDecisionForest(3, 3, 6, 0.5, 3)(x))


@model
def shiftvit_block():
    """keras.io vision/shiftvit: channel groups shifted by one pixel (ops.split,
    ops.image.crop_images then pad_images), concatenated back, LayerNorm + MLP residual,
    patch merging by a strided Conv2D."""

    class ShiftViTBlock(L.Layer):
        def __init__(self, num_div, shift=1, **kw):
            super().__init__(**kw)
            self.num_div, self.shift = num_div, shift

        def build(self, s):
            self.H, self.W, self.C = s[1], s[2], s[3]
            self.norm = L.LayerNormalization(epsilon=1e-5)
            self.mlp = keras.Sequential([L.Dense(self.C * 2, activation="gelu"),
                                         L.Dropout(0.2), L.Dense(self.C)])

        def shift_pad(self, x, mode):
            p = self.shift
            oh, ow, th, tw = {"left": (0, 0, 0, p), "right": (0, p, 0, p),
                              "up": (0, 0, p, 0), "down": (p, 0, p, 0)}[mode]
            crop = ops.image.crop_images(x, top_cropping=oh, left_cropping=ow,
                                         target_height=self.H - th,
                                         target_width=self.W - tw)
            return ops.image.pad_images(crop, top_padding=oh, left_padding=ow,
                                        target_height=self.H, target_width=self.W)

        def call(self, x):
            parts = ops.split(x, self.C // self.num_div, axis=-1)
            for k, mode in enumerate(["left", "right", "up", "down"]):
                parts[k] = self.shift_pad(parts[k], mode)
            x = ops.concatenate(parts, axis=-1)
            return x + self.mlp(self.norm(x))

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=4, padding="same")(i)
    x = ShiftViTBlock(num_div=1)(x)  # 8 channel groups: 4 shifted, 4 kept
    x = L.LayerNormalization(epsilon=1e-5)(x)
    x = L.Conv2D(16, 2, strides=2, padding="same", use_bias=False)(x)
    x = ShiftViTBlock(num_div=2)(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(i, L.Dense(5)(x))


@model
def vit_small_ds_lsa():
    """keras.io vision/vit_small_ds: shifted patch tokenization (four diagonal shifts by
    crop_images/pad_images, extract_patches), a position embedding, and a
    MultiHeadAttention subclass overriding _compute_attention (learned temperature,
    diagonal attention mask)."""
    size, patch, d, n = 16, 4, 8, 16

    class ShiftedPatchTokenization(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.half = patch // 2
            self.flatten = L.Reshape((n, -1))
            self.proj = L.Dense(d)
            self.norm = L.LayerNormalization(epsilon=1e-6)

        def crop_shift_pad(self, images, mode):
            h = self.half
            ch, cw, sh, sw = {"left-up": (h, h, 0, 0), "left-down": (0, h, h, 0),
                              "right-up": (h, 0, 0, h), "right-down": (0, 0, h, h)}[mode]
            crop = ops.image.crop_images(images, top_cropping=ch, left_cropping=cw,
                                         target_height=size - h, target_width=size - h)
            return ops.image.pad_images(crop, top_padding=sh, left_padding=sw,
                                        target_height=size, target_width=size)

        def call(self, images):
            images = ops.concatenate(
                [images] + [self.crop_shift_pad(images, m) for m in
                            ["left-up", "left-down", "right-up", "right-down"]], axis=-1)
            patches = ops.image.extract_patches(images, patch, strides=patch,
                                                padding="valid")
            return self.proj(self.norm(self.flatten(patches)))

    class PatchEncoder(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.pos = L.Embedding(n, d)

        def call(self, x):
            return x + self.pos(ops.arange(0, n, 1))

    class MultiHeadAttentionLSA(L.MultiHeadAttention):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.tau = self.add_weight(shape=(), name="tau", initializer=keras.initializers
                                       .Constant(float(np.sqrt(self._key_dim))))

        def _compute_attention(self, query, key, value, attention_mask=None,
                               training=None, return_attention_scores=False,
                               use_causal_mask=False):
            query = ops.multiply(query, 1.0 / self.tau)
            scores = ops.einsum(self._dot_product_equation, key, query)
            scores = self._masked_softmax(scores, attention_mask)
            out = ops.einsum(self._combine_equation,
                             self._dropout_layer(scores, training=training), value)
            return out, scores

    diag_mask = ops.cast([1 - ops.eye(n)], dtype="int8")
    i = keras.Input((size, size, 3))
    x = PatchEncoder()(ShiftedPatchTokenization()(i))
    y = L.LayerNormalization(epsilon=1e-6)(x)
    y = MultiHeadAttentionLSA(num_heads=2, key_dim=d, dropout=0.1)(
        y, y, attention_mask=diag_mask)
    x = L.Add()([y, x])
    y = L.Dense(d, activation="gelu")(L.LayerNormalization(epsilon=1e-6)(x))
    x = L.Add()([y, x])
    x = L.Flatten()(L.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(i, L.Dense(4)(x))


@model
def ddpm_unet_attention():
    """keras.io generative/ddpm: an integer timestep input of shape () turned into a
    sinusoidal embedding, residual blocks adding temb[:, None, None, :], GroupNormalization,
    and spatial self-attention by einsum with the batch/height/width from ops.shape."""

    class AttentionBlock(L.Layer):
        def __init__(self, units, groups=4, **kw):
            super().__init__(**kw)
            self.units = units
            self.norm = L.GroupNormalization(groups=groups)
            self.query, self.key, self.value, self.proj = (L.Dense(units) for _ in range(4))

        def call(self, inputs):
            b, h, w = ops.shape(inputs)[0], ops.shape(inputs)[1], ops.shape(inputs)[2]
            scale = ops.cast(self.units, "float32") ** (-0.5)
            x = self.norm(inputs)
            q, k, v = self.query(x), self.key(x), self.value(x)
            score = ops.einsum("bhwc,bHWc->bhwHW", q, k) * scale
            score = ops.reshape(score, [b, h, w, h * w])
            score = ops.softmax(score, -1)
            score = ops.reshape(score, [b, h, w, h, w])
            out = ops.einsum("bhwHW,bHWc->bhwc", score, v)
            return x + self.proj(out)

    class TimeEmbedding(L.Layer):
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            half = dim // 2
            self.freqs = ops.exp(ops.arange(half, dtype="float32")
                                 * -(np.log(10000) / (half - 1)))

        def call(self, t):
            emb = ops.cast(t, "float32")[:, None] * self.freqs[None, :]
            return ops.concatenate([ops.sin(emb), ops.cos(emb)], axis=-1)

    def residual(x, t, width):
        res = x if x.shape[-1] == width else L.Conv2D(width, 1)(x)
        temb = L.Dense(width)(L.Activation("swish")(t))[:, None, None, :]
        x = L.Activation("swish")(L.GroupNormalization(groups=4)(x))
        x = L.Conv2D(width, 3, padding="same")(x)
        x = L.Add()([x, temb])
        x = L.Activation("swish")(L.GroupNormalization(groups=4)(x))
        x = L.Conv2D(width, 3, padding="same")(x)
        return L.Add()([x, res])

    img = keras.Input((8, 8, 3))
    time = keras.Input((), dtype="int64")
    temb = TimeEmbedding(16)(time)
    temb = L.Dense(16, activation="swish")(temb)
    x = L.Conv2D(8, 3, padding="same")(img)
    x = residual(x, temb, 8)
    x = L.Conv2D(8, 3, strides=2, padding="same")(x)
    x = residual(x, temb, 16)
    x = AttentionBlock(16)(x)
    x = L.UpSampling2D(2, interpolation="nearest")(x)
    x = residual(x, temb, 8)
    x = L.Activation("swish")(L.GroupNormalization(groups=4)(x))
    return keras.Model([img, time], L.Conv2D(3, 3, padding="same")(x))


@model
def antirectifier():
    """keras.io keras_recipes/antirectifier: a custom layer (weight made in build) that
    centres, splits into relu(x) and relu(-x), concatenates, and mixes by matmul;
    in a Sequential model."""

    class Antirectifier(L.Layer):
        def build(self, s):
            self.kernel = self.add_weight(shape=(s[-1] * 2, s[-1]),
                                          initializer="he_normal", name="kernel")

        def call(self, x):
            x -= ops.mean(x, axis=-1, keepdims=True)
            both = ops.concatenate([ops.relu(x), ops.relu(-x)], axis=-1)
            return ops.matmul(both, self.kernel)

    return keras.Sequential([keras.Input((12,)), L.Dense(8), Antirectifier(),
                             L.Dense(8), Antirectifier(), L.Dropout(0.5), L.Dense(3)])


@model
def standardized_conv():
    """keras.io keras_recipes/subclassing_conv_layers, Keras 3 ops: a Conv2D subclass whose
    call() standardizes self.kernel (ops.moments) and calls self.convolution_op."""

    class StandardizedConv2DWithCall(L.Conv2D):
        def call(self, inputs):
            mean, var = ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
            out = self.convolution_op(inputs, (self.kernel - mean) / ops.sqrt(var + 1e-10))
            if self.use_bias:
                out = out + self.bias
            return self.activation(out)

    return keras.Sequential([
        keras.Input((12, 12, 1)),
        StandardizedConv2DWithCall(4, 3, activation="relu"),
        L.MaxPooling2D(2),
        StandardizedConv2DWithCall(4, 3, activation="relu"),
        L.Flatten(), L.Dense(3, activation="softmax")])


@model
def standardized_conv_tf():
    """keras.io keras_recipes/subclassing_conv_layers as written: convolution_op overridden
    with tf.nn.moments and tf.nn.conv2d (raw TensorFlow inside call)."""
    import tensorflow as tf

    class StandardizedConv2DWithOverride(L.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = tf.nn.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return tf.nn.conv2d(inputs, (kernel - mean) / tf.sqrt(var + 1e-10),
                                padding="VALID", strides=list(self.strides))

    return keras.Sequential([
        keras.Input((12, 12, 1)),
        StandardizedConv2DWithOverride(4, 3, activation="relu"),
        L.Flatten(), L.Dense(3, activation="softmax")])


@model
def qr_embedding():
    """keras.io keras_recipes/memory_efficient_embeddings: a quotient-remainder embedding
    (ops.floor_divide / ops.mod on integer ids, two tables multiplied), Dot similarity,
    sigmoid * 5; integer inputs of shape ()."""

    class QREmbedding(L.Layer):
        def __init__(self, dim, buckets, **kw):
            super().__init__(**kw)
            self.buckets = buckets
            self.q = L.Embedding(buckets, dim)
            self.r = L.Embedding(buckets, dim)

        def call(self, ids):
            return (self.q(ops.floor_divide(ids, self.buckets))
                    * self.r(ops.mod(ids, self.buckets)))

    user = keras.Input((), dtype="int64", name="user_id")
    movie = keras.Input((), dtype="int64", name="movie_id")
    u = QREmbedding(6, 4)(user)
    m = L.Embedding(10, 6)(movie)
    logits = L.Dot(axes=1)([u, m])
    return keras.Model([user, movie], keras.activations.sigmoid(logits) * 5)


@model
def traffic_gcn_lstm():
    """keras.io timeseries/timeseries_traffic_forecasting: a graph convolution over a
    fixed edge list (ops.take of neighbours, ops.segment_sum), transposes, a reshape to
    (batch * nodes, seq, feat) from ops.shape, LSTM, Dense, reshape and transpose back."""
    nodes = 4
    edges = np.array([[0, 1, 1, 2, 3, 0, 2, 3], [1, 0, 2, 1, 0, 3, 3, 2]])

    class GraphConv(L.Layer):
        def __init__(self, in_feat, out_feat, **kw):
            super().__init__(**kw)
            self.weight = self.add_weight(shape=(in_feat, out_feat),
                                          initializer="glorot_uniform", name="w")

        def call(self, features):  # (nodes, batch, seq, in_feat)
            nodes_repr = ops.matmul(features, self.weight)
            neigh = ops.take(features, edges[1], axis=0)
            agg = ops.segment_sum(neigh, edges[0], num_segments=nodes)
            msgs = ops.matmul(agg, self.weight)
            return ops.relu(ops.concatenate([nodes_repr, msgs], axis=-1))

    class LSTMGC(L.Layer):
        def __init__(self, in_feat, out_feat, lstm_units, out_len, **kw):
            super().__init__(**kw)
            self.graph_conv = GraphConv(in_feat, out_feat)
            self.lstm = L.LSTM(lstm_units, activation="relu")
            self.dense = L.Dense(out_len)

        def call(self, x):  # (batch, seq, nodes, in_feat)
            x = ops.transpose(x, [2, 0, 1, 3])
            g = self.graph_conv(x)
            shape = ops.shape(g)
            n, b, s, f = shape[0], shape[1], shape[2], shape[3]
            g = ops.reshape(g, (b * n, s, f))
            out = self.dense(self.lstm(g))
            out = ops.reshape(out, (n, b, -1))
            return ops.transpose(out, [1, 2, 0])

    i = keras.Input((6, nodes, 1))
    return keras.Model(i, LSTMGC(1, 4, 8, 3)(i))


@model
def patch_convnet_attention_pool():
    """keras.io vision/patch_convnet: a conv trunk with squeeze-excite, then attention
    pooling with a learned class token repeated to ops.shape(x)[0], MultiHeadAttention
    with return_attention_scores, ops.squeeze without an axis; two outputs."""

    class SqueezeExcite(L.Layer):
        def __init__(self, ratio=2, **kw):
            super().__init__(**kw)
            self.ratio = ratio

        def build(self, s):
            c = s[-1]
            self.pool = L.GlobalAveragePooling1D(keepdims=True)
            self.d1 = L.Dense(c // self.ratio, activation="relu")
            self.d2 = L.Dense(c, activation="sigmoid")

        def call(self, x):
            return x * self.d2(self.d1(self.pool(x)))

    class AttentionPooling(L.Layer):
        def __init__(self, d, classes, **kw):
            super().__init__(**kw)
            self.d = d
            self.attention = L.MultiHeadAttention(num_heads=1, key_dim=d, dropout=0.2)
            self.n1, self.n2, self.n3 = (L.LayerNormalization(epsilon=1e-6)
                                         for _ in range(3))
            self.mlp = keras.Sequential([L.Dense(d, activation="gelu"), L.Dropout(0.2),
                                         L.Dense(d)])
            self.dense = L.Dense(classes)
            self.flatten = L.Flatten()

        def build(self, s):
            self.cls = self.add_weight(shape=(1, 1, self.d), initializer="random_normal",
                                       name="cls")

        def call(self, x):
            batch = ops.shape(x)[0]
            cls = ops.repeat(self.cls, repeats=batch, axis=0)
            x = self.n1(ops.concatenate([cls, x], axis=1))
            x, weights = self.attention(query=x[:, 0:1], key=x, value=x,
                                        return_attention_scores=True)
            cls = self.n3(self.flatten(self.n2(cls + x)))
            cls = cls + self.mlp(cls)
            # the example squeezes every unit axis (ops.squeeze(weights)), which Keras
            # 3.15 cannot trace with an unknown batch; the two known unit axes here
            return self.dense(cls), ops.squeeze(weights, axis=(1, 2))[..., 1:]

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=4, padding="same", activation="gelu")(i)
    y = L.BatchNormalization()(x)
    y = L.Conv2D(8, 3, padding="same", activation="gelu")(y)
    x = L.Add()([x, y])
    x = L.Reshape((16, 8))(x)
    x = SqueezeExcite()(x)
    logits, weights = AttentionPooling(8, 5)(x)
    return keras.Model(i, [logits, weights])


@model
def zero_dce():
    """keras.io vision/zero_dce: a keras.Model subclass wrapping a functional DCE-Net
    (concatenated skips, tanh curve maps) and applying eight light-enhancement curves from
    ops.split in call()."""

    def dce_net():
        i = keras.Input((16, 16, 3))
        c1 = L.Conv2D(4, 3, padding="same", activation="relu")(i)
        c2 = L.Conv2D(4, 3, padding="same", activation="relu")(c1)
        c3 = L.Conv2D(4, 3, padding="same", activation="relu")(c2)
        c4 = L.Conv2D(4, 3, padding="same", activation="relu")(c3)
        c5 = L.Conv2D(4, 3, padding="same", activation="relu")(L.Concatenate()([c4, c3]))
        c6 = L.Conv2D(4, 3, padding="same", activation="relu")(L.Concatenate()([c5, c2]))
        out = L.Conv2D(24, 3, padding="same", activation="tanh")(L.Concatenate()([c6, c1]))
        return keras.Model(i, out)

    class ZeroDCE(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.dce_model = dce_net()

        def get_enhanced_image(self, x, curves):
            for r in ops.split(curves, 8, axis=-1):
                x = x + r * (ops.square(x) - x)
            return x

        def call(self, data):
            # the example's images lie in [0, 1], where the curves stay bounded; the
            # probe feeds N(0, 1), so map it there first (else Keras itself gives inf)
            data = ops.sigmoid(data)
            return self.get_enhanced_image(data, self.dce_model(data))

    m = ZeroDCE()
    m(np.zeros((2, 16, 16, 3), "float32"))
    m.probe_specs = [((16, 16, 3), "float32")]
    return m


@model
def mirnet_lite():
    """keras.io vision/mirnet: images of any size (Input((None, None, 3))); keras.ops on
    symbolic tensors in a functional model (ops.max/ops.mean over channels, reshape of a
    pooled vector to (-1, 1, 1, c)), selective kernel fusion by softmax convolutions,
    channel and spatial attention, down/up sampling with bilinear UpSampling2D."""

    def skff(a, b):
        c = a.shape[-1]
        comb = L.Add()([a, b])
        gap = ops.reshape(L.GlobalAveragePooling2D()(comb), (-1, 1, 1, c))
        compact = L.Conv2D(max(c // 4, 1), 1, activation="relu")(gap)
        fa = L.Conv2D(c, 1, activation="softmax")(compact)
        fb = L.Conv2D(c, 1, activation="softmax")(compact)
        return L.Add()([a * fa, b * fb])

    def spatial_attention(x):
        mx = ops.expand_dims(ops.max(x, axis=-1), -1)
        mean = ops.expand_dims(ops.mean(x, axis=-1), -1)
        fmap = L.Conv2D(1, 1)(L.Concatenate(axis=-1)([mx, mean]))
        return x * ops.sigmoid(fmap)

    def channel_attention(x):
        c = x.shape[-1]
        a = L.GlobalAveragePooling2D(keepdims=True)(x)
        a = L.Conv2D(max(c // 4, 1), 1, activation="relu")(a)
        return x * L.Conv2D(c, 1, activation="sigmoid")(a)

    def dual_attention(x):
        c = x.shape[-1]
        y = L.Conv2D(c, 3, padding="same", activation="relu")(x)
        y = L.Conv2D(c, 3, padding="same")(y)
        y = L.Concatenate(axis=-1)([channel_attention(y), spatial_attention(y)])
        return L.Add()([x, L.Conv2D(c, 1)(y)])

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, padding="same")(i)
    top = dual_attention(x)
    down = L.MaxPooling2D()(L.Conv2D(8, 3, padding="same", activation="relu")(x))
    down = dual_attention(down)
    up = L.UpSampling2D(interpolation="bilinear")(down)
    x = L.Add()([x, L.Conv2D(8, 1)(skff(top, up))])
    return keras.Model(i, L.Add()([i, L.Conv2D(3, 3, padding="same")(x)]))


@model
def learnable_resizer():
    """keras.io vision/learnable_resizer: Resizing (bilinear) inside the model on the input
    and on a feature map, LeakyReLU, BatchNormalization, residual blocks, a skip add."""

    def res_block(x):
        y = L.Conv2D(4, 3, padding="same")(x)
        y = L.BatchNormalization()(L.LeakyReLU(0.2)(y))
        y = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(y))
        return L.Add()([x, y])

    i = keras.Input((20, 20, 3))
    naive = L.Resizing(12, 12, interpolation="bilinear")(i)
    x = L.LeakyReLU(0.2)(L.Conv2D(4, 7, padding="same")(i))
    x = L.Conv2D(4, 1, padding="same")(x)
    x = L.BatchNormalization()(L.LeakyReLU(0.2)(x))
    bottleneck = L.Resizing(12, 12, interpolation="bilinear")(x)
    x = res_block(bottleneck)
    x = L.BatchNormalization()(L.Conv2D(4, 3, padding="same", use_bias=False)(x))
    x = L.Add()([bottleneck, x])
    x = L.Conv2D(3, 7, padding="same")(x)
    out = L.Add()([naive, x])
    y = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu")(out))
    return keras.Model(i, L.Dense(2)(y))


@model
def real_nvp():
    """keras.io generative/real_nvp: a keras.Model subclass whose call() picks the
    direction from the training flag, applies affine coupling layers (functional nets
    giving s and t) under constant masks with ops.exp, and returns (x, log-det)."""

    def coupling(dim, units):
        i = keras.Input((dim,))
        reg = keras.regularizers.l2(0.01)
        t = L.Dense(units, activation="relu", kernel_regularizer=reg)(i)
        t = L.Dense(dim, activation="linear", kernel_regularizer=reg)(t)
        s = L.Dense(units, activation="relu", kernel_regularizer=reg)(i)
        s = L.Dense(dim, activation="tanh", kernel_regularizer=reg)(s)
        return keras.Model(i, [s, t])

    class RealNVP(keras.Model):
        def __init__(self, num_coupling, **kw):
            super().__init__(**kw)
            self.num_coupling = num_coupling
            self.masks = np.array([[0, 1], [1, 0]] * (num_coupling // 2), "float32")
            self.layers_list = [coupling(2, 8) for _ in range(num_coupling)]

        def call(self, x, training=True):
            log_det_inv = 0
            direction = -1 if training else 1
            for k in range(self.num_coupling)[::direction]:
                x_masked = x * self.masks[k]
                reversed_mask = 1 - self.masks[k]
                s, t = self.layers_list[k](x_masked)
                s *= reversed_mask
                t *= reversed_mask
                gate = (direction - 1) / 2
                x = (reversed_mask * (x * ops.exp(direction * s)
                                      + direction * t * ops.exp(gate * s)) + x_masked)
                log_det_inv += gate * ops.sum(s, [1])
            return x, log_det_inv

    m = RealNVP(4)
    m(np.zeros((2, 2), "float32"), training=False)
    m.probe_specs = [((2,), "float32")]
    return m


@model
def stylegan_discriminator():
    """keras.io generative/stylegan: equalized-learning-rate layers (weights scaled in
    call, reflect padding by ops.pad, ops.conv), pixel norm, and the minibatch standard
    deviation (groups of ops.minimum(4, batch) from ops.shape, ops.moments over the group
    axis, tiled back)."""

    class EqualizedConv(L.Layer):
        def __init__(self, out_channels, kernel=3, gain=2, **kw):
            super().__init__(**kw)
            self.kernel, self.out_channels, self.gain = kernel, out_channels, gain
            self.pad = kernel != 1

        def build(self, s):
            self.in_channels = s[-1]
            self.w = self.add_weight(
                shape=[self.kernel, self.kernel, self.in_channels, self.out_channels],
                initializer=keras.initializers.RandomNormal(0.0, 1.0), name="w")
            self.b = self.add_weight(shape=(self.out_channels,), initializer="random_normal",
                                     name="b")
            self.scale = float(np.sqrt(self.gain / (self.kernel ** 2 * self.in_channels)))

        def call(self, x):
            if self.pad:
                p = self.kernel // 2
                x = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
            return ops.conv(x, self.scale * self.w, strides=1, padding="valid") + self.b

    class EqualizedDense(L.Layer):
        def __init__(self, units, gain=2, **kw):
            super().__init__(**kw)
            self.units, self.gain = units, gain

        def build(self, s):
            self.w = self.add_weight(shape=[s[-1], self.units],
                                     initializer=keras.initializers.RandomNormal(0, 1),
                                     name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
            self.scale = float(np.sqrt(self.gain / s[-1]))

        def call(self, x):
            return ops.matmul(x, self.scale * self.w) + self.b

    def pixel_norm(x, epsilon=1e-8):
        return x / ops.sqrt(ops.mean(x ** 2, axis=-1, keepdims=True) + epsilon)

    def minibatch_std(x, epsilon=1e-8):
        n, h, w, c = ops.shape(x)
        group_size = ops.minimum(4, n)
        y = ops.reshape(x, [group_size, -1, h, w, c])
        _, group_var = ops.moments(y, axes=(0,), keepdims=False)
        avg_std = ops.mean(ops.sqrt(group_var + epsilon), axis=[1, 2, 3], keepdims=True)
        return ops.concatenate([x, ops.tile(avg_std, [group_size, h, w, 1])], axis=-1)

    i = keras.Input((8, 8, 3))
    x = L.LeakyReLU(0.2)(EqualizedConv(8, 1)(i))
    x = L.Lambda(pixel_norm)(x)
    x = L.LeakyReLU(0.2)(EqualizedConv(8, 3)(x))
    x = L.AveragePooling2D(2)(x)
    x = L.Lambda(minibatch_std)(x)
    x = L.LeakyReLU(0.2)(EqualizedConv(8, 3)(x))
    x = L.Flatten()(x)
    return keras.Model(i, EqualizedDense(1, gain=1)(L.LeakyReLU(0.2)(EqualizedDense(8)(x))))


@model
def gaugan_spade():
    """keras.io generative/gaugan: SPADE normalization (mask resized by ops.image.resize
    nearest to the feature size, ops.moments over batch and space, gamma/beta from convs)
    in a residual block; two inputs (features, segmentation map)."""

    class SPADE(L.Layer):
        def __init__(self, filters, epsilon=1e-5, **kw):
            super().__init__(**kw)
            self.epsilon = epsilon
            self.conv = L.Conv2D(8, 3, padding="same", activation="relu")
            self.conv_gamma = L.Conv2D(filters, 3, padding="same")
            self.conv_beta = L.Conv2D(filters, 3, padding="same")

        def build(self, input_shape):
            self.resize_shape = input_shape[1:3]

        def call(self, x, raw_mask):
            mask = ops.image.resize(raw_mask, self.resize_shape, interpolation="nearest")
            h = self.conv(mask)
            mean, var = ops.moments(x, axes=(0, 1, 2), keepdims=True)
            normalized = (x - mean) / ops.sqrt(var + self.epsilon)
            return self.conv_gamma(h) * normalized + self.conv_beta(h)

    class ResBlock(L.Layer):
        def __init__(self, filters, **kw):
            super().__init__(**kw)
            self.filters = filters

        def build(self, input_shape):
            c = input_shape[-1]
            self.spade_1 = SPADE(c)
            self.spade_2 = SPADE(self.filters)
            self.conv_1 = L.Conv2D(self.filters, 3, padding="same")
            self.conv_2 = L.Conv2D(self.filters, 3, padding="same")
            self.learned_skip = c != self.filters
            if self.learned_skip:
                self.spade_3 = SPADE(c)
                self.conv_3 = L.Conv2D(self.filters, 3, padding="same")

        def call(self, x, mask):
            y = self.conv_1(ops.leaky_relu(self.spade_1(x, mask), 0.2))
            y = self.conv_2(ops.leaky_relu(self.spade_2(y, mask), 0.2))
            skip = x
            if self.learned_skip:
                skip = self.conv_3(ops.leaky_relu(self.spade_3(x, mask), 0.2))
            return skip + y

    feats = keras.Input((4, 4, 6))
    seg = keras.Input((16, 16, 3))
    x = ResBlock(4)(feats, seg)
    x = L.UpSampling2D(2)(x)
    x = ResBlock(4)(x, seg)
    return keras.Model([feats, seg], L.Conv2D(3, 3, padding="same", activation="tanh")(x))


@model
def cyclegan_resnet_generator():
    """keras.io generative/cyclegan: a ReflectionPadding2D custom layer (ops.pad reflect),
    instance normalization as GroupNormalization(groups=-1), strided downsampling,
    residual blocks, Conv2DTranspose upsampling, tanh."""

    class ReflectionPadding2D(L.Layer):
        def __init__(self, padding=(1, 1), **kw):
            self.padding = tuple(padding)
            super().__init__(**kw)

        def call(self, x, mask=None):
            pw, ph = self.padding
            return ops.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")

    gamma = keras.initializers.RandomNormal(1.0, 0.02)

    def norm():
        return L.GroupNormalization(groups=-1, gamma_initializer=gamma)

    def resblock(x):
        c = x.shape[-1]
        y = ReflectionPadding2D()(x)
        y = L.Activation("relu")(norm()(L.Conv2D(c, 3, use_bias=False)(y)))
        y = ReflectionPadding2D()(y)
        y = norm()(L.Conv2D(c, 3, use_bias=False)(y))
        return L.add([x, y])

    i = keras.Input((16, 16, 3))
    x = ReflectionPadding2D(padding=(3, 3))(i)
    x = L.Activation("relu")(norm()(L.Conv2D(4, 7, use_bias=False)(x)))
    x = L.Activation("relu")(norm()(L.Conv2D(8, 3, strides=2, padding="same",
                                             use_bias=False)(x)))
    x = resblock(resblock(x))
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.Activation("relu")(norm()(x))
    x = ReflectionPadding2D(padding=(3, 3))(x)
    return keras.Model(i, L.Activation("tanh")(L.Conv2D(3, 7)(x)))


@model
def tabtransformer():
    """keras.io structured_data/tabtransformer: one Embedding per categorical input,
    ops.stack into a sequence, a column embedding of ops.arange added, transformer blocks
    with MultiHeadAttention, Flatten, LayerNorm on the numeric features, an MLP head."""
    cats = {"workclass": 10, "education": 12, "race": 10}
    nums = ["age", "hours"]
    d = 8
    # keys in sorted order: Keras maps a positional list (what the probe feeds) onto a
    # dict of inputs in the dict's order but checks it against the sorted keys
    inputs = {k: keras.Input((), dtype="int32" if k in cats else "float32", name=k)
              for k in sorted([*cats, *nums])}

    class ColumnEmbedding(L.Layer):
        def __init__(self, n, **kw):
            super().__init__(**kw)
            self.n = n
            self.emb = L.Embedding(n, d)

        def call(self, x):
            return x + self.emb(ops.arange(0, self.n, 1))

    encoded = [L.Embedding(v, d)(inputs[k]) for k, v in cats.items()]
    x = ops.stack(encoded, axis=1)
    x = ColumnEmbedding(len(cats))(x)
    for _ in range(2):
        a = L.MultiHeadAttention(num_heads=2, key_dim=d, dropout=0.1)(x, x)
        x = L.LayerNormalization(epsilon=1e-6)(L.Add()([a, x]))
        f = L.Dense(d, activation="gelu")(x)
        x = L.LayerNormalization(epsilon=1e-6)(L.Add()([f, x]))
    cat_feats = L.Flatten()(x)
    num_feats = L.LayerNormalization(epsilon=1e-6)(
        L.concatenate([ops.expand_dims(inputs[k], -1) for k in nums]))
    x = L.concatenate([cat_feats, num_feats])
    x = L.Dense(8, activation="selu")(L.BatchNormalization()(x))
    return keras.Model(inputs, L.Dense(1, activation="sigmoid")(x))


@model
def nmt_keras_hub():
    """keras.io nlp/neural_machine_translation_with_keras_hub: keras_hub
    TokenAndPositionEmbedding(mask_zero=True) feeding TransformerEncoder and
    TransformerDecoder (causal self-attention, padding masks carried by Keras masks);
    two int inputs of any length."""
    import keras_hub

    enc_in = keras.Input((None,), dtype="int64", name="encoder_inputs")
    x = keras_hub.layers.TokenAndPositionEmbedding(20, 40, 8, mask_zero=True)(enc_in)
    enc_out = keras_hub.layers.TransformerEncoder(intermediate_dim=16, num_heads=2)(x)
    dec_in = keras.Input((None,), dtype="int64", name="decoder_inputs")
    y = keras_hub.layers.TokenAndPositionEmbedding(20, 40, 8, mask_zero=True)(dec_in)
    y = keras_hub.layers.TransformerDecoder(intermediate_dim=16, num_heads=2)(
        decoder_sequence=y, encoder_sequence=enc_out)
    y = L.Dropout(0.5)(y)
    return keras.Model([enc_in, dec_in], L.Dense(20, activation="softmax")(y))
