"""Recurrent layers beyond one input and one output: ``return_state=True`` (one node per
output), ``initial_state`` (the keras.io character-level seq2seq encoder-decoder),
the generic ``RNN(cell)`` of the built-in cells (and of a stack of them), Keras' masks
(``Embedding(mask_zero=True)``, ``Masking``) given to LSTM / GRU / SimpleRNN /
Bidirectional, and ConvLSTM1D/2D/3D.

Three small models (every weight seeded at random, so a dropped bias or state shows) are
built, lowered and emitted once per module; each output is compared outside graphir:
Keras' own result vs onnxruntime on the emitted ONNX, vs the emitted Keras model after a
save and a ``safe_mode=True`` reload, vs the NumPy interpreter (rtol 1e-4, atol 1e-4
scaled to the output's magnitude).  The masked inputs have pre-padded, post-padded,
gapped and fully masked rows.  "Broken twins" show that the checks can fail: the same
graph with its masks (or initial states) dropped differs from Keras on every output.
"""

from __future__ import annotations

import functools

import attrs
import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import layers as L  # noqa: E402

from graphir import Graph  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import count_ops, to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.ops.recurrent import MASK, state_inputs  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

RECURRENT = ("lstm", "gru", "simple_rnn")
RNN_LAYERS = (L.LSTM, L.GRU, L.SimpleRNN, L.Bidirectional, L.RNN)


def _states_model():
    """States, initial states and RNN(cell): the seq2seq encoder-decoder of keras.io
    (encoder LSTM ``return_state``, decoder LSTM ``initial_state=encoder_states``)
    and one branch per other form."""
    x = keras.Input((None, 2), name="x")
    y = keras.Input((None, 2), name="y")
    enc, h, c = L.LSTM(3, return_state=True, name="enc")(x)
    dec = L.LSTM(3, return_sequences=True, name="dec")(y, initial_state=[h, c])
    probs = L.Dense(4, activation="softmax", name="dec_probs")(dec)
    g_seq, g_h = L.GRU(3, return_state=True, return_sequences=True, go_backwards=True,
                       name="gru_state")(x)
    s = L.SimpleRNN(3, name="rnn_positional_state")(y, g_h)  # initial state positionally
    bo, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_state=True, return_sequences=True),
                                         merge_mode="sum", name="bi_state")(x)
    b2 = L.Bidirectional(L.GRU(3, reset_after=False), merge_mode="ave",
                         name="bi_init")(y, initial_state=[fh, bh])
    r1 = L.RNN(L.LSTMCell(3), return_sequences=True, name="rnn_lstm_cell")(x)
    r2, r2h = L.RNN(L.SimpleRNNCell(3), return_state=True, go_backwards=True,
                    name="rnn_simple_cell")(x)
    r3 = L.Bidirectional(L.RNN(L.GRUCell(3)), name="bi_rnn_gru_cell")(x)
    st1 = L.RNN([L.LSTMCell(3), L.GRUCell(2)], name="stacked_cells")(x)
    st2 = L.RNN(L.StackedRNNCells([L.SimpleRNNCell(3), L.LSTMCell(2), L.GRUCell(3)]),
                return_sequences=True, go_backwards=True, name="stacked_cells_bwd")(x)
    un = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True), merge_mode=None,
                         name="bi_unmerged")(y)
    outs = {"enc": enc, "enc_h": h, "enc_c": c, "dec_probs": probs, "gru_seq": g_seq,
            "gru_h": g_h, "rnn_positional_state": s, "bi_out": bo, "bi_fh": fh, "bi_fc": fc,
            "bi_bh": bh, "bi_bc": bc, "bi_init": b2, "rnn_lstm_cell": r1,
            "rnn_simple_cell": r2, "rnn_simple_cell_h": r2h, "bi_rnn_gru_cell": r3,
            "stacked_cells": st1, "stacked_cells_bwd": st2,
            **{f"bi_unmerged_{k}": t for k, t in zip(("y", "y_rev", "fh", "fc", "bh", "bc"), un)}}
    return keras.Model([x, y], list(outs.values()), name="rnn_states"), list(outs)


