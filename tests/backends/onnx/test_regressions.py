"""Regressions found in review: integer variadic add, and inputs the op set now refuses."""

import numpy as np
import pytest

from graphir import Graph, GraphInvariantError, Node, TensorType, Value, verify_graph


def test_add_of_three_int_tensors_emits_valid_onnx(builder, parity):
    b = builder()
    xs = [b.input(f"x{i}", ("batch", 4), dtype="int32") for i in range(3)]
    y = b.op("add", xs)
    model = parity(b.build(y), batches=(2,), dtype="int32",
                   feeds=lambda n: {f"x{i}": np.arange(4 * n, dtype=np.int32).reshape(n, 4) * (i + 1)
                                    for i in range(3)})
    assert [n.op_type for n in model.graph.node] == ["Add", "Add"]


def _one(op, inputs, attrs, in_types, out_type, weights=None):
    return Graph("g", [Value(n, t) for n, t in zip(inputs, in_types) if n not in (weights or {})],
                 ["y"], [Node(op, "y", inputs, [Value("y", out_type)], attrs)], weights or {})


def test_batch_norm_needs_all_five_inputs():
    t = TensorType("float32", ("batch", 3))
    w = {k: np.ones(3, np.float32) for k in ("m", "v")}
    g = _one("batch_norm", ["x", "m", "v"], {"axis": -1, "epsilon": 1e-3}, [t], t, w)
    with pytest.raises(GraphInvariantError, match="arity"):
        verify_graph(g)


@pytest.mark.parametrize("bad", [{"groups": 0}, {"strides": (0, 1)}, {"dilations": (1, -1)}])
def test_conv_attributes_must_be_positive(bad):
    t = TensorType("float32", ("batch", 5, 5, 2))
    attrs = {"strides": (1, 1), "padding": "same", "dilations": (1, 1), "groups": 1,
             "activation": "linear", "data_format": "channels_last", **bad}
    g = _one("conv2d", ["x", "k"], attrs, [t], TensorType("float32", ("batch", 5, 5, 2)),
             {"k": np.ones((1, 1, 2, 2), np.float32)})
    with pytest.raises(GraphInvariantError, match=">= 1"):
        verify_graph(g)


def test_bool_arithmetic_and_int_pooling_are_refused():
    b = TensorType("bool", ("batch", 3))
    with pytest.raises(GraphInvariantError, match="bool"):
        verify_graph(_one("add", ["a", "c"], {}, [b, b], b))
    i = TensorType("int32", ("batch", 4, 4, 1))
    pool = {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid", "data_format": "channels_last"}
    with pytest.raises(GraphInvariantError, match="float"):
        verify_graph(_one("max_pool2d", ["x"], pool, [i], TensorType("int32", ("batch", 2, 2, 1))))
