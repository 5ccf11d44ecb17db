"""``keras.ops`` operations lowered as compositions of existing ops
(``graphir/backends/keras/composite_converters.py``): roll, swapaxes, log2/log10,
hstack/vstack, unstack, slice, stop_gradient, depth_to_space/space_to_depth,
logsumexp (with infinite entries), glu, hard_shrink, threshold, amax/amin, the NaN and
infinity tests, nan_to_num, trunc, tril/triu, diff, fliplr/flipud, copy,
dot_product_attention.  The ONNX
in onnxruntime and the emitted Keras model reloaded in a fresh process match Keras,
checked outside graphir; refusals name the reason."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.tf,
              # Keras deprecates layer_normalization(rms_scaling=True) (tested as it computes)
              pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")]

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import ops  # noqa: E402

from application_checks import (assert_named_outputs, predict_in_fresh_process,  # noqa: E402
                                three_input_arrays, three_input_model)
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402


def _outputs(x, img, i):
    """x (batch, 4, 6) float, img (batch, 4, 6, 8) float, i (batch, 5) int32."""
    h = keras.layers.Dense(6, name="dense")(x)
    z = ops.where(h > 0.8, np.inf, ops.where(h < -0.8, -np.inf, h))
    z = ops.where(ops.abs(h) < 0.15, np.nan, z)            # NaN, +-inf and finite entries
    return {
        "roll": ops.roll(h, 2, axis=1),
        "roll2": ops.roll(h, (-1, 7, 1), axis=(2, 1, 2)),
        "swap": ops.swapaxes(h, 0, 2),
        "log2": ops.log2(ops.abs(h) + 0.1),
        "log10_int": ops.log10(ops.abs(i) + 1),
        "hstack": ops.hstack([h, x]),
        "vstack": ops.vstack([h, x]),
        "unstack0": ops.unstack(h, axis=1)[0],
        "unstack3": ops.unstack(h, axis=1)[3],
        "slice": ops.slice(h, (0, 1, 2), (-1, 2, 3)),
        "stopped": ops.stop_gradient(h) * 2.0,
        "d2s": ops.depth_to_space(img, 2),
        "s2d": ops.space_to_depth(img, 2),
        "lse": ops.logsumexp(h, axis=-1),
        "lse_keep": ops.logsumexp(h * 40.0, axis=(1, 2), keepdims=True),
        "lse_inf": ops.logsumexp(ops.where(h > 0.3, -np.inf, h), axis=1),
        "lse_allinf": ops.logsumexp(ops.where(h > -1e9, -np.inf, h), axis=1),
        "glu": ops.glu(h),
        "hard_shrink": ops.hard_shrink(h, 0.4),
        "threshold": ops.threshold(h, 0.1, -3.0),
        "amax": ops.amax(h, axis=1),
        "amin": ops.amin(i, axis=-1, keepdims=True),
        "isnan": ops.isnan(z), "isinf": ops.isinf(z), "isposinf": ops.isposinf(z),
        "isneginf": ops.isneginf(z), "isfinite": ops.isfinite(z), "isnan_int": ops.isnan(i),
        "isfinite_int": ops.isfinite(i), "nan_to_num": ops.nan_to_num(z),
        "nan_to_num_v": ops.nan_to_num(z, nan=-1.0, posinf=9.0, neginf=-9.0),
        "trunc": ops.trunc(h * 3.0), "tril": ops.tril(h), "triu": ops.triu(h, k=-1),
        "tril_k": ops.tril(i[:, None, :] * ops.ones_like(i)[:, :, None], k=1),
        "diff": ops.diff(h, axis=1), "diff2": ops.diff(h, n=2),
        "fliplr": ops.fliplr(h), "flipud": ops.flipud(h), "copy": ops.copy(h),
        "rms": ops.rms_normalization(h, scale=np.linspace(0.5, 2, 6).astype("float32")),
        "rms_axes": ops.rms_normalization(h, axis=(1, 2), epsilon=1e-3),
        "l2": ops.normalize(h, axis=1), "l2_tiny": ops.normalize(h * 1e-9, epsilon=1e-3),
        "ln": ops.layer_normalization(h, gamma=np.linspace(1, 2, 6).astype("float32"),
                                      beta=np.full(6, 0.5, "float32")),
        "ln_axis1": ops.layer_normalization(h, gamma=np.linspace(1, 2, 4).astype("float32"),
                                            axis=1),
        "ln_rms": ops.layer_normalization(h, rms_scaling=True, epsilon=1e-2),
        # reshapes that merge and split the (symbolic) batch axis: array_reshape
        "rows": ops.reshape(h, (-1, 6)),
        "windows": ops.reshape(ops.reshape(img, (-1, 2, 3, 8)) * 2.0, (-1, 4, 6, 8)),
    }


@pytest.fixture(scope="module")
def model():
    return three_input_model(_outputs, name="composites", seed=21, img_shape=(4, 6, 8))


@pytest.fixture(scope="module")
def inputs():
    return three_input_arrays(seed=3, img_shape=(4, 6, 8), int_high=50)


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model[0].predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model[0])


_check = assert_named_outputs


def test_references_are_not_vacuous(model, expected):
    names = model[1]
    assert np.isfinite(expected[names.index("lse_inf")]).any()
    # an all -inf row: TensorFlow shifts by 0 there, giving -inf (not NaN)
    assert np.isneginf(expected[names.index("lse_allinf")]).all()
    assert not np.allclose(expected[names.index("roll")], expected[names.index("stopped")] / 2)
    assert (expected[names.index("threshold")] == -3.0).any()
    assert (expected[names.index("hard_shrink")] == 0.0).any()
    for kind in ("isnan", "isposinf", "isneginf", "isfinite"):
        assert expected[names.index(kind)].any() and not expected[names.index(kind)].all(), kind


def test_lowering_composes_existing_ops(graph):
    used = {n.op for n in graph.nodes}
    assert {"concatenate", "transpose", "log", "divide", "squeeze", "slice", "identity",
            "reshape", "where", "exp", "sum", "max", "min", "multiply", "array_reshape"} <= used
    assert graph.value_types()["x"].shape[0] == "batch"


def test_onnx_matches_keras(model, graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(model[1], session.run(None, dict(zip(["x", "img", "i"], inputs))), expected)


def test_emitted_keras_reloads_without_graphir_and_matches(model, graph, inputs, expected,
                                                             tmp_path_factory):
    path = tmp_path_factory.mktemp("composites") / "composites.keras"
    save_keras(to_keras(graph), path)
    _check(model[1], predict_in_fresh_process(path, inputs), expected)


@pytest.mark.parametrize("build,reason", [
    (lambda x: ops.roll(x, 1), "axis=None"),
    (lambda x: ops.logsumexp(ops.cast(x, "int32"), axis=1), "logsumexp of a int32"),
    (lambda x: ops.roll(x, 1, axis=0), "a roll along axis 0, whose size is not static"),
])
def test_refusals_name_the_reason(build, reason):
    x = keras.Input((4, 6), name="x")
    with pytest.raises(UnsupportedLayerError, match=reason):
        from_keras(keras.Model(x, build(x)))


@pytest.fixture(scope="module")
def attention_model():
    """dot_product_attention plain, with a bias and a padding mask, causal, and with
    grouped queries (4 query heads over 2 key/value heads)."""
    keras.utils.set_random_seed(22)
    x = keras.Input((5, 8), name="x")
    ids = keras.Input((5,), dtype="int32", name="ids")
    q = keras.layers.Reshape((5, 4, 2))(keras.layers.Dense(8, name="q")(x))
    k = keras.layers.Reshape((5, 4, 2))(keras.layers.Dense(8, name="k")(x))
    v = keras.layers.Reshape((5, 4, 2))(keras.layers.Dense(8, name="v")(x))
    k2 = keras.layers.Reshape((5, 2, 2))(keras.layers.Dense(4, name="k2")(x))
    v2 = keras.layers.Reshape((5, 2, 2))(keras.layers.Dense(4, name="v2")(x))
    pad = (ids > 0)[:, None, None, :]                      # (batch, 1, 1, S)
    bias = np.random.default_rng(1).normal(size=(1, 4, 5, 5)).astype("float32")
    outs = [ops.dot_product_attention(q, k, v),
            ops.dot_product_attention(q, k, v, bias=bias, mask=pad, scale=0.3),
            ops.dot_product_attention(q, k, v, is_causal=True),
            ops.dot_product_attention(q, k2, v2, mask=pad)]
    return keras.Model([x, ids], outs, name="dpa")


def test_dot_product_attention_matches(attention_model, tmp_path_factory):
    feeds = [np.random.default_rng(5).normal(size=(3, 5, 8)).astype(np.float32),
             np.array([[3, 1, 0, 0, 0], [1, 2, 3, 4, 5], [0, 7, 0, 7, 0]], np.int32)]
    want = attention_model.predict(feeds, verbose=0)
    graph = from_keras(attention_model)
    assert {"einsum", "softmax", "where", "repeat"} <= {n.op for n in graph.nodes}
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    path = tmp_path_factory.mktemp("dpa") / "dpa.keras"
    save_keras(to_keras(graph), path)
    names = ["plain", "bias_mask", "causal", "grouped"]
    for got in (session.run(None, {"x": feeds[0], "ids": feeds[1]}),
                predict_in_fresh_process(path, feeds)):
        _check(names, got, want)
    # the masks matter: the masked and the causal results differ from the plain one
    assert not np.allclose(want[0], want[2], atol=1e-3)
    assert not np.allclose(want[0], want[3], atol=1e-3)
