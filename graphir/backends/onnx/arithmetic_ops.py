"""ONNX emitters of the primitive arithmetic ops (:mod:`graphir.ops.arithmetic`).

All are of layout class ``Layout.ANY``: they compute in the layout their inputs
already have (:meth:`~graphir.backends.onnx.context.OnnxEmitContext.layout_for`).
Operator semantics: the ONNX operator specs (https://onnx.ai/onnx/operators/) at the
default opset (>= 18): ``Div``-14 (multidirectional broadcasting), ``Cast``-13 (float
to integer truncates toward zero; to ``bool``, nonzero is true), one node each for
``negative`` (Neg), ``reciprocal``, ``abs``, ``sign``, ``sqrt``, ``exp``, ``log``,
``erf``, ``sin``, ``cos``, ``floor``, ``ceil``, ``round`` (Round, half to even),
``power`` (Pow); small exact compositions where ONNX has no operator with the
TensorFlow semantics: ``square`` (Mul), ``rsqrt`` (Reciprocal of Sqrt), ``log1p``,
``floor_divide`` on integers (Div truncates), ``mod`` on floats (ONNX Mod requires
``fmod=1``), and ``clip`` with one bound (Max / Min).
"""

from __future__ import annotations

from typing import Callable

from graphir.dtypes import DType
from graphir.ir import Node

from .context import OnnxEmitContext
from .registry import emits
from .types import onnx_elem_type

__all__ = ["divide", "cast", "square", "rsqrt", "round_", "log1p", "power", "floor_divide",
           "mod", "clip"]


@emits("divide")
def divide(ctx: OnnxEmitContext, node: Node) -> None:
    """Div of the two inputs, in their common layout."""
    layout = ctx.layout_for(node.inputs)
    ctx.add("Div", [ctx.get(n, layout) for n in node.inputs],
            ctx.define(node.output.name, layout))


@emits("cast")
def cast(ctx: OnnxEmitContext, node: Node) -> None:
    """Cast to the element type of ``to``, in the input's layout."""
    x_name = node.inputs[0]
    layout = ctx.layout_for([x_name])
    ctx.add("Cast", [ctx.get(x_name, layout)], ctx.define(node.output.name, layout),
            to=onnx_elem_type(DType(node.attrs["to"])))


# --------------------------------------------------------------------------- unary

def _unary(build: Callable[[OnnxEmitContext, Node, str, str], None]) -> Callable:
    """An emitter computing ``build(ctx, node, x, out)`` in the input's current layout."""
    def emit(ctx: OnnxEmitContext, node: Node) -> None:
        x_name = node.inputs[0]
        layout = ctx.layout_for([x_name])
        build(ctx, node, ctx.get(x_name, layout), ctx.define(node.output.name, layout))
    emit.__doc__ = build.__doc__
    return emit


