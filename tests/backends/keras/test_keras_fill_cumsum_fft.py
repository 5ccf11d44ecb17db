"""``keras.ops.zeros_like`` / ``ones_like`` / ``full_like`` (the ``full_like`` op),
``keras.ops.cumsum`` (``cumsum``), ``keras.ops.tensordot`` (lowered to ``einsum``) and
the ``CategoryEncoding`` layer (``one_hot`` + ``max`` / ``sum``) and the
``Discretization`` layer (bucketized like ``ops.digitize``, then encoded) end to end, with a
symbolic batch: the ONNX in onnxruntime and the emitted Keras model reloaded with
``safe_mode=True`` in a fresh process match Keras, checked outside graphir; refusals
name the operation and the reason."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import ops  # noqa: E402

from application_checks import assert_named_outputs, predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

NAMES = ["zeros", "ones_int", "full", "full_bool", "cumsum", "cumsum_int", "cumsum_bool",
         "cumsum_cast", "dot_1", "dot_pairs", "dot_weight", "numpy_dot", "one_hot", "multi_hot", "count",
         "buckets", "bucket_multi_hot"]


@pytest.fixture(scope="module")
def model():
    """x (batch, 4, 6) float, i (batch, 3) int32 token ids, j (batch, 1) int32."""
    keras.utils.set_random_seed(5)
    x = keras.Input((4, 6), name="x")
    i = keras.Input((3,), dtype="int32", name="i")
    j = keras.Input((1,), dtype="int32", name="j")
    h = keras.layers.Dense(6, name="dense")(x)
    w = np.random.default_rng(3).normal(size=(6, 2)).astype("float32")
    outs = [
        h + ops.zeros_like(h),
        ops.ones_like(h, dtype="int32") + ops.cast(i[:, :1, None], "int32"),
        ops.full_like(h, -2.5) * h,
        ops.logical_and(ops.full_like(i, True, dtype="bool"), i > 1),
        ops.cumsum(h, axis=1),
        ops.cumsum(i, axis=-1),
        ops.cumsum(i > 1, axis=1),
        ops.cumsum(i, axis=1, dtype="float32"),
        ops.tensordot(h, x, axes=([0, 1], [0, 1])),            # contracts the batch
        ops.tensordot(h, h, axes=([1, 2], [1, 2])),
        ops.tensordot(h, w, axes=1),
        ops.dot(h, w) + ops.dot(h, w[:, 0])[..., None],         # numpy dot: N-D x 2-D, 1-D
        keras.layers.CategoryEncoding(5, output_mode="one_hot", name="onehot")(j),
        keras.layers.CategoryEncoding(6, output_mode="multi_hot", name="multihot")(i),
        keras.layers.CategoryEncoding(6, output_mode="count", name="count")(i),
        keras.layers.Discretization([-0.5, 0.0, 0.5], name="buckets")(h),
        keras.layers.Discretization([-1.0, 0.0, 1.0], output_mode="multi_hot",
                                    name="bucket_multi_hot")(h[:, 0, :]),
    ]
    return keras.Model([x, i, j], outs, name="fill_scan")


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(9)
    return [rng.normal(size=(3, 4, 6)).astype(np.float32),
            np.array([[0, 2, 2], [5, 1, 3], [4, 4, 4]], np.int32),   # repeats count twice
            np.array([[1], [4], [0]], np.int32)]


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model.predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def _check(got, expected):
    assert_named_outputs(NAMES, got, expected)


def test_lowering_uses_the_ops(graph):
    used = [n.op for n in graph.nodes]
    for op in ("full_like", "cumsum", "einsum", "one_hot", "max", "sum"):
        assert op in used, op
    types = graph.value_types()
    assert all(types[o].shape[0] == "batch" for k, o in enumerate(graph.outputs)
               if NAMES[k] != "dot_1")
    assert types[graph.outputs[NAMES.index("dot_1")]].shape == (6, 6)
    # a count is a sum of one-hot rows, so repeated ids count twice; multi_hot does not
    assert types[graph.outputs[NAMES.index("count")]].shape == ("batch", 6)


def test_references_are_not_vacuous(expected, inputs):
    count = expected[NAMES.index("count")]
    assert count.max() == 3 and (expected[NAMES.index("multi_hot")].max() == 1)
    assert expected[NAMES.index("cumsum_bool")].dtype == np.int32
    assert len(np.unique(expected[NAMES.index("cumsum")])) > 10
    buckets = expected[NAMES.index("buckets")]
    assert buckets.dtype == np.int32 and sorted(np.unique(buckets)) == [0, 1, 2, 3]
    assert 1 < expected[NAMES.index("bucket_multi_hot")].sum(axis=1).max() <= 4


def test_onnx_matches_keras(graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _check(session.run(None, dict(zip(["x", "i", "j"], inputs))), expected)


def test_emitted_keras_reloads_without_graphir_and_matches(graph, inputs, expected,
                                                             tmp_path_factory):
    path = tmp_path_factory.mktemp("fill_scan") / "fill_scan.keras"
    save_keras(to_keras(graph), path)
    _check(predict_in_fresh_process(path, inputs), expected)


@pytest.mark.parametrize("build,reason", [
    (lambda x: ops.full_like(x, x[:, :1]), "fill_value is a tensor"),
    (lambda x: ops.cumsum(x), "axis=None on a rank-3 input"),
    (lambda x: ops.cumsum(ops.cast(x, "uint8"), axis=1), "cumsum of a uint8 tensor"),
    (lambda x: ops.tensordot(ops.cast(x, "int32"), ops.cast(x, "int32"), axes=1),
     "tensordot of int32 tensors"),
])
def test_refusals_name_the_operation(build, reason):
    x = keras.Input((4, 4), name="x")
    with pytest.raises(UnsupportedLayerError, match=reason):
        from_keras(keras.Model(x, build(x)))


def test_onnx_reimports_with_a_symbolic_batch(graph, inputs, expected):
    """The emitted ONNX imports back (ConstantOfShape of a symbolic Shape -> full_like,
    CumSum -> cumsum) and the reference interpreter computes Keras' numbers."""
    from graphir import from_onnx
    from graphir.interpreter import evaluate

    imported = from_onnx(to_onnx(graph))
    used = {n.op for n in imported.nodes}
    assert {"full_like", "cumsum"} <= used
    assert imported.value_types()[imported.inputs[0].name].shape[0] == "batch"
    got = evaluate(imported, dict(zip(["x", "i", "j"], inputs)))
    _check([got[o].astype(w.dtype) for o, w in zip(imported.outputs, expected)], expected)


