"""``verify_graph``: the checker of every IR invariant.

It checks the invariants below and raises one :class:`~graphir.errors.GraphInvariantError`
at the first violation, naming the node and showing the IR around it.  Each invariant
has one helper; the per-value and per-node ones run in one sweep of the type-inference
engine (:class:`graphir.type_inference.TypeWalk`, shared with ``graphir.passes.check``),
in graph order:

========================  ==================================================  ===========================
invariant id              what is checked                                     helper
========================  ==================================================  ===========================
``names``                 the graph's name is a non-empty ``str`` without     :func:`_graph_name`
                          line breaks
``names``                 so is every graph input, weight, node and output    ``name_problem``
                          name; value names (inputs, weights, node outputs)
                          are unique together; node names are unique
``known-op``              every node's op is in the op set                    ``known_op_problem``
``arity``                 input and output counts match the op schema         ``arity_problem``
``attributes``            attributes match the op's attribute schema          ``attributes_problem``
                          (names, kinds, lengths, choices)
``arity``                 an omitted input (``""``) is an optional one        ``omitted_input_problem``
``defined-before-use``    every node input names a graph input, a weight or   ``undefined_input_problem``
                          the output of an *earlier* node
``acyclic``               implied by ``defined-before-use``: in a cycle some  (same)
                          node reads a value before it is defined
``weight-inputs``         inputs the schema marks as weights (kernels,        ``weight_input_problem``
                          statistics) name weights
``types``                 each op's type rule accepts the declared types of   ``rule_problem``
                          its inputs ...
``types``                 ... and each declared output type is compatible     ``declared_type_problem``
                          with the inferred one (equal dtype and rank; equal
                          static dims; symbolic/unknown dims match anything)
``outputs``               there is at least one graph output; each names a    :func:`_outputs`
                          defined value; none is returned twice;
                          ``output_keys`` is empty or one distinct key each
``unused-weights``        every weight is read by some node                   :func:`_unused_weights`
========================  ==================================================  ===========================

(the helpers without a link live in :mod:`graphir.type_inference`).

Style after ``jax.core.check_jaxpr``: the docstring lists the invariants, the error
prints the IR around the offending node.

The memory of verified graphs
-----------------------------
``verify_graph(graph)`` remembers (weakly) each graph *object* that passed with
``types=True`` and answers a second call on the same object at once.  Soundness rule:
whether a graph is valid depends only on its names, ops, attributes, declared types,
its weights' dtypes and shapes, and the op registry's schemas; a ``Graph`` is a frozen
``attrs`` object of tuples, ``Value``/``Node``/``TensorType`` are frozen, attributes a
``FrozenDict``, weights a read-only mapping of read-only arrays, and the op registry only
grows (``register`` refuses a second schema for a name).  So a graph object once verified
stays valid, and an edited graph (``attrs.evolve``) is a new object, verified in full.
The rule assumes nobody defeats immutability on purpose (``object.__setattr__`` on a
frozen object, or assigning ``.shape``/``.dtype`` of a weight array in place, which
NumPy allows even on read-only arrays).  Turn the memory off for one call with
``verify_graph(graph, use_cache=False)``: the graph is then checked in full and not
remembered.
"""

from __future__ import annotations

import weakref
from typing import NoReturn

from graphir.errors import GraphInvariantError
from graphir.ir import Graph
from graphir.printer import excerpt
from graphir.type_inference import Problem, TypeWalk, name_problem

__all__ = ["verify_and_infer", "verify_graph"]


#: graph objects that passed ``verify_graph(graph)`` with types (see "The memory of
#: verified graphs" in the module docstring).  Weak references: remembering a graph
#: never keeps it alive.
_VERIFIED: "weakref.WeakSet[Graph]" = weakref.WeakSet()


