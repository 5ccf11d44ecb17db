"""Model definitions following the Keras unit tests of tf2onnx
(``tests/keras2onnx_unit_tests/test_layers.py`` and ``test_subclassing.py`` of
onnx/tensorflow-onnx), re-written for Keras 3 and kept tiny, for
``keras_examples_probe.py --module tf2onnx_keras_tests``: real model definitions that
nobody on this project wrote.

``tf.*`` calls inside the tests' Lambda layers are ported to ``keras.ops``; tests whose
point is a TF op with no ``keras.ops`` equivalent (depth_to_space, align_corners resize),
TF1-only tests, layers removed in Keras 3 (ThresholdedReLU), ``time_major`` RNNs,
stateful RNNs, data-dependent output shapes and converter options (channel_first_inputs)
are left out.  The function name follows the test it comes from.  Subclassed models
carry ``probe_specs`` (per input: the shape without the batch, and the dtype).  Nothing
here is imported by graphir or its tests.
"""

import numpy as np
import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


def seq(shape, *layers, dtype="float32"):
    """A Sequential model on an input of ``shape`` (no batch)."""
    return keras.Sequential([keras.Input(shape, dtype=dtype), *layers])


def lam(shape, fn, dtype="float32"):
    """A one-Lambda Sequential model."""
    return seq(shape, L.Lambda(fn), dtype=dtype)


def lam2(shapes, fn, dtype="float32"):
    """A functional model: one Lambda over several inputs."""
    ins = [keras.Input(s, dtype=dtype) for s in shapes]
    return keras.Model(ins, L.Lambda(fn)(ins))


