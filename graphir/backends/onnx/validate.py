"""The ONNX checker, run without serializing the weights.

``onnx.checker.check_model(model, full_check=True)`` serializes the whole model (every
weight byte) to hand it to C++, which parses it back: for a 500 MB model that is two
more copies of the weights, seconds of time and a peak of three times the model.  What
the checker verifies does not depend on the weight *bytes* but on their names, types
and shapes, so graphir checks a **stub** of the model instead:

* the stub is the model with every initializer of :data:`~.tensors.STUB_MIN_BYTES`
  (1 KiB) or more replaced by a tensor of the same name, ``data_type`` and ``dims``
  whose data is marked external (in an empty file beside the stub, in a temporary
  folder); smaller initializers (shapes, axes, pads, scalars) keep their data, so
  shape inference reads them as before;
* ``onnx.checker.check_model(stub_path, full_check=True)`` then checks everything it
  checks on the full model: IR version and opset imports, every node against its
  operator schema (attributes, input/output counts), SSA form and topological order,
  graph inputs/outputs/initializers (unique non-empty names, valid types), and, with
  ``full_check``, strict type and shape inference over the whole graph with every
  initializer's type and shape;
* the one thing the stub cannot show the checker is that a stubbed tensor's byte count
  is large enough for its dims and type.  For the models :func:`~.emit.to_onnx` builds, that holds
  by construction (``raw_data`` is ``ndarray.tobytes()`` of an array of exactly those
  dims and dtype); :func:`check_onnx`, for any model, compares the counts itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
from onnx import TensorProto

from graphir.errors import EmissionError

from .tensors import STUB_LOCATION, STUB_MIN_BYTES, tensor_nbytes, write_tensor

__all__ = ["check_onnx", "check_stub", "stub_of"]


def check_stub(stub: onnx.ModelProto) -> None:
    """``onnx.checker.check_model(full_check=True)`` of a stub model (see the module
    docstring), written with an empty :data:`~.tensors.STUB_LOCATION` file beside it.

    Raises:
        EmissionError: the checker or strict shape inference rejected the model.
    """
    with tempfile.TemporaryDirectory(prefix="graphir-check-") as tmp:
        (Path(tmp) / STUB_LOCATION).touch()
        path = Path(tmp) / "model.onnx"
        path.write_bytes(stub.SerializeToString())
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
            raise EmissionError(f"the ONNX checker rejected the model: {e}") from e


def _copy_field(dst, field, value) -> None:
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        repeated = field.label == field.LABEL_REPEATED
    if repeated:
        getattr(dst, field.name).extend(value)
    elif field.message_type is not None:
        getattr(dst, field.name).CopyFrom(value)
    else:
        setattr(dst, field.name, value)


def stub_of(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose initializers of 1 KiB or more are stubs (no data)."""
    stub = onnx.ModelProto()
    for field, value in model.ListFields():
        if field.name != "graph":
            _copy_field(stub, field, value)
    if model.HasField("graph"):
        stub.graph.SetInParent()
        for field, value in model.graph.ListFields():
            if field.name != "initializer":
                _copy_field(stub.graph, field, value)
        for tensor in model.graph.initializer:
            write_tensor(stub.graph.initializer.add(), tensor, data=False)
    return stub


def _data_size_problem(tensor: TensorProto) -> str | None:
    """The checker's data-size rule for a tensor that is stubbed: its data may not be
    smaller than its dims and type need (``raw_data`` bytes, or the count of values of
    its typed field; the checker accepts more)."""
    if tensor.data_location == TensorProto.EXTERNAL or tensor.data_type == TensorProto.STRING:
        return None
    count = 1
    for d in tensor.dims:
        count *= d
    if tensor.HasField("raw_data"):
        got, want, what = len(tensor.raw_data), tensor_nbytes(tensor), "raw_data size"
        unit = "bytes"
    else:
        fields = [f.name for f, _ in tensor.ListFields() if f.name.endswith("_data")]
        if len(fields) != 1:
            return None  # no or several value fields: the stub check reports it
        complex_ = tensor.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128)
        got, want = len(getattr(tensor, fields[0])), count * (2 if complex_ else 1)
        what, unit = f"{fields[0]} size", "values"
    if got >= want:
        return None
    return (f"TensorProto (tensor name: {tensor.name}) {what} ({got} {unit}) is too small "
            f"for the declared shape and type ({want} {unit} required)")


def check_onnx(model: onnx.ModelProto) -> None:
    """Check any ``model`` like ``onnx.checker.check_model(model, full_check=True)``
    without serializing its weights: the stub check (module docstring), plus, for each
    stubbed initializer, the checker's own data-size rule (its data is not smaller
    than its dims and type need).

    Raises:
        EmissionError: the checker or strict shape inference rejected the model, or an
            initializer's data size is wrong.
    """
    for tensor in model.graph.initializer:
        if tensor_nbytes(tensor) >= STUB_MIN_BYTES:
            problem = _data_size_problem(tensor)
            if problem:
                raise EmissionError(f"the ONNX checker rejected the model: {problem}")
    check_stub(stub_of(model))
