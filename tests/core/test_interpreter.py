"""Tests of the NumPy reference interpreter (``graphir.interpreter``).

Kernels are checked against independent naive loop implementations and small
hand-computed cases (the Keras docstrings' examples where there are some).  No
TensorFlow or onnx here: the last test proves it in a fresh interpreter.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphir.errors import GraphInvariantError
from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import ACTIVATIONS, infer_types, op_names
from graphir.ops.activations import ACTIVATION_KERNELS
from graphir.tensor_types import TensorType

from graphir.ops import get_schema

#: op name -> its reference kernel (from the op registry)
KERNELS = {name: get_schema(name).kernel for name in op_names()}

F32 = "float32"


def one_node(op, x_shapes, attrs, weights=(), dtype=F32, x_dtypes=None):
    """A graph ``op(x0, x1, ..., *weights)`` with inputs of ``x_shapes`` (batch symbolic)."""
    x_dtypes = x_dtypes or [dtype] * len(x_shapes)
    ins = [Value(f"x{i}", TensorType(d, s)) for i, (s, d) in enumerate(zip(x_shapes, x_dtypes))]
    wnames = [f"w{i}" if w is not None else "" for i, w in enumerate(weights)]
    wdict = {n: w for n, w in zip(wnames, weights) if n}
    types = [v.type for v in ins] + [TensorType(w.dtype, w.shape) if w is not None else None
                                     for w in weights]
    out_t = infer_types(op, types, attrs)[0]
    node = Node(op, "y", [v.name for v in ins] + wnames, [Value("y", out_t)], attrs)
    return Graph("g", ins, ["y"], [node], wdict)


def run1(op, xs, attrs, weights=(), **kw):
    shapes = [("batch",) + tuple(x.shape[1:]) for x in xs]
    g = one_node(op, shapes, attrs, weights, **kw)
    return evaluate(g, {f"x{i}": x for i, x in enumerate(xs)})["y"]


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- naive references

def naive_pads(n, k, s, d, padding):
    if padding == "valid":
        return (n - (k - 1) * d - 1) // s + 1, 0
    out = math.ceil(n / s)
    return out, max((out - 1) * s + (k - 1) * d + 1 - n, 0) // 2


def naive_conv(x, k, b, strides, padding, dil, groups):
    n, h, w, c = x.shape
    kh, kw, cig, co = k.shape
    (oh, pt), (ow, pl) = (naive_pads(h, kh, strides[0], dil[0], padding),
                          naive_pads(w, kw, strides[1], dil[1], padding))
    y = np.zeros((n, oh, ow, co))
    cog = co // groups
    for b_ in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for o in range(co):
                    g = o // cog
                    acc = 0.0
                    for i in range(kh):
                        for j in range(kw):
                            iy = oy * strides[0] + i * dil[0] - pt
                            ix = ox * strides[1] + j * dil[1] - pl
                            if 0 <= iy < h and 0 <= ix < w:
                                for ci in range(cig):
                                    acc += x[b_, iy, ix, g * cig + ci] * k[i, j, ci, o]
                    y[b_, oy, ox, o] = acc + (b[o] if b is not None else 0.0)
    return y


def naive_pool(x, pool, strides, padding, kind):
    n, h, w, c = x.shape
    (oh, pt), (ow, pl) = (naive_pads(h, pool[0], strides[0], 1, padding),
                          naive_pads(w, pool[1], strides[1], 1, padding))
    y = np.zeros((n, oh, ow, c))
    for oy in range(oh):
        for ox in range(ow):
            vals = [x[:, iy, ix, :] for i in range(pool[0]) for j in range(pool[1])
                    for iy, ix in [(oy * strides[0] + i - pt, ox * strides[1] + j - pl)]
                    if 0 <= iy < h and 0 <= ix < w]
            y[:, oy, ox, :] = np.max(vals, axis=0) if kind == "max" else np.mean(vals, axis=0)
    return y


# --------------------------------------------------------------------------- table completeness

def test_every_op_and_activation_has_a_kernel():
    assert all(callable(get_schema(name).kernel) for name in op_names())
    assert set(ACTIVATION_KERNELS) == set(ACTIVATIONS)


def test_an_op_without_a_kernel_is_refused():
    from graphir.ops.registry import OpSchema, register

    with pytest.raises(ValueError, match="no reference kernel"):
        register(OpSchema("kernel_less_test_op", ("x",), {}, lambda t, a: (t[0],)))
    assert get_schema("kernel_less_test_op") is None


# --------------------------------------------------------------------------- padding and convs
# (the padding formula itself: tests/core/test_windowing.py)

def test_same_padding_asymmetric_case_by_hand():
    # in=4, k=3, s=2: out 2, total pad 1, all of it at the end (TF), so the top-left
    # tap of each window reads x[2*oy, 2*ox].
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    k = np.zeros((3, 3, 1, 1), np.float32)
    k[0, 0, 0, 0] = 1.0
    attrs = dict(strides=(2, 2), padding="same", dilations=(1, 1), groups=1,
                 activation="linear", data_format="channels_last")
    y = run1("conv2d", [x], attrs, [k])
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 2], [8, 10]])


CONV_CASES = [
    dict(strides=(1, 1), padding="same", dilations=(1, 1), groups=1),
    dict(strides=(1, 1), padding="valid", dilations=(1, 1), groups=1),
    dict(strides=(2, 2), padding="same", dilations=(1, 1), groups=1),
    dict(strides=(2, 1), padding="valid", dilations=(1, 1), groups=1),
    dict(strides=(1, 1), padding="same", dilations=(2, 2), groups=1),
    dict(strides=(1, 1), padding="valid", dilations=(1, 2), groups=1),
    dict(strides=(1, 1), padding="same", dilations=(1, 1), groups=2),
    dict(strides=(2, 2), padding="same", dilations=(1, 1), groups=4),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_conv2d_matches_naive_loops(case):
    r = rng(1)
    x = r.normal(size=(2, 7, 6, 4))
    k = r.normal(size=(3, 3, 4 // case["groups"], 8))
    b = r.normal(size=(8,))
    attrs = dict(case, activation="linear", data_format="channels_last")
    y = run1("conv2d", [x.astype(np.float32)], attrs, [k.astype(np.float32), b.astype(np.float32)])
    expected = naive_conv(x.astype(np.float32).astype(np.float64),
                          k.astype(np.float32).astype(np.float64),
                          b.astype(np.float32).astype(np.float64),
                          case["strides"], case["padding"], case["dilations"], case["groups"])
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_fused_activation_and_no_bias():
    x = np.array([[[[1.0], [-2.0]]]], np.float32)  # (1, 1, 2, 1)
    k = np.full((1, 1, 1, 1), 3.0, np.float32)
    attrs = dict(strides=(1, 1), padding="valid", dilations=(1, 1), groups=1,
                 activation="relu", data_format="channels_last")
    y = run1("conv2d", [x], attrs, [k, None])
    np.testing.assert_array_equal(y.ravel(), [3.0, 0.0])


@pytest.mark.parametrize("mult,strides,padding,dil", [
    (1, (1, 1), "same", (1, 1)), (2, (2, 2), "same", (1, 1)), (3, (1, 1), "valid", (2, 2)),
])
def test_depthwise_matches_naive_loops(mult, strides, padding, dil):
    r = rng(2)
    x = r.normal(size=(2, 6, 5, 3)).astype(np.float32)
    k = r.normal(size=(3, 3, 3, mult)).astype(np.float32)
    b = r.normal(size=(3 * mult,)).astype(np.float32)
    attrs = dict(strides=strides, padding=padding, dilations=dil, activation="linear",
                 data_format="channels_last")
    y = run1("depthwise_conv2d", [x], attrs, [k, b])
    # depthwise == grouped conv with groups=cin and output channel c*mult+m
    k_grouped = k.reshape(3, 3, 1, 3 * mult)
    expected = naive_conv(x.astype(np.float64), k_grouped.astype(np.float64),
                          b.astype(np.float64), strides, padding, dil, groups=3)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_depthwise_channel_order_by_hand():
    x = np.array([2.0, 3.0], np.float32).reshape(1, 1, 1, 2)
    k = np.array([[10.0, 20.0], [30.0, 40.0]], np.float32).reshape(1, 1, 2, 2)  # [c, m]
    attrs = dict(strides=(1, 1), padding="valid", dilations=(1, 1), activation="linear",
                 data_format="channels_last")
    y = run1("depthwise_conv2d", [x], attrs, [k, None])
    np.testing.assert_array_equal(y.ravel(), [20.0, 40.0, 90.0, 120.0])  # c*mult+m


# --------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool,strides,padding", [
    ((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 1), "same"),
    ((3, 3), (1, 2), "valid"),
])
def test_pooling_matches_naive_loops(kind, pool, strides, padding):
    x = rng(3).normal(size=(2, 7, 6, 3)).astype(np.float32)
    attrs = dict(pool_size=pool, strides=strides, padding=padding, data_format="channels_last")
    y = run1(f"{kind}_pool2d", [x], attrs)
    np.testing.assert_allclose(y, naive_pool(x.astype(np.float64), pool, strides, padding, kind),
                               rtol=1e-6, atol=1e-6)


def test_avg_pool_same_excludes_padding_by_hand():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape(1, 2, 2, 1)
    attrs = dict(pool_size=(2, 2), strides=(1, 1), padding="same", data_format="channels_last")
    y = run1("avg_pool2d", [x], attrs)
    np.testing.assert_allclose(y[0, :, :, 0], [[2.5, 3.0], [3.5, 4.0]])


def test_max_pool_same_never_picks_the_padding():
    x = -np.ones((1, 3, 3, 1), np.float32)
    attrs = dict(pool_size=(3, 3), strides=(1, 1), padding="same", data_format="channels_last")
    np.testing.assert_array_equal(run1("max_pool2d", [x], attrs), x)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_avg_pool(keepdims):
    x = rng(4).normal(size=(2, 3, 4, 5)).astype(np.float32)
    y = run1("global_avg_pool2d", [x], dict(keepdims=keepdims, data_format="channels_last"))
    np.testing.assert_allclose(y, x.astype(np.float64).mean(axis=(1, 2), keepdims=keepdims),
                               rtol=1e-6)


def test_zero_pad2d():
    x = np.ones((1, 2, 2, 1), np.float32)
    y = run1("zero_pad2d", [x], dict(padding=((1, 0), (0, 2)), data_format="channels_last"))
    assert y.shape == (1, 3, 4, 1)
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]])


# --------------------------------------------------------------------------- activations

def test_softmax_known_values():
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_allclose(run1("softmax", [x], dict(axis=-1)),
                               [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-6)
    x2 = np.array([[1.0, 1.0], [2.0, 2.0]], np.float32)[None]  # (1, 2, 2), softmax over axis 1
    np.testing.assert_allclose(run1("softmax", [x2], dict(axis=1))[0],
                               [[0.26894142, 0.26894142], [0.73105858, 0.73105858]], rtol=1e-6)


ACTIVATION_POINTS = {  # name: [(x, f(x)), ...], hand-computed
    "linear": [(-2.0, -2.0)],
    "relu": [(-1.0, 0.0), (2.0, 2.0)],
    "relu6": [(-1.0, 0.0), (3.0, 3.0), (7.0, 6.0)],
    "sigmoid": [(0.0, 0.5), (1.0, 1 / (1 + math.exp(-1)))],
    "hard_sigmoid": [(-3.0, 0.0), (0.0, 0.5), (1.5, 0.75), (3.0, 1.0)],
    "tanh": [(1.0, math.tanh(1.0))],
    "softplus": [(0.0, math.log(2.0)), (1.0, math.log(1 + math.e))],
    "softsign": [(1.0, 0.5), (-3.0, -0.75)],
    "elu": [(-1.0, math.exp(-1) - 1), (2.0, 2.0)],
    "selu": [(-1.0, 1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1)),
             (2.0, 2.101401974710961)],
    "gelu": [(1.0, 0.8413447460685429), (-1.0, -0.15865525393145707)],
    # tf.nn.gelu(approximate=True) in float64 gives the same values
    "gelu_approximate": [(1.0, 0.8411919906082768), (-1.0, -0.15880800939172324),
                         (0.0, 0.0)],
    "silu": [(1.0, 1 / (1 + math.exp(-1)))],
    "hard_silu": [(1.0, 4.0 / 6.0), (-4.0, 0.0), (4.0, 4.0)],
    "exponential": [(1.0, math.e)],
    "leaky_relu": [(-1.0, -0.2), (3.0, 3.0)],
    "mish": [(1.0, math.tanh(math.log(1 + math.e)))],
    "log_sigmoid": [(0.0, -math.log(2.0))],
    "hard_tanh": [(-3.0, -1.0), (0.5, 0.5), (2.0, 1.0)],
    "tanh_shrink": [(1.0, 1 - math.tanh(1.0))],
    "celu": [(-1.0, math.exp(-1) - 1), (2.0, 2.0)],
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values(name):
    if name in ("softmax", "log_softmax"):
        x = np.array([[1.0, 2.0, 3.0]], np.float32)
        sm = np.array([[0.09003057, 0.24472847, 0.66524096]])
        want = sm if name == "softmax" else np.log(sm)
    else:
        pts = ACTIVATION_POINTS[name]
        x = np.array([[p[0] for p in pts]], np.float32)
        want = np.array([[p[1] for p in pts]])
    np.testing.assert_allclose(run1("activation", [x], dict(function=name)), want,
                               rtol=1e-6, atol=1e-7)


KERAS_RELU_DOC = [  # keras.activations.relu docstring, x = [-10, -5, 0, 5, 10]
    (dict(max_value=None, negative_slope=0.0, threshold=0.0), [0, 0, 0, 5, 10]),
    (dict(max_value=None, negative_slope=0.5, threshold=0.0), [-5, -2.5, 0, 5, 10]),
    (dict(max_value=5.0, negative_slope=0.0, threshold=0.0), [0, 0, 0, 5, 5]),
    (dict(max_value=None, negative_slope=0.0, threshold=5.0), [0, 0, 0, 0, 10]),
    # combined, by hand: pos = x if x > 5 else 0, clipped at 8; minus 0.5 * max(5 - x, 0)
    (dict(max_value=8.0, negative_slope=0.5, threshold=5.0), [-7.5, -5, -2.5, 0, 8]),
]


@pytest.mark.parametrize("attrs,want", KERAS_RELU_DOC)
def test_relu_variants_match_keras_docstring(attrs, want):
    x = np.array([[-10, -5, 0.0, 5, 10]], np.float32)
    np.testing.assert_allclose(run1("relu", [x], attrs), [want])


def test_leaky_relu():
    x = np.array([[-2.0, 0.0, 3.0]], np.float32)
    np.testing.assert_allclose(run1("leaky_relu", [x], dict(negative_slope=0.1)),
                               [[-0.2, 0.0, 3.0]], rtol=1e-6)


# --------------------------------------------------------------------------- dense, norms

def test_dense_any_rank():
    r = rng(5)
    x = r.normal(size=(2, 3, 4)).astype(np.float32)
    k = r.normal(size=(4, 5)).astype(np.float32)
    b = r.normal(size=(5,)).astype(np.float32)
    y = run1("dense", [x], dict(units=5, activation="tanh"), [k, b])
    want = np.tanh(np.einsum("nti,io->nto", x.astype(np.float64), k.astype(np.float64)) + b)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)


def test_batch_norm_axis_and_optional_params():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mean = np.array([1.0, 2.0, 3.0], np.float32)
    var = np.array([4.0, 1.0, 0.25], np.float32)
    gamma = np.array([2.0, 1.0, 1.0], np.float32)
    y = run1("batch_norm", [x], dict(axis=1, epsilon=0.0), [gamma, None, mean, var])
    want = (x - mean[:, None]) / np.sqrt(var[:, None]) * gamma[:, None]
    np.testing.assert_allclose(y, want, rtol=1e-6)
    y2 = run1("batch_norm", [x], dict(axis=-1, epsilon=1e-3),
              [None, np.array([1.0, -1.0], np.float32), mean[:2], var[:2]])
    x64, m64, v64 = (a.astype(np.float64) for a in (x, mean[:2], var[:2]))
    np.testing.assert_allclose(y2, (x64 - m64) / np.sqrt(v64 + 1e-3) + [1.0, -1.0], rtol=1e-6)


def test_normalize_and_invert():
    x = np.array([[1.0, 4.0, 7.0]], np.float32)
    mean = np.array([[1.0, 2.0, 3.0]], np.float32)
    var = np.array([[4.0, 0.0, 1.0]], np.float32)  # std 2, 0 -> 1e-7, 1
    y = run1("normalize", [x], dict(axis=(-1,), invert=False), [mean, var])
    np.testing.assert_allclose(y, [[0.0, 2.0 / 1e-7, 4.0]], rtol=1e-6)
    z = run1("normalize", [x], dict(axis=(-1,), invert=True), [mean, var])
    np.testing.assert_allclose(z, [[3.0, 2.0 + 4e-7, 10.0]], rtol=1e-6)


def test_rescale_scalar_and_per_channel():
    x = np.array([[1.0, 2.0]], np.float32)
    np.testing.assert_allclose(run1("rescale", [x], dict(scale=0.5, offset=-1.0)),
                               [[-0.5, 0.0]])
    np.testing.assert_allclose(run1("rescale", [x], dict(scale=(2.0, 3.0), offset=(1.0, 0.0))),
                               [[3.0, 6.0]])


# --------------------------------------------------------------------------- embedding, shapes

def test_embedding_truncates_float_indices_and_wraps_negatives():
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    idx = np.array([[1.7, -0.5, 3.0, -1.0]], np.float32)  # -> 1, 0, 3, -1 (= 3)
    y = run1("embedding", [idx], {}, [table])
    np.testing.assert_array_equal(y[0], table[[1, 0, 3, 3]])
    iy = run1("embedding", [np.array([[2, 0]], np.int32)], {}, [table], dtype="int32")
    np.testing.assert_array_equal(iy[0], table[[2, 0]])


def test_embedding_out_of_range_is_a_value_error():
    table = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        run1("embedding", [np.array([[4]], np.int64)], {}, [table], dtype="int64")


def test_reshape_flatten_permute():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(run1("reshape", [x], dict(target_shape=(-1, 3))),
                                  x.reshape(2, 4, 3))
    np.testing.assert_array_equal(run1("flatten", [x], {}), x.reshape(2, 12))
    np.testing.assert_array_equal(run1("permute", [x], dict(dims=(2, 1))), x.transpose(0, 2, 1))


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate(axis):
    a = np.ones((2, 3, 4), np.float32)
    b = np.zeros((2, 3, 4), np.float32)
    np.testing.assert_array_equal(run1("concatenate", [a, b], dict(axis=axis)),
                                  np.concatenate([a, b], axis=axis))


@pytest.mark.parametrize("op,fn", [
    ("add", lambda a, b, c: a + b + c), ("multiply", lambda a, b, c: a * b * c),
    ("average", lambda a, b, c: (a + b + c) / 3), ("maximum", lambda a, b, c: np.maximum(a, np.maximum(b, c))),
    ("minimum", lambda a, b, c: np.minimum(a, np.minimum(b, c))),
])
def test_merges_broadcast(op, fn):
    r = rng(6)
    a, b, c = (r.normal(size=s).astype(np.float32) for s in [(2, 3, 4), (2, 1, 4), (2, 3, 1)])
    np.testing.assert_allclose(run1(op, [a, b, c], {}), fn(*(v.astype(np.float64) for v in (a, b, c))),
                               rtol=1e-6)
    sub = run1("subtract", [a, b], {})
    np.testing.assert_allclose(sub, a - b, rtol=1e-6)


def test_dropout_and_identity_pass_through():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run1("dropout", [x], dict(rate=0.5)), x)
    np.testing.assert_array_equal(run1("identity", [x], {}), x)


# --------------------------------------------------------------------------- the interpreter

def _two_node_graph():
    t = TensorType(F32, ("batch", 1))
    nodes = [Node("add", "s", ["a", "b"], [Value("s", t)]),
             Node("subtract", "d", ["s", "a"], [Value("d", t)])]
    return Graph("g", [Value("a", t), Value("b", t)], ["d", "s"], nodes)


def test_floats_are_computed_in_float64_and_returned_in_the_declared_dtype():
    out = evaluate(_two_node_graph(), {"a": np.array([[1e8]], np.float32),
                                       "b": np.array([[1.0]], np.float32)})
    assert list(out) == ["d", "s"]
    assert out["d"].dtype == np.float32 and out["d"][0, 0] == 1.0  # float32 would give 0


def test_inputs_are_rounded_to_their_declared_dtype_first():
    a = np.array([[0.1]], np.float64)
    out = evaluate(_two_node_graph(), {"a": a, "b": np.zeros((1, 1))})
    assert out["d"][0, 0] == 0.0


def test_missing_and_unknown_inputs_are_key_errors():
    g = _two_node_graph()
    with pytest.raises(KeyError, match="missing graph input.*'b'"):
        evaluate(g, {"a": np.zeros((1, 1), np.float32)})
    with pytest.raises(KeyError, match="unknown input name.*'c'"):
        evaluate(g, {"a": np.zeros((1, 1)), "b": np.zeros((1, 1)), "c": np.zeros((1, 1))})


@pytest.mark.parametrize("a,b,match", [
    (np.zeros((1,)), np.zeros((1, 1)), "rank 1"),
    (np.zeros((1, 2)), np.zeros((1, 1)), "axis 1 must be 1"),
    (np.zeros((2, 1)), np.zeros((3, 1)), "batch=3 at axis 0"),
    (np.zeros((1, 1), np.complex64), np.zeros((1, 1)), "cannot be cast"),
])
def test_wrong_shapes_and_dtypes_are_value_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        evaluate(_two_node_graph(), {"a": a, "b": b})


def test_float_data_for_an_int_input_is_refused():
    g = one_node("embedding", [("batch", 2)], {}, [np.zeros((3, 2), np.float32)], dtype="int32")
    with pytest.raises(ValueError, match="cannot be cast"):
        evaluate(g, {"x0": np.zeros((1, 2), np.float32)})


def test_valid_window_too_large_for_a_dynamic_input():
    g = one_node("max_pool2d", [("batch", None, None, 1)],
                 dict(pool_size=(3, 3), strides=(1, 1), padding="valid",
                      data_format="channels_last"))
    with pytest.raises(ValueError, match="does not fit"):
        evaluate(g, {"x0": np.zeros((1, 2, 2, 1), np.float32)})


def test_invalid_graph_is_rejected_before_running():
    t = TensorType(F32, ("batch", 1))
    g = Graph("g", [Value("a", t)], ["y"], [Node("add", "y", ["a", "nope"], [Value("y", t)])])
    with pytest.raises(GraphInvariantError):
        evaluate(g, {"a": np.zeros((1, 1), np.float32)})


def test_no_tensorflow_or_onnx_is_imported():
    """The interpreter and these tests run without TensorFlow/onnx (checked in a fresh
    interpreter, since other test modules in the same session may import them)."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('t_interp', {str(Path(__file__))!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "mod.test_conv2d_matches_naive_loops(mod.CONV_CASES[0])\n"
        "mod.test_activation_values('gelu')\n"
        "bad = sorted(m for m in ('tensorflow', 'keras', 'onnx', 'onnxruntime') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
