"""Custom layers lowered by symbolic tracing (``graphir/backends/keras/tracing.py``): layers
with sublayers, with their own weights, a Transformer block, nested custom layers, a
Lambda of a live model, a subclassed model with its own call and keras_hub backbones
lower to graphs whose ONNX (onnxruntime) and emitted Keras models match Keras, checked
outside graphir; weights keep their Keras paths; untraceable calls are refused by name."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import predict_in_fresh_process  # noqa: E402
from graphir import extract  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import GraphIRError, InputShapeError, UnsupportedLayerError  # noqa: E402


# --------------------------------------------------------------------------- custom layers

class ResidualMLP(L.Layer):
    """Dense -> Dropout -> Dense, residual add, LayerNormalization (sublayers only)."""

    def __init__(self, dim, **kw):
        super().__init__(**kw)
        self.fc1 = L.Dense(2 * dim, activation="relu", name="fc1")
        self.drop = L.Dropout(0.3, name="drop")
        self.fc2 = L.Dense(dim, name="fc2")
        self.norm = L.LayerNormalization(name="norm")

    def call(self, x, training=None):
        h = self.fc2(self.drop(self.fc1(x), training=training))
        return self.norm(ops.add(x, h))


class Linear(L.Layer):
    """Own weights used directly: ``matmul(x, w) + b``, times a scalar weight."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], self.units), name="w",
                                 initializer="glorot_uniform")
        self.b = self.add_weight(shape=(self.units,), name="b", initializer="random_normal")
        self.scale = self.add_weight(shape=(), name="scale", initializer="ones")

    def call(self, x):
        return (ops.matmul(x, self.w) + self.b) * self.scale


class Nested(L.Layer):
    """A custom layer calling a custom layer and a built-in one."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.inner = Linear(6, name="inner")
        self.out = L.Dense(6, activation="tanh", name="out")

    def call(self, x):
        return self.out(self.inner(x)) - x


class TransformerBlock(L.Layer):
    """As in the Keras example "Text classification with Transformer"."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kw):
        super().__init__(**kw)
        self.att = L.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim, name="att")
        self.ffn = keras.Sequential([L.Dense(ff_dim, activation="relu"), L.Dense(embed_dim)],
                                    name="ffn")
        self.layernorm1 = L.LayerNormalization(epsilon=1e-6, name="ln1")
        self.layernorm2 = L.LayerNormalization(epsilon=1e-6, name="ln2")
        self.dropout1 = L.Dropout(rate)
        self.dropout2 = L.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(L.Layer):
    """As in the same example: positions from ``ops.arange(0, maxlen)``."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kw):
        super().__init__(**kw)
        self.token_emb = L.Embedding(input_dim=vocab_size, output_dim=embed_dim, name="tok")
        self.pos_emb = L.Embedding(input_dim=maxlen, output_dim=embed_dim, name="pos")

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


class Net(keras.Model):
    """A subclassed model with its own call."""

    def __init__(self):
        super().__init__(name="net")
        self.block = ResidualMLP(8, name="block")
        self.head = L.Dense(3, name="head")

    def call(self, x, training=None):
        return ops.softmax(self.head(self.block(x)), axis=-1)


class PythonIf(L.Layer):
    def compute_output_shape(self, shape):
        return shape

    def call(self, x):
        if ops.sum(x) > 0:
            return x
        return -x


class TfCall(L.Layer):
    """A TensorFlow function with no keras.ops equivalent (random at inference)."""

    def call(self, x):
        import tensorflow as tf

        return tf.nn.dropout(x, 0.5)


# --------------------------------------------------------------------------- helpers

def _seeded(seed):
    keras.utils.set_random_seed(seed)


def _onnx_outputs(graph, feeds):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _check_both(model, graph, feeds):
    """ONNX and the emitted Keras model match ``model`` on ``feeds`` (dict by input name)."""
    expected = model.predict(list(feeds.values()) if len(feeds) > 1 else
                             next(iter(feeds.values())), verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got_onnx = _onnx_outputs(graph, feeds)
    emitted = to_keras(graph)
    got_keras = emitted.predict(list(feeds.values()) if len(feeds) > 1 else
                                next(iter(feeds.values())), verbose=0)
    got_keras = got_keras if isinstance(got_keras, list) else [got_keras]
    assert len(got_onnx) == len(got_keras) == len(expected)
    for o, k, e in zip(got_onnx, got_keras, expected):
        e = np.asarray(e)
        assert o.shape == e.shape and np.asarray(k).shape == e.shape
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(k), e, rtol=1e-5, atol=1e-5)
        assert np.abs(e).max() > 1e-3  # not vacuous


@pytest.fixture(scope="module")
def mlp_model():
    _seeded(1)
    x = keras.Input((8,), name="x")
    y = ResidualMLP(8, name="block")(x)
    y = Linear(4, name="lin")(y)
    return keras.Model(x, y, name="mlp")


@pytest.fixture(scope="module")
def x8():
    return np.random.default_rng(0).normal(size=(5, 8)).astype("float32")


# --------------------------------------------------------------------------- conversions

def test_sublayers_and_own_weights_lower_under_the_layer_scope(mlp_model, x8):
    graph = from_keras(mlp_model)
    assert sorted(graph.weights) == sorted(
        ["block/fc1/kernel", "block/fc1/bias", "block/fc2/kernel", "block/fc2/bias",
         "block/norm/gamma", "block/norm/beta", "lin/w", "lin/b", "lin/scale"])
    lin = mlp_model.get_layer("lin")
    assert [v.path for v in lin.weights] == ["lin/w", "lin/b", "lin/scale"]
    np.testing.assert_array_equal(graph.weights["lin/w"], lin.w.numpy())
    ops_by_name = {n.name: n.op for n in graph.nodes}
    assert ops_by_name["block/fc1"] == "dense" and ops_by_name["block/fc2"] == "dense"
    assert ops_by_name["lin/matmul"] == "matmul"
    # each block's final node (here the LayerNormalization) carries the block's name
    assert ops_by_name["block"] == "layer_norm" and "block/norm" not in ops_by_name
    assert graph.outputs[0] == "lin"
    _check_both(mlp_model, graph, {"x": x8})


def test_lowering_is_deterministic_and_leaves_the_model_as_it_was(mlp_model):
    block = mlp_model.get_layer("block")
    before = len(block.fc1._inbound_nodes)
    assert str(from_keras(mlp_model)) == str(from_keras(mlp_model))
    assert len(block.fc1._inbound_nodes) == before


def test_extract_finds_a_traced_block(mlp_model, x8):
    graph = from_keras(mlp_model)
    sub = extract(graph, outputs=["block"])
    assert [v.name for v in sub.inputs] == ["x"] and list(sub.outputs) == ["block"]
    assert all(n.name.startswith("block") for n in sub.nodes)
    expected = keras.Model(mlp_model.input, mlp_model.get_layer("block").output)(x8)
    np.testing.assert_allclose(_onnx_outputs(sub, {"x": x8})[0], np.asarray(expected),
                               rtol=1e-5, atol=1e-5)


def test_nested_custom_layer(x8):
    _seeded(2)
    x = keras.Input((6,), name="x")
    model = keras.Model(x, Nested(name="outer")(x), name="nested")
    graph = from_keras(model)
    assert sorted(graph.weights) == ["outer/inner/b", "outer/inner/scale", "outer/inner/w",
                                     "outer/out/bias", "outer/out/kernel"]
    assert {"outer/inner", "outer/out", "outer"} <= {n.name for n in graph.nodes}
    _check_both(model, graph, {"x": x8[:, :6]})


def test_transformer_block_and_its_saved_keras_reloads_without_the_custom_code(
        tmp_path_factory):
    _seeded(3)
    x = keras.Input((6, 8), name="x")
    y = TransformerBlock(8, 2, 16, name="transformer_layer_0")(x)
    y = L.GlobalAveragePooling1D(name="pool")(y)
    model = keras.Model(x, L.Dense(2, name="cls")(y), name="tb")
    graph = from_keras(model)
    assert "transformer_layer_0/att/query/kernel" in graph.weights
    assert sum(w.startswith("transformer_layer_0/ffn/") for w in graph.weights) == 4
    assert any(n.name == "transformer_layer_0/att" and n.op == "multi_head_attention"
               for n in graph.nodes)
    feeds = np.random.default_rng(1).normal(size=(3, 6, 8)).astype("float32")
    _check_both(model, graph, {"x": feeds})
    assert [n.name for n in extract(graph, outputs=["transformer_layer_0"]).nodes][-1] == \
        "transformer_layer_0"

    path = tmp_path_factory.mktemp("tracing") / "tb.keras"
    save_keras(to_keras(graph), path)
    got, = predict_in_fresh_process(path, [feeds], absent=("graphir", "test_keras_tracing"))
    np.testing.assert_allclose(got, model.predict(feeds, verbose=0), rtol=1e-5, atol=1e-5)


def test_token_and_position_embedding_converts():
    # ops.arange on a static length runs eagerly, so the position embeddings reach the
    # add as a (6, 4) constant tensor: a weight of the add (the keras.io example's layer)
    _seeded(4)
    x = keras.Input((6,), dtype="int32", name="ids")
    model = keras.Model(x, TokenAndPositionEmbedding(6, 20, 4, name="emb")(x), name="tpe")
    graph = from_keras(model)
    add = next(n for n in graph.nodes if n.op == "add")
    constants = [i for i in add.inputs if i in graph.weights]
    assert len(constants) == 1 and graph.weights[constants[0]].shape == (6, 4)
    ids = np.random.default_rng(3).integers(0, 20, size=(3, 6)).astype("int32")
    _check_both(model, graph, {"ids": ids})


def test_lambda_of_a_live_model(x8):
    _seeded(5)
    x = keras.Input((8,), name="x")
    y = L.Lambda(lambda t: ops.tanh(t) * 2.0 + ops.mean(t, axis=-1, keepdims=True),
                 name="lam")(x)
    model = keras.Model(x, L.Dense(3, name="d")(y), name="lm")
    graph = from_keras(model)
    assert "lam" in {n.name for n in graph.nodes}
    _check_both(model, graph, {"x": x8})


def test_subclassed_model_with_its_own_call_is_traced_from_its_build_shape(x8):
    _seeded(6)
    net = Net()
    net(x8[:1])
    graph = from_keras(net)
    assert graph.name == "net" and [v.name for v in graph.inputs] == ["x"]
    assert graph.inputs[0].type.shape == ("batch", 8)
    assert "block/fc1/kernel" in graph.weights and "head/kernel" in graph.weights
    _check_both(net, graph, {"x": x8})


class FeaturesAndTokens(keras.Model):
    """A subclassed model called with a list [features, token ids] (keras.io's
    Transformer ASR style): the token ids reach an Embedding and a cast to int."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.emb = L.Embedding(20, 8, name="emb")
        self.proj = L.Dense(8, name="proj")
        self.head = L.Dense(3, name="head")

    def call(self, inputs):
        features, tokens = inputs
        tokens_emb = self.emb(tokens) * ops.expand_dims(ops.cast(ops.cast(tokens, "int32") > 2,
                                                                 "float32"), -1)
        tokens_emb = tokens_emb * ops.cast(ops.ones_like(tokens), "float32")[..., None]
        return self.head(self.proj(features) + ops.mean(tokens_emb, axis=1, keepdims=True))


