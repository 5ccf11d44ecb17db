"""More model definitions in the style of the public keras.io code examples (ones that
``keras_examples.py`` does not cover), re-written small for ``keras_examples_probe.py``
(``--module keras_examples_more``).

Each function builds one seeded-by-the-caller Keras model; the name says which keras.io
example it follows.  Subclassed models carry ``probe_specs`` (per input: the shape
without the batch, and the dtype).  Nothing here is imported by graphir or its tests.
"""

import math

import numpy as np
import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


# --------------------------------------------------------------------------- vision


@model
def focal_modulation():
    """vision/focal_modulation_network: Dense on NHWC, ops.split into query / context /
    gates, grouped (depthwise) convs after ZeroPadding2D, gated sum, global context."""

    class FocalModulation(L.Layer):
        def __init__(self, dim, focal_window=3, focal_level=2, **kw):
            super().__init__(**kw)
            self.dim, self.level = dim, focal_level
            self.initial_proj = L.Dense(2 * dim + focal_level + 1)
            self.focal_layers = []
            for k in range(focal_level):
                ks = 2 * k + focal_window
                self.focal_layers.append(keras.Sequential([
                    L.ZeroPadding2D(ks // 2),
                    L.Conv2D(dim, ks, groups=dim, use_bias=False, activation="gelu")]))
            self.gap = L.GlobalAveragePooling2D(keepdims=True)
            self.modulator_proj = L.Conv2D(dim, 1)
            self.proj = L.Dense(dim)

        def call(self, x):
            q, ctx, gates = ops.split(self.initial_proj(x),
                                      [self.dim, 2 * self.dim], axis=-1)
            ctx_all = 0
            for k in range(self.level):
                ctx = self.focal_layers[k](ctx)
                ctx_all = ctx_all + ctx * gates[..., k:k + 1]
            glob = keras.activations.gelu(self.gap(ctx))
            ctx_all = ctx_all + glob * gates[..., self.level:]
            return self.proj(q * self.modulator_proj(ctx_all))

    i = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 2, strides=2)(i)
    x = L.LayerNormalization(epsilon=1e-5)(x)
    y = FocalModulation(8)(L.LayerNormalization(epsilon=1e-5)(x))
    x = x + y
    x = x + L.Dense(8)(L.Dense(16, activation="gelu")(L.LayerNormalization()(x)))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(i, L.Dense(3)(x))


@model
def depth_estimation_unet():
    """vision/depth_estimation: subclassed Down/Up/Bottleneck blocks (residual add,
    LeakyReLU, bilinear UpSampling2D, skip concat) inside a subclassed model."""

    class Down(L.Layer):
        def __init__(self, f, **kw):
            super().__init__(**kw)
            self.c1 = L.Conv2D(f, 3, padding="same")
            self.c2 = L.Conv2D(f, 3, padding="same")
            self.b1, self.b2 = L.BatchNormalization(), L.BatchNormalization()
            self.r1, self.r2 = L.LeakyReLU(0.2), L.LeakyReLU(0.2)
            self.pool = L.MaxPooling2D(2)

        def call(self, x):
            d = self.r1(self.b1(self.c1(x)))
            d = self.r2(self.b2(self.c2(d)))
            d = d + self.c1(x)
            return d, self.pool(d)

    class Up(L.Layer):
        def __init__(self, f, **kw):
            super().__init__(**kw)
            self.us = L.UpSampling2D(2, interpolation="bilinear")
            self.c1 = L.Conv2D(f, 3, padding="same")
            self.c2 = L.Conv2D(f, 3, padding="same")
            self.r = L.LeakyReLU(0.2)
            self.cat = L.Concatenate()

        def call(self, x, skip):
            x = self.cat([self.us(x), skip])
            return self.r(self.c2(self.r(self.c1(x))))

    class DepthNet(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d1, self.d2 = Down(4), Down(8)
            self.bott = L.Conv2D(16, 3, padding="same", activation="relu")
            self.u1, self.u2 = Up(8), Up(4)
            self.out = L.Conv2D(1, 1, padding="same", activation="tanh")

        def call(self, x):
            c1, p1 = self.d1(x)
            c2, p2 = self.d2(p1)
            b = self.bott(p2)
            return self.out(self.u2(self.u1(b, c2), c1))

    m = DepthNet()
    m(np.zeros((1, 16, 16, 3), "float32"))
    m.probe_specs = [((16, 16, 3), "float32")]
    return m


@model
def retinanet_fpn():
    """vision/retinanet: FPN (1x1 lateral, nearest upsample + add, P6/P7 from C5),
    one shared head applied per level, per-level reshape to (-1, k) and concat."""
    i = keras.Input((32, 32, 3))
    c3 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    c3 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(c3)
    c3 = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(c3)  # 4x4
    c4 = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(c3)  # 2x2
    c5 = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(c4)  # 1x1
    p3 = L.Conv2D(8, 1)(c3)
    p4 = L.Conv2D(8, 1)(c4)
    p5 = L.Conv2D(8, 1)(c5)
    p4 = p4 + L.UpSampling2D(2)(p5)
    p3 = p3 + L.UpSampling2D(2)(p4)
    p3 = L.Conv2D(8, 3, padding="same")(p3)
    p4 = L.Conv2D(8, 3, padding="same")(p4)
    p5 = L.Conv2D(8, 3, padding="same")(p5)
    p6 = L.Conv2D(8, 3, strides=2, padding="same")(c5)
    p7 = L.Conv2D(8, 3, strides=2, padding="same")(ops.relu(p6))

    def head(out):
        h = keras.Sequential([keras.Input((None, None, 8))])
        h.add(L.Conv2D(8, 3, padding="same", activation="relu"))
        h.add(L.Conv2D(out, 3, padding="same",
                       bias_initializer=keras.initializers.Constant(-math.log(99.0))))
        return h

    cls_head, box_head = head(9 * 3), head(9 * 4)
    cls, box = [], []
    for p in (p3, p4, p5, p6, p7):
        box.append(L.Reshape((-1, 4))(box_head(p)))
        cls.append(L.Reshape((-1, 3))(cls_head(p)))
    out = ops.concatenate([ops.concatenate(box, axis=1), ops.concatenate(cls, axis=1)],
                          axis=-1)
    return keras.Model(i, out)


@model
def fcn8_segmentation():
    """vision/fully_convolutional_network: pool3/pool4/pool5 score maps, Conv2DTranspose
    upsampling, Add skip fusion, final transpose to input size with softmax."""
    i = keras.Input((32, 32, 3))
    x = i
    pools = []
    for f in (4, 8, 8, 16, 16):
        x = L.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
        pools.append(x)
    p3, p4, p5 = pools[2], pools[3], pools[4]
    s5 = L.Conv2D(5, 1)(L.Conv2D(16, 1, activation="relu")(p5))
    s5 = L.Conv2DTranspose(5, 4, strides=2, padding="same")(s5)
    s4 = L.Conv2D(5, 1)(p4)
    f4 = L.Add()([s5, s4])
    f4 = L.Conv2DTranspose(5, 4, strides=2, padding="same")(f4)
    f3 = L.Add()([f4, L.Conv2D(5, 1)(p3)])
    out = L.Conv2DTranspose(5, 16, strides=8, padding="same")(f3)
    return keras.Model(i, L.Softmax()(out))


@model
def basnet_lite():
    """vision/basnet_segmentation: encoder/decoder with side outputs, each resized to
    the input by bilinear UpSampling2D, sigmoid, plus a residual refinement module; a
    list of outputs."""
    i = keras.Input((32, 32, 3))

    def block(x, f):
        y = L.Conv2D(f, 3, padding="same")(x)
        y = L.ReLU()(L.BatchNormalization()(y))
        y = L.Conv2D(f, 3, padding="same")(y)
        y = L.BatchNormalization()(y)
        sc = L.Conv2D(f, 1)(x) if x.shape[-1] != f else x
        return L.ReLU()(y + sc)

    e1 = block(i, 4)
    e2 = block(L.MaxPooling2D(2)(e1), 8)
    e3 = block(L.MaxPooling2D(2)(e2), 8)
    br = block(L.MaxPooling2D(2)(e3), 8)
    d3 = block(L.Concatenate()([L.UpSampling2D(2, interpolation="bilinear")(br), e3]), 8)
    d2 = block(L.Concatenate()([L.UpSampling2D(2, interpolation="bilinear")(d3), e2]), 8)
    d1 = block(L.Concatenate()([L.UpSampling2D(2, interpolation="bilinear")(d2), e1]), 4)
    sides = []
    for feat, s in ((d1, 1), (d2, 2), (d3, 4), (br, 8)):
        y = L.Conv2D(1, 3, padding="same")(feat)
        if s > 1:
            y = L.UpSampling2D(s, interpolation="bilinear")(y)
        sides.append(y)
    # residual refinement on the first side output
    r = L.Conv2D(4, 3, padding="same", activation="relu")(sides[0])
    r = L.Conv2D(4, 3, padding="same", activation="relu")(L.MaxPooling2D(2)(r))
    r = L.UpSampling2D(2, interpolation="bilinear")(r)
    r = L.Conv2D(1, 3, padding="same")(r)
    refined = sides[0] + r
    outs = [L.Activation("sigmoid")(t) for t in [refined] + sides]
    return keras.Model(i, outs)


@model
def googlenet_inception():
    """vision/googleNet: inception modules (1x1 / 3x3 / 5x5 / pool-proj branches
    concatenated), an auxiliary classifier: two outputs."""
    i = keras.Input((32, 32, 3))

    def inception(x, f1, f3r, f3, f5r, f5, fp):
        b1 = L.Conv2D(f1, 1, activation="relu")(x)
        b2 = L.Conv2D(f3, 3, padding="same", activation="relu")(
            L.Conv2D(f3r, 1, activation="relu")(x))
        b3 = L.Conv2D(f5, 5, padding="same", activation="relu")(
            L.Conv2D(f5r, 1, activation="relu")(x))
        b4 = L.Conv2D(fp, 1, activation="relu")(
            L.MaxPooling2D(3, strides=1, padding="same")(x))
        return L.Concatenate(axis=-1)([b1, b2, b3, b4])

    x = L.Conv2D(8, 7, strides=2, padding="same", activation="relu")(i)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = inception(x, 4, 4, 6, 2, 2, 2)
    x = inception(x, 4, 4, 6, 2, 2, 2)
    aux = L.AveragePooling2D(5, strides=3)(x)
    aux = L.Conv2D(4, 1, padding="same", activation="relu")(aux)
    aux = L.Dense(3, activation="softmax")(L.Flatten()(aux))
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = inception(x, 6, 4, 8, 2, 4, 4)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.4)(x)
    return keras.Model(i, [L.Dense(3, activation="softmax")(x), aux])