def _masks_model():
    ids = keras.Input((None,), dtype="int32", name="ids")
    seq = keras.Input((None, 2), name="seq")
    h0 = keras.Input((3,), name="h0")
    c0 = keras.Input((3,), name="c0")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(ids)
    ms = L.Masking(0.0, name="masking")(seq)
    outs = {
        "lstm_last": L.LSTM(3, name="lstm_last")(e),
        "lstm_seq": L.LSTM(3, return_sequences=True, name="lstm_seq")(e),
        "gru_seq_bwd": L.GRU(3, return_sequences=True, go_backwards=True, name="gru_seq_bwd")(e),
        "gru_zero_output": L.GRU(3, reset_after=False, zero_output_for_mask=True,
                                 return_sequences=True, name="gru_zero_output")(e),
        "gru_zero_output_last_bwd": L.GRU(3, zero_output_for_mask=True, go_backwards=True,
                                          name="gru_zero_output_last_bwd")(e),
        "bi_lstm_seq": L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi_lstm_seq")(e),
        "bi_gru_last_mul": L.Bidirectional(L.GRU(3), merge_mode="mul", name="bi_gru_last_mul")(e),
        "stacked": L.LSTM(3, name="stacked_2")(L.LSTM(3, return_sequences=True,
                                                      name="stacked_1")(e)),
        "rnn_cell_masked": L.RNN(L.GRUCell(3), return_sequences=True, name="rnn_cell_masked")(e),
        "masking_lstm_seq": L.LSTM(3, return_sequences=True, name="masking_lstm_seq")(ms),
        "masking_bi_concat": L.Bidirectional(L.LSTM(3, return_sequences=True),
                                             name="masking_bi_concat")(ms),
        "stacked_cells_bwd": L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_sequences=True,
                                   go_backwards=True, name="stacked_cells_bwd")(e),
        "stacked_cells_last": L.RNN([L.GRUCell(3), L.LSTMCell(2)], go_backwards=True,
                                    name="stacked_cells_last")(ms),
    }
    un = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode=None, name="bi_unmerged")(e)
    outs.update({"bi_unmerged_y": un[0], "bi_unmerged_y_rev": un[1]})
    so, sh = L.SimpleRNN(3, return_state=True, go_backwards=True, name="rnn_state_bwd")(e)
    # Keras fills in the implicit mask only for a call with one tensor argument
    # (Layer.__call__, step 6): with an initial_state the mask must be passed explicitly
    ids_mask = keras.ops.not_equal(ids, 0)
    seq_mask = keras.ops.any(keras.ops.not_equal(seq, 0.0), axis=-1)
    lo, lh, lc = L.LSTM(3, return_state=True, return_sequences=True,
                        name="lstm_init")(e, initial_state=[h0, c0], mask=ids_mask)
    bo, bh, bbh = L.Bidirectional(L.SimpleRNN(3, return_state=True), merge_mode="ave",
                                  name="bi_rnn_init")(e, initial_state=[h0, c0], mask=ids_mask)
    go, gh = L.GRU(3, return_state=True, name="masking_gru_init")(ms, initial_state=h0,
                                                                  mask=seq_mask)
    outs.update({"rnn_state_bwd": so, "rnn_state_bwd_h": sh, "lstm_init": lo,
                 "lstm_init_h": lh, "lstm_init_c": lc, "bi_rnn_init": bo, "bi_rnn_init_fh": bh,
                 "bi_rnn_init_bh": bbh, "masking_gru_init": go, "masking_gru_init_h": gh})
    model = keras.Model([ids, seq, h0, c0], list(outs.values()), name="rnn_masks")
    return model, list(outs)


