"""Still more ``keras.ops`` operations lowered as compositions of existing ops
(``graphir/backends/keras/more_op_converters.py``): ravel, rot90, slice_update,
cumprod, ptp, average, median, nansum, nanmean, nanmax, nanmin, inner, expm1, arctan2,
logaddexp2, fmod, heaviside, isclose, digitize; scatter, scatter_update, segment_max and
segment_min with constant indices in traced layers.  The ONNX in onnxruntime and the
emitted Keras model match Keras' own output at two batch sizes (rtol 1e-5, atol 1e-5
times the output's magnitude; integer and bool outputs exactly); expm1 and arctan2 are
checked against TensorFlow on a dense grid at rtol 2e-6; refusals name the reason."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import ops  # noqa: E402

from graphir.backends.keras import from_keras, supported_operations, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

_RNG = np.random.default_rng(5)
_W6 = (np.abs(_RNG.normal(size=6)) + 0.2).astype("float32")
_BINS = np.array([-1.0, -0.5, 0.0, 0.0, 0.5, 1.0], "float32")


def _outputs(x, i):
    """x (batch, 4, 6) float32, i (batch, 5) int32."""
    h = keras.layers.Dense(6, name="dense")(x)
    zeroed = ops.where(ops.abs(h) < 0.3, 0.0, h)                 # exact zeros
    special = ops.where(h > 1.0, np.inf, ops.where(h < -1.0, -np.inf, h))
    special = ops.where(ops.abs(h) < 0.15, np.nan, special)     # NaN, +-inf and finite
    all_nan = ops.where(h[:, :, :1] > 0.0, np.nan, h)           # rows of NaN only
    return {
        "ravel": ops.ravel(h),
        "ravel_int": ops.ravel(i),
        "rot90": ops.rot90(h, k=1, axes=(1, 2)),
        "rot90_2": ops.rot90(h[:, :, 1:5], k=2, axes=(1, 2)),   # (square: see refusals)
        "rot90_3": ops.rot90(h, k=3, axes=(2, 1)),
        "rot90_m1": ops.rot90(h, k=-1, axes=(-2, -1)),
        "slice_update": ops.slice_update(h, [0, 1, 2], x[:, :2, :3]),
        "slice_update_clamped": ops.slice_update(h, [0, 3, 5], x[:, :2, :3] * 10.0),
        "slice_update_int": ops.slice_update(i, [0, 2], i[:, :2] * 100),
        "cumprod": ops.cumprod(h, axis=1),
        "cumprod_last": ops.cumprod(h * 2.0, axis=-1),
        "cumprod_special": ops.cumprod(special, axis=2),
        "cumprod_int": ops.cumprod(i % 4 - 1, axis=1),
        "ptp": ops.ptp(h, axis=1),
        "ptp_int": ops.ptp(i, axis=1, keepdims=True),
        "ptp_all": ops.ptp(h),
        "average": ops.average(h, axis=1),
        "average_w": ops.average(h, axis=2, weights=_W6),
        "average_same_rank": ops.average(h, axis=1, weights=ops.abs(x) + 0.1),
        "average_int": ops.average(i, axis=1),
        "median_even": ops.median(h, axis=1),
        "median_keep": ops.median(h, axis=-1, keepdims=True),
        "median_odd": ops.median(h[:, :3], axis=1),
        "median_special": ops.median(special, axis=2),
        "median_int": ops.median(i, axis=1),
        "nansum": ops.nansum(special, axis=2),
        "nansum_int": ops.nansum(i, axis=1),
        "nanmean": ops.nanmean(all_nan, axis=2),
        "nanmean_all": ops.nanmean(special),
        "nanmean_int": ops.nanmean(i, axis=1),
        "nanmax": ops.nanmax(all_nan, axis=2),
        "nanmin": ops.nanmin(special, axis=(1, 2), keepdims=True),
        "nanmin_rows": ops.nanmin(all_nan, axis=-1),
        "nanmax_int": ops.nanmax(i, axis=1),
        "inner": ops.inner(h, _W6),  # (Keras also traces h * w: they must broadcast)
        "inner_batch": ops.inner(h[:, 0], x[:, 1]),
        "expm1": ops.expm1(h * 3.0),
        "expm1_small": ops.expm1(h * 1e-4),
        "expm1_special": ops.expm1(special * 50.0),
        "expm1_int": ops.expm1(i % 5),
        "arctan2": ops.arctan2(h, x),
        "arctan2_zero": ops.arctan2(zeroed, ops.where(h > 0.0, 0.0, x)),
        "arctan2_signed_zero": ops.arctan2(zeroed * -1.0, -ops.abs(x)),
        "arctan2_special": ops.arctan2(special, ops.flip(special, axis=2)),
        "arctan2_int": ops.arctan2(i, i % 3 - 1),
        "logaddexp2": ops.logaddexp2(special, x),
        "logaddexp2_c": ops.logaddexp2(h, 0.5),
        "fmod": ops.fmod(h * 5.0, x),
        "fmod_special": ops.fmod(special, zeroed),
        "fmod_int": ops.fmod(i, i % 5 - 7),
        "fmod_c": ops.fmod(i, 3),
        "heaviside": ops.heaviside(zeroed, np.float32(0.5)),  # (Keras needs a dtype)
        "heaviside_special": ops.heaviside(special, x),
        "heaviside_int": ops.heaviside(i % 3 - 1, i),
        "isclose": ops.isclose(h, ops.round(h * 10.0) / 10.0, rtol=0.1, atol=0.01),
        "isclose_nan": ops.isclose(special, special, equal_nan=True),
        "isclose_no_nan": ops.isclose(special, special),
        "isclose_int": ops.isclose(i, i % 3),
        "digitize": ops.digitize(h, _BINS),
        "digitize_special": ops.digitize(special, _BINS),
        "digitize_int": ops.digitize(i % 6, np.array([0, 5, 10.5])),   # hits the bins
    }


def _assert_close(names, got, want, rtol=1e-5):
    """Same count, dtype and shape; floats within ``rtol`` and atol 1e-5 times the
    reference's magnitude (NaN where it is NaN), the rest exactly."""
    assert len(got) == len(want) == len(names)
    for name, g, w in zip(names, got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (name, g.dtype, w.dtype, g.shape,
                                                           w.shape)
        if w.dtype.kind == "f":
            finite = w[np.isfinite(w)]
            scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
            np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-5 * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(17)
    x = keras.Input((4, 6), name="x")
    i = keras.Input((5,), dtype="int32", name="i")
    outs = _outputs(x, i)
    return keras.Model([x, i], list(outs.values()), name="extra_ops"), list(outs)


def _inputs(batch, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, 4, 6)).astype(np.float32),
            rng.integers(-20, 20, size=(batch, 5)).astype(np.int32)]


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model[0])