def _single(onnx_op: str) -> Callable:
    """An emitter of one ONNX node ``onnx_op(x)``."""
    def build(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
        ctx.add(onnx_op, [x], out)
    build.__doc__ = f"{onnx_op}(x)."
    return _unary(build)


for _ir, _onnx in (("negative", "Neg"), ("reciprocal", "Reciprocal"), ("abs", "Abs"),
                   ("sign", "Sign"), ("sqrt", "Sqrt"), ("exp", "Exp"), ("log", "Log"),
                   ("erf", "Erf"), ("sin", "Sin"), ("cos", "Cos"), ("floor", "Floor"),
                   ("ceil", "Ceil"), ("tan", "Tan"), ("arcsin", "Asin"), ("arccos", "Acos"),
                   ("arctan", "Atan"), ("sinh", "Sinh"), ("cosh", "Cosh"), ("arcsinh", "Asinh"),
                   ("arccosh", "Acosh"), ("arctanh", "Atanh")):
    emits(_ir)(_single(_onnx))


@emits("square")
@_unary
def square(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
    """Mul(x, x) (exactly ``tf.square``)."""
    ctx.add("Mul", [x, x], out)


@emits("rsqrt")
@_unary
def rsqrt(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
    """Reciprocal(Sqrt(x))."""
    ctx.add("Reciprocal", [ctx.add("Sqrt", [x])], out)


@emits("round")
@_unary
def round_(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
    """Round (half to even) for floats; Identity for integers (already whole)."""
    ctx.add("Round" if node.output.type.dtype.is_float else "Identity", [x], out)


@emits("log1p")
@_unary
def log1p(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
    """ONNX has no Log1p: ``u = 1 + x``, ``x * (log(u) / (u - 1))`` (the rounding error
    of ``1 + x`` cancels, Goldberg's method; the same operations as Eigen's vectorized
    ``plog1p``), with the factor 1 where ``u == 1`` (|x| below half an ulp of 1) or
    ``x == +inf``.  Multiplying ``x`` by 1 keeps a ``-0.0`` (selecting ``x`` with
    ``Where`` would not: onnxruntime's ``Where`` loses the sign of a zero)."""
    dtype = node.output.type.dtype
    one = ctx.scalar(1.0, dtype, "one")
    u = ctx.add("Add", [x, one])
    d = ctx.add("Sub", [u, one])
    keep = ctx.add("Or", [ctx.add("Equal", [d, ctx.scalar(0.0, dtype, "zero")]),
                          ctx.add("IsInf", [x], detect_negative=0)])
    factor = ctx.add("Where", [keep, one, ctx.add("Div", [ctx.add("Log", [u]), d])])
    ctx.add("Mul", [x, factor], out)


# --------------------------------------------------------------------------- binary

def _binary(build: Callable[[OnnxEmitContext, Node, str, str, str], None]) -> Callable:
    """An emitter computing ``build(ctx, node, x, y, out)`` in the inputs' common layout."""
    def emit(ctx: OnnxEmitContext, node: Node) -> None:
        layout = ctx.layout_for(node.inputs)
        x, y = (ctx.get(n, layout) for n in node.inputs)
        build(ctx, node, x, y, ctx.define(node.output.name, layout))
    emit.__doc__ = build.__doc__
    return emit


@emits("power")
@_binary
def power(ctx: OnnxEmitContext, node: Node, x: str, y: str, out: str) -> None:
    """Pow(x, y) (opset 15)."""
    ctx.add("Pow", [x, y], out)


@emits("floor_divide")
@_binary
def floor_divide(ctx: OnnxEmitContext, node: Node, x: str, y: str, out: str) -> None:
    """Floats: Floor(Div(x, y)), as ``tf.math.floordiv``.  Integers: ONNX Div truncates
    toward zero, so ``q = Div(x, y)`` is one too large where the truncated remainder
    ``x - q * y`` differs from the floored one (``Mod`` with ``fmod=0``, the divisor's
    sign): ``q - Cast(Not(Equal(x - q * y, Mod(x, y))))``.  No step overflows
    (``|q * y| <= |x|``)."""
    dtype = node.output.type.dtype
    if dtype.is_float:
        ctx.add("Floor", [ctx.add("Div", [x, y])], out)
        return
    q = ctx.add("Div", [x, y])
    truncated = ctx.add("Sub", [x, ctx.add("Mul", [q, y])])
    floored = ctx.add("Mod", [x, y], fmod=0)
    off = ctx.add("Cast", [ctx.add("Not", [ctx.add("Equal", [truncated, floored])])],
                  to=onnx_elem_type(dtype))
    ctx.add("Sub", [q, off], out)


@emits("mod")
@_binary
def mod(ctx: OnnxEmitContext, node: Node, x: str, y: str, out: str) -> None:
    """Integers: Mod with ``fmod=0`` (the divisor's sign, as ``tf.math.floormod``).
    Floats (ONNX requires ``fmod=1``, C ``fmod``, exact): ``r = Mod(x, y, fmod=1)``, then
    ``r + y`` where ``r != 0`` and ``r``, ``y`` differ in sign, else ``r`` (TensorFlow's
    ``google_floor_fmod``, the same float additions)."""
    dtype = node.output.type.dtype
    if not dtype.is_float:
        ctx.add("Mod", [x, y], out, fmod=0)
        return
    zero = ctx.scalar(0.0, dtype, "zero")
    r = ctx.add("Mod", [x, y], fmod=1)
    signs_differ = ctx.add("Xor", [ctx.add("Less", [y, zero]), ctx.add("Less", [r, zero])])
    adjust = ctx.add("And", [ctx.add("Not", [ctx.add("Equal", [r, zero])]), signs_differ])
    ctx.add("Where", [adjust, ctx.add("Add", [r, y]), r], out)


# --------------------------------------------------------------------------- clip

@emits("clip")
@_unary
def clip(ctx: OnnxEmitContext, node: Node, x: str, out: str) -> None:
    """Clip(x, min, max) with both bounds (rank-0 initializers of ``x``'s dtype);
    Max(x, min) or Min(x, max) with one (onnxruntime's Clip without ``max`` clamps
    ``+inf`` to the dtype's largest finite value)."""
    dtype = node.output.type.dtype
    lo, hi = node.attrs["min"], node.attrs["max"]
    if lo is not None and hi is not None:
        ctx.add("Clip", [x, ctx.scalar(lo, dtype, "min"), ctx.scalar(hi, dtype, "max")], out)
    elif lo is not None:
        ctx.add("Max", [x, ctx.scalar(lo, dtype, "min")], out)
    else:
        ctx.add("Min", [x, ctx.scalar(hi, dtype, "max")], out)
