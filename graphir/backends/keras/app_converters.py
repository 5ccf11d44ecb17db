"""Converters of the custom layers that ``keras.applications`` models define, registered
with :func:`~graphir.backends.keras.registry.lowers`.

These classes live in Keras' application modules, not in ``keras.layers``; a model
that uses them lowers to built-in ops, and the Keras model emitted from the IR uses
only built-in layers (so it loads with ``safe_mode=True``).  Lookup is by exact
class, so a subclass that overrides ``call`` is still refused.

* ``LayerScale`` (``keras/src/applications/convnext.py``): ``call`` is
  ``x * self.gamma``, ``gamma`` a ``(projection_dim,)`` variable broadcast along the
  last axis -> ``scale(x, gamma)``.
* ``CustomScaleLayer`` (``keras/src/applications/inception_resnet_v2.py``): ``call``
  is ``inputs[0] + inputs[1] * self.scale`` with a Python float ``scale``, which
  TensorFlow converts to the tensors' dtype -> a helper node
  ``rescale(inputs[1], scale, 0)`` named ``<layer>/scale``, then
  ``add(inputs[0], <layer>/scale)`` named after the layer.
"""

from __future__ import annotations

import numpy as np
from keras.src.applications.convnext import LayerScale
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

from graphir.backends.keras.context import LayerContext, Lowered
from graphir.backends.keras.registry import lowers

__all__: list[str] = []


@lowers(LayerScale)
def _layer_scale(ctx: LayerContext) -> Lowered:
    # LayerScale.build adds gamma without a name; the IR weight is <layer>/gamma
    return ctx.lowered("scale", [ctx.x, ctx.weight(ctx.layer.gamma, name="gamma")])


@lowers(CustomScaleLayer)
def _custom_scale(ctx: LayerContext) -> Lowered:
    if len(ctx.inputs) != 2:
        ctx.refuse(f"called on {len(ctx.inputs)} tensors; it computes inputs[0] + "
                   f"inputs[1] * scale of exactly two")
    shortcut, residual = ctx.inputs
    rtype = ctx.input_types[1]
    factor = ctx.layer.scale
    if isinstance(factor, (bool, np.bool_)) or not isinstance(factor, (int, float, np.number)):
        ctx.refuse(f"scale={factor!r} is not a real number")
    if not rtype.dtype.is_float:
        ctx.refuse(f"a {rtype.dtype.value} residual input; rescale needs a float tensor")
    value = float(np.asarray(factor).astype(rtype.dtype.to_numpy()))
    scaled = ctx.helper("rescale", [residual], {"scale": value, "offset": 0.0}, suffix="scale")
    return ctx.lowered("add", [shortcut, scaled])
