"""What a layer converter sees and returns (the contract of ``converters.py``).

A converter is a small function ``convert(ctx: LayerContext) -> Lowered``: it reads
the Keras layer or operation (``ctx.layer``), the IR names and types of the tensors
it was called on (``ctx.inputs``, ``ctx.input_types``; ``ctx.operands()`` for the
positional arguments with constants in place), asks for its weights with
:meth:`LayerContext.weight`, and returns the IR node application that computes the
call's output.  The walker in :mod:`graphir.backends.keras.lower` names that node
``ctx.name`` (the layer's name), types its output from the Keras tensor and checks
it against the op's type rule.

A call that needs more than one IR node (``CustomScaleLayer``: ``rescale`` then
``add``) adds *helper* nodes with :meth:`LayerContext.helper` before returning the
final one: each helper is named ``<ctx.name>/<suffix>`` (made unique), typed by its
op's type rule, and appended to the graph before the final node, which may read
the helpers' outputs.

A converter never approximates: anything outside the op set is refused with
:meth:`LayerContext.refuse`, which raises
:class:`~graphir.errors.UnsupportedLayerError`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NoReturn, Sequence

import attrs
import numpy as np

from graphir.errors import UnsupportedLayerError
from graphir.frozen import FrozenDict
from graphir.tensor_types import TensorType

__all__ = ["Lowered", "LayerContext", "Operand", "WeightFn", "layer_refusal"]

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


@attrs.frozen
class Operand:
    """A tensor argument of a call, as :meth:`LayerContext.operands` reports it.

    Attributes:
        name: the IR value name.
        type: its :class:`TensorType`.
    """

    name: str
    type: TensorType


class LayerContext:
    """One call of one Keras layer (or ``keras.ops`` operation), as seen by its converter.

    Attributes:
        layer: the Keras layer or operation object.
        inputs: IR value names of the tensors the layer was called on, in call order.
        input_types: their :class:`TensorType` s (batch axis ``"batch"`` when dynamic).
        model_file: the ``.keras`` file being lowered, or None.
        name: the IR name the call's final node gets (helpers are scoped under it).
        call_args: the call's positional arguments as Keras recorded them
            (``KerasTensor`` s and constants).
        output_type: Keras' symbolic output type, or None when unknown.
        helpers: ``(name, Lowered)`` of the helper nodes added so far, in order.
        call_kwargs: the call's keyword arguments as Keras recorded them, each
            ``KerasTensor`` (also inside a list or tuple, e.g. an RNN's ``initial_state``)
            replaced by an :class:`Operand`; only keywords the layer's
            class registers as ``accepted_call_kwargs`` (``registry.lowers``) reach a converter,
            the walker refuses the others (``training=False`` and ``None`` aside).

    A ``keras.Variable`` passed to a ``keras.ops`` operation (``ops.matmul(x, self.kernel)``
    in a traced custom layer) is an operand like a tensor: :meth:`variable_operand`
    registers it as an IR weight named after its Keras path (the walker's
    ``variable_fn``), shared with every other use of the same variable.
    """

    def __init__(self, layer: Any, inputs: Sequence[str], input_types: Sequence[TensorType], *,
                 weight_fn: WeightFn, model_file: str | None, name: str = "",
                 unique_name: Callable[[str], str] | None = None, call_args: Sequence[Any] = (),
                 output_type: TensorType | None = None,
                 call_kwargs: Mapping[str, Any] | None = None, refusal_context: str = "",
                 variable_fn: Callable[[Any], str] | None = None,
                 constant_inputs: frozenset[str] = frozenset()):
        self.layer = layer
        #: the names among ``inputs`` that are graph weights (a traced call's eagerly
        #: computed output, e.g. keras_hub's position embedding at a static length)
        self.constant_inputs = frozenset(constant_inputs)
        self.inputs = tuple(inputs)
        self.input_types = tuple(input_types)
        self.model_file = model_file
        self.name = name or getattr(layer, "name", "")
        self.call_args = tuple(call_args)
        self.output_type = output_type
        self.call_kwargs = dict(call_kwargs or {})
        self.refusal_context = refusal_context
        self.helpers: list[tuple[str, Lowered]] = []
        self._weight_fn = weight_fn
        self._unique_name = unique_name
        self._variable_fn = variable_fn

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
        """Raise :class:`UnsupportedLayerError` for this layer with ``detail`` (and the
        ``refusal_context`` of a nested context, e.g. which wrapper the layer is in)."""
        if self.refusal_context:
            detail = f"{detail}; {self.refusal_context}"
        raise UnsupportedLayerError(type(self.layer).__name__, self.layer.name,
                                    model_file=self.model_file, detail=detail)

    def nested(self, layer: Any, inputs: Sequence[str], input_types: Sequence[TensorType], *,
               name: str, refusal_context: str = "") -> "LayerContext":
        """A context for ``layer`` called by this context's layer (a wrapper's inner layer).

        It shares this context's weight registry, with the weights named under
        ``layer.name`` (``{scope}/{wrapper}/{inner}/{variable}``, Keras' own variable
        path) and the same node namespace; the helpers it adds stay in its own
        :attr:`helpers` for the caller to adopt; its refusals name ``layer`` and end with
        ``refusal_context``.
        """
        outer = self._weight_fn

        def weight_fn(key: Any, var_name: str, array: np.ndarray) -> str:
            return outer(key, f"{layer.name}/{var_name}", array)

        return LayerContext(layer, inputs, input_types, weight_fn=weight_fn,
                            model_file=self.model_file, name=name,
                            unique_name=self._unique_name, refusal_context=refusal_context)

    def with_inputs(self, inputs: Sequence[str], input_types: Sequence[TensorType]
                    ) -> "LayerContext":
        """The same call seen on other input values (e.g. a channels-first layer's input
        transposed to channels-last): same layer, name, weights, call arguments and node
        namespace; its helpers stay in its own :attr:`helpers` for the caller to adopt."""
        return LayerContext(self.layer, inputs, input_types, weight_fn=self._weight_fn,
                            model_file=self.model_file, name=self.name,
                            unique_name=self._unique_name, call_args=self.call_args,
                            call_kwargs=self.call_kwargs,
                            refusal_context=self.refusal_context,
                            variable_fn=self._variable_fn,
                            constant_inputs=self.constant_inputs)

    def weight(self, variable: Any, *, reshape: Sequence[int] | None = None,
               name: str | None = None) -> str:
        """The IR weight name of a Keras variable of this layer (registered at first use).

        The weight is ``{scope}/{layer.name}/{variable.name}`` at the variable's first
        use; later uses of the same variable (a shared layer, a sub-model called
        twice) get the same name, so sharing survives lowering.

        Args:
            variable: a ``keras.Variable`` (not a computed tensor).
            reshape: store the array in this shape instead of the variable's.
            name: use this instead of ``variable.name`` (for variables created without
                a name, which Keras calls ``variable``, ``variable_1``... after a
                process-wide counter).

        Raises:
            UnsupportedLayerError: ``variable`` is not a Keras variable (e.g. a LoRA- or
                quantization-derived tensor).
        """
        import keras

        if not isinstance(variable, keras.Variable):
            self.refuse(f"weight {type(variable).__name__} is computed, not a stored variable")
        array = _variable_array(variable)
        if reshape is not None:
            array = array.reshape(tuple(reshape))
        return self._weight_fn(("variable", id(variable)), name or variable.name, array)

    def variable_operand(self, variable: Any) -> Operand:
        """The :class:`Operand` of a ``keras.Variable`` used directly as an operation's
        argument: the IR weight the walker's ``variable_fn`` registers for it (its Keras
        path under the traced layer's scope), or :meth:`weight` without one."""
        from graphir.dtypes import DType

        name = self._variable_fn(variable) if self._variable_fn else self.weight(variable)
        return Operand(name, TensorType(DType.from_any(variable.dtype), tuple(variable.shape)))

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

    def helper(self, op: str, inputs: Sequence[str], attrs: Mapping[str, Any] | None = None, *,
               suffix: str) -> str:
        """Add a helper node ``op(inputs) {attrs}`` computed before the call's final node.

        Returns:
            The helper's output value name, ``<name>/<suffix>`` (or a unique variant of
            it), which later helpers and the final :class:`Lowered` may read.

        Raises:
            RuntimeError: the context was made without a ``unique_name`` function (a
                walker bug, not a user error).
        """
        if self._unique_name is None:
            raise RuntimeError("this LayerContext cannot create helper nodes")
        name = self._unique_name(f"{self.name}/{suffix}")
        self.helpers.append((name, self.lowered(op, inputs, attrs)))
        return name

    def operands(self, constant_lists: bool = False) -> tuple[Any, ...]:
        """The positional call arguments, each ``KerasTensor`` replaced by an
        :class:`Operand` (its IR value name and type, from :attr:`inputs` in order) and
        every other argument (a constant) as given.

        Args:
            constant_lists: pass a (nested) list or tuple of plain numbers through as
                given (``keras.ops.take(x, [0, 2])``: the converter converts it as
                TensorFlow would); otherwise every list, tuple or dict is refused.

        Raises:
            UnsupportedLayerError: an argument is a list, tuple or dict holding tensors
                (the operations converted this way take tensors directly), or any list,
                tuple or dict without ``constant_lists``.
        """
        from keras import KerasTensor, Variable

        tensors = iter(zip(self.inputs, self.input_types))
        out: list[Any] = []
        for arg in self.call_args:
            if isinstance(arg, KerasTensor):
                out.append(Operand(*next(tensors)))
            elif isinstance(arg, Variable):
                out.append(self.variable_operand(arg))
            elif _is_concrete_tensor(arg):
                out.append(np.asarray(arg))
            elif constant_lists and isinstance(arg, (list, tuple)) and _plain_numbers(arg):
                out.append(arg)
            elif isinstance(arg, (list, tuple, dict)):
                self.refuse(f"an argument of type {type(arg).__name__} (nested tensors)")
            else:
                out.append(arg)
        return tuple(out)


