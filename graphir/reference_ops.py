"""NumPy reference kernels of the op set, one small function per op (see ``KERNELS``).

Every kernel takes the node's input arrays (``None`` for an omitted optional
input) and its attributes, and returns one array.  Float arrays arrive as
``float64`` (the interpreter upcasts them) so the results are a trustworthy
reference; integer and bool arrays keep their dtype.

Conventions follow Keras 3 on the TensorFlow backend, which the ONNX and Keras
emitters must reproduce:

* layout NHWC; ``conv2d`` kernels HWIO ``(kh, kw, cin/groups, cout)`` with output
  channel ``o`` in group ``o // (cout/groups)``; ``depthwise_conv2d`` kernels
  ``(kh, kw, cin, mult)`` with output channel ``c * mult + m``
  (``tf.nn.depthwise_conv2d`` docs);
* ``"same"`` padding is TensorFlow's: ``total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)``,
  ``before = total // 2``, the rest after (``tf.nn.convolution`` docs,
  "Notes on padding");
* average pooling divides by the number of *unpadded* positions in each window;
  max pooling pads with ``-inf``;
* activations and ``relu`` as in ``keras/src/activations/activations.py`` and
  ``keras/src/backend/tensorflow/nn.py``; ``normalize`` as
  ``keras/src/layers/preprocessing/normalization.py`` (epsilon ``1e-7``, Keras'
  ``backend.epsilon()``); ``embedding`` as ``keras/src/layers/core/embedding.py``
  (non-integer indices cast to int, i.e. truncated toward zero; negative indices
  count from the end, as ``keras.ops.take``); ``layer_norm`` as
  ``_layer_normalization`` in ``keras/src/ops/nn.py`` (biased variance over the
  axes); ``separable_conv2d`` as ``tf.nn.separable_conv2d`` (depthwise, then the
  pointwise 1x1 kernel, then bias and activation); ``scale`` as ConvNeXt's
  ``LayerScale.call``; ``crop2d`` as ``Cropping2D.call``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["KERNELS", "ACTIVATION_KERNELS", "same_padding", "apply_activation", "KERAS_EPSILON"]

#: ``keras.backend.epsilon()``, the floor of the standard deviation in Normalization.
KERAS_EPSILON = 1e-7
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805

Kernel = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], np.ndarray]


# --------------------------------------------------------------------------- activations

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


#: canonical activation name -> float64 kernel; formulas of ``graphir.ops.activations``.
ACTIVATION_KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": _relu6,
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: _relu6(x + 3.0) / 6.0,
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "silu": lambda x: x * _sigmoid(x),
    "hard_silu": lambda x: x * _relu6(x + 3.0) / 6.0,
    "exponential": np.exp,
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "celu": lambda x: np.maximum(x, 0.0) + np.expm1(np.minimum(x, 0.0)),
}


def apply_activation(name: str, x: np.ndarray) -> np.ndarray:
    """Apply the canonical activation ``name`` (softmax/log_softmax on the last axis).

    Raises:
        KeyError: ``name`` is not an activation of the op set.
    """
    try:
        fn = ACTIVATION_KERNELS[name]
    except KeyError:
        raise KeyError(f"unknown activation {name!r}") from None
    return fn(x)


# --------------------------------------------------------------------------- windows

def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding ``(before, after)`` along one axis.

    ``total = max((ceil(size/stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)``,
    ``before = total // 2`` (the extra row/column goes at the end), as in the
    ``tf.nn.convolution`` documentation.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, ksize, strides, dilations, padding: str,
             pad_value: float = 0.0) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(i, j, x_ij)`` for each kernel tap: ``x_ij`` is the (N, OH, OW, C) slice of
    the padded input that tap ``(i, j)`` sees at every output position.

    Raises:
        ValueError: a ``"valid"`` window is larger than the input.
    """
    (kh, kw), (sh, sw), (dh, dw) = ksize, strides, dilations
    h, w = x.shape[1], x.shape[2]
    if padding == "same":
        (pt, pb), (pl, pr) = same_padding(h, kh, sh, dh), same_padding(w, kw, sw, dw)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value)
    oh = (h + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
    ow = (w + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"a {kh}x{kw} window (dilations {dh}x{dw}) does not fit an input of "
                         f"{h}x{w} with padding='valid'")
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                           j * dw: j * dw + (ow - 1) * sw + 1: sw, :]


