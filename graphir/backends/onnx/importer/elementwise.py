"""Converters of the elementwise ONNX ops: arithmetic, comparisons, logic, activations,
``Cast``, ``Clip``, ``Where``, ``Identity``/``Dropout`` and ``Constant``.

Every one maps to IR ops of the same semantics (NumPy broadcasting is ONNX's
multidirectional broadcasting).  Attribute values whose semantics the IR lacks are
refused; the few ONNX ops without an IR twin are expanded into exact primitive
compositions (stated per converter).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnx.numpy_helper

from .context import ImportContext, onnx_dtype
from .registry import imports

__all__: list[str] = []

_UNARY = {"Neg": "negative", "Reciprocal": "reciprocal", "Abs": "abs", "Sign": "sign",
          "Sqrt": "sqrt", "Exp": "exp", "Log": "log", "Erf": "erf", "Sin": "sin", "Cos": "cos",
          "Tan": "tan", "Asin": "arcsin", "Acos": "arccos", "Atan": "arctan", "Sinh": "sinh",
          "Cosh": "cosh", "Asinh": "arcsinh", "Acosh": "arccosh", "Atanh": "arctanh",
          "Floor": "floor", "Ceil": "ceil", "Round": "round", "Not": "logical_not"}
_ACTIVATION = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus",
               "Softsign": "softsign", "Mish": "mish", "HardSwish": "hard_silu"}
_BINARY = {"Sub": "subtract", "Equal": "equal", "Less": "less", "LessOrEqual": "less_equal",
           "Greater": "greater", "GreaterOrEqual": "greater_equal", "And": "logical_and",
           "Or": "logical_or", "Xor": "logical_xor"}
_VARIADIC = {"Add": "add", "Mul": "multiply", "Max": "maximum", "Min": "minimum",
             "Sum": "add", "Mean": "average"}


def _f32_equal(a: float, b: float) -> bool:
    """Equal as float32 (ONNX stores float attributes in float32)."""
    return np.float32(a) == np.float32(b)


def _unary(op: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        ctx.emit(op, [ctx.input(0)], out=ctx.out())
    return convert


for _onnx, _ir in _UNARY.items():
    imports(_onnx)(_unary(_ir))


def _activation(function: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        ctx.emit("activation", [ctx.input(0)], {"function": function}, out=ctx.out())
    return convert


for _onnx, _fn in _ACTIVATION.items():
    imports(_onnx)(_activation(_fn))


def _channel_vector(ctx: ImportContext, x: str, c: str) -> np.ndarray | None:
    """The ``(C,)`` float vector when constant ``c`` broadcasts along axis 1 only of the
    run-time float tensor ``x`` of rank >= 3 (shape ``(C, 1, ..)`` or ``(1, C, 1, ..)``, C
    static and > 1), else None."""
    tx = ctx.type(x) if x else None
    arr = ctx.consts.get(c) if c else None
    if tx is None or arr is None or x in ctx.consts or tx.rank < 3 or not tx.dtype.is_float:
        return None
    ch = tx.shape[1]
    if not isinstance(ch, int) or ch < 2 or arr.dtype != tx.dtype.to_numpy():
        return None
    shape = (1,) * (tx.rank - arr.ndim) + arr.shape if arr.ndim <= tx.rank else None
    if shape is None or shape[1] != ch or any(d != 1 for i, d in enumerate(shape) if i != 1):
        return None
    return arr.reshape(ch)


def _binary(op: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        ctx.emit(op, [ctx.input(0), ctx.input(1)], out=ctx.out())
    return convert


def _channel_affine(ctx: ImportContext, x: str, index: int, vec: np.ndarray, op: str) -> None:
    """``x * vec`` or ``x + vec`` along axis 1 as ``batch_norm(axis=1)`` with mean 0,
    variance 1 and epsilon 0: ``(x - 0) / sqrt(1 + 0) * gamma + beta`` is ``x * gamma``
    (``beta`` absent) or ``x + beta`` (``gamma`` absent) exactly.  This is how tf2onnx
    writes a batch normalization it did not fold into a convolution (Mul, Add); as a
    ``batch_norm`` its vectors are weights (a Keras ``BatchNormalization`` layer's
    variables), and the layout pass moves it with the channel axis."""
    dt = vec.dtype
    ch = vec.shape[0]
    stats = [ctx.derived(index, vec, "channel"),  # input ``index`` is the constant
             ctx.constant(np.zeros(ch, dt)), ctx.constant(np.ones(ch, dt))]
    gamma, beta = (stats[0], "") if op == "multiply" else ("", stats[0])
    ctx.emit("batch_norm", [x, gamma, beta, stats[1], stats[2]],
             {"axis": 1, "epsilon": 0.0}, out=ctx.out())


for _onnx, _ir in _BINARY.items():
    imports(_onnx)(_binary(_ir))


def _variadic(op: str):
    def convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
        names = [ctx.input(i) for i in range(ctx.n_inputs())]
        if len(names) == 1:  # the one input itself
            ctx.emit("identity", names, out=ctx.out())
            return
        if op in ("multiply", "add") and len(names) == 2:
            a, b = names
            for x, c, index in ((a, b, 1), (b, a, 0)):
                vec = _channel_vector(ctx, x, c)
                if vec is not None:
                    _channel_affine(ctx, x, index, vec, op)
                    return
        ctx.emit(op, names, out=ctx.out())
    convert.__doc__ = (f"``{op}`` of the inputs (one input: identity); for two inputs, a "
                       f"per-channel constant on channels-first data (axis 1) is a "
                       f"``batch_norm`` (:func:`_channel_affine`)." if op in
                       ("multiply", "add") else f"``{op}`` of the inputs (one: identity).")
    return convert


for _onnx, _ir in _VARIADIC.items():
    imports(_onnx)(_variadic(_ir))


@imports("Div")
def div(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """Floats: ``divide``.  Integers (ONNX truncates toward zero): folded when both inputs
    are constants, else ``floor_divide`` corrected where the signs differ:
    ``q = floor_divide(x, y) + (mod(x, y) != 0 and sign(x) != sign(y))``."""
    x, y = ctx.input(0), ctx.input(1)
    if ctx.type(x).dtype.is_float:
        ctx.emit("divide", [x, y], out=ctx.out())
        return
    a, b = ctx.const(0), ctx.const(1)
    if a is not None and b is not None:
        if np.any(b == 0):
            raise ctx.error("integer division by zero in a constant Div")
        q = np.trunc(a.astype(np.float64) / b.astype(np.float64)).astype(a.dtype)
        ctx.bind(ctx.out(), ctx.constant(q, ctx.out()))
        return
    dt = ctx.type(x).dtype
    q = ctx.emit("floor_divide", [x, y])
    r = ctx.emit("mod", [x, y])
    zero = ctx.constant(np.zeros((), dt.to_numpy()))
    inexact = ctx.emit("not_equal", [r, zero])
    differ = ctx.emit("logical_xor", [ctx.emit("less", [x, zero]), ctx.emit("less", [y, zero])])
    fix = ctx.emit("cast", [ctx.emit("logical_and", [inexact, differ])], {"to": dt.value})
    ctx.emit("add", [q, fix], out=ctx.out())


@imports("Mod", attrs=("fmod",))
def mod(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``fmod=0`` (the divisor's sign): ``mod``.  ``fmod=1`` (C ``fmod``, the dividend's
    sign): ``m = mod(x, y)``; ``m - y`` where ``m != 0`` and ``x``, ``y`` differ in sign,
    else ``m``."""
    x, y = ctx.input(0), ctx.input(1)
    if not ctx.attr("fmod", 0):
        ctx.emit("mod", [x, y], out=ctx.out())
        return
    dt = ctx.type(x).dtype
    m = ctx.emit("mod", [x, y])
    zero = ctx.constant(np.zeros((), dt.to_numpy()))
    adjust = ctx.emit("logical_and", [
        ctx.emit("not_equal", [m, zero]),
        ctx.emit("logical_xor", [ctx.emit("less", [x, zero]), ctx.emit("less", [y, zero])])])
    ctx.emit("where", [adjust, ctx.emit("subtract", [m, y]), m], out=ctx.out())


