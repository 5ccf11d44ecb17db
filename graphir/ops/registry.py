"""The op registry: one :class:`OpSchema` per IR op, holding everything the core knows
about the op in one place (as a JAX primitive carries its abstract evaluation and its
implementation): inputs, attribute schema, type rule, NumPy reference kernel and
layout class.

* The verifier and the shape checker use the schema to check arity and attributes,
  and the type rule to recompute every node's output types (declared vs inferred).
* The reference interpreter (:mod:`graphir.interpreter`) runs ``schema.kernel``.
* The ONNX emitter reads ``schema.layout`` to decide where NCHW values live.

Backends attach to an op *by name*, each from its own table with one decorator per
role (``@emits("conv2d")`` in ``graphir.backends.onnx``, ``@builds("conv2d")`` and
``@lowers(keras.layers.Conv2D)`` in ``graphir.backends.keras``); the completeness
tests check that every op registered here has an entry in each of them.

An op is defined with :func:`define_op` (a decorator on its kernel) or
:func:`register` (a built :class:`OpSchema`, for op families made in a loop).  The
human description of each op, with its Keras and ONNX mapping, is ``specs/ops.md``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import attrs

from graphir.tensor_types import TensorType

if TYPE_CHECKING:  # pragma: no cover
    import numpy

__all__ = ["AttrSpec", "Kernel", "Layout", "OpSchema", "TypeRuleError", "attr_kinds",
           "define_op", "get_schema", "op_names", "register"]


class TypeRuleError(Exception):
    """A type rule rejected its inputs.  Not a GraphIRError itself: the verifier and
    the shape checker wrap it with the node's name and the surrounding IR.

    Attributes:
        input_index: which node input is at fault (None: the attributes or several).
        axis: the axis that differs, when one does.
        expected: the expected shape/dtype as text, when known.
        actual: the actual shape/dtype as text, when known.
        hint: a suggested fix, when one is obvious.
    """

    def __init__(self, message: str, *, input_index: int | None = None, axis: int | None = None,
                 expected: str | None = None, actual: str | None = None, hint: str | None = None):
        self.input_index = input_index
        self.axis = axis
        self.expected = expected
        self.actual = actual
        self.hint = hint
        super().__init__(message)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool))


#: attribute kind -> predicate on the (frozen) value
attr_kinds: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_num,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "strs": lambda v: isinstance(v, tuple) and all(isinstance(x, str) for x in v),
    "ints": lambda v: isinstance(v, tuple) and all(_is_int(x) for x in v),
    "floats": lambda v: isinstance(v, tuple) and all(_is_num(x) for x in v),
    "float_or_floats": lambda v: _is_num(v) or (isinstance(v, tuple) and all(_is_num(x) for x in v)),
    "optional_float": lambda v: v is None or _is_num(v),
    "int_pairs": lambda v: isinstance(v, tuple) and all(
        isinstance(p, tuple) and len(p) == 2 and all(_is_int(x) and x >= 0 for x in p) for p in v),
}


@attrs.frozen
class AttrSpec:
    """Schema of one attribute.

    Attributes:
        kind: a key of :data:`attr_kinds` (``"int"``, ``"ints"``, ``"str"``...).
        required: must be present on every node of the op.
        choices: allowed values (for str/int kinds), or None for any.
        length: required tuple length (for tuple kinds), or None.
        doc: one line for specs/ops.md.
    """

    kind: str
    required: bool = True
    choices: tuple | None = None
    length: int | None = None
    doc: str = ""


TypeRule = Callable[[Sequence[TensorType | None], Mapping[str, Any]], tuple[TensorType, ...]]

#: A reference kernel: the node's input arrays (None for omitted optional inputs; floats
#: in float64, other dtypes as declared) and its attributes -> the output array.
Kernel = Callable[[Sequence["numpy.ndarray | None"], Mapping[str, Any]], "numpy.ndarray"]


class Layout(enum.Enum):
    """How an op relates to the NHWC (channels-last) / NCHW (channels-first) layouts.

    IR values are always channels-last (Keras' default, ``specs/ir.md``); the layout
    class says what an emitter for a channels-first runtime (ONNX's Conv, MaxPool...)
    may do with the op.  The ONNX emitter's layout map (``graphir.backends.onnx.context``)
    is driven by it.

    Members:
        CHANNELS_LAST: reads and writes the IR's own layout only (reshape, flatten,
            embedding, recurrent and attention ops): a channels-first input is
            transposed back first.
        CHANNELS_FIRST: its ONNX form reads input 0 channels-first and writes
            channels-first (Conv, ConvTranspose, MaxPool, AveragePool).
        ANY: elementwise or per-channel along a remappable axis: computes in
            whichever layout its inputs already have (activations, merges,
            batch_norm, concatenate, padding...), axes remapped.
        EITHER: reads either layout at the same cost and writes channels-last
            (global pooling: a Reduce over the right axes; permute: one Transpose).
    """

    CHANNELS_LAST = "channels_last"
    CHANNELS_FIRST = "channels_first"
    ANY = "any"
    EITHER = "either"


@attrs.frozen
class OpSchema:
    """The contract of one op.

    Attributes:
        name: the op name used in ``Node.op``.
        inputs: names of the positional inputs; a trailing ``?`` marks an optional
            input (``""`` in ``Node.inputs`` when omitted).
        variadic: the op takes ``min_inputs`` or more inputs of the same role
            (``inputs`` then has one entry, the role's name).
        min_inputs: the minimum number of inputs of a variadic op.
        attrs: attribute name -> :class:`AttrSpec`.
        infer: the type rule: input types (None for omitted optional inputs) and
            attributes -> output types; raises :class:`TypeRuleError`.
        num_outputs: number of outputs.
        weight_inputs: indices of inputs that must be weights (kernels, statistics).
        index_inputs: indices of inputs read as integer indices (a float tensor there is
            truncated to int first, as Keras' ``Embedding`` and ``ops.take`` do): how
            the Keras lowering tells that an input of a subclassed model, whose dtype
            Keras does not record, holds token ids.
        doc: a one-line description.
        kernel: the NumPy reference kernel (:data:`Kernel`); Keras 3 / TensorFlow
            semantics, computed in float64 for float inputs.
        layout: the op's :class:`Layout` class.
    """

    name: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, AttrSpec]
    infer: TypeRule
    variadic: bool = False
    min_inputs: int = 1
    num_outputs: int = 1
    weight_inputs: tuple[int, ...] = ()
    index_inputs: tuple[int, ...] = ()
    doc: str = ""
    kernel: Kernel | None = None
    layout: Layout = Layout.CHANNELS_LAST

    def check_arity(self, n: int) -> str | None:
        """None when ``n`` inputs are acceptable, else a message saying what is expected."""
        if self.variadic:
            return None if n >= self.min_inputs else (
                f"expects at least {self.min_inputs} inputs, got {n}")
        # optional inputs may sit before required ones (batch_norm: x, gamma?, beta?,
        # mean, variance); then only the trailing optional ones may be left out
        required = max((k + 1 for k, i in enumerate(self.inputs) if not i.endswith("?")),
                       default=0)
        if required <= n <= len(self.inputs):
            return None
        want = (f"{required}" if required == len(self.inputs)
                else f"{required} to {len(self.inputs)}")
        return f"expects {want} inputs ({', '.join(self.inputs)}), got {n}"

    def check_attrs(self, values: Mapping[str, Any]) -> str | None:
        """None when ``values`` match the attribute schema, else the first problem."""
        for key in values:
            if key not in self.attrs:
                return f"unknown attribute {key!r} (known: {', '.join(sorted(self.attrs)) or 'none'})"
        for key, spec in self.attrs.items():
            if key not in values:
                if spec.required:
                    return f"missing required attribute {key!r} ({spec.kind})"
                continue
            v = values[key]
            if not attr_kinds[spec.kind](v):
                return f"attribute {key!r} must be {spec.kind}, got {v!r}"
            if spec.length is not None and isinstance(v, tuple) and len(v) != spec.length:
                return f"attribute {key!r} must have {spec.length} entries, got {v!r}"
            if spec.choices is not None and v not in spec.choices:
                return f"attribute {key!r} must be one of {list(spec.choices)}, got {v!r}"
        return None


_REGISTRY: dict[str, OpSchema] = {}


def register(schema: OpSchema) -> OpSchema:
    """Add ``schema`` to the op set.

    Raises:
        ValueError: an op of that name is already registered, or ``schema`` has no
            reference kernel (every op of the op set has one).
    """
    if schema.name in _REGISTRY:
        raise ValueError(f"op {schema.name!r} is registered twice")
    if schema.kernel is None:
        raise ValueError(f"op {schema.name!r} has no reference kernel")
    _REGISTRY[schema.name] = schema
    return schema


def define_op(name: str, inputs: Sequence[str], attrs: Mapping[str, AttrSpec] | None = None,
              *, infer: TypeRule, layout: Layout = Layout.CHANNELS_LAST, doc: str,
              **options: Any) -> Callable[[Kernel], Kernel]:
    """Decorator: register the op ``name`` with the decorated function as its reference
    kernel.  ``options`` are the other :class:`OpSchema` fields (``variadic``,
    ``min_inputs``, ``num_outputs``, ``weight_inputs``, ``index_inputs``).

    Example (the whole core side of an op)::

        @define_op("divide", ("x", "y"), infer=float_binary, layout=Layout.ANY,
                   doc="x / y with NumPy broadcasting")
        def divide(inputs, attrs):
            return np.divide(inputs[0], inputs[1])

    Raises:
        ValueError: as :func:`register`.
    """
    def decorate(kernel: Kernel) -> Kernel:
        register(OpSchema(name, tuple(inputs), dict(attrs or {}), infer, kernel=kernel,
                          layout=layout, doc=doc, **options))
        return kernel
    return decorate


def get_schema(op: str) -> OpSchema | None:
    """The schema of ``op``, or None when the op is not in the op set."""
    return _REGISTRY.get(op)


def op_names() -> tuple[str, ...]:
    """All op names, sorted."""
    return tuple(sorted(_REGISTRY))
