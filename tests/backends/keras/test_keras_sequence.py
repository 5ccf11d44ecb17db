"""RepeatVector and TimeDistributed (specs/ops-sequence.md): seeded small models lower to
``repeat_vector`` / ``time_fold`` -> inner op(s) -> ``time_unfold``; the NumPy
interpreter, the emitted Keras model (saved and reloaded with ``safe_mode=True``) and
the emitted ONNX model in onnxruntime all match Keras; the emitted Keras model wraps
the inner layers in TimeDistributed and lowers back to the same IR; refusals name the
layer class (lowering) or the node (emission)."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.keras.context import LayerContext  # noqa: E402
from graphir.backends.keras.randomize import randomize_biases, randomize_statistics  # noqa: E402
from graphir.backends.keras.registry import converter_for  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.diagnostics import ShapeCheckError  # noqa: E402
from graphir.errors import UnsupportedLayerError, UnsupportedOpError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.ir import Graph, Node, Value  # noqa: E402
from graphir.ops import infer_types  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def _video_cnn(time):
    """The classic video CNN: TimeDistributed Conv2D, BN, MaxPooling2D, Flatten, Dropout,
    Dense, over ``time`` frames of 8x8x3 (None: any number)."""
    x = keras.Input((time, 8, 8, 3), name="frames")
    y = L.TimeDistributed(L.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
                          name="td_conv")(x)
    y = L.TimeDistributed(L.BatchNormalization(name="bn"), name="td_bn")(y)
    y = L.TimeDistributed(L.MaxPooling2D(2, name="pool"), name="td_pool")(y)
    y = L.TimeDistributed(L.Flatten(name="flat"), name="td_flat")(y)
    y = L.TimeDistributed(L.Dropout(0.5, name="drop"), name="td_drop")(y)
    y = L.TimeDistributed(L.Dense(5, activation="tanh", name="fc"), name="td_fc")(y)
    return keras.Model(x, y, name=f"video_{'dyn' if time is None else time}")


def _seq2seq():
    """Dense -> RepeatVector -> TimeDistributed(Dense), plus TimeDistributed(RepeatVector)."""
    x = keras.Input((6,), name="vec")
    h = L.Dense(3, name="enc")(x)
    r = L.RepeatVector(4, name="repeat")(h)
    y = L.TimeDistributed(L.Dense(2, name="dec"), name="td_dec")(r)
    z = L.TimeDistributed(L.RepeatVector(3, name="rep_inner"), name="td_rep")(y)
    return keras.Model(x, [y, z], name="seq2seq")


def _shared():
    """One Dense used inside a TimeDistributed and directly on the rank-3 tensor (same
    variables), one TimeDistributed called twice, and a TimeDistributed(Conv2D) over a
    static batch and time."""
    x = keras.Input((5, 6), name="seq")
    dense = L.Dense(3, name="shared")
    y = L.Add(name="sum")([L.TimeDistributed(dense, name="td_shared")(x), dense(x)])
    twice = L.TimeDistributed(L.Dense(2, name="d2"), name="td_twice")
    z = L.Subtract(name="diff")([twice(x), twice(L.ReLU(name="relu")(x))])
    v = keras.Input((2, 6, 6, 2), batch_size=2, name="clip")
    w = L.TimeDistributed(L.Conv2D(3, 3, strides=2, name="conv_v"), name="td_conv_v")(v)
    return keras.Model([x, v], [y, z, w], name="shared")


def _inputs(model, seed):
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = [d if d is not None else (2 if i == 0 else 3) for i, d in enumerate(t.shape)]
        out.append(rng.normal(size=shape).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(7)
    built = {"video_dyn": _video_cnn(None), "video_static": _video_cnn(3),
             "seq2seq": _seq2seq(), "shared": _shared()}
    for i, m in enumerate(built.values()):
        randomize_biases(m, np.random.default_rng(100 + i))
        randomize_statistics(m, seed=200 + i)  # iter_layers looks inside the wrappers
    return built


@pytest.fixture(scope="module")
def cases(models):
    """name -> (model, inputs, Keras outputs, lowered graph)."""
    out = {}
    for i, (name, m) in enumerate(models.items()):
        xs = _inputs(m, i)
        ys = m(xs if len(xs) > 1 else xs[0], training=False)
        ys = [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]
        out[name] = (m, xs, ys, from_keras(m))
    return out


NAMES = ["video_dyn", "video_static", "seq2seq", "shared"]


# ------------------------------------------------------------------ lowering

def test_time_distributed_lowers_to_fold_inner_unfold(cases):
    _, _, _, graph = cases["video_dyn"]
    assert [(n.name, n.op) for n in graph.nodes[:3]] == [
        ("td_conv/fold", "time_fold"), ("td_conv/conv", "conv2d"), ("td_conv", "time_unfold")]
    assert graph.node("td_conv").inputs == ("td_conv/conv", "frames")
    assert str(graph.node("td_conv/fold").output.type) == "f32[?,8,8,3]"
    assert str(graph.node("td_fc").output.type) == "f32[batch,?,5]"
    assert graph.node("td_bn/bn").op == "batch_norm" and graph.node("td_bn/bn").attrs["axis"] == 3
    assert graph.node("td_drop/drop").op == "dropout"
    static = cases["video_static"][3]
    assert str(static.node("td_conv").output.type) == "f32[batch,3,8,8,4]"


def test_inner_weights_are_named_under_the_wrapper_and_hold_keras_values(cases, models):
    graph = cases["video_dyn"][3]
    conv = models["video_dyn"].get_layer("td_conv").layer
    assert graph.node("td_conv/conv").inputs[1:] == ("td_conv/conv/kernel", "td_conv/conv/bias")
    np.testing.assert_array_equal(graph.weights["td_conv/conv/kernel"], conv.kernel.numpy())
    bn = models["video_dyn"].get_layer("td_bn").layer
    np.testing.assert_array_equal(graph.weights["td_bn/bn/moving_variance"],
                                  bn.moving_variance.numpy())
    assert np.std(bn.moving_mean.numpy()) > 0 and np.std(conv.bias.numpy()) > 0  # randomized


def test_repeat_vector_lowering(cases):
    graph = cases["seq2seq"][3]
    node = graph.node("repeat")
    assert node.op == "repeat_vector" and dict(node.attrs) == {"n": 4}
    assert str(node.output.type) == "f32[batch,4,3]"
    assert graph.node("td_rep/rep_inner").op == "repeat_vector"
    assert str(graph.node("td_rep").output.type) == "f32[batch,4,3,2]"


def test_shared_layers_keep_one_set_of_weights(cases):
    graph = cases["shared"][3]
    assert graph.node("td_shared/shared").inputs[1:] == graph.node("shared").inputs[1:]
    assert graph.node("td_twice_1/d2").inputs[1:] == graph.node("td_twice/d2").inputs[1:]
    assert graph.node("td_twice_1").inputs == ("td_twice_1/d2", "relu")
    assert sorted(w for w in graph.weights if w.endswith("/kernel")) == [
        "td_conv_v/conv_v/kernel", "td_shared/shared/kernel", "td_twice/d2/kernel"]


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_keras(name, cases):
    _, xs, ys, graph = cases[name]
    got = evaluate(graph, {v.name: x for v, x in zip(graph.inputs, xs)})
    for out, want in zip(graph.outputs, ys):
        assert np.std(want) > 1e-2
        np.testing.assert_allclose(got[out], want, **TOL)


# ------------------------------------------------------------------ Keras emission

@pytest.fixture(scope="module")
def reloaded(cases, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sequence")
    out = {}
    for name, (_, _, _, graph) in cases.items():
        save_keras(to_keras(graph), folder / f"{name}.keras")
        out[name] = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True,
                                            compile=False)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_emitted_keras_after_reload_matches_keras(name, cases, reloaded):
    _, xs, ys, _ = cases[name]
    got = reloaded[name](xs if len(xs) > 1 else xs[0], training=False)
    got = got if isinstance(got, (list, tuple)) else [got]
    for g, want in zip(got, ys):
        np.testing.assert_allclose(np.asarray(g), want, **TOL)


def test_emitted_keras_wraps_the_inner_layers(reloaded):
    model = reloaded["video_dyn"]
    wrapped = {layer.name: (type(layer.layer).__name__, layer.layer.name)
               for layer in model.layers if isinstance(layer, L.TimeDistributed)}
    assert wrapped == {"td_conv": ("Conv2D", "conv"), "td_bn": ("BatchNormalization", "bn"),
                       "td_pool": ("MaxPooling2D", "pool"), "td_flat": ("Flatten", "flat"),
                       "td_drop": ("Dropout", "drop"), "td_fc": ("Dense", "fc")}
    assert {type(layer) for layer in model.layers} == {L.InputLayer, L.TimeDistributed}


def test_emitted_keras_shares_a_repeated_wrapper_but_not_a_wrapped_layer(reloaded):
    model = reloaded["shared"]
    names = [layer.name for layer in model.layers]
    assert names.count("td_twice") == 1 and "td_twice_1" not in names
    twice = model.get_layer("td_twice")
    assert len(twice._inbound_nodes) == 2  # one wrapper, called twice
    # a layer used both inside a TimeDistributed and directly is emitted twice (Keras
    # cannot reload a model sharing it), with the same weights
    direct, wrapped = model.get_layer("shared"), model.get_layer("td_shared").layer
    assert direct is not wrapped
    for a, b in zip(direct.get_weights(), wrapped.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["video_dyn", "seq2seq"])
def test_emitted_keras_lowers_back_to_the_same_ir(name, cases, reloaded):
    graph = cases[name][3]
    again = from_keras(reloaded[name])
    assert [(n.name, n.op, n.inputs, n.attrs) for n in again.nodes] == [
        (n.name, n.op, n.inputs, n.attrs) for n in graph.nodes]
    for w, array in graph.weights.items():
        np.testing.assert_array_equal(again.weights[w], array)


# ------------------------------------------------------------------ ONNX emission

@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_keras(name, cases):
    _, xs, ys, graph = cases[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    got = sess.run(list(graph.outputs), {v.name: x for v, x in zip(graph.inputs, xs)})
    for g, want in zip(got, ys):
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-4)


def test_onnx_dynamic_time_runs_at_other_sizes(cases):
    m, _, _, graph = cases["video_dyn"]
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    x = np.random.default_rng(9).normal(size=(1, 5, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"frames": x})[0], np.asarray(m(x)),
                               rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ refusals at lowering

class _SubclassedDense(L.Dense):
    """A subclass: converters are looked up by exact class, so it has none."""


def _lower_one(make_layer, shape, **call_kwargs):
    x = keras.Input(shape)
    return from_keras(keras.Model(x, make_layer()(x, **call_kwargs)))


@pytest.mark.parametrize("make,shape", [
    (lambda: L.TimeDistributed(_SubclassedDense(2)), (3, 4)),
    (lambda: L.TimeDistributed(keras.Sequential([L.Dense(2)])), (3, 4)),
    (lambda: L.TimeDistributed(L.TimeDistributed(L.Dense(2))), (3, 2, 4)),
], ids=["subclass", "model", "nested"])
def test_wrapped_layers_its_converter_refuses_trace_keras_own_call(make, shape):
    """TimeDistributed of a layer without a converter, of a model, of another
    TimeDistributed: the converter refuses, Keras' own call (the reshapes around the
    wrapped layer's call) is traced."""
    keras.utils.set_random_seed(5)
    x = keras.Input(shape)
    assert_converts_like_keras(keras.Model(x, make()(x)))


