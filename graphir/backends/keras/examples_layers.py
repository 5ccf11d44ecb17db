"""One small seeded model per everyday Keras layer family beyond ``keras.applications``:
1-D and 3-D convolutions and pooling, transposed convolutions, separable and
depthwise 1-D convolutions, upsampling, adaptive pooling, cropping and padding, global pooling,
LayerNormalization on sequences, Embedding, attention, the recurrent layers and
their wrappers (Bidirectional, TimeDistributed), RepeatVector and the activation
layers.

As in :mod:`~graphir.backends.keras.examples`, every builder calls
``keras.utils.set_random_seed``, names every layer (Keras' default names depend on a
process-wide counter), and then gives the variables Keras initializes to constants
seeded random values (biases, PReLU slopes: N(0, 0.1) / N(0, 0.3); normalization gains
and variances U(0.5, 1.5)), so that a dropped or misplaced one changes the outputs.
:func:`graphir.backends.keras.zoo.example_models` includes these models.
"""

from __future__ import annotations

from itertools import count
from typing import Callable

import keras
import numpy as np
from keras import layers as L

__all__ = ["layer_family_examples"]

SEED = 7


def _namer() -> Callable[[str], str]:
    """``name("conv") -> "conv_0", "conv_1", ...`` (one counter per builder call)."""
    counter = count()
    return lambda kind: f"{kind}_{next(counter)}"


def _finish(inputs, outputs, name: str) -> keras.Model:
    """The model, with seeded values for the variables Keras initializes to constants."""
    model = keras.Model(inputs, outputs, name=name)
    rng = np.random.default_rng(SEED)
    for v in model.weights:
        leaf = v.path.rsplit("/", 1)[-1]
        shape = tuple(v.shape)
        if leaf in ("bias", "beta", "moving_mean", "alpha"):
            v.assign(rng.normal(0.0, 0.3 if leaf == "alpha" else 0.1, shape).astype(v.dtype))
        elif leaf in ("gamma", "moving_variance"):
            v.assign(rng.uniform(0.5, 1.5, shape).astype(v.dtype))
    return model


def conv1d_and_pooling() -> keras.Model:
    """Conv1D (same + dilation, causal, strided + grouped), 1-D max/average pooling,
    global 1-D max/average pooling."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((24, 3), name="signal")
    y = L.Conv1D(6, 3, padding="same", dilation_rate=2, activation="relu", name=n("conv"))(x)
    y = L.MaxPooling1D(2, name=n("max_pool"))(y)
    y = L.Conv1D(6, 3, padding="causal", name=n("conv"))(y)
    y = L.BatchNormalization(name=n("bn"))(y)
    y = L.AveragePooling1D(3, strides=2, padding="same", name=n("avg_pool"))(y)
    y = L.Conv1D(4, 2, strides=2, groups=2, name=n("conv"))(y)
    a = L.GlobalAveragePooling1D(name=n("gap"))(y)
    b = L.GlobalMaxPooling1D(name=n("gmp"))(y)
    out = L.Dense(3, name=n("dense"))(L.Concatenate(name=n("concat"))([a, b]))
    return _finish(x, out, "conv1d_and_pooling")


def conv3d_and_pooling() -> keras.Model:
    """Conv3D, 3-D max/average pooling, global 3-D max/average pooling."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((6, 8, 8, 2), name="volume")
    y = L.Conv3D(4, 3, padding="same", activation="relu", name=n("conv"))(x)
    y = L.MaxPooling3D(2, name=n("max_pool"))(y)
    y = L.Conv3D(5, (1, 2, 2), strides=(1, 2, 1), name=n("conv"))(y)
    y = L.AveragePooling3D((1, 2, 2), padding="same", name=n("avg_pool"))(y)
    a = L.GlobalAveragePooling3D(name=n("gap"))(y)
    b = L.GlobalMaxPooling3D(name=n("gmp"))(y)
    return _finish(x, L.Concatenate(name=n("concat"))([a, b]), "conv3d_and_pooling")