def _bias_act(y, bias, attrs):
    if bias is not None:
        y = y + bias
    return apply_activation(attrs["activation"], y)


# --------------------------------------------------------------------------- nn ops

def conv2d(inputs, attrs):
    """NHWC x HWIO grouped convolution, + bias, then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    kh, kw, cin_g, cout = kernel.shape
    groups = attrs["groups"]
    k = kernel.reshape(kh, kw, cin_g, groups, cout // groups)
    acc = None
    for i, j, xs in _windows(x, (kh, kw), attrs["strides"], attrs["dilations"], attrs["padding"]):
        xs = xs.reshape(xs.shape[:3] + (groups, cin_g))
        term = np.einsum("nhwgc,cgo->nhwgo", xs, k[i, j])
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:3] + (cout,)), bias, attrs)


def depthwise_conv2d(inputs, attrs):
    """Depthwise convolution; output channel ``c * mult + m``."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    kh, kw, cin, mult = kernel.shape
    acc = None
    for i, j, xs in _windows(x, (kh, kw), attrs["strides"], attrs["dilations"], attrs["padding"]):
        term = xs[..., :, None] * kernel[i, j]
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:3] + (cin * mult,)), bias, attrs)


def separable_conv2d(inputs, attrs):
    """Depthwise convolution (no bias, no activation), then the 1x1 pointwise kernel,
    + bias, then the fused activation (``tf.nn.separable_conv2d``, which Keras'
    ``SeparableConv2D`` calls: ``keras/src/backend/tensorflow/nn.py``)."""
    x, depthwise, pointwise, bias = (list(inputs) + [None])[:4]
    mid = depthwise_conv2d([x, depthwise, None], {**attrs, "activation": "linear"})
    return _bias_act(np.einsum("nhwc,cf->nhwf", mid, pointwise[0, 0]), bias, attrs)


