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

from graphir.errors import BadInputError
from graphir.ir import Graph, Node, Value
from graphir.names import Namespace

__all__ = ["rename"]


def _all_names(graph: Graph) -> set[str]:
    names = {v.name for v in graph.inputs} | set(graph.weights)
    add = names.add
    for n in graph.nodes:
        add(n.name)
        for v in n.outputs:
            add(v.name)
    return names


def _is_scope(name: str, known: set[str]) -> bool:
    """True when some name of ``known`` lies under the scope ``name`` (``name/...``)."""
    prefix = name + "/"
    return any(n.startswith(prefix) for n in known)


def _check_mapping(graph: Graph, mapping: Mapping[str, str], known: set[str]) -> None:
    for old, new in mapping.items():
        if not isinstance(new, str) or not new or "\n" in new or new.startswith("/") or new.endswith("/"):
            raise BadInputError(f"mapping {old!r} -> {new!r}: the new name must be a non-empty "
                                f"name without line breaks or leading/trailing '/'")
        if (old in known or _is_scope(old, known) or new in known
                or _is_scope(new, known)):
            continue
        parts = [name.split("/") for name in known]
        scopes = {"/".join(p[:i]) for p in parts for i in range(1, len(p))}  # every enclosing scope
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
    known = _all_names(graph)
    _check_mapping(graph, mapping, known)
    keys = [(k, k + "/", mapping[k]) for k in sorted(mapping, key=len, reverse=True)]
    # all or nothing: when every name is already under the prefix scope the graph is left
    # as it is (a second run is a no-op); otherwise *every* name gets the scope, also
    # names that merely happen to start with "prefix/"
    scope = prefix + "/" if prefix else None
    already_scoped = prefix is not None and all(n.startswith(scope) for n in known)
    add_scope = bool(prefix) and not already_scoped

    def target(name: str) -> str:
        for k, k_scope, new in keys:
            if name == k or name.startswith(k_scope):
                name = new + name[len(k):]
                break
        # join_scope(prefix, name), for the non-empty names of a valid graph
        return (scope + name if name else prefix) if add_scope else name

    value_names = [v.name for v in graph.inputs] + list(graph.weights)
    value_names += [v.name for n in graph.nodes for v in n.outputs]
    node_names = [n.name for n in graph.nodes]
    value_map = _unique_map(value_names, [target(name) for name in value_names])
    node_map = _unique_map(node_names, [target(name) for name in node_names])
    changed = {k for k, v in value_map.items() if k != v}
    if not changed and all(k == v for k, v in node_map.items()):
        return graph

    def val(v: Value) -> Value:
        new = value_map[v.name]
        return v if new == v.name else Value(new, v.type)

    nodes = []
    for n in graph.nodes:  # a node whose names all stay is kept as it is (nodes are frozen)
        name = node_map[n.name]
        if name == n.name and changed.isdisjoint(n.inputs) and all(
                v.name not in changed for v in n.outputs):
            nodes.append(n)
            continue
        inputs = tuple([value_map[i] if i else "" for i in n.inputs])
        nodes.append(Node(n.op, name, inputs, tuple([val(v) for v in n.outputs]), n.attrs))
    return Graph(graph.name, [val(v) for v in graph.inputs], [value_map[o] for o in graph.outputs],
                 nodes, {value_map[k]: w for k, w in graph.weights.items()}, graph.output_keys)


def _unique_map(names: list[str], targets: list[str]) -> dict[str, str]:
    """``{name: Namespace().unique(target)}`` taken in order (a later equal target gets a
    ``_N`` suffix).  When the targets are distinct and non-empty, each is free when its
    turn comes, so the map is the targets themselves: built without the namespace."""
    if len(set(targets)) == len(targets) and "" not in targets:
        return dict(zip(names, targets))
    ns = Namespace()
    out: dict[str, str] = {}
    for name, t in zip(names, targets):
        out[name] = ns.unique(t)
    return out
