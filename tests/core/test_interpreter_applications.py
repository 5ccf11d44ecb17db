"""Reference kernels of the ops added for keras.applications: ``layer_norm``, ``scale``,
``separable_conv2d`` and ``crop2d``, checked against independent naive loops, the Keras
docstring's example and compositions of the older kernels.  No TensorFlow or onnx."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import infer_types
from graphir.tensor_types import TensorType

from graphir.ops import get_schema, op_names

#: op name -> its reference kernel (from the op registry)
KERNELS = {name: get_schema(name).kernel for name in op_names()}


def _graph(op, x_shape, attrs, weights=(), dtype="float32"):
    """``op(x, *weights)`` with a symbolic batch; omitted weights are ``None``."""
    x = Value("x", TensorType(dtype, ("batch",) + tuple(x_shape[1:])))
    names = [f"w{i}" if w is not None else "" for i, w in enumerate(weights)]
    types = [x.type] + [None if w is None else TensorType(w.dtype, w.shape) for w in weights]
    out = infer_types(op, types, attrs)[0]
    node = Node(op, "y", ["x"] + names, [Value("y", out)], attrs)
    return Graph("g", [x], ["y"], [node], {n: w for n, w in zip(names, weights) if n})


def _run(op, x, attrs, weights=()):
    return evaluate(_graph(op, x.shape, attrs, weights, dtype=x.dtype.name), {"x": x})["y"]


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- layer_norm

def test_layer_norm_matches_the_keras_docstring_example():
    # keras.ops.layer_normalization(arange(5)) with epsilon = backend.epsilon() = 1e-7
    x = np.arange(5, dtype=np.float32)[None]
    y = _run("layer_norm", x, dict(axis=(1,), epsilon=1e-7))
    np.testing.assert_allclose(y[0], [-1.4142135, -0.70710677, 0.0, 0.7071067, 1.4142135],
                               rtol=1e-6, atol=1e-6)


def _naive_layer_norm(x, axes, eps, gamma, beta):
    """Per sample and per position of the kept axes, a loop over the normalized ones."""
    out = np.empty_like(x, dtype=np.float64)
    kept = [a for a in range(x.ndim) if a not in axes]
    for idx in itertools.product(*(range(x.shape[a]) for a in kept)):
        sl = [slice(None)] * x.ndim
        for a, i in zip(kept, idx):
            sl[a] = i
        block = x[tuple(sl)].astype(np.float64)
        mean = block.sum() / block.size
        var = ((block - mean) ** 2).sum() / block.size
        out[tuple(sl)] = (block - mean) / np.sqrt(var + eps) * gamma + beta
    return out


@pytest.mark.parametrize("shape,axes", [((2, 3, 4, 5), (3,)), ((2, 3, 4, 5), (1, 2, 3)),
                                        ((2, 3, 4, 5), (1, 3)), ((3, 6), (1,)),
                                        ((2, 4, 3), (1,))])
def test_layer_norm_matches_a_naive_loop(shape, axes):
    r = _rng()
    x = r.normal(1.0, 2.0, shape).astype(np.float32)
    sizes = tuple(shape[a] for a in axes)
    gamma = r.uniform(0.5, 1.5, sizes).astype(np.float32)
    beta = r.normal(0.0, 0.1, sizes).astype(np.float32)
    y = _run("layer_norm", x, dict(axis=axes, epsilon=1e-3), [gamma, beta])
    # the naive loop sees gamma/beta indexed like the normalized block
    want = _naive_layer_norm(x, axes, 1e-3, gamma.astype(np.float64), beta.astype(np.float64))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


def test_layer_norm_without_gamma_and_beta_and_with_negative_axes():
    x = _rng(1).normal(size=(2, 3, 4)).astype(np.float32)
    plain = _run("layer_norm", x, dict(axis=(-2, -1), epsilon=1e-3))
    same = _run("layer_norm", x, dict(axis=(1, 2), epsilon=1e-3))
    np.testing.assert_array_equal(plain, same)
    beta_only = _run("layer_norm", x, dict(axis=(2,), epsilon=1e-3),
                     [None, np.full(4, 0.5, np.float32)])
    np.testing.assert_allclose(beta_only - _run("layer_norm", x, dict(axis=(2,), epsilon=1e-3)),
                               0.5, rtol=1e-6)


# --------------------------------------------------------------------------- scale

def test_scale_multiplies_the_last_axis():
    x = _rng(2).normal(size=(2, 3, 4)).astype(np.float32)
    gamma = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    y = _run("scale", x, {}, [gamma])
    np.testing.assert_array_equal(y, x * gamma)


# --------------------------------------------------------------------------- separable_conv2d

@pytest.mark.parametrize("strides,padding,dilations,mult", [
    ((1, 1), "same", (1, 1), 1), ((2, 2), "same", (1, 1), 2), ((1, 1), "valid", (2, 2), 3),
    ((2, 1), "valid", (1, 1), 1)])
def test_separable_conv2d_is_depthwise_then_pointwise(strides, padding, dilations, mult):
    r = _rng(3)
    x = r.normal(size=(2, 9, 8, 3))
    dw = r.normal(size=(3, 3, 3, mult))
    pw = r.normal(size=(1, 1, 3 * mult, 4))
    bias = r.normal(size=(4,))
    attrs = dict(strides=strides, padding=padding, dilations=dilations, activation="relu",
                 data_format="channels_last")
    y = KERNELS["separable_conv2d"]([x, dw, pw, bias], attrs)
    mid = KERNELS["depthwise_conv2d"]([x, dw, None], dict(attrs, activation="linear"))
    want = KERNELS["conv2d"]([mid, pw, bias], dict(strides=(1, 1), padding="valid",
                                                   dilations=(1, 1), groups=1,
                                                   activation="relu"))
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    # and a naive loop for the pointwise step
    naive = np.maximum(np.einsum("nhwc,cf->nhwf", mid, pw[0, 0]) + bias, 0.0)
    np.testing.assert_allclose(y, naive, rtol=1e-12, atol=1e-12)


def test_separable_conv2d_through_the_interpreter_keeps_the_dtype():
    r = _rng(4)
    x = r.normal(size=(1, 6, 6, 2)).astype(np.float32)
    weights = [r.normal(size=(3, 3, 2, 1)).astype(np.float32),
               r.normal(size=(1, 1, 2, 5)).astype(np.float32), None]
    y = _run("separable_conv2d", x, dict(strides=(2, 2), padding="same", dilations=(1, 1),
                                         activation="linear", data_format="channels_last"),
             weights)
    assert y.dtype == np.float32 and y.shape == (1, 3, 3, 5)


# --------------------------------------------------------------------------- crop2d

@pytest.mark.parametrize("cropping", [((1, 0), (1, 0)), ((0, 2), (1, 1)), ((0, 0), (0, 0))])
def test_crop2d_slices_h_and_w(cropping):
    x = np.arange(2 * 5 * 6 * 3, dtype=np.int32).reshape(2, 5, 6, 3)
    y = _run("crop2d", x, dict(cropping=cropping, data_format="channels_last"))
    (t, b), (l, r) = cropping
    want = np.array([[[[x[n, i, j, c] for c in range(3)] for j in range(l, 6 - r)]
                      for i in range(t, 5 - b)] for n in range(2)])
    np.testing.assert_array_equal(y, want)
    assert y.dtype == np.int32
