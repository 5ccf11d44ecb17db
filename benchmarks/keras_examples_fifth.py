"""A fifth, held-out set of model definitions for ``keras_examples_probe.py``
(``--module keras_examples_fifth``), written without reading the converter: keras.io
generative and vision examples not in the other sets (pix2pix, StyleGAN2 modulated
convolution, DiT, Glow, NNCLR, SimSiam, BoTNet, CBAM, YOLO / CenterNet decoding, a
spatial transformer, capsules, DGCNN), structured-data and time-series models
(FT-Transformer, N-BEATS, Informer, Autoformer, PatchTST, DLRM, DIN), speech / text
blocks (Conformer, wav2vec 2.0 feature encoder, WaveNet, decomposable attention,
Bahdanau attention), custom RNN cells, two ``keras.applications`` backbones under a user
head, and a few harder ones (shapes read with ``ops.shape``, ``ops.top_k`` /
``ops.argsort`` / ``ops.segment_sum`` / ``ops.cumsum`` / ``ops.rfft`` /
``ops.image.extract_patches`` inside the model).

Each function builds one seeded-by-the-caller Keras model, modelled on public code
(keras.io examples, Keras guides, papers' reference code) but re-written small.
Subclassed models carry ``probe_specs``.  Nothing here is imported by graphir or its
tests.
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
# generative
# --------------------------------------------------------------------------------------

@model
def vae_conv_sampling_inference_mean():
    """generative/vae: conv encoder -> z_mean, z_log_var, a Sampling layer that draws
    eps only when training (z_mean at inference), Conv2DTranspose decoder; the three
    outputs [z_mean, z_log_var, reconstruction]."""
    class Sampling(L.Layer):
        def call(self, inputs, training=None):
            z_mean, z_log_var = inputs
            if training:
                eps = keras.random.normal(ops.shape(z_mean))
                return z_mean + ops.exp(0.5 * z_log_var) * eps
            return z_mean

    i = keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Dense(16, activation="relu")(L.Flatten()(x))
    z_mean = L.Dense(2, name="z_mean")(x)
    z_log_var = L.Dense(2, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    d = L.Dense(4 * 4 * 16, activation="relu")(z)
    d = L.Reshape((4, 4, 16))(d)
    d = L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(d)
    d = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(d)
    d = L.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")(d)
    return keras.Model(i, [z_mean, z_log_var, d])


@model
def guide_vae_subclassed_add_loss():
    """Keras guide 'Making new layers and models via subclassing', end-to-end example:
    Encoder and Decoder layers, a VariationalAutoEncoder keras.Model whose call adds the
    KL divergence with self.add_loss; Sampling returns z_mean at inference."""
    class Sampling(L.Layer):
        def call(self, inputs, training=None):
            z_mean, z_log_var = inputs
            if training:
                return z_mean + ops.exp(0.5 * z_log_var) * keras.random.normal(
                    ops.shape(z_mean))
            return z_mean

    class Encoder(L.Layer):
        def __init__(self, latent_dim=4, intermediate_dim=16, **kw):
            super().__init__(**kw)
            self.dense_proj = L.Dense(intermediate_dim, activation="relu")
            self.dense_mean = L.Dense(latent_dim)
            self.dense_log_var = L.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
            return z_mean, z_log_var, self.sampling((z_mean, z_log_var))

    class Decoder(L.Layer):
        def __init__(self, original_dim, intermediate_dim=16, **kw):
            super().__init__(**kw)
            self.dense_proj = L.Dense(intermediate_dim, activation="relu")
            self.dense_output = L.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            return self.dense_output(self.dense_proj(inputs))

    class VariationalAutoEncoder(keras.Model):
        def __init__(self, original_dim, **kw):
            super().__init__(**kw)
            self.encoder = Encoder()
            self.decoder = Decoder(original_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
            self.add_loss(kl)
            return reconstructed

    m = VariationalAutoEncoder(20)
    m(np.zeros((1, 20), "float32"))
    m.probe_specs = [((20,), "float32")]
    return m


@model
def pix2pix_unet_generator():
    """generative/pix2pix (TF tutorial, re-written in Keras 3): downsample blocks
    (Conv2D stride 2, BatchNorm, LeakyReLU), upsample blocks (Conv2DTranspose,
    BatchNorm, Dropout, ReLU) with U-Net skip concatenation, tanh output."""
    def down(f, bn=True):
        s = keras.Sequential()
        s.add(L.Conv2D(f, 4, strides=2, padding="same", use_bias=False,
                       kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02)))
        if bn:
            s.add(L.BatchNormalization())
        s.add(L.LeakyReLU(0.2))
        return s

    def up(f, dropout=False):
        s = keras.Sequential()
        s.add(L.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False))
        s.add(L.BatchNormalization())
        if dropout:
            s.add(L.Dropout(0.5))
        s.add(L.ReLU())
        return s

    i = keras.Input((32, 32, 3))
    stack_down = [down(8, bn=False), down(16), down(32), down(32)]
    stack_up = [up(32, dropout=True), up(16), up(8)]
    x, skips = i, []
    for d in stack_down:
        x = d(x)
        skips.append(x)
    for u, s in zip(stack_up, reversed(skips[:-1])):
        x = L.Concatenate()([u(x), s])
    out = L.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(i, out)


@model
def pix2pix_patchgan_discriminator():
    """generative/pix2pix PatchGAN discriminator: input and target images concatenated,
    downsampling, ZeroPadding2D, a 4x4 conv, BatchNorm, LeakyReLU, ZeroPadding2D and a
    1-channel patch logit map."""
    inp = keras.Input((32, 32, 3), name="input_image")
    tar = keras.Input((32, 32, 3), name="target_image")
    x = L.Concatenate()([inp, tar])
    x = L.LeakyReLU(0.2)(L.Conv2D(8, 4, strides=2, padding="same", use_bias=False)(x))
    x = L.Conv2D(16, 4, strides=2, padding="same", use_bias=False)(x)
    x = L.LeakyReLU(0.2)(L.BatchNormalization()(x))
    x = L.ZeroPadding2D()(x)
    x = L.Conv2D(32, 4, strides=1, use_bias=False)(x)
    x = L.LeakyReLU(0.2)(L.BatchNormalization()(x))
    x = L.ZeroPadding2D()(x)
    return keras.Model([inp, tar], L.Conv2D(1, 4, strides=1)(x))


@model
def stylegan2_modulated_conv_demod():
    """StyleGAN2 (NVlabs reference, non-fused form): a mapping MLP to w, a ModulatedConv
    custom layer scaling input channels by the style, a shared 3x3 conv via ops.conv,
    demodulation by rsqrt(sum((w*s)^2)) per sample, noise-free, plus ToRGB."""
    class ModulatedConv(L.Layer):
        def __init__(self, filters, k=3, demod=True, **kw):
            super().__init__(**kw)
            self.filters, self.k, self.demod = filters, k, demod

        def build(self, shapes):
            x_shape, w_shape = shapes
            cin = x_shape[-1]
            self.kernel = self.add_weight(shape=(self.k, self.k, cin, self.filters),
                                          initializer="random_normal")
            self.affine = L.Dense(cin, bias_initializer="ones")
            self.affine.build(w_shape)
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros")

        def call(self, inputs):
            x, w = inputs
            s = self.affine(w)                                   # (b, cin)
            x = x * s[:, None, None, :]
            y = ops.conv(x, self.kernel, padding="same")
            if self.demod:
                ws = self.kernel[None] * s[:, None, None, :, None]  # (b,k,k,cin,f)
                d = ops.rsqrt(ops.sum(ops.square(ws), axis=[1, 2, 3]) + 1e-8)
                y = y * d[:, None, None, :]
            return ops.leaky_relu(y + self.bias, 0.2)

    z = keras.Input((8,), name="z")
    feats = keras.Input((8, 8, 8), name="const_features")
    w = z * ops.rsqrt(ops.mean(ops.square(z), axis=-1, keepdims=True) + 1e-8)
    for _ in range(2):
        w = L.Dense(8)(w)
        w = L.LeakyReLU(0.2)(w)
    x = ModulatedConv(8)([feats, w])
    x = L.UpSampling2D(interpolation="bilinear")(x)
    x = ModulatedConv(8)([x, w])
    rgb = ModulatedConv(3, k=1, demod=False)([x, w])
    return keras.Model([z, feats], rgb)


@model
def dit_adaln_zero_block():
    """Diffusion Transformer (facebookresearch/DiT): Conv2D patchify, fixed 2D positions
    added, sinusoidal TimestepEmbedder (ops.exp/ops.arange/ops.cos/ops.sin) + label
    Embedding, an adaLN-Zero block (shift/scale/gate from SiLU->Dense split in 6), final
    modulated layer and unpatchify via reshape/transpose."""
    class TimestepEmbedder(L.Layer):
        def __init__(self, dim=16, freq=16, **kw):
            super().__init__(**kw)
            self.freq = freq
            self.d1, self.d2 = L.Dense(dim, activation="silu"), L.Dense(dim)

        def call(self, t):
            half = self.freq // 2
            freqs = ops.exp(-np.log(10000.0) * ops.arange(0, half, dtype="float32") / half)
            args = ops.cast(t, "float32") * freqs[None]
            emb = ops.concatenate([ops.cos(args), ops.sin(args)], axis=-1)
            return self.d2(self.d1(emb))

    class DiTBlock(L.Layer):
        def __init__(self, dim=16, heads=2, **kw):
            super().__init__(**kw)
            self.n1 = L.LayerNormalization(epsilon=1e-6, center=False, scale=False)
            self.n2 = L.LayerNormalization(epsilon=1e-6, center=False, scale=False)
            self.attn = L.MultiHeadAttention(heads, dim // heads)
            self.mlp1, self.mlp2 = L.Dense(dim * 2, activation="gelu"), L.Dense(dim)
            self.ada = L.Dense(6 * dim, kernel_initializer="random_normal")

        def call(self, x, c):
            p = ops.split(self.ada(ops.silu(c)), 6, axis=-1)
            sh_msa, sc_msa, g_msa, sh_mlp, sc_mlp, g_mlp = [t[:, None, :] for t in p]
            h = self.n1(x) * (1 + sc_msa) + sh_msa
            x = x + g_msa * self.attn(h, h)
            h = self.n2(x) * (1 + sc_mlp) + sh_mlp
            return x + g_mlp * self.mlp2(self.mlp1(h))

    size, patch, dim, cout = 16, 4, 16, 3
    g = size // patch
    img = keras.Input((size, size, cout), name="x")
    t = keras.Input((1,), name="t")
    y = keras.Input((1,), dtype="int32", name="y")
    x = L.Conv2D(dim, patch, strides=patch)(img)
    x = L.Reshape((g * g, dim))(x)
    x = x + ops.convert_to_tensor(np.sin(np.arange(g * g * dim).reshape(1, g * g, dim)
                                         / 7.0).astype("float32"))
    c = TimestepEmbedder(dim)(t) + L.Flatten()(L.Embedding(10, dim)(y))
    x = DiTBlock(dim)(x, c)
    x = DiTBlock(dim)(x, c)
    shift, scale = ops.split(L.Dense(2 * dim)(ops.silu(c)), 2, axis=-1)
    x = L.LayerNormalization(epsilon=1e-6, center=False, scale=False)(x)
    x = x * (1 + scale[:, None]) + shift[:, None]
    x = L.Dense(patch * patch * cout)(x)
    x = ops.reshape(x, (-1, g, g, patch, patch, cout))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return keras.Model([img, t, y], ops.reshape(x, (-1, size, size, cout)))


@model
def glow_squeeze_actnorm_coupling():
    """Glow (openai/glow): squeeze (space-to-depth by reshape/transpose), ActNorm with
    per-channel log-scale and bias, invertible 1x1 conv, affine coupling with
    sigmoid(scale + 2); outputs z and the summed log-determinant."""
    class Squeeze(L.Layer):
        def call(self, x):
            b, h, w, c = ops.shape(x)[0], x.shape[1], x.shape[2], x.shape[3]
            x = ops.reshape(x, (b, h // 2, 2, w // 2, 2, c))
            x = ops.transpose(x, (0, 1, 3, 5, 2, 4))
            return ops.reshape(x, (b, h // 2, w // 2, c * 4))

    class ActNorm(L.Layer):
        def build(self, s):
            self.logs = self.add_weight(shape=(s[-1],), initializer="random_normal")
            self.b = self.add_weight(shape=(s[-1],), initializer="random_normal")

        def call(self, x):
            hw = ops.cast(x.shape[1] * x.shape[2], "float32")
            return (x + self.b) * ops.exp(self.logs), hw * ops.sum(self.logs) * ops.ones(
                (ops.shape(x)[0],))

    class InvConv1x1(L.Layer):
        def build(self, s):
            c = s[-1]
            q = np.linalg.qr(np.random.RandomState(0).randn(c, c))[0].astype("float32")
            self.w = self.add_weight(shape=(c, c), initializer=keras.initializers.Constant(q))

        def call(self, x):
            hw = float(x.shape[1] * x.shape[2])
            y = ops.einsum("bhwc,cd->bhwd", x, self.w)
            _, logdet = ops.slogdet(self.w)
            return y, hw * logdet * ops.ones((ops.shape(x)[0],))

    class AffineCoupling(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.h1 = L.Conv2D(16, 3, padding="same", activation="relu")
            self.h2 = L.Conv2D(16, 1, activation="relu")

        def build(self, s):
            self.h3 = L.Conv2D(s[-1], 3, padding="same", kernel_initializer="zeros")

        def call(self, x):
            xa, xb = ops.split(x, 2, axis=-1)
            h = self.h3(self.h2(self.h1(xa)))
            shift, sraw = h[..., 0::2], h[..., 1::2]
            scale = ops.sigmoid(sraw + 2.0)
            yb = (xb + shift) * scale
            return ops.concatenate([xa, yb], -1), ops.sum(ops.log(scale), axis=[1, 2, 3])

    i = keras.Input((8, 8, 2))
    x = Squeeze()(i)
    x, l1 = ActNorm()(x)
    x, l2 = InvConv1x1()(x)
    x, l3 = AffineCoupling()(x)
    return keras.Model(i, [x, l1 + l2 + l3])


# --------------------------------------------------------------------------------------
# vision
# --------------------------------------------------------------------------------------

@model
def app_mobilenetv3small_minimalistic_head():
    """keras.applications.MobileNetV3Small(minimalistic=True, weights=None,
    include_top=False) at 32x32 (with its built-in Rescaling preprocessing) inside a
    user functional model: GlobalAveragePooling2D, Dropout, Dense softmax head."""
    base = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), include_top=False, weights=None, minimalistic=True,
        alpha=0.75)
    i = keras.Input((32, 32, 3))
    x = base(i, training=False)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.2)(x)
    return keras.Model(i, L.Dense(5, activation="softmax")(x))


@model
def app_efficientnetv2b0_head():
    """Transfer-learning guide pattern with keras.applications.EfficientNetV2B0
    (weights=None, include_top=False, include_preprocessing=True) at 32x32, frozen,
    plus a BatchNorm + Dense head and a second output of the pooled features."""
    base = keras.applications.EfficientNetV2B0(
        input_shape=(32, 32, 3), include_top=False, weights=None)
    base.trainable = False
    i = keras.Input((32, 32, 3))
    f = L.GlobalAveragePooling2D()(base(i, training=False))
    x = L.BatchNormalization()(f)
    return keras.Model(i, [L.Dense(3)(x), f])


@model
def nnclr_nearest_neighbour_head():
    """vision/nnclr: encoder + projection head, a non-trainable support-set queue,
    L2-normalised embeddings, similarity to the queue by matmul, ops.argmax and
    ops.take of the nearest neighbour (with the straight-through trick)."""
    class NearestNeighbour(L.Layer):
        def __init__(self, queue_size=12, dim=8, **kw):
            super().__init__(**kw)
            self.queue = self.add_weight(
                shape=(queue_size, dim), trainable=False,
                initializer=keras.initializers.RandomNormal(seed=1))

        def call(self, proj):
            q = ops.normalize(self.queue, axis=1)
            p = ops.normalize(proj, axis=1)
            sim = ops.matmul(p, ops.transpose(q))
            nn = ops.take(q, ops.argmax(sim, axis=1), axis=0)
            return p + ops.stop_gradient(nn - p), sim

    i = keras.Input((16, 16, 3))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = L.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(8, activation="relu")(x)
    proj = L.Dense(8)(x)
    nn, sim = NearestNeighbour()(proj)
    return keras.Model(i, [nn, sim])


@model
def simsiam_stop_gradient_heads():
    """vision/simsiam: ResNet-ish encoder, a projector of Dense(no bias)+BatchNorm+ReLU
    layers with L2 weight decay, a bottleneck predictor; outputs the predictor p and
    ops.stop_gradient(z)."""
    reg = keras.regularizers.l2(5e-4)
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", kernel_regularizer=reg)(i)
    x = L.ReLU()(L.BatchNormalization()(x))
    y = L.Conv2D(8, 3, padding="same", kernel_regularizer=reg)(x)
    y = L.BatchNormalization()(y)
    x = L.ReLU()(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(16, use_bias=False, kernel_regularizer=reg)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    z = L.BatchNormalization()(L.Dense(16, use_bias=False, kernel_regularizer=reg)(x))
    p = L.Dense(4, use_bias=False, kernel_regularizer=reg)(z)
    p = L.ReLU()(L.BatchNormalization()(p))
    p = L.Dense(16)(p)
    return keras.Model(i, [p, ops.stop_gradient(z)])


@model
def fixres_resizing_center_crop():
    """vision/fixres: test-time resolution handled in the model: Resizing with
    crop_to_aspect_ratio=True from a non-square input, CenterCrop, Rescaling, a small
    CNN with GlobalAveragePooling."""
    i = keras.Input((30, 24, 3))
    x = L.Resizing(20, 20, crop_to_aspect_ratio=True)(i)
    x = L.CenterCrop(16, 16)(x)
    x = L.Rescaling(1.0 / 127.5, offset=-1)(x)
    x = L.Conv2D(8, 3, activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(16, 3, activation="relu")(x)
    return keras.Model(i, L.Dense(4)(L.GlobalAveragePooling2D()(x)))


@model
def botnet_mhsa_relpos():
    """BoTNet (Srinivas et al. reference code): bottleneck block whose 3x3 conv is
    replaced by multi-head self-attention over an 8x8 map with learned relative
    height/width embeddings added to the keys (content-position logits q.r)."""
    class MHSA2D(L.Layer):
        def __init__(self, heads=2, dim=8, h=8, w=8, **kw):
            super().__init__(**kw)
            self.heads, self.d, self.h, self.w = heads, dim // heads, h, w
            self.qkv = L.Conv2D(3 * dim, 1, use_bias=False)

        def build(self, s):
            self.rel_h = self.add_weight(shape=(self.heads, self.d, self.h, 1),
                                         initializer="random_normal")
            self.rel_w = self.add_weight(shape=(self.heads, self.d, 1, self.w),
                                         initializer="random_normal")

        def call(self, x):
            n = self.h * self.w
            qkv = ops.reshape(self.qkv(x), (-1, n, 3, self.heads, self.d))
            q, k, v = [ops.transpose(qkv[:, :, j], (0, 2, 1, 3)) for j in range(3)]
            content = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
            r = ops.reshape(self.rel_h + self.rel_w, (self.heads, self.d, n))
            position = ops.einsum("bhnd,hdm->bhnm", q, r)
            a = ops.softmax((content + position) / np.sqrt(self.d), axis=-1)
            o = ops.transpose(ops.matmul(a, v), (0, 2, 1, 3))
            return ops.reshape(o, (-1, self.h, self.w, self.heads * self.d))

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(i)
    y = L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 1)(x)))
    y = MHSA2D()(y)
    y = L.ReLU()(L.BatchNormalization()(y))
    y = L.BatchNormalization()(L.Conv2D(16, 1)(y))
    x = L.ReLU()(L.Add()([x, y]))
    return keras.Model(i, L.Dense(4)(L.GlobalAveragePooling2D()(x)))


@model
def nonlocal_block_dynamic():
    """Non-local Neural Networks (embedded Gaussian): theta/phi/g 1x1 convs, flatten the
    unknown-size map with ops.reshape(b, -1, c), max-pooled phi/g, softmax affinity,
    reshape back with the ops.shape of the input, W conv + residual."""
    class NonLocal(L.Layer):
        def __init__(self, inter=4, **kw):
            super().__init__(**kw)
            self.inter = inter
            self.theta = L.Conv2D(inter, 1)
            self.phi = L.Conv2D(inter, 1)
            self.g = L.Conv2D(inter, 1)
            self.pool = L.MaxPooling2D(2)

        def build(self, s):
            self.w = L.Conv2D(s[-1], 1)
            self.bn = L.BatchNormalization(gamma_initializer="ones")

        def call(self, x):
            s = ops.shape(x)
            b, h, w = s[0], s[1], s[2]
            t = ops.reshape(self.theta(x), (b, -1, self.inter))
            p = ops.reshape(self.pool(self.phi(x)), (b, -1, self.inter))
            g = ops.reshape(self.pool(self.g(x)), (b, -1, self.inter))
            f = ops.softmax(ops.matmul(t, ops.transpose(p, (0, 2, 1))), axis=-1)
            y = ops.reshape(ops.matmul(f, g), (b, h, w, self.inter))
            return x + self.bn(self.w(y))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = NonLocal()(x)
    return keras.Model(i, L.Conv2D(2, 1)(x))


@model
def cbam_attention():
    """CBAM (Woo et al., reference Keras ports): channel attention from a shared MLP
    over global average and max pooled features, spatial attention from a 7x7 conv over
    the channel-wise mean and max; in a residual block."""
    class CBAM(L.Layer):
        def __init__(self, ratio=4, **kw):
            super().__init__(**kw)
            self.ratio = ratio
            self.spatial = L.Conv2D(1, 7, padding="same", activation="sigmoid")

        def build(self, s):
            c = s[-1]
            self.mlp1 = L.Dense(c // self.ratio, activation="relu")
            self.mlp2 = L.Dense(c)

        def call(self, x):
            avg = ops.mean(x, axis=[1, 2], keepdims=True)
            mx = ops.max(x, axis=[1, 2], keepdims=True)
            ca = ops.sigmoid(self.mlp2(self.mlp1(avg)) + self.mlp2(self.mlp1(mx)))
            x = x * ca
            sa = self.spatial(ops.concatenate(
                [ops.mean(x, axis=-1, keepdims=True), ops.max(x, axis=-1, keepdims=True)],
                axis=-1))
            return x * sa

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(i)
    y = L.Conv2D(16, 3, padding="same")(x)
    y = CBAM()(y)
    x = L.ReLU()(x + y)
    return keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(x)))


@model
def coordconv_add_coords_dynamic():
    """CoordConv (Liu et al., uber-research reference AddCoords): an AddCoords layer
    building normalised i/j coordinate channels (and the radius) from ops.shape of an
    unknown-size input with ops.arange, broadcast over the batch, then convs."""
    class AddCoords(L.Layer):
        def __init__(self, with_r=True, **kw):
            super().__init__(**kw)
            self.with_r = with_r

        def call(self, x):
            s = ops.shape(x)
            b, h, w = s[0], s[1], s[2]
            ii = ops.cast(ops.arange(h), "float32") / ops.cast(ops.maximum(h - 1, 1),
                                                                 "float32") * 2 - 1
            jj = ops.cast(ops.arange(w), "float32") / ops.cast(ops.maximum(w - 1, 1),
                                                                 "float32") * 2 - 1
            ic = ops.broadcast_to(ii[None, :, None, None], (b, h, w, 1))
            jc = ops.broadcast_to(jj[None, None, :, None], (b, h, w, 1))
            out = [x, ic, jc]
            if self.with_r:
                out.append(ops.sqrt(ops.square(ic) + ops.square(jc)))
            return ops.concatenate(out, axis=-1)

    i = keras.Input((None, None, 3))
    x = AddCoords()(i)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = AddCoords(with_r=False)(x)
    return keras.Model(i, L.Conv2D(2, 1)(x))


@model
def yolo_grid_decode_dynamic():
    """YOLOv3-style head (keras-yolo3 yolo_head): raw predictions reshaped to
    (b, h, w, anchors, 5 + classes) from ops.shape, grid offsets from ops.meshgrid over
    ops.arange, sigmoid(xy) + grid / grid size, exp(wh) * anchors / input size,
    sigmoid objectness and class scores."""
    anchors = np.array([[10, 13], [16, 30], [33, 23]], "float32")

    class YoloDecode(L.Layer):
        def __init__(self, num_classes=2, **kw):
            super().__init__(**kw)
            self.nc = num_classes

        def call(self, feats, image):
            s = ops.shape(feats)
            b, gh, gw = s[0], s[1], s[2]
            p = ops.reshape(feats, (b, gh, gw, 3, 5 + self.nc))
            gy, gx = ops.meshgrid(ops.arange(gh), ops.arange(gw), indexing="ij")
            grid = ops.cast(ops.stack([gx, gy], -1)[None, :, :, None, :], "float32")
            gsize = ops.cast(ops.stack([gw, gh]), "float32")
            isize = ops.cast(ops.stack([ops.shape(image)[2], ops.shape(image)[1]]),
                             "float32")
            xy = (ops.sigmoid(p[..., :2]) + grid) / gsize
            wh = ops.exp(p[..., 2:4]) * anchors / isize
            conf = ops.sigmoid(p[..., 4:5])
            cls = ops.sigmoid(p[..., 5:])
            boxes = ops.concatenate([xy - wh / 2, xy + wh / 2], -1)
            return ops.reshape(boxes, (b, -1, 4)), ops.reshape(conf * cls, (b, -1, self.nc))

    i = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2D(3 * 7, 1)(x)
    boxes, scores = YoloDecode()(x, i)
    return keras.Model(i, [boxes, scores])


@model
def centernet_heatmap_peaks_topk():
    """CenterNet (xingyizhou/CenterNet decode): sigmoid class heatmap, 3x3 max-pool NMS
    kept with ops.where(hmax == heat), flatten over (h, w, classes), ops.top_k, and the
    class / y / x recovered from the flat index with integer // and %; size and offset
    heads gathered at the peaks with ops.take_along_axis."""
    class Decode(L.Layer):
        def __init__(self, k=5, **kw):
            super().__init__(**kw)
            self.k = k

        def call(self, heat, wh):
            s = ops.shape(heat)
            b, w, c = s[0], s[2], heat.shape[-1]
            hmax = ops.max_pool(heat, 3, strides=1, padding="same")
            keep = ops.where(ops.equal(hmax, heat), heat, ops.zeros_like(heat))
            scores, idx = ops.top_k(ops.reshape(keep, (b, -1)), self.k)
            cls = idx % c
            pix = idx // c
            ys, xs = pix // w, pix % w
            whf = ops.reshape(wh, (b, -1, 2))
            sizes = ops.take_along_axis(whf, ops.expand_dims(pix, -1), axis=1)
            ctr = ops.cast(ops.stack([xs, ys], -1), "float32")
            return ops.concatenate([scores[..., None], ops.cast(cls, "float32")[..., None],
                                    ctr - sizes / 2, ctr + sizes / 2], -1)

    i = keras.Input((16, 16, 3))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(i)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    heat = L.Conv2D(3, 1, activation="sigmoid")(x)
    wh = L.Conv2D(2, 1, activation="relu")(x)
    return keras.Model(i, Decode()(heat, wh))


@model
def spatial_transformer_bilinear_sampler():
    """Spatial Transformer Networks (Jaderberg et al.; the classic Keras/TF STN code): a
    localisation net regresses theta (2x3, initialised to identity), an affine grid from
    ops.meshgrid, bilinear sampling with floor / clip / gather over the flattened image
    (ops.take on a batch-offset index) and the four corner weights."""
    class BilinearSampler(L.Layer):
        def call(self, img, theta):
            b = ops.shape(img)[0]
            h, w, c = img.shape[1], img.shape[2], img.shape[3]
            theta = ops.reshape(theta, (b, 2, 3))
            ys, xs = ops.meshgrid(ops.linspace(-1.0, 1.0, h), ops.linspace(-1.0, 1.0, w),
                                  indexing="ij")
            grid = ops.stack([ops.reshape(xs, (-1,)), ops.reshape(ys, (-1,)),
                              ops.ones((h * w,))], 0)                 # (3, hw)
            src = ops.einsum("bij,jn->bin", theta, grid)              # (b, 2, hw)
            x = (src[:, 0] + 1.0) * 0.5 * (w - 1)
            y = (src[:, 1] + 1.0) * 0.5 * (h - 1)
            x0f, y0f = ops.floor(x), ops.floor(y)
            x0 = ops.clip(ops.cast(x0f, "int32"), 0, w - 1)
            x1 = ops.clip(ops.cast(x0f, "int32") + 1, 0, w - 1)
            y0 = ops.clip(ops.cast(y0f, "int32"), 0, h - 1)
            y1 = ops.clip(ops.cast(y0f, "int32") + 1, 0, h - 1)
            flat = ops.reshape(img, (-1, c))
            base = (ops.arange(b) * (h * w))[:, None]

            def gather(yy, xx):
                return ops.take(flat, ops.reshape(base + yy * w + xx, (-1,)), axis=0)

            x0w, x1w = ops.cast(x0, "float32"), ops.cast(x1, "float32")
            y0w, y1w = ops.cast(y0, "float32"), ops.cast(y1, "float32")
            wa = ops.reshape((x1w - x) * (y1w - y), (-1, 1))
            wb = ops.reshape((x1w - x) * (y - y0w), (-1, 1))
            wc = ops.reshape((x - x0w) * (y1w - y), (-1, 1))
            wd = ops.reshape((x - x0w) * (y - y0w), (-1, 1))
            out = (wa * gather(y0, x0) + wb * gather(y1, x0) + wc * gather(y0, x1)
                   + wd * gather(y1, x1))
            return ops.reshape(out, (b, h, w, c))

    i = keras.Input((16, 16, 1))
    loc = L.MaxPooling2D()(i)
    loc = L.Conv2D(8, 3, activation="relu")(loc)
    loc = L.Flatten()(loc)
    loc = L.Dense(16, activation="relu")(loc)
    theta = L.Dense(6, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                    bias_initializer=keras.initializers.Constant([1, 0, 0, 0, 1, 0]))(loc)
    x = BilinearSampler()(i, theta)
    x = L.Conv2D(8, 3, activation="relu")(x)
    return keras.Model(i, L.Dense(10)(L.GlobalAveragePooling2D()(x)))


@model
def capsnet_dynamic_routing():
    """CapsNet (Sabour et al.; XifengGuo/CapsNet-Keras): primary capsules from a strided
    conv reshaped to 8-d vectors, squash, a CapsuleLayer with a prediction einsum and 3
    iterations of routing-by-agreement (softmax over output capsules), output lengths."""
    def squash(v, axis=-1):
        n2 = ops.sum(ops.square(v), axis=axis, keepdims=True)
        return n2 / (1 + n2) * v / ops.sqrt(n2 + 1e-7)

    class PrimaryCaps(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.conv = L.Conv2D(16, 3, strides=2, padding="valid")

        def call(self, x):
            y = self.conv(x)
            n = y.shape[1] * y.shape[2] * y.shape[3] // 8
            return squash(ops.reshape(y, (-1, n, 8)))

    class CapsuleLayer(L.Layer):
        def __init__(self, num_caps=4, dim=6, routings=3, **kw):
            super().__init__(**kw)
            self.num_caps, self.dim, self.routings = num_caps, dim, routings

        def build(self, s):
            self.W = self.add_weight(shape=(self.num_caps, s[1], self.dim, s[2]),
                                     initializer="glorot_uniform")

        def call(self, u):
            u_hat = ops.einsum("jidk,bik->bjid", self.W, u)        # (b, J, I, D)
            logits = ops.zeros_like(u_hat[..., 0])                  # (b, J, I)
            for r in range(self.routings):
                c = ops.softmax(logits, axis=1)
                v = squash(ops.einsum("bji,bjid->bjd", c, u_hat))
                if r < self.routings - 1:
                    logits = logits + ops.einsum("bjd,bjid->bji", v, u_hat)
            return v

    i = keras.Input((12, 12, 1))
    x = L.Conv2D(16, 3, activation="relu")(i)
    caps = CapsuleLayer()(PrimaryCaps()(x))
    return keras.Model(i, ops.sqrt(ops.sum(ops.square(caps), -1)))


@model
def dgcnn_edgeconv_knn():
    """DGCNN EdgeConv (WangYueFT/dgcnn): pairwise squared distances of points by matmul,
    k nearest neighbours by ops.top_k of the negative distance, neighbour features
    gathered with take_along_axis, edge features [x_i, x_j - x_i], shared MLP, max over
    neighbours; two EdgeConv layers and a global max pool."""
    class EdgeConv(L.Layer):
        def __init__(self, units, k=4, **kw):
            super().__init__(**kw)
            self.k = k
            self.mlp = L.Dense(units)
            self.bn = L.BatchNormalization()

        def call(self, x):
            inner = -2 * ops.matmul(x, ops.transpose(x, (0, 2, 1)))
            sq = ops.sum(ops.square(x), axis=-1, keepdims=True)
            dist = sq + inner + ops.transpose(sq, (0, 2, 1))
            _, idx = ops.top_k(-dist, self.k)                        # (b, n, k)
            b, n = ops.shape(x)[0], ops.shape(x)[1]
            flat = ops.reshape(idx, (b, -1, 1))
            nb = ops.take_along_axis(x, flat, axis=1)               # (b, n*k, c)
            nb = ops.reshape(nb, (b, n, self.k, x.shape[-1]))
            ctr = ops.repeat(x[:, :, None, :], self.k, axis=2)
            e = ops.concatenate([ctr, nb - ctr], -1)
            e = ops.leaky_relu(self.bn(self.mlp(e)), 0.2)
            return ops.max(e, axis=2)

    i = keras.Input((16, 3))
    x1 = EdgeConv(8)(i)
    x2 = EdgeConv(8)(x1)
    x = L.Dense(16)(L.Concatenate()([x1, x2]))
    return keras.Model(i, L.Dense(4)(L.GlobalMaxPooling1D()(x)))


@model
def sasa_local_attention_extract_patches():
    """Stand-alone self-attention (Ramachandran et al.) over 3x3 neighbourhoods with
    ops.image.extract_patches (stride 1, "same") on keys and values, a learned relative
    embedding per window position, softmax over the 9 neighbours."""
    class LocalAttention2D(L.Layer):
        def __init__(self, dim=8, k=3, **kw):
            super().__init__(**kw)
            self.dim, self.k = dim, k
            self.q, self.kv = L.Conv2D(dim, 1), L.Conv2D(2 * dim, 1)

        def build(self, s):
            self.rel = self.add_weight(shape=(self.k * self.k, self.dim),
                                       initializer="random_normal")

        def call(self, x):
            h, w = x.shape[1], x.shape[2]
            q = self.q(x)
            kv = ops.image.extract_patches(self.kv(x), (self.k, self.k), strides=1,
                                           padding="same")
            kv = ops.reshape(kv, (-1, h, w, self.k * self.k, 2 * self.dim))
            k, v = kv[..., : self.dim] + self.rel, kv[..., self.dim:]
            a = ops.softmax(ops.einsum("bhwd,bhwnd->bhwn", q, k) / np.sqrt(self.dim), -1)
            return ops.einsum("bhwn,bhwnd->bhwd", a, v)

    i = keras.Input((12, 12, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = x + LocalAttention2D()(x)
    return keras.Model(i, L.Conv2D(3, 1)(x))


# --------------------------------------------------------------------------------------
# structured data and time series
# --------------------------------------------------------------------------------------

@model
def ft_transformer_numeric_tokenizer():
    """FT-Transformer (Gorishniy et al., rtdl): a NumericalFeatureTokenizer custom layer
    (x[..., None] * W + b per feature), categorical embeddings with per-column offsets,
    a learned [CLS] token prepended by broadcast, a pre-norm transformer block, and the
    head on the CLS position."""
    class NumericalFeatureTokenizer(L.Layer):
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.dim = dim

        def build(self, s):
            self.w = self.add_weight(shape=(s[-1], self.dim), initializer="random_normal")
            self.b = self.add_weight(shape=(s[-1], self.dim), initializer="random_normal")

        def call(self, x):
            return x[..., None] * self.w + self.b

    class CLSToken(L.Layer):
        def build(self, s):
            self.cls = self.add_weight(shape=(1, 1, s[-1]), initializer="random_normal")

        def call(self, x):
            cls = ops.broadcast_to(self.cls, (ops.shape(x)[0], 1, x.shape[-1]))
            return ops.concatenate([cls, x], axis=1)

    dim = 8
    num = keras.Input((5,), name="numerical")
    cat = keras.Input((3,), dtype="int32", name="categorical")
    offsets = ops.convert_to_tensor(np.array([0, 10, 20], "int32"))
    tn = NumericalFeatureTokenizer(dim)(num)
    tc = L.Embedding(30, dim)(cat + offsets)
    x = CLSToken()(L.Concatenate(axis=1)([tn, tc]))
    h = L.LayerNormalization()(x)
    x = x + L.MultiHeadAttention(2, dim // 2, dropout=0.1)(h, h)
    h = L.LayerNormalization()(x)
    h = L.Dense(2 * dim)(h)
    a, g = ops.split(h, 2, axis=-1)
    x = x + L.Dense(dim)(a * ops.gelu(g))          # ReGLU-ish FFN as in rtdl
    y = L.ReLU()(L.LayerNormalization()(x[:, 0]))
    return keras.Model([num, cat], L.Dense(1)(y))


@model
def nbeats_trend_seasonality():
    """N-BEATS (Oreshkin et al.; the interpretable configuration): a trend stack whose
    theta is expanded by a constant polynomial basis with ops.matmul and a seasonality
    stack with a constant Fourier basis; doubly residual backcast subtraction and summed
    forecasts, plus a generic block."""
    back, fore = 16, 4

    def poly_basis(p, n):
        t = np.arange(n, dtype="float32") / n
        return np.stack([t ** i for i in range(p)]).astype("float32")

    def fourier_basis(n):
        t = np.arange(n, dtype="float32") / n
        h = [np.cos(2 * np.pi * i * t) for i in range(3)]
        h += [np.sin(2 * np.pi * i * t) for i in range(1, 3)]
        return np.stack(h).astype("float32")

    class NBeatsBlock(L.Layer):
        def __init__(self, kind, units=16, **kw):
            super().__init__(**kw)
            self.kind = kind
            self.fc = [L.Dense(units, activation="relu") for _ in range(3)]
            if kind == "trend":
                self.bb, self.bf = poly_basis(3, back), poly_basis(3, fore)
            elif kind == "seasonality":
                self.bb, self.bf = fourier_basis(back), fourier_basis(fore)
            if kind == "generic":
                self.tb, self.tf = L.Dense(back), L.Dense(fore)
            else:
                p = self.bb.shape[0]
                self.tb, self.tf = L.Dense(p, use_bias=False), L.Dense(p, use_bias=False)

        def call(self, x):
            h = x
            for f in self.fc:
                h = f(h)
            if self.kind == "generic":
                return self.tb(h), self.tf(h)
            return (ops.matmul(self.tb(h), ops.convert_to_tensor(self.bb)),
                    ops.matmul(self.tf(h), ops.convert_to_tensor(self.bf)))

    i = keras.Input((back,))
    resid, forecast = i, None
    for kind in ["trend", "trend", "seasonality", "generic"]:
        b, f = NBeatsBlock(kind)(resid)
        resid = resid - b
        forecast = f if forecast is None else forecast + f
    return keras.Model(i, forecast)


@model
def informer_probsparse_attention():
    """Informer (zhouhaoyi/Informer2020) ProbSparse self-attention, simplified and
    deterministic: the sparsity measure M = max - mean of q.k over the keys, ops.top_k
    of M picks the active queries, their one-hot rows make a mask, active queries get
    full attention and lazy ones the mean of V (ops.where), then the distilling
    Conv1D + ELU + MaxPool1D(stride 2)."""
    class ProbAttention(L.Layer):
        def __init__(self, dim=8, u=4, **kw):
            super().__init__(**kw)
            self.dim, self.u = dim, u
            self.q, self.k, self.v = L.Dense(dim), L.Dense(dim), L.Dense(dim)
            self.o = L.Dense(dim)

        def call(self, x):
            q, k, v = self.q(x), self.k(x), self.v(x)
            n = x.shape[1]
            s = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / np.sqrt(self.dim)
            m = ops.max(s, axis=-1) - ops.sum(s, axis=-1) / n
            _, top = ops.top_k(m, self.u)                            # (b, u)
            active = ops.sum(ops.one_hot(top, n), axis=1) > 0        # (b, n)
            full = ops.matmul(ops.softmax(s, -1), v)
            lazy = ops.broadcast_to(ops.mean(v, axis=1, keepdims=True), ops.shape(full))
            return self.o(ops.where(active[..., None], full, lazy))

    i = keras.Input((16, 4))
    x = L.Conv1D(8, 3, padding="same")(i)          # token embedding (circular in paper)
    x = L.LayerNormalization()(x + ProbAttention()(x))
    x = L.Conv1D(8, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ELU()(x)
    x = L.MaxPooling1D(3, strides=2, padding="same")(x)
    x = L.LayerNormalization()(x + ProbAttention(u=3)(x))
    return keras.Model(i, L.Dense(2)(L.Flatten()(x)))


@model
def autoformer_series_decomposition():
    """Autoformer (thuml/Autoformer) series_decomp: moving average by AveragePooling1D
    over a series padded by repeating its first / last step (ops.repeat +
    concatenate), residual = seasonal; an encoder layer alternating a Dense/conv
    mixing and decomposition, trend accumulated into the forecast."""
    class SeriesDecomp(L.Layer):
        def __init__(self, k=5, **kw):
            super().__init__(**kw)
            self.k = k
            self.pool = L.AveragePooling1D(k, strides=1, padding="valid")

        def call(self, x):
            p = (self.k - 1) // 2
            front = ops.repeat(x[:, :1, :], p, axis=1)
            end = ops.repeat(x[:, -1:, :], p, axis=1)
            trend = self.pool(ops.concatenate([front, x, end], axis=1))
            return x - trend, trend

    i = keras.Input((16, 3))
    seasonal, trend = SeriesDecomp()(i)
    x = L.Dense(8)(seasonal)
    a = L.MultiHeadAttention(2, 4)(x, x)
    x, t1 = SeriesDecomp()(x + a)
    y = L.Conv1D(16, 1, activation="relu")(x)
    y = L.Conv1D(8, 1)(y)
    x, t2 = SeriesDecomp()(x + y)
    trend_out = L.Dense(3)(t1 + t2) + trend
    return keras.Model(i, L.Dense(3)(x) + trend_out)


@model
def patchtst_revin_channel_independent():
    """PatchTST (yuqinie98/PatchTST) with RevIN: per-instance mean/std normalisation,
    channel independence by transposing (b, L, C) -> (b*C, L), overlapping patches by
    stacking strided slices, a transformer encoder over patches, a flatten head to the
    horizon, reshape back to (b, H, C) and RevIN denormalisation."""
    class RevIN(L.Layer):
        def build(self, s):
            self.gamma = self.add_weight(shape=(s[-1],), initializer="ones")
            self.beta = self.add_weight(shape=(s[-1],), initializer="zeros")

        def call(self, x):
            mean = ops.mean(x, axis=1, keepdims=True)
            std = ops.sqrt(ops.var(x, axis=1, keepdims=True) + 1e-5)
            return (x - mean) / std * self.gamma + self.beta, mean, std

    class Patchify(L.Layer):
        def __init__(self, patch=4, stride=2, **kw):
            super().__init__(**kw)
            self.patch, self.stride = patch, stride

        def call(self, x):                                    # (b, L, C)
            b, n, c = ops.shape(x)[0], x.shape[1], x.shape[2]
            x = ops.reshape(ops.transpose(x, (0, 2, 1)), (b * c, n))
            x = ops.concatenate([x, ops.repeat(x[:, -1:], self.stride, axis=1)], axis=1)
            starts = range(0, n + self.stride - self.patch + 1, self.stride)
            return ops.stack([x[:, s:s + self.patch] for s in starts], axis=1)

    horizon, chans = 4, 3
    i = keras.Input((16, chans))
    x, mean, std = RevIN()(i)
    p = Patchify()(x)                                         # (b*c, 8, 4)
    z = L.Dense(8)(p)
    z = z + ops.convert_to_tensor(np.random.RandomState(0).uniform(
        -0.02, 0.02, (1, p.shape[1], 8)).astype("float32"))
    a = L.MultiHeadAttention(2, 4)(z, z)
    z = L.BatchNormalization()(z + a)
    z = L.BatchNormalization()(z + L.Dense(8)(L.Dense(16, activation="gelu")(z)))
    y = L.Dense(horizon)(L.Flatten()(z))                      # (b*c, H)
    y = ops.transpose(ops.reshape(y, (-1, chans, horizon)), (0, 2, 1))
    return keras.Model(i, y * std + mean)


@model
def dlrm_dot_interaction():
    """DLRM (facebookresearch/dlrm; keras-rs DotInteraction): a bottom MLP on dense
    features, one embedding per sparse feature, all pairwise dot products by a batched
    matmul, the strictly-lower-triangle entries taken with constant flat indices,
    concatenated with the bottom output into the top MLP."""
    dense = keras.Input((6,), name="dense")
    sparse = keras.Input((3,), dtype="int32", name="sparse")
    bottom = L.Dense(8, activation="relu")(L.Dense(16, activation="relu")(dense))
    embs = [L.Embedding(12, 8)(sparse[:, j]) for j in range(3)]
    t = ops.stack([bottom] + embs, axis=1)                   # (b, 4, 8)
    inter = ops.matmul(t, ops.transpose(t, (0, 2, 1)))       # (b, 4, 4)
    rows, cols = np.tril_indices(4, k=-1)
    flat_idx = ops.convert_to_tensor((rows * 4 + cols).astype("int32"))
    pairs = ops.take(ops.reshape(inter, (-1, 16)), flat_idx, axis=1)
    x = L.Concatenate()([bottom, pairs])
    x = L.Dense(8, activation="relu")(x)
    return keras.Model([dense, sparse], L.Dense(1, activation="sigmoid")(x))


@model
def din_target_attention_masked():
    """Deep Interest Network (zhougr1993/DeepInterestNetwork): behaviour sequence
    embeddings, an activation unit MLP over [q, k, q-k, q*k] giving a weight per
    behaviour, padding ids masked with ops.where (no softmax, as in DIN), weighted
    sum pooling, concatenated with the candidate and user features."""
    class ActivationUnit(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d1 = L.Dense(16, activation="sigmoid")
            self.d2 = L.Dense(1)

        def call(self, query, keys, ids):
            q = ops.broadcast_to(query[:, None, :], ops.shape(keys))
            h = ops.concatenate([q, keys, q - keys, q * keys], -1)
            w = ops.squeeze(self.d2(self.d1(h)), -1)             # (b, n)
            w = ops.where(ops.not_equal(ids, 0), w, ops.zeros_like(w))
            return ops.sum(w[..., None] * keys, axis=1)

    hist = keras.Input((8,), dtype="int32", name="history")
    cand = keras.Input((1,), dtype="int32", name="candidate")
    user = keras.Input((4,), name="user_features")
    item_emb = L.Embedding(20, 8)
    k = item_emb(hist)
    q = ops.squeeze(item_emb(cand), 1)
    pooled = ActivationUnit()(q, k, hist)
    x = L.Concatenate()([pooled, q, user])
    x = L.BatchNormalization()(x)
    x = L.PReLU()(L.Dense(16)(x))
    return keras.Model([hist, cand, user], L.Dense(1, activation="sigmoid")(x))


@model
def fft_amplitude_topk_features():
    """TimesNet (thuml/Time-Series-Library FFT_for_Period), the part that stays static:
    ops.rfft over the time axis (channels moved first), amplitude sqrt(re^2 + im^2)
    averaged over channels, ops.top_k frequencies and a softmax over their amplitudes
    weighting per-frequency projected features."""
    class FFTPeriodFeatures(L.Layer):
        def __init__(self, k=3, **kw):
            super().__init__(**kw)
            self.k = k
            self.proj = L.Dense(8)

        def call(self, x):                                    # (b, T, C)
            re, im = ops.rfft(ops.transpose(x, (0, 2, 1)))       # (b, C, T//2+1)
            amp = ops.sqrt(re * re + im * im + 1e-12)
            freq_amp = ops.mean(amp, axis=1)                       # (b, F)
            freq_amp = freq_amp[:, 1:]                             # drop the DC term
            vals, idx = ops.top_k(freq_amp, self.k)
            w = ops.softmax(vals, axis=-1)
            feats = self.proj(ops.transpose(amp[:, :, 1:], (0, 2, 1)))  # (b, F, 8)
            picked = ops.take_along_axis(feats, idx[..., None], axis=1)
            return ops.sum(picked * w[..., None], axis=1), ops.cast(idx + 1, "float32")

    i = keras.Input((16, 3))
    f, periods = FFTPeriodFeatures()(i)
    x = L.Concatenate()([f, L.GlobalAveragePooling1D()(L.Conv1D(8, 3)(i))])
    return keras.Model(i, [L.Dense(2)(x), periods])


@model
def deepsets_segment_sum_pooling():
    """DeepSets / soft-cluster pooling with ops.segment_sum: each element of a set is
    assigned a cluster by ops.argmax, a global segment id b * K + cluster is built from
    ops.arange over the batch, ops.segment_sum over the flattened elements with
    num_segments computed from the batch size, reshape to (b, K * d)."""
    class ClusterSum(L.Layer):
        def __init__(self, clusters=3, **kw):
            super().__init__(**kw)
            self.k = clusters
            self.assign = L.Dense(clusters)

        def call(self, x):
            b, d = ops.shape(x)[0], x.shape[2]
            cid = ops.argmax(self.assign(x), axis=-1)             # (b, n)
            seg = ops.arange(b)[:, None] * self.k + ops.cast(cid, "int32")
            s = ops.segment_sum(ops.reshape(x, (-1, d)), ops.reshape(seg, (-1,)),
                                num_segments=b * self.k)
            return ops.reshape(s, (b, self.k * d))

    i = keras.Input((10, 4))
    phi = L.Dense(8, activation="relu")(L.Dense(8, activation="relu")(i))
    x = ClusterSum()(phi)
    return keras.Model(i, L.Dense(2)(L.Dense(8, activation="relu")(x)))


@model
def sort_pooling_dgcnn():
    """DGCNN SortPooling (Zhang et al. 2018, 'An End-to-End Deep Learning Architecture
    for Graph Classification'): node features from a dense graph convolution
    (A_hat @ X @ W with a normalised adjacency input), nodes sorted by the last channel
    with ops.argsort (descending), the top k kept by take_along_axis, Conv1D head."""
    class GraphConv(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.dense = L.Dense(units, use_bias=False)

        def call(self, x, a):
            a = a + ops.eye(ops.shape(a)[-1])[None]
            deg = ops.sum(a, axis=-1, keepdims=True)
            return ops.tanh(ops.matmul(a / deg, self.dense(x)))

    class SortPooling(L.Layer):
        def __init__(self, k=6, **kw):
            super().__init__(**kw)
            self.k = k

        def call(self, x):
            order = ops.argsort(-x[..., -1], axis=-1)[:, : self.k]
            return ops.take_along_axis(x, order[..., None], axis=1)

    x_in = keras.Input((10, 4), name="node_features")
    a_in = keras.Input((10, 10), name="adjacency")
    a = ops.abs(a_in)                      # any non-negative weighted adjacency
    h1 = GraphConv(8)(x_in, a)
    h2 = GraphConv(8)(h1, a)
    h3 = GraphConv(1)(h2, a)
    h = L.Concatenate()([h1, h2, h3])
    x = SortPooling()(h)
    x = L.Conv1D(8, 2, activation="relu")(x)
    x = L.MaxPooling1D(2)(x)
    return keras.Model([x_in, a_in], L.Dense(2)(L.Flatten()(x)))


# --------------------------------------------------------------------------------------
# speech, audio and text
# --------------------------------------------------------------------------------------

@model
def conformer_block_glu_macaron():
    """Conformer (Gulati et al.; keras.io-style ports): macaron half-step FFNs with
    swish, MHSA, a convolution module of pointwise conv -> GLU (ops.split + sigmoid) ->
    DepthwiseConv1D -> BatchNorm -> swish -> pointwise conv, final LayerNorm, over a
    variable number of frames."""
    class ConformerBlock(L.Layer):
        def __init__(self, dim=8, heads=2, k=5, **kw):
            super().__init__(**kw)
            self.ff1 = [L.LayerNormalization(), L.Dense(4 * dim, activation="swish"),
                        L.Dropout(0.1), L.Dense(dim)]
            self.ff2 = [L.LayerNormalization(), L.Dense(4 * dim, activation="swish"),
                        L.Dropout(0.1), L.Dense(dim)]
            self.ln_att = L.LayerNormalization()
            self.att = L.MultiHeadAttention(heads, dim // heads)
            self.ln_conv = L.LayerNormalization()
            self.pw1 = L.Conv1D(2 * dim, 1)
            self.dw = L.DepthwiseConv1D(k, padding="same")
            self.bn = L.BatchNormalization()
            self.pw2 = L.Conv1D(dim, 1)
            self.ln_out = L.LayerNormalization()

        @staticmethod
        def _seq(layers, x):
            for layer in layers:
                x = layer(x)
            return x

        def call(self, x):
            x = x + 0.5 * self._seq(self.ff1, x)
            h = self.ln_att(x)
            x = x + self.att(h, h)
            h = self.pw1(self.ln_conv(x))
            a, g = ops.split(h, 2, axis=-1)
            h = a * ops.sigmoid(g)
            h = ops.swish(self.bn(self.dw(h)))
            x = x + self.pw2(h)
            x = x + 0.5 * self._seq(self.ff2, x)
            return self.ln_out(x)

    i = keras.Input((None, 10))
    x = L.Conv1D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = ConformerBlock()(x)
    x = ConformerBlock()(x)
    return keras.Model(i, L.Dense(6)(x))


@model
def wav2vec_feature_encoder_groupnorm():
    """wav2vec 2.0 (fairseq / HF TFWav2Vec2): raw waveform (b, T, 1) through a strided
    Conv1D stack, GroupNormalization(groups=channels) after the first conv, GELU;
    feature projection (LayerNorm + Dense), a grouped Conv1D positional embedding with
    even kernel whose last frame is dropped, added, LayerNorm."""
    class PositionalConvEmbedding(L.Layer):
        def __init__(self, dim, k=4, groups=2, **kw):
            super().__init__(**kw)
            self.k = k
            self.conv = L.Conv1D(dim, k, padding="valid", groups=groups)

        def call(self, x):
            p = self.k // 2
            y = self.conv(ops.pad(x, [[0, 0], [p, p], [0, 0]]))
            return ops.gelu(y[:, :-1])           # remove the extra frame (even kernel)

    i = keras.Input((None, 1))
    x = L.Conv1D(8, 5, strides=3, use_bias=False)(i)
    x = ops.gelu(L.GroupNormalization(groups=8)(x))
    x = ops.gelu(L.Conv1D(8, 3, strides=2, use_bias=False)(x))
    x = ops.gelu(L.Conv1D(8, 2, strides=1, use_bias=False)(x))
    x = L.Dense(16)(L.LayerNormalization(epsilon=1e-5)(x))
    x = x + PositionalConvEmbedding(16)(x)
    x = L.LayerNormalization(epsilon=1e-5)(x)
    return keras.Model(i, x)


@model
def mlm_tied_embedding_custom_matmul():
    """nlp/masked_language_modeling (BERT-ish), with the output projection tied to the
    input embedding by a custom layer computing
    ops.matmul(x, ops.transpose(self.emb.embeddings)) + bias; sinusoid-free learned
    positions from ops.arange; one post-norm encoder block."""
    class TiedLMHead(L.Layer):
        def __init__(self, emb, **kw):
            super().__init__(**kw)
            self.emb = emb
            self.dense = L.Dense(emb.output_dim, activation="gelu")
            self.ln = L.LayerNormalization(epsilon=1e-12)

        def build(self, s):
            self.bias = self.add_weight(shape=(self.emb.input_dim,), initializer="zeros")

        def call(self, x):
            h = self.ln(self.dense(x))
            return ops.matmul(h, ops.transpose(self.emb.embeddings)) + self.bias

    class PosEmb(L.Layer):
        def __init__(self, maxlen, dim, **kw):
            super().__init__(**kw)
            self.pos = L.Embedding(maxlen, dim)

        def call(self, x):
            return x + self.pos(ops.arange(ops.shape(x)[1]))

    i = keras.Input((12,), dtype="int32")
    emb = L.Embedding(24, 8)
    x = PosEmb(12, 8)(emb(i))
    a = L.MultiHeadAttention(2, 4)(x, x)
    x = L.LayerNormalization(epsilon=1e-6)(x + a)
    f = L.Dense(8)(L.Dense(16, activation="relu")(x))
    x = L.LayerNormalization(epsilon=1e-6)(x + f)
    return keras.Model(i, L.Softmax()(TiedLMHead(emb)(x)))


@model
def wavenet_gated_residual_skip():
    """WaveNet (DeepMind paper; keras community implementations): causal dilated
    Conv1D with dilations 1,2,4,8, gated activation tanh(f) * sigmoid(g) with a global
    conditioning vector added to both, residual 1x1 and skip 1x1 paths, summed skips
    -> ReLU -> 1x1 -> softmax over 16 quantisation bins."""
    audio = keras.Input((None, 1), name="audio")
    cond = keras.Input((3,), name="speaker")
    x = L.Conv1D(8, 2, padding="causal")(audio)
    skips = []
    for d in [1, 2, 4, 8]:
        f = L.Conv1D(8, 2, dilation_rate=d, padding="causal")(x)
        g = L.Conv1D(8, 2, dilation_rate=d, padding="causal")(x)
        f = f + L.Dense(8)(cond)[:, None, :]
        g = g + L.Dense(8)(cond)[:, None, :]
        z = ops.tanh(f) * ops.sigmoid(g)
        skips.append(L.Conv1D(8, 1)(z))
        x = x + L.Conv1D(8, 1)(z)
    s = L.ReLU()(L.Add()(skips))
    s = L.Conv1D(8, 1, activation="relu")(s)
    return keras.Model([audio, cond], L.Conv1D(16, 1, activation="softmax")(s))


@model
def decomposable_attention_nli():
    """Decomposable Attention for NLI (Parikh et al.; the classic Keras implementation):
    premise and hypothesis ids, attend (F MLP, e = a b^T with padded positions set to
    -1e9 via ops.where), soft alignments beta/alpha, compare (G MLP on [a, beta]),
    masked sum aggregation, H classifier."""
    class SoftAlign(L.Layer):
        def call(self, a, b, ma, mb):
            e = ops.einsum("bid,bjd->bij", a, b)
            eb = ops.where(mb[:, None, :], e, -1e9)
            ea = ops.where(ma[:, :, None], e, -1e9)
            beta = ops.einsum("bij,bjd->bid", ops.softmax(eb, axis=2), b)
            alpha = ops.einsum("bij,bid->bjd", ops.softmax(ea, axis=1), a)
            return beta, alpha

    p_in = keras.Input((10,), dtype="int32", name="premise")
    h_in = keras.Input((8,), dtype="int32", name="hypothesis")
    emb = L.Embedding(30, 8)
    f1, f2 = L.Dense(8, activation="relu"), L.Dense(8, activation="relu")
    g1, g2 = L.Dense(8, activation="relu"), L.Dense(8, activation="relu")

    def F(t):
        return f2(f1(t))

    def G(t):
        return g2(g1(t))

    a, b = emb(p_in), emb(h_in)
    ma, mb = ops.not_equal(p_in, 0), ops.not_equal(h_in, 0)
    beta, alpha = SoftAlign()(F(a), F(b), ma, mb)
    va = G(ops.concatenate([a, beta], -1)) * ops.cast(ma, "float32")[..., None]
    vb = G(ops.concatenate([b, alpha], -1)) * ops.cast(mb, "float32")[..., None]
    v = ops.concatenate([ops.sum(va, 1), ops.sum(vb, 1)], -1)
    v = L.Dense(8, activation="relu")(v)
    return keras.Model([p_in, h_in], L.Dense(3, activation="softmax")(v))


@model
def bahdanau_attention_decoder():
    """TensorFlow NMT-with-attention tutorial, in Keras 3: a GRU encoder returning
    sequences and state, a BahdanauAttention custom layer (W1 q + W2 values -> tanh ->
    V -> softmax over time), context concatenated with the decoder input embedding for
    a one-step GRU decoder with initial_state; returns logits and attention weights."""
    class BahdanauAttention(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.W1, self.W2, self.V = L.Dense(units), L.Dense(units), L.Dense(1)

        def call(self, query, values):
            score = self.V(ops.tanh(self.W1(query[:, None, :]) + self.W2(values)))
            w = ops.softmax(score, axis=1)
            return ops.sum(w * values, axis=1), w

    src = keras.Input((None,), dtype="int32", name="source")
    tgt = keras.Input((1,), dtype="int32", name="target_token")
    enc_out, enc_state = L.GRU(8, return_sequences=True, return_state=True)(
        L.Embedding(20, 8)(src))
    ctx, w = BahdanauAttention(8)(enc_state, enc_out)
    d = L.Embedding(20, 8)(tgt)
    d = ops.concatenate([ctx[:, None, :], d], axis=-1)
    out, state = L.GRU(8, return_state=True)(d, initial_state=enc_state)
    return keras.Model([src, tgt], [L.Dense(20)(out), ops.squeeze(w, -1), state])


@model
def average_attention_network_cumsum():
    """Average Attention Network (Zhang et al. 2018, fast Transformer decoding): the
    cumulative average of the previous positions by ops.cumsum divided by the positions
    from ops.arange over an unknown length, an FFN, and the input/forget gating of the
    paper, inside a residual decoder layer."""
    class AverageAttention(L.Layer):
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.ffn1, self.ffn2 = L.Dense(2 * dim, activation="relu"), L.Dense(dim)
            self.gates = L.Dense(2 * dim)
            self.ln = L.LayerNormalization()

        def call(self, x):
            n = ops.shape(x)[1]
            steps = ops.cast(ops.arange(1, n + 1), x.dtype)[None, :, None]
            avg = ops.cumsum(x, axis=1) / steps
            g = self.ffn2(self.ffn1(avg))
            i_gate, f_gate = ops.split(ops.sigmoid(self.gates(ops.concatenate([x, g], -1))),
                                       2, axis=-1)
            return self.ln(x + i_gate * x + f_gate * g)

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(20, 8)(i)
    x = AverageAttention(8)(x)
    x = AverageAttention(8)(x)
    return keras.Model(i, L.Dense(20)(x))


# --------------------------------------------------------------------------------------
# recurrent (Keras RNN guide)
# --------------------------------------------------------------------------------------

@model
def bidirectional_merge_modes_initial_state():
    """Keras guide 'Working with RNNs': a Bidirectional LSTM encoder (merge_mode="mul")
    returning its four states, forward/backward states averaged into the initial state
    of a decoder LSTM over a second static-length input, and Bidirectional GRU with
    merge_mode="ave" over the decoder output."""
    enc_in = keras.Input((8, 5), name="encoder_in")
    dec_in = keras.Input((6, 4), name="decoder_in")
    enc_seq, fh, fc, bh, bc = L.Bidirectional(
        L.LSTM(6, return_sequences=True, return_state=True), merge_mode="mul")(enc_in)
    h, c = L.Average()([fh, bh]), L.Average()([fc, bc])
    dec = L.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    dec = L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="ave")(dec)
    pooled = L.GlobalMaxPooling1D()(enc_seq)
    return keras.Model([enc_in, dec_in], [L.TimeDistributed(L.Dense(3))(dec), pooled])


@model
def stacked_rnn_cells_unrolled_static():
    """Keras RNN guide 'RNN layers and RNN cells': keras.layers.RNN over
    StackedRNNCells([SimpleRNNCell, GRUCell, LSTMCell]) with unroll=True on a static
    length, return_sequences and return_state."""
    cells = L.StackedRNNCells([L.SimpleRNNCell(6), L.GRUCell(6), L.LSTMCell(4)])
    i = keras.Input((7, 3))
    outs = L.RNN(cells, return_sequences=True, return_state=True, unroll=True)(i)
    seq, states = outs[0], outs[1:]
    last = L.Concatenate()(list(keras.tree.flatten(states)))
    return keras.Model(i, [L.Dense(2)(seq), last])


@model
def layernorm_lstm_cell_custom():
    """A user-written layer-normalised LSTM cell (Ba et al.; TF-Addons
    LayerNormLSTMCell re-written for Keras 3): separate LayerNorms on the input and
    recurrent projections of the 4 gates and on the cell, wrapped in keras.layers.RNN
    over an unknown number of steps, return_state."""
    class LayerNormLSTMCell(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units
            self.state_size = [units, units]
            self.output_size = units
            self.ln_x = L.LayerNormalization()
            self.ln_h = L.LayerNormalization()
            self.ln_c = L.LayerNormalization()

        def build(self, s):
            self.kx = self.add_weight(shape=(s[-1], 4 * self.units), initializer="glorot_uniform")
            self.kh = self.add_weight(shape=(self.units, 4 * self.units),
                                      initializer="orthogonal")
            self.b = self.add_weight(shape=(4 * self.units,), initializer="zeros")
            self.ln_x.build((None, 4 * self.units))
            self.ln_h.build((None, 4 * self.units))
            self.ln_c.build((None, self.units))

        def call(self, x, states):
            h, c = states
            z = self.ln_x(ops.matmul(x, self.kx)) + self.ln_h(ops.matmul(h, self.kh)) + self.b
            i, f, g, o = ops.split(z, 4, axis=-1)
            c = ops.sigmoid(f + 1.0) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(self.ln_c(c))
            return h, [h, c]

    i = keras.Input((None, 4))
    seq, h, c = L.RNN(LayerNormLSTMCell(6), return_sequences=True, return_state=True)(i)
    return keras.Model(i, [L.Dense(2)(seq), h + c])


# --------------------------------------------------------------------------------------
# subclassed models
# --------------------------------------------------------------------------------------

@model
def subclassed_dueling_dqn():
    """Dueling DQN (Wang et al.; rl/deep_q_network_breakout re-written as a keras.Model
    subclass as in 'Customizing what happens in fit'): a conv torso, value and
    advantage streams, Q = V + A - mean(A)."""
    class DuelingQNet(keras.Model):
        def __init__(self, actions=4):
            super().__init__()
            self.c1 = L.Conv2D(8, 4, strides=2, activation="relu")
            self.c2 = L.Conv2D(16, 3, strides=2, activation="relu")
            self.flat = L.Flatten()
            self.v1, self.v2 = L.Dense(16, activation="relu"), L.Dense(1)
            self.a1, self.a2 = L.Dense(16, activation="relu"), L.Dense(actions)

        def call(self, frames):
            x = self.flat(self.c2(self.c1(frames / 255.0)))
            v = self.v2(self.v1(x))
            a = self.a2(self.a1(x))
            return v + a - ops.mean(a, axis=1, keepdims=True)

    m = DuelingQNet()
    m(np.zeros((1, 16, 16, 2), "float32"))
    m.probe_specs = [((16, 16, 2), "float32")]
    return m


@model
def subclassed_seq2seq_dict_outputs():
    """Character-level seq2seq (keras.io nlp/lstm_seq2seq) written as a keras.Model
    subclass: a list of (encoder ids, decoder ids) of unknown lengths, Embedding
    (mask_zero=True), the encoder LSTM states passed as the decoder's initial_state,
    dict outputs {"logits", "state_h"}."""
    class Seq2Seq(keras.Model):
        def __init__(self, vocab=16, units=8):
            super().__init__()
            self.enc_emb = L.Embedding(vocab, 6, mask_zero=True)
            self.dec_emb = L.Embedding(vocab, 6, mask_zero=True)
            self.encoder = L.LSTM(units, return_state=True)
            self.decoder = L.LSTM(units, return_sequences=True, return_state=True)
            self.out = L.Dense(vocab)

        def call(self, inputs):
            enc_ids, dec_ids = inputs
            _, h, c = self.encoder(self.enc_emb(enc_ids))
            seq, h2, _ = self.decoder(self.dec_emb(dec_ids), initial_state=[h, c])
            return {"logits": self.out(seq), "state_h": h2}

    m = Seq2Seq()
    m([np.ones((1, 5), "int32"), np.ones((1, 4), "int32")])
    m.probe_specs = [((None,), "int32"), ((None,), "int32")]
    return m
