"""Element types of IR tensors.

The short names (``f32``, ``i64``, ...) are the ones the text format prints; the
long names are NumPy's and Keras' dtype strings.  ONNX codes are in
``graphir.backends.onnx`` so this module stays free of onnx.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["DType"]


class DType(enum.Enum):
    """Tensor element type.  ``value`` is the canonical (NumPy/Keras) dtype name."""

    FLOAT16 = "float16"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT8 = "uint8"
    BOOL = "bool"

    @property
    def short(self) -> str:
        """The text-format spelling, e.g. ``f32``."""
        return _SHORT[self]

    @property
    def is_float(self) -> bool:
        return self in (DType.FLOAT16, DType.FLOAT32, DType.FLOAT64)

    @property
    def is_int(self) -> bool:
        return self in (DType.INT8, DType.INT16, DType.INT32, DType.INT64, DType.UINT8)

    def to_numpy(self) -> np.dtype:
        """The NumPy dtype of this element type."""
        return np.dtype(self.value)

    @classmethod
    def from_any(cls, dtype) -> "DType":
        """Convert a dtype spelling to a :class:`DType`.

        Accepts a DType, a NumPy dtype or scalar type, a Keras/NumPy dtype name
        (``"float32"``) or a short name (``"f32"``).

        Raises:
            ValueError: the dtype has no IR equivalent (e.g. ``complex64``, ``string``).
        """
        if isinstance(dtype, DType):
            return dtype
        if isinstance(dtype, str) and dtype in _FROM_SHORT:
            return _FROM_SHORT[dtype]
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(getattr(dtype, "name", dtype))
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"dtype {dtype!r} is not supported by graphir "
                             f"(supported: {', '.join(d.value for d in cls)})") from None


_SHORT = {
    DType.FLOAT16: "f16", DType.FLOAT32: "f32", DType.FLOAT64: "f64",
    DType.INT8: "i8", DType.INT16: "i16", DType.INT32: "i32", DType.INT64: "i64",
    DType.UINT8: "u8", DType.BOOL: "bool",
}
_FROM_SHORT = {v: k for k, v in _SHORT.items()}
