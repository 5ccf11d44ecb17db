"""NumPy reference kernels of the op set, one small function per op (see ``KERNELS``).

Every kernel takes the node's input arrays (``None`` for an omitted optional
input) and its attributes, and returns one array.  Float arrays arrive as
``float64`` (the interpreter upcasts them) so the results are a trustworthy
reference; integer and bool arrays keep their dtype.

Conventions follow Keras 3 on the TensorFlow backend, which the ONNX and Keras
emitters must reproduce:

* layout channels-last (NWC, NHWC, NDHWC: the spatial kernels are written once for
  any number of spatial axes); ``conv{r}d`` kernels ``(*k, cin/groups, cout)`` (HWIO
  for 2-D) with output channel ``o`` in group ``o // (cout/groups)``;
  ``depthwise_conv{r}d`` kernels ``(*k, cin, mult)`` with output channel
  ``c * mult + m`` (``tf.nn.depthwise_conv2d`` docs); ``conv{r}d_transpose`` kernels
  ``(*k, cout, cin)``, computed as the adjoint of the forward convolution
  (``tf.nn.conv_transpose``, output size from ``keras/src/backend/common/backend_utils.py``);
* ``"causal"`` padding (``conv1d``) pads ``(k - 1) * d`` zeros at the start only
  (``keras/src/layers/convolutional/conv1d.py``);
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
  axes); ``separable_conv{r}d`` as ``tf.nn.separable_conv2d`` (depthwise, then the
  pointwise 1x1 kernel, then bias and activation); ``scale`` as ConvNeXt's
  ``LayerScale.call``; ``crop{r}d`` as ``Cropping{r}D.call``; ``upsample{r}d`` as
  ``UpSampling{r}D`` (``ops.repeat`` per axis; bilinear as ``tf.image.resize`` with
  half-pixel centers); ``elu`` and ``prelu`` as ``keras/src/layers/activations``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["KERNELS", "ACTIVATION_KERNELS", "same_padding", "apply_activation", "KERAS_EPSILON",
           "conv_transpose_size"]

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


def _pads(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """``(before, after)`` padding of one spatial axis for ``padding`` (``"valid"``,
    ``"same"``: :func:`same_padding`, ``"causal"``: ``(kernel - 1) * dilation`` before,
    as Keras ``Conv1D``, ``keras/src/layers/convolutional/conv1d.py``)."""
    if padding == "same":
        return same_padding(size, kernel, stride, dilation)
    if padding == "causal":
        return (kernel - 1) * dilation, 0
    return 0, 0


def _windows(x: np.ndarray, ksize, strides, dilations, padding: str,
             pad_value: float = 0.0) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Yield ``(tap, x_tap)`` for each kernel tap of an N-d window over the spatial axes
    ``1 .. r`` of a channels-last ``x`` (``r = len(ksize)``): ``x_tap`` is the
    ``(N, *out, C)`` slice of the padded input that tap ``tap`` (a tuple of ``r``
    indices) sees at every output position.

    Raises:
        ValueError: a ``"valid"`` window is larger than the input.
    """
    r = len(ksize)
    pads = [_pads(x.shape[1 + i], ksize[i], strides[i], dilations[i], padding) for i in range(r)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=pad_value)
    out = [(x.shape[1 + i] + sum(pads[i]) - ((ksize[i] - 1) * dilations[i] + 1)) // strides[i] + 1
           for i in range(r)]
    if min(out) <= 0:
        raise ValueError(f"a {'x'.join(map(str, ksize))} window (dilations "
                         f"{'x'.join(map(str, dilations))}) does not fit an input of "
                         f"{'x'.join(map(str, x.shape[1:1 + r]))} with padding='valid'")
    for tap in np.ndindex(*ksize):
        index = (slice(None),) + tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, o, s in zip(tap, dilations, out, strides)) + (slice(None),)
        yield tap, xp[index]


def _bias_act(y, bias, attrs):
    if bias is not None:
        y = y + bias
    return apply_activation(attrs["activation"], y)


# --------------------------------------------------------------------------- nn ops

