"""ONNX emission of the activation functions (``activation`` nodes and the fused
``activation`` attribute of ``dense``/``conv2d``/``depthwise_conv2d``).

One emitter per canonical name of :data:`graphir.ops.ACTIVATIONS`, each checked
against the formula there (Keras 3 defaults) and against the ONNX operator
specs (https://onnx.ai/onnx/operators/): e.g. ``hard_sigmoid`` is
``HardSigmoid(alpha=1/6, beta=0.5)`` (opset 6) = ``relu6(x + 3) / 6``;
``hard_silu`` is ``HardSwish`` (opset 14); ``selu`` sets Keras' alpha and gamma
explicitly; ``gelu`` is exact (``Gelu(approximate="none")``, opset 20, or its
``Erf`` expansion below 20); ``softmax``/``log_softmax`` act on the ONNX axis that
holds the IR's last axis.
"""

from __future__ import annotations

import math
from typing import Callable

from graphir.dtypes import DType
from graphir.errors import UnsupportedOpError

__all__ = ["emit_activation", "ACTIVATION_EMITTERS"]

_SELU_ALPHA = 1.6732632423543772
_SELU_GAMMA = 1.0507009873554805

# (ctx, x, out, axis, dtype) -> None; must write ``out``
Emitter = Callable[..., None]


def _op(op_type: str, **attributes) -> Emitter:
    def emit(ctx, x, out, axis, dtype):
        ctx.add(op_type, [x], out, **attributes)
    return emit


def _axis_op(op_type: str) -> Emitter:
    def emit(ctx, x, out, axis, dtype):
        ctx.add(op_type, [x], out, axis=axis)
    return emit


def _clip(lo: float, hi: float) -> Emitter:
    def emit(ctx, x, out, axis, dtype):
        ctx.add("Clip", [x, ctx.scalar(lo, dtype, "min"), ctx.scalar(hi, dtype, "max")], out)
    return emit


def _silu(ctx, x, out, axis, dtype):
    ctx.add("Mul", [x, ctx.add("Sigmoid", [x])], out)


def _gelu(ctx, x, out, axis, dtype):
    if ctx.opset >= 20:
        ctx.add("Gelu", [x], out, approximate="none")
        return
    erf = ctx.add("Erf", [ctx.add("Div", [x, ctx.scalar(math.sqrt(2.0), dtype, "sqrt2")])])
    half_x = ctx.add("Mul", [x, ctx.scalar(0.5, dtype, "half")])
    ctx.add("Mul", [half_x, ctx.add("Add", [erf, ctx.scalar(1.0, dtype, "one")])], out)


def _gelu_approximate(ctx, x, out, axis, dtype):
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (``tf.nn.gelu(approximate=True)``,
    which computes ``x^3`` with ``pow``; ONNX ``Gelu(approximate="tanh")`` from opset 20).
    Below 20 the cube is ``Pow(x, 3)``, the form onnxruntime's optimizer fuses into one
    ``FastGelu`` node (``x * x * x`` is not fused: ~10% slower BERT inference)."""
    if ctx.opset >= 20:
        ctx.add("Gelu", [x], out, approximate="tanh")
        return
    cube = ctx.add("Pow", [x, ctx.scalar(3.0, dtype, "three")])
    inner = ctx.add("Add", [x, ctx.add("Mul", [cube, ctx.scalar(0.044715, dtype, "gelu_coeff")])])
    t = ctx.add("Tanh", [ctx.add("Mul", [inner, ctx.scalar(math.sqrt(2.0 / math.pi), dtype,
                                                           "sqrt_2_over_pi")])])
    half_x = ctx.add("Mul", [x, ctx.scalar(0.5, dtype, "half")])
    ctx.add("Mul", [half_x, ctx.add("Add", [t, ctx.scalar(1.0, dtype, "one")])], out)


def _log_sigmoid(ctx, x, out, axis, dtype):
    ctx.add("Neg", [ctx.add("Softplus", [ctx.add("Neg", [x])])], out)


def _tanh_shrink(ctx, x, out, axis, dtype):
    ctx.add("Sub", [x, ctx.add("Tanh", [x])], out)


def _celu(ctx, x, out, axis, dtype):
    if dtype == DType.FLOAT32:  # ONNX Celu (opset 12) is defined for float32 only
        ctx.add("Celu", [x], out, alpha=1.0)
        return
    neg = ctx.add("Min", [x, ctx.scalar(0.0, dtype, "zero")])
    expm1 = ctx.add("Sub", [ctx.add("Exp", [neg]), ctx.scalar(1.0, dtype, "one")])
    ctx.add("Add", [ctx.add("Relu", [x]), expm1], out)


#: canonical activation name -> emitter(ctx, x, out, axis, dtype)
ACTIVATION_EMITTERS: dict[str, Emitter] = {
    "linear": _op("Identity"),
    "relu": _op("Relu"),
    "relu6": _clip(0.0, 6.0),
    "sigmoid": _op("Sigmoid"),
    "hard_sigmoid": _op("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "tanh": _op("Tanh"),
    "softmax": _axis_op("Softmax"),
    "log_softmax": _axis_op("LogSoftmax"),
    "softplus": _op("Softplus"),
    "softsign": _op("Softsign"),
    "elu": _op("Elu", alpha=1.0),
    "selu": _op("Selu", alpha=_SELU_ALPHA, gamma=_SELU_GAMMA),
    "gelu": _gelu,
    "gelu_approximate": _gelu_approximate,
    "silu": _silu,
    "hard_silu": _op("HardSwish"),
    "exponential": _op("Exp"),
    "leaky_relu": _op("LeakyRelu", alpha=0.2),
    "mish": _op("Mish"),
    "log_sigmoid": _log_sigmoid,
    "hard_tanh": _clip(-1.0, 1.0),
    "tanh_shrink": _tanh_shrink,
    "celu": _celu,
}


def emit_activation(ctx, function: str, x: str, out: str, *, axis: int, dtype: DType) -> None:
    """Emit ``function(x)`` into the ONNX tensor ``out``.

    Args:
        ctx: the :class:`~graphir.backends.onnx.context.OnnxEmitContext`.
        function: a canonical activation name (``graphir.ops.ACTIVATIONS``).
        x: the ONNX input tensor name.
        out: the ONNX output tensor name to write.
        axis: the ONNX axis holding the IR's last axis (softmax/log_softmax).
        dtype: the tensors' element type (for constants).

    Raises:
        UnsupportedOpError: no emitter for ``function``.
    """
    emitter = ACTIVATION_EMITTERS.get(function)
    if emitter is None:
        op, node = (ctx.node.op, ctx.node.name) if ctx.node else ("?", "?")
        raise UnsupportedOpError(f"{op}: activation {function!r} cannot be emitted to ONNX",
                                 where=f"node {node!r}")
    emitter(ctx, x, out, axis, dtype)