@model
def metric_learning_unit_norm():
    """vision/metric_learning: conv embedding then UnitNormalization; the similarity
    matrix of a batch against itself (einsum across the batch)."""
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, strides=2, activation="relu")(i)
    x = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    emb = L.UnitNormalization()(L.Dense(6)(x))
    sims = ops.einsum("ae,pe->ap", emb, emb)
    return keras.Model(i, [emb, sims / 0.2])


@model
def siamese_triplet():
    """vision/siamese_network: a shared embedding model on anchor/positive/negative,
    a DistanceLayer returning two squared distances (tuple output)."""

    class DistanceLayer(L.Layer):
        def call(self, anchor, positive, negative):
            ap = ops.sum(ops.square(anchor - positive), -1)
            an = ops.sum(ops.square(anchor - negative), -1)
            return ap, an

    e_in = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, activation="relu")(e_in)
    x = L.BatchNormalization()(x)
    x = L.Flatten()(L.MaxPooling2D(2)(x))
    x = L.Dense(16, activation="relu")(x)
    x = L.BatchNormalization()(x)
    embedding = keras.Model(e_in, L.Dense(8)(x), name="embedding")
    a, p, n = (keras.Input((16, 16, 3), name=k) for k in ("anchor", "positive", "negative"))
    d = DistanceLayer()(embedding(a), embedding(p), embedding(n))
    return keras.Model([a, p, n], list(d))