@pytest.mark.parametrize("make,shape,cls,text", [
    (lambda: L.TimeDistributed(L.Conv2D(2, 1, data_format="channels_first", name="cf")),
     (2, 3, 4, 4), "Conv2D", "wrapped in TimeDistributed"),
    (lambda: L.TimeDistributed(L.Dense(2, dtype="mixed_float16")), (3, 4), "TimeDistributed",
     "mixed-precision"),
])
def test_refused_configurations_name_the_class(make, shape, cls, text):
    with pytest.raises(UnsupportedLayerError) as info:
        _lower_one(make, shape)
    assert info.value.layer_class == cls
    assert text in str(info.value)


def test_a_training_call_is_refused_and_a_mask_argument_traced():
    with pytest.raises(UnsupportedLayerError, match="training=True") as info:
        _lower_one(lambda: L.TimeDistributed(L.Dropout(0.5)), (3, 4), training=True)
    assert info.value.layer_class == "TimeDistributed"
    # an explicit mask: the converter refuses it, Keras' own call is traced
    x, m = keras.Input((3, 4)), keras.Input((3,), dtype="bool")
    model = keras.Model([x, m], L.TimeDistributed(L.Dense(2), name="td_m")(x, mask=m))
    assert_converts_like_keras(model)


def test_a_keras_mask_reaching_a_wrapped_layer_that_reads_masks_is_refused():
    # the converter called directly on a TimeDistributed of a mask-reading layer
    x = keras.Input((3, 4, 2))
    x._keras_mask = keras.ops.ones((1, 3), dtype="bool")
    td = L.TimeDistributed(L.GlobalAveragePooling1D(), name="td_mask")
    td.build((None, 3, 4, 2))
    ctx = LayerContext(td, ["x"], [TensorType("float32", ("batch", 3, 4, 2))],
                       weight_fn=lambda key, name, array: name, model_file=None,
                       unique_name=lambda n: n, call_args=[x])
    with pytest.raises(UnsupportedLayerError, match="mask") as info:
        converter_for(td)(ctx)
    assert info.value.layer_class == "TimeDistributed"


