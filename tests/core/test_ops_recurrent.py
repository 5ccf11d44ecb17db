"""The recurrent ops (``lstm``, ``gru``, ``simple_rnn``) in the core, without TensorFlow
or onnx: type rules and their rejections, the attribute schema, and the NumPy reference
kernels against closed forms and an independent scalar-loop formulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphir import Graph, Node, TensorType, Value
from graphir.interpreter import evaluate
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.verifier import verify_graph

from graphir.ops import op_names

#: op name -> its reference kernel (from the op registry)
KERNELS = {name: get_schema(name).kernel for name in op_names()}

G = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def f32(*shape):
    return TensorType("float32", shape)


def _attrs(op, *, units=3, direction="forward", merge="none", seq=True, act="tanh",
           rec="sigmoid", reset_after=True):
    a = {"units": units, "activation": act, "return_sequences": seq, "direction": direction,
         "merge_mode": merge}
    if op != "simple_rnn":
        a["recurrent_activation"] = rec
    if op == "gru":
        a["reset_after"] = reset_after
    return a


def _bias_shape(op, units, reset_after=True):
    return (2, 3 * units) if op == "gru" and reset_after else (G[op] * units,)


def _types(op, *, c=2, units=3, t=None, bidirectional=False, bias=True, reset_after=True):
    w = [f32(c, G[op] * units), f32(units, G[op] * units),
         f32(*_bias_shape(op, units, reset_after)) if bias else None]
    return [f32("batch", t, c)] + w + (w if bidirectional else [])


def _weights(op, rng, *, c=2, units=3, bias=True, reset_after=True, scale=0.5):
    return (rng.normal(0, scale, (c, G[op] * units)), rng.normal(0, scale, (units, G[op] * units)),
            rng.normal(0, scale, _bias_shape(op, units, reset_after)) if bias else None)


# --------------------------------------------------------------------------- type rules

@pytest.mark.parametrize("op", sorted(G))
@pytest.mark.parametrize("direction,merge,width", [
    ("forward", "none", 3), ("backward", "none", 3), ("bidirectional", "concat", 6),
    ("bidirectional", "sum", 3), ("bidirectional", "mul", 3), ("bidirectional", "ave", 3)])
@pytest.mark.parametrize("seq", [True, False])
def test_output_type(op, direction, merge, width, seq):
    types = _types(op, t=None, bidirectional=direction == "bidirectional")
    (out,) = infer_types(op, types, _attrs(op, direction=direction, merge=merge, seq=seq))
    assert out == (f32("batch", None, width) if seq else f32("batch", width))


def test_static_time_axis_and_no_bias_are_kept():
    types = _types("lstm", t=7, bias=False, bidirectional=True)
    (out,) = infer_types("lstm", types, _attrs("lstm", direction="bidirectional",
                                               merge="concat"))
    assert out == f32("batch", 7, 6)


def test_gru_bias_shape_follows_reset_after():
    ok = _types("gru", reset_after=False)
    assert infer_types("gru", ok, _attrs("gru", reset_after=False))[0] == f32("batch", None, 3)
    with pytest.raises(TypeRuleError, match=r"bias must have shape \(9\), got \(2, 9\)") as e:
        infer_types("gru", _types("gru", reset_after=True), _attrs("gru", reset_after=False))
    assert e.value.input_index == 3
    with pytest.raises(TypeRuleError, match=r"bias must have shape \(2, 9\)"):
        infer_types("gru", ok, _attrs("gru", reset_after=True))


def _reject(op, types, attrs, match, index=None):
    with pytest.raises(TypeRuleError, match=match) as e:
        infer_types(op, types, attrs)
    if index is not None:
        assert e.value.input_index == index
    return e.value


def test_rejects_input_rank_and_dtype():
    types = _types("lstm")
    _reject("lstm", [f32("batch", 2)] + types[1:], _attrs("lstm"), "rank 3", 0)
    _reject("lstm", [TensorType("int32", ("batch", 5, 2))] + types[1:], _attrs("lstm"),
            "float", 0)
    _reject("lstm", types[:3] + [TensorType("float16", (12,))], _attrs("lstm"), "dtype", 3)


def test_rejects_feature_mismatch_with_axis_and_hint():
    types = _types("simple_rnn", c=2)
    err = _reject("simple_rnn", [f32("batch", 5, 4)] + types[1:], _attrs("simple_rnn"),
                  "expects 2 input features", 0)
    assert err.axis == 2 and err.hint


def test_rejects_units_that_disagree_with_the_kernels():
    types = _types("lstm", units=3)
    _reject("lstm", types, _attrs("lstm", units=2), r"kernel \(units=2\)", 1)
    _reject("lstm", types, _attrs("lstm", units=0), "units=0")
    bad_rk = types[:2] + [f32(3, 8)] + types[3:]
    _reject("lstm", bad_rk, _attrs("lstm"), "recurrent_kernel", 2)


def test_rejects_inconsistent_directions():
    uni, bi = _types("gru"), _types("gru", bidirectional=True)
    _reject("gru", uni, _attrs("gru", direction="bidirectional", merge="concat"),
            "needs input 4", 4)
    _reject("gru", bi, _attrs("gru", direction="bidirectional", merge="none"), "merge_mode")
    _reject("gru", uni, _attrs("gru", merge="concat"), "merge_mode='concat'")
    _reject("gru", bi, _attrs("gru", direction="backward"), "takes no input 4", 4)
    no_backward_bias = bi[:6] + [None]
    _reject("gru", no_backward_bias, _attrs("gru", direction="bidirectional", merge="sum"),
            "both present", 6)
    wrong_backward = bi[:4] + [f32(2, 6)] + bi[5:]
    _reject("gru", wrong_backward, _attrs("gru", direction="bidirectional", merge="sum"),
            "backward_kernel", 4)


def test_schema_arity_and_attribute_choices():
    schema = get_schema("lstm")
    assert schema.check_arity(3) is None and schema.check_arity(7) is None
    assert schema.check_arity(12) is None and get_schema("gru").check_arity(10) is None
    assert schema.check_arity(2) is not None and schema.check_arity(13) is not None
    assert get_schema("gru").check_arity(11) is not None
    assert schema.weight_inputs == (1, 2, 3, 4, 5, 6)
    assert schema.check_attrs(_attrs("lstm")) is None
    assert "activation" in schema.check_attrs(_attrs("lstm", act="gelu"))
    assert "direction" in schema.check_attrs({**_attrs("lstm"), "direction": "reverse"})
    assert "reset_after" in get_schema("gru").check_attrs(
        {k: v for k, v in _attrs("gru").items() if k != "reset_after"})
    assert "recurrent_activation" in get_schema("simple_rnn").check_attrs(_attrs("lstm"))


# --------------------------------------------------------------------------- reference kernels

def _sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def _scalar_lstm(x, k, rk, b, *, backwards=False):
    """LSTM step by step with scalar Python arithmetic (Keras LSTMCell, implementation 1)."""
    n, t_len, c = x.shape
    u = rk.shape[0]
    outs = np.zeros((n, t_len, u))
    for s in range(n):
        h, cell = [0.0] * u, [0.0] * u
        order = range(t_len - 1, -1, -1) if backwards else range(t_len)
        for k_out, t in enumerate(order):
            pre = [[b[g * u + j] + sum(x[s, t, i] * k[i, g * u + j] for i in range(c))
                    + sum(h[m] * rk[m, g * u + j] for m in range(u)) for j in range(u)]
                   for g in range(4)]
            new_c = [_sig(pre[1][j]) * cell[j] + _sig(pre[0][j]) * math.tanh(pre[2][j])
                     for j in range(u)]
            h = [_sig(pre[3][j]) * math.tanh(new_c[j]) for j in range(u)]
            cell = new_c
            outs[s, k_out] = h
    return outs


def _scalar_gru(x, k, rk, b, *, reset_after):
    """GRU step by step with scalar Python arithmetic (Keras GRUCell, implementation 1)."""
    n, t_len, c = x.shape
    u = rk.shape[0]
    b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros(3 * u))
    outs = np.zeros((n, t_len, u))
    for s in range(n):
        h = [0.0] * u
        for t in range(t_len):
            xp = [[b_in[g * u + j] + sum(x[s, t, i] * k[i, g * u + j] for i in range(c))
                   for j in range(u)] for g in range(3)]
            hp = [[b_rec[g * u + j] + sum(h[m] * rk[m, g * u + j] for m in range(u))
                   for j in range(u)] for g in range(2)]
            z = [_sig(xp[0][j] + hp[0][j]) for j in range(u)]
            r = [_sig(xp[1][j] + hp[1][j]) for j in range(u)]
            if reset_after:
                rh = [r[j] * (b_rec[2 * u + j] + sum(h[m] * rk[m, 2 * u + j] for m in range(u)))
                      for j in range(u)]
            else:
                rh = [sum(r[m] * h[m] * rk[m, 2 * u + j] for m in range(u)) for j in range(u)]
            hh = [math.tanh(xp[2][j] + rh[j]) for j in range(u)]
            h = [z[j] * h[j] + (1 - z[j]) * hh[j] for j in range(u)]
            outs[s, t] = h
    return outs


def test_lstm_matches_a_scalar_formulation_both_directions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 2))
    k, rk, b = _weights("lstm", rng)
    for direction in ("forward", "backward"):
        got = KERNELS["lstm"]([x, k, rk, b], _attrs("lstm", direction=direction))
        want = _scalar_lstm(x, k, rk, b, backwards=direction == "backward")
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_a_scalar_formulation(reset_after):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 2))
    k, rk, b = _weights("gru", rng, reset_after=reset_after)
    got = KERNELS["gru"]([x, k, rk, b], _attrs("gru", reset_after=reset_after))
    np.testing.assert_allclose(got, _scalar_gru(x, k, rk, b, reset_after=reset_after),
                               rtol=0, atol=1e-12)


def test_gru_reset_after_differs_from_reset_before():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 4, 2))
    k, rk, b = _weights("gru", rng, reset_after=False)
    a = KERNELS["gru"]([x, k, rk, b], _attrs("gru", reset_after=False))
    b2 = np.stack([b, np.zeros_like(b)])
    c = KERNELS["gru"]([x, k, rk, b2], _attrs("gru", reset_after=True))
    assert np.abs(a - c).max() > 1e-3


def test_simple_rnn_linear_closed_form():
    # units=1, C=1, linear: h_t = sum_{s<=t} r^(t-s) (w x_s + b)
    x = np.array([[[1.0], [-2.0], [0.5], [3.0]]])
    w, r, b = 0.7, 0.4, 0.1
    got = KERNELS["simple_rnn"]([x, np.array([[w]]), np.array([[r]]), np.array([b])],
                                _attrs("simple_rnn", units=1, act="linear"))
    want = [sum(r ** (t - s) * (w * x[0, s, 0] + b) for s in range(t + 1)) for t in range(4)]
    np.testing.assert_allclose(got[0, :, 0], want, rtol=1e-13)


def test_lstm_constant_gate_closed_form():
    # zero kernels: i, f, o and the candidate are constants, so
    # c_t = i g (1 - f^t) / (1 - f) and h_t = o tanh(c_t)
    units, bias = 2, np.array([0.3, -0.2, 1.0, 0.5, 0.7, 0.1, -0.4, 0.9])
    x = np.random.default_rng(3).normal(size=(1, 5, 2))
    got = KERNELS["lstm"]([x, np.zeros((2, 8)), np.zeros((2, 8)), bias],
                          _attrs("lstm", units=units))
    i, f, g, o = (bias[2 * q:2 * q + 2] for q in range(4))
    i, f, o, g = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o)), np.tanh(g)
    t = np.arange(1, 6)[:, None]
    np.testing.assert_allclose(got[0], o * np.tanh(i * g * (1 - f ** t) / (1 - f)), rtol=1e-13)


def test_gru_constant_gate_closed_form():
    # zero kernels, reset_after: z = sigmoid(0.4 + 0), r = sigmoid(-1.0 + 0.5) and the
    # candidate hh = tanh(0.8 + r * -0.3) are constants, so h_t = z h_{t-1} + (1 - z) hh
    # = hh (1 - z^t)
    bias = np.array([[0.4, -1.0, 0.8], [0.0, 0.5, -0.3]])  # units=1: z, r, h
    x = np.random.default_rng(4).normal(size=(2, 6, 3))
    got = KERNELS["gru"]([x, np.zeros((3, 3)), np.zeros((1, 3)), bias],
                         _attrs("gru", units=1, seq=False))
    z, r = 1 / (1 + np.exp(-0.4)), 1 / (1 + np.exp(0.5))
    np.testing.assert_allclose(got, np.full((2, 1), np.tanh(0.8 - 0.3 * r) * (1 - z ** 6)),
                               rtol=1e-13)


@pytest.mark.parametrize("op", sorted(G))
def test_backward_is_forward_on_the_reversed_input_in_processing_order(op):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 2))
    w = list(_weights(op, rng))
    back = KERNELS[op]([x] + w, _attrs(op, direction="backward"))
    fwd_rev = KERNELS[op]([x[:, ::-1]] + w, _attrs(op))
    np.testing.assert_array_equal(back, fwd_rev)
    last = KERNELS[op]([x] + w, _attrs(op, direction="backward", seq=False))
    np.testing.assert_array_equal(last, back[:, -1])


@pytest.mark.parametrize("op", sorted(G))
@pytest.mark.parametrize("seq", [True, False])
def test_bidirectional_merges_forward_and_realigned_backward(op, seq):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 5, 2))
    fw, bw = list(_weights(op, rng)), list(_weights(op, rng))
    y = KERNELS[op]([x] + fw, _attrs(op, seq=seq))
    y_rev = KERNELS[op]([x] + bw, _attrs(op, direction="backward", seq=seq))
    if seq:
        y_rev = y_rev[:, ::-1]
    want = {"concat": np.concatenate([y, y_rev], -1), "sum": y + y_rev, "mul": y * y_rev,
            "ave": (y + y_rev) / 2}
    for merge, expected in want.items():
        got = KERNELS[op]([x] + fw + bw, _attrs(op, direction="bidirectional", merge=merge,
                                                 seq=seq))
        np.testing.assert_array_equal(got, expected)


def test_activations_are_applied():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 3, 2))
    w = list(_weights("simple_rnn", rng, scale=2.0))
    relu = KERNELS["simple_rnn"]([x] + w, _attrs("simple_rnn", act="relu"))
    assert relu.min() == 0.0 and relu.max() > 0
    hs = KERNELS["simple_rnn"]([x] + w, _attrs("simple_rnn", act="hard_sigmoid"))
    assert 0 <= hs.min() and hs.max() <= 1


def test_interpreter_runs_a_graph_with_dynamic_time_and_omitted_bias():
    rng = np.random.default_rng(8)
    k, rk, _ = _weights("lstm", rng)
    weights = {"k": k.astype(np.float32), "rk": rk.astype(np.float32)}
    attrs = _attrs("lstm", direction="bidirectional", merge="concat", seq=False)
    node = Node("lstm", "y", ["x", "k", "rk", "", "k", "rk"], [Value("y", f32("batch", 6))],
                attrs)
    graph = verify_graph(Graph("g", [Value("x", f32("batch", None, 2))], ["y"], [node],
                               weights))
    for t in (1, 4):
        x = rng.normal(size=(3, t, 2)).astype(np.float32)
        out = evaluate(graph, {"x": x})["y"]
        assert out.shape == (3, 6) and out.dtype == np.float32
        k64, rk64 = (weights[n].astype(np.float64) for n in ("k", "rk"))
        fwd = _scalar_lstm(x.astype(np.float64), k64, rk64, np.zeros(12))[:, -1]
        bwd = _scalar_lstm(x.astype(np.float64), k64, rk64, np.zeros(12), backwards=True)[:, -1]
        np.testing.assert_allclose(out, np.concatenate([fwd, bwd], -1), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- masks, states

BOOL_MASK = TensorType("bool", ("batch", None))


def _with(types, op, *, mask=None, states=()):
    """``types`` padded to the mask and initial-state positions (7 onwards)."""
    n = 8 + (4 if op == "lstm" else 2)
    out = (list(types) + [None] * n)[:n]
    out[7] = mask
    for i, s in enumerate(states):
        out[8 + i] = s
    while out and out[-1] is None:
        out.pop()
    return out


def test_state_results_and_the_type_rule_of_the_new_inputs():
    types = _with(_types("lstm"), "lstm", mask=BOOL_MASK, states=[f32("batch", 3)] * 2)
    assert infer_types("lstm", types, _attrs("lstm"))[0] == f32("batch", None, 3)
    for result in ("h", "c"):
        got = infer_types("lstm", types, {**_attrs("lstm"), "return_state": True,
                                          "result": result})
        assert got[0] == f32("batch", 3)
    bi = _with(_types("gru", bidirectional=True), "gru", states=[f32("batch", 3)] * 2)
    attrs = {**_attrs("gru", direction="bidirectional", merge="concat"), "return_state": True}
    assert infer_types("gru", bi, {**attrs, "result": "backward_h"})[0] == f32("batch", 3)
    _reject("gru", bi, {**attrs, "result": "c"}, "result='c'")
    _reject("lstm", types, {**_attrs("lstm"), "result": "h"}, "return_state=true")
    _reject("lstm", types, {**_attrs("lstm"), "return_state": True, "result": "backward_h"},
            "backward_h")


def test_rejects_bad_masks_and_initial_states():
    base = _types("lstm", t=5)
    _reject("lstm", _with(base, "lstm", mask=f32("batch", 5)), _attrs("lstm"), "bool", 7)
    _reject("lstm", _with(base, "lstm", mask=TensorType("bool", ("batch", 4))),
            _attrs("lstm"), "axis 1", 7)
    _reject("lstm", _with(base, "lstm", states=[f32("batch", 3)]), _attrs("lstm"),
            "missing initial_c", 9)
    _reject("lstm", _with(base, "lstm", states=[f32("batch", 3), f32("batch", 4)]),
            _attrs("lstm"), "initial_c must be", 9)
    _reject("gru", _with(_types("gru"), "gru", states=[f32("batch", 3)] * 2), _attrs("gru"),
            "needs direction='bidirectional'", 9)


def _compacted(op, x, mask, w, attrs):
    """An independent formulation of a masked forward pass: run each row over its
    unmasked steps only, then spread the outputs back (the previous output at masked
    steps, zeros before the first unmasked one)."""
    seq = np.zeros(x.shape[:2] + (attrs["units"],))
    for i in range(x.shape[0]):
        steps = np.flatnonzero(mask[i])
        if not len(steps):
            continue
        y = KERNELS[op]([x[i:i + 1, steps]] + w, attrs)[0]
        for t in range(x.shape[1]):
            k = np.searchsorted(steps, t, side="right") - 1
            if k >= 0:
                seq[i, t] = y[k]
    return seq


MASKS = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 1], [0, 0, 0, 0, 0],
                  [1, 1, 1, 1, 1]], bool)


@pytest.mark.parametrize("op", sorted(G))
def test_a_masked_step_is_skipped_carrying_states_and_the_previous_output(op):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(5, 5, 2))
    w = list(_weights(op, rng))
    got = KERNELS[op](_with([x] + w, op, mask=MASKS), _attrs(op))
    np.testing.assert_allclose(got, _compacted(op, x, MASKS, w, _attrs(op)), atol=1e-12)
    np.testing.assert_array_equal(got[4], KERNELS[op]([x] + w, _attrs(op))[4])  # all valid
    back = KERNELS[op](_with([x] + w, op, mask=MASKS), _attrs(op, direction="backward"))
    np.testing.assert_array_equal(
        back, KERNELS[op](_with([x[:, ::-1]] + w, op, mask=MASKS[:, ::-1]), _attrs(op)))
    zero = KERNELS[op](_with([x] + w, op, mask=MASKS),
                       {**_attrs(op), "zero_output_for_mask": True})
    np.testing.assert_array_equal(zero, np.where(MASKS[..., None], got, 0.0))
    last = KERNELS[op](_with([x] + w, op, mask=MASKS), _attrs(op, seq=False))
    np.testing.assert_array_equal(last, got[:, -1])
    last_zero = KERNELS[op](_with([x] + w, op, mask=MASKS),
                            {**_attrs(op, seq=False), "zero_output_for_mask": True})
    np.testing.assert_array_equal(last_zero, zero[:, -1])


def test_initial_states_and_fully_masked_rows():
    """A fully masked row outputs zeros but keeps the initial states (Keras'
    ``backend.rnn``: the output starts at zeros, the states at the initial ones)."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 5, 2))
    w = list(_weights("lstm", rng))
    h0, c0 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    inputs = _with([x] + w, "lstm", mask=MASKS, states=[h0, c0])
    attrs = {**_attrs("lstm", seq=False), "return_state": True}
    out = KERNELS["lstm"](inputs, {**attrs, "result": "output"})
    h = KERNELS["lstm"](inputs, {**attrs, "result": "h"})
    c = KERNELS["lstm"](inputs, {**attrs, "result": "c"})
    assert np.all(out[3] == 0)
    np.testing.assert_array_equal(h[3], h0[3])
    np.testing.assert_array_equal(c[3], c0[3])
    np.testing.assert_array_equal(h[:3], out[:3])
    unmasked = KERNELS["lstm"](_with([x] + w, "lstm", states=[h0, c0]), _attrs("lstm"))
    assert not np.allclose(unmasked, KERNELS["lstm"]([x] + w, _attrs("lstm")), atol=1e-3)
    # with a bidirectional node, the backward states come second
    bw = list(_weights("lstm", rng))
    bi = _with([x] + w + bw, "lstm", states=[h0, c0, c0, h0])
    battrs = {**_attrs("lstm", direction="bidirectional", merge="sum"), "return_state": True}
    bh = KERNELS["lstm"](bi, {**battrs, "result": "backward_h"})
    alone = KERNELS["lstm"](_with([x] + bw, "lstm", states=[c0, h0]),
                            {**_attrs("lstm", direction="backward"), "return_state": True,
                             "result": "h"})
    np.testing.assert_array_equal(bh, alone)