@pytest.fixture(scope="module")
def fft_model():
    """FNet's token mixing (the real part of fft2 of a real input, keras.io FNet) and a
    1-D fft of a complex pair."""
    keras.utils.set_random_seed(6)
    x = keras.Input((6, 8), name="x")
    h = keras.layers.Dense(8, name="dense")(x)
    mixed = ops.fft2((h, ops.zeros_like(h)))[0]
    re, im = ops.fft((h, x))
    return keras.Model(x, [mixed, re, im], name="fft")


def test_fft_matches_tensorflow(fft_model, tmp_path_factory):
    graph = from_keras(fft_model)
    assert "matmul" in {n.op for n in graph.nodes}
    feeds = np.random.default_rng(4).normal(size=(3, 6, 8)).astype(np.float32)
    want = fft_model.predict(feeds, verbose=0)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    path = tmp_path_factory.mktemp("fft") / "fft.keras"
    save_keras(to_keras(graph), path)
    for got in (session.run(None, {"x": feeds}), predict_in_fresh_process(path, [feeds])):
        for g, w in zip(got, want):
            scale = float(np.abs(w).max())
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * scale)
    # the reference is NumPy's FFT of h + ix; the inverse transform's sign convention
    # (a sine matrix of the wrong sign) would be caught
    h = np.asarray(fft_model.get_layer("dense")(feeds))
    z = h + 1j * feeds
    np.testing.assert_allclose(want[1] + 1j * want[2], np.fft.fft(z, axis=-1), atol=1e-4)
    assert not np.allclose(np.fft.ifft(z, axis=-1) * 8, want[1] + 1j * want[2], atol=1e-2)


def test_fft_over_a_length_known_only_at_run_time():
    """FNet over text of any length (keras_hub's FNet, keras.io's FNet): fft2 over
    (unknown length, 8) and a 1-D fft along the unknown axis; the DFT matrices are
    computed at run time, checked at two lengths against NumPy's FFT."""
    class Mixing(keras.layers.Layer):
        """In a layer's call, as FNet has it (Keras' own symbolic shape inference
        refuses these FFTs on a functional model's unknown sizes)."""

        def call(self, h, x):
            mixed = ops.fft2((h, ops.zeros_like(h)))[0]
            ht = ops.transpose(h, (0, 2, 1))
            re, im = ops.fft((ht, ops.transpose(x, (0, 2, 1))))
            return mixed, re, im

        def compute_output_spec(self, h, x):
            t = (h.shape[0], h.shape[2], h.shape[1])
            return (keras.KerasTensor(h.shape), keras.KerasTensor(t), keras.KerasTensor(t))

    keras.utils.set_random_seed(6)
    x = keras.Input((None, 8), name="x")
    h = keras.layers.Dense(8, name="dense")(x)
    model = keras.Model(x, list(Mixing(name="mixing")(h, x)), name="fft_any_length")
    graph = from_keras(model)
    assert graph.inputs[0].type.shape == ("batch", None, 8)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    for length in (5, 11):
        feeds = np.random.default_rng(length).normal(size=(2, length, 8)).astype(np.float32)
        want = model.predict(feeds, verbose=0)
        h = np.asarray(model.get_layer("dense")(feeds))
        np.testing.assert_allclose(want[0], np.fft.fft2(h).real, atol=1e-4)
        z = np.transpose(h + 1j * feeds, (0, 2, 1))
        np.testing.assert_allclose(want[1] + 1j * want[2], np.fft.fft(z, axis=-1), atol=1e-4)
        for got in (session.run(None, {"x": feeds}), emitted(feeds)):
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4,
                                           atol=1e-5 * float(np.abs(w).max()))


