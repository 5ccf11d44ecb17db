"""Dimension arithmetic shared by the type rules (symbolic-aware)."""

from __future__ import annotations

from typing import Sequence

from graphir.ops.registry import TypeRuleError
from graphir.tensor_types import Dim, TensorType, format_dim

__all__ = ["broadcast_shapes", "conv_out_dim", "conv_transpose_out_dim", "norm_axis",
           "same_dtype", "fmt_shape", "require_rank", "require_positive", "require_float",
           "forbid_bool", "scaled_dim", "unify_dims"]


def require_positive(attrs, *names: str) -> None:
    """Raise a TypeRuleError when an int or int-tuple attribute has a value < 1."""
    for name in names:
        if name not in attrs:
            continue
        values = attrs[name] if isinstance(attrs[name], tuple) else (attrs[name],)
        if any(v < 1 for v in values):
            raise TypeRuleError(f"attribute {name}={attrs[name]} must be >= 1",
                                expected=">= 1", actual=str(attrs[name]))


def require_float(t, index: int, what: str) -> None:
    """Raise a TypeRuleError when ``t`` is not a float tensor."""
    if not t.dtype.is_float:
        raise TypeRuleError(f"{what} must be a float tensor, got {t.dtype.value}",
                            input_index=index, expected="float", actual=t.dtype.value)


def forbid_bool(types) -> None:
    """Raise a TypeRuleError naming the first bool input (arithmetic needs numbers)."""
    for i, t in enumerate(types):
        if t is not None and t.dtype.value == "bool":
            raise TypeRuleError(f"input {i} is bool; arithmetic needs numbers", input_index=i,
                                expected="a numeric dtype", actual="bool")


def fmt_shape(shape: Sequence[Dim]) -> str:
    """``(batch, 28, 28, 3)`` style text for diagnostics."""
    return "(" + ", ".join(format_dim(d) for d in shape) + ")"


def norm_axis(axis: int, rank: int, *, input_index: int | None = 0) -> int:
    """Normalize a possibly negative axis for a tensor of ``rank``.

    Raises:
        TypeRuleError: the axis is out of range.
    """
    if not -rank <= axis < rank:
        raise TypeRuleError(f"axis {axis} is out of range for rank {rank}",
                            input_index=input_index)
    return axis % rank


def require_rank(t: TensorType, ranks: Sequence[int], *, input_index: int, what: str) -> None:
    """Raise a TypeRuleError when ``t``'s rank is not one of ``ranks``."""
    if t.rank not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise TypeRuleError(f"{what} must have rank {want}, got rank {t.rank} {fmt_shape(t.shape)}",
                            input_index=input_index, expected=f"rank {want}",
                            actual=f"rank {t.rank} {fmt_shape(t.shape)}")


def same_dtype(types: Sequence[TensorType | None]) -> None:
    """Raise a TypeRuleError naming the first input whose dtype differs from input 0's."""
    first = next((t for t in types if t is not None), None)
    for i, t in enumerate(types):
        if t is not None and first is not None and t.dtype != first.dtype:
            raise TypeRuleError(f"input {i} has dtype {t.dtype.value}, input 0 has "
                                f"{first.dtype.value}", input_index=i,
                                expected=first.dtype.value, actual=t.dtype.value,
                                hint="cast one side so both have the same dtype")


def unify_dims(a: Dim, b: Dim) -> Dim:
    """The common value of two dims that must be equal: an unknown dim takes the other
    one, a static size wins over a symbol, equal symbols stay, different symbols give
    unknown.

    Raises:
        ValueError: two different static sizes.
    """
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, int) and isinstance(b, int):
        if a != b:
            raise ValueError
        return a
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    return a if a == b else None


def _broadcast_dim(a: Dim, b: Dim) -> Dim:
    if a == 1:
        return b
    if b == 1:
        return a
    return unify_dims(a, b)


def broadcast_shapes(shapes: Sequence[Sequence[Dim]]) -> tuple[Dim, ...]:
    """NumPy broadcasting over symbolic dims (ONNX "multidirectional broadcasting").

    Raises:
        TypeRuleError: two static dims differ and neither is 1; ``input_index`` and
            ``axis`` (counted from the left of the broadcast result) say where.
    """
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = [1] * rank
    for idx, s in enumerate(shapes):
        padded = (1,) * (rank - len(s)) + tuple(s)
        for ax, d in enumerate(padded):
            try:
                out[ax] = _broadcast_dim(out[ax], d)
            except ValueError:
                raise TypeRuleError(
                    f"input {idx} shape {fmt_shape(s)} does not broadcast with the "
                    f"others at axis {ax}: {d} vs {out[ax]}", input_index=idx, axis=ax,
                    expected=f"{out[ax]} (or 1) at axis {ax}", actual=fmt_shape(s)) from None
    return tuple(out)


def conv_out_dim(size: Dim, kernel: int, stride: int, dilation: int, padding: str) -> Dim:
    """Output size of a convolution/pooling window along one axis.

    Follows TensorFlow's rule (Keras' padding): ``valid`` gives
    ``floor((size - ((kernel - 1) * dilation + 1)) / stride) + 1``, ``same`` gives
    ``ceil(size / stride)``, and ``causal`` (Keras Conv1D: pad ``(kernel - 1) * dilation``
    zeros at the start, then ``valid``) gives ``ceil(size / stride)`` too.  Symbolic or
    unknown sizes give None.

    Raises:
        TypeRuleError: ``valid`` padding with a window larger than the input.
    """
    if not isinstance(size, int):
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    eff = (kernel - 1) * dilation + 1
    if size < eff:
        raise TypeRuleError(f"window of size {eff} does not fit an input of size {size} "
                            f"with padding='valid'", input_index=0,
                            expected=f">= {eff}", actual=str(size))
    return (size - eff) // stride + 1


def scaled_dim(size: Dim, factor: int) -> Dim:
    """``size * factor`` for a static size, else None (upsampling)."""
    return size * factor if isinstance(size, int) else None


def conv_transpose_out_dim(size: Dim, kernel: int, stride: int, dilation: int, padding: str,
                           output_padding: int) -> Dim:
    """Output size of a transposed convolution along one axis (Keras' rule,
    ``_get_output_shape_given_tf_padding`` in ``keras/src/backend/common/backend_utils.py``,
    with an explicit ``output_padding``): with ``k = (kernel - 1) * dilation + 1``,
    ``valid`` gives ``(size - 1) * stride + k + output_padding`` and ``same`` gives
    ``(size - 1) * stride + k % 2 + output_padding``.  Symbolic or unknown sizes give None.

    The result ``out`` must be a size that the forward convolution (TensorFlow's padding
    rule) maps back to ``size``, as ``tf.nn.conv_transpose`` requires: ``valid`` needs
    ``0 <= output_padding < stride``, ``same`` needs ``0 < k % 2 + output_padding <= stride``.

    Raises:
        TypeRuleError: the output padding violates that condition.
    """
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        ok, want = 0 <= output_padding < stride, f"0 <= output_padding < stride ({stride})"
        extra = eff + output_padding
    else:
        ok = output_padding >= 0 and 0 < eff % 2 + output_padding <= stride
        want = f"0 < {eff % 2} + output_padding <= stride ({stride})"
        extra = eff % 2 + output_padding
    if not ok:
        raise TypeRuleError(f"output_padding={output_padding} with padding={padding!r}, "
                            f"kernel {kernel}, dilation {dilation}, stride {stride}: the "
                            f"output would not convolve back to the input size",
                            expected=want, actual=str(output_padding))
    if not isinstance(size, int):
        return None
    return (size - 1) * stride + extra
