"""The float64 twin of a Keras model: the same architecture and weights computing in
float64, the reference's "exact" result for :mod:`graphir.conditioning`.

The twin is built from the model's config with every float ``dtype`` entry (a layer's
dtype policy, an ``InputLayer``'s dtype, nested models' layers included) replaced by
``"float64"``, then given the model's weights cast to float64 (``get_weights`` order:
the same config gives the same variables in the same order).  Integer and bool dtypes
(an ``Embedding``'s indices, a mask) are kept.  Layers that compute in a fixed dtype
regardless of their policy stay in it; the twin is then less exact than float64 and
the measured error smaller, which only makes the precondition more conservative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["float64_twin", "FLOAT_DTYPES"]

#: dtype names and policy names replaced by ``"float64"``
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "mixed_float16",
                          "mixed_bfloat16"})

_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy")


def _patched(obj: Any) -> Any:
    """``obj`` (a Keras config: dicts, lists, scalars) with float dtypes set to float64."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == "dtype" and isinstance(value, str) and value in FLOAT_DTYPES:
                out[key] = "float64"
            elif (key == "dtype" and isinstance(value, dict)
                  and value.get("class_name") in _POLICY_CLASSES
                  and value.get("config", {}).get("name") in FLOAT_DTYPES):
                out[key] = {**value, "config": {**value["config"], "name": "float64"}}
            else:
                out[key] = _patched(value)
        return out
    if isinstance(obj, list):
        return [_patched(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_patched(v) for v in obj)
    return obj


def float64_twin(model: Any) -> Any:
    """The float64 twin of ``model`` (module docstring).

    Args:
        model: a functional or ``Sequential`` ``keras.Model`` (built).

    Returns:
        a new ``keras.Model`` of the same class whose float layers compute in float64,
        with ``model``'s weights (float ones cast to float64).

    Raises:
        ValueError: the twin cannot be built from the config (a subclassed model
            without ``get_config``, an unregistered custom class), or its weights do
            not line up with ``model``'s (names the first mismatch).
    """
    try:
        twin = model.__class__.from_config(_patched(model.get_config()))
    except Exception as e:  # noqa: BLE001 - any config error means: no twin
        raise ValueError(f"cannot rebuild the model in float64: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}") from e
    weights = model.get_weights()
    slots = twin.weights
    if len(slots) != len(weights):
        raise ValueError(f"the float64 twin has {len(slots)} weights, the model "
                         f"{len(weights)}")
    cast = []
    for w, slot in zip(weights, slots):
        w = np.asarray(w)
        if tuple(w.shape) != tuple(slot.shape):
            raise ValueError(f"weight {slot.path}: shape {tuple(slot.shape)} in the twin, "
                             f"{tuple(w.shape)} in the model")
        cast.append(w.astype(np.float64) if w.dtype.kind == "f" else w)
    twin.set_weights(cast)
    return twin
