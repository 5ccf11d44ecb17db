"""keras.layers.MultiHeadAttention: seeded small models (self- and cross-attention, key
given positionally or by keyword, causal, without biases, multi-dim ``output_shape``,
dynamic sequence lengths) lower to one ``multi_head_attention`` node; the NumPy
interpreter, the emitted Keras model (saved and reloaded with ``safe_mode=True``) and
the emitted ONNX model in onnxruntime (batch 1 and 3, several sequence lengths)
reproduce Keras' outputs; every configuration the op cannot compute is refused with
an ``UnsupportedLayerError`` naming the class."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx_bytes  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def _randomize(model, seed):
    """Every variable ~ N(0, 0.4) (Keras' default biases are zero, its kernels small)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.4, tuple(w.shape)).astype(w.dtype))
    return model


def _self_attention():
    x = keras.Input((5, 8), name="x")
    y = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x)
    return keras.Model(x, y, name="self_attention")


def _cross_keyword_causal():
    q = keras.Input((6, 8), name="q")
    v = keras.Input((4, 6), name="v")
    k = keras.Input((4, 5), name="k")
    y = L.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2, output_shape=(4, 2),
                             name="mha")(query=q, key=k, value=v, use_causal_mask=True)
    return keras.Model([q, v, k], y, name="cross_keyword_causal")


def _cross_positional_key():
    q = keras.Input((5, 8), name="q")
    v = keras.Input((7, 6), name="v")
    k = keras.Input((7, 4), name="k")
    y = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, dropout=0.3,
                             name="mha")(q, v, k)
    return keras.Model([q, v, k], y, name="cross_positional_key")


def _causal_dynamic_stack():
    """Two layers: causal self-attention on a dynamic length, then a shared layer called
    twice (its weights must stay shared)."""
    x = keras.Input((None, 8), name="x")
    h = L.MultiHeadAttention(num_heads=4, key_dim=2, name="causal")(x, x,
                                                                    use_causal_mask=True)
    shared = L.MultiHeadAttention(num_heads=2, key_dim=3, name="shared")
    y = shared(shared(h, x), h)
    return keras.Model(x, y, name="causal_dynamic_stack")


def _no_bias_dynamic_cross():
    q = keras.Input((None, 8), name="q")
    v = keras.Input((None, 6), name="v")
    y = L.MultiHeadAttention(num_heads=2, key_dim=3, use_bias=False, output_shape=5,
                             name="mha")(q, v, use_causal_mask=True)
    return keras.Model([q, v], y, name="no_bias_dynamic_cross")


BUILDERS = {"self_attention": _self_attention, "cross_keyword_causal": _cross_keyword_causal,
            "cross_positional_key": _cross_positional_key,
            "causal_dynamic_stack": _causal_dynamic_stack,
            "no_bias_dynamic_cross": _no_bias_dynamic_cross}
NAMES = sorted(BUILDERS)
#: sequence lengths the inputs get (for each model input) per run; dynamic models get two
SEQ = {"self_attention": [(5,)], "cross_keyword_causal": [(6, 4, 4)],
       "cross_positional_key": [(5, 7, 7)], "causal_dynamic_stack": [(5,), (9,)],
       "no_bias_dynamic_cross": [(3, 7), (8, 2)]}


@pytest.fixture(scope="module")
def models():
    return {name: _randomize(build(), seed=i) for i, (name, build) in
            enumerate(sorted(BUILDERS.items()))}


@pytest.fixture(scope="module")
def graphs(models):
    return {name: from_keras(m) for name, m in models.items()}


def _inputs(model, lengths, batch, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, n, t.shape[-1])).astype(np.float32)
            for t, n in zip(model.inputs, lengths)]


def _keras_out(model, xs):
    return np.asarray(model(xs[0] if len(xs) == 1 else xs, training=False))


@pytest.fixture(scope="module")
def cases(models):
    """name -> [(inputs, Keras output)] for every sequence-length setting, batch 3 and 1."""
    out = {}
    for name, model in models.items():
        runs = []
        for i, lengths in enumerate(SEQ[name]):
            for batch in (3, 1):
                xs = _inputs(model, lengths, batch, seed=10 + i)
                runs.append((xs, _keras_out(model, xs)))
        out[name] = runs
    return out


