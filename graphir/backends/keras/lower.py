"""Lowering: a Keras 3 functional or Sequential model -> a verified :class:`~graphir.ir.Graph`.

The walk (:mod:`graphir.backends.keras.graph_walk`, on Keras 3's ``_keras_history``
internals) visits the calls by an iterative depth-first search from the model
outputs in order, inputs in call order, so the node order is deterministic and
independent of object ids.  A call is a layer, a nested model (lowered as a name
scope) or a ``keras.ops`` operation (:mod:`.op_converters`); a converter may add
helper nodes before the call's own node (:mod:`.context`).

Naming:

* a node is named after its layer, scoped by the nested models it sits in
  (``"inner_model/conv1"``, :func:`graphir.names.join_scope`); its single output
  value has the same name;
* every real (scoped) layer name is reserved first, so a layer keeps its name and
  only *repeated* calls get generated names (``dense_1`` via
  :meth:`graphir.names.Namespace.unique`); a sub-model called twice gets the scopes
  ``inner`` and ``inner_1``;
* graph inputs are named after their ``InputLayer``; the graph after the model;
* a weight is ``{scope}/{layer}/{variable}`` at its variable's first use, and every
  later use of the same variable reads that one weight (shared layers stay shared).

Types come from the Keras tensors (batch ``None`` -> ``"batch"``, other ``None`` ->
unknown), refined by the op's type rule where Keras left a dimension unknown; a
disagreement between the two is refused rather than emitted.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Any, Iterator, Mapping, Sequence

import attrs
import keras
import numpy as np
from keras.src.layers.merging.base_merge import Merge
from keras.src.models.functional import Functional

from graphir import ops
from graphir.backends.keras import tracing
from graphir.backends.keras.attention_converters import CACHED_MHA
from graphir.backends.keras.context import LayerContext, Operand, _variable_array, layer_refusal
from graphir.backends.keras.graph_walk import call_order, carried_masks, layer_readers
from graphir.backends.keras.loading import load_keras_model
from graphir.backends.keras.registry import (accepted_call_kwargs, converter_for,
                                             keeps_input_dtype, lowering_rule, qualified_name,
                                             supported_layer_classes, supported_operations)
from graphir.diagnostics import Diagnostic, ShapeCheckError
from graphir.dtypes import DType
from graphir.errors import GraphIRError, InputShapeError, UnsupportedLayerError
from graphir.ir import Graph, Node, Value, weight_type
from graphir.names import Namespace, join_scope
from graphir.ops.type_rules import fmt_shape
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

__all__ = ["default_input_dtypes", "default_input_shapes", "from_keras", "load_keras_model",
           "lower_with_diagnostics"]

_NESTED_MODELS = (Functional, keras.Sequential)

#: the ``input_shapes`` a lowering uses when its caller gives none (the CLI's
#: ``--input-shape``, set for one command with :func:`default_input_shapes`)
_DEFAULT_INPUT_SHAPES: contextvars.ContextVar[Mapping[str, Sequence[int | None]] | None] = \
    contextvars.ContextVar("graphir_default_input_shapes", default=None)


#: the ``input_dtypes`` a lowering uses when its caller gives none (the CLI's
#: ``--input-dtype``, set for one command with :func:`default_input_dtypes`)
_DEFAULT_INPUT_DTYPES: contextvars.ContextVar[Mapping[str, str] | None] = \
    contextvars.ContextVar("graphir_default_input_dtypes", default=None)


@contextlib.contextmanager
def default_input_dtypes(dtypes: Mapping[str, str] | None) -> Iterator[None]:
    """Within the block, lowerings that give no ``input_dtypes`` use ``dtypes`` (the
    CLI's ``--input-dtype NAME=DTYPE``), as :func:`default_input_shapes` does for shapes."""
    token = _DEFAULT_INPUT_DTYPES.set(dict(dtypes) if dtypes else None)
    try:
        yield
    finally:
        _DEFAULT_INPUT_DTYPES.reset(token)


@contextlib.contextmanager
def default_input_shapes(shapes: Mapping[str, Sequence[int | None]] | None) -> Iterator[None]:
    """Within the block, :func:`from_keras` and :func:`lower_with_diagnostics` calls that
    give no ``input_shapes`` use ``shapes`` (the CLI's ``--input-shape NAME=D0,D1,...``
    for every model a command lowers; entries naming no input of a model are an
    :class:`~graphir.errors.InputShapeError` when that model is lowered)."""
    token = _DEFAULT_INPUT_SHAPES.set(dict(shapes) if shapes else None)
    try:
        yield
    finally:
        _DEFAULT_INPUT_SHAPES.reset(token)


def from_keras(model_or_path: Any, *, source: str | os.PathLike | None = None,
               input_shapes: Mapping[str, Sequence[int | None]] | None = None,
               input_dtypes: Mapping[str, str] | None = None) -> Graph:
    """Lower a Keras 3 model into a graph that passes :func:`~graphir.verifier.verify_graph`.

    Args:
        model_or_path: a functional or Sequential ``keras.Model``, or the path of a
            ``.keras`` file (loaded with :func:`load_keras_model`).
        source: the file an already loaded model came from, named in errors (when
            ``model_or_path`` is a path, that path is the default).
        input_shapes: input name -> a shape that fixes some of the model's unknown
            dimensions (``None`` keeps one unknown; an int at axis 0 fixes the batch).
            The graph's inputs get these static sizes and every type downstream follows,
            so layers traced from their ``call`` see them too: keras_hub's text layers
            read ``ops.shape(x)`` and are traceable only once the batch and sequence
            sizes are known.  The graph (and its ONNX and Keras emission) then accepts
            inputs of exactly those sizes, like tf2onnx's ``--inputs NAME[2,128]``.
        input_dtypes: input name -> dtype (``"int64"``...) of the graph's input: for a
            subclassed model, whose dtypes Keras does not record (graphir otherwise uses
            the compute dtype, or int32 for inputs it finds used only as indices), the
            dtype it is traced with, like tf2onnx's ``input_signature``; for a functional
            model, the input takes that dtype and is cast to the Input's own, as Keras'
            ``Functional`` casts what it is called on (int64 token ids for a keras_hub
            backbone's int32 ``token_ids``).

    Returns:
        The graph: inputs typed from the model's inputs (float32, int32...; batch
        ``"batch"``), one node per layer call, outputs in model order, weights as
        read-only copies of the Keras variables.

    Raises:
        ModelFileError: the path cannot be loaded.
        UnsupportedLayerError: a layer (or a layer option, a subclassed model, a
            ``keras.ops`` operation) has no exact IR equivalent; ``model_file`` is the
            source file when one is known.
        InputShapeError: an ``input_shapes`` entry names no input, has the wrong rank or
            contradicts a size the model fixes; an ``input_dtypes`` entry names no input
            or no IR dtype.
        ShapeCheckError: the model's layers disagree on shapes or dtypes (e.g. a nested
            model called on a tensor of the wrong shape, which Keras builds and saves
            but fails on at call time); ``.diagnostics`` lists every problem.
        TypeError: ``model_or_path`` is neither a ``keras.Model`` nor a path.
    """
    graph, diagnostics = lower_with_diagnostics(model_or_path, source=source,
                                                input_shapes=input_shapes,
                                                input_dtypes=input_dtypes)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        where = None if source is None and not isinstance(model_or_path, (str, os.PathLike)) \
            else f"file {os.fspath(source or model_or_path)}"
        raise ShapeCheckError(errors, where=where)
    return verify_graph(graph)


def lower_with_diagnostics(model_or_path: Any, *, source: str | os.PathLike | None = None,
                           input_shapes: Mapping[str, Sequence[int | None]] | None = None,
                           input_dtypes: Mapping[str, str] | None = None
                           ) -> tuple[Graph, list[Diagnostic]]:
    """Lower like :func:`from_keras` but report shape/dtype disagreements instead of raising.

    Returns:
        ``(graph, diagnostics)``.  When ``diagnostics`` has errors, the graph's
        structure is valid (``verify_graph(graph, types=False)``) but its declared
        types are Keras' and disagree with the type rules where the errors say:
        good for ``graphir check``, not for emission.

    Raises:
        ModelFileError, UnsupportedLayerError, InputShapeError, TypeError: as
            :func:`from_keras`.
    """
    model_file = None if source is None else os.fspath(source)
    if input_shapes is None:
        input_shapes = _DEFAULT_INPUT_SHAPES.get()
    if input_dtypes is None:
        input_dtypes = _DEFAULT_INPUT_DTYPES.get()
    for name, dtype in (input_dtypes or {}).items():
        try:
            DType.from_any(dtype)
        except (TypeError, ValueError):
            raise InputShapeError(f"input_dtypes[{name!r}] = {dtype!r} is not a dtype of the "
                                  f"IR") from None
    if isinstance(model_or_path, (str, os.PathLike)):
        path = os.fspath(model_or_path)
        lowering = _Lowering(load_keras_model(path), model_file=model_file or path,
                             from_file=True, input_shapes=input_shapes,
                             input_dtypes=input_dtypes, given_dtypes=True)
    elif isinstance(model_or_path, keras.Model):
        lowering = _Lowering(model_or_path, model_file=model_file, input_shapes=input_shapes,
                             input_dtypes=input_dtypes, given_dtypes=True)
    else:
        raise TypeError(f"from_keras expects a keras.Model or a .keras path, "
                        f"got {type(model_or_path).__name__}")
    graph = lowering.run()
    return graph, lowering.diagnostics


def _index_only_inputs(graph: Graph, inputs: Sequence[Any]) -> list[str]:
    """The float inputs of a traced subclassed model that hold indices: every node
    reading one reads it as an index (an op's ``index_inputs``: ``embedding``,
    ``gather``, ...), casts it to an integer dtype, compares it with integer constants (a
    ``mask_zero`` mask) or reads only its shape (``ones_like``, and the rulers of sizes
    unknown while tracing: :func:`_shape_only`), at least one node reads
    it as an index, and it is no output.  Keras
    records shapes, not dtypes, for such a model, so it was traced in its compute dtype;
    an input whose float values the model only ever truncates to ints is a token-id
    input, given int32 (Keras' ``Embedding`` index dtype) in a second lowering."""
    names = {t._keras_history.operation.name for t in inputs}
    candidates = {v.name for v in graph.inputs if v.name in names and v.type.dtype.is_float}
    candidates -= set(graph.outputs)
    readers = graph.consumers()
    uses: dict[str, int] = {}
    for node in graph.nodes:
        schema = ops.get_schema(node.op)
        for k, name in enumerate(node.inputs):
            if name not in candidates:
                continue
            as_index = (schema is not None and k in schema.index_inputs) or (
                node.op == "cast" and not DType(node.attrs["to"]).is_float
                and DType(node.attrs["to"]) is not DType.BOOL)
            if as_index:
                uses[name] = uses.get(name, 0) + 1
            elif not (_shape_only(node, k, readers, set(graph.outputs))
                      or _compares_with_ints(graph, node, name)):
                candidates.discard(name)
    return sorted(n for n in candidates if uses.get(n))


#: ops that move or select elements without computing with them
_SELECTING = ("gather", "slice", "array_reshape", "reshape", "squeeze", "expand_dims",
              "transpose")


def _shape_only(node: Node, k: int, readers: Mapping[str, list], outputs: set[str],
                depth: int = 16) -> bool:
    """Whether ``node`` reads its input ``k`` only for its shape: a ``full_like``, or an
    op selecting elements of it (input 0 of a gather or slice, a reshape...) whose
    result is read only that way in turn (the rulers of sizes unknown while tracing,
    ``ones_like(take(x, 0, axis))``), never a graph output."""
    if node.op == "full_like":
        return True
    if depth == 0 or node.op not in _SELECTING or k != 0:
        return False
    out = node.outputs[0].name
    return out not in outputs and all(_shape_only(reader, j, readers, outputs, depth - 1)
                                      for reader, j in readers.get(out, []))


_COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")


def _compares_with_ints(graph: Graph, node: Node, name: str) -> bool:
    """Whether ``node`` compares value ``name`` with a constant of integer values
    (``Embedding(mask_zero=True)``'s ``not_equal(ids, 0)``): the same for ids held as
    ints or as the floats they were traced as."""
    if node.op not in _COMPARISONS or len(node.inputs) != 2:
        return False
    other = node.inputs[1] if node.inputs[0] == name else node.inputs[0]
    value = graph.weights.get(other)
    return value is not None and bool(np.all(np.asarray(value) == np.round(value)))


def keras_tensor_type(tensor: Any) -> TensorType:
    """The IR type of a ``KerasTensor``: batch axis ``None`` -> ``"batch"``.

    Raises:
        ValueError: its dtype has no IR equivalent (e.g. ``bfloat16``, ``string``).
    """
    shape = list(tensor.shape)
    if shape and shape[0] is None:
        shape[0] = "batch"
    return TensorType(DType.from_any(tensor.dtype), tuple(shape))


def specialize(vtype: TensorType, shape: Sequence[int | None], name: str,
               model_file: str | None = None) -> TensorType:
    """``vtype`` with its unknown dims fixed to ``shape``'s ints (``None`` keeps a dim).

    Raises:
        InputShapeError: ``shape`` has another rank than ``vtype``, a size that is not a
            positive int, or an int where ``vtype`` already has a different static size.
    """
    where = f"file {model_file}" if model_file else None
    shape = tuple(shape)
    if len(shape) != vtype.rank:
        raise InputShapeError(f"input {name!r} has rank {vtype.rank} "
                              f"{fmt_shape(vtype.shape)}; the shape given, "
                              f"{list(shape)}, has rank {len(shape)}", where=where)
    dims = []
    for axis, (have, want) in enumerate(zip(vtype.shape, shape)):
        if want is None:
            dims.append(have)
            continue
        if isinstance(want, bool) or not isinstance(want, (int, np.integer)) or want < 1:
            raise InputShapeError(f"input {name!r}: size {want!r} at axis {axis} is not a "
                                  f"positive int", where=where)
        if isinstance(have, int) and have != want:
            raise InputShapeError(f"input {name!r}: axis {axis} is {have} in the model, "
                                  f"not {want}", where=where)
        dims.append(int(want))
    return TensorType(vtype.dtype, tuple(dims))


def _keras_call_traced(op: Any, knode: Any) -> bool:
    """Whether a built-in attention layer with a converter is lowered by tracing Keras'
    own ``call`` instead, for call options its converter does not take: a
    ``MultiHeadAttention``, ``Attention`` or ``AdditiveAttention`` called with
    ``return_attention_scores=True`` (the converters give one output; the trace's
    projections, scores, softmax and output become nodes, the scores one of the
    outputs), and an ``Attention`` / ``AdditiveAttention`` with masks, given or carried
    by its tensors (Keras 3.15 records no ``mask`` for its symbolic call; the trace
    fills it as ``Layer.__call__`` does, and ``_apply_scores`` / the query-mask product
    become nodes)."""
    kwargs = knode.arguments.kwargs
    if type(op) is keras.layers.MultiHeadAttention:
        return bool(kwargs.get("return_attention_scores")) and len(knode.outputs) == 2
    if type(op) not in (keras.layers.Attention, keras.layers.AdditiveAttention):
        return False
    mask = kwargs.get("mask")
    return bool(kwargs.get("return_attention_scores")) or any(
        m is not None for m in keras.tree.flatten(mask)) or any(
        getattr(t, "_keras_mask", None) is not None for t in knode.arguments.keras_tensors)


#: built-in merge layers whose values do not depend on their inputs' Keras masks
#: (``Multiply`` does: a masked step is 1 in the product, keras/src/layers/merging/multiply.py)
_MASK_FREE_MERGES = (keras.layers.Add, keras.layers.Subtract, keras.layers.Average,
                     keras.layers.Concatenate, keras.layers.Dot)


class _Lowering:
    """One lowering run: the namespace, the weights and the nodes built so far."""

    def __init__(self, model: Any, *, model_file: str | None, from_file: bool = False,
                 input_shapes: Mapping[str, Sequence[int | None]] | None = None,
                 input_dtypes: Mapping[str, str] | None = None,
                 free_inputs: Sequence[str] = (), given_dtypes: bool = False):
        self.model = model
        self.model_file = model_file
        self.from_file = from_file
        self.input_shapes = dict(input_shapes or {})
        # a traced subclassed model's input dtypes found by a first lowering (Keras
        # records no dtypes for them): input name -> dtype
        self.input_dtypes = {k: DType.from_any(v).value for k, v in (input_dtypes or {}).items()}
        # the user gave input_dtypes (checked against the inputs), not the token-id pass
        self.given_dtypes = given_dtypes and bool(self.input_dtypes)
        # the inputs of a traced subclassed model whose recorded non-batch sizes are
        # left unknown (token ids: the model reads any sequence length)
        self.free_inputs = tuple(free_inputs)
        # Keras masks that exist only at run time (a traced call attaches them, keras_hub's
        # TokenAndPositionEmbedding(mask_zero=True)), set on the recorded tensors while
        # the walk runs: id(tensor) -> (tensor, the _keras_mask it had before)
        self.runtime_masks: dict[int, tuple[Any, Any]] = {}
        #: what the last :meth:`lower_model` left on its outputs: id(output) -> (its
        #: run-time mask, the mask's value name)
        self.output_runtime_masks: dict[int, tuple[Any, str]] = {}
        # scope -> the layer traced there (its variables are named below it); scopes of
        # traced graphs name their keras.ops nodes canonically (tracing.canonical_op_name)
        self.trace_owner: dict[str, Any] = {}
        self.ns = Namespace()
        self.real: set[str] = set()
        self.claimed: set[str] = set()
        self.nodes: list[Node] = []
        self.types: dict[str, TensorType] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.weight_names: dict[Any, str] = {}
        self.key_owners: list[Any] = []  # the objects whose ids weight_names' keys hold
        self.diagnostics: list[Diagnostic] = []
        # values downstream of a reported shape error: later rule failures they cause
        # are consequences, not new problems, and are not reported again
        self.tainted: set[str] = set()
        # values whose IR type (what the computation gives) differs from the type Keras
        # recorded for their tensor: a traced layer whose compute_output_shape is wrong
        # (keras_hub's SigLIP vision embedding reports a class token it does not add).
        # Their readers are typed by Keras' shape inference redone on the computed types
        # (:meth:`recomputed_specs`) and the op rules (:meth:`output_type`)
        self.retyped: set[str] = set()
        self.producer_of: dict[str, str] = {}

    # ------------------------------------------------------------------ helpers

    def refuse(self, layer: Any, detail: str = "") -> UnsupportedLayerError:
        """The error to raise for ``layer`` (names the model file when there is one)."""
        return UnsupportedLayerError(type(layer).__name__, getattr(layer, "name", "?"),
                                     model_file=self.model_file, detail=detail)

    def claim(self, candidate: str) -> str:
        """A layer's real name at its first claim, else a fresh unique name."""
        if candidate in self.real and candidate not in self.claimed:
            self.claimed.add(candidate)
            return candidate
        return self.ns.unique(candidate)

    def reserve(self, model: Any, scope: str) -> None:
        """Reserve the scoped names of every layer of ``model``, nested models included."""
        for layer in model.layers:
            name = join_scope(scope, layer.name)
            self.real.add(name)
            self.ns.reserve(name)
            if isinstance(layer, _NESTED_MODELS):
                self.reserve(layer, name)

    def weight_fn(self, scope: str, layer: Any):
        """The weight registry a converter of ``layer`` in ``scope`` uses (see LayerContext)."""
        def register(key: Any, var_name: str, array: np.ndarray) -> str:
            if key not in self.weight_names:
                name = self.ns.unique(join_scope(scope, layer.name, var_name))
                self.weight_names[key] = name
                self.weights[name] = array
                # keys hold id(layer): the layer (a traced call's operation, dropped when
                # the trace ends) must outlive the walk, or a later operation could reuse
                # its id and read this weight
                self.key_owners.append(layer)
            return self.weight_names[key]
        return register

    # ------------------------------------------------------------------ the walk

    def run(self) -> Graph:
        """Reserve names, type the inputs, walk the model, return the verified graph
        (a subclassed model with its own ``call`` is traced first, :mod:`.tracing`)."""
        try:
            if tracing.is_own_call_model(self.model):
                with tracing.traced_model(self.model, lambda d: self.fail(self.model, d),
                                          self.input_shapes, self.input_dtypes,
                                          self.free_inputs) as traced:
                    self.trace_owner[""] = self.model
                    graph = self.run_graph(traced)
                token_ids = [] if self.input_dtypes or self.diagnostics else \
                    _index_only_inputs(graph, traced.inputs)
                return self.with_token_ids(token_ids) if token_ids else graph
            _check_graph_model(self.model, self)
            return self.run_graph(self.model)
        finally:  # the user's model is left as it was
            for tensor, mask in self.runtime_masks.values():
                tensor._keras_mask = mask
            self.runtime_masks.clear()

    def with_token_ids(self, token_ids: Sequence[str]) -> Graph:
        """The traced subclassed model lowered again with ``token_ids`` (inputs found to
        hold indices) int32, and, unless ``input_shapes`` fixed their sizes, with their
        recorded non-batch sizes unknown: Keras records the sizes of the first call, and
        a text model reads any sequence length (the walk is exact for unknown sizes or
        refuses); when that lowering is refused or has shape errors, the recorded sizes
        are kept."""
        dtypes = {name: "int32" for name in token_ids}
        options = dict(model_file=self.model_file, from_file=self.from_file,
                       input_shapes=self.input_shapes, input_dtypes=dtypes)
        if not any(name in self.input_shapes for name in token_ids):
            attempt = _Lowering(self.model, free_inputs=token_ids, **options)
            try:
                graph = attempt.run()
            except GraphIRError:
                graph = None
            if graph is not None and not attempt.diagnostics:
                return graph
        again = _Lowering(self.model, **options)
        graph = again.run()
        self.diagnostics = again.diagnostics
        return graph

    def fail(self, layer: Any, detail: str):
        """Raise :meth:`refuse` (a ``NoReturn`` callable for :mod:`.tracing`)."""
        raise self.refuse(layer, detail)

    def variable_fn(self, scope: str):
        """The registry of variables used directly as operation arguments in ``scope``:
        the weight is ``{scope}/{path below the traced layer}``, the Keras path."""
        def register(variable: Any) -> str:
            key = ("variable", id(variable))
            if key not in self.weight_names:
                rel = tracing.relative_variable_path(variable, self.trace_owner.get(scope))
                name = self.ns.unique(join_scope(scope, rel))
                self.weight_names[key] = name
                self.weights[name] = _variable_array(variable)
                self.key_owners.append(variable)
            return self.weight_names[key]
        return register

    def run_graph(self, model: Any) -> Graph:
        """:meth:`run` on a model with a graph (``inputs``, ``outputs``, ``layers``)."""
        for t in model.inputs:
            self.real.add(t._keras_history.operation.name)
            self.ns.reserve(t._keras_history.operation.name)
        self.reserve(model, "")
        names = {t._keras_history.operation.name for t in model.inputs}
        for option, given in (("input_shapes", self.input_shapes),
                              ("input_dtypes", self.input_dtypes if self.given_dtypes else {})):
            unknown = set(given) - names
            if unknown:
                raise InputShapeError(
                    f"{option} names {', '.join(sorted(unknown))}, which "
                    f"{'is' if len(unknown) == 1 else 'are'} not an input of model "
                    f"{model.name!r} (its inputs: "
                    f"{', '.join(t._keras_history.operation.name for t in model.inputs)})",
                    where=self.model_file and f"file {self.model_file}")
        inputs = []
        for t in model.inputs:
            layer = t._keras_history.operation
            try:
                vtype = keras_tensor_type(t)
            except ValueError as e:
                raise self.refuse(layer, str(e)) from None
            if layer.name in self.input_shapes:
                vtype = specialize(vtype, self.input_shapes[layer.name], layer.name,
                                   self.model_file)
            if getattr(t, "sparse", False) or getattr(t, "ragged", False):
                raise self.refuse(layer, "sparse or ragged inputs")
            value = Value(self.claim(layer.name), vtype)
            inputs.append(value)
            self.types[value.name] = vtype
        in_values = [v.name for v in inputs]
        for i, (t, value) in enumerate(zip(model.inputs, inputs)):
            given = self.input_dtypes.get(t._keras_history.operation.name)
            if given is not None and given != value.type.dtype.value:
                # fed as `given`, cast to the Input's dtype as Keras' Functional does
                inputs[i] = Value(value.name, TensorType(DType(given), value.type.shape))
                self.types[value.name] = inputs[i].type
                in_values[i] = self.add_node("cast", self.ns.unique(f"{value.name}_cast"),
                                             value.name, value.type,
                                             {"to": value.type.dtype.value})
        outputs = self.lower_model(model, "", in_values)
        if NONE_AT_RUN_TIME in outputs:
            raise self.refuse(model, f"output {outputs.index(NONE_AT_RUN_TIME)} is None at run "
                                     f"time (a traced call returns None where Keras recorded "
                                     f"a tensor)")
        outputs = self.distinct_outputs(outputs, {v.name for v in inputs})
        outputs, keys = self.keyed_outputs(model, outputs)
        # weights read only by folded nodes (fold_constant) are no longer read
        read = {n for node in self.nodes for n in node.inputs} | set(outputs)
        weights = {k: v for k, v in self.weights.items() if k in read}
        graph = Graph(model.name, inputs, outputs, self.nodes, weights, keys)
        return verify_graph(graph, types=not self.diagnostics)

    def keyed_outputs(self, model: Any, outputs: list[str]) -> tuple[list[str], tuple[str, ...]]:
        """The outputs of a model built with a dict of outputs (``keras.Model(x, {"logits":
        ..., "embedding": ...})``, keras_hub backbones) named by their keys: an
        ``identity`` node named after the key for each output whose value has another
        name (a key another value already has gets a suffix), so the IR's and ONNX's
        output names are the dict's keys, in Keras' order (sorted keys); and the keys
        (:attr:`Graph.output_keys`; ``()`` unless the outputs are a flat dict of tensors)."""
        struct = getattr(model, "_outputs_struct", None)
        if not isinstance(struct, dict):
            return outputs, ()
        keys = {id(t): str(k) for k, t in struct.items() if isinstance(t, keras.KerasTensor)}
        named, order = [], []
        for tensor, value in zip(model.outputs, outputs):
            key = keys.get(id(tensor))
            order.append(key)
            if key is None or key == value:
                named.append(value)
                continue
            named.append(self.add_node("identity", self.ns.unique(key), value,
                                       self.types[value]))
        flat = None not in order and len(set(order)) == len(order) == len(struct)
        return named, tuple(order) if flat else ()

    def add_node(self, op: str, name: str, value: str, out: TensorType,
                 attrs: Mapping[str, Any] | None = None) -> str:
        """Append the one-input node ``name = op(value)`` of type ``out`` (the identities
        and casts the walk adds itself, outside any converter); returns ``name``."""
        self.nodes.append(Node(op, name, (value,), (Value(name, out),), attrs or {}))
        self.types[name] = out
        self.producer_of[name] = name
        return name

    def distinct_outputs(self, outputs: list[str], input_names: set[str]) -> list[str]:
        """Give each graph output its own value: an identity node for an output that is a
        graph input, a weight (an output computed from weights only, folded) or a value
        already returned."""
        seen: set[str] = set()
        result = []
        for name in outputs:
            if name in input_names or name in seen or name in self.weights:
                name = self.add_node("identity", self.ns.unique(f"{name}_identity"), name,
                                     self.types[name])
            seen.add(name)
            result.append(name)
        return result

    def lower_model(self, model: Any, scope: str, in_values: Sequence[str],
                    extra: Sequence[Any] = ()) -> list[str]:
        """Lower the graph of ``model`` (Functional or Sequential) with its inputs bound to
        ``in_values``; return the value names of its outputs, in order, then those of
        ``extra`` (more tensors of its graph: its outputs' Keras masks)."""
        if len(in_values) != len(model.inputs):
            raise self.refuse(model, f"called on {len(in_values)} tensors but has "
                                     f"{len(model.inputs)} inputs")
        env: dict[int, str] = {}
        for t, v in zip(model.inputs, in_values):
            v = self.adjusted_rank(model, scope, t, v)
            if scope:
                v = self.boundary_cast(scope, t, v)
                self.check_boundary(model, scope, t, v)
            env[id(t)] = v
        symbolic = [t for t in list(model.outputs) + list(extra)
                    if isinstance(t, keras.KerasTensor)]
        for knode in call_order(symbolic, set(env), self.traced_call_masks):
            self.lower_call(knode, scope, env)
        # run-time masks this walk attached to the outputs (a nested model inside handed
        # one out), with their values, for a caller that hands them on in turn
        self.output_runtime_masks = {
            id(t): (t._keras_mask, env[id(t._keras_mask)]) for t in model.outputs
            if isinstance(t, keras.KerasTensor) and self.runtime_mask(t) is not None
            and id(t._keras_mask) in env}
        return [env[id(t)] if isinstance(t, keras.KerasTensor) else self.constant_output(scope, t)
                for t in list(model.outputs) + list(extra)]

    def constant_output(self, scope: str, tensor: Any) -> str:
        """A traced call's output that Keras computed eagerly (it depends on no input:
        e.g. keras_hub's ``PositionEmbedding`` once the sequence length is static) as a
        weight ``{scope}/constant``, read by the nodes downstream like any value; a
        variable it returns as it is (keras_hub SAM3's rotary embedding returns its
        precomputed table) as that variable's weight, named by its Keras path."""
        if isinstance(tensor, keras.Variable):
            name = self.variable_fn(scope)(tensor)
            self.types[name] = weight_type(self.weights[name])
            return name
        array = np.array(tensor)
        name = self.ns.unique(join_scope(scope, "constant"))
        self.weights[name] = array
        self.types[name] = weight_type(array)
        return name

    def adjusted_rank(self, model: Any, scope: str, tensor: Any, value: str) -> str:
        """``value`` fitted to the rank of the nested model's Input ``tensor`` as Keras'
        ``Functional._adjust_input_rank`` fits it (keras/src/models/functional.py, Keras
        3.15): one axis more whose size is 1 is squeezed, one axis less is added when the
        Input's last size is 1 (keras_hub's MMDiT takes a ``(batch, 1)`` timestep and is
        called on ``(batch,)``); else ``value`` when the ranks agree.

        Raises:
            UnsupportedLayerError: the ranks differ otherwise (Keras raises too).
        """
        have, want = self.types[value], len(tensor.shape)
        if have.rank == want:
            return value
        if not scope or not (
                (have.rank == want + 1 and have.shape[-1] == 1) or
                (have.rank == want - 1 and tensor.shape[-1] == 1)):
            raise self.refuse(model, f"input {tensor.name!r} has rank {want} but is called on "
                                     f"a tensor of rank {have.rank}")
        label = tensor._keras_history.operation.name
        if have.rank == want + 1:
            name = self.ns.unique(join_scope(scope, f"{label}_squeezed"))
            return self.add_node("squeeze", name, value,
                                 TensorType(have.dtype, have.shape[:-1]), {"axes": (want,)})
        name = self.ns.unique(join_scope(scope, f"{label}_expanded"))
        return self.add_node("expand_dims", name, value,
                             TensorType(have.dtype, have.shape + (1,)), {"axes": (want - 1,)})

    def boundary_cast(self, scope: str, tensor: Any, value: str) -> str:
        """``value`` cast to the dtype of the nested model's Input ``tensor`` when they
        differ: Keras' ``Functional`` converts each input to its Input's dtype
        (``ops.convert_to_tensor(x, dtype=...)``, a ``tf.cast``: a ``Sequential`` built
        without an ``Input`` takes its first layer's compute dtype, float32, and an
        ``Embedding`` in it casts token ids back); else ``value``."""
        want = keras_tensor_type(tensor).dtype
        have = self.types[value]
        if want == have.dtype:
            return value
        name = self.ns.unique(join_scope(scope, f"{tensor._keras_history.operation.name}_cast"))
        return self.add_node("cast", name, value, TensorType(want, have.shape),
                             {"to": want.value})

    def check_boundary(self, model: Any, scope: str, tensor: Any, value: str) -> None:
        """Diagnose a nested model called on a tensor its Input does not accept."""
        expected, actual = keras_tensor_type(tensor), self.types[value]
        if expected.compatible_with(actual):
            return
        readers = sorted({join_scope(scope, op.name) for op in
                          (n.operation for n in getattr(tensor, "_keras_history").operation
                           ._outbound_nodes)})
        axis = next((a for a, (e, g) in enumerate(zip(expected.shape, actual.shape))
                     if isinstance(e, int) and isinstance(g, int) and e != g), None)
        what = (f"dtype {actual.dtype.value} instead of {expected.dtype.value}"
                if expected.dtype != actual.dtype else
                f"{actual.shape[axis]} instead of {expected.shape[axis]} at axis {axis}"
                if axis is not None else "an incompatible shape")
        producer = self.producer_of.get(value)
        hint = (f"give {model.name!r} an input of shape {fmt_shape(actual.shape[1:])}, or map "
                f"{value!r} to {fmt_shape(expected.shape[1:])} before calling {model.name!r}")
        self.diagnostics.append(Diagnostic(
            "error", f"model {model.name!r} (layer {', '.join(readers) or '?'}) expects "
            f"{fmt_shape(expected.shape)} {expected.dtype.value} but is called on "
            f"{fmt_shape(actual.shape)} {actual.dtype.value} from {value!r}: {what}",
            node=readers[0] if readers else scope, op=None, input_index=0, producer=value,
            producer_node=producer, expected=f"{fmt_shape(expected.shape)} {expected.dtype.value}",
            actual=f"{fmt_shape(actual.shape)} {actual.dtype.value}", axis=axis, hint=hint))
        self.tainted.add(value)

    def lower_call(self, knode: Any, scope: str, env: dict[int, str]) -> None:
        """Lower one Keras call (a layer, or a nested model as a scope); bind its outputs
        in ``env`` (KerasTensor id -> IR value name).

        A built-in layer whose converter refuses the call (an option, a mask it does not
        take) is lowered by tracing Keras' own ``call`` instead, when that traces: the
        trace records exactly what Keras computes (``LayerNormalization(rms_scaling=
        True)``, a masked ``Multiply`` or ``TimeDistributed``); otherwise the converter's
        refusal stands."""
        op = knode.operation
        converter = converter_for(op)
        if (converter is None and tracing.is_traced(op, from_file=self.from_file)) \
                or _custom_activation(op) or _keras_call_traced(op, knode) \
                or _masked_nested_model(op, knode):
            self.lower_traced(op, knode, scope, env)
            return
        if any(env.get(id(t)) == NONE_AT_RUN_TIME for t in knode.arguments.keras_tensors):
            raise self.refuse(op, "it reads a tensor that is None at run time (a traced "
                                  "call returns None where Keras recorded a tensor); only "
                                  "traced calls are given None")
        if not _keras_call_traceable(op):
            self.lower_converted(op, knode, scope, env, converter)
            return
        state = self.snapshot()
        try:
            self.lower_converted(op, knode, scope, env, converter)
        except UnsupportedLayerError as refusal:
            if refusal.layer_name != op.name:
                raise
            self.restore(state)
            try:
                self.lower_traced(op, knode, scope, env)
            except UnsupportedLayerError as failed:
                self.restore(state)
                if failed.layer_name != op.name or not failed.detail:
                    raise refusal from None
                raise self.refuse(op, f"{refusal.detail}; tracing Keras' own call instead: "
                                      f"{failed.detail}") from None

    def snapshot(self) -> tuple:
        """What :meth:`lower_converted` may change before it refuses (for the fallback
        to tracing in :meth:`lower_call`)."""
        return (len(self.nodes), self.ns.state(), set(self.claimed),
                dict(self.weights), dict(self.weight_names), len(self.key_owners),
                dict(self.types), set(self.tainted), set(self.retyped), len(self.diagnostics))

    def restore(self, state: tuple) -> None:
        """Undo what happened since :meth:`snapshot` gave ``state``."""
        (n_nodes, names, claimed, weights, weight_names, n_owners, types, tainted,
         retyped, n_diag) = state
        del self.nodes[n_nodes:]
        self.ns.restore(names)
        self.claimed = set(claimed)
        self.weights, self.weight_names = dict(weights), dict(weight_names)
        del self.key_owners[n_owners:]
        self.types, self.tainted, self.retyped = dict(types), set(tainted), set(retyped)
        del self.diagnostics[n_diag:]

    def lower_converted(self, op: Any, knode: Any, scope: str, env: dict[int, str],
                        converter: Any) -> None:
        """:meth:`lower_call` for a layer lowered by its converter (or a nested model)."""
        self.check_call(op, knode)
        self.check_implicit_masks(op, knode)
        in_values = [env[id(t)] for t in knode.arguments.keras_tensors]
        if isinstance(op, _NESTED_MODELS):
            _check_graph_model(op, self)
            if any(self.runtime_mask(t) is not None for t in knode.arguments.keras_tensors):
                raise self.refuse(op, "a nested model called on a tensor whose Keras mask "
                                      "exists only at run time (attached in a traced call, "
                                      "or carried out of a nested model); the masked layers "
                                      "inside would read it")
            if any(isinstance(a, dict) for a in knode.arguments.args):
                in_values = [env[id(t)] for t in self.dict_call_inputs(op, knode)]
            # an output whose inner tensor carries a Keras mask carries it at run time
            # (eager tensors keep their masks out of the nested model), though Keras
            # records none on the call's symbolic output (keras.io's translation
            # encoder, whose masked output the decoder's attention reads)
            leaving = [(o, getattr(t, "_keras_mask", None))
                       for o, t in zip(knode.outputs, op.outputs)
                       if isinstance(getattr(t, "_keras_mask", None), keras.KerasTensor)
                       and getattr(o, "_keras_mask", None) is None]
            outs = self.lower_model(op, self.claim(join_scope(scope, op.name)), in_values,
                                    [m for _, m in leaving])
            handed_on = self.output_runtime_masks
            for t, v in zip(knode.outputs, outs):
                env[id(t)] = v
            for (o, m), v in zip(leaving, outs[len(knode.outputs):]):
                env[id(m)] = v
                self.attach_runtime_mask(o, m)
            # ... and so does one whose inner tensor got its mask at run time (a model
            # nested in the nested model handed it out)
            for o, t in zip(knode.outputs, op.outputs):
                if id(t) in handed_on and getattr(o, "_keras_mask", None) is None:
                    m, v = handed_on[id(t)]
                    env[id(m)] = v
                    self.attach_runtime_mask(o, m)
            return
        if converter is None:
            raise self.refuse(op, tracing.untraced_reason(op, from_file=self.from_file)
                              or _why_unknown(op))
        rule = lowering_rule(op)
        if len(knode.outputs) != 1 and not rule.multiple_outputs:
            raise self.refuse(op, f"{len(knode.outputs)} outputs; its converter produces one")
        compute = getattr(op, "compute_dtype", None)
        for v in in_values:
            if self.types[v].dtype.is_float and compute and self.types[v].dtype.value != compute:
                raise self.refuse(op, f"Keras casts its {self.types[v].dtype.value} input to "
                                      f"{compute}; the op set has no cast")
        specs = list(knode.outputs)
        if any(v in self.retyped for v in in_values):
            specs = self.recomputed_specs(op, knode, env)
        try:
            keras_type = keras_tensor_type(specs[0]) if specs else None
        except ValueError as e:
            raise self.refuse(op, str(e)) from None
        base = op.name if scope not in self.trace_owner or isinstance(op, keras.layers.Layer) \
            else tracing.canonical_op_name(op)
        name = self.claim(join_scope(scope, base))

        def operand(v: Any) -> Any:
            # a tensor, or a list/tuple holding tensors (an RNN's initial_state), as Operands
            if isinstance(v, keras.KerasTensor):
                return Operand(env[id(v)], self.types[env[id(v)]])
            if isinstance(v, (list, tuple)) and any(isinstance(a, keras.KerasTensor) for a in v):
                return tuple(operand(a) for a in v)
            return v

        call_kwargs = {k: operand(v) for k, v in knode.arguments.kwargs.items()}
        call_kwargs.update(self.carried_mask_operands(op, knode, env))
        call_kwargs.update(self.filled_mask_kwargs(op, knode, scope, env))
        ctx = LayerContext(op, in_values, [self.types[v] for v in in_values],
                           weight_fn=self.weight_fn(scope, op), model_file=self.model_file,
                           name=name, unique_name=self.ns.unique,
                           call_args=knode.arguments.args, output_type=keras_type,
                           call_kwargs=call_kwargs, variable_fn=self.variable_fn(scope),
                           constant_inputs=frozenset(v for v in in_values if v in self.weights))
        lowered = converter(ctx)
        for helper_name, helper in ctx.helpers:
            self.add_helper(op, helper_name, helper)
        # a converter returns one Lowered per output (several for keras.ops.split: the
        # nodes <name>, <name>_1, ...)
        results = list(lowered) if isinstance(lowered, (list, tuple)) else [lowered]
        if len(results) != len(knode.outputs):
            raise self.refuse(op, f"{len(knode.outputs)} outputs; its converter produces "
                                  f"{len(results)}")
        for i, (result, tensor, spec) in enumerate(zip(results, knode.outputs, specs)):
            node_name = name if i == 0 else self.claim(f"{name}_{i}")
            out_type = self.output_type(op, result, spec, node_name)
            if spec is not tensor and _recorded_differently(keras_tensor_type(tensor), out_type):
                self.retyped.add(node_name)
            folded = None if ctx.helpers else self.fold_constant(result, out_type)
            if folded is not None:
                self.weights[node_name] = folded
                self.types[node_name] = weight_type(folded)
                env[id(tensor)] = node_name
                continue
            self.nodes.append(Node(result.op, node_name, result.inputs,
                                   (Value(node_name, out_type),), result.attrs))
            self.types[node_name] = out_type
            self.producer_of[node_name] = node_name
            if any(v in self.tainted for v in in_values):
                self.tainted.add(node_name)
            env[id(tensor)] = node_name
        if self.runtime_masks:
            self.propagate_runtime_masks(op, knode, scope, env)

    def fold_constant(self, lowered: Any, out_type: TensorType) -> np.ndarray | None:
        """The value of ``lowered`` when every data input it reads is a weight (a constant:
        a traced call's eagerly computed output, or a value folded before), computed by
        the op's reference kernel as the interpreter does (floats in float64, the result
        in the output's dtype); None when it reads a computed value, reads nothing, or its
        type is not static.  keras_hub's DeBERTaV3 attention projects its relative
        embedding table (a constant once the batch size is static) through dropout and
        dense layers: folded, those are weights, which every emitter takes."""
        schema = ops.get_schema(lowered.op)
        data = [n for i, n in enumerate(lowered.inputs) if n and i not in schema.weight_inputs]
        if not data or any(n not in self.weights for n in data) or schema.kernel is None \
                or not all(isinstance(d, int) for d in out_type.shape) \
                or any(n in self.tainted for n in data):
            return None
        args = [None if not n else self.weights[n].astype(np.float64)
                if self.weights[n].dtype.kind == "f" else self.weights[n]
                for n in lowered.inputs]
        array = np.asarray(schema.kernel(args, lowered.attrs))
        if array.shape != tuple(out_type.shape):
            return None
        return np.ascontiguousarray(array.astype(out_type.dtype.to_numpy()))

    def lower_traced(self, op: Any, knode: Any, scope: str, env: dict[int, str]) -> None:
        """Lower a call of a layer without a converter by tracing its ``call``
        (:mod:`.tracing`): the recorded graph is lowered under the layer's scope, and a
        single output is renamed to the scope itself, so ``extract(outputs=[scope])``
        finds the block.  A refusal inside the traced graph is re-raised naming this layer."""
        why = layer_refusal(op)
        if why is not None:
            raise self.refuse(op, why)
        in_values = [env[id(t)] for t in knode.arguments.keras_tensors]
        absent = [v == NONE_AT_RUN_TIME for v in in_values]
        in_values = [v for v in in_values if v != NONE_AT_RUN_TIME]
        if any(isinstance(sub, keras.layers.MultiHeadAttention)
               for sub in op._flatten_layers(include_self=True, recursive=True)):
            self.check_masked_readers(op, knode)
        carried = tracing.carried_call_masks(knode)
        missing = [m for m in carried if id(m) not in env]
        if missing:  # a converter's call traced instead (lower_call): lower its masks now
            for mask_node in call_order(missing, set(env), self.traced_call_masks):
                self.lower_call(mask_node, scope, env)
        masks = [env[id(m)] for m in carried]
        name = self.claim(join_scope(scope, op.name))
        start = len(self.nodes)
        present = iter(in_values)
        with tracing.traced_call(op, knode, [None if a else self.types[next(present)]
                                             for a in absent],
                                 lambda d: self.fail(op, d),
                                 [self.types[m] for m in masks]) as traced:
            self.trace_owner[name] = op
            # masks the call attaches to its outputs that the graph does not record are
            # lowered with them (extra outputs of the traced graph)
            set_in_call = [getattr(t, "_keras_mask", None)
                           if isinstance(getattr(t, "_keras_mask", None), keras.KerasTensor)
                           and getattr(o, "_keras_mask", None) is None else None
                           for t, o in zip(traced.outputs, knode.outputs)]
            extra = [m for m in set_in_call if m is not None]
            real = [t for t in traced.outputs if t is not None]
            try:
                outs = self.lower_model(attrs.evolve(traced, outputs=real + extra),
                                        name, in_values + masks)
            except UnsupportedLayerError as e:
                if e.layer_name == op.name and e.layer_class == type(op).__name__:
                    raise
                raise self.refuse(op, f"in its traced call(): {e.message}") from e
        lowered, mask_values = iter(outs[:len(real)]), iter(outs[len(real):])
        # an output Keras recorded that the call returns as None: None for its readers
        outs = [NONE_AT_RUN_TIME if t is None else next(lowered) for t in traced.outputs]
        if len(outs) == 1 and outs[0] not in self.weights:
            outs = [self.name_block_output(outs[0], name, start)]
        for t, v in zip(knode.outputs, outs):
            env[id(t)] = v
            if v in self.types and v not in self.weights and \
                    _recorded_differently(keras_tensor_type(t), self.types[v]):
                self.retyped.add(v)
        for m in extra:
            env[id(m)] = next(mask_values)
        self.propagate_runtime_masks(op, knode, name, env, set_in_call)

    def runtime_mask(self, tensor: Any) -> Any:
        """The mask Keras attaches to ``tensor`` at run time only (one this walk set),
        or None."""
        return tensor._keras_mask if id(tensor) in self.runtime_masks else None

    def attach_runtime_mask(self, tensor: Any, mask: Any) -> None:
        """Record ``mask`` (a KerasTensor lowered in ``env``) as ``tensor``'s run-time
        Keras mask for the rest of the walk (restored when the walk ends)."""
        self.runtime_masks.setdefault(id(tensor),
                                      (tensor, getattr(tensor, "_keras_mask", None)))
        tensor._keras_mask = mask

    def filled_mask_kwargs(self, op: Any, knode: Any, scope: str,
                           env: dict[int, str]) -> dict[str, Any]:
        """``mask=`` as ``Layer.__call__`` fills it in at run time (keras/src/layers/layer.py,
        step 6: a call with one tensor argument and a ``mask`` parameter not given gets
        that tensor's Keras mask) where the recorded call has none, as an Operand for the
        converter: a mask that exists only at run time (attached in a traced call), and a
        recorded mask Keras left out of a call given ``training=`` explicitly
        (``self.rnn(x, training=training)`` in a subclassed model: Keras 3.15 records no
        mask there, while every eager call passes it), lowered now if the walk has not
        reached it.  Empty when the call was given its mask, takes none, or has no masked
        tensor; MultiHeadAttention reads its tensors' masks itself
        (:meth:`carried_mask_operands`).

        Raises:
            UnsupportedLayerError: a run-time mask reaches a call with several tensor
                arguments (their ``<name>_mask`` parameters are not emulated); the
                layer's converter does not read a mask (the walker then traces Keras' own
                call, :meth:`lower_call`).
        """
        if not isinstance(op, keras.layers.Layer) or \
                isinstance(op, keras.layers.MultiHeadAttention) or \
                "mask" not in tracing.call_parameters(op) or \
                knode.arguments.kwargs.get("mask") is not None:
            return {}
        tensors = {id(t): t for t in knode.arguments.keras_tensors}
        masked = [t for t in tensors.values() if getattr(t, "_keras_mask", None) is not None]
        if not masked:
            return {}
        if len(tensors) > 1:
            if any(self.runtime_mask(t) is not None for t in masked):
                raise self.refuse(op, "a Keras mask that exists only at run time (attached "
                                      "in a traced call) reaches a call with several tensor "
                                      "arguments")
            return {}
        mask = masked[0]._keras_mask
        if "mask" not in accepted_call_kwargs(op):
            raise self.refuse(op, "Keras passes it its input's mask at run time (not recorded "
                                  "in the graph), which its converter does not read")
        if id(mask) not in env:
            for mask_node in call_order([mask], set(env), self.traced_call_masks):
                self.lower_call(mask_node, scope, env)
        return {"mask": Operand(env[id(mask)], self.types[env[id(mask)]])}

    def propagate_runtime_masks(self, op: Any, knode: Any, scope: str, env: dict[int, str],
                                set_in_call: Sequence[Any] = ()) -> None:
        """Attach to ``knode``'s outputs the Keras masks they carry at run time but the
        graph does not record (``Layer._set_mask_metadata``, keras/src/layers/layer.py):
        the masks a traced call set on them (``set_in_call``, aligned with the outputs,
        None where it set none), else, for a layer that
        supports masking and got a run-time mask (its ``mask=``, or its first tensor's),
        ``compute_mask(inputs, that mask)``: Keras' default passes the mask on; a layer's
        own ``compute_mask`` is traced on the symbolic tensors and lowered.  Operations
        and layers that do not support masking drop it, as Keras does."""
        for tensor, m in zip(knode.outputs, set_in_call):
            if m is not None:
                self.attach_runtime_mask(tensor, m)
        if any(m is not None for m in set_in_call) or \
                not isinstance(op, keras.layers.Layer) or \
                not getattr(op, "supports_masking", False):
            return
        tensors = knode.arguments.keras_tensors
        given = knode.arguments.kwargs.get("mask")
        first = tensors[0] if tensors else None
        first_arg = knode.arguments.args[0] if knode.arguments.args else first
        if isinstance(first_arg, (list, tuple)) and given is None:
            # a merge's list: Keras passes the list of the tensors' masks
            masks = [getattr(t, "_keras_mask", None) for t in first_arg]
            runtime = [self.runtime_mask(t) is not None for t in first_arg]
            if not any(runtime) or any(getattr(o, "_keras_mask", None) is not None
                                       for o in knode.outputs):
                return
            if any(m is not None and not r for m, r in zip(masks, runtime)):
                raise self.refuse(op, "its inputs carry Keras masks of which some exist only "
                                      "at run time (attached in a traced call) and some are "
                                      "recorded; their combination is not lowered")
            self.lower_computed_mask(op, knode, scope, env, first_arg, masks)
            return
        previous = None if given is not None else (
            self.runtime_mask(first) if first is not None else None)
        if previous is None or any(getattr(o, "_keras_mask", None) is not None
                                   for o in knode.outputs):
            return
        if type(op).compute_mask is keras.layers.Layer.compute_mask:
            for o in knode.outputs[:1]:
                self.attach_runtime_mask(o, previous)
            return
        self.lower_computed_mask(op, knode, scope, env, first_arg, previous)

    def lower_computed_mask(self, op: Any, knode: Any, scope: str, env: dict[int, str],
                            inputs: Any, previous: Any) -> None:
        """Trace ``op.compute_mask(inputs, previous)`` (``previous``: the run-time mask,
        or a merge's list of masks) on the symbolic tensors, lower what it records and
        attach the result to ``knode``'s outputs as their run-time masks."""
        tensors = knode.arguments.keras_tensors
        masks = [m for m in keras.tree.flatten(previous) if m is not None]
        # the operations compute_mask records hang off the model's own tensors: removed
        # from their producers again below, so the user's model is left as it was
        producers = [t._keras_history.operation for t in tensors] + \
            [m._keras_history.operation for m in masks]
        saved = [(p, len(p._outbound_nodes)) for p in producers]
        try:
            computed = op.compute_mask(inputs, previous)
        except tracing.TRACE_ERRORS as e:
            raise self.refuse(op, f"its compute_mask on a Keras mask that exists only at run "
                                  f"time failed: {type(e).__name__}: {e}") from None
        finally:
            for p, n in saved:
                del p._outbound_nodes[n:]
        flat = [m for m in keras.tree.flatten(computed) if m is not None] \
            if computed is not None else []
        if not flat:
            return
        if not all(isinstance(m, keras.KerasTensor) for m in flat):
            raise self.refuse(op, "its compute_mask returns a mask that is not a tensor")
        known = list({id(t): t for t in list(tensors) + masks}.values())
        block = tracing.TracedCall(f"{op.name}_mask", known, flat)
        values = self.lower_model(block, self.claim(join_scope(scope, f"{op.name}_mask")),
                                  [env[id(t)] for t in known])
        for o, m, v in zip(knode.outputs, flat, values):
            env[id(m)] = v
            self.attach_runtime_mask(o, m)

    def name_block_output(self, value: str, scope: str, start: int) -> str:
        """Rename ``value`` (a traced block's single output) to ``scope``: its producing
        node among ``self.nodes[start:]`` and every read of it there take the new name;
        a value from outside the block (the call returned an input) gets an identity."""
        index = next((i for i in range(start, len(self.nodes))
                      if any(o.name == value for o in self.nodes[i].outputs)), None)
        if index is None:
            self.add_node("identity", scope, value, self.types[value])
            if value in self.tainted:
                self.tainted.add(scope)
            return scope
        for i in range(start, len(self.nodes)):
            node = self.nodes[i]
            if i == index:
                node = attrs.evolve(node, name=scope, outputs=tuple(
                    attrs.evolve(o, name=scope) if o.name == value else o for o in node.outputs))
            if value in node.inputs:
                node = attrs.evolve(node, inputs=tuple(scope if n == value else n
                                                       for n in node.inputs))
            self.nodes[i] = node
        self.types[scope] = self.types.pop(value)
        self.producer_of.pop(value, None)
        self.producer_of[scope] = scope
        if value in self.tainted:
            self.tainted.add(scope)
        return scope

    def add_helper(self, op: Any, name: str, lowered: Any) -> None:
        """Append a converter's helper node, typed by its op's type rule.

        A rule failure becomes a :class:`Diagnostic` (unless a tainted input explains
        it) and the helper takes its first input's type so the walk goes on.
        """
        in_types = [None if not n else self.types[n] if n in self.types
                    else weight_type(self.weights[n]) for n in lowered.inputs]
        try:
            (out_type,) = ops.infer_types(lowered.op, in_types, lowered.attrs)
        except ops.TypeRuleError as e:
            if not any(n in self.tainted for n in lowered.inputs if n):
                self.diagnostics.append(self.rule_diagnostic(op, lowered, name, e, in_types))
            self.tainted.add(name)
            out_type = in_types[0]
        if any(n in self.tainted for n in lowered.inputs if n):
            self.tainted.add(name)
        self.nodes.append(Node(lowered.op, name, lowered.inputs, (Value(name, out_type),),
                               lowered.attrs))
        self.types[name] = out_type
        self.producer_of[name] = name

    def check_call(self, op: Any, knode: Any) -> None:
        """Refuse call-time options that change inference results (except the keyword
        arguments the layer's converter reads itself, its ``accepted_call_kwargs``).

        A value that is None, or a list/tuple/dict whose entries are all None (Keras
        records ``mask=[None, None]`` when a multi-input model is called, ``mask={"a":
        None}`` when it is called with a dict), is no option.
        """
        accepted = accepted_call_kwargs(op)
        for key, value in knode.arguments.kwargs.items():
            if value is None or (key == "training" and value is False) or key in accepted:
                continue
            if isinstance(value, (list, tuple, dict)) and all(
                    v is None for v in (value.values() if isinstance(value, dict) else value)):
                continue
            detail = (f"called with training={value!r}" if key == "training" else
                      "called with a mask (Keras' implicit mask from "
                      "Embedding(mask_zero=True) or Masking); masked inputs of this layer "
                      "are not lowered" if key == "mask" else
                      f"called with the keyword argument {key}=...; only training=False "
                      f"is supported")
            raise self.refuse(op, detail)
        why = layer_refusal(op)
        if why is not None:
            raise self.refuse(op, why)

    def dict_call_inputs(self, model: Any, knode: Any) -> list[Any]:
        """The tensors a nested functional model called with one dict of tensors gets,
        in the order of its ``inputs``: by key when it was built on a dict of inputs
        (``keras.Model({"a": a, "c": c}, ...)``, a keras_hub backbone), else by input
        name, as Keras' ``Functional`` maps a dict call.

        Raises:
            UnsupportedLayerError: the call is not one dict, or a key is missing.
        """
        args = knode.arguments.args
        if len(args) != 1 or not isinstance(args[0], dict) or knode.arguments.kwargs.get(
                "inputs") is not None:
            raise self.refuse(model, "a nested model called with a dict among other arguments")
        given = args[0]
        struct = model._inputs_struct
        if isinstance(struct, dict):
            keys = {id(t): k for k, t in struct.items()}
        else:
            keys = {id(t): t._keras_history.operation.name for t in model.inputs}
        out = []
        for t in model.inputs:
            key = keys.get(id(t))
            if key not in given or not isinstance(given[key], keras.KerasTensor):
                raise self.refuse(model, f"a nested model called with a dict without a "
                                         f"tensor for its input {key!r}")
            out.append(given[key])
        return out

    def check_implicit_masks(self, op: Any, knode: Any) -> None:
        """Refuse a layer that reads a Keras mask its call was not given explicitly.

        Keras records a mask (``Embedding(mask_zero=True)``, ``Masking``) as the call's
        ``mask=`` for layers whose ``call`` takes one (a converter that handles it
        accepts the keyword; :meth:`check_call` refuses the others), but
        ``MultiHeadAttention``, ``Maximum`` and ``Minimum`` read their inputs' masks
        themselves (``backend.get_keras_mask``; the two merges take a masked step from
        the other inputs, keras/src/layers/merging/base_merge.py; ``Multiply`` takes it
        as 1), invisible in the recorded call: lowering them without the mask would
        compute another result.  So do ``Attention`` / ``AdditiveAttention`` on
        ``[query, value]`` (Keras 3.15 records no ``mask`` for their symbolic call, while
        every eager call passes ``[query_mask, value_mask]``): the built-in classes are
        traced instead (:func:`_keras_call_traced`), subclasses refused here.  The other
        built-in merges (``Add``, ``Subtract``, ``Average``, ``Concatenate``, ``Dot``)
        compute their values without the masks; the mask of their output is what their
        ``compute_mask`` recorded as ``keras.ops`` nodes on the input masks, which a
        mask-reading layer downstream lowers like any tensor.
        """
        if not any(getattr(t, "_keras_mask", None) is not None
                   for t in knode.arguments.keras_tensors):
            return
        if isinstance(op, keras.layers.MultiHeadAttention) and \
                type(op).call is keras.layers.MultiHeadAttention.call:
            return  # carried_mask_operands passes them on
        if type(op) in _MASK_FREE_MERGES:
            return
        if qualified_name(type(op)) == CACHED_MHA:
            return  # its call reads attention_mask only (keras_hub's decoders pass it)
        if isinstance(op, (keras.layers.MultiHeadAttention, Merge, keras.layers.Attention)):
            raise self.refuse(op, "its inputs carry a Keras mask (from "
                                  "Embedding(mask_zero=True) or Masking), which it reads "
                                  "implicitly; masked inputs of this layer are not lowered")

    def traced_call_masks(self, knode: Any) -> list[Any]:
        """The Keras masks a call that will be traced reads without being given them
        (:func:`~graphir.backends.keras.tracing.carried_call_masks`): further dependencies
        of the call in the walk."""
        op = knode.operation
        if (converter_for(op) is None and tracing.is_traced(op, from_file=self.from_file)) \
                or _custom_activation(op) or _keras_call_traced(op, knode):
            return tracing.carried_call_masks(knode)
        return []

    def check_masked_readers(self, op: Any, knode: Any, masks: set[int] | None = None,
                             remover: str = "a MultiHeadAttention in the traced call") -> None:
        """Refuse a call on a tensor carrying a Keras mask (one of ``masks``, by id, when
        given) that another Keras layer reads too, when the call may remove that mask
        at run time (``remover``: a MultiHeadAttention removes the masks of its tensors,
        Keras 3.15), so that what the other layer sees depends on the call order."""
        for t in knode.arguments.keras_tensors:
            mask = getattr(t, "_keras_mask", None)
            if mask is None or (masks is not None and id(mask) not in masks):
                continue
            seen = {id(knode)}
            others = [name for n in layer_readers(t) if n is not knode
                      for name in self.mask_observers(n, t, seen)]
            if others:
                raise self.refuse(op, f"its input {t.name!r} carries a Keras mask and is "
                                      f"also read by {', '.join(sorted(set(others)))}, "
                                      f"which reads that mask itself; {remover} removes "
                                      f"that mask when it runs, so what the other layers "
                                      f"see depends on the call order")

    def mask_observers(self, knode: Any, tensor: Any, seen: set[int]) -> list[str]:
        """The layers whose values may depend on whether ``tensor`` (read by the call
        ``knode``) still carries its Keras mask when they run: after a
        ``MultiHeadAttention`` removed it at run time, a later reader sees none, and so
        may the outputs of that reader (``Layer.__call__`` sets an output's mask from the
        input's mask *at run time* when the call was not given one; ``Merge.compute_mask``
        gives ``None`` when one input has none; keras/src/layers/layer.py,
        keras/src/layers/merging/base_merge.py, Keras 3.15).

        What the walk lowers is the recorded graph: masks passed as ``mask=`` were
        recorded (the same tensor at run time whatever the attribute says), so only a
        call that reads a mask *itself* can see the difference: a ``MultiHeadAttention``
        (its query mask, and the value/key masks it was not given), a merge that uses
        masks (``Maximum``, ``Minimum``, ``Multiply``), a traced call that is handed the
        masks its tensors carry, a nested model.  Those are returned by name, following
        the outputs of the calls that were not given a mask (each call once, ``seen``
        holds the ``id`` of the calls visited); the empty list when none observes it.
        """
        if id(knode) in seen:
            return []
        seen.add(id(knode))
        op = knode.operation
        mask = id(tensor._keras_mask)
        reads = {id(m) for m in carried_masks(knode).values()} | \
            {id(m) for m in self.traced_call_masks(knode)}
        if isinstance(op, Merge) and type(op) not in _MASK_FREE_MERGES:
            reads |= {id(getattr(t, "_keras_mask", None)) for t in knode.arguments.keras_tensors}
        if mask in reads or isinstance(op, (Functional, keras.layers.MultiHeadAttention)):
            return [op.name]
        if knode.arguments.kwargs.get("mask") is not None:
            return []  # its masks were recorded: its output masks are the recorded ones
        return [name for out in knode.outputs if getattr(out, "_keras_mask", None) is not None
                for reader in layer_readers(out)
                for name in self.mask_observers(reader, out, seen)]

    def carried_mask_operands(self, op: Any, knode: Any, env: dict[int, str]
                              ) -> dict[str, Operand]:
        """The Keras masks a MultiHeadAttention call reads from its tensors at run time
        (:func:`~graphir.backends.keras.graph_walk.carried_masks`), as keyword Operands for
        its converter.

        ``MultiHeadAttention.call`` also *removes* the mask from its query, value and key
        tensors (``set_keras_mask(query, None)``, Keras 3.15), so any other layer reading
        such a tensor sees a mask or not depending on which runs first: a masked tensor
        read by another Keras layer as well is refused by name.
        """
        carried = carried_masks(knode)
        if not carried:
            return {}
        self.check_masked_readers(op, knode, {id(m) for m in carried.values()},
                                  "MultiHeadAttention")
        return {k: Operand(env[id(m)], self.types[env[id(m)]]) for k, m in carried.items()}

    def recomputed_specs(self, op: Any, knode: Any, env: dict[int, str]) -> list[Any]:
        """Keras' output specs of the call ``knode`` of ``op`` recomputed
        (``op.compute_output_spec``) on tensors of the IR types of its inputs, for a call
        reading a value whose IR type differs from Keras' record (``retyped``): what
        Keras computes at run time, where the call runs on the real tensors.

        Raises:
            UnsupportedLayerError: Keras' shape inference refuses the computed types, or
                gives another number of outputs.
        """
        def fresh(v: Any) -> Any:
            if not isinstance(v, keras.KerasTensor) or id(v) not in env:
                return v
            t = self.types[env[id(v)]]
            return keras.KerasTensor(tuple(d if isinstance(d, int) else None for d in t.shape),
                                     dtype=t.dtype.value)

        args, kwargs = keras.tree.map_structure(
            fresh, (tuple(knode.arguments.args), dict(knode.arguments.kwargs)))
        try:
            specs = keras.tree.flatten(op.compute_output_spec(*args, **kwargs))
        except tracing.TRACE_ERRORS as e:
            raise self.refuse(op, f"it reads a tensor whose computed type differs from the "
                                  f"one Keras recorded, and Keras' shape inference refuses "
                                  f"the computed one: {tracing.one_line(e)}") from None
        specs = [t for t in specs if t is not None]
        if len(specs) != len(knode.outputs):
            raise self.refuse(op, f"Keras' shape inference on its computed input types gives "
                                  f"{len(specs)} outputs where it recorded {len(knode.outputs)}")
        return specs

    def output_type(self, op: Any, lowered: Any, tensor: Any, name: str) -> TensorType:
        """The Keras tensor's type, with unknown dims filled from the op's type rule.

        A type-rule failure or a disagreement with Keras' recorded type becomes a
        :class:`Diagnostic` (Keras' type is kept so the walk goes on and every problem
        is found), unless it follows from one already reported (a tainted input).
        """
        try:
            declared = keras_tensor_type(tensor)
        except ValueError as e:
            raise self.refuse(op, str(e)) from None
        in_types = [None if not n else self.types[n] if n in self.types
                    else weight_type(self.weights[n]) for n in lowered.inputs]
        tainted = any(n in self.tainted for n in lowered.inputs if n)
        try:
            (inferred,) = ops.infer_types(lowered.op, in_types, lowered.attrs)
        except ops.TypeRuleError as e:
            if not tainted:
                self.diagnostics.append(self.rule_diagnostic(op, lowered, name, e, in_types))
            self.tainted.add(name)
            return declared
        if any(n in self.retyped for n in lowered.inputs if n) and \
                _recorded_differently(declared, inferred):
            # Keras' shape inference, even redone on the computed input types, knows less
            # than the rule (or is wrong): the rule's type is what runs
            return inferred
        if declared.dtype != inferred.dtype and keeps_input_dtype(op):
            declared = TensorType(inferred.dtype, declared.shape)
        if not declared.compatible_with(inferred):
            if not tainted:
                self.diagnostics.append(Diagnostic(
                    "error", f"Keras records {declared} for layer {op.name!r} but "
                    f"{lowered.op} computes {inferred}", node=name, op=lowered.op,
                    expected=str(declared), actual=str(inferred),
                    hint="the saved model's shapes are inconsistent; rebuild it"))
            self.tainted.add(name)
            return declared
        # an unknown Keras dim (None, or the batch axis Keras records as None) takes the
        # rule's size: a static one when input_shapes fixed the model's input sizes, and
        # unknown where the rule cannot tell it is the batch (a reshape merging the batch
        # axis with another: Keras records None there too, not the batch), or the size
        # the rule names (a dynamic_reshape's "4*batch")
        shape = tuple(i if d is None or d == "batch" else d
                      for d, i in zip(declared.shape, inferred.shape))
        return TensorType(declared.dtype, shape)

    def rule_diagnostic(self, op: Any, lowered: Any, name: str, err: Any, in_types) -> Diagnostic:
        """A Diagnostic for a type-rule failure of ``op`` lowered as node ``name``."""
        idx = err.input_index
        producer = lowered.inputs[idx] if idx is not None and idx < len(lowered.inputs) else None
        actual = err.actual
        if actual is None and producer and in_types[idx] is not None:
            actual = fmt_shape(in_types[idx].shape)
        hint = err.hint or (f"make axis {err.axis} of {producer!r} match what layer "
                            f"{op.name!r} expects" if err.axis is not None else None)
        return Diagnostic("error", f"layer {op.name!r} ({type(op).__name__}) rejects its input: "
                          f"{err}", node=name, op=lowered.op, input_index=idx, producer=producer,
                          producer_node=self.producer_of.get(producer) if producer else None,
                          expected=err.expected, actual=actual, axis=err.axis, hint=hint)


#: the ``env`` entry of a tensor Keras recorded as an output of a traced call that the
#: call returns as None (a line break: no value name has one)
NONE_AT_RUN_TIME = "\n<None at run time>"


def _recorded_differently(recorded: TensorType, computed: TensorType) -> bool:
    """True when the type Keras recorded for a tensor is not the computed one: another
    dtype or rank, or a static size the computation does not have (a different size, or
    one it leaves unknown).  Unknown recorded sizes and the batch axis agree with any."""
    if recorded.dtype != computed.dtype or recorded.rank != computed.rank:
        return True
    return any(isinstance(r, int) and r != c for r, c in zip(recorded.shape, computed.shape))


def _check_graph_model(model: Any, lowering: _Lowering) -> None:
    """Refuse models without a functional graph: subclassed models with their own
    ``call``, and unbuilt Sequential ones.

    A *functional subclass* (a ``keras.Model`` subclass whose ``__init__`` calls
    ``super().__init__(inputs=..., outputs=...)``, as every keras_hub ``Backbone`` and task
    model does: Keras makes such a class a ``Functional`` subclass) is walked as the
    functional model it is, provided it does not override ``call`` (then its computation
    is exactly its recorded graph, ``Functional.call``).
    """
    functional = isinstance(model, Functional) and type(model).call is Functional.call
    if not (functional or type(model) is keras.Sequential):
        raise lowering.refuse(model, "a subclassed model with its own call() has no "
                                     "functional graph; only functional models (and "
                                     "subclasses built functionally) and Sequential models "
                                     "are supported")
    try:
        model.inputs  # noqa: B018  (an unbuilt Sequential raises here)
    except (ValueError, AttributeError):
        raise lowering.refuse(model, "the Sequential model is not built (give it an "
                                     "Input or an input shape)") from None


def _activation_layers() -> tuple[type, ...]:
    from keras.src.layers.convolutional.base_conv import BaseConv
    from keras.src.layers.convolutional.base_conv_transpose import BaseConvTranspose
    from keras.src.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
    from keras.src.layers.convolutional.base_separable_conv import BaseSeparableConv

    return (keras.layers.Dense, keras.layers.EinsumDense, BaseConv, BaseConvTranspose,
            BaseDepthwiseConv, BaseSeparableConv)


def _custom_activation(op: Any) -> bool:
    """An ``Activation`` layer whose function is not a built-in activation (keras_hub's
    CLIP ``quick_gelu``, ``x * sigmoid(1.702 * x)``), or a ``Dense`` / ``EinsumDense`` /
    convolution given such a function (``Dense(8, activation=mish)``, a user's function,
    registered or not): Keras' own ``call`` applies the function, and is traced like a
    custom layer's (its ``keras.ops`` calls become nodes: the matmul or convolution,
    the bias and the function)."""
    if type(op) is keras.layers.Activation:
        if op.activation is None:
            return False
    elif not (type(op).__module__.startswith("keras.src.layers.")
              and isinstance(op, _activation_layers())
              and callable(getattr(op, "activation", None))):
        return False
    from graphir.backends.keras.activations import activation_name

    name = getattr(op.activation, "__name__", None)
    try:
        builtin = isinstance(name, str) and keras.activations.get(name) is op.activation
    except ValueError:
        builtin = False
    # a built-in activation outside the op set stays refused by its converter
    return not builtin and activation_name(op.activation)[0] is None


def _masked_nested_model(op: Any, knode: Any) -> bool:
    """Whether ``op`` is a nested functional model whose recorded call passes Keras masks
    (``mask=[None, m]``: keras.io's translation decoder called on the masked encoder
    output): ``Functional.call`` sets each on its input at run time and the masked layers
    inside read it without the nested graph recording it, so the call is traced with
    its ``mask=`` (its graph re-run on symbolic inputs, the masks set as Keras sets
    them) rather than walked."""
    if not isinstance(op, _NESTED_MODELS):
        return False
    mask = knode.arguments.kwargs.get("mask")
    return mask is not None and any(isinstance(m, keras.KerasTensor)
                                    for m in keras.tree.flatten(mask))


def _keras_call_traceable(op: Any) -> bool:
    """Whether ``op`` is a built-in Keras layer (Keras' own code, not a model, an input
    or a ``Lambda``) whose ``call`` the walker may trace when its converter refuses.
    Not when it or a sublayer computes in float16 / bfloat16: converters refuse some of
    those for precision (Keras' float16 softmax, mixed-precision casts), which a trace
    would not reproduce either."""
    from keras.src.layers import InputLayer, Lambda

    if not (isinstance(op, keras.layers.Layer) and
            type(op).__module__.startswith("keras.src.layers.") and
            not isinstance(op, (keras.Model, InputLayer, Lambda))):
        return False
    return not any(getattr(sub, "compute_dtype", "float32") in ("float16", "bfloat16")
                   for sub in op._flatten_layers(include_self=True, recursive=True))


def _why_unknown(op: Any) -> str:
    if not isinstance(op, keras.layers.Layer):
        return (f"a keras.ops operation ({type(op).__module__}.{type(op).__name__}) applied "
                f"to symbolic tensors that the op set does not cover; "
                f"{len(supported_operations())} operations are lowered (listed by "
                f"graphir.backends.keras.supported_operations())")
    for cls in type(op).__mro__[1:]:
        if cls.__name__ in supported_layer_classes() and cls.__module__.startswith("keras"):
            return f"a subclass of {cls.__name__}, which may override its computation"
    return (f"no converter, and it cannot be traced ({len(supported_layer_classes())} layer "
            f"classes convert: graphir.backends.keras.supported_layer_classes())")
