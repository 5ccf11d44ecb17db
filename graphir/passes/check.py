"""Shape and type inference over symbolic dimensions, and the check that reports *all* problems.

Preconditions: none beyond being a ``Graph``; it is meant for graphs whose structure is
sound (``verify_graph(graph, types=False)`` passes: names, ops, arity, attributes,
def-before-use).  Declared types are not trusted: types are re-inferred from the graph
inputs and weights through every op's type rule, by the same engine that
``verify_graph`` runs (:mod:`graphir.type_inference`).

Guarantees: one :class:`~graphir.diagnostics.Diagnostic` per problem, in graph order, with
no cascade: when a node fails, its *declared* output types stand in for the inferred ones
so the check goes on and later, independent problems are reported too.

Findings:
* ``error`` — an op's type rule rejects its inputs (rank, dtype, channel count,
  broadcast, window larger than input, ...), with the input index, producer, expected
  vs actual shape and the differing axis; or a declared output type (from Keras)
  disagrees with the inferred one; or a structural problem that no node can be typed
  past (unknown op, arity, attributes, an omitted or undefined input: the precondition
  did not hold), its message starting with the invariant id, e.g. ``[known-op]``.
* ``warning`` — a graph input with a hard-coded (static) batch dimension: the graph
  then only runs at that batch size.
"""

from __future__ import annotations

from typing import Iterable

from graphir.diagnostics import Diagnostic
from graphir.ir import Graph
from graphir.names import model_and_layer
from graphir.ops.type_rules import fmt_shape
from graphir.tensor_types import TensorType
from graphir.type_inference import Problem, TypeWalk

__all__ = ["batch_warnings", "check", "check_with_types", "diagnostics_of", "infer_graph_types"]


def infer_graph_types(graph: Graph) -> tuple[dict[str, TensorType], list[Diagnostic]]:
    """Re-infer the type of every value from the graph inputs and weights.

    One sweep of the type-inference engine (:class:`graphir.type_inference.TypeWalk`
    with ``refine=True``, the same loop ``verify_graph`` runs on declared types): each
    node is typed from the *inferred* types of its inputs.

    Returns:
        (value name -> inferred type, diagnostics).  Where a node has a problem, its
        declared types are used for its outputs; where an inferred type is vaguer than
        the declared one (an unknown dim), the declared dim is kept.

    Cost: linear in the graph's size; a type rule (a pure function of the op, its
    attributes and its input types) runs once per distinct combination.
    """
    walk = TypeWalk(graph, refine=True, structure=False)
    return walk.types, diagnostics_of(graph, walk)


def diagnostics_of(graph: Graph, problems: Iterable[Problem]) -> list[Diagnostic]:
    """One error :class:`Diagnostic` per :class:`~graphir.type_inference.Problem` of
    ``graph`` (a type rule's refusal located at the input and its producer; a declared
    output type that disagrees; any other problem with its invariant id), in order."""
    producers = None  # computed for the first diagnostic that needs it
    diags: list[Diagnostic] = []
    for problem in problems:
        if problem.rule_error is not None:
            if producers is None:
                producers = graph.producers()
            diags.append(_rule_diagnostic(graph, problem, producers))
        elif problem.declared is not None:
            diags.append(_declared_diagnostic(graph, problem))
        else:  # a structural problem (the precondition did not hold): reported as found
            node = graph.nodes[problem.node_index] if problem.node_index is not None else None
            diags.append(Diagnostic("error", f"[{problem.invariant}] {problem.message}",
                                    node=problem.name, op=node.op if node else None))
    return diags


def _declared_diagnostic(graph: Graph, problem: Problem) -> Diagnostic:
    node = graph.nodes[problem.node_index]
    declared, inferred = problem.declared, problem.inferred
    name = node.outputs[problem.output_index].name
    axis = next((a for a, (x, y) in enumerate(zip(declared.shape, inferred.shape))
                 if isinstance(x, int) and isinstance(y, int) and x != y), None)
    return Diagnostic(
        "error", f"declared output {name!r} is {declared} but {node.op} computes {inferred}",
        node=node.name, op=node.op, expected=str(declared), actual=str(inferred), axis=axis,
        hint="the model's recorded shapes disagree with its layers; rebuild the "
             "model or fix the producing layer")


def _rule_diagnostic(graph: Graph, problem: Problem, producers) -> Diagnostic:
    node = graph.nodes[problem.node_index]
    err, in_types = problem.rule_error, problem.input_types
    idx = err.input_index
    producer = node.inputs[idx] if idx is not None and idx < len(node.inputs) else None
    pnode = producers[producer][0].name if producer in producers else None
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


def check_with_types(graph: Graph) -> tuple[list[Diagnostic], dict[str, TensorType]]:
    """:func:`check`, also returning the inferred type of every value (see
    :func:`infer_graph_types`)."""
    types, found = infer_graph_types(graph)
    return batch_warnings(graph) + found, types


def batch_warnings(graph: Graph) -> list[Diagnostic]:
    """A warning per graph input with a hard-coded (static) batch dimension."""
    diags: list[Diagnostic] = []
    for v in graph.inputs:
        if v.type.rank and isinstance(v.type.shape[0], int):
            diags.append(Diagnostic(
                "warning", f"graph input {v.name!r} has a hard-coded batch dimension "
                f"{v.type.shape[0]} ({v.type})", producer=v.name,
                expected=f"a symbolic batch ({fmt_shape(('batch',) + v.type.shape[1:])})",
                actual=fmt_shape(v.type.shape), axis=0,
                hint="build the model with keras.Input(shape=...) without batch_size"))
    return diags
