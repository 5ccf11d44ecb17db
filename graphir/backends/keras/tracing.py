"""Custom layers lowered by symbolic tracing (used by :mod:`graphir.backends.keras.lower`).

A layer with no converter whose ``call`` is user code (a custom ``keras.layers.Layer``
subclass, a keras_hub layer, a ``keras.Model`` subclass with its own ``call``, or a
``keras.layers.Lambda`` of a live model) is lowered by running that ``call`` once on
fresh symbolic ``KerasTensor`` s shaped and typed like the tensors it was called on:
every sublayer call and every ``keras.ops`` operation on a symbolic tensor records a
Keras node, so the call leaves a functional graph from the fresh inputs to its
outputs, which the walker lowers like a nested model (:class:`TracedCall` has the
``name``/``inputs``/``outputs``/``layers`` a model has).

The trace runs with ``training=False`` (passed when ``call`` accepts it).  It is refused
(:func:`traced_call` raises the walker's :class:`~graphir.errors.UnsupportedLayerError`
naming the layer) when the call cannot be recorded: Python control flow on a tensor
value, a ``tf.*`` function on a symbolic tensor that has no exact ``keras.ops``
equivalent (the exception's first line is quoted,
with the line of user code that raised it), an output that is not a symbolic tensor
(a constant, a value computed outside ``keras.ops``), a different number of outputs
than Keras recorded, a symbolic tensor captured from outside the call, random draws (``keras.random`` with a seed generator: one sample
would be frozen).  An input carrying a Keras mask carries it into the trace (its fresh
twin carries the mask's fresh twin, an extra input when the call is not given it), so
that sublayers reading it (MultiHeadAttention) see what they see at run time.  For the
trace only, a few things Keras
cannot record on symbolic tensors are made recordable, each exact: TensorFlow functions
with an exact ``keras.ops`` equivalent (``tf.reshape``, ``tf.matmul``, ``tf.gather``...:
:mod:`graphir.backends.keras.tf_equivalents`), a sublayer returning None among its outputs
(:func:`_none_outputs_recorded`), ``variable * tensor`` (:func:`_variables_defer_to_symbolic`),
sublayer output sizes Keras leaves unknown (:func:`_spec_shims`), ``numpy_array * tensor``
(:func:`_arrays_defer_to_symbolic`), upper-case ``einsum`` subscripts
(:func:`_einsum_subscripts`), ``add_loss`` in a call (:func:`_losses_ignored`),
``ops.cond`` on a run-time predicate as a select of both branches
(:func:`_cond_as_select`), FFTs
over axes of unknown size (:func:`_fft_of_unknown_sizes`) and sizes unknown while tracing
(:mod:`graphir.backends.keras.dynamic_dims`).  Operations the call records but the op set lacks
(``ops.while_loop``, ``ops.map``...) are refused by the walker when it lowers them.

Tracing appends Keras nodes to the sublayers' call histories; :func:`traced_call` removes
them again when the walker is done, so the user's model is left as it was.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import traceback
from typing import Any, Callable, Iterator, Mapping, NoReturn, Sequence

import attrs
import keras
import numpy as np
from keras.src.models.functional import Functional
from keras.src.utils.naming import to_snake_case

from graphir.backends.keras.context import _is_concrete_tensor
from graphir.backends.keras.dynamic_dims import dynamic_dims, ops_namespaces
from graphir.backends.keras.graph_walk import call_order
from graphir.backends.keras.registry import supported_layer_classes
from graphir.backends.keras.tf_equivalents import tf_equivalents
from graphir.tensor_types import TensorType

__all__ = ["TRACE_ERRORS", "TracedCall", "canonical_op_name", "is_own_call_model", "is_traced",
           "one_line", "relative_variable_path", "traced_call", "traced_model",
           "untraced_reason"]

#: What a symbolic trace raises when the call does something Keras cannot record
#: (``bool(tensor)`` -> TypeError; a ``tf`` function on a KerasTensor -> ValueError;
#: ``tensor.numpy()`` -> AttributeError / NotImplementedError; shape arithmetic on
#: ``None`` dims -> TypeError, IndexError...).
TRACE_ERRORS: tuple[type[BaseException], ...] = (TypeError, ValueError, AttributeError,
                                                  NotImplementedError, IndexError, KeyError,
                                                  RuntimeError)
try:  # TensorFlow's own errors (the tests and the CLI run the TF backend)
    import tensorflow as _tf

    TRACE_ERRORS += (_tf.errors.OpError,)
except ImportError:  # pragma: no cover - another Keras backend
    pass

_KERAS_DIR = os.path.dirname(keras.__file__) + os.sep


@attrs.define
class TracedCall:
    """The functional graph one traced call recorded (walked like a nested model).

    Attributes:
        name: the traced layer's name.
        inputs: the fresh symbolic inputs, aligned with the call's tensors (one entry per
            tensor argument as Keras recorded them, a repeated tensor repeated, none for
            one that is None at run time), then one per Keras mask those tensors carry
            that the call was not given.
        outputs: the traced outputs, flattened, aligned with the call's outputs (None
            where Keras recorded a tensor the call returns as None).
        layers: the layers whose names the walker reserves (the model's tracked
            sublayers for a traced model, none for a layer).
    """

    name: str
    inputs: list[Any]
    outputs: list[Any]
    layers: list[Any] = attrs.Factory(list)


def _definer(cls: type, name: str) -> type | None:
    """The class in ``cls.__mro__`` that defines the attribute ``name`` used."""
    return next((c for c in cls.__mro__ if name in c.__dict__), None)


def _call_owner(layer: Any) -> type | None:
    """The class in ``type(layer).__mro__`` that defines the ``call`` used."""
    return _definer(type(layer), "call")


def _builtin(cls: type) -> bool:
    return cls.__module__ == "keras" or cls.__module__.startswith("keras.")


def is_traced(op: Any, *, from_file: bool) -> bool:
    """Whether the walker lowers ``op`` (a call without a converter) by tracing.

    True for a ``keras.layers.Layer`` whose ``call`` is not Keras' own (a custom layer, a
    keras_hub layer, a ``keras.Model`` subclass with its own ``call``) and for a
    ``keras.layers.Lambda`` of a live model (``from_file`` False), for a built-in
    layer without a converter (its ``call`` is traced like any other), and for a
    subclass of a built-in layer that inherits its ``call`` (converters match exact
    classes; the subclass may override what that call uses, as keras.io's
    ``StandardizedConv2D`` overrides ``convolution_op``: the trace records what the
    inherited call computes with the overrides).
    """
    if not isinstance(op, keras.layers.Layer):
        return False
    if type(op) is keras.layers.Lambda:
        return not from_file
    owner = _call_owner(op)
    if owner is None or owner is keras.layers.Layer:
        return False
    if not _builtin(owner):
        return True
    if not _builtin(type(op)):
        return not isinstance(op, keras.Model)
    # Keras' own call of a built-in layer without a converter (ReversibleEmbedding,
    # which keras_hub's text backbones use), inherited or not: tracing that call records
    # exactly what it computes; a call that cannot be traced is refused by name
    return not isinstance(op, keras.Model) and owner.__name__ not in supported_layer_classes()


def untraced_reason(op: Any, *, from_file: bool) -> str | None:
    """Why a layer without a converter is not traced, when that is the whole story (a
    ``.keras`` file's ``Lambda``), else None."""
    if not isinstance(op, keras.layers.Layer):
        return None
    if type(op) is keras.layers.Lambda and from_file:
        return ("a Lambda layer of a .keras file: graphir loads files with safe_mode and "
                "never runs code a file names; Lambda layers are traced in live models only")
    return None


def canonical_op_name(op: Any) -> str:
    """The name of a traced ``keras.ops`` operation's node, before it is made unique: the
    snake-case class name (``Matmul`` -> ``matmul``), not Keras' process-wide counter name
    (``matmul_17``), so lowering the same model twice gives the same names."""
    return to_snake_case(type(op).__name__)


def relative_variable_path(variable: Any, owner: Any | None) -> str:
    """The path of ``variable`` below the traced layer ``owner`` (``"lin/w"`` for
    ``outer/lin/w`` traced in ``outer``); its whole Keras path when ``owner`` is None or
    not on it, so the IR weight is ``{scope of owner}/{this}``, the Keras path."""
    parts = variable.path.split("/")
    if owner is not None and owner.name in parts[:-1]:
        last = len(parts) - 1 - parts[:-1][::-1].index(owner.name)
        return "/".join(parts[last:])
    return variable.path if owner is None else variable.name


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (capped), plus the user-code line that raised."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    msg = lines[0] if lines else ""
    if len(msg) > 240:
        msg = msg[:237] + "..."
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        f = os.path.abspath(frame.filename)
        if not f.startswith(_KERAS_DIR) and "site-packages/tensorflow" not in f \
                and not f.startswith(os.path.dirname(__file__)):
            where = f" at {os.path.basename(f)}:{frame.lineno} ({frame.line})"
            break
    return f"{type(exc).__name__}: {msg}{where}"


def _fresh_input(ttype: TensorType, i: int) -> Any:
    shape = tuple(d if isinstance(d, int) else None for d in ttype.shape)
    # an explicit name: no process-wide Keras name counter is consumed
    return keras.Input(batch_shape=shape, dtype=ttype.dtype.value, name=f"graphir_trace_{i}")


def _snapshot(layer: Any) -> list[tuple[Any, int, int]]:
    return [(lyr, len(lyr._inbound_nodes), len(lyr._outbound_nodes))
            for lyr in layer._flatten_layers(include_self=True, recursive=True)]


def _restore(saved: list[tuple[Any, int, int]]) -> None:
    for lyr, n_in, n_out in saved:
        del lyr._inbound_nodes[n_in:]
        del lyr._outbound_nodes[n_out:]
        for attr in ("compute_output_spec", "compute_mask"):
            if attr in vars(lyr) and getattr(vars(lyr)[attr], "_graphir_trace_shim", False):
                delattr(lyr, attr)


@contextlib.contextmanager
def _none_outputs_recorded() -> Iterator[None]:
    """While tracing, record a sublayer call that returns None among its tensors (keras_hub's
    ``T5MultiHeadAttention`` returns ``(output, position_bias, cache)`` with ``cache``
    None when it has no cache) as a Keras node of its tensor outputs only, returning the
    structure with its None to the caller.  Keras' ``Node`` refuses None outputs
    ("All operation outputs must be tensors"); such a call only happens inside another
    layer's ``call`` (a functional model records the outer layer, whose outputs are
    tensors), so the trace is the first to meet it.  Patched in ``Layer.__call__``'s
    module for the trace only."""
    from keras.src.layers import layer as layer_module
    from keras.src.ops.node import Node

    def node(operation: Any, call_args: Any = None, call_kwargs: Any = None,
             outputs: Any = None) -> Any:
        if outputs is not None and any(o is None for o in keras.tree.flatten(outputs)):
            outputs = [o for o in keras.tree.flatten(outputs) if o is not None]
        return Node(operation, call_args=call_args, call_kwargs=call_kwargs, outputs=outputs)

    layer_module.Node = node
    try:
        yield
    finally:
        layer_module.Node = Node


#: the binary operators of ``keras.Variable`` (each calls the backend's function on the
#: variable's value and the other operand, which fails on a symbolic tensor)
_VARIABLE_OPERATORS = tuple(f"__{r}{name}__" for name in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor")
    for r in ("", "r")) + ("__lt__", "__le__", "__gt__", "__ge__")


@contextlib.contextmanager
def _variables_defer_to_symbolic() -> Iterator[None]:
    """While tracing, make ``variable * tensor`` (keras_hub's ``T5LayerNorm``: ``self.weight
    * hidden_states``) record the operation: a ``keras.Variable`` operator whose other
    operand is a symbolic tensor returns ``NotImplemented``, so Python calls the symbolic
    tensor's reflected operator (``KerasTensor.__rmul__``: ``ops.multiply(variable,
    tensor)``, the same operands in the same order; ``a < t`` becomes ``t > a``), where
    Keras' own operator would pass the symbolic tensor to a TensorFlow function and
    fail.  The same for an eager TensorFlow tensor computed in the call (keras_hub
    Moonshine's ``arange(n)[None, :] < lengths[:, None]`` with ``n`` static).  Patched on
    the classes for the trace only."""
    from keras.src.backend.common.variables import Variable

    classes = [Variable]
    try:
        from tensorflow.python.framework.tensor import Tensor
    except ImportError:  # pragma: no cover - another Keras backend
        pass
    else:
        classes.append(Tensor)
    saved = {(cls, name): cls.__dict__[name] for cls in classes
             for name in _VARIABLE_OPERATORS if name in cls.__dict__}

    def deferring(method: Callable[..., Any]) -> Callable[..., Any]:
        def operator(self: Any, other: Any) -> Any:
            if isinstance(other, keras.KerasTensor):
                return NotImplemented
            return method(self, other)
        return operator

    for (cls, name), method in saved.items():
        setattr(cls, name, deferring(method))
    try:
        yield
    finally:
        for (cls, name), method in saved.items():
            setattr(cls, name, method)


@contextlib.contextmanager
def _arrays_defer_to_symbolic() -> Iterator[None]:
    """While tracing, make ``numpy_array * tensor`` (a constant mask or scale kept as a
    NumPy attribute, keras.io's RealNVP) record the operation: with ``__array_ufunc__ =
    None`` on ``KerasTensor``, NumPy's operator returns ``NotImplemented`` and Python
    calls the symbolic tensor's reflected operator, as an eager TensorFlow tensor makes
    NumPy do.  Set on the class for the trace only."""
    cls = keras.KerasTensor
    had = "__array_ufunc__" in cls.__dict__
    saved = cls.__dict__.get("__array_ufunc__")
    cls.__array_ufunc__ = None
    try:
        yield
    finally:
        if had:
            cls.__array_ufunc__ = saved
        else:
            del cls.__array_ufunc__


@contextlib.contextmanager
def _losses_ignored() -> Iterator[None]:
    """While tracing, ``self.add_loss(...)`` in a ``call`` (the Keras guide's activity
    regularization layer) records nothing: a loss added at inference never changes the
    call's outputs, and Keras' ``add_loss`` refuses a symbolic tensor.  Patched on
    ``keras.layers.Layer`` for the trace only."""
    cls = keras.layers.Layer
    original = cls.__dict__["add_loss"]

    def add_loss(self: Any, loss: Any) -> None:
        del self, loss

    cls.add_loss = add_loss
    try:
        yield
    finally:
        cls.add_loss = original


@contextlib.contextmanager
def _cond_as_select() -> Iterator[None]:
    """While tracing, ``keras.ops.cond(pred, true_fn, false_fn)`` with a predicate known
    only at run time (a scalar bool symbolic tensor, or a comparison of sizes unknown
    while tracing: keras_hub SAM3's ``ops.cond(ops.equal(ops.shape(boxes)[1], 0), ...)``)
    traces both branches and selects each output as ``take(stack([t, f]), index)`` with
    the index ``0`` where ``pred`` holds, else ``1``: the taken branch's values exactly,
    whatever the other holds, and a run-time failure, never a broadcast, when the two
    differ in shape at run time (sizes unknown while tracing may; ``where`` would
    broadcast a size 1).  The branches must return the same structure of tensors of one
    dtype and symbolic shape each (``tf.cond`` requires that too).  Unlike
    ``tf.cond``, the converted model computes the branch not taken as well: a branch
    that cannot run on some inputs (a reshape valid only when taken) makes the converted
    model fail on them, never return another number.  A predicate known while tracing
    (a constant) is Keras' own ``cond``.  Patched in every ``keras.ops`` namespace for
    the trace only."""
    from graphir.backends.keras.dynamic_dims import is_stand_in

    original = keras.ops.cond

    def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        if is_stand_in(pred):
            pred = pred.size_tensor()
        if not isinstance(pred, keras.KerasTensor):
            return original(pred, true_fn, false_fn)
        if tuple(pred.shape) != () or keras.backend.standardize_dtype(pred.dtype) != "bool":
            raise TypeError(f"ops.cond of a predicate of shape {tuple(pred.shape)} and dtype "
                            f"{pred.dtype}: only a scalar bool")
        taken, other = true_fn(), false_fn()
        keras.tree.assert_same_structure(taken, other)
        for a, b in zip(keras.tree.flatten(taken), keras.tree.flatten(other)):
            if not (isinstance(a, keras.KerasTensor) and isinstance(b, keras.KerasTensor)) or \
                    tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
                raise TypeError(f"ops.cond branches return {_spec_text(a)} and "
                                f"{_spec_text(b)}: graphir selects between symbolic tensors "
                                f"of one shape and dtype only")
        index = keras.ops.cast(keras.ops.logical_not(pred), "int32")
        return keras.tree.map_structure(
            lambda a, b: keras.ops.take(keras.ops.stack([a, b]), index, axis=0), taken, other)

    saved = []
    for space in ops_namespaces():
        if getattr(space, "cond", None) is original:
            saved.append(space)
            space.cond = cond
    try:
        yield
    finally:
        for space in saved:
            space.cond = original


def _spec_text(v: Any) -> str:
    if isinstance(v, keras.KerasTensor):
        return f"{v.dtype}{list(v.shape)}"
    return type(v).__name__


def _lowercase_subscripts(equation: str) -> str:
    """``equation`` with each upper-case subscript letter replaced by a lower-case one
    it does not use (the same letter for the same letter): Keras' symbolic ``einsum``
    cannot parse upper-case subscripts (``"bhwc,bHWc->bhwHW"``, keras.io's DDPM), which
    TensorFlow's einsum accepts; renaming letters changes nothing in the result."""
    free = iter(c for c in "abcdefghijklmnopqrstuvwxyz" if c not in equation)
    mapping: dict[str, str] = {}
    out = []
    for c in equation:
        if c.isupper():
            if c not in mapping:
                letter = next(free, None)
                if letter is None:
                    raise ValueError(f"einsum {equation!r}: no lower-case letter left for "
                                     f"its upper-case subscripts")
                mapping[c] = letter
            c = mapping[c]
        out.append(c)
    return "".join(out)


@contextlib.contextmanager
def _einsum_subscripts() -> Iterator[None]:
    """While tracing, ``keras.ops.einsum`` takes upper-case subscripts
    (:func:`_lowercase_subscripts`)."""
    original = keras.ops.einsum

    def einsum(subscripts: Any, *operands: Any, **kwargs: Any) -> Any:
        if isinstance(subscripts, str) and any(c.isupper() for c in subscripts):
            subscripts = _lowercase_subscripts(subscripts)
        return original(subscripts, *operands, **kwargs)

    spaces = [m for m in ops_namespaces() if getattr(m, "einsum", None) is original]
    for m in spaces:
        m.einsum = einsum
    try:
        yield
    finally:
        for m in spaces:
            m.einsum = original


@contextlib.contextmanager
def _fft_of_unknown_sizes() -> Iterator[None]:
    """While tracing, ``keras.ops.fft`` / ``fft2`` accept transformed axes whose size is
    unknown (Keras' symbolic shape inference requires them static, though TensorFlow
    computes the FFT of any length): the spec is the input's, as Keras gives for static
    sizes; the walker computes the DFT matrices at run time
    (``reduction_converters._run_time_dft_matrices``)."""
    from keras.src.ops import math as kmath

    originals = {cls: cls.compute_output_spec for cls in (kmath.FFT, kmath.FFT2)}

    def shim_for(cls: type) -> Callable[..., Any]:
        def spec(self: Any, x: Any) -> Any:
            if isinstance(x, (tuple, list)) and len(x) == 2 and all(
                    isinstance(t, keras.KerasTensor) for t in x) and x[0].shape == x[1].shape \
                    and len(x[0].shape) >= (2 if cls is kmath.FFT2 else 1) and None in x[0].shape:
                return tuple(keras.KerasTensor(t.shape, dtype=t.dtype) for t in x)
            return originals[cls](self, x)
        return spec

    for cls in originals:
        cls.compute_output_spec = shim_for(cls)
    try:
        yield
    finally:
        for cls, method in originals.items():
            cls.compute_output_spec = method


def _static(tensors: Sequence[Any]) -> bool:
    return all(d is not None for t in tensors for d in t.shape)


def _refined(spec: Any, call: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """``spec`` (a sublayer's symbolic output) with the sizes its ``compute_output_shape``
    left unknown filled in from Keras' shape inference of its ``call`` (a TensorFlow
    graph built on placeholders of the inputs' static shapes: what Keras itself does for
    a layer without ``compute_output_shape``), when every tensor input is static and the
    inferred shapes agree with ``spec`` on every size it knows.  Otherwise ``spec``."""
    outputs = keras.tree.flatten(spec)
    if all(_static([t]) for t in outputs if isinstance(t, keras.KerasTensor)):
        return spec
    if not _static([t for t in keras.tree.flatten((args, kwargs))
                    if isinstance(t, keras.KerasTensor)]):
        return spec
    from keras.src import backend

    try:
        inferred = backend.compute_output_spec(call, *args, **kwargs)
    except TRACE_ERRORS:  # keep Keras' own answer; the trace reports what fails later
        return spec
    flat = keras.tree.flatten(inferred)
    if len(flat) != len(outputs):
        return spec
    better = []
    for want, got in zip(outputs, flat):
        if not isinstance(want, keras.KerasTensor):
            better.append(want)
            continue
        if not (isinstance(got, keras.KerasTensor) and len(got.shape) == len(want.shape)
                and all(w is None or w == g for w, g in zip(want.shape, got.shape))
                and got.dtype == want.dtype):
            return spec
        better.append(keras.KerasTensor(got.shape, dtype=want.dtype, sparse=want.sparse,
                                        ragged=want.ragged, name=want.name))
    return keras.tree.pack_sequence_as(spec, better)


def _spec_shims(layer: Any) -> None:
    """Install, on each sublayer of ``layer``, an instance ``compute_output_spec`` (removed
    by :func:`_restore`) that wraps the class' method for the trace:

    * keyword arguments the sublayer's ``call`` takes but its ``compute_output_spec``
      does not are dropped when their value is None (an absent option, no change to the
      output's shape or dtype): keras_hub's ``CachedMultiHeadAttention`` is called with
      ``cache=None``, and the inherited ``MultiHeadAttention.compute_output_spec`` has no
      ``cache``, so Keras' symbolic call raised TypeError.  Keywords with a value stay
      and fail as before;
    * output sizes that the sublayer's ``compute_output_shape`` leaves unknown although
      its inputs are static are inferred from its ``call`` (:func:`_refined`):
      ``EinsumDense(output_shape=(None, heads, size))`` reports an unknown sequence
      length, and a traced call reading ``ops.shape`` of that output (keras_hub's
      DeBERTaV3 attention builds ``ops.arange`` of it) would fail on ``None``.
    """
    for lyr in layer._flatten_layers(include_self=False, recursive=True):
        method = type(lyr).compute_output_spec
        try:
            params = inspect.signature(method).parameters
        except (TypeError, ValueError):
            continue
        extra = frozenset() if any(p.kind == p.VAR_KEYWORD for p in params.values()) \
            else frozenset(set(call_parameters(lyr)) - set(params))

        stale = _spec_older_than_call(type(lyr))

        def shim(*args: Any, _method=method, _lyr=lyr, _extra=extra, _stale=stale,
                 **kwargs: Any):
            if _stale:
                spec = _symbolic_spec(_lyr, args, kwargs)
                if spec is not None:
                    return spec
            kwargs = {k: v for k, v in kwargs.items() if not (k in _extra and v is None)}
            try:
                spec = _method(_lyr, *args, **kwargs)
            except TRACE_ERRORS:
                spec = _symbolic_spec(_lyr, args, kwargs)
                if spec is None:
                    raise
            if _method is _MHA_SPEC:
                spec = _attention_scores_spec(_lyr, spec, args, kwargs)
            return _refined(spec, _lyr.call, args, kwargs)

        shim._graphir_trace_shim = True  # type: ignore[attr-defined]
        lyr.compute_output_spec = shim
        if isinstance(lyr, keras.layers.ReversibleEmbedding) and lyr.mask_zero and \
                type(lyr).call is keras.layers.ReversibleEmbedding.call:
            lyr.compute_mask = _reversible_embedding_mask


def _spec_older_than_call(cls: type) -> bool:
    """True when ``cls`` overrides ``call`` below the class that wrote its shape
    inference (``compute_output_spec`` or ``compute_output_shape``, other than Keras'
    generic ``Layer`` / ``Operation`` ones, which run ``call`` itself): that inference
    describes another call.  keras_hub's ``ESMRotaryEmbedding.call(q, k)`` returns two
    tensors where the inherited ``RotaryEmbedding.compute_output_shape`` gives one, so
    unpacking the symbolic result failed; XLNet's ``TwoStreamRelativeAttention`` takes
    keywords ``MultiHeadAttention.compute_output_spec`` does not.  Such a sublayer's
    spec is taken from its call (:func:`_symbolic_spec`) while tracing."""
    generic = (keras.layers.Layer, keras.Operation)
    owners = [_definer(cls, name) for name in ("compute_output_spec", "compute_output_shape")]
    owners = [c for c in owners if c is not None and c not in generic]
    call_owner = _definer(cls, "call")
    return bool(owners) and call_owner is not None and all(
        call_owner is not c and issubclass(call_owner, c) for c in owners)


_MHA_SPEC = keras.layers.MultiHeadAttention.compute_output_spec


def _symbolic_spec(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The output spec of a sublayer whose Keras shape inference failed, from its
    ``call`` run on the symbolic tensors themselves (with the trace's patches: sizes
    unknown while tracing are stand-ins), or None when that fails too or the layer is
    not one the walker traces.  Keras infers a custom layer's outputs by running its
    ``call`` on TensorFlow placeholders, where ``ops.shape`` of an unknown size is a
    tensor; Keras 3.15's ``ops.tile`` iterates its repeats, so keras.io's causal masks
    (``ops.tile(mask, ops.concatenate([ops.expand_dims(batch, -1), ...]))``) fail there
    though every eager run works.  The layer is traced later on its own node anyway;
    this call only gives the specs (its sublayers' call records are restored with the
    traced model's)."""
    if not is_traced(layer, from_file=False) or isinstance(layer, keras.layers.Lambda):
        return None
    try:
        result = layer.call(*args, **kwargs)
    except TRACE_ERRORS:
        return None
    flat = keras.tree.flatten(result)
    if not any(isinstance(t, keras.KerasTensor) for t in flat) or \
            not all(t is None or isinstance(t, keras.KerasTensor) for t in flat):
        return None   # a None output stays None (XLNet's query stream when not given)
    return keras.tree.map_structure(
        lambda t: t if t is None else keras.KerasTensor(t.shape, dtype=t.dtype,
                                                        sparse=t.sparse), result)


def _attention_scores_spec(layer: Any, spec: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """``MultiHeadAttention.compute_output_spec`` with ``return_attention_scores``: Keras
    3.15 gives the scores the shape ``(batch, heads, Tq, Tq)``, the query's length twice
    (keras/src/layers/attention/multi_head_attention.py), where its ``call`` returns
    ``(batch, heads, Tq, Tk)``, Tk the key's (else the value's) length.  For the default
    attention axes (rank-3 query and key) the scores' last size is Tk here; other specs
    are returned as they are."""
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and layer._attention_axes
            in (None, (1,), [1])):
        return spec
    names = ("query", "value", "key")
    bound = dict(zip(names, args)) | {k: v for k, v in kwargs.items() if k in names}
    query, key = bound.get("query"), bound.get("key")
    key = bound.get("value") if key is None else key
    scores = spec[1]
    if not (isinstance(query, keras.KerasTensor) and isinstance(key, keras.KerasTensor)
            and len(query.shape) == 3 and len(key.shape) == 3 and len(scores.shape) == 4):
        return spec
    fixed = keras.KerasTensor((*scores.shape[:3], key.shape[1]), dtype=scores.dtype)
    return type(spec)((spec[0], fixed))


def _reversible_embedding_mask(inputs: Any, mask: Any = None) -> Any:
    """The Keras mask ``ReversibleEmbedding(mask_zero=True)`` attaches to its output in
    ``call`` (``not_equal(ids, 0)``, keras/src/layers/core/reversible_embedding.py),
    while its ``compute_mask`` returns None, so that Keras' symbolic calls see no mask
    where every run has one: during a trace it is the layer's ``compute_mask`` (an
    instance attribute), for integer ids (the forward call; ``reverse=True`` reads float
    states and sets none), so that a traced call reading ``get_keras_mask`` of its output
    (keras_hub's ``TokenAndPositionEmbedding``) sees what it sees at run time."""
    dtype = keras.backend.standardize_dtype(getattr(inputs, "dtype", "float32"))
    if "int" not in dtype:
        return None
    return keras.ops.not_equal(inputs, 0)


_reversible_embedding_mask._graphir_trace_shim = True  # type: ignore[attr-defined]


def _is_mask(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(_is_mask(v) for v in value)
    return True


@contextlib.contextmanager
def _random_draws() -> Iterator[list[str]]:
    """Record, while the block runs, every draw of a ``keras.random.SeedGenerator``
    (the layer's own, or the global one that ``seed=None`` uses): each appends the
    generator's name to the yielded list.

    A ``keras.random`` call in a traced ``call()`` on static shapes runs eagerly and
    would reach the graph as a constant: one frozen sample where Keras draws anew on
    every call.  A draw from an integer seed is stateless (the same numbers on every
    call, so the constant is exact) and draws from no generator."""
    from keras.src.random.seed_generator import SeedGenerator

    draws: list[str] = []
    original = SeedGenerator.next

    def next_(self: Any, *args: Any, **kwargs: Any) -> Any:
        draws.append(getattr(self, "name", "seed_generator"))
        return original(self, *args, **kwargs)

    SeedGenerator.next = next_
    try:
        yield draws
    finally:
        SeedGenerator.next = original


def _run(layer: Any, args: Sequence[Any], kwargs: dict[str, Any], inputs: list[Any],
         expected: Sequence[Any] | None, refuse: Callable[[str], NoReturn]) -> list[Any]:
    """Call ``layer.call`` on symbolic arguments; check and flatten what it returns.
    A call that draws random numbers from a seed generator (sampling at inference,
    e.g. a VAE's ``Sampling`` layer) is refused: graphir would freeze one sample."""
    try:
        with _random_draws() as draws, tf_equivalents(), _none_outputs_recorded(), \
                _variables_defer_to_symbolic(), _arrays_defer_to_symbolic(), \
                _einsum_subscripts(), _losses_ignored(), _fft_of_unknown_sizes(), \
                _cond_as_select(), dynamic_dims():
            result = _traceable_call(layer)(*args, **kwargs)
    except TRACE_ERRORS as e:
        if draws:  # the draw came first (a sample shaped by a size unknown while tracing)
            refuse(f"its call() draws random numbers at inference (keras.random with the "
                   f"seed generator {draws[0]!r}); a converted model would repeat one "
                   f"frozen sample")
        unknown = [i for i, t in enumerate(inputs) if any(d is None for d in t.shape)]
        hint = ("; its inputs have unknown dimensions (None), which a call reading "
                "ops.shape() cannot use: give the model's inputs static sizes "
                "(from_keras(..., input_shapes={name: shape}), the CLI's --input-shape)"
                if unknown and "None" in str(e) else "")
        refuse(f"tracing its call() on symbolic tensors failed: {one_line(e)}{hint}")
    if draws:
        refuse(f"its call() draws random numbers at inference (keras.random with the seed "
               f"generator {draws[0]!r}); a converted model would repeat one frozen sample")
    outputs = keras.tree.flatten(result)
    if expected is not None:  # a layer's None outputs are no tensors (as Keras recorded)
        tensors = [t for t in outputs if t is not None]
        # ... unless Keras recorded a tensor where the call returns None (keras_hub
        # XLNet's encoder layer reports a query stream it returns as None when not
        # given one): kept in place, a tensor that is None at run time
        outputs = outputs if len(outputs) == len(expected) != len(tensors) and tensors \
            else tensors
    for i, t in enumerate(outputs):
        if t is None:
            continue
        if not isinstance(t, (keras.KerasTensor, keras.Variable)) and \
                not _is_concrete_tensor(t):
            refuse(f"its traced call() returns a {type(t).__name__} as output {i}, not a "
                   f"tensor")
    if not any(isinstance(t, keras.KerasTensor) for t in outputs) and expected is None:
        refuse("its traced call() computes no output from its inputs")
    if expected is not None and len(outputs) != len(expected):
        # the outputs' types may differ from Keras' record: the call is what runs (a
        # wrong compute_output_shape, such as keras_hub SigLIP's class token that its
        # embedding never adds, misleads only the record; the walker types the readers
        # by the computation, lower.py's ``retyped``)
        refuse(f"its traced call() returns {len(outputs)} tensors where Keras recorded "
               f"{len(expected)}")
    known = {id(t) for t in inputs}
    try:
        order = call_order([t for t in outputs if isinstance(t, keras.KerasTensor)], known)
    except AttributeError as e:  # a KerasTensor without a Keras history
        refuse(f"its traced call() returns a tensor Keras did not record ({one_line(e)})")
    for knode in order:
        if isinstance(knode.operation, keras.layers.InputLayer):
            refuse("its traced call() reads a symbolic tensor that is not one of its "
                   f"inputs ({knode.operation.name!r}, captured from outside the call)")
    return outputs


def call_parameters(layer: Any) -> dict[str, inspect.Parameter]:
    """The parameters of ``layer.call`` (bound: no ``self``), by name."""
    return dict(inspect.signature(layer.call).parameters)


def _fill_masks(layer: Any, params: Mapping[str, Any], args: Sequence[Any],
                kwargs: dict[str, Any]) -> None:
    """Fill ``kwargs`` with the masks ``Layer.__call__`` passes a call that was not given
    them (keras/src/layers/layer.py, step 6), since the trace calls ``call`` directly:
    with one tensor argument (a tensor, or a list / dict of tensors such as
    ``Attention``'s ``[query, value]``), ``mask=`` its tensors' Keras masks in its
    structure; with several, ``{name}_mask=`` for each argument ``name`` whose
    parameter exists.  Only masks some tensor carries are filled."""
    try:
        bound = inspect.signature(layer.call).bind_partial(*args, **kwargs).arguments
    except TypeError:
        return
    tensor_args = {}
    for name, value in bound.items():
        leaves = keras.tree.flatten(value)
        if name != "mask" and leaves and all(v is None or isinstance(v, keras.KerasTensor)
                                             for v in leaves) and \
                any(isinstance(v, keras.KerasTensor) for v in leaves):
            tensor_args[name] = value
    targets = {"mask": next(iter(tensor_args.values()))} if len(tensor_args) == 1 else \
        {f"{name}_mask": value for name, value in tensor_args.items()}
    for key, value in targets.items():
        if key not in params or bound.get(key) is not None:
            continue
        masks = keras.tree.map_structure(lambda t: getattr(t, "_keras_mask", None), value)
        if any(m is not None for m in keras.tree.flatten(masks)):
            kwargs[key] = masks


@contextlib.contextmanager
def traced_call(layer: Any, knode: Any, tensor_types: Sequence[TensorType],
                refuse: Callable[[str], NoReturn],
                mask_types: Sequence[TensorType] = ()) -> Iterator[TracedCall]:
    """Trace one recorded call (``knode``, a Keras ``Node``) of ``layer``.

    Args:
        layer: the layer (``is_traced`` is true for it).
        knode: the Keras node of the call: its arguments (tensors and constants) and outputs.
        tensor_types: the IR types of ``knode.arguments.keras_tensors``, in order (the
            fresh inputs get these shapes, batch ``None``, and dtypes); None for a
            tensor that is None at run time (an earlier traced call's output Keras
            recorded but the call returns as None): the call gets None there, and it
            is no input of the trace.
        mask_types: the IR types of :func:`carried_call_masks`' masks (the Keras masks
            those tensors carry that are not among them), which become further inputs,
            after them; each tensor's fresh twin carries its mask's twin.
        refuse: raises the walker's refusal for ``layer`` with a detail.

    Yields:
        The :class:`TracedCall`; on exit the nodes the trace recorded on ``layer``'s
        sublayers are removed.
    """
    args, kwargs = knode.arguments.args, dict(knode.arguments.kwargs)
    params = call_parameters(layer)
    training = kwargs.pop("training", None)
    if training not in (None, False):
        refuse(f"called with training={training!r}")
    if _is_mask(kwargs.get("mask")) and not all(
            isinstance(m, (keras.KerasTensor, np.ndarray)) or _is_concrete_tensor(m)
            for m in keras.tree.flatten(kwargs["mask"]) if m is not None):
        refuse("called with a mask that is not a tensor or a constant array")
    fresh: dict[int, Any] = {}
    for t, ttype in zip(knode.arguments.keras_tensors, tensor_types):
        if id(t) not in fresh:
            fresh[id(t)] = None if ttype is None else _fresh_input(ttype, len(fresh))
    inputs = [fresh[id(t)] for t in knode.arguments.keras_tensors
              if fresh[id(t)] is not None]
    # a tensor carrying a Keras mask carries it into the call too (sublayers such as
    # MultiHeadAttention read it there): its fresh twin carries the fresh twin of the
    # mask, an extra input after the call's own tensors when the call was not given it
    extras = carried_call_masks(knode)
    if len(mask_types) != len(extras):
        raise ValueError(f"{len(extras)} carried masks, {len(mask_types)} types given")
    for mask, mtype in zip(extras, mask_types):
        fresh[id(mask)] = _fresh_input(mtype, len(fresh))
        inputs.append(fresh[id(mask)])
    for t in knode.arguments.keras_tensors:
        mask = getattr(t, "_keras_mask", None)
        if mask is not None and fresh[id(t)] is not None:
            fresh[id(t)]._keras_mask = fresh[id(mask)]
    args, kwargs = keras.tree.map_structure(
        lambda v: fresh[id(v)] if isinstance(v, keras.KerasTensor) else v, (args, kwargs))
    _fill_masks(layer, params, args, kwargs)
    if "training" in params:
        kwargs["training"] = False
    saved = _snapshot(layer)
    try:
        _spec_shims(layer)
        outputs = _run(layer, args, kwargs, inputs, knode.outputs, refuse)
        yield TracedCall(layer.name, inputs, outputs)
    finally:
        _restore(saved)


@contextlib.contextmanager
def traced_model(model: Any, refuse: Callable[[str], NoReturn],
                 input_shapes: Mapping[str, Sequence[int | None]] | None = None,
                 input_dtypes: Mapping[str, str] | None = None,
                 free_inputs: Sequence[str] = ()) -> Iterator[TracedCall]:
    """Trace a ``keras.Model`` subclass with its own ``call`` lowered as the whole graph.

    Its inputs come from the model's ``inputs`` when it has them (a functional subclass
    overriding ``call``), else from the shapes Keras recorded when it was built or first
    called (``_build_shapes_dict``, one entry per argument, in call order), with
    axis 0 as the batch axis (``None``) and the model's compute dtype (Keras records
    shapes, not dtypes; ``input_dtypes``, input name -> dtype, overrides it: the walker
    passes int32 for inputs it found used only as indices).  An argument recorded as a
    list, tuple or dict of shapes (``call(self, inputs)`` with ``[features, tokens]``)
    is traced as that structure of inputs.  The inputs are named after ``call``'s
    parameters: ``{param}`` for a tensor, ``{param}_{i}`` for the i-th entry of a list
    or tuple, the key for a dict entry.  An ``input_shapes`` entry (input name -> shape)
    gives the sizes the inputs are traced with (the walker checks the entries against
    the inputs): for a functional subclass a ``None`` keeps the model's own dim; for a
    subclassed model, whose recorded sizes are only those of its first call, the entry
    is the shape, a ``None`` an unknown size (like tf2onnx's ``input_signature``); the inputs named in ``free_inputs`` get
    unknown sizes on every non-batch axis instead (the walker's token-id inputs).  For a
    model Keras never built (its first call was eager and Keras' symbolic build of it
    failed, so no shapes were recorded), entries naming ``call``'s parameters give the
    inputs, in parameter order.

    Raises (through ``refuse``): the model was never built and ``input_shapes`` names
    none of ``call``'s parameters; a recorded input is neither a shape nor a list, tuple
    or dict of them; tracing fails as in :func:`traced_call`.
    """
    params = [p for p in call_parameters(model).values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fixed = dict(input_shapes or {})

    def batch_shape(name: str, shape: Sequence[int | None]) -> tuple[int | None, ...]:
        want = fixed.get(name)
        if want is None or len(want) != len(shape):
            return tuple(shape)
        return tuple(w if d is None else d for d, w in zip(shape, want))

    if isinstance(model, Functional):
        args: list[Any] = [keras.tree.map_structure(
            lambda t: keras.Input(batch_shape=batch_shape(t._keras_history.operation.name,
                                                          t.shape),
                                  dtype=t.dtype, name=t._keras_history.operation.name),
            model._inputs_struct)]
        inputs = keras.tree.flatten(args)
    else:
        shapes = getattr(model, "_build_shapes_dict", None)
        if not shapes:  # never built (an eager first call whose symbolic build failed)
            named = [p.name for p in params if p.name in fixed]
            if not named:
                refuse("a subclassed model whose input shapes are unknown: call it on data, "
                       "build it (model.build(input_shape)) or give its inputs' shapes "
                       "(input_shapes={call parameter: shape}) before lowering it")
            shapes = {name: tuple(fixed[name]) for name in named}
        dtype = model.dtype_policy.compute_dtype
        dtypes = dict(input_dtypes or {})
        used: set[str] = set()

        def placeholder(name: str, shape: Any) -> Any:
            if isinstance(shape, dict):
                return {k: placeholder(str(k) if str(k) not in used else f"{name}_{k}", v)
                        for k, v in shape.items()}
            if _is_shape(shape):
                if not shape:
                    refuse(f"input {name!r} was recorded with shape (), no batch axis")
                used.add(name)
                rest = tuple(shape)[1:]
                if name in free_inputs:
                    rest = (None,) * len(rest)
                want = fixed.get(name)
                if want is not None and len(want) == len(shape):
                    # the sizes of the first call are incidental: the entry decides, a
                    # None making the size unknown (tf2onnx's input_signature)
                    return keras.Input(batch_shape=tuple(want),
                                       dtype=dtypes.get(name, dtype), name=name)
                return keras.Input(batch_shape=(None, *rest),
                                   dtype=dtypes.get(name, dtype), name=name)
            if isinstance(shape, (list, tuple)) and shape:
                return type(shape)(placeholder(f"{name}_{j}", v) for j, v in enumerate(shape))
            refuse(f"a subclassed model built with input {name!r} of shape {shape!r}; only "
                   f"tensors and lists, tuples or dicts of tensors are traced")

        args = [placeholder(params[i].name if i < len(params) else f"input_{i}", shape)
                for i, shape in enumerate(shapes.values())]
        inputs = keras.tree.flatten(args)
    kwargs = {"training": False} if "training" in call_parameters(model) else {}
    saved = _snapshot(model)
    try:
        _spec_shims(model)
        outputs = _run(model, args, kwargs, inputs, None, refuse)
        yield TracedCall(model.name, inputs, outputs, list(model.layers))
    finally:
        _restore(saved)


def _traceable_call(layer: Any) -> Callable[..., Any]:
    """What a trace calls for ``layer``: its ``call``, except for a built-in ``RNN``
    (Keras' generic wrapper of a cell, the converters' refusal for cells they do not
    know, such as a user's cell) with Keras' own ``call``, which runs its steps in a
    TensorFlow ``while_loop``: the trace runs them unrolled (:func:`_unrolled_rnn`); and
    for a Keras preprocessing layer computing with ``self.backend`` (TensorFlow), its
    ``call`` on ``keras.ops`` (:func:`_call_on_keras_ops`)."""
    from keras.src.layers.rnn.rnn import RNN
    from keras.src.utils.backend_utils import DynamicBackend

    if type(layer) is RNN:
        return functools.partial(_unrolled_rnn, layer)
    if isinstance(layer.__dict__.get("backend"), DynamicBackend):
        return functools.partial(_call_on_keras_ops, layer)
    return layer.call


class _KerasOpsBackend:
    """What a Keras preprocessing layer's ``self.backend`` gives while it is traced:
    ``keras.ops`` in place of the TensorFlow backend module (``numpy``, ``math``, ``nn``,
    ``image``, ``linalg``, ``core`` are the ``keras.ops`` namespaces; ``cast``,
    ``convert_to_tensor``, ``shape`` and the other core functions the ``keras.ops``
    ones).  The ``keras.ops`` functions run the same TensorFlow functions at run time;
    on symbolic tensors they record operations the walker lowers (or refuses by
    name), where the TensorFlow functions reject symbolic tensors outright."""

    _backend = "tensorflow"

    def __getattr__(self, name: str) -> Any:
        import importlib

        if name in ("numpy", "math", "nn", "image", "linalg", "core"):
            return importlib.import_module(f"keras.src.ops.{name}")
        return getattr(keras.ops, name)


def _call_on_keras_ops(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """``layer.call`` of a Keras preprocessing layer (a ``DataLayer``: its ``call`` uses
    ``self.backend``, the TensorFlow backend module, so that it also runs inside
    ``tf.data``) with ``self.backend`` reading ``keras.ops`` for the call
    (:class:`_KerasOpsBackend`): ``MelSpectrogram`` then records ``keras.ops.stft``,
    ``tensordot``, ``log10``...; a layer that calls TensorFlow itself (lookup tables,
    string hashing) is refused as before."""
    original = layer.__dict__["backend"]
    object.__setattr__(layer, "backend", _KerasOpsBackend())
    try:
        return layer.call(*args, **kwargs)
    finally:
        object.__setattr__(layer, "backend", original)


def _unrolled_rnn(layer: Any, sequences: Any, initial_state: Any = None, mask: Any = None,
                  training: Any = False) -> Any:
    """Keras' ``RNN.call`` at inference with its steps unrolled, as the TensorFlow
    backend's ``rnn(unroll=True)`` computes them (keras/src/backend/tensorflow/rnn.py):
    the cell is called on ``sequences[:, t]`` and the state list for t = 0 .. T - 1 (T -
    1 .. 0 with ``go_backwards``, the outputs then in that order); with a mask, a masked
    step repeats the previous output (zeros before the first) and keeps the states, and
    ``zero_output_for_mask`` zeroes the masked outputs afterwards; the output is the
    outputs stacked on axis 1 (``return_sequences``) or the last one, followed by the
    final states with ``return_state``.

    Raises:
        TypeError: a stateful RNN, or timesteps unknown while tracing (unrolling needs
            their number); the trace is refused with it.
    """
    if layer.stateful:
        raise TypeError("a stateful RNN keeps its state between calls")
    steps = sequences.shape[1]
    if steps is None:
        raise TypeError("an RNN of this cell is unrolled, which needs a static number of "
                        "timesteps (give the model's inputs static sizes: input_shapes)")
    cell = layer.cell
    if initial_state is None:
        initial_state = layer.get_initial_state(batch_size=keras.ops.shape(sequences)[0])
    states = list(initial_state) if keras.tree.is_nested(initial_state) else [initial_state]
    cell_kwargs = {"training": False} if getattr(cell, "_call_has_training_arg", False) \
        else {}

    def widened(m: Any, like: Any) -> Any:  # the step's mask against a tensor
        for _ in range(len(like.shape) - len(m.shape)):
            m = keras.ops.expand_dims(m, -1)
        return m

    order = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
    outputs: list[Any] = []
    step_masks: list[Any] = []
    for t in order:
        output, new_states = cell(sequences[:, t], states, **cell_kwargs)
        if not keras.tree.is_nested(new_states):
            new_states = [new_states]
        if mask is not None:
            m = keras.ops.cast(mask[:, t], "bool")
            previous = outputs[-1] if outputs else keras.ops.zeros_like(output)
            output = keras.ops.where(widened(m, output), output, previous)
            new_states = keras.tree.map_structure(
                lambda new, old: keras.ops.where(widened(m, new), new, old),
                list(new_states), states)
            step_masks.append(m)
        states = list(new_states)
        outputs.append(output)
    if mask is not None and layer.zero_output_for_mask:
        outputs = [keras.ops.where(widened(m, o), o, keras.ops.zeros_like(o))
                   for m, o in zip(step_masks, outputs)]
    output = keras.ops.stack(outputs, axis=1) if layer.return_sequences else outputs[-1]
    if layer.return_state:
        return (output, *states)
    return output


def _is_shape(value: Any) -> bool:
    """Whether ``value`` is one recorded shape (a list or tuple of ints and Nones), not a
    structure of shapes."""
    return isinstance(value, (list, tuple)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value)


def is_own_call_model(model: Any) -> bool:
    """Whether ``model`` is a ``keras.Model`` subclass with its own ``call`` (traced)."""
    return isinstance(model, keras.Model) and is_traced(model, from_file=False)


def carried_call_masks(knode: Any) -> list[Any]:
    """The Keras masks the tensors of a traced call carry without the call being given
    them (a layer whose ``call`` has no ``mask`` parameter), in argument order, each
    once: the extra inputs of :func:`traced_call`."""
    given = {id(t) for t in knode.arguments.keras_tensors}
    out: list[Any] = []
    for t in knode.arguments.keras_tensors:
        mask = getattr(t, "_keras_mask", None)
        if mask is not None and id(mask) not in given:
            given.add(id(mask))
            out.append(mask)
    return out