def _const(*shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# --- Lambda layers over keras.ops (test_keras_lambda, test_tf_*) -------------------

@model
def keras_lambda():
    return seq((3, 5), L.Lambda(lambda x: x ** 2), L.Lambda(lambda x: ops.round(x)),
               L.Flatten())


@model
def tf_addn():
    return lam2([(5, 3, 4), (5, 3, 4)], lambda t: ops.sum(ops.stack(t), axis=0))


@model
def tf_argmax():
    return lam((3, 4, 2), lambda x: ops.argmax(x, axis=2))


@model
def tf_argmin_int32():
    return lam((3, 4, 2), lambda x: ops.cast(ops.argmin(x, axis=2), "int32"))


@model
def tf_avg_pool_same():
    return lam((10, 12, 3), lambda x: ops.average_pool(x, 2, strides=(1, 2), padding="same"))


@model
def tf_max_pool_valid():
    return lam((10, 12, 3), lambda x: ops.max_pool(x, 2, strides=(1, 2), padding="valid"))


@model
def tf_max_pool3d_same():
    return lam((10, 12, 3, 4),
               lambda x: ops.max_pool(x, 2, strides=(1, 1, 2), padding="same"))


@model
def tf_avg_pool3d_valid():
    return lam((10, 12, 3, 4),
               lambda x: ops.average_pool(x, 2, strides=(1, 1, 2), padding="valid"))


@model
def tf_conv2d_same():
    k = _const(1, 2, 3, 5)
    return lam((10, 14, 3), lambda x: ops.conv(x, k, strides=(1, 2), padding="same"))


@model
def tf_conv2d_valid():
    k = _const(1, 2, 3, 5)
    return lam((10, 14, 3), lambda x: ops.conv(x, k, strides=(1, 2), padding="valid"))


@model
def tf_conv1d():
    k = _const(1, 3, 5)
    return lam((10, 3), lambda x: ops.conv(x, k, strides=2, padding="same"))


@model
def tf_conv3d():
    k = _const(1, 2, 3, 5, 2)
    return lam((10, 14, 3, 5), lambda x: ops.conv(x, k, strides=(1, 2, 1), padding="same"))


@model
def tf_floormod():
    return lam2([(2, 2), (2, 2)], lambda t: ops.mod(t[0], t[1]))


@model
def tf_floormod_int():
    return lam2([(2, 2), (2, 2)],
                lambda t: ops.mod(ops.cast(t[0] * 10, "int32"), ops.cast(t[1] * 3, "int32") + 7))


@model
def tf_rsqrt():
    z, o = np.zeros(4, "float32"), np.ones(4, "float32")
    return lam((2, 3, 4), lambda x: ops.batch_normalization(x, z, o, axis=-1, offset=z,
                                                            scale=z, epsilon=0.001))


@model
def tf_bias_add():
    b = np.array([100.0, -100.0], "float32")
    return lam((3, 4, 2), lambda x: x + b)


@model
def tf_bias_add_nchw():
    b = np.array([100.0, -100.0], "float32").reshape(2, 1, 1)
    return lam((2, 3, 4), lambda x: x + b)


@model
def tf_clip():
    return lam((5, 5), lambda x: ops.clip(x * 10, 0, 10))


@model
def tf_pow_int():
    y = np.full((2, 2), 2, "int32")
    return lam((2, 2), lambda x: ops.power(ops.cast(x * 10, "int32"), y))


@model
def tf_concat_axis1():
    return lam2([(2, 3), (4, 3)], lambda t: ops.concatenate(t, axis=1))


@model
def tf_concat_last():
    return lam2([(3, 2), (3, 4)], lambda t: ops.concatenate(t, axis=-1))


@model
def depthwise_conv2d_bias():
    return seq((8, 8, 2), L.DepthwiseConv2D((3, 3), padding="valid", use_bias=True))


@model
def depthwise_conv2d_nobias():
    return seq((8, 8, 2), L.DepthwiseConv2D((3, 3), padding="valid", use_bias=False))


@model
def tf_einsum_outer():
    return lam2([(3,), (3,)], lambda t: ops.einsum("i,d->id", t[0][:, 0], t[1][:, 1]))


@model
def tf_einsum_ibh_hnd():
    k = _const(2, 4, 5)  # the test's second operand, batch-free
    return lam((3, 2), lambda x: ops.einsum("ibh,hnd->ibnd", x, k))


@model
def tf_einsum_ibnd_jbnd():
    return lam2([(2, 3, 4, 2), (2, 3, 4, 2)],
                lambda t: ops.einsum("ibnd,jbnd->ijbn", t[0][:, 0], t[1][:, 1]))


@model
def tf_einsum_ijbn_jbnd():
    return lam2([(2, 4, 3), (2, 4, 3, 5)],
                lambda t: ops.einsum("zjbn,zjbnd->zbnd", t[0], t[1]))


@model
def tf_expand_dims_0():
    return lam((2, 3, 4), lambda x: ops.expand_dims(x, 0))


@model
def tf_expand_dims_1():
    return lam((2, 3, 4), lambda x: ops.expand_dims(x, 1))


@model
def tf_expand_dims_last():
    return lam((2, 3, 4), lambda x: ops.expand_dims(x, -1))


@model
def tf_fill():
    return lam((2, 3), lambda x: x + ops.full((2, 3), 2.3))


@model
def tf_fused_batch_norm_nchw():
    b, g = np.array([0.2, 0.3], "float32"), np.array([0.5, 0.4], "float32")
    m, v = np.array([0.1, 0.2], "float32"), np.array([0.9, 1.0], "float32")
    return lam((2, 3, 4), lambda x: ops.batch_normalization(x, m, v, axis=1, offset=b,
                                                            scale=g, epsilon=0.001))


@model
def tf_gather():
    return lam((5, 5), lambda x: ops.take(x, [1, 1], axis=1))


@model
def tf_maximum_minimum():
    return lam2([(2, 3), (2, 1)], lambda t: ops.minimum(ops.maximum(t[0], t[1]), 0.5))


@model
def tf_maximum_minimum_int():
    return lam2([(2, 3), (2, 1)], lambda t: ops.minimum(ops.maximum(t[0], 5), t[1]),
                dtype="int32")


@model
def tf_one_hot():
    def fn(x):
        oh = ops.one_hot(ops.cast(ops.abs(x) * 2, "int32"), 3, axis=1)
        return oh * 6.0 - 1.0
    return lam((3,), fn)


@model
def tf_pad_constant():
    return lam((5, 5), lambda x: ops.pad(x, [[0, 0], [1, 3], [2, 4]]))


@model
def tf_pad_constant_value():
    return lam((5, 5), lambda x: ops.pad(x, [[0, 0], [1, 3], [2, 4]], constant_values=1))


@model
def tf_pad_reflect():
    return lam((5, 5), lambda x: ops.pad(x, [[0, 0], [1, 3], [2, 4]], mode="reflect"))


@model
def tf_range_int():
    return lam((1,), lambda x: x + ops.cast(ops.arange(3, 18, 3), "float32"))


@model
def tf_range_float():
    return lam((1,), lambda x: x + ops.arange(2.3, 4.6, 0.8, dtype="float32"))


@model
def tf_compare_equal():
    ins = [keras.Input((3,), dtype="int32") for _ in range(2)]
    outs = [L.Lambda(lambda t, f=f: f(t[0], t[1]))(ins)
            for f in (ops.not_equal, ops.less_equal, ops.greater_equal)]
    return keras.Model(ins, outs)


@model
def tf_realdiv_broadcast():
    return lam2([(2, 3), (3,)], lambda t: ops.divide(t[0], ops.expand_dims(t[1], 1)))


@model
def tf_reduce_keepdims():
    i = keras.Input((2, 2))
    outs = [L.Lambda(lambda x, f=f: f(x, axis=1, keepdims=True))(i)
            for f in (ops.min, ops.max, ops.mean, ops.sum, ops.prod)]
    return keras.Model(i, outs)


@model
def tf_reduce_all_axes():
    i = keras.Input((2, 2))
    outs = [L.Lambda(lambda x, f=f: f(x))(i)
            for f in (ops.min, ops.max, ops.mean, ops.sum, ops.prod)]
    return keras.Model(i, outs)


@model
def tf_reshape():
    return lam((2, 2, 2), lambda x: ops.reshape(x, (-1, 2, 4)))


@model
def tf_reshape_int():
    return lam((2, 2, 2), lambda x: ops.reshape(x, (-1, 2, 4)), dtype="int32")


@model
def tf_resize_bilinear():
    return lam((10, 20, 3), lambda x: ops.image.resize(x, (5, 10), interpolation="bilinear"))


@model
def tf_resize_nearest_up_dynamic():
    return lam((None, 20, 3), lambda x: ops.image.resize(x, (20, 30), interpolation="nearest"))


@model
def tf_size():
    return lam((2, 3, 5), lambda x: x + ops.cast(ops.size(x), "float32"))


@model
def tf_slice():
    return lam((2, 3, 5), lambda x: ops.slice(x, (0, 1, 0, 2), (ops.shape(x)[0], 1, 2, 2)))


@model
def tf_softmax_axis1():
    return lam((2, 3, 5), lambda x: ops.softmax(x, axis=1))


@model
def tf_sqrt():
    return lam((2, 5), lambda x: ops.sqrt(ops.abs(x) + 1.0))


@model
def tf_space_to_batch_nd():
    k = _const(3, 3, 2, 2)
    return lam((8, 8, 2), lambda x: ops.depthwise_conv(x, k, padding="valid", dilation_rate=2))


@model
def tf_splitv():
    return lam((5, 30), lambda x: ops.split(x, [4, 19], axis=2)[0])


@model
def tf_square():
    return lam((2, 3, 5), lambda x: x + ops.square(x))


@model
def tf_squeeze_axis():
    return lam((1, 2, 1, 2), lambda x: ops.squeeze(x, 1))


@model
def tf_squeeze_all():
    i = keras.Input((1, 2, 1, 2), batch_size=2)  # squeezing every unit dim needs a batch
    return keras.Model(i, L.Lambda(lambda x: ops.squeeze(x))(i))


@model
def tf_stack():
    return lam2([(2, 3)] * 3, lambda t: ops.stack(t, axis=-1))


@model
def stridedslice_newaxis():
    return lam((2, 3, 4, 5), lambda x: x[:, None, -1:, None, :2, None, 3])


@model
def stridedslice_ellipsis_newaxis():
    return lam((2, 3, 4, 3, 2, 2), lambda x: x[:, 1:, None, ..., :, 1:, None])


@model
def stridedslice_ellipsis_mask():
    return lam((3, 4, 5, 6, 3), lambda x: x[:, :2, ..., 1:])


@model
def stridedslice_shrink():
    return lam((3, 4, 5), lambda x: x[:, -1, :])


@model
def stridedslice_dynamic_end():
    return seq((3, 4, 5),
               L.Conv2DTranspose(8, (2, 5), strides=(1, 2), use_bias=False),
               L.Lambda(lambda x: x[:, :-1, 1:ops.shape(x)[2] - 1, :]))


@model
def tf_tile():
    return lam((2, 2), lambda x: ops.tile(x, [1, 1, 3]))


@model
def tf_topk():
    return lam((5, 5), lambda x: ops.top_k(x, k=2)[0])


@model
def tf_transpose_perm():
    return lam((2, 3, 4), lambda x: ops.transpose(x, (0, 2, 3, 1)))


@model
def tf_transpose_full():
    return lam((2, 3, 4), lambda x: ops.transpose(x))


@model
def tf_transpose_const():
    a = np.array([[1, 2, 3], [4, 5, 6]], "float32")
    return lam((3, 2), lambda x: x + ops.transpose(a))


@model
def tf_unpack():
    return lam((2, 3, 4), lambda x: ops.unstack(x, axis=-1)[0])


@model
def any_all():
    i = keras.Input((3, 5))
    pos = L.Lambda(lambda x: ops.greater(x, 0.0))(i)
    return keras.Model(i, [L.Lambda(lambda b: ops.any(b, axis=1))(pos),
                           L.Lambda(lambda b: ops.all(b, axis=-1))(pos)])


@model
def reverse_v2():
    return lam((2, 4), lambda x: ops.flip(x, axis=1))


@model
def tensor_scatter_update():
    upd = np.ones((1, 2, 2), "float32")
    return lam((2, 2), lambda x: ops.scatter_update(x, [[0]], upd))


# --- layers ------------------------------------------------------------------------

@model
def dense():
    return seq((4,), L.Dense(5, activation="sigmoid"), L.Dense(3, use_bias=False))


@model
def dense_add():
    ins = [keras.Input((4,)), keras.Input((5,)), keras.Input((3,))]
    xs = [L.Dense(3, activation="relu")(ins[0]), L.Dense(3, activation="sigmoid")(ins[1]),
          L.Dense(3)(ins[2])]
    return keras.Model(ins, L.Add()(xs))


@model
def dense_softmax():
    return seq((4,), L.Dense(5, activation="softmax"), L.Dense(3))


@model
def dense_activation_softmax():
    return seq((4,), L.Dense(5), L.Activation("softmax"), L.Dense(3))


def _merge(layer, *shapes):
    ins = [keras.Input(s) for s in shapes]
    return keras.Model(ins, layer(ins))


@model
def merge_add3():
    return _merge(L.Add(), (3,), (3,), (3,))


@model
def merge_subtract():
    return _merge(L.Subtract(), (3,), (3,))


@model
def merge_multiply():
    return _merge(L.Multiply(), (3,), (3,))


@model
def merge_average():
    return _merge(L.Average(), (3,), (3,))


@model
def merge_maximum():
    return _merge(L.Maximum(), (3,), (3,))


@model
def merge_concat():
    return _merge(L.Concatenate(), (3,), (4,))


@model
def merge_concat_axis1():
    return _merge(L.Concatenate(1), (2, 2), (2, 2))


@model
def conv1d_stride2():
    return seq((15, 4), L.Conv1D(5, 3, strides=2, use_bias=False))


@model
def conv1d_same():
    return seq((15, 4), L.Conv1D(5, 3, padding="same", use_bias=False))


@model
def conv1d_causal():
    return seq((15, 4), L.Conv1D(5, 3, padding="causal", use_bias=False))


@model
def conv1d_sigmoid_bias():
    return seq((15, 4), L.Conv1D(5, 3, activation="sigmoid"))


@model
def conv2d():
    return seq((5, 5, 3), L.Conv2D(5, (2, 2), use_bias=False))


@model
def conv2d_transpose():
    return seq((5, 5, 3), L.Conv2DTranspose(5, (2, 2), use_bias=False))


@model
def conv2d_transpose_same_bn():
    return seq((8, 8, 3), L.Conv2DTranspose(4, (4, 4), strides=2, padding="same",
                                            use_bias=False, kernel_initializer="he_normal"),
               L.BatchNormalization())


@model
def conv2d_transpose_valid_bn():
    return seq((8, 8, 3), L.Conv2DTranspose(4, (4, 4), strides=2, padding="valid",
                                            use_bias=False), L.BatchNormalization())


@model
def conv2d_same_stride2():
    return seq((6, 6, 1), L.Conv2D(1, (3, 3), strides=2, padding="same", use_bias=False))


@model
def conv2d_same_odd_kernel_stride():
    return seq((25, 25, 1), L.Conv2D(1, (5, 7), strides=(3, 5), padding="same",
                                     use_bias=False))


@model
def conv2d_channels_first():
    return seq((3, 5, 5), L.Conv2D(5, (2, 2), data_format="channels_first", use_bias=False))


@model
def conv2d_softmax():
    return seq((5, 5, 3), L.Conv2D(5, (2, 2), activation="softmax"))


@model
def conv2d_uneven_stride():
    return seq((20, 10, 3), L.Conv2D(5, (4, 4), strides=(3, 2)))


@model
def conv3d():
    return seq((5, 5, 8, 3), L.Conv3D(5, (2, 2, 2), use_bias=False))


@model
def conv3d_transpose():
    return seq((5, 5, 8, 3), L.Conv3DTranspose(5, (2, 2, 2), use_bias=False))


@model
def flatten():
    return seq((3, 2), L.Flatten(), L.Dense(3))


@model
def opt_push_transpose_unsqueeze_2d():
    return seq((1, 5, 7), L.Conv2D(4, (3, 3), padding="same"),
               L.Lambda(lambda x: ops.squeeze(x, 1)), L.Lambda(lambda x: ops.expand_dims(x, 1)))


@model
def opt_push_transpose_unsqueeze_1d():
    return seq((1, 5), L.Conv1D(4, 3, padding="same"),
               L.Lambda(lambda x: ops.squeeze(x, 1)), L.Lambda(lambda x: ops.expand_dims(x, 1)))


@model
def flatten_channels_first():
    return seq((3, 5, 7), L.Conv2D(4, (3, 3), padding="same"),
               L.Flatten(data_format="channels_first"))


@model
def reshape_permute_repeat():
    i = keras.Input((3, 2))
    a = L.Reshape((2, 3))(i)
    b = L.Permute((2, 1))(i)
    c = L.RepeatVector(3)(L.Flatten()(i))
    return keras.Model(i, [a, b, c])


@model
def pooling_1d_channels_first():
    i = keras.Input((4, 6))
    return keras.Model(i, [L.AveragePooling1D(2, data_format="channels_first")(i),
                           L.MaxPooling1D(2, data_format="channels_first")(i),
                           L.AveragePooling1D(2)(i)])


@model
def pooling_2d():
    i = keras.Input((5, 5, 3))
    return keras.Model(i, [L.AveragePooling2D(2)(i),
                           L.MaxPooling2D((2, 2), strides=(2, 2))(i),
                           L.MaxPooling2D((2, 2), strides=(2, 2), padding="same")(i)])


@model
def pooling_3d():
    i = keras.Input((4, 4, 4, 3))
    return keras.Model(i, [L.AveragePooling3D(2)(i), L.MaxPooling3D(2)(i)])


@model
def pooling_global_avg():
    return seq((4, 6, 2), L.GlobalAveragePooling2D())


def _activation(name):
    return lambda: seq((11,), L.Activation(name))


for _name in ["tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "selu", "softsign",
              "softplus", "softmax", "linear"]:
    MODELS[f"activation_{_name}"] = _activation(_name)


@model
def selu_cnn():
    return seq((10, 10, 1), L.Conv2D(4, 3, strides=2), L.Flatten(),
               L.Dense(8, activation="selu"), L.Dense(5, activation="softmax"))


@model
def gelu_custom_activation():
    def gelu(x):
        return x * 0.5 * (1.0 + ops.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * ops.power(x, 3))))
    i = keras.Input((20, 10))
    x = L.GlobalMaxPooling1D()(i)
    x = L.Dense(10, trainable=False)(x)
    return keras.Model(i, L.Activation(gelu)(x))