def test_subclassed_model_with_a_list_input_and_token_ids_is_traced():
    """The recorded input structure [(b, 5, 4), (b, 5)] is traced as two inputs named
    after call's parameter; the token input, used only as indices (Embedding, a cast to
    int), is int32 (Keras records shapes, not dtypes) of any length (the model reads any:
    Keras recorded only the first call's 5), the features stay float32 of the recorded
    sizes."""
    _seeded(7)
    net = FeaturesAndTokens(name="ft")
    rng = np.random.default_rng(3)
    features = rng.normal(size=(4, 5, 4)).astype("float32")
    tokens = rng.integers(0, 20, size=(4, 5)).astype("int32")
    net([features, tokens])
    graph = from_keras(net)
    assert [(v.name, v.type.dtype.value, v.type.shape) for v in graph.inputs] == [
        ("inputs_0", "float32", ("batch", 5, 4)), ("inputs_1", "int32", ("batch", None))]
    emitted = to_keras(graph)
    for toks in (tokens, rng.integers(0, 20, size=(4, 9)).astype("int32")):
        expected = net([features, toks]).numpy()
        got = _onnx_outputs(graph, {"inputs_0": features, "inputs_1": toks})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(emitted([features, toks])), expected,
                                   rtol=1e-5, atol=1e-5)


def test_unbuilt_subclassed_model_is_refused_by_name():
    with pytest.raises(UnsupportedLayerError, match="call it on data, build it") as info:
        from_keras(Net())
    assert info.value.layer_name == "net"


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("make, cls, reason", [
    (lambda: PythonIf(name="branchy"), "PythonIf", "TypeError"),
    (lambda: TfCall(name="tf_relu"), "TfCall", "TensorFlow function"),
])
def test_untraceable_calls_are_refused_by_name(make, cls, reason):
    x = keras.Input((4,), name="x")
    model = keras.Model(x, make()(x), name="m")
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(model)
    err = info.value
    assert err.layer_class == cls and reason in str(err) and "tracing" in str(err)
    assert err.layer_name in ("branchy", "tf_relu") and "\n" not in str(err)


def test_an_operation_outside_the_op_set_inside_a_traced_layer_names_both():
    class CumLayer(L.Layer):
        def call(self, x):
            return ops.signbit(x)

    x = keras.Input((4,), name="x")
    model = keras.Model(x, CumLayer(name="cum_block")(x), name="m")
    with pytest.raises(UnsupportedLayerError, match="Signbit") as info:
        from_keras(model)
    assert info.value.layer_name == "cum_block" and "traced call" in str(info.value)