@pytest.fixture(scope="module")
def reloaded(graphs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mha")
    result = {}
    for name, graph in graphs.items():
        path = folder / f"{name}.keras"
        save_keras(to_keras(graph), path)
        result[name] = keras.saving.load_model(path, safe_mode=True, compile=False)
    return result


# ---------------------------------------------------------------------- lowering

def test_lowering_gives_one_node_per_call_with_keras_attributes(graphs, models):
    g = graphs["cross_keyword_causal"]
    (node,) = g.nodes
    assert node.op == "multi_head_attention"
    assert dict(node.attrs) == {"num_heads": 3, "key_dim": 4, "value_dim": 2, "causal": True}
    assert node.inputs[:3] == ("q", "v", "k")  # keyword call: bound by name
    assert str(node.output.type) == "f32[batch,6,4,2]"
    layer = models["cross_keyword_causal"].get_layer("mha")
    np.testing.assert_array_equal(g.weights["mha/key/kernel"], layer.key_dense.kernel.numpy())
    np.testing.assert_array_equal(g.weights["mha/attention_output/bias"],
                                  layer.output_dense.bias.numpy())
    (self_node,) = graphs["self_attention"].nodes
    assert self_node.inputs[:3] == ("x", "x", "") and self_node.attrs["causal"] is False
    no_bias = graphs["no_bias_dynamic_cross"].nodes[0]
    assert [i for i in no_bias.inputs[3:] if not i] == ["", "", "", ""]
    assert str(no_bias.output.type) == "f32[batch,?,5]"


def test_shared_layer_shares_its_weights(graphs):
    g = graphs["causal_dynamic_stack"]
    assert [n.op for n in g.nodes] == ["multi_head_attention"] * 3
    first, second = g.nodes[1], g.nodes[2]
    assert first.inputs[3:] == second.inputs[3:]
    assert g.nodes[0].attrs["causal"] and not first.attrs["causal"]


def test_outputs_depend_on_the_causal_flag(models, cases):
    """The causal models' outputs at t=0 differ from what unmasked attention gives, so
    the comparisons below can tell causal from non-causal emission."""
    model = models["cross_keyword_causal"]
    layer = model.get_layer("mha")
    xs, want = cases["cross_keyword_causal"][0]
    unmasked = np.asarray(layer(query=xs[0], value=xs[1], key=xs[2]))
    assert np.abs(unmasked - want).max() > 1e-2


# ---------------------------------------------------------------------- numerics

@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_keras(name, graphs, cases):
    graph = graphs[name]
    for xs, want in cases[name]:
        got = evaluate(graph, {v.name: x for v, x in zip(graph.inputs, xs)})[graph.outputs[0]]
        assert np.std(want) > 0.1
        np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("name", NAMES)
def test_reloaded_keras_model_matches_keras(name, reloaded, cases):
    model = reloaded[name]
    for xs, want in cases[name]:
        np.testing.assert_allclose(_keras_out(model, xs), want, rtol=1e-6, atol=1e-6)


def test_reloaded_models_use_builtin_layers_and_record_the_causal_call(reloaded):
    model = reloaded["cross_keyword_causal"]
    mha = [layer for layer in model.layers if isinstance(layer, L.MultiHeadAttention)]
    assert len(mha) == 1 and type(mha[0]) is L.MultiHeadAttention
    assert mha[0].get_config()["output_shape"] == (4, 2)
    (node,) = [n for n in model.get_config()["layers"] if n["name"] == mha[0].name][0][
        "inbound_nodes"]
    assert node["kwargs"].get("use_causal_mask") is True
    stack = reloaded["causal_dynamic_stack"]
    assert sum(isinstance(layer, L.MultiHeadAttention) for layer in stack.layers) == 2


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras(name, graphs, cases):
    graph = graphs[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx_bytes(graph), opts, providers=["CPUExecutionProvider"])
    for xs, want in cases[name]:
        (got,) = sess.run(list(graph.outputs), {v.name: x for v, x in zip(graph.inputs, xs)})
        np.testing.assert_allclose(got, want, **TOL)


def test_onnx_causal_mask_is_a_constant_when_lengths_are_static(graphs):
    import onnx

    static = onnx.load_from_string(to_onnx_bytes(graphs["cross_keyword_causal"]))
    dynamic = onnx.load_from_string(to_onnx_bytes(graphs["no_bias_dynamic_cross"]))
    assert "Trilu" not in count_ops(static) and count_ops(static)["Where"] == 1
    assert count_ops(dynamic)["Trilu"] == 1
    mask = next(i for i in static.graph.initializer if i.name.endswith("causal_mask"))
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(mask),
                                  np.tril(np.ones((6, 4), bool)))
    assert count_ops(dynamic).get("Add", 0) == 0  # no biases