def conv(inputs, attrs):
    """Channels-last N-d grouped convolution (``conv1d``/``conv2d``/``conv3d``): kernel
    ``(*k, cin/groups, cout)``, output channel ``o`` in group ``o // (cout/groups)``;
    + bias, then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cin_g, cout = kernel.shape[r:]
    groups = attrs["groups"]
    k = kernel.reshape(kernel.shape[:r] + (cin_g, groups, cout // groups))
    acc = None
    for tap, xs in _windows(x, kernel.shape[:r], attrs["strides"], attrs["dilations"],
                            attrs["padding"]):
        xs = xs.reshape(xs.shape[:-1] + (groups, cin_g))
        term = np.einsum("...gc,cgo->...go", xs, k[tap])
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:-2] + (cout,)), bias, attrs)


def depthwise_conv(inputs, attrs):
    """Depthwise N-d convolution, kernel ``(*k, cin, mult)``; output channel ``c * mult + m``."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cin, mult = kernel.shape[r:]
    acc = None
    for tap, xs in _windows(x, kernel.shape[:r], attrs["strides"], attrs["dilations"],
                            attrs["padding"]):
        term = xs[..., :, None] * kernel[tap]
        acc = term if acc is None else acc + term
    return _bias_act(acc.reshape(acc.shape[:-2] + (cin * mult,)), bias, attrs)


def separable_conv(inputs, attrs):
    """Depthwise convolution (no bias, no activation), then the pointwise kernel
    ``(*ones, cin * mult, filters)``, + bias, then the fused activation
    (``tf.nn.separable_conv2d``, which Keras' ``SeparableConv1D``/``SeparableConv2D``
    call: ``keras/src/backend/tensorflow/nn.py``)."""
    x, depthwise, pointwise, bias = (list(inputs) + [None])[:4]
    mid = depthwise_conv([x, depthwise, None], {**attrs, "activation": "linear"})
    pw = pointwise.reshape(pointwise.shape[-2:])
    return _bias_act(np.einsum("...c,cf->...f", mid, pw), bias, attrs)