@imports("Pow")
def pow_(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``power``; a constant exponent of another dtype is converted to the base's dtype
    (ONNX allows mixed dtypes, the IR does not), a run-time one is ``cast``."""
    x, y = ctx.input(0), ctx.input(1)
    dt = ctx.type(x).dtype
    if ctx.type(y).dtype != dt:
        c = ctx.const(1)
        y = (ctx.constant(c.astype(dt.to_numpy())) if c is not None
             else ctx.emit("cast", [y], {"to": dt.value}))
    ctx.emit("power", [x, y], out=ctx.out())


@imports("Relu")
def relu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``relu`` without clip, slope or threshold."""
    ctx.emit("relu", [ctx.input(0)], {"max_value": None, "negative_slope": 0.0,
                                      "threshold": 0.0}, out=ctx.out())


@imports("LeakyRelu", attrs=("alpha",))
def leaky_relu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``leaky_relu(negative_slope=alpha)`` (ONNX default 0.01)."""
    ctx.emit("leaky_relu", [ctx.input(0)], {"negative_slope": float(ctx.attr("alpha", 0.01))},
             out=ctx.out())


@imports("Elu", attrs=("alpha",))
def elu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``elu(alpha)`` (ONNX default 1.0)."""
    ctx.emit("elu", [ctx.input(0)], {"alpha": float(ctx.attr("alpha", 1.0))}, out=ctx.out())


@imports("Celu", attrs=("alpha",))
def celu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``activation celu`` for ``alpha = 1``; other alphas are refused."""
    alpha = float(ctx.attr("alpha", 1.0))
    if alpha != 1.0:
        raise ctx.error(f"Celu alpha={alpha} is not supported (only 1.0)")
    ctx.emit("activation", [ctx.input(0)], {"function": "celu"}, out=ctx.out())


@imports("Selu", attrs=("alpha", "gamma"))
def selu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``activation selu`` when alpha and gamma are SELU's constants (as float32), else
    ``gamma * elu(x, alpha)``."""
    alpha = float(ctx.attr("alpha", 1.67326319217681884765625))
    gamma = float(ctx.attr("gamma", 1.05070102214813232421875))
    x = ctx.input(0)
    if _f32_equal(alpha, 1.6732632423543772) and _f32_equal(gamma, 1.0507009873554805):
        ctx.emit("activation", [x], {"function": "selu"}, out=ctx.out())
        return
    g = ctx.constant(np.asarray(gamma, ctx.type(x).dtype.to_numpy()))
    ctx.emit("multiply", [ctx.emit("elu", [x], {"alpha": alpha}), g], out=ctx.out())


@imports("HardSigmoid", attrs=("alpha", "beta"))
def hard_sigmoid(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``max(0, min(1, alpha * x + beta))``: ``activation hard_sigmoid`` (``relu6(x + 3) /
    6``) when alpha is 1/6 and beta 0.5 (as float32), else ``clip(x * alpha + beta, 0, 1)``."""
    alpha, beta = float(ctx.attr("alpha", 0.2)), float(ctx.attr("beta", 0.5))
    x = ctx.input(0)
    if _f32_equal(alpha, 1 / 6) and _f32_equal(beta, 0.5):
        ctx.emit("activation", [x], {"function": "hard_sigmoid"}, out=ctx.out())
        return
    np_dt = ctx.type(x).dtype.to_numpy()
    lin = ctx.emit("add", [ctx.emit("multiply", [x, ctx.constant(np.asarray(alpha, np_dt))]),
                           ctx.constant(np.asarray(beta, np_dt))])
    ctx.emit("clip", [lin], {"min": 0.0, "max": 1.0}, out=ctx.out())


@imports("Gelu", attrs=("approximate",))
def gelu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``approximate="none"``: ``activation gelu`` (exact, erf).  ``"tanh"``:
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3)))`` (the ONNX spec's
    formula) from primitives."""
    x = ctx.input(0)
    mode = ctx.attr("approximate", "none")
    if mode == "none":
        ctx.emit("activation", [x], {"function": "gelu"}, out=ctx.out())
        return
    if mode != "tanh":
        raise ctx.error(f"Gelu approximate={mode!r} is not supported")
    dt = ctx.type(x).dtype.to_numpy()

    def c(v):
        return ctx.constant(np.asarray(v, dt))
    cube = ctx.emit("multiply", [ctx.emit("multiply", [x, x]), x])
    inner = ctx.emit("multiply", [ctx.emit("add", [x, ctx.emit("multiply", [cube, c(0.044715)])]),
                                  c(math.sqrt(2.0 / math.pi))])
    t = ctx.emit("add", [ctx.emit("activation", [inner], {"function": "tanh"}), c(1.0)])
    ctx.emit("multiply", [ctx.emit("multiply", [x, c(0.5)]), t], out=ctx.out())


@imports("Softmax", attrs=("axis",))
def softmax(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``softmax(axis)`` (opset >= 13 semantics: along one axis, default -1)."""
    ctx.emit("softmax", [ctx.input(0)], {"axis": int(ctx.attr("axis", -1))}, out=ctx.out())


@imports("LogSoftmax", attrs=("axis",))
def log_softmax(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``activation log_softmax`` along the last axis; along another axis
    ``log(softmax(x, axis))``."""
    x = ctx.input(0)
    axis = int(ctx.attr("axis", -1))
    if axis in (-1, ctx.type(x).rank - 1):
        ctx.emit("activation", [x], {"function": "log_softmax"}, out=ctx.out())
    else:
        ctx.emit("log", [ctx.emit("softmax", [x], {"axis": axis})], out=ctx.out())


@imports("PRelu")
def prelu(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``where(x >= 0, x, slope * x)`` (``slope`` broadcasts unidirectionally to ``x``);
    the IR ``prelu`` when the slope is a constant that fits its alpha layout."""
    x, slope = ctx.input(0), ctx.input(1)
    tx, c = ctx.type(x), ctx.const(1)
    if c is not None and tx.rank >= 2 and c.ndim <= tx.rank - 1:
        alpha = c.reshape((1,) * (tx.rank - 1 - c.ndim) + c.shape)
        if all(a == 1 or a == d for a, d in zip(alpha.shape, tx.shape[1:])):
            ctx.emit("prelu", [x, ctx.constant(alpha)], out=ctx.out())
            return
    zero = ctx.constant(np.zeros((), tx.dtype.to_numpy()))
    ctx.emit("where", [ctx.emit("greater_equal", [x, zero]), x,
                       ctx.emit("multiply", [x, slope])], out=ctx.out())


@imports("Clip")
def clip(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``clip`` with the constant bounds (omitted: unbounded); no bound: identity."""
    x = ctx.input(0)
    lo, hi = ctx.const(1), ctx.const(2)
    for i, c in ((1, lo), (2, hi)):
        if ctx.input(i) and c is None:
            raise ctx.error(f"Clip bound input {i} must be known at import time", operand=i)
    if lo is None and hi is None:
        ctx.emit("identity", [x], out=ctx.out())
        return
    as_num = float if ctx.type(x).dtype.is_float else int
    for c in (lo, hi):
        if c is not None and c.size != 1:
            raise ctx.error(f"Clip bounds must be scalars, got shape {list(c.shape)}")
    low = None if lo is None else as_num(lo.reshape(-1)[0])
    high = None if hi is None else as_num(hi.reshape(-1)[0])
    if low is not None and high is not None and low > high:
        # ONNX: min(max(x, min), max), so every element is max (the IR's clip wants
        # min <= max)
        dt = ctx.type(x).dtype.to_numpy()
        y = ctx.emit("maximum", [x, ctx.constant(np.asarray(low, dt))])
        ctx.emit("minimum", [y, ctx.constant(np.asarray(high, dt))], out=ctx.out())
        return
    ctx.emit("clip", [x], {"min": low, "max": high}, out=ctx.out())


@imports("IsInf", attrs=("detect_negative", "detect_positive"))
def is_inf(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``equal(x, +inf)`` and/or ``equal(x, -inf)``."""
    x = ctx.input(0)
    dt = ctx.type(x).dtype.to_numpy()
    neg, pos = ctx.attr("detect_negative", 1), ctx.attr("detect_positive", 1)
    parts = []
    if pos:
        parts.append(ctx.emit("equal", [x, ctx.constant(np.asarray(np.inf, dt))]))
    if neg:
        parts.append(ctx.emit("equal", [x, ctx.constant(np.asarray(-np.inf, dt))]))
    if not parts:
        zero = ctx.emit("equal", [x, ctx.constant(np.asarray(np.nan, dt))])  # always false
        parts.append(zero)
    if len(parts) == 2:
        ctx.emit("logical_or", parts, out=ctx.out())
    else:
        ctx.emit("identity", parts, out=ctx.out())


@imports("Where")
def where(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``where(condition, x, y)``."""
    ctx.emit("where", [ctx.input(0), ctx.input(1), ctx.input(2)], out=ctx.out())


@imports("Cast", attrs=("to", "saturate"))
def cast(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``cast(to)`` (``saturate`` only matters for float8 targets, which the IR lacks); a
    shape value cast to an integer type stays a shape value (dims fit in int32)."""
    to = onnx_dtype(int(ctx.attr("to")))
    if to is None:
        raise ctx.error(f"Cast to {onnx.TensorProto.DataType.Name(int(ctx.attr('to')))} is not "
                        f"supported (no IR dtype)")
    x = ctx.input(0)
    if x in ctx._symbolic and to.is_int:  # a shape value (symbolic dims) stays one
        ctx.bind(ctx.out(), ctx.symbolic(ctx.out(), ctx.shape_values[x],
                                         scalar=ctx.type(x).rank == 0))
        return
    out = ctx.emit("cast", [x], {"to": to.value}, out=ctx.out())
    if x in ctx.shape_values and to.is_int:
        ctx.shape_values[out] = ctx.shape_values[x]


@imports("CastLike", attrs=("saturate",))
def cast_like(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """``cast`` to the dtype of input 1."""
    ctx.emit("cast", [ctx.input(0)], {"to": ctx.type(ctx.input(1)).dtype.value}, out=ctx.out())


@imports("Identity")
def identity(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """The output is the input (no IR node)."""
    ctx.alias(0, ctx.input(0))


@imports("Dropout", attrs=("seed",))
def dropout(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """Inference: the output is the input (``training_mode`` must be absent or a constant
    false); the mask output, all true in inference (ONNX), is a constant of the input's
    static shape."""
    if ctx.input(2):
        mode = ctx.const(2)
        if mode is None or bool(np.asarray(mode)):
            raise ctx.error("Dropout in training mode is not supported")
    if len(node.output) > 1 and node.output[1]:
        shape = ctx.type(ctx.input(0)).shape
        if not all(isinstance(d, int) for d in shape):
            raise ctx.error(f"Dropout's mask output needs a static shape, got {list(shape)}")
        ctx.bind(node.output[1], ctx.constant(np.ones(shape, bool), node.output[1]))
    ctx.alias(0, ctx.input(0))


@imports("Constant", attrs=("value", "value_float", "value_floats", "value_int",
                            "value_ints", "sparse_value", "value_string", "value_strings"))
def constant(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """A weight named like the output (``value``, ``value_float(s)``, ``value_int(s)``)."""
    a = node.attribute[0] if len(node.attribute) == 1 else None
    if a is None:
        raise ctx.error("Constant needs exactly one value attribute")
    if a.name == "value":
        if onnx_dtype(a.t.data_type) is None:
            raise ctx.error(f"Constant of type {onnx.TensorProto.DataType.Name(a.t.data_type)} "
                            f"has no IR dtype")
        arr = onnx.numpy_helper.to_array(a.t)
    elif a.name == "value_float":
        arr = np.asarray(a.f, np.float32)
    elif a.name == "value_floats":
        arr = np.asarray(list(a.floats), np.float32)
    elif a.name == "value_int":
        arr = np.asarray(a.i, np.int64)
    elif a.name == "value_ints":
        arr = np.asarray(list(a.ints), np.int64)
    else:
        raise ctx.error(f"Constant {a.name} is not supported")
    ctx.bind(ctx.out(), ctx.constant(arr, ctx.out()))