def _conv_model():
    """ConvLSTM1D/2D/3D: same and valid padding, strides, dilation, an even kernel with
    "same", backwards, no bias, relu and hard_sigmoid."""
    x2 = keras.Input((None, 6, 5, 2), name="x2")
    x1 = keras.Input((4, 7, 2), name="x1")
    x3 = keras.Input((3, 4, 4, 3, 2), name="x3")
    outs = {
        "c2_seq": L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="c2_seq")(x2),
        "c2_strided": L.ConvLSTM2D(2, (2, 3), strides=(2, 1), name="c2_strided")(x2),
        "c2_even_bwd": L.ConvLSTM2D(2, 2, padding="same", go_backwards=True,
                                    return_sequences=True, activation="relu",
                                    name="c2_even_bwd")(x2),
        "c1_dilated": L.ConvLSTM1D(3, 3, padding="same", dilation_rate=2, name="c1_dilated")(x1),
        "c1_nobias": L.ConvLSTM1D(2, 3, use_bias=False, return_sequences=True,
                                  recurrent_activation="hard_sigmoid", name="c1_nobias")(x1),
        "c3": L.ConvLSTM3D(2, 2, padding="same", return_sequences=True, name="c3")(x3),
    }
    # an encoder returning its states, a decoder started from them
    enc, h, c = L.ConvLSTM1D(2, 3, padding="same", return_state=True, name="c1_enc")(x1)
    dec = L.ConvLSTM1D(2, 3, padding="same", return_sequences=True, go_backwards=True,
                       name="c1_dec")(x1, initial_state=[h, c])
    outs.update({"c1_enc": enc, "c1_enc_h": h, "c1_enc_c": c, "c1_dec": dec})
    return keras.Model([x2, x1, x3], list(outs.values()), name="conv_lstm"), list(outs)


def _mask_feeds(rng, n_steps=6):
    ids = np.array([[0, 0, 3, 4, 5, 6],     # pre-padded (Keras' pad_sequences default)
                    [1, 2, 7, 0, 0, 0],     # post-padded
                    [0, 6, 0, 1, 0, 2],     # gaps
                    [0, 0, 0, 0, 0, 0]],    # fully masked
                   np.int32)[:, :n_steps]
    seq = rng.normal(size=(4, n_steps, 2)).astype(np.float32)
    seq[0, 4:] = 0.0       # post-padded
    seq[1, :2] = 0.0       # pre-padded
    seq[2, :] = 0.0        # fully masked: the states stay the initial ones
    seq[3, 3] = 0.0        # one gap
    h0 = rng.normal(size=(4, 3)).astype(np.float32)
    c0 = rng.normal(size=(4, 3)).astype(np.float32)
    return {"ids": ids, "seq": seq, "h0": h0, "c0": c0}


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.5, tuple(w.shape)).astype(w.dtype))


