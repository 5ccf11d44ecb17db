"""IR types to ONNX types: element type codes and value infos.

Dims follow the ONNX IR (``onnx/onnx.proto``, ``TensorShapeProto.Dimension``): an
int becomes ``dim_value``, a symbolic name (``"batch"``) ``dim_param``, and an
unknown dim (``None``) a dimension with neither set.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto

from graphir.dtypes import DType
from graphir.tensor_types import TensorType

__all__ = ["onnx_elem_type", "value_info"]

_ELEM: dict[DType, int] = {
    DType.FLOAT16: TensorProto.FLOAT16,
    DType.FLOAT32: TensorProto.FLOAT,
    DType.FLOAT64: TensorProto.DOUBLE,
    DType.INT8: TensorProto.INT8,
    DType.INT16: TensorProto.INT16,
    DType.INT32: TensorProto.INT32,
    DType.INT64: TensorProto.INT64,
    DType.UINT8: TensorProto.UINT8,
    DType.BOOL: TensorProto.BOOL,
}


def onnx_elem_type(dtype: DType) -> int:
    """The ``TensorProto.DataType`` code of an IR dtype (every DType has one)."""
    return _ELEM[DType.from_any(dtype)]


def value_info(name: str, ttype: TensorType) -> onnx.ValueInfoProto:
    """A tensor ``ValueInfoProto`` named ``name`` with ``ttype``'s element type and shape."""
    return onnx.helper.make_tensor_value_info(name, onnx_elem_type(ttype.dtype), list(ttype.shape))
