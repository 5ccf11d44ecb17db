"""ONNX backend: emit an IR graph as an ONNX model (``to_onnx``) and save it (``save_onnx``).

Modules: :mod:`.emit` (the model: ``to_onnx``, and ``to_onnx_bytes`` for its serialized
form), :mod:`.context` (nodes, initializers and the lazy NHWC/NCHW layout map),
:mod:`.ops` (one emitter per IR op), :mod:`.activations` (one emitter per activation
function), :mod:`.fold` (batch normalizations folded into convolutions), :mod:`.check`
(the ONNX checker on a weight-stripped stub), :mod:`.tensors` (initializers written
with one copy of their bytes), :mod:`.types` (dtype and shape mapping), :mod:`.save`
(atomic writing, external data), :mod:`.summary` (``count_ops``).
"""

from .emit import MIN_OPSET, check_onnx, to_onnx, to_onnx_bytes
from .save import EXTERNAL_DATA_THRESHOLD, save_onnx
from .summary import count_ops
from .types import onnx_elem_type

__all__ = ["to_onnx", "to_onnx_bytes", "save_onnx", "count_ops", "check_onnx", "onnx_elem_type",
           "MIN_OPSET", "EXTERNAL_DATA_THRESHOLD"]