class _StandardizedConv2D(L.Conv2D):
    """keras.io "Customizing the convolution operation of a Conv2D layer": weight
    standardization by overriding convolution_op only (Conv2D's own call is inherited)."""

    def convolution_op(self, inputs, kernel):
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-10),
                        padding="valid", strides=list(self.strides),
                        dilation_rate=self.dilation_rate)


class _ScaledAttention(L.MultiHeadAttention):
    """An attention subclass overriding _compute_attention (keras.io's locality
    self-attention scales the scores by a learned temperature)."""

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self.tau = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.5),
                                   name="tau")

    def _compute_attention(self, query, key, value, *args, **kwargs):
        return super()._compute_attention(query * self.tau, key, value, *args, **kwargs)


def test_subclasses_inheriting_a_builtin_call_are_traced():
    _seeded(12)
    x = keras.Input((8, 8, 3), name="x")
    conv = keras.Model(x, _StandardizedConv2D(4, 3, name="ws_conv")(x))
    s = keras.Input((5, 4), name="s")
    # a constant attention mask (the diagonal masked, as keras.io's locality
    # self-attention does) reaches the softmax as a weight
    off_diagonal = ~np.eye(5, dtype=bool)[None]
    att = keras.Model(s, _ScaledAttention(2, 2, name="lsa")(s, s,
                                                            attention_mask=off_diagonal))
    for model, shape in ((conv, (2, 8, 8, 3)), (att, (2, 5, 4))):
        data = np.random.default_rng(1).normal(size=shape).astype("float32")
        graph = from_keras(model)
        got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"]).run(
            None, {graph.inputs[0].name: data})[0]
        want = np.asarray(model(data))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(to_keras(graph)(data)), want, rtol=1e-4,
                                   atol=1e-5)
    # the override matters: plain Conv2D / MultiHeadAttention with the same weights differ
    plain = L.Conv2D(4, 3)
    plain.build((None, 8, 8, 3))
    plain.set_weights(conv.get_layer("ws_conv").get_weights())
    data = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    assert not np.allclose(np.asarray(plain(data)), np.asarray(conv(data)), atol=1e-3)



# --------------------------------------------------------------------------- keras_hub

def _hub_feeds(seq=8, vocab=50):
    rng = np.random.default_rng(7)
    ids = rng.integers(1, vocab, size=(2, seq)).astype("int32")
    mask = np.ones((2, seq), "int32")
    mask[1, -3:] = 0
    return ids, mask


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama", "bloom"])
def test_keras_hub_backbone_with_unknown_sizes_stays_dynamic(family):
    """keras_hub's PositionEmbedding slices its table to ``ops.shape(inputs)[1]`` and
    its decoders build causal masks of ``ops.arange`` of it, sizes unknown while the
    batch and sequence length are (``graphir/backends/keras/dynamic_dims.py``): lowered
    without ``input_shapes``, the ONNX and the emitted Keras model match the backbone at
    two batch sizes and two sequence lengths."""
    keras_hub = pytest.importorskip("keras_hub")
    _seeded(8)
    kw = dict(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
              intermediate_dim=16, max_sequence_length=16)
    if family == "llama":  # rotary embeddings of ops.arange(ops.shape(x)[1])
        backbone = keras_hub.models.LlamaBackbone(
            vocabulary_size=50, num_layers=1, num_query_heads=2, num_key_value_heads=1,
            hidden_dim=8, intermediate_dim=16)
    elif family == "bloom":  # ALiBi: ops.arange(1 - key_length, 1)
        backbone = keras_hub.models.BloomBackbone(**{k: v for k, v in kw.items()
                                                     if k != "max_sequence_length"})
    else:
        backbone = (keras_hub.models.BertBackbone(**kw) if family == "bert"
                    else keras_hub.models.GPT2Backbone(**kw))
    graph = from_keras(backbone)
    assert all(v.type.shape[0] == "batch" and v.type.shape[1] is None for v in graph.inputs)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    flat = keras.Model(backbone.inputs, backbone.outputs)
    names = [t._keras_history.operation.name for t in backbone.inputs]
    for batch, seq in ((2, 8), (3, 5)):
        ids, mask = _hub_feeds(seq)
        ids, mask = np.resize(ids, (batch, seq)), np.resize(mask, (batch, seq))
        feeds = {n: mask if "mask" in n else ids if "token" in n else np.zeros_like(ids)
                 for n in names}
        arrays = [feeds[n] for n in names]
        want = [np.asarray(w) for w in keras.tree.flatten(flat(arrays))]
        got_onnx = session.run(None, {v.name: feeds[v.name] for v in graph.inputs})
        got_keras = keras.tree.flatten(emitted([feeds[v.name] for v in graph.inputs]))
        for g, k, w in zip(got_onnx, got_keras, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"onnx {seq}")
            np.testing.assert_allclose(np.asarray(k), w, rtol=1e-4, atol=1e-5,
                                       err_msg=f"keras {seq}")


def test_builtin_layer_without_a_converter_is_traced():
    # keras_hub's text backbones embed tokens with Keras' own ReversibleEmbedding, which
    # has no converter: its call is traced (a take of the table, ops.convert_to_tensor)
    _seeded(9)
    ids = keras.Input((5,), dtype="int32", name="ids")
    model = keras.Model(ids, keras.layers.ReversibleEmbedding(20, 4, name="tok")(ids),
                        name="rev")
    graph = from_keras(model)
    assert "gather" in [n.op for n in graph.nodes]
    assert graph.outputs == ("tok",)                       # the block keeps the layer's name
    assert any(w.startswith("tok/") for w in graph.weights)
    feeds = {"ids": np.random.default_rng(2).integers(0, 20, size=(3, 5)).astype("int32")}
    _check_both(model, graph, feeds)


def test_convert_to_tensor_with_a_new_dtype_is_a_cast():
    x = keras.Input((3,), dtype="int32", name="x")
    model = keras.Model(x, keras.ops.convert_to_tensor(x, dtype="float32") * 0.5, name="c2t")
    graph = from_keras(model)
    assert [n.op for n in graph.nodes][:1] == ["cast"]
    assert graph.nodes[0].attrs["to"] == "float32"
    _check_both(model, graph, {"x": np.array([[1, -2, 7], [0, 3, 5]], np.int32)})