def test_top_k_matches_with_ties(tmp_path_factory):
    """keras.ops.top_k: values and int32 indices, ties broken by the lower index (the
    switch-transformer router's top-1 and a top-3 over repeated scores)."""
    keras.utils.set_random_seed(7)
    x = keras.Input((5, 6), name="x")
    i = keras.Input((7,), dtype="int32", name="i")
    probs = ops.softmax(keras.layers.Dense(6, name="router")(x), axis=-1)
    gate, idx = ops.top_k(probs, k=1)
    ivals, iidx = ops.top_k(i, k=3)
    model = keras.Model([x, i], [gate, idx, ivals, iidx, ops.one_hot(ops.squeeze(idx, -1), 6)])
    feeds = [np.random.default_rng(2).normal(size=(3, 5, 6)).astype(np.float32),
             np.array([[1, 5, 5, 2, 5, 0, 1], [3, 3, 3, 3, 3, 3, 3], [-1, 4, 2, 4, 9, 9, 0]],
                      np.int32)]
    want = model.predict(feeds, verbose=0)
    graph = from_keras(model)
    assert [n.attrs["result"] for n in graph.nodes if n.op == "top_k"] == [
        "values", "indices", "values", "indices"]
    onnx_model = to_onnx(graph)
    assert sum(n.op_type == "TopK" for n in onnx_model.graph.node) == 2   # one per call
    session = ort.InferenceSession(onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    path = tmp_path_factory.mktemp("top_k") / "top_k.keras"
    save_keras(to_keras(graph), path)
    for got in (session.run(None, {"x": feeds[0], "i": feeds[1]}),
                predict_in_fresh_process(path, feeds)):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(want[3][1], [0, 1, 2])   # all equal: index order


@pytest.mark.parametrize("n, length", [(16, None), (10, 16), (20, 16), (7, 7)],
                         ids=["same", "padded", "truncated", "odd"])
def test_rfft_matches_tensorflow(n, length):
    """keras.ops.rfft (tf.signal.rfft: the input truncated or zero-padded to fft_length,
    the L // 2 + 1 non-negative frequencies), checked against NumPy's rfft too."""
    keras.utils.set_random_seed(2)
    x = keras.Input((3, n), name="x")
    re, im = ops.rfft(x, fft_length=length)
    model = keras.Model(x, [re, im], name="rfft")
    graph = from_keras(model)
    data = np.random.default_rng(1).normal(size=(2, 3, n)).astype("float32")
    want = [np.asarray(t) for t in model(data)]
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for got in (session.run(None, {"x": data}), [np.asarray(t) for t in to_keras(graph)(data)]):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    spectrum = np.fft.rfft(data, n=length or n, axis=-1)
    np.testing.assert_allclose(want[0] + 1j * want[1], spectrum, atol=1e-4)


class _Stft(keras.layers.Layer):
    """keras.ops.stft in a layer's call: a centred Hann STFT (magnitude) and an
    uncentred one without a window (real - imag)."""

    def call(self, x):
        re, im = ops.stft(x, 8, 3, 16, window="hann", center=True)
        re2, im2 = ops.stft(x, 6, 2, 8, window=None, center=False)
        return ops.sqrt(re * re + im * im + 1e-6), re2 - im2

    def compute_output_spec(self, x):
        return keras.KerasTensor((None, None, 9)), keras.KerasTensor((None, None, 5))


def test_stft_and_mel_spectrogram_over_any_length():
    """keras.ops.stft (a strided conv1d per part: frames x window x DFT) and Keras'
    MelSpectrogram layer (traced with keras.ops in place of its TensorFlow backend:
    stft, mel matrix, power to dB with the max over the whole batch), on signals of
    two lengths unknown when lowered; checked against Keras and, for the STFT, NumPy."""
    x = keras.Input((None,), name="signal")
    mag, diff = _Stft(name="stft")(x)
    mel = keras.layers.MelSpectrogram(fft_length=64, sequence_stride=16, sequence_length=48,
                                      num_mel_bins=8, sampling_rate=8000, name="mel")(x)
    model = keras.Model(x, [mag, diff, mel])
    graph = from_keras(model)
    assert {"conv1d", "pad", "log"} <= {n.op for n in graph.nodes}
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    for n in (70, 131):
        signal = np.random.default_rng(n).normal(size=(2, n)).astype(np.float32)
        want = [np.asarray(w) for w in model(signal)]
        # the reference is not vacuous: the plain frames' DFT is NumPy's rfft
        frames = np.stack([signal[:, t * 2:t * 2 + 8] for t in range(want[1].shape[1])], 1)
        spectrum = np.fft.rfft(frames, axis=-1)
        np.testing.assert_allclose(want[1], spectrum.real - spectrum.imag, atol=1e-4)
        for got in (session.run(None, {"signal": signal}), emitted(signal)):
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4,
                                           atol=1e-5 * float(np.abs(w).max()))