def test_the_operations_are_supported():
    names = set(supported_operations())
    assert {f"keras.ops.{n}" for n in (
        "ravel", "rot90", "slice_update", "cumprod", "ptp", "average", "median", "nansum",
        "nanmean", "nanmax", "nanmin", "inner", "expm1", "arctan2", "logaddexp2", "fmod",
        "heaviside", "isclose", "digitize", "scatter", "scatter_update", "segment_max",
        "segment_min")} <= names
    # swish / hard_swish are the silu / hard_silu operations
    assert keras.ops.swish is keras.ops.silu and "keras.ops.silu" in names


def test_references_are_not_vacuous(model):
    got = dict(zip(model[1], model[0].predict(_inputs(3, 1), verbose=0)))
    assert np.isnan(got["nanmax"]).any() and np.isfinite(got["nanmax"]).any()
    assert np.isnan(got["median_special"]).any() and np.isfinite(got["median_special"]).any()
    assert got["isclose"].any() and not got["isclose"].all()
    assert got["isclose_nan"].sum() > got["isclose_no_nan"].sum()
    assert set(np.unique(got["digitize_special"]).tolist()) >= {0, 6}
    assert (got["fmod_int"] < 0).any() and (got["fmod_int"] > 0).any()
    assert np.isclose(np.abs(got["arctan2_signed_zero"]), np.pi).any()
    assert (got["arctan2_signed_zero"] < 0).any()           # atan2(-0, x < 0) = -pi
    assert (got["heaviside"] == 0.5).any()
    assert got["cumprod_int"].dtype == np.int32 and got["digitize"].dtype == np.int32
    assert (got["expm1_small"] != 0).all()
    assert {1, 2} <= set(np.unique(got["digitize_int"]).tolist())   # x equal to a bin


