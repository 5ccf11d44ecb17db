"""Tensor types: an element type and a shape of dimensions.

A dimension (:data:`Dim`) is one of

* an ``int`` >= 0: a static size;
* a ``str``: a *symbolic dimension* such as ``"batch"``; two equal names denote
  the same (unknown) size;
* ``None``: unknown, compatible with any size.

Convention (as Keras and ONNX): the batch dimension of a model input is
symbolic and named ``"batch"`` unless the model fixes it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Iterable, Union

import attrs

from graphir.dtypes import DType

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Dim", "TensorType", "dims_compatible", "format_dim", "weight_type"]

Dim = Union[int, str, None]


def _check_shape(instance, attribute, value) -> None:
    for d in value:
        if d is None or isinstance(d, str):
            continue
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise TypeError(f"shape {value!r}: dimension {d!r} is not an int >= 0, "
                            f"a symbolic name (str) or None")


def _to_shape(value: Iterable[Dim]) -> tuple[Dim, ...]:
    out = []
    for d in value:
        if hasattr(d, "__index__") and not isinstance(d, (bool, str)) and not (
                hasattr(d, "dtype") and d.dtype == bool):
            d = int(d)  # numpy integers -> int
        out.append(d)
    return tuple(out)


@attrs.frozen
class TensorType:
    """The type of an IR value: element dtype and shape.

    Attributes:
        dtype: the element type.
        shape: a tuple of :data:`Dim`; ``()`` is a scalar.

    Example: ``TensorType(DType.FLOAT32, ("batch", 224, 224, 3))`` prints as
    ``f32[batch,224,224,3]``.
    """

    dtype: DType = attrs.field(converter=DType.from_any)
    shape: tuple[Dim, ...] = attrs.field(converter=_to_shape, validator=_check_shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        """True when every dimension is an int."""
        return all(isinstance(d, int) for d in self.shape)

    def __str__(self) -> str:
        return f"{self.dtype.short}[{','.join(format_dim(d) for d in self.shape)}]"

    def compatible_with(self, other: "TensorType") -> bool:
        """True when both have the same dtype and rank and every axis pair is compatible
        (see :func:`dims_compatible`)."""
        return (self.dtype == other.dtype and self.rank == other.rank
                and all(dims_compatible(a, b) for a, b in zip(self.shape, other.shape)))


def dims_compatible(a: Dim, b: Dim) -> bool:
    """Two dimensions are compatible when either is unknown (None), or both are equal.

    A symbolic name and an int are *compatible* (the symbol may take that value),
    so ``"batch"`` vs ``1`` is accepted; two different ints are not.
    """
    if a is None or b is None:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return True


def format_dim(d: Dim) -> str:
    """Text-format spelling of a dimension: ints as digits, symbols as names, unknown as ``?``."""
    if d is None:
        return "?"
    return str(d)


def weight_type(array: np.ndarray) -> TensorType:
    """The :class:`TensorType` of a weight array (static shape, its dtype)."""
    return _weight_type(array.dtype, array.shape)


@functools.lru_cache(maxsize=4096)
def _weight_type(dtype: np.dtype, shape: tuple[int, ...]) -> TensorType:
    # TensorTypes are immutable, so equal weights share one (building one is costly
    # next to a cache hit, and verification asks for every weight's type)
    return TensorType(DType.from_any(dtype), tuple(shape))