@model
def advanced_activations():
    i = keras.Input((11,))
    return keras.Model(i, [L.LeakyReLU(negative_slope=0.1)(i), L.ELU(alpha=1.0)(i),
                           L.ReLU(threshold=1.0)(i), L.Softmax(axis=-1)(i)])


@model
def prelu_random():
    return seq((11,), L.PReLU(alpha_initializer="random_normal"))


@model
def relu_options():
    i = keras.Input((11,))
    return keras.Model(i, [L.ReLU()(i), L.ReLU(max_value=1.5)(i),
                           L.ReLU(max_value=1.5, negative_slope=0.1)(i)])


@model
def softmax_axis1():
    return seq((2, 3, 4), L.Softmax(axis=1))


@model
def tf_nn_activation():
    return seq((10,), L.Dense(8, activation="relu6"), L.Dense(8, activation="leaky_relu"),
               L.Dense(1), L.Activation(L.LeakyReLU(negative_slope=0.2)),
               L.Activation(L.ReLU()), L.PReLU(), L.LeakyReLU(negative_slope=0.5),
               L.Lambda(lambda x: keras.activations.swish(x)))


@model
def crop_1d():
    i = keras.Input((10, 20))
    return keras.Model(i, [L.Cropping1D(2)(i), L.Cropping1D((1, 2))(i)])