def test_float16_layer_matches_keras_in_onnx():
    x = keras.Input((6, 8), dtype="float16", name="x")
    y = L.MultiHeadAttention(num_heads=2, key_dim=4, dtype="float16", name="mha")(
        x, x, use_causal_mask=True)
    model = _randomize(keras.Model(x, y), seed=4)
    xs = _inputs(model, (6,), 2, seed=5)
    xs = [a.astype(np.float16) for a in xs]
    want = _keras_out(model, xs).astype(np.float32)
    graph = from_keras(model)
    sess = ort.InferenceSession(to_onnx_bytes(graph), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"x": xs[0]})
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-2, atol=2e-2)


def test_float16_with_dropout_is_refused_but_float32_with_dropout_is_not():
    def build(dtype):
        x = keras.Input((6, 8), dtype=dtype, name="x")
        return keras.Model(x, L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1,
                                                   dtype=dtype, name="mha")(x, x))
    with pytest.raises(UnsupportedLayerError, match="dropout=0.1 on float16"):
        from_keras(build("float16"))
    assert from_keras(build("float32")).node("mha").op == "multi_head_attention"


# ---------------------------------------------------------------------- refusals

def _refused(build, match):
    with pytest.raises(UnsupportedLayerError, match=match) as info:
        from_keras(build())
    assert info.value.layer_class == "MultiHeadAttention"


def _one(layer_kw=None, call=lambda mha, x: mha(x, x), shape=(5, 8)):
    def build():
        x = keras.Input(shape, name="x")
        mha = L.MultiHeadAttention(**{"num_heads": 2, "key_dim": 3, **(layer_kw or {})},
                                   name="mha")
        return keras.Model(x, call(mha, x))
    return build


def _query_mask():
    x = keras.Input((5, 8), name="x")
    m = keras.Input((5,), dtype="bool", name="m")
    y = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x, query_mask=m)
    return keras.Model([x, m], y)


@pytest.mark.parametrize("build, match", [
    (_one(call=lambda mha, x: mha(x, x, training=True)), "training"),
], ids=["training"])
def test_unsupported_configurations_are_refused(build, match):
    _refused(build, match)


@pytest.mark.parametrize("build", [
    _query_mask,  # Keras 3.15 ignores an explicit query_mask: so does the trace
    _one({"use_gate": True}),
    _one({"sliding_window": 2}),
    _one({"attention_axes": (2,)}, shape=(3, 4, 8)),
    _one(shape=(3, 4, 8)),
], ids=["query_mask", "gate", "sliding_window", "attention_axes", "rank4_two_axes"])
def test_configurations_the_converter_refuses_trace_keras_own_call(build):
    """Options outside the multi_head_attention op: Keras' own call is traced (the
    converter's refusal is the fallback's trigger).  A rank-4 input attends over two
    axes by default: its Softmax over several axes is ``exp(x - logsumexp(x))``."""
    keras.utils.set_random_seed(3)
    assert_converts_like_keras(build())


def test_lora_projection_is_refused():
    def build():
        model = _one()()
        model.get_layer("mha").query_dense.enable_lora(2)
        return model
    _refused(build, "LoRA")


# ====================================================================== Attention layers