class _Sampling(L.Layer):
    """The keras.io VAE's sampling layer: z = mean + exp(log_var / 2) * eps, eps ~ N(0, 1)
    drawn on every call (from the layer's seed generator, or an integer seed)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.fixed = seed
        self.gen = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean),
                                  seed=self.fixed if self.fixed is not None else self.gen)
        return mean + ops.exp(0.5 * log_var) * eps


def test_sampling_at_inference_is_refused_not_frozen():
    # with static shapes the draw runs eagerly: without the guard it would become one
    # frozen constant (converted models repeating one sample)
    x = keras.Input((4,), batch_size=2, name="x")
    z = _Sampling(name="sampling")([L.Dense(3)(x), L.Dense(3)(x)])
    with pytest.raises(UnsupportedLayerError, match="sampling.*draws random numbers"):
        from_keras(keras.Model(x, z))
    # with a dynamic batch the draw's shape is unknown while tracing: still this reason
    x = keras.Input((4,), name="x")
    z = _Sampling(name="sampling")([L.Dense(3)(x), L.Dense(3)(x)])
    with pytest.raises(UnsupportedLayerError, match="sampling.*draws random numbers"):
        from_keras(keras.Model(x, z))


def test_an_integer_seeded_draw_is_the_same_every_call_and_converts():
    _seeded(8)
    x = keras.Input((4,), batch_size=2, name="x")
    model = keras.Model(x, _Sampling(seed=3, name="sampling")([L.Dense(3)(x), L.Dense(3)(x)]))
    feeds = np.random.default_rng(2).normal(size=(2, 4)).astype("float32")
    first, second = np.asarray(model(feeds)), np.asarray(model(feeds))
    np.testing.assert_array_equal(first, second)    # stateless: the constant is exact
    _check_both(model, from_keras(model), {"x": feeds})


# ------------------------------------------------ what tracing makes recordable (exactly)

class GatherRows(L.Layer):
    """``tf.gather(x, idx, batch_dims=1)`` (``take_along_axis`` on axis 1) and
    ``batch_dims=0`` (``take``); ``self.w * x`` with the variable first."""

    def build(self, shapes):
        self.w = self.add_weight(shape=(shapes[0][-1],), name="w", initializer="random_normal")

    def call(self, inputs):
        import tensorflow as tf

        x, idx = inputs
        y = tf.gather(x, idx, batch_dims=1)
        return self.w * y + tf.gather(x, [0, 0, 1, 2], axis=1)


class GatherBadForm(L.Layer):
    def call(self, inputs):
        import tensorflow as tf

        x, idx = inputs
        return tf.gather(x, idx, axis=2, batch_dims=1)


class NoneOutput(L.Layer):
    def call(self, x):
        return x * 2.0, None


class UsesNoneOutput(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.inner = NoneOutput(name="inner")

    def call(self, x, mask=None):
        y, nothing = self.inner(x)
        assert nothing is None
        return ops.where(mask, y, ops.zeros_like(y))


def test_tf_gather_and_variable_operators_trace_exactly():
    import tensorflow as tf

    _seeded(4)
    x = keras.Input((4,), name="x")
    idx = keras.Input((4,), dtype="int32", name="idx")
    model = keras.Model([x, idx], GatherRows(name="rows")([x, idx]), name="m")
    rng = np.random.default_rng(0)
    feeds = {"x": rng.normal(size=(3, 4)).astype(np.float32),
             "idx": rng.integers(0, 4, size=(3, 4)).astype(np.int32)}
    graph = from_keras(model, input_shapes={"x": (3, 4), "idx": (3, 4)})
    _check_both(model, graph, feeds)
    with pytest.raises(ValueError, match="KerasTensor"):  # the dispatcher is gone again
        tf.gather(keras.Input((4,)), [0])


def test_a_tf_gather_without_a_keras_ops_equivalent_is_refused_naming_the_line():
    x = keras.Input((4, 5), name="x")
    idx = keras.Input((3,), dtype="int32", name="idx")
    model = keras.Model([x, idx], GatherBadForm(name="bad_gather")([x, idx]), name="m")
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(model, input_shapes={"x": (2, 4, 5), "idx": (2, 3)})
    err = info.value
    assert err.layer_name == "bad_gather" and err.layer_class == "GatherBadForm"
    assert "TensorFlow function" in str(err) and "tf.gather" in str(err)


def test_a_sublayer_returning_none_and_an_explicit_mask_are_traced():
    x = keras.Input((4,), name="x")
    m = keras.Input((4,), dtype="bool", name="m")
    model = keras.Model([x, m], UsesNoneOutput(name="outer")(x, mask=m), name="model")
    rng = np.random.default_rng(1)
    feeds = {"x": rng.normal(size=(2, 4)).astype(np.float32),
             "m": rng.integers(0, 2, size=(2, 4)).astype(bool)}
    feeds["m"][0, 0] = True
    graph = from_keras(model, input_shapes={"x": (2, 4), "m": (2, 4)})
    _check_both(model, graph, feeds)


def test_keras_activations_relu_with_options_in_a_traced_call():
    """keras.activations.relu(x, negative_slope, max_value, threshold) on a symbolic
    tensor records Keras' own ReLU operation (keras/src/activations/activations.py)."""

    class Act(L.Layer):
        def call(self, x):
            return keras.activations.relu(x, negative_slope=0.1, max_value=1.5,
                                          threshold=0.2)

    i = keras.Input((5,))
    model = keras.Model(i, Act(name="act")(i))
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32") * 2
    graph = from_keras(model)
    assert [n.op for n in graph.nodes] == ["relu"]
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(
        None, {graph.inputs[0].name: x})
    np.testing.assert_allclose(got[0], np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert (np.asarray(model(x)) == 1.5).any() and (np.asarray(model(x)) < 0).any()


def test_attention_scores_are_returned_by_tracing_keras_own_call():
    """MultiHeadAttention(..., return_attention_scores=True): two outputs, so Keras' own
    call is traced (query length 5, key length 7)."""
    _seeded(13)
    q, kv = keras.Input((5, 4), name="q"), keras.Input((7, 4), name="kv")
    out, scores = L.MultiHeadAttention(2, 3, name="mha")(q, kv, return_attention_scores=True)
    model = keras.Model([q, kv], [L.Dense(2, name="head")(out), scores])
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 5, 4)).astype("float32")
    b = rng.normal(size=(2, 7, 4)).astype("float32")
    graph = from_keras(model)
    want = [np.asarray(t) for t in model([a, b])]
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"q": a, "kv": b})
    emitted = [np.asarray(t) for t in to_keras(graph)([a, b])]
    assert want[1].shape == (2, 2, 5, 7)
    for g, e, w in zip(got, emitted, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e, w, rtol=1e-5, atol=1e-6)
    assert any(w.startswith("mha/") for w in graph.weights)


