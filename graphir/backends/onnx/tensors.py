"""Writing initializers into ``TensorProto`` s, with one copy of their bytes.

``onnx.helper.make_graph``/``make_model`` copy every initializer twice more
(``initializer.extend`` then ``graph.CopyFrom``), and ``numpy_helper.from_array`` needs
the array materialized first; for a model of W weight bytes that is several W of
extra memory and time.  Here each initializer is written straight into the model's
own repeated field (:func:`write_tensor`): ``dims``, ``name``, ``data_type`` and
``raw_data`` exactly as ``numpy_helper.from_array`` sets them (so the bytes are the
same), from an array that may still be a view (a transposed kernel) or carry a
per-channel scale (a folded batch normalization).

:func:`serialize_model` writes the serialized model directly instead (what
``SerializeToString()`` of the model with its initializers written in would return),
copying each weight's bytes once, into the result.

A *stub* of a tensor (``data=False``) has the same name, type and dims, and marks its
data as external (``location`` = :data:`STUB_LOCATION`): the ONNX checker and shape
inference see the tensor without its bytes (see :mod:`graphir.backends.onnx.validate`).
"""

from __future__ import annotations

import io
import sys
from typing import Iterable

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from .context import Initializer

__all__ = ["write_tensor", "serialize_model", "tensor_nbytes", "STUB_LOCATION",
           "STUB_MIN_BYTES"]

#: the external-data file a stub tensor names (an empty file in the check's folder)
STUB_LOCATION = "graphir-stub.data"
#: initializers of at least this many bytes are stubbed in the structural check; smaller
#: ones (shape, axes, pads, scalars: what shape inference reads) keep their data
STUB_MIN_BYTES = 1024

_NUMERIC_KINDS = "biuf"


def _fast_dtype(dtype: np.dtype) -> int | None:
    """The ONNX type of a plain little-endian numeric/bool dtype, else None (slow path)."""
    if dtype.kind not in _NUMERIC_KINDS or dtype.byteorder == ">" or (
            sys.byteorder == "big" and dtype.byteorder == "="):
        return None
    try:
        code = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    except (KeyError, ValueError, TypeError):
        return None
    # 2- and 4-bit types are packed by numpy_helper.from_array
    return None if code in _PACKED else code


_PACKED_4BIT = {getattr(TensorProto, n) for n in ("INT4", "UINT4", "FLOAT4E2M1")
                if hasattr(TensorProto, n)}
_PACKED_2BIT = {getattr(TensorProto, n) for n in ("INT2", "UINT2") if hasattr(TensorProto, n)}
_PACKED = _PACKED_4BIT | _PACKED_2BIT


def materialize(init: Initializer) -> np.ndarray:
    """The data of ``init`` as a C-contiguous array (the array itself when it already is
    one and has no channel scale)."""
    arr = np.asarray(init.array)
    if init.channel_scale is None and arr.flags.c_contiguous:
        return arr
    out = np.empty(arr.shape, arr.dtype)
    _copy_into(out, init)
    return out


def write_tensor(proto: TensorProto, init: Initializer | TensorProto, *, data: bool = True
                 ) -> None:
    """Fill the empty ``proto`` (e.g. ``graph.initializer.add()``) from ``init``.

    With ``data=True`` the result equals ``numpy_helper.from_array(array, name)``.  With
    ``data=False`` and a tensor of :data:`STUB_MIN_BYTES` or more, a stub: the same
    name, dims and type, its data "external" at :data:`STUB_LOCATION`.
    """
    if isinstance(init, TensorProto):
        if data or tensor_nbytes(init) < STUB_MIN_BYTES:
            proto.CopyFrom(init)
        else:
            _stub(proto, init.name, init.dims, init.data_type)
        return
    arr = np.asarray(init.array)
    code = _fast_dtype(arr.dtype)
    if code is None:  # strings, big-endian, packed types: onnx's own conversion
        full = numpy_helper.from_array(materialize(init), init.name)
        if data or tensor_nbytes(full) < STUB_MIN_BYTES:
            proto.CopyFrom(full)
        else:
            _stub(proto, init.name, full.dims, full.data_type)
        return
    if not data and arr.nbytes >= STUB_MIN_BYTES:
        _stub(proto, init.name, arr.shape, code)
        return
    raw = materialize(init).tobytes()  # C order, exactly size * itemsize bytes
    proto.dims.extend(arr.shape)
    if init.name:
        proto.name = init.name
    proto.data_type = code
    proto.raw_data = raw


def _stub(proto: TensorProto, name: str, dims, data_type: int) -> None:
    proto.dims.extend(dims)
    proto.name = name
    proto.data_type = data_type
    proto.data_location = TensorProto.EXTERNAL
    entry = proto.external_data.add()
    entry.key = "location"
    entry.value = STUB_LOCATION


