"""LSTM, GRU, SimpleRNN and Bidirectional: lowered to ``lstm`` / ``gru`` / ``simple_rnn``,
the NumPy interpreter, the emitted Keras model (after a save and a ``safe_mode=True``
reload) and the emitted ONNX model in onnxruntime (CPU) all reproduce Keras' own
output, at batch 1 and 3, with T = 5 on a static time axis and T = 5 and 3 on a
dynamic one; each refused configuration raises ``UnsupportedLayerError`` naming the
layer class.

Every configuration is one branch of one model per time-axis kind (built, lowered and
emitted once per module), each branch a layer whose weights are all seeded random
values (Keras initializes biases to zero, which would hide a dropped or misplaced bias).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

from application_checks import assert_converts_like_keras  # noqa: E402
from graphir import Graph, Node, TensorType, Value  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.ops import infer_types  # noqa: E402
from graphir.ops.recurrent import RNN_ACTIVATIONS  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

C = 2
ATOL = 2e-5


def _unidirectional():
    out = {}
    for cls, tag, extra in ((L.LSTM, "lstm", {}), (L.GRU, "gru", {}),
                            (L.GRU, "gru_rb", {"reset_after": False}),
                            (L.SimpleRNN, "rnn", {})):
        for seq in (True, False):
            for back in (True, False):
                name = f"{tag}_{'seq' if seq else 'last'}_{'bwd' if back else 'fwd'}"
                out[name] = lambda cls=cls, seq=seq, back=back, extra=extra, name=name: cls(
                    3, return_sequences=seq, go_backwards=back, name=name, **extra)
    return out


def _bidirectional():
    out = {}
    for merge in ("concat", "sum", "mul", "ave"):
        for seq in (True, False):
            name = f"bi_lstm_{merge}_{'seq' if seq else 'last'}"
            out[name] = lambda merge=merge, seq=seq, name=name: L.Bidirectional(
                L.LSTM(3, return_sequences=seq), merge_mode=merge, name=name)
    for tag, make in (("gru", lambda seq: L.GRU(3, return_sequences=seq)),
                      ("gru_rb", lambda seq: L.GRU(4, return_sequences=seq, reset_after=False)),
                      ("rnn", lambda seq: L.SimpleRNN(3, return_sequences=seq))):
        for merge, seq in (("concat", True), ("ave", False), ("mul", True), ("sum", False)):
            name = f"bi_{tag}_{merge}_{'seq' if seq else 'last'}"
            out[name] = lambda make=make, merge=merge, seq=seq, name=name: L.Bidirectional(
                make(seq), merge_mode=merge, name=name)
    return out


def _others():
    return {
        # non-default activations (all expressible by ONNX's RNN ops)
        "lstm_relu_hard_sigmoid": lambda: L.LSTM(3, activation="relu",
                                                 recurrent_activation="hard_sigmoid",
                                                 return_sequences=True,
                                                 name="lstm_relu_hard_sigmoid"),
        "gru_softsign_hard_sigmoid": lambda: L.GRU(3, activation="softsign",
                                                   recurrent_activation="hard_sigmoid",
                                                   go_backwards=True, return_sequences=True,
                                                   name="gru_softsign_hard_sigmoid"),
        "rnn_linear": lambda: L.SimpleRNN(3, activation="linear", return_sequences=True,
                                          name="rnn_linear"),
        "rnn_elu": lambda: L.SimpleRNN(3, activation="elu", name="rnn_elu"),
        "lstm_leaky_softplus": lambda: L.LSTM(3, activation="leaky_relu",
                                              recurrent_activation="softplus",
                                              name="lstm_leaky_softplus"),
        # no bias
        "lstm_nobias": lambda: L.LSTM(3, use_bias=False, go_backwards=True,
                                      return_sequences=True, name="lstm_nobias"),
        "bi_gru_nobias": lambda: L.Bidirectional(L.GRU(3, use_bias=False,
                                                       return_sequences=True),
                                                 name="bi_gru_nobias"),
        # inference no-ops
        "lstm_dropout": lambda: L.LSTM(3, dropout=0.5, recurrent_dropout=0.3,
                                       return_sequences=True, name="lstm_dropout"),
        # a custom backward layer with the same options and its own weights
        "bi_custom_backward": lambda: L.Bidirectional(
            L.SimpleRNN(3, activation="relu", return_sequences=True),
            backward_layer=L.SimpleRNN(3, activation="relu", return_sequences=True,
                                       go_backwards=True),
            merge_mode="concat", name="bi_custom_backward"),
    }


DYNAMIC = {**_unidirectional(), **_bidirectional(), **_others()}
STATIC = {
    "s_lstm_seq_bwd": lambda: L.LSTM(3, return_sequences=True, go_backwards=True,
                                     name="s_lstm_seq_bwd"),
    "s_lstm_unroll": lambda: L.LSTM(3, unroll=True, name="s_lstm_unroll"),
    "s_bi_gru_ave_seq": lambda: L.Bidirectional(L.GRU(3, return_sequences=True),
                                                merge_mode="ave", name="s_bi_gru_ave_seq"),
    "s_bi_rnn_concat_last": lambda: L.Bidirectional(L.SimpleRNN(3), name="s_bi_rnn_concat_last"),
    "s_gru_rb_last_bwd": lambda: L.GRU(3, reset_after=False, go_backwards=True,
                                       name="s_gru_rb_last_bwd"),
}


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.5, tuple(w.shape)).astype("float32"))


def _build(configs, steps, seed):
    inp = keras.Input((steps, C), name="x")
    outputs = [make()(inp) for make in configs.values()]
    model = keras.Model(inp, outputs, name="recurrent_static" if steps else "recurrent")
    _randomize(model, seed)
    return model


def _inputs(steps_list, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, t, C)).astype("float32") for n in (1, 3) for t in steps_list]


def _compute(kind, tmp_dir):
    """Everything computed once per model: Keras' outputs, the lowered graph, the
    interpreter's, the reloaded emitted Keras model's and onnxruntime's outputs."""
    dynamic = kind == "dynamic"
    configs = DYNAMIC if dynamic else STATIC
    model = _build(configs, None if dynamic else 5, seed=0 if dynamic else 1)
    xs = _inputs((5, 3) if dynamic else (5,), seed=2)
    graph = verify_graph(from_keras(model))
    path = tmp_dir / f"{kind}.keras"
    save_keras(to_keras(graph), path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    onnx_model = to_onnx(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    names = list(configs)
    runs = []
    for x in xs:
        want = [np.asarray(o) for o in model(x, training=False)]
        interp = evaluate(graph, {graph.inputs[0].name: x})
        emitted = [np.asarray(o) for o in reloaded(x, training=False)]
        onnx_out = sess.run(list(graph.outputs), {graph.inputs[0].name: x})
        runs.append({name: (want[i], interp[graph.outputs[i]], emitted[i], onnx_out[i])
                     for i, name in enumerate(names)})
    return {"names": names, "graph": graph, "runs": runs, "onnx": onnx_model,
            "model": model, "reloaded": reloaded, "inputs": xs}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """kind ("dynamic" or "static") -> its case, computed at first use."""
    tmp_dir = tmp_path_factory.mktemp("recurrent")
    return functools.cache(lambda kind: _compute(kind, tmp_dir))


@pytest.fixture(scope="module", params=["dynamic", "static"])
def case(request, cases):
    return cases(request.param)


def _check(case, name, which):
    assert len(case["runs"]) in (2, 4)  # batch 1 and 3 (x T = 5, 3 when dynamic)
    for run in case["runs"]:
        want, *got = run[name]
        assert np.std(want) > 1e-3, "degenerate output"
        np.testing.assert_allclose(got[which], want, rtol=0, atol=ATOL, err_msg=name)


ALL = [("dynamic", n) for n in DYNAMIC] + [("static", n) for n in STATIC]


@pytest.mark.parametrize("kind,name", ALL)
def test_interpreter_matches_keras(cases, kind, name):
    _check(cases(kind), name, 0)


@pytest.mark.parametrize("kind,name", ALL)
def test_reloaded_emitted_keras_matches_keras(cases, kind, name):
    _check(cases(kind), name, 1)


@pytest.mark.parametrize("kind,name", ALL)
def test_onnx_matches_keras(cases, kind, name):
    _check(cases(kind), name, 2)


def test_one_node_per_layer_with_keras_options(case):
    graph = case["graph"]
    nodes = {n.name: n for n in graph.nodes}
    assert set(nodes) == set(case["names"])
    for name, node in nodes.items():
        a = node.attrs
        assert node.op == ("lstm" if "lstm" in name else "gru" if "gru" in name
                           else "simple_rnn")
        assert a["direction"] == ("bidirectional" if "bi_" in name else
                                  "backward" if "bwd" in name or name == "gru_softsign_hard_sigmoid"
                                  or name == "lstm_nobias" else "forward")
        if node.op == "gru":
            assert a["reset_after"] == ("gru_rb" not in name)
        assert len(graph.value_types()[name].shape) == (
            3 if a["return_sequences"] else 2)


def test_weights_are_keras_variables_forward_then_backward(cases):
    case = cases("dynamic")
    graph, model = case["graph"], case["model"]
    node = graph.node("bi_custom_backward")
    layer = model.get_layer("bi_custom_backward")
    assert node.inputs[1:] == tuple(f"bi_custom_backward/{d}/{v}" for d in ("forward", "backward")
                                    for v in ("kernel", "recurrent_kernel", "bias"))
    for name, var in zip(node.inputs[1:], layer.weights):
        np.testing.assert_array_equal(graph.weights[name], var.numpy())
    assert graph.node("lstm_nobias").inputs[3:] in ((), ("",))


def test_emitted_keras_uses_builtin_recurrent_layers(case):
    recurrent = [layer for layer in case["reloaded"].layers
                 if not isinstance(layer, keras.layers.InputLayer)]
    assert len(recurrent) == len(case["names"])
    assert {type(layer) for layer in recurrent} <= {L.Bidirectional, L.LSTM, L.GRU, L.SimpleRNN}
    assert any(isinstance(layer, L.Bidirectional) for layer in recurrent)
    for layer in recurrent:
        if isinstance(layer, L.Bidirectional):
            assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards


def test_onnx_uses_one_recurrent_node_per_layer(case):
    counts = count_ops(case["onnx"])
    graph = case["graph"]
    for op, onnx_op in (("lstm", "LSTM"), ("gru", "GRU"), ("simple_rnn", "RNN")):
        assert counts.get(onnx_op, 0) == sum(n.op == op for n in graph.nodes)
    backward_seq = sum(n.attrs["direction"] == "backward" and n.attrs["return_sequences"]
                       for n in graph.nodes)
    assert counts.get("Slice", 0) == backward_seq


def test_relowering_the_emitted_model_gives_the_same_nodes(case):
    again = from_keras(case["reloaded"])
    key = lambda g: [(n.op, n.name, dict(n.attrs), len([i for i in n.inputs if i]))  # noqa
                     for n in g.nodes]
    assert key(again) == key(case["graph"])


# --------------------------------------------------------------------------- ONNX activations

def _ir_graph(op, act, rec, direction, merge, seq, seed):
    rng = np.random.default_rng(seed)
    g = {"lstm": 4, "gru": 3, "simple_rnn": 1}[op]
    weights, inputs = {}, ["x"]
    for prefix in (("f", "b") if direction == "bidirectional" else ("f",)):
        for role, shape in (("k", (C, g * 3)), ("rk", (3, g * 3)),
                            ("b", (2, 9) if op == "gru" else (g * 3,))):
            weights[f"{prefix}/{role}"] = rng.normal(0, 0.4, shape).astype(np.float32)
            inputs.append(f"{prefix}/{role}")
    attrs = {"units": 3, "activation": act, "return_sequences": seq, "direction": direction,
             "merge_mode": merge}
    if op != "simple_rnn":
        attrs["recurrent_activation"] = rec
    if op == "gru":
        attrs["reset_after"] = True
    x_type = TensorType("float32", ("batch", None, C))
    types = [x_type] + [TensorType("float32", weights[n].shape) for n in inputs[1:]]
    (out,) = infer_types(op, types, attrs)
    node = Node(op, "y", inputs, [Value("y", out)], attrs)
    return Graph("g", [Value("x", x_type)], ["y"], [node], weights)


@pytest.mark.parametrize("op", ["lstm", "gru", "simple_rnn"])
def test_onnx_expresses_every_allowed_activation(op):
    """Each activation as the cell activation and (lstm/gru) as the gate activation, one
    and both directions: the ONNX ``activations``/``activation_alpha``/``beta`` lists
    follow onnxruntime's reading."""
    x = np.random.default_rng(9).normal(size=(3, 5, C)).astype(np.float32)
    for i, act in enumerate(RNN_ACTIVATIONS):
        rec = RNN_ACTIVATIONS[(i + 3) % len(RNN_ACTIVATIONS)]
        for direction, merge in (("backward", "none"), ("bidirectional", "concat")):
            graph = _ir_graph(op, act, rec, direction, merge, seq=True, seed=i)
            sess = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                        providers=["CPUExecutionProvider"])
            got = sess.run(None, {"x": x})[0]
            want = evaluate(graph, {"x": x})["y"]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{op} {act} {rec} {direction}")


# --------------------------------------------------------------------------- refusals

def _refused(build_outputs, cls_name, match, *, shape=(None, C), batch_size=None, extra=()):
    inp = keras.Input(shape, batch_size=batch_size, name="x")
    more = [keras.Input(s, name=f"in{i}", dtype=d) for i, (s, d) in enumerate(extra)]
    out = build_outputs(inp, *more)
    model = keras.Model([inp, *more] if more else inp, out)
    with pytest.raises(UnsupportedLayerError, match=match) as e:
        from_keras(model)
    assert e.value.layer_class == cls_name


def test_refuses_stateful():
    _refused(lambda x: L.GRU(3, stateful=True)(x), "GRU", "stateful=True",
             shape=(5, C), batch_size=2)


@pytest.mark.parametrize("kwargs,match", [
    ({"activation": "selu"}, "activation='selu'"),
    ({"activation": "gelu"}, "activation='gelu'"),
    ({"recurrent_activation": lambda v: keras.activations.sigmoid(v)},
     "recurrent_activation: activation"),
])
def test_refuses_activations_onnx_rnns_cannot_express(kwargs, match):
    _refused(lambda x: L.LSTM(3, **kwargs)(x), "LSTM", match)


def test_refuses_simple_rnn_activation():
    _refused(lambda x: L.SimpleRNN(3, activation="silu")(x), "SimpleRNN", "activation='silu'")


def test_refuses_a_mask_that_is_not_bool():
    _refused(lambda x, m: L.LSTM(3)(x, mask=m), "LSTM", "mask of type",
             extra=[((None,), "float32")])


def test_refuses_an_initial_state_of_another_dtype():
    _refused(lambda x, h: L.GRU(3)(x, initial_state=h), "GRU", "float16",
             extra=[((3,), "float16")])


def test_bidirectional_backward_layer_of_another_size_converts_as_it_runs():
    """Keras records (b, t, 6) (twice the forward units) where the call concatenates
    3 + 2 features: the converter refuses, Keras' own call is traced, and its computed
    type (b, t, 5), what runs, wins over the record."""
    keras.utils.set_random_seed(13)
    x = keras.Input((4, C), name="x")
    y = L.Bidirectional(L.SimpleRNN(3, return_sequences=True), backward_layer=L.SimpleRNN(
        2, return_sequences=True, go_backwards=True))(x)
    assert y.shape == (None, 4, 6)
    model = keras.Model(x, y)
    graph = from_keras(model)
    assert graph.value_types()[graph.outputs[0]].shape == ("batch", 4, 5)
    assert_converts_like_keras(model)


@pytest.mark.parametrize("build_outputs", [
    lambda x: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), backward_layer=L.SimpleRNN(
        3, activation="relu", return_sequences=True, go_backwards=True))(x),
    lambda x: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), backward_layer=L.SimpleRNN(
        3, use_bias=False, return_sequences=True, go_backwards=True))(x),
    lambda x: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), backward_layer=L.GRU(
        3, return_sequences=True, go_backwards=True))(x),
    lambda x: L.Bidirectional(L.LSTM(3, go_backwards=True),
                              backward_layer=L.LSTM(3, go_backwards=False))(x),
    lambda x: L.Bidirectional(L.RNN([L.LSTMCell(3), L.LSTMCell(2)]))(x),
], ids=["backward_relu", "backward_no_bias", "backward_gru", "backwards_forward", "stacked"])
def test_bidirectional_configurations_its_converter_refuses_trace_keras_own_call(
        build_outputs):
    """Bidirectional wrappers the converter refuses (a backward layer that differs, a
    forward layer reading backwards, stacked cells): Keras' own call is traced, which
    calls the two RNN layers (each lowered by its converter) and merges them."""
    keras.utils.set_random_seed(12)
    x = keras.Input((4, C), name="x")
    assert_converts_like_keras(keras.Model(x, build_outputs(x)))


