"""More ``keras.ops`` operations lowered as compositions of existing ops
(``graphir/backends/keras/math_composite_converters.py``, ``nn_op_converters.py``):
take with a list of indices, linalg.norm, normalize of order 1 and 3, the nn
convolutions / poolings / batch_normalization on constant or variable kernels (in a
functional model and in a traced custom layer), rgb_to_grayscale, crop_images,
pad_images (both data formats), exp2, cbrt, deg2rad, rad2deg, hypot, logaddexp, sinc, squareplus,
soft_shrink, sparse_plus, divide_no_nan, count_nonzero, sort, argsort, trace, diagonal.
The ONNX in onnxruntime and the emitted Keras model match Keras' own output (rtol 1e-4,
atol 1e-5 times the output's magnitude; integer outputs exactly); refusals name the
reason."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import ops  # noqa: E402

from application_checks import three_input_arrays, three_input_model  # noqa: E402
from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

_RNG = np.random.default_rng(31)


def _k(*shape):
    """A seeded float32 constant kernel."""
    return _RNG.normal(size=shape).astype("float32") * 0.5


def _outputs(x, img, i):
    """x (batch, 4, 6) float, img (batch, 6, 6, 3) float, i (batch, 5) int32."""
    h = keras.layers.Dense(6, name="dense")(x)
    zeroed = ops.where(ops.abs(h) < 0.3, 0.0, h)                 # exact zeros
    special = ops.where(h > 1.0, np.inf, ops.where(h < -1.0, -np.inf, h))
    special = ops.where(ops.abs(h) < 0.15, np.nan, special)     # NaN, +-inf and finite
    feat = keras.layers.Conv2D(4, 1, name="feat")(img)           # (batch, 6, 6, 4)
    vol = ops.reshape(feat, (-1, 3, 2, 6, 4))                      # (batch, 3, 2, 6, 4)
    cf = ops.transpose(feat[..., :3] * img, (0, 3, 1, 2))        # channels-first (b, 3, 6, 6)
    return {
        "take_list": ops.take(x, [0, 2], axis=1),
        "take_tuple": ops.take(h, (5, -1, 0, 0), axis=2),
        "norm": ops.norm(h, axis=-1),
        "norm_inf": ops.norm(h, ord=np.inf, axis=1),
        "norm_minf": ops.norm(h, ord=-np.inf, axis=2, keepdims=True),
        "norm0": ops.norm(zeroed, ord=0, axis=-1),
        "norm1": ops.norm(h, ord=1, axis=2),
        "norm3": ops.norm(h, ord=3, axis=1),
        "fro": ops.norm(h, axis=(1, 2)),
        "mat1": ops.norm(h, ord=1, axis=(1, 2)),
        "mat_m1": ops.norm(h, ord=-1, axis=(2, 1), keepdims=True),
        "mat_inf": ops.norm(h, ord=np.inf, axis=(1, 2)),
        "mat_minf": ops.norm(h, ord=-np.inf, axis=(-1, -2), keepdims=True),
        "l1": ops.normalize(h, axis=-1, order=1),
        "l3": ops.normalize(zeroed * 1e-9, axis=1, order=3, epsilon=1e-6),
        "conv": ops.conv(img, _k(3, 3, 3, 4), 1, "same"),
        "conv_strided": ops.conv(feat, _k(3, 3, 4, 6), 2, "valid"),
        "conv1d": ops.conv(h, _k(2, 6, 3), 1, "valid", dilation_rate=2),
        "conv3d": ops.conv(vol, _k(2, 2, 3, 4, 3), (1, 2, 1), "same"),
        "max_pool3d": ops.max_pool(vol, (2, 2, 2), strides=1),
        "conv_dilated": ops.conv(img, _k(3, 3, 3, 2), 1, "same", dilation_rate=2),
        "depthwise": ops.depthwise_conv(img, _k(3, 3, 3, 2), 2, "same"),
        "depthwise1d": ops.depthwise_conv(h, _k(3, 6, 2), 1, "same"),
        "separable1d": ops.separable_conv(h, _k(2, 6, 1), _k(1, 6, 4), 2, "valid"),
        "max_pool1d": ops.max_pool(h, 3, strides=1, padding="same"),
        "separable": ops.separable_conv(feat, _k(3, 3, 4, 2), _k(1, 1, 8, 5), 1, "same"),
        # (a functional model's ConvTranspose operation cannot run in Keras 3.15: its call
        # passes output_padding as padding; conv_transpose is checked in a traced layer)
        "max_pool": ops.max_pool(img, 2, padding="same"),
        "avg_pool": ops.average_pool(feat, (3, 3), strides=2, padding="same"),
        "avg_pool1d": ops.average_pool(h, 2, strides=1),
        "bn": ops.batch_normalization(h, _k(6), np.abs(_k(6)) + 0.1, axis=-1,
                                      offset=_k(6), scale=_k(6), epsilon=1e-2),
        "bn_axis1": ops.batch_normalization(h, _k(4), np.abs(_k(4)) + 0.1, axis=1),
        "max_pool_cf": ops.max_pool(cf, 2, padding="same", data_format="channels_first"),
        "avg_pool_cf": ops.average_pool(cf, (2, 3), strides=(1, 2), padding="same",
                                        data_format="channels_first"),
        "gray_cf": ops.image.rgb_to_grayscale(cf, data_format="channels_first"),
        "crop_cf": ops.image.crop_images(cf, top_cropping=2, left_cropping=1, target_height=3,
                                         target_width=4, data_format="channels_first"),
        "pad_cf": ops.image.pad_images(cf, top_padding=2, bottom_padding=1, left_padding=1,
                                       right_padding=0, data_format="channels_first"),
        "gray": ops.image.rgb_to_grayscale(img),
        "crop": ops.image.crop_images(img, top_cropping=1, left_cropping=2,
                                      target_height=3, target_width=3),
        "crop_bottom": ops.image.crop_images(img, bottom_cropping=2, right_cropping=1,
                                             target_height=3, target_width=4),
        "pad": ops.image.pad_images(img, top_padding=1, bottom_padding=2, left_padding=0,
                                    target_width=9),
        "exp2": ops.exp2(h),
        "cbrt": ops.cbrt(h * 5.0),
        "deg2rad": ops.deg2rad(h * 100.0),
        "rad2deg": ops.rad2deg(h),
        "hypot": ops.hypot(zeroed, ops.where(h > 0.0, 0.0, x)),
        "logaddexp": ops.logaddexp(special, x),
        "logaddexp_c": ops.logaddexp(h, 0.5),
        "sinc": ops.sinc(zeroed * 3.0),
        "squareplus": ops.squareplus(h, b=2),
        "soft_shrink": ops.soft_shrink(h, 0.4),
        "sparse_plus": ops.sparse_plus(h * 2.0),
        "divide_no_nan": ops.divide_no_nan(special, zeroed),
        "count_nonzero": ops.count_nonzero(i % 3, axis=1),
        "count_nonzero_f": ops.count_nonzero(zeroed, axis=(1, 2)),
        "sort": ops.sort(h, axis=1),
        "sort_last": ops.sort(zeroed),
        "argsort": ops.argsort(zeroed, axis=-1),
        "argsort1": ops.argsort(h, axis=1),
        "sort_int": ops.sort(i * 7 % 11 - 5),
        "argsort_int": ops.argsort(i % 3),
        "trace": ops.trace(h, axis1=1, axis2=2),
        "trace_off": ops.trace(h, offset=1, axis1=2, axis2=1),
        "trace_off2": ops.trace(h, offset=2, axis1=1, axis2=2),
        "trace_int": ops.trace(i[:, :, None] * ops.ones((1, 1, 5), "int32"), axis1=1,
                               axis2=2),
        "diagonal": ops.diagonal(h, offset=1, axis1=1, axis2=2),
        "diagonal_neg": ops.diagonal(h, offset=-2, axis1=-1, axis2=1),
        # integer inputs, cast to the float result dtype as the backends do
        "exp2_int": ops.exp2(i % 7), "cbrt_int": ops.cbrt(i), "deg2rad_int": ops.deg2rad(i),
        "sinc_int": ops.sinc(i % 3), "norm_int": ops.norm(i, axis=-1),
        # special values: NaN, +-inf
        "exp2_special": ops.exp2(special), "cbrt_special": ops.cbrt(special),
        "hypot_special": ops.hypot(special, x),
        "hypot_int": ops.hypot(i, i % 4), "logaddexp_mixed": ops.logaddexp(i[:, :1, None] % 3, h),
        "divide_no_nan_int": ops.divide_no_nan(i, i % 3),
        "select": ops.select([h > 0.5, h < -0.5, x > 0], [h, x, h * x], default=-1.0),
        "select_int": ops.select([i > 3, i % 2], [i, i * 2]),
        "sat_uint8": ops.saturate_cast(special * 200.0, "uint8"),
        "sat_int16": ops.saturate_cast(h * 1e5, "int16"),
        "sat_int32": ops.saturate_cast(h * 3e9, "int32"),
        "sat_int_uint8": ops.saturate_cast(i * 20, "uint8"),
        "sat_half": ops.saturate_cast(h * 1e5, "float16"),
    }


def _assert_close(names, got, want):
    """Same count, dtype and shape; floats within rtol 1e-4 and atol 1e-5 times the
    reference's magnitude (NaN where it is NaN), the rest exactly."""
    assert len(got) == len(want) == len(names)
    for name, g, w in zip(names, got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (name, g.dtype, w.dtype, g.shape,
                                                           w.shape)
        if w.dtype.kind == "f":
            finite = w[np.isfinite(w)]
            scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.fixture(scope="module")
def model():
    return three_input_model(_outputs, name="more_ops", seed=41, img_shape=(6, 6, 3))


@pytest.fixture(scope="module")
def inputs():
    return three_input_arrays(seed=7, img_shape=(6, 6, 3), int_high=20)


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model[0].predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model[0])


