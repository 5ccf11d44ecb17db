"""The ``merge`` pass: combine N graphs into one.

Modes:

* ``chain`` — graph k's outputs feed graph k+1's inputs, in order, or by an explicit
  map per link (``connections[k] = {input of graph k+1: output of graph k}``); inputs
  left unconnected become inputs of the result; the result returns the last graph's
  outputs.
* ``concat`` / ``average`` / ``sum`` — output i of every graph is combined with
  ``concatenate`` (last axis) / ``average`` / ``add``; all graphs need the same number of
  outputs.
* ``outputs`` — all outputs of all graphs are kept, in order.

``shared_input=True`` makes all graphs read one set of inputs (the first graph's input
names; every graph needs the same number of inputs with compatible types); it does not
apply to ``chain``.

Naming: every graph is scoped under its own prefix (default: its name, made unique with
``Namespace``: two graphs called ``functional`` become ``functional`` and
``functional_1``), so layer and input names never collide.  The combining nodes are
named after their op (``concatenate``, ``average``, ``add``) made unique.

The result is verified and shape-checked before it is returned, always in full (one
sweep re-infers every type of the merged graph): an incompatible link or combination
raises :class:`~graphir.diagnostics.ShapeCheckError` with every diagnostic (consumer
model and layer, producer, expected/actual shape, axis, hint).

Layout: this module runs the steps every mode shares (``_steps.py``: check the request,
scope, share inputs, assemble, finish); each mode is a small strategy (``_modes.py``:
how graphs link, which outputs are returned and how they are combined).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from graphir.diagnostics import ShapeCheckError
from graphir.errors import BadInputError
from graphir.ir import Graph
from graphir.passes.extract import extract
from graphir.passes.merge._modes import MODES_BY_NAME
from graphir.passes.merge._steps import assemble, finish, restore_input_names, scope, share_inputs

__all__ = ["merge", "MODES"]

MODES = tuple(MODES_BY_NAME)


def merge(graphs: Sequence[Graph], *, mode: str, shared_input: bool = False,
          connections: Sequence[Mapping[str, str]] | None = None,
          prefixes: Sequence[str] | None = None, name: str = "merged") -> Graph:
    """Combine ``graphs`` into one graph (see the module docstring).

    Args:
        graphs: two or more valid graphs (one is allowed for ``outputs``).
        mode: one of :data:`MODES`.
        shared_input: all graphs read the first graph's inputs (not with ``chain``).
        connections: for ``chain``, one map per link: input name of graph k+1 (its
            original, unscoped name) -> output name of graph k.  None: in order.
        prefixes: the scope of each graph; default: the graph names made unique.
        name: the merged graph's name.

    Returns:
        the merged, verified and shape-checked graph.

    Example::

        >>> both = merge([a, b], mode="concat")                     # inputs: a's and b's
        >>> ens = merge([m1, m2], mode="average", shared_input=True)  # (m1(x) + m2(x)) / 2
        >>> pipe = merge([extractor, classifier], mode="chain")      # classifier(extractor(x))

    Raises:
        BadInputError: unknown mode, too few graphs, mismatched input/output counts,
            unknown names in ``connections``, duplicate or nested prefixes, an invalid
            input graph.
        ShapeCheckError: a link, a shared input or a combination is incompatible, or a
            node of the merged graph refuses what now flows into it (all diagnostics).
    """
    strategy = MODES_BY_NAME.get(mode)
    if strategy is None:
        raise BadInputError(f"unknown merge mode {mode!r} (choose from {', '.join(MODES)})")
    graphs = list(graphs)
    if len(graphs) < strategy.min_graphs:
        raise BadInputError(f"merge --mode {mode} needs at least 2 models, got {len(graphs)}")
    if connections and (mode != "chain" or len(connections) != len(graphs) - 1):
        raise BadInputError(f"connections: need one map per link of --mode chain "
                            f"({len(graphs) - 1}), got {len(connections)} with --mode {mode}")
    if mode == "chain" and shared_input:
        raise BadInputError("--shared-input does not apply to --mode chain (only the first "
                            "model reads external inputs)")
    where = f"merge --mode {mode}"
    scoped = scope(graphs, prefixes)
    diags = []
    if shared_input:
        scoped, diags = share_inputs(scoped)
    scoped, link_diags = strategy.link(scoped, connections)
    diags += link_diags
    if diags:
        raise ShapeCheckError(diags, where=where)
    inputs, nodes, weights = assemble(scoped.graphs)
    outputs = strategy.outputs(scoped, inputs, nodes, weights)
    merged = Graph(name, inputs, outputs, nodes, weights)
    merged = extract(merged, outputs=outputs)  # drop what no output needs (chain leftovers)
    if shared_input:  # the shared inputs keep the first model's own (unscoped) names
        merged = restore_input_names(merged, scoped.graphs[0], graphs[0])
    return finish(merged, where)
