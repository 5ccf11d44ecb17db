"""Activation functions: names shared by ``activation`` nodes and the ``activation``
attribute of ``dense``/``conv2d``/``depthwise_conv2d``.

Names and formulas follow ``keras.activations`` (Keras 3) with its default
parameters; aliases (``swish``, ``hard_swish``) are canonicalized.  Each formula's
float64 reference kernel is :data:`ACTIVATION_KERNELS` (``keras/src/activations/
activations.py`` and ``keras/src/backend/tensorflow/nn.py``).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["ACTIVATIONS", "ACTIVATION_KERNELS", "apply_activation", "canonical_activation",
           "softmax"]

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
    "gelu_approximate": "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))  "
                        "(tf.nn.gelu, Keras approximate=True)",
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


# --------------------------------------------------------------------------- kernels

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (the max is subtracted first)."""
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
    "softmax": softmax,
    "log_softmax": _log_softmax,
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "gelu_approximate": lambda x: 0.5 * x * (1.0 + np.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
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