# --------------------------------------------------------------------------- conv_lstm

def _conv_attrs(r=2, **kw):
    a = {"filters": 3, "strides": (1,) * r, "dilations": (1,) * r, "padding": "same",
         "activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": True,
         "direction": "forward"}
    a.update(kw)
    return a


def test_conv_lstm_output_types_and_rejections():
    x = f32("batch", None, 9, 8, 2)
    w = [f32(3, 3, 2, 12), f32(3, 3, 3, 12), f32(12)]
    assert infer_types("conv_lstm2d", [x] + w, _conv_attrs()) == (f32("batch", None, 9, 8, 3),)
    got = infer_types("conv_lstm2d", [x] + w, _conv_attrs(strides=(2, 3), padding="valid",
                                                          return_sequences=False))
    assert got == (f32("batch", 4, 2, 3),)
    _reject("conv_lstm2d", [f32("batch", 5, 9, 2)] + w, _conv_attrs(), "rank 5", 0)
    _reject("conv_lstm2d", [x, w[0], f32(3, 3, 2, 12), w[2]], _conv_attrs(),
            "recurrent_kernel", 2)
    _reject("conv_lstm2d", [f32("batch", 2, 9, 8, 4)] + w, _conv_attrs(), "2 input channels", 0)
    _reject("conv_lstm2d", [x] + w, _conv_attrs(filters=2), "filters=2", 1)
    _reject("conv_lstm1d", [f32("batch", 2, 2, 2), f32(3, 2, 12), f32(3, 3, 12)],
            _conv_attrs(1, padding="valid"), "does not fit")


