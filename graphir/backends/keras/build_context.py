"""What a Keras layer builder sees and returns (the contract of ``*_builders.py``).

A builder is a small function ``build(c: BuildContext) -> (layer, arrays)``,
registered for IR ops with :func:`graphir.backends.keras.registry.builds`: it reads
the node (``c.node``, ``c.attrs``), the types of its data inputs and its weight
arrays, makes one built-in Keras layer named ``c.name`` (so the model saves and
reloads with ``safe_mode=True``), and lists the arrays for the layer's variables in
the order of its ``weights``.  The emitter (:mod:`graphir.backends.keras.emit`) calls
the layer and sets the arrays once the model is built.

(Not to be confused with the ONNX backend's ``EmitContext``.)
"""

from __future__ import annotations

from typing import Any, NoReturn, Sequence

import keras
import numpy as np

from graphir.errors import UnsupportedOpError
from graphir.ir import Node
from graphir.tensor_types import TensorType

__all__ = ["BuildContext", "Built"]

#: what a builder returns: the Keras layer (or, for a primitive op, the ``keras.ops``
#: operation, which has no variables) and the arrays of its variables, in
#: ``layer.weights`` order
Built = tuple[keras.Operation, list[np.ndarray]]


class BuildContext:
    """One node being built as a Keras layer.

    Attributes:
        node: the IR node.
        attrs: the node's attributes.
        name: the Keras layer name to use.
        data_types: types of the node's data (non-weight) inputs, in order.
        constant_data: per data input, whether it is a graph weight (a constant operand,
            passed to the call as a constant tensor; only for ops built with
            ``constant_inputs=True``).
        weights: per node input, its array when it is a weight, else None.
        dtype: the layer dtype to pass (None: Keras' default float32 policy).
        where: location text for errors.
    """

    def __init__(self, node: Node, name: str, data_types: Sequence[TensorType],
                 weights: Sequence[np.ndarray | None], dtype: str | None, where: str,
                 constant_data: Sequence[bool] = ()):
        self.node = node
        self.attrs = node.attrs
        self.name = name
        self.data_types = tuple(data_types)
        self.weights = tuple(weights)
        self.dtype = dtype
        self.where = where
        self.constant_data = tuple(constant_data) or (False,) * len(self.data_types)
        #: set by a builder to call this node's layer on one list of tensors (True) or
        #: on the tensors one by one (False) against its rule's ``list_input``
        self.list_call: bool | None = None

    def w(self, index: int) -> np.ndarray | None:
        """The weight array at node input ``index`` (None when omitted)."""
        return self.weights[index] if index < len(self.weights) else None

    def kw(self, **kwargs: Any) -> dict[str, Any]:
        """Layer constructor keywords plus ``name`` and (when needed) ``dtype``."""
        kwargs["name"] = self.name
        if self.dtype is not None:
            kwargs["dtype"] = self.dtype
        return kwargs

    def refuse(self, detail: str) -> NoReturn:
        """Raise :class:`~graphir.errors.UnsupportedOpError` naming the op and the node,
        with ``detail``."""
        raise UnsupportedOpError(f"op {self.node.op!r} cannot be emitted as a Keras layer: "
                                 f"{detail}", where=self.where)
