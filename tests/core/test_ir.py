"""The data model: frozen values, attribute freezing, use-def maps, read-only weights."""

import attrs
import numpy as np
import pytest

from graphir import DType, Graph, Node, TensorType, Value
from graphir.frozen import FrozenDict

from ir_examples import f32, small_cnn


def test_tensor_type_converts_and_prints():
    t = TensorType("f32", ("batch", 224, 224, 3))
    assert t.dtype is DType.FLOAT32
    assert str(t) == "f32[batch,224,224,3]"
    assert str(TensorType("int32", (None, 5))) == "i32[?,5]"
    assert t.rank == 4 and not t.is_static


@pytest.mark.parametrize("bad", [(-1,), (1.5,), (True,)])
def test_tensor_type_rejects_bad_dims(bad):
    with pytest.raises(TypeError, match="dimension"):
        TensorType("float32", bad)


def test_dtype_rejects_unknown():
    with pytest.raises(ValueError, match="not supported"):
        DType.from_any("complex64")


def test_compatibility_rules():
    assert f32("batch", 3).compatible_with(f32(7, 3))
    assert f32(None, 3).compatible_with(f32(2, 3))
    assert not f32(2, 3).compatible_with(f32(2, 4))
    assert not f32(2, 3).compatible_with(TensorType("int32", (2, 3)))
    assert not f32(2, 3).compatible_with(f32(2, 3, 1))


def test_node_attrs_are_frozen_and_hashable():
    n = Node("reshape", "r", ["x"], [Value("r", f32("batch", 6))], {"target_shape": [6]})
    assert n.attrs["target_shape"] == (6,)
    assert hash(n) == hash(Node("reshape", "r", ("x",), (Value("r", f32("batch", 6)),),
                                FrozenDict(target_shape=(6,))))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        n.op = "flatten"
    with pytest.raises(TypeError):
        Node("x", "n", "abc", [], {})  # a bare string is not a sequence of names


def test_weights_are_read_only_without_touching_the_callers_array():
    arr = np.zeros(3, np.float32)
    g = Graph("g", [Value("x", f32(3))], ["x"], [], {"w": arr})
    with pytest.raises(ValueError):
        g.weights["w"][0] = 1.0
    arr[0] = 2.0  # the caller's array stays writable
    with pytest.raises(TypeError):
        g.weights["v"] = arr


def test_use_def_maps():
    g = small_cnn()
    prod = g.producers()
    assert prod["bn"][0].op == "batch_norm" and prod["bn"][1] == 0
    cons = g.consumers()
    assert sorted(n.name for n, _ in cons["image"]) == ["add", "conv"]
    assert [i for _, i in cons["image"]] == [0, 1]
    assert g.value_types()["conv/kernel"] == f32(3, 3, 3, 3)
    assert g.output_types() == (f32("batch", 4),)
    assert g.parameter_count() == 81 + 3 + 4 * 3 + 12 + 4


def test_evolve_returns_a_new_graph():
    g = small_cnn()
    g2 = attrs.evolve(g, name="other")
    assert g2.name == "other" and g.name == "small_cnn"
    assert g2.weights["conv/kernel"] is g.weights["conv/kernel"]