def verify_graph(graph: Graph, *, types: bool = True, use_cache: bool = True) -> Graph:
    """Check every invariant listed in the module docstring.

    Args:
        graph: the graph to check.
        types: check the ``types`` invariant.  False: only the structural ones (names,
            ops, arity, attributes, def-before-use, weights, outputs);
            ``graphir.passes.check`` then reports *all* type problems as diagnostics.
        use_cache: answer from, and add to, the memory of graph objects that already
            passed (module docstring).  False: check in full and remember nothing.

    Returns:
        ``graph`` itself, so calls can be chained.

    Raises:
        GraphInvariantError: the first violated invariant, with ``node`` (the node's
            name, or None for graph-level problems), ``invariant`` (its id above) and
            ``excerpt`` (up to five lines of IR around the node).

    Cost: linear in the graph's size (see :mod:`graphir.type_inference`), and nothing for
    a graph object that already passed with ``types=True``.
    """
    if use_cache and graph in _VERIFIED:
        return graph
    _graph_name(graph)
    walk = TypeWalk(graph, infer=types)
    for problem in walk:
        _raise(graph, problem)
    _outputs(graph, walk.types)
    _unused_weights(graph, walk.read)
    if types and use_cache:
        _VERIFIED.add(graph)
    return graph


def verify_and_infer(graph: Graph) -> tuple[TypeWalk, list[Problem]]:
    """Check every invariant but ``types`` (raising as :func:`verify_graph` does) in the
    same sweep that re-infers every type from the graph inputs and weights (the policy of
    ``graphir.passes.check``: ``TypeWalk(graph, refine=True)``), and hand the ``types``
    problems back instead of raising them.

    For a pass that builds a graph (``merge``) and must both verify it and report every
    shape problem: one sweep instead of ``verify_graph(graph, types=False)`` plus
    ``check(graph)``.

    Returns:
        (the finished walk: ``.types`` inferred, ``.refined``; the ``types`` problems in
        graph order).  When the list is empty and ``walk.refined`` is False, the full
        ``verify_graph(graph)`` cannot fail (see :attr:`TypeWalk.refined
        <graphir.type_inference.TypeWalk>`), and the graph joins the memory of verified
        graphs; when ``walk.refined`` is True it may fail.

    Raises:
        GraphInvariantError: the first violated invariant other than ``types``.
    """
    _graph_name(graph)
    walk = TypeWalk(graph, refine=True)
    type_problems = []
    for problem in walk:
        if problem.invariant != "types":
            _raise(graph, problem)
        type_problems.append(problem)
    _outputs(graph, walk.types)
    _unused_weights(graph, walk.read)
    if not type_problems and not walk.refined:
        _VERIFIED.add(graph)  # verify_graph(graph) cannot fail (TypeWalk.refined)
    return walk, type_problems


def _raise(graph: Graph, problem: Problem) -> NoReturn:
    """Raise ``problem`` as a :class:`GraphInvariantError` with the IR around its node."""
    node = problem.name
    raise GraphInvariantError(problem.message, node=node, invariant=problem.invariant,
                              excerpt=excerpt(graph, problem.node_index),
                              where=f"graph {graph.name!r}" + (f", node {node!r}" if node else ""))


def _graph_name(graph: Graph) -> None:
    """``names``: the graph's own name."""
    message = name_problem(graph.name, (), "graph")
    if message:
        _raise(graph, Problem("names", message))


def _outputs(graph: Graph, defined: dict) -> None:
    """``outputs``: at least one; each defined; none twice; ``output_keys`` empty or one
    distinct key per output."""
    if not graph.outputs:
        _raise(graph, Problem("outputs", "the graph has no outputs"))
    seen: set[str] = set()
    for o in graph.outputs:
        if o not in defined:
            _raise(graph, Problem("outputs", f"graph output {o!r} is not defined"))
        if o in seen:
            _raise(graph, Problem("outputs", f"graph output {o!r} is returned twice"))
        seen.add(o)
    keys = graph.output_keys
    if keys and (len(keys) != len(graph.outputs) or len(set(keys)) != len(keys)):
        _raise(graph, Problem("outputs", f"output_keys {list(keys)} are not one distinct key "
                                         f"per output ({len(graph.outputs)} outputs)"))


def _unused_weights(graph: Graph, read: set) -> None:
    """``unused-weights``: every weight is read by a node (named: the first three)."""
    unused = [w for w in graph.weights if w not in read]
    if unused:
        more = f" (and {len(unused) - 3} more)" if len(unused) > 3 else ""
        _raise(graph, Problem("unused-weights", "weights not read by any node: "
                              f"{', '.join(map(repr, unused[:3]))}{more}"))