def test_references_are_not_vacuous(model, expected):
    got = dict(zip(model[1], expected))
    assert np.isnan(got["logaddexp"]).any() and np.isfinite(got["logaddexp"]).any()
    assert (got["divide_no_nan"] == 0).any() and (got["divide_no_nan"] != 0).any()
    assert (got["sinc"] == 1).any() and (got["soft_shrink"] == 0).any()
    assert (got["sparse_plus"] == 0).any() and (got["sparse_plus"] > 1).any()
    assert not np.array_equal(got["argsort1"], np.broadcast_to(np.arange(4)[:, None],
                                                               got["argsort1"].shape))
    assert (np.diff(got["sort"], axis=1) >= 0).all()
    assert got["count_nonzero_f"].dtype == np.int32 and got["argsort"].dtype == np.int32
    assert (got["hypot"] == 0).any() and (got["norm0"] < 6).any()
    assert (got["sat_uint8"] == 255).any() and (got["sat_uint8"] == 0).any()
    assert (np.abs(got["sat_int16"]) == 32767).any() or (got["sat_int16"] == -32768).any()
    assert np.isinf(got["sat_half"]).sum() == 0 and (np.abs(got["sat_half"]) > 6e4).any()
    assert set(np.unique(got["select"]).tolist()) > {-1.0}