@model
def crop_2d():
    a, b = keras.Input((20, 20, 1)), keras.Input((1, 20, 20))
    return keras.Model([a, b], [L.Cropping2D(((1, 2), (2, 3)))(a),
                                L.Cropping2D(2, data_format="channels_first")(b)])


@model
def crop_3d():
    a, b = keras.Input((10, 10, 10, 1)), keras.Input((1, 10, 10, 10))
    return keras.Model([a, b], [L.Cropping3D(((1, 2), (2, 3), (3, 5)))(a),
                                L.Cropping3D((2, 3, 4), data_format="channels_first")(b)])


@model
def upsample_1d():
    return seq((20, 5), L.UpSampling1D(2))


@model
def upsample_2d_nearest():
    return seq((10, 10, 1), L.UpSampling2D((2, 3)))


@model
def upsample_2d_bilinear():
    return seq((10, 10, 1), L.UpSampling2D((2, 3), interpolation="bilinear"))


@model
def upsample_3d():
    return seq((5, 5, 5, 1), L.UpSampling3D((2, 3, 4)))


@model
def zero_padding_2d():
    return seq((20, 20, 1), L.ZeroPadding2D(((1, 2), (2, 3))))


@model
def embedding():
    return seq((10,), L.Embedding(50, 8), dtype="int32")


