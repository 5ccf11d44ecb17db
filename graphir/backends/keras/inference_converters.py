"""Converters of the Keras layers that are the identity or a fixed function at inference,
registered with :func:`~graphir.backends.keras.registry.lowers`.

graphir lowers with ``training=False`` semantics (``Model.predict``, ``model(x,
training=False)``); the semantics below were read from the Keras 3.15 sources under
``keras/src/layers`` and checked on the TensorFlow backend.

* **Regularization layers** (``keras/src/layers/regularization``): ``GaussianDropout``,
  ``AlphaDropout``, ``SpatialDropout1D/2D/3D`` return ``inputs`` unless ``training`` ->
  ``dropout(x) {rate}``; ``GaussianNoise`` (``stddev``, no rate) and
  ``ActivityRegularization`` (``call`` returns ``inputs``; the regularizer only adds a
  training loss) -> ``identity(x)``.  Any dtype (the input is returned as it is).
* **Random augmentation layers** (``keras/src/layers/preprocessing/image_preprocessing``):
  their ``transform_images(images, transformation, training=False)`` returns the images,
  at most cast to the layer's compute dtype -> ``identity(x)``, for an input already of
  that dtype (another dtype is refused: some of them cast, others do not).  A dict
  input (images with boxes or labels) is several tensors and refused.  ``RandomCrop``
  returns its input unchanged at inference while Keras' symbolic output has the
  target ``(height, width)``: only an input whose static height and width already are
  the target (the identity) lowers; any other size is refused.  Their ``call`` defaults
  to ``training=True``, which Keras records on the symbolic call; a functional model
  called with ``training=False`` (``predict`` does) replaces any recorded ``training``
  (``keras/src/models/functional.py``, ``operation_fn``), so these converters accept the
  ``training`` keyword and lower the inference path whatever was recorded.
* ``Dot(axes, normalize)`` (``keras/src/layers/merging/dot.py``, ``batch_dot``): the
  contraction of ``x1`` axis ``a0`` with ``x2`` axis ``a1``, batch axis shared, output
  axes ``x1``'s others then ``x2``'s others -> one ``einsum`` (a rank-1 result, two
  rank-2 inputs, gets its size-1 axis back with ``expand_dims``, as Keras' ``(batch,
  1)``).  ``normalize=True`` first l2-normalizes each input along its dot axis with
  Keras' default epsilon (``keras.config.epsilon()``, read at lowering time).
* ``UnitNormalization(axis)``: ``ops.normalize(x, axis, order=2, epsilon=1e-12)``.

The l2-normalization is ``keras/src/ops/nn.py`` ``_normalize`` for ``order=2``, node
for node: ``x * minimum(rsqrt(sum(square(x), axis, keepdims=True)), 1 / epsilon)`` ->
helpers ``square``, ``sum``, ``rsqrt``, ``clip {max=1/epsilon}`` (``tf.minimum`` with a
number, the bound rounded to ``x``'s dtype as TensorFlow converts it), then
``multiply``.

``GroupNormalization`` is not lowered here (see specs/ops.md, *Layers identity or fixed
at inference*): its grouped statistics need per-(group, channel) ``gamma``/``beta``
weights as elementwise operands, which the Keras emitter refuses for ``multiply``/
``add`` nodes.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.registry import lowers
from graphir.tensor_types import TensorType

__all__: list[str] = []

L = keras.layers

# --------------------------------------------------------------------------- regularization

#: layers with a ``rate`` whose ``call`` returns ``inputs`` unless ``training``
_DROPOUTS = (L.GaussianDropout, L.AlphaDropout, L.SpatialDropout1D, L.SpatialDropout2D,
             L.SpatialDropout3D)


@lowers(*_DROPOUTS, keeps_input_dtype=True)
def _dropout_like(ctx: LayerContext) -> Lowered:
    """A dropout-family layer at inference -> ``dropout(x) {rate}`` (the identity)."""
    return ctx.lowered("dropout", [ctx.x], {"rate": float(ctx.layer.rate)})


@lowers(L.GaussianNoise, L.ActivityRegularization, keeps_input_dtype=True)
def _identity_at_inference(ctx: LayerContext) -> Lowered:
    """``GaussianNoise`` (no noise unless ``training``) and ``ActivityRegularization``
    (a training loss only) -> ``identity(x)``."""
    return ctx.lowered("identity", [ctx.x])


# --------------------------------------------------------------------------- augmentation

#: random augmentation layers whose inference path returns the images (cast to the
#: compute dtype at most); each checked in its ``transform_images`` and ``call``
AUGMENTATION_LAYERS = tuple(getattr(L, name) for name in (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter",
    "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
    "RandomSaturation", "RandomSharpness", "RandomShear", "AugMix", "CutMix", "MixUp",
    "RandAugment", "Solarization"))


def _same_dtype_input(ctx: LayerContext) -> str:
    """The single input, refused unless its dtype is the layer's compute dtype."""
    x, t = ctx.x, ctx.x_type
    compute = getattr(ctx.layer, "compute_dtype", None)
    if t.dtype.value != compute:
        ctx.refuse(f"a {t.dtype.value} input; at inference the layer returns it cast to "
                   f"its compute dtype {compute} (or not, depending on the layer): "
                   f"only an input of dtype {compute} lowers")
    return x