def test_a_mask_passing_through_a_wrapped_layer_that_ignores_it_converts():
    """keras.io's masked LSTM -> TimeDistributed(Dense) over sequences of any length: the
    Dense takes no mask, so TimeDistributed passes it none; the values are unmasked."""
    keras.utils.set_random_seed(19)
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = L.LSTM(4, return_sequences=True)(L.Embedding(9, 5, mask_zero=True)(ids))
    assert_converts_like_keras(keras.Model(ids, L.TimeDistributed(L.Dense(3))(x)),
                               int_high=4)


# ------------------------------------------------------------------ emission of IR chains

def _graph(x_type: TensorType, specs, outputs=None, weights=None) -> Graph:
    """Nodes ``(name, op, inputs, attrs)`` in order, typed by the rules."""
    types = {"x": x_type, **{k: TensorType(v.dtype, v.shape) for k, v in (weights or {}).items()}}
    nodes = []
    for name, op, inputs, attrs in specs:
        (t,) = infer_types(op, [types[i] for i in inputs], attrs)
        nodes.append(Node(op, name, inputs, (Value(name, t),), attrs))
        types[name] = t
    return verify_graph(Graph("g", (Value("x", x_type),), tuple(outputs or [nodes[-1].name]),
                              tuple(nodes), weights or {}))