def _att_model(kind):
    dyn = kind.endswith("dynamic")
    q = keras.Input((None if dyn else 5, 4), name="q")
    v = keras.Input((None if dyn else 7, 6), name="v")
    k = keras.Input((None if dyn else 7, 4), name="k")
    if kind == "dot":
        return keras.Model([q, k], L.Attention(name="att")([q, k]), name=kind)
    if kind == "dot_scale_causal":
        y = L.Attention(use_scale=True, name="att")([q, v, k], use_causal_mask=True)
    elif kind == "concat":
        y = L.Attention(use_scale=True, score_mode="concat", name="att")([q, v, k])
    elif kind == "concat_causal_dynamic":
        y = L.Attention(score_mode="concat", name="att")([q, v, k], use_causal_mask=True)
    elif kind == "additive_self_causal":
        return keras.Model(q, L.AdditiveAttention(name="att")([q, q], use_causal_mask=True),
                           name=kind)
    else:  # additive_no_scale_dynamic
        y = L.AdditiveAttention(use_scale=False, name="att")([q, v, k])
    return keras.Model([q, v, k], y, name=kind)


ATT_NAMES = ["additive_no_scale_dynamic", "additive_self_causal", "concat",
             "concat_causal_dynamic", "dot", "dot_scale_causal"]


@pytest.fixture(scope="module")
def att(tmp_path_factory):
    """name -> (model, graph, reloaded emitted model, [(inputs, Keras output)])."""
    folder = tmp_path_factory.mktemp("att")
    result = {}
    for i, name in enumerate(ATT_NAMES):
        model = _att_model(name)
        rng = np.random.default_rng(20 + i)
        for w in model.weights:  # scales ~ U(0.5, 1.5): never the default 1
            w.assign(rng.uniform(0.5, 1.5, tuple(w.shape)).astype(w.dtype))
        graph = from_keras(model)
        save_keras(to_keras(graph), folder / f"{name}.keras")
        back = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True, compile=False)
        lengths = [(5, 7, 7)] + ([(8, 3, 3)] if name.endswith("dynamic") else [])
        runs = []
        for j, ls in enumerate(lengths):
            for batch in (3, 1):
                xs = _inputs(model, ls, batch, seed=30 + j)
                runs.append((xs, _keras_out(model, xs)))
        result[name] = (model, graph, back, runs)
    return result


def test_attention_layers_lower_to_one_attention_node(att):
    expect = {"dot": ("dot", False, ("q", "k", "", "", "")),
              "dot_scale_causal": ("dot", True, ("q", "v", "k", "att/scale", "")),
              "concat": ("concat", False, ("q", "v", "k", "att/scale",
                                           "att/concat_score_weight")),
              "additive_self_causal": ("additive", True, ("q", "q", "", "att/scale", "")),
              "additive_no_scale_dynamic": ("additive", False, ("q", "v", "k", "", ""))}
    for name, (mode, causal, inputs) in expect.items():
        (node,) = att[name][1].nodes
        assert node.op == "attention", name
        assert (node.attrs["score_mode"], node.attrs["causal"], node.inputs) == (
            mode, causal, inputs), name
    assert att["additive_self_causal"][1].weights["att/scale"].shape == (4,)


@pytest.mark.parametrize("name", ATT_NAMES)
def test_attention_interpreter_keras_and_onnx_match_keras(name, att):
    model, graph, back, runs = att[name]
    sess = ort.InferenceSession(to_onnx_bytes(graph), providers=["CPUExecutionProvider"])
    types = {type(layer) for layer in back.layers}
    assert types & {L.Attention, L.AdditiveAttention}
    for xs, want in runs:
        feeds = {v.name: x for v, x in zip(graph.inputs, xs)}
        assert np.std(want) > 0.1
        np.testing.assert_allclose(evaluate(graph, feeds)[graph.outputs[0]], want, **TOL)
        np.testing.assert_allclose(_keras_out(back, xs), want, rtol=1e-6, atol=1e-6)
        (got,) = sess.run(list(graph.outputs), feeds)
        np.testing.assert_allclose(got, want, **TOL)


def _att_refusal(call, cls=L.Attention, shape=(5, 4)):
    def build():
        q = keras.Input(shape, name="q")
        return keras.Model(q, call(cls(name="att"), q))
    return build