def _compute(kind, tmp_dir):
    keras.utils.set_random_seed(11)
    model, names = {"states": _states_model, "masks": _masks_model,
                    "conv": _conv_model}[kind]()
    assert names == NAMES[kind]
    _randomize(model, 5)
    rng = np.random.default_rng(7)
    if kind == "states":
        feeds = [{"x": rng.normal(size=(3, 5, 2)).astype(np.float32),
                  "y": rng.normal(size=(3, 4, 2)).astype(np.float32)},
                 {"x": rng.normal(size=(1, 3, 2)).astype(np.float32),
                  "y": rng.normal(size=(1, 6, 2)).astype(np.float32)}]
    elif kind == "conv":
        feeds = [{"x2": rng.normal(size=(2, t, 6, 5, 2)).astype(np.float32),
                  "x1": rng.normal(size=(2, 4, 7, 2)).astype(np.float32),
                  "x3": rng.normal(size=(2, 3, 4, 4, 3, 2)).astype(np.float32)}
                 for t in (4, 2)]
    else:
        feeds = [_mask_feeds(rng), _mask_feeds(rng, n_steps=5)]
    graph = verify_graph(from_keras(model))
    path = tmp_dir / f"{kind}.keras"
    save_keras(to_keras(graph), path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    onnx_model = to_onnx(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    runs = []
    for feed in feeds:
        args = [feed[i.name] for i in graph.inputs]
        want = [np.asarray(o) for o in model(args, training=False)]
        interp = evaluate(graph, feed)
        emitted = [np.asarray(o) for o in reloaded(args, training=False)]
        onnx_out = sess.run(list(graph.outputs), feed)
        runs.append({name: (want[i], interp[graph.outputs[i]], emitted[i], onnx_out[i])
                     for i, name in enumerate(names)})
    return {"names": names, "graph": graph, "runs": runs, "onnx": onnx_model, "model": model,
            "reloaded": reloaded, "feeds": feeds}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    tmp_dir = tmp_path_factory.mktemp("recurrent_masks")
    return functools.cache(lambda kind: _compute(kind, tmp_dir))


def _close(got, want, what):
    atol = 1e-4 * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol, err_msg=what)


#: the outputs of each model, in order (``_states_model`` / ``_masks_model`` check it)
NAMES = {
    "states": ["enc", "enc_h", "enc_c", "dec_probs", "gru_seq", "gru_h", "rnn_positional_state",
               "bi_out", "bi_fh", "bi_fc", "bi_bh", "bi_bc", "bi_init", "rnn_lstm_cell",
               "rnn_simple_cell", "rnn_simple_cell_h", "bi_rnn_gru_cell", "stacked_cells",
               "stacked_cells_bwd", "bi_unmerged_y", "bi_unmerged_y_rev", "bi_unmerged_fh",
               "bi_unmerged_fc", "bi_unmerged_bh", "bi_unmerged_bc"],
    "masks": ["lstm_last", "lstm_seq", "gru_seq_bwd", "gru_zero_output",
              "gru_zero_output_last_bwd", "bi_lstm_seq", "bi_gru_last_mul", "stacked",
              "rnn_cell_masked", "masking_lstm_seq", "masking_bi_concat", "stacked_cells_bwd",
              "stacked_cells_last", "bi_unmerged_y", "bi_unmerged_y_rev", "rnn_state_bwd",
              "rnn_state_bwd_h", "lstm_init", "lstm_init_h", "lstm_init_c", "bi_rnn_init",
              "bi_rnn_init_fh", "bi_rnn_init_bh", "masking_gru_init", "masking_gru_init_h"],
    "conv": ["c2_seq", "c2_strided", "c2_even_bwd", "c1_dilated", "c1_nobias", "c3", "c1_enc",
             "c1_enc_h", "c1_enc_c", "c1_dec"],
}


ALL = [(kind, name) for kind, names in NAMES.items() for name in names]


@pytest.mark.parametrize("kind,name", ALL)
def test_onnx_matches_keras(cases, kind, name):
    for run in cases(kind)["runs"]:
        want, _, _, got = run[name]
        _close(got, want, f"onnx {name}")


@pytest.mark.parametrize("kind,name", ALL)
def test_reloaded_emitted_keras_matches_keras(cases, kind, name):
    for run in cases(kind)["runs"]:
        want, _, got, _ = run[name]
        _close(got, want, f"keras {name}")


@pytest.mark.parametrize("kind,name", ALL)
def test_interpreter_matches_keras(cases, kind, name):
    for run in cases(kind)["runs"]:
        want, got, _, _ = run[name]
        _close(got, want, f"interpreter {name}")


def _strip(graph: Graph, indices) -> Graph:
    """The graph with the recurrent nodes' inputs at ``indices(node)`` omitted."""
    nodes = []
    for node in graph.nodes:
        if node.op in RECURRENT or node.op.startswith("conv_lstm"):
            drop = set(indices(node))
            node = attrs.evolve(node, inputs=tuple("" if i in drop else n
                                                   for i, n in enumerate(node.inputs)))
        nodes.append(node)
    return attrs.evolve(graph, nodes=tuple(nodes))


def _differs(graph, case, names):
    for name in names:
        i = case["names"].index(name)
        out = graph.outputs[i]
        assert any(not np.allclose(evaluate(graph, feed)[out], run[name][0], atol=1e-3)
                   for feed, run in zip(case["feeds"], case["runs"])), name


def test_broken_twin_without_masks_differs_on_every_output(cases):
    """Not vacuous: each masked output depends on its mask in these inputs."""
    case = cases("masks")
    _differs(_strip(case["graph"], lambda n: [MASK]), case, case["names"])


def _state_indices(node):
    return (4, 5) if node.op.startswith("conv_lstm") else state_inputs(node.op).values()


def test_broken_twin_without_initial_states_differs(cases):
    for kind, names in (("states", ["dec_probs", "rnn_positional_state", "bi_init"]),
                        ("masks", ["lstm_init", "lstm_init_h", "lstm_init_c", "bi_rnn_init",
                                   "masking_gru_init_h"]),
                        ("conv", ["c1_dec"])):
        case = cases(kind)
        _differs(_strip(case["graph"], _state_indices), case, names)


def test_keras_mask_semantics_that_the_op_reproduces(cases):
    """What Keras computes (CPU, ``backend.rnn``): a fully masked row keeps the initial
    state and outputs zeros; a masked step repeats the previous output unless
    ``zero_output_for_mask``; ``Bidirectional`` zeroes masked steps of its sequence.
    (Keras drops the implicit mask of a call with an ``initial_state``, which is why
    the model passes those masks explicitly.)"""
    run, feed = cases("masks")["runs"][0], cases("masks")["feeds"][0]
    assert np.all(run["lstm_last"][0][3] == 0)                      # ids row 3: all masked
    np.testing.assert_array_equal(run["lstm_init_h"][0][3], feed["h0"][3])
    np.testing.assert_array_equal(run["masking_gru_init_h"][0][2], feed["h0"][2])
    assert np.all(run["masking_gru_init"][0][2] == 0)               # output zeros, state h0
    seq = run["lstm_seq"][0]
    assert np.all(seq[0, :2] == 0) and np.array_equal(seq[1, 3], seq[1, 2])  # pre/post pad
    assert np.all(run["gru_zero_output"][0][1, 3:] == 0)
    assert np.all(run["bi_lstm_seq"][0][1, 3:] == 0)


def test_one_node_per_output_fused_once_in_onnx_and_keras(cases):
    case = cases("states")
    graph, model = case["graph"], case["model"]
    groups = {(n.op, n.inputs) for n in graph.nodes if n.op in RECURRENT}
    assert [n.attrs.get("result") for n in graph.nodes if n.name.startswith("bi_state")] == [
        "output", "h", "c", "backward_h", "backward_c"]
    counts = count_ops(case["onnx"])
    assert sum(counts.get(o, 0) for o in ("LSTM", "GRU", "RNN")) == len(groups)
    # one Keras layer per call, a StackedRNNCells one per cell, an unmerged Bidirectional two
    stacked = sum(len(la.cell.cells) - 1 for la in model.layers
                  if isinstance(la, L.RNN) and isinstance(la.cell, L.StackedRNNCells))
    stacked += sum(isinstance(la, L.Bidirectional) and la.merge_mode is None
                   for la in model.layers)  # two layers
    keras_rnns = [la for la in model.layers if isinstance(la, RNN_LAYERS)]
    emitted = [la for la in case["reloaded"].layers if isinstance(la, RNN_LAYERS)]
    assert len(emitted) == len(keras_rnns) + stacked == len(groups)


def test_masked_onnx_has_one_rnn_node_per_direction(cases):
    case = cases("masks")
    nodes = [n for n in case["graph"].nodes if n.op in RECURRENT]
    assert all(len(n.inputs) > MASK and n.inputs[MASK] for n in nodes)
    groups = {(n.op, n.inputs): n.attrs["direction"] for n in nodes}
    want = sum(2 if d == "bidirectional" else 1 for d in groups.values())
    counts = count_ops(case["onnx"])
    assert sum(counts.get(o, 0) for o in ("LSTM", "GRU", "RNN")) == want
    assert counts.get("Loop", 0) == counts.get("Scan", 0) == 0


@pytest.mark.parametrize("kind", ["states", "masks", "conv"])
def test_relowering_the_emitted_model_gives_the_same_nodes(cases, kind):
    case = cases(kind)
    again = from_keras(case["reloaded"])

    def key(g):
        return sorted((n.op, sorted(n.attrs.items()), sum(bool(i) for i in n.inputs))
                      for n in g.nodes if n.op in RECURRENT or n.op.startswith("conv_lstm"))
    assert key(again) == key(case["graph"])


@pytest.mark.parametrize("make,match", [
    (lambda: L.ConvLSTM2D(2, 3, data_format="channels_first"), "channels_first"),
    (lambda: L.ConvLSTM2D(2, 3, stateful=True), "stateful"),
])
def test_refuses_conv_lstm_options_by_name(make, match):
    x = keras.Input((4, 6, 6, 6), batch_size=2)
    out = make()(x)
    with pytest.raises(UnsupportedLayerError, match=match) as e:
        from_keras(keras.Model(x, out[0] if isinstance(out, (list, tuple)) else out))
    assert e.value.layer_class == "ConvLSTM2D"


def test_conv_lstm_is_one_scan_per_layer(cases):
    case = cases("conv")
    counts = count_ops(case["onnx"])
    assert counts.get("Scan", 0) == len(case["model"].layers) - 3  # all but the 3 inputs
    assert {n.op for n in case["graph"].nodes} == {"conv_lstm1d", "conv_lstm2d", "conv_lstm3d"}