@model
def shared_embed():
    a, b = keras.Input((5,), dtype="int32"), keras.Input((7,), dtype="int32")
    emb = L.Embedding(10, 6, trainable=False)
    return keras.Model([a, b], [L.Dropout(0.2)(emb(a)), L.Dropout(0.2)(emb(b))])


@model
def dot_normalize():
    a, b = keras.Input((3,)), keras.Input((3,))
    return keras.Model([a, b], [L.Dot(-1)([a, b]), L.Dot(-1, normalize=True)([a, b])])


@model
def dot2_axes_1_2():
    a, b = keras.Input((20, 1)), keras.Input((30, 20))
    return keras.Model([a, b], L.Dot(axes=[1, 2], normalize=True)([a, b]))


@model
def dot2_axes_2_1():
    a, b = keras.Input((3, 5)), keras.Input((5,))
    return keras.Model([a, b], L.Dot(axes=[2, 1])([a, b]))


@model
def dot2_axes_1_1():
    a, b = keras.Input((7,)), keras.Input((7, 5))
    return keras.Model([a, b], L.Dot(axes=[1, 1])([a, b]))


@model
def dot2_rank5():
    a, b = keras.Input((3, 4, 12, 3)), keras.Input((3, 4, 15, 3))
    return keras.Model([a, b], L.Dot(axes=4)([a, b]))


@model
def training_layers():
    return seq((2, 3, 4), L.Dense(8), L.GaussianNoise(0.1), L.Activation("relu"),
               L.GaussianDropout(0.1), L.AlphaDropout(0.1), L.SpatialDropout2D(0.2),
               L.Dense(1))


def _bn(axis, center=True, scale=True, beta="zeros"):
    return seq((1, 2, 5), L.BatchNormalization(
        axis=axis, center=center, scale=scale, beta_initializer=beta,
        moving_mean_initializer=keras.initializers.Constant(0.3),
        moving_variance_initializer=keras.initializers.Constant(2.0)))


MODELS["batch_normalization_axis3"] = lambda: _bn(3, beta="ones")
MODELS["batch_normalization_axis1"] = lambda: _bn(1, beta="ones")
MODELS["batch_normalization_noscale"] = lambda: _bn(1, scale=False, beta="ones")
MODELS["batch_normalization_nocenter"] = lambda: _bn(1, center=False)


@model
def batch_normalization_2_axis1():
    i2, i3, i4 = keras.Input((10,)), keras.Input((10, 20)), keras.Input((4, 5, 6))
    outs = [L.Dense(5)(L.BatchNormalization(axis=1)(i)) for i in (i2, i3, i4)]
    return keras.Model([i2, i3, i4], outs)