def test_lowering_composes_existing_ops(graph):
    used = {n.op for n in graph.nodes}
    assert {"gather", "conv2d", "conv1d", "conv3d", "max_pool3d", "depthwise_conv2d", "separable_conv2d",
            "depthwise_conv1d", "separable_conv1d", "max_pool1d",
            "max_pool2d", "avg_pool2d", "avg_pool1d",
            "einsum", "zero_pad2d", "slice", "top_k", "power", "where", "rsqrt",
            "log1p"} <= used
    assert graph.value_types()["x"].shape[0] == "batch"


def test_onnx_matches_keras(model, graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(model[1], session.run(None, dict(zip(["x", "img", "i"], inputs))), expected)


def test_emitted_keras_matches(model, graph, inputs, expected):
    _assert_close(model[1], to_keras(graph).predict(inputs, verbose=0), expected)


def test_outer_of_static_shapes():
    """outer flattens every axis: lowered for a fixed batch size (refused otherwise)."""
    keras.utils.set_random_seed(44)
    x = keras.Input((3,), batch_size=2, name="x")
    m = keras.Model(x, ops.outer(keras.layers.Dense(3, name="d")(x), _k(2, 2)))
    feed = np.random.default_rng(2).normal(size=(2, 3)).astype(np.float32)
    want = m.predict(feed, verbose=0)
    assert want.shape == (6, 4)
    graph = from_keras(m)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(["outer"], session.run(None, {"x": feed}), [want])
    _assert_close(["outer"], [to_keras(graph).predict(feed, verbose=0)], [want])


# --------------------------------------------------------------------------- custom layer

class OpsConvBlock(keras.layers.Layer):
    """A custom layer calling the nn operations on its own variables (and take with a
    list of indices, a matrix-norm normalize)."""

    def build(self, shape):
        c = shape[-1]
        self.kernel = self.add_weight(shape=(3, 3, c, 4), name="kernel")
        self.dw = self.add_weight(shape=(3, 3, 4, 2), name="dw")
        self.pw = self.add_weight(shape=(1, 1, 8, 4), name="pw")
        self.up = self.add_weight(shape=(2, 2, 3, 8), name="up")
        self.mean = self.add_weight(shape=(3,), name="mean", initializer="random_normal")
        self.var = self.add_weight(shape=(3,), name="var", initializer="ones")
        self.gamma = self.add_weight(shape=(3,), name="gamma", initializer="random_normal")
        self.beta = self.add_weight(shape=(3,), name="beta", initializer="random_normal")

    def call(self, x):
        y = ops.relu(ops.conv(x, self.kernel, 1, "same"))
        y = ops.separable_conv(y, self.dw, self.pw, 1, "valid")
        y = ops.depthwise_conv(y, self.dw, 1, "same")       # dw used twice: one weight
        y = ops.max_pool(y, 2, padding="same")
        y = ops.conv_transpose(y, self.up, 2, "same")
        y = ops.batch_normalization(y, self.mean, self.var, axis=-1, offset=self.beta,
                                    scale=self.gamma)
        return ops.normalize(ops.take(y, [2, 0], axis=-1), axis=(1, 2), order=1)


def test_traced_custom_layer_with_variable_kernels():
    keras.utils.set_random_seed(43)
    x = keras.Input((8, 8, 3), name="x")
    m = keras.Model(x, OpsConvBlock(name="block")(x))
    feed = np.random.default_rng(9).normal(size=(2, 8, 8, 3)).astype(np.float32)
    want = m.predict(feed, verbose=0)
    graph = from_keras(m)
    weights = set(graph.weights)
    # the kernels are the variables' weights, named by their Keras paths, and shared
    assert any(w.endswith("block/kernel") for w in weights), weights
    assert sum(w.endswith("block/dw") for w in weights) == 1, weights
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(["block"], session.run(None, {"x": feed}), [want])
    _assert_close(["block"], [to_keras(graph).predict(feed, verbose=0)], [want])


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("build,reason", [
    (lambda x, img: ops.norm(x, ord=2, axis=(1, 2)), "singular values"),
    (lambda x, img: ops.norm(x, ord="nuc", axis=(1, 2)), "singular values"),
    (lambda x, img: ops.sort(x, axis=None), "axis=None"),
    (lambda x, img: ops.squareplus(ops.cast(x, "int32")), "only float tensors"),
    (lambda x, img: ops.conv(img, ops.ones((3, 3, 3, 2)) * img[0, :3, :3, :, None], 1),
     "computed by the graph"),
    (lambda x, img: ops.conv(img, _k(1, 1, 6, 2), 1, data_format="channels_first"),
     "channels_first"),
    (lambda x, img: ops.image.rgb_to_grayscale(ops.cast(img, "int32")), "float images"),
    (lambda x, img: ops.diagonal(x, offset=7, axis1=1, axis2=2), "empty diagonal"),
    (lambda x, img: ops.take(x, [[0.5]], axis=1), "only integer"),
    (lambda x, img: ops.outer(x, x), "flattens every axis"),
    (lambda x, img: ops.trace(x, offset=1, axis1=1, axis2=2), "Keras' TensorFlow eye"),
])
def test_refusals_name_the_reason(build, reason):
    x = keras.Input((4, 6), name="x")
    img = keras.Input((6, 6, 3), name="img")
    with pytest.raises(UnsupportedLayerError, match=reason):
        from_keras(keras.Model([x, img], build(x, img)))


class _GraphConv(keras.layers.Layer):
    """keras.io's traffic-forecasting GCN aggregation: neighbours gathered by a fixed
    edge list and summed per node with ops.segment_sum (an id of -1 is dropped)."""

    def call(self, x):
        nodes = ops.transpose(ops.take(x, [0, 1, 1, 2, 3], axis=1), (1, 0, 2))
        summed = ops.segment_sum(nodes, np.array([0, 0, 2, 1, -1], "int32"), num_segments=3)
        return ops.transpose(summed, (1, 0, 2))


def test_segment_sum_over_a_fixed_edge_list():
    keras.utils.set_random_seed(3)
    i = keras.Input((4, 3), name="x")
    model = keras.Model(i, _GraphConv(name="gcn")(i))
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    graph = from_keras(model)
    want = np.asarray(model(x))
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(x)), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(want[:, 0], x[:, 0] + x[:, 1], rtol=1e-6)  # two edges
    np.testing.assert_allclose(want[:, 1], x[:, 2], rtol=1e-6)


def test_segment_sum_without_num_segments_is_refused():
    class Unsized(keras.layers.Layer):
        def call(self, x):
            return ops.segment_sum(x, np.array([0, 1, 1], "int32"))

    i = keras.Input((3,), batch_size=3, name="x")
    with pytest.raises(UnsupportedLayerError, match="num_segments=None"):
        from_keras(keras.Model(i, Unsized(name="unsized")(i)))
