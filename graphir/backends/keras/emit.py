"""Emission: a :class:`~graphir.ir.Graph` -> a functional Keras model; saving it atomically.

One built-in Keras layer per node, made by the op's builder
(:func:`graphir.backends.keras.registry.build_rule`; ``*_builders.py``), named
``to_keras_name(node.name)`` (``/`` -> ``.``, made unique if two IR names map to
the same Keras name).  Nodes that apply the same op with the same attributes to
the same weights are calls of *one* Keras layer, so weight sharing survives.
Weights are set after the model is built.  The model saves to ``.keras`` and
loads back in a fresh process with ``keras.saving.load_model(path, safe_mode=True)``.

TimeDistributed.  Keras has no layer that folds the time axis into the batch axis,
so a ``time_fold`` node is emitted together with the *region* it starts
(:func:`_time_regions`): the nodes that, from the fold's output on, each read one data
input (and weights) from the region, and the ``time_unfold`` nodes that end it, whose
reference is the fold's input ``x``.  A TimeDistributed lowering is one such region,
``time_fold(x) -> inner node(s) -> time_unfold(., x)``; after the ``dedupe`` pass two
TimeDistributed layers applied to the same ``x`` share one fold, and the region
branches.  Each inner node's layer is wrapped in ``keras.layers.TimeDistributed`` and
applied to the *unfolded* value of its input, starting from ``x``
(``TimeDistributed(A)`` then ``TimeDistributed(B)`` computes ``TimeDistributed(A o B)``).
A wrapper whose output only an unfold reads is named after that unfold, and each
wrapped layer after the rest of its node's name below that scope, so a lowered
``TimeDistributed`` named ``td`` wrapping ``dense`` (nodes ``td/fold``, ``td/dense``,
``td``) comes back as ``TimeDistributed(Dense(name="dense"), name="td")``.  The
wrapped layers' weights are set like any other layer's (a TimeDistributed has no
variables of its own: its ``weights`` are its layer's).  Inner nodes with the same op,
attributes and weights share one wrapper; a wrapped layer is never shared with a layer
outside a wrapper (Keras cannot load such a model back), see :func:`_emit_time_region`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
import keras
import numpy as np
from keras.src.ops import nn as knn
from keras.src.ops import numpy as knp

from graphir import ops
from graphir.atomic import atomic_output
from graphir.backends.keras.build_context import BuildContext
from graphir.backends.keras.dynamic_reshape_expansion import expand_dynamic_reshapes
from graphir.backends.keras.layer_builders import finish_layer
from graphir.backends.keras.registry import build_rule
from graphir.errors import EmissionError, ModelFileError, UnsupportedOpError
from graphir.frozen import FrozenDict
from graphir.ir import Graph, Node, Value
from graphir.names import Namespace, to_keras_name
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

__all__ = ["MAX_CONSTANT_ELEMENTS", "to_keras", "save_keras"]

#: the largest weight (in elements) emitted as a constant operand of a ``keras.ops``
#: operation: Keras stores such constants inline in the model's ``config.json``, which
#: must stay small (weights belong in the weights file)
MAX_CONSTANT_ELEMENTS = 1024


def _bias_add_may_differ(x1: tuple, x2: tuple) -> bool:
    """Whether Keras' TensorFlow ``add(x1, x2)`` may compute something else than NumPy's
    broadcast sum for run-time shapes fitting the IR shapes ``x1`` and ``x2`` (symbolic
    and unknown dims: any size, 1 included).

    Keras 3.15 (``add`` in ``keras/src/backend/tensorflow/numpy.py``) calls
    ``tf.nn.bias_add`` when ``x2`` squeezes to one size ``n`` (its only dim above 1) and
    ``x1`` (rank > 1) has ``n`` as its last size (then adds along the last axis) or else
    as its axis-1 size (then along axis 1).  NumPy adds along the axis ``x2``'s dim is
    aligned with from the right; the two differ when those axes differ."""
    r1, r2 = len(x1), len(x2)
    if r1 < 2:
        return False
    if r2 > r1:
        return True

    def may_be(d, value):          # can dim d be `value` at run time
        return not isinstance(d, int) or d == value

    def may_differ_from(d, value):
        return not isinstance(d, int) or d != value

    for j, d in enumerate(x2):
        if isinstance(d, int) and d <= 1:
            continue
        if not all(may_be(e, 1) for k, e in enumerate(x2) if k != j):
            continue
        axis = r1 - r2 + j       # where NumPy adds x2's dim j
        last, second = x1[-1], x1[1]
        n_static = d if isinstance(d, int) else None
        last_may_match = n_static is None or may_be(last, n_static)
        if last_may_match and axis != r1 - 1:
            return True          # bias_add along the last axis
        second_may_match = n_static is None or may_be(second, n_static)
        last_may_miss = n_static is None or may_differ_from(last, n_static)
        if last_may_miss and second_may_match and axis != 1:
            return True          # bias_add along axis 1
    return False


def _adds_without_bias_add(graph: Graph) -> Graph:
    """``graph`` with every ``add`` whose Keras form could become ``tf.nn.bias_add`` with
    another result (:func:`_bias_add_may_differ`) written as ``subtract(x, negative(y))``
    (a constant ``y``: its negated copy, a weight ``<y>/negated``), the same sum bit for
    bit (IEEE ``x - (-y)`` is ``x + y``; integers wrap alike); an add of three or more
    inputs is split into two-input adds first when one step is at risk.

    Why: Keras' ``keras.ops.add`` and ``Add`` layer add a "bias-like" second operand
    along the last or first channel axis, not where NumPy broadcasting (the IR's ``add``)
    puts it: ``(3, 4, 4) + (1, 4, 1)`` adds along the wrong axis, and ``(N, 4, 4) +
    (N, 4, 1)`` does at run-time batch 1.  ``subtract`` is a plain ``tf.subtract``.
    """
    from graphir.ops.type_rules import broadcast_shapes

    types = graph.value_types()
    weights = dict(graph.weights)
    taken = set(types) | set(weights) | {n.name for n in graph.nodes}
    nodes: list[Node] = []
    changed = False

    def fresh(base: str) -> str:
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    def shape(name: str) -> tuple:
        return tuple(types[name].shape) if name in types else tuple(weights[name].shape)

    for node in graph.nodes:
        if node.op != "add" or len(node.inputs) < 2:
            nodes.append(node)
            continue
        steps, running = [], shape(node.inputs[0])
        for y in node.inputs[1:]:
            steps.append(_bias_add_may_differ(running, shape(y)))
            running = broadcast_shapes([running, shape(y)])
        if not any(steps):
            nodes.append(node)
            continue
        changed = True
        acc = node.inputs[0]
        for k, (y, risky) in enumerate(zip(node.inputs[1:], steps)):
            last = k == len(steps) - 1
            out = node.name if last else fresh(f"{node.name}/add_{k}")
            out_type = node.output.type if last else TensorType(
                node.output.type.dtype, broadcast_shapes([shape(acc), shape(y)]))
            if not risky:
                nodes.append(Node("add", out, (acc, y), (Value(out, out_type),)))
            else:
                negated = fresh(f"{y}/negated")
                if y in weights:
                    with np.errstate(over="ignore"):
                        weights[negated] = np.negative(weights[y])
                else:
                    nodes.append(Node("negative", negated, (y,), (Value(negated, types[y]),)))
                    types[negated] = types[y]
                nodes.append(Node("subtract", out, (acc, negated), (Value(out, out_type),)))
            types[out] = out_type
            acc = out
    if not changed:
        return graph
    return Graph(graph.name, graph.inputs, graph.outputs, nodes, weights, graph.output_keys)


def to_keras(graph: Graph) -> "keras.Model":
    """Emit ``graph`` as a functional ``keras.Model`` with real layers and its weights set.

    Inputs become ``keras.Input(shape=type.shape[1:], dtype=..., name=...)`` (symbolic
    or unknown dims -> None; ``batch_size`` only when the batch dim is a static int);
    outputs follow ``graph.outputs``.  A one-input/one-output graph gives a model
    called on / returning a single tensor, otherwise lists; a graph of a model that
    returned a dict (``graph.output_keys``) returns a dict with the same keys.

    Raises:
        GraphInvariantError: ``graph`` fails :func:`~graphir.verifier.verify_graph`.
        UnsupportedOpError: a node's op (or an attribute value of it) has no Keras
            layer computing it exactly (a ``dynamic_reshape`` whose ``-1`` sits beside
            other run-time sizes: :mod:`.dynamic_reshape_expansion`); a ``time_fold``
            whose region breaks the rules of :func:`_time_regions` (naming the fold), or
            whose ``time_unfold``'s reference is not the fold's input (naming the
            unfold); a ``time_unfold`` outside a region (naming it).
        EmissionError: a graph input has no batch axis (rank 0).
    """
    verify_graph(graph)
    graph = _adds_without_bias_add(expand_dynamic_reshapes(graph))
    names = Namespace()
    types = graph.value_types()
    tensors: dict[str, Any] = {}
    held: dict[str, Any] = {}  # weight -> the layer output holding it (large constants)
    for value in graph.inputs:
        tensors[value.name] = _keras_input(graph, value.name, value.type, names)
    shared: dict[tuple, keras.layers.Layer] = {}
    pending: list[tuple[keras.layers.Layer, list[np.ndarray]]] = []
    regions = _time_regions(graph)
    wrappers: dict[tuple, keras.layers.Layer] = {}
    in_region = {n.name for region in regions.values() for n in (*region.inner, *region.unfolds)}
    calls: dict[Any, Any] = {}  # BuildRule.output_group key -> the outputs of that call
    for node in graph.nodes:
        if node.name in in_region:  # emitted with its time_fold
            continue
        if node.op == "time_fold":
            _emit_time_region(graph, node, regions[node.name], tensors, types, names, wrappers,
                              pending)
            continue
        if node.op == "time_unfold":
            raise UnsupportedOpError(
                f"time_unfold {node.name!r} does not end a time_fold -> single-input nodes "
                f"-> time_unfold region (a TimeDistributed): its input {node.inputs[0]!r} is "
                f"not computed from a time_fold of its reference {node.inputs[1]!r}",
                where=f"graph {graph.name!r}, node {node.name!r}")
        activation = None
        if node.attrs.get("activation") in _OPERATION_ACTIVATIONS:
            # a fused activation Keras names no function after: the layer computes the
            # linear part, the keras.ops operation follows
            activation = _OPERATION_ACTIVATIONS[node.attrs["activation"]](
                names.unique(to_keras_name(node.name) + "_activation"))
            node = attrs.evolve(node, attrs=FrozenDict({**node.attrs, "activation": "linear"}))
        if node.op == "identity" and node.inputs[0] in graph.weights and \
                graph.weights[node.inputs[0]].dtype.kind == "f":
            # a constant output (keras_hub SAM's dense positional embeddings): a Keras
            # output must be computed, so the weight is held by a layer whatever its size
            tensors[node.output.name] = _constant_operand(graph, node.inputs[0], tensors, names,
                                                          pending, held, in_layer=True)
            continue
        rule = build_rule(node.op)
        group = rule.output_group(node) if rule is not None and rule.output_group else None
        if group is not None and group[0] in calls:  # another output of a call made already
            tensors[node.output.name] = calls[group[0]][group[1]]
            continue
        # an RNN called with its explicit mask attaches it to its sequence output, and
        # Keras would carry it on implicitly at run time into layers that read masks (a
        # Softmax, a pooling): the IR's masks are explicit, so the emitted layer gets
        # another name and a keras.ops copy named after the node drops the mask
        masked_call = any(kw == "mask" and i < len(node.inputs) and node.inputs[i]
                          for i, kw in rule.keyword_inputs.items()) if rule else False
        layer, data, list_call = _layer_for(
            graph, node, types, names, shared, pending,
            name=names.unique(to_keras_name(node.name) + "_masked") if masked_call else None)
        # a data input that is a weight is a constant operand (checked by _layer_for),
        # passed as a backend tensor: Keras saves it with its dtype (a NumPy scalar would
        # come back as a Python number, converted again by Keras' weak-type rules)
        keyword: dict[str, list[str]] = {}
        for i, kw in sorted(rule.keyword_inputs.items()):
            if i < len(node.inputs) and node.inputs[i]:
                keyword.setdefault(kw, []).append(node.inputs[i])
        if keyword:
            positional = [n for i, n in enumerate(node.inputs)
                          if n and i not in rule.keyword_inputs]
            data = [n for n in data if n in positional]
        args = [tensors[n] if n in tensors else
                _constant_operand(graph, n, tensors, names, pending, held) for n in data]
        # a keyword given by several inputs (an RNN's initial_state) takes their list
        kwargs = {**rule.call_keywords(node),
                  **{kw: tensors[ns[0]] if len(ns) == 1 and kw not in rule.list_keywords
                     else [tensors[n] for n in ns] for kw, ns in keyword.items()}}
        result = layer(args, **kwargs) if list_call else layer(*args, **kwargs)
        if group is not None:
            calls[group[0]] = result
            result = result[group[1]]
        if masked_call or getattr(result, "_keras_mask", None) is not None:
            suffix = "" if masked_call else "_unmasked"
            result = knp.Copy(name=names.unique(to_keras_name(node.name) + suffix))(result)
        tensors[node.output.name] = result
        if activation is not None:
            tensors[node.output.name] = activation(tensors[node.output.name])
    outputs = []
    for out in graph.outputs:
        tensor = tensors[out]
        if out in {v.name for v in graph.inputs}:  # a Keras output must be a layer's output
            tensor = keras.layers.Identity(name=names.unique(to_keras_name(out) + "_identity"))(
                tensor)
        outputs.append(tensor)
    inputs = [tensors[v.name] for v in graph.inputs]
    if graph.output_keys:  # the model returned a dict: a dict with its keys again
        structure: Any = dict(zip(graph.output_keys, outputs))
    else:
        structure = outputs[0] if len(outputs) == 1 else outputs
    model = keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                        outputs=structure, name=to_keras_name(graph.name))
    for layer, arrays in pending:
        layer.set_weights(arrays)
        finish_layer(layer)
    return model


#: fused activations (a node's ``activation`` attribute) that no Keras activation name
#: computes -> a factory of the ``keras.ops`` operation applied after the linear layer
_OPERATION_ACTIVATIONS = {
    "gelu_approximate": lambda name: knn.Gelu(approximate=True, name=name),
}


def _constant_operand(graph: Graph, name: str, tensors: dict[str, Any], names: Namespace,
                      pending: list[tuple[keras.layers.Layer, list[np.ndarray]]],
                      held: dict[str, Any], in_layer: bool = False) -> Any:
    """The Keras operand of weight ``name`` in a data position (a constant operand).

    Up to :data:`MAX_CONSTANT_ELEMENTS` elements (and not ``in_layer``): a backend
    tensor, which Keras stores inline, with its dtype, in the config.  A larger float
    weight (a keras_hub position table sliced at a static length), or one that must be
    a computed tensor (``in_layer``: an ``identity`` of it) lives in the weights file: a
    ``keras.layers.Embedding(1, size)`` holding it as its ``(1, size)`` table, looked up
    at index 0 (an int32 zero, ``max(zeros_like(input 0))``, so the functional graph
    stays connected) and reshaped to the weight's shape; exact, since
    ``take`` copies the row.  Each weight is materialized once.
    """
    array = graph.weights[name]
    if array.size <= MAX_CONSTANT_ELEMENTS and not in_layer:
        return keras.ops.convert_to_tensor(array)
    if name not in held:
        zero = keras.ops.max(keras.ops.zeros_like(tensors[graph.inputs[0].name]))
        index = keras.ops.reshape(keras.ops.cast(zero, "int32"), (1,))
        layer = keras.layers.Embedding(1, int(array.size), dtype=str(array.dtype),
                                       name=names.unique(to_keras_name(name)))
        pending.append((layer, [array.reshape(1, -1)]))
        held[name] = keras.ops.reshape(layer(index), array.shape)
    return held[name]


def _keras_input(graph: Graph, name: str, vtype: TensorType, names: Namespace) -> Any:
    if vtype.rank == 0:
        raise EmissionError(f"graph input {name!r} is a scalar; Keras inputs need a batch axis",
                            where=f"graph {graph.name!r}")
    batch = vtype.shape[0]
    shape = tuple(d if isinstance(d, int) else None for d in vtype.shape[1:])
    return keras.Input(shape=shape, batch_size=batch if isinstance(batch, int) else None,
                       dtype=vtype.dtype.value, name=names.unique(to_keras_name(name)))


def _layer_for(graph: Graph, node: Node, types: dict[str, TensorType], names: Namespace,
               shared: dict[tuple, tuple[keras.Operation, bool]],
               pending: list[tuple[keras.layers.Layer, list[np.ndarray]]],
               name: str | None = None) -> tuple[keras.Operation, list[str], bool]:
    """The Keras layer for ``node`` (reused when it shares weights with an earlier node),
    the names of its data inputs, and whether it is called on one list of them
    (``BuildRule.list_input``, unless the builder set ``BuildContext.list_call`` for
    this node).  ``name``: the layer name to use instead of a unique one made from the
    node's name (for a layer wrapped in TimeDistributed)."""
    where = f"graph {graph.name!r}, node {node.name!r}"
    rule = build_rule(node.op)
    if rule is None:
        raise UnsupportedOpError(f"op {node.op!r} has no Keras layer", where=where)
    weight_idx = set(ops.get_schema(node.op).weight_inputs)
    data = [n for i, n in enumerate(node.inputs) if i not in weight_idx and n]
    for n in data:
        if n not in graph.weights:
            continue
        size = int(graph.weights[n].size)
        if not rule.constant_inputs:
            raise UnsupportedOpError(f"input {n!r} is a weight, but the Keras layer of op "
                                     f"{node.op!r} takes only computed tensors there",
                                     where=where)
        if size > MAX_CONSTANT_ELEMENTS and not graph.weights[n].dtype.kind == "f":
            raise UnsupportedOpError(
                f"weight {n!r} ({size} elements of {graph.weights[n].dtype}) would be stored "
                f"inline in the Keras model's config as a constant operand of {node.op!r}; "
                f"at most {MAX_CONSTANT_ELEMENTS} elements are (larger float constants are "
                f"held by a layer)", where=where)
    weight_names = tuple(n if i in weight_idx else "" for i, n in enumerate(node.inputs))
    key = (node.op, node.attrs, weight_names) if any(weight_names) else None
    if key is not None and key in shared:
        return (*shared[key][:1], data, shared[key][1])
    weights = [graph.weights[n] if n else None for n in weight_names]
    out_dtype = node.output.type.dtype
    dtype = out_dtype.value if out_dtype.is_float and out_dtype.value != "float32" else None
    layer_name = name if name is not None else names.unique(to_keras_name(node.name))
    ctx = BuildContext(node, layer_name, [types[n] for n in data], weights, dtype, where,
                       constant_data=[n in graph.weights for n in data])
    layer, arrays = rule.builder(ctx)
    list_call = rule.list_input if ctx.list_call is None else ctx.list_call
    if key is not None:
        shared[key] = (layer, list_call)
    if arrays:
        pending.append((layer, arrays))
    return layer, data, list_call


@attrs.frozen
class _Region:
    """The nodes a ``time_fold`` starts (see :func:`_time_regions`).

    Attributes:
        inner: the inner nodes, in graph order (each reads one data input: the fold's
            output or another inner node's).
        unfolds: the ``time_unfold`` nodes reading the fold's or an inner node's output.
    """

    inner: tuple[Node, ...]
    unfolds: tuple[Node, ...]


def _time_regions(graph: Graph) -> dict[str, _Region]:
    """Every ``time_fold`` node's region: ``{fold name: _Region}``.

    From the fold's output ``f``, the region's values are ``f`` and the outputs of its
    inner nodes.  Every reader of a region value must be either

    * an *inner* node: one with exactly one data (non-weight) input, that value, and
      not a ``time_fold`` (a nested TimeDistributed) or ``time_unfold``; or
    * a ``time_unfold`` reading it as ``y`` (input 0), whose reference ``x`` is the
      fold's own input;

    and no region value is a graph output (the folded tensor has no Keras equivalent).

    Raises:
        UnsupportedOpError: a region breaks these rules (the error names the fold and the
            value or node at fault), or an unfold's reference is not the fold's input
            (the error names the unfold).
    """
    readers: dict[str, list[tuple[Node, int]]] = {}
    for node in graph.nodes:
        for i, name in enumerate(node.inputs):
            if name:
                readers.setdefault(name, []).append((node, i))
    outputs = set(graph.outputs)
    order = {node.name: k for k, node in enumerate(graph.nodes)}
    regions: dict[str, _Region] = {}
    for fold in graph.nodes:
        if fold.op != "time_fold":
            continue

        def refuse(detail: str, fold: Node = fold) -> UnsupportedOpError:
            return UnsupportedOpError(
                f"time_fold {fold.name!r} cannot be emitted as Keras TimeDistributed layers: "
                f"{detail}", where=f"graph {graph.name!r}, node {fold.name!r}")

        inner: list[Node] = []
        unfolds: list[Node] = []
        todo = [fold.output.name]
        while todo:
            value = todo.pop()
            if value in outputs:
                raise refuse(f"the folded value {value!r} is a graph output")
            for user, index in readers.get(value, []):
                if user.op == "time_unfold":
                    if index != 0:
                        raise refuse(f"the folded value {value!r} is the shape reference of "
                                     f"time_unfold {user.name!r}, not its data")
                    if user.inputs[1] != fold.inputs[0]:
                        raise UnsupportedOpError(
                            f"time_unfold {user.name!r} unfolds the region of time_fold "
                            f"{fold.name!r}, but its reference {user.inputs[1]!r} is not the "
                            f"fold's input {fold.inputs[0]!r}",
                            where=f"graph {graph.name!r}, node {user.name!r}")
                    unfolds.append(user)
                    continue
                if user.op == "time_fold":
                    raise refuse(f"the folded value {value!r} is folded again by "
                                 f"{user.name!r} (nested TimeDistributed)")
                weight_idx = set(ops.get_schema(user.op).weight_inputs)
                data = [n for i, n in enumerate(user.inputs) if n and i not in weight_idx]
                if data != [value]:
                    raise refuse(f"node {user.name!r} ({user.op}) reads the folded value "
                                 f"{value!r} among {len(data)} data inputs; a TimeDistributed "
                                 f"layer takes one")
                inner.append(user)
                todo.append(user.output.name)
        regions[fold.name] = _Region(tuple(sorted(inner, key=lambda n: order[n.name])),
                                     tuple(sorted(unfolds, key=lambda n: order[n.name])))
    return regions


def _emit_time_region(graph: Graph, fold: Node, region: _Region, tensors: dict[str, Any],
                      types: dict[str, TensorType], names: Namespace,
                      wrappers: dict[tuple, keras.layers.Layer],
                      pending: list[tuple[keras.layers.Layer, list[np.ndarray]]]) -> None:
    """Emit the region of ``fold``: bind the Keras tensor of each of its unfolds in
    ``tensors``.

    Each inner node becomes ``TimeDistributed(<its layer>)`` applied to the unfolded
    value of its input (the fold's input ``x`` for the fold's output).  A wrapper whose
    output is read by exactly one node, an unfold, is named after that unfold, its
    wrapped layer after the rest of the node's name below the unfold's scope
    (``td/dense`` -> ``dense``); other wrappers are named after their node, their
    layer after the rest of its name below the fold's scope (fold ``td/fold``:
    ``td/dense`` -> ``dense``).  An unfold whose input has other readers too (or is the
    fold's output itself) is a ``keras.layers.Identity`` named after it.

    Sharing: inner nodes with the same op, attributes and weights (a TimeDistributed
    called twice, or one layer wrapped twice) share one wrapper.  A wrapped layer is
    otherwise never shared with a layer outside a wrapper: Keras 3.15 builds such a
    model but cannot load it back (the layer's variables are saved under one owner and
    the other finds none), so such a layer gets its own copy of the weights.
    """
    readers: dict[str, list[Node]] = {}
    for node in (*region.inner, *region.unfolds):
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    unfolded = {fold.output.name: tensors[fold.inputs[0]]}
    named_after: dict[str, Node] = {}  # inner node name -> the unfold it is named after
    for node in region.inner:
        users = readers.get(node.output.name, [])
        if len(users) == 1 and users[0].op == "time_unfold":
            named_after[node.name] = users[0]
        weight_idx = ops.get_schema(node.op).weight_inputs
        weights = tuple(w if i in weight_idx else "" for i, w in enumerate(node.inputs))
        key = (node.op, node.attrs, weights)
        wrapper = wrappers.get(key) if any(weights) else None
        if wrapper is None:
            unfold = named_after.get(node.name)
            # the layer is named below the unfold's scope, else below the fold's
            scope = (unfold.name if unfold is not None else fold.name.rpartition("/")[0]) + "/"
            inner = node.name[len(scope):] if node.name.startswith(scope) else node.name
            layer, _, _ = _layer_for(graph, node, types, names, {}, pending,
                                  name=to_keras_name(inner))
            out_dtype = node.output.type.dtype
            kwargs = {"dtype": out_dtype.value} if (out_dtype.is_float
                                                    and out_dtype.value != "float32") else {}
            wrapper = keras.layers.TimeDistributed(
                layer, name=names.unique(to_keras_name((unfold or node).name)), **kwargs)
            if any(weights):
                wrappers[key] = wrapper
        (data,) = [n for i, n in enumerate(node.inputs) if n and i not in weight_idx]
        unfolded[node.output.name] = wrapper(unfolded[data])
    for unfold in region.unfolds:
        source = unfold.inputs[0]
        producer = next((n for n in region.inner if n.output.name == source), None)
        if producer is not None and named_after.get(producer.name) is unfold:
            tensors[unfold.output.name] = unfolded[source]
        else:
            tensors[unfold.output.name] = keras.layers.Identity(
                name=names.unique(to_keras_name(unfold.name)))(unfolded[source])


def save_keras(model: "keras.Model", path: str | os.PathLike) -> None:
    """Save ``model`` to a ``.keras`` file atomically.

    The model is written to a temporary ``.keras`` file in the same folder and moved
    into place (:func:`graphir.atomic.atomic_output`), so a failure leaves no output
    file and never destroys a previous file at ``path``.

    Raises:
        ModelFileError: ``path`` does not end in ``.keras`` or its folder does not exist.
        EmissionError: Keras failed to save the model.
    """
    where = f"file {os.fspath(path)}"
    target = Path(path)
    if target.suffix != ".keras":
        raise ModelFileError(f"Keras models are saved as .keras files, got suffix "
                             f"{target.suffix or '(none)'!r}", where=where)
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise ModelFileError("the output folder does not exist", where=where)
    try:
        with atomic_output(target) as tmp:
            model.save(tmp)
    except Exception as e:  # re-raised as a typed error; atomic_output removed the temp file
        message = " ".join(str(e).split()) or type(e).__name__
        raise EmissionError(f"Keras could not save the model: {type(e).__name__}: "
                            f"{message[:500]}", where=where) from e
