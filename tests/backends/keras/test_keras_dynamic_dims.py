"""Sizes unknown while tracing (``graphir/backends/keras/dynamic_dims.py``): custom layers
that read ``ops.shape(x)`` of the batch or of an unknown sequence length and build a
broadcast, tile, repeat, zeros/ones/full, arange, slice or reshape of it lower without
``input_shapes``; the ONNX (onnxruntime) and the emitted Keras model match Keras at two
batch sizes and two sequence lengths, checked outside graphir; a size used in a way
graphir cannot keep dynamic is refused by name."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402


class ClassToken(L.Layer):
    """ViT / DeiT: a learned token broadcast to the batch (ops.broadcast_to) and one
    tiled to it (ops.tile), concatenated in front of the sequence."""

    def build(self, shape):
        self.cls = self.add_weight(shape=(1, 1, shape[-1]), name="cls",
                                   initializer="random_normal")
        self.dist = self.add_weight(shape=(1, 1, shape[-1]), name="dist",
                                    initializer="random_normal")

    def call(self, x):
        b = ops.shape(x)[0]
        cls = ops.broadcast_to(self.cls, (b, 1, x.shape[-1]))
        dist = ops.tile(self.dist, (b, 1, 1))
        return ops.concatenate([cls, dist, x], axis=1)


class Latents(L.Layer):
    """A Perceiver's latent array, broadcast to the batch from a constant expand_dims
    (computed eagerly), then ops.repeat of a (1, n, d) weight by the batch size."""

    def build(self, shape):
        self.latent = self.add_weight(shape=(3, shape[-1]), name="latent",
                                      initializer="random_normal")

    def call(self, x):
        lat = ops.broadcast_to(ops.expand_dims(self.latent, 0), (ops.shape(x)[0], 3, x.shape[-1]))
        rep = ops.repeat(ops.expand_dims(self.latent, 0), ops.shape(x)[0], axis=0)
        return ops.concatenate([lat, rep, x], axis=1)


class PositionAndMask(L.Layer):
    """keras_hub style: positions sliced to the (unknown) sequence length and broadcast
    to the input; a causal mask from two aranges; zeros/ones/full of the input's shape;
    an arange with a start and a step."""

    def build(self, shape):
        self.table = self.add_weight(shape=(16, shape[-1]), name="table",
                                     initializer="random_normal")

    def call(self, x):
        b, s, d = ops.shape(x)
        pos = ops.slice(self.table, (1, 0), (s, d))
        pos = ops.broadcast_to(pos, (b, s, d))
        i = ops.arange(s)[:, None]
        j = ops.arange(s)
        causal = ops.cast(i >= j, "float32")                       # (s, s)
        mixed = ops.matmul(causal, x + pos)                        # (b, s, d)
        ones = ops.ones((b, s, 1))
        half = ops.full((b, 1, d), 0.5)
        zeros = ops.zeros((b, s, d), dtype="float32")
        odd = ops.cast(ops.arange(1, s, 2), "float32")             # 1, 3, ... < s
        total = ops.sum(odd) * ones
        return mixed * ones + half + zeros + total


class HeadSplit(L.Layer):
    """Attention-style reshapes: a projection (a built-in layer, which keeps the batch
    axis) reshaped (b, s, h*dh) -> (b, s, h, dh) with b and s read from the layer's
    input, transposed, and back to (b, s, h*dh) with sizes read from that tensor."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.proj = L.Dense(4, name="proj")

    def call(self, x):
        b, s = ops.shape(x)[0], ops.shape(x)[1]
        heads = ops.reshape(self.proj(x), (b, s, 2, 2))
        heads = ops.transpose(heads, (0, 2, 1, 3)) * 2.0
        back = ops.transpose(heads, (0, 2, 1, 3))
        return ops.reshape(back, (ops.shape(back)[0], ops.shape(back)[1], 4))


class SizeAsValue(L.Layer):
    """The unknown sequence length used as a number: a mean over the steps, a scale,
    an offset, a tensor comparison (what tf.shape gives in a TensorFlow graph)."""

    def call(self, x):
        steps = ops.shape(x)[1]
        mean = ops.sum(x, axis=1, keepdims=True) / ops.cast(steps, "float32")
        scaled = ops.subtract(ops.multiply(x, ops.cast(steps, "float32")), steps)
        late = ops.cast(ops.arange(steps) >= steps - 2, "float32")[None, :, None]
        return mean + scaled + late + ops.cast(steps * 2 + 1, "float32")


class BandMasks(L.Layer):
    """A causal sum by ``tril(ones((t, t)))`` of the unknown length and a ``triu`` of a
    (t, t) score matrix with an offset (keras.io / RoPE-style attention masks)."""

    def call(self, x):
        t = ops.shape(x)[1]
        causal = ops.matmul(ops.tril(ops.ones((t, t))), x)
        scores = ops.triu(ops.matmul(x, ops.transpose(x, (0, 2, 1))), 1)
        return causal + ops.matmul(scores, x)


