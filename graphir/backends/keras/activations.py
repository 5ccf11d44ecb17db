"""Map a Keras activation function object to its IR name.

Keras stores an activation as a function object (``layer.activation``).  It maps
to the IR only when it *is* the built-in ``keras.activations`` function of that
name (so its parameters are Keras' defaults, the ones ``graphir.ops.ACTIVATIONS``
documents) and that name is in the op set.  Matching by identity, not by
``__name__`` or by ``keras.activations.serialize`` alone, refuses look-alikes: a
user function called ``relu``, a ``functools.partial(relu, max_value=6)``, a
lambda, ``tf.nn.relu``, or a layer object passed as an activation.
"""

from __future__ import annotations

from typing import Any

from graphir.ops import ACTIVATIONS, canonical_activation

__all__ = ["activation_name"]


def _gelu_approximations() -> list[Any]:
    """The activation functions that are exactly ``keras.activations.gelu(x,
    approximate=True)``: keras_hub's (and keras_nlp's) ``gelu_approximate``, from the
    modules already imported (a model holding one has imported them; graphir imports
    nothing itself)."""
    import sys

    found = []
    for module in ("keras_hub.src.utils.keras_utils", "keras_nlp.src.utils.keras_utils"):
        fn = getattr(sys.modules.get(module), "gelu_approximate", None)
        if fn is not None:
            found.append(fn)
    return found


def _describe(fn: Any) -> str:
    name = getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", None)
    if name:
        return f"{module}.{name}" if module else name
    return type(fn).__name__


def activation_name(fn: Any) -> tuple[str | None, str]:
    """The canonical IR activation name of Keras activation ``fn``.

    Args:
        fn: the activation (``layer.activation``); None means ``linear`` as in Keras.

    Returns:
        ``(name, "")`` when supported, else ``(None, reason)`` where ``reason`` says
        why, for an :class:`~graphir.errors.UnsupportedLayerError` detail.
    """
    import keras

    if fn is None:
        return "linear", ""
    if any(fn is approx for approx in _gelu_approximations()):
        return "gelu_approximate", ""
    name = getattr(fn, "__name__", None)
    builtin = None
    if isinstance(name, str):
        try:
            builtin = keras.activations.get(name)
        except ValueError:
            builtin = None
    if builtin is None or builtin is not fn:
        return None, (f"activation {_describe(fn)} is not a built-in keras.activations "
                      f"function with default parameters")
    canonical = canonical_activation(name)
    if canonical is None:
        return None, (f"activation {name!r} is not in the op set "
                      f"(supported: {', '.join(sorted(ACTIVATIONS))})")
    return canonical, ""