RELU = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}


def test_a_chain_of_several_inner_nodes_becomes_consecutive_wrappers():
    rng = np.random.default_rng(11)
    weights = {"td/d/kernel": rng.normal(size=(4, 3)).astype(np.float32)}
    graph = _graph(TensorType("float32", ("batch", None, 4)), [
        ("td/fold", "time_fold", ("x",), {}),
        ("td/d", "dense", ("td/fold", "td/d/kernel"), {"units": 3, "activation": "linear"}),
        ("td/act", "relu", ("td/d",), RELU),
        ("td", "time_unfold", ("td/act", "x"), {})], weights=weights)
    model = to_keras(graph)
    wrappers = [layer for layer in model.layers if isinstance(layer, L.TimeDistributed)]
    assert [(w.name, type(w.layer).__name__, w.layer.name) for w in wrappers] == [
        ("td.d", "Dense", "d"), ("td", "ReLU", "act")]
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), evaluate(graph, {"x": x})["td"], **TOL)


def test_a_chain_without_inner_nodes_is_an_identity():
    graph = _graph(TensorType("float32", ("batch", 2, 3)), [
        ("td/fold", "time_fold", ("x",), {}), ("td", "time_unfold", ("td/fold", "x"), {})])
    model = to_keras(graph)
    assert [type(layer) for layer in model.layers] == [L.InputLayer, L.Identity]


@pytest.mark.parametrize("specs,outputs,node,text", [
    ([("f", "time_fold", ("x",), {}), ("a", "relu", ("f",), RELU),
      ("b", "relu", ("f",), RELU), ("u", "time_unfold", ("a", "x"), {})], ["u", "b"], "f",
     "'b' is a graph output"),
    ([("f", "time_fold", ("x",), {}), ("a", "relu", ("f",), RELU),
      ("b", "add", ("a", "f"), {}), ("u", "time_unfold", ("b", "x"), {})], ["u"], "f",
     "among 2 data inputs"),

    ([("f", "time_fold", ("x",), {}), ("a", "relu", ("f",), RELU),
      ("u", "time_unfold", ("a", "x"), {})], ["u", "a"], "f", "graph output"),
    ([("f", "time_fold", ("x",), {}), ("r", "relu", ("x",), RELU),
      ("u", "time_unfold", ("f", "r"), {})], ["u"], "u", "is not the fold's input"),
    ([("r", "reshape", ("x",), {"target_shape": (6,)}), ("u", "time_unfold", ("r", "x"), {})],
     ["u"], "u", "does not end"),
    ([("f", "time_fold", ("x",), {}), ("u", "time_unfold", ("x", "f"), {})], ["u"], "f",
     "shape reference"),
])
def test_broken_regions_are_refused_naming_the_node(specs, outputs, node, text):
    graph = _graph(TensorType("float32", ("batch", 2, 3)), specs, outputs)
    with pytest.raises(UnsupportedOpError) as info:
        to_keras(graph)
    assert text in str(info.value) and f"node {node!r}" in str(info.value)


