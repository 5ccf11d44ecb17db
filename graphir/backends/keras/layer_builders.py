"""Keras builders of the layer-level ops (conv, dense, normalization, activations,
pooling, padding, shapes, merges), registered with
:func:`~graphir.backends.keras.registry.builds`: IR op -> a Keras layer and the arrays
for its variables (the contract: :mod:`.build_context`).

Each builder is the inverse of a converter in ``converters.py``: it makes one
built-in Keras layer (so the model saves and reloads with ``safe_mode=True``)
and lists the weight arrays in the order of the layer's ``weights`` (Keras'
``build`` order, e.g. BatchNormalization: gamma, beta, moving_mean,
moving_variance).  Builders refuse, with :class:`~graphir.errors.UnsupportedOpError`,
attribute values or weight shapes that no Keras layer computes exactly.
"""

from __future__ import annotations

from typing import Any

import keras
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp
import numpy as np

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__ = ["finish_layer"]


def _present(*arrays: np.ndarray | None) -> list[np.ndarray]:
    return [a for a in arrays if a is not None]


def finish_layer(layer: keras.layers.Layer) -> None:
    """Recompute state derived from variables after ``set_weights`` (Normalization
    keeps broadcast copies of its statistics, refreshed by ``finalize_state``)."""
    if isinstance(layer, keras.layers.Normalization):
        layer.finalize_state()


def _conv_kw(c: BuildContext, kernel: np.ndarray) -> dict[str, Any]:
    """The constructor keywords every convolution layer shares, from the node's attributes
    and the kernel's spatial size (its first ``rank`` axes)."""
    a = c.attrs
    r = len(a["strides"])
    return dict(kernel_size=tuple(kernel.shape[:r]), strides=a["strides"],
                padding=a["padding"], dilation_rate=a["dilations"], activation=a["activation"],
                data_format=a["data_format"])


_CONVS = {"conv1d": keras.layers.Conv1D, "conv2d": keras.layers.Conv2D,
          "conv3d": keras.layers.Conv3D}


@builds(*_CONVS)
def _conv(c: BuildContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    layer = _CONVS[c.node.op](**c.kw(filters=kernel.shape[-1], groups=c.attrs["groups"],
                                     use_bias=bias is not None, **_conv_kw(c, kernel)))
    return layer, _present(kernel, bias)


_DEPTHWISE = {"depthwise_conv1d": keras.layers.DepthwiseConv1D,
              "depthwise_conv2d": keras.layers.DepthwiseConv2D}


@builds(*_DEPTHWISE)
def _depthwise(c: BuildContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    layer = _DEPTHWISE[c.node.op](**c.kw(depth_multiplier=kernel.shape[-1],
                                         use_bias=bias is not None, **_conv_kw(c, kernel)))
    return layer, _present(kernel, bias)


_SEPARABLE = {"separable_conv1d": keras.layers.SeparableConv1D,
              "separable_conv2d": keras.layers.SeparableConv2D}


@builds(*_SEPARABLE)
def _separable(c: BuildContext) -> Built:
    depthwise, pointwise, bias = c.w(1), c.w(2), c.w(3)
    layer = _SEPARABLE[c.node.op](**c.kw(
        filters=pointwise.shape[-1], depth_multiplier=depthwise.shape[-1],
        use_bias=bias is not None, **_conv_kw(c, depthwise)))
    return layer, _present(depthwise, pointwise, bias)


_TRANSPOSED = {"conv1d_transpose": keras.layers.Conv1DTranspose,
               "conv2d_transpose": keras.layers.Conv2DTranspose,
               "conv3d_transpose": keras.layers.Conv3DTranspose}


@builds(*_TRANSPOSED)
def _conv_transpose(c: BuildContext) -> Built:
    # Keras accepts an explicit output_padding only below the stride; output_padding=None
    # gives "valid": max(k, s) - k, "same": s - k % 2 (k dilated), which may equal the
    # stride (see the converter).
    kernel, bias = c.w(1), c.w(2)
    a = c.attrs
    r = len(a["strides"])
    eff = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:r], a["dilations"])]
    if a["padding"] == "valid":
        default = tuple(max(e, s) - e for e, s in zip(eff, a["strides"]))
    else:
        default = tuple(s - e % 2 for e, s in zip(eff, a["strides"]))
    if tuple(a["output_padding"]) == default:
        out_pad = None
    elif all(p < s for p, s in zip(a["output_padding"], a["strides"])):
        out_pad = tuple(a["output_padding"])
    else:
        c.refuse(f"output_padding={a['output_padding']} is not below the strides "
                 f"{a['strides']} and is not Keras' default {default}")
    layer = _TRANSPOSED[c.node.op](**c.kw(filters=kernel.shape[r], output_padding=out_pad,
                                          use_bias=bias is not None, **_conv_kw(c, kernel)))
    return layer, _present(kernel, bias)