def _att_masked():
    q = keras.Input((5, 4), name="q")
    m = keras.Input((5,), dtype="bool", name="m")
    return keras.Model([q, m], L.Attention(name="att")([q, q], mask=[m, m]))


def _att_scores():
    q = keras.Input((5, 4), name="q")
    out, scores = L.Attention(name="att")([q, q], return_attention_scores=True,
                                          use_causal_mask=True)
    return keras.Model(q, [out, scores])


def _att_carried():
    """keras.io text models: a masked embedding as the value (Keras passes [None,
    value_mask] at run time, though its symbolic call records no mask)."""
    q = keras.Input((5, 4), name="q")
    ids = keras.Input((6,), dtype="int32", name="ids")
    v = L.Embedding(20, 4, mask_zero=True, name="emb")(ids)
    return keras.Model([q, ids], L.Attention(name="att")([q, v]))


def _additive_self_masked():
    ids = keras.Input((6,), dtype="int32", name="ids")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(ids)
    y = L.AdditiveAttention(name="att")([e, e])
    return keras.Model(ids, L.GlobalAveragePooling1D(name="pool")(y))


@pytest.mark.parametrize("build", [_att_masked, _att_scores, _att_carried,
                                   _additive_self_masked],
                         ids=["explicit_mask", "scores", "carried_mask", "additive_self"])
def test_attention_masks_and_scores_trace_keras_own_call(build):
    """Attention / AdditiveAttention called with masks (given, or carried by a masked
    embedding) or returning its scores: Keras' own call is traced; ONNX and the
    emitted Keras model match Keras on inputs with masked steps."""
    keras.utils.set_random_seed(9)
    model = build()
    rng = np.random.default_rng(4)
    feeds = {}
    for t in model.inputs:
        name = t._keras_history.operation.name
        shape = (2,) + tuple(t.shape[1:])
        if t.dtype == "bool":
            feeds[name] = rng.random(shape) > 0.4
        elif "int" in t.dtype:
            ids = rng.integers(1, 20, size=shape).astype("int32")
            ids[0, :2] = 0
            ids[1, -3:] = 0
            feeds[name] = ids
        else:
            feeds[name] = rng.normal(size=shape).astype("float32")
    args = [feeds[t._keras_history.operation.name] for t in model.inputs]
    out = model(args if len(args) > 1 else args[0])
    want = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx_bytes(graph), providers=["CPUExecutionProvider"]).run(
        None, feeds)
    emitted = to_keras(graph)(args if len(args) > 1 else args[0])
    emitted = [np.asarray(o) for o in (emitted if isinstance(emitted, (list, tuple))
                                       else [emitted])]
    assert len(got) == len(emitted) == len(want)
    for g, e, w in zip(got, emitted, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e, w, rtol=1e-5, atol=1e-6)


def test_rank4_attention_traces_keras_own_call():
    keras.utils.set_random_seed(4)
    assert_converts_like_keras(_att_refusal(lambda a, q: a([q, q]), shape=(2, 5, 4))())


@pytest.mark.parametrize("build, match, cls", [
    (_att_refusal(lambda a, q: a([q, q], training=True), cls=L.AdditiveAttention), "training",
     "AdditiveAttention"),
], ids=["training"])
def test_attention_refusals(build, match, cls):
    with pytest.raises(UnsupportedLayerError, match=match) as info:
        from_keras(build())
    assert info.value.layer_class == cls