def conv_transpose() -> keras.Model:
    """Conv2DTranspose (strided same, valid with unequal strides), Conv1DTranspose,
    Conv3DTranspose."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x2 = keras.Input((5, 5, 3), name="image")
    x1 = keras.Input((7, 2), name="signal")
    x3 = keras.Input((3, 4, 4, 2), name="volume")
    y2 = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu",
                           name=n("deconv"))(x2)
    y2 = L.Conv2DTranspose(2, (2, 3), strides=(1, 2), padding="valid", name=n("deconv"))(y2)
    y1 = L.Conv1DTranspose(3, 3, strides=2, padding="same", name=n("deconv"))(x1)
    y3 = L.Conv3DTranspose(2, 2, strides=2, name=n("deconv"))(x3)
    return _finish([x2, x1, x3], [y2, y1, y3], "conv_transpose")


def separable_conv() -> keras.Model:
    """SeparableConv1D, DepthwiseConv1D, SeparableConv2D."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x1, x2 = keras.Input((16, 4), name="signal"), keras.Input((10, 10, 3), name="image")
    y1 = L.SeparableConv1D(5, 3, padding="same", depth_multiplier=2, activation="relu",
                           name=n("sep"))(x1)
    y1 = L.DepthwiseConv1D(3, strides=2, name=n("dw"))(y1)
    y2 = L.SeparableConv2D(4, 3, strides=2, padding="same", name=n("sep"))(x2)
    return _finish([x1, x2], [y1, y2], "separable_conv")


def upsampling() -> keras.Model:
    """UpSampling1D, UpSampling2D (nearest and bilinear), UpSampling3D, Resizing (bicubic)
    and CenterCrop."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x1, x2 = keras.Input((5, 3), name="signal"), keras.Input((4, 5, 2), name="image")
    x3 = keras.Input((2, 3, 3, 2), name="volume")
    y1 = L.UpSampling1D(3, name=n("up"))(x1)
    y2 = L.UpSampling2D((2, 3), name=n("up"))(x2)
    y2b = L.UpSampling2D(2, interpolation="bilinear", name=n("up"))(x2)
    y3 = L.UpSampling3D((2, 1, 2), name=n("up"))(x3)
    y2c = L.Resizing(7, 3, interpolation="bicubic", name=n("resize"))(x2)
    y2d = L.CenterCrop(3, 4, name=n("center_crop"))(x2)
    return _finish([x1, x2, x3], [y1, y2, y2b, y3, y2c, y2d], "upsampling")


def adaptive_pooling() -> keras.Model:
    """AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D (bins of unequal sizes)."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x1, x2 = keras.Input((7, 3), name="signal"), keras.Input((5, 7, 2), name="image")
    x3 = keras.Input((4, 5, 3, 2), name="volume")
    outs = [L.AdaptiveAveragePooling1D(3, name=n("aap"))(x1),
            L.AdaptiveMaxPooling1D(2, name=n("amp"))(x1),
            L.AdaptiveAveragePooling2D((2, 3), name=n("aap"))(x2),
            L.AdaptiveMaxPooling2D((3, 2), name=n("amp"))(x2),
            L.AdaptiveAveragePooling3D((2, 3, 2), name=n("aap"))(x3),
            L.AdaptiveMaxPooling3D(2, name=n("amp"))(x3)]
    return _finish([x1, x2, x3], outs, "adaptive_pooling")


def cropping_and_padding() -> keras.Model:
    """ZeroPadding1D/2D/3D followed by Cropping1D/2D/3D."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x1, x2 = keras.Input((12, 3), name="signal"), keras.Input((9, 8, 2), name="image")
    x3 = keras.Input((5, 6, 7, 2), name="volume")
    y1 = L.Cropping1D((2, 3), name=n("crop"))(L.ZeroPadding1D((1, 2), name=n("pad"))(x1))
    y2 = L.Cropping2D(((1, 2), (0, 3)), name=n("crop"))(L.ZeroPadding2D((2, 1), name=n("pad"))(x2))
    y3 = L.Cropping3D(((1, 0), (2, 1), (0, 2)), name=n("crop"))(
        L.ZeroPadding3D(1, name=n("pad"))(x3))
    return _finish([x1, x2, x3], [y1, y2, y3], "cropping_and_padding")


def global_pooling_2d() -> keras.Model:
    """GlobalMaxPooling2D and GlobalAveragePooling2D(keepdims=True)."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((6, 7, 4), name="image")
    a = L.GlobalMaxPooling2D(name=n("gmp"))(x)
    b = L.Flatten(name=n("flat"))(L.GlobalAveragePooling2D(keepdims=True, name=n("gap"))(x))
    return _finish(x, L.Add(name=n("add"))([a, b]), "global_pooling_2d")