@model
def batch_normalization_2_conv():
    i3, i4 = keras.Input((10, 20)), keras.Input((10, 12, 6))
    a = L.Dense(5)(L.BatchNormalization()(L.Conv1D(4, 3, strides=2)(i3)))
    b = L.Dense(5)(L.BatchNormalization()(L.Conv2D(4, 3, strides=2)(i4)))
    return keras.Model([i3, i4], [a, b])


# --- recurrent -----------------------------------------------------------------------

@model
def simple_rnn():
    return seq((3, 1), L.SimpleRNN(2, return_sequences=True))


@model
def simple_rnn_initial_state():
    x, s = keras.Input((1, 2)), keras.Input((5,))
    h = L.SimpleRNN(5, activation="relu", return_sequences=True)(x, initial_state=[s])
    return keras.Model([x, s], L.Dense(2, activation="sigmoid")(h))


@model
def simple_rnn_state_out():
    x, s = keras.Input((1, 2)), keras.Input((6,))
    h, st = L.SimpleRNN(6, activation="relu", return_sequences=True,
                        return_state=True)(x, initial_state=[s])
    return keras.Model([x, s], [L.Dense(2)(h), st])


@model
def gru():
    return seq((3, 1), L.GRU(2))


@model
def gru_initial_state_seq():
    x, s = keras.Input((3, 1)), keras.Input((2,))
    return keras.Model([x, s], L.GRU(2, return_sequences=True)(x, initial_state=s))


@model
def gru_reset_after_false():
    return seq((1, 7), L.GRU(4, reset_after=False), L.Dense(7, activation="sigmoid"))


@model
def lstm_states():
    i = keras.Input((3, 5))
    outs = list(L.LSTM(2, return_state=True, return_sequences=True)(i))
    outs += list(L.RNN(L.LSTMCell(2), return_state=True, return_sequences=True)(i))
    return keras.Model(i, outs)


@model
def lstm_states_nobias():
    i = keras.Input((3, 5))
    outs = list(L.LSTM(2, return_state=True, use_bias=False)(i))
    outs += list(L.RNN(L.LSTMCell(2, use_bias=False), return_state=True)(i))
    return keras.Model(i, outs)


@model
def lstm_go_backwards():
    i = keras.Input((3, 5))
    return keras.Model(i, list(L.LSTM(2, return_state=True, go_backwards=True,
                                      return_sequences=True)(i)))


@model
def lstm_set_weights():
    i = keras.Input((1, 1))
    a = L.LSTM(1, return_state=True, return_sequences=True)
    b = L.RNN(L.LSTMCell(1), return_state=True, return_sequences=True)
    m = keras.Model(i, list(a(i)) + list(b(i)))
    w = [np.array([[1, 2, 3, 4]]), np.array([[5, 6, 7, 8]]), np.array([1, 2, 3, 4])]
    m.set_weights([np.asarray(v, "float32") for v in w * 2])
    return m


@model
def lstm_reshape():
    i = keras.Input((3, 7))
    a = L.Reshape((3, 5))(L.LSTM(5, return_sequences=True)(i))
    b = L.Reshape((3, 5))(L.RNN(L.LSTMCell(5), return_sequences=True)(i))
    return keras.Model(i, [a, b])


@model
def lstm_initial_state_relu():
    x, h, c = keras.Input((1, 2)), keras.Input((5,)), keras.Input((5,))
    a = L.LSTM(5, activation="relu", return_sequences=True)(x, initial_state=[h, c])
    b = L.RNN(L.LSTMCell(5, activation="relu"), return_sequences=True)(x, initial_state=[h, c])
    return keras.Model([x, h, c], [L.Dense(2, activation="sigmoid")(a),
                                   L.Dense(2, activation="sigmoid")(b)])


def _bidir(rnn, return_sequences, merge_mode="concat"):
    def build():
        i = keras.Input((5, 10))
        x = L.Bidirectional(rnn(7, return_sequences=return_sequences),
                            merge_mode=merge_mode)(i)
        if merge_mode == "concat":
            x = L.Activation("softmax")(L.Dense(5)(x))
        return keras.Model(i, x)
    return build


for _rnn in (L.SimpleRNN, L.GRU, L.LSTM):
    MODELS[f"bidirectional_{_rnn.__name__.lower()}_seq"] = _bidir(_rnn, True)
    MODELS[f"bidirectional_{_rnn.__name__.lower()}_last"] = _bidir(_rnn, False)
    MODELS[f"bidirectional_{_rnn.__name__.lower()}_merge_none"] = _bidir(_rnn, True, None)


@model
def bidirectional_lstm_return_state():
    i = keras.Input((None, 5))
    return keras.Model(i, L.Bidirectional(L.LSTM(2, return_state=True))(i))


def _bidir_initial_states(rnn):
    def build():
        a, b = keras.Input((None, 5)), keras.Input((None, 5))
        states = L.Bidirectional(rnn(2, return_state=True))(a)[1:]
        out = L.Bidirectional(rnn(2, return_sequences=True))(b, initial_state=states)
        return keras.Model([a, b], out)
    return build


MODELS["bidirectional_gru_initial_states"] = _bidir_initial_states(L.GRU)
MODELS["bidirectional_lstm_initial_states"] = _bidir_initial_states(L.LSTM)