@pytest.mark.parametrize("direction,seq", [("forward", True), ("backward", False)])
def test_conv_lstm_with_1x1_kernels_is_an_lstm_per_pixel(direction, seq):
    """An independent formulation: 1x1 convolutions make every pixel an LSTM of its own."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 4, 3, 2, 2))
    k, rk, b = _weights("lstm", rng)
    got = KERNELS["conv_lstm2d"]([x, k[None, None], rk[None, None], b],
                                 _conv_attrs(direction=direction, return_sequences=seq))
    pixels = x.transpose(0, 2, 3, 1, 4).reshape(12, 4, 2)
    want = KERNELS["lstm"]([pixels, k, rk, b], _attrs("lstm", direction=direction, seq=seq))
    if seq:
        want = want.reshape(2, 3, 2, 4, 3).transpose(0, 3, 1, 2, 4)
    else:
        want = want.reshape(2, 3, 2, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_conv_lstm_recurrent_convolution_sees_the_neighbours():
    """Not a per-pixel LSTM once the recurrent kernel is 3x3: the 1x1 formulation above
    differs, so the test is not vacuous."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(1, 3, 4, 4, 2))
    k = rng.normal(0, 0.5, (3, 3, 2, 12))
    rk = rng.normal(0, 0.5, (3, 3, 3, 12))
    centre = np.zeros_like(rk)
    centre[1, 1] = rk[1, 1]
    a = KERNELS["conv_lstm2d"]([x, k, rk], _conv_attrs())
    b = KERNELS["conv_lstm2d"]([x, k, centre], _conv_attrs())
    np.testing.assert_array_equal(a[:, 0], b[:, 0])  # h = 0 at the first step
    assert np.abs(a[:, 1:] - b[:, 1:]).max() > 1e-3