def sequence_normalization() -> keras.Model:
    """LayerNormalization on a sequence: last axis, and axes (1, 2)."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((5, 8), name="sequence")
    y = L.LayerNormalization(name=n("ln"))(L.Dense(8, name=n("dense"))(x))
    y = L.LayerNormalization(axis=[1, 2], epsilon=1e-3, name=n("ln"))(y)
    return _finish(x, y, "sequence_normalization")


def transformer_block() -> keras.Model:
    """Embedding, self-attention (MultiHeadAttention) with a residual LayerNormalization,
    cross-attention with value_dim and output_shape, causal attention without biases,
    Attention and AdditiveAttention."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    memory = keras.Input((4, 10), name="memory")
    x = L.Embedding(20, 8, name=n("embed"))(tokens)
    h = L.MultiHeadAttention(num_heads=2, key_dim=4, name=n("self_att"))(x, x)
    h = L.LayerNormalization(name=n("ln"))(L.Add(name=n("add"))([x, h]))
    c = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=3, output_shape=5,
                             name=n("cross_att"))(h, memory)
    causal = L.MultiHeadAttention(num_heads=2, key_dim=3, use_bias=False,
                                  name=n("causal_att"))(h, h, use_causal_mask=True)
    dot = L.Attention(use_scale=True, name=n("dot_att"))([h, h])
    additive = L.AdditiveAttention(name=n("add_att"))([h, h])
    return _finish([tokens, memory], [c, causal, dot, additive], "transformer_block")


def _recurrent(cls: type, name: str) -> Callable[[], keras.Model]:
    def build() -> keras.Model:
        keras.utils.set_random_seed(SEED)
        n = _namer()
        x = keras.Input((5, 3), name="sequence")
        seq = cls(4, return_sequences=True, name=n("rnn"))(x)
        last = cls(3, go_backwards=True, name=n("rnn"))(seq)
        return _finish(x, [seq, last], name)
    build.__name__ = name
    build.__doc__ = (f"{cls.__name__} with return_sequences=True, then one with "
                     f"go_backwards=True returning the last step.")
    return build


def bidirectional() -> keras.Model:
    """Bidirectional LSTM (concat, sequences), GRU (sum), SimpleRNN (ave), on an input
    with any number of time steps."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((None, 3), name="sequence")
    y = L.Bidirectional(L.LSTM(4, return_sequences=True), name=n("bi"))(x)
    y = L.Bidirectional(L.GRU(3), merge_mode="sum", name=n("bi"))(y)
    z = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="ave",
                        name=n("bi"))(x)
    return _finish(x, [y, z], "bidirectional")


def recurrent_states() -> keras.Model:
    """The keras.io character-level seq2seq: an encoder LSTM returning its states, a
    decoder LSTM started from them (``initial_state``); a generic ``RNN`` of a
    ``GRUCell`` and a Bidirectional SimpleRNN returning its states (``h`` per direction)."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    source = keras.Input((None, 3), name="source")
    target = keras.Input((None, 2), name="target")
    _, h, c = L.LSTM(4, return_state=True, name=n("encoder"))(source)
    decoded = L.LSTM(4, return_sequences=True, name=n("decoder"))(target, initial_state=[h, c])
    probs = L.Dense(2, activation="softmax", name=n("dense"))(decoded)
    cells = L.RNN(L.GRUCell(3), return_sequences=True, name=n("rnn"))(source)
    both, fh, bh = L.Bidirectional(L.SimpleRNN(2, return_state=True), merge_mode="sum",
                                   name=n("bi"))(target)
    return _finish([source, target], [probs, cells, both, fh, bh], "recurrent_states")


def conv_lstm() -> keras.Model:
    """ConvLSTM2D (same padding, sequences; strided valid, backwards), ConvLSTM1D
    (dilated) and ConvLSTM3D, as in keras.io's next-frame video prediction."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    frames = keras.Input((3, 6, 6, 2), name="frames")
    y = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, activation="relu",
                     name=n("convlstm"))(frames)
    y = L.ConvLSTM2D(2, 2, strides=2, go_backwards=True, name=n("convlstm"))(y)
    seq = keras.Input((3, 7, 2), name="signal")
    z = L.ConvLSTM1D(2, 3, padding="same", dilation_rate=2, name=n("convlstm"))(seq)
    vol = keras.Input((2, 4, 4, 3, 1), name="volumes")
    v = L.ConvLSTM3D(2, 2, padding="same", name=n("convlstm"))(vol)
    return _finish([frames, seq, vol], [y, z, v], "conv_lstm")


def video_classifier() -> keras.Model:
    """TimeDistributed Conv2D, MaxPooling2D, Flatten and Dense over frames, then an LSTM."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    frames = keras.Input((3, 8, 8, 2), name="frames")
    y = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"), name=n("td"))(frames)
    y = L.TimeDistributed(L.MaxPooling2D(), name=n("td"))(y)
    y = L.TimeDistributed(L.Flatten(), name=n("td"))(y)
    y = L.TimeDistributed(L.Dense(5), name=n("td"))(y)
    return _finish(frames, L.LSTM(3, name=n("lstm"))(y), "video_classifier")