class SlidingWindow(L.Layer):
    """keras_hub Qwen3's sliding-window mask on the TensorFlow backend:
    tf.linalg.band_part of ones((t, t)) with a band from ops.minimum of the length, and
    a lower band of a (t, t) score matrix."""

    def call(self, x):
        import tensorflow as tf

        t = ops.shape(x)[1]
        band = ops.cast(ops.minimum(t, 2), "int32")
        window = tf.linalg.band_part(ops.ones((t, t)), 1, band)
        lower = tf.linalg.band_part(ops.matmul(x, ops.transpose(x, (0, 2, 1))), -1, 0)
        return ops.matmul(window, x) + ops.matmul(lower, x)


def _model(layer, seq=None, dim=4):
    i = keras.Input((seq, dim))
    return keras.Model(i, L.Dense(3)(layer(i)))


def _check(model, shapes):
    """:func:`_matches_keras` on seeded inputs of ``shapes`` (rtol 1e-4), the batch kept
    symbolic, and rows that differ (not a broadcast copy)."""
    rng = np.random.default_rng(3)
    graph, wants = _matches_keras(model, [rng.normal(size=s).astype("float32") for s in shapes],
                                  rtol=1e-4, atol=1e-5)
    assert graph.inputs[0].type.shape[0] == "batch"
    for want in wants:
        assert not np.allclose(want[0], want[-1])
    return graph


def _matches_keras(model, feeds_list, rtol=1e-5, atol=1e-5):
    """``model`` lowered once; its ONNX (onnxruntime) and emitted Keras model match Keras
    on each entry of ``feeds_list`` (one array, or a list by input).  Returns the graph
    and Keras' outputs."""
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    wants = []
    for feeds in feeds_list:
        xs = feeds if isinstance(feeds, list) else [feeds]
        want = np.asarray(model(feeds))
        got = session.run(None, {v.name: x for v, x in zip(graph.inputs, xs)})[0]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"onnx {[x.shape for x in xs]}")
        np.testing.assert_allclose(np.asarray(emitted(feeds)), want, rtol=rtol, atol=atol,
                                   err_msg=f"keras {[x.shape for x in xs]}")
        wants.append(want)
    return graph, wants


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(11)
    return {"class_token": _model(ClassToken(name="tokens"), seq=5),
            "latents": _model(Latents(name="latents"), seq=5),
            "positions": _model(PositionAndMask(name="positions")),
            "heads": _model(HeadSplit(name="heads")),
            "size_as_value": _model(SizeAsValue(name="size_as_value")),
            "band_masks": _model(BandMasks(name="band_masks")),
            "sliding_window": _model(SlidingWindow(name="sliding_window"))}


@pytest.mark.parametrize("name,shapes", [
    ("class_token", [(2, 5, 4), (3, 5, 4)]),
    ("latents", [(2, 5, 4), (5, 5, 4)]),
    ("positions", [(2, 6, 4), (3, 9, 4)]),
    ("heads", [(2, 6, 4), (4, 3, 4)]),
    ("size_as_value", [(2, 6, 4), (3, 9, 4)]),
    ("band_masks", [(2, 6, 4), (3, 9, 4)]),
    ("sliding_window", [(2, 5, 4), (3, 8, 4)]),
])
def test_dynamic_sizes_stay_dynamic_and_match(models, name, shapes):
    _check(models[name], shapes)


def test_the_class_token_keeps_its_weight_path(models):
    graph = from_keras(models["class_token"])
    assert any(w.endswith("tokens/cls") for w in graph.weights), list(graph.weights)


class TensorStyleShapes(L.Layer):
    """TensorFlow-style shape vectors (keras.io's Transformer ASR / captioning causal
    masks): a mask tiled by ``concatenate([expand_dims(batch, -1), [1, 1]])``, a reshape
    to ``stack([b, s, 2, 2])`` and back, and a vector of sizes used as a value.  Keras
    3.15 cannot infer this layer's output in a functional model (its ``ops.tile``
    iterates a symbolic repeats tensor); eager calls work."""

    def call(self, x):
        shape = ops.shape(x)
        b, s = shape[0], shape[1]
        causal = ops.cast(ops.arange(s)[:, None] >= ops.arange(s)[None, :], "float32")
        reps = ops.concatenate([ops.expand_dims(b, -1), ops.convert_to_tensor([1, 1])], 0)
        mask = ops.tile(ops.expand_dims(causal, 0), reps)               # (b, s, s)
        heads = ops.reshape(x, ops.stack([b, s, 2, 2]))
        back = ops.reshape(heads * 2.0, ops.cast(ops.stack([b, s, 4]), "int32"))
        sizes = ops.cast(ops.sum(ops.stack([b, s])), "float32")          # b + s
        return ops.matmul(mask, back) + sizes


