"""Activation functions: names shared by ``activation`` nodes and the ``activation``
attribute of ``dense``/``conv2d``/``depthwise_conv2d``.

Names and formulas follow ``keras.activations`` (Keras 3) with its default
parameters; aliases (``swish``, ``hard_swish``) are canonicalized.
"""

from __future__ import annotations

__all__ = ["ACTIVATIONS", "canonical_activation"]

#: canonical name -> formula (Keras 3 defaults).  ``softmax``/``log_softmax`` act on the last axis.
ACTIVATIONS: dict[str, str] = {
    "linear": "x",
    "relu": "max(x, 0)",
    "relu6": "min(max(x, 0), 6)",
    "sigmoid": "1 / (1 + exp(-x))",
    "hard_sigmoid": "relu6(x + 3) / 6",
    "tanh": "tanh(x)",
    "softmax": "exp(x) / sum(exp(x), axis=-1)",
    "log_softmax": "x - log(sum(exp(x), axis=-1))",
    "softplus": "log(1 + exp(x))",
    "softsign": "x / (1 + |x|)",
    "elu": "x if x > 0 else exp(x) - 1",
    "selu": "1.0507009873554805 * (x if x > 0 else 1.6732632423543772 * (exp(x) - 1))",
    "gelu": "0.5 * x * (1 + erf(x / sqrt(2)))  (exact, Keras approximate=False)",
    "silu": "x * sigmoid(x)",
    "hard_silu": "x * relu6(x + 3) / 6",
    "exponential": "exp(x)",
    "leaky_relu": "x if x >= 0 else 0.2 * x",
    "mish": "x * tanh(softplus(x))",
    "log_sigmoid": "-softplus(-x)",
    "hard_tanh": "min(max(x, -1), 1)",
    "tanh_shrink": "x - tanh(x)",
    "celu": "max(x, 0) + min(0, exp(x) - 1)",
}

_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def canonical_activation(name: str) -> str | None:
    """The canonical IR name of a Keras activation name, or None when it is not in the op set."""
    name = _ALIASES.get(name, name)
    return name if name in ACTIVATIONS else None