@model
def bidirectional_seqlen_none():
    return seq((None,), L.Embedding(39, 8), L.Bidirectional(L.LSTM(6, return_sequences=True)),
               L.Dense(4), dtype="int32")


def _state_passing(rnn):
    def build():
        a, b = keras.Input((None, 5)), keras.Input((None, 5))
        states = rnn(2, return_state=True)(a)[1:]
        return keras.Model([a, b], rnn(2, return_sequences=True)(b, initial_state=states))
    return build


for _rnn in (L.SimpleRNN, L.GRU, L.LSTM):
    MODELS[f"rnn_state_passing_{_rnn.__name__.lower()}"] = _state_passing(_rnn)


def _unrolled(rnn):
    return lambda: seq((3, 4), rnn(6, return_sequences=True, unroll=True),
                       rnn(5, return_sequences=True, unroll=True), rnn(4, unroll=True))


for _rnn in (L.SimpleRNN, L.GRU, L.LSTM):
    MODELS[f"seq_unroll_{_rnn.__name__.lower()}"] = _unrolled(_rnn)


@model
def separable_conv2d():
    return seq((5, 5, 3), L.SeparableConv2D(10, (1, 2), depth_multiplier=4),
               L.MaxPooling2D((2, 2), strides=(2, 2)))


@model
def separable_conv1d():
    return seq((5, 3), L.SeparableConv1D(10, 2))


# --- masking -------------------------------------------------------------------------

def _zero_steps(value=0.0):
    """A Lambda setting whole timesteps to ``value`` where feature 0 is negative."""
    return L.Lambda(lambda x: ops.where(x[..., :1] < 0, ops.full_like(x, value), x))


def _masking(rnn, value=0.0, bidirectional=False):
    def build():
        r = rnn(8, use_bias=True)
        return seq((3, 5), _zero_steps(value), L.Masking(mask_value=value),
                   L.Bidirectional(r) if bidirectional else r)
    return build


for _rnn in (L.SimpleRNN, L.GRU, L.LSTM):
    _n = _rnn.__name__.lower()
    MODELS[f"masking_{_n}"] = _masking(_rnn)
    MODELS[f"masking_bidirectional_{_n}"] = _masking(_rnn, bidirectional=True)
MODELS["masking_value_lstm"] = _masking(L.LSTM, value=5.0)


