"""ONNX backend: emit an IR graph as an ONNX model (``to_onnx``) and save it (``save_onnx``).

Modules: :mod:`.emit` (the model: ``to_onnx``, and ``to_onnx_bytes`` for its serialized
form), :mod:`.context` (``OnnxEmitContext``: nodes, initializers and the lazy NHWC/NCHW
layout map, driven by each op's layout class), :mod:`.registry` (the emitter table:
``@emits(op, ...)`` and ``emitter_for(op)``), one module per op group with its emitters
(:mod:`.arithmetic_ops`, :mod:`.elementwise_ops`, :mod:`.shape_ops`, :mod:`.nn_ops`,
:mod:`.norm_ops`, :mod:`.recurrent_ops`, :mod:`.attention_ops`, :mod:`.sequence_ops`),
:mod:`.activations` (one emitter per activation function), :mod:`.fold` (batch
normalizations folded into convolutions), :mod:`.validate` (the ONNX checker on a
weight-stripped stub), :mod:`.tensors` (initializers written with one copy of their
bytes), :mod:`.types` (dtype and shape mapping), :mod:`.save` (atomic writing,
external data), :mod:`.summary` (``count_ops``).

Importing this package registers every emitter: the op group modules are imported
below, one line per group (adding a group is one more line here).
"""

from . import arithmetic_ops  # noqa: F401  (registers its emitters)
from . import attention_ops  # noqa: F401
from . import elementwise_ops  # noqa: F401
from . import indexing_ops  # noqa: F401
from . import logic_ops  # noqa: F401
from . import nn_ops  # noqa: F401
from . import norm_ops  # noqa: F401
from . import recurrent_ops  # noqa: F401
from . import reduction_ops  # noqa: F401
from . import resize_ops  # noqa: F401
from . import sequence_ops  # noqa: F401
from . import shape_ops  # noqa: F401
from .emit import MIN_OPSET, check_onnx, to_onnx, to_onnx_bytes
from .save import EXTERNAL_DATA_THRESHOLD, save_onnx
from .summary import count_ops
from .types import onnx_elem_type

__all__ = ["to_onnx", "to_onnx_bytes", "save_onnx", "count_ops", "check_onnx", "onnx_elem_type",
           "MIN_OPSET", "EXTERNAL_DATA_THRESHOLD"]
