"""Shape and type inference over symbolic dimensions, and the check that reports *all* problems.

Preconditions: the graph's structure is sound (``verify_graph(graph, types=False)``
passes: names, ops, arity, attributes, def-before-use).  Declared types are not trusted:
types are re-inferred from the graph inputs and weights through every op's type rule.

Guarantees: one :class:`~graphir.diagnostics.Diagnostic` per problem, in graph order, with
no cascade: when a node fails, its *declared* output types stand in for the inferred ones
so the check goes on and later, independent problems are reported too.

Findings:
* ``error`` — an op's type rule rejects its inputs (rank, dtype, channel count,
  broadcast, window larger than input, ...), with the input index, producer, expected
  vs actual shape and the differing axis; or a declared output type (from Keras)
  disagrees with the inferred one.
* ``warning`` — a graph input with a hard-coded (static) batch dimension: the graph
  then only runs at that batch size.
"""

from __future__ import annotations

from graphir import ops as _ops
from graphir.diagnostics import Diagnostic
from graphir.ir import Graph, weight_type
from graphir.ops.type_rules import fmt_shape
from graphir.names import model_and_layer
from graphir.tensor_types import TensorType
from graphir.passes._gc import gc_paused

__all__ = ["check", "check_with_types", "infer_graph_types"]


def _producer(graph_producers, name):
    if name in graph_producers:
        return graph_producers[name][0].name
    return None


@gc_paused
def infer_graph_types(graph: Graph) -> tuple[dict[str, TensorType], list[Diagnostic]]:
    """Re-infer the type of every value from the graph inputs and weights.

    Returns:
        (value name -> inferred type, diagnostics).  Where a node's type rule fails,
        its declared types are used for its outputs.

    Cost: linear in the graph's size; a type rule (a pure function of the op, its
    attributes and its input types) runs once per distinct combination.
    """
    types: dict[str, TensorType] = {v.name: v.type for v in graph.inputs}
    weight_types: dict[tuple, TensorType] = {}
    for name, arr in graph.weights.items():
        key = (arr.dtype, arr.shape)
        wt = weight_types.get(key)
        if wt is None:
            wt = weight_types[key] = weight_type(arr)
        types[name] = wt
    producers = None  # computed for the first diagnostic that needs it
    diags: list[Diagnostic] = []
    memo: dict[tuple, list] = {}
    for node in graph.nodes:
        schema = _ops.get_schema(node.op)
        in_types = [types.get(i) if i else None for i in node.inputs]
        missing = any(n and t is None for n, t in zip(node.inputs, in_types))
        if schema is None or missing:
            for v in node.outputs:
                types[v.name] = v.type
            continue
        key = (node.op, node.attrs, tuple(in_types))
        inferred = memo.get(key)
        if inferred is None:
            try:
                inferred = memo[key] = schema.infer(in_types, node.attrs)
            except _ops.TypeRuleError as e:
                if producers is None:
                    producers = graph.producers()
                diags.append(_rule_diagnostic(graph, node, e, in_types, producers))
                for v in node.outputs:
                    types[v.name] = v.type
                continue
        for v, t in zip(node.outputs, inferred):
            declared = v.type
            if declared == t:  # the common case: _refine would rebuild an equal type
                types[v.name] = t
                continue
            if not declared.compatible_with(t):
                axis = next((a for a, (x, y) in enumerate(zip(declared.shape, t.shape))
                             if isinstance(x, int) and isinstance(y, int) and x != y), None)
                diags.append(Diagnostic(
                    "error", f"declared output {v.name!r} is {declared} but {node.op} computes {t}",
                    node=node.name, op=node.op, expected=str(declared), actual=str(t), axis=axis,
                    hint="the model's recorded shapes disagree with its layers; rebuild the "
                         "model or fix the producing layer"))
            types[v.name] = _refine(declared, t)
    return types, diags


def _refine(declared: TensorType, inferred: TensorType) -> TensorType:
    """Prefer inferred static dims, keep declared symbols where inference lost them."""
    if declared.rank != inferred.rank or declared.dtype != inferred.dtype:
        return inferred
    dims = tuple(i if i is not None else d for d, i in zip(declared.shape, inferred.shape))
    return TensorType(inferred.dtype, dims)


def _rule_diagnostic(graph, node, err, in_types, producers) -> Diagnostic:
    idx = err.input_index
    producer = node.inputs[idx] if idx is not None and idx < len(node.inputs) else None
    pnode = _producer(producers, producer) if producer else None
    actual = err.actual
    if actual is None and idx is not None and idx < len(in_types) and in_types[idx] is not None:
        actual = fmt_shape(in_types[idx].shape)
    hint = err.hint
    if hint is None and err.axis is not None:
        hint = f"make axis {err.axis} of {producer!r} match what {node.name} expects"
    model, layer = model_and_layer(node.name)
    where = f"layer {layer!r}" + (f" of model {model!r}" if model else "")
    return Diagnostic("error", f"{where} rejects its input: {err}", node=node.name, op=node.op,
                      input_index=idx, producer=producer, producer_node=pnode,
                      expected=err.expected, actual=actual, axis=err.axis, hint=hint)


@gc_paused
def check(graph: Graph) -> list[Diagnostic]:
    """Every shape/type problem of ``graph`` (errors and warnings), in graph order.

    Returns an empty list for a clean graph.  Example::

        >>> for d in check(graph):
        ...     print(d)   # error: model_2/conv (conv2d) input 0 from 'x': ... axis 3 differs ...
  Never raises for shape problems; the
    caller decides (``graphir check`` exits 1 when any diagnostic is an error;
    :func:`graphir.passes.merge.merge` raises :class:`ShapeCheckError`).
    """
    return check_with_types(graph)[0]


@gc_paused
def check_with_types(graph: Graph) -> tuple[list[Diagnostic], dict[str, TensorType]]:
    """:func:`check`, also returning the inferred type of every value (see
    :func:`infer_graph_types`)."""
    diags: list[Diagnostic] = []
    for v in graph.inputs:
        if v.type.rank and isinstance(v.type.shape[0], int):
            diags.append(Diagnostic(
                "warning", f"graph input {v.name!r} has a hard-coded batch dimension "
                f"{v.type.shape[0]} ({v.type})", producer=v.name,
                expected=f"a symbolic batch ({fmt_shape(('batch',) + v.type.shape[1:])})",
                actual=fmt_shape(v.type.shape), axis=0,
                hint="build the model with keras.Input(shape=...) without batch_size"))
    types, found = infer_graph_types(graph)
    return diags + found, types