class MaskedMeanPool(L.Layer):
    """Mean over time of the unmasked steps (test_masking_custom)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=-2)
        n = ops.sum(ops.cast(mask, inputs.dtype), axis=-1, keepdims=True)
        return ops.sum(inputs, axis=-2) / (n + keras.config.epsilon())


@model
def masking_custom():
    return seq((3, 5), _zero_steps(), L.Masking(0.0), MaskedMeanPool())


@model
def timedistributed_dense():
    return seq((10, 16), L.TimeDistributed(L.Dense(8)))


@model
def timedistributed_conv2d():
    return seq((4, 7, 7, 3), L.TimeDistributed(L.Conv2D(4, (3, 3))))


# --- nested / shared models ------------------------------------------------------------

@model
def recursive_model():
    subs = []
    for _ in range(2):
        i = keras.Input((3,))
        subs.append(keras.Model(i, L.Dense(3)(i)))
    a, b = keras.Input((3,)), keras.Input((3,))
    return keras.Model([a, b], L.Add()([subs[0](a), subs[1](b)]))


@model
def recursive_and_shared_model():
    i1 = keras.Input((3,))
    sub1 = keras.Model(i1, L.Activation("sigmoid")(L.Dense(3)(i1)))
    i2 = keras.Input((3,))
    sub2 = keras.Model(i2, L.Activation("tanh")(sub1(i2)))
    a, b = keras.Input((3,)), keras.Input((3,))
    x = sub1(sub1(L.Activation("tanh")(a)))
    y = sub2(L.Activation("sigmoid")(b))
    return keras.Model([a, b], L.Add()([x, y]))


def _conv_bn(x, filters, strides=1, act=None):
    if strides > 1:
        x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = L.Conv2D(filters, 3, strides=strides, padding="same" if strides == 1 else "valid",
                 use_bias=False)(x)
    x = L.BatchNormalization()(x)
    return act()(x) if act else x


@model
def shared_model_2():
    i = keras.Input((3, 16, 16))
    backbone = keras.Model(i, _conv_bn(i, 4))
    j = keras.Input((3, 16, 16))
    return keras.Model(j, _conv_bn(backbone(j), 4))


@model
def shared_model_3():
    def bottleneck(x, filters, strides):
        x = L.LeakyReLU()(L.BatchNormalization()(L.Conv2D(filters // 2, 1, use_bias=False)(x)))
        x = _conv_bn(x, filters // 2, strides, L.LeakyReLU)
        return L.LeakyReLU()(L.BatchNormalization()(L.Conv2D(filters, 1, use_bias=False)(x)))
    i = keras.Input((3, 12, 16))
    return keras.Model(i, bottleneck(bottleneck(i, 4, 1), 8, 2))


class Identity(L.Layer):
    def call(self, inputs, training=None):
        return inputs


@model
def sub_model():
    i = keras.Input((20, 14, 1))
    features = keras.Sequential([
        L.Conv2D(4, 3, activation="relu"), L.Conv2D(4, 3, activation="relu"),
        L.MaxPooling2D(2, strides=2), L.Dropout(0.25),
        L.Conv2D(6, (4, 4), strides=(4, 4), activation="relu"), L.Dropout(0.5)])(i)
    heads = []
    for _ in range(2):
        for n, act in ((3, "softmax"), (1, "sigmoid"), (2, "tanh")):
            heads.append(L.Dense(n, activation=act)(L.Dense(4, activation="relu")(features)))
    return keras.Model(i, Identity()(L.Concatenate()(heads)))


@model
def two_zero_padding():
    i = keras.Input((8, 8, 3))
    t = L.Conv2D(4, 3, padding="same")(i)
    conv = L.Conv2D(4, 3, padding="valid")
    a = conv(L.ZeroPadding2D(((1, 0), (1, 0)))(t))
    b = conv(L.ZeroPadding2D(((0, 1), (0, 1)))(t))
    return keras.Model(i, L.Concatenate(axis=3)([a, b]))


# --- subclassed models (test_subclassing.py) ------------------------------------------

class LeNet(keras.Model):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.c1 = L.Conv2D(3, 3, activation="relu")
        self.pool = L.AveragePooling2D(3)
        self.c2 = L.Conv2D(4, 3, activation="relu")
        self.flat = L.Flatten()
        self.f1 = L.Dense(12, activation="relu")
        self.f2 = L.Dense(8, activation="relu")
        self.out = L.Dense(10, activation="softmax")

    def call(self, inputs):
        x = self.pool(self.c1(inputs))
        x = self.pool(self.c2(x))
        return self.out(self.f2(self.f1(self.flat(x))))


@model
def subclass_lenet():
    m = LeNet()
    m(np.zeros((2, 32, 32, 1), "float32"))
    m.probe_specs = [((32, 32, 1), "float32")]
    return m


class MLP(keras.Model):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.flat = L.Flatten()
        self.d1 = L.Dense(16, activation="relu")
        self.d2 = L.Dense(10)

    def call(self, inputs):
        return self.d2(self.d1(self.flat(inputs)))


@model
def subclass_mlp():
    m = MLP()
    m(np.zeros((2, 20), "float32"))
    m.probe_specs = [((20,), "float32")]
    return m


class OpsModel(keras.Model):
    def call(self, inputs):
        x = ops.square(inputs[0] - inputs[1])
        x = ops.matmul(x, ops.swapaxes(x, -1, -2))
        return x - float(ops.ndim(x))


@model
def subclass_tf_ops():
    m = OpsModel()
    m([np.zeros((3, 2, 20), "float32")] * 2)
    m.probe_specs = [((2, 20), "float32"), ((2, 20), "float32")]
    return m


class Sampling(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seed = keras.random.SeedGenerator(1234)

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        if not training:
            return z_mean
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed)
        return z_mean + ops.exp(0.5 * z_log_var) * eps


class Encoder(L.Layer):
    def __init__(self, latent=4, hidden=8, **kw):
        super().__init__(**kw)
        self.proj = L.Dense(hidden, activation="relu")
        self.mean = L.Dense(latent)
        self.log_var = L.Dense(latent)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.proj(inputs)
        z_mean, z_log_var = self.mean(x), self.log_var(x)
        return z_mean, z_log_var, self.sampling((z_mean, z_log_var))


class Decoder(L.Layer):
    def __init__(self, original, hidden=8, **kw):
        super().__init__(**kw)
        self.proj = L.Dense(hidden, activation="relu")
        self.out = L.Dense(original, activation="sigmoid")

    def call(self, inputs):
        return self.out(self.proj(inputs))


class VAE(keras.Model):
    def __init__(self, original, **kw):
        super().__init__(**kw)
        self.encoder = Encoder()
        self.decoder = Decoder(original)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        kl = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl)
        return self.decoder(z)


@model
def subclass_vae():
    m = VAE(20)
    m(np.zeros((2, 20), "float32"))
    m.probe_specs = [((20,), "float32")]
    return m


class WhereModel(keras.Model):
    def call(self, inputs):
        c = np.array([0, 1, 2, 5, 7], "int32")
        a = ops.where(True, inputs, c)
        b = ops.where(np.array([True]), ops.expand_dims(inputs, 0), c[None])
        return ops.logical_or(ops.cast(a, "bool"), ops.cast(b, "bool"))


@model
def subclass_tf_where():
    m = WhereModel()
    m(np.zeros((2, 5), "int32"))
    m.probe_specs = [((5,), "int32")]
    return m


class OptionalInputs(keras.Model):
    def call(self, inputs, type_ids=None):
        ids = inputs
        if isinstance(inputs, (list, tuple)):
            ids = inputs[0]
            type_ids = inputs[1] if len(inputs) > 1 else type_ids
        if type_ids is None:
            type_ids = ops.zeros_like(ids)
        return ids + type_ids


@model
def subclass_optional_inputs():
    m = OptionalInputs()
    m(np.zeros((2, 2), "int32"))
    m.probe_specs = [((2,), "int32")]
    return m


@model
def subclass_optional_inputs_two():
    m = OptionalInputs()
    m([np.zeros((2, 2), "int32")] * 2)
    m.probe_specs = [((2,), "int32"), ((2,), "int32")]
    return m