@pytest.mark.parametrize("batch,seed", [(3, 1), (2, 8)])
def test_onnx_matches_keras(model, graph, batch, seed):
    feed = _inputs(batch, seed)
    want = model[0].predict(feed, verbose=0)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(model[1], session.run(None, dict(zip(["x", "i"], feed))), want)


@pytest.mark.parametrize("batch,seed", [(3, 1), (2, 8)])
def test_emitted_keras_matches(model, graph, batch, seed):
    feed = _inputs(batch, seed)
    want = model[0].predict(feed, verbose=0)
    _assert_close(model[1], to_keras(graph).predict(feed, verbose=0), want)


def test_lowering_composes_existing_ops(graph):
    used = {n.op for n in graph.nodes}
    assert {"array_reshape", "flip", "pad", "concatenate", "top_k", "arctan", "reciprocal",
            "log1p", "mod", "einsum", "logical_not", "squeeze"} <= used


# --------------------------------------------------------------------------- accuracy

def _grid():
    """Float32 values over many magnitudes, both signs, zeros and infinities."""
    mags = np.concatenate([np.geomspace(1e-30, 1e-3, 300), np.linspace(1e-3, 3.0, 600),
                           np.geomspace(3.0, 100.0, 300)])
    vals = np.concatenate([mags, -mags, [0.0, -0.0, np.inf, -np.inf, 88.5, -103.0]])
    return vals.astype(np.float32)


def _run_both(m, feed):
    graph = from_keras(m)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return (session.run(None, {inp.name: f for inp, f in zip(graph.inputs, feed)}),
            to_keras(graph).predict(_one_or_list(feed), verbose=0))


def _one_or_list(feed):
    return feed[0] if len(feed) == 1 else feed


def _assert_same_signs(got, want, zeros):
    """The same sign bits (the quadrant of arctan2; the sign of tiny expm1 values, which
    exp(x) - 1 would round to 0), of zeros too when ``zeros`` (onnxruntime's Where
    returns +0.0 for a selected -0.0, so its zeros are not compared)."""
    keep = np.ones(want.shape, bool) if zeros else want != 0
    np.testing.assert_array_equal(np.signbit(got[keep]), np.signbit(want[keep]))


def test_expm1_within_float_rounding():
    vals = _grid()
    x = keras.Input((1,), name="x")
    m = keras.Model(x, ops.expm1(x))
    feed = [vals[:, None]]
    want = np.asarray(m.predict(_one_or_list(feed), verbose=0))
    onnx_out, keras_out = _run_both(m, feed)
    for got in (onnx_out[0], np.asarray(keras_out)):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=0)
        _assert_same_signs(got, want, zeros=got is not onnx_out[0])


def test_arctan2_within_float_rounding_in_every_quadrant():
    vals = _grid()
    rng = np.random.default_rng(3)
    ys = np.concatenate([vals, rng.permutation(vals), [0.0, -0.0, 0.0, -0.0, np.inf, -np.inf,
                                                       np.inf, -np.inf, 1.0, -1.0]])
    xs = np.concatenate([rng.permutation(vals), vals, [0.0, 0.0, -0.0, -0.0, np.inf, np.inf,
                                                       -np.inf, -np.inf, -0.0, -0.0]])
    y_in, x_in = keras.Input((1,), name="y"), keras.Input((1,), name="x")
    m = keras.Model([y_in, x_in], ops.arctan2(y_in, x_in))
    feed = [ys.astype(np.float32)[:, None], xs.astype(np.float32)[:, None]]
    want = np.asarray(m.predict(_one_or_list(feed), verbose=0))
    onnx_out, keras_out = _run_both(m, feed)
    for got in (onnx_out[0], np.asarray(keras_out)):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-37)
        _assert_same_signs(got, want, zeros=got is not onnx_out[0])


# --------------------------------------------------------------------------- traced layer

class _RunningBlock(keras.layers.Layer):
    """A custom layer calling several of the operations (traced)."""

    def call(self, x):
        p = ops.cumprod(ops.tanh(x) + 1.0, axis=1)
        p = ops.slice_update(p, [0, 0, 1], ops.expm1(x[:, :1, :2]))
        med = ops.median(p, axis=-1, keepdims=True)
        return ops.rot90(ops.fmod(p - med, 0.7) + ops.arctan2(med, 1.0), k=1, axes=(1, 2))


