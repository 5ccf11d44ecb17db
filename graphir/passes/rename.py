"""The ``rename`` pass: prefix every name with a scope, or rename by an explicit mapping.

Naming scheme (``specs/passes.md``):

* ``mapping={"old": "new"}`` renames the value/node/input/weight called ``old`` *and*
  everything scoped under it: ``old/kernel`` -> ``new/kernel``, ``old/conv1`` ->
  ``new/conv1`` (so renaming a layer renames its weights, renaming a nested model
  renames its layers).  The longest matching key wins.
* ``prefix="p"`` then puts every name under the scope ``p``: ``conv1`` -> ``p/conv1``
  (Keras emission prints ``p.conv1``; ONNX keeps ``p/conv1``).  When *every* name is
  already under ``p`` nothing changes, so renaming twice with the same prefix is a
  no-op; otherwise every name is scoped, including one that merely starts with ``p/``.
* a mapping key that is no longer in the graph while its target is (the mapping was
  already applied) is a no-op, so a second run with the same mapping changes nothing.
* collisions created by the renaming are resolved with :class:`graphir.names.Namespace`
  (``_1``, ``_2`` suffixes) in graph order: graph inputs, weights, then node outputs;
  node names likewise in node order.  The graph's own name is kept.

Preconditions: ``graph`` is valid.  Guarantees: a valid graph with the same
computation; the *same object* when nothing changes.
"""

from __future__ import annotations

import difflib
from typing import Mapping

import attrs

from graphir.errors import BadInputError
from graphir.ir import Graph, Value
from graphir.names import Namespace, join_scope

__all__ = ["rename"]


def _all_names(graph: Graph) -> set[str]:
    names = {v.name for v in graph.inputs} | set(graph.weights)
    for n in graph.nodes:
        names.add(n.name)
        names.update(v.name for v in n.outputs)
    return names


def _check_mapping(graph: Graph, mapping: Mapping[str, str]) -> None:
    known = _all_names(graph)
    parts = [name.split("/") for name in known]
    scopes = {"/".join(p[:i]) for p in parts for i in range(1, len(p))}  # every enclosing scope
    for old, new in mapping.items():
        if not isinstance(new, str) or not new or "\n" in new or new.startswith("/") or new.endswith("/"):
            raise BadInputError(f"mapping {old!r} -> {new!r}: the new name must be a non-empty "
                                f"name without line breaks or leading/trailing '/'")
        if old not in known and old not in scopes and new not in known | scopes:
            close = difflib.get_close_matches(old, sorted(known | scopes), n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise BadInputError(f"mapping names {old!r}, which is not a name or scope in graph "
                                f"{graph.name!r}{hint}")


def rename(graph: Graph, *, prefix: str | None = None,
           mapping: Mapping[str, str] | None = None) -> Graph:
    """Rename values, weights, nodes and inputs by ``mapping`` and/or under ``prefix``.

    Args:
        graph: a valid graph.
        prefix: a scope put before every name (``"teacher"`` -> ``teacher/conv1``).
        mapping: old name or scope -> new name or scope.

    Returns:
        the renamed graph (the same object when no name changes).

    Example::

        >>> teacher = rename(graph, prefix="teacher")        # conv1 -> teacher/conv1
        >>> head = rename(graph, mapping={"dense": "head"})   # dense/kernel -> head/kernel

    Raises:
        BadInputError: ``prefix`` is empty or has ``/`` at an end; a mapping key is not
            a name or scope of the graph (the message suggests close names); a new name
            is empty.
    """
    mapping = dict(mapping or {})
    if prefix is not None and (not prefix or prefix.startswith("/") or prefix.endswith("/")
                               or "\n" in prefix):
        raise BadInputError(f"prefix {prefix!r} must be a non-empty scope without "
                            "leading/trailing '/'")
    _check_mapping(graph, mapping)
    keys = sorted(mapping, key=len, reverse=True)
    # all or nothing: when every name is already under the prefix scope the graph is left
    # as it is (a second run is a no-op); otherwise *every* name gets the scope, also
    # names that merely happen to start with "prefix/"
    already_scoped = prefix is not None and all(
        n.startswith(prefix + "/") for n in _all_names(graph))

    def target(name: str) -> str:
        for k in keys:
            if name == k or name.startswith(k + "/"):
                name = mapping[k] + name[len(k):]
                break
        return join_scope(prefix, name) if prefix and not already_scoped else name

    values = Namespace()
    value_map: dict[str, str] = {}
    for name in [v.name for v in graph.inputs] + list(graph.weights) + [
            v.name for n in graph.nodes for v in n.outputs]:
        value_map[name] = values.unique(target(name))
    nodes_ns = Namespace()
    node_map = {n.name: nodes_ns.unique(target(n.name)) for n in graph.nodes}
    if all(k == v for k, v in value_map.items()) and all(k == v for k, v in node_map.items()):
        return graph

    def val(v: Value) -> Value:
        return Value(value_map[v.name], v.type)

    nodes = [attrs.evolve(n, name=node_map[n.name],
                          inputs=tuple(value_map[i] if i else "" for i in n.inputs),
                          outputs=tuple(val(v) for v in n.outputs)) for n in graph.nodes]
    return Graph(graph.name, [val(v) for v in graph.inputs], [value_map[o] for o in graph.outputs],
                 nodes, {value_map[k]: w for k, w in graph.weights.items()})