def test_a_nested_fold_is_refused_naming_the_outer_fold():
    graph = _graph(TensorType("float32", ("batch", 2, 3, 4)), [
        ("f", "time_fold", ("x",), {}), ("g", "time_fold", ("f",), {}),
        ("v", "time_unfold", ("g", "f"), {}), ("u", "time_unfold", ("v", "x"), {})])
    with pytest.raises(UnsupportedOpError, match="nested TimeDistributed") as info:
        to_keras(graph)
    assert "node 'f'" in str(info.value)


def test_a_deduplicated_fold_feeding_two_wrappers_is_emitted_as_a_branch():
    # what the dedupe pass makes of two TimeDistributed layers applied to one input:
    # one fold, two inner nodes, two unfolds
    rng = np.random.default_rng(12)
    weights = {"a/d/kernel": rng.normal(size=(4, 3)).astype(np.float32),
               "b/d/kernel": rng.normal(size=(4, 2)).astype(np.float32)}
    graph = _graph(TensorType("float32", ("batch", None, 4)), [
        ("a/fold", "time_fold", ("x",), {}),
        ("a/d", "dense", ("a/fold", "a/d/kernel"), {"units": 3, "activation": "linear"}),
        ("a", "time_unfold", ("a/d", "x"), {}),
        ("b/d", "dense", ("a/fold", "b/d/kernel"), {"units": 2, "activation": "relu"}),
        ("b", "time_unfold", ("b/d", "x"), {}),
        ("c", "time_unfold", ("a/fold", "x"), {})], outputs=["a", "b", "c"], weights=weights)
    model = to_keras(graph)
    assert [(layer.name, type(layer).__name__) for layer in model.layers] == [
        ("x", "InputLayer"), ("a", "TimeDistributed"), ("b", "TimeDistributed"),
        ("c", "Identity")]
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    want = evaluate(graph, {"x": x})
    for name, got in zip(graph.outputs, model(x)):
        np.testing.assert_allclose(np.asarray(got), want[name], **TOL)


def test_deduplicated_graph_emits_and_reloads(cases, tmp_path):
    from graphir.passes.dedupe import dedupe_with_report

    _, xs, ys, graph = cases["shared"]
    deduped, report = dedupe_with_report(graph)
    assert ("td_shared/fold", "td_twice/fold") in report.nodes  # one fold of "seq"
    save_keras(to_keras(deduped), tmp_path / "deduped.keras")
    model = keras.saving.load_model(tmp_path / "deduped.keras", safe_mode=True, compile=False)
    for got, want in zip(model(xs, training=False), ys):
        np.testing.assert_allclose(np.asarray(got), want, **TOL)


def test_int_inputs_keep_their_dtype():
    x = keras.Input((4,), dtype="int32", name="ids")
    y = L.TimeDistributed(L.Dropout(0.5, name="drop"), name="td")(L.RepeatVector(3, name="rv")(x))
    model = keras.Model(x, y)
    graph = from_keras(model)
    assert str(graph.node("td").output.type) == "i32[batch,3,4]"
    ids = np.arange(8, dtype=np.int32).reshape(2, 4)
    want = np.asarray(model(ids))
    assert want.dtype == np.int32
    np.testing.assert_array_equal(evaluate(graph, {"ids": ids})["td"], want)
    sess = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(sess.run(None, {"ids": ids})[0], want)


def test_time_distributed_mean_of_int_steps_is_refused_not_mistyped():
    # Keras' mean of int32 steps is float32; keeping the wrapper's input dtype would have
    # typed the result int32 without a word: the global average pooling rule refuses it
    x = keras.Input((3, 4, 2), dtype="int32", name="ids")
    y = L.TimeDistributed(L.GlobalAveragePooling1D(name="gap"), name="td")(x)
    with pytest.raises(ShapeCheckError, match="float tensor"):
        from_keras(keras.Model(x, y))