def test_refuses_a_generic_rnn_of_other_cells_and_a_subclass():
    class MyLSTM(L.LSTM):
        pass

    class MyCell(L.SimpleRNNCell):
        pass

    class MyGRUCell(L.GRUCell):
        pass

    _refused(lambda x: L.RNN([L.GRUCell(3), MyCell(2)])(x), "RNN",
             "a StackedRNNCells holding a MyCell")
    _refused(lambda x: L.RNN([L.GRUCell(3), L.GRUCell(2)], return_state=True)(x)[0], "RNN",
             "outputs|return_state")
    _refused(lambda x: L.RNN(MyGRUCell(3))(x), "RNN", "a generic RNN of a MyGRUCell")
    _refused(lambda x: MyLSTM(3)(x), "MyLSTM", "not supported")
    # a subclass of SimpleRNNCell computes a simple RNN step: read back from its call
    x = keras.Input((None, C), name="x")
    model = keras.Model(x, L.RNN(MyCell(3), name="rnn")(x))
    assert [n.op for n in from_keras(model).nodes] == ["simple_rnn"]
    assert_converts_like_keras(model)


def test_refuses_a_wrapped_layer_computing_in_another_dtype():
    _refused(lambda x: L.Bidirectional(L.LSTM(3, dtype="float16"))(x), "Bidirectional",
             "dtype policy 'float16'")