def tensor_nbytes(tensor: TensorProto) -> int:
    """The bytes of ``tensor``'s data, from its dims and type (no serialization; upb's
    ``ByteSize`` encodes the whole message).  0 for external data; the string lengths
    for strings; ``len(raw_data)``-equivalent for every fixed-size type."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return 0
    if tensor.data_type == TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    count = 1
    for d in tensor.dims:
        count *= d
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        itemsize = 8
    if tensor.data_type in _PACKED_4BIT:
        return (count + 1) // 2
    if tensor.data_type in _PACKED_2BIT:
        return (count + 3) // 4
    return count * itemsize


# --------------------------------------------------------------------------- wire format
# https://protobuf.dev/programming-guides/encoding/ ; field numbers from onnx/onnx.proto

_MODEL_GRAPH = 7        # ModelProto.graph
_GRAPH_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_RAW_DATA = 9    # TensorProto.raw_data
_LEN = 2                # wire type of length-delimited fields


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _tag(field: int) -> bytes:
    return _varint(field << 3 | _LEN)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _split_before(data: bytes, field: int) -> tuple[bytes, bytes]:
    """Split a serialized message before its first top-level field numbered ``field`` or
    more (upb writes fields in field-number order)."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _read_varint(data, pos)
        if key >> 3 >= field:
            return data[:start], data[start:]
        wire = key & 7
        if wire == 0:
            _, pos = _read_varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            pos += size
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unexpected wire type {wire} in a serialized message")
    return data, b""


def serialize_model(model: onnx.ModelProto,
                    initializers: Iterable[Initializer | TensorProto]) -> bytes:
    """The bytes of ``model`` (which has no initializers yet) with ``initializers``
    written into its graph: equal to writing them with :func:`write_tensor` and calling
    ``SerializeToString()``, without building the message.  Each array's bytes are copied
    once, into the result (one transposed or scaled weight exists at a time).

    Raises:
        ValueError: ``model`` already has initializers.
    """
    if len(model.graph.initializer):
        raise ValueError("serialize_model expects a model without initializers")
    shell = onnx.ModelProto()
    shell.CopyFrom(model)
    shell.ClearField("graph")
    model_head, model_tail = _split_before(shell.SerializeToString(), _MODEL_GRAPH + 1)
    graph_head, graph_tail = _split_before(model.graph.SerializeToString(), _GRAPH_INITIALIZER)

    records: list[tuple[bytes, Initializer | None]] = []  # (bytes before the data, data)
    for init in initializers:
        code = None if isinstance(init, TensorProto) else _fast_dtype(np.asarray(init.array).dtype)
        if code is None:
            tensor = TensorProto()
            write_tensor(tensor, init)
            body = tensor.SerializeToString()
            records.append((_tag(_GRAPH_INITIALIZER) + _varint(len(body)) + body, None))
            continue
        arr = np.asarray(init.array)
        header = TensorProto()
        header.dims.extend(arr.shape)
        if init.name:
            header.name = init.name
        header.data_type = code
        head = header.SerializeToString() + _tag(_TENSOR_RAW_DATA) + _varint(arr.nbytes)
        records.append((_tag(_GRAPH_INITIALIZER) + _varint(len(head) + arr.nbytes) + head, init))
    graph_size = len(graph_head) + len(graph_tail) + sum(
        len(head) + (np.asarray(init.array).nbytes if init is not None else 0)
        for head, init in records)

    total = (len(model_head) + len(_tag(_MODEL_GRAPH)) + len(_varint(graph_size)) + graph_size
             + len(model_tail))
    out = io.BytesIO()
    out.seek(total - 1)
    out.write(b"\0")  # sized once; getvalue() then hands this buffer over without a copy
    out.seek(0)
    out.write(model_head)
    out.write(_tag(_MODEL_GRAPH) + _varint(graph_size))
    out.write(graph_head)
    for head, init in records:
        out.write(head)
        if init is not None:  # the array goes straight into place (transposed, scaled)
            arr = np.asarray(init.array)
            with out.getbuffer() as view:
                dst = np.frombuffer(view, arr.dtype, arr.size, out.tell()).reshape(arr.shape)
                _copy_into(dst, init)
                del dst
            out.seek(arr.nbytes, io.SEEK_CUR)
    out.write(graph_tail)
    out.write(model_tail)
    if out.tell() != total:
        raise AssertionError(f"serialize_model wrote {out.tell()} bytes, planned {total}")
    return out.getvalue()


#: strided copies (transposed kernels) go in slices of this many entries of axis 1 of
#: the destination: each slice's reads stay in cache (about twice as fast as one copy)
_CHUNK = 16
_CHUNK_MIN_SIZE = 1 << 16


def _copy_into(dst: np.ndarray, init: Initializer) -> None:
    """``dst[...] = materialize(init)`` without a temporary array."""
    src = np.asarray(init.array)
    scale = None
    if init.channel_scale is not None:
        scale = np.asarray(init.channel_scale, src.dtype).reshape((-1,) + (1,) * (src.ndim - 1))
    if src.ndim >= 2 and src.size >= _CHUNK_MIN_SIZE and not src.flags.c_contiguous:
        parts = [(slice(None), slice(i, i + _CHUNK)) for i in range(0, src.shape[1], _CHUNK)]
    else:
        parts = [...]
    for part in parts:
        if scale is not None:
            np.multiply(src[part], scale, out=dst[part])
        else:
            np.copyto(dst[part], src[part])