@pytest.mark.parametrize("is_causal, scale, with_mask, with_bias", [
    (False, None, False, False),
    (True, 0.3, True, True),
])
def test_keras_ops_dot_product_attention_matches(is_causal, scale, with_mask, with_bias):
    """``keras.ops.dot_product_attention`` -> einsum, scale, bias, where (mask, causal),
    softmax, einsum: ONNX (onnxruntime), the emitted Keras model and the interpreter
    match Keras; fewer key/value heads are refused by name."""
    q = keras.Input((5, 2, 4), name="q")
    k = keras.Input((6, 2, 4), name="k")
    v = keras.Input((6, 2, 4), name="v")
    m = keras.Input((2, 5, 6), dtype="bool", name="m")
    b = keras.Input((2, 5, 6), name="b")
    out = keras.ops.dot_product_attention(q, k, v, bias=b if with_bias else None,
                                          mask=m if with_mask else None, scale=scale,
                                          is_causal=is_causal)
    inputs = [q, k, v] + ([m] if with_mask else []) + ([b] if with_bias else [])
    model = keras.Model(inputs, out, name="dpa")
    rng = np.random.default_rng(3)
    feeds = {"q": rng.normal(size=(2, 5, 2, 4)), "k": rng.normal(size=(2, 6, 2, 4)),
             "v": rng.normal(size=(2, 6, 2, 4)), "m": rng.integers(0, 2, (2, 2, 5, 6)) > 0,
             "b": rng.normal(size=(2, 2, 5, 6))}
    feeds["m"][..., 0] = True  # no fully masked row
    feeds = {t.name: feeds[t.name].astype(np.float32 if t.name != "m" else bool)
             for t in inputs}
    want = np.asarray(model.predict(list(feeds.values()), verbose=0))
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx_bytes(graph), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, feeds)[0], want, rtol=1e-5, atol=1e-5)
    got = to_keras(graph).predict(list(feeds.values()), verbose=0)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(evaluate(graph, feeds)[graph.outputs[0]], want, rtol=1e-5,
                               atol=1e-5)
    assert not np.allclose(want[0], want[1])


def test_dot_product_attention_over_one_key_value_head_is_refused():
    # grouped queries (4 over 2 heads) lower (test_keras_composites.py); over a single
    # key/value head TensorFlow's einsum does not broadcast the heads: refused by name
    q = keras.Input((5, 4, 4), name="q")
    kv = keras.Input((6, 1, 4), name="kv")
    model = keras.Model([q, kv], keras.ops.dot_product_attention(q, kv, kv), name="mqa")
    with pytest.raises(UnsupportedLayerError, match="4 query heads over 1 key/value heads"):
        from_keras(model)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_a_query_row_with_every_key_masked_follows_keras_path(dropout, tmp_path):
    """Keras' MultiHeadAttention takes ops.dot_product_attention when dropout is 0 (a row
    whose keys are all masked gets uniform weights) and its softmax path otherwise (that
    row gets zeros), even at inference: keras_hub's GPT-2 (dropout 0.1) with the first
    token padded.  The interpreter, ONNX and the emitted Keras model follow the layer."""
    keras.utils.set_random_seed(21)
    x = keras.Input((4, 6), name="x")
    m = keras.Input((4, 4), name="m")
    y = L.MultiHeadAttention(2, 3, dropout=dropout, name="mha")(x, x, attention_mask=m,
                                                                 use_causal_mask=True)
    model = keras.Model([x, m], y)
    rng = np.random.default_rng(3)
    data = rng.normal(size=(2, 4, 6)).astype("float32")
    mask = np.ones((2, 4, 4), "float32")
    mask[0, :, 0] = 0.0            # row 0 of sample 0: its only causal key is masked
    want = np.asarray(model([data, mask]))
    graph = from_keras(model)
    got = ort.InferenceSession(to_onnx_bytes(graph), providers=["CPUExecutionProvider"]).run(
        None, {"x": data, "m": mask})[0]
    ref = evaluate(graph, {"x": data, "m": mask})[graph.outputs[0]]
    path = tmp_path / "m.keras"
    save_keras(to_keras(graph), path)
    emitted = np.asarray(keras.saving.load_model(path, safe_mode=True)([data, mask]))
    for out in (got, ref, emitted):
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    # the two paths really differ on that row (the test would not see a wrong path)
    other = L.MultiHeadAttention(2, 3, dropout=0.1 - dropout, name="other")
    other(data, data, attention_mask=mask, use_causal_mask=True)
    other.set_weights(model.get_layer("mha").get_weights())
    alt = np.asarray(other(data, data, attention_mask=mask, use_causal_mask=True))
    assert np.abs(alt[0, 0] - want[0, 0]).max() > 1e-3
    np.testing.assert_allclose(alt[1], want[1], rtol=1e-5, atol=1e-6)