class _AttentionPooling(L.Layer):
    """keras.io patch_convnet's attention pooling: one query token attends over the
    sequence and the scores are an output (query length 1, key length 6)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.mha = L.MultiHeadAttention(num_heads=1, key_dim=4, name="mha")

    def call(self, x):
        out, scores = self.mha(query=x[:, 0:1], key=x, value=x, return_attention_scores=True)
        return ops.squeeze(out, axis=1), ops.squeeze(scores, axis=(1, 2))[..., 1:]


def test_attention_scores_inside_a_traced_layer_have_the_key_length():
    """Keras' symbolic MultiHeadAttention gives the scores (b, heads, Tq, Tq); a traced
    call slicing them saw a length 1 where Keras' recorded output (and every run) has
    Tk - 1 = 5: the trace's spec of the scores takes the key's length."""
    _seeded(14)
    x = keras.Input((6, 4), name="x")
    pooled, scores = _AttentionPooling(name="pool")(x)
    model = keras.Model(x, [pooled, scores])
    a = np.random.default_rng(1).normal(size=(2, 6, 4)).astype("float32")
    graph = from_keras(model)
    assert graph.output_types()[1].shape == ("batch", 5)
    want = [np.asarray(t) for t in model(a)]
    got = _onnx_outputs(graph, {"x": a})
    emitted = [np.asarray(t) for t in to_keras(graph)(a)]
    assert want[1].shape == (2, 5)
    for g, e, w in zip(got, emitted, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e, w, rtol=1e-5, atol=1e-6)


class _ActivityRegularization(L.Layer):
    """The Keras guide "Making new layers and models via subclassing": add_loss in
    call, which changes nothing at inference."""

    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


class _GuideDropout(L.Layer):
    """The guide's CustomDropout: keras.random.dropout only when training."""

    def __init__(self, rate, **kw):
        super().__init__(**kw)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


def test_guide_layers_with_losses_and_training_branches():
    _seeded(14)
    i = keras.Input((3,), name="i")
    h = _GuideDropout(0.5, name="drop")(_ActivityRegularization(name="reg")(
        L.Dense(4, name="d1")(i)))
    model = keras.Model(i, L.Dense(2, name="d2")(h))
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    graph = from_keras(model)
    assert [n.op for n in graph.nodes if n.op != "identity"] == ["dense", "dense"]
    got = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, {"i": x})[0]
    np.testing.assert_allclose(got, np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert type(L.Layer.__dict__["add_loss"]).__name__ == "function"
    assert L.Layer.add_loss.__qualname__ == "Layer.add_loss"       # restored


class _ArrayMaskedCoupling(L.Layer):
    """keras.io's RealNVP: a NumPy mask attribute on the left of a symbolic tensor, and
    an attention map written with upper-case einsum subscripts (keras.io's DDPM)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.mask = np.array([0.0, 1.0, 0.0, 1.0], "float32")

    def call(self, x):
        kept = self.mask * x + (1.0 - self.mask) * ops.tanh(x)
        pairs = ops.einsum("bI,bJ->bIJ", kept, x)
        return ops.reshape(pairs, (-1, 16))


def test_numpy_operands_and_upper_case_einsum_in_a_traced_call():
    x = keras.Input((4,), name="x")
    model = keras.Model(x, _ArrayMaskedCoupling(name="coupling")(x))
    data = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    graph = from_keras(model)
    assert "einsum" in [n.op for n in graph.nodes]
    _check_both(model, graph, {"x": data})


# --------------------------------------------------------------------------- tf2onnx's Keras tests

@pytest.mark.parametrize("make, dtype", [
    # Keras records a Lambda's output in its compute dtype (float32); the call returns int32
    (lambda x: ops.argmax(x, axis=2), "int32"),
    (lambda x: ops.greater(x, 0.1), "bool"),
    # TF's operators convert NumPy operands to the tensor's dtype: float32, not float64
    (lambda x: x * np.sqrt(2.0) + np.float64(1.0) / (1.0 + x * x) - np.array([1.0, 2, 3, 4]),
     "float32"),
    (lambda x: ops.where(True, x, 0.0) + ops.where(np.array([True, False, True, False]), x, -x),
     "float32"),
    (lambda x: x + ops.cast(ops.size(x), "float32") + ops.cast(ops.size(x[0]), "float32"),
     "float32"),
    (lambda x: x - float(ops.ndim(x)), "float32"),
    # keras.io: == of a tensor and a number compares elementwise (tf.Tensor's ==);
    # maximum against a 0-d constant tensor
    (lambda x: ops.cast(ops.round(x) == 1.0, "float32") - ops.cast(ops.round(x) != 0, "float32")
     + ops.maximum(x, ops.sqrt(keras.config.epsilon())), "float32"),
])
def test_lambdas_of_tf2onnx_keras_tests(make, dtype):
    """Lambdas from tf2onnx's Keras layer tests: an int or bool output, NumPy float64
    operands, a constant where() condition, ops.size (of the batch too)."""
    x = keras.Input((3, 4), name="x")
    model = keras.Model(x, L.Lambda(make, name="lam")(x))
    graph = from_keras(model)
    assert graph.output_types()[0].dtype.value == dtype
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(2)
    for batch in (2, 3):
        data = rng.normal(size=(batch, 3, 4)).astype("float32")
        want = np.asarray(model(data))
        assert want.dtype == np.dtype(dtype)
        np.testing.assert_allclose(session.run(None, {"x": data})[0].astype("float64"),
                                   want.astype("float64"), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(np.asarray(emitted(data)).astype("float64"),
                                   want.astype("float64"), rtol=1e-6, atol=1e-6)


def _mish(x):
    return x * ops.tanh(ops.softplus(x))


def test_layers_given_a_user_activation_function_trace_keras_own_call():
    """Dense / Conv2D with a user's activation function (keras.io's mish; a lambda with a
    built-in's non-default parameters): Keras' own call is traced (matmul or conv, bias,
    the function); a built-in activation keeps the layer-level op."""
    keras.utils.set_random_seed(8)
    x = keras.Input((5, 5, 2), name="x")
    y = L.Conv2D(3, 3, activation=lambda t: keras.activations.relu(t, max_value=0.5),
                 name="conv")(x)
    y = L.Dense(4, activation=_mish, name="dense_mish")(L.Flatten(name="flat")(y))
    model = keras.Model(x, L.Dense(2, activation="relu", name="head")(y))
    graph = from_keras(model)
    assert [n.op for n in graph.nodes if n.name == "head"] == ["dense"]
    assert not any(n.op in ("dense", "conv2d") and n.name in ("conv", "dense_mish")
                   for n in graph.nodes)
    data = np.random.default_rng(6).normal(size=(3, 5, 5, 2)).astype("float32")
    want = np.asarray(model(data))
    np.testing.assert_allclose(_onnx_outputs(graph, {"x": data})[0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(data)), want, rtol=1e-5, atol=1e-6)
    assert (want > 0).any()


class _IdsPlusTypes(keras.Model):
    """tf2onnx's subclassing test: integer inputs used arithmetically, no index use, so
    nothing tells graphir their dtype."""

    def call(self, inputs):
        return inputs + ops.zeros_like(inputs) * 2


def test_input_dtypes_give_a_subclassed_model_its_dtypes_and_cast_functional_inputs():
    """input_dtypes: the dtype a subclassed model is traced with (Keras records none;
    without it the input is float32), and for a functional model the dtype its input
    takes, cast to the Input's own as Keras' Functional does (int64 ids into int32)."""
    net = _IdsPlusTypes(name="ids_plus")
    ids = np.array([[3, 1], [2, 7]], "int64")
    net(ids)
    assert from_keras(net).inputs[0].type.dtype.value == "float32"
    graph = from_keras(net, input_dtypes={"inputs": "int64"})
    assert graph.inputs[0].type.dtype.value == "int64"
    got = _onnx_outputs(graph, {"inputs": ids})[0]
    np.testing.assert_array_equal(got, np.asarray(net(ids)))
    assert got.dtype == np.int64
    keras.utils.set_random_seed(16)
    tokens = keras.Input((4,), dtype="int32", name="tokens")
    model = keras.Model(tokens, L.Dense(2, name="d")(L.Embedding(9, 3, name="e")(tokens)))
    graph = from_keras(model, input_dtypes={"tokens": "int64"})
    assert graph.inputs[0].type.dtype.value == "int64"
    assert [n.op for n in graph.nodes][0] == "cast"
    feeds = np.array([[1, 2, 3, 8], [0, 4, 4, 5]], "int64")
    np.testing.assert_allclose(_onnx_outputs(graph, {"tokens": feeds})[0],
                               np.asarray(model(feeds)), rtol=1e-6, atol=1e-6)
    with pytest.raises(InputShapeError, match="input_dtypes names nope"):
        from_keras(model, input_dtypes={"nope": "int64"})
    with pytest.raises(InputShapeError, match="not a dtype"):
        from_keras(model, input_dtypes={"tokens": "int65"})


class SiameseNet(keras.Model):
    """keras.io's siamese network: one image encoder shared over a list of two images."""

    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, strides=2, activation="relu")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(1)

    def call(self, inputs):
        a, b = inputs
        ea, eb = self.pool(self.conv(a)), self.pool(self.conv(b))
        return self.head(ops.concatenate([ops.abs(ea - eb), ea * eb], -1))