def sequence_decoder() -> keras.Model:
    """RepeatVector feeding an LSTM, then a TimeDistributed Dense."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((4,), name="code")
    y = L.RepeatVector(3, name=n("repeat"))(L.Dense(5, activation="tanh", name=n("dense"))(x))
    y = L.LSTM(4, return_sequences=True, name=n("lstm"))(y)
    return _finish(x, L.TimeDistributed(L.Dense(2), name=n("td"))(y), "sequence_decoder")


def activation_layers() -> keras.Model:
    """ELU (two alphas), PReLU (per element and with shared axes), LeakyReLU, ReLU with a
    ceiling and threshold, Softmax on axis 1, Activation."""
    keras.utils.set_random_seed(SEED)
    n = _namer()
    x = keras.Input((6, 5), name="x")
    outs = [L.ELU(name=n("elu"))(x), L.ELU(alpha=0.5, name=n("elu"))(x),
            L.PReLU(name=n("prelu"))(x), L.PReLU(shared_axes=[1], name=n("prelu"))(x),
            L.LeakyReLU(negative_slope=0.2, name=n("leaky"))(x),
            L.ReLU(max_value=0.5, threshold=0.1, name=n("relu"))(x),
            L.Softmax(axis=1, name=n("softmax"))(x),
            L.Activation("selu", name=n("act"))(x),
            L.Activation("hard_sigmoid", name=n("act"))(x)]
    return _finish(x, outs, "activation_layers")


def inference_layers() -> keras.Model:
    """The layers that are the identity (or dropout) at inference, chained on a small
    image, plus Dot (plain and normalized) and UnitNormalization on dense features.
    (Not RandomShear: Keras 3.15 saves it but cannot load it back, and every zoo model
    goes through a .keras file; tests/backends/keras/test_keras_inference_layers.py
    covers it in memory.)"""
    n = _namer()
    keras.utils.set_random_seed(SEED)
    img = keras.Input((4, 4, 3), name="img")
    vr = {"value_range": (0.0, 1.0)}
    chain = [L.RandomFlip(), L.RandomRotation(0.2), L.RandomZoom(0.2),
             L.RandomTranslation(0.2, 0.2), L.RandomContrast(0.3),
             L.RandomBrightness(0.3, **vr), L.RandomCrop(4, 4),
             L.RandomColorDegeneration(0.5, **vr), L.RandomColorJitter(brightness_factor=0.2, **vr),
             L.RandomElasticTransform(**vr), L.RandomErasing(**vr), L.RandomGaussianBlur(**vr),
             L.RandomGrayscale(), L.RandomHue(0.3, **vr), L.RandomInvert(**vr),
             L.RandomPerspective(), L.RandomPosterization(4, **vr), L.RandomSaturation(0.5, **vr),
             L.RandomSharpness(0.5, **vr), L.AugMix(**vr), L.CutMix(),
             L.MixUp(), L.RandAugment(**vr), L.Solarization(0.5, **vr), L.GaussianNoise(0.5),
             L.GaussianDropout(0.4), L.AlphaDropout(0.4), L.SpatialDropout2D(0.4),
             L.ActivityRegularization(0.1, 0.1)]
    x = img
    for layer in chain:
        x = layer(x)
    y = L.Conv2D(4, 3, padding="same", name=n("conv"))(x)            # (batch, 4, 4, 4)
    seq = L.Reshape((16, 4), name=n("reshape"))(y)
    seq = L.SpatialDropout1D(0.4, name=n("sdrop"))(seq)
    vol = L.Reshape((2, 2, 4, 4), name=n("reshape"))(y)
    vol = L.SpatialDropout3D(0.4, name=n("sdrop"))(vol)
    a = L.Dense(5, name=n("dense"))(L.Flatten(name=n("flat"))(vol))
    b = L.Dense(5, name=n("dense"))(L.GlobalAveragePooling1D(name=n("gap"))(seq))
    dots = [L.Dot(axes=1, name=n("dot"))([a, b]),
            L.Dot(axes=1, normalize=True, name=n("dot"))([a, b])]
    unit = L.UnitNormalization(name=n("unit"))(a)
    return _finish(img, [*dots, unit], "inference_layers")


def layer_family_examples() -> dict[str, Callable[[], keras.Model]]:
    """Name -> zero-argument builder of each model of this set (each call builds a fresh,
    identically seeded model)."""
    builders = [conv1d_and_pooling, conv3d_and_pooling, conv_transpose, separable_conv,
                upsampling, adaptive_pooling, cropping_and_padding, global_pooling_2d,
                sequence_normalization,
                transformer_block, _recurrent(L.LSTM, "lstm"), _recurrent(L.GRU, "gru"),
                _recurrent(L.SimpleRNN, "simple_rnn"), bidirectional, recurrent_states,
                conv_lstm, video_classifier,
                sequence_decoder, activation_layers, inference_layers]
    return {b.__name__: b for b in builders}
