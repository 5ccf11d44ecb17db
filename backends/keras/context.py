"""What a layer converter sees and returns (the contract of ``converters.py``).

A converter is a small function ``convert(ctx: LayerContext) -> Lowered``: it reads
the Keras layer (``ctx.layer``), the IR names and types of the tensors the layer was
called on (``ctx.inputs``, ``ctx.input_types``), asks for its weights with
:meth:`LayerContext.weight`, and returns the one IR node application that computes
the layer's output.  The walker in :mod:`graphir.backends.keras.lower` names the
node, types its output from the Keras tensor and checks it against the op's type
rule.  A converter never approximates: anything outside the op set is refused
with :meth:`LayerContext.refuse`, which raises
:class:`~graphir.errors.UnsupportedLayerError`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NoReturn, Sequence

import attrs
import numpy as np

from graphir.errors import UnsupportedLayerError
from graphir.frozen import FrozenDict
from graphir.types import TensorType

__all__ = ["Lowered", "LayerContext", "WeightFn"]

#: ``(key, name, array) -> IR weight name``; the walker's weight registry.
WeightFn = Callable[[Any, str, np.ndarray], str]


@attrs.frozen
class Lowered:
    """One IR op application produced by a converter.

    Attributes:
        op: the op name (``graphir.ops``).
        inputs: value names (data inputs and weights); ``""`` for an omitted optional input.
        attrs: the op's attributes.
    """

    op: str
    inputs: tuple[str, ...] = attrs.field(converter=tuple)
    attrs: FrozenDict = attrs.field(factory=FrozenDict, converter=FrozenDict)


class LayerContext:
    """One call of one Keras layer, as seen by its converter.

    Attributes:
        layer: the Keras layer object.
        inputs: IR value names of the tensors the layer was called on, in call order.
        input_types: their :class:`TensorType` s (batch axis ``"batch"`` when dynamic).
        model_file: the ``.keras`` file being lowered, or None.
    """

    def __init__(self, layer: Any, inputs: Sequence[str], input_types: Sequence[TensorType], *,
                 weight_fn: WeightFn, model_file: str | None):
        self.layer = layer
        self.inputs = tuple(inputs)
        self.input_types = tuple(input_types)
        self.model_file = model_file
        self._weight_fn = weight_fn

    @property
    def x(self) -> str:
        """The single data input (refused when the layer got several)."""
        if len(self.inputs) != 1:
            self.refuse(f"expected one input tensor, got {len(self.inputs)}")
        return self.inputs[0]

    @property
    def x_type(self) -> TensorType:
        """The type of :attr:`x`."""
        self.x  # noqa: B018  (arity check)
        return self.input_types[0]

    def refuse(self, detail: str) -> NoReturn:
        """Raise :class:`UnsupportedLayerError` for this layer with ``detail``."""
        raise UnsupportedLayerError(type(self.layer).__name__, self.layer.name,
                                    model_file=self.model_file, detail=detail)

    def weight(self, variable: Any, *, reshape: Sequence[int] | None = None) -> str:
        """The IR weight name of a Keras variable of this layer (registered at first use).

        The weight is ``{scope}/{layer.name}/{variable.name}`` at the variable's first
        use; later uses of the same variable (a shared layer, a sub-model called
        twice) get the same name, so sharing survives lowering.

        Args:
            variable: a ``keras.Variable`` (not a computed tensor).
            reshape: store the array in this shape instead of the variable's.

        Raises:
            UnsupportedLayerError: ``variable`` is not a Keras variable (e.g. a LoRA- or
                quantization-derived tensor).
        """
        import keras

        if not isinstance(variable, keras.Variable):
            self.refuse(f"weight {type(variable).__name__} is computed, not a stored variable")
        array = np.array(variable.numpy(), copy=True)
        if reshape is not None:
            array = array.reshape(tuple(reshape))
        return self._weight_fn(("variable", id(variable)), variable.name, array)

    def constant(self, name: str, array: np.ndarray) -> str:
        """Register a constant of this layer that is not a Keras variable (e.g.
        Normalization statistics passed to its constructor) as an IR weight
        ``{scope}/{layer.name}/{name}``, shared across calls of the layer."""
        return self._weight_fn(("constant", id(self.layer), name), name,
                               np.array(array, copy=True))

    def lowered(self, op: str, inputs: Sequence[str], attrs: Mapping[str, Any] | None = None
                ) -> Lowered:
        """Shorthand for :class:`Lowered`."""
        return Lowered(op, tuple(inputs), FrozenDict(attrs or {}))