@lowers(*AUGMENTATION_LAYERS, accepted_call_kwargs=("training",))
def _augmentation(ctx: LayerContext) -> Lowered:
    """A random augmentation layer at inference -> ``identity(x)``."""
    return ctx.lowered("identity", [_same_dtype_input(ctx)])


@lowers(L.RandomCrop, accepted_call_kwargs=("training",))
def _random_crop(ctx: LayerContext) -> Lowered:
    """``RandomCrop(height, width)`` on an input of exactly that static size ->
    ``identity(x)``; another (or unknown) size is refused."""
    x = _same_dtype_input(ctx)
    layer, shape = ctx.layer, ctx.x_type.shape
    if len(shape) != 4:
        ctx.refuse(f"an input of rank {len(shape)}; a batch of images (rank 4) is expected")
    size = (shape[layer.height_axis], shape[layer.width_axis])
    if size != (layer.height, layer.width):
        ctx.refuse(f"input height and width {size} differ from (height, width) = "
                   f"{(layer.height, layer.width)}; at inference Keras 3.15 returns the "
                   f"input uncropped while its symbolic output has the target size, so only "
                   f"the identity case (equal static sizes) lowers")
    return ctx.lowered("identity", [x])


# --------------------------------------------------------------------------- l2 normalization

def _axes(ctx: LayerContext, axis: int | Sequence[int], rank: int) -> tuple[int, ...]:
    """Keras axes -> canonical IR axes (non-negative, sorted), never the batch axis."""
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not -rank <= int(a) < rank:
            ctx.refuse(f"axis {a} out of range for a rank-{rank} input")
        out.append(int(a) % rank)
    if len(set(out)) != len(out):
        ctx.refuse(f"axis {axis} repeats an axis")
    if 0 in out:
        ctx.refuse(f"axis {axis} includes the batch axis")
    return tuple(sorted(out))


def l2_normalize(ctx: LayerContext, x: str, t: TensorType, axes: tuple[int, ...],
                 epsilon: float, suffix: str) -> tuple[str, list[str]]:
    """Add the helpers of Keras' ``ops.normalize(x, axis=axes, order=2, epsilon)``.

    Adds ``square``, ``sum {axes, keepdims=true}``, ``rsqrt`` and ``clip
    {max=1/epsilon}`` helper nodes named ``<layer>/<suffix>_...``; the caller finishes
    with ``multiply(x, inv_norm)`` (as a helper or as the final node).

    Returns:
        ``(inv_norm, [x, inv_norm])``: the clipped inverse norm's value name and the
        operands of the final ``multiply``.
    """
    if not t.dtype.is_float:
        ctx.refuse(f"a {t.dtype.value} input; the l2-normalization needs a float tensor")
    bound = float(np.asarray(1.0 / epsilon).astype(t.dtype.to_numpy()))
    sq = ctx.helper("square", [x], suffix=f"{suffix}_square")
    total = ctx.helper("sum", [sq], {"axes": axes, "keepdims": True}, suffix=f"{suffix}_sum")
    inv = ctx.helper("rsqrt", [total], suffix=f"{suffix}_rsqrt")
    inv = ctx.helper("clip", [inv], {"min": None, "max": bound}, suffix=f"{suffix}_inv_norm")
    return inv, [x, inv]