@pytest.mark.parametrize("batch", [1, 4])
def test_traced_custom_layer(batch):
    keras.utils.set_random_seed(2)
    x = keras.Input((3, 5), name="x")
    m = keras.Model(x, _RunningBlock(name="running")(x))
    graph = from_keras(m)
    feed = np.random.default_rng(batch).normal(size=(batch, 3, 5)).astype(np.float32)
    want = m.predict(feed, verbose=0)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(["running"], session.run(None, {"x": feed}), [want])
    _assert_close(["running"], [to_keras(graph).predict(feed, verbose=0)], [want])


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("build,reason", [
    (lambda x: ops.cumprod(x), "axis=None"),
    (lambda x: ops.median(x, axis=(1, 2)), "only one axis"),
    (lambda x: ops.median(x), "only one axis"),
    (lambda x: ops.digitize(x, np.array([1.0, 0.0])), "non-decreasing"),
    (lambda x: ops.nansum(ops.cast(x, "uint8"), axis=1), "uint32"),
    (lambda x: ops.slice_update(x, [1, 0, 0], np.ones((1, 2, 2), "float32")), "not static"),
    (lambda x: ops.ptp(x > 0, axis=1), "bool input"),
    (lambda x: ops.inner(x, np.float32(2.0)), "scalar operand"),
    (lambda x: ops.rot90(x, k=2, axes=(1, 2)), "records the sizes swapped"),
    (lambda x: ops.scatter_update(x[0], [[1, 1], [1, 1]], x[0, :2, 0]), "repeated indices"),
    (lambda x: ops.scatter_update(x, [[0], [0]], np.zeros((2, 4, 6), "float32")),
     "repeated indices"),
    (lambda x: ops.scatter_update(x[0], [[4, 0]], x[0, :1, 0]), "outside"),
    (lambda x: ops.segment_max(x, ops.cast(x[:, 0, 0], "int32"), num_segments=2),
     "only constant ids"),
])
def test_refusals_name_the_reason(build, reason):
    x = keras.Input((4, 6), name="x")
    with pytest.raises(UnsupportedLayerError, match=reason):
        from_keras(keras.Model(x, build(x)))


# --------------------------------------------------------------------------- segments

class _SegmentExtremes(keras.layers.Layer):
    """Per-segment max and min of the rows of each sample, constant ids: segment 1 is
    empty, id -1 drops row 4, NaN and infinite entries included."""

    def call(self, x):
        rows = ops.transpose(x, (1, 0, 2))                       # (rows, batch, features)
        ids = np.array([0, 2, 0, 3, -1, 2], "int32")
        hi = ops.segment_max(rows, ids, num_segments=5)
        lo = ops.segment_min(rows, ids)                          # num_segments: max + 1
        return ops.concatenate([ops.transpose(hi, (1, 0, 2)), ops.transpose(lo, (1, 0, 2))],
                               axis=1)


@pytest.mark.parametrize("batch", [2, 3])
def test_segment_max_min_with_constant_ids(batch):
    x = keras.Input((6, 4), name="x")
    m = keras.Model(x, _SegmentExtremes(name="extremes")(x))
    feed = np.random.default_rng(batch).normal(size=(batch, 6, 4)).astype(np.float32)
    feed[0, 0, 0] = np.nan                 # TensorFlow forgets it at the segment's next row
    feed[0, 5, 1] = np.nan                 # the segment's last row: NaN
    feed[0, 3, 2] = -np.inf                # alone in its segment: the lowest finite value
    feed[0, 3, 3] = np.inf
    want = np.asarray(m.predict(feed, verbose=0))
    f32 = np.finfo(np.float32)
    assert want[0, 1, 0] == f32.min and want[0, 5 + 1, 0] == f32.max      # empty segment 1
    assert want[0, 0, 0] == feed[0, 2, 0] and np.isnan(want[0, 2, 1])
    assert want[0, 3, 2] == f32.min and want[0, 5 + 3, 3] == f32.max      # +-inf clipped
    graph = from_keras(m)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(["extremes"], session.run(None, {"x": feed}), [want])
    _assert_close(["extremes"], [to_keras(graph).predict(feed, verbose=0)], [want])


# --------------------------------------------------------------------------- scatters