class TensorStyleNet(keras.Model):
    """A subclassed model (called eagerly, so Keras never infers the layer's spec)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.body = TensorStyleShapes(name="tensor_style")
        self.head = L.Dense(3, name="head")

    def call(self, x):
        return self.head(self.body(x))


def test_tensor_style_shape_vectors_stay_dynamic():
    """The shape vectors are kept as the sizes they hold (DynamicShape) and the
    sublayer's spec, which Keras' own inference cannot give, comes from its call on
    the symbolic tensors; ONNX and emitted Keras match at two batch sizes and lengths."""
    keras.utils.set_random_seed(12)
    net = TensorStyleNet(name="tensor_style_net")
    net(np.zeros((2, 5, 4), "float32"))
    # Keras' own symbolic build of the model failed (the tile), so it recorded no input
    # shapes: the call parameter's shape is given
    with pytest.raises(UnsupportedLayerError, match="input_shapes"):
        from_keras(net)
    graph = from_keras(net, input_shapes={"x": (None, None, 4)})
    assert graph.inputs[0].type.shape == ("batch", None, 4)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(4)
    for shape in [(2, 5, 4), (3, 7, 4)]:
        x = rng.normal(size=shape).astype("float32")
        want = np.asarray(net(x))
        np.testing.assert_allclose(session.run(None, {"x": x})[0], want, rtol=1e-4,
                                   atol=1e-5, err_msg=f"onnx {shape}")
        np.testing.assert_allclose(np.asarray(emitted(x)), want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"keras {shape}")
        assert not np.allclose(want[0], want[-1])


class MergedHeads(L.Layer):
    """Reshapes to (batch * heads, seq, dh) with the sequence length unknown: two sizes
    known only at run time (a dynamic_reshape)."""

    def call(self, x):
        heads = ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], 2, 2))
        return ops.reshape(ops.transpose(heads, (0, 2, 1, 3)),
                           (ops.shape(x)[0] * 2, ops.shape(x)[1], 2))


class SummedSize(L.Layer):
    """A size computed by a sum (kept only as the one -1) beside a -1: refused."""

    def call(self, x):
        return ops.reshape(x, (ops.shape(x)[0] + 0, -1, 2))


class TileWide(L.Layer):
    """Tiles an axis of size 2 by the batch size: not a broadcast."""

    def call(self, x):
        return ops.tile(x[:1, :, :], (ops.shape(x)[0], 1, 1))[:, :1, :] + x


@pytest.mark.parametrize("layer,seq,match", [
    (TileWide(name="tile_wide"), 2, r"along an axis of size 1"),
    (SummedSize(name="summed_size"), None, r"more than one size unknown"),
])
def test_a_size_used_otherwise_is_refused_by_name(layer, seq, match):
    model = _model(layer, seq=seq)
    with pytest.raises(UnsupportedLayerError, match=match) as info:
        from_keras(model)
    assert layer.name in str(info.value)


def test_static_input_shapes_still_give_a_static_graph(models):
    graph = from_keras(models["class_token"], input_shapes={
        models["class_token"].inputs[0]._keras_history.operation.name: (2, 5, 4)})
    assert graph.value_types()[graph.outputs[0]].shape == (2, 7, 3)



class PositionSlice(L.Layer):
    """A position table sliced to the run-time length (``table[:, :n]``, a variable)
    and an input sliced to it (``x[:, 1:n]``, a tensor)."""

    def build(self, shape):
        self.table = self.add_weight(shape=(1, 12, shape[-1]), name="table",
                                     initializer="random_normal")

    def call(self, x):
        n = ops.shape(x)[1]
        shifted = ops.concatenate([x[:, 1:n], x[:, :1]], axis=1)
        return shifted + self.table[:, :n, :]


def test_slices_to_a_size_unknown_while_tracing():
    keras.utils.set_random_seed(5)
    graph = _check(_model(PositionSlice(name="pos_slice")), [(2, 6, 4), (3, 9, 4)])
    assert any(w.endswith("pos_slice/table") for w in graph.weights)


class AlibiLike(L.Layer):
    """keras_hub's ALiBi ``arange(1 - n, 1)`` (a start computed from the size), a slice
    to ``n - 1``, an arange of two steps ending at ``n``."""

    def call(self, x):
        n = ops.shape(x)[1]
        rel = ops.cast(ops.arange(1 - n, 1), "float32")
        tail = ops.cast(ops.sum(ops.arange(n - 2, n)), "float32")
        rolled = ops.concatenate([x[:, 1:], x[:, :n - 1][:, :1]], axis=1)
        return rolled + rel[None, :, None] + tail


def test_sizes_plus_ints_in_arange_and_slices():
    keras.utils.set_random_seed(6)
    _check(_model(AlibiLike(name="alibi")), [(2, 6, 4), (3, 9, 4)])


# --------------------------------------------------------------------------- reshapes to
# several sizes known only at run time (the dynamic_reshape op)

class PixelShuffle(L.Layer):
    """keras.io super-resolution's depth-to-space on an image of unknown height and
    width: (b, h, w, r*r*c) -> (b, h, w, r, r, c) -> transposed -> (b, h*r, w*r, c), the
    sizes read with ops.shape from the layer's input."""

    def call(self, x):
        b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        y = ops.reshape(x, (b, h, w, 2, 2, 1))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return ops.reshape(y, (b, h * 2, w * 2, 1))


