"""The emitter table: IR op -> a Keras layer and the arrays for its variables.

Each builder is the inverse of a converter in ``converters.py``: it makes one
built-in Keras layer (so the model saves and reloads with ``safe_mode=True``)
and lists the weight arrays in the order of the layer's ``weights`` (Keras'
``build`` order, e.g. BatchNormalization: gamma, beta, moving_mean,
moving_variance).  Builders refuse, with :class:`~graphir.errors.UnsupportedOpError`,
attribute values or weight shapes that no Keras layer computes exactly.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn, Sequence

import keras
import numpy as np

from graphir.errors import UnsupportedOpError
from graphir.ir import Node
from graphir.types import TensorType

__all__ = ["EmitContext", "BUILDERS", "finish_layer"]


class EmitContext:
    """One node being emitted.

    Attributes:
        node: the IR node.
        name: the Keras layer name to use.
        data_types: types of the node's data (non-weight) inputs, in order.
        weights: per node input, its array when it is a weight, else None.
        dtype: the layer dtype to pass (None: Keras' default float32 policy).
        where: location text for errors.
    """

    def __init__(self, node: Node, name: str, data_types: Sequence[TensorType],
                 weights: Sequence[np.ndarray | None], dtype: str | None, where: str):
        self.node = node
        self.attrs = node.attrs
        self.name = name
        self.data_types = tuple(data_types)
        self.weights = tuple(weights)
        self.dtype = dtype
        self.where = where

    def w(self, index: int) -> np.ndarray | None:
        """The weight array at node input ``index`` (None when omitted)."""
        return self.weights[index] if index < len(self.weights) else None

    def kw(self, **kwargs: Any) -> dict[str, Any]:
        """Layer constructor keywords plus ``name`` and (when needed) ``dtype``."""
        kwargs["name"] = self.name
        if self.dtype is not None:
            kwargs["dtype"] = self.dtype
        return kwargs

    def refuse(self, detail: str) -> NoReturn:
        """Raise :class:`UnsupportedOpError` naming the op and the node, with ``detail``."""
        raise UnsupportedOpError(f"op {self.node.op!r} cannot be emitted as a Keras layer: "
                                 f"{detail}", where=self.where)


Built = tuple[keras.layers.Layer, list[np.ndarray]]
Builder = Callable[[EmitContext], Built]
BUILDERS: dict[str, Builder] = {}


def _builds(*ops: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for op in ops:
            BUILDERS[op] = fn
        return fn
    return register


def _present(*arrays: np.ndarray | None) -> list[np.ndarray]:
    return [a for a in arrays if a is not None]


def finish_layer(layer: keras.layers.Layer) -> None:
    """Recompute state derived from variables after ``set_weights`` (Normalization
    keeps broadcast copies of its statistics, refreshed by ``finalize_state``)."""
    if isinstance(layer, keras.layers.Normalization):
        layer.finalize_state()


@_builds("conv2d")
def _conv2d(c: EmitContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    a = c.attrs
    layer = keras.layers.Conv2D(**c.kw(
        filters=kernel.shape[3], kernel_size=kernel.shape[:2], strides=a["strides"],
        padding=a["padding"], dilation_rate=a["dilations"], groups=a["groups"],
        activation=a["activation"], use_bias=bias is not None, data_format=a["data_format"]))
    return layer, _present(kernel, bias)


@_builds("depthwise_conv2d")
def _depthwise(c: EmitContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    a = c.attrs
    layer = keras.layers.DepthwiseConv2D(**c.kw(
        kernel_size=kernel.shape[:2], strides=a["strides"], padding=a["padding"],
        depth_multiplier=kernel.shape[3], dilation_rate=a["dilations"],
        activation=a["activation"], use_bias=bias is not None, data_format=a["data_format"]))
    return layer, _present(kernel, bias)


@_builds("separable_conv2d")
def _separable(c: EmitContext) -> Built:
    depthwise, pointwise, bias = c.w(1), c.w(2), c.w(3)
    a = c.attrs
    layer = keras.layers.SeparableConv2D(**c.kw(
        filters=pointwise.shape[3], kernel_size=depthwise.shape[:2], strides=a["strides"],
        padding=a["padding"], data_format=a["data_format"], dilation_rate=a["dilations"],
        depth_multiplier=depthwise.shape[3], activation=a["activation"],
        use_bias=bias is not None))
    return layer, _present(depthwise, pointwise, bias)


@_builds("dense")
def _dense(c: EmitContext) -> Built:
    kernel, bias = c.w(1), c.w(2)
    layer = keras.layers.Dense(**c.kw(units=c.attrs["units"], activation=c.attrs["activation"],
                                      use_bias=bias is not None))
    return layer, _present(kernel, bias)


@_builds("embedding")
def _embedding(c: EmitContext) -> Built:
    table = c.w(1)
    kw = c.kw(input_dim=table.shape[0], output_dim=table.shape[1])
    kw.setdefault("dtype", table.dtype.name)
    return keras.layers.Embedding(**kw), [table]


@_builds("batch_norm")
def _batch_norm(c: EmitContext) -> Built:
    gamma, beta, mean, var = c.w(1), c.w(2), c.w(3), c.w(4)
    layer = keras.layers.BatchNormalization(**c.kw(
        axis=c.attrs["axis"], epsilon=c.attrs["epsilon"], center=beta is not None,
        scale=gamma is not None))
    return layer, _present(gamma, beta, mean, var)


@_builds("layer_norm")
def _layer_norm(c: EmitContext) -> Built:
    # Keras gives gamma/beta the sizes of the (sorted) axes, as the IR stores them.
    gamma, beta = c.w(1), c.w(2)
    rank = c.data_types[0].rank
    layer = keras.layers.LayerNormalization(**c.kw(
        axis=sorted(a % rank for a in c.attrs["axis"]), epsilon=c.attrs["epsilon"],
        center=beta is not None, scale=gamma is not None))
    return layer, _present(gamma, beta)


@_builds("scale")
def _scale(c: EmitContext) -> Built:
    # EinsumDense("...c,c->...c") has no contraction: each output element is one
    # product x * gamma, so it computes LayerScale exactly, for any rank, and keeps
    # gamma a (trainable) weight.
    gamma = c.w(1)
    layer = keras.layers.EinsumDense(**c.kw(equation="...c,c->...c",
                                            output_shape=(gamma.shape[0],)))
    return layer, [gamma]


@_builds("normalize")
def _normalize(c: EmitContext) -> Built:
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


@_builds("rescale")
def _rescale(c: EmitContext) -> Built:
    def value(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v
    return keras.layers.Rescaling(**c.kw(scale=value(c.attrs["scale"]),
                                         offset=value(c.attrs["offset"]))), []


@_builds("activation")
def _activation(c: EmitContext) -> Built:
    return keras.layers.Activation(**c.kw(activation=c.attrs["function"])), []


@_builds("relu")
def _relu(c: EmitContext) -> Built:
    a = c.attrs
    return keras.layers.ReLU(**c.kw(max_value=a["max_value"], negative_slope=a["negative_slope"],
                                    threshold=a["threshold"])), []


@_builds("leaky_relu")
def _leaky_relu(c: EmitContext) -> Built:
    return keras.layers.LeakyReLU(**c.kw(negative_slope=c.attrs["negative_slope"])), []


@_builds("softmax")
def _softmax(c: EmitContext) -> Built:
    return keras.layers.Softmax(**c.kw(axis=c.attrs["axis"])), []


@_builds("max_pool2d", "avg_pool2d")
def _pool(c: EmitContext) -> Built:
    cls = keras.layers.MaxPooling2D if c.node.op == "max_pool2d" else keras.layers.AveragePooling2D
    a = c.attrs
    return cls(**c.kw(pool_size=a["pool_size"], strides=a["strides"], padding=a["padding"],
                      data_format=a["data_format"])), []


@_builds("global_avg_pool2d")
def _global_avg_pool(c: EmitContext) -> Built:
    return keras.layers.GlobalAveragePooling2D(**c.kw(
        keepdims=c.attrs["keepdims"], data_format=c.attrs["data_format"])), []


@_builds("zero_pad2d")
def _zero_pad(c: EmitContext) -> Built:
    return keras.layers.ZeroPadding2D(**c.kw(padding=c.attrs["padding"],
                                             data_format=c.attrs["data_format"])), []


@_builds("crop2d")
def _crop(c: EmitContext) -> Built:
    return keras.layers.Cropping2D(**c.kw(cropping=c.attrs["cropping"],
                                          data_format=c.attrs["data_format"])), []


@_builds("reshape")
def _reshape(c: EmitContext) -> Built:
    return keras.layers.Reshape(**c.kw(target_shape=c.attrs["target_shape"])), []


@_builds("flatten")
def _flatten(c: EmitContext) -> Built:
    return keras.layers.Flatten(**c.kw(data_format="channels_last")), []


@_builds("permute")
def _permute(c: EmitContext) -> Built:
    return keras.layers.Permute(**c.kw(dims=c.attrs["dims"])), []


@_builds("concatenate")
def _concatenate(c: EmitContext) -> Built:
    if len(c.data_types) == 1:
        return keras.layers.Identity(**c.kw()), []
    return keras.layers.Concatenate(**c.kw(axis=c.attrs["axis"])), []


_MERGES = {"add": keras.layers.Add, "subtract": keras.layers.Subtract,
           "multiply": keras.layers.Multiply, "average": keras.layers.Average,
           "maximum": keras.layers.Maximum, "minimum": keras.layers.Minimum}


@_builds(*_MERGES)
def _merge(c: EmitContext) -> Built:
    ranks = sorted({t.rank for t in c.data_types})
    if len(ranks) > 1:
        c.refuse(f"inputs of ranks {ranks}: Keras merge layers expand lower ranks at axis 1, "
                 f"not by NumPy broadcasting")
    return _MERGES[c.node.op](**c.kw()), []


@_builds("dropout")
def _dropout(c: EmitContext) -> Built:
    return keras.layers.Dropout(**c.kw(rate=c.attrs["rate"])), []


@_builds("identity")
def _identity(c: EmitContext) -> Built:
    return keras.layers.Identity(**c.kw()), []


#: ops whose Keras layer takes a list of tensors
LIST_INPUT_OPS = frozenset({"concatenate", *_MERGES})