class _Scatters(keras.layers.Layer):
    """scatter_update of rows (index depth 1, a dynamic axis after the indexed one) and
    of single entries; scatter with a repeated index (summed) at depth 1 and 2."""

    def call(self, x):                                           # x (batch >= 2, 3, 4)
        rows = ops.transpose(x, (1, 0, 2))                       # (3, batch, 4)
        updated = ops.scatter_update(rows, [[2], [0]], rows[:2, :, :] * 10.0)
        first = x[0]                                             # (3, 4)
        entries = ops.scatter_update(first, np.array([[0, 1], [2, 3]]), x[1, :2, 0])
        summed = ops.scatter([[1], [3], [1]], first * 2.0, (5, 4))
        picked = ops.scatter([[0, 1], [2, 3], [0, 1]], x[1, :, 0] + 1.0, (3, 4))
        flat = ops.concatenate([ops.reshape(updated, (-1,)), ops.reshape(entries, (-1,)),
                                ops.reshape(summed, (-1,)), ops.reshape(picked, (-1,)),
                                ops.reshape(x[1, :, :1], (-1,))], axis=0)
        return flat


@pytest.mark.parametrize("batch", [2, 3])
def test_scatter_and_scatter_update_with_constant_indices(batch):
    x = keras.Input((3, 4), name="x")
    m = keras.Model(x, _Scatters(name="scatters")(x))
    feed = np.random.default_rng(batch).normal(size=(batch, 3, 4)).astype(np.float32)
    want = np.asarray(m.predict(feed, verbose=0))
    n = 3 * batch * 4
    updated = want[:n].reshape(3, batch, 4)
    np.testing.assert_array_equal(updated[2], feed[:, 0] * 10.0)
    np.testing.assert_array_equal(updated[1], feed[:, 1])
    summed = want[n + 12:n + 32].reshape(5, 4)
    np.testing.assert_allclose(summed[1], feed[0, 0] * 2 + feed[0, 2] * 2, rtol=1e-6)
    assert (summed[[0, 2, 4]] == 0).all()
    graph = from_keras(m)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _assert_close(["scatters"], session.run(None, {"x": feed}), [want], rtol=1e-6)
    _assert_close(["scatters"], [to_keras(graph).predict(feed, verbose=0)], [want], rtol=1e-6)


class _PlacedTokens(keras.layers.Layer):
    """keras_hub Gemma3's image tokens placed into the text: the text flattened to
    (batch * seq, d), the run-time positions offset by ``arange(batch) * seq``,
    ``scatter_update`` by those tensor indices; and a constant row of the batch
    replaced (indexed sizes known only at run time)."""

    def call(self, inputs):
        text, tokens, positions = inputs                   # (b, 6, 4), (b, 2, 4), (b, 2)
        b = ops.shape(text)[0]
        flat = ops.reshape(text, (-1, 4))
        offsets = ops.expand_dims(ops.arange(b, dtype="int32") * 6, -1)
        at = ops.reshape(positions + offsets, (-1, 1))
        placed = ops.scatter_update(flat, at, ops.reshape(tokens, (-1, 4)))
        placed = ops.reshape(placed, (-1, 6, 4))
        return ops.scatter_update(placed, [[1]], np.full((1, 6, 4), 7.0, "float32"))

    def compute_output_shape(self, shapes):
        return shapes[0]


@pytest.mark.parametrize("batch", [2, 3])
def test_scatter_update_by_tensor_indices_and_over_the_batch(batch):
    ins = [keras.Input((6, 4), name="text"), keras.Input((2, 4), name="tokens"),
           keras.Input((2,), dtype="int32", name="positions")]
    m = keras.Model(ins, _PlacedTokens(name="placed")(ins))
    rng = np.random.default_rng(batch)
    feeds = [rng.normal(size=(batch, 6, 4)).astype(np.float32),
             rng.normal(size=(batch, 2, 4)).astype(np.float32),
             np.stack([rng.permutation(6)[:2] for _ in range(batch)]).astype(np.int32)]
    want = np.asarray(m.predict(feeds, verbose=0))
    np.testing.assert_array_equal(want[0, feeds[2][0, 0]], feeds[1][0, 0])
    assert (want[1] == 7.0).all()
    graph = from_keras(m)
    assert [n.op for n in graph.nodes].count("scatter_nd_update") == 2
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    named = dict(zip(["text", "tokens", "positions"], feeds))
    _assert_close(["placed"], session.run(None, {v.name: named[v.name] for v in graph.inputs}),
                  [want], rtol=1e-6)
    _assert_close(["placed"], [to_keras(graph).predict(feeds, verbose=0)], [want], rtol=1e-6)