def dense(inputs, attrs):
    """``x @ kernel + bias`` on the last axis, then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    return _bias_act(np.matmul(x, kernel), bias, attrs)


def batch_norm(inputs, attrs):
    """``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` along ``axis``."""
    x, gamma, beta, mean, var = inputs
    shape = [1] * x.ndim
    shape[attrs["axis"] % x.ndim] = -1

    def b(v, default):
        return default if v is None else v.reshape(shape)

    y = (x - b(mean, 0.0)) / np.sqrt(b(var, 0.0) + attrs["epsilon"])
    return y * b(gamma, 1.0) + b(beta, 0.0)


def layer_norm(inputs, attrs):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` with the mean and the biased
    variance over ``axis`` of each sample (``keras/src/ops/nn.py``,
    ``_layer_normalization``); ``gamma``/``beta`` hold the sizes of ``axis``."""
    x, gamma, beta = (list(inputs) + [None, None])[:3]
    axes = tuple(a % x.ndim for a in attrs["axis"])
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + attrs["epsilon"])
    if gamma is not None:
        y = y * gamma.reshape(shape)
    return y if beta is None else y + beta.reshape(shape)


def normalize(inputs, attrs):
    """``(x - mean) / max(sqrt(var), 1e-7)``, or ``x * max(sqrt(var), 1e-7) + mean`` when inverted."""
    x, mean, var = inputs
    std = np.maximum(np.sqrt(var), KERAS_EPSILON)
    return x * std + mean if attrs["invert"] else (x - mean) / std


def rescale(inputs, attrs):
    """``x * scale + offset`` (per last-axis channel when the attributes are tuples)."""
    def arr(v):
        return np.asarray(v, dtype=np.float64)

    return inputs[0] * arr(attrs["scale"]) + arr(attrs["offset"])


def scale(inputs, attrs):
    """``x * gamma`` along the last axis (``LayerScale.call`` in
    ``keras/src/applications/convnext.py``)."""
    x, gamma = inputs
    return x * gamma


def max_pool2d(inputs, attrs):
    """Window max; ``"same"`` padding never wins (pads with ``-inf``)."""
    out = None
    for _, _, xs in _windows(inputs[0], attrs["pool_size"], attrs["strides"], (1, 1),
                             attrs["padding"], pad_value=-np.inf):
        out = xs if out is None else np.maximum(out, xs)
    return out


def avg_pool2d(inputs, attrs):
    """Window mean over the unpadded positions only (TF/Keras AveragePooling2D)."""
    x = inputs[0]
    ones = np.ones((1,) + x.shape[1:3] + (1,))
    args = (attrs["pool_size"], attrs["strides"], (1, 1), attrs["padding"])
    total = sum(xs for _, _, xs in _windows(x, *args))
    count = sum(os_ for _, _, os_ in _windows(ones, *args))
    return total / count


def global_avg_pool2d(inputs, attrs):
    """Mean over H and W."""
    return np.mean(inputs[0], axis=(1, 2), keepdims=attrs["keepdims"])


def zero_pad2d(inputs, attrs):
    """Zero padding of H and W by ``((top, bottom), (left, right))``."""
    (t, b), (l, r) = attrs["padding"]
    return np.pad(inputs[0], ((0, 0), (t, b), (l, r), (0, 0)))


def crop2d(inputs, attrs):
    """``x[:, top:H-bottom, left:W-right, :]`` (Keras ``Cropping2D``)."""
    (t, b), (l, r) = attrs["cropping"]
    x = inputs[0]
    return x[:, t:x.shape[1] - b, l:x.shape[2] - r, :]


def embedding(inputs, attrs):
    """``table[indices]``; float indices truncated toward zero, negative ones from the end.

    Raises:
        ValueError: an index is outside ``[-input_dim, input_dim)`` (TensorFlow's
            gather raises too).
    """
    idx, table = inputs
    idx = np.trunc(idx).astype(np.int64) if idx.dtype.kind == "f" else idx.astype(np.int64)
    n = table.shape[0]
    bad = (idx < -n) | (idx >= n)
    if np.any(bad):
        raise ValueError(f"embedding index {int(idx[bad].flat[0])} is out of range for a "
                         f"table of {n} rows")
    return table[np.where(idx < 0, idx + n, idx)]


# --------------------------------------------------------------------------- elementwise

def relu(inputs, attrs):
    """Keras ReLU (``keras.src.activations.ReLU.static_call``):
    ``pos = x if x > threshold else 0`` (``max(x, 0)`` when threshold is 0), clipped to
    ``[0, max_value]`` when given, minus ``negative_slope * max(threshold - x, 0)``."""
    x = inputs[0]
    thr, slope, top = attrs["threshold"], attrs["negative_slope"], attrs["max_value"]
    pos = np.where(x > thr, x, 0.0) if thr != 0 else np.maximum(x, 0.0)
    if top is not None:
        pos = np.clip(pos, 0.0, top)
    if slope != 0:
        pos = pos - slope * np.maximum(thr - x, 0.0)
    return pos


def _merge(fn):
    def kernel(inputs, attrs):
        out = inputs[0]
        for y in inputs[1:]:
            out = fn(out, y)
        return out
    return kernel


def _average(inputs, attrs):
    return _merge(np.add)(inputs, attrs) / len(inputs)


def _permute(inputs, attrs):
    return np.transpose(inputs[0], (0,) + tuple(attrs["dims"]))


def _reshape(inputs, attrs):
    x = inputs[0]
    return x.reshape((x.shape[0],) + tuple(attrs["target_shape"]))


def _flatten(inputs, attrs):
    x = inputs[0]
    return x.reshape(x.shape[0], -1)


KERNELS: dict[str, Kernel] = {
    "activation": lambda i, a: apply_activation(a["function"], i[0]),
    "relu": relu,
    "leaky_relu": lambda i, a: np.where(i[0] >= 0, i[0], a["negative_slope"] * i[0]),
    "softmax": lambda i, a: _softmax(i[0], a["axis"]),
    "dropout": lambda i, a: i[0],
    "identity": lambda i, a: i[0],
    "add": _merge(np.add),
    "subtract": _merge(np.subtract),
    "multiply": _merge(np.multiply),
    "maximum": _merge(np.maximum),
    "minimum": _merge(np.minimum),
    "average": _average,
    "conv2d": conv2d,
    "depthwise_conv2d": depthwise_conv2d,
    "separable_conv2d": separable_conv2d,
    "dense": dense,
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "normalize": normalize,
    "rescale": rescale,
    "scale": scale,
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "global_avg_pool2d": global_avg_pool2d,
    "zero_pad2d": zero_pad2d,
    "crop2d": crop2d,
    "embedding": embedding,
    "reshape": _reshape,
    "flatten": _flatten,
    "permute": _permute,
    "concatenate": lambda i, a: np.concatenate(i, axis=a["axis"]),
}