@builds("dense")
def _dense(c: BuildContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    layer = keras.layers.Dense(**c.kw(units=c.attrs["units"], activation=c.attrs["activation"],
                                      use_bias=bias is not None))
    return layer, _present(kernel, bias)


@builds("embedding")
def _embedding(c: BuildContext) -> Built:
    table = c.w(1)
    kw = c.kw(input_dim=table.shape[0], output_dim=table.shape[1])
    kw.setdefault("dtype", table.dtype.name)
    return keras.layers.Embedding(**kw), [table]


@builds("batch_norm")
def _batch_norm(c: BuildContext) -> Built:
    gamma, beta, mean, var = c.w(1), c.w(2), c.w(3), c.w(4)
    layer = keras.layers.BatchNormalization(**c.kw(
        axis=c.attrs["axis"], epsilon=c.attrs["epsilon"], center=beta is not None,
        scale=gamma is not None))
    return layer, _present(gamma, beta, mean, var)


@builds("layer_norm")
def _layer_norm(c: BuildContext) -> Built:
    # Keras gives gamma/beta the sizes of the (sorted) axes, as the IR stores them.
    gamma, beta = c.w(1), c.w(2)
    rank = c.data_types[0].rank
    layer = keras.layers.LayerNormalization(**c.kw(
        axis=sorted(a % rank for a in c.attrs["axis"]), epsilon=c.attrs["epsilon"],
        center=beta is not None, scale=gamma is not None))
    return layer, _present(gamma, beta)


@builds("scale")
def _scale(c: BuildContext) -> Built:
    # EinsumDense("...c,c->...c") has no contraction: each output element is one
    # product x * gamma, so it computes LayerScale exactly, for any rank, and keeps
    # gamma a (trainable) weight.
    gamma = c.w(1)
    layer = keras.layers.EinsumDense(**c.kw(equation="...c,c->...c",
                                            output_shape=(gamma.shape[0],)))
    return layer, [gamma]


@builds("normalize")
def _normalize(c: BuildContext) -> Built:
    # Keras keeps the statistics as adapt weights of shape (x.shape[d] for d in axis);
    # the IR stores them in their broadcast shape against x.
    xt, axis = c.data_types[0], c.attrs["axis"]
    keep = sorted({a % xt.rank for a in axis})
    broadcast = [xt.shape[d] if d in keep else 1 for d in range(xt.rank)]
    if not all(isinstance(d, int) for d in broadcast) or 0 in keep:
        c.refuse(f"Keras Normalization needs static, non-batch kept axes; got axis={axis} "
                 f"for input {xt}")
    stats = []
    for stat in (c.w(1), c.w(2)):
        padded = (1,) * (xt.rank - stat.ndim) + stat.shape
        if any(padded[d] not in ((1, broadcast[d]) if d in keep else (1,))
               for d in range(xt.rank)):
            c.refuse(f"statistics of shape {stat.shape} do not fit the kept axes {tuple(keep)} "
                     f"of input {xt}")
        full = np.broadcast_to(stat.reshape(padded), broadcast)
        stats.append(np.ascontiguousarray(full).reshape([broadcast[d] for d in keep]))
    layer = keras.layers.Normalization(**c.kw(axis=tuple(keep), invert=c.attrs["invert"]))
    return layer, [stats[0], stats[1], np.zeros((), np.int64)]


@builds("rescale")
def _rescale(c: BuildContext) -> Built:
    def value(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v
    return keras.layers.Rescaling(**c.kw(scale=value(c.attrs["scale"]),
                                         offset=value(c.attrs["offset"]))), []


@builds("activation")
def _activation(c: BuildContext) -> Built:
    """``keras.layers.Activation(function)``; ``gelu_approximate``, which Keras names no
    activation after, is the ``keras.ops.gelu(x, approximate=True)`` operation."""
    if c.attrs["function"] == "gelu_approximate":
        return knn.Gelu(approximate=True, name=c.name), []
    return keras.layers.Activation(**c.kw(activation=c.attrs["function"])), []


@builds("relu")
def _relu(c: BuildContext) -> Built:
    a = c.attrs
    return keras.layers.ReLU(**c.kw(max_value=a["max_value"], negative_slope=a["negative_slope"],
                                    threshold=a["threshold"])), []


@builds("leaky_relu")
def _leaky_relu(c: BuildContext) -> Built:
    return keras.layers.LeakyReLU(**c.kw(negative_slope=c.attrs["negative_slope"])), []


@builds("elu")
def _elu(c: BuildContext) -> Built:
    return keras.layers.ELU(**c.kw(alpha=c.attrs["alpha"])), []


@builds("prelu")
def _prelu(c: BuildContext) -> Built:
    # PReLU.build gives alpha x.shape[1:] with the shared axes set to 1: the axes where
    # alpha is 1 and the input's dim is not (a non-static dim must be shared).
    alpha = c.w(1)
    dims = c.data_types[0].shape[1:]
    shared = [i + 1 for i, (a, d) in enumerate(zip(alpha.shape, dims)) if a == 1 and d != 1]
    return keras.layers.PReLU(**c.kw(shared_axes=shared or None)), [alpha]


@builds("softmax")
def _softmax(c: BuildContext) -> Built:
    return keras.layers.Softmax(**c.kw(axis=c.attrs["axis"])), []


_POOLS = {f"{op}{r}d": getattr(keras.layers, f"{cls}{r}D")
          for r in (1, 2, 3)
          for op, cls in (("max_pool", "MaxPooling"), ("avg_pool", "AveragePooling"),
                          ("global_max_pool", "GlobalMaxPooling"),
                          ("global_avg_pool", "GlobalAveragePooling"))}


@builds(*_POOLS)
def _pool(c: BuildContext) -> Built:
    a = c.attrs
    cls = _POOLS[c.node.op]
    if c.node.op.startswith("global_"):
        return cls(**c.kw(keepdims=a["keepdims"], data_format=a["data_format"])), []
    return cls(**c.kw(pool_size=a["pool_size"], strides=a["strides"], padding=a["padding"],
                      data_format=a["data_format"])), []


@builds("upsample1d", "upsample2d", "upsample3d")
def _upsample(c: BuildContext) -> Built:
    a = c.attrs
    if c.node.op == "upsample1d":  # UpSampling1D: an int size, no data_format
        return keras.layers.UpSampling1D(**c.kw(size=a["size"][0])), []
    if c.node.op == "upsample2d":
        return keras.layers.UpSampling2D(**c.kw(size=a["size"], data_format=a["data_format"],
                                                interpolation=a["interpolation"])), []
    return keras.layers.UpSampling3D(**c.kw(size=a["size"], data_format=a["data_format"])), []


@builds("zero_pad1d", "zero_pad2d", "zero_pad3d")
def _zero_pad(c: BuildContext) -> Built:
    padding = c.attrs["padding"]
    if c.node.op == "zero_pad1d":
        return keras.layers.ZeroPadding1D(**c.kw(padding=padding[0],
                                                 data_format=c.attrs["data_format"])), []
    cls = keras.layers.ZeroPadding2D if c.node.op == "zero_pad2d" else keras.layers.ZeroPadding3D
    return cls(**c.kw(padding=padding, data_format=c.attrs["data_format"])), []


@builds("crop1d", "crop2d", "crop3d")
def _crop(c: BuildContext) -> Built:
    cropping = c.attrs["cropping"]
    if c.node.op == "crop1d":  # Cropping1D: one pair, no data_format (channels_last)
        return keras.layers.Cropping1D(**c.kw(cropping=cropping[0])), []
    cls = keras.layers.Cropping2D if c.node.op == "crop2d" else keras.layers.Cropping3D
    return cls(**c.kw(cropping=cropping, data_format=c.attrs["data_format"])), []


@builds("reshape")
def _reshape(c: BuildContext) -> Built:
    return keras.layers.Reshape(**c.kw(target_shape=c.attrs["target_shape"])), []


@builds("flatten")
def _flatten(c: BuildContext) -> Built:
    return keras.layers.Flatten(**c.kw(data_format="channels_last")), []


@builds("permute")
def _permute(c: BuildContext) -> Built:
    return keras.layers.Permute(**c.kw(dims=c.attrs["dims"])), []


@builds("concatenate", list_input=True, constant_inputs=True)
def _concatenate(c: BuildContext) -> Built:
    """``keras.layers.Concatenate(axis)`` on the list of tensors; with a constant entry
    (a weight: e.g. ViT's class token tiled to a fixed batch) the
    ``keras.ops.concatenate`` operation, which takes constants in its list."""
    if len(c.data_types) == 1:
        return keras.layers.Identity(**c.kw()), []
    if any(c.constant_data):
        return knp.Concatenate(axis=c.attrs["axis"], name=c.name), []
    return keras.layers.Concatenate(**c.kw(axis=c.attrs["axis"])), []


_MERGES = {"add": keras.layers.Add, "subtract": keras.layers.Subtract,
           "multiply": keras.layers.Multiply, "average": keras.layers.Average,
           "maximum": keras.layers.Maximum, "minimum": keras.layers.Minimum}
#: the keras.ops operation of each binary merge (NumPy broadcasting, constant operands)
_MERGE_OPERATIONS = {"add": knp.Add, "subtract": knp.Subtract, "multiply": knp.Multiply,
                     "maximum": knp.Maximum, "minimum": knp.Minimum}


@builds(*_MERGES, list_input=True, constant_inputs=True)
def _merge(c: BuildContext) -> Built:
    """The merge layer (``Add``, ``Multiply``...) on tensors of one shape; a two-input
    merge with a constant operand (a weight: a custom layer's ``x + self.b``) or with
    inputs of different ranks or batch sizes (a batch of 1 broadcast against a batch of
    N), or scalars (a difference of two run-time sizes), becomes the ``keras.ops``
    operation instead, which broadcasts NumPy-style as the IR op does (Keras' merge layers
    expand lower ranks at axis 1, refuse different batch sizes and need a batch axis)."""
    ranks = sorted({t.rank for t in c.data_types})
    batches = {t.shape[0] for t in c.data_types if t.rank}
    if any(c.constant_data) or len(ranks) > 1 or len(batches) > 1 or ranks == [0]:
        operation = _MERGE_OPERATIONS.get(c.node.op)
        if operation is None or len(c.data_types) != 2:
            what = ("a constant operand" if any(c.constant_data) else
                    f"inputs of ranks {ranks}" if len(ranks) > 1 or ranks == [0] else
                    f"inputs of batch sizes {sorted(batches, key=str)}")
            c.refuse(f"{what} with {len(c.data_types)} inputs: only a two-input add, subtract, "
                     f"multiply, maximum or minimum has a keras.ops form")
        c.list_call = False  # keras.ops.add(x1, x2), not Add()([x1, x2])
        return operation(name=c.name), []
    return _MERGES[c.node.op](**c.kw()), []


@builds("dropout")
def _dropout(c: BuildContext) -> Built:
    return keras.layers.Dropout(**c.kw(rate=c.attrs["rate"])), []


@builds("identity")
def _identity(c: BuildContext) -> Built:
    return keras.layers.Identity(**c.kw()), []