@model
def forward_forward_goodness():
    """vision/forwardforward: FFDense (x / (||x||_2 + 1e-4) before a Dense + ReLU),
    prediction by overlaying each one-hot label on the first pixels and summing the
    per-layer goodness (mean of squares)."""

    class FFDense(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.dense = L.Dense(units)
            self.relu = L.ReLU()

        def call(self, x):
            n = ops.norm(x, ord=2, axis=1, keepdims=True) + 1e-4
            return self.relu(self.dense(x / n))

    class FFNetwork(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.blocks = [FFDense(12), FFDense(12)]

        def call(self, x):
            scores = []
            for label in range(4):
                oh = ops.one_hot(ops.full((ops.shape(x)[0],), label, "int32"), 4)
                h = ops.concatenate([oh * ops.max(x), x[:, 4:]], axis=-1)
                good = 0
                for b in self.blocks:
                    h = b(h)
                    good = good + ops.mean(ops.power(h, 2), axis=1)
                scores.append(ops.expand_dims(good, 1))
            return ops.concatenate(scores, axis=1)

    m = FFNetwork()
    m(np.zeros((1, 20), "float32"))
    m.probe_specs = [((20,), "float32")]
    return m


@model
def aod_net():
    """vision/aodnet: K-estimation convs with chained concatenations, output
    relu(K * x - K + 1)."""
    i = keras.Input((None, None, 3))
    c1 = L.Conv2D(3, 1, padding="same", activation="relu")(i)
    c2 = L.Conv2D(3, 3, padding="same", activation="relu")(c1)
    cat1 = L.Concatenate()([c1, c2])
    c3 = L.Conv2D(3, 5, padding="same", activation="relu")(cat1)
    cat2 = L.Concatenate()([c2, c3])
    c4 = L.Conv2D(3, 7, padding="same", activation="relu")(cat2)
    cat3 = L.Concatenate()([c1, c2, c3, c4])
    k = L.Conv2D(3, 3, padding="same", activation="relu")(cat3)
    out = L.ReLU()(k * i - k + 1.0)
    return keras.Model(i, out)


@model
def captcha_ocr_crnn():
    """vision/captcha_ocr: images fed transposed (width first), two conv+pool stages,
    Reshape to (width/4, height/4 * filters), Dense, two BiLSTMs, per-step softmax."""
    w, h = 32, 16
    i = keras.Input((w, h, 1), name="image")
    x = L.Conv2D(4, 3, activation="relu", kernel_initializer="he_normal",
                 padding="same")(i)
    x = L.MaxPooling2D((2, 2))(x)
    x = L.Conv2D(8, 3, activation="relu", kernel_initializer="he_normal",
                 padding="same")(x)
    x = L.MaxPooling2D((2, 2))(x)
    x = L.Reshape(((w // 4), (h // 4) * 8))(x)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dropout(0.2)(x)
    x = L.Bidirectional(L.LSTM(8, return_sequences=True, dropout=0.25))(x)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True, dropout=0.25))(x)
    return keras.Model(i, L.Dense(7, activation="softmax")(x))


@model
def video_transformer_feature_mask():
    """vision/video_transformers: frame features, PositionalEmbedding whose
    compute_mask is ops.any(features != 0) per frame; the encoder turns the mask into an
    attention mask (mask[:, None, :]); GlobalMaxPooling1D."""

    class PositionalEmbedding(L.Layer):
        def __init__(self, seq_len, dim, **kw):
            super().__init__(**kw)
            self.pos = L.Embedding(seq_len, dim)
            self.seq_len = seq_len

        def call(self, x):
            return x + self.pos(ops.arange(0, self.seq_len))

        def compute_mask(self, x, mask=None):
            return ops.any(ops.cast(x, "bool"), axis=-1)

    class TransformerEncoder(L.Layer):
        def __init__(self, dim, ff, heads, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(heads, dim, dropout=0.3)
            self.proj = keras.Sequential([L.Dense(ff, activation="gelu"), L.Dense(dim)])
            self.n1, self.n2 = L.LayerNormalization(), L.LayerNormalization()
            self.supports_masking = True

        def call(self, x, mask=None):
            am = None if mask is None else mask[:, None, :]
            a = self.att(x, x, attention_mask=am)
            p = self.n1(x + a)
            return self.n2(p + self.proj(p))

    i = keras.Input((6, 8))
    x = PositionalEmbedding(6, 8)(i)
    x = TransformerEncoder(8, 8, 2)(x)
    x = L.GlobalMaxPooling1D()(x)
    x = L.Dropout(0.5)(x)
    return keras.Model(i, L.Dense(3, activation="softmax")(x))


@model
def pointnet_segmentation():
    """vision/pointnet_segmentation: per-point convs on an unknown number of points,
    global max feature tiled back onto every point (ops.tile by a dynamic count),
    concat of local and global features, per-point softmax."""
    i = keras.Input((None, 3))

    def cbr(x, f):
        x = L.Conv1D(f, 1)(x)
        return L.ReLU()(L.BatchNormalization(momentum=0.0)(x))

    f1 = cbr(i, 8)
    f2 = cbr(f1, 8)
    f3 = cbr(f2, 16)
    g = L.GlobalMaxPooling1D()(f3)

    class TileGlobal(L.Layer):
        def call(self, g, like):
            n = ops.shape(like)[1]
            return ops.tile(ops.expand_dims(g, 1), [1, n, 1])

    gt = TileGlobal()(g, f3)
    x = L.Concatenate(axis=-1)([f1, f2, f3, gt])
    x = cbr(x, 8)
    return keras.Model(i, L.Conv1D(4, 1, activation="softmax")(x))


@model
def brain_tumor_unet3d():
    """vision/3D_brain_tumor_segmentation: a small 3-D UNet (Conv3D, MaxPooling3D,
    Conv3DTranspose, skip concat, sigmoid masks)."""
    i = keras.Input((8, 8, 8, 2))
    c1 = L.Conv3D(4, 3, padding="same", activation="relu")(i)
    p1 = L.MaxPooling3D(2)(c1)
    c2 = L.Conv3D(8, 3, padding="same", activation="relu")(p1)
    p2 = L.MaxPooling3D(2)(c2)
    b = L.Conv3D(8, 3, padding="same", activation="relu")(p2)
    u2 = L.Conv3DTranspose(8, 2, strides=2, padding="same")(b)
    c3 = L.Conv3D(8, 3, padding="same", activation="relu")(L.concatenate([u2, c2]))
    u1 = L.Conv3DTranspose(4, 2, strides=2, padding="same")(c3)
    c4 = L.Conv3D(4, 3, padding="same", activation="relu")(L.concatenate([u1, c1]))
    return keras.Model(i, L.Conv3D(3, 1, activation="sigmoid")(c4))


@model
def conv_denoising_autoencoder():
    """vision/autoencoder: Conv2D + MaxPooling2D encoder, strided Conv2DTranspose
    decoder, sigmoid reconstruction."""
    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, activation="relu", padding="same")(i)
    x = L.MaxPooling2D(2, padding="same")(x)
    x = L.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = L.MaxPooling2D(2, padding="same")(x)
    x = L.Conv2DTranspose(8, 3, strides=2, activation="relu", padding="same")(x)
    x = L.Conv2DTranspose(8, 3, strides=2, activation="relu", padding="same")(x)
    return keras.Model(i, L.Conv2D(1, 3, activation="sigmoid", padding="same")(x))


@model
def keypoint_separable_head():
    """vision/keypoint_detection: backbone features, Dropout, SeparableConv2D heads
    (the last with sigmoid) giving (1, 1, 2*keypoints)."""
    i = keras.Input((32, 32, 3))
    x = L.Rescaling(1 / 127.5, offset=-1)(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
    x = L.Conv2D(8, 1, activation="relu6")(x)  # 8x8
    x = L.Dropout(0.3)(x)
    x = L.SeparableConv2D(6, kernel_size=5, strides=1, activation="relu")(x)  # 4x4
    out = L.SeparableConv2D(6, kernel_size=4, strides=1, activation="sigmoid")(x)
    return keras.Model(i, out)


@model
def gradcam_multi_output():
    """vision/grad_cam: a functional classifier re-wired into a model whose outputs are
    [an inner conv layer's output, the predictions] (get_layer(...).output)."""
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, activation="relu", name="c1")(i)
    x = L.Conv2D(8, 3, activation="relu", name="last_conv")(x)
    x = L.GlobalAveragePooling2D()(x)
    base = keras.Model(i, L.Dense(4, activation=None, name="predictions")(x))
    return keras.Model(base.inputs, [base.get_layer("last_conv").output, base.output])


@model
def probing_vit_attention_scores():
    """vision/probing_vits: patch embedding by strided Conv2D, a class token prepended
    with ops.broadcast_to, learned positions, MHA returning attention scores as a second
    output."""

    class ClassToken(L.Layer):
        def build(self, shape):
            self.cls = self.add_weight(shape=(1, 1, shape[-1]), initializer="normal",
                                       name="cls")

        def call(self, x):
            b = ops.shape(x)[0]
            return ops.concatenate([ops.broadcast_to(self.cls, (b, 1, x.shape[-1])), x], 1)

    class AddPos(L.Layer):
        def build(self, shape):
            self.pos = self.add_weight(shape=(1, shape[1], shape[2]),
                                       initializer="normal", name="pos")

        def call(self, x):
            return x + self.pos

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 4, strides=4)(i)
    x = L.Reshape((16, 8))(x)
    x = AddPos()(ClassToken()(x))
    y = L.LayerNormalization(epsilon=1e-6)(x)
    y, scores = L.MultiHeadAttention(2, 4)(y, y, return_attention_scores=True)
    x = x + y
    x = x + L.Dense(8)(L.Dense(16, activation="gelu")(L.LayerNormalization()(x)))
    return keras.Model(i, [L.Dense(3)(x[:, 0]), scores])


@model
def augmentation_in_model():
    """vision image classification examples: augmentation layers inside the model
    (identity at inference: RandomZoom, RandomTranslation, RandomContrast), then
    CenterCrop), then Normalization with fixed statistics."""
    i = keras.Input((20, 20, 3))
    x = L.RandomFlip("horizontal")(i)
    x = L.RandomZoom(0.2)(x)
    x = L.RandomTranslation(0.1, 0.1)(x)
    x = L.RandomContrast(0.2)(x)
    x = L.CenterCrop(16, 16)(x)
    x = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 0.5])(x)
    x = L.Conv2D(8, 3, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(i, L.Dense(3)(x))


@model
def temporal_latent_bottleneck():
    """vision/temporal_latent_bottleneck: a custom RNN cell over chunks of patch tokens
    whose state is a set of latent vectors; perceptual module (self attention + cross
    attention to the latents), latent update by cross attention to the chunk."""
    chunk, dim, nlat = 4, 8, 3

    class TLBCell(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.state_size = nlat * dim
            self.output_size = chunk * dim
            self.self_att = L.MultiHeadAttention(2, 4)
            self.cross_att = L.MultiHeadAttention(2, 4)
            self.lat_att = L.MultiHeadAttention(2, 4)
            self.n1 = L.LayerNormalization()
            self.n2 = L.LayerNormalization()
            self.ffn = L.Dense(dim, activation="gelu")

        def call(self, inputs, states):
            x = ops.reshape(inputs, (-1, chunk, dim))
            lat = ops.reshape(states[0], (-1, nlat, dim))
            x = x + self.self_att(x, x)
            x = x + self.cross_att(self.n1(x), lat)
            x = x + self.ffn(x)
            lat = lat + self.lat_att(self.n2(lat), x)
            return ops.reshape(x, (-1, chunk * dim)), [ops.reshape(lat, (-1, nlat * dim))]

    class InitLatents(L.Layer):
        def build(self, shape):
            self.lat = self.add_weight(shape=(1, nlat * dim), initializer="normal",
                                       name="lat")

        def call(self, x):
            return ops.repeat(self.lat, ops.shape(x)[0], axis=0)

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(dim, 4, strides=4)(i)  # 4x4 patches
    x = L.Reshape((4, chunk * dim))(x)  # 4 chunks of 4 patches
    init = InitLatents()(x)
    x = L.RNN(TLBCell(), return_sequences=True)(x, initial_state=[init])
    x = L.Reshape((16, dim))(x)
    x = L.GlobalAveragePooling1D()(L.LayerNormalization()(x))
    return keras.Model(i, L.Dense(3)(x))


@model
def nl_image_search_dual_encoder():
    """vision/nl_image_search: projection heads (Dense, gelu, Dense, dropout, residual,
    LayerNorm) on image and text towers; logits = text @ image.T / temperature (a
    batch-by-batch matrix)."""

    def project(x):
        p = L.Dense(8)(x)
        x = keras.activations.gelu(p)
        x = L.Dense(8)(x)
        x = L.Dropout(0.1)(x)
        return L.LayerNormalization()(L.Add()([p, x]))

    img = keras.Input((16, 16, 3), name="image")
    tok = keras.Input((10,), dtype="int32", name="tokens")
    xi = L.GlobalAveragePooling2D()(L.Conv2D(8, 3, strides=2, activation="relu")(img))
    xt = L.GlobalAveragePooling1D()(L.Embedding(20, 8)(tok))
    ie, te = project(xi), project(xt)
    logits = ops.matmul(te, ops.transpose(ie)) / 0.05
    return keras.Model([img, tok], logits)


# --------------------------------------------------------------------------- nlp


class _TokPos(L.Layer):
    def __init__(self, maxlen, vocab, dim, mask_zero=False, **kw):
        super().__init__(**kw)
        self.tok = L.Embedding(vocab, dim, mask_zero=mask_zero)
        self.pos = L.Embedding(maxlen, dim)
        self.mask_zero = mask_zero

    def call(self, x):
        n = ops.shape(x)[-1]
        return self.tok(x) + self.pos(ops.arange(0, n, 1))

    def compute_mask(self, x, mask=None):
        return ops.not_equal(x, 0) if self.mask_zero else None


@model
def miniature_gpt():
    """generative/text_generation_with_miniature_gpt: causal_attention_mask built from
    ops.arange comparisons, tiled per batch with a shape built by concatenating a
    dynamic batch size; two outputs (logits and the block output)."""

    def causal_attention_mask(batch, n_dest, n_src, dtype):
        i = ops.arange(n_dest)[:, None]
        j = ops.arange(n_src)
        m = i >= j - n_src + n_dest
        mask = ops.cast(m, dtype)
        mask = ops.reshape(mask, [1, n_dest, n_src])
        return ops.tile(mask, [batch, 1, 1])

    class Block(L.Layer):
        def __init__(self, d, h, ff, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(h, d)
            self.ffn = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
            self.n1 = L.LayerNormalization(epsilon=1e-6)
            self.n2 = L.LayerNormalization(epsilon=1e-6)

        def call(self, x):
            s = ops.shape(x)
            mask = causal_attention_mask(s[0], s[1], s[1], "bool")
            a = self.att(x, x, attention_mask=mask)
            o = self.n1(x + a)
            return self.n2(o + self.ffn(o))

    i = keras.Input((12,), dtype="int32")
    x = _TokPos(12, 30, 8)(i)
    x = Block(8, 2, 16)(x)
    return keras.Model(i, [L.Dense(30)(x), x])


@model
def mlm_bert_sinusoidal():
    """nlp/masked_language_modeling: word embedding + position Embedding initialised
    from a fixed sinusoid matrix, BERT blocks (MHA, add + LayerNorm, FFN), vocabulary
    softmax."""
    seq, d, vocab = 10, 8, 30

    def pos_matrix(n, d):
        pe = np.array([[p / np.power(10000, 2 * (j // 2) / d) for j in range(d)]
                       if p != 0 else np.zeros(d) for p in range(n)])
        pe[1:, 0::2] = np.sin(pe[1:, 0::2])
        pe[1:, 1::2] = np.cos(pe[1:, 1::2])
        return pe.astype("float32")

    i = keras.Input((seq,), dtype="int64")
    we = L.Embedding(vocab, d)(i)
    pe = L.Embedding(seq, d, embeddings_initializer=keras.initializers.Constant(
        pos_matrix(seq, d)), trainable=False)(ops.arange(0, seq))
    x = we + pe
    for _ in range(2):
        a = L.MultiHeadAttention(2, d // 2)(x, x, x)
        a = L.Dropout(0.1)(a)
        a = L.LayerNormalization(epsilon=1e-6)(x + a)
        f = keras.Sequential([L.Dense(16, activation="relu"), L.Dense(d)])(a)
        f = L.Dropout(0.1)(f)
        x = L.LayerNormalization(epsilon=1e-6)(a + f)
    return keras.Model(i, L.Dense(vocab, activation="softmax")(x))


@model
def fnet_seq2seq():
    """generative/text_generation_fnet: FNet encoder (real part of fft2 of the
    embeddings) and a decoder with a causal mask combined with the padding mask
    (ops.minimum) plus cross attention with the encoder padding mask; token inputs of
    unknown length as in the example."""
    return _fnet(None)


def _fnet(seq):

    class FNetEncoder(L.Layer):
        def __init__(self, d, ff, **kw):
            super().__init__(**kw)
            self.proj = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
            self.n1, self.n2 = L.LayerNormalization(), L.LayerNormalization()
            self.supports_masking = True

        def call(self, x):
            real, _ = ops.fft2((x, ops.zeros_like(x)))
            p = self.n1(x + real)
            return self.n2(p + self.proj(p))

    class FNetDecoder(L.Layer):
        def __init__(self, d, ff, h, **kw):
            super().__init__(**kw)
            self.a1 = L.MultiHeadAttention(h, d)
            self.a2 = L.MultiHeadAttention(h, d)
            self.proj = keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
            self.n1 = L.LayerNormalization()
            self.n2 = L.LayerNormalization()
            self.n3 = L.LayerNormalization()
            self.supports_masking = True

        def call(self, x, enc, mask=None):
            n = ops.shape(x)[1]
            i = ops.arange(n)[:, None]
            j = ops.arange(n)
            causal = ops.cast(i >= j, "int32")[None]
            pad = ops.cast(mask[0][:, None, :], "int32") if mask is not None and \
                mask[0] is not None else causal
            am = ops.minimum(pad, causal)
            a1 = self.n1(x + self.a1(x, x, attention_mask=am))
            emask = mask[1] if mask is not None else None
            a2 = self.a2(a1, enc, attention_mask=None if emask is None
                         else emask[:, None, :])
            a2 = self.n2(a1 + a2)
            return self.n3(a2 + self.proj(a2))

    ei = keras.Input((seq,), dtype="int32", name="encoder_inputs")
    di = keras.Input((seq,), dtype="int32", name="decoder_inputs")
    e = _TokPos(32, 30, 8, mask_zero=True)(ei)
    e = FNetEncoder(8, 16)(e)
    d = _TokPos(32, 30, 8, mask_zero=True)(di)
    d = FNetDecoder(8, 16, 2)(d, e)
    d = L.Dropout(0.5)(d)
    return keras.Model([ei, di], L.Dense(30, activation="softmax")(d))


@model
def sbert_mean_pooling_siamese():
    """nlp/sentence_embeddings_with_sbert: a shared encoder on two sentences, masked
    mean pooling (sum(x * mask) / sum(mask)), cosine similarity via Dot(normalize)."""

    class MaskedMeanPool(L.Layer):
        def call(self, x, tokens):
            m = ops.cast(ops.not_equal(tokens, 0), x.dtype)[..., None]
            return ops.sum(x * m, 1) / ops.maximum(ops.sum(m, 1), 1e-9)

    t = keras.Input((None,), dtype="int32")
    x = _TokPos(32, 30, 8)(t)
    a = L.MultiHeadAttention(2, 4)(x, x)
    x = L.LayerNormalization()(x + a)
    encoder = keras.Model(t, MaskedMeanPool()(x, t), name="encoder")
    s1 = keras.Input((None,), dtype="int32")
    s2 = keras.Input((None,), dtype="int32")
    sim = L.Dot(axes=1, normalize=True)([encoder(s1), encoder(s2)])
    return keras.Model([s1, s2], sim)


@model
def node2vec_skipgram():
    """graph/node2vec_movielens: target / context Embeddings of scalar ids, a dot
    product (ops.sum of the product) as the logit."""
    t = keras.Input((), dtype="int32", name="target")
    c = keras.Input((), dtype="int32", name="context")
    te = L.Embedding(20, 6, embeddings_initializer="he_normal",
                     embeddings_regularizer=keras.regularizers.l2(1e-6))(t)
    ce = L.Embedding(20, 6, embeddings_initializer="he_normal")(c)
    logits = L.Dot(axes=1, normalize=False)([te, ce])
    return keras.Model([t, c], L.Flatten()(logits))


# --------------------------------------------------------------------------- graph


_EDGES = np.array([[0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 5, 0],
                   [1, 0, 2, 1, 4, 3, 6, 5, 8, 7, 0, 9, 2, 5]], "int32")


@model
def gnn_citations_graphconv():
    """graph/gnn_citations: the whole graph held as constants; FFN preprocess, graph
    conv (gather neighbours by edge, message FFN, segment mean by target node, concat
    update), two conv layers with skip, gather the requested nodes (int ids input)."""
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(10, 6)).astype("float32")
    w = np.ones(_EDGES.shape[1], "float32")

    def ffn(units):
        return keras.Sequential([L.Dense(u, activation="gelu") for u in units])

    class GraphConv(L.Layer):
        def __init__(self, units, combine="concat", **kw):
            super().__init__(**kw)
            self.msg = ffn([units])
            self.upd = ffn([units])
            self.combine = combine

        def call(self, x):
            nodes, edges, ew = x
            neigh = ops.take(nodes, edges[1], axis=0)
            m = self.msg(neigh) * ew[:, None]
            n = ops.shape(nodes)[0]
            s = ops.segment_sum(m, edges[0], num_segments=10)
            c = ops.segment_sum(ops.ones_like(m[:, :1]), edges[0], num_segments=10)
            agg = s / ops.maximum(c, 1.0)
            del n
            h = ops.concatenate([nodes, agg], 1) if self.combine == "concat" \
                else nodes + agg
            return ops.normalize(self.upd(h), axis=-1)

    class GNN(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.pre = ffn([8])
            self.c1 = GraphConv(8)
            self.c2 = GraphConv(8)
            self.post = ffn([8])
            self.feats = ops.convert_to_tensor(feats)
            self.edges = ops.convert_to_tensor(_EDGES)
            self.w = ops.convert_to_tensor(w)

        def call(self, ids):
            x = self.pre(self.feats)
            x = self.c1((x, self.edges, self.w)) + x
            x = self.c2((x, self.edges, self.w)) + x
            x = self.post(x)
            return ops.take(x, ids, axis=0)

    ids = keras.Input((), dtype="int32")
    return keras.Model(ids, L.Dense(3)(GNN()(ids)))


@model
def gat_node_classification():
    """graph/gat_node_classification: multi-head graph attention on constant node
    features / edges: gather both ends, leaky-relu scores, exp(clip), per-target
    segment_sum normalisation, weighted segment_sum, heads concatenated then averaged."""
    rng = np.random.default_rng(2)
    feats = rng.normal(size=(10, 5)).astype("float32")

    class GraphAttention(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units

        def build(self, shape):
            self.k = self.add_weight(shape=(shape[0][-1], self.units),
                                     initializer="glorot_uniform", name="k")
            self.ka = self.add_weight(shape=(2 * self.units, 1),
                                      initializer="glorot_uniform", name="ka")

        def call(self, inputs):
            nodes, edges = inputs
            h = ops.matmul(nodes, self.k)
            pair = ops.take(h, edges, axis=0)  # (2, E, U)
            pair = ops.concatenate([pair[1], pair[0]], -1)
            s = ops.leaky_relu(ops.matmul(pair, self.ka), 0.2)
            s = ops.squeeze(s, -1)
            s = ops.exp(ops.clip(s, -2, 2))
            tot = ops.segment_sum(s, edges[0], num_segments=10)
            tot = ops.take(tot, edges[0])
            att = s / tot
            neigh = ops.take(h, edges[1], axis=0)
            return ops.segment_sum(neigh * att[:, None], edges[0], num_segments=10)

    class MultiHeadGAT(L.Layer):
        def __init__(self, units, heads, merge="concat", **kw):
            super().__init__(**kw)
            self.heads = [GraphAttention(units) for _ in range(heads)]
            self.merge = merge

        def call(self, inputs):
            outs = [h(inputs) for h in self.heads]
            if self.merge == "concat":
                return ops.relu(ops.concatenate(outs, -1))
            return ops.relu(ops.mean(ops.stack(outs, -1), -1))

    class GAT(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.pre = L.Dense(8)
            self.l1 = MultiHeadGAT(4, 2)
            self.l2 = MultiHeadGAT(8, 2, merge="mean")
            self.out = L.Dense(3)
            self.feats = ops.convert_to_tensor(feats)
            self.edges = ops.convert_to_tensor(_EDGES)

        def call(self, ids):
            x = self.pre(self.feats)
            x = self.l1((x, self.edges)) + x
            x = self.l2((x, self.edges)) + x
            return ops.take(self.out(x), ids, axis=0)

    ids = keras.Input((), dtype="int32")
    return keras.Model(ids, GAT()(ids))


@model
def mpnn_molecules():
    """graph/mpnn-molecular-graphs (padded per molecule): EdgeNetwork (bond features ->
    a per-bond FxF matrix, times the gathered neighbour atom), aggregation by target
    atom via one-hot matmul, a GRUCell update over flattened atoms, transformer
    readout with global average pooling."""
    natoms, nbonds, f = 10, 12, 4

    class EdgeNetwork(L.Layer):
        def build(self, shapes):
            self.kernel = self.add_weight(shape=(shapes[1][-1], f * f),
                                          initializer="glorot_uniform", name="kernel")
            self.bias = self.add_weight(shape=(f * f,), initializer="zeros", name="bias")

        def call(self, inputs):
            atoms, bonds, pairs = inputs
            bf = ops.matmul(bonds, self.kernel) + self.bias
            bf = ops.reshape(bf, (-1, nbonds, f, f))
            idx = ops.repeat(pairs[:, :, 1:2], f, axis=2)
            neigh = ops.take_along_axis(atoms, idx, axis=1)  # (B, E, F)
            msg = ops.squeeze(ops.matmul(bf, neigh[..., None]), -1)
            onehot = ops.one_hot(pairs[:, :, 0], natoms)  # (B, E, N)
            return ops.matmul(ops.transpose(onehot, (0, 2, 1)), msg)

    class MessagePassing(L.Layer):
        def __init__(self, steps, **kw):
            super().__init__(**kw)
            self.steps = steps
            self.edge = EdgeNetwork()
            self.gru = L.GRUCell(f)

        def call(self, inputs):
            atoms, bonds, pairs = inputs
            h = atoms
            for _ in range(self.steps):
                agg = self.edge((h, bonds, pairs))
                flat, _ = self.gru(ops.reshape(agg, (-1, f)), [ops.reshape(h, (-1, f))])
                h = ops.reshape(flat, (-1, natoms, f))
            return h

    atoms = keras.Input((natoms, f), name="atom_features")
    bonds = keras.Input((nbonds, 3), name="bond_features")
    pairs = keras.Input((nbonds, 2), dtype="int32", name="pair_indices")
    x = MessagePassing(2)((atoms, bonds, pairs))
    a = L.MultiHeadAttention(2, 4)(x, x)
    x = L.LayerNormalization()(x + a)
    x = L.LayerNormalization()(x + L.Dense(f)(L.Dense(8, activation="relu")(x)))
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model([atoms, bonds, pairs], L.Dense(1, activation="sigmoid")(x))


class _RelationalGraphConv(L.Layer):
    """generative/molecule_generation & wgan-graphs: adjacency (B, T, N, N) times
    features (B, N, F) broadcast per bond type, times a (T, F, U) kernel, summed over
    bond types."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units

    def build(self, shapes):
        t, f = shapes[0][1], shapes[1][-1]
        self.kernel = self.add_weight(shape=(t, f, self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(t, 1, self.units), initializer="zeros",
                                    name="bias")

    def call(self, inputs):
        adjacency, features = inputs
        x = ops.matmul(adjacency, features[:, None, :, :])
        x = ops.matmul(x, self.kernel) + self.bias
        return ops.relu(ops.sum(x, axis=1))


@model
def molecule_generation_encoder():
    """generative/molecule_generation: relational graph conv encoder on (adjacency,
    features), GlobalAveragePooling1D, Dense, z_mean / log_var heads."""
    adj = keras.Input((4, 9, 9), name="adjacency")
    feat = keras.Input((9, 5), name="features")
    f = feat
    for u in (8, 8):
        f = _RelationalGraphConv(u)([adj, f])
    x = L.GlobalAveragePooling1D()(f)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dropout(0.2)(x)
    return keras.Model([adj, feat], [L.Dense(4)(x), L.Dense(4)(x)])


@model
def wgan_graph_generator():
    """generative/wgan-graphs: latent -> adjacency logits symmetrised
    ((x + transpose(x, (0, 1, 3, 2))) / 2) with softmax over bond types, and node
    features with softmax over atom types: two outputs; plus a relational-conv critic
    applied to them."""
    z = keras.Input((6,))
    x = L.Dense(16, activation="tanh")(z)
    x = L.Dropout(0.2)(x)
    a = L.Dense(5 * 9 * 9)(x)
    a = L.Reshape((5, 9, 9))(a)
    a = (a + ops.transpose(a, (0, 1, 3, 2))) / 2
    a = L.Softmax(axis=1)(a)
    fx = L.Dense(9 * 6)(x)
    fx = L.Softmax(axis=2)(L.Reshape((9, 6))(fx))
    h = _RelationalGraphConv(8)([a[:, :-1], fx])
    h = L.GlobalAveragePooling1D()(h)
    critic = L.Dense(1)(L.Dense(8, activation="relu")(h))
    return keras.Model(z, [a, fx, critic])


# --------------------------------------------------------------------------- timeseries


@model
def ssvepformer():
    """timeseries/eeg_bci_ssvepformer: ops.rfft complex spectrum (real / imag cropped to
    a band, concatenated), channel combination Conv1D, conv attention with residual,
    a channel MLP looping over channels with Reshape + Concatenate, MLP head."""
    nch, samples, nfft, lo, hi = 4, 32, 32, 2, 10

    class ComplexSpectrum(L.Layer):
        def call(self, x):
            re, im = ops.rfft(x, fft_length=nfft)
            re = re[:, :, lo:hi] / samples
            im = im[:, :, lo:hi] / samples
            return ops.concatenate((re, im), axis=-1)

    class ConvAttention(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.n = L.LayerNormalization()
            self.c = L.Conv1D(2 * nch, 5, padding="same")
            self.a = L.Activation("gelu")
            self.d = L.Dropout(0.5)

        def call(self, x):
            return self.d(self.a(self.c(self.n(x)))) + x

    class ChannelMLP(L.Layer):
        def __init__(self, nf, **kw):
            super().__init__(**kw)
            self.n = L.LayerNormalization()
            self.mlp = L.Dense(nf)
            self.a = L.Activation("gelu")
            self.cat = L.Concatenate(axis=1)

        def call(self, x):
            inp = x
            y = self.n(x)
            outs = [L.Reshape([1, -1])(self.mlp(y[:, :, c])) for c in range(x.shape[1])]
            return self.a(self.cat(outs)) + inp

    nf = 2 * (hi - lo)
    m = keras.Sequential([
        keras.Input((nch, samples)),
        ComplexSpectrum(),
        L.Conv1D(2 * nch, 1, padding="same"),
        L.LayerNormalization(),
        L.Activation("gelu"),
        ConvAttention(),
        ChannelMLP(2 * nch),
        L.Flatten(),
        L.Dense(6),
        L.LayerNormalization(),
        L.Activation("gelu"),
        L.Dense(3),
        L.Activation("softmax"),
    ])
    del nf
    return m


@model
def stft_spectrogram_classifier():
    """audio/stft: keras.layers.STFTSpectrogram (log mode) on raw audio of unknown
    length, then Conv1D + global pooling; a second STFT branch in 'magnitude' mode with
    expand_dims=True feeding Conv2D."""
    i = keras.Input((None, 1))
    s1 = L.STFTSpectrogram(mode="log", frame_length=8, frame_step=4, fft_length=8,
                           window=None, trainable=False)(i)
    x1 = L.GlobalAveragePooling1D()(L.Conv1D(8, 3, activation="relu")(s1))
    s2 = L.STFTSpectrogram(mode="magnitude", frame_length=8, frame_step=4,
                           fft_length=8, expand_dims=True, window=None,
                           trainable=False)(i)
    x2 = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu")(s2))
    return keras.Model(i, L.Dense(3)(L.Concatenate()([x1, x2])))


@model
def melgan_generator():
    """audio/melgan_spectrogram_inversion: Conv1D stem on a mel sequence of unknown
    length, Conv1DTranspose upsampling, residual stacks of dilated Conv1D (1, 3, 9) with
    LeakyReLU, tanh waveform."""
    i = keras.Input((None, 16))

    def residual_stack(x, f):
        for d in (1, 3, 9):
            y = L.LeakyReLU(0.2)(x)
            y = L.Conv1D(f, 3, dilation_rate=d, padding="same")(y)
            y = L.LeakyReLU(0.2)(y)
            y = L.Conv1D(f, 1, padding="same")(y)
            x = L.Add()([x, y])
        return x

    x = L.Conv1D(16, 7, padding="same")(i)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv1DTranspose(8, 4, strides=2, padding="same")(x)
    x = residual_stack(x, 8)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv1DTranspose(4, 4, strides=2, padding="same")(x)
    x = residual_stack(x, 4)
    x = L.LeakyReLU(0.2)(x)
    return keras.Model(i, L.Conv1D(1, 7, padding="same", activation="tanh")(x))


@model
def melgan_discriminator():
    """audio/melgan_spectrogram_inversion: multi-scale discriminator (AveragePooling1D
    downsampled copies), grouped strided Conv1D, every block's feature map returned."""
    i = keras.Input((64, 1))

    def disc(x):
        feats = []
        x = L.LeakyReLU(0.2)(L.Conv1D(8, 15, padding="same")(x))
        feats.append(x)
        x = L.LeakyReLU(0.2)(L.Conv1D(16, 41, strides=4, padding="same", groups=4)(x))
        feats.append(x)
        x = L.LeakyReLU(0.2)(L.Conv1D(16, 5, padding="same")(x))
        feats.append(x)
        feats.append(L.Conv1D(1, 3, padding="same")(x))
        return feats

    x1 = disc(i)
    x2 = disc(L.AveragePooling1D(4, strides=2, padding="same")(i))
    return keras.Model(i, x1 + x2)


# --------------------------------------------------------------------------- generative


@model
def conditional_gan_discriminator():
    """generative/conditional_gan: one-hot labels broadcast to image-sized channels
    (repeat + reshape) and concatenated to the image before the discriminator convs;
    the generator path concatenates noise and label."""
    img = keras.Input((8, 8, 1))
    lab = keras.Input((4,))
    maps = ops.repeat(lab[:, :, None, None], 8 * 8, axis=2)
    maps = ops.reshape(maps, (-1, 4, 8, 8))
    maps = ops.transpose(maps, (0, 2, 3, 1))
    x = L.Concatenate(-1)([img, maps])
    x = L.LeakyReLU(0.2)(L.Conv2D(8, 3, strides=2, padding="same")(x))
    x = L.LeakyReLU(0.2)(L.Conv2D(8, 3, strides=2, padding="same")(x))
    x = L.GlobalMaxPooling2D()(x)
    return keras.Model([img, lab], L.Dense(1)(x))


@model
def conditional_gan_generator():
    """generative/conditional_gan: generator on concat(noise, one-hot label): Dense,
    Reshape, Conv2DTranspose with LeakyReLU, sigmoid image."""
    z = keras.Input((10,))
    lab = keras.Input((4,))
    x = L.Concatenate()([z, lab])
    x = L.Dense(2 * 2 * 8)(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.Reshape((2, 2, 8))(x)
    x = L.Conv2DTranspose(8, 4, strides=2, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.Conv2DTranspose(8, 4, strides=2, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    return keras.Model([z, lab], L.Conv2D(1, 2, padding="same", activation="sigmoid")(x))


@model
def wgan_gp_generator():
    """generative/wgan_gp: Dense -> (4, 4, C), UpSampling2D + Conv2D + BN + LeakyReLU
    blocks, Cropping2D((2, 2)) down to 28x28, tanh."""
    z = keras.Input((16,))
    x = L.Dense(4 * 4 * 16, use_bias=False)(z)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Reshape((4, 4, 16))(x)
    for f in (8, 8, 1):
        x = L.UpSampling2D((2, 2))(x)
        x = L.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.LeakyReLU(0.2)(x) if f > 1 else L.Activation("tanh")(x)
    return keras.Model(z, L.Cropping2D((2, 2))(x))


@model
def wgan_gp_discriminator():
    """generative/wgan_gp: ZeroPadding2D((2, 2)) to 32x32, strided convs with
    LeakyReLU and Dropout, Flatten, Dense(1)."""
    i = keras.Input((28, 28, 1))
    x = L.ZeroPadding2D((2, 2))(i)
    x = L.LeakyReLU(0.2)(L.Conv2D(8, 5, strides=2, padding="same")(x))
    for f in (8, 16):
        x = L.Conv2D(f, 5, strides=2, padding="same", use_bias=False)(x)
        x = L.LeakyReLU(0.2)(x)
        x = L.Dropout(0.3)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.2)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def stylegan_synthesis_block():
    """generative/stylegan: mapping network (pixel norm, EqualizedDense with a runtime
    weight scale), constant input, EqualizedConv via ops.conv, AddNoise (learned
    per-channel scale of an explicit noise input), AdaIN from w."""

    class EqualizedDense(L.Layer):
        def __init__(self, units, gain=2, **kw):
            super().__init__(**kw)
            self.units, self.gain = units, gain

        def build(self, shape):
            self.in_ch = shape[-1]
            self.w = self.add_weight(shape=(self.in_ch, self.units),
                                     initializer=keras.initializers.RandomNormal(0, 1),
                                     name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, x):
            scale = ops.sqrt(self.gain / self.in_ch)
            return ops.matmul(x, scale * self.w) + self.b

    class EqualizedConv(L.Layer):
        def __init__(self, out, k=3, **kw):
            super().__init__(**kw)
            self.out, self.k = out, k

        def build(self, shape):
            self.in_ch = shape[-1]
            self.w = self.add_weight(shape=(self.k, self.k, self.in_ch, self.out),
                                     initializer=keras.initializers.RandomNormal(0, 1),
                                     name="w")
            self.b = self.add_weight(shape=(self.out,), initializer="zeros", name="b")

        def call(self, x):
            scale = ops.sqrt(2.0 / (self.k * self.k * self.in_ch))
            return ops.conv(x, scale * self.w, padding="same") + self.b

    class AddNoise(L.Layer):
        def build(self, shapes):
            self.bscale = self.add_weight(shape=(1, 1, 1, shapes[0][-1]),
                                          initializer="ones", name="kernel")

        def call(self, inputs):
            x, noise = inputs
            return x + self.bscale * noise

    class AdaIN(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)

        def build(self, shapes):
            c, wd = shapes[0][-1], shapes[1][-1]
            self.ds = EqualizedDense(c, gain=1)
            self.db = EqualizedDense(c, gain=1)
            self.ds.build((None, wd))
            self.db.build((None, wd))

        def call(self, inputs):
            x, w = inputs
            ys = ops.reshape(self.ds(w), (-1, 1, 1, x.shape[-1]))
            yb = ops.reshape(self.db(w), (-1, 1, 1, x.shape[-1]))
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            std = ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + 1e-8)
            return ys * (x - mean) / std + yb

    class ConstInput(L.Layer):
        def build(self, shape):
            self.c = self.add_weight(shape=(1, 4, 4, 8), initializer="ones", name="c")

        def call(self, w):
            return ops.tile(self.c, [ops.shape(w)[0], 1, 1, 1])

    z = keras.Input((8,), name="z")
    n1 = keras.Input((4, 4, 1), name="noise4")
    n2 = keras.Input((8, 8, 1), name="noise8")
    w = z / ops.sqrt(ops.mean(z ** 2, axis=-1, keepdims=True) + 1e-8)
    for _ in range(2):
        w = L.LeakyReLU(0.2)(EqualizedDense(8)(w))
    x = ConstInput()(w)
    x = L.LeakyReLU(0.2)(AddNoise()([x, n1]))
    x = AdaIN()([x, w])
    x = L.UpSampling2D((2, 2), interpolation="bilinear")(x)
    x = EqualizedConv(8)(x)
    x = L.LeakyReLU(0.2)(AddNoise()([x, n2]))
    x = AdaIN()([x, w])
    return keras.Model([z, n1, n2], EqualizedConv(3, 1)(x))


@model
def nerf_volume_render():
    """vision/nerf: positional encoding (x, sin / cos of 2^k x concatenated), an MLP
    with a skip concatenation, then volume rendering: relu sigma, sigmoid rgb,
    alpha = 1 - exp(-sigma * delta), exclusive cumprod transmittance, weighted sums
    for rgb and depth."""
    rays, samples, L_enc = 6, 5, 3

    class Encode(L.Layer):
        def call(self, x):
            parts = [x]
            for k in range(L_enc):
                for fn in (ops.sin, ops.cos):
                    parts.append(fn(2.0 ** k * x))
            return ops.concatenate(parts, axis=-1)

    class Render(L.Layer):
        def call(self, raw, t_vals):
            rgb = ops.sigmoid(raw[..., :-1])
            sigma = ops.relu(raw[..., -1])
            delta = t_vals[..., 1:] - t_vals[..., :-1]
            delta = ops.concatenate([delta, ops.full_like(t_vals[..., :1], 1e10)], -1)
            alpha = 1.0 - ops.exp(-sigma * delta)
            trans = ops.cumprod(1.0 - alpha + 1e-10, axis=-1)
            trans = ops.concatenate([ops.ones_like(trans[..., :1]), trans[..., :-1]], -1)
            weights = alpha * trans
            rgb_map = ops.sum(weights[..., None] * rgb, axis=-2)
            depth_map = ops.sum(weights * t_vals, axis=-1)
            return rgb_map, depth_map

    pts = keras.Input((rays, samples, 3), name="points")
    tv = keras.Input((rays, samples), name="t_vals")
    enc = Encode()(pts)
    x = enc
    for k in range(4):
        x = L.Dense(16, activation="relu")(x)
        if k == 1:
            x = L.Concatenate()([x, enc])
    raw = L.Dense(4)(x)
    rgb, depth = Render()(raw, ops.sort(ops.abs(tv), axis=-1))
    return keras.Model([pts, tv], [rgb, depth])


# --------------------------------------------------------------------------- structured / recipes


@model
def deep_cross_network():
    """structured_data/wide_deep_cross_networks: categorical Embeddings + numeric
    inputs concatenated into x0, cross layers x = x0 * Dense(x) + x, a deep branch,
    concat, sigmoid."""
    num = keras.Input((3,), name="numeric")
    cat1 = keras.Input((1,), dtype="int32", name="cat1")
    cat2 = keras.Input((1,), dtype="int32", name="cat2")
    e1 = L.Flatten()(L.Embedding(10, 3)(cat1))
    e2 = L.Flatten()(L.Embedding(10, 3)(cat2))
    x0 = L.Concatenate()([num, e1, e2])
    cross = x0
    for _ in range(2):
        units = cross.shape[-1]
        x = L.Dense(units)(cross)
        cross = x0 * x + cross
    cross = L.BatchNormalization()(cross)
    deep = x0
    for u in (8, 8):
        deep = L.Dense(u)(deep)
        deep = L.BatchNormalization()(deep)
        deep = L.ReLU()(deep)
        deep = L.Dropout(0.1)(deep)
    merged = L.concatenate([cross, deep])
    return keras.Model([num, cat1, cat2], L.Dense(1, activation="sigmoid")(merged))


@model
def endpoint_layer_logistic():
    """keras_recipes/endpoint_layer_pattern: a layer taking (logits, targets) that adds
    a loss and an accuracy metric in call() and returns softmax(logits)."""

    class LogisticEndpoint(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, logits, targets=None, sample_weights=None):
            if targets is not None:
                self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return ops.softmax(logits)

    i = keras.Input((3,), name="inputs")
    t = keras.Input((6,), name="targets")
    logits = L.Dense(6)(i)
    return keras.Model([i, t], LogisticEndpoint(name="predictions")(logits, t))


@model
def mixed_dim_embedding():
    """keras_recipes/memory_efficient_embeddings: MDEmbedding: vocabulary blocks with
    different embedding sizes, each projected to a base dim; per block a range mask,
    offset ids, masked lookup, summed."""

    class MDEmbedding(L.Layer):
        def __init__(self, sizes, dims, base, **kw):
            super().__init__(**kw)
            self.cut = np.cumsum([0] + sizes)
            self.embs = [L.Embedding(s, d) for s, d in zip(sizes, dims)]
            self.projs = [L.Dense(base, use_bias=False) if d != base else None
                          for d in dims]

        def call(self, ids):
            out = 0
            for k, (emb, proj) in enumerate(zip(self.embs, self.projs)):
                lo, hi = int(self.cut[k]), int(self.cut[k + 1])
                m = ops.logical_and(ids >= lo, ids < hi)
                local = ops.where(m, ids - lo, ops.zeros_like(ids))
                e = emb(local)
                if proj is not None:
                    e = proj(e)
                out = out + e * ops.cast(m, "float32")[..., None]
            return out

    u = keras.Input((1,), dtype="int32")
    mv = keras.Input((1,), dtype="int32")
    ue = MDEmbedding([4, 6], [6, 3], 6)(u)
    me = MDEmbedding([3, 7], [6, 2], 6)(mv)
    dot = ops.sum(ue * me, axis=-1)
    return keras.Model([u, mv], L.Activation("sigmoid")(dot))


@model
def mixture_density_head():
    """keras_recipes/approximating_non_function_mappings: an MDN head: means, softplus
    (+eps) scales and softmax mixture weights concatenated."""

    class MDN(L.Layer):
        def __init__(self, out_dim, k, **kw):
            super().__init__(**kw)
            self.mus = L.Dense(k * out_dim)
            self.sig = L.Dense(k * out_dim, activation=lambda x: ops.softplus(x) + 1e-7)
            self.pi = L.Dense(k)

        def call(self, x):
            return ops.concatenate([self.mus(x), self.sig(x), ops.softmax(self.pi(x))],
                                   axis=-1)

    i = keras.Input((1,))
    x = L.Dense(16, activation="relu")(i)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(i, MDN(1, 3)(x))


# --------------------------------------------------------------------------- rl


@model
def actor_critic_cartpole():
    """rl/actor_critic_cartpole: shared Dense trunk, softmax actor and linear critic."""
    i = keras.Input((4,))
    c = L.Dense(16, activation="relu")(i)
    return keras.Model(i, [L.Dense(2, activation="softmax")(c), L.Dense(1)(c)])


@model
def ddpg_actor():
    """rl/ddpg_pendulum: actor with a small-uniform-initialised tanh output scaled by
    the action bound."""
    init = keras.initializers.RandomUniform(minval=-0.003, maxval=0.003)
    i = keras.Input((3,))
    x = L.Dense(16, activation="relu")(i)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(i, L.Dense(1, activation="tanh", kernel_initializer=init)(x) * 2.0)


@model
def ddpg_critic():
    """rl/ddpg_pendulum: critic with separate state / action towers, Concatenate,
    Dense to one Q value."""
    s = keras.Input((3,))
    a = keras.Input((1,))
    so = L.Dense(16, activation="relu")(L.Dense(8, activation="relu")(s))
    ao = L.Dense(16, activation="relu")(a)
    x = L.Concatenate()([so, ao])
    x = L.Dense(16, activation="relu")(x)
    return keras.Model([s, a], L.Dense(1)(x))


@model
def dqn_atari():
    """rl/deep_q_network_breakout: stacked frames, Conv2D 8x8/4, 4x4/2, 3x3/1,
    Flatten, Dense, linear Q-values."""
    i = keras.Input((44, 44, 4))
    x = L.Conv2D(8, 8, strides=4, activation="relu")(i)
    x = L.Conv2D(8, 4, strides=2, activation="relu")(x)
    x = L.Conv2D(8, 3, strides=1, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(i, L.Dense(4, activation="linear")(x))


@model
def ppo_actor_logits_sample():
    """rl/ppo_cartpole: an MLP returning logits, and the log-probability of the argmax
    action (ops.log_softmax, one_hot of argmax, sum)."""
    i = keras.Input((4,))
    x = L.Dense(16, activation="tanh")(i)
    x = L.Dense(16, activation="tanh")(x)
    logits = L.Dense(2)(x)
    a = ops.argmax(logits, axis=1)
    logp = ops.sum(ops.one_hot(a, 2) * ops.log_softmax(logits), axis=1)
    return keras.Model(i, [logits, logp])


# --------------------------------------------------------------------------- more


@model
def mnist_moe_topk():
    """vision/mnist_moe (keras.ops version): conv block, a LinearMoE head: softmax
    gating, ops.top_k of the gate, all experts stacked, the chosen experts gathered
    with take_along_axis and mixed by their gate weights (einsum), softmax; a
    subclassed model."""

    class LinearMoE(L.Layer):
        def __init__(self, hidden, num_experts=4, top_k=2, **kw):
            super().__init__(**kw)
            self.hidden, self.k = hidden, top_k
            self.experts = [L.Dense(hidden) for _ in range(num_experts)]
            self.gate = L.Dense(num_experts, activation="softmax")

        def call(self, x):
            g = self.gate(x)
            w, idx = ops.top_k(g, self.k)
            allo = ops.stack([e(x) for e in self.experts], axis=1)  # (B, E, H)
            sel = ops.take_along_axis(allo, idx[:, :, None], axis=1)  # (B, k, H)
            return ops.einsum("bkh,bk->bh", sel, w)

    class MoEModel(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.conv = keras.Sequential([
                L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                L.Flatten(), L.Dropout(0.5)])
            self.moe = LinearMoE(5)
            self.softmax = L.Softmax()

        def call(self, x, training=False):
            return self.softmax(self.moe(self.conv(x)))

    m = MoEModel()
    m(np.zeros((1, 16, 16, 1), "float32"))
    m.probe_specs = [((16, 16, 1), "float32")]
    return m


@model
def densenet_csp():
    """vision/densenet_cspnet_variants: dense blocks (BN-ReLU-Conv1x1-BN-ReLU-Conv3x3,
    concatenated growth), transition (1x1 conv + AveragePooling2D), a CSP stage that
    splits channels with ops.split, runs a dense block on one half, concatenates."""
    i = keras.Input((16, 16, 3))

    def dense_block(x, n, growth):
        for _ in range(n):
            y = L.Activation("relu")(L.BatchNormalization()(x))
            y = L.Conv2D(2 * growth, 1, use_bias=False)(y)
            y = L.Activation("relu")(L.BatchNormalization()(y))
            y = L.Conv2D(growth, 3, padding="same", use_bias=False)(y)
            x = L.Concatenate()([x, y])
        return x

    def transition(x, f):
        x = L.Conv2D(f, 1, use_bias=False)(L.ReLU()(L.BatchNormalization()(x)))
        return L.AveragePooling2D(2, strides=2)(x)

    x = L.Conv2D(8, 3, padding="same")(i)
    x = transition(dense_block(x, 2, 4), 8)
    a, b = ops.split(x, 2, axis=-1)
    b = dense_block(b, 2, 4)
    x = L.Concatenate()([a, L.Conv2D(4, 1)(b)])
    x = L.GlobalAveragePooling2D()(L.ReLU()(L.BatchNormalization()(x)))
    return keras.Model(i, L.Dense(3, activation="softmax")(x))


@model
def fnet_seq2seq_fixed():
    """generative/text_generation_fnet with fixed-length token inputs (the FNet fft2
    needs known last two axes): same encoder / masked causal decoder as fnet_seq2seq."""
    return _fnet(12)


@model
def feature_layer_dict_inputs():
    """structured_data/feature_engineering_with_custom_layer: scalar Inputs passed as
    a dict to a custom FeatureLayer doing logical_and of comparisons, category equality flags,
    ratios and products, concatenated with raw features; BatchNormalization; sigmoid."""
    names = ["age", "sex", "trestbps", "chol", "thalach", "oldpeak", "thal"]
    inputs = {n: keras.Input((1,), name=n, dtype="int32" if n == "thal" else "float32")
              for n in names}

    class FeatureLayer(L.Layer):
        def call(self, d):
            ag = ops.cast(ops.logical_and(d["age"] > 0.5, d["sex"] == 1.0), "float32")
            t1 = ops.cast(d["thal"] == 1, "float32")
            t2 = ops.cast(d["thal"] == 2, "float32")
            t3 = ops.cast(d["thal"] == 3, "float32")
            ratio = d["trestbps"] / (ops.abs(d["chol"]) + 1.0)
            cross = d["trestbps"] * d["thalach"]
            eng = ops.concatenate([t1, t2, t3, ag, ratio, cross], axis=-1)
            num = ops.concatenate([d[n] for n in ("trestbps", "chol", "thalach",
                                                  "oldpeak")], axis=-1)
            return ops.concatenate([eng, num, d["sex"]], axis=-1)

    x = FeatureLayer(name="feature_layer")(inputs)
    x = L.BatchNormalization(name="batch_norm")(x)
    # the probe feeds a list, so the model's inputs are a list (the layer gets a dict)
    return keras.Model([inputs[n] for n in names],
                       L.Dense(1, activation="sigmoid", name="target")(x))


@model
def ziln_customer_lifetime_value():
    """structured_data/customer_lifetime_value: an MLP with embedded categorical
    features giving 3 logits, turned into the zero-inflated lognormal expected value
    sigmoid(p) * exp(loc + scale^2 / 2) with scale = softplus(.) (ops inside a layer)."""

    class ZILNPredict(L.Layer):
        def call(self, logits):
            p = ops.sigmoid(logits[..., :1])
            loc = logits[..., 1:2]
            scale = ops.maximum(ops.softplus(logits[..., 2:]), ops.sqrt(keras.config.epsilon()))
            return p * ops.exp(loc + 0.5 * ops.square(scale))

    num = keras.Input((4,), name="numeric")
    cat = keras.Input((2,), dtype="int32", name="categorical")
    e = L.Flatten()(L.Embedding(10, 3)(cat))
    x = L.Concatenate()([num, e])
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(8, activation="relu")(x)
    logits = L.Dense(3)(x)
    return keras.Model([num, cat], [logits, ZILNPredict()(logits)])


@model
def detr_lite():
    """vision/detr: conv backbone, fixed 2-D sine positional encoding added to the
    flattened feature map, transformer encoder, learned object queries broadcast over
    the batch (Embedding of ops.arange), decoder cross attention, class softmax and
    sigmoid box heads."""
    nq, d = 5, 8

    def sine_2d(h, w, d):
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        half = d // 2
        dim_t = 10000 ** (2 * (np.arange(half) // 2) / half)
        px = xs[..., None] / dim_t
        py = ys[..., None] / dim_t
        px = np.stack([np.sin(px[..., 0::2]), np.cos(px[..., 1::2])], -1).reshape(h, w, -1)
        py = np.stack([np.sin(py[..., 0::2]), np.cos(py[..., 1::2])], -1).reshape(h, w, -1)
        return np.concatenate([py, px], -1).reshape(1, h * w, d).astype("float32")

    class Queries(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(nq, d)

        def call(self, memory):
            q = self.emb(ops.arange(nq))[None]
            return ops.broadcast_to(q, (ops.shape(memory)[0], nq, d))

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2D(d, 3, strides=2, padding="same", activation="relu")(x)  # 4x4
    x = L.Reshape((16, d))(x)
    pos = ops.convert_to_tensor(sine_2d(4, 4, d))
    a = L.MultiHeadAttention(2, 4)(x + pos, x + pos, x)
    mem = L.LayerNormalization()(x + a)
    q = Queries()(mem)
    t = L.LayerNormalization()(q + L.MultiHeadAttention(2, 4)(q, q))
    t = L.LayerNormalization()(t + L.MultiHeadAttention(2, 4)(t, mem + pos, mem))
    t = L.LayerNormalization()(t + L.Dense(d)(L.Dense(16, activation="relu")(t)))
    cls = L.Dense(4, activation="softmax")(t)
    box = L.Dense(4, activation="sigmoid")(L.Dense(d, activation="relu")(t))
    return keras.Model(i, [cls, box])




@model
def vocal_separation_tfc_tdf():
    """audio/vocal_track_separation: ops.stft on raw audio inside the functional graph
    (real / imag stacked, last bin dropped with ops.split), sub-bands reshaped into
    channels, TFC-TDF blocks built in build() (GroupNormalization(groups=-1),
    ops.swapaxes + Dense across frequency, Conv2D), strided Conv2D / Conv2DTranspose
    scale change, skip concat, instrument-wise 5-D reshape + transpose."""
    return _vocal(True)


@model
def vocal_separation_body():
    """audio/vocal_track_separation without the in-graph ops.stft: the same TFC-TDF
    network on a precomputed (frames, bins, real/imag) spectrogram input."""
    return _vocal(False)


def _vocal(with_stft):
    nfft, hop, sub, ch, ninst = 32, 16, 2, 4, 1

    class TDF(L.Layer):
        def __init__(self, fft_dim, **kw):
            super().__init__(**kw)
            self.fft_dim = fft_dim

        def build(self, *_):
            self.g1 = L.GroupNormalization(groups=-1)
            self.g2 = L.GroupNormalization(groups=-1)
            self.d1 = L.Dense(self.fft_dim // 2, use_bias=False)
            self.d2 = L.Dense(self.fft_dim, use_bias=False)

        def call(self, x):
            x = ops.gelu(self.g1(x))
            x = self.d1(ops.swapaxes(x, -1, -2))
            x = ops.gelu(self.g2(ops.swapaxes(x, -1, -2)))
            x = self.d2(ops.swapaxes(x, -1, -2))
            return ops.swapaxes(x, -1, -2)

    class TFC(L.Layer):
        def __init__(self, c, **kw):
            super().__init__(**kw)
            self.c = c

        def build(self, *_):
            self.g = L.GroupNormalization(groups=-1)
            self.conv = L.Conv2D(self.c, 3, padding="same", use_bias=False)

        def call(self, x):
            return self.conv(ops.gelu(self.g(x)))

    class Block(L.Layer):
        def __init__(self, c, fft_dim, in_ch=None, **kw):
            super().__init__(**kw)
            self.c, self.fft_dim, self.in_ch = c, fft_dim, in_ch or c

        def build(self, *_):
            self.t1, self.tdf = TFC(self.in_ch), TDF(self.fft_dim)
            self.t2, self.res = TFC(self.c), L.Conv2D(self.c, 1, use_bias=False)

        def call(self, x):
            return self.t2(self.t1(x) + self.tdf(x)) + self.res(x)

    if with_stft:
        i = keras.Input((15 * hop,))
        re, im = ops.stft(i, nfft, hop, nfft)
        x = ops.concatenate((ops.expand_dims(re, -1), ops.expand_dims(im, -1)), axis=-1)
        x = ops.split(x, [x.shape[2] - 1], axis=2)[0]  # (B, 16, 16, 2)
    else:
        i = x = keras.Input((16, 16, 2))
    mix = ops.reshape(x, (-1, x.shape[1], x.shape[2] // sub, 2 * sub))
    first = L.Conv2D(ch, 1, use_bias=False)(mix)
    fft_dim = mix.shape[2]
    e = Block(ch, fft_dim)(first)
    d = L.GroupNormalization(groups=-1)(ops.gelu(L.Conv2D(2 * ch, 2, 2, use_bias=False)(e)))
    d = Block(2 * ch, fft_dim // 2)(d)
    u = L.GroupNormalization(groups=-1)(ops.gelu(
        L.Conv2DTranspose(ch, 2, 2, use_bias=False)(d)))
    x = ops.concatenate([u, e], axis=-1)
    x = Block(ch, fft_dim, in_ch=x.shape[-1])(x)
    x = ops.concatenate([mix, x * first], axis=-1)
    x = L.Conv2D(ch, 1, use_bias=False, activation="gelu")(x)
    x = L.Conv2D(ninst * sub * 2, 1, use_bias=False)(x)
    x = ops.reshape(x, (-1, x.shape[1], x.shape[2] * sub, ninst, 2))
    x = ops.transpose(x, (0, 3, 1, 2, 4))
    x = ops.reshape(x, (-1, ninst, x.shape[2], x.shape[3] * 2))
    return keras.Model(i, x)


@model
def cswin_cross_shaped_attention():
    """vision/cswin_transformer: heads split in two halves, one attending within
    horizontal stripes and one within vertical stripes (img2windows reshape /
    transpose, per-window scaled dot-product with softmax, windows2img back), a
    depthwise-conv locally-enhanced positional term on V, concatenated halves."""
    H = W = 4
    C, sw = 8, 2

    class CSWinAttention(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qkv = L.Dense(3 * C)
            self.lepe = [L.DepthwiseConv2D(3, padding="same") for _ in range(2)]
            self.proj = L.Dense(C)

        def branch(self, q, k, v, hs, ws, lepe):
            c = q.shape[-1]

            def img2win(t):
                t = ops.reshape(t, (-1, H // hs, hs, W // ws, ws, c))
                t = ops.transpose(t, (0, 1, 3, 2, 4, 5))
                return ops.reshape(t, (-1, hs * ws, c))

            vimg = ops.reshape(v, (-1, H, W, c))
            le = img2win(ops.reshape(lepe(vimg), (-1, H * W, c)))
            q, k, v = img2win(q), img2win(k), img2win(v)
            att = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))) * c ** -0.5)
            o = ops.matmul(att, v) + le
            o = ops.reshape(o, (-1, H // hs, W // ws, hs, ws, c))
            o = ops.transpose(o, (0, 1, 3, 2, 4, 5))
            return ops.reshape(o, (-1, H * W, c))

        def call(self, x):
            q, k, v = ops.split(self.qkv(x), 3, axis=-1)
            h = C // 2
            a = self.branch(q[..., :h], k[..., :h], v[..., :h], sw, W, self.lepe[0])
            b = self.branch(q[..., h:], k[..., h:], v[..., h:], H, sw, self.lepe[1])
            return self.proj(ops.concatenate([a, b], axis=-1))

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(C, 7, strides=4, padding="same")(i)
    x = L.Reshape((H * W, C))(x)
    x = L.LayerNormalization()(x)
    x = x + CSWinAttention()(L.LayerNormalization()(x))
    x = x + L.Dense(C)(L.Dense(2 * C, activation="gelu")(L.LayerNormalization()(x)))
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(3)(x))
