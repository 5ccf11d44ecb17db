"""The reductions and linear algebra of graphir/ops/reduction.py without a framework:
shape and dtype rules with their rejections (canonical axes, symbolic dims kept), the
kernels against values computed by hand, and a graph through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphir.ops.reduction  # noqa: F401  (registers the group)
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.reduction import REDUCE_OPS, parse_einsum
from graphir.ops.registry import Layout
from graphir.tensor_types import TensorType

F32_TINY = -float(np.finfo(np.float32).tiny)


def _t(*shape, dtype="float32") -> TensorType:
    return TensorType(dtype, shape)


def _k(op):
    return get_schema(op).kernel


# ------------------------------------------------------------------ reductions: rules

@pytest.mark.parametrize("op", sorted(REDUCE_OPS))
@pytest.mark.parametrize("axes,keepdims,want", [
    ((1,), False, ("batch", 5)),
    ((1, 2), True, ("batch", 1, 1)),
    ((2,), True, ("batch", None, 1)),
    ((0, 1, 2), False, ()),
    ((), False, ("batch", None, 5)),          # empty axes: nothing reduced
])
def test_reduction_shapes_keep_symbolic_dims(op, axes, keepdims, want):
    (out,) = infer_types(op, [_t("batch", None, 5)], {"axes": axes, "keepdims": keepdims})
    assert out == _t(*want)


@pytest.mark.parametrize("axes", [(-1,), (2, 1), (1, 1), (3,)])
def test_reduction_axes_must_be_canonical(axes):
    with pytest.raises(TypeRuleError, match="canonical"):
        infer_types("sum", [_t("batch", 4, 5)], {"axes": axes, "keepdims": False})


@pytest.mark.parametrize("op,dtype,ok", [
    ("sum", "int32", True), ("sum", "int64", True), ("sum", "float16", True),
    ("sum", "bool", False), ("sum", "int8", False), ("sum", "uint8", False),
    ("prod", "int32", True), ("prod", "int16", False),
    ("mean", "float64", True), ("mean", "int32", False), ("var", "int32", False),
    ("std", "bool", False),
    ("max", "uint8", True), ("max", "int8", True), ("max", "bool", False),
    ("min", "int64", True), ("min", "int16", False),
])
def test_reduction_dtypes(op, dtype, ok):
    attrs = {"axes": (1,), "keepdims": False}
    if ok:
        (out,) = infer_types(op, [_t(2, 3, dtype=dtype)], attrs)
        assert out == _t(2, dtype=dtype)
    else:
        with pytest.raises(TypeRuleError) as info:
            infer_types(op, [_t(2, 3, dtype=dtype)], attrs)
        assert info.value.actual == dtype and "cast" in info.value.hint


def test_every_op_of_the_group_is_channels_last():
    for op in list(REDUCE_OPS) + ["argmax", "argmin", "matmul", "einsum"]:
        assert get_schema(op).layout is Layout.CHANNELS_LAST, op


# ------------------------------------------------------------------ reductions: kernels

X = np.array([[[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]]])  # (1, 2, 3)


def test_reduction_kernels_by_hand():
    a1 = {"axes": (1,), "keepdims": False}
    np.testing.assert_array_equal(_k("sum")([X], a1), [[5.0, -1.5, -3.0]])
    np.testing.assert_array_equal(_k("max")([X], a1), [[4.0, 0.5, 3.0]])
    np.testing.assert_array_equal(_k("min")([X], a1), [[1.0, -2.0, -6.0]])
    np.testing.assert_array_equal(_k("prod")([X], a1), [[4.0, -1.0, -18.0]])
    np.testing.assert_array_equal(_k("mean")([X], a1), [[2.5, -0.75, -1.5]])
    a12 = {"axes": (1, 2), "keepdims": True}
    assert _k("sum")([X], a12).shape == (1, 1, 1) and _k("sum")([X], a12)[0, 0, 0] == 0.5
    # population variance: mean of squared deviations (divisor n)
    v = _k("var")([np.array([[1.0, 3.0, 5.0, 7.0]])], {"axes": (1,), "keepdims": False})
    np.testing.assert_allclose(v, [5.0])
    s = _k("std")([np.array([[1.0, 3.0, 5.0, 7.0]])], {"axes": (1,), "keepdims": True})
    np.testing.assert_allclose(s, [[np.sqrt(5.0)]])
    # empty axes: the input itself
    np.testing.assert_array_equal(_k("sum")([X], {"axes": (), "keepdims": False}), X)


def test_integer_sums_wrap_and_keep_their_dtype():
    big = np.array([[2**30, 2**30, 2**30]], np.int32)
    got = _k("sum")([big], {"axes": (1,), "keepdims": False})
    assert got.dtype == np.int32 and got[0] == np.int32(-(2**30))  # 3 * 2**30 wraps
    p = _k("prod")([np.array([[3, -2, 5]], np.int64)], {"axes": (1,), "keepdims": False})
    assert p.dtype == np.int64 and p[0] == -30


# ------------------------------------------------------------------ argmax / argmin

def _arg_attrs(axis=1, keepdims=False, nz=None):
    return {"axis": axis, "keepdims": keepdims, "negative_zero_as": nz}


def test_arg_rules():
    (out,) = infer_types("argmax", [_t("batch", None, 5)], _arg_attrs(1))
    assert out == _t("batch", 5, dtype="int32")
    (out,) = infer_types("argmin", [_t("batch", 4, 5, dtype="int64")], _arg_attrs(2, True))
    assert out == _t("batch", 4, 1, dtype="int32")
    with pytest.raises(TypeRuleError, match="non-negative"):
        infer_types("argmax", [_t("batch", 5)], _arg_attrs(-1))
    with pytest.raises(TypeRuleError, match="float inputs only"):
        infer_types("argmax", [_t("batch", 5, dtype="int32")], _arg_attrs(1, nz=F32_TINY))
    with pytest.raises(TypeRuleError, match="<= 0"):
        infer_types("argmax", [_t("batch", 5)], _arg_attrs(1, nz=1.0))
    with pytest.raises(TypeRuleError):
        infer_types("argmax", [_t("batch", 5, dtype="bool")], _arg_attrs(1))
    with pytest.raises(TypeRuleError, match="scalar"):
        infer_types("argmax", [_t()], _arg_attrs(0))


def test_arg_kernels_first_index_on_ties():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [0.5, 0.5, 7.0, 0.5]])
    got = _k("argmax")([x], _arg_attrs(1))
    assert got.dtype == np.int32 and got.tolist() == [1, 2]
    assert _k("argmin")([x], _arg_attrs(1)).tolist() == [0, 0]
    assert _k("argmax")([x], _arg_attrs(0, True)).tolist() == [[0, 0, 1, 0]]


def test_negative_zero_ranks_below_positive_zero_only_when_asked():
    x = np.array([[-0.0, 0.0, -1.0], [0.0, -0.0, -3.0]])
    assert _k("argmax")([x], _arg_attrs(1)).tolist() == [0, 0]            # -0.0 == +0.0
    assert _k("argmax")([x], _arg_attrs(1, nz=F32_TINY)).tolist() == [1, 0]
    assert _k("argmin")([x[:, :2]], _arg_attrs(1)).tolist() == [0, 0]
    assert _k("argmin")([x[:, :2]], _arg_attrs(1, nz=F32_TINY)).tolist() == [0, 1]


# ------------------------------------------------------------------ matmul

@pytest.mark.parametrize("a,b,want", [
    (("batch", 4, 5), (5, 3), ("batch", 4, 3)),
    (("batch", 4, 5), ("batch", 5, 2), ("batch", 4, 2)),
    ((2, 1, 4, 5), (3, 5, 6), (2, 3, 4, 6)),     # batch dims broadcast
    ((5,), ("batch", 5, 2), ("batch", 2)),        # rank-1 x: a row, dropped
    (("batch", 4, 5), (5,), ("batch", 4)),        # rank-1 y: a column, dropped
    ((5,), (5,), ()),
    (("batch", 4, None), (5, 3), ("batch", 4, 3)),
])
def test_matmul_shapes(a, b, want):
    (out,) = infer_types("matmul", [_t(*a), _t(*b)], {})
    assert out == _t(*want)


def test_matmul_rejections():
    with pytest.raises(TypeRuleError, match="contracts"):
        infer_types("matmul", [_t("batch", 4, 5), _t(4, 3)], {})
    with pytest.raises(TypeRuleError, match="broadcast"):
        infer_types("matmul", [_t(2, 4, 5), _t(3, 5, 3)], {})
    with pytest.raises(TypeRuleError):
        infer_types("matmul", [_t(4, 5), _t(5, 3, dtype="float64")], {})
    with pytest.raises(TypeRuleError, match="scalar"):
        infer_types("matmul", [_t(), _t(5)], {})
    with pytest.raises(TypeRuleError):
        infer_types("matmul", [_t(4, 5, dtype="int8"), _t(5, 3, dtype="int8")], {})
    (out,) = infer_types("matmul", [_t(4, 5, dtype="int32"), _t(5, 3, dtype="int32")], {})
    assert out == _t(4, 3, dtype="int32")


def test_matmul_kernel_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(_k("matmul")([a, np.array([1.0, -1.0])], {}), [-1.0, -1.0])
    np.testing.assert_array_equal(_k("matmul")([a, a], {}), [[7.0, 10.0], [15.0, 22.0]])


# ------------------------------------------------------------------ einsum

def test_einsum_shapes_unify_dims():
    eq = {"equation": "bij,bjk->bik"}
    (out,) = infer_types("einsum", [_t("batch", 4, None), _t("batch", 5, 3)], eq)
    assert out == _t("batch", 4, 3)
    (out,) = infer_types("einsum", [_t("batch", 2, 4, 8), _t("batch", 2, 6, 8)],
                         {"equation": "bhqd,bhkd->bhqk"})
    assert out == _t("batch", 2, 4, 6)
    (out,) = infer_types("einsum", [_t(3, 4)], {"equation": "ij->ji"})
    assert out == _t(4, 3)


@pytest.mark.parametrize("equation,match", [
    ("bij,bjk", "exactly one '->'"),
    ("...ij,jk->...ik", "letters only"),
    ("ii->i", "repeats a letter"),
    ("ij,jk->iz", "appear in no input"),
    ("b ij,bjk->bik", "letters only"),
])
def test_einsum_equation_must_be_canonical(equation, match):
    with pytest.raises(TypeRuleError, match=match):
        parse_einsum(equation)


def test_einsum_rejections():
    with pytest.raises(TypeRuleError, match="letter 'j'"):
        infer_types("einsum", [_t(2, 4), _t(5, 3)], {"equation": "ij,jk->ik"})
    with pytest.raises(TypeRuleError, match="rank"):
        infer_types("einsum", [_t(2, 4, 1), _t(4, 3)], {"equation": "ij,jk->ik"})
    with pytest.raises(TypeRuleError, match="2 input terms"):
        infer_types("einsum", [_t(2, 4)], {"equation": "ij,jk->ik"})
    with pytest.raises(TypeRuleError):
        infer_types("einsum", [_t(2, 4, dtype="int32"), _t(4, 3, dtype="int32")],
                    {"equation": "ij,jk->ik"})


def test_einsum_kernel_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(_k("einsum")([a, a], {"equation": "ij,kj->ik"}),
                                  [[5.0, 11.0], [11.0, 25.0]])


# ------------------------------------------------------------------ in a graph

def test_attention_scores_graph_in_the_interpreter():
    """einsum scores, max-subtracted, summed; argmax of the scores; a matmul with a
    weight: checked against NumPy written here."""
    q = Value("q", _t("batch", 3, 4))
    k = Value("k", _t("batch", 5, 4))
    w = np.arange(8, dtype=np.float32).reshape(4, 2) / 8
    s = Value("s", _t("batch", 3, 5))
    m = Value("m", _t("batch", 3, 1))
    tot = Value("tot", _t("batch", 3))
    idx = Value("idx", _t("batch", 3, dtype="int32"))
    p = Value("p", _t("batch", 3, 2))
    graph = Graph("g", (q, k), ("tot", "idx", "p"), (
        Node("einsum", "s", ("q", "k"), (s,), {"equation": "bqd,bkd->bqk"}),
        Node("max", "m", ("s",), (m,), {"axes": (2,), "keepdims": True}),
        Node("sum", "tot", ("s",), (tot,), {"axes": (2,), "keepdims": False}),
        Node("argmax", "idx", ("s",), (idx,),
             {"axis": 2, "keepdims": False, "negative_zero_as": None}),
        Node("matmul", "p", ("q", "w"), (p,)),
    ), {"w": w})
    rng = np.random.default_rng(0)
    feeds = {"q": rng.normal(size=(2, 3, 4)).astype(np.float32),
             "k": rng.normal(size=(2, 5, 4)).astype(np.float32)}
    out = evaluate(graph, feeds)
    scores = feeds["q"].astype(np.float64) @ feeds["k"].astype(np.float64).transpose(0, 2, 1)
    np.testing.assert_allclose(out["tot"], scores.sum(-1), rtol=1e-6)
    assert out["idx"].dtype == np.int32
    np.testing.assert_array_equal(out["idx"], scores.argmax(-1))
    assert len(np.unique(out["idx"])) > 1
    np.testing.assert_allclose(out["p"], feeds["q"] @ w, rtol=1e-6)