def test_input_shapes_free_the_sizes_of_a_subclassed_models_first_call():
    """A subclassed model first called on 12x12 images records those sizes; the sizes are
    the ones lowered by default, and an input_shapes entry with None (tf2onnx's
    input_signature) makes them unknown: the ONNX and Keras emission then run 16x10."""
    _seeded(3)
    model = SiameseNet()
    model([np.zeros((1, 12, 12, 3), "float32")] * 2)
    graph = from_keras(model)
    assert [v.type.shape for v in graph.inputs] == [("batch", 12, 12, 3)] * 2
    free = from_keras(model, input_shapes={v.name: (None, None, None, 3) for v in graph.inputs})
    assert [v.type.shape for v in free.inputs] == [("batch", None, None, 3)] * 2
    rng = np.random.default_rng(2)
    feeds = {v.name: rng.normal(size=(2, 16, 10, 3)).astype(np.float32) for v in free.inputs}
    _check_both(model, free, feeds)


class PositionalTagger(keras.Model):
    """Token ids with positions read from ops.shape (a ruler of the ids' unknown length
    while tracing): the ids are still found to be token ids when input_shapes leaves
    the length unknown (the ruler reads only their shape)."""

    def __init__(self):
        super().__init__()
        self.tokens = keras.layers.Embedding(20, 4)
        self.positions = keras.layers.Embedding(16, 4)
        self.out = keras.layers.Dense(2)

    def call(self, ids):
        n = ops.shape(ids)[1]
        return self.out(self.tokens(ids) + self.positions(ops.arange(n))[None])


def test_token_ids_found_when_input_shapes_leave_the_length_unknown():
    _seeded(5)
    model = PositionalTagger()
    model(np.ones((1, 8), "int32"))
    graph = from_keras(model, input_shapes={"ids": (None, None)})
    assert [str(v.type) for v in graph.inputs] == ["i32[batch,?]"]
    rng = np.random.default_rng(4)
    for length in (5, 11):
        _check_both(model, graph, {"ids": rng.integers(0, 20, (2, length)).astype(np.int32)})


class _ScoresWithMask(L.Layer):
    """An attention whose additive ``mask`` (a call argument) is added to its scores."""

    def call(self, x, mask=None):
        scores = ops.matmul(x, ops.transpose(x, (0, 2, 1)))
        if mask is not None:
            scores = scores + mask
        return ops.matmul(ops.softmax(scores, axis=-1), x)


class _ConstantMaskCaller(L.Layer):
    """keras_hub Swin's shifted-window block: the mask it passes its attention is computed
    eagerly from static sizes (a concrete tensor), or given as a NumPy array."""

    def __init__(self, numpy_mask=False, **kw):
        super().__init__(**kw)
        self.numpy_mask = numpy_mask
        self.attn = _ScoresWithMask(name="attn")

    def call(self, x):
        n = x.shape[1]
        if self.numpy_mask:
            mask = (np.tril(np.ones((n, n))) == 0).astype("float32") * -100.0
        else:
            mask = ops.cast(ops.tril(ops.ones((n, n))) == 0, "float32") * -100.0
        return self.attn(x, mask=mask)


@pytest.mark.parametrize("numpy_mask", [False, True], ids=["eager", "numpy"])
def test_a_constant_mask_passed_to_a_traced_sublayer(numpy_mask):
    from application_checks import assert_converts_like_keras

    x = keras.Input((4, 3), name="x")
    model = keras.Model(x, _ConstantMaskCaller(numpy_mask, name="caller")(L.Dense(3)(x)))
    assert_converts_like_keras(model)


# ------------------------------------------------- a layer whose recorded output type is wrong

class PatchesWithoutToken(L.Layer):
    """keras_hub's SigLIP vision embedding: ``compute_output_shape`` reports a class
    token (n + 1 rows) that ``call`` never adds, so Keras records (b, 7, 4) for what is
    (b, 6, 4) at run time."""

    def call(self, x):
        return x * 2.0

    def compute_output_shape(self, shape):
        return (shape[0], shape[1] + 1, shape[2])


class MaskOfOtherRank(L.Layer):
    """keras_hub's XLNet attention-mask layer: ``compute_output_shape`` says (b, n) float,
    ``call`` returns a (b, 1, n) bool mask."""

    def call(self, x):
        return ops.expand_dims(ops.sum(x, axis=-1) > 0.0, 1)

    def compute_output_shape(self, shape):
        return (shape[0], shape[1])


class Gate(L.Layer):
    """A traced reader of the mask: its trace runs on the computed (b, 1, n) bool."""

    def call(self, y, keep):
        return ops.where(ops.transpose(keep, (0, 2, 1)), y, 0.0 * y)

    def compute_output_shape(self, y_shape, keep_shape):
        return y_shape


def _wrong_record_model(baked):
    x = keras.Input((6, 4), name="x")
    patches = PatchesWithoutToken(name="patches")(x)
    assert patches.shape == (None, 7, 4)                      # the wrong record
    y = L.LayerNormalization(name="norm")(L.Dense(4, name="proj")(patches))
    gated = Gate(name="gate")(y, MaskOfOtherRank(name="mask")(x))
    pooled = ops.mean(gated, axis=1) + ops.max(patches, axis=1)   # keras.ops readers
    if baked:   # a Dense built on the wrong 7 rows (a kernel of 28 rows)
        return keras.Model(x, L.Dense(2, name="head")(L.Flatten(name="flat")(gated)),
                           name="baked")
    return keras.Model(x, [pooled, gated], name="m")


