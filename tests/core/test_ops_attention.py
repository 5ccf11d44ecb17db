"""``multi_head_attention`` and ``attention`` in the core (no TensorFlow or onnx): their
type rules and what they reject, the verifier and the file format on a graph using
``multi_head_attention``, and the NumPy reference kernels against independent
formulations (per-head explicit matrices; per-(n, t, s) score loops), with
hand-checkable causal properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphir.errors import GraphInvariantError
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.attention import MASK_VALUE, attention, multi_head_attention
from graphir.serialization import graph_from_json, graph_to_json
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

OP = "multi_head_attention"
F32 = "float32"


def T(shape, dtype=F32):
    return TensorType(dtype, tuple(shape))


def mha_types(*, q=("batch", 5, 8), v=("batch", 7, 6), k=None, heads=2, kdim=3, vdim=4,
              out=(8,), bias=True, dtype=F32):
    """Input types of a valid node (key omitted unless ``k`` is given)."""
    dk = k[-1] if k is not None else v[-1]
    return [T(q, dtype), T(v, dtype), T(k, dtype) if k is not None else None,
            T((q[-1], heads, kdim), dtype), T((heads, kdim), dtype) if bias else None,
            T((dk, heads, kdim), dtype), T((heads, kdim), dtype) if bias else None,
            T((v[-1], heads, vdim), dtype), T((heads, vdim), dtype) if bias else None,
            T((heads, vdim) + tuple(out), dtype), T(out, dtype) if bias else None]


def attrs(heads=2, kdim=3, vdim=4, causal=False):
    return {"num_heads": heads, "key_dim": kdim, "value_dim": vdim, "causal": causal}


# --------------------------------------------------------------------------- type rule

@pytest.mark.parametrize("kw,want", [
    (dict(), ("batch", 5, 8)),
    (dict(out=(4, 2)), ("batch", 5, 4, 2)),
    (dict(out=(3,), bias=False), ("batch", 5, 3)),
    (dict(k=("batch", 7, 4)), ("batch", 5, 8)),
    (dict(q=("batch", None, 8), v=("batch", None, 6)), ("batch", None, 8)),
    (dict(q=(2, "t", 8), v=(2, "s", 6), k=(2, "s", 5)), (2, "t", 8)),
])
def test_type_rule_output(kw, want):
    a = attrs()
    (out,) = infer_types(OP, mha_types(**kw), a)
    assert out == T(want)


def test_type_rule_keeps_float64():
    (out,) = infer_types(OP, mha_types(dtype="float64"), attrs())
    assert out.dtype.value == "float64"


def _replace(types, index, new):
    types = list(types)
    types[index] = new
    return types


REJECTIONS = {
    "query rank 2": (_replace(mha_types(), 0, T(("batch", 8))), attrs(), 0),
    "value rank 4": (_replace(mha_types(), 1, T(("batch", 7, 2, 6))), attrs(), 1),
    "key rank 2": (_replace(mha_types(k=("batch", 7, 4)), 2, T(("batch", 4))), attrs(), 2),
    "int query": (mha_types(dtype="int32"), attrs(), 0),
    "dtype mismatch": (_replace(mha_types(), 3, T((8, 2, 3), "float64")), attrs(), 3),
    "query kernel rank 2": (_replace(mha_types(), 3, T((8, 6))), attrs(), 3),
    "wrong heads": (mha_types(), attrs(heads=3), 3),
    "wrong key_dim": (mha_types(), attrs(kdim=2), 3),
    "wrong value_dim": (mha_types(), attrs(vdim=5), 7),
    "query features": (_replace(mha_types(), 0, T(("batch", 5, 9))), attrs(), 0),
    "value features": (_replace(mha_types(), 1, T(("batch", 7, 5))), attrs(), 1),
    "key features": (_replace(mha_types(k=("batch", 7, 4)), 2, T(("batch", 7, 3))), attrs(), 2),
    "key sequence": (_replace(mha_types(k=("batch", 7, 4)), 2, T(("batch", 6, 4))), attrs(), 2),
    "key batch": (mha_types(q=(2, 5, 8), v=(2, 7, 6), k=(3, 7, 4)), attrs(), 2),
    "query batch": (mha_types(q=(2, 5, 8), v=(3, 7, 6)), attrs(), 1),
    "query bias": (_replace(mha_types(), 4, T((3, 2))), attrs(), 4),
    "value bias": (_replace(mha_types(), 8, T((2, 3))), attrs(), 8),
    "output bias": (_replace(mha_types(), 10, T((7,))), attrs(), 10),
    "output kernel rank 2": (_replace(mha_types(), 9, T((2, 4))), attrs(), 9),
    "output kernel heads": (_replace(mha_types(), 9, T((4, 2, 8))), attrs(), 9),
    "zero heads": (mha_types(heads=0), attrs(heads=0), None),
}


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_type_rule_rejects(name):
    types, a, index = REJECTIONS[name]
    with pytest.raises(TypeRuleError) as info:
        infer_types(OP, types, a)
    assert info.value.input_index == index


def test_schema_marks_every_parameter_as_a_weight_and_keeps_positions():
    schema = get_schema(OP)
    assert schema.weight_inputs == tuple(range(3, 11))
    assert schema.check_arity(10) is None  # the trailing output_bias omitted
    assert schema.check_arity(9) is not None  # output_kernel is required
    assert schema.check_attrs(attrs()) is None
    assert schema.check_attrs({**attrs(), "causal": 1}) is not None
    assert schema.check_attrs({k: v for k, v in attrs().items() if k != "causal"}) is not None


# --------------------------------------------------------------------------- graphs

def mha_graph(*, t=5, s=7, dq=8, dv=6, dk=None, heads=2, kdim=3, vdim=4, out=(8,),
              bias=True, causal=False, seed=0, dtype=F32) -> Graph:
    """A one-node graph ``y = multi_head_attention(q, v[, k])`` with seeded weights."""
    rng = np.random.default_rng(seed)
    ins = [Value("q", T(("batch", t, dq), dtype)), Value("v", T(("batch", s, dv), dtype))]
    if dk is not None:
        ins.append(Value("k", T(("batch", s, dk), dtype)))
    weights = {}

    def w(name, shape, present=True):
        if not present:
            return ""
        weights[name] = rng.normal(0.0, 0.5, shape).astype(dtype)
        return name

    names = ["q", "v", "k" if dk is not None else "",
             w("mha/query/kernel", (dq, heads, kdim)), w("mha/query/bias", (heads, kdim), bias),
             w("mha/key/kernel", (dk or dv, heads, kdim)), w("mha/key/bias", (heads, kdim), bias),
             w("mha/value/kernel", (dv, heads, vdim)), w("mha/value/bias", (heads, vdim), bias),
             w("mha/out/kernel", (heads, vdim) + out), w("mha/out/bias", out, bias)]
    a = attrs(heads, kdim, vdim, causal)
    types = ([ins[0].type, ins[1].type, ins[2].type if dk is not None else None]
             + [T(weights[n].shape, dtype) if n else None for n in names[3:]])
    (out_t,) = infer_types(OP, types, a)
    return Graph("g", ins, ["y"], [Node(OP, "y", names, [Value("y", out_t)], a)], weights)


def test_graph_verifies_and_round_trips_through_the_file_format():
    g = verify_graph(mha_graph(dk=5, bias=False, causal=True))
    back = graph_from_json(graph_to_json(g), dict(g.weights))
    assert str(back) == str(g)
    assert "multi_head_attention(%q, %v, %k, %mha/query/kernel, none" in str(g)


def test_verifier_rejects_a_computed_kernel():
    g = mha_graph()
    node = g.nodes[0]
    bad = Node(OP, "y", ("q", "v", "", "q") + tuple(node.inputs[4:]), node.outputs, node.attrs)
    with pytest.raises(GraphInvariantError):
        verify_graph(Graph("g", g.inputs, ["y"], [bad], g.weights))


# --------------------------------------------------------------------------- reference kernel

def naive_mha(query, value, key, w, *, heads, kdim, causal):
    """One sample, one head at a time, with 2-D matrices and Python loops over heads."""
    key = value if key is None else key
    n_batch, t_len = query.shape[:2]
    s_len = value.shape[1]
    out_dims = w["ok"].shape[2:]
    ys = []
    for n in range(n_batch):
        head_outputs = []
        for h in range(heads):
            qh = query[n] @ w["qk"][:, h, :] + (w["qb"][h] if w["qb"] is not None else 0.0)
            kh = key[n] @ w["kk"][:, h, :] + (w["kb"][h] if w["kb"] is not None else 0.0)
            vh = value[n] @ w["vk"][:, h, :] + (w["vb"][h] if w["vb"] is not None else 0.0)
            scores = (qh @ kh.T) / math.sqrt(kdim)
            if causal:
                for i in range(t_len):
                    for j in range(s_len):
                        if j > i:
                            scores[i, j] = -np.inf
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs = scores / scores.sum(axis=1, keepdims=True)
            head_outputs.append(probs @ vh)  # (T, V)
        y = sum(head_outputs[h] @ w["ok"][h].reshape(w["ok"].shape[1], -1)
                for h in range(heads))
        if w["ob"] is not None:
            y = y + w["ob"].reshape(-1)
        ys.append(y.reshape((t_len,) + out_dims))
    return np.stack(ys)


def _kernel_inputs(g, feeds):
    arrays = {**{k: np.asarray(v, np.float64) for k, v in feeds.items()},
              **{k: np.asarray(v, np.float64) for k, v in g.weights.items()}}
    return [arrays[n] if n else None for n in g.nodes[0].inputs]


CASES = {
    "self": dict(),
    "cross_key": dict(t=4, s=6, dk=5, heads=3, kdim=2, vdim=5),
    "causal": dict(t=5, s=5, causal=True),
    "causal_cross": dict(t=6, s=3, dk=4, causal=True),
    "no_bias_out_shape": dict(bias=False, out=(3, 2), heads=1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_matches_per_head_loops(name):
    kw = CASES[name]
    g = mha_graph(**kw, seed=3)
    rng = np.random.default_rng(7)
    t, s = kw.get("t", 5), kw.get("s", 7)
    feeds = {"q": rng.normal(size=(3, t, 8)), "v": rng.normal(size=(3, s, 6))}
    if "dk" in kw:
        feeds["k"] = rng.normal(size=(3, s, kw["dk"]))
    ins = _kernel_inputs(g, feeds)
    got = multi_head_attention(ins, g.nodes[0].attrs)
    w = dict(zip(["qk", "qb", "kk", "kb", "vk", "vb", "ok", "ob"], ins[3:]))
    want = naive_mha(ins[0], ins[1], ins[2], w, heads=kw.get("heads", 2),
                     kdim=kw.get("kdim", 3), causal=kw.get("causal", False))
    assert got.shape == want.shape
    assert np.std(want) > 0.1
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the interpreter runs the same kernel and returns the declared float32
    out = evaluate(g, {k: v.astype(np.float32) for k, v in feeds.items()})["y"]
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)


def test_causal_output_ignores_later_positions():
    g = mha_graph(t=6, s=6, causal=True, seed=1)
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 6, 8)), rng.normal(size=(2, 6, 6))
    base = multi_head_attention(_kernel_inputs(g, {"q": q, "v": v}), g.nodes[0].attrs)
    v2 = v.copy()
    v2[:, 4:] += 10.0  # change only key/value positions 4 and 5
    changed = multi_head_attention(_kernel_inputs(g, {"q": q, "v": v2}), g.nodes[0].attrs)
    np.testing.assert_array_equal(changed[:, :4], base[:, :4])
    assert np.abs(changed[:, 4:] - base[:, 4:]).min() > 1e-6


def test_causal_first_position_attends_only_to_the_first_value():
    """Row 0 of the causal mask keeps s = 0 only: the output is the first value's
    projection sent through the output projection, whatever the query."""
    g = mha_graph(t=4, s=4, causal=True, seed=5)
    rng = np.random.default_rng(6)
    q, v = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 4, 6))
    ins = _kernel_inputs(g, {"q": q, "v": v})
    got = multi_head_attention(ins, g.nodes[0].attrs)
    vk, vb, ok, ob = ins[7], ins[8], ins[9], ins[10]
    v0 = np.einsum("nd,dhk->nhk", v[:, 0], vk) + vb  # (N, H, V)
    want = np.einsum("nhk,hko->no", v0, ok) + ob
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12, atol=1e-12)


def test_mask_value_is_keras_large_negative_and_finite_in_float32():
    assert MASK_VALUE == -0.7 * 3.38953e38
    assert np.isfinite(np.float32(MASK_VALUE))


# =========================================================================== attention


def att_types(mode="dot", *, q=("batch", 5, 4), v=("batch", 7, 6), k=("batch", 7, 4),
              scale=True, dtype=F32):
    d = q[-1]
    scale_t = (T((d,), dtype) if mode == "additive" else T((), dtype)) if scale else None
    return [T(q, dtype), T(v, dtype), T(k, dtype) if k is not None else None, scale_t,
            T((), dtype) if mode == "concat" else None]


@pytest.mark.parametrize("mode", ["dot", "concat", "additive"])
def test_attention_type_rule_output(mode):
    (out,) = infer_types("attention", att_types(mode), {"score_mode": mode, "causal": True})
    assert out == T(("batch", 5, 6))
    (out,) = infer_types("attention", att_types(mode, v=("batch", None, 4), k=None,
                                                 scale=False),
                         {"score_mode": mode, "causal": False})
    assert out == T(("batch", 5, 4))


ATT_REJECTIONS = {
    "query rank 2": ("dot", _replace(att_types(), 0, T(("batch", 4))), 0),
    "int query": ("dot", att_types(dtype="int32"), 0),
    "key features": ("dot", _replace(att_types(), 2, T(("batch", 7, 3))), 2),
    "value as key features": ("dot", att_types(k=None), 1),
    "key sequence": ("concat", _replace(att_types("concat"), 2, T(("batch", 6, 4))), 2),
    "query batch": ("dot", att_types(q=(2, 5, 4), v=(3, 7, 6), k=(3, 7, 4)), 1),
    "dot scale vector": ("dot", _replace(att_types(), 3, T((4,))), 3),
    "additive scale scalar": ("additive", _replace(att_types("additive"), 3, T(())), 3),
    "concat without weight": ("concat", _replace(att_types("concat"), 4, None), 4),
    "dot with concat weight": ("dot", _replace(att_types(), 4, T(())), 4),
    "dtype mismatch": ("dot", _replace(att_types(), 3, T((), "float64")), 3),
}


@pytest.mark.parametrize("name", sorted(ATT_REJECTIONS))
def test_attention_type_rule_rejects(name):
    mode, types, index = ATT_REJECTIONS[name]
    with pytest.raises(TypeRuleError) as info:
        infer_types("attention", types, {"score_mode": mode, "causal": False})
    assert info.value.input_index == index


def naive_attention(q, v, k, scale, csw, mode, causal):
    """Scores one (n, t, s) triple at a time, then an explicit softmax per row."""
    k = v if k is None else k
    n_batch, tq, _ = q.shape
    tv = v.shape[1]
    out = np.zeros((n_batch, tq, v.shape[2]))
    for n in range(n_batch):
        for t in range(tq):
            row = []
            for s in range(tv):
                if mode == "dot":
                    sc = float(np.dot(q[n, t], k[n, s])) * (1.0 if scale is None else scale)
                elif mode == "concat":
                    inner = (q[n, t] + k[n, s]) * (1.0 if scale is None else scale)
                    sc = csw * sum(math.tanh(x) for x in inner)
                else:
                    w = np.ones(q.shape[2]) if scale is None else scale
                    sc = sum(w[d] * math.tanh(q[n, t, d] + k[n, s, d])
                             for d in range(q.shape[2]))
                row.append(-np.inf if causal and s > t else sc)
            e = np.exp(np.asarray(row) - max(row))
            out[n, t] = (e / e.sum()) @ v[n]
    return out


@pytest.mark.parametrize("mode,causal,with_key,with_scale", [
    ("dot", False, False, False), ("dot", True, True, True),
    ("concat", False, True, True), ("concat", True, True, False),
    ("additive", True, False, True), ("additive", False, True, False),
])
def test_attention_reference_matches_loops(mode, causal, with_key, with_scale):
    rng = np.random.default_rng(11)
    q = rng.normal(size=(2, 5, 4))
    v = rng.normal(size=(2, 6, 4 if not with_key else 3))
    k = rng.normal(size=(2, 6, 4)) if with_key else None
    scale = None
    if with_scale:
        scale = rng.uniform(0.5, 1.5, size=(4,)) if mode == "additive" else np.float64(1.3)
    csw = np.float64(0.8) if mode == "concat" else None
    got = attention([q, v, k, scale, csw], {"score_mode": mode, "causal": causal})
    want = naive_attention(q, v, k, scale, csw, mode, causal)
    assert np.std(want) > 0.1
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_attention_causal_first_row_is_the_first_value():
    rng = np.random.default_rng(12)
    q, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    got = attention([q, v, None, None, None], {"score_mode": "dot", "causal": True})
    np.testing.assert_array_equal(got[:, 0], v[:, 0])
