"""Model definitions in the style of the held-out set graphir is judged on (custom
layers, subclassed and functional-subclass models, keras.ops preprocessing, masked
sequences, keras_hub layers inside user models and keras_hub backbones, definitions
after public keras.io examples), written small for ``keras_examples_probe.py
--module heldout_style_models``.  None duplicates ``keras_examples.py``.

Each function builds one seeded-by-the-caller Keras model; subclassed models without
``model.inputs`` carry ``probe_specs`` (per input: the shape without the batch, and the
dtype) and are called once before being returned.  Nothing here is imported by graphir
or its tests.
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
    """Call subclassed ``m`` once on zeros of ``specs`` and attach them as probe_specs."""
    data = [np.zeros((2, *[4 if d is None else d for d in s]), dt) for s, dt in specs]
    m(data[0] if len(data) == 1 else data)
    m.probe_specs = specs
    return m


# --------------------------------------------------------------------------------------
# guides/making_new_layers_and_models_via_subclassing
# --------------------------------------------------------------------------------------


class Linear(L.Layer):
    def __init__(self, units=4, **kw):
        super().__init__(**kw)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


@model
def guide_linear_add_weight():
    i = keras.Input((6,))
    x = ops.relu(Linear(8)(i))
    return keras.Model(i, Linear(2)(x))


@model
def guide_compute_sum_nontrainable():
    class ComputeSum(L.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="ones", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            # inference-only variant (no assign): the state is a constant
            return inputs + ops.sum(inputs, axis=0) * 0.0 + self.total

    i = keras.Input((5,))
    return keras.Model(i, L.Dense(3)(ComputeSum(5)(i)))


@model
def guide_mlp_block_subclass_layer():
    class MLPBlock(L.Layer):
        def __init__(self):
            super().__init__()
            self.l1 = Linear(8)
            self.l2 = Linear(8)
            self.l3 = Linear(1)

        def call(self, inputs):
            x = ops.relu(self.l1(inputs))
            x = ops.relu(self.l2(x))
            return self.l3(x)

    i = keras.Input((6,))
    return keras.Model(i, MLPBlock()(i))


@model
def guide_activity_regularization():
    class ActivityRegularizationLayer(L.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * ops.mean(inputs))
            return inputs

    i = keras.Input((6,))
    x = L.Dense(8, activation="relu")(i)
    x = ActivityRegularizationLayer()(x)
    x = L.ActivityRegularization(l1=1e-3)(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def guide_custom_dropout_training_flag():
    class CustomDropout(L.Layer):
        def __init__(self, rate, **kw):
            super().__init__(**kw)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return keras.random.dropout(inputs, rate=self.rate,
                                            seed=self.seed_generator)
            return inputs

    i = keras.Input((6,))
    x = L.Dense(8, activation="relu")(i)
    x = CustomDropout(0.5)(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def guide_autoencoder_subclass_layers():
    class Encoder(L.Layer):
        def __init__(self, latent=2, inter=8, **kw):
            super().__init__(**kw)
            self.proj = L.Dense(inter, activation="relu")
            self.mean = L.Dense(latent)
            self.log_var = L.Dense(latent)

        def call(self, x):
            h = self.proj(x)
            return self.mean(h), self.log_var(h)

    class Decoder(L.Layer):
        def __init__(self, original, inter=8, **kw):
            super().__init__(**kw)
            self.proj = L.Dense(inter, activation="relu")
            self.out = L.Dense(original, activation="sigmoid")

        def call(self, z):
            return self.out(self.proj(z))

    class AutoEncoder(keras.Model):
        def __init__(self, original, **kw):
            super().__init__(**kw)
            self.encoder = Encoder()
            self.decoder = Decoder(original)

        def call(self, x):
            mean, log_var = self.encoder(x)
            # deterministic at inference: decode the mean, log the KL term
            kl = -0.5 * ops.mean(log_var - ops.square(mean) - ops.exp(log_var) + 1)
            self.add_loss(kl)
            return self.decoder(mean)

    return _subclass(AutoEncoder(12), [((12,), "float32")])


@model
def guide_layer_with_get_config():
    @keras.saving.register_keras_serializable(package="heldout")
    class ScaledDense(L.Layer):
        def __init__(self, units=4, scale=0.5, **kw):
            super().__init__(**kw)
            self.units, self.scale = units, scale
            self.dense = L.Dense(units)

        def call(self, x):
            return self.dense(x) * self.scale

        def get_config(self):
            return {**super().get_config(), "units": self.units, "scale": self.scale}

    i = keras.Input((5,))
    return keras.Model(i, ScaledDense(3, 2.0)(ScaledDense(6)(i)))


# --------------------------------------------------------------------------------------
# guides/functional_api
# --------------------------------------------------------------------------------------


@model
def functional_ticket_multi_io():
    """Title + body (int tokens) + tags (float) -> priority + department."""
    title = keras.Input((None,), dtype="int32", name="title")
    body = keras.Input((None,), dtype="int32", name="body")
    tags = keras.Input((6,), name="tags")
    t = L.LSTM(8)(L.Embedding(50, 8)(title))
    b = L.LSTM(4)(L.Embedding(50, 8)(body))
    x = L.concatenate([t, b, tags])
    priority = L.Dense(1, name="priority")(x)
    department = L.Dense(3, name="department")(x)
    return keras.Model([title, body, tags], [priority, department])


@model
def functional_toy_resnet():
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, activation="relu")(i)
    x = L.Conv2D(8, 3, activation="relu")(x)
    b1 = L.MaxPooling2D(3)(x)
    x = L.Conv2D(8, 3, activation="relu", padding="same")(b1)
    x = L.Conv2D(8, 3, activation="relu", padding="same")(x)
    b2 = L.add([x, b1])
    x = L.Conv2D(8, 3, activation="relu", padding="same")(b2)
    x = L.Conv2D(8, 3, activation="relu", padding="same")(x)
    b3 = L.add([x, b2])
    x = L.Conv2D(8, 3, activation="relu")(b3)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    return keras.Model(i, L.Dense(4)(x))


@model
def functional_nested_autoencoder_models():
    ei = keras.Input((8, 8, 1))
    x = L.Conv2D(4, 3, activation="relu")(ei)
    x = L.MaxPooling2D(2)(x)
    encoder = keras.Model(ei, L.GlobalMaxPooling2D()(x), name="encoder")
    di = keras.Input((4,))
    y = L.Reshape((2, 2, 1))(di)
    y = L.Conv2DTranspose(4, 3, activation="relu")(y)
    y = L.UpSampling2D(2)(y)
    decoder = keras.Model(di, L.Conv2DTranspose(1, 3, activation="relu")(y), name="dec")
    i = keras.Input((8, 8, 1))
    return keras.Model(i, decoder(encoder(i)))


@model
def functional_ensemble_average():
    def get_model():
        i = keras.Input((5,))
        return keras.Model(i, L.Dense(1)(L.Dense(4, activation="relu")(i)))

    m1, m2, m3 = get_model(), get_model(), get_model()
    i = keras.Input((5,))
    return keras.Model(i, L.average([m1(i), m2(i), m3(i)]))


@model
def functional_feature_extractor_nodes():
    base = keras.Sequential([
        keras.Input((12, 12, 3)),
        L.Conv2D(4, 3, activation="relu", name="c1"),
        L.Conv2D(4, 3, activation="relu", name="c2"),
        L.MaxPooling2D(2),
        L.Conv2D(6, 3, activation="relu", name="c3"),
    ])
    outs = [layer.output for layer in base.layers]
    return keras.Model(base.inputs, outs)


@model
def functional_custom_rnn_mix():
    """guide: a subclassed layer whose call loops a functional model over time."""
    units, timesteps, feats = 4, 5, 3
    ci = keras.Input((None, units))
    cnn = L.Conv1D(4, 3, padding="same")(ci)
    cnn_model = keras.Model(ci, cnn)

    class CustomRNN(L.Layer):
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = L.Dense(units, activation="tanh")
            self.projection_2 = L.Dense(units, activation="tanh")
            self.classifier = cnn_model

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(ops.shape(inputs)[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    i = keras.Input((timesteps, feats))
    return keras.Model(i, CustomRNN()(i))


@model
def functional_shared_embedding_two_inputs():
    shared = L.Embedding(40, 8)
    a = keras.Input((None,), dtype="int32")
    b = keras.Input((None,), dtype="int32")
    ea, eb = shared(a), shared(b)
    lstm = L.LSTM(6)
    d = L.subtract([lstm(ea), lstm(eb)])
    return keras.Model([a, b], L.Dense(1, activation="sigmoid")(ops.abs(d)))


@model
def functional_dict_inputs():
    inp = {"a": keras.Input((4,), name="a"), "b": keras.Input((3,), name="b")}
    x = L.concatenate([inp["a"], inp["b"]])
    x = L.Dense(8, activation="relu")(x)
    return keras.Model(inp, [L.Dense(1)(x), L.Dense(2)(x)])


# --------------------------------------------------------------------------------------
# guides/understanding_masking_and_padding
# --------------------------------------------------------------------------------------


@model
def mask_masking_layer_lstm():
    i = keras.Input((7, 3))
    x = L.Masking(mask_value=0.0)(ops.where(ops.abs(i) < 0.6, 0.0, i))
    x = L.LSTM(6)(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def mask_embedding_bidirectional_gru():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.Bidirectional(L.GRU(4, return_sequences=True))(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def mask_embedding_gap1d():
    i = keras.Input((12,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.Dense(8, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def mask_subclass_model_explicit_mask():
    class MyLayer(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.embedding = L.Embedding(30, 8, mask_zero=True)
            self.lstm = L.LSTM(6)

        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            return self.lstm(x, mask=mask)

    i = keras.Input((10,), dtype="int32")
    return keras.Model(i, L.Dense(1)(MyLayer()(i)))


@model
def mask_temporal_split_compute_mask():
    class TemporalSplit(L.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    a, b = TemporalSplit()(x)
    return keras.Model(i, L.concatenate([L.LSTM(4)(a), L.LSTM(4)(b)]))


@model
def mask_custom_embedding_compute_mask():
    class CustomEmbedding(L.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kw):
            super().__init__(**kw)
            self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer="random_normal")

        def call(self, inputs):
            inputs = ops.cast(inputs, "int32")
            return ops.take(self.embeddings, inputs, axis=0)

        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero:
                return None
            return ops.not_equal(inputs, 0)

    i = keras.Input((9,), dtype="int32")
    x = CustomEmbedding(30, 6, mask_zero=True)(i)
    return keras.Model(i, L.Dense(1)(L.GRU(5)(x)))


@model
def mask_supports_masking_activation_then_lstm():
    class MyActivation(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = MyActivation()(x)
    return keras.Model(i, L.Dense(2)(L.LSTM(4)(x)))


@model
def mask_temporal_softmax_uses_mask():
    class TemporalSoftmax(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            bm = ops.expand_dims(ops.cast(mask, "float32"), -1)
            e = ops.exp(inputs - ops.max(inputs, axis=1, keepdims=True))
            e = e * bm
            return e / ops.sum(e, axis=1, keepdims=True)

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.Dense(4)(x)
    return keras.Model(i, TemporalSoftmax()(x))


@model
def mask_mha_with_embedding_mask():
    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def mask_stacked_lstm_return_sequences_timedistributed():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.LSTM(6, return_sequences=True)(x)
    x = L.SimpleRNN(4, return_sequences=True)(x)
    return keras.Model(i, L.TimeDistributed(L.Dense(3))(x))


@model
def mask_bidirectional_lstm_concat_states():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    out, fh, fc, bh, bc = L.Bidirectional(L.LSTM(4, return_state=True))(x)
    return keras.Model(i, L.Dense(2)(L.concatenate([out, fh, bh])))


@model
def mask_conv1d_after_embedding_gmp():
    """Conv1D drops the mask; a manual masked mean afterwards."""
    i = keras.Input((12,), dtype="int32")
    x = L.Embedding(30, 8)(i)
    m = ops.cast(ops.not_equal(i, 0), "float32")[..., None]
    x = L.Conv1D(8, 3, padding="same", activation="relu")(x) * m
    x = ops.sum(x, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)
    return keras.Model(i, L.Dense(2)(x))


# --------------------------------------------------------------------------------------
# subclassed models (call()), functional subclasses
# --------------------------------------------------------------------------------------


@model
def subclass_int_tokens_classifier():
    class TextClassifier(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(40, 8)
            self.pool = L.GlobalAveragePooling1D()
            self.head = L.Dense(3)

        def call(self, tokens):
            return self.head(self.pool(self.emb(tokens)))

    return _subclass(TextClassifier(), [((10,), "int32")])


@model
def subclass_training_flag_branch():
    class Net(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d1 = L.Dense(8, activation="relu")
            self.drop = L.Dropout(0.3)
            self.d2 = L.Dense(2)

        def call(self, x, training=None):
            h = self.d1(x)
            if training:
                h = self.drop(h, training=training) + keras.random.normal(ops.shape(h))
            return self.d2(h)

    return _subclass(Net(), [((6,), "float32")])


@model
def subclass_nested_submodels():
    class Backbone(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.c1 = L.Conv2D(4, 3, activation="relu")
            self.p = L.MaxPooling2D()
            self.c2 = L.Conv2D(6, 3, activation="relu")

        def call(self, x):
            return self.c2(self.p(self.c1(x)))

    class Classifier(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.backbone = Backbone()
            self.head = keras.Sequential([L.GlobalAveragePooling2D(), L.Dense(3)])

        def call(self, x):
            return self.head(self.backbone(x))

    return _subclass(Classifier(), [((12, 12, 3), "float32")])


@model
def subclass_list_inputs_two_tensors():
    class TwoTower(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qa = L.Dense(4)
            self.qb = L.Dense(4)

        def call(self, inputs):
            a, b = inputs
            return ops.sum(self.qa(a) * self.qb(b), axis=-1, keepdims=True)

    return _subclass(TwoTower(), [((5,), "float32"), ((3,), "float32")])


@model
def subclass_with_keras_ops_preproc():
    class Scaled(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.conv = L.Conv2D(4, 3, padding="same", activation="relu")
            self.gap = L.GlobalAveragePooling2D()
            self.out = L.Dense(2)

        def call(self, x):
            x = ops.cast(x, "float32") / 255.0
            x = (x - 0.5) / 0.25
            x = ops.clip(x, -2.0, 2.0)
            return self.out(self.gap(self.conv(x)))

    return _subclass(Scaled(), [((8, 8, 3), "float32")])


@model
def subclass_build_method_weights():
    class Gated(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.proj = L.Dense(6)

        def build(self, input_shape):
            self.gate = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.proj.build(input_shape)
            self.built = True

        def call(self, x):
            return self.proj(x * ops.sigmoid(self.gate))

    return _subclass(Gated(), [((5,), "float32")])


@model
def subclass_sequence_rnn_model():
    class Seq(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = L.Embedding(30, 8, mask_zero=True)
            self.rnn = L.Bidirectional(L.LSTM(4))
            self.out = L.Dense(2, activation="softmax")

        def call(self, x):
            return self.out(self.rnn(self.emb(x)))

    return _subclass(Seq(), [((None,), "int32")])


@model
def functional_subclass_with_custom_layer():
    class Norm(L.Layer):
        def call(self, x):
            return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-6)

    class Net(keras.Model):
        def __init__(self, **kw):
            i = keras.Input((6,))
            x = L.Dense(8, activation="gelu")(i)
            x = Norm()(x)
            super().__init__(inputs=i, outputs=L.Dense(3)(x), **kw)

    return Net()


@model
def functional_subclass_custom_train_step():
    """guides/customizing_what_happens_in_fit: CustomModel(inputs, outputs)."""

    class CustomModel(keras.Model):
        def train_step(self, data):  # never run here
            return super().train_step(data)

    i = keras.Input((4,))
    x = L.Dense(6, activation="relu")(i)
    return CustomModel(i, L.Dense(1)(x))


@model
def functional_subclass_multi_input_with_attrs():
    class Siamese(keras.Model):
        def __init__(self, **kw):
            a = keras.Input((10,), dtype="int32")
            b = keras.Input((10,), dtype="int32")
            enc = keras.Sequential([L.Embedding(30, 8), L.GlobalAveragePooling1D(),
                                    L.Dense(6)])
            ea, eb = enc(a), enc(b)
            cos = L.Dot(axes=1, normalize=True)([ea, eb])
            super().__init__(inputs=[a, b], outputs=cos, **kw)
            self.encoder = enc

    return Siamese()


@model
def subclass_distiller_student():
    """vision/knowledge_distillation: Distiller(student, teacher); call = student."""

    class Distiller(keras.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.student, self.teacher = student, teacher

        def call(self, x):
            return self.student(x)

    def net(n):
        return keras.Sequential([L.Conv2D(n, 3, strides=2, padding="same"),
                                 L.LeakyReLU(0.2), L.MaxPooling2D(2, padding="same"),
                                 L.Flatten(), L.Dense(4)])

    return _subclass(Distiller(net(4), net(8)), [((8, 8, 1), "float32")])


# --------------------------------------------------------------------------------------
# keras.ops preprocessing and keras preprocessing layers inside models
# --------------------------------------------------------------------------------------


@model
def ops_preproc_image_standardize():
    i = keras.Input((8, 8, 3))
    mean = np.array([0.485, 0.456, 0.406], "float32")
    std = np.array([0.229, 0.224, 0.225], "float32")
    x = (ops.clip(i, -1.0, 1.0) * 0.5 + 0.5 - mean) / std
    x = ops.transpose(x, (0, 3, 1, 2))
    x = ops.reshape(x, (-1, 3, 64))
    x = ops.mean(x, axis=-1)
    return keras.Model(i, L.Dense(2)(x))


@model
def ops_preproc_int_one_hot():
    i = keras.Input((5,), dtype="int32")
    x = ops.one_hot(i, 10)
    x = ops.reshape(x, (-1, 50))
    return keras.Model(i, L.Dense(3)(x))


@model
def ops_preproc_cast_log_where():
    i = keras.Input((6,))
    x = ops.where(i > 0, ops.log1p(ops.abs(i)), -ops.log1p(ops.abs(i)))
    x = ops.cast(ops.cast(x * 10.0, "int32"), "float32") / 10.0
    x = ops.concatenate([x, ops.square(i), ops.sign(i)], axis=-1)
    return keras.Model(i, L.Dense(2)(x))


@model
def ops_preproc_gather_take_argmax():
    i = keras.Input((8,))
    table = np.linspace(-1, 1, 10).astype("float32")
    idx = ops.argmax(L.Dense(10)(i), axis=-1)
    x = ops.take(table, idx)[:, None]
    top, _ = ops.top_k(i, 3)
    return keras.Model(i, ops.concatenate([x, top, ops.sort(i, axis=-1)[:, :2]], -1))


@model
def ops_preproc_image_resize_crop():
    i = keras.Input((16, 16, 3))
    x = ops.image.resize(i, (8, 8), interpolation="bilinear")
    x = L.CenterCrop(6, 6)(x)
    x = L.Rescaling(1 / 127.5, offset=-1)(x)
    x = L.Conv2D(4, 3)(x)
    return keras.Model(i, L.Dense(2)(L.Flatten()(x)))


@model
def preproc_layers_normalization_discretization():
    i = keras.Input((3,))
    x = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 0.5])(i)
    b = L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0])(i)
    b = L.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(b)
    return keras.Model(i, L.Dense(2)(L.concatenate([x, b])))


@model
def preproc_layers_integer_lookup_hashing():
    i = keras.Input((1,), dtype="int64")
    a = L.IntegerLookup(vocabulary=[1, 3, 5, 7], output_mode="one_hot")(i)
    h = L.Hashing(num_bins=5)(i)
    h = L.CategoryEncoding(num_tokens=5, output_mode="one_hot")(h)
    return keras.Model(i, L.Dense(2)(L.concatenate([a, h])))


@model
def preproc_category_count_tokens():
    i = keras.Input((6,), dtype="int32")
    c = L.CategoryEncoding(num_tokens=10, output_mode="count")(i)
    return keras.Model(i, L.Dense(2)(c))


@model
def ops_preproc_lambda_layer():
    i = keras.Input((10,))
    x = L.Lambda(lambda t: ops.sqrt(ops.abs(t)) * ops.sign(t))(i)
    x = L.Dense(4)(x)
    return keras.Model(i, L.Lambda(lambda t: ops.softmax(t / 2.0))(x))


@model
def ops_preproc_audio_stft_mel():
    i = keras.Input((256,))
    x = L.MelSpectrogram(fft_length=64, sequence_stride=32, sequence_length=64,
                         num_mel_bins=8, sampling_rate=1600)(i)
    x = ops.transpose(x, (0, 2, 1))
    x = L.Conv1D(4, 3, activation="relu")(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


# --------------------------------------------------------------------------------------
# keras_hub layers inside user models
# --------------------------------------------------------------------------------------


@model
def hub_encoder_explicit_padding_mask():
    kh = _hub()
    tok = keras.Input((12,), dtype="int32")
    pad = keras.Input((12,), dtype="bool")
    x = kh.layers.TokenAndPositionEmbedding(30, 12, 8)(tok)
    x = kh.layers.TransformerEncoder(16, 2)(x, padding_mask=pad)
    x = kh.layers.TransformerEncoder(16, 2, normalize_first=True,
                                     activation="gelu")(x, padding_mask=pad)
    return keras.Model([tok, pad], L.Dense(2)(x[:, 0, :]))


@model
def hub_decoder_only_gpt_style():
    kh = _hub()
    tok = keras.Input((None,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(30, 40, 8, mask_zero=False)(tok)
    x = kh.layers.TransformerDecoder(16, 2)(x)
    x = kh.layers.TransformerDecoder(16, 2, normalize_first=True)(x)
    return keras.Model(tok, L.Dense(30)(x))


@model
def hub_decoder_cross_attention_explicit_masks():
    kh = _hub()
    enc = keras.Input((6, 8))
    dec = keras.Input((5,), dtype="int32")
    epad = keras.Input((6,), dtype="bool")
    y = kh.layers.TokenAndPositionEmbedding(30, 5, 8)(dec)
    y = kh.layers.TransformerDecoder(16, 2)(y, enc, encoder_padding_mask=epad)
    return keras.Model([enc, dec, epad], L.Dense(4)(y))


@model
def hub_token_pos_mask_zero_gap():
    kh = _hub()
    tok = keras.Input((10,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(30, 10, 8, mask_zero=True)(tok)
    x = kh.layers.TransformerEncoder(16, 2)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(tok, L.Dense(2)(x))


@model
def hub_position_embedding_plus_embedding():
    kh = _hub()
    tok = keras.Input((10,), dtype="int32")
    e = L.Embedding(30, 8)(tok)
    x = e + kh.layers.PositionEmbedding(10)(e)
    x = L.LayerNormalization()(x)
    return keras.Model(tok, L.Dense(2)(L.GlobalMaxPooling1D()(x)))


@model
def hub_sine_position_encoding():
    kh = _hub()
    i = keras.Input((None, 8))
    x = i + kh.layers.SinePositionEncoding()(i)
    x = L.MultiHeadAttention(2, 4)(x, x)
    return keras.Model(i, L.Dense(2)(x))


@model
def hub_rotary_embedding_custom_attention():
    kh = _hub()

    class RoPEAttention(L.Layer):
        def __init__(self, heads, dim, **kw):
            super().__init__(**kw)
            self.heads, self.dim = heads, dim
            self.q = L.EinsumDense("btd,dhk->bthk", (None, heads, dim))
            self.k = L.EinsumDense("btd,dhk->bthk", (None, heads, dim))
            self.v = L.EinsumDense("btd,dhk->bthk", (None, heads, dim))
            self.o = L.EinsumDense("bthk,hkd->btd", (None, heads * dim))
            self.rope = kh.layers.RotaryEmbedding(sequence_axis=1, feature_axis=-1)

        def call(self, x):
            q, k, v = self.rope(self.q(x)), self.rope(self.k(x)), self.v(x)
            s = ops.einsum("bqhk,bthk->bhqt", q, k) / np.sqrt(self.dim).astype("float32")
            t = ops.shape(x)[1]
            causal = ops.tril(ops.ones((t, t), "bool"))
            s = ops.where(causal[None, None], s, -1e9)
            a = ops.softmax(s, axis=-1)
            return self.o(ops.einsum("bhqt,bthk->bqhk", a, v))

    i = keras.Input((None, 8))
    return keras.Model(i, L.Dense(2)(RoPEAttention(2, 4)(i)))


@model
def hub_alibi_bias_attention():
    kh = _hub()

    class AlibiAttention(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qkv = L.Dense(3 * 8)
            self.alibi = kh.layers.AlibiBias()

        def call(self, x):
            b, t = ops.shape(x)[0], ops.shape(x)[1]
            q, k, v = ops.split(self.qkv(x), 3, axis=-1)
            q = ops.transpose(ops.reshape(q, (b, t, 2, 4)), (0, 2, 1, 3))
            k = ops.transpose(ops.reshape(k, (b, t, 2, 4)), (0, 2, 1, 3))
            v = ops.transpose(ops.reshape(v, (b, t, 2, 4)), (0, 2, 1, 3))
            s = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * 0.5
            s = self.alibi(s)
            o = ops.matmul(ops.softmax(s, axis=-1), v)
            return ops.reshape(ops.transpose(o, (0, 2, 1, 3)), (b, t, 8))

    i = keras.Input((7, 8))
    return keras.Model(i, L.Dense(2)(AlibiAttention()(i)))


@model
def hub_masked_lm_head_tied():
    kh = _hub()
    tok = keras.Input((10,), dtype="int32")
    pos = keras.Input((3,), dtype="int32")
    emb = kh.layers.ReversibleEmbedding(30, 8)
    x = emb(tok)
    x = kh.layers.TransformerEncoder(16, 2)(x)
    out = kh.layers.MaskedLMHead(token_embedding=emb, activation="softmax")(
        x, mask_positions=pos)
    return keras.Model([tok, pos], out)


@model
def hub_reversible_embedding_lm():
    kh = _hub()
    tok = keras.Input((None,), dtype="int32")
    emb = kh.layers.ReversibleEmbedding(30, 8, tie_weights=True)
    x = emb(tok)
    x = kh.layers.TransformerDecoder(16, 2)(x)
    return keras.Model(tok, emb(x, reverse=True))


@model
def hub_fnet_encoder_classifier():
    kh = _hub()
    tok = keras.Input((8,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(30, 8, 8)(tok)
    x = kh.layers.FNetEncoder(16)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(tok, L.Dense(2)(x))


@model
def hub_rmsnorm_cached_mha():
    kh = _hub()
    i = keras.Input((6, 8))
    x = kh.layers.RMSNormalization(8)(i)
    x = kh.layers.CachedMultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    return keras.Model(i, L.Dense(2)(x))


@model
def hub_layers_in_subclassed_model():
    kh = _hub()

    class TinyBert(keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.emb = kh.layers.TokenAndPositionEmbedding(30, 16, 8, mask_zero=True)
            self.enc = kh.layers.TransformerEncoder(16, 2)
            self.pool = L.GlobalAveragePooling1D()
            self.head = L.Dense(2)

        def call(self, tok):
            x = self.emb(tok)
            x = self.enc(x)
            return self.head(self.pool(x))

    return _subclass(TinyBert(), [((12,), "int32")])


# --------------------------------------------------------------------------------------
# keras_hub backbones inside user models (list inputs, a tensor head)
# --------------------------------------------------------------------------------------


def _text_task(backbone, segments=False, padding=True, pool="first", seq=12):
    tok = keras.Input((seq,), dtype="int32", name="token_ids")
    feeds, ins = {"token_ids": tok}, [tok]
    if segments:
        seg = keras.Input((seq,), dtype="int32", name="segment_ids")
        feeds["segment_ids"] = ops.minimum(seg, 1)
        ins.append(seg)
    if padding:
        pad = keras.Input((seq,), dtype="int32", name="padding_mask")
        feeds["padding_mask"] = ops.cast(ops.not_equal(pad, 0), "int32")
        ins.append(pad)
    out = backbone(feeds)
    if isinstance(out, dict):
        out = out["sequence_output"]
    x = out[:, 0, :] if pool == "first" else ops.mean(out, axis=1)
    return keras.Model(ins, L.Dense(2)(x))


@model
def hub_bert_backbone_classifier():
    b = _hub().models.BertBackbone(30, 1, 2, 8, 16, max_sequence_length=16)
    return _text_task(b, segments=True)


@model
def hub_gpt2_backbone_lm():
    b = _hub().models.GPT2Backbone(30, 1, 2, 8, 16, max_sequence_length=16)
    return _text_task(b, pool="mean")


@model
def hub_distilbert_backbone():
    b = _hub().models.DistilBertBackbone(30, 1, 2, 8, 16, max_sequence_length=16)
    return _text_task(b)


@model
def hub_roberta_backbone():
    b = _hub().models.RobertaBackbone(30, 1, 2, 8, 16, max_sequence_length=16)
    return _text_task(b)


@model
def hub_albert_backbone():
    b = _hub().models.AlbertBackbone(30, 2, 2, 6, 8, 16, max_sequence_length=16)
    return _text_task(b, segments=True)


@model
def hub_electra_backbone():
    b = _hub().models.ElectraBackbone(30, 1, 2, 8, 6, 16, max_sequence_length=16)
    return _text_task(b, segments=True)


@model
def hub_fnet_backbone():
    b = _hub().models.FNetBackbone(30, 1, 8, 16, max_sequence_length=16)
    return _text_task(b, segments=True, padding=False)


@model
def hub_gemma_backbone():
    b = _hub().models.GemmaBackbone(30, 1, 2, 1, 8, 16, 4)
    return _text_task(b, pool="mean")


@model
def hub_llama_backbone():
    b = _hub().models.LlamaBackbone(30, 1, 2, 8, 16, 1)
    return _text_task(b, pool="mean")


@model
def hub_mistral_backbone():
    b = _hub().models.MistralBackbone(30, 1, 2, 8, 16, 1, sliding_window=8)
    return _text_task(b, pool="mean")


@model
def hub_opt_backbone():
    b = _hub().models.OPTBackbone(30, 1, 2, 8, 16, max_sequence_length=16)
    return _text_task(b, pool="mean")


@model
def hub_bloom_backbone_alibi():
    b = _hub().models.BloomBackbone(30, 1, 2, 8, 16)
    return _text_task(b, pool="mean")


@model
def hub_gpt_neox_backbone():
    b = _hub().models.GPTNeoXBackbone(30, 1, 2, 16, 16, max_sequence_length=16)
    return _text_task(b, pool="mean")


@model
def hub_qwen3_backbone():
    b = _hub().models.Qwen3Backbone(30, 1, 2, 1, 4, 8, 16)
    return _text_task(b, pool="mean")


@model
def hub_deberta_v3_backbone():
    b = _hub().models.DebertaV3Backbone(30, 1, 2, 8, 16, max_sequence_length=16,
                                        bucket_size=4)
    return _text_task(b)


@model
def hub_bart_backbone_seq2seq():
    b = _hub().models.BartBackbone(30, 1, 2, 8, 16, max_sequence_length=16)
    et = keras.Input((8,), dtype="int32")
    ep = keras.Input((8,), dtype="int32")
    dt = keras.Input((6,), dtype="int32")
    dp = keras.Input((6,), dtype="int32")
    out = b({"encoder_token_ids": et, "encoder_padding_mask": ops.minimum(ep + 1, 1),
             "decoder_token_ids": dt, "decoder_padding_mask": ops.minimum(dp + 1, 1)})
    return keras.Model([et, ep, dt, dp], L.Dense(30)(out["decoder_sequence_output"]))


@model
def hub_vit_backbone_classifier():
    b = _hub().models.ViTBackbone((16, 16, 3), 8, 1, 2, 8, 16)
    i = keras.Input((16, 16, 3))
    x = b(i)
    return keras.Model(i, L.Dense(3)(x[:, 0, :]))


@model
def hub_resnet_backbone_classifier():
    b = _hub().models.ResNetBackbone([64], [3], [64, 8], [1, 1], [1, 2], "basic_block",
                                     image_shape=(16, 16, 3))
    i = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(b(i))
    return keras.Model(i, L.Dense(3)(x))


# --------------------------------------------------------------------------------------
# keras.io examples not in keras_examples.py
# --------------------------------------------------------------------------------------


@model
def switch_transformer_full():
    """nlp/text_classification_with_switch_transformer: router + expert FFNs with
    capacity, dispatch / combine tensors via einsum."""
    num_experts, d, ff, tokens, cap_factor = 3, 8, 8, 10, 1.0

    class Router(L.Layer):
        def __init__(self, n, capacity, **kw):
            super().__init__(**kw)
            self.n, self.capacity = n, capacity
            self.route = L.Dense(n)

        def call(self, inputs):
            logits = self.route(inputs)
            probs = ops.softmax(logits, axis=-1)
            gate, idx = ops.top_k(probs, k=1)
            mask = ops.one_hot(idx, self.n)
            pos = ops.cast(ops.cumsum(mask, axis=0) * mask, "int32")
            mask = mask * ops.cast(ops.less(pos, self.capacity), "float32")
            mask_flat = ops.sum(mask, axis=-1)
            gate = gate * mask_flat
            combine = ops.expand_dims(
                gate * mask_flat * ops.squeeze(ops.one_hot(idx, self.n), 1), -1
            ) * ops.squeeze(ops.one_hot(pos, self.capacity), 1)
            dispatch = ops.cast(combine, "float32")
            return dispatch, combine

    class Switch(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.capacity = int(cap_factor * 2 * tokens // num_experts)
            self.experts = [keras.Sequential([L.Dense(ff, activation="relu"), L.Dense(d)])
                            for _ in range(num_experts)]
            self.router = Router(num_experts, self.capacity)

        def call(self, x):
            b = ops.shape(x)[0]
            flat = ops.reshape(x, (-1, d))
            dispatch, combine = self.router(flat)
            ex_in = ops.einsum("ab,acd->cdb", flat, dispatch)
            ex_in = ops.reshape(ex_in, (num_experts, self.capacity, d))
            outs = [self.experts[k](t) for k, t in enumerate(ops.unstack(ex_in, axis=0))]
            ex_out = ops.stack(outs, axis=1)
            out = ops.einsum("abc,xba->xc", ex_out, combine)
            return ops.reshape(out, (b, tokens, d))

    i = keras.Input((tokens,), dtype="int32")
    x = L.Embedding(30, d)(i)
    x = Switch()(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def addition_rnn_repeat_vector():
    i = keras.Input((7, 12))
    x = L.LSTM(8)(i)
    x = L.RepeatVector(4)(x)
    x = L.LSTM(8, return_sequences=True)(x)
    return keras.Model(i, L.Dense(12, activation="softmax")(x))


@model
def ner_transformer_token_classifier():
    class TokenPos(L.Layer):
        def __init__(self, maxlen, vocab, d, **kw):
            super().__init__(**kw)
            self.tok = L.Embedding(vocab, d)
            self.pos = L.Embedding(maxlen, d)

        def call(self, x):
            positions = ops.arange(0, ops.shape(x)[-1], 1)
            return self.tok(x) + self.pos(positions)

    class Block(L.Layer):
        def __init__(self, d, **kw):
            super().__init__(**kw)
            self.att = L.MultiHeadAttention(2, d)
            self.ffn = keras.Sequential([L.Dense(16, activation="relu"), L.Dense(d)])
            self.n1, self.n2 = L.LayerNormalization(), L.LayerNormalization()

        def call(self, x, training=False):
            x = self.n1(x + self.att(x, x))
            return self.n2(x + self.ffn(x))

    class NERModel(keras.Model):
        def __init__(self, tags, vocab, maxlen=16, d=8, **kw):
            super().__init__(**kw)
            self.emb = TokenPos(maxlen, vocab, d)
            self.block = Block(d)
            self.ff = L.Dense(8, activation="relu")
            self.drop = L.Dropout(0.1)
            self.out = L.Dense(tags, activation="softmax")

        def call(self, x, training=False):
            x = self.block(self.emb(x), training=training)
            return self.out(self.drop(self.ff(x), training=training))

    return _subclass(NERModel(5, 30), [((16,), "int32")])


@model
def movielens_bst_sequence_features():
    """structured_data/movielens_recommendations_transformers, condensed."""
    seq = keras.Input((4,), dtype="int32", name="movie_seq")
    rating = keras.Input((4,), name="rating_seq")
    target = keras.Input((1,), dtype="int32", name="target_movie")
    user = keras.Input((1,), dtype="int32", name="user_id")
    memb = L.Embedding(30, 8)
    pos = L.Embedding(5, 8)(ops.arange(0, 5))
    s = ops.concatenate([memb(seq), memb(target)], axis=1)
    s = (s + pos) * ops.concatenate([rating, ops.ones_like(rating[:, :1])],
                                    axis=1)[..., None]
    a = L.MultiHeadAttention(2, 8, dropout=0.1)(s, s)
    s = L.LayerNormalization()(L.Add()([s, a]))
    x = L.concatenate([L.Flatten()(s), L.Flatten()(L.Embedding(10, 4)(user))])
    x = L.Dense(8)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU()(x)
    return keras.Model([seq, rating, target, user], L.Dense(1)(x))


@model
def pretrained_embedding_frozen_conv():
    matrix = np.random.default_rng(1).normal(size=(30, 8)).astype("float32")
    i = keras.Input((None,), dtype="int64")
    e = L.Embedding(30, 8, embeddings_initializer=keras.initializers.Constant(matrix),
                    trainable=False)(i)
    x = L.Conv1D(8, 3, activation="relu")(e)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(8, 3, activation="relu")(x)
    x = L.GlobalMaxPooling1D()(x)
    return keras.Model(i, L.Dense(3, activation="softmax")(x))


@model
def eeg_conv1d_classifier():
    """timeseries/eeg_signal_classification-style Conv1D stack."""
    i = keras.Input((64, 1))
    x = L.Conv1D(8, 3, strides=2, activation="relu", padding="same")(i)
    x = L.BatchNormalization()(x)
    x = L.Conv1D(8, 3, strides=2, activation="relu", padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.Conv1D(8, 5, strides=2, activation="relu", padding="same")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dropout(0.2)(x)
    return keras.Model(i, L.Dense(3, activation="softmax")(x))


@model
def speaker_recognition_residual_1d():
    """audio/speaker_recognition_using_cnn residual blocks."""

    def block(x, f, n=2):
        s = L.Conv1D(f, 1, padding="same")(x)
        for _ in range(n - 1):
            x = L.Conv1D(f, 3, padding="same")(x)
            x = L.Activation("relu")(x)
        x = L.Conv1D(f, 3, padding="same")(x)
        x = L.Add()([x, s])
        x = L.Activation("relu")(x)
        return L.MaxPool1D(2, 2)(x)

    i = keras.Input((32, 1))
    x = block(i, 4)
    x = block(x, 8, 3)
    x = L.AveragePooling1D(3, 3)(x)
    x = L.Flatten()(x)
    return keras.Model(i, L.Dense(3, activation="softmax")(L.Dense(8, "relu")(x)))


@model
def super_resolution_pixel_shuffle():
    """vision/super_resolution_sub_pixel with a keras.ops depth-to-space."""

    class DepthToSpace(L.Layer):
        def __init__(self, r, **kw):
            super().__init__(**kw)
            self.r = r

        def call(self, x):
            b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
            c = x.shape[-1] // (self.r * self.r)
            x = ops.reshape(x, (b, h, w, self.r, self.r, c))
            x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
            return ops.reshape(x, (b, h * self.r, w * self.r, c))

    i = keras.Input((None, None, 1))
    x = L.Conv2D(8, 5, activation="relu", padding="same")(i)
    x = L.Conv2D(4, 3, activation="relu", padding="same")(x)
    x = L.Conv2D(1 * 3 ** 2, 3, padding="same")(x)
    return keras.Model(i, DepthToSpace(3)(x))


@model
def edsr_residual_scaling():
    i = keras.Input((8, 8, 3))
    x = L.Rescaling(1.0 / 255)(i)
    x = x0 = L.Conv2D(8, 3, padding="same")(x)
    for _ in range(2):
        y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
        y = L.Conv2D(8, 3, padding="same")(y)
        x = L.Add()([x, y * 0.1])
    x = L.Add()([x0, L.Conv2D(8, 3, padding="same")(x)])
    x = L.UpSampling2D(2, interpolation="bilinear")(x)
    x = L.Conv2D(3, 3, padding="same")(x)
    return keras.Model(i, L.Rescaling(255)(x))


@model
def supervised_contrastive_projection():
    enc = keras.Sequential([L.Conv2D(4, 3, activation="relu"), L.GlobalAveragePooling2D()])
    i = keras.Input((12, 12, 3))
    f = enc(i)
    p = L.Dense(8, activation="relu")(f)
    p = L.UnitNormalization()(p)
    return keras.Model(i, [p, L.Dense(3)(f)])


@model
def bit_group_norm_weight_std():
    i = keras.Input((12, 12, 4))
    x = L.GroupNormalization(groups=2)(i)
    x = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    x = L.GroupNormalization(groups=4, epsilon=1e-5)(x)
    x = L.Activation("swish")(x)
    x = L.SpatialDropout2D(0.2)(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling2D()(x)))


@model
def imbalanced_mlp_keras_io():
    i = keras.Input((20,))
    x = L.Dense(16, activation="relu")(i)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dropout(0.3)(x)
    x = L.Dense(16, activation="relu")(x)
    x = L.AlphaDropout(0.1)(x)
    return keras.Model(i, L.Dense(1, activation="sigmoid")(x))


@model
def denoising_autoencoder_sequential():
    return keras.Sequential([
        keras.Input((16, 16, 1)),
        L.Conv2D(4, 3, activation="relu", padding="same"),
        L.MaxPooling2D(2, padding="same"),
        L.Conv2D(4, 3, activation="relu", padding="same"),
        L.MaxPooling2D(2, padding="same"),
        L.Conv2DTranspose(4, 3, strides=2, activation="relu", padding="same"),
        L.Conv2DTranspose(4, 3, strides=2, activation="relu", padding="same"),
        L.Conv2D(1, 3, activation="sigmoid", padding="same"),
    ])


@model
def structured_crossed_embedding():
    """structured_data/wide_deep-style hashed crossing + embeddings (ints only)."""
    a = keras.Input((1,), dtype="int32", name="a")
    b = keras.Input((1,), dtype="int32", name="b")
    num = keras.Input((3,), name="num")
    cross = L.HashedCrossing(num_bins=16)((a, b))
    wide = L.CategoryEncoding(16, output_mode="one_hot")(cross)
    deep = L.concatenate([L.Flatten()(L.Embedding(10, 4)(a)),
                          L.Flatten()(L.Embedding(10, 4)(b)), num])
    deep = L.Dense(8, activation="relu")(deep)
    return keras.Model([a, b, num], L.Dense(1)(L.concatenate([wide, deep])))


@model
def timeseries_gru_conv_hybrid():
    i = keras.Input((None, 3))
    x = L.Conv1D(8, 3, padding="causal", activation="relu")(i)
    x = L.GRU(8, return_sequences=True, reset_after=False)(x)
    x = L.LSTM(4, go_backwards=True)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def timeseries_stateless_rnn_cells():
    i = keras.Input((6, 3))
    cells = [L.LSTMCell(4), L.GRUCell(4)]
    x = L.RNN(L.StackedRNNCells(cells), return_sequences=True)(i)
    x = L.RNN(L.SimpleRNNCell(3))(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def custom_rnn_cell_minimal():
    class MinimalRNNCell(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="glorot_uniform")
            self.rk = self.add_weight(shape=(self.units, self.units),
                                      initializer="orthogonal")

        def call(self, inputs, states):
            h = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.rk)
            h = ops.tanh(h)
            return h, [h]

    i = keras.Input((None, 3))
    x = L.RNN(MinimalRNNCell(4))(i)
    return keras.Model(i, L.Dense(1)(x))


@model
def mask_custom_rnn_cell_embedding():
    class Cell(L.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units
            self.state_size = units
            self.d = L.Dense(units)

        def call(self, inputs, states):
            h = ops.tanh(self.d(ops.concatenate([inputs, states[0]], -1)))
            return h, [h]

    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    return keras.Model(i, L.Dense(1)(L.RNN(Cell(4))(x)))


@model
def keras_io_multi_label_mlp():
    i = keras.Input((40,))
    x = L.Dense(16, activation="relu")(i)
    x = L.Dense(8, activation="relu")(x)
    return keras.Model(i, L.Dense(5, activation="sigmoid")(x))


@model
def conv_attention_se_block():
    """squeeze-and-excitation as in several keras.io vision examples."""
    i = keras.Input((12, 12, 8))
    se = L.GlobalAveragePooling2D(keepdims=True)(i)
    se = L.Conv2D(2, 1, activation="relu")(se)
    se = L.Conv2D(8, 1, activation="hard_sigmoid")(se)
    x = L.Multiply()([i, se])
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    return keras.Model(i, L.Dense(2)(L.GlobalMaxPooling2D()(x)))


@model
def serialization_custom_activation_fn():
    @keras.saving.register_keras_serializable(package="heldout", name="mish_like")
    def mish_like(x):
        return x * ops.tanh(ops.softplus(x))

    i = keras.Input((6,))
    x = L.Dense(8, activation=mish_like)(i)
    return keras.Model(i, L.Dense(2)(x))


@model
def serialization_custom_model_get_config():
    @keras.saving.register_keras_serializable(package="heldout")
    class CustomModel(keras.Model):
        def __init__(self, hidden_units=(8, 4), **kw):
            super().__init__(**kw)
            self.hidden_units = list(hidden_units)
            self.dense_layers = [L.Dense(u) for u in self.hidden_units]

        def call(self, inputs):
            x = inputs
            for layer in self.dense_layers:
                x = layer(x)
            return x

        def get_config(self):
            return {"hidden_units": self.hidden_units}

    return _subclass(CustomModel(), [((5,), "float32")])


# --------------------------------------------------------------------------------------
# more masked sequences
# --------------------------------------------------------------------------------------


@model
def mask_seq2seq_lstm_states():
    ei = keras.Input((None,), dtype="int32")
    di = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(ei)
    _, h, c = L.LSTM(6, return_state=True)(x)
    y = L.Embedding(30, 8, mask_zero=True)(di)
    y = L.LSTM(6, return_sequences=True)(y, initial_state=[h, c])
    return keras.Model([ei, di], L.Dense(30, activation="softmax")(y))


@model
def mask_lstm_go_backwards():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.LSTM(5, go_backwards=True)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def mask_mha_causal_and_padding():
    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    return keras.Model(i, L.Dense(3)(x))


@model
def mask_concatenate_two_masked():
    a = keras.Input((8,), dtype="int32")
    b = keras.Input((8,), dtype="int32")
    ea = L.Embedding(30, 4, mask_zero=True)(a)
    eb = L.Embedding(30, 4, mask_zero=True)(b)
    x = L.Concatenate()([ea, eb])
    return keras.Model([a, b], L.Dense(1)(L.GRU(4)(x)))


@model
def mask_attention_layer_query_value_masks():
    q = keras.Input((6,), dtype="int32")
    v = keras.Input((8,), dtype="int32")
    qe = L.Embedding(30, 4, mask_zero=True)(q)
    ve = L.Embedding(30, 4, mask_zero=True)(v)
    x = L.Attention(score_mode="dot")([qe, ve])
    x = L.AdditiveAttention()([x, ve])
    return keras.Model([q, v], L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def mask_bidirectional_sum_sequences_gap():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(i)
    x = L.Bidirectional(L.GRU(4, return_sequences=True, reset_after=False),
                        merge_mode="sum")(x)
    x = L.LayerNormalization()(x)
    x = L.Dropout(0.2)(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def mask_float_masking_bidirectional_lstm():
    i = keras.Input((None, 3))
    x = L.Masking(mask_value=0.0)(ops.where(i > 1.0, 0.0, i))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    x = L.LSTM(3)(x)
    return keras.Model(i, L.Dense(1)(x))


@model
def mask_add_two_masked_then_lstm():
    a = keras.Input((8,), dtype="int32")
    ea = L.Embedding(30, 4, mask_zero=True)(a)
    eb = L.Embedding(30, 4, mask_zero=True)(a)
    x = L.Add()([ea, eb])
    return keras.Model(a, L.Dense(1)(L.SimpleRNN(4)(x)))


@model
def attention_layer_causal_scores():
    q = keras.Input((6, 4))
    v = keras.Input((6, 4))
    out, scores = L.Attention(use_scale=True, score_mode="concat")(
        [q, v], use_causal_mask=True, return_attention_scores=True)
    return keras.Model([q, v], [out, scores])


@model
def mask_gmp1d_after_masked_embedding():
    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 6, mask_zero=True)(i)
    x = L.Dense(6, activation="relu")(x)
    return keras.Model(i, L.Dense(2)(L.GlobalMaxPooling1D()(x)))


@model
def mask_flatten_after_masked_embedding():
    i = keras.Input((6,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    return keras.Model(i, L.Dense(2)(L.Flatten()(x)))


@model
def mask_unrolled_gru_return_state():
    i = keras.Input((7,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    seq, h = L.GRU(4, return_sequences=True, return_state=True, unroll=True)(x)
    return keras.Model(i, [L.Dense(1)(h), seq])


@model
def mask_custom_layer_drops_mask_then_gap():
    class Scale(L.Layer):  # no supports_masking: Keras drops the mask here
        def call(self, x):
            return x * 2.0

    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = Scale()(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def hub_decoder_only_mask_zero():
    kh = _hub()
    tok = keras.Input((None,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(30, 40, 8, mask_zero=True)(tok)
    x = kh.layers.TransformerDecoder(16, 2)(x)
    return keras.Model(tok, L.Dense(30)(x))


@model
def hub_encoder_explicit_attention_mask():
    kh = _hub()
    tok = keras.Input((8,), dtype="int32")
    att = keras.Input((8, 8), dtype="bool")
    x = kh.layers.TokenAndPositionEmbedding(30, 8, 8)(tok)
    x = kh.layers.TransformerEncoder(16, 2)(x, attention_mask=att)
    return keras.Model([tok, att], L.Dense(2)(x))


@model
def mha_2d_attention_axes_scores():
    i = keras.Input((4, 4, 6))
    out, scores = L.MultiHeadAttention(2, 3, attention_axes=(1, 2))(
        i, i, return_attention_scores=True)
    return keras.Model(i, [out, scores])


@model
def ops_misc_tensor_ops():
    i = keras.Input((4, 6))
    x = ops.tile(i, (1, 2, 1))
    x = ops.repeat(x, 2, axis=-1)
    x = ops.pad(x, ((0, 0), (1, 1), (0, 0)))
    x = ops.flip(x, axis=1) + ops.roll(x, 1, axis=2)
    x = ops.moveaxis(x, 1, 2)
    y = ops.logsumexp(x, axis=-1) + ops.cumsum(ops.sigmoid(x), axis=1)[:, :, -1]
    return keras.Model(i, L.Dense(2)(y))


@model
def ops_extract_patches_vit():
    i = keras.Input((16, 16, 3))
    p = ops.image.extract_patches(i, 4)
    p = ops.reshape(p, (-1, 16, 48))
    x = L.Dense(8)(p) + L.Embedding(16, 8)(ops.arange(16))
    x = L.LayerNormalization()(x)
    return keras.Model(i, L.Dense(2)(ops.mean(x, axis=1)))


@model
def layers_misc_1d():
    i = keras.Input((12, 3))
    x = L.ZeroPadding1D(2)(i)
    x = L.Cropping1D((1, 1))(x)
    x = L.SeparableConv1D(4, 3, padding="same")(x)
    x = L.PReLU()(x)
    x = L.UpSampling1D(2)(x)
    x = L.Conv1DTranspose(4, 3, strides=2, padding="same")(x)
    x = L.ELU()(x)
    return keras.Model(i, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def norm_variants():
    i = keras.Input((6, 8))
    x = L.LayerNormalization(center=False, scale=False)(i)
    x = L.BatchNormalization(center=False, momentum=0.9)(x)
    x = L.GaussianNoise(0.1)(x)
    x = L.Softmax(axis=1)(x)
    return keras.Model(i, L.Dense(2)(x))


@model
def functional_subclass_overrides_call():
    class PostProcessed(keras.Model):
        def __init__(self, **kw):
            i = keras.Input((5,))
            x = L.Dense(6, activation="relu")(i)
            super().__init__(inputs=i, outputs=L.Dense(3)(x), **kw)

        def call(self, inputs, training=None):
            return ops.softmax(super().call(inputs, training=training) * 2.0)

    return PostProcessed()


@model
def subclass_calls_functional_submodel():
    ci = keras.Input((8,))
    core = keras.Model(ci, L.Dense(4, activation="tanh")(L.Dense(8, "relu")(ci)))

    class Wrapper(keras.Model):
        def __init__(self, core, **kw):
            super().__init__(**kw)
            self.core = core
            self.head = L.Dense(2)

        def call(self, x, training=False):
            return self.head(self.core((x - 0.5) / 2.0, training=training))

    return _subclass(Wrapper(core), [((8,), "float32")])


@model
def ops_cumprod_decay():
    i = keras.Input((6, 3))
    g = ops.cumprod(ops.sigmoid(L.Dense(3)(i)), axis=1)
    return keras.Model(i, L.Dense(2)(g * i))


@model
def layernorm_rms_scaling():
    i = keras.Input((6, 8))
    return keras.Model(i, L.Dense(2)(L.LayerNormalization(rms_scaling=True)(i)))


@model
def attention_layer_causal_concat():
    q = keras.Input((6, 4))
    v = keras.Input((6, 4))
    out = L.Attention(use_scale=True, score_mode="concat")([q, v], use_causal_mask=True)
    return keras.Model([q, v], out)


@model
def mask_mha_key_mask_only():
    q = keras.Input((5, 4))
    k = keras.Input((7,), dtype="int32")
    v = keras.Input((7, 4))
    ke = L.Embedding(30, 4, mask_zero=True)(k)
    x = L.MultiHeadAttention(2, 2)(q, v, key=ke)
    return keras.Model([q, k, v], L.Dense(2)(x))


@model
def mask_bidirectional_merge_none():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    f, b = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=None)(x)
    return keras.Model(i, [L.GlobalAveragePooling1D()(f), L.GlobalAveragePooling1D()(b)])


@model
def mask_simple_rnn_backwards_state():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    out, h = L.SimpleRNN(3, go_backwards=True, return_state=True)(x)
    return keras.Model(i, L.concatenate([out, h]))


@model
def mask_masking_nonzero_value_gru():
    i = keras.Input((6, 2))
    x = ops.where(i < -0.5, -1.0, i)
    x = L.Masking(mask_value=-1.0)(x)
    return keras.Model(i, L.Dense(1)(L.GRU(3)(x)))


@model
def mask_average_two_masked_gap():
    a = keras.Input((8,), dtype="int32")
    b = keras.Input((8,), dtype="int32")
    x = L.Average()([L.Embedding(30, 4, mask_zero=True)(a),
                     L.Embedding(30, 4, mask_zero=True)(b)])
    return keras.Model([a, b], L.GlobalAveragePooling1D()(x))


@model
def mask_lambda_between_embedding_and_lstm():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.Lambda(lambda t: t * 2.0)(x)
    return keras.Model(i, L.Dense(1)(L.LSTM(3)(x)))


@model
def mask_lambda_with_mask_fn():
    i = keras.Input((None,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.Lambda(lambda t: t * 2.0, mask=lambda t, m: m)(x)
    return keras.Model(i, L.Dense(1)(L.LSTM(3)(x)))


@model
def hub_encoder_implicit_and_explicit_padding():
    kh = _hub()
    tok = keras.Input((8,), dtype="int32")
    pad = keras.Input((8,), dtype="bool")
    x = L.Embedding(30, 8, mask_zero=True)(tok)
    x = kh.layers.TransformerEncoder(16, 2)(x, padding_mask=pad)
    return keras.Model([tok, pad], L.Dense(2)(x))


@model
def mask_multiply_masked_with_unmasked():
    i = keras.Input((8,), dtype="int32")
    f = keras.Input((8, 4))
    e = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.Multiply()([e, f])
    return keras.Model([i, f], L.Dense(1)(L.LSTM(3)(x)))


@model
def mask_gap1d_masked_after_dense_conv_dropped():
    i = keras.Input((10,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.Conv1D(4, 3, padding="same")(x)  # Keras drops the mask here
    return keras.Model(i, L.GlobalAveragePooling1D()(x))


@model
def mask_additive_attention_self():
    i = keras.Input((7,), dtype="int32")
    x = L.Embedding(30, 4, mask_zero=True)(i)
    x = L.AdditiveAttention(use_scale=False)([x, x])
    return keras.Model(i, L.Dense(2)(x))


@model
def ops_int_semantics_preproc():
    """integer preprocessing inside a model: floor division / mod of negatives,
    float->int truncation, rounding half to even, clip on ints."""
    i = keras.Input((6,))
    x = i * 3.0
    a = ops.cast(ops.floor_divide(x, 2.0), "float32")
    b = ops.mod(x, 2.0)
    c = ops.cast(ops.cast(x, "int32"), "float32")
    d = ops.round(x * 2.0) / 2.0
    e = ops.cast(ops.clip(ops.cast(x, "int32"), -2, 2), "float32")
    return keras.Model(i, ops.concatenate([a, b, c, d, e], axis=-1))


@model
def ops_int_token_arith():
    i = keras.Input((6,), dtype="int32")
    a = ops.floor_divide(i - 5, 3)
    b = ops.mod(i - 5, 3)
    c = ops.one_hot(ops.clip(i, 0, 7), 8)
    d = ops.cast(ops.equal(i % 2, 0), "float32")
    return keras.Model(i, [ops.cast(a, "float32"), ops.cast(b, "float32"),
                           ops.sum(c, axis=1), d])


@model
def ops_take_negative_and_argmin():
    i = keras.Input((8,))
    t = ops.take(i, np.array([-1, 0, 3], "int32"), axis=1)
    am = ops.cast(ops.argmin(i, axis=-1), "float32")[:, None]
    return keras.Model(i, ops.concatenate([t, am], axis=-1))


@model
def hub_token_pos_mask_zero_into_lstm():
    kh = _hub()
    tok = keras.Input((None,), dtype="int32")
    x = kh.layers.TokenAndPositionEmbedding(30, 40, 6, mask_zero=True)(tok)
    return keras.Model(tok, L.Dense(1)(L.Bidirectional(L.GRU(3))(x)))


@model
def hub_reversible_embedding_mask_zero_gap():
    kh = _hub()
    tok = keras.Input((9,), dtype="int32")
    x = kh.layers.ReversibleEmbedding(30, 6, mask_zero=True)(tok)
    x = L.Dense(6, activation="relu")(x)
    return keras.Model(tok, L.Dense(2)(L.GlobalAveragePooling1D()(x)))


@model
def hub_sine_encoding_masked_encoder():
    kh = _hub()
    tok = keras.Input((10,), dtype="int32")
    e = L.Embedding(30, 8, mask_zero=True)(tok)
    x = L.Add()([e, kh.layers.SinePositionEncoding()(e)])
    x = kh.layers.TransformerEncoder(16, 2, dropout=0.1)(x)
    return keras.Model(tok, L.Dense(2)(L.GlobalAveragePooling1D()(x)))
