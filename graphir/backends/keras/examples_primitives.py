"""Example models for the primitive op tier: one small seeded functional model per
primitive op group (arithmetic, logic, reduction, indexing, a reshape to sizes read at
run time), written with ``keras.ops``
on symbolic tensors as user code is, so that every primitive op appears in the example
zoo and every zoo-wide test (lowering, both emitters, verification) covers it.

Inputs follow :func:`graphir.backends.keras.zoo.example_inputs`: float inputs are
standard normal, integer inputs uniform in ``[0, 10)``.  Every op sees values in its
domain (``sqrt``/``log`` of positive values, no integer division by zero), and every
output depends on the inputs (no constant outputs, which verification's sensitivity
check would flag).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import ops

__all__ = ["primitive_examples"]

SEED = 11


def _finish(inputs, outputs, name: str) -> keras.Model:
    """The model with seeded bias values (Keras initializes biases to zero)."""
    model = keras.Model(inputs, outputs, name=name)
    rng = np.random.default_rng(SEED)
    for v in model.weights:
        if v.path.endswith("bias"):
            v.assign(rng.normal(0.0, 0.1, tuple(v.shape)).astype(v.dtype))
    return model


def arithmetic_ops() -> keras.Model:
    """Every elementwise math primitive, with casts between float32 and int32, and
    ``keras.ops.gelu`` (its default tanh approximation: the ``gelu_approximate``
    activation)."""
    keras.utils.set_random_seed(SEED)
    x = keras.Input((6,), name="x")
    i = keras.Input((6,), dtype="int32", name="i")
    h = keras.layers.Dense(6, name="dense")(x)
    pos = ops.abs(h) + 0.5                                   # > 0: sqrt, log, rsqrt
    a = ops.sqrt(pos) + ops.rsqrt(pos) + ops.log(pos) + ops.log1p(pos)
    b = ops.exp(ops.negative(ops.square(h))) + ops.erf(h) + ops.sin(h) * ops.cos(h)
    c = ops.floor(h * 3.0) + ops.ceil(h * 3.0) + ops.round(h * 3.0) + ops.sign(h)
    d = ops.reciprocal(pos) / 3.0 + ops.power(pos, 1.5) + ops.mod(h * 4.0, 1.5)
    e = ops.floor_divide(h * 4.0, 1.5) + ops.clip(h, -0.5, 0.5) + ops.gelu(h)  # tanh form
    j = ops.floor_divide(i, 3) + ops.mod(i, 4) + ops.abs(ops.negative(i))  # int32 throughout
    k = ops.cast(h * 4.0, "int32") + j                            # truncation toward zero
    unit = ops.tanh(h) * 0.9                                      # in (-1, 1)
    t = (ops.tan(unit) + ops.arcsin(unit) + ops.arccos(unit) + ops.arctan(h) + ops.sinh(unit)
         + ops.cosh(unit) + ops.arcsinh(h) + ops.arccosh(pos + 1.0) + ops.arctanh(unit))
    out = a + b + c + d + e + t + ops.cast(k, "float32") / (pos + pos)
    return _finish([x, i], [out, k], "arithmetic_ops")


def logic_ops() -> keras.Model:
    """Comparisons, logic and where, with bool and float outputs."""
    keras.utils.set_random_seed(SEED)
    x = keras.Input((5,), name="x")
    y = keras.Input((5,), name="y")
    h = keras.layers.Dense(5, name="dense")(x)
    lt, le = ops.less(h, y), ops.less_equal(h, 0.0)
    gt, ge = ops.greater(h, y), ops.greater_equal(y, 0.25)
    eq, ne = ops.equal(ops.round(h), ops.round(y)), ops.not_equal(ops.round(h), 0.0)
    both = ops.logical_and(lt, ge)
    either = ops.logical_or(le, eq)
    odd = ops.logical_xor(gt, ne)
    picked = ops.where(ops.logical_not(both), h, y * 2.0)
    return _finish([x, y], [picked, either, odd], "logic_ops")


def reduction_ops() -> keras.Model:
    """Reductions over one and two axes (keepdims both ways), argmax/argmin, var/std,
    matmul of two computed tensors, einsum (an attention score), cumsum (of floats and of
    the int32 argmax), a tensordot (lowered to einsum) and a top-k."""
    keras.utils.set_random_seed(SEED)
    x = keras.Input((4, 6), name="x")
    h = keras.layers.Dense(6, name="dense")(x)
    scores = ops.einsum("bqd,bkd->bqk", h, x)                 # (batch, 4, 4)
    mixed = ops.matmul(ops.softmax(scores, axis=-1), h)       # (batch, 4, 6)
    stats = (ops.sum(mixed, axis=1) + ops.mean(mixed, axis=1) + ops.max(h, axis=1)
             + ops.min(h, axis=1) + ops.var(h, axis=1) + ops.std(x, axis=1)
             + ops.prod(ops.tanh(h), axis=1)
             + ops.cumsum(h, axis=2)[:, 0])                   # (batch, 6)
    total = ops.sum(h, axis=(1, 2), keepdims=True)            # (batch, 1, 1)
    where_max = ops.cumsum(ops.argmax(h, axis=-1), axis=1)
    where_min = ops.argmin(x, axis=1)
    running = ops.cumsum(h, axis=1) + ops.tensordot(x, ops.ones((6, 6)) * 0.1, axes=1)
    best, where_best = ops.top_k(h, k=2)
    return _finish(x, [stats, total, where_max, where_min, running, best, where_best],
                   "reduction_ops")


def indexing_ops() -> keras.Model:
    """Slicing, transposes and shape edits, gathers, tiling, padding, stacking, one-hot,
    a category count, buckets (``Discretization``), a ``full_like``, a scatter of rows
    to positions computed from the input, and a broadcast
    (which ``keras.ops.broadcast_to`` takes only to a static shape, so this model has a
    static batch of 2, the zoo's input batch)."""
    keras.utils.set_random_seed(SEED)
    x = keras.Input((4, 6), batch_size=2, name="x")
    i = keras.Input((3,), batch_size=2, dtype="int32", name="i")
    h = keras.layers.Dense(6, name="dense")(x)
    sliced = h[:, 1:3, ::-1]                                   # (batch, 2, 6)
    moved = ops.transpose(sliced, (0, 2, 1))                  # (batch, 6, 2)
    squeezed = ops.squeeze(ops.expand_dims(h[:, 0], 1), 1)    # (batch, 6)
    taken = ops.take(squeezed, np.array([5, -1, 2]), axis=1)  # (batch, 3); -1 wraps
    along = ops.take_along_axis(h[:, :, :3], ops.expand_dims(i % 4, 1), axis=1)
    tiled = ops.tile(taken, (1, 2))                            # (batch, 6)
    repeated = ops.repeat(taken, 2, axis=1)                    # (batch, 6)
    padded = ops.pad(moved, ((0, 0), (0, 0), (1, 1)), constant_values=0.5)   # (batch, 6, 4)
    flipped = ops.flip(padded, 2)
    stacked = ops.stack([tiled, repeated, squeezed], axis=1)  # (batch, 3, 6)
    broad = ops.broadcast_to(ops.expand_dims(taken, 1), (2, 3, 3))
    hot = ops.one_hot(i, 6)                                    # (batch, 3, 6)
    counts = keras.layers.CategoryEncoding(6, output_mode="count", name="counts")(i)
    windows = ops.reshape(ops.reshape(h, (-1, 2, 6)), (2, 4, 6))  # batch split and merged
    buckets = keras.layers.Discretization([-0.5, 0.0, 0.5], name="buckets")(squeezed)
    filled = ops.full_like(counts, 0.5) + counts + ops.cast(buckets, "float32")
    first = i[:1, 0] % 2                                       # rows (k, 1 - k): distinct
    rows = ops.expand_dims(ops.concatenate([first, 1 - first]), -1)
    placed = ops.scatter_update(squeezed, rows, ops.flip(squeezed, 1))  # tensor indices
    return _finish([x, i], [stacked + hot, flipped, along, broad, filled + placed, windows],
                   "indexing_ops")


class _PixelShuffle(keras.layers.Layer):
    """keras.io super-resolution's depth-to-space by ``ops.reshape`` with sizes read
    with ``ops.shape``: ``(b, h, w, 4c)`` -> ``(b, h, w, 2, 2, c)`` -> transposed ->
    ``(b, 2h, 2w, c)``; on an image of unknown height and width, a custom layer that
    graphir traces into ``dynamic_reshape`` (several sizes known only at run time)."""

    def call(self, x):
        b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        y = ops.reshape(x, (b, h, w, 2, 2, x.shape[-1] // 4))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return ops.reshape(y, (b, h * 2, w * 2, x.shape[-1] // 4))

    def compute_output_shape(self, shape):
        return (shape[0], None, None, shape[-1] // 4)


def run_time_reshape() -> keras.Model:
    """A pixel shuffle on an image of unknown size (:class:`_PixelShuffle`, traced): the
    ``dynamic_reshape`` op, whose sizes are read from tensor shapes at run time."""
    keras.utils.set_random_seed(SEED)
    x = keras.Input((None, None, 3), name="image")
    h = keras.layers.Conv2D(8, 1, name="features")(x)
    y = _PixelShuffle(name="pixel_shuffle")(h)
    return _finish([x], [keras.layers.Conv2D(2, 1, name="head")(y)], "run_time_reshape")


def primitive_examples() -> dict[str, Callable[[], keras.Model]]:
    """Name -> zero-argument builder of each primitive-tier example model (seeded)."""
    return {"arithmetic_ops": arithmetic_ops, "logic_ops": logic_ops,
            "reduction_ops": reduction_ops, "indexing_ops": indexing_ops,
            "run_time_reshape": run_time_reshape}