def layer_refusal(layer: Any) -> str | None:
    """Why ``layer``'s stored weights do not give its inference result by themselves, or
    None: quantized (the kernel is stored as integers plus scales), LoRA enabled (the
    kernel is ``kernel + lora_a @ lora_b``), or a mixed-precision dtype policy (Keras
    casts the variables and inputs to another compute dtype; the op set has no cast).
    The walker checks every call's layer; wrappers and composite layers check the layers
    they call themselves."""
    if getattr(layer, "quantization_mode", None) is not None:
        return f"quantized ({layer.quantization_mode})"
    if getattr(layer, "lora_enabled", False):
        return "LoRA is enabled"
    policy = getattr(layer, "dtype_policy", None)
    if policy is not None and policy.compute_dtype != policy.variable_dtype:
        return f"mixed-precision dtype policy {policy.name!r}"
    return None


def _plain_numbers(value: Any) -> bool:
    """``value`` is a Python or NumPy number, or a (nested) list or tuple of them (no
    tensors, variables or other objects)."""
    if isinstance(value, (list, tuple)):
        return all(_plain_numbers(v) for v in value)
    return isinstance(value, (bool, int, float, np.generic))


def _is_concrete_tensor(value: Any) -> bool:
    """A concrete (eager) backend value with ``numpy()``: an eager tensor, or a
    TensorFlow variable the model's code created itself (``tf.Variable`` in a TF-era
    layer: keras.io's Swin attention mask, a graph convolution's weight), which Keras 3
    does not track as a weight, so its current value is a constant of the conversion.
    Not symbolic, not a Keras variable (those are weights, named by their paths)."""
    from keras import Variable

    return (type(value).__module__.startswith("tensorflow") and hasattr(value, "numpy")
            and not isinstance(value, Variable))


def _variable_array(variable: Any) -> np.ndarray:
    """A fresh NumPy copy of a Keras variable's value (the caller owns it).

    On the TensorFlow backend the value is read with ``tf.Variable.value()``, one
    ``ReadVariableOp``: Keras' ``variable.numpy()`` goes through ``read_value()``, which
    adds an ``identity`` op and takes twice as long (a third of lowering a small model).
    ``EagerTensor.numpy()`` returns a copy, as ``numpy()`` does on every other backend
    (``np.array(variable)``), so the array is copied again only when it is not a fresh
    array owning its data.
    """
    value = getattr(variable, "value", None)
    if type(value).__module__.startswith("tensorflow") and hasattr(value, "read_value"):
        array = value.value().numpy()
    else:
        array = variable.numpy()
    if not (isinstance(array, np.ndarray) and array.flags.owndata):
        array = np.array(array, copy=True)
    return array
