"""The shape and indexing ops (graphir/ops/indexing.py) without a framework: type rules
(symbolic batch kept, canonical axes, dtype rules) with their rejections, kernels
against values written by hand, and a graph through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphir.ops.indexing  # noqa: F401  (registers the group)
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import TypeRuleError, get_schema, infer_types
from graphir.ops.indexing import SLICE_BEGIN, SLICE_END
from graphir.ops.registry import Layout
from graphir.tensor_types import TensorType

OPS = ("transpose", "expand_dims", "squeeze", "slice", "gather", "take_along_axis", "tile",
       "repeat", "broadcast_to", "pad", "flip", "stack", "one_hot")


def _t(*shape, dtype="float32") -> TensorType:
    return TensorType(dtype, shape)


def _k(op, inputs, **attrs):
    return get_schema(op).kernel([np.asarray(i) for i in inputs], attrs)


def _rule(op, types, **attrs):
    (out,) = infer_types(op, types, attrs)
    return out


def test_every_op_addresses_axes_channels_last():
    assert {get_schema(op).layout for op in OPS} == {Layout.CHANNELS_LAST}


# ------------------------------------------------------------------ transpose, expand, squeeze

def test_transpose_moves_the_batch_axis_too():
    assert _rule("transpose", [_t("batch", 4, None)], perm=(2, 0, 1)) == _t(None, "batch", 4)
    with pytest.raises(TypeRuleError, match="permutation"):
        _rule("transpose", [_t("batch", 4)], perm=(1, 1))
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(_k("transpose", [x], perm=(1, 0)), [[0, 3], [1, 4], [2, 5]])


def test_expand_dims_and_squeeze_rules():
    assert _rule("expand_dims", [_t("batch", 4, dtype="int32")], axes=(0, 3)) == _t(
        1, "batch", 4, 1, dtype="int32")
    with pytest.raises(TypeRuleError, match="strictly increasing"):
        _rule("expand_dims", [_t("batch", 4)], axes=(2, 1))
    with pytest.raises(TypeRuleError, match="not in") as info:
        _rule("expand_dims", [_t("batch", 4)], axes=(-1,))   # axes are canonical
    assert "normalize negative axes" in info.value.hint
    assert _rule("squeeze", [_t("batch", 1, 5, 1)], axes=(1, 3)) == _t("batch", 5)
    with pytest.raises(TypeRuleError, match="not statically 1") as info:
        _rule("squeeze", [_t("batch", 5)], axes=(0,))   # a batch may not be 1
    assert info.value.axis == 0
    with pytest.raises(TypeRuleError, match="empty"):
        _rule("squeeze", [_t("batch", 1)], axes=())
    assert _k("squeeze", [np.zeros((2, 1, 3))], axes=(1,)).shape == (2, 3)
    assert _k("expand_dims", [np.zeros((2, 3))], axes=(0, 2)).shape == (1, 2, 1, 3)


# ------------------------------------------------------------------ slice

@pytest.mark.parametrize("bounds,want", [
    ((1, 3, 1), 2),                       # x[1:3]
    ((0, SLICE_END, 2), 4),               # x[::2] of 7
    ((SLICE_END, SLICE_BEGIN, -1), 7),    # x[::-1]
    ((-2, SLICE_END, 1), 2),              # x[-2:]
    ((5, 100, 1), 2),                     # clamped stop
    ((4, 1, 1), 0),                       # empty
    ((-100, 3, 1), 3),                    # clamped start
    ((5, 1, -2), 2),                      # x[5:1:-2]
])
def test_slice_static_dims_follow_python(bounds, want):
    assert _rule("slice", [_t(7)], starts=(bounds[0],), ends=(bounds[1],),
                 steps=(bounds[2],)) == _t(want)
    got = _k("slice", [np.arange(7)], starts=(bounds[0],), ends=(bounds[1],), steps=(bounds[2],))
    s = slice(*bounds)
    np.testing.assert_array_equal(got, list(range(7))[s])


def test_slice_keeps_symbolic_dims_only_when_whole():
    x = _t("batch", None, 8)
    out = _rule("slice", [x], starts=(0, -1, 1), ends=(SLICE_END, SLICE_BEGIN, 5),
                steps=(1, -1, 1))
    assert out == _t("batch", None, 4)
    out = _rule("slice", [x], starts=(1, 0, 0), ends=(SLICE_END, 3, SLICE_END), steps=(1, 1, 1))
    assert out == _t(None, None, 8)
    with pytest.raises(TypeRuleError, match="zero step"):
        _rule("slice", [_t(3)], starts=(0,), ends=(3,), steps=(0,))
    with pytest.raises(TypeRuleError, match="rank"):
        _rule("slice", [_t(3, 2)], starts=(0,), ends=(3,), steps=(1,))


# ------------------------------------------------------------------ gather, take_along_axis

def test_gather_rule_and_negative_indices():
    out = _rule("gather", [_t("batch", 4, 6), _t("batch", 3, dtype="int64")], axis=2)
    assert out == _t("batch", 4, "batch", 3)
    assert _rule("gather", [_t("batch", 4), _t(dtype="int32")], axis=1) == _t("batch")
    with pytest.raises(TypeRuleError, match="int32 or int64"):
        _rule("gather", [_t(4), _t(2)], axis=0)
    x = np.array([[10, 11, 12], [20, 21, 22]], np.int32)
    np.testing.assert_array_equal(_k("gather", [x, np.array([2, -1, 0])], axis=1),
                                  [[12, 12, 10], [22, 22, 20]])
    with pytest.raises(IndexError):
        _k("gather", [x, np.array([3])], axis=1)


def test_take_along_axis_broadcasts_the_other_axes():
    out = _rule("take_along_axis", [_t("batch", 4, 6), _t("batch", 2, 1, dtype="int32")],
                axis=1)
    assert out == _t("batch", 2, 6)
    with pytest.raises(TypeRuleError, match="broadcast"):
        _rule("take_along_axis", [_t(2, 4, 6), _t(2, 2, 5, dtype="int32")], axis=1)
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    got = _k("take_along_axis", [x, np.array([[2, 0]])], axis=1)   # rows broadcast
    np.testing.assert_array_equal(got, [[3.0, 1.0], [6.0, 4.0]])
    np.testing.assert_array_equal(_k("take_along_axis", [x, np.array([[-1], [0]])], axis=1),
                                  [[3.0], [4.0]])


def test_scatter_nd_update_rule_and_kernel():
    out = _rule("scatter_nd_update", [_t("batch", 4, 6), _t(3, 1, dtype="int32"),
                                      _t(3, 4, 6)])
    assert out == _t("batch", 4, 6)
    assert _rule("scatter_nd_update", [_t(5, 4), _t("batch", 2, 2, dtype="int64"),
                                       _t("batch", 2)]) == _t(5, 4)
    with pytest.raises(TypeRuleError, match="int32 or int64"):
        _rule("scatter_nd_update", [_t(5, 4), _t(2, 1), _t(2, 4)])
    with pytest.raises(TypeRuleError, match="static index depth"):
        _rule("scatter_nd_update", [_t(5, 4), _t(2, 3, dtype="int32"), _t(2)])
    with pytest.raises(TypeRuleError, match=r"updates \(2, 3\)"):
        _rule("scatter_nd_update", [_t(5, 4), _t(2, 1, dtype="int32"), _t(2, 3)])
    with pytest.raises(TypeRuleError, match="dtype of x"):
        _rule("scatter_nd_update", [_t(5, 4), _t(2, 1, dtype="int32"), _t(2, 4, dtype="int32")])
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    rows = _k("scatter_nd_update", [x, np.array([[2], [0]]), np.full((2, 4), -1.0)])
    np.testing.assert_array_equal(rows, [[-1] * 4, [4, 5, 6, 7], [-1] * 4])
    cells = _k("scatter_nd_update", [x, np.array([[[0, 1]], [[2, 3]]]), np.array([[50.], [60.]])])
    assert cells[0, 1] == 50 and cells[2, 3] == 60 and cells.sum() == x.sum() - 1 - 11 + 110
    last = _k("scatter_nd_update", [x, np.array([[1], [1]]), np.stack([x[0], x[2]])])
    np.testing.assert_array_equal(last[1], x[2])                  # the last update wins here
    assert x[0, 0] == 0                                             # the input is not written
    for bad in ([[3]], [[-1]]):
        with pytest.raises(IndexError):
            _k("scatter_nd_update", [x, np.array(bad), np.zeros((1, 4))])


# ------------------------------------------------------------------ tile, repeat, broadcast_to

def test_tile_and_repeat():
    assert _rule("tile", [_t("batch", 3)], repeats=(1, 2)) == _t("batch", 6)
    assert _rule("tile", [_t("batch", 3)], repeats=(2, 1)) == _t(None, 3)
    with pytest.raises(TypeRuleError, match=">= 1"):
        _rule("tile", [_t("batch", 3)], repeats=(1, 0))
    assert _rule("repeat", [_t("batch", 3, dtype="bool")], repeats=2, axis=1) == _t(
        "batch", 6, dtype="bool")
    np.testing.assert_array_equal(_k("tile", [np.array([[1, 2]])], repeats=(2, 2)),
                                  [[1, 2, 1, 2], [1, 2, 1, 2]])
    np.testing.assert_array_equal(_k("repeat", [np.array([[1, 2]])], repeats=2, axis=1),
                                  [[1, 1, 2, 2]])


def test_broadcast_to_keeps_a_symbolic_batch_with_minus_one():
    assert _rule("broadcast_to", [_t("batch", 1, 6)], shape=(-1, 4, 6)) == _t("batch", 4, 6)
    assert _rule("broadcast_to", [_t(3)], shape=(2, 3)) == _t(2, 3)
    with pytest.raises(TypeRuleError, match="does not broadcast"):
        _rule("broadcast_to", [_t("batch", 2)], shape=(-1, 3))
    with pytest.raises(TypeRuleError, match="no axis"):
        _rule("broadcast_to", [_t(3)], shape=(-1, 3))
    got = _k("broadcast_to", [np.array([[1], [2]])], shape=(-1, 3))
    np.testing.assert_array_equal(got, [[1, 1, 1], [2, 2, 2]])


# ------------------------------------------------------------------ pad, flip

def test_pad_rules_and_kernels():
    out = _rule("pad", [_t("batch", 4)], pads=((0, 0), (1, 2)), mode="constant", value=1.5)
    assert out == _t("batch", 7)
    with pytest.raises(TypeRuleError, match="is not a int32"):
        _rule("pad", [_t("batch", 4, dtype="int32")], pads=((0, 0), (1, 1)), mode="constant",
              value=0.5)
    with pytest.raises(TypeRuleError, match="reflect"):
        _rule("pad", [_t("batch", 3)], pads=((0, 0), (3, 0)), mode="reflect", value=0.0)
    assert "must be one of" in get_schema("pad").check_attrs(
        {"pads": ((0, 0),), "mode": "symmetric", "value": 0.0})
    x = np.array([[1, 2, 3]], np.int32)
    np.testing.assert_array_equal(
        _k("pad", [x], pads=((0, 0), (2, 1)), mode="reflect", value=0.0), [[3, 2, 1, 2, 3, 2]])
    np.testing.assert_array_equal(
        _k("pad", [x], pads=((1, 0), (0, 1)), mode="constant", value=-7.0),
        [[-7, -7, -7, -7], [1, 2, 3, -7]])


def test_flip():
    assert _rule("flip", [_t("batch", 3)], axes=(0, 1)) == _t("batch", 3)
    np.testing.assert_array_equal(_k("flip", [np.array([[1, 2], [3, 4]])], axes=(1,)),
                                  [[2, 1], [4, 3]])


# ------------------------------------------------------------------ stack, one_hot

def test_stack_merges_shapes_and_inserts_the_count():
    out = _rule("stack", [_t("batch", None), _t("batch", 3), _t(None, 3)], axis=2)
    assert out == _t("batch", 3, 3)
    with pytest.raises(TypeRuleError, match="differs"):
        _rule("stack", [_t("batch", 2), _t("batch", 3)], axis=0)
    with pytest.raises(TypeRuleError, match="dtype"):
        _rule("stack", [_t(2), _t(2, dtype="int32")], axis=0)
    np.testing.assert_array_equal(_k("stack", [np.array([1, 2]), np.array([3, 4])], axis=1),
                                  [[1, 3], [2, 4]])


def test_one_hot_writes_float32_and_zeros_out_of_range():
    assert _rule("one_hot", [_t("batch", 3, dtype="int32")], depth=4, axis=2) == _t(
        "batch", 3, 4)
    assert _rule("one_hot", [_t("batch", dtype="uint8")], depth=4, axis=0) == _t(4, "batch")
    with pytest.raises(TypeRuleError, match="integer"):
        _rule("one_hot", [_t("batch")], depth=4, axis=1)
    got = _k("one_hot", [np.array([0, 2, -1, 3])], depth=3, axis=1)
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(_k("one_hot", [np.array([1, 0])], depth=2, axis=0),
                                  [[0, 1], [1, 0]])


# ------------------------------------------------------------------ in a graph

def test_cls_token_then_one_hot_graph_in_the_interpreter():
    """x[:, 0] of a variable-length sequence (gather of a rank-0 index), flipped, padded;
    then a one-hot of integer labels stacked with it."""
    x = Value("x", _t("batch", None, 3))
    labels = Value("labels", _t("batch", dtype="int32"))
    first = Value("first", _t("batch", 3))
    flipped = Value("flipped", _t("batch", 3))
    hot = Value("hot", _t("batch", 3))
    y = Value("y", _t("batch", 2, 3))
    graph = Graph("g", (x, labels), ("y",), (
        Node("gather", "first", ("x", "zero"), (first,), {"axis": 1}),
        Node("flip", "flipped", ("first",), (flipped,), {"axes": (1,)}),
        Node("one_hot", "hot", ("labels",), (hot,), {"depth": 3, "axis": 1}),
        Node("stack", "y", ("flipped", "hot"), (y,), {"axis": 1})),
        {"zero": np.asarray(0, np.int64)})
    xs = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    out = evaluate(graph, {"x": xs, "labels": np.array([2, 7], np.int32)})["y"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[2, 1, 0], [0, 0, 1]], [[14, 13, 12], [0, 0, 0]]])