@lowers(L.UnitNormalization)
def _unit_normalization(ctx: LayerContext) -> Lowered:
    """``UnitNormalization(axis)`` -> the l2-normalization chain with epsilon 1e-12
    (``keras/src/layers/normalization/unit_normalization.py``)."""
    x, t = ctx.x, ctx.x_type
    axes = _axes(ctx, ctx.layer.axis, t.rank)
    _, operands = l2_normalize(ctx, x, t, axes, 1e-12, "l2")
    return ctx.lowered("multiply", operands)


# --------------------------------------------------------------------------- Dot

_LETTERS = "bcdefghijklmnopqrstuvwxy"


def dot_equation(rank1: int, rank2: int, a0: int, a1: int) -> tuple[str, int]:
    """The einsum equation of Keras' ``batch_dot(x1, x2, (a0, a1))`` for ranks >= 2.

    Axis 0 (the batch) is shared (``a``), ``x1``'s axis ``a0`` and ``x2``'s axis ``a1``
    contract (``z``); the output keeps ``x1``'s other axes, then ``x2``'s.

    Returns:
        ``(equation, rank)`` with ``rank`` the einsum output's rank (1 for two rank-2
        inputs, which Keras returns as ``(batch, 1)``).
    """
    letters = iter(_LETTERS)
    t1 = ["a"] + [next(letters) for _ in range(rank1 - 1)]
    t2 = ["a"] + [next(letters) for _ in range(rank2 - 1)]
    t1[a0], t2[a1] = "z", "z"
    out = [c for c in t1 if c != "z"] + [c for c in t2[1:] if c != "z"]
    return f"{''.join(t1)},{''.join(t2)}->{''.join(out)}", len(out)


def _dot_axes(ctx: LayerContext, ranks: tuple[int, int]) -> tuple[int, int]:
    """Keras ``Dot._merge_function``'s axes, made non-negative; refused on the batch axis."""
    axes = ctx.layer.axes
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    out = []
    for a, rank in zip(pair, ranks):
        if not -rank <= a < rank:
            ctx.refuse(f"axes={axes!r} out of range for inputs of ranks {ranks}")
        out.append(a % rank)
    if 0 in out:
        ctx.refuse(f"axes={axes!r} includes the batch axis")
    return out[0], out[1]


@lowers(L.Dot)
def _dot(ctx: LayerContext) -> Lowered:
    """``Dot(axes, normalize)`` on two float tensors of rank >= 2 -> ``einsum`` (plus
    ``expand_dims`` for two rank-2 inputs), the inputs l2-normalized first when
    ``normalize`` (epsilon ``keras.config.epsilon()``)."""
    if len(ctx.inputs) != 2:
        ctx.refuse(f"called on {len(ctx.inputs)} tensors; Dot takes exactly two")
    types = ctx.input_types
    ranks = (types[0].rank, types[1].rank)
    if min(ranks) < 2:
        ctx.refuse(f"inputs of ranks {ranks}; batch_dot needs rank >= 2")
    for t in types:
        if not t.dtype.is_float or t.dtype != types[0].dtype:
            ctx.refuse(f"inputs of dtypes {[u.dtype.value for u in types]}; einsum needs one "
                       f"float dtype")
    a0, a1 = _dot_axes(ctx, ranks)
    x1, x2 = ctx.inputs
    if ctx.layer.normalize:
        eps = float(keras.config.epsilon())
        for i, (axis, suffix) in enumerate(((a0, "x1"), (a1, "x2"))):
            _, operands = l2_normalize(ctx, ctx.inputs[i], types[i], (axis,), eps, suffix)
            normalized = ctx.helper("multiply", operands, suffix=f"{suffix}_normalized")
            if i == 0:
                x1 = normalized
            else:
                x2 = normalized
    equation, rank = dot_equation(*ranks, a0, a1)
    if rank == 1:
        product = ctx.helper("einsum", [x1, x2], {"equation": equation}, suffix="einsum")
        return ctx.lowered("expand_dims", [product], {"axes": (1,)})
    return ctx.lowered("einsum", [x1, x2], {"equation": equation})
