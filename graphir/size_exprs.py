"""Size expressions: sizes computed from the run-time shapes of tensors, the ``shape``
attribute of the ``dynamic_reshape`` op (``graphir.ops.dynamic_reshape``), and the
products of symbolic dims that name such sizes in tensor types.

Neutral: read by the op's type rule and reference kernel and by each backend's
emitter (which must not import the reference).  See ``specs/ops-indexing.md``.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import attrs

from graphir.tensor_types import Dim

__all__ = ["Monomial", "SizeExpr", "parse_size", "format_size", "size_value", "monomial",
           "monomial_dim", "times", "over", "product", "exact_quotient"]

_FACTOR = re.compile(r"^(?:(\d+)|in(\d+)\[(\d+)\])$")


@attrs.frozen
class SizeExpr:
    """One output size of ``dynamic_reshape``: ``coef * prod(factors) // divisor``.

    Attributes:
        coef: a positive int.
        factors: ``(input index, axis)`` pairs, each the run-time size of that axis.
        divisor: a positive int (floor division, as Python's ``//``).
    """

    coef: int
    factors: tuple[tuple[int, int], ...]
    divisor: int = 1


def parse_size(text: str) -> SizeExpr | None:
    """A ``shape`` entry of ``dynamic_reshape`` -> :class:`SizeExpr`; None for ``"-1"``.

    Raises:
        ValueError: ``text`` is not ``"-1"`` nor ``FACTOR ("*" FACTOR)* ("//" INT)?``
            with positive ints (the message says which part).
    """
    if text == "-1":
        return None
    body, _, div = text.partition("//")
    if div and not div.isdigit():
        raise ValueError(f"size {text!r}: the divisor {div!r} is not a positive int")
    divisor = int(div) if div else 1
    coef, factors = 1, []
    for part in body.split("*"):
        match = _FACTOR.match(part.strip())
        if match is None:
            raise ValueError(f"size {text!r}: {part!r} is neither an int nor in<i>[<axis>]")
        if match.group(1) is not None:
            coef *= int(match.group(1))
        else:
            factors.append((int(match.group(2)), int(match.group(3))))
    if coef <= 0 or divisor <= 0:
        raise ValueError(f"size {text!r}: ints must be positive")
    return SizeExpr(coef, tuple(factors), divisor)


def format_size(expr: SizeExpr | None) -> str:
    """The text of a :class:`SizeExpr` (None -> ``"-1"``); inverse of :func:`parse_size`."""
    if expr is None:
        return "-1"
    parts = ([str(expr.coef)] if expr.coef != 1 or not expr.factors else []) + [
        f"in{i}[{a}]" for i, a in expr.factors]
    text = "*".join(parts)
    return text if expr.divisor == 1 else f"{text}//{expr.divisor}"


#: a product of a positive int and symbolic dims: (coefficient, sorted names)
Monomial = tuple[int, tuple[str, ...]]


def monomial(dim: Dim) -> Monomial | None:
    """A dim as a product of an int and symbolic names: ``8`` -> ``(8, ())``, ``"batch"``
    -> ``(1, ("batch",))``, ``"4*batch"`` -> ``(4, ("batch",))``; None for ``None``."""
    if dim is None:
        return None
    if isinstance(dim, int):
        return (dim, ())
    coef, names = 1, []
    for part in dim.split("*"):
        if part.isdigit():
            coef *= int(part)
        else:
            names.append(part)
    return (coef, tuple(sorted(names)))


def monomial_dim(m: Monomial) -> Dim:
    """Inverse of :func:`monomial`: an int when there are no names (or the coefficient
    is 0), else the canonical name (coefficient first unless 1, names sorted,
    ``*``-joined)."""
    coef, names = m
    if not names or coef == 0:
        return coef
    return "*".join(([str(coef)] if coef != 1 else []) + sorted(names))


def times(a: Monomial, b: Monomial) -> Monomial:
    """The product of two monomials."""
    return (a[0] * b[0], tuple(sorted(a[1] + b[1])))


def over(a: Monomial, b: Monomial) -> Monomial | None:
    """``a / b`` when exact (coefficient divisible, b's names a sub-multiset of a's)."""
    if b[0] == 0 or a[0] % b[0]:
        return None
    rest = list(a[1])
    for name in b[1]:
        if name not in rest:
            return None
        rest.remove(name)
    return (a[0] // b[0], tuple(rest))


def product(dims: Iterable[Dim]) -> Monomial | None:
    """The product of ``dims`` as a monomial (``(1, ())`` for none); None when one is
    unknown (``None``)."""
    total: Monomial = (1, ())
    for d in dims:
        m = monomial(d)
        if m is None:
            return None
        total = times(total, m)
    return total


def exact_quotient(dims: Iterable[Dim], by: Iterable[Dim]) -> Dim:
    """``prod(dims) / prod(by)`` as a dim when the division is exact for every value of
    the symbolic names (``("batch", "s", 8)`` by ``("batch", "s")`` is ``8``; ``(4,
    "batch")`` by ``(4,)`` is ``"batch"``); None when a dim is unknown or the quotient
    is not a product of an int and names."""
    total, known = product(dims), product(by)
    if total is None or known is None:
        return None
    quotient = over(total, known)
    return monomial_dim(quotient) if quotient is not None else None


def size_value(expr: SizeExpr, shapes: Sequence[Sequence[int]]) -> int:
    """The value of a size expression given the inputs' concrete shapes."""
    return expr.coef * math.prod(shapes[i][a] for i, a in expr.factors) // expr.divisor