def test_readers_of_a_wrongly_recorded_output_are_typed_by_the_computation():
    """What runs is the call: the walker types the readers of a traced layer whose
    computed type differs from Keras' record by the op rules and by Keras' shape
    inference redone on the computed types (a Dense, a LayerNormalization, ``ops.where``
    with a mask of another rank and dtype, a traced layer); a layer whose weights were
    built for the recorded size fails in Keras at run time, and is refused."""
    _seeded(16)
    model = _wrong_record_model(baked=False)
    x = np.random.default_rng(16).normal(size=(3, 6, 4)).astype("float32")
    graph = from_keras(model)
    types = graph.value_types()
    assert [types[v].shape for v in graph.outputs] == [("batch", 4), ("batch", 6, 4)]
    _check_both(model, graph, {"x": x})
    baked = _wrong_record_model(baked=True)
    with pytest.raises(Exception):     # Keras itself cannot run it
        baked(x)
    with pytest.raises(GraphIRError, match=r"head.*\b28\b"):
        from_keras(baked)


class LegacyResize(L.Layer):
    """keras_hub DepthAnything's ``interpolate`` on TensorFlow: ``tf.compat.v1.image.resize``
    (bilinear, legacy pixel positions) to a fixed size."""

    def __init__(self, size, align_corners, **kw):
        super().__init__(**kw)
        self.size, self.align_corners = size, align_corners

    def call(self, x):
        import tensorflow as tf

        return tf.compat.v1.image.resize(x, size=self.size, method="bilinear",
                                         align_corners=self.align_corners)

    def compute_output_shape(self, shape):
        return (shape[0], *self.size, shape[3])


@pytest.mark.parametrize("size,align_corners", [((9, 4), True), ((9, 4), False),
                                                ((3, 3), True), ((1, 2), True)])
def test_tf_v1_bilinear_resize_traces_as_constant_matrices(size, align_corners):
    x = keras.Input((5, 7, 2), name="x")
    model = keras.Model(x, LegacyResize(size, align_corners, name="resize")(x))
    graph = from_keras(model)
    assert {n.op for n in graph.nodes} <= {"einsum", "transpose", "matmul"}
    feeds = {"x": np.random.default_rng(17).normal(size=(2, 5, 7, 2)).astype("float32")}
    _check_both(model, graph, feeds)


class TwoStreamAttention(L.MultiHeadAttention):
    """keras_hub XLNet's TwoStreamRelativeAttention: a MultiHeadAttention subclass with
    its own call signature (the inherited compute_output_spec cannot take it) that
    returns None for the query stream it was not given."""

    def call(self, content_stream, query_stream=None):
        out = super().call(content_stream, content_stream)
        return out, None if query_stream is None else out + query_stream