def conv_transpose_size(size: int, kernel: int, stride: int, dilation: int, padding: str,
                        output_padding: int) -> tuple[int, int]:
    """``(out, before)`` of a transposed convolution along one axis: the output size
    (Keras' rule, ``graphir.ops.type_rules.conv_transpose_out_dim``) and the number of
    leading positions of the full scatter ``(size - 1) * stride + (kernel - 1) * dilation
    + 1`` that are cut: 0 for ``"valid"``, else the ``before`` of TensorFlow's "same"
    padding of the forward convolution from ``out`` back to ``size``."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - 1) * stride + eff + output_padding, 0
    out = (size - 1) * stride + eff % 2 + output_padding
    return out, same_padding(out, kernel, stride, dilation)[0]


def conv_transpose(inputs, attrs):
    """Channels-last N-d transposed convolution (``tf.nn.conv_transpose``, the gradient of
    the forward convolution with respect to its input): kernel ``(*k, cout, cin)``; input
    position ``j`` and tap ``t`` add ``x[j] @ kernel[t].T`` to full position
    ``j * stride + t * dilation``; the output is positions ``before .. before + out - 1``
    of that full scatter (zeros past its end), see :func:`conv_transpose_size`; + bias,
    then the fused activation."""
    x, kernel, bias = (list(inputs) + [None])[:3]
    r = kernel.ndim - 2
    cout = kernel.shape[r]
    strides, dil = attrs["strides"], attrs["dilations"]
    n = x.shape[1:1 + r]
    full = [(n[i] - 1) * strides[i] + (kernel.shape[i] - 1) * dil[i] + 1 for i in range(r)]
    acc = np.zeros((x.shape[0],) + tuple(full) + (cout,), dtype=np.result_type(x, kernel))
    for tap in np.ndindex(*kernel.shape[:r]):
        index = (slice(None),) + tuple(
            slice(t * d, t * d + (m - 1) * s + 1, s)
            for t, d, m, s in zip(tap, dil, n, strides)) + (slice(None),)
        acc[index] += np.einsum("...i,oi->...o", x, kernel[tap])
    sizes = [conv_transpose_size(n[i], kernel.shape[i], strides[i], dil[i], attrs["padding"],
                                 attrs["output_padding"][i]) for i in range(r)]
    grow = [(0, 0)] + [(0, max(o + b - f, 0)) for (o, b), f in zip(sizes, full)] + [(0, 0)]
    acc = np.pad(acc, grow)
    index = (slice(None),) + tuple(slice(b, b + o) for o, b in sizes) + (slice(None),)
    return _bias_act(acc[index], bias, attrs)


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


def max_pool(inputs, attrs):
    """N-d window max; ``"same"`` padding never wins (pads with ``-inf``)."""
    x = inputs[0]
    r = x.ndim - 2
    out = None
    for _, xs in _windows(x, attrs["pool_size"], attrs["strides"], (1,) * r,
                          attrs["padding"], pad_value=-np.inf):
        out = xs if out is None else np.maximum(out, xs)
    return out


def avg_pool(inputs, attrs):
    """N-d window mean over the unpadded positions only (TF/Keras AveragePooling)."""
    x = inputs[0]
    r = x.ndim - 2
    ones = np.ones((1,) + x.shape[1:1 + r] + (1,))
    args = (attrs["pool_size"], attrs["strides"], (1,) * r, attrs["padding"])
    total = sum(xs for _, xs in _windows(x, *args))
    count = sum(os_ for _, os_ in _windows(ones, *args))
    return total / count


def _global_pool(reduce):
    def kernel(inputs, attrs):
        x = inputs[0]
        return reduce(x, axis=tuple(range(1, x.ndim - 1)), keepdims=attrs["keepdims"])
    kernel.__doc__ = f"``np.{reduce.__name__}`` over the spatial axes ``1 .. rank-2``."
    return kernel


global_avg_pool = _global_pool(np.mean)
global_max_pool = _global_pool(np.max)


def _bilinear_axis(x: np.ndarray, axis: int, factor: int) -> np.ndarray:
    """Linear interpolation along ``axis`` to ``size * factor`` with half-pixel centers
    (``tf.image.resize(..., "bilinear")``, ``antialias=False``): output ``i`` samples
    ``c = (i + 0.5) / factor - 0.5`` clamped to ``[0, size - 1]``, between
    ``floor(c)`` and ``floor(c) + 1`` (clamped) with weight ``c - floor(c)``."""
    size = x.shape[axis]
    c = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0.0, size - 1)
    lo = np.floor(c).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    shape = [1] * x.ndim
    shape[axis] = -1
    w = (c - lo).reshape(shape)
    return np.take(x, lo, axis=axis) * (1.0 - w) + np.take(x, hi, axis=axis) * w


def upsample(inputs, attrs):
    """Upsampling of the spatial axes by ``size``: ``"nearest"`` repeats each element
    (``ops.repeat`` in Keras' ``UpSampling1D/2D/3D``), ``"bilinear"`` interpolates
    (:func:`_bilinear_axis`, separably over H then W)."""
    x = inputs[0]
    for i, f in enumerate(attrs["size"]):
        if attrs["interpolation"] == "nearest":
            x = np.repeat(x, f, axis=1 + i)
        else:
            x = _bilinear_axis(x, 1 + i, f)
    return x


def zero_pad(inputs, attrs):
    """Zero padding of the spatial axes by ``((before, after), ...)``."""
    return np.pad(inputs[0], [(0, 0)] + [tuple(p) for p in attrs["padding"]] + [(0, 0)])


def crop(inputs, attrs):
    """``x[:, b1:n1-a1, ..., :]`` (Keras ``Cropping1D/2D/3D``)."""
    x = inputs[0]
    index = (slice(None),) + tuple(slice(b, x.shape[1 + i] - a)
                                   for i, (b, a) in enumerate(attrs["cropping"])) + (slice(None),)
    return x[index]


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


def elu(inputs, attrs):
    """``x if x > 0 else alpha * (exp(x) - 1)`` (``keras.activations.elu``)."""
    x = inputs[0]
    return np.where(x > 0, x, attrs["alpha"] * np.expm1(np.minimum(x, 0.0)))


def prelu(inputs, attrs):
    """``x if x >= 0 else alpha * x`` with ``alpha`` (``x.shape[1:]``, shared axes 1)
    broadcast against ``x`` (Keras ``PReLU.call``: ``relu(x) - alpha * relu(-x)``)."""
    x, alpha = inputs
    return np.where(x >= 0, x, alpha * x)


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
    "elu": elu,
    "prelu": prelu,
    "dense": dense,
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "normalize": normalize,
    "rescale": rescale,
    "scale": scale,
    "embedding": embedding,
    "reshape": _reshape,
    "flatten": _flatten,
    "permute": _permute,
    "concatenate": lambda i, a: np.concatenate(i, axis=a["axis"]),
}
for _r in (1, 2, 3):
    KERNELS.update({f"conv{_r}d": conv, f"conv{_r}d_transpose": conv_transpose,
                    f"max_pool{_r}d": max_pool, f"avg_pool{_r}d": avg_pool,
                    f"global_avg_pool{_r}d": global_avg_pool,
                    f"global_max_pool{_r}d": global_max_pool, f"upsample{_r}d": upsample,
                    f"zero_pad{_r}d": zero_pad, f"crop{_r}d": crop})
for _r in (1, 2):
    KERNELS.update({f"depthwise_conv{_r}d": depthwise_conv,
                    f"separable_conv{_r}d": separable_conv})