class PatchSplit(L.Layer):
    """Non-overlapping 2x2 patches by floor division of unknown sizes:
    (b, h, w, c) -> (b, h//2, 2, w//2, 2, c) -> (b, h//2, w//2, 4c)."""

    def call(self, x):
        b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        y = ops.reshape(x, (b, h // 2, 2, w // 2, 2, x.shape[-1]))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return ops.reshape(y, (b, h // 2, w // 2, 4 * x.shape[-1]))


class NodesIntoBatch(L.Layer):
    """keras.io traffic forecasting: nodes folded into the batch, (n, b, s, f) -> (b * n,
    s, f), a Dense, and back with a -1 that only the product of symbolic sizes resolves
    (n * batch * 3 / (n * batch) = 3)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.dense = L.Dense(3, name="dense")

    def call(self, x):  # (b, s, n, f)
        g = ops.transpose(x, (2, 0, 1, 3))
        n, b, s, f = ops.shape(g)
        out = self.dense(ops.reshape(g, (b * n, s * f)))
        return ops.transpose(ops.reshape(out, (n, b, -1)), (1, 0, 2))


class FoldedTime(L.Layer):
    """keras' STFTSpectrogram: a -1 beside the unknown length, (b, t, 1) -> (b, 1, t) ->
    (-1, t, 1): the -1 is b (traced back through the transpose), so the batch axis is
    kept and one size stays unknown."""

    def call(self, x):
        t = ops.shape(x)[1]
        return ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, t, 1)) * 2.0


class DoubledTime(L.Layer):
    """A -1 beside the unknown length of another tensor: (b, 2t, 4) -> (-1, t, 8); the
    concatenation hides that 2t is twice t, so the -1 stays a quotient of run-time
    sizes: ONNX computes it, Keras cannot."""

    def call(self, x):
        doubled = ops.concatenate([x, x * 2.0], axis=1)
        return ops.reshape(doubled, (-1, ops.shape(x)[1], 8))


def _image_model(layer, channels):
    i = keras.Input((None, None, channels))
    return keras.Model(i, L.Conv2D(2, 1, name="conv")(layer(L.Conv2D(channels, 1)(i))))


@pytest.mark.parametrize("layer,channels,shapes", [
    (PixelShuffle(name="pixel_shuffle"), 4, [(2, 3, 5, 4), (3, 4, 2, 4)]),
    (PatchSplit(name="patch_split"), 3, [(2, 4, 6, 3), (3, 6, 2, 3)]),
])
def test_reshapes_to_several_run_time_sizes(layer, channels, shapes):
    keras.utils.set_random_seed(7)
    model = _image_model(layer, channels)
    graph = _check(model, shapes)
    nodes = [n for n in graph.nodes if n.op == "dynamic_reshape"]
    assert len(nodes) == 2 and nodes[-1].output.type.shape[0] == "batch"
    assert nodes[-1].output.type.shape[-1] in (1, 12)  # static where static: Conv2D builds


def test_merged_heads_and_the_nodes_folded_into_the_batch():
    keras.utils.set_random_seed(8)
    graph = _check(_model(MergedHeads(name="merged_heads")), [(2, 6, 4), (3, 5, 4)])
    merged = [n for n in graph.nodes if n.op == "dynamic_reshape"][-1]
    assert merged.output.type.shape == ("2*batch", None, 2)
    i = keras.Input((5, 4, 2))
    graph = _check(keras.Model(i, NodesIntoBatch(name="nodes")(i)), [(2, 5, 4, 2), (3, 5, 4, 2)])
    # the nodes folded into the batch are named 4*batch, so both reshapes are plain
    # array_reshapes (one -1 each) whose types keep the sizes' names
    folded, back = [n for n in graph.nodes if n.op == "array_reshape"][-2:]
    assert folded.output.type.shape == ("4*batch", 10)
    assert back.attrs["shape"] == (4, -1, 3) and back.output.type.shape == (4, "batch", 3)


def test_a_minus_one_beside_run_time_sizes():
    from graphir.errors import UnsupportedOpError

    graph = _check(_model(FoldedTime(name="folded_time"), dim=1), [(2, 6, 1), (3, 4, 1)])
    folded = [n for n in graph.nodes if n.name.startswith("folded_time/")
              and "reshape" in n.op]
    assert [n.op for n in folded] == ["reshape"]     # the batch kept: a Keras Reshape
    model = _model(DoubledTime(name="doubled_time"))
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for shape in [(2, 6, 4), (3, 4, 4)]:
        x = np.random.default_rng(1).normal(size=shape).astype("float32")
        np.testing.assert_allclose(session.run(None, {graph.inputs[0].name: x})[0],
                                   np.asarray(model(x)), rtol=1e-4, atol=1e-5)
    with pytest.raises(UnsupportedOpError, match=r"doubled_time.*-1 .*beside other sizes"):
        to_keras(graph)


class StackedRows(L.Layer):
    """A Concatenate along the batch axis, then a reshape to (ops.shape(x)[0], -1): the
    concatenation's axis 0 is twice x's, so the reshape must not keep it as the batch
    axis (2b rows become b rows of twice the width)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.concat = L.Concatenate(axis=0, name="rows")

    def call(self, x):
        y = self.concat([x, x * 2.0])
        return ops.reshape(y, (ops.shape(x)[0], -1))

    def compute_output_spec(self, x):
        return keras.KerasTensor((None, None))


def test_a_concatenation_along_the_batch_is_not_the_batch():
    from graphir.errors import UnsupportedOpError

    i = keras.Input((3, 2))
    model = keras.Model(i, StackedRows(name="stacked")(i))
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        x = np.random.default_rng(batch).normal(size=(batch, 3, 2)).astype("float32")
        want = np.asarray(model(x))
        assert want.shape == (batch, 12)
        np.testing.assert_allclose(session.run(None, {graph.inputs[0].name: x})[0], want,
                                   rtol=1e-6)
    with pytest.raises(UnsupportedOpError, match="beside other sizes"):
        to_keras(graph)


class WindowedAttention(L.Layer):
    """Local attention over an unknown length padded to a multiple of the window with
    ``-n % w`` (Swin / ViTDet / Longformer style), unpadded with ``[:, :n]``."""

    def __init__(self, w=4, **kw):
        super().__init__(**kw)
        self.w = w
        self.qkv = L.Dense(3 * 4)

    def call(self, x):
        n = ops.shape(x)[1]
        padded = ops.pad(x, [[0, 0], [0, -n % self.w], [0, 0]])
        batch, length = ops.shape(padded)[0], ops.shape(padded)[1]
        windows = [ops.reshape(t, (-1, self.w, 4))
                   for t in ops.split(self.qkv(padded), 3, -1)]
        scores = ops.einsum("bqd,bkd->bqk", windows[0], windows[1])
        out = ops.einsum("bqk,bkd->bqd", ops.softmax(scores), windows[2])
        return ops.reshape(out, (batch, length, 4))[:, :n]


class CenteredPatchPad(L.Layer):
    """An image of any size padded to a multiple of the patch size on both axes, the
    padding split before/after (``-h % p``, then ``pad // 2`` and the rest), with 1.0."""

    def __init__(self, p=3, **kw):
        super().__init__(**kw)
        self.p = p

    def call(self, x):
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        ph, pw = -h % self.p, -w % self.p
        return ops.pad(x, [[0, 0], [ph // 2, ph - ph // 2], [pw // 2, pw - pw // 2], [0, 0]],
                       constant_values=1.0)


class PadByLength(L.Layer):
    def call(self, x):
        return ops.pad(x, [[0, 0], [0, ops.shape(x)[1]], [0, 0]])


def test_padding_to_a_multiple_of_a_run_time_size():
    """The padded length is ``4 * ((n + 3) // 4)`` at run time (lengths 5..9 cross
    every residue); the padded image's sizes match Keras on sizes of every residue."""
    keras.utils.set_random_seed(9)
    _check(_model(WindowedAttention(name="windows")),
           [(2, 5, 4), (3, 6, 4), (2, 7, 4), (2, 8, 4), (3, 9, 4)])
    i = keras.Input((None, None, 2))
    model = keras.Model(i, CenteredPatchPad(name="patch_pad")(L.Conv2D(2, 1)(i)))
    rng = np.random.default_rng(5)
    shapes = [(2, 4, 6, 2), (1, 5, 7, 2), (2, 3, 2, 2)]
    for want in _matches_keras(model, [rng.normal(size=s).astype("float32") for s in shapes])[1]:
        assert want.shape[1] % 3 == 0 and want.shape[2] % 3 == 0


def test_sizes_as_periodic_functions_of_one_size():
    """``_periodic`` writes ``+ - * // %`` expressions of one size as
    ``slope * (n // period) + table[n % period]``: equal to Python's own arithmetic on
    every n in 0..47; ``_sized_ruler``'s decomposition is refused for shrinking sizes."""
    from graphir.backends.keras.dynamic_dims import DynamicDim, DynamicSizeError, \
        _periodic, _sized_ruler

    n = DynamicDim(keras.Input((None, 2)), 1)
    cases = [lambda v: (4 - v % 4) % 4, lambda v: v + (4 - v % 4) % 4, lambda v: -v % 6,
             lambda v: (v // 2) * 3 - v % 3 + 5, lambda v: 2 * (v + 1) // 3,
             lambda v: (v % 4) // 3 * 7 - 2]
    for fn in cases:
        dim, period, slope, table = _periodic(fn(n))
        assert dim is n
        assert [slope * (k // period) + table[k % period] for k in range(48)] == \
            [fn(k) for k in range(48)]
    with pytest.raises(DynamicSizeError, match="not a sum"):
        _sized_ruler(10 - n % 5, "int32", "a size")
    assert _periodic(n * n) is None


def test_an_unbounded_padding_is_refused_by_name():
    with pytest.raises(UnsupportedLayerError, match=r"pad_by_length.*bounded"):
        from_keras(_model(PadByLength(name="pad_by_length")))


class GridOffsets(L.Layer):
    """YOLO's decode: grid offsets from ``ops.meshgrid`` of aranges of the map's run-time
    height and width (``"ij"``) and the same grid in ``"xy"`` order, added to the map."""

    def call(self, x):
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        gy, gx = ops.meshgrid(ops.arange(h), ops.arange(w), indexing="ij")
        xy_x, xy_y = ops.meshgrid(ops.arange(w), ops.arange(h))      # indexing="xy"
        grid = ops.cast(ops.stack([gx, gy, xy_x * 10 + xy_y * 100], -1), "float32")
        return x + grid[None]


class ScaledByKernelSlice(L.Layer):
    """StyleGAN2's modulation: a slice of a weight (``kernel[None]``, an eager tensor
    while tracing) times a tensor."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1],), name="kernel",
                                      initializer="random_normal")

    def call(self, x):
        return x * self.kernel[None, None]


def test_meshgrid_of_run_time_sizes():
    keras.utils.set_random_seed(12)
    i = keras.Input((None, None, 3))
    model = keras.Model(i, GridOffsets(name="grid")(L.Conv2D(3, 1)(i)))
    rng = np.random.default_rng(2)
    # not square: "xy" and "ij" differ
    _matches_keras(model, [rng.normal(size=s).astype("float32")
                           for s in [(2, 3, 5, 3), (1, 4, 2, 3)]])


def test_a_slice_of_a_weight_is_a_constant_operand():
    from application_checks import assert_converts_like_keras

    keras.utils.set_random_seed(13)
    i = keras.Input((4, 3))
    assert_converts_like_keras(keras.Model(i, ScaledByKernelSlice(name="scaled")(i)))


class PerExampleSegments(L.Layer):
    """Each example's positions summed into ``k`` segments of its own: ids
    ``example * k + position % k`` over the flattened batch (the last position's id -1,
    dropped as TensorFlow drops it), ``num_segments = batch * k``."""

    def __init__(self, k=2, **kw):
        super().__init__(**kw)
        self.k = k

    def call(self, x):
        b, n, d = ops.shape(x)[0], x.shape[1], x.shape[2]
        ids = ops.arange(b)[:, None] * self.k + ops.arange(n)[None, :] % self.k
        ids = ops.where(ops.arange(n)[None, :] == n - 1, -1, ids)
        sums = ops.segment_sum(ops.reshape(x, (-1, d)), ops.reshape(ids, (-1,)),
                               num_segments=b * self.k)
        return ops.reshape(sums, (b, self.k * d))


def test_segment_sum_into_a_run_time_number_of_segments():
    keras.utils.set_random_seed(14)
    _check(_model(PerExampleSegments(name="segments"), seq=5),
           [(2, 5, 4), (3, 5, 4), (4, 5, 4)])


class PadToOtherLength(L.Layer):
    """PaliGemma's mask padding: a tensor padded in front by the difference of another
    tensor's run-time length and its own, to that length, with a fill value."""

    def call(self, inputs):
        x, other = inputs
        pad = ops.shape(other)[1] - ops.shape(x)[1]
        return ops.pad(x, ((0, 0), (pad, 0), (0, 0)), constant_values=-2.0)


def test_padding_by_a_difference_of_run_time_sizes():
    x = keras.Input((None, 3), name="x")
    other = keras.Input((None, 2), name="other")
    model = keras.Model([x, other], PadToOtherLength(name="pad_to")([x, other]))
    rng = np.random.default_rng(6)
    feeds = [[rng.normal(size=(2, n, 3)).astype("float32"),
              rng.normal(size=(2, m, 2)).astype("float32")] for n, m in [(2, 5), (4, 4), (1, 6)]]
    _, wants = _matches_keras(model, feeds, rtol=1e-6, atol=1e-6)
    for want, (_, m) in zip(wants, [(2, 5), (4, 4), (1, 6)]):
        assert want.shape == (2, m, 3)


class MaskedHeadAttention(L.Layer):
    """keras_hub's RoFormerV2 / ESM attention: q, k, v split into heads by ``(b, s)`` read
    from q, a padding mask of another input reshaped to ``(b, 1, s, 1)``,
    ``dot_product_attention``, and the heads merged by ``(b, s, -1)``, then (``project``)
    the output Dense.  The mask's broadcast leaves the attention output's length
    unproven; the Dense demands 8 features, so the -1 is 8 and Keras can emit it."""

    def __init__(self, project=True, **kw):
        super().__init__(**kw)
        self.project = project
        self.q, self.k, self.v = (L.Dense(8, name=n) for n in "qkv")
        self.o = L.Dense(8, name="o")

    def build(self, x_shape, mask_shape=None):
        for dense in (self.q, self.k, self.v, self.o):
            dense.build(x_shape)

    def call(self, x, mask):
        q = self.q(x)
        b, s = ops.shape(q)[:2]
        q, k, v = (ops.reshape(t, (b, s, 2, 4)) for t in (q, self.k(x), self.v(x)))
        o = ops.dot_product_attention(q, k, v, mask=ops.reshape(mask, [b, 1, s, 1]))
        o = ops.reshape(o, [b, s, -1])
        return self.o(o) if self.project else o * 2.0


def _masked_attention_model(project):
    x = keras.Input((None, 8), name="x")
    mask = keras.Input((None,), dtype="bool", name="mask")
    return keras.Model([x, mask], MaskedHeadAttention(project, name="attention")(x, mask))


def test_heads_merged_before_the_output_projection():
    from graphir.errors import UnsupportedOpError

    keras.utils.set_random_seed(15)
    rng = np.random.default_rng(15)
    feeds = [[rng.normal(size=(b, s, 8)).astype("float32"), rng.random((b, s)) > 0.3]
             for b, s in [(2, 5), (3, 3)]]
    for f in feeds:
        f[1][:, 0] = True                       # every query sees some key
    graph, wants = _matches_keras(_masked_attention_model(True), feeds, rtol=1e-4)
    merged = [n for n in graph.nodes if n.op == "dynamic_reshape"][-1]
    assert merged.output.type.shape == ("batch", None, None)     # the IR's type is unchanged
    assert not np.allclose(wants[0][0], wants[0][1])
    # the twin without the Dense: nothing fixes the -1, which stays refused for Keras
    with pytest.raises(UnsupportedOpError, match=r"attention.*-1 .*beside other sizes"):
        to_keras(from_keras(_masked_attention_model(False)))


class RelativePositions(L.Layer):
    """keras_hub XLNet's relative positions: ``arange(s, -s, -1.0)`` counting down over
    2s steps, an int ``arange`` with step 2, ``ones((2 * s, 1 * b, 1))`` of size
    expressions, and ``ops.slice`` to ``s - 1`` steps (its relative shift)."""

    def call(self, x):
        b, s = ops.shape(x)[0], ops.shape(x)[1]
        down = ops.arange(s, -s, -1.0, dtype="float32")
        odd = ops.cast(ops.arange(1, 2 * s, 2), "float32")
        table = ops.ones((2 * s, 1 * b, 1)) * down[:, None, None]
        shifted = ops.slice(x, (0, 1, 0), (b, s - 1, x.shape[-1]))
        return (ops.sum(shifted, axis=1) + ops.mean(table * table, axis=0)
                + ops.sum(odd) + ops.max(down))


def test_stepped_aranges_sized_ones_and_slices_of_run_time_sizes():
    keras.utils.set_random_seed(17)
    model = _model(RelativePositions(name="relative"))
    _check(model, [(2, 5, 4), (3, 2, 4)])
    one_step = np.random.default_rng(17).normal(size=(2, 1, 4)).astype("float32")
    _matches_keras(model, [one_step])      # s - 1 = 0 steps kept: an empty slice


class ImagePooling(L.Layer):
    """keras_hub DeepLabV3's image-pooling branch: the global average (1x1), a 1x1
    convolution, resized back to the input's run-time height and width by a
    ``Resizing`` built in the call, concatenated with the input."""

    def __init__(self, interpolation="bilinear", **kw):
        super().__init__(**kw)
        self.interpolation = interpolation
        self.pool = L.GlobalAveragePooling2D(keepdims=True, name="pool")
        self.conv = L.Conv2D(2, 1, name="conv")

    def build(self, shape):
        self.conv.build((None, 1, 1, shape[-1]))

    def call(self, x):
        shape = ops.shape(x)
        pooled = self.conv(self.pool(x))
        resized = L.Resizing(shape[1], shape[2], interpolation=self.interpolation,
                             name="resizing")(pooled)
        return ops.concatenate([x, resized], axis=-1)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_a_one_pixel_image_resized_to_run_time_sizes(interpolation):
    keras.utils.set_random_seed(20)
    i = keras.Input((None, None, 3))
    model = keras.Model(i, ImagePooling(interpolation, name="image_pool")(i))
    rng = np.random.default_rng(20)
    _, wants = _matches_keras(model, [rng.normal(size=s).astype("float32")
                                      for s in [(2, 5, 7, 3), (1, 3, 2, 3)]])
    assert wants[0].shape == (2, 5, 7, 5)


class ResizeToOther(L.Layer):
    """Resizes an image of unknown size to another tensor's run-time size: refused."""

    def call(self, inputs):
        x, other = inputs
        shape = ops.shape(other)
        return L.Resizing(shape[1], shape[2], name="resizing")(x)


def test_resizing_a_larger_image_to_run_time_sizes_is_refused_by_name():
    x = keras.Input((None, None, 3))
    other = keras.Input((None, None, 1))
    model = keras.Model([x, other], ResizeToOther(name="resize_to")([x, other]))
    with pytest.raises(UnsupportedLayerError, match=r"resize_to.*Resizing to .*1x1"):
        from_keras(model)


class IdentityFromAranges(L.Layer):
    """keras_hub XLNet's attention mask: ``ops.where(n == m, 1, 0)`` of two aranges of
    the run-time length, an identity matrix at run time (``tf.Tensor.__eq__`` compares
    elementwise; a trace that saw Python's identity test would use the constant 0)."""

    def call(self, x):
        s = ops.shape(x)[1]
        n, m = ops.expand_dims(ops.arange(s), -1), ops.arange(s)
        eye = ops.cast(ops.where(n == m, 1, 0), "float32")
        return ops.einsum("ij,bjd->bid", 2.0 * eye + 1.0, x)


def test_tensors_compared_with_eq_in_a_traced_call_compare_elementwise():
    keras.utils.set_random_seed(22)
    graph = _check(_model(IdentityFromAranges(name="eye")), [(2, 5, 4), (3, 3, 4)])
    assert any(n.op == "equal" for n in graph.nodes)


class RelativeShift(L.Layer):
    """keras_hub XLNet's ``_rel_shift``: scores (b, h, q, k) transposed, reshaped with two
    run-time sizes swapped, the first row dropped (``ops.slice`` to ``k - 1``), reshaped
    back by ``(q, k - 1, b, h)`` (a ``-1`` beside run-time sizes that symbolic shape
    inference names as the slice's own first axis) and cut to ``q`` columns."""

    def call(self, x):
        x = ops.transpose(x, [2, 3, 0, 1])
        size = ops.shape(x)
        x = ops.reshape(x, [size[1], size[0], size[2], size[3]])
        x = ops.slice(x, [1, 0, 0, 0], [size[1] - 1, size[0], size[2], size[3]])
        x = ops.reshape(x, [size[0], size[1] - 1, size[2], size[3]])
        x = ops.slice(x, [0, 0, 0, 0], [size[0], size[0], size[2], size[3]])
        return ops.transpose(x, [2, 3, 0, 1])


def test_a_minus_one_named_like_an_input_axis_is_emitted_from_that_axis():
    i = keras.Input((2, None, None))
    model = keras.Model(i, RelativeShift(name="shift")(i))
    rng = np.random.default_rng(23)
    graph, wants = _matches_keras(model, [rng.normal(size=(2, 2, q, 2 * q)).astype("float32")
                                          for q in (3, 5)])
    assert wants[1].shape == (2, 2, 5, 5)
    assert any(n.op == "dynamic_reshape" and "-1" in n.attrs["shape"] for n in graph.nodes)


class EagerPositions(L.Layer):
    """keras_hub BLIP2's OPT embeddings: position ids kept as an eager TensorFlow
    constant (no variable) and sliced to the run-time length, ``ids[:, :s]``."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.ids = ops.convert_to_tensor(np.arange(16, dtype="float32")[None, :])

    def call(self, x):
        positions = self.ids[:, :ops.shape(x)[1]]
        return x + ops.expand_dims(positions, -1)


def test_an_eager_constant_sliced_to_a_run_time_size():
    _check(_model(EagerPositions(name="positions")), [(2, 5, 4), (3, 9, 4)])


class LengthChosenScale(L.Layer):
    """keras_hub Phi3's long-RoPE factor choice: ``ops.where(start + seq_len > n, long,
    short)`` of the run-time length (a comparison of a size, a bool tensor at run time),
    and the comparisons with another size and reflected."""

    def call(self, x):
        seq_len = ops.shape(x)[1]
        scale = ops.where(0 + seq_len > 4, ops.convert_to_tensor([2.0, 3.0, 5.0, 7.0]),
                          ops.convert_to_tensor([1.0, 1.5, 0.5, 0.25]))
        longer = ops.cast(ops.shape(x)[0] >= seq_len, "float32")
        under = ops.cast(6 > seq_len, "float32")
        return x * scale + longer + 10.0 * under


class BranchOnLength(L.Layer):
    """Qwen3.5's ``if pad_size > 0:``: a Python branch on a run-time size (its own
    shape inference, so Keras builds the model)."""

    def call(self, x):
        if ops.shape(x)[1] % 4 > 0:
            return x * 2.0
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def test_a_size_compared_at_run_time_chooses_per_input():
    keras.utils.set_random_seed(24)
    model = _model(LengthChosenScale(name="scale"))
    rng = np.random.default_rng(24)
    feeds = [rng.normal(size=s).astype("float32") for s in ((5, 3, 4), (2, 5, 4), (2, 7, 4))]
    graph, wants = _matches_keras(model, feeds)
    assert sum(n.op in ("greater", "greater_equal", "less") for n in graph.nodes) >= 3


def test_a_python_branch_on_a_run_time_size_is_refused_by_name():
    model = _model(BranchOnLength(name="branch"))
    with pytest.raises(UnsupportedLayerError,
                       match=r"branch.*comparison \(ops\.shape\(.*\)\[1\] % 4\) > 0 of a "
                             r"size unknown while tracing is used as a truth value"):
        from_keras(model)
