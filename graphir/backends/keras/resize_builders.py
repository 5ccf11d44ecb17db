"""Keras builder of the ``resize`` op, registered with
:func:`~graphir.backends.keras.registry.builds`.

* ``resize`` -> ``keras.layers.Resizing(height, width, interpolation, antialias=...,
  data_format="channels_last")``, no weights: the layer computes ``tf.image.resize`` on
  the TensorFlow backend, exactly the op (:mod:`graphir.ops.resize`).  Keras' own
  cropping/padding to an aspect ratio was lowered to separate nodes, so it stays off.
"""

from __future__ import annotations

import keras

from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.registry import builds

__all__: list[str] = []


@builds("resize")
def _resize(c: BuildContext) -> Built:
    """``keras.layers.Resizing`` (module docstring)."""
    a = c.attrs
    h, w = a["size"]
    return keras.layers.Resizing(**c.kw(height=h, width=w, interpolation=a["interpolation"],
                                        antialias=a["antialias"],
                                        data_format=a["data_format"])), []