class UsesTwoStreams(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.attention = TwoStreamAttention(2, 4, name="attention")

    def build(self, shape):
        self.attention.build(shape, shape)

    def call(self, x):
        content, query = self.attention(content_stream=x)
        assert query is None
        return content


def test_a_sublayer_whose_spec_is_its_call_may_return_none():
    _seeded(18)
    x = keras.Input((5, 4), name="x")
    model = keras.Model(x, UsesTwoStreams(name="two_streams")(x))
    graph = from_keras(model)
    _check_both(model, graph, {"x": np.random.default_rng(18).normal(size=(2, 5, 4))
                                                           .astype("float32")})


class ScaledHalf(L.Layer):
    """A library layer with its own shape inference: one output of its input's shape."""

    def call(self, x):
        return x * 0.5

    def compute_output_shape(self, shape):
        return shape


class PairRotation(ScaledHalf):
    """keras_hub's ESMRotaryEmbedding: a subclass whose call takes and returns two
    tensors (angles ``ops.outer`` of positions of unknown length and frequencies), with
    the parent's one-output shape inference inherited."""

    def call(self, q, k):
        t = ops.arange(ops.shape(q)[1], dtype="float32")
        angles = ops.outer(t, np.asarray([1.0, 0.5], "float32"))[None, :, :]
        return q * ops.cos(angles), k * ops.sin(angles)


class UsesPairRotation(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.rotation = PairRotation(name="rotation")

    def call(self, x):
        q, k = self.rotation(x, x * 2.0)
        return q + k


def test_a_sublayer_whose_inherited_shape_inference_describes_another_call():
    _seeded(19)
    x = keras.Input((None, 2), name="x")
    model = keras.Model(x, UsesPairRotation(name="pairs")(x))
    graph = from_keras(model)
    for n in (3, 6):
        _check_both(model, graph, {"x": np.random.default_rng(n).normal(size=(2, n, 2))
                                                              .astype("float32")})


class WithConstantOutput(L.Layer):
    """keras_hub SAM's prompt encoder: an output computed from weights only (its dense
    positional embeddings), beside one computed from the input."""

    def build(self, shape):
        self.table = self.add_weight(shape=(1, 3, 2), name="table",
                                     initializer="random_normal")

    def call(self, x):
        return x * 2.0, ops.cos(self.table) + 1.0

    def compute_output_shape(self, shape):
        return shape, (1, 3, 2)


def test_an_output_computed_from_weights_only_is_emitted_held_by_a_layer():
    _seeded(21)
    x = keras.Input((3,), name="x")
    y, table = WithConstantOutput(name="constant_output")(x)
    model = keras.Model(x, [y, table])
    graph = from_keras(model)
    assert any(n.op == "identity" and n.inputs[0] in graph.weights for n in graph.nodes)
    _check_both(model, graph, {"x": np.random.default_rng(21).normal(size=(2, 3))
                                                            .astype("float32")})


class MaybeTwoStreams(L.Layer):
    """keras_hub XLNet's encoder layer: ``(content, None)`` when not given a query stream,
    while its ``compute_output_shape`` reports two tensors, so Keras records a query
    output that is None at run time and passes it on to the next layer."""

    def call(self, content, query=None):
        c = content * 2.0 + 1.0
        return c, (None if query is None else query + c)

    def compute_output_shape(self, content_shape, query_shape=None):
        return content_shape, content_shape


def _two_stream_model(read_query):
    x = keras.Input((3,), name="x")
    c1, q1 = MaybeTwoStreams(name="first")(x)
    c2, q2 = MaybeTwoStreams(name="second")(c1, query=q1)
    if read_query == "output":
        return keras.Model(x, [c2, q2])
    if read_query == "layer":
        return keras.Model(x, L.Dense(2, name="head")(q1))
    return keras.Model(x, c2)


def test_an_output_keras_recorded_that_the_call_returns_as_none():
    """The next traced call gets None, as at run time; a model output or a built-in
    layer reading it is refused by name."""
    _seeded(24)
    model = _two_stream_model(None)
    x = np.random.default_rng(24).normal(size=(2, 3)).astype("float32")
    _check_both(model, from_keras(model), {"x": x})
    with pytest.raises(UnsupportedLayerError, match="None at run time"):
        from_keras(_two_stream_model("output"))
    with pytest.raises(UnsupportedLayerError, match=r"head.*None at run time"):
        from_keras(_two_stream_model("layer"))


class LengthMask(L.Layer):
    """keras_hub Moonshine's attention mask: ``arange(n)[None, :] < lengths[:, None]``
    with ``n`` static, so the arange is an eager TensorFlow tensor whose ``<`` meets a
    symbolic one (and ``2.0 * eager + tensor``)."""

    def call(self, x, lengths):
        n = ops.shape(x)[1]
        positions = ops.arange(n, dtype="int32")
        mask = positions[None, :] < lengths[:, None]
        scale = ops.convert_to_tensor(np.arange(n, dtype="float32")) * 0.5 + x[..., 0]
        return ops.where(mask, scale, 0.0)

    def compute_output_shape(self, x_shape, lengths_shape):
        return x_shape[:2]


def test_eager_tensor_operators_defer_to_a_symbolic_operand():
    x = keras.Input((5, 2), name="x")
    lengths = keras.Input((), dtype="int32", name="lengths")
    model = keras.Model([x, lengths], LengthMask(name="length_mask")(x, lengths))
    rng = np.random.default_rng(25)
    feeds = {"x": rng.normal(size=(3, 5, 2)).astype("float32"),
             "lengths": np.array([1, 3, 5], "int32")}
    _check_both(model, from_keras(model), feeds)


class TfConvolutions(L.Layer):
    """keras.io's subclassing_conv_layers recipe as written: ``tf.nn.conv2d`` of the
    input by a kernel standardized with ``tf.nn.moments`` (eager: a weight), SAME with
    strides (1, 2, 2, 1), and VALID with dilation 2."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, shape[-1], 2), name="kernel",
                                      initializer="glorot_uniform")

    def call(self, x):
        import tensorflow as tf

        mean, var = tf.nn.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
        kernel = (self.kernel - mean) / tf.sqrt(var + 1e-10)
        a = tf.nn.conv2d(x, kernel, strides=[1, 2, 2, 1], padding="SAME")
        b = tf.nn.conv2d(x, kernel, strides=1, padding="VALID", dilations=2)
        return ops.mean(a, axis=(1, 2)) + ops.mean(b, axis=(1, 2))

    def compute_output_shape(self, shape):
        return (shape[0], 2)


def test_tf_conv2d_traces_as_keras_ops_conv():
    _seeded(26)
    x = keras.Input((9, 9, 3), name="x")
    model = keras.Model(x, TfConvolutions(name="tf_conv")(x))
    graph = from_keras(model)
    assert sum(n.op == "conv2d" for n in graph.nodes) == 2
    _check_both(model, graph, {"x": np.random.default_rng(26).normal(size=(2, 9, 9, 3))
                                                            .astype("float32")})


class BoxesOrNone(L.Layer):
    """keras_hub SAM3's geometry encoder: ``ops.cond(ops.equal(ops.shape(boxes)[1], 0),
    no_boxes, encode_boxes)`` on the run-time box count (two outputs per branch), and a
    cond on a comparison of the run-time length."""

    def call(self, x, boxes):
        def no_boxes():
            return ops.zeros_like(x), ops.zeros_like(x[:, :, 0])

        def encode_boxes():
            pooled = ops.mean(boxes, axis=1, keepdims=True)
            return x * pooled[:, :, :1] + 1.0, ops.sum(x, -1)

        a, b = ops.cond(ops.equal(ops.shape(boxes)[1], 0), no_boxes, encode_boxes)
        c = ops.cond(ops.shape(x)[1] > 4, lambda: x * 2.0, lambda: x - 1.0)
        return a + c + ops.expand_dims(b, -1)

    def compute_output_shape(self, x_shape, boxes_shape):
        return x_shape


class MismatchedBranches(L.Layer):
    """Branches of different symbolic shapes (refused while tracing), or of one symbolic
    shape that differ at run time (``x[:, :1]`` and ``x``: ``where`` would broadcast)."""

    def __init__(self, static, **kw):
        super().__init__(**kw)
        self.static = static

    def call(self, x):
        if self.static:
            return ops.cond(ops.shape(x)[1] > 4, lambda: x[:, :, :2], lambda: x[:, :, :1])
        return ops.cond(ops.shape(x)[1] > 4, lambda: x[:, :1], lambda: x)

    def compute_output_shape(self, shape):
        return shape


def test_ops_cond_on_a_run_time_predicate_selects_between_both_branches():
    x, boxes = keras.Input((None, 3), name="x"), keras.Input((None, 4), name="boxes")
    model = keras.Model([x, boxes], BoxesOrNone(name="geometry")(x, boxes))
    graph = from_keras(model)
    assert sum(n.op == "stack" for n in graph.nodes) == 3      # one select per output
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph)
    rng = np.random.default_rng(41)
    for length, count in [(3, 2), (6, 0), (5, 3)]:       # each branch of each cond taken
        feeds = {"x": rng.normal(size=(2, length, 3)).astype(np.float32),
                 "boxes": rng.normal(size=(2, count, 4)).astype(np.float32)}
        want = np.asarray(model([feeds["x"], feeds["boxes"]]))
        got = session.run(None, {v.name: feeds[v.name] for v in graph.inputs})[0]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(np.asarray(emitted([feeds["x"], feeds["boxes"]])), want,
                                   rtol=1e-6, atol=1e-6)


def test_ops_cond_branches_of_different_shapes_are_refused_or_fail_at_run_time():
    x = keras.Input((None, 3), name="x")
    model = keras.Model(x, MismatchedBranches(True, name="mismatch")(x))
    with pytest.raises(UnsupportedLayerError, match=r"mismatch.*ops.cond branches return "
                                                    r"float32\[None, None, 2\] and float32"):
        from_keras(model)
    model = keras.Model(x, MismatchedBranches(False, name="mismatch")(x))
    session = ort.InferenceSession(to_onnx(from_keras(model)).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="Concat|dimension"):     # never a broadcast
        session.run(None, {"x": np.ones((2, 6, 3), np.float32)})


class Table(L.Layer):
    """keras_hub SAM3's rotary embedding: a call that returns its own precomputed
    variable (no input read)."""

    def build(self, shape):
        self.table = self.add_weight(shape=(shape[-1],), initializer="glorot_uniform",
                                     name="table", trainable=False)

    def call(self, x):
        return self.table


class UsesTable(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.rotary = Table(name="rotary")

    def call(self, x):
        return x * self.rotary(x)


def test_a_traced_call_returning_its_variable_reads_the_weight_by_its_path():
    _seeded(42)
    x = keras.Input((3,), name="x")
    model = keras.Model(x, UsesTable(name="layer")(x))
    graph = from_keras(model)
    assert "layer/rotary/table" in graph.weights
    feeds = {"x": np.random.default_rng(42).normal(size=(2, 3)).astype(np.float32)}
    _check_both(model, graph, feeds)
