"""The Keras backend's two tables: how a Keras call lowers, how an IR op is built.

Both tables are filled by decorators, one per role, on the functions of the group
modules; nothing is merged by hand:

* lowering (Keras -> IR): ``@lowers(keras.layers.Dense)`` registers a converter
  ``convert(ctx: LayerContext) -> Lowered`` (:mod:`.context`) for a Keras layer class
  or a ``keras.ops`` operation class, with the call keywords it reads
  (``accepted_call_kwargs``) and whether the op's type rule decides the output dtype
  (``keeps_input_dtype``)::

      @lowers(keras.layers.Dense)
      def _dense(ctx: LayerContext) -> Lowered:
          return ctx.lowered("dense", [ctx.x, ctx.weight(ctx.layer.kernel), ...], {...})

* building (IR -> Keras): ``@builds("dense")`` registers a builder
  ``build(c: BuildContext) -> (layer, arrays)`` (:mod:`.build_context`) for IR ops, with
  the keywords its Keras call needs (``call_kwargs``) and whether the layer takes its
  tensors as one list (``list_input``).

A group is registered by importing its module: :func:`load_groups` holds the one
import line per group, and every lookup calls it first, so a caller never sees a
partly filled table.  Lookup of a converter is by *exact* class
(:func:`converter_for`): a subclass may override ``call``, so it is refused rather
than converted as its base class.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

import attrs
import keras

from graphir import ops
from graphir.backends.keras.build_context import BuildContext, Built
from graphir.backends.keras.context import LayerContext, Lowered
from graphir.ir import Node

__all__ = ["BuildRule", "Builder", "Converter", "LoweringRule", "accepted_call_kwargs",
           "build_rule", "builder_for", "builds", "built_ops", "converter_for",
           "keeps_input_dtype", "load_groups", "lowering_rule", "lowers",
           "supported_layer_classes", "supported_operations"]

#: ``(ctx: LayerContext) -> Lowered``: one Keras call -> one IR op application.
Converter = Callable[[LayerContext], Lowered]
#: ``(c: BuildContext) -> (layer, arrays)``: one IR node -> one Keras layer and its weights.
Builder = Callable[[BuildContext], Built]


@attrs.frozen
class LoweringRule:
    """How calls of one Keras class lower (registered with :func:`lowers`).

    Attributes:
        converter: the converter function.
        accepted_call_kwargs: the call keyword arguments the converter reads from
            ``ctx.call_kwargs``; the walker refuses any other keyword (``None`` values
            and ``training=False`` aside).
        keeps_input_dtype: Keras' symbolic output dtype (``compute_output_spec``) is the
            layer's compute dtype although ``call`` keeps the input dtype (on int32
            inputs Keras 3.15 reports float32 but computes int32): the op's type rule
            decides the dtype.
        multiple_outputs: the converter returns one ``Lowered`` per output of the call
            (``keras.ops.split``, ``moments``); calls of other classes with several
            outputs are refused before their converter runs.
    """

    converter: Converter
    accepted_call_kwargs: frozenset[str] = frozenset()
    keeps_input_dtype: bool = False
    multiple_outputs: bool = False


@attrs.frozen
class BuildRule:
    """How nodes of one IR op become a Keras layer (registered with :func:`builds`).

    Attributes:
        builder: the builder function.
        call_kwargs: ``node -> keyword arguments`` the layer's call needs beyond its data
            inputs (a causal attention's ``use_causal_mask=True``; Keras records call
            keywords in the functional model's config, so they survive saving), or None.
        list_input: the layer is called on one list of tensors (``Concatenate``, merges,
            ``Attention``), not ``layer(*tensors)``.
        constant_inputs: a data input may be a graph weight, passed to the call as a
            constant tensor (a ``keras.ops`` operation stores it, with its dtype, in the model config,
            so the emitter bounds its size); otherwise a weight in a data position is
            refused at emission.
        keyword_inputs: node input index -> the call keyword that data input is passed
            as (``multi_head_attention``'s input 11 is ``attention_mask=``), instead of
            positionally; several indices with one keyword pass the list of those
            present, in index order (an RNN's ``initial_state=[h, c]``).
        list_keywords: keywords of ``keyword_inputs`` always passed as a list, even of
            one tensor.
        output_group: ``node -> (key, index)`` or None: nodes with equal keys are the
            outputs of one Keras call (a recurrent layer with ``return_state=True``),
            this node its output ``index``; the first node of a group builds and calls
            the layer, the others take their output from that call.
    """

    builder: Builder
    call_kwargs: Callable[[Node], dict[str, Any]] | None = None
    list_input: bool = False
    constant_inputs: bool = False
    keyword_inputs: Mapping[int, str] = attrs.field(factory=dict)
    list_keywords: frozenset[str] = frozenset()
    output_group: Callable[[Node], tuple[Any, int] | None] | None = None

    def call_keywords(self, node: Node) -> dict[str, Any]:
        """The keyword arguments of the Keras call for ``node`` (``{}`` when none)."""
        return self.call_kwargs(node) if self.call_kwargs is not None else {}


_LOWERINGS: dict[type, LoweringRule] = {}
_BUILDS: dict[str, BuildRule] = {}
_loaded = False
_loading = False


def lowers(*layer_classes: type, accepted_call_kwargs: Iterable[str] = frozenset(),
           keeps_input_dtype: bool = False, multiple_outputs: bool = False
           ) -> Callable[[Converter], Converter]:
    """Decorator: register the function as the converter of each class in ``layer_classes``.

    A class is a Keras layer class (``keras.layers.Dense``, an application's custom
    layer) or a ``keras.ops`` operation class (``keras.src.ops.numpy.Add``); calls of
    exactly that class (not of subclasses) lower through the function.  Returns the
    function unchanged, so ``lowers(A, B)(make_converter("op"))`` registers a
    converter built by a factory.

    Args:
        layer_classes: the classes, at least one.
        accepted_call_kwargs: call keywords the converter reads from
            ``ctx.call_kwargs`` (see :class:`LoweringRule`).
        keeps_input_dtype: see :class:`LoweringRule`.

    Raises:
        ValueError: no class given, or a class already has a converter.
        TypeError: an entry of ``layer_classes`` is not a class, or
            ``accepted_call_kwargs`` is a string or holds a non-string.
    """
    if not layer_classes:
        raise ValueError("lowers() needs at least one Keras layer or operation class")
    for cls in layer_classes:
        if not isinstance(cls, type):
            raise TypeError(f"lowers() takes classes, got {cls!r}")
    if isinstance(accepted_call_kwargs, str):
        raise TypeError(f"accepted_call_kwargs must be a collection of keyword names, got the "
                        f"string {accepted_call_kwargs!r}")
    accepted = frozenset(accepted_call_kwargs)
    if not all(isinstance(k, str) for k in accepted):
        raise TypeError(f"accepted_call_kwargs must hold keyword names, got "
                        f"{sorted(accepted, key=repr)}")

    def register(fn: Converter) -> Converter:
        _add_rules(_LOWERINGS, layer_classes, LoweringRule(fn, accepted, bool(keeps_input_dtype),
                                                           bool(multiple_outputs)),
                   lambda cls: f"{qualified_name(cls)} already has a converter")
        return fn
    return register


def builds(*ops_: str, call_kwargs: Callable[[Node], dict[str, Any]] | None = None,
           list_input: bool = False, constant_inputs: bool = False,
           keyword_inputs: Mapping[int, str] | None = None,
           list_keywords: Iterable[str] = (),
           output_group: Callable[[Node], tuple[Any, int] | None] | None = None
           ) -> Callable[[Builder], Builder]:
    """Decorator: register the function as the Keras builder of each IR op in ``ops_``.

    Returns the function unchanged.

    Args:
        ops_: IR op names (:func:`graphir.ops.op_names`), at least one.
        call_kwargs: ``node -> keyword arguments`` of the layer's call, or None
            (see :class:`BuildRule`).
        list_input: the layer is called on one list of tensors (see :class:`BuildRule`).
        constant_inputs: data inputs may be weights, passed as constant tensors (see
            :class:`BuildRule`).
        keyword_inputs: data inputs passed as call keywords (see :class:`BuildRule`).
        list_keywords: keywords always passed as lists (see :class:`BuildRule`).
        output_group: which nodes are outputs of one call (see :class:`BuildRule`).

    Raises:
        ValueError: no op given, an op the op set does not define, or an op that
            already has a builder.
        TypeError: an op name is not a string.
    """
    if not ops_:
        raise ValueError("builds() needs at least one IR op name")
    known = set(ops.op_names())
    for op in ops_:
        if not isinstance(op, str):
            raise TypeError(f"builds() takes IR op names, got {op!r}")
        if op not in known:
            raise ValueError(f"builds({op!r}): the op set has no op {op!r}")

    def register(fn: Builder) -> Builder:
        _add_rules(_BUILDS, ops_, BuildRule(fn, call_kwargs, bool(list_input),
                                            bool(constant_inputs), dict(keyword_inputs or {}),
                                            frozenset(list_keywords), output_group),
                   lambda op: f"op {op!r} already has a Keras builder")
        return fn
    return register


def _add_rules(table: dict, keys: Iterable[Any], rule: Any,
               taken: Callable[[Any], str]) -> None:
    """Put ``rule`` into ``table`` under every key, all or nothing.

    Raises:
        ValueError: a key already has a rule (``taken(key)`` plus the function that
            holds it); nothing is registered then.
    """
    for key in keys:
        if key in table:
            old = table[key]
            fn = getattr(old, "converter", None) or getattr(old, "builder", None)
            raise ValueError(f"{taken(key)} ({fn.__qualname__})")
    for key in keys:
        table[key] = rule


def load_groups() -> None:
    """Import every group module of the Keras backend once, which fills both tables.

    This is the one place a group is listed; adding a group is one line here.  Every
    lookup below calls it, so it rarely needs to be called directly.

    Raises:
        ValueError: two group modules register the same class or op.
    """
    global _loaded, _loading
    if _loaded or _loading:  # _loading: a group module being imported looked something up
        return
    _loading = True
    try:
        from graphir.backends.keras import converters  # noqa: F401  (keras.layers)
        from graphir.backends.keras import app_converters  # noqa: F401  (keras.applications)
        from graphir.backends.keras import op_converters  # noqa: F401  (keras.ops)
        from graphir.backends.keras import recurrent_converters  # noqa: F401
        from graphir.backends.keras import attention_converters  # noqa: F401
        from graphir.backends.keras import sequence_converters  # noqa: F401
        from graphir.backends.keras import layer_builders  # noqa: F401
        from graphir.backends.keras import recurrent_builders  # noqa: F401
        from graphir.backends.keras import attention_builders  # noqa: F401
        from graphir.backends.keras import sequence_builders  # noqa: F401
        from graphir.backends.keras import arithmetic_builders  # noqa: F401
        from graphir.backends.keras import logic_converters, logic_builders  # noqa: F401
        from graphir.backends.keras import reduction_converters, reduction_builders  # noqa: F401
        from graphir.backends.keras import indexing_converters, indexing_builders  # noqa: F401
        from graphir.backends.keras import inference_converters  # noqa: F401
        from graphir.backends.keras import resize_converters, resize_builders  # noqa: F401
        from graphir.backends.keras import adaptive_pooling_converters  # noqa: F401
        from graphir.backends.keras import composite_converters  # noqa: F401
        from graphir.backends.keras import math_composite_converters  # noqa: F401
        from graphir.backends.keras import nn_op_converters  # noqa: F401
        from graphir.backends.keras import more_op_converters  # noqa: F401
        _loaded = True
    finally:
        _loading = False


# --------------------------------------------------------------------------- lowering lookups

def lowers_named(*qualified_names: str, accepted_call_kwargs: Iterable[str] = frozenset(),
                 keeps_input_dtype: bool = False) -> Callable[[Converter], Converter]:
    """:func:`lowers` for classes of optional packages, named ``"module.QualName"`` (e.g.
    keras_hub's ``CachedMultiHeadAttention``), so that registering them imports nothing:
    a call's exact class matches when its module and qualified name are these.

    Raises:
        ValueError: no name given, a name without a module, or one already registered.
    """
    if not qualified_names or not all(isinstance(n, str) and "." in n for n in qualified_names):
        raise ValueError(f"lowers_named() takes 'module.QualName' strings, got {qualified_names!r}")
    accepted = frozenset(accepted_call_kwargs)

    def register(fn: Converter) -> Converter:
        _add_rules(_LOWERINGS, qualified_names,
                   LoweringRule(fn, accepted, bool(keeps_input_dtype)),
                   lambda name: f"{name} already has a converter")
        return fn
    return register


def qualified_name(cls: type) -> str:
    """``"module.QualName"`` of ``cls``, the key :func:`lowers_named` registers by."""
    return f"{cls.__module__}.{cls.__qualname__}"


def lowering_rule(layer: Any) -> LoweringRule | None:
    """The :class:`LoweringRule` of ``type(layer)`` (exact class match, by the class or by
    its ``"module.QualName"`` for :func:`lowers_named`), or None."""
    load_groups()
    cls = type(layer)
    rule = _LOWERINGS.get(cls)
    if rule is None:
        rule = _LOWERINGS.get(qualified_name(cls))
    return rule


def converter_for(layer: Any) -> Converter | None:
    """The converter of ``type(layer)`` (exact class match; layers and ``keras.ops``
    operations), or None."""
    rule = lowering_rule(layer)
    return rule.converter if rule is not None else None


def accepted_call_kwargs(layer: Any) -> frozenset[str]:
    """The call keywords the converter of ``type(layer)`` reads (empty when it has none,
    or when the class has no converter)."""
    rule = lowering_rule(layer)
    return rule.accepted_call_kwargs if rule is not None else frozenset()


def keeps_input_dtype(layer: Any) -> bool:
    """Whether the op's type rule, not Keras' symbolic output, decides the dtype of a call
    of ``type(layer)`` (see :class:`LoweringRule`); False without a converter."""
    rule = lowering_rule(layer)
    return rule is not None and rule.keeps_input_dtype


def supported_layer_classes() -> tuple[str, ...]:
    """Names of the Keras layer classes with a converter, sorted."""
    load_groups()
    return tuple(sorted({cls.__name__ if isinstance(cls, type) else cls.rpartition(".")[2]
                         for cls in _LOWERINGS
                         if not isinstance(cls, type) or issubclass(cls, keras.layers.Layer)}))


#: operation class names (snake case) whose keras.ops function has another name
_OP_FUNCTION_NAMES = {"batch_norm": "batch_normalization", "layer_norm": "layer_normalization",
                      "rms_norm": "rms_normalization"}


def _op_function_name(cls: type) -> str | None:
    """The ``keras.ops`` function of a Keras operation class (``TrueDivide`` ->
    ``keras.ops.true_divide``, ``RGBToGrayscale`` -> ``keras.ops.image.rgb_to_grayscale``);
    None for a class outside ``keras.src.ops`` (graphir's trace-only operations, the
    operation ``keras.activations.relu`` records)."""
    if not cls.__module__.startswith("keras.src.ops.") or issubclass(cls, keras.layers.Layer):
        return None  # graphir's trace operations; keras.activations' own operation classes
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_",
                   cls.__name__).lower()
    snake = _OP_FUNCTION_NAMES.get(snake, snake)
    module = cls.__module__.rsplit(".", 1)[-1]
    if hasattr(keras.ops, snake):
        return f"keras.ops.{snake}"
    if hasattr(getattr(keras.ops, module, None), snake):
        return f"keras.ops.{module}.{snake}"
    return f"keras.ops.{snake}"


def supported_operations() -> tuple[str, ...]:
    """``keras.ops`` functions whose operations on symbolic tensors lower, sorted
    (``keras.ops.true_divide`` for the class ``TrueDivide``)."""
    load_groups()
    names = {_op_function_name(cls) for cls in _LOWERINGS if isinstance(cls, type)}
    return tuple(sorted(n for n in names if n is not None))


# --------------------------------------------------------------------------- building lookups

def build_rule(op: str) -> BuildRule | None:
    """The :class:`BuildRule` of IR op ``op``, or None."""
    load_groups()
    return _BUILDS.get(op)


def builder_for(op: str) -> Builder | None:
    """The Keras builder of IR op ``op``, or None."""
    rule = build_rule(op)
    return rule.builder if rule is not None else None


def built_ops() -> tuple[str, ...]:
    """The IR ops with a Keras builder, sorted."""
    load_groups()
    return tuple(sorted(_BUILDS))