class _LeakyCell(L.Layer):
    """A leaky-integrator cell, h' = (tanh(x W + h U) + h) / 2: not a simple RNN step
    (``recurrent_cells.py`` reads the Keras guide's ``tanh(x W + h U)`` as one)."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent")

    def call(self, inputs, states):
        z = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent))
        h = (z + states[0]) * 0.5
        return h, [h]


@pytest.mark.parametrize("options", [
    {}, {"return_sequences": True, "go_backwards": True}, {"return_state": True},
    {"return_sequences": True, "mask": True}, {"mask": True, "go_backwards": True},
], ids=["last", "backwards_sequences", "state", "masked_sequences", "masked_backwards"])
def test_rnn_of_a_custom_cell_is_unrolled(options):
    """RNN(cell) of a user's cell: its converter refuses the cell, and Keras' RNN call is
    traced with its steps unrolled (the TF backend's unroll=True semantics: a masked
    step repeats the previous output and keeps the state)."""
    keras.utils.set_random_seed(13)
    options = dict(options)
    masked = options.pop("mask", False)
    rnn = L.RNN(_LeakyCell(3), name="rnn", **options)
    if masked:
        ids = keras.Input((5,), dtype="int32", name="ids")
        out = rnn(L.Embedding(9, C, mask_zero=True, name="emb")(ids))
        model = keras.Model(ids, out)
    else:
        x = keras.Input((5, C), name="x")
        model = keras.Model(x, rnn(x))
    assert_converts_like_keras(model, int_high=3)
    graph = from_keras(model)
    assert not any(n.op in ("simple_rnn", "lstm", "gru") for n in graph.nodes)


def test_rnn_of_a_custom_cell_over_unknown_timesteps_is_refused_with_both_reasons():
    x = keras.Input((None, C), name="x")
    with pytest.raises(UnsupportedLayerError, match="a generic RNN of a _LeakyCell.*"
                                                    "static number of timesteps"):
        from_keras(keras.Model(x, L.RNN(_LeakyCell(3), name="rnn")(x)))
